/*
 * cluster_tls.h - traffic between masters over TLS (issue 18; docs/ha.md,
 * "TLS between masters").
 *
 * dqlite 1.11 speaks plain TCP. When the masters serve TLS, a master's
 * dqlite node binds a private endpoint instead (an abstract unix socket
 * named after the data dir; dqlite accepts a unix connection only from
 * its own process, by SO_PEERCRED), and peers
 * reach it through the master's own TLS API port, as LXD does:
 *
 *   GET /internal/dqlite HTTP/1.1
 *   Upgrade: dqlite
 *   Connection: Upgrade
 *   X-Berth-Cluster-Auth: <hex HMAC-SHA256 of a fixed label, keyed by
 *                          the cluster's master.key>
 *
 * answered 101, after which the API proxies the socket to the node. The
 * dialing side (Raft's connect function and every dq_conn of the store,
 * the watcher, joins and listings) does TCP with TCP_NODELAY, TLS with
 * the peer's public key checked against the cluster's one pin (every
 * master serves the same key pair, join.c), the upgrade, and hands its
 * caller one end of a socketpair while a thread copies between the other
 * end and the TLS stream. This master's own node is dialed directly at
 * its private endpoint. master.key never crosses the wire; the HMAC goes
 * only to a peer that proved it holds the cluster's TLS key.
 *
 * A proxy thread per connection (a handful: Raft's, one per store
 * thread): each polls its two sockets and a stop eventfd.
 */
#ifndef BERTH_CLUSTER_TLS_H
#define BERTH_CLUSTER_TLS_H

#include <stddef.h>

#include "common/tlsutil.h"

struct cluster_tls;
struct MHD_UpgradeResponseHandle;

#define CLUSTER_TLS_PATH	"/internal/dqlite"
#define CLUSTER_TLS_HEADER	"X-Berth-Cluster-Auth"
#define CLUSTER_TLS_PROTO	"dqlite"

/*
 * self: this master's --cluster-address (its node's identity, which is
 * also its API address), or NULL when no node runs in this process (a
 * --dump: dqlite accepts a unix socket connection only from its own
 * process, so every node is then reached through its API); data_dir
 * names the private endpoint; pin: the cluster's TLS key; key:
 * master.key. NULL with *cause on failure.
 */
struct cluster_tls *cluster_tls_new(const char *self, const char *data_dir,
		    const unsigned char pin[TLSUTIL_PIN_LEN],
		    const unsigned char *key, size_t keylen, char **cause);
/* Stop every proxy still running (waiting a moment for them) and free;
 * NULL is a no-op. */
void		 cluster_tls_free(struct cluster_tls *t);
/* Close the proxies of upgraded API connections (before MHD stops). */
void		 cluster_tls_shutdown_served(struct cluster_tls *t);

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

/*
 * An accepted upgrade (MHD's upgrade callback): proxy sock (and the
 * bytes already read, extra) to the private endpoint until either side
 * closes; then the handle is closed. Returns at once.
 */
void		 cluster_tls_serve(struct cluster_tls *t, int sock,
		    const char *extra, size_t extra_len,
		    struct MHD_UpgradeResponseHandle *urh);

#endif /* BERTH_CLUSTER_TLS_H */
