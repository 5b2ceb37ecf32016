/*
 * logstore.c - the log store's thread: queue, writes, acks, retention,
 * followers (see logstore.h).
 *
 * DESIGN. The hub's thread submits batches (checked frames, plain C) to a
 * queue under ls->lock, bounded by LOGSTORE_QUEUE_MAX bytes. The store's
 * thread takes what is queued, at most LOGSTORE_TXN_MAX bytes at a time,
 * writes it in one transaction on its own connection to logs.db, and only
 * after the commit asks the hub to acknowledge each frame (hub_logs_ack());
 * an agent drops what was acknowledged, so a line is always either in
 * logs.db or still in the agent's buffer.
 *
 * Exactly once: every line carries its container's sequence number, and a
 * stream remembers the highest one stored (max_seq). A line at or below it
 * is a resend of what is already here and is skipped; a drop marker that
 * reaches below it counts only the lines above. So a reconnect, a lost
 * acknowledgement or an agent restart never stores a line twice.
 *
 * Order within a session: when the queue is full, a frame is refused and
 * the agent told to send again from its last acknowledged line; until its
 * frame marked "resend" arrives, everything else that session sends is
 * dropped, so no later frame lands before the refused one. A failed commit
 * (a full disk) refuses the same way.
 *
 * Retention, per grid (grid settings logs_max_bytes, logs_max_age_s,
 * logs_container_pct): after a commit, a container over its share loses
 * its oldest lines; a grid over its size loses its oldest lines by
 * arrival; every LOGSTORE_RETENTION_MS lines past the age go, streams
 * without lines are forgotten after the age, and the logs of a deleted
 * grid are dropped. Each trims to 90% of the bound, so it does not run on
 * every commit.
 *
 * Followers: an API thread registers a waiter (its selector and a wake
 * callback). After a commit every waiter whose selector matches a stream
 * written to is woken; an idle one is woken every LOGSTORE_HEARTBEAT_MS
 * so its connection carries a keep-alive and a gone client is noticed.
 */
#include "master/logstore.h"
#include "master/hub.h"

#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOGSTORE_TXN_MAX	(8 * 1024 * 1024) /* bytes per transaction */
#define LOGSTORE_RETENTION_MS	10000	/* age and grid checks */
#define LOGSTORE_GRID_CACHE_MS	2000	/* grid settings re-read */
#define LOGSTORE_BUCKETS	4096	/* stream cache (power of two) */
#define LOGSTORE_CACHE_MAX	65536	/* streams cached before a flush */
#define LOGSTORE_SESS_BUCKETS	1024	/* sessions' refusal state */
#define LOGSTORE_TRIM_CHUNK	20000	/* lines per retention delete */

/* A stream as the writer knows it. */
struct ls_stream {
	struct ls_stream	*next;		/* hash chain */
	struct ls_stream	*tnext;		/* this commit's touched list */
	struct log_stream_row	 row;		/* the row, counters current */
	int			 touched;	/* on the touched list */
};

/* A grid's retention and usage. */
struct ls_grid {
	int64_t			 id;
	int64_t			 bytes;		/* lines' cost in logs.db */
	int64_t			 lines;		/* lines in logs.db */
	struct grid_settings	 gs;		/* its retention settings */
	int			 exists;	/* still in berth.db */
	int64_t			 loaded_at;	/* mono ms of gs; 0: never */
};

/* Refusal state of one hub session (guarded by ls->lock). */
struct ls_sess {
	struct ls_sess		*next;
	uint64_t		 serial;	/* the hub's session serial */
	int			 refusing;	/* until a "resend" frame */
};

struct logstore {
	struct master		*m;
	char			*path;		/* <data-dir>/logs.db */
	pthread_t		 thread;
	int			 joined;	/* the thread has ended */
	pthread_key_t		 reader_key;	/* API threads' connections */

	pthread_mutex_t		 lock;		/* guards the queue, sess */
	pthread_cond_t		 cond;		/* a batch came, or stop */
	struct log_batch	*head, *tail;	/* queued batches */
	size_t			 queued;	/* their bytes */
	size_t			 queue_max;	/* LOGSTORE_QUEUE_MAX (tests) */
	int			 retention_due;	/* run the pass now (tests) */
	int			 stop;
	struct ls_sess		*sess[LOGSTORE_SESS_BUCKETS];

	pthread_mutex_t		 wlock;		/* guards the waiters */
	struct logstore_waiter	*waiters;
	int			 wstop;		/* the API is stopping */

