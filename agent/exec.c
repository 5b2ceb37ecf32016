/*
 * exec.c - exec sessions on the agent (see exec.h, docs/exec.md).
 *
 * DESIGN. The websocket thread (conn.c) calls exec_on_frame(),
 * exec_on_data() and exec_lost(); they only check the frame, queue what
 * it carries on the session under the session's lock and write a byte to
 * the session's wake pipe. Each session has its own thread (at most
 * PROTO_EXEC_MAX_AGENT at once) with its own Docker client. It:
 *
 *  1. inspects the container by name and refuses one that does not carry
 *     this node's berth.node label, or does not run: an agent never
 *     execs into a container it does not own, whatever the master asks;
 *  2. creates the exec and starts it on a connection the engine then
 *     hands over (docker_exec_attach()), resizing its terminal with -t;
 *  3. loops in poll() over that connection and its wake pipe: output is
 *     read only while the master's window has room (credit), split out of
 *     Docker's 8-byte multiplexing headers when there is no terminal, and
 *     sent as binary frames [stream][id][bytes]; stdin queued by the ws
 *     thread is written, and acknowledged by exec_ack as it is; exec_eof
 *     half-closes the connection once stdin is drained;
 *  4. at the end of the output asks the engine for the exit code and
 *     sends exec_end; on exec_cancel or a lost master it kills the exec's
 *     process group (the operator has gone) and sends exec_end with why.
 *
 * Lock order: the manager's lock, then a session's; a session thread
 * never takes the manager's lock. Finished sessions are joined and freed
 * by the next exec_start and by exec_free().
 */
#include "agent/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "agent/config.h"
#include "agent/conn.h"
#include "agent/docker.h"
#include "common/log.h"
#include "common/proto.h"
#include "common/util.h"
#include "common/xmalloc.h"

#define EXEC_NAME_MAX	200	/* a container name's bytes */
#define EXEC_ARGS_MAX	256	/* words of a command */
#define EXEC_EXIT_WAIT_MS 5000	/* for the exit code after the output */
#define EXEC_READ	PROTO_EXEC_CHUNK

struct exec_sess {
	struct exec_mgr	*x;		/* its manager */
	uint32_t	 id;		/* the master's session id */
	pthread_t	 thread;	/* runs exec_main() */
	int		 wake[2];	/* ws thread -> session thread */
	atomic_int	 done;		/* the thread has ended */
	struct exec_sess *next;		/* the manager's list */

	/* Set at start, then read-only. */
	char		*container;	/* container name */
	json_t		*cmd;		/* array of strings */
	int		 tty;		/* a pseudo-terminal */
	int		 want_stdin;	/* stdin is attached */
	int		 rows, cols;	/* first terminal size */

	pthread_mutex_t	 lock;		/* guards the fields below */
	struct buf	 in;		/* stdin not yet written */
	int		 in_eof;	/* exec_eof: no more stdin */
	int		 cancel;	/* exec_cancel or master lost */
	const char	*cancel_why;	/* why (static) */
	int64_t		 credit;	/* output bytes the window allows */
	int		 resize;	/* a new size is waiting */
	int		 new_rows, new_cols;
};

struct exec_mgr {
	const struct agent_config *cfg;	/* read-only */
	struct conn	*conn;		/* where frames go */
	atomic_int	 stop;		/* exec_free(): abort Docker calls */
	pthread_mutex_t	 lock;		/* guards node_id, sessions */
	char		 node_id[PROTO_NODE_ID_LEN + 1]; /* our berth.node */
	struct exec_sess *sessions;	/* running and finished, not joined */
};

/* Docker's multiplexed stream: 8-byte headers before each chunk. */
struct exec_demux {
	unsigned char	 hdr[8];	/* header so far */
	size_t		 hlen;		/* its bytes */
	size_t		 remain;	/* payload bytes left of this chunk */
	int		 stream;	/* 1 stdout, 2 stderr */
};

struct exec_mgr *
exec_new(const struct agent_config *cfg, const char *node_id,
    struct conn *conn)
{
	struct exec_mgr *x = xcalloc(1, sizeof *x);

