/*
 * sched_loop.c - the scheduling loop thread (see sched_loop.h).
 *
 * DESIGN. One thread sleeps on a condition variable with a timeout of one
 * tick. The notification calls (any thread) record what changed - a grid,
 * a node row, a service - and signal it; the thread takes the whole batch
 * and runs one round for it (sched_round.c). Notifications that arrive
 * during a round coalesce into the next one, so a burst of a thousand
 * joins costs a few rounds, not a thousand. The tick plans every grid so
 * that time-based rules (grace periods, removal, deploy timeouts) fire
 * without any event.
 */
#include "master/sched_loop.h"
#include "master/sched_round.h"

#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SCHED_LOOP_GAP_MS	5	/* least time between rounds' starts */

struct sched_loop {
	struct master		*m;		/* the master */
	pthread_t		 thread;	/* the loop */
	pthread_mutex_t		 lock;		/* guards the fields below */
	pthread_cond_t		 cond;		/* signalled by wake and stop */
	int			 stop;		/* end the loop */
	int			 active;	/* run rounds (this master leads) */
	unsigned		 epoch;		/* bumped by each role change */
	int			 pending;	/* something is queued */
	struct sched_changes	 ch;		/* queued changes */
	size_t			*node_slots;	/* ch.nodes index + 1 by hash,
						 * 0: free (open addressing) */
	size_t			 nslots;	/* power of 2, or 0 */
	/* For GET /metrics (any thread reads them). */
	atomic_llong		 rounds;	/* rounds run */
	atomic_llong		 round_us;	/* their total time */
	atomic_llong		 round_max_us;	/* the longest */
};

static void
sched_loop_signal(struct sched_loop *l)
{
	l->pending = 1;
	pthread_cond_signal(&l->cond);
	pthread_mutex_unlock(&l->lock);
}

void
sched_loop_wake(struct sched_loop *l, int64_t grid_id)
{
	size_t i;

	pthread_mutex_lock(&l->lock);
	l->ch.grids_changed = 1;
	for (i = 0; i < l->ch.ngrids; i++)
		if (l->ch.grids[i] == grid_id)
			break;
	if (grid_id != 0 && i == l->ch.ngrids) {
		l->ch.grids = xreallocarray(l->ch.grids, l->ch.ngrids + 1,
		    sizeof *l->ch.grids);
		l->ch.grids[l->ch.ngrids++] = grid_id;
	}
	if (grid_id == 0)
		l->ch.all = 1;
	sched_loop_signal(l);
}

static size_t
sched_loop_hash(const char *id)
{
	size_t h = 5381;

	while (*id != '\0')
		h = h * 33 + (unsigned char)*id++;
	return h;
}

/*
 * Queue node_id once (lock held): a burst of ten thousand joins is a set
 * of ten thousand ids, found by hash, not a list searched from the start
 * for every one.
 */
static void
sched_loop_add_node(struct sched_loop *l, const char *node_id)
{
	size_t i, j, mask;

	if (2 * (l->ch.nnodes + 1) > l->nslots) {
		free(l->node_slots);
		l->nslots = l->nslots ? 2 * l->nslots : 64;
		l->node_slots = xcalloc(l->nslots, sizeof *l->node_slots);
		mask = l->nslots - 1;
		for (i = 0; i < l->ch.nnodes; i++) {
			for (j = sched_loop_hash(l->ch.nodes[i]) & mask;
			    l->node_slots[j] != 0; j = (j + 1) & mask)
				;
			l->node_slots[j] = i + 1;
		}
	}
	mask = l->nslots - 1;
	for (j = sched_loop_hash(node_id) & mask; l->node_slots[j] != 0;
	    j = (j + 1) & mask)
		if (strcmp(l->ch.nodes[l->node_slots[j] - 1], node_id) == 0)
			return;
	l->ch.nodes = xreallocarray(l->ch.nodes, l->ch.nnodes + 1,
	    sizeof *l->ch.nodes);
	l->ch.nodes[l->ch.nnodes++] = xstrdup(node_id);
	l->node_slots[j] = l->ch.nnodes;
}

void
sched_loop_node(struct sched_loop *l, const char *node_id)
{
	pthread_mutex_lock(&l->lock);
	sched_loop_add_node(l, node_id);
	sched_loop_signal(l);
}

void
sched_loop_nodes(struct sched_loop *l, const char *const *node_ids, size_t n)
{
	size_t i;

	if (n == 0)
		return;
	pthread_mutex_lock(&l->lock);
	for (i = 0; i < n; i++)
		sched_loop_add_node(l, node_ids[i]);
	sched_loop_signal(l);
}

void
sched_loop_service(struct sched_loop *l, int64_t service_id)
{
	size_t i;

	pthread_mutex_lock(&l->lock);
	for (i = 0; i < l->ch.nservices; i++)
		if (l->ch.services[i] == service_id)
			break;
	if (i == l->ch.nservices) {
		l->ch.services = xreallocarray(l->ch.services,
		    l->ch.nservices + 1, sizeof *l->ch.services);
		l->ch.services[l->ch.nservices++] = service_id;
	}
	sched_loop_signal(l);
}

void
sched_loop_job(struct sched_loop *l, int64_t job_id)
{
	size_t i;

	pthread_mutex_lock(&l->lock);
	for (i = 0; i < l->ch.njobs; i++)
		if (l->ch.jobs[i] == job_id)
			break;
	if (i == l->ch.njobs) {
		l->ch.jobs = xreallocarray(l->ch.jobs, l->ch.njobs + 1,
		    sizeof *l->ch.jobs);
		l->ch.jobs[l->ch.njobs++] = job_id;
	}
	sched_loop_signal(l);
}