	atomic_uint_fast64_t	 n_lines, n_dups, n_refused;

	/* The store's thread only. */
	struct store		*st;		/* logs.db, the writer */
	struct ls_stream	*streams[LOGSTORE_BUCKETS];
	size_t			 nstreams;
	struct ls_stream	*touched;	/* written this commit */
	struct ls_grid		*grids;
	size_t			 ngrids;
	int64_t			 retention_at;	/* mono ms of the last pass */
	int64_t			 heartbeat_at;	/* mono ms of the last scan */
	int64_t			 warned_at;	/* mono ms of the last warning */
};

/* ---- sessions (ls->lock held) --------------------------------------------- */

static struct ls_sess *
ls_sess(struct logstore *ls, uint64_t serial, int create)
{
	struct ls_sess **pp = &ls->sess[serial % LOGSTORE_SESS_BUCKETS], *s;

	for (s = *pp; s != NULL; s = s->next)
		if (s->serial == serial)
			return s;
	if (!create)
		return NULL;
	s = xcalloc(1, sizeof *s);
	s->serial = serial;
	s->next = *pp;
	*pp = s;
	return s;
}

void
logstore_session_end(struct logstore *ls, uint64_t serial)
{
	struct ls_sess **pp, *s;

	if (ls == NULL)
		return;
	pthread_mutex_lock(&ls->lock);
	for (pp = &ls->sess[serial % LOGSTORE_SESS_BUCKETS]; (s = *pp) != NULL;
	    pp = &s->next) {
		if (s->serial == serial) {
			*pp = s->next;
			free(s);
			break;
		}
	}
	pthread_mutex_unlock(&ls->lock);
}

enum logstore_submit
logstore_submit(struct logstore *ls, struct log_batch *b)
{
	struct ls_sess *s;

	pthread_mutex_lock(&ls->lock);
	s = ls_sess(ls, b->session, 0);
	if (s != NULL && s->refusing && !b->resend) {
		pthread_mutex_unlock(&ls->lock);
		log_batch_free(b);
		return LOGSTORE_IGNORED;
	}
	if (b->resend && s != NULL)
		s->refusing = 0;
	if (ls->queued + b->bytes > ls->queue_max || ls->stop) {
		ls_sess(ls, b->session, 1)->refusing = 1;
		pthread_mutex_unlock(&ls->lock);
		atomic_fetch_add(&ls->n_refused, 1);
		log_batch_free(b);
		return LOGSTORE_REFUSED;
	}
	b->next = NULL;
	if (ls->tail != NULL)
		ls->tail->next = b;
	else
		ls->head = b;
	ls->tail = b;
	ls->queued += b->bytes;
	pthread_cond_signal(&ls->cond);
	pthread_mutex_unlock(&ls->lock);
	return LOGSTORE_QUEUED;
}

/* ---- the stream cache (store's thread) ------------------------------------ */

static size_t
ls_hash(const char *id)
{
	size_t h = 5381;

	while (*id != '\0')
		h = h * 33 + (unsigned char)*id++;
	return h & (LOGSTORE_BUCKETS - 1);
}

static void
ls_cache_clear(struct logstore *ls)
{
	struct ls_stream *s, *next;
	size_t i;

	for (i = 0; i < LOGSTORE_BUCKETS; i++) {
		for (s = ls->streams[i]; s != NULL; s = next) {
			next = s->next;
			free(s);
		}
		ls->streams[i] = NULL;
	}
	ls->nstreams = 0;
	ls->touched = NULL;
}

static struct ls_stream *
ls_cache_find(struct logstore *ls, const char *container_id)
{
	struct ls_stream *s;

	for (s = ls->streams[ls_hash(container_id)]; s != NULL; s = s->next)
		if (strcmp(s->row.container_id, container_id) == 0)
			return s;
	return NULL;
}

static struct ls_grid *
ls_grid(struct logstore *ls, int64_t id)
{
	size_t i;

	for (i = 0; i < ls->ngrids; i++)
		if (ls->grids[i].id == id)
			return &ls->grids[i];
	ls->grids = xreallocarray(ls->grids, ls->ngrids + 1, sizeof *ls->grids);
	memset(&ls->grids[ls->ngrids], 0, sizeof *ls->grids);
	ls->grids[ls->ngrids].id = id;
	ls->grids[ls->ngrids].exists = 1;
	grid_settings_default(&ls->grids[ls->ngrids].gs);
	return &ls->grids[ls->ngrids++];
}