	x->cfg = cfg;
	snprintf(x->node_id, sizeof x->node_id, "%s", node_id);
	x->conn = conn;
	atomic_init(&x->stop, 0);
	pthread_mutex_init(&x->lock, NULL);
	return x;
}

/* ---- frames to the master ------------------------------------------------ */

static void
exec_send_json(struct exec_mgr *x, json_t *f)
{
	conn_send(x->conn, json_dumps(f, JSON_COMPACT));
	json_decref(f);
}

static void
exec_send_end(struct exec_mgr *x, uint32_t id, int has_code, int code,
    const char *error)
{
	json_t *f = json_pack("{s:s, s:I}", "type", PROTO_T_EXEC_END, "id",
	    (json_int_t)id);

	if (has_code)
		json_object_set_new(f, "exit_code", json_integer(code));
	if (error != NULL)
		json_object_set_new(f, "error", json_string(error));
	exec_send_json(x, f);
}

static void
exec_send_data(struct exec_sess *s, int stream, const unsigned char *p,
    size_t len)
{
	unsigned char *f = xmalloc(PROTO_EXEC_HDR + len);

	f[0] = (unsigned char)stream;
	f[1] = (unsigned char)(s->id >> 24);
	f[2] = (unsigned char)(s->id >> 16);
	f[3] = (unsigned char)(s->id >> 8);
	f[4] = (unsigned char)s->id;
	memcpy(f + PROTO_EXEC_HDR, p, len);
	conn_send_binary(s->x->conn, f, PROTO_EXEC_HDR + len);
}

/* ---- the session thread ---------------------------------------------------- */

static void
exec_poke(struct exec_sess *s)
{
	char c = 1;

	(void)!write(s->wake[1], &c, 1);
}

/* Refuse a container that is not ours or does not run. 0, or -1 + cause. */
static int
exec_check_container(struct exec_sess *s, struct docker *d, char **cause)
{
	json_t *o, *lab;
	const char *node, *state;
	char own[PROTO_NODE_ID_LEN + 1];
	int rc = -1;

	pthread_mutex_lock(&s->x->lock);	/* a new node id (4011) */
	memcpy(own, s->x->node_id, sizeof own);
	pthread_mutex_unlock(&s->x->lock);
	if ((o = docker_inspect(d, s->container, cause)) == NULL) {
		char *c2;

		xasprintf(&c2, "container %s: %s", s->container, *cause);
		free(*cause);
		*cause = c2;
		return -1;
	}
	lab = json_object_get(json_object_get(o, "Config"), "Labels");
	node = json_string_value(json_object_get(lab, PROTO_LABEL_NODE));
	state = json_string_value(json_object_get(json_object_get(o,
	    "State"), "Status"));
	if (node == NULL || strcmp(node, own) != 0)
		xasprintf(cause, "container %s is not one of this node's "
		    "(berth.node is not %s): refused", s->container, own);
	else if (!json_is_true(json_object_get(json_object_get(o, "State"),
	    "Running")))
		xasprintf(cause, "container %s is not running (%s)",
		    s->container, state != NULL ? state : "?");
	else
		rc = 0;
	json_decref(o);
	return rc;
}

/*
 * Kill the exec's process group: the operator has gone. Only when its
 * pid is in the container's pid namespace and that is not ours, so a
 * process id seen from another namespace is never taken for it.
 */
