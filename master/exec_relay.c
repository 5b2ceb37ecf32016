/*
 * exec_relay.c - the exec relay thread (see exec_relay.h, docs/exec.md).
 *
 * DESIGN. One thread, "exec", owns every session: the operator's socket
 * (non-blocking, handed over by libmicrohttpd after the 101; with TLS it
 * is one end of MHD's socketpair, MHD does the TLS), its websocket state
 * and its buffers. It runs a poll() loop over those sockets and an
 * eventfd; the API's adopt and the hub's frames arrive through a locked
 * inbox that the eventfd wakes it for (the Redis bio / lws threads
 * pattern). It talks to agents only through hub_exec_send(), which queues
 * too, so neither the hub nor this thread ever waits for the other.
 *
 * Flow control, per session and direction:
 *  - output (agent -> operator): the agent may have PROTO_EXEC_WINDOW
 *    bytes unacknowledged (the hub enforces it); the relay acknowledges
 *    them once the frames carrying them are written to the operator's
 *    socket. A slow operator therefore holds at most one window here and
 *    stalls only its own command (its pipe fills), never the hub.
 *  - stdin (operator -> agent): the relay stops reading the operator's
 *    socket while PROTO_EXEC_WINDOW bytes of stdin are unacknowledged by
 *    the agent, so TCP pushes back on the operator.
 *
 * Ends: the agent's exec_end becomes {"type":"exit","code":N} (or
 * "error") and a close frame; the operator going away (close frame, EOF,
 * or 90 s without a frame or a pong) becomes exec_cancel, and the agent
 * kills the command; the agent's session ending becomes "node X
 * disconnected during the exec". Each end writes an exec.end event.
 */
#include "master/exec_relay.h"
#include "master/hub.h"

#include "common/log.h"
#include "common/proto.h"
#include "common/util.h"
#include "common/wsframe.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <microhttpd.h>

#define RS_IN_MAX	(PROTO_EXEC_CHUNK * 2 + WS_HEADER_MAX) /* bytes read
							   ahead of parsing */
#define RS_MSG_MAX	(PROTO_EXEC_CHUNK * 2)	/* an operator's message */
#define RS_PING_MS	30000	/* ping an idle operator this often */
#define RS_IDLE_MS	90000	/* silent this long: gone */
#define RS_CLOSE_MS	3000	/* wait this long for the operator's close */
#define RS_STOP_MS	1000	/* shutdown: flush this long, then cut */

enum rs_state {
	RS_STARTING,		/* exec_start sent; no exec_started yet */
	RS_RUNNING,		/* the command runs */
	RS_CLOSING,		/* our close frame is out or queued */
	RS_DONE,		/* to be freed */
};

/* One session; relay thread only. */
struct rsess {
	struct rsess	*next;		/* the relay's list */
	struct exec_target *t;		/* what and where */
	int		 fd;		/* the operator's socket */
	struct MHD_UpgradeResponseHandle *urh; /* MHD's handle for it */
	enum rs_state	 state;
	unsigned char	 in[RS_IN_MAX];	/* bytes read, not yet parsed */
	size_t		 in_len;
	struct ws_reader rd;		/* fragments of the operator's message */
	struct buf	 out;		/* frames to the operator */
	size_t		 out_off;	/* of them written */
	int64_t		 out_unacked;	/* output bytes queued, not acked */
	int64_t		 stdin_unacked;	/* stdin bytes the agent holds */
	int		 agent_live;	/* the agent's side has not ended */
	int		 close_sent;	/* our close frame is queued */
	int		 evented;	/* exec.end written */
	int		 exited;	/* exit_code is the command's */
	int		 exit_code;
	char		*why;		/* how it ended otherwise */
	int64_t		 started_ms;	/* mono ms of adopt */
	int64_t		 last_rx_ms;	/* mono ms the operator spoke */
	int64_t		 last_ping_ms;	/* mono ms of our last ping */
	int64_t		 deadline_ms;	/* RS_CLOSING: give up waiting */
};

