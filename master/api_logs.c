/*
 * api_logs.c - GET /v1/services/{g}/{s}/{svc}/logs, /v1/stacks/{g}/{s}/logs
 * and /v1/containers/{g}/{name}/logs: container logs as NDJSON, one line
 * per JSON object, streamed while the client reads (docs/logs.md).
 *
 * DESIGN. The handler (an API thread) checks the query, finds the streams
 * the path names in logs.db and, for ?tail=N, where each stream's last N
 * lines across all of them begin (a merge of the streams' newest lines,
 * newest first, by (ts, stream, seq), N steps). It then replies with a
 * libmicrohttpd content reader and returns: the reader runs each time the
 * socket can take more, on the connection's API thread, and never holds
 * an SQLite statement or a transaction across calls (a slow client must
 * not pin the WAL), so each call fetches short pages again from where the
 * last one stopped:
 *
 *	history	the selected streams merged by (ts, stream, seq), from each
 *		stream's start (since, tail) up to the newest line that
 *		existed when the request came (max_id);
 *	follow	(?follow=1) lines after max_id in order of arrival;
 *		with nothing to send, the reader registers with the log
 *		store, suspends its connection (MHD_suspend_connection) and
 *		returns 0: a follower holds no thread while it waits, so
 *		any number of followers share the --api-threads. A commit
 *		that touched its streams resumes it; so does a heartbeat
 *		every 15 s, on which it sends an empty line (a keep-alive
 *		that also finds clients that went away).
 *
 * ?after=ID skips the history and starts after line ID (a line's "id"):
 * how the CLI resumes a follow after a reconnect without a gap or a
 * repeat, and how a client pages. Every line goes out as JSON: whatever
 * bytes a container wrote cannot break the stream or a terminal.
 */
#include "master/api.h"
#include "master/logstore.h"
#include "master/store_logs.h"

#include "common/log.h"
#include "common/logfmt.h"
#include "common/util.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#define LOGS_PAGE_ROWS		64	/* lines fetched per stream and page */
#define LOGS_PAGE_BYTES		(64 * 1024) /* ... or this much text */
#define LOGS_TAIL_PAGE		512	/* (ts, seq) fetched per tail page */
#define LOGS_FOLLOW_ROWS	256	/* lines per follow query */
#define LOGS_OUT_CHUNK		(32 * 1024) /* produce about this per call */
#define LOGS_TAIL_MAX		10000000
#define LOGS_STREAMS_MAX	4096	/* streams one request merges */

/* A line fetched for the merge; text in its page's blob. */
struct logs_line {
	int64_t		 id, seq, ts, dropped;
	enum log_kind	 kind;
	int		 partial;
	size_t		 off, len;	/* text in the page blob */
};

/* One stream in the history merge. */
struct logs_src {
	struct log_stream_row meta;	/* what the lines say about it */
	int64_t		 ts, seq;	/* where the next page begins */
	int64_t		 start_ts;	/* the history's first line of it */
	int64_t		 start_seq;
	int		 started;	/* in the history at all */
	struct logs_line *line;		/* the fetched page */
	size_t		 n, i;		/* lines in it, next to merge */
	struct buf	 blob;		/* their text */
	int		 eof;		/* nothing after this page */
	int		 full;		/* the page stopped at its byte cap */
};

enum logs_phase { LOGS_HISTORY, LOGS_FOLLOW, LOGS_END };

struct logs_req {
	struct master	*m;
	struct MHD_Connection *conn;
	struct log_sel	 sel;
	int		 follow;	/* stream until the client leaves */
	int64_t		 max_id;	/* newest line when it came */
	int64_t		 after;		/* follow: lines after this id */
	int64_t		 until;		/* 0, or stop after this id */
	enum logs_phase	 phase;
	struct logs_src	*src;		/* one per stream */
	size_t		 nsrc;
	struct logs_src	**heap;		/* sources with lines, merge order */
	size_t		 nheap;
	struct log_stream_row *meta;	/* streams met while following */
	size_t		 nmeta;
	struct buf	 out;		/* produced, not yet handed to MHD */
	size_t		 off;		/* handed so far */
	struct logstore_waiter w;	/* following: the store wakes us */
	int		 registered;	/* w is on the store's list */
	int64_t		 last_out;	/* mono ms of the last bytes out */
	int		 failed;	/* a store error: cut the stream */
};

