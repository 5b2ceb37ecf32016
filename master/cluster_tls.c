/*
 * cluster_tls.c - dqlite's traffic between masters over TLS (see
 * cluster_tls.h and docs/ha.md, "TLS between masters").
 *
 * cluster_tls_dial() runs on whichever thread dials (a libuv worker of
 * the node for Raft, a store's thread, the watcher); the listener
 * (cluster_tls_serve.c) has its own accept thread, and each accepted
 * connection a thread of its own (handshake, the request, then the
 * proxy). Each dialed connection
 * gets one detached proxy thread. A proxy thread owns both its sockets
 * and the SSL object (never shared between threads) until either side
 * closes or the master stops; the registry here only counts them so
 * that shutdown can wait for them.
 */
#include "master/cluster_tls.h"
#include "master/config.h"

#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>

#include "master/cluster_tls_int.h"

void
cluster_tls_bind_name(const char *data_dir, char *out, size_t len)
{
	unsigned char h[SHA256_DIGEST_LENGTH];
	char *real = realpath(data_dir, NULL), hex[2 * sizeof h + 1];
	const char *d = real != NULL ? real : data_dir;

	/* Named after the data dir: one per master on a host, and found
	 * again by --dump while the master runs. */
	SHA256((const unsigned char *)d, strlen(d), h);
	util_hex(h, 8, hex);
	snprintf(out, len, "@berth-dqlite-%s", hex);
	free(real);
}

struct cluster_tls *
cluster_tls_new(const char *self, const char *data_dir,
    const unsigned char pin[TLSUTIL_PIN_LEN], const unsigned char *key,
    size_t keylen, char **cause)
{
	struct cluster_tls *t = xcalloc(1, sizeof *t);
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;

	t->self = self != NULL ? xstrdup(self) : NULL;
	t->lfd = -1;
	cluster_tls_bind_name(data_dir, t->bind, sizeof t->bind);
	memcpy(t->pin, pin, TLSUTIL_PIN_LEN);
	if (HMAC(EVP_sha256(), key, (int)keylen,
	    (const unsigned char *)CTLS_LABEL, strlen(CTLS_LABEL), mac,
	    &maclen) == NULL || maclen != SHA256_DIGEST_LENGTH) {
		xasprintf(cause, "cannot derive the masters' credential");
		goto fail;
	}
	util_hex(mac, maclen, t->cred);
	OPENSSL_cleanse(mac, sizeof mac);
	if ((t->ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		xasprintf(cause, "cannot make a TLS client context");
		goto fail;
	}
	SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
	/* The pin is the check (after the handshake): no CA, no name. */
	SSL_CTX_set_verify(t->ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_mode(t->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->done, NULL);
	t->stop_served = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	t->stop_all = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->stop_served < 0 || t->stop_all < 0)
		fatalx("eventfd: %s", strerror(errno));
	return t;
fail:
	OPENSSL_cleanse(t->cred, sizeof t->cred);
	free(t->self);
	free(t);
	return NULL;
}

/* Wait until *count is 0 (t->lock held). */
static void
ctls_wait(struct cluster_tls *t, int *count)
{
	while (*count > 0)
		pthread_cond_wait(&t->done, &t->lock);
}

void
cluster_tls_shutdown_served(struct cluster_tls *t)
{
	uint64_t one = 1;

	if (t == NULL)
		return;
	pthread_mutex_lock(&t->lock);
	t->served_off = 1;
	pthread_mutex_unlock(&t->lock);
	(void)write(t->stop_served, &one, sizeof one);
	if (t->lfd >= 0) {
		pthread_join(t->acceptor, NULL);
		close(t->lfd);
		t->lfd = -1;
	}
	pthread_mutex_lock(&t->lock);
	ctls_wait(t, &t->served);
	pthread_mutex_unlock(&t->lock);
}

void
cluster_tls_free(struct cluster_tls *t)
{
	uint64_t one = 1;

	if (t == NULL)
		return;
	cluster_tls_shutdown_served(t);
	pthread_mutex_lock(&t->lock);
	t->stopping = 1;
	pthread_mutex_unlock(&t->lock);
	(void)write(t->stop_all, &one, sizeof one);
	pthread_mutex_lock(&t->lock);
	ctls_wait(t, &t->served);
	ctls_wait(t, &t->dialed);
	pthread_mutex_unlock(&t->lock);
	pthread_cond_destroy(&t->done);
	pthread_mutex_destroy(&t->lock);
	close(t->stop_served);
	close(t->stop_all);
	SSL_CTX_free(t->ctx);
	SSL_CTX_free(t->sctx);
	OPENSSL_cleanse(t->cred, sizeof t->cred);
	free(t->self);
	free(t);
}

const char *
cluster_tls_bind(const struct cluster_tls *t)
{
	return t->bind;
}

int
cluster_tls_check(const struct cluster_tls *t, const char *value)
{
	if (value == NULL || strlen(value) != sizeof t->cred - 1)
		return 0;
	return CRYPTO_memcmp(value, t->cred, sizeof t->cred - 1) == 0;
}

/* ---- the proxy ---- */

/*
 * A TLS read or write that moved nothing (rc <= 0): -1 to try again once
 * e->want is ready (either way: TLS may read to write, or write to read),
 * 0 when the stream closed or failed.
 */
static ssize_t
ctls_ssl_again(struct ctls_end *e, int rc)
{
	switch (SSL_get_error(e->ssl, rc)) {
	case SSL_ERROR_WANT_READ:
		e->want |= POLLIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		e->want |= POLLOUT;
		return -1;
	default:
		return 0;
	}
}

/* Read: >0 bytes, 0 closed or failed, -1 again (e->want set). */
static ssize_t
ctls_read(struct ctls_end *e, void *p, size_t n)
{
	ssize_t r;
	int rc;

	if (e->ssl != NULL) {
		rc = SSL_read(e->ssl, p, n > INT_MAX ? INT_MAX : (int)n);
		return rc > 0 ? rc : ctls_ssl_again(e, rc);
	}
	for (;;) {
		if ((r = recv(e->fd, p, n, 0)) >= 0)
			return r;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			e->want |= POLLIN;
			return -1;
		}
		return 0;
	}
}