enum rmsg_kind { RM_ADOPT, RM_AGENT };

/* A message in the relay's inbox. */
struct rmsg {
	struct rmsg	*next;
	enum rmsg_kind	 kind;
	struct rsess	*sess;		/* ADOPT: the new session */
	uint32_t	 id;		/* AGENT: which session */
	enum exec_from_agent what;	/* AGENT: what happened */
	int64_t		 num;		/* AGENT: bytes, exit code, stream */
	size_t		 len;		/* AGENT: data bytes */
	unsigned char	*data;		/* AGENT: copied, or NULL */
};

struct exec_relay {
	struct master	*m;		/* the master */
	pthread_t	 thread;	/* relay_main */
	int		 efd;		/* eventfd: the inbox has news */
	atomic_int	 slots;		/* sessions reserved or open */
	atomic_int	 stop;		/* shutting down */

	pthread_mutex_t	 lock;		/* guards the inbox, next_id, closed */
	struct rmsg	*inbox, *inbox_tail;
	uint32_t	 next_id;	/* last session id given */
	int		 closed;	/* the thread has ended: adopt closes */

	struct rsess	*sessions;	/* relay thread only */
};

void
exec_target_free(struct exec_target *t)
{
	if (t == NULL)
		return;
	free(t->cmd_json);
	free(t);
}

/* ---- the inbox (any thread) ---------------------------------------------- */

/* Queue msg (lock held). */
static void
relay_post_locked(struct exec_relay *r, struct rmsg *msg)
{
	uint64_t one = 1;

	if (r->inbox_tail != NULL)
		r->inbox_tail->next = msg;
	else
		r->inbox = msg;
	r->inbox_tail = msg;
	(void)!write(r->efd, &one, sizeof one);
}

uint32_t
exec_relay_reserve(struct exec_relay *r)
{
	int n = atomic_fetch_add(&r->slots, 1);
	uint32_t id;

	if (n >= EXEC_RELAY_MAX || atomic_load(&r->stop)) {
		atomic_fetch_sub(&r->slots, 1);
		return 0;
	}
	pthread_mutex_lock(&r->lock);
	if (++r->next_id == 0)
		r->next_id = 1;
	id = r->next_id;
	pthread_mutex_unlock(&r->lock);
	return id;
}

void
exec_relay_release(struct exec_relay *r)
{
	atomic_fetch_sub(&r->slots, 1);
}

int
exec_relay_count(struct exec_relay *r)
{
	return atomic_load(&r->slots);
}

void
exec_relay_adopt(struct exec_relay *r, struct exec_target *t, int fd,
    const char *extra, size_t extra_len,
    struct MHD_UpgradeResponseHandle *urh)
{
	struct rsess *s;
	struct rmsg *msg;

	if (extra_len > RS_IN_MAX) {
		MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
		exec_target_free(t);
		exec_relay_release(r);
		return;
	}
	s = xcalloc(1, sizeof *s);
	s->t = t;
	s->fd = fd;
	s->urh = urh;
	s->rd.max = RS_MSG_MAX;
	memcpy(s->in, extra, extra_len);
	s->in_len = extra_len;
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	msg = xcalloc(1, sizeof *msg);
	msg->kind = RM_ADOPT;
	msg->sess = s;
	/* Checked and queued under one lock: shutdown misses none. */
	pthread_mutex_lock(&r->lock);
	if (!r->closed) {
		relay_post_locked(r, msg);
		pthread_mutex_unlock(&r->lock);
		return;
	}
	pthread_mutex_unlock(&r->lock);
	MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
	exec_target_free(t);
	free(s);
	free(msg);
	exec_relay_release(r);
}

void
exec_relay_from_agent(struct exec_relay *r, uint32_t id,
    enum exec_from_agent what, const void *data, size_t len, int64_t num)
{
	struct rmsg *msg = xcalloc(1, sizeof *msg);

