/*
 * logs.c - the log thread: Docker's log streams in, logs frames out (see
 * logs.h and docs/logs.md).
 *
 * DESIGN. One thread runs a libcurl multi handle over Docker's socket:
 * one follow (GET /containers/{id}/logs?follow=1&timestamps=1) per
 * container this node owns (label berth.node), plus Docker's event stream,
 * which says at once when one of them starts, dies or goes; a list every
 * LOGS_LIST_MS catches what an event stream that broke missed. A follow
 * ends when its container stops; a start event opens it again where it
 * left off (?since= and a count of entries at that time: agent/logread.h).
 *
 * Lines go into the container's bounded buffer (agent/logbuf.h). This
 * thread builds the next logs frame, round-robin over the containers with
 * lines to send, into a one-frame slot; the websocket thread takes it when
 * it has nothing else to write (state frames go first) and wakes us to
 * build the next. At most PROTO_LOG_INFLIGHT frames are unacknowledged.
 * A logs_ack frees what it covers and moves each container's acknowledged
 * position; those positions are written to <data-dir>/logs-cursor (tmp +
 * rename, at most once a second), so a restarted agent reads each
 * container again from its last acknowledged line: what the master had is
 * skipped there by sequence number, so nothing is lost within the buffer
 * bound and nothing is stored twice.
 *
 * Sessions: a session's end (lock-protected epoch) or the master's
 * "retry" makes every unacknowledged line unsent again; a frame built
 * before that is thrown away rather than sent on a new session, so a
 * frame never overtakes lines that were in flight when a session died.
 * After a retry the first frame is marked "resend" and waits
 * LOGS_RETRY_MS.
 */
#include "agent/logs.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "agent/config.h"
#include "agent/conn.h"
#include "agent/docker.h"
#include "agent/logbuf.h"
#include "agent/logread.h"
#include "common/log.h"
#include "common/logfmt.h"
#include "common/proto.h"
#include "common/util.h"
#include "common/xmalloc.h"

#define LOGS_LIST_MS		2000	/* list the node's containers */
#define LOGS_EVENT_DEBOUNCE_MS	20	/* list soon after an event */
#define LOGS_CURSOR_MS		1000	/* write the cursor at most this often */
#define LOGS_REOPEN_MS		1000	/* a follow that ended on a running
					   container is opened again after */
#define LOGS_RETRY_MS		500	/* after the master's retry */
#define LOGS_ACK_TIMEOUT_MS	60000	/* no ack: send again */
#define LOGS_EVENTS_BACKOFF_MS	2000	/* the event stream broke */
#define LOGS_POLL_MS		200	/* longest sleep */
#define LOGS_FLIGHTS		(PROTO_LOG_INFLIGHT + 1) /* + the slot's */
/* The most one entry can take in a frame: escaped text and its array. */
#define LOGS_ENTRY_MAX		(6 * PROTO_LOG_LINE_MAX + 96)

/* One container followed. */
struct logs_ctr {
	struct logs_ctr	*next;
	char		 id[65];	/* Docker id */
	char		 name[256];	/* container name */
	char		 stack[64], service[64], job[64];
	int		 instance;
	int		 tty;		/* Config.Tty */
	int		 running;	/* last known state */
	int		 listed;	/* in the last list */
	int		 want_read;	/* open a follow when possible */
	int64_t		 reopen_at;	/* mono ms: not before */
	CURL		*follow;	/* the open follow, or NULL */
	long		 status;	/* its HTTP status (0 before) */
	struct logread	 rd;		/* its decoder */
	struct logread_pos rpos;	/* where reading resumes */
	struct logbuf	 buf;		/* unacknowledged lines */
	char		 err[160];	/* an error body's start */
};

/* A frame built and not acknowledged: what it covered per container. */
struct logs_flight {
	int64_t		 seq;		/* frame number */
	int64_t		 at;		/* mono ms built */
	size_t		 n;
	struct {
		struct logs_ctr	*c;
		int64_t		 last;	/* seq of its last entry */
	} v[PROTO_LOG_FRAME_STREAMS];
};

struct logs_ackmsg {
	int64_t		 seq;
	int		 retry;
};