/* Write: >0 bytes, 0 failed, -1 again (e->want set). */
static ssize_t
ctls_write(struct ctls_end *e, const void *p, size_t n)
{
	ssize_t r;
	int rc;

	if (e->ssl != NULL) {
		rc = SSL_write(e->ssl, p, n > INT_MAX ? INT_MAX : (int)n);
		return rc > 0 ? rc : ctls_ssl_again(e, rc);
	}
	for (;;) {
		if ((r = send(e->fd, p, n, MSG_NOSIGNAL)) > 0)
			return r;
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			e->want |= POLLOUT;
			return -1;
		}
		return 0;
	}
}

/*
 * Move what can move from src through b to dst without blocking: 1 if
 * anything moved, 0 if nothing could, -1 when a side closed or failed.
 */
static int
ctls_pump(struct ctls_end *src, struct ctls_buf *b, struct ctls_end *dst)
{
	ssize_t n;
	int moved = 0;

	if (b->off == b->len) {
		b->off = b->len = 0;
		n = ctls_read(src, b->buf, b->cap);
		if (n == 0)
			return -1;
		if (n > 0) {
			b->len = (size_t)n;
			moved = 1;
		}
	}
	if (b->off < b->len) {
		n = ctls_write(dst, b->buf + b->off, b->len - b->off);
		if (n == 0)
			return -1;
		if (n > 0) {
			b->off += (size_t)n;
			moved = 1;
		}
	}
	return moved;
}

/* Copy until either side closes or the master stops; then free p, its
 * ends, and count it out. */
void
ctls_proxy_run(struct ctls_proxy *p)
{
	struct cluster_tls *t = p->t;
	struct pollfd pf[3];
	int a, b, stopfd = p->served ? t->stop_served : t->stop_all;

	for (;;) {
		/* Until a round moves nothing: every call then said what
		 * it waits for. TLS may hold decrypted bytes the socket no
		 * longer shows, so poll only then. */
		do {
			p->peer.want = p->local.want = 0;
			a = ctls_pump(&p->peer, &p->in, &p->local);
			b = a < 0 ? -1 : ctls_pump(&p->local, &p->out,
			    &p->peer);
		} while (a > 0 || b > 0);
		if (a < 0 || b < 0)
			break;
		pf[0] = (struct pollfd){ .fd = p->peer.fd,
		    .events = p->peer.want };
		pf[1] = (struct pollfd){ .fd = p->local.fd,
		    .events = p->local.want };
		pf[2] = (struct pollfd){ .fd = stopfd, .events = POLLIN };
		if (poll(pf, 3, -1) < 0 && errno != EINTR)
			break;
		if (pf[2].revents != 0)
			break;
		/* A hang-up with nothing to read: the next round's read
		 * says 0 and ends the proxy. */
		if ((pf[0].revents | pf[1].revents) & (POLLERR | POLLNVAL))
			break;
	}
	log_debug("cluster: proxy %s closed", p->what);
	SSL_free(p->peer.ssl);
	close(p->peer.fd);
	close(p->local.fd);
	free(p->in.buf);
	free(p->out.buf);
	free(p->what);
	pthread_mutex_lock(&t->lock);
	if (p->served)
		t->served--;
	else
		t->dialed--;
	pthread_cond_broadcast(&t->done);
	pthread_mutex_unlock(&t->lock);
	free(p);
}