/* ---- output ----------------------------------------------------------------- */

static void
logs_emit(struct logs_req *r, const struct log_stream_row *m, int64_t id,
    int64_t ts, enum log_kind kind, int partial, int64_t dropped,
    const char *text, size_t len)
{
	struct buf *b = &r->out;
	char tsbuf[LOGFMT_TS_LEN + 1], msg[128];

	buf_printf(b, "{\"ts\":\"%s\",\"stream\":\"%s\",\"instance\":%d,"
	    "\"line\":\"", logfmt_ts(ts, tsbuf), log_kind_name(kind),
	    m->instance);
	if (kind == LOG_KIND_DROPPED) {
		snprintf(msg, sizeof msg, "[berth] %lld lines dropped: the "
		    "agent's buffer for this container was full",
		    (long long)dropped);
		logfmt_json_escape(b, msg, strlen(msg));
	} else
		logfmt_json_escape(b, text, len);
	buf_printf(b, "\",\"container\":\"%s\",\"stack\":\"%s\","
	    "\"service\":\"%s\",\"node\":\"%s\",\"id\":%lld", m->name,
	    m->stack, m->service, m->node_name, (long long)id);
	if (m->job[0] != '\0')
		buf_printf(b, ",\"job\":\"%s\"", m->job);
	if (partial)
		buf_printf(b, ",\"partial\":true");
	if (kind == LOG_KIND_DROPPED)
		buf_printf(b, ",\"dropped\":%lld", (long long)dropped);
	buf_append(b, "}\n", 2);
}

/* ---- the merge (a binary heap of sources) ------------------------------------ */

/* Is a's next line before b's? (ts, stream, seq); desc reverses it. */
static int
logs_before(const struct logs_src *a, const struct logs_src *b, int desc)
{
	const struct logs_line *x = &a->line[a->i], *y = &b->line[b->i];
	int c;

	if (x->ts != y->ts)
		c = x->ts < y->ts ? -1 : 1;
	else if (a->meta.id != b->meta.id)
		c = a->meta.id < b->meta.id ? -1 : 1;
	else
		c = x->seq < y->seq ? -1 : (x->seq > y->seq);
	return desc ? c > 0 : c < 0;
}

static void
logs_heap_down(struct logs_req *r, size_t i, int desc)
{
	struct logs_src *t;
	size_t l, m;

	for (;;) {
		l = 2 * i + 1;
		m = i;
		if (l < r->nheap && logs_before(r->heap[l], r->heap[m], desc))
			m = l;
		if (l + 1 < r->nheap && logs_before(r->heap[l + 1], r->heap[m],
		    desc))
			m = l + 1;
		if (m == i)
			return;
		t = r->heap[i];
		r->heap[i] = r->heap[m];
		r->heap[m] = t;
		i = m;
	}
}

static void
logs_heap_build(struct logs_req *r, int desc)
{
	size_t i;

	for (i = r->nheap / 2; i-- > 0;)
		logs_heap_down(r, i, desc);
}

/* The top source is used up: refill it or drop it from the heap. */
static void
logs_heap_pop_source(struct logs_req *r, int desc)
{
	r->heap[0] = r->heap[--r->nheap];
	logs_heap_down(r, 0, desc);
}

struct logs_page_arg {
	struct logs_src	*s;
	int		 with_text;
};

static int
logs_page_cb(void *arg, const struct log_row *row)
{
	struct logs_page_arg *a = arg;
	struct logs_src *s = a->s;
	struct logs_line *l = &s->line[s->n++];

	l->id = row->id;
	l->seq = row->seq;
	l->ts = row->ts;
	l->kind = row->kind;
	l->partial = row->partial;
	l->dropped = row->dropped;
	l->off = s->blob.len;
	l->len = a->with_text && row->text != NULL ? row->len : 0;
	if (l->len > 0)
		buf_append(&s->blob, row->text, l->len);
	if (a->with_text && s->blob.len >= LOGS_PAGE_BYTES) {
		s->full = 1;
		return 1;
	}
	return 0;
}

/*
 * Fetch s's next page: ascending with text from (ts, seq) inclusive, or
 * (desc) the (ts, seq) before it. 0, or -1 on a store error.
 */