struct logs {
	const struct agent_config *cfg;
	char		 node_id[PROTO_NODE_ID_LEN + 1];
	struct conn	*conn;
	pthread_t	 thread;
	int		 started;
	atomic_int	 stop;
	CURLM		*multi;
	char		*cursor_path;	/* <data-dir>/logs-cursor */
	struct logbuf_limits lim;

	pthread_mutex_t	 lock;		/* guards the fields to ready */
	char		*slot;		/* the next frame, or NULL */
	uint64_t	 slot_epoch;	/* the session it was built for */
	uint64_t	 epoch;		/* bumped at every session end */
	int		 ready;		/* a session is welcomed */
	struct logs_ackmsg *acks;	/* from the master, not yet applied */
	size_t		 nacks;
	char		 new_id[PROTO_NODE_ID_LEN + 1]; /* a node id to take
					   (4011), "" if none */

	/* The log thread only. */
	struct docker	*docker;	/* list, inspect, version */
	char		 api[16];	/* Docker API version */
	atomic_int	 dstop;		/* docker calls' abort flag */
	struct logs_ctr	*ctrs;
	struct logs_ctr	*rr;		/* where the next frame starts */
	size_t		 total;		/* bytes held by all buffers */
	uint64_t	 seen_epoch;	/* the epoch last rewound for */
	struct logs_flight flights[LOGS_FLIGHTS];
	size_t		 nflights;
	int64_t		 next_seq;	/* the next frame's number */
	int64_t		 rewound_at;	/* first frame number after a rewind */
	int		 resend;	/* mark the next frame "resend" */
	int64_t		 pause_until;	/* mono ms: build no frame before */
	CURL		*events;	/* Docker's event stream, or NULL */
	struct buf	 events_line;	/* a partial event line */
	int64_t		 events_at;	/* mono ms: (re)open it then */
	int64_t		 list_at;	/* mono ms of the next list */
	int		 cursor_dirty;
	int64_t		 cursor_at;	/* mono ms of the last write */
	/* The cursor file as read at start, for containers not yet seen. */
	char		(*cur_id)[65];
	struct logread_pos *cur_pos;
	size_t		 ncur;
	uint64_t	 dropped_logged; /* drops reported so far */
};

/* ---- the cursor file ------------------------------------------------------------ */

/* Read "<id> <seq> <ts> <n>" lines; a bad line is skipped. */
static void
logs_cursor_load(struct logs *l)
{
	char *data, *line, *save = NULL, id[65];
	long long seq, ts;
	unsigned n;
	size_t len;

	if (util_read_file(l->cursor_path, 64 * 1024 * 1024, &data, &len) != 0)
		return;
	for (line = strtok_r(data, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "%64s %lld %lld %u", id, &seq, &ts, &n) != 4 ||
		    strlen(id) != 64 || seq < 1 || ts < 0)
			continue;
		l->cur_id = xreallocarray(l->cur_id, l->ncur + 1,
		    sizeof *l->cur_id);
		l->cur_pos = xreallocarray(l->cur_pos, l->ncur + 1,
		    sizeof *l->cur_pos);
		snprintf(l->cur_id[l->ncur], sizeof l->cur_id[l->ncur], "%s",
		    id);
		l->cur_pos[l->ncur].seq = seq;
		l->cur_pos[l->ncur].ts = ts;
		l->cur_pos[l->ncur].n = n;
		l->ncur++;
	}
	free(data);
	log_info("logs: resuming %zu container(s) from %s", l->ncur,
	    l->cursor_path);
}

/* Write every container's acknowledged position (and the unseen ones'). */
static void
logs_cursor_save(struct logs *l)
{
	struct logs_ctr *c;
	struct buf b = { 0 };
	size_t i;

	buf_append(&b, "", 0);
	for (c = l->ctrs; c != NULL; c = c->next) {
		if (c->buf.acked.seq > 0)
			buf_printf(&b, "%s %lld %lld %u\n", c->id,
			    (long long)c->buf.acked.seq,
			    (long long)c->buf.acked.ts, c->buf.acked.n);
	}
	for (i = 0; i < l->ncur; i++)
		buf_printf(&b, "%s %lld %lld %u\n", l->cur_id[i],
		    (long long)l->cur_pos[i].seq, (long long)l->cur_pos[i].ts,
		    l->cur_pos[i].n);
	if (util_write_file(l->cursor_path, b.data, b.len, 0600) != 0)
		log_warn("logs: cannot write %s: %s", l->cursor_path,
		    strerror(errno));
	buf_free(&b);
	l->cursor_dirty = 0;
	l->cursor_at = util_mono_ms();
}