	msg->kind = RM_AGENT;
	msg->id = id;
	msg->what = what;
	msg->num = num;
	if (len > 0) {
		msg->data = xmalloc(len + 1);
		memcpy(msg->data, data, len);
		msg->data[len] = '\0';
		msg->len = len;
	}
	pthread_mutex_lock(&r->lock);
	relay_post_locked(r, msg);
	pthread_mutex_unlock(&r->lock);
}

/* ---- frames to the operator ------------------------------------------------ */

static void
rs_text(struct rsess *s, json_t *o)
{
	char *text = json_dumps(o, JSON_COMPACT);

	json_decref(o);
	if (text == NULL || s->close_sent) {
		free(text);
		return;
	}
	ws_frame_append(&s->out, WS_OP_TEXT, 1, text, strlen(text), NULL);
	free(text);
}

static void
rs_close(struct rsess *s, int code, const char *reason)
{
	if (s->close_sent)
		return;
	ws_close_append(&s->out, code, reason, NULL);
	s->close_sent = 1;
	s->state = RS_CLOSING;
	s->deadline_ms = util_mono_ms() + RS_CLOSE_MS;
}

/* End with an error: {"type":"error"} and a close frame. */
static void
rs_fail(struct rsess *s, int code, const char *why)
{
	if (s->why == NULL && !s->exited)
		s->why = xstrdup(why);
	rs_text(s, json_pack("{s:s, s:s}", "type", "error", "error", why));
	rs_close(s, code, "exec failed");
}

/* The agent's side goes: tell it, unless it is gone already. */
static void
rs_cancel(struct exec_relay *r, struct rsess *s)
{
	if (!s->agent_live)
		return;
	s->agent_live = 0;
	if (r->m->hub != NULL)
		hub_exec_send(r->m->hub, s->t->node_id, s->t->id,
		    HUB_EXEC_CANCEL, NULL, 0, 0);
}

/* ---- what the operator sends ------------------------------------------------- */

static void
rs_control(struct exec_relay *r, struct rsess *s, const char *text,
    size_t len)
{
	json_t *o = json_loadb(text, len, 0, NULL), *f = NULL;
	const char *type = json_string_value(json_object_get(o, "type"));
	json_t *c = json_object_get(o, "cols"), *w = json_object_get(o, "rows");
	char *out;

	if (type != NULL && strcmp(type, "resize") == 0 &&
	    json_is_integer(c) && json_is_integer(w) &&
	    json_integer_value(c) >= 1 && json_integer_value(c) <= 1000 &&
	    json_integer_value(w) >= 1 && json_integer_value(w) <= 1000)
		f = json_pack("{s:s, s:I, s:O, s:O}", "type",
		    PROTO_T_EXEC_RESIZE, "id", (json_int_t)s->t->id,
		    "cols", c, "rows", w);
	else if (type != NULL && strcmp(type, "eof") == 0)
		f = json_pack("{s:s, s:I}", "type", PROTO_T_EXEC_EOF, "id",
		    (json_int_t)s->t->id);
	json_decref(o);
	if (f == NULL) {
		rs_cancel(r, s);
		rs_fail(s, WS_CLOSE_POLICY, "unknown message: want "
		    "{\"type\":\"resize\",\"cols\":N,\"rows\":N} or "
		    "{\"type\":\"eof\"}");
		return;
	}
	out = json_dumps(f, JSON_COMPACT);
	json_decref(f);
	if (s->agent_live && r->m->hub != NULL)
		hub_exec_send(r->m->hub, s->t->node_id, s->t->id,
		    HUB_EXEC_CONTROL, out, strlen(out), 0);
	free(out);
}