static int
logs_fetch(struct logs_req *r, struct store *st, struct logs_src *s,
    int desc, int64_t since)
{
	struct logs_page_arg a = { s, !desc };
	int limit = desc ? LOGS_TAIL_PAGE : LOGS_PAGE_ROWS;

	s->line = xreallocarray(s->line, (size_t)limit, sizeof *s->line);
	s->n = s->i = 0;
	s->full = 0;
	s->blob.len = 0;
	if (store_logs_page(st, s->meta.id, desc, s->ts, s->seq, since,
	    r->max_id, limit, logs_page_cb, &a) != 0)
		return -1;
	s->eof = !s->full && s->n < (size_t)limit;
	if (s->n > 0) {
		/* The next page starts right after this one's last line. */
		s->ts = s->line[s->n - 1].ts;
		s->seq = s->line[s->n - 1].seq;
		if (!desc)
			s->seq++;
	}
	return 0;
}

/*
 * ?tail=N: where each stream's share of the last N lines begins. Pops the
 * newest line across the streams N times, each pop making that line the
 * oldest of its stream to show; a stream never popped has no line among
 * them. 0, or -1 on a store error.
 */
static int
logs_tail(struct logs_req *r, struct store *st, int64_t tail, int64_t since)
{
	struct logs_src *s;
	size_t i;
	int64_t k;

	r->nheap = 0;
	for (i = 0; i < r->nsrc; i++) {
		s = &r->src[i];
		s->ts = INT64_MAX;		/* fetch before the end */
		s->seq = INT64_MAX;
		if (logs_fetch(r, st, s, 1, since) != 0)
			return -1;
		if (s->n > 0)
			r->heap[r->nheap++] = s;
	}
	logs_heap_build(r, 1);
	for (k = 0; k < tail && r->nheap > 0; k++) {
		s = r->heap[0];
		s->started = 1;
		s->start_ts = s->line[s->i].ts;
		s->start_seq = s->line[s->i].seq;
		if (++s->i < s->n) {
			logs_heap_down(r, 0, 1);
			continue;
		}
		/* The fetch goes on before the page's last (oldest) line. */
		if (!s->eof) {
			if (logs_fetch(r, st, s, 1, since) != 0)
				return -1;
			if (s->n > 0) {
				logs_heap_down(r, 0, 1);
				continue;
			}
		}
		logs_heap_pop_source(r, 1);
	}
	return 0;
}

/* Start the history merge: the first page of every started stream. */
static int
logs_history_start(struct logs_req *r, struct store *st)
{
	struct logs_src *s;
	size_t i;

	r->nheap = 0;
	for (i = 0; i < r->nsrc; i++) {
		s = &r->src[i];
		if (!s->started)
			continue;
		s->ts = s->start_ts;
		s->seq = s->start_seq;
		if (logs_fetch(r, st, s, 0, 0) != 0)
			return -1;
		if (s->n > 0)
			r->heap[r->nheap++] = s;
	}
	logs_heap_build(r, 0);
	return 0;
}

/* Produce up to LOGS_OUT_CHUNK of the history; LOGS_END-bound when done. */
static int
logs_history(struct logs_req *r, struct store *st)
{
	struct logs_src *s;
	struct logs_line *l;

	while (r->out.len < LOGS_OUT_CHUNK && r->nheap > 0) {
		s = r->heap[0];
		l = &s->line[s->i];
		logs_emit(r, &s->meta, l->id, l->ts, l->kind, l->partial,
		    l->dropped, s->blob.data + l->off, l->len);
		if (++s->i < s->n) {
			logs_heap_down(r, 0, 0);
			continue;
		}
		if (!s->eof) {
			if (logs_fetch(r, st, s, 0, 0) != 0)
				return -1;
			if (s->n > 0) {
				logs_heap_down(r, 0, 0);
				continue;
			}
		}
		logs_heap_pop_source(r, 0);
	}
	return 0;
}

/* ---- following ------------------------------------------------------------------ */

