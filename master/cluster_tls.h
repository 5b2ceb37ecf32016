/*
 * cluster_tls.h - traffic between masters over TLS (issue 18; docs/ha.md,
 * "TLS between masters").
 *
 * dqlite 1.11 speaks plain TCP. When the masters serve TLS, a master's
 * dqlite node binds a private endpoint instead (an abstract unix socket
 * named after the data dir; dqlite accepts a unix connection only from
 * its own process, by SO_PEERCRED), and berth listens on the master's
 * --cluster-address with TLS (the master's own certificate and key) for
 * its peers, as LXD does on its API port:
 *
 *   GET /internal/dqlite HTTP/1.1
 *   Upgrade: dqlite
 *   Connection: Upgrade
 *   X-Berth-Cluster-Auth: <hex HMAC-SHA256 of a fixed label, keyed by
 *                          the cluster's master.key>
 *
 * answered 101, after which the connection is proxied to the node (401,
 * 403 otherwise, and nothing reaches it). Not on the API port: the
 * libmicrohttpd of Debian 12 (0.9.75) relays an upgraded TLS connection
 * through 4-byte buffers (a syscall per 4 bytes each way), which made a
 * Raft append take ~20 ms and lost leaders under load. A joiner, which
 * has no credential yet, may ask GET /internal/leader: the leader's API
 * URL, where it takes its join token.
 *
 * The dialing side (Raft's connect function and every dq_conn of the
 * store, the watcher, listings, --dump) does TCP with TCP_NODELAY, TLS
 * with the peer's public key checked against the cluster's one pin
 * (every master serves the same key pair, join.c), the upgrade, and
 * hands its caller one end of a socketpair while a thread copies between
 * the other end and the TLS stream. This master's own node is dialed
 * directly at its private endpoint. master.key never crosses the wire;
 * the HMAC goes only to a peer that proved it holds the cluster's key.
 */
#ifndef BERTH_CLUSTER_TLS_H
#define BERTH_CLUSTER_TLS_H

#include <stddef.h>

#include "common/tlsutil.h"

struct cluster_tls;

#define CLUSTER_TLS_PATH	"/internal/dqlite"
#define CLUSTER_TLS_LEADER	"/internal/leader"
#define CLUSTER_TLS_HEADER	"X-Berth-Cluster-Auth"
#define CLUSTER_TLS_PROTO	"dqlite"

/*
 * self: this master's --cluster-address (its node's identity, and where
 * cluster_tls_listen() serves its peers), or NULL when no node runs in this process (a
 * --dump: dqlite accepts a unix socket connection only from its own
 * process, so every node is then reached through its API); data_dir
 * names the private endpoint; pin: the cluster's TLS key; key:
 * master.key. NULL with *cause on failure.
 */
struct cluster_tls *cluster_tls_new(const char *self, const char *data_dir,
		    const unsigned char pin[TLSUTIL_PIN_LEN],
		    const unsigned char *key, size_t keylen, char **cause);
/* Stop the listener and every proxy still running (waiting for them)
 * and free; NULL is a no-op. */
void		 cluster_tls_free(struct cluster_tls *t);
/* Stop the listener and close the connections it accepted (the master
 * stops: its node is no longer reached from outside). */
void		 cluster_tls_shutdown_served(struct cluster_tls *t);

/* The leader's API URL into url, "" when none is known. */
typedef void cluster_tls_leader_fn(void *arg, char *url, size_t len);

/*
 * Listen on address ("IPV4:PORT", --cluster-address) with TLS (the PEM
 * certificate chain and key), serving the masters' dqlite upgrades and
 * GET /internal/leader (fn): 0, or -1 with *cause. An accept thread and
 * a thread per connection.
 */
int		 cluster_tls_listen(struct cluster_tls *t, const char *address,
		    const char *cert_pem, const char *key_pem,
		    cluster_tls_leader_fn *fn, void *arg, char **cause);

/* The node's bind address ("@berth-dqlite-<hex>"). */
const char	*cluster_tls_bind(const struct cluster_tls *t);
/* The same name for a data dir, into out (for --dump). */
void		 cluster_tls_bind_name(const char *data_dir, char *out,
		    size_t len);

/*
 * Dial the node at address within timeout_ms: this master's own node at
 * its private endpoint, any other through TLS and the upgrade. 0 with *fd
 * (a unix stream socket, blocking), or -1 with *cause. Any thread.
 */
int		 cluster_tls_dial(struct cluster_tls *t, const char *address,
		    int timeout_ms, int *fd, char **cause);

/* 1 if value is the cluster's credential (constant time). */
int		 cluster_tls_check(const struct cluster_tls *t,
		    const char *value);

#endif /* BERTH_CLUSTER_TLS_H */
