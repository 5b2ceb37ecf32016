/*
 * health.c - health_check probes and their verdicts (see health.h).
 *
 * DESIGN: the record is decided on the converge thread like portprobe.c's
 * (key = the container's id and State.StartedAt, so a restart starts the
 * verdict afresh); the probe itself runs on a portprobe thread that has
 * entered the container's network namespace. The probe is plain sockets
 * with one deadline (the health_check's timeout) polled in short slices,
 * so an agent shutting down never waits a whole timeout for it.
 */
#include "agent/health.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "common/version.h"
#include "common/xmalloc.h"

#define HEALTH_SLICE_MS		200	/* poll slice: looks at *stop */
#define HEALTH_REPLY_MAX	512	/* bytes read for the status line */

static const char *health_names[] = {
	[HEALTH_NONE] = "none",
	[HEALTH_STARTING] = "starting",
	[HEALTH_HEALTHY] = "healthy",
	[HEALTH_UNHEALTHY] = "unhealthy",
};

const char *
health_status_name(enum health_status st)
{
	return health_names[st];
}

/* ---- the record (pure) ---------------------------------------------------- */

static void
health_rec_newkey(struct health_rec *r, const char *key, int64_t now)
{
	free(r->key);
	r->key = xstrdup(key);
	r->status = HEALTH_STARTING;
	r->passed = 0;
	r->fails = 0;
	r->since = now;
	r->last = 0;
}

enum health_status
health_decide(struct health_rec *r, const struct health_spec *h,
    const char *key, int64_t now, int *launch, int64_t *due)
{
	int64_t at;

	*launch = 0;
	*due = -1;
	if (h == NULL || h->port <= 0) {
		health_rec_clear(r);
		return HEALTH_NONE;
	}
	if (key == NULL)	/* start unknown: nothing to probe yet */
		return r->key != NULL ? r->status : HEALTH_STARTING;
	if (r->key == NULL || strcmp(r->key, key) != 0)
		health_rec_newkey(r, key, now);
	if (r->busy || r->restart)
		return r->status;	/* its result wakes the converge pass */
	at = r->last == 0 ? r->since + (int64_t)h->initial_delay_s * 1000 :
	    r->last + (int64_t)h->interval_s * 1000;
	if (at <= now) {
		*launch = 1;
		*due = (int64_t)h->interval_s * 1000;
	} else
		*due = at - now;
	return r->status;
}

void
health_launched(struct health_rec *r, int64_t now)
{
	r->busy = 1;
	r->last = now;
}

int
health_result(struct health_rec *r, const char *key, int ok, char *why)
{
	r->busy = 0;
	if (r->key == NULL || key == NULL || strcmp(r->key, key) != 0) {
		free(why);		/* for a container start now gone */
		return 0;
	}
	if (ok) {
		free(why);
		free(r->error);
		r->error = NULL;
		r->status = HEALTH_HEALTHY;
		r->passed = 1;
		r->fails = 0;
		return 0;
	}
	free(r->error);
	r->error = why != NULL ? why : xstrdup("probe failed");
	r->status = HEALTH_UNHEALTHY;
	if (++r->fails < HEALTH_FAILS_RESTART || r->restart)
		return 0;
	r->restart = 1;
	return 1;
}

void
health_restarted(struct health_rec *r, int ok)
{
	r->restart = 0;
	if (ok)
		r->restarts++;
	r->fails = 0;
}

void
health_rec_idle(struct health_rec *r)
{
	free(r->key);
	r->key = NULL;
	r->status = HEALTH_STARTING;
	r->passed = 0;
	r->fails = 0;
	r->last = 0;
}

void
health_rec_clear(struct health_rec *r)
{
	int busy = r->busy;	/* a probe still running will come back */

	free(r->key);
	free(r->error);
	memset(r, 0, sizeof *r);
	r->busy = busy;
}

/* ---- the probe ------------------------------------------------------------ */

static int64_t
health_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Wait for events on fd until deadline; 1 ready, 0 timed out, -1 the
 * agent is stopping or poll failed.
 */
static int
health_wait(int fd, short events, int64_t deadline, const atomic_int *stop)
{
	struct pollfd pfd;
	int64_t left;
	int rc;

	for (;;) {
		if (stop != NULL && atomic_load(stop))
			return -1;
		left = deadline - health_mono_ms();
		if (left <= 0)
			return 0;
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		rc = poll(&pfd, 1, left < HEALTH_SLICE_MS ? (int)left :
		    HEALTH_SLICE_MS);
		if (rc > 0)
			return 1;
		if (rc < 0 && errno != EINTR)
			return -1;
	}
}