/* The stream of a line met while following (new containers appear). */
static const struct log_stream_row *
logs_meta(struct logs_req *r, struct store *st, int64_t id)
{
	size_t i;

	for (i = 0; i < r->nsrc; i++)
		if (r->src[i].meta.id == id)
			return &r->src[i].meta;
	for (i = 0; i < r->nmeta; i++)
		if (r->meta[i].id == id)
			return &r->meta[i];
	r->meta = xreallocarray(r->meta, r->nmeta + 1, sizeof *r->meta);
	if (store_logs_stream_by_id(st, id, &r->meta[r->nmeta]) != 1) {
		memset(&r->meta[r->nmeta], 0, sizeof r->meta[r->nmeta]);
		r->meta[r->nmeta].id = id;
		snprintf(r->meta[r->nmeta].name, sizeof r->meta[r->nmeta].name,
		    "?");
	}
	return &r->meta[r->nmeta++];
}

struct logs_follow_arg {
	struct logs_req	*r;
	struct store	*st;
	int		 n;
};

static int
logs_follow_cb(void *arg, const struct log_row *row)
{
	struct logs_follow_arg *a = arg;
	struct logs_req *r = a->r;

	logs_emit(r, logs_meta(r, a->st, row->stream), row->id, row->ts,
	    row->kind, row->partial, row->dropped, row->text != NULL ?
	    row->text : "", row->len);
	r->after = row->id;
	a->n++;
	return r->out.len >= LOGS_OUT_CHUNK;
}

/* Lines after r->after: how many were produced, or -1. */
static int
logs_follow(struct logs_req *r, struct store *st)
{
	struct logs_follow_arg a = { r, st, 0 };

	if (store_logs_after(st, &r->sel, r->after, r->until, LOGS_FOLLOW_ROWS,
	    logs_follow_cb, &a) != 0)
		return -1;
	return a.n;
}

static void
logs_suspend(void *arg)
{
	struct logs_req *r = arg;

	MHD_suspend_connection(r->conn);
}

static void
logs_resume(void *arg)
{
	struct logs_req *r = arg;

	MHD_resume_connection(r->conn);
}

/* ---- the content reader ------------------------------------------------------------ */

static ssize_t
logs_read(void *arg, uint64_t pos, char *buf, size_t max)
{
	struct logs_req *r = arg;
	struct store *st;
	size_t n;
	int rc, stopping;

	for (;;) {
		if (r->off < r->out.len) {
			n = r->out.len - r->off;
			if (n > max)
				n = max;
			memcpy(buf, r->out.data + r->off, n);
			r->off += n;
			if (r->off == r->out.len)
				r->off = r->out.len = 0;
			r->last_out = util_mono_ms();
			return (ssize_t)n;
		}
		if (r->phase == LOGS_END || r->failed)
			return r->failed ? API_STREAM_ERROR : API_STREAM_END;
		if ((st = logstore_reader(r->m->logs)) == NULL) {
			r->failed = 1;
			continue;
		}
		if (r->phase == LOGS_HISTORY) {
			if (logs_history(r, st) != 0)
				goto store_error;
			if (r->out.len == 0 && r->nheap == 0)
				r->phase = r->follow ? LOGS_FOLLOW : LOGS_END;
			continue;
		}
		/* Following (or paging with ?after). */
		if (r->follow && !r->registered) {
			/* Before the query: no commit after it goes unseen. */
			logstore_waiter_add(r->m->logs, &r->w);
			r->registered = 1;
		}
		if ((rc = logs_follow(r, st)) < 0)
			goto store_error;
		if (rc > 0)
			continue;
		if (!r->follow) {
			r->phase = LOGS_END;
			continue;
		}
		if (util_mono_ms() - r->last_out >= LOGSTORE_HEARTBEAT_MS -
		    1000) {
			buf_append(&r->out, "\n", 1);	/* keep-alive */
			continue;
		}
		if (logstore_wait(r->m->logs, &r->w, logs_suspend, r,
		    &stopping))
			return 0;	/* suspended until woken */
		if (stopping)
			r->phase = LOGS_END;
	}
store_error:
	log_error("api: logs: %s", store_errmsg(st));
	return API_STREAM_ERROR;
}

static void
logs_req_free(void *arg)
{
	struct logs_req *r = arg;
	size_t i;

	if (r == NULL)
		return;
	if (r->registered)
		logstore_waiter_remove(r->m->logs, &r->w);
	for (i = 0; i < r->nsrc; i++) {
		free(r->src[i].line);
		buf_free(&r->src[i].blob);
	}
	free(r->src);
	free(r->heap);
	free(r->meta);
	buf_free(&r->out);
	free(r);
}