/* The grid's settings, re-read from berth.db now and then. */
static struct ls_grid *
ls_grid_settings(struct logstore *ls, int64_t id)
{
	struct ls_grid *g = ls_grid(ls, id);
	struct grid row;
	int64_t now = util_mono_ms();
	int rc;

	if (g->loaded_at != 0 && now - g->loaded_at < LOGSTORE_GRID_CACHE_MS)
		return g;
	rc = store_grid_get_id(master_store(ls->m), id, &row);
	if (rc == 1) {
		g->gs = row.settings;
		g->exists = 1;
	} else if (rc == 0)
		g->exists = 0;
	g->loaded_at = now;
	return g;
}

/* The writer's stream for a batch's container: cached, loaded or new. */
static struct ls_stream *
ls_stream_for(struct logstore *ls, const struct log_batch *b,
    const struct log_stream_in *in)
{
	struct ls_stream *s = ls_cache_find(ls, in->container_id);
	struct log_stream_row row;
	int rc;

	if (s != NULL)
		return s;
	if (ls->nstreams >= LOGSTORE_CACHE_MAX && ls->touched == NULL)
		ls_cache_clear(ls);
	rc = store_logs_stream_get(ls->st, in->container_id, &row);
	if (rc < 0)
		return NULL;
	if (rc == 0) {
		memset(&row, 0, sizeof row);
		snprintf(row.container_id, sizeof row.container_id, "%s",
		    in->container_id);
		row.grid_id = b->grid_id;
		snprintf(row.node_id, sizeof row.node_id, "%s", b->node_id);
		snprintf(row.node_name, sizeof row.node_name, "%s",
		    b->node_name);
		snprintf(row.name, sizeof row.name, "%s", in->name);
		snprintf(row.stack, sizeof row.stack, "%s", in->stack);
		snprintf(row.service, sizeof row.service, "%s", in->service);
		snprintf(row.job, sizeof row.job, "%s", in->job);
		row.instance = in->instance;
		row.created_at = util_now_ms();
		if (store_logs_stream_insert(ls->st, &row) != 0)
			return NULL;
	}
	s = xcalloc(1, sizeof *s);
	s->row = row;
	s->next = ls->streams[ls_hash(row.container_id)];
	ls->streams[ls_hash(row.container_id)] = s;
	ls->nstreams++;
	return s;
}

/* ---- writing ---------------------------------------------------------------- */

/* Warn at most every 10 s (a misbehaving agent must not flood the log). */
static int
ls_may_warn(struct logstore *ls)
{
	int64_t now = util_mono_ms();

	if (now - ls->warned_at < 10000)
		return 0;
	ls->warned_at = now;
	return 1;
}

/* Write one container's entries of a batch. 0, or -1 on a store error. */
static int
ls_write_stream(struct logstore *ls, const struct log_batch *b,
    const struct log_stream_in *in)
{
	struct ls_stream *s = ls_stream_for(ls, b, in);
	struct log_entry e;
	struct ls_grid *g;
	int64_t cost, first;
	size_t i;

	if (s == NULL)
		return -1;
	/* A container id is one node's: another node may not write to it. */
	if (s->row.grid_id != b->grid_id || strcmp(s->row.node_id,
	    b->node_id) != 0) {
		if (ls_may_warn(ls))
			log_warn("logs: node %s sent lines for container %.12s, "
			    "which belongs to node %s: ignored", b->node_name,
			    in->container_id, s->row.node_name);
		return 0;
	}
	g = ls_grid(ls, s->row.grid_id);
	for (i = 0; i < in->n; i++) {
		e = in->e[i];
		if (e.seq <= s->row.max_seq) {
			atomic_fetch_add(&ls->n_dups, 1);
			continue;
		}
		if (e.kind == LOG_KIND_DROPPED) {
			first = e.seq - e.dropped + 1;
			if (first <= s->row.max_seq)	/* some are stored */
				e.dropped = e.seq - s->row.max_seq;
		}
		if (store_logs_line_insert(ls->st, s->row.id, &e) != 0)
			return -1;
		cost = (int64_t)e.len + STORE_LOGS_ROW_OVERHEAD;
		s->row.max_seq = e.seq;
		s->row.lines++;
		s->row.bytes += cost;
		g->bytes += cost;
		g->lines++;
		if (s->row.first_ts == 0 || e.ts < s->row.first_ts)
			s->row.first_ts = e.ts;
		if (e.ts > s->row.last_ts)
			s->row.last_ts = e.ts;
		atomic_fetch_add(&ls->n_lines, 1);
	}
	if (!s->touched) {
		s->touched = 1;
		s->tnext = ls->touched;
		ls->touched = s;
	}
	return 0;
}