static void
rs_message(struct exec_relay *r, struct rsess *s, int op,
    const unsigned char *p, size_t len)
{
	size_t off, n;

	if (op == WS_OP_TEXT) {
		rs_control(r, s, (const char *)p, len);
		return;
	}
	if (len < 1 || p[0] != PROTO_EXEC_STDIN) {
		rs_cancel(r, s);
		rs_fail(s, WS_CLOSE_POLICY, "a binary message is stdin: "
		    "[0][bytes]");
		return;
	}
	if (!s->t->want_stdin) {
		rs_cancel(r, s);
		rs_fail(s, WS_CLOSE_POLICY, "stdin was not asked for (-i)");
		return;
	}
	if (!s->agent_live)
		return;
	for (off = 1; off < len; off += n) {
		n = len - off > PROTO_EXEC_CHUNK ? PROTO_EXEC_CHUNK : len - off;
		hub_exec_send(r->m->hub, s->t->node_id, s->t->id,
		    HUB_EXEC_STDIN, p + off, n, 0);
		s->stdin_unacked += (int64_t)n;
	}
}

/* Parse what the operator sent; act on each whole frame. */
static void
rs_parse(struct exec_relay *r, struct rsess *s)
{
	struct ws_frame f;
	const char *cause;
	size_t off = 0;
	ssize_t n;
	int code, op, rc;

	while (s->state != RS_DONE && off < s->in_len) {
		n = ws_frame_parse(s->in + off, s->in_len - off, 1,
		    RS_MSG_MAX, &f, &code, &cause);
		if (n == 0)
			break;
		if (n < 0) {
			rs_cancel(r, s);
			rs_fail(s, code, cause);
			s->in_len = 0;
			return;
		}
		off += (size_t)n;
		s->last_rx_ms = util_mono_ms();
		switch (f.opcode) {
		case WS_OP_PING:
			if (!s->close_sent)
				ws_frame_append(&s->out, WS_OP_PONG, 1,
				    f.payload, f.len, NULL);
			continue;
		case WS_OP_PONG:
			continue;
		case WS_OP_CLOSE:
			/* The operator is done (or answers our close). */
			rs_cancel(r, s);
			if (s->why == NULL && !s->exited)
				s->why = xstrdup("the operator closed the "
				    "session");
			rs_close(s, WS_CLOSE_NORMAL, "bye");
			s->state = RS_DONE;	/* after the flush below */
			continue;
		}
		rc = ws_reader_feed(&s->rd, &f, &op, &code, &cause);
		if (rc < 0) {
			rs_cancel(r, s);
			rs_fail(s, code, cause);
			break;
		}
		if (rc == 1) {
			rs_message(r, s, op, (unsigned char *)s->rd.msg.data,
			    s->rd.msg.len);
			buf_free(&s->rd.msg);
		}
	}
	if (off >= s->in_len)
		s->in_len = 0;
	else {
		memmove(s->in, s->in + off, s->in_len - off);
		s->in_len -= off;
	}
}

static void
rs_read(struct exec_relay *r, struct rsess *s)
{
	ssize_t n;

	n = read(s->fd, s->in + s->in_len, sizeof s->in - s->in_len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* Gone without a close frame (Ctrl-C, a dropped link). */
		rs_cancel(r, s);
		if (s->why == NULL && !s->exited)
			s->why = xstrdup("the operator went away");
		s->state = RS_DONE;
		return;
	}
	s->in_len += (size_t)n;
	rs_parse(r, s);
}

/* Write what is queued; acknowledge output once all of it is out. */
static void
rs_write(struct exec_relay *r, struct rsess *s)
{
	ssize_t n;

	while (s->out_off < s->out.len) {
		n = write(s->fd, s->out.data + s->out_off,
		    s->out.len - s->out_off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			rs_cancel(r, s);
			if (s->why == NULL && !s->exited)
				s->why = xstrdup("the operator went away");
			s->state = RS_DONE;
			return;
		}
		s->out_off += (size_t)n;
	}
	buf_free(&s->out);
	s->out_off = 0;
	if (s->out_unacked > 0 && s->agent_live)
		hub_exec_send(r->m->hub, s->t->node_id, s->t->id,
		    HUB_EXEC_ACK, NULL, 0, s->out_unacked);
	s->out_unacked = 0;
}

/* ---- what the agent sends ------------------------------------------------------ */