static void *
ctls_proxy_main(void *arg)
{
	ctls_proxy_run(arg);
	return NULL;
}

static void
ctls_nonblock(int fd)
{
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* A proxy of peer and local, with pre (bytes already read from the
 * peer) first on their way to local. */
struct ctls_proxy *
ctls_proxy_new(struct cluster_tls *t, struct ctls_end *peer, int local,
    const char *pre, size_t prelen, int served, const char *what)
{
	struct ctls_proxy *p = xcalloc(1, sizeof *p);

	p->t = t;
	p->peer = *peer;
	p->local.fd = local;
	p->served = served;
	p->what = xstrdup(what);
	p->in.cap = prelen > CTLS_BUF ? prelen : CTLS_BUF;
	p->in.buf = xmalloc(p->in.cap);
	memcpy(p->in.buf, pre, prelen);
	p->in.len = prelen;
	p->out.cap = CTLS_BUF;
	p->out.buf = xmalloc(p->out.cap);
	ctls_nonblock(p->peer.fd);
	ctls_nonblock(local);
	return p;
}

/* Count a new thread in: 0, or -1 when the master stops. */
int
ctls_enter(struct cluster_tls *t, int served)
{
	int rc = -1;

	pthread_mutex_lock(&t->lock);
	/* Peers hold a few connections each (Raft's, one per store
	 * thread); more is someone else's flood. */
	if (!t->stopping && !(served && (t->served_off ||
	    t->served >= CTLS_MAX_SERVED))) {
		if (served)
			t->served++;
		else
			t->dialed++;
		rc = 0;
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

/* A detached thread running fn(arg). */
void
ctls_spawn(void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;
	pthread_t th;
	int rc;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&th, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	if (rc != 0)
		fatalx("pthread_create: %s", strerror(rc));
}

/* ---- dialing ---- */

/* This master's own node, at its private endpoint. */
int
ctls_dial_local(struct cluster_tls *t, int *fd, char **cause)
{
	struct sockaddr_un sun;
	socklen_t len;
	size_t n = strlen(t->bind + 1);
	int s;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path + 1, t->bind + 1, n);	/* abstract: \0name */
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		xasprintf(cause, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(s, (struct sockaddr *)&sun, len) != 0) {
		xasprintf(cause, "this master's node (%s): connect: %s",
		    t->bind, strerror(errno));
		close(s);
		return -1;
	}
	*fd = s;
	return 0;
}

/* TCP to address (non-blocking, TCP_NODELAY) before deadline. */
static int
ctls_tcp(const char *address, int64_t deadline, char **cause)
{
	struct addrinfo hints, *res = NULL, *ai;
	char *host = NULL, *why = NULL, port_s[16];
	socklen_t elen;
	int port, fd = -1, one = 1, err = 0, rc;

	if (config_split_listen(address, &host, &port, &why) != 0) {
		xasprintf(cause, "%s: %s", address, why);
		free(why);
		return -1;
	}
	snprintf(port_s, sizeof port_s, "%d", port);
	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	rc = getaddrinfo(host, port_s, &hints, &res);
	free(host);
	if (rc != 0) {
		xasprintf(cause, "%s: %s", address, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS) {
			rc = util_wait_fd(fd, POLLOUT, deadline);
			elen = sizeof err;
			if (rc > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err,
			    &elen) == 0 && err == 0)
				break;
			if (rc == 0)
				err = ETIMEDOUT;
			else if (rc < 0)
				err = errno;
		} else
			err = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		xasprintf(cause, "%s: connect: %s", address, err == ETIMEDOUT ?
		    "timed out" : strerror(err));
		return -1;
	}
	/* Raft's and the store's messages are small writes: no Nagle. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

/* Drive one SSL call to completion before deadline: its result (> 0),
 * or <= 0 with *cause. */
int
ctls_ssl_wait(SSL *ssl, int fd, int rc, int64_t deadline, const char *step,
    const char *address, char **cause)
{
	unsigned long e;
	int w, err = SSL_get_error(ssl, rc);

	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
		w = util_wait_fd(fd, err == SSL_ERROR_WANT_READ ? POLLIN :
		    POLLOUT, deadline);
		if (w > 0)
			return 0;	/* again */
		xasprintf(cause, "%s: TLS %s: %s", address, step, w == 0 ?
		    "timed out" : strerror(errno));
		return -1;
	}
	e = ERR_get_error();
	ERR_clear_error();
	if (e != 0)
		xasprintf(cause, "%s: TLS %s: %s", address, step,
		    ERR_reason_error_string(e) ? ERR_reason_error_string(e) :
		    "failed");
	else
		xasprintf(cause, "%s: TLS %s: %s", address, step,
		    err == SSL_ERROR_ZERO_RETURN || rc == 0 ?
		    "connection closed by the peer" : strerror(errno));
	return -1;
}

int
cluster_tls_dial(struct cluster_tls *t, const char *address, int timeout_ms,
    int *fd, char **cause)
{
	struct ctls_end peer = { .fd = -1 };
	unsigned char got[TLSUTIL_PIN_LEN];
	char pin_got[TLSUTIL_PIN_STRLEN], pin_want[TLSUTIL_PIN_STRLEN];
	char *req = NULL, hdr[CTLS_HDR_MAX + 1], *end, *eol;
	int64_t deadline = util_mono_ms() + (timeout_ms > 0 ? timeout_ms :
	    5000);
	size_t have = 0, off = 0, reqlen;
	int sv[2] = { -1, -1 }, rc, ok;
	X509 *x;

	if (t->self != NULL && strcmp(address, t->self) == 0)
		return ctls_dial_local(t, fd, cause);
	if ((peer.fd = ctls_tcp(address, deadline, cause)) < 0)
		return -1;
	if ((peer.ssl = SSL_new(t->ctx)) == NULL ||
	    SSL_set_fd(peer.ssl, peer.fd) != 1) {
		xasprintf(cause, "%s: cannot start TLS", address);
		goto fail;
	}
	while ((rc = SSL_connect(peer.ssl)) != 1)
		if (ctls_ssl_wait(peer.ssl, peer.fd, rc, deadline, "handshake",
		    address, cause) < 0)
			goto fail;
	x = SSL_get1_peer_certificate(peer.ssl);
	ok = x != NULL && tlsutil_pin_of_cert(x, got) == 0 &&
	    CRYPTO_memcmp(got, t->pin, sizeof got) == 0;
	if (!ok) {
		tlsutil_pin_format(t->pin, pin_want);
		if (x != NULL && tlsutil_pin_of_cert(x, got) == 0) {
			tlsutil_pin_format(got, pin_got);
			xasprintf(cause, "%s presents a TLS key whose pin is %s, "
			    "not the cluster's %s: not a master of this cluster",
			    address, pin_got, pin_want);
		} else
			xasprintf(cause, "%s presents no TLS certificate",
			    address);
		X509_free(x);
		goto fail;
	}
	X509_free(x);

	/* The credential goes only to a peer that holds the cluster's
	 * key (checked above). */
	xasprintf(&req, "GET " CLUSTER_TLS_PATH " HTTP/1.1\r\nHost: %s\r\n"
	    "Upgrade: " CLUSTER_TLS_PROTO "\r\nConnection: Upgrade\r\n"
	    CLUSTER_TLS_HEADER ": %s\r\n\r\n", address, t->cred);
	reqlen = strlen(req);
	while (off < reqlen) {
		rc = SSL_write(peer.ssl, req + off, (int)(reqlen - off));
		if (rc > 0)
			off += (size_t)rc;
		else if (ctls_ssl_wait(peer.ssl, peer.fd, rc, deadline,
		    "write", address, cause) < 0)
			goto fail;
	}
	OPENSSL_cleanse(req, reqlen);
	free(req);
	req = NULL;

	/* The head of the answer; what follows it is the node's. */
	for (;;) {
		hdr[have] = '\0';
		if ((end = strstr(hdr, "\r\n\r\n")) != NULL)
			break;
		if (have == CTLS_HDR_MAX) {
			xasprintf(cause, "%s: the upgrade's answer has no end "
			    "of head", address);
			goto fail;
		}
		rc = SSL_read(peer.ssl, hdr + have, (int)(CTLS_HDR_MAX - have));
		if (rc > 0)
			have += (size_t)rc;
		else if (ctls_ssl_wait(peer.ssl, peer.fd, rc, deadline, "read",
		    address, cause) < 0)
			goto fail;
	}
	if (strncmp(hdr, "HTTP/1.1 101", 12) != 0) {
		if ((eol = strstr(hdr, "\r\n")) != NULL)
			*eol = '\0';
		xasprintf(cause, "%s refused the dqlite upgrade: %.80s (a "
		    "master of another cluster, or without this cluster's "
		    "master.key?)", address, hdr);
		goto fail;
	}
	end += 4;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		xasprintf(cause, "socketpair: %s", strerror(errno));
		goto fail;
	}
	if (ctls_enter(t, 0) != 0) {
		xasprintf(cause, "%s: the master is stopping", address);
		goto fail;
	}
	ctls_spawn(ctls_proxy_main, ctls_proxy_new(t, &peer, sv[1], end,
	    have - (size_t)(end - hdr), 0, address));
	*fd = sv[0];
	return 0;
fail:
	if (req != NULL) {
		OPENSSL_cleanse(req, strlen(req));
		free(req);
	}
	if (sv[0] >= 0) {
		close(sv[0]);
		close(sv[1]);
	}
	SSL_free(peer.ssl);
	close(peer.fd);
	return -1;
}
