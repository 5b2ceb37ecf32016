/*
 * dq_conn.c - one connection to one dqlite node: dial with TCP_NODELAY,
 * handshake, bounded reads and writes, one request and its reply (see
 * dq_client.h). The sessions with a cluster built on it are dq_client.c.
 */
#include "master/dq_client.h"

#include "common/util.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* The dialer (dq_conn_set_dialer): start-up configuration, read-only
 * once threads run. */
static dq_dial_fn	*dq_dialer;
static void		*dq_dialer_arg;

void
dq_conn_set_dialer(dq_dial_fn *fn, void *arg)
{
	dq_dialer = fn;
	dq_dialer_arg = arg;
}

/* Split "host:port" or "[v6]:port". */
static int
split_address(const char *address, char *host, size_t hostlen, char *port,
    size_t portlen)
{
	const char *colon, *h = address, *end;
	size_t n;

	if (address[0] == '[') {
		end = strchr(address, ']');
		if (end == NULL || end[1] != ':')
			return -1;
		h = address + 1;
		n = (size_t)(end - h);
		colon = end + 1;
	} else {
		colon = strrchr(address, ':');
		if (colon == NULL)
			return -1;
		n = (size_t)(colon - address);
	}
	if (n == 0 || n >= hostlen || strlen(colon + 1) == 0 ||
	    strlen(colon + 1) >= portlen ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return -1;
	memcpy(host, h, n);
	host[n] = '\0';
	strcpy(port, colon + 1);
	return 0;
}

void
dq_conn_close(struct dq_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->address);
	c->address = NULL;
	buf_free(&c->out);
	free(c->in);
	c->in = NULL;
	c->in_cap = 0;
}

/* Write all of p before deadline: 0, or -1 with *cause. */
static int
write_all(struct dq_conn *c, const void *p, size_t len, int64_t deadline,
    char **cause)
{
	const uint8_t *q = p;
	ssize_t n;
	int rc;

	while (len > 0) {
		n = send(c->fd, q, len, MSG_NOSIGNAL);
		if (n > 0) {
			q += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			xasprintf(cause, "%s: write: %s", c->address,
			    strerror(errno));
			return -1;
		}
		rc = util_wait_fd(c->fd, POLLOUT, deadline);
		if (rc <= 0) {
			xasprintf(cause, "%s: write: %s", c->address, rc == 0 ?
			    "timed out" : strerror(errno));
			return -1;
		}
	}
	return 0;
}

/*
 * ACK what arrived at once. dqlite 1.11 leaves Nagle on for the sockets
 * it accepts, and sends a result of more than one page (a few hundred
 * rows) as several writes: each part after the first waits for the ACK
 * of the one before, which Linux delays up to 40 ms on a connection it
 * takes for interactive. The kernel drops quick-ACK mode by itself, so
 * it is asked again after each read.
 */
static void
dq_conn_quickack(struct dq_conn *c)
{
	int one = 1;

	/* The TLS dialer's socketpair has no ACKs: no call per read. */
	if (c->tcp)
		(void)setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &one,
		    sizeof one);
}

static int
read_all(struct dq_conn *c, void *p, size_t len, int64_t deadline,
    char **cause)
{
	uint8_t *q = p;
	ssize_t n;
	int rc;

	while (len > 0) {
		n = recv(c->fd, q, len, 0);
		if (n > 0) {
			q += n;
			len -= (size_t)n;
			dq_conn_quickack(c);
			continue;
		}
		if (n == 0) {
			xasprintf(cause, "%s: read: connection closed by the "
			    "node", c->address);
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			xasprintf(cause, "%s: read: %s", c->address,
			    strerror(errno));
			return -1;
		}
		rc = util_wait_fd(c->fd, POLLIN, deadline);
		if (rc <= 0) {
			xasprintf(cause, "%s: read: %s", c->address, rc == 0 ?
			    "timed out" : strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* Connect one resolved address before deadline: the fd, or -1. */
static int
dial(const struct addrinfo *ai, int64_t deadline, int *err)
{
	socklen_t len = sizeof *err;
	int fd, one = 1, rc;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0) {
		*err = errno;
		return -1;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (errno != EINPROGRESS) {
			*err = errno;
			goto fail;
		}
		rc = util_wait_fd(fd, POLLOUT, deadline);
		if (rc <= 0) {
			*err = rc == 0 ? ETIMEDOUT : errno;
			goto fail;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, err, &len) < 0 ||
		    *err != 0)
			goto fail;
	}
	/* Each request is one small write: never wait for Nagle. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
fail:
	close(fd);
	return -1;
}

int
dq_conn_open(struct dq_conn *c, const char *address, int timeout_ms,
    char **cause)
{
	struct addrinfo hints = { 0 }, *res = NULL, *ai;
	char host[256], port[16];
	struct buf hs = { 0 };
	int64_t deadline;
	int rc, err = 0;

	memset(c, 0, sizeof *c);
	c->fd = -1;
	c->timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
	c->address = xstrdup(address);
	if (dq_dialer != NULL) {
		deadline = util_mono_ms() + c->timeout_ms;
		if (dq_dialer(dq_dialer_arg, address, c->timeout_ms, &c->fd,
		    cause) != 0)
			goto fail;
		/* Bounded reads and writes poll a non-blocking socket. */
		(void)fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) |
		    O_NONBLOCK);
		goto handshake;
	}
	if (split_address(address, host, sizeof host, port,
	    sizeof port) == -1) {
		xasprintf(cause, "%s: not a host:port address", address);
		goto fail;
	}
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		xasprintf(cause, "%s: %s", address, gai_strerror(rc));
		goto fail;
	}
	deadline = util_mono_ms() + c->timeout_ms;
	for (ai = res; ai != NULL && c->fd < 0; ai = ai->ai_next)
		c->fd = dial(ai, deadline, &err);
	freeaddrinfo(res);
	if (c->fd < 0) {
		xasprintf(cause, "%s: connect: %s", address, err == ETIMEDOUT ?
		    "timed out" : strerror(err));
		goto fail;
	}
	c->tcp = 1;