/* A session's acknowledgement to post after the commit. */
struct ls_ack {
	char		 node_id[33];
	uint64_t	 session;
	int64_t		 seq;
};

static void
ls_ack_note(struct ls_ack **acks, size_t *n, const struct log_batch *b)
{
	size_t i;

	for (i = 0; i < *n; i++) {
		if ((*acks)[i].session == b->session) {
			(*acks)[i].seq = b->seq;	/* in order: the last */
			return;
		}
	}
	*acks = xreallocarray(*acks, *n + 1, sizeof **acks);
	snprintf((*acks)[*n].node_id, sizeof (*acks)[*n].node_id, "%s",
	    b->node_id);
	(*acks)[*n].session = b->session;
	(*acks)[*n].seq = b->seq;
	(*n)++;
}

static int
ls_sel_match(const struct log_sel *sel, const struct log_stream_row *r)
{
	size_t n;

	if (sel->grid_id != r->grid_id)
		return 0;
	switch (sel->kind) {
	case LOG_SEL_SERVICE:
		return strcmp(sel->stack, r->stack) == 0 &&
		    strcmp(sel->service, r->service) == 0;
	case LOG_SEL_STACK:
		return strcmp(sel->stack, r->stack) == 0;
	case LOG_SEL_CONTAINER:
		n = strlen(sel->name);
		return strcmp(sel->name, r->name) == 0 || (n >= 12 &&
		    strncmp(sel->name, r->container_id, n) == 0);
	case LOG_SEL_JOB:
		return r->job[0] != '\0' && strcmp(sel->job, r->job) == 0;
	}
	return 0;
}

/* Wake w (wlock held). */
static void
ls_wake_one(struct logstore_waiter *w)
{
	if (w->sleeping) {
		w->sleeping = 0;
		w->wake(w->arg);
	} else
		w->pending = 1;
}

/* Wake the followers of the streams this commit wrote. */
static void
ls_wake_touched(struct logstore *ls)
{
	struct logstore_waiter *w;
	struct ls_stream *s;

	pthread_mutex_lock(&ls->wlock);
	for (w = ls->waiters; w != NULL; w = w->next) {
		for (s = ls->touched; s != NULL; s = s->tnext) {
			if (ls_sel_match(&w->sel, &s->row)) {
				ls_wake_one(w);
				break;
			}
		}
	}
	pthread_mutex_unlock(&ls->wlock);
}

static void ls_trim_streams(struct logstore *ls);
static void ls_trim_grids(struct logstore *ls);

/*
 * Write a list of batches in one transaction, then acknowledge them; on a
 * failure refuse them (their agents send again).
 */