static struct rsess *
relay_find(struct exec_relay *r, uint32_t id)
{
	struct rsess *s;

	for (s = r->sessions; s != NULL; s = s->next)
		if (s->t->id == id)
			return s;
	return NULL;
}

static void
rs_agent(struct exec_relay *r, struct rmsg *msg)
{
	struct rsess *s = relay_find(r, msg->id);
	unsigned char stream;
	char why[512];

	if (s == NULL || s->state == RS_DONE)
		return;
	switch (msg->what) {
	case EXEC_FA_STARTED:
		if (s->state == RS_STARTING)
			s->state = RS_RUNNING;
		rs_text(s, json_pack("{s:s, s:s, s:s}", "type", "started",
		    "container", s->t->container, "node", s->t->node));
		break;
	case EXEC_FA_DATA:
		if (s->close_sent)
			break;
		stream = (unsigned char)msg->num;
		/* One frame: [stream][bytes]. */
		{
			unsigned char *f = xmalloc(msg->len + 1);

			f[0] = stream;
			memcpy(f + 1, msg->data, msg->len);
			ws_frame_append(&s->out, WS_OP_BINARY, 1, f,
			    msg->len + 1, NULL);
			free(f);
		}
		s->out_unacked += (int64_t)msg->len;
		break;
	case EXEC_FA_ACK:
		s->stdin_unacked -= msg->num;
		if (s->stdin_unacked < 0)
			s->stdin_unacked = 0;
		break;
	case EXEC_FA_END:
		s->agent_live = 0;
		if (msg->data == NULL) {
			s->exited = 1;
			s->exit_code = (int)msg->num;
			rs_text(s, json_pack("{s:s, s:i}", "type", "exit",
			    "code", s->exit_code));
			rs_close(s, WS_CLOSE_NORMAL, "exit");
		} else
			rs_fail(s, WS_CLOSE_NORMAL, (char *)msg->data);
		break;
	case EXEC_FA_LOST:
		s->agent_live = 0;
		snprintf(why, sizeof why, "%s", msg->data != NULL ?
		    (char *)msg->data : "the agent is gone");
		rs_fail(s, WS_CLOSE_ERROR, why);
		break;
	}
}

/* A new session: send exec_start to the agent through the hub. */
static void
rs_begin(struct exec_relay *r, struct rsess *s)
{
	json_t *cmd = json_loads(s->t->cmd_json, 0, NULL), *f;
	char *text;

	s->started_ms = s->last_rx_ms = s->last_ping_ms = util_mono_ms();
	s->state = RS_STARTING;
	s->agent_live = 1;
	s->next = r->sessions;
	r->sessions = s;
	f = json_pack("{s:s, s:I, s:s, s:o, s:b, s:b, s:i, s:i}", "type",
	    PROTO_T_EXEC_START, "id", (json_int_t)s->t->id, "container",
	    s->t->container, "cmd", cmd != NULL ? cmd : json_array(), "tty",
	    s->t->tty, "stdin", s->t->want_stdin, "cols", s->t->cols, "rows",
	    s->t->rows);
	text = json_dumps(f, JSON_COMPACT);
	json_decref(f);
	if (r->m->hub == NULL)
		rs_fail(s, WS_CLOSE_ERROR, "no agent hub");
	else
		hub_exec_send(r->m->hub, s->t->node_id, s->t->id,
		    HUB_EXEC_START, text, strlen(text), 0);
	free(text);
	log_info("exec %u: %s on node %s: %s%s%s", s->t->id, s->t->container,
	    s->t->node, s->t->cmd_json, s->t->tty ? " (tty)" : "",
	    s->t->want_stdin ? " (stdin)" : "");
}

/* ---- the thread ----------------------------------------------------------------- */