/* Take a container's position out of the loaded cursor, if there. */
static void
logs_cursor_take(struct logs *l, struct logs_ctr *c)
{
	size_t i;

	for (i = 0; i < l->ncur; i++) {
		if (strcmp(l->cur_id[i], c->id) != 0)
			continue;
		c->rpos = l->cur_pos[i];
		c->buf.acked = l->cur_pos[i];
		memmove(l->cur_id + i, l->cur_id + i + 1,
		    (l->ncur - i - 1) * sizeof *l->cur_id);
		memmove(l->cur_pos + i, l->cur_pos + i + 1,
		    (l->ncur - i - 1) * sizeof *l->cur_pos);
		l->ncur--;
		return;
	}
}

/* ---- containers ------------------------------------------------------------------ */

/* Is c in a frame not yet acknowledged? (Then it must stay.) */
static int
logs_in_flight(const struct logs *l, const struct logs_ctr *c)
{
	size_t i, j;

	for (i = 0; i < l->nflights; i++)
		for (j = 0; j < l->flights[i].n; j++)
			if (l->flights[i].v[j].c == c)
				return 1;
	return 0;
}

static struct logs_ctr *
logs_find(struct logs *l, const char *id)
{
	struct logs_ctr *c;

	for (c = l->ctrs; c != NULL; c = c->next)
		if (strcmp(c->id, id) == 0)
			return c;
	return NULL;
}

/* A label value as the master accepts a name: else "". */
static void
logs_label(json_t *labels, const char *key, char *out, size_t len)
{
	const char *v = json_string_value(json_object_get(labels, key));
	size_t i;

	out[0] = '\0';
	if (v == NULL || strlen(v) >= len)
		return;
	for (i = 0; v[i] != '\0'; i++) {
		char ch = v[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' ||
		    ch == '-'))
			return;
	}
	snprintf(out, len, "%s", v);
}

static void
logs_close_follow(struct logs *l, struct logs_ctr *c)
{
	if (c->follow == NULL)
		return;
	curl_multi_remove_handle(l->multi, c->follow);
	curl_easy_cleanup(c->follow);
	c->follow = NULL;
	logread_free(&c->rd);
}

static void
logs_ctr_free(struct logs *l, struct logs_ctr *c)
{
	logs_close_follow(l, c);
	logbuf_clear(&c->buf, &l->total);
	free(c);
}

/* A container from the list: known, or new (then its TTY is asked). */
static void
logs_listed(struct logs *l, json_t *o)
{
	const char *id = json_string_value(json_object_get(o, "Id"));
	const char *state = json_string_value(json_object_get(o, "State"));
	json_t *labels = json_object_get(o, "Labels"), *names, *ins;
	struct logs_ctr *c;
	char buf[16], *cause = NULL;
	const char *name;
	long inst;

	if (id == NULL || strlen(id) != 64)
		return;
	if ((c = logs_find(l, id)) == NULL) {
		c = xcalloc(1, sizeof *c);
		snprintf(c->id, sizeof c->id, "%s", id);
		names = json_object_get(o, "Names");
		name = json_string_value(json_array_get(names, 0));
		if (name != NULL && *name == '/')
			name++;
		snprintf(c->name, sizeof c->name, "%s", name != NULL ? name :
		    id);
		logs_label(labels, PROTO_LABEL_STACK, c->stack,
		    sizeof c->stack);
		logs_label(labels, PROTO_LABEL_SERVICE, c->service,
		    sizeof c->service);
		logs_label(labels, PROTO_LABEL_JOB, c->job, sizeof c->job);
		logs_label(labels, PROTO_LABEL_INSTANCE, buf, sizeof buf);
		inst = strtol(buf, NULL, 10);
		c->instance = inst > 0 && inst <= 1000000 ? (int)inst : 0;
		ins = docker_inspect(l->docker, id, &cause);
		c->tty = json_is_true(json_object_get(json_object_get(ins,
		    "Config"), "Tty"));
		json_decref(ins);
		free(cause);
		logs_cursor_take(l, c);
		c->want_read = 1;
		c->next = l->ctrs;
		l->ctrs = c;
		log_debug("logs: following %s (%s)%s", c->name, id,
		    c->tty ? ", a TTY" : "");
	}
	c->listed = 1;
	c->running = state != NULL && (strcmp(state, "running") == 0 ||
	    strcmp(state, "restarting") == 0);
	/* Running but not followed, and no event said so: follow. */
	if (c->running && c->follow == NULL)
		c->want_read = 1;
}