static void
ls_write(struct logstore *ls, struct log_batch *list)
{
	struct log_batch *b;
	struct ls_ack *acks = NULL;
	struct ls_stream *s;
	struct ls_sess *ss;
	size_t i, nacks = 0, nframes = 0, nlines = 0;
	int64_t t0 = util_mono_ms();
	int ok = store_begin(ls->st) == 0;

	for (b = list; b != NULL && ok; b = b->next) {
		pthread_mutex_lock(&ls->lock);
		ss = ls_sess(ls, b->session, 0);
		if (ss != NULL && ss->refusing && !b->resend) {
			pthread_mutex_unlock(&ls->lock);
			continue;	/* refused before: dropped */
		}
		pthread_mutex_unlock(&ls->lock);
		for (i = 0; i < b->nstreams && ok; i++)
			ok = ls_write_stream(ls, b, &b->streams[i]) == 0;
		ls_ack_note(&acks, &nacks, b);
		nframes++;
		nlines += b->nentries;
	}
	for (s = ls->touched; s != NULL && ok; s = s->tnext)
		ok = store_logs_stream_save(ls->st, &s->row) == 0;
	if (ok && store_commit(ls->st) != 0)
		ok = 0;
	if (!ok) {
		if (ls_may_warn(ls))
			log_error("logs: cannot write to %s: %s; agents will "
			    "send again", ls->path, store_errmsg(ls->st));
		store_rollback(ls->st);
		ls_cache_clear(ls);	/* its counters ran ahead */
		pthread_mutex_lock(&ls->lock);
		for (i = 0; i < nacks; i++)
			ls_sess(ls, acks[i].session, 1)->refusing = 1;
		pthread_mutex_unlock(&ls->lock);
		/* One retry per session: for its first frame in the list. */
		for (b = list; b != NULL; b = b->next) {
			for (i = 0; i < nacks; i++) {
				if (acks[i].session == b->session &&
				    acks[i].seq != 0) {
					if (ls->m->hub != NULL)
						hub_logs_ack(ls->m->hub,
						    b->node_id, b->session,
						    b->seq, 1);
					acks[i].seq = 0;
				}
			}
		}
		/* The grids' totals ran ahead too: count again. */
		free(ls->grids);
		ls->grids = NULL;
		ls->ngrids = 0;
		free(acks);
		return;
	}
	log_debug("logs: %zu frame(s), %zu lines written in %lld ms", nframes,
	    nlines, (long long)(util_mono_ms() - t0));
	for (i = 0; i < nacks && ls->m->hub != NULL; i++)
		hub_logs_ack(ls->m->hub, acks[i].node_id, acks[i].session,
		    acks[i].seq, 0);
	free(acks);
	ls_wake_touched(ls);
	ls_trim_streams(ls);
	ls_trim_grids(ls);
	for (s = ls->touched; s != NULL; s = s->tnext)
		s->touched = 0;
	ls->touched = NULL;
}

/* ---- retention (store's thread) ------------------------------------------------ */

/* Trim stream s (cached or not) by n oldest lines or before before_ts. */
static void
ls_trim_one(struct logstore *ls, struct log_stream_row *row, int64_t n,
    int64_t before_ts)
{
	struct ls_grid *g = ls_grid(ls, row->grid_id);
	int64_t rows, bytes, first;

	if (store_begin(ls->st) != 0)
		return;
	if (store_logs_trim_stream(ls->st, row->id, n, before_ts, &rows,
	    &bytes, &first) != 0) {
		store_rollback(ls->st);
		return;
	}
	row->lines -= rows;
	row->bytes -= bytes;
	if (row->lines <= 0 || row->bytes < 0) {
		row->lines = row->lines < 0 ? 0 : row->lines;
		row->bytes = row->bytes < 0 ? 0 : row->bytes;
	}
	row->first_ts = first;
	if (store_logs_stream_save(ls->st, row) != 0 ||
	    store_commit(ls->st) != 0) {
		store_rollback(ls->st);
		ls_cache_clear(ls);
		return;
	}
	g->bytes -= bytes;
	g->lines -= rows;
	log_debug("logs: container %s: %lld old lines removed (%lld bytes)",
	    row->name, (long long)rows, (long long)bytes);
}

/* One container's share of its grid's logs. */
static int64_t
ls_share(const struct ls_grid *g)
{
	return g->gs.logs_max_bytes / 100 * g->gs.logs_container_pct;
}

/* A container over its share loses its oldest lines, down to 90%. */
static void
ls_trim_share(struct logstore *ls, struct log_stream_row *row, int64_t cap)
{
	int64_t over, n;

	if (row->bytes <= cap || row->lines <= 0)
		return;
	over = row->bytes - cap / 10 * 9;
	n = (int64_t)((double)row->lines * (double)over / (double)row->bytes) +
	    1;
	ls_trim_one(ls, row, n, 0);
}

/* Containers of this commit over their grid's share. */
static void
ls_trim_streams(struct logstore *ls)
{
	struct ls_stream *s;

	for (s = ls->touched; s != NULL; s = s->tnext)
		ls_trim_share(ls, &s->row, ls_share(ls_grid_settings(ls,
		    s->row.grid_id)));
}

struct ls_trim_arg {
	struct logstore	*ls;
	int64_t		 rows;
};

static void
ls_trim_grid_cb(void *arg, int64_t stream, int64_t rows, int64_t bytes)
{
	struct ls_trim_arg *a = arg;
	struct log_stream_row row;
	struct ls_stream *s;

	a->rows += rows;
	if (store_logs_stream_by_id(a->ls->st, stream, &row) != 1)
		return;
	if ((s = ls_cache_find(a->ls, row.container_id)) != NULL)
		row = s->row;
	row.lines -= rows;
	row.bytes -= bytes;
	if (row.lines < 0)
		row.lines = 0;
	if (row.bytes < 0)
		row.bytes = 0;
	if (row.lines == 0)
		row.first_ts = 0;
	(void)store_logs_stream_save(a->ls->st, &row);
	if (s != NULL)
		s->row = row;
}

