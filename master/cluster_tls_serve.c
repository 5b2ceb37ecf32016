/*
 * cluster_tls_serve.c - the listener of cluster_tls.h: the masters' dqlite
 * traffic over TLS on --cluster-address (docs/ha.md, "TLS between
 * masters"). An accept thread; a thread per accepted connection for the
 * TLS handshake and one request within CTLS_ACCEPT_MS, then (an upgrade
 * with the cluster's credential) the proxy to this master's node, in
 * that thread (cluster_tls.c).
 */
#include "master/cluster_tls_int.h"
#include "master/config.h"

#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>

/* One accepted connection, until its thread takes it. */
struct ctls_conn {
	struct cluster_tls	*t;
	int			 fd;
	char			 from[64];	/* the peer's address */
};

/* Write text whole before deadline (best effort: the connection is
 * closed after an error answer anyway). 0, or -1. */
static int
ctls_send(SSL *ssl, int fd, const char *text, int64_t deadline)
{
	size_t off = 0, len = strlen(text);
	char *why = NULL;
	int rc;

	while (off < len) {
		rc = SSL_write(ssl, text + off, (int)(len - off));
		if (rc > 0)
			off += (size_t)rc;
		else if (ctls_ssl_wait(ssl, fd, rc, deadline, "write", "peer",
		    &why) < 0) {
			free(why);
			return -1;
		}
	}
	return 0;
}

/* Answer status with body, then the connection closes. */
static void
ctls_answer(SSL *ssl, int fd, int status, const char *reason,
    const char *type, const char *body, int64_t deadline)
{
	char *head;

	xasprintf(&head, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", status,
	    reason, type, strlen(body), body);
	(void)ctls_send(ssl, fd, head, deadline);
	free(head);
}

static void
ctls_refuse(SSL *ssl, int fd, int status, const char *reason,
    const char *msg, int64_t deadline)
{
	char *body;

	xasprintf(&body, "{\"error\":\"%s\"}", msg);
	ctls_answer(ssl, fd, status, reason, "application/json", body,
	    deadline);
	free(body);
}

/* The value of header name in head (case-insensitive name), into out;
 * 1 if present. */
static int
ctls_header(const char *head, const char *name, char *out, size_t len)
{
	const char *p = strstr(head, "\r\n"), *v, *e;
	size_t n = strlen(name);

	while (p != NULL && p[2] != '\0' && p[2] != '\r') {
		p += 2;
		e = strstr(p, "\r\n");
		if (e == NULL)
			break;
		if ((size_t)(e - p) > n && strncasecmp(p, name, n) == 0 &&
		    p[n] == ':') {
			v = p + n + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			snprintf(out, len, "%.*s", (int)(e - v), v);
			while (*out != '\0' && (out[strlen(out) - 1] == ' ' ||
			    out[strlen(out) - 1] == '\t'))
				out[strlen(out) - 1] = '\0';
			return 1;
		}
		p = e;
	}
	return 0;
}

/* 1 if the comma-separated value holds token (case-insensitive). */
static int
ctls_has_token(const char *value, const char *token)
{
	char copy[256], *p, *save = NULL, *e;

	snprintf(copy, sizeof copy, "%s", value);
	for (p = strtok_r(copy, ",", &save); p != NULL;
	    p = strtok_r(NULL, ",", &save)) {
		p += strspn(p, " \t");
		e = p + strlen(p);
		while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		if (strcasecmp(p, token) == 0)
			return 1;
	}
	return 0;
}

/*
 * An accepted connection (its own thread): the TLS handshake and one
 * request within CTLS_ACCEPT_MS; then, for a dqlite upgrade with the
 * cluster's credential, the proxy to the node in this thread.
 */