static void
exec_kill(struct exec_sess *s, struct docker *d, const char *exec_id)
{
	char p1[64], p2[64], l1[128] = "", l2[128] = "", self[128] = "";
	char *cause = NULL;
	json_t *o;
	int running = 0, code, pid = 0, cpid;
	ssize_t n;

	if (docker_exec_inspect(d, exec_id, &running, &code, &pid,
	    &cause) != 0 || !running || pid <= 0) {
		free(cause);
		return;
	}
	if ((o = docker_inspect(d, s->container, &cause)) == NULL) {
		free(cause);
		return;
	}
	cpid = (int)json_integer_value(json_object_get(json_object_get(o,
	    "State"), "Pid"));
	json_decref(o);
	snprintf(p1, sizeof p1, "/proc/%d/ns/pid", pid);
	snprintf(p2, sizeof p2, "/proc/%d/ns/pid", cpid);
	if ((n = readlink(p1, l1, sizeof l1 - 1)) > 0)
		l1[n] = '\0';
	if ((n = readlink(p2, l2, sizeof l2 - 1)) > 0)
		l2[n] = '\0';
	if ((n = readlink("/proc/self/ns/pid", self, sizeof self - 1)) > 0)
		self[n] = '\0';
	if (cpid <= 0 || l1[0] == '\0' || strcmp(l1, l2) != 0 ||
	    strcmp(l1, self) == 0) {
		log_warn("exec %u: cannot tell its process %d from here: left "
		    "running", s->id, pid);
		return;
	}
	if (kill(-pid, SIGKILL) != 0)
		(void)kill(pid, SIGKILL);
	log_info("exec %u: killed its process %d (%s)", s->id, pid,
	    s->cancel_why != NULL ? s->cancel_why : "cancelled");
}

/*
 * Split n bytes of Docker's multiplexed stream into frames: the chunks of
 * one stream that came in one read make one frame (Docker writes a chunk
 * per write(2) of the command, often a line).
 */
static void
exec_demux(struct exec_sess *s, struct exec_demux *m, const unsigned char *p,
    size_t n)
{
	struct buf out = { 0 };
	int out_stream = 0;
	size_t take;

	while (n > 0) {
		if (m->remain == 0) {
			take = sizeof m->hdr - m->hlen;
			if (take > n)
				take = n;
			memcpy(m->hdr + m->hlen, p, take);
			m->hlen += take;
			p += take;
			n -= take;
			if (m->hlen < sizeof m->hdr)
				break;
			m->hlen = 0;
			m->stream = m->hdr[0] == 2 ? PROTO_EXEC_STDERR :
			    PROTO_EXEC_STDOUT;
			m->remain = ((size_t)m->hdr[4] << 24) |
			    ((size_t)m->hdr[5] << 16) |
			    ((size_t)m->hdr[6] << 8) | m->hdr[7];
			continue;
		}
		take = m->remain < n ? m->remain : n;
		if (out.len > 0 && out_stream != m->stream) {
			exec_send_data(s, out_stream, (unsigned char *)out.data,
			    out.len);
			out.len = 0;
		}
		out_stream = m->stream;
		buf_append(&out, p, take);
		m->remain -= take;
		p += take;
		n -= take;
	}
	if (out.len > 0)
		exec_send_data(s, out_stream, (unsigned char *)out.data,
		    out.len);
	buf_free(&out);
}