/* The grids' usage, counted again from the streams' rows. */
static void
ls_recount_cb(void *arg, int64_t grid_id, int64_t bytes, int64_t lines)
{
	struct ls_grid *g = ls_grid(arg, grid_id);

	g->bytes = bytes;
	g->lines = lines;
}

static void
ls_recount(struct logstore *ls)
{
	size_t i;

	for (i = 0; i < ls->ngrids; i++)
		ls->grids[i].bytes = ls->grids[i].lines = 0;
	if (store_logs_grid_bytes(ls->st, ls_recount_cb, ls) != 0)
		log_error("logs: cannot count the grids' logs: %s",
		    store_errmsg(ls->st));
}

/* Grids over their size: their oldest lines by arrival. */
static void
ls_trim_grids(struct logstore *ls)
{
	struct ls_trim_arg a;
	struct ls_grid *g;
	int64_t target, n, id;
	size_t i;
	int rounds;

	for (i = 0; i < ls->ngrids; i++) {
		id = ls->grids[i].id;
		g = ls_grid_settings(ls, id);
		if (g->bytes <= g->gs.logs_max_bytes || g->lines <= 0)
			continue;
		target = g->gs.logs_max_bytes / 10 * 9;
		for (rounds = 0; g->bytes > target && rounds < 1000; rounds++) {
			n = (int64_t)((double)g->lines * (double)(g->bytes -
			    target) / (double)g->bytes) + 1;
			if (n > LOGSTORE_TRIM_CHUNK)
				n = LOGSTORE_TRIM_CHUNK;
			a.ls = ls;
			a.rows = 0;
			if (store_begin(ls->st) != 0)
				break;
			if (store_logs_trim_grid(ls->st, id, n,
			    ls_trim_grid_cb, &a) != 0 ||
			    store_commit(ls->st) != 0) {
				store_rollback(ls->st);
				ls_cache_clear(ls);
				break;
			}
			ls_recount(ls);
			g = ls_grid(ls, id);
			if (a.rows == 0)
				break;
		}
		log_info("logs: grid %lld over logs_max_bytes: oldest lines "
		    "removed, %lld bytes kept", (long long)id,
		    (long long)g->bytes);
	}
}

struct ls_old {
	struct log_stream_row	*v;
	size_t			 n;
};

static int
ls_old_cb(void *arg, const struct log_stream_row *r)
{
	struct ls_old *o = arg;

	o->v = xreallocarray(o->v, o->n + 1, sizeof *o->v);
	o->v[o->n++] = *r;
	return 0;
}

/*
 * The periodic pass: lines past each grid's age, streams without lines
 * past it, the logs of grids that are gone.
 */
static void
ls_retention(struct logstore *ls)
{
	struct ls_old old;
	struct ls_stream *s;
	struct ls_grid *g;
	int64_t now_ns = util_now_ms() * 1000000, cutoff, id;
	size_t i, j;
	int forgot = 0;

	ls_recount(ls);
	for (i = 0; i < ls->ngrids; i++) {
		id = ls->grids[i].id;
		g = ls_grid_settings(ls, id);
		if (!g->exists) {
			if (store_begin(ls->st) == 0 &&
			    store_logs_drop_grid(ls->st, id) == 0 &&
			    store_commit(ls->st) == 0)
				log_info("logs: grid %lld is gone: its logs "
				    "were dropped", (long long)id);
			store_rollback(ls->st);
			forgot = 1;
			continue;
		}
		cutoff = now_ns - g->gs.logs_max_age_s * 1000000000;
		memset(&old, 0, sizeof old);
		if (store_logs_streams_over(ls->st, id, cutoff, ls_share(g),
		    ls_old_cb, &old) != 0)
			log_error("logs: retention: %s", store_errmsg(ls->st));
		for (j = 0; j < old.n; j++) {
			struct log_stream_row *row;

			s = ls_cache_find(ls, old.v[j].container_id);
			row = s != NULL ? &s->row : &old.v[j];
			if (row->first_ts < cutoff)
				ls_trim_one(ls, row, 0, cutoff);
			ls_trim_share(ls, row, ls_share(g));
		}
		free(old.v);
		switch (store_logs_forget_streams(ls->st, id, cutoff)) {
		case -1:
			log_error("logs: retention: %s", store_errmsg(ls->st));
			break;
		case 0:
			break;
		default:
			forgot = 1;
		}
	}
	if (forgot) {
		ls_cache_clear(ls);
		ls_recount(ls);
	}
	ls_trim_grids(ls);
}