static void *
ctls_conn_main(void *arg)
{
	struct ctls_conn *c = arg;
	struct cluster_tls *t = c->t;
	struct ctls_end peer = { .fd = c->fd };
	int64_t deadline = util_mono_ms() + CTLS_ACCEPT_MS;
	char hdr[CTLS_HDR_MAX + 1], val[256], url[256], *end, *why = NULL;
	size_t have = 0;
	int rc, local;

	if ((peer.ssl = SSL_new(t->sctx)) == NULL ||
	    SSL_set_fd(peer.ssl, peer.fd) != 1)
		goto out;
	while ((rc = SSL_accept(peer.ssl)) != 1)
		if (ctls_ssl_wait(peer.ssl, peer.fd, rc, deadline, "handshake",
		    c->from, &why) < 0) {
			/* Plain bytes, a scanner, a peer gone: not worth a
			 * warning each. */
			log_debug("cluster: %s", why);
			goto out;
		}
	for (;;) {
		hdr[have] = '\0';
		if ((end = strstr(hdr, "\r\n\r\n")) != NULL)
			break;
		if (have == CTLS_HDR_MAX) {
			ctls_refuse(peer.ssl, peer.fd, 431, "Request Header "
			    "Fields Too Large", "request head over 4096 bytes",
			    deadline);
			goto out;
		}
		rc = SSL_read(peer.ssl, hdr + have, (int)(CTLS_HDR_MAX - have));
		if (rc > 0)
			have += (size_t)rc;
		else if (ctls_ssl_wait(peer.ssl, peer.fd, rc, deadline, "read",
		    c->from, &why) < 0) {
			log_debug("cluster: %s", why);
			goto out;
		}
	}
	end += 4;
	if (CTLS_IS(hdr, "GET " CLUSTER_TLS_LEADER " HTTP/1.")) {
		/* For a joiner, which has no credential yet: whom to give
		 * its join token (public: any master's 307 says as much). */
		url[0] = '\0';
		if (t->leader != NULL)
			t->leader(t->leader_arg, url, sizeof url);
		if (url[0] == '\0')
			ctls_refuse(peer.ssl, peer.fd, 503, "Service "
			    "Unavailable", "no leader known yet: try again",
			    deadline);
		else
			ctls_answer(peer.ssl, peer.fd, 200, "OK", "text/plain",
			    url, deadline);
		goto out;
	}
	if (!CTLS_IS(hdr, "GET " CLUSTER_TLS_PATH " HTTP/1.") &&
	    !CTLS_IS(hdr, "POST " CLUSTER_TLS_PATH " HTTP/1.")) {
		ctls_refuse(peer.ssl, peer.fd, 404, "Not Found", "this port "
		    "serves only " CLUSTER_TLS_PATH " (masters' dqlite "
		    "traffic) and " CLUSTER_TLS_LEADER, deadline);
		goto out;
	}
	if (!ctls_header(hdr, "Upgrade", val, sizeof val) ||
	    !ctls_has_token(val, CLUSTER_TLS_PROTO) ||
	    !ctls_header(hdr, "Connection", val, sizeof val) ||
	    !ctls_has_token(val, "upgrade")) {
		ctls_refuse(peer.ssl, peer.fd, 400, "Bad Request",
		    CLUSTER_TLS_PATH " needs Upgrade: " CLUSTER_TLS_PROTO
		    " and Connection: Upgrade", deadline);
		goto out;
	}
	if (!ctls_header(hdr, CLUSTER_TLS_HEADER, val, sizeof val) ||
	    val[0] == '\0') {
		log_warn("cluster: %s: a dqlite upgrade without "
		    CLUSTER_TLS_HEADER " refused", c->from);
		ctls_refuse(peer.ssl, peer.fd, 401, "Unauthorized", "missing "
		    CLUSTER_TLS_HEADER " (another master's credential)",
		    deadline);
		goto out;
	}
	if (!cluster_tls_check(t, val)) {
		log_warn("cluster: %s: a dqlite upgrade with a wrong "
		    CLUSTER_TLS_HEADER " refused (a master of another "
		    "cluster?)", c->from);
		ctls_refuse(peer.ssl, peer.fd, 403, "Forbidden", "invalid "
		    CLUSTER_TLS_HEADER ": not a master of this cluster",
		    deadline);
		goto out;
	}
	if (ctls_dial_local(t, &local, &why) != 0) {
		log_warn("cluster: %s: %s", c->from, why);
		ctls_refuse(peer.ssl, peer.fd, 503, "Service Unavailable",
		    "this master's node does not answer", deadline);
		goto out;
	}
	if (ctls_send(peer.ssl, peer.fd, "HTTP/1.1 101 Switching Protocols"
	    "\r\nUpgrade: " CLUSTER_TLS_PROTO "\r\nConnection: Upgrade\r\n\r\n",
	    deadline) != 0) {
		close(local);
		goto out;
	}
	log_debug("cluster: %s: dqlite connection", c->from);
	ctls_proxy_run(ctls_proxy_new(t, &peer, local, end,
	    have - (size_t)(end - hdr), 1, c->from));
	free(c);
	return NULL;	/* the proxy counted this thread out */
out:
	free(why);
	SSL_free(peer.ssl);
	close(peer.fd);
	pthread_mutex_lock(&t->lock);
	t->served--;
	pthread_cond_broadcast(&t->done);
	pthread_mutex_unlock(&t->lock);
	free(c);
	return NULL;
}

