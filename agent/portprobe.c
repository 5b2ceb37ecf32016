/*
 * portprobe.c - deploy.wait_for_port probes (see portprobe.h).
 *
 * DESIGN: the converge thread decides (portprobe_decide() on its own
 * per-instance record) and launches; each probe runs on a dedicated,
 * short-lived thread because setns(CLONE_NEWNET) moves only the calling
 * thread into the container's network namespace: that thread opens
 * /proc/<pid>/ns/net, enters it, makes one non-blocking connect to
 * 127.0.0.1:<port> bounded by PORTPROBE_TIMEOUT_MS, puts the job on the
 * done queue and exits, taking the namespace with it. The converge thread
 * and the workers never change namespace. Threads started from the converge
 * thread inherit its signal mask (all blocked), so signals still reach
 * main's sigwait().
 *
 * At most PORTPROBE_MAX probes run at once; a probe that does not fit is
 * left for the next pass. A pass may wait a little for its probes
 * (portprobe_wait()): most answer or are refused within a millisecond, so
 * the same state frame can already say "running". The launcher's lock
 * guards the queue and the count; launch holds it across pthread_create(),
 * so a thread cannot queue its job before job->thread is written.
 */
#include "agent/portprobe.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "agent/health.h"
#include "common/log.h"
#include "common/xmalloc.h"

struct portprobe {
	pthread_mutex_t	 lock;		/* guards the fields below */
	pthread_cond_t	 cond;		/* a probe ended */
	int		 running;	/* probe threads not yet queued */
	int		 waiting;	/* the owner is in portprobe_wait() */
	atomic_int	 stop;		/* portprobe_free(): health probes end */
	struct portprobe_job *done_head; /* finished probes, oldest first */
	struct portprobe_job *done_tail; /* last finished probe */
	void		(*done)(void *); /* wake the converge thread */
	void		*done_arg;	/* its argument */
};

/* What a probe thread gets. */
struct portprobe_arg {
	struct portprobe *p;		/* the launcher */
	struct portprobe_job *job;	/* its job */
};

/* ---- the record (pure) ---------------------------------------------------- */

char *
portprobe_key(const char *container_id, const char *started_at)
{
	char *k;

	xasprintf(&k, "%s@%s", container_id, started_at);
	return k;
}

int
portprobe_interval_ms(int64_t starting_for_ms)
{
	if (starting_for_ms < 10000)
		return PORTPROBE_FAST_MS;
	if (starting_for_ms < 60000)
		return PORTPROBE_MID_MS;
	return PORTPROBE_SLOW_MS;
}

void
portprobe_rec_clear(struct portprobe_rec *r)
{
	int busy = r->busy;	/* a probe still running will come back */

	free(r->key);
	free(r->error);
	memset(r, 0, sizeof *r);
	r->busy = busy;
}

int
portprobe_decide(struct portprobe_rec *r, int port, const char *key,
    int64_t now, int *launch, int64_t *due)
{
	int64_t at;

	*launch = 0;
	*due = -1;
	if (port <= 0) {
		if (r->key != NULL)
			portprobe_rec_clear(r);
		return 0;
	}
	if (key == NULL)	/* start unknown: not proven, nothing to probe */
		return 1;
	if (r->key == NULL || strcmp(r->key, key) != 0) {
		/* A new container, or this one restarted: prove it again. */
		portprobe_rec_clear(r);
		r->key = xstrdup(key);
		r->since = now;
	}
	if (r->passed)
		return 0;
	at = r->last == 0 ? now :
	    r->last + portprobe_interval_ms(now - r->since);
	if (r->busy)
		return 1;	/* its result wakes the converge thread */
	if (at <= now) {
		*launch = 1;
		/* The pass may take the result itself (no wake-up): come
		 * back for the next probe in any case. */
		*due = portprobe_interval_ms(now - r->since);
	} else
		*due = at - now;
	return 1;
}

void
portprobe_launched(struct portprobe_rec *r, int64_t now)
{
	r->busy = 1;
	r->last = now;
}

int
portprobe_result(struct portprobe_rec *r, const char *key, int ok,
    char *cause)
{
	int fresh = 0;

	r->busy = 0;
	if (r->key == NULL || strcmp(r->key, key) != 0) {
		free(cause);		/* for a container start now gone */
		return 0;
	}
	if (ok) {
		r->passed = 1;
		free(r->error);
		r->error = NULL;
		free(cause);
		return 0;
	}
	if (cause != NULL) {
		fresh = !r->logged;
		r->logged = 1;
		free(r->error);
		r->error = cause;
	}
	return fresh;
}

/* ---- the probe ------------------------------------------------------------ */

void
portprobe_job_free(struct portprobe_job *job)
{
	if (job == NULL)
		return;
	free(job->container_id);
	free(job->key);
	free(job->cause);
	free(job->why);
	free(job->addr);
	if (job->health != NULL)
		free(job->health->uri);
	free(job->health);
	free(job);
}

static const char *
portprobe_strerror(int err, char *buf, size_t len)
{
	return strerror_r(err, buf, len);	/* GNU: may not use buf */
}