/* ---- waiters -------------------------------------------------------------- */

void
logstore_waiter_add(struct logstore *ls, struct logstore_waiter *w)
{
	pthread_mutex_lock(&ls->wlock);
	w->prev = NULL;
	w->next = ls->waiters;
	if (ls->waiters != NULL)
		ls->waiters->prev = w;
	ls->waiters = w;
	w->sleeping = 0;
	w->pending = 0;
	pthread_mutex_unlock(&ls->wlock);
}

void
logstore_waiter_remove(struct logstore *ls, struct logstore_waiter *w)
{
	pthread_mutex_lock(&ls->wlock);
	if (w->prev != NULL)
		w->prev->next = w->next;
	else if (ls->waiters == w)
		ls->waiters = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	w->next = w->prev = NULL;
	pthread_mutex_unlock(&ls->wlock);
}

int
logstore_wait(struct logstore *ls, struct logstore_waiter *w,
    void (*sleep)(void *), void *arg, int *stopping)
{
	int slept = 0;

	pthread_mutex_lock(&ls->wlock);
	*stopping = ls->wstop;
	if (w->pending || ls->wstop)
		w->pending = 0;
	else {
		w->sleeping = 1;
		w->slept_at = util_mono_ms();
		sleep(arg);
		slept = 1;
	}
	pthread_mutex_unlock(&ls->wlock);
	return slept;
}

void
logstore_waiters_shutdown(struct logstore *ls)
{
	struct logstore_waiter *w;

	if (ls == NULL)
		return;
	pthread_mutex_lock(&ls->wlock);
	ls->wstop = 1;
	for (w = ls->waiters; w != NULL; w = w->next)
		ls_wake_one(w);
	pthread_mutex_unlock(&ls->wlock);
}

/* Idle followers get a keep-alive (and a gone client is noticed). */
static void
ls_heartbeat(struct logstore *ls)
{
	struct logstore_waiter *w;
	int64_t now = util_mono_ms();

	pthread_mutex_lock(&ls->wlock);
	for (w = ls->waiters; w != NULL; w = w->next) {
		if (w->sleeping && now - w->slept_at >= LOGSTORE_HEARTBEAT_MS)
			ls_wake_one(w);
	}
	pthread_mutex_unlock(&ls->wlock);
}

/* ---- the thread ------------------------------------------------------------ */

static void *
ls_main(void *arg)
{
	struct logstore *ls = arg;
	struct log_batch *list, *last, *b;
	struct timespec ts;
	size_t bytes;
	int64_t now;
	int stop;
	char *cause = NULL;

	if ((ls->st = store_logs_open(ls->path, &cause)) == NULL)
		fatalx("logs: %s", cause);
	ls_recount(ls);
	for (;;) {
		pthread_mutex_lock(&ls->lock);
		while (ls->head == NULL && !ls->stop && !ls->retention_due) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			if (pthread_cond_timedwait(&ls->cond, &ls->lock, &ts) ==
			    ETIMEDOUT)
				break;
		}
		/* Take up to LOGSTORE_TXN_MAX bytes (at least one batch). */
		list = last = ls->head;
		bytes = 0;
		for (b = ls->head; b != NULL; b = b->next) {
			if (bytes > 0 && bytes + b->bytes > LOGSTORE_TXN_MAX)
				break;
			bytes += b->bytes;
			last = b;
		}
		if (list != NULL) {
			ls->head = last->next;
			if (ls->head == NULL)
				ls->tail = NULL;
			last->next = NULL;
			ls->queued -= bytes;
		}
		stop = ls->stop && ls->head == NULL;
		if (ls->retention_due) {
			ls->retention_due = 0;
			ls->retention_at = 0;
		}
		pthread_mutex_unlock(&ls->lock);

		if (list != NULL)
			ls_write(ls, list);
		while ((b = list) != NULL) {
			list = b->next;
			log_batch_free(b);
		}
		now = util_mono_ms();
		if (now - ls->heartbeat_at >= 1000) {
			ls->heartbeat_at = now;
			ls_heartbeat(ls);
		}
		if (now - ls->retention_at >= LOGSTORE_RETENTION_MS) {
			ls->retention_at = now;
			ls_retention(ls);
		}
		if (stop)
			break;
	}
	ls_cache_clear(ls);
	store_close(ls->st);
	ls->st = NULL;
	/* Its berth.db connection (grid settings): the fixture's key has no
	 * destructor, so close it here. */
	store_close(pthread_getspecific(ls->m->store_key));
	pthread_setspecific(ls->m->store_key, NULL);
	return NULL;
}