/* List the node's containers; forget those gone whose lines are out. */
static void
logs_list(struct logs *l)
{
	struct logs_ctr **pp, *c;
	json_t *arr, *o;
	char *cause = NULL;
	size_t i;

	arr = docker_list(l->docker, l->node_id, &cause);
	if (arr == NULL) {
		log_debug("logs: docker list: %s", cause);
		free(cause);
		return;
	}
	for (c = l->ctrs; c != NULL; c = c->next)
		c->listed = 0;
	json_array_foreach(arr, i, o)
		logs_listed(l, o);
	json_decref(arr);
	for (pp = &l->ctrs; (c = *pp) != NULL;) {
		if (!c->listed && c->follow == NULL && c->buf.head == NULL &&
		    c->buf.drop_last == 0 && !logs_in_flight(l, c)) {
			*pp = c->next;
			if (l->rr == c)
				l->rr = NULL;
			log_debug("logs: %s is gone and all its lines are "
			    "with the master", c->name);
			logs_ctr_free(l, c);
			l->cursor_dirty = 1;
			continue;
		}
		pp = &c->next;
	}
}

/* ---- follows ------------------------------------------------------------------- */

struct logs_entry_arg {
	struct logs		*l;
	struct logs_ctr		*c;
};

static void
logs_on_entry(void *arg, const struct logread_entry *e)
{
	struct logs_entry_arg *a = arg;

	(void)logbuf_add(&a->c->buf, &a->l->lim, &a->l->total, e);
}

static size_t
logs_follow_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct logs_ctr *c = arg;
	struct logs_entry_arg a = { NULL, c };
	size_t len = size * nmemb, n;

	if (c->status == 0)
		curl_easy_getinfo(c->follow, CURLINFO_RESPONSE_CODE, &c->status);
	if (c->status != 200) {
		/* An error body (the container is gone, say): keep its start. */
		n = strlen(c->err);
		if (n + 1 < sizeof c->err)
			snprintf(c->err + n, sizeof c->err - n, "%.*s",
			    (int)(len < sizeof c->err - n - 1 ? len :
			    sizeof c->err - n - 1), ptr);
		return len;
	}
	curl_easy_getinfo(c->follow, CURLINFO_PRIVATE, (char **)&a.l);
	logread_feed(&c->rd, ptr, len, logs_on_entry, &a);
	logread_position(&c->rd, &c->rpos);
	return len;
}