/* One connect to 127.0.0.1:port in the calling thread's namespace. */
static int
portprobe_connect(int port, int timeout_ms)
{
	struct sockaddr_in sin;
	struct pollfd pfd;
	socklen_t len = sizeof(int);
	int fd, rc, err = 0;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	rc = connect(fd, (struct sockaddr *)&sin, sizeof sin);
	if (rc != 0 && errno == EINPROGRESS) {
		pfd.fd = fd;
		pfd.events = POLLOUT;
		pfd.revents = 0;
		do
			rc = poll(&pfd, 1, timeout_ms);
		while (rc < 0 && errno == EINTR);
		if (rc == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err,
		    &len) == 0 && err == 0)
			rc = 0;
		else
			rc = -1;
	}
	close(fd);
	return rc == 0;
}

void
portprobe_run(struct portprobe_job *job, int timeout_ms,
    const atomic_int *stop)
{
	char path[64], ebuf[128];
	int fd, err;

	job->ok = job->gone = 0;
	if (job->pid > 0) {
		snprintf(path, sizeof path, "/proc/%d/ns/net", job->pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			err = errno;
			if (err == ENOENT || err == ESRCH) {
				job->gone = 1;	/* exited or restarted */
				return;
			}
			xasprintf(&job->cause, "%s %d: cannot open "
			    "%s: %s (the agent must run as root)", job->health
			    != NULL ? "health_check port" : "wait_for_port",
			    job->port,
			    path, portprobe_strerror(err, ebuf, sizeof ebuf));
			return;
		}
		if (setns(fd, CLONE_NEWNET) != 0) {
			err = errno;
			close(fd);
			xasprintf(&job->cause, "%s %d: cannot enter "
			    "the network namespace of pid %d: setns: %s (the "
			    "agent must run as root)", job->health != NULL ?
			    "health_check port" : "wait_for_port", job->port,
			    job->pid,
			    portprobe_strerror(err, ebuf, sizeof ebuf));
			return;
		}
		close(fd);
	}
	if (job->health != NULL)
		job->ok = health_run(job->health, job->addr, stop, &job->why);
	else
		job->ok = portprobe_connect(job->port, timeout_ms);
}

/* A probe thread: probe, queue the result, wake the converge thread. */
static void *
portprobe_main(void *arg)
{
	struct portprobe_arg *a = arg;
	struct portprobe *p = a->p;
	struct portprobe_job *job = a->job;
	int wake;

	free(a);
	portprobe_run(job, PORTPROBE_TIMEOUT_MS, &p->stop);
	pthread_mutex_lock(&p->lock);
	if (p->done_tail != NULL)
		p->done_tail->next = job;
	else
		p->done_head = job;
	p->done_tail = job;
	p->running--;
	/* An owner waiting in portprobe_wait() takes it without a wake-up
	 * (which would only cost it one more pass). */
	wake = !p->waiting;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	/* job may be freed from here on; p lives until every join. */
	if (wake)
		p->done(p->done_arg);
	return NULL;
}

/* ---- the launcher ---------------------------------------------------------- */

struct portprobe *
portprobe_new(void (*done)(void *), void *arg)
{
	struct portprobe *p = xcalloc(1, sizeof *p);
	pthread_condattr_t ca;

	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cond, &ca);
	pthread_condattr_destroy(&ca);
	p->done = done;
	p->done_arg = arg;
	return p;
}

int
portprobe_launch(struct portprobe *p, struct portprobe_job *job)
{
	struct portprobe_arg *a;
	int rc;

	pthread_mutex_lock(&p->lock);
	if (p->running >= PORTPROBE_MAX) {
		pthread_mutex_unlock(&p->lock);
		return -1;
	}
	a = xcalloc(1, sizeof *a);
	a->p = p;
	a->job = job;
	job->next = NULL;
	rc = pthread_create(&job->thread, NULL, portprobe_main, a);
	if (rc != 0) {
		pthread_mutex_unlock(&p->lock);
		free(a);
		log_warn("portprobe: cannot create a thread (%d)", rc);
		return -1;
	}
	p->running++;
	pthread_mutex_unlock(&p->lock);
	return 0;
}

struct portprobe_job *
portprobe_take(struct portprobe *p)
{
	struct portprobe_job *job;

	pthread_mutex_lock(&p->lock);
	job = p->done_head;
	if (job != NULL) {
		p->done_head = job->next;
		if (p->done_head == NULL)
			p->done_tail = NULL;
		job->next = NULL;
	}
	pthread_mutex_unlock(&p->lock);
	if (job != NULL)
		pthread_join(job->thread, NULL);	/* it is returning */
	return job;
}

int
portprobe_wait(struct portprobe *p, int ms)
{
	struct timespec ts;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&p->lock);
	p->waiting = 1;
	while (p->running > 0) {
		if (pthread_cond_timedwait(&p->cond, &p->lock, &ts) != 0)
			break;
	}
	p->waiting = 0;
	rc = p->running > 0 ? -1 : 0;
	pthread_mutex_unlock(&p->lock);
	return rc;
}

void
portprobe_free(struct portprobe *p)
{
	struct portprobe_job *job;

	if (p == NULL)
		return;
	/* Each probe ends within its connect timeout, or a poll slice. */
	atomic_store(&p->stop, 1);
	pthread_mutex_lock(&p->lock);
	while (p->running > 0)
		pthread_cond_wait(&p->cond, &p->lock);
	pthread_mutex_unlock(&p->lock);
	while ((job = portprobe_take(p)) != NULL)
		portprobe_job_free(job);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
	free(p);
}
