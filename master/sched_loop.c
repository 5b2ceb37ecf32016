/*
 * sched_loop.c - the scheduling loop thread (see sched_loop.h).
 *
 * DESIGN. One thread sleeps on a condition variable with a timeout of one
 * tick. sched_loop_wake() from any thread records which grid changed and
 * signals it; the thread then runs a round for the dirty grids (or all of
 * them on a tick). Wakes that arrive during a round coalesce into the next
 * one, so a burst of joins costs one round, not one per join.
 */
#include "master/sched_loop.h"
#include "master/sched_round.h"

#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct sched_loop {
	struct master	*m;		/* the master */
	pthread_t	 thread;	/* the loop */
	pthread_mutex_t	 lock;		/* guards the fields below */
	pthread_cond_t	 cond;		/* signalled by wake and stop */
	int		 stop;		/* end the loop */
	int		 wake_all;	/* every grid is dirty */
	int64_t		*dirty;		/* dirty grid ids */
	size_t		 n_dirty;
	struct sched_round *round;	/* the loop's state (loop thread) */
};

void
sched_loop_wake(struct sched_loop *l, int64_t grid_id)
{
	size_t i;

	pthread_mutex_lock(&l->lock);
	if (grid_id == 0)
		l->wake_all = 1;
	else {
		for (i = 0; i < l->n_dirty; i++)
			if (l->dirty[i] == grid_id)
				break;
		if (i == l->n_dirty) {
			l->dirty = xreallocarray(l->dirty, l->n_dirty + 1,
			    sizeof *l->dirty);
			l->dirty[l->n_dirty++] = grid_id;
		}
	}
	pthread_cond_signal(&l->cond);
	pthread_mutex_unlock(&l->lock);
}

static void *
sched_loop_main(void *arg)
{
	struct sched_loop *l = arg;
	struct timespec ts;
	int64_t *dirty, next_tick = util_mono_ms();
	size_t n_dirty, i;
	int all, rc;

	l->round = sched_round_new(l->m);
	for (;;) {
		pthread_mutex_lock(&l->lock);
		while (!l->stop && !l->wake_all && l->n_dirty == 0 &&
		    util_mono_ms() < next_tick) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += (long)(next_tick - util_mono_ms()) * 1000000L;
			ts.tv_sec += ts.tv_nsec / 1000000000L;
			ts.tv_nsec %= 1000000000L;
			rc = pthread_cond_timedwait(&l->cond, &l->lock, &ts);
			if (rc == ETIMEDOUT)
				break;
		}
		if (l->stop) {
			pthread_mutex_unlock(&l->lock);
			break;
		}
		all = l->wake_all || util_mono_ms() >= next_tick;
		dirty = l->dirty;
		n_dirty = l->n_dirty;
		l->dirty = NULL;
		l->n_dirty = 0;
		l->wake_all = 0;
		pthread_mutex_unlock(&l->lock);

		if (all) {
			sched_round_run(l->round, 0);
			next_tick = util_mono_ms() + l->m->cfg.tick_ms;
		} else {
			for (i = 0; i < n_dirty; i++)
				sched_round_run(l->round, dirty[i]);
		}
		free(dirty);
	}
	sched_round_free(l->round);
	return NULL;
}

struct sched_loop *
sched_loop_start(struct master *m, char **cause)
{
	struct sched_loop *l = xcalloc(1, sizeof *l);

	l->m = m;
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->cond, NULL);
	if (pthread_create(&l->thread, NULL, sched_loop_main, l) != 0) {
		xasprintf(cause, "cannot start the scheduler thread");
		free(l);
		return NULL;
	}
	return l;
}

void
sched_loop_stop(struct sched_loop *l)
{
	if (l == NULL)
		return;
	pthread_mutex_lock(&l->lock);
	l->stop = 1;
	pthread_cond_signal(&l->cond);
	pthread_mutex_unlock(&l->lock);
	pthread_join(l->thread, NULL);
	pthread_mutex_destroy(&l->lock);
	pthread_cond_destroy(&l->cond);
	free(l->dirty);
	free(l);
}