/* Write queued stdin; acknowledge what went. -1 when the pipe broke. */
static int
exec_write_stdin(struct exec_sess *s, int fd, int *shut)
{
	unsigned char chunk[EXEC_READ];
	size_t n;
	ssize_t w;
	int eof;
	json_t *ack;

	pthread_mutex_lock(&s->lock);
	n = s->in.len < sizeof chunk ? s->in.len : sizeof chunk;
	if (n > 0)
		memcpy(chunk, s->in.data, n);
	eof = s->in_eof && s->in.len == n;
	pthread_mutex_unlock(&s->lock);
	if (n > 0) {
		w = write(fd, chunk, n);
		if (w < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (w < 0)
			return -1;
		pthread_mutex_lock(&s->lock);
		memmove(s->in.data, s->in.data + w, s->in.len - (size_t)w);
		s->in.len -= (size_t)w;
		eof = s->in_eof && s->in.len == 0;
		pthread_mutex_unlock(&s->lock);
		ack = json_pack("{s:s, s:I, s:I}", "type", PROTO_T_EXEC_ACK,
		    "id", (json_int_t)s->id, "bytes", (json_int_t)w);
		exec_send_json(s->x, ack);
	}
	if (eof && !*shut) {
		shutdown(fd, SHUT_WR);	/* the command sees end of input */
		*shut = 1;
	}
	return 0;
}

/* The exec's exit code once the engine has it; -1 if it never says. */
static int
exec_exit_code(struct exec_sess *s, struct docker *d, const char *exec_id)
{
	struct timespec ts = { 0, 20 * 1000000L };
	char *cause = NULL;
	int running = 1, code = -1, pid, waited;

	for (waited = 0; waited < EXEC_EXIT_WAIT_MS; waited += 20) {
		if (docker_exec_inspect(d, exec_id, &running, &code, &pid,
		    &cause) != 0) {
			log_warn("exec %u: %s", s->id, cause);
			free(cause);
			return -1;
		}
		if (!running)
			return code;
		nanosleep(&ts, NULL);
	}
	return -1;
}

/* Run the session: 0 with the exit code, or -1 with why. */
static int
exec_run(struct exec_sess *s, struct docker *d, int *exit_code, char **cause)
{
	struct exec_demux dm = { .hlen = 0 };
	struct buf extra = { 0 };
	unsigned char rbuf[EXEC_READ];
	struct pollfd pfd[2];
	char *exec_id = NULL, *body, wbuf[64];
	json_t *b, *started;
	int fd = -1, out_eof = 0, shut = 0, rc = -1, cancel = 0, resize, r, c;
	int64_t credit;
	size_t want, pending;
	ssize_t n;

	if (exec_check_container(s, d, cause) != 0)
		return -1;
	b = json_pack("{s:b, s:b, s:b, s:b, s:O}", "AttachStdin",
	    s->want_stdin, "AttachStdout", 1, "AttachStderr", 1, "Tty",
	    s->tty, "Cmd", s->cmd);
	body = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	r = docker_exec_create(d, s->container, body, &exec_id, cause);
	free(body);
	if (r != 0)
		return -1;
	if (docker_exec_attach(d, exec_id, s->tty, &fd, &extra, cause) != 0)
		goto out;
	if (s->tty && docker_exec_resize(d, exec_id, s->rows, s->cols,
	    cause) != 0) {
		log_debug("exec %u: first resize: %s", s->id, *cause);
		free(*cause);
		*cause = NULL;
	}
	started = json_pack("{s:s, s:I, s:s}", "type", PROTO_T_EXEC_STARTED,
	    "id", (json_int_t)s->id, "exec_id", exec_id);
	exec_send_json(s->x, started);
	log_info("exec %u started in %s (%s%s)", s->id, s->container,
	    s->tty ? "tty" : "no tty", s->want_stdin ? ", stdin" : "");
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	/* Stream bytes that came with the engine's answer count too. */
	if (extra.len > 0) {
		pthread_mutex_lock(&s->lock);
		s->credit -= (int64_t)extra.len;
		pthread_mutex_unlock(&s->lock);
		if (s->tty)
			exec_send_data(s, PROTO_EXEC_STDOUT,
			    (unsigned char *)extra.data, extra.len);
		else
			exec_demux(s, &dm, (unsigned char *)extra.data,
			    extra.len);
	}
	while (!out_eof) {
		pthread_mutex_lock(&s->lock);
		credit = s->credit;
		pending = s->in.len;
		cancel = s->cancel;
		resize = s->resize;
		r = s->new_rows;
		c = s->new_cols;
		s->resize = 0;
		if (!shut && s->in_eof && s->in.len == 0)
			pending = 1;	/* to half-close */
		pthread_mutex_unlock(&s->lock);
		if (cancel || atomic_load(&s->x->stop))
			break;
		if (resize && s->tty && docker_exec_resize(d, exec_id, r, c,
		    cause) != 0) {
			log_debug("exec %u: resize: %s", s->id, *cause);
			free(*cause);
			*cause = NULL;
		}
		/* No credit: the command's output waits in its pipe (and it
		 * blocks) until the master acknowledges; not even a hang-up
		 * is read before then, since reading it may bring data. */
		pfd[0].fd = credit > 0 || (pending > 0 && !shut) ? fd : -1;
		pfd[0].events = (short)((credit > 0 ? POLLIN : 0) |
		    (pending > 0 && !shut ? POLLOUT : 0));
		pfd[0].revents = 0;
		pfd[1].fd = s->wake[0];
		pfd[1].events = POLLIN;
		pfd[1].revents = 0;
		if (poll(pfd, 2, 1000) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents & POLLIN)
			while (read(s->wake[0], wbuf, sizeof wbuf) > 0)
				;
		if (pfd[0].revents & POLLOUT) {
			if (exec_write_stdin(s, fd, &shut) != 0)
				shut = 1;	/* it closed its stdin */
		}
		if ((pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) &&
		    credit > 0) {
			want = credit < (int64_t)sizeof rbuf ? (size_t)credit :
			    sizeof rbuf;
			n = read(fd, rbuf, want);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (n <= 0) {
				out_eof = 1;
				break;
			}
			pthread_mutex_lock(&s->lock);
			s->credit -= n;
			pthread_mutex_unlock(&s->lock);
			if (s->tty)
				exec_send_data(s, PROTO_EXEC_STDOUT, rbuf,
				    (size_t)n);
			else
				exec_demux(s, &dm, rbuf, (size_t)n);
		}
	}
	if (!out_eof) {
		pthread_mutex_lock(&s->lock);
		xasprintf(cause, "%s", s->cancel_why != NULL ? s->cancel_why :
		    "the agent is stopping");
		pthread_mutex_unlock(&s->lock);
		close(fd);
		fd = -1;
		exec_kill(s, d, exec_id);
		goto out;
	}
	*exit_code = exec_exit_code(s, d, exec_id);
	if (*exit_code < 0) {
		xasprintf(cause, "the engine did not tell the exit code");
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	buf_free(&extra);
	free(exec_id);
	return rc;
}

static void *
exec_main(void *arg)
{
	struct exec_sess *s = arg;
	struct docker *d = docker_new(s->x->cfg->docker_socket, &s->x->stop);
	char *cause = NULL, *version = NULL, esc[256];
	int code = -1;

	/* Speak the engine's API version if it is older than ours. */
	if (docker_version(d, &version, &cause) != 0) {
		free(cause);
		cause = NULL;
	}
	free(version);
	if (exec_run(s, d, &code, &cause) == 0) {
		log_info("exec %u in %s: exit %d", s->id, s->container, code);
		exec_send_end(s->x, s->id, 1, code, NULL);
	} else {
		log_info("exec %u in %s: %s", s->id, s->container,
		    log_escape(esc, sizeof esc, cause));
		exec_send_end(s->x, s->id, 0, 0, cause);
	}
	free(cause);
	docker_free(d);
	atomic_store(&s->done, 1);
	return NULL;
}

/* ---- the ws thread's side -------------------------------------------------- */

static void
exec_sess_free(struct exec_sess *s)
{
	close(s->wake[0]);
	close(s->wake[1]);
	free(s->container);
	json_decref(s->cmd);
	buf_free(&s->in);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* Join and free finished sessions (manager lock held). */
static void
exec_reap(struct exec_mgr *x, int all)
{
	struct exec_sess **pp = &x->sessions, *s;

	while ((s = *pp) != NULL) {
		if (!all && !atomic_load(&s->done)) {
			pp = &s->next;
			continue;
		}
		*pp = s->next;
		pthread_join(s->thread, NULL);
		exec_sess_free(s);
	}
}

/* The running session of id (manager lock held), or NULL. */
static struct exec_sess *
exec_find(struct exec_mgr *x, uint32_t id)
{
	struct exec_sess *s;

	for (s = x->sessions; s != NULL; s = s->next)
		if (s->id == id && !atomic_load(&s->done))
			return s;
	return NULL;
}

/* The frame's id, or 0 when it has none that fits. */
static uint32_t
exec_frame_id(json_t *f)
{
	json_t *v = json_object_get(f, "id");

	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > (json_int_t)UINT32_MAX)
		return 0;
	return (uint32_t)json_integer_value(v);
}

static int
exec_int(json_t *f, const char *key, int lo, int hi, int dflt)
{
	json_t *v = json_object_get(f, key);

	if (!json_is_integer(v) || json_integer_value(v) < lo ||
	    json_integer_value(v) > hi)
		return dflt;
	return (int)json_integer_value(v);
}

/* Why exec_start is unusable, or NULL. */
static const char *
exec_start_invalid(json_t *f)
{
	json_t *cmd = json_object_get(f, "cmd"), *v;
	const char *name = json_string_value(json_object_get(f, "container"));
	size_t i;

	if (name == NULL || *name == '\0' || strlen(name) > EXEC_NAME_MAX ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789_.-") != strlen(name))
		return "container: want a container name";
	if (!json_is_array(cmd) || json_array_size(cmd) == 0 ||
	    json_array_size(cmd) > EXEC_ARGS_MAX)
		return "cmd: want 1 to 256 words";
	json_array_foreach(cmd, i, v)
		if (!json_is_string(v))
			return "cmd: every word must be a string";
	return NULL;
}

static void
exec_start(struct exec_mgr *x, uint32_t id, json_t *f)
{
	struct exec_sess *s, *t;
	const char *why;
	int n = 0;

	if ((why = exec_start_invalid(f)) != NULL) {
		exec_send_end(x, id, 0, 0, why);
		return;
	}
	pthread_mutex_lock(&x->lock);
	exec_reap(x, 0);
	for (t = x->sessions; t != NULL; t = t->next)
		n++;
	if (exec_find(x, id) != NULL) {
		pthread_mutex_unlock(&x->lock);
		log_warn("exec %u: started twice: ignored", id);
		return;
	}
	if (n >= PROTO_EXEC_MAX_AGENT) {
		pthread_mutex_unlock(&x->lock);
		exec_send_end(x, id, 0, 0, "this node runs "
		    PROTO_STR(PROTO_EXEC_MAX_AGENT) " exec sessions already");
		return;
	}
	s = xcalloc(1, sizeof *s);
	s->x = x;
	s->id = id;
	s->container = xstrdup(json_string_value(json_object_get(f,
	    "container")));
	s->cmd = json_deep_copy(json_object_get(f, "cmd"));
	s->tty = json_is_true(json_object_get(f, "tty"));
	s->want_stdin = json_is_true(json_object_get(f, "stdin"));
	s->rows = exec_int(f, "rows", 1, 1000, 24);
	s->cols = exec_int(f, "cols", 1, 1000, 80);
	s->credit = PROTO_EXEC_WINDOW;
	atomic_init(&s->done, 0);
	pthread_mutex_init(&s->lock, NULL);
	if (pipe2(s->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		pthread_mutex_unlock(&x->lock);
		pthread_mutex_destroy(&s->lock);
		free(s->container);
		json_decref(s->cmd);
		free(s);
		exec_send_end(x, id, 0, 0, "agent: out of file descriptors");
		return;
	}
	if (pthread_create(&s->thread, NULL, exec_main, s) != 0) {
		pthread_mutex_unlock(&x->lock);
		exec_sess_free(s);
		exec_send_end(x, id, 0, 0, "agent: cannot start a thread");
		return;
	}
	s->next = x->sessions;
	x->sessions = s;
	pthread_mutex_unlock(&x->lock);
}

void
exec_on_frame(struct exec_mgr *x, const char *type, json_t *f)
{
	struct exec_sess *s;
	uint32_t id = exec_frame_id(f);
	json_t *v;

	if (id == 0) {
		log_warn("%s without a valid id: ignored", type);
		return;
	}
	if (strcmp(type, PROTO_T_EXEC_START) == 0) {
		exec_start(x, id, f);
		return;
	}
	pthread_mutex_lock(&x->lock);
	if ((s = exec_find(x, id)) == NULL) {
		/* Ended meanwhile: its exec_end is on its way. */
		pthread_mutex_unlock(&x->lock);
		return;
	}
	pthread_mutex_lock(&s->lock);
	if (strcmp(type, PROTO_T_EXEC_ACK) == 0) {
		v = json_object_get(f, "bytes");
		if (json_is_integer(v) && json_integer_value(v) > 0 &&
		    json_integer_value(v) <= PROTO_EXEC_WINDOW)
			s->credit += json_integer_value(v);
		if (s->credit > PROTO_EXEC_WINDOW)
			s->credit = PROTO_EXEC_WINDOW;
	} else if (strcmp(type, PROTO_T_EXEC_RESIZE) == 0) {
		s->new_rows = exec_int(f, "rows", 1, 1000, 24);
		s->new_cols = exec_int(f, "cols", 1, 1000, 80);
		s->resize = 1;
	} else if (strcmp(type, PROTO_T_EXEC_EOF) == 0)
		s->in_eof = 1;
	else if (strcmp(type, PROTO_T_EXEC_CANCEL) == 0) {
		s->cancel = 1;
		s->cancel_why = "cancelled by the master (the operator left)";
	}
	pthread_mutex_unlock(&s->lock);
	exec_poke(s);
	pthread_mutex_unlock(&x->lock);
}

void
exec_on_data(struct exec_mgr *x, const unsigned char *data, size_t len)
{
	struct exec_sess *s;
	uint32_t id;

	if (len < PROTO_EXEC_HDR || data[0] != PROTO_EXEC_STDIN) {
		log_warn("exec: a binary frame that is not stdin: ignored");
		return;
	}
	id = ((uint32_t)data[1] << 24) | ((uint32_t)data[2] << 16) |
	    ((uint32_t)data[3] << 8) | data[4];
	pthread_mutex_lock(&x->lock);
	if ((s = exec_find(x, id)) != NULL) {
		pthread_mutex_lock(&s->lock);
		if (!s->want_stdin || s->in_eof)
			;	/* nobody reads it */
		else if (s->in.len + len - PROTO_EXEC_HDR > PROTO_EXEC_WINDOW) {
			s->cancel = 1;
			s->cancel_why = "stdin over its window";
		} else
			buf_append(&s->in, data + PROTO_EXEC_HDR,
			    len - PROTO_EXEC_HDR);
		pthread_mutex_unlock(&s->lock);
		exec_poke(s);
	}
	pthread_mutex_unlock(&x->lock);
}

/* Cancel every running session with why (manager lock held). */
static void
exec_cancel_all(struct exec_mgr *x, const char *why)
{
	struct exec_sess *s;

	for (s = x->sessions; s != NULL; s = s->next) {
		pthread_mutex_lock(&s->lock);
		if (!s->cancel) {
			s->cancel = 1;
			s->cancel_why = why;
		}
		pthread_mutex_unlock(&s->lock);
		exec_poke(s);
	}
}

void
exec_lost(struct exec_mgr *x)
{
	pthread_mutex_lock(&x->lock);
	exec_cancel_all(x, "the connection to the master was lost");
	pthread_mutex_unlock(&x->lock);
}

int
exec_count(struct exec_mgr *x)
{
	struct exec_sess *s;
	int n = 0;

	pthread_mutex_lock(&x->lock);
	for (s = x->sessions; s != NULL; s = s->next)
		if (!atomic_load(&s->done))
			n++;
	pthread_mutex_unlock(&x->lock);
	return n;
}

void
exec_free(struct exec_mgr *x)
{
	if (x == NULL)
		return;
	pthread_mutex_lock(&x->lock);
	exec_cancel_all(x, "the agent is stopping");
	pthread_mutex_unlock(&x->lock);
	/* Sessions kill their processes before they end: Docker calls are
	 * not aborted until they have. */
	pthread_mutex_lock(&x->lock);
	exec_reap(x, 1);
	pthread_mutex_unlock(&x->lock);
	atomic_store(&x->stop, 1);
	pthread_mutex_destroy(&x->lock);
	free(x);
}

void
exec_set_node_id(struct exec_mgr *x, const char *node_id)
{
	if (x == NULL)
		return;
	pthread_mutex_lock(&x->lock);
	snprintf(x->node_id, sizeof x->node_id, "%s", node_id);
	pthread_mutex_unlock(&x->lock);
}