static void
ls_reader_free(void *p)
{
	store_close(p);
}

struct logstore *
logstore_start(struct master *m, char **cause)
{
	struct logstore *ls;
	struct store *st;

	ls = xcalloc(1, sizeof *ls);
	ls->m = m;
	xasprintf(&ls->path, "%s/logs.db", m->cfg.data_dir);
	if ((st = store_logs_open(ls->path, cause)) == NULL)
		goto fail;
	if (store_logs_migrate(st, cause) != 0) {
		char *c2;

		xasprintf(&c2, "%s: %s", ls->path, *cause);
		free(*cause);
		*cause = c2;
		store_close(st);
		goto fail;
	}
	store_close(st);
	pthread_mutex_init(&ls->lock, NULL);
	pthread_cond_init(&ls->cond, NULL);
	pthread_mutex_init(&ls->wlock, NULL);
	if (pthread_key_create(&ls->reader_key, ls_reader_free) != 0)
		fatalx("logs: pthread_key_create failed");
	ls->retention_at = util_mono_ms();
	ls->queue_max = LOGSTORE_QUEUE_MAX;
	if (pthread_create(&ls->thread, NULL, ls_main, ls) != 0)
		fatalx("logs: cannot start the log store's thread");
	return ls;
fail:
	free(ls->path);
	free(ls);
	return NULL;
}

void
logstore_stop(struct logstore *ls)
{
	if (ls == NULL || ls->joined)
		return;
	pthread_mutex_lock(&ls->lock);
	ls->stop = 1;
	pthread_cond_signal(&ls->cond);
	pthread_mutex_unlock(&ls->lock);
	pthread_join(ls->thread, NULL);
	ls->joined = 1;
}

void
logstore_free(struct logstore *ls)
{
	struct log_batch *b;
	struct ls_sess *s;
	size_t i;

	if (ls == NULL)
		return;
	logstore_stop(ls);
	while ((b = ls->head) != NULL) {	/* refused ones never queue */
		ls->head = b->next;
		log_batch_free(b);
	}
	for (i = 0; i < LOGSTORE_SESS_BUCKETS; i++) {
		while ((s = ls->sess[i]) != NULL) {
			ls->sess[i] = s->next;
			free(s);
		}
	}
	free(ls->grids);
	pthread_key_delete(ls->reader_key);
	pthread_mutex_destroy(&ls->lock);
	pthread_cond_destroy(&ls->cond);
	pthread_mutex_destroy(&ls->wlock);
	free(ls->path);
	free(ls);
}

struct store *
logstore_reader(struct logstore *ls)
{
	struct store *st = pthread_getspecific(ls->reader_key);
	char *cause = NULL;

	if (st != NULL)
		return st;
	if ((st = store_logs_open(ls->path, &cause)) == NULL) {
		log_error("logs: %s", cause);
		free(cause);
		return NULL;
	}
	pthread_setspecific(ls->reader_key, st);
	return st;
}

void
logstore_set_queue_max(struct logstore *ls, size_t bytes)
{
	pthread_mutex_lock(&ls->lock);
	ls->queue_max = bytes > 0 ? bytes : LOGSTORE_QUEUE_MAX;
	pthread_mutex_unlock(&ls->lock);
}

void
logstore_retention_soon(struct logstore *ls)
{
	pthread_mutex_lock(&ls->lock);
	ls->retention_due = 1;
	pthread_cond_signal(&ls->cond);
	pthread_mutex_unlock(&ls->lock);
}

void
logstore_stats(struct logstore *ls, struct logstore_stats *out)
{
	memset(out, 0, sizeof *out);
	if (ls == NULL)
		return;
	out->lines = atomic_load(&ls->n_lines);
	out->duplicates = atomic_load(&ls->n_dups);
	out->refused = atomic_load(&ls->n_refused);
	pthread_mutex_lock(&ls->lock);
	out->queued_bytes = ls->queued;
	pthread_mutex_unlock(&ls->lock);
}
