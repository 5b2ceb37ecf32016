/*
 * cluster.h - the master's own dqlite node (issue 18; docs/ha.md).
 *
 * berth-master --cluster-address HOST:PORT runs a dqlite node in the
 * master process (libdqlite's dqlite_node_* API: one thread with its own
 * libuv loop), its Raft log and snapshots in <data-dir>/dqlite/. The
 * store then runs on it through the shim's dqlite backend
 * (store_open_dqlite(), asking this node for the leader).
 *
 * The first start of a master bootstraps a one-voter cluster (node id 1);
 * later starts find their id and address in <data-dir>/dqlite/berth-node
 * and refuse a different --cluster-address (the Raft configuration holds
 * the old one). With --join HOST:PORT a new node takes an id from its
 * address, starts, and asks the cluster there to add it (ADD) and make
 * it a voter (ASSIGN); it remembers that it joined.
 *
 * Outgoing Raft connections go through a connect function of ours that
 * sets TCP_NODELAY (dqlite 1.11 does not: writes then stall ~40 ms).
 * dqlite 1.11 has no TLS: a plain master's node listens on its address;
 * a TLS master's binds a private endpoint and berth serves its peers over
 * TLS on the address (cluster_tls.h).
 */
#ifndef BERTH_CLUSTER_H
#define BERTH_CLUSTER_H

#include <stdint.h>

struct cluster;

/* Dial a peer's node (cluster_tls_dial()): 0 with *fd, or -1. */
typedef int cluster_dial_fn(void *arg, const char *address, int timeout_ms,
	    int *fd, char **cause);

struct cluster_conf {
	const char	*data_dir;	/* the master's; the node's is below */
	const char	*address;	/* --cluster-address: peers dial it */
	const char	*join;		/* --join, or NULL: bootstrap */
	int		 latency_ms;	/* dqlite's network latency option */
	const char	*bind;		/* where the node listens, if not
					 * address (with TLS: "@name") */
	cluster_dial_fn	*dial;		/* Raft's dials, or NULL: TCP */
	void		*dial_arg;
};

/* Start the node (and join; with TLS, cluster_tls_listen() must serve
 * already: the leader reaches the new node through it): NULL with *cause
 * on failure. */
struct cluster	*cluster_start(const struct cluster_conf *conf, char **cause);
/* Stop the node and free it; NULL is a no-op. */
void		 cluster_stop(struct cluster *c);
uint64_t	 cluster_id(const struct cluster *c);
const char	*cluster_address(const struct cluster *c);

/* The address of the node made in data_dir (<data-dir>/dqlite/berth-node):
 * 1 with *address (malloc'd), 0 none, -1 with *cause. */
int		 cluster_known_address(const char *data_dir, char **address,
		    char **cause);

/*
 * Quorum lost for good (docs/ha.md, "When quorum is lost"): rewrite the
 * Raft configuration in data_dir so that this master's node is the only
 * voter. The node must not run. 0 with *address (malloc'd, the node's),
 * or -1 with *cause.
 */
int		 cluster_recover(const char *data_dir, char **address,
		    char **cause);

/* "HOST:PORT" with a numeric IPv4 host and a port (dqlite 1.11 binds
 * nothing else): 0, or -1 with *cause. */
int		 cluster_check_address(const char *address, char **cause);

#endif /* BERTH_CLUSTER_H */