static void
logs_open_follow(struct logs *l, struct logs_ctr *c)
{
	char url[512], since[40];

	logread_init(&c->rd, c->tty, &c->rpos);
	logread_since(&c->rpos, since, sizeof since);
	snprintf(url, sizeof url, "http://localhost/v%s/containers/%s/logs?"
	    "follow=1&stdout=1&stderr=1&timestamps=1%s%s", l->api, c->id,
	    since[0] != '\0' ? "&since=" : "", since);
	c->follow = curl_easy_init();
	if (c->follow == NULL)
		fatalx("curl_easy_init failed");
	c->status = 0;
	c->err[0] = '\0';
	curl_easy_setopt(c->follow, CURLOPT_URL, url);
	curl_easy_setopt(c->follow, CURLOPT_UNIX_SOCKET_PATH,
	    l->cfg->docker_socket);
	curl_easy_setopt(c->follow, CURLOPT_WRITEFUNCTION, logs_follow_write);
	curl_easy_setopt(c->follow, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(c->follow, CURLOPT_PRIVATE, (char *)l);
	curl_easy_setopt(c->follow, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(c->follow, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->follow, CURLOPT_BUFFERSIZE, 64L * 1024);
	curl_multi_add_handle(l->multi, c->follow);
	c->want_read = 0;
	log_debug("logs: %s: reading from line %lld", c->name,
	    (long long)c->rpos.seq + 1);
}

/* A follow ended: its container stopped, went, or Docker failed. */
static void
logs_follow_done(struct logs *l, struct logs_ctr *c, CURLcode rc)
{
	struct logs_entry_arg a = { l, c };
	char esc[200];

	if (c->status == 200)
		logread_finish(&c->rd, logs_on_entry, &a);
	logread_position(&c->rd, &c->rpos);
	if (rc != CURLE_OK || (c->status != 200 && c->status != 0))
		log_debug("logs: %s: follow ended: %s %s", c->name,
		    rc != CURLE_OK ? curl_easy_strerror(rc) : "HTTP",
		    log_escape(esc, sizeof esc, c->err));
	logs_close_follow(l, c);
	/* Still running (a broken stream): read on after a pause. */
	if (c->running && c->status != 404) {
		c->want_read = 1;
		c->reopen_at = util_mono_ms() + LOGS_REOPEN_MS;
	}
}

/* ---- Docker's events -------------------------------------------------------------- */

static void
logs_event(struct logs *l, const char *line)
{
	json_t *o = json_loads(line, 0, NULL);
	const char *action = json_string_value(json_object_get(o, "Action"));
	const char *id = json_string_value(json_object_get(o, "id"));
	struct logs_ctr *c;

	if (action != NULL && id != NULL) {
		c = logs_find(l, id);
		if (c != NULL && strcmp(action, "start") == 0) {
			/* It ran again, maybe briefly: read what it wrote. */
			c->running = 1;
			c->want_read = 1;
			c->reopen_at = 0;
		} else if (c != NULL && strcmp(action, "die") == 0)
			c->running = 0;
		l->list_at = util_mono_ms() + LOGS_EVENT_DEBOUNCE_MS;
	}
	json_decref(o);
}

static size_t
logs_events_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct logs *l = arg;
	size_t len = size * nmemb, i, start = 0;

	for (i = 0; i < len; i++) {
		if (ptr[i] != '\n')
			continue;
		buf_append(&l->events_line, ptr + start, i - start);
		if (l->events_line.data != NULL)
			logs_event(l, l->events_line.data);
		l->events_line.len = 0;
		start = i + 1;
	}
	if (l->events_line.len + len - start > 1024 * 1024)
		return 0;	/* not Docker's events: drop the stream */
	buf_append(&l->events_line, ptr + start, len - start);
	return len;
}

static void
logs_open_events(struct logs *l)
{
	char url[512], *filter, *esc;

	xasprintf(&filter, "{\"type\":[\"container\"],\"label\":[\"%s=%s\"]}",
	    PROTO_LABEL_NODE, l->node_id);
	l->events = curl_easy_init();
	if (l->events == NULL)
		fatalx("curl_easy_init failed");
	esc = curl_easy_escape(l->events, filter, 0);
	snprintf(url, sizeof url, "http://localhost/v%s/events?filters=%s",
	    l->api, esc);
	curl_free(esc);
	free(filter);
	l->events_line.len = 0;
	curl_easy_setopt(l->events, CURLOPT_URL, url);
	curl_easy_setopt(l->events, CURLOPT_UNIX_SOCKET_PATH,
	    l->cfg->docker_socket);
	curl_easy_setopt(l->events, CURLOPT_WRITEFUNCTION, logs_events_write);
	curl_easy_setopt(l->events, CURLOPT_WRITEDATA, l);
	curl_easy_setopt(l->events, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(l->events, CURLOPT_NOSIGNAL, 1L);
	curl_multi_add_handle(l->multi, l->events);
}

static void
logs_close_events(struct logs *l)
{
	if (l->events == NULL)
		return;
	curl_multi_remove_handle(l->multi, l->events);
	curl_easy_cleanup(l->events);
	l->events = NULL;
}

/* ---- frames ----------------------------------------------------------------------- */

/* Every unacknowledged line is unsent again; frames built are void. */
static void
logs_rewind(struct logs *l, int resend, int64_t pause_ms)
{
	struct logs_ctr *c;

	for (c = l->ctrs; c != NULL; c = c->next)
		logbuf_rewind(&c->buf);
	l->nflights = 0;
	pthread_mutex_lock(&l->lock);
	free(l->slot);
	l->slot = NULL;
	pthread_mutex_unlock(&l->lock);
	l->rewound_at = l->next_seq;
	l->resend = resend;
	l->pause_until = util_mono_ms() + pause_ms;
}

static void
logs_apply_ack(struct logs *l, const struct logs_ackmsg *a)
{
	struct logs_flight *f;
	size_t i, j, k = 0;

	if (a->retry) {
		/* A retry for a frame sent before the last rewind is old. */
		if (a->seq < l->rewound_at)
			return;
		log_info("logs: the master is busy: sending again from the "
		    "last acknowledged line");
		logs_rewind(l, 1, LOGS_RETRY_MS);
		return;
	}
	for (i = 0; i < l->nflights; i++) {
		f = &l->flights[i];
		if (f->seq > a->seq) {
			l->flights[k++] = *f;
			continue;
		}
		for (j = 0; j < f->n; j++)
			logbuf_ack(&f->v[j].c->buf, f->v[j].last, &l->total);
		l->cursor_dirty = 1;
	}
	l->nflights = k;
}

static void
logs_json_str(struct buf *b, const char *key, const char *v)
{
	buf_printf(b, ",\"%s\":\"", key);
	logfmt_json_escape(b, v, strlen(v));
	buf_append(b, "\"", 1);
}

/*
 * Build the next frame into the slot if one may go: a session is up, the
 * slot is free, fewer than PROTO_LOG_INFLIGHT frames are out, and some
 * container has lines to send. Round-robin, so one flooding container
 * cannot keep the others' lines waiting.
 */
static void
logs_build(struct logs *l)
{
	struct logs_flight *f;
	struct logs_ctr *c, *start;
	struct buf b = { 0 };
	size_t lines = 0, n, body;
	int64_t last = 0;
	uint64_t epoch;
	int ready, slot_busy;

	pthread_mutex_lock(&l->lock);
	ready = l->ready;
	slot_busy = l->slot != NULL;
	epoch = l->epoch;
	pthread_mutex_unlock(&l->lock);
	if (!ready || slot_busy || epoch != l->seen_epoch ||
	    l->nflights >= PROTO_LOG_INFLIGHT ||
	    util_mono_ms() < l->pause_until || l->ctrs == NULL)
		return;
	f = &l->flights[l->nflights];
	f->n = 0;
	buf_printf(&b, "{\"type\":\"%s\",\"seq\":%lld%s,\"streams\":[",
	    PROTO_T_LOGS, (long long)l->next_seq, l->resend ?
	    ",\"resend\":true" : "");
	body = b.len;
	start = l->rr != NULL ? l->rr : l->ctrs;
	c = start;
	do {
		if (logbuf_has_unsent(&c->buf) &&
		    b.len + 1024 + LOGS_ENTRY_MAX <= PROTO_LOG_FRAME_BYTES &&
		    lines < PROTO_LOG_FRAME_LINES &&
		    f->n < PROTO_LOG_FRAME_STREAMS) {
			buf_printf(&b, "%s{\"container_id\":\"%s\"",
			    f->n > 0 ? "," : "", c->id);
			logs_json_str(&b, "name", c->name);
			if (c->stack[0] != '\0')
				logs_json_str(&b, "stack", c->stack);
			if (c->service[0] != '\0')
				logs_json_str(&b, "service", c->service);
			if (c->job[0] != '\0')
				logs_json_str(&b, "job", c->job);
			buf_printf(&b, ",\"instance\":%d,\"lines\":[",
			    c->instance);
			n = logbuf_encode(&c->buf, &b, PROTO_LOG_FRAME_BYTES -
			    16, PROTO_LOG_FRAME_LINES - lines, &last);
			buf_append(&b, "]}", 2);
			lines += n;
			f->v[f->n].c = c;
			f->v[f->n].last = last;
			f->n++;
		}
		c = c->next != NULL ? c->next : l->ctrs;
	} while (c != start);
	l->rr = c->next != NULL ? c->next : l->ctrs;
	if (f->n == 0) {
		buf_free(&b);
		return;
	}
	(void)body;
	buf_append(&b, "]}", 2);
	f->seq = l->next_seq++;
	f->at = util_mono_ms();
	l->nflights++;
	l->resend = 0;
	pthread_mutex_lock(&l->lock);
	if (l->epoch == epoch && l->slot == NULL) {
		l->slot = b.data;
		l->slot_epoch = epoch;
		b.data = NULL;
	}
	pthread_mutex_unlock(&l->lock);
	if (b.data != NULL) {
		/* The session ended meanwhile: the rewind takes it back. */
		buf_free(&b);
		return;
	}
	conn_logs_wake(l->conn);
}

/* ---- the thread -------------------------------------------------------------------- */

/* What the websocket thread passed in since the last turn. */
static void
logs_inbox(struct logs *l)
{
	struct logs_ackmsg *acks;
	size_t n, i;
	uint64_t epoch;
	char new_id[PROTO_NODE_ID_LEN + 1];

	pthread_mutex_lock(&l->lock);
	acks = l->acks;
	n = l->nacks;
	l->acks = NULL;
	l->nacks = 0;
	epoch = l->epoch;
	memcpy(new_id, l->new_id, sizeof new_id);
	l->new_id[0] = '\0';
	pthread_mutex_unlock(&l->lock);
	if (new_id[0] != '\0') {
		/* A new identity: follow its containers, list and events. */
		memcpy(l->node_id, new_id, sizeof l->node_id);
		logs_close_events(l);
		l->events_at = l->list_at = util_mono_ms();
	}
	if (epoch != l->seen_epoch) {
		/* The session ended: what was in flight is lost with it. */
		l->seen_epoch = epoch;
		logs_rewind(l, 0, 0);
	} else {
		for (i = 0; i < n; i++)
			logs_apply_ack(l, &acks[i]);
	}
	free(acks);
	if (l->nflights > 0 && util_mono_ms() - l->flights[0].at >
	    LOGS_ACK_TIMEOUT_MS) {
		log_warn("logs: no acknowledgement for %d s: sending again",
		    LOGS_ACK_TIMEOUT_MS / 1000);
		logs_rewind(l, 1, 0);
	}
}

/* Finished transfers: follows that ended, the event stream. */
static void
logs_done(struct logs *l)
{
	struct logs_ctr *c;
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(l->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		if (msg->easy_handle == l->events) {
			log_debug("logs: Docker's event stream ended: %s",
			    curl_easy_strerror(msg->data.result));
			logs_close_events(l);
			l->events_at = util_mono_ms() + LOGS_EVENTS_BACKOFF_MS;
			l->list_at = util_mono_ms();
			continue;
		}
		for (c = l->ctrs; c != NULL; c = c->next) {
			if (c->follow == msg->easy_handle) {
				logs_follow_done(l, c, msg->data.result);
				break;
			}
		}
	}
}

static void *
logs_main(void *arg)
{
	struct logs *l = arg;
	struct logs_ctr *c;
	char *ver = NULL, *cause = NULL;
	int64_t now;
	int running;

	while (!atomic_load(&l->stop)) {
		if (docker_version(l->docker, &ver, &cause) == 0)
			break;
		log_debug("logs: docker: %s", cause);
		free(cause);
		cause = NULL;
		curl_multi_poll(l->multi, NULL, 0, 2000, NULL);
	}
	free(ver);
	snprintf(l->api, sizeof l->api, "%s", docker_api_version(l->docker));
	while (!atomic_load(&l->stop)) {
		now = util_mono_ms();
		logs_inbox(l);
		if (l->events == NULL && now >= l->events_at)
			logs_open_events(l);
		if (now >= l->list_at) {
			l->list_at = now + LOGS_LIST_MS;
			logs_list(l);
		}
		for (c = l->ctrs; c != NULL; c = c->next) {
			if (c->want_read && c->follow == NULL &&
			    now >= c->reopen_at)
				logs_open_follow(l, c);
			logbuf_flush_drops(&c->buf, &l->lim, &l->total);
		}
		curl_multi_perform(l->multi, &running);
		logs_done(l);
		logs_build(l);
		if (l->cursor_dirty && now - l->cursor_at >= LOGS_CURSOR_MS)
			logs_cursor_save(l);
		curl_multi_poll(l->multi, NULL, 0, LOGS_POLL_MS, NULL);
	}
	return NULL;
}

struct logs *
logs_new(const struct agent_config *cfg, const char *node_id,
    struct conn *conn)
{
	struct logs *l = xcalloc(1, sizeof *l);

	l->cfg = cfg;
	snprintf(l->node_id, sizeof l->node_id, "%s", node_id);
	l->conn = conn;
	l->lim.lines = (size_t)cfg->log_buffer_lines;
	l->lim.bytes = (size_t)cfg->log_buffer_bytes;
	l->lim.total = (size_t)cfg->log_buffer_total;
	l->next_seq = 1;
	l->rewound_at = 1;
	xasprintf(&l->cursor_path, "%s/logs-cursor", cfg->data_dir);
	pthread_mutex_init(&l->lock, NULL);
	if ((l->multi = curl_multi_init()) == NULL)
		fatalx("curl_multi_init failed");
	l->docker = docker_new(cfg->docker_socket, &l->dstop);
	logs_cursor_load(l);
	return l;
}

void
logs_start(struct logs *l)
{
	if (pthread_create(&l->thread, NULL, logs_main, l) != 0)
		fatalx("cannot start the log thread");
	l->started = 1;
}

void
logs_free(struct logs *l)
{
	struct logs_ctr *c;

	if (l == NULL)
		return;
	if (l->started) {
		atomic_store(&l->stop, 1);
		atomic_store(&l->dstop, 1);
		curl_multi_wakeup(l->multi);
		pthread_join(l->thread, NULL);
	}
	logs_cursor_save(l);
	logs_close_events(l);
	while ((c = l->ctrs) != NULL) {
		l->ctrs = c->next;
		logs_ctr_free(l, c);
	}
	curl_multi_cleanup(l->multi);
	docker_free(l->docker);
	buf_free(&l->events_line);
	free(l->slot);
	free(l->acks);
	free(l->cur_id);
	free(l->cur_pos);
	free(l->cursor_path);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

/* ---- the websocket thread's side ---------------------------------------------------- */

char *
logs_take_frame(struct logs *l)
{
	char *f = NULL;

	if (l == NULL)
		return NULL;
	pthread_mutex_lock(&l->lock);
	if (l->slot != NULL && l->slot_epoch == l->epoch && l->ready) {
		f = l->slot;
		l->slot = NULL;
	}
	pthread_mutex_unlock(&l->lock);
	if (f != NULL)
		curl_multi_wakeup(l->multi);	/* build the next */
	return f;
}

int
logs_frame_ready(struct logs *l)
{
	int ready;

	if (l == NULL)
		return 0;
	pthread_mutex_lock(&l->lock);
	ready = l->slot != NULL && l->slot_epoch == l->epoch && l->ready;
	pthread_mutex_unlock(&l->lock);
	return ready;
}

void
logs_session_start(struct logs *l)
{
	if (l == NULL)
		return;
	pthread_mutex_lock(&l->lock);
	l->ready = 1;
	pthread_mutex_unlock(&l->lock);
	curl_multi_wakeup(l->multi);
}

void
logs_session_end(struct logs *l)
{
	if (l == NULL)
		return;
	pthread_mutex_lock(&l->lock);
	l->ready = 0;
	l->epoch++;
	free(l->slot);
	l->slot = NULL;
	free(l->acks);		/* for frames of the session that ended */
	l->acks = NULL;
	l->nacks = 0;
	pthread_mutex_unlock(&l->lock);
	curl_multi_wakeup(l->multi);
}

void
logs_on_ack(struct logs *l, int64_t seq, int retry)
{
	if (l == NULL)
		return;
	pthread_mutex_lock(&l->lock);
	l->acks = xreallocarray(l->acks, l->nacks + 1, sizeof *l->acks);
	l->acks[l->nacks].seq = seq;
	l->acks[l->nacks].retry = retry;
	l->nacks++;
	pthread_mutex_unlock(&l->lock);
	curl_multi_wakeup(l->multi);
}

void
logs_set_node_id(struct logs *l, const char *node_id)
{
	if (l == NULL)
		return;
	pthread_mutex_lock(&l->lock);
	snprintf(l->new_id, sizeof l->new_id, "%s", node_id);
	pthread_mutex_unlock(&l->lock);
	curl_multi_wakeup(l->multi);
}