/* ---- the handlers ------------------------------------------------------------------ */

static int
logs_src_cb(void *arg, const struct log_stream_row *row)
{
	struct logs_req *r = arg;

	if (r->nsrc >= LOGS_STREAMS_MAX) {
		/* The oldest go: the list is in id order, newest last. */
		free(r->src[0].line);
		buf_free(&r->src[0].blob);
		memmove(r->src, r->src + 1, --r->nsrc * sizeof *r->src);
	}
	r->src = xreallocarray(r->src, r->nsrc + 1, sizeof *r->src);
	memset(&r->src[r->nsrc], 0, sizeof *r->src);
	r->src[r->nsrc++].meta = *row;
	return 0;
}

/* A query flag: absent is 0; 1/true/yes and 0/false/no. -1 if neither. */
static int
logs_flag(const char *v)
{
	if (v == NULL || strcmp(v, "0") == 0 || strcmp(v, "false") == 0 ||
	    strcmp(v, "no") == 0)
		return 0;
	if (*v == '\0' || strcmp(v, "1") == 0 || strcmp(v, "true") == 0 ||
	    strcmp(v, "yes") == 0)
		return 1;
	return -1;
}

static int
logs_int(const char *v, int64_t max, int64_t *out)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno != 0 || *v == '\0' || *end != '\0' || n < 0 || n > max)
		return -1;
	*out = n;
	return 0;
}

/*
 * Does a container name "<stack>.<service>-<n>.<node8>" belong to a
 * service of the grid? Then its logs may be followed before it printed.
 */
static int
logs_name_known(struct api_ctx *ctx, int64_t grid_id, const char *name)
{
	char stack[64], svc[64];
	const char *dot = strchr(name, '.'), *dash, *dot2;
	int64_t id;

	if (dot == NULL || (size_t)(dot - name) >= sizeof stack ||
	    (dot2 = strrchr(name, '.')) == dot)
		return 0;
	for (dash = dot2; dash > dot && *dash != '-'; dash--)
		;
	if (dash <= dot + 1 || (size_t)(dash - dot - 1) >= sizeof svc)
		return 0;
	snprintf(stack, sizeof stack, "%.*s", (int)(dot - name), name);
	snprintf(svc, sizeof svc, "%.*s", (int)(dash - dot - 1), dot + 1);
	return store_service_find(ctx->st, grid_id, stack, svc, &id) == 1;
}