/* The listener's thread: accept until shutdown. */
static void *
ctls_accept_main(void *arg)
{
	struct cluster_tls *t = arg;
	struct sockaddr_storage ss;
	struct ctls_conn *c;
	struct pollfd pf[2];
	socklen_t sl;
	char host[48] = "?", port[8] = "?";
	int fd, one = 1;

	pf[0] = (struct pollfd){ .fd = t->lfd, .events = POLLIN };
	pf[1] = (struct pollfd){ .fd = t->stop_served, .events = POLLIN };
	for (;;) {
		if (poll(pf, 2, -1) < 0 && errno != EINTR)
			fatalx("cluster: poll: %s", strerror(errno));
		if (pf[1].revents != 0)
			break;
		if (pf[0].revents == 0)
			continue;
		sl = sizeof ss;
		fd = accept4(t->lfd, (struct sockaddr *)&ss, &sl,
		    SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				usleep(100 * 1000);	/* no busy loop */
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		if (ctls_enter(t, 1) != 0) {
			close(fd);
			continue;
		}
		c = xcalloc(1, sizeof *c);
		c->t = t;
		c->fd = fd;
		if (getnameinfo((struct sockaddr *)&ss, sl, host, sizeof host,
		    port, sizeof port, NI_NUMERICHOST | NI_NUMERICSERV) != 0)
			snprintf(host, sizeof host, "?");
		snprintf(c->from, sizeof c->from, "%s:%s", host, port);
		ctls_spawn(ctls_conn_main, c);
	}
	return NULL;
}

/* A PEM chain and key from memory into ctx: 0, or -1 with *cause. */
static int
ctls_load_pem(SSL_CTX *ctx, const char *cert_pem, const char *key_pem,
    char **cause)
{
	BIO *b = BIO_new_mem_buf(cert_pem, -1);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	EVP_PKEY *k = NULL;
	int ok;

	ok = x != NULL && SSL_CTX_use_certificate(ctx, x) == 1;
	X509_free(x);
	while (ok && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
		if (SSL_CTX_add_extra_chain_cert(ctx, x) != 1) {
			X509_free(x);
			ok = 0;
		}
	ERR_clear_error();	/* the end of the chain */
	BIO_free(b);
	if (ok) {
		b = BIO_new_mem_buf(key_pem, -1);
		k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
		ok = k != NULL && SSL_CTX_use_PrivateKey(ctx, k) == 1 &&
		    SSL_CTX_check_private_key(ctx) == 1;
		EVP_PKEY_free(k);
		BIO_free(b);
	}
	if (!ok)
		xasprintf(cause, "the TLS certificate or key does not load "
		    "into OpenSSL");
	return ok ? 0 : -1;
}

int
cluster_tls_listen(struct cluster_tls *t, const char *address,
    const char *cert_pem, const char *key_pem, cluster_tls_leader_fn *fn,
    void *arg, char **cause)
{
	struct addrinfo hints, *ai = NULL;
	char *host = NULL, *why = NULL, port_s[16];
	int port, fd = -1, one = 1, rc;

	if ((t->sctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		xasprintf(cause, "cannot make a TLS server context");
		return -1;
	}
	SSL_CTX_set_min_proto_version(t->sctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(t->sctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (ctls_load_pem(t->sctx, cert_pem, key_pem, cause) != 0)
		return -1;
	if (config_split_listen(address, &host, &port, &why) != 0) {
		xasprintf(cause, "%s: %s", address, why);
		free(why);
		return -1;
	}
	snprintf(port_s, sizeof port_s, "%d", port);
	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV | AI_NUMERICHOST;
	rc = getaddrinfo(host, port_s, &hints, &ai);
	free(host);
	if (rc != 0) {
		xasprintf(cause, "%s: %s", address, gai_strerror(rc));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
	    sizeof one) != 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 ||
	    listen(fd, 64) != 0) {
		xasprintf(cause, "cannot listen on %s: %s", address,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	t->lfd = fd;
	t->leader = fn;
	t->leader_arg = arg;
	if ((rc = pthread_create(&t->acceptor, NULL, ctls_accept_main,
	    t)) != 0)
		fatalx("pthread_create: %s", strerror(rc));
	return 0;
}