/* The audit record of how the session ended. */
static void
rs_event(struct exec_relay *r, struct rsess *s)
{
	struct store *st = master_store(r->m);
	double secs = (double)(util_mono_ms() - s->started_ms) / 1000.0;
	int rc;

	if (s->evented)
		return;
	s->evented = 1;
	if (s->exited)
		rc = store_event_add(st, s->t->grid_id, "exec.end",
		    s->t->container, "exec %u in %s on node %s exited %d after "
		    "%.1fs", s->t->id, s->t->container, s->t->node,
		    s->exit_code, secs);
	else
		rc = store_event_add(st, s->t->grid_id, "exec.end",
		    s->t->container, "exec %u in %s on node %s ended after "
		    "%.1fs: %s", s->t->id, s->t->container, s->t->node, secs,
		    s->why != NULL ? s->why : "?");
	if (rc != 0)
		log_warn("exec %u: cannot record its end: %s", s->t->id,
		    store_errmsg(st));
}

static void
rs_free(struct exec_relay *r, struct rsess *s)
{
	rs_cancel(r, s);
	rs_event(r, s);
	log_info("exec %u ended: %s", s->t->id, s->exited ? "exited" :
	    s->why != NULL ? s->why : "?");
	MHD_upgrade_action(s->urh, MHD_UPGRADE_ACTION_CLOSE);
	ws_reader_free(&s->rd);
	buf_free(&s->out);
	exec_target_free(s->t);
	free(s->why);
	free(s);
	exec_relay_release(r);
}

static void
relay_drain(struct exec_relay *r)
{
	struct rmsg *msg, *next;
	uint64_t v;

	(void)!read(r->efd, &v, sizeof v);
	pthread_mutex_lock(&r->lock);
	msg = r->inbox;
	r->inbox = r->inbox_tail = NULL;
	pthread_mutex_unlock(&r->lock);
	for (; msg != NULL; msg = next) {
		next = msg->next;
		if (msg->kind == RM_ADOPT)
			rs_begin(r, msg->sess);
		else
			rs_agent(r, msg);
		free(msg->data);
		free(msg);
	}
}

/* Timers: pings, silent operators, closes not answered. */
static void
relay_timers(struct exec_relay *r, int64_t now)
{
	struct rsess *s;

	for (s = r->sessions; s != NULL; s = s->next) {
		if (s->state == RS_DONE)
			continue;
		if (s->state == RS_CLOSING) {
			if (now >= s->deadline_ms)
				s->state = RS_DONE;
			continue;
		}
		if (now - s->last_rx_ms >= RS_IDLE_MS) {
			rs_cancel(r, s);
			if (s->why == NULL)
				s->why = xstrdup("the operator stopped "
				    "answering");
			s->state = RS_DONE;
		} else if (now - s->last_ping_ms >= RS_PING_MS) {
			ws_frame_append(&s->out, WS_OP_PING, 1, "exec", 4,
			    NULL);
			s->last_ping_ms = now;
		}
	}
}

/* Free the sessions that are done (their last frames flushed or not). */
static void
relay_reap(struct exec_relay *r)
{
	struct rsess **pp = &r->sessions, *s;

	while ((s = *pp) != NULL) {
		if (s->state == RS_DONE) {
			*pp = s->next;
			rs_free(r, s);
		} else
			pp = &s->next;
	}
}

static void
relay_shutdown_sessions(struct exec_relay *r)
{
	struct rsess *s;

	for (s = r->sessions; s != NULL; s = s->next) {
		if (s->state == RS_DONE || s->close_sent)
			continue;
		rs_cancel(r, s);
		rs_fail(s, WS_CLOSE_GOING_AWAY, "the master is shutting down");
	}
}