handshake:
	dq_enc_handshake(&hs);
	rc = write_all(c, hs.data, hs.len, deadline, cause);
	buf_free(&hs);
	if (rc == -1)
		goto fail;
	return 0;
fail:
	dq_conn_close(c);
	return -1;
}

int
dq_conn_recv(struct dq_conn *c, struct dq_msg *m, char **cause)
{
	uint8_t hdr[DQ_WORD];
	int64_t deadline = util_mono_ms() + c->timeout_ms;
	size_t len;
	char *why = NULL;

	if (c->fd < 0) {
		xasprintf(cause, "%s: not connected", c->address ?
		    c->address : "node");
		return -1;
	}
	if (read_all(c, hdr, sizeof hdr, deadline, cause) == -1)
		goto fail;
	if (dq_dec_header(hdr, m, &len, &why) == -1) {
		xasprintf(cause, "%s: %s", c->address, why);
		free(why);
		goto fail;
	}
	if (len > c->in_cap) {
		free(c->in);
		c->in = xmalloc(len);
		c->in_cap = len;
	}
	if (len > 0 && read_all(c, c->in, len, deadline, cause) == -1)
		goto fail;
	m->body = c->in;
	m->len = len;
	return 0;
fail:
	close(c->fd);
	c->fd = -1;
	return -1;
}

int
dq_conn_request(struct dq_conn *c, struct dq_msg *m, char **cause)
{
	int rc;

	c->code = 0;
	c->sent = 0;
	if (c->fd < 0) {
		buf_free(&c->out);
		xasprintf(cause, "%s: not connected", c->address ?
		    c->address : "node");
		return -1;
	}
	/* The protocol never sends unasked: a readable idle connection
	 * was closed (or reset) by the node. Say so before sending, so that
	 * a write is not left in doubt when it never reached anyone. */
	{
		struct pollfd p = { .fd = c->fd, .events = POLLIN | POLLRDHUP };

		if (poll(&p, 1, 0) > 0) {
			buf_free(&c->out);
			xasprintf(cause, "%s: the node closed the connection",
			    c->address);
			close(c->fd);
			c->fd = -1;
			return -1;
		}
	}
	rc = write_all(c, c->out.data, c->out.len, util_mono_ms() + c->timeout_ms,
	    cause);
	buf_free(&c->out);
	if (rc == -1) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	c->sent = 1;
	return dq_conn_recv(c, m, cause);
}

/* Decode a reply of type want, or note the FAILURE code: the cause is
 * prefixed with the node and the step. */
int
dq_conn_expect(struct dq_conn *c, const struct dq_msg *m, int type, const char *step,
    char **cause)
{
	char *why = NULL;

	if (dq_dec_expect(m, type, &c->code, &why) == 0)
		return 0;
	xasprintf(cause, "%s: %s: %s", c->address, step, why);
	free(why);
	return -1;
}

int
dq_conn_leader(struct dq_conn *c, uint64_t *id, char **address,
    char **cause)
{
	struct dq_msg m;
	const char *addr;
	char *why = NULL;

	dq_enc_leader(&c->out);
	if (dq_conn_request(c, &m, cause) == -1 ||
	    dq_conn_expect(c, &m, DQ_RESP_SERVER, "LEADER", cause) == -1)
		return -1;
	if (dq_dec_server(&m, id, &addr, &why) == -1) {
		xasprintf(cause, "%s: LEADER: %s", c->address, why);
		free(why);
		return -1;
	}
	*address = xstrdup(addr);
	return 0;
}