static void
logs_handle(struct api_ctx *ctx, enum log_sel_kind kind)
{
	struct logs_req *r;
	struct store *st;
	struct grid g;
	const char *v;
	int64_t tail = -1, since = 0, after = -1, id;
	char *cause = NULL;
	int follow, known;

	if (ctx->m->logs == NULL) {
		api_error(ctx, 503, NULL, "the log store is not running");
		return;
	}
	if (api_grid(ctx, ctx->cap[0], &g) != 0)
		return;
	if ((v = api_query(ctx, "tail")) != NULL && strcmp(v, "all") != 0 &&
	    logs_int(v, LOGS_TAIL_MAX, &tail) != 0) {
		api_error(ctx, 422, "tail", "tail: want a number of lines from "
		    "0 to %d, or \"all\"", LOGS_TAIL_MAX);
		return;
	}
	if ((v = api_query(ctx, "since")) != NULL &&
	    logfmt_parse_since(v, util_now_ms() * 1000000, &since,
	    &cause) != 0) {
		api_error(ctx, 422, "since", "since: %s", cause);
		free(cause);
		return;
	}
	if ((follow = logs_flag(api_query(ctx, "follow"))) < 0) {
		api_error(ctx, 422, "follow", "follow: want 1 or 0");
		return;
	}
	if ((v = api_query(ctx, "after")) != NULL &&
	    logs_int(v, INT64_MAX, &after) != 0) {
		api_error(ctx, 422, "after", "after: want a line id (a whole "
		    "number)");
		return;
	}
	if ((st = logstore_reader(ctx->m->logs)) == NULL) {
		api_error(ctx, 500, NULL, "cannot read the log store (see the "
		    "master's log)");
		return;
	}
	r = xcalloc(1, sizeof *r);
	r->m = ctx->m;
	r->conn = ctx->conn;
	r->follow = follow;
	r->sel.kind = kind;
	r->sel.grid_id = g.id;
	switch (kind) {
	case LOG_SEL_SERVICE:
		snprintf(r->sel.stack, sizeof r->sel.stack, "%s", ctx->cap[1]);
		snprintf(r->sel.service, sizeof r->sel.service, "%s",
		    ctx->cap[2]);
		break;
	case LOG_SEL_STACK:
		snprintf(r->sel.stack, sizeof r->sel.stack, "%s", ctx->cap[1]);
		break;
	case LOG_SEL_CONTAINER:
		snprintf(r->sel.name, sizeof r->sel.name, "%s", ctx->cap[1]);
		break;
	case LOG_SEL_JOB:
		snprintf(r->sel.job, sizeof r->sel.job, "%s", ctx->cap[1]);
		break;
	}
	r->w.sel = r->sel;
	r->w.wake = logs_resume;
	r->w.arg = r;
	r->last_out = util_mono_ms();
	if (store_logs_streams(st, &r->sel, logs_src_cb, r) != 0 ||
	    store_logs_last_id(st, &r->max_id) != 0)
		goto store_error;

	/* Logs outlive their service; a name nobody knows is a 404. */
	known = r->nsrc > 0;
	if (!known && kind == LOG_SEL_SERVICE)
		known = store_service_find(ctx->st, g.id, r->sel.stack,
		    r->sel.service, &id) == 1;
	else if (!known && kind == LOG_SEL_STACK)
		known = store_stack_find(ctx->st, g.id, r->sel.stack, &id) == 1;
	else if (!known && kind == LOG_SEL_CONTAINER)
		known = logs_name_known(ctx, g.id, r->sel.name);
	else if (!known && kind == LOG_SEL_JOB)
		known = store_job_find(ctx->st, g.id, r->sel.job, &id) == 1;
	if (!known) {
		if (kind == LOG_SEL_SERVICE)
			api_error(ctx, 404, NULL, "no service %s/%s in grid %s",
			    r->sel.stack, r->sel.service, g.name);
		else if (kind == LOG_SEL_STACK)
			api_error(ctx, 404, NULL, "no stack %s in grid %s",
			    r->sel.stack, g.name);
		else if (kind == LOG_SEL_JOB)
			api_error(ctx, 404, NULL, "no job \"%s\" in grid %s",
			    r->sel.job, g.name);
		else
			api_error(ctx, 404, NULL, "no container %s in grid %s "
			    "(and no logs of one)", r->sel.name, g.name);
		logs_req_free(r);
		return;
	}

	r->heap = xreallocarray(NULL, r->nsrc + 1, sizeof *r->heap);
	if (after >= 0) {
		/* Resume or page: lines after that one, nothing before. */
		r->phase = LOGS_FOLLOW;
		r->after = after;
		r->until = r->follow ? 0 : r->max_id;
	} else {
		size_t i;

		r->phase = LOGS_HISTORY;
		r->after = r->max_id;
		if (tail >= 0) {
			if (logs_tail(r, st, tail, since) != 0)
				goto store_error;
		} else {
			for (i = 0; i < r->nsrc; i++) {
				r->src[i].started = 1;
				r->src[i].start_ts = since;
				r->src[i].start_seq = 0;
			}
		}
		if (logs_history_start(r, st) != 0)
			goto store_error;
	}
	api_reply_stream(ctx, 200, "application/x-ndjson", logs_read, r,
	    logs_req_free);
	return;
store_error:
	log_error("api: %s: logs: %s", ctx->path, store_errmsg(st));
	logs_req_free(r);
	api_error(ctx, 500, NULL, "internal error (see the master's log)");
}

void
api_logs_service(struct api_ctx *ctx)
{
	logs_handle(ctx, LOG_SEL_SERVICE);
}

void
api_logs_stack(struct api_ctx *ctx)
{
	logs_handle(ctx, LOG_SEL_STACK);
}

void
api_logs_container(struct api_ctx *ctx)
{
	logs_handle(ctx, LOG_SEL_CONTAINER);
}

/* A job's output: every task and attempt, as long as the store keeps it. */
void
api_logs_job(struct api_ctx *ctx)
{
	logs_handle(ctx, LOG_SEL_JOB);
}