static void
sched_changes_free(struct sched_changes *ch)
{
	size_t i;

	for (i = 0; i < ch->nnodes; i++)
		free(ch->nodes[i]);
	free(ch->nodes);
	free(ch->grids);
	free(ch->services);
	free(ch->jobs);
	memset(ch, 0, sizeof *ch);
}

static void *
sched_loop_main(void *arg)
{
	struct sched_loop *l = arg;
	struct sched_round *round;
	struct sched_changes ch;
	struct timespec ts;
	int64_t next_tick = util_mono_ms(), left, last_round = 0, took;
	unsigned epoch = 0;

	round = NULL;
	for (;;) {
		/*
		 * Rounds one after the other at most every SCHED_LOOP_GAP_MS:
		 * under a stream of changes (agents reporting jobs that end,
		 * each wanting its room filled) a round then takes a batch,
		 * and its one fsync'd transaction serves many changes.
		 */
		if ((left = last_round + SCHED_LOOP_GAP_MS - util_mono_ms()) > 0) {
			struct timespec gap = { 0, (long)left * 1000000L };

			nanosleep(&gap, NULL);
		}
		pthread_mutex_lock(&l->lock);
		if (!l->stop && (!l->active || l->epoch != epoch)) {
			/*
			 * A standby runs no rounds (docs/ha.md); its views
			 * go, and are built again from the store when it
			 * leads, as at a fresh start.
			 */
			pthread_mutex_unlock(&l->lock);
			sched_round_free(round);
			round = NULL;
			pthread_mutex_lock(&l->lock);
			while (!l->stop && !l->active)
				pthread_cond_wait(&l->cond, &l->lock);
			epoch = l->epoch;
			next_tick = util_mono_ms();	/* every grid at once */
		}
		while (!l->stop && !l->pending &&
		    (left = next_tick - util_mono_ms()) > 0) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += (long)(left % 1000) * 1000000L;
			ts.tv_sec += left / 1000 + ts.tv_nsec / 1000000000L;
			ts.tv_nsec %= 1000000000L;
			if (pthread_cond_timedwait(&l->cond, &l->lock,
			    &ts) == ETIMEDOUT)
				break;
		}
		if (l->stop) {
			pthread_mutex_unlock(&l->lock);
			break;
		}
		ch = l->ch;
		memset(&l->ch, 0, sizeof l->ch);
		if (l->nslots > 0)	/* the set is empty again */
			memset(l->node_slots, 0, l->nslots *
			    sizeof *l->node_slots);
		l->pending = 0;
		pthread_mutex_unlock(&l->lock);

		if (round == NULL)
			round = sched_round_new(l->m);
		if (util_mono_ms() >= next_tick) {
			ch.all = 1;
			next_tick = util_mono_ms() + l->m->cfg.tick_ms;
		}
		last_round = util_mono_ms();
		took = util_mono_us();
		sched_round_run(round, &ch);
		took = util_mono_us() - took;
		atomic_fetch_add(&l->rounds, 1);
		atomic_fetch_add(&l->round_us, took);
		if (took > atomic_load(&l->round_max_us))
			atomic_store(&l->round_max_us, took);
		sched_changes_free(&ch);
	}
	if (round != NULL)
		sched_round_free(round);
	return NULL;
}

void
sched_loop_set_active(struct sched_loop *l, int on)
{
	if (l == NULL)
		return;
	pthread_mutex_lock(&l->lock);
	if (l->active != (on != 0)) {
		l->active = on != 0;
		l->epoch++;
		l->pending = 1;
		pthread_cond_signal(&l->cond);
	}
	pthread_mutex_unlock(&l->lock);
}

void
sched_loop_stats(struct sched_loop *l, struct sched_loop_stats *out)
{
	memset(out, 0, sizeof *out);
	if (l == NULL)
		return;
	out->rounds = atomic_load(&l->rounds);
	out->busy_s = (double)atomic_load(&l->round_us) / 1e6;
	out->max_s = (double)atomic_load(&l->round_max_us) / 1e6;
}

struct sched_loop *
sched_loop_start(struct master *m, char **cause)
{
	struct sched_loop *l = xcalloc(1, sizeof *l);

	l->m = m;
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->cond, NULL);
	l->ch.grids_changed = 1;
	l->pending = 1;
	/* A single master schedules; a clustered one once it leads. */
	l->active = m->cluster == NULL;
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
	int joined;

	if (l == NULL)
		return;
	pthread_mutex_lock(&l->lock);
	joined = l->stop;
	l->stop = 1;
	pthread_cond_signal(&l->cond);
	pthread_mutex_unlock(&l->lock);
	if (!joined)
		pthread_join(l->thread, NULL);
}

/*
 * Free a stopped loop. Separate from sched_loop_stop() because the hub may
 * still notify it while the hub itself stops (the notifications then go
 * nowhere); see main.c.
 */
void
sched_loop_free(struct sched_loop *l)
{
	if (l == NULL)
		return;
	sched_loop_stop(l);
	pthread_mutex_destroy(&l->lock);
	pthread_cond_destroy(&l->cond);
	sched_changes_free(&l->ch);
	free(l->node_slots);
	free(l);
}