/* "HTTP/1.x NNN ..." -> NNN, or -1. */
static int
health_status_code(const char *line)
{
	int code;

	if (strncmp(line, "HTTP/", 5) != 0)
		return -1;
	line = strchr(line, ' ');
	if (line == NULL || sscanf(line, " %3d", &code) != 1 || code < 100 ||
	    code > 999)
		return -1;
	return code;
}

/* Send all of req; 0, or -1 with *why. */
static int
health_send(int fd, const char *req, int64_t deadline,
    const atomic_int *stop, const char *what, char **why)
{
	size_t len = strlen(req), off = 0;
	ssize_t n;
	int rc;

	while (off < len) {
		n = send(fd, req + off, len - off, MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			xasprintf(why, "%s: send: %s", what, strerror(errno));
			return -1;
		}
		if ((rc = health_wait(fd, POLLOUT, deadline, stop)) <= 0) {
			xasprintf(why, "%s: %s", what, rc == 0 ?
			    "timed out sending the request" :
			    "the agent is stopping");
			return -1;
		}
	}
	return 0;
}

/* GET uri on the connected fd; 1 healthy, 0 with *why. */
static int
health_http(int fd, const struct health_spec *h, const char *host,
    int64_t deadline, const atomic_int *stop, char **why)
{
	char *req, *what, buf[HEALTH_REPLY_MAX + 1], *eol;
	size_t got = 0;
	ssize_t n;
	int rc, code;

	xasprintf(&what, "GET http://%s:%d%s", host, h->port, h->uri);
	xasprintf(&req, "GET %s HTTP/1.0\r\nHost: %s:%d\r\nUser-Agent: "
	    "berth-agent/%s\r\nAccept: */*\r\nConnection: close\r\n\r\n",
	    h->uri, host, h->port, BERTH_VERSION);
	rc = health_send(fd, req, deadline, stop, what, why);
	free(req);
	if (rc != 0) {
		free(what);
		return 0;
	}
	/* The status line is all it takes. */
	for (;;) {
		buf[got] = '\0';
		if ((eol = strstr(buf, "\r\n")) != NULL ||
		    (eol = strchr(buf, '\n')) != NULL || got == HEALTH_REPLY_MAX)
			break;
		n = recv(fd, buf + got, HEALTH_REPLY_MAX - got, 0);
		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		if (n == 0) {
			xasprintf(why, "%s: the connection was closed %s", what,
			    got == 0 ? "without an answer" :
			    "in the middle of the status line");
			free(what);
			return 0;
		}
		if (errno != EAGAIN && errno != EINTR) {
			xasprintf(why, "%s: recv: %s", what, strerror(errno));
			free(what);
			return 0;
		}
		if ((rc = health_wait(fd, POLLIN, deadline, stop)) <= 0) {
			xasprintf(why, "%s: %s", what, rc == 0 ?
			    "no answer within the timeout" :
			    "the agent is stopping");
			free(what);
			return 0;
		}
	}
	if (eol != NULL)
		*eol = '\0';
	code = health_status_code(buf);
	if (code < 0) {
		xasprintf(why, "%s: not an HTTP answer", what);
		free(what);
		return 0;
	}
	if (code < 200 || code > 399) {
		xasprintf(why, "%s: status %d", what, code);
		free(what);
		return 0;
	}
	free(what);
	return 1;
}

int
health_run(const struct health_spec *h, const char *addr,
    const atomic_int *stop, char **why)
{
	struct sockaddr_in sin;
	const char *host = addr != NULL ? addr : "127.0.0.1";
	int64_t deadline = health_mono_ms() + (int64_t)h->timeout_s * 1000;
	socklen_t len = sizeof(int);
	int fd, rc, err = 0, ok;

	*why = NULL;
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)h->port);
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1) {
		xasprintf(why, "bad address %s", host);
		return 0;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		xasprintf(why, "socket: %s", strerror(errno));
		return 0;
	}
	rc = connect(fd, (struct sockaddr *)&sin, sizeof sin);
	if (rc != 0 && errno == EINPROGRESS) {
		rc = health_wait(fd, POLLOUT, deadline, stop);
		if (rc == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err,
		    &len) == 0 && err == 0)
			rc = 0;
		else {
			if (rc == 0)
				xasprintf(why, "connect to %s:%d: timed out "
				    "after %d s", host, h->port, h->timeout_s);
			else if (rc < 0)
				xasprintf(why, "connect to %s:%d: the agent "
				    "is stopping", host, h->port);
			else
				xasprintf(why, "connect to %s:%d: %s", host,
				    h->port, strerror(err));
			close(fd);
			return 0;
		}
	} else if (rc != 0) {
		xasprintf(why, "connect to %s:%d: %s", host, h->port,
		    strerror(errno));
		close(fd);
		return 0;
	}
	ok = h->http ? health_http(fd, h, host, deadline, stop, why) : 1;
	close(fd);
	return ok;
}