static void *
relay_main(void *arg)
{
	struct exec_relay *r = arg;
	struct pollfd *pfd = NULL;
	struct rsess **who = NULL, *s;
	int64_t stop_at = 0, now;
	size_t n, cap = 0, i;
	int stopping = 0;

	for (;;) {
		now = util_mono_ms();
		if (atomic_load(&r->stop) && !stopping) {
			stopping = 1;
			stop_at = now + RS_STOP_MS;
			relay_shutdown_sessions(r);
		}
		if (stopping && (r->sessions == NULL || now >= stop_at))
			break;
		n = 1;
		for (s = r->sessions; s != NULL; s = s->next)
			n++;
		if (n > cap) {
			cap = n * 2;
			pfd = xreallocarray(pfd, cap, sizeof *pfd);
			who = xreallocarray(who, cap, sizeof *who);
		}
		pfd[0].fd = r->efd;
		pfd[0].events = POLLIN;
		pfd[0].revents = 0;
		n = 1;
		for (s = r->sessions; s != NULL; s = s->next) {
			pfd[n].fd = s->fd;
			pfd[n].events = (short)((s->out.len > s->out_off ?
			    POLLOUT : 0) | (s->stdin_unacked <
			    PROTO_EXEC_WINDOW && s->in_len < sizeof s->in ?
			    POLLIN : 0));
			pfd[n].revents = 0;
			who[n++] = s;
		}
		if (poll(pfd, n, stopping ? 50 : 1000) < 0 && errno != EINTR)
			log_warn("exec relay: poll: %s", strerror(errno));
		if (pfd[0].revents & POLLIN)
			relay_drain(r);
		for (i = 1; i < n; i++) {
			s = who[i];
			if (s->state == RS_DONE)
				continue;
			if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
				rs_read(r, s);
		}
		/* Write every session (new frames came from the inbox too). */
		for (s = r->sessions; s != NULL; s = s->next)
			if (s->out.len > s->out_off && s->fd >= 0)
				rs_write(r, s);
		relay_timers(r, util_mono_ms());
		relay_reap(r);
	}
	/* Whatever is left is cut. */
	for (s = r->sessions; s != NULL; s = s->next)
		s->state = RS_DONE;
	relay_reap(r);
	free(pfd);
	free(who);
	return NULL;
}

struct exec_relay *
exec_relay_start(struct master *m, char **cause)
{
	struct exec_relay *r = xcalloc(1, sizeof *r);

	r->m = m;
	r->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->efd < 0) {
		xasprintf(cause, "eventfd: %s", strerror(errno));
		free(r);
		return NULL;
	}
	atomic_init(&r->slots, 0);
	atomic_init(&r->stop, 0);
	/* Ids do not start at 1 on every start: the audit log's "exec N"
	 * stays unambiguous across restarts. */
	r->next_id = (uint32_t)(util_now_ms() / 1000 % 1000000) * 1000;
	pthread_mutex_init(&r->lock, NULL);
	if (pthread_create(&r->thread, NULL, relay_main, r) != 0) {
		xasprintf(cause, "cannot start the exec relay thread");
		close(r->efd);
		pthread_mutex_destroy(&r->lock);
		free(r);
		return NULL;
	}
	return r;
}

void
exec_relay_shutdown(struct exec_relay *r)
{
	struct rmsg *msg, *next;
	uint64_t one = 1;

	if (r == NULL || atomic_load(&r->stop))
		return;
	atomic_store(&r->stop, 1);
	(void)!write(r->efd, &one, sizeof one);
	pthread_join(r->thread, NULL);
	/* Adopted after the thread's last drain: closed here. */
	pthread_mutex_lock(&r->lock);
	r->closed = 1;
	msg = r->inbox;
	r->inbox = r->inbox_tail = NULL;
	pthread_mutex_unlock(&r->lock);
	for (; msg != NULL; msg = next) {
		next = msg->next;
		if (msg->kind == RM_ADOPT) {
			MHD_upgrade_action(msg->sess->urh,
			    MHD_UPGRADE_ACTION_CLOSE);
			exec_target_free(msg->sess->t);
			free(msg->sess);
			exec_relay_release(r);
		}
		free(msg->data);
		free(msg);
	}
}

void
exec_relay_free(struct exec_relay *r)
{
	struct rmsg *msg;

	if (r == NULL)
		return;
	exec_relay_shutdown(r);
	while ((msg = r->inbox) != NULL) {	/* the hub's last words */
		r->inbox = msg->next;
		free(msg->data);
		free(msg);
	}
	close(r->efd);
	pthread_mutex_destroy(&r->lock);
	free(r);
}
