/*
 * cluster_tls_int.h - what cluster_tls.c (dialing, the proxy) and
 * cluster_tls_serve.c (the listener) share; not an interface for anyone
 * else (cluster_tls.h is).
 */
#ifndef BERTH_CLUSTER_TLS_INT_H
#define BERTH_CLUSTER_TLS_INT_H

#include "master/cluster_tls.h"

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/sha.h>
#include <openssl/ssl.h>

#define CTLS_LABEL	"berth dqlite peer v1"	/* what the HMAC signs */
#define CTLS_BUF	(64 * 1024)		/* per direction */
#define CTLS_HDR_MAX	4096			/* a request's or answer's head */
#define CTLS_ACCEPT_MS	5000			/* handshake and request */
#define CTLS_MAX_SERVED	256			/* accepted connections at once */
#define CTLS_IS(s, lit)	(strncmp((s), lit, sizeof(lit) - 1) == 0)

struct cluster_tls {
	char		*self;		/* --cluster-address, or NULL: no node here */
	char		 bind[64];	/* "@berth-dqlite-<hex>" */
	unsigned char	 pin[TLSUTIL_PIN_LEN]; /* the cluster's TLS key */
	char		 cred[2 * SHA256_DIGEST_LENGTH + 1]; /* hex HMAC */
	SSL_CTX		*ctx;		/* client side; no CA, pin checked */
	SSL_CTX		*sctx;		/* server side, or NULL: no listener */
	int		 lfd;		/* the listening socket, or -1 */
	pthread_t	 acceptor;	/* its thread, when lfd >= 0 */
	cluster_tls_leader_fn *leader;	/* the leader's API URL */
	void		*leader_arg;

	pthread_mutex_t	 lock;		/* guards the counts and stopping */
	pthread_cond_t	 done;		/* a proxy ended */
	int		 served;	/* accepted connections' threads */
	int		 dialed;	/* proxies of our own dials */
	int		 stopping;	/* no new proxies */
	int		 served_off;	/* no new served connections */
	int		 stop_served;	/* eventfd: the listener and its
					 * connections end */
	int		 stop_all;	/* eventfd: every proxy ends */
};

/* One side of a proxy: a plain socket, or a TLS stream over one. */
struct ctls_end {
	int		 fd;
	SSL		*ssl;		/* NULL: plain */
	short		 want;		/* poll events the last call needs */
};

/* Bytes on their way from one end to the other: buf[off..len). */
struct ctls_buf {
	char		*buf;
	size_t		 cap, off, len;
};

struct ctls_proxy {
	struct cluster_tls	*t;
	struct ctls_end		 peer;	/* the other master, over TLS */
	struct ctls_end		 local;	/* the node, or our caller's end */
	struct ctls_buf		 in;	/* peer -> local */
	struct ctls_buf		 out;	/* local -> peer */
	int			 served; /* accepted here (else dialed) */
	char			*what;	/* for the log */
};

/* A proxy of peer and local (both taken), with pre (bytes already read
 * from the peer) first on their way to local. */
struct ctls_proxy *ctls_proxy_new(struct cluster_tls *t,
		    struct ctls_end *peer, int local, const char *pre,
		    size_t prelen, int served, const char *what);
/* Copy until either side closes or the master stops; then free the
 * proxy and its ends, and count its thread out. */
void		 ctls_proxy_run(struct ctls_proxy *p);
/* Count a new thread in: 0, or -1 when the master stops (or, served,
 * when the listener stops or holds CTLS_MAX_SERVED). */
int		 ctls_enter(struct cluster_tls *t, int served);
/* A detached thread running fn(arg). */
void		 ctls_spawn(void *(*fn)(void *), void *arg);
/* This master's own node, at its private endpoint: 0 with *fd. */
int		 ctls_dial_local(struct cluster_tls *t, int *fd, char **cause);
/* Drive one SSL call that returned rc: 0 to call it again, -1 with
 * *cause (naming address and step) when it failed or deadline passed. */
int		 ctls_ssl_wait(SSL *ssl, int fd, int rc, int64_t deadline,
		    const char *step, const char *address, char **cause);

#endif /* BERTH_CLUSTER_TLS_INT_H */
