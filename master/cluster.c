/*
 * cluster.c - the master's own dqlite node (cluster.h).
 *
 * The only file of the master that calls libdqlite (the store reaches the
 * node over the wire protocol, master/dq_client.c, like any client).
 */
#include "master/cluster.h"
#include "master/config.h"
#include "master/dq_client.h"

#include "common/log.h"
#include "common/xmalloc.h"

#include <arpa/inet.h>
#include <dqlite.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define LSAN_DISABLE()	__lsan_disable()
#define LSAN_ENABLE()	__lsan_enable()
#else
#define LSAN_DISABLE()	do { } while (0)
#define LSAN_ENABLE()	do { } while (0)
#endif

#define CLUSTER_JOIN_TIMEOUT_MS	10000	/* ASSIGN waits for the catch-up */

struct cluster {
	dqlite_node	*node;
	uint64_t	 id;
	char		*address;
	char		*dir;		/* <data-dir>/dqlite */
	cluster_dial_fn	*dial;		/* peers over TLS, or NULL: TCP */
	void		*dial_arg;
};

int
cluster_check_address(const char *address, char **cause)
{
	struct in_addr in;
	char *host = NULL, *why = NULL;
	int port, ok;

	if (config_split_listen(address, &host, &port, &why) != 0) {
		xasprintf(cause, "\"%s\": %s", address, why);
		free(why);
		return -1;
	}
	ok = inet_pton(AF_INET, host, &in) == 1 && port > 0;
	free(host);
	if (!ok) {
		xasprintf(cause, "\"%s\" is not IPV4:PORT with a port (dqlite "
		    "1.11 binds a numeric IPv4 address)", address);
		return -1;
	}
	return 0;
}

#define CLUSTER_DIAL_MS	2000	/* a Raft connect over TLS */

/*
 * Outgoing Raft connections (a libuv worker thread of the node runs
 * this; it may block): TCP with TCP_NODELAY, since neither dqlite 1.11
 * nor raft 0.15 sets it and small writes then wait ~40 ms for an ACK.
 * Over TLS the dialer does that, the handshake and the upgrade, and
 * hands back a unix socket (cluster_tls.h).
 */
static int
cluster_connect(void *arg, const char *address, int *fdp)
{
	struct cluster *c = arg;
	struct addrinfo hints, *ai = NULL, *p;
	char *host = NULL, *cause = NULL, port_s[16];
	int port, fd = -1, one = 1;

	if (c->dial != NULL) {
		if (c->dial(c->dial_arg, address, CLUSTER_DIAL_MS, fdp,
		    &cause) != 0) {
			/* Raft retries every heartbeat while a peer is
			 * down: not a warning each time. */
			log_debug("cluster: raft to %s: %s", address, cause);
			free(cause);
			return DQLITE_ERROR;
		}
		return 0;
	}
	if (config_split_listen(address, &host, &port, &cause) != 0) {
		free(cause);
		return DQLITE_ERROR;
	}
	snprintf(port_s, sizeof port_s, "%d", port);
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port_s, &hints, &ai) != 0) {
		free(host);
		return DQLITE_ERROR;
	}
	free(host);
	for (p = ai; p != NULL; p = p->ai_next) {
		fd = socket(p->ai_family, p->ai_socktype | SOCK_CLOEXEC,
		    p->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, p->ai_addr, p->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0)
		return DQLITE_ERROR;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	*fdp = fd;
	return 0;
}

/* <dir>/berth-node: "ID ADDRESS JOINED\n". 1 read, 0 none, -1 bad. */
static int
node_file_read(const char *dir, uint64_t *id, char **address, int *joined,
    char **cause)
{
	char *path, addr[128];
	unsigned long long v;
	FILE *f;
	int n;

	xasprintf(&path, "%s/berth-node", dir);
	if ((f = fopen(path, "r")) == NULL) {
		if (errno == ENOENT) {
			free(path);
			return 0;
		}
		xasprintf(cause, "%s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	n = fscanf(f, "%llu %127s %d", &v, addr, joined);
	fclose(f);
	if (n != 3 || v == 0) {
		xasprintf(cause, "%s: not \"ID ADDRESS JOINED\"", path);
		free(path);
		return -1;
	}
	free(path);
	*id = v;
	*address = xstrdup(addr);
	return 1;
}

static int
node_file_write(const char *dir, uint64_t id, const char *address,
    int joined, char **cause)
{
	char *path, *tmp;
	FILE *f;
	int ok;

	xasprintf(&path, "%s/berth-node", dir);
	xasprintf(&tmp, "%s.tmp", path);
	if ((f = fopen(tmp, "w")) == NULL) {
		xasprintf(cause, "%s: %s", tmp, strerror(errno));
		free(tmp);
		free(path);
		return -1;
	}
	fprintf(f, "%llu %s %d\n", (unsigned long long)id, address, joined);
	ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
	ok = fclose(f) == 0 && ok;
	if (!ok || rename(tmp, path) != 0) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		unlink(tmp);
		free(tmp);
		free(path);
		return -1;
	}
	free(tmp);
	free(path);
	return 0;
}

int
cluster_known_address(const char *data_dir, char **address, char **cause)
{
	char *dir;
	uint64_t id;
	int joined, rc;

	xasprintf(&dir, "%s/dqlite", data_dir);
	rc = node_file_read(dir, &id, address, &joined, cause);
	free(dir);
	return rc;
}

int
cluster_recover(const char *data_dir, char **address, char **cause)
{
	dqlite_node_info_ext info;
	dqlite_node *node = NULL;
	uint64_t id;
	char *dir;
	int joined, rc, ret = -1;

	xasprintf(&dir, "%s/dqlite", data_dir);
	if ((rc = node_file_read(dir, &id, address, &joined, cause)) <= 0) {
		if (rc == 0)
			xasprintf(cause, "no dqlite node in %s (no berth-node "
			    "file): nothing to recover", dir);
		goto out;
	}
	/* A node that never started: dqlite_node_destroy() does not free
	 * libraft's uv I/O and loop (raft 0.15), which LeakSanitizer would
	 * report at this one-shot's exit. */
	LSAN_DISABLE();
	rc = dqlite_node_create(id, *address, dir, &node);
	LSAN_ENABLE();
	if (rc != 0) {
		xasprintf(cause, "dqlite node %s: %s", *address,
		    node ? dqlite_node_errmsg(node) : "out of memory");
		goto out;
	}
	memset(&info, 0, sizeof info);
	info.size = sizeof info;
	info.id = id;
	info.address = (uint64_t)(uintptr_t)*address;
	info.dqlite_role = 0;	/* voter (dqlite has no name for it in 1.11) */
	if (dqlite_node_recover_ext(node, &info, 1) != 0) {
		xasprintf(cause, "recovering node %" PRIu64 " (%s): %s", id,
		    *address, dqlite_node_errmsg(node));
		goto out;
	}
	log_info("cluster: node %" PRIu64 " (%s) is now the only voter of "
	    "its cluster", id, *address);
	ret = 0;
out:
	if (node != NULL)
		dqlite_node_destroy(node);
	free(dir);
	return ret;
}

/* Ask the cluster at join to add this node and make it a voter. */
static int
cluster_join(struct cluster *c, const char *join, char **cause)
{
	const char *addrs[1] = { join };
	struct dq_conf conf = { .addrs = addrs, .naddrs = 1,
	    .timeout_ms = CLUSTER_JOIN_TIMEOUT_MS, .retries = 20,
	    .retry_ms = 100 };
	struct dq_client *cl = dq_client_new(&conf);
	char *why = NULL;

	if (dq_client_add(cl, c->id, c->address, &why) != 0) {
		xasprintf(cause, "join %s: adding node %" PRIu64 " (%s): %s",
		    join, c->id, c->address, why);
		goto fail;
	}
	log_info("cluster: added to %s as node %" PRIu64 "; catching up",
	    dq_client_leader(cl) ? dq_client_leader(cl) : join, c->id);
	if (dq_client_assign(cl, c->id, DQ_VOTER, &why) != 0) {
		xasprintf(cause, "join %s: making node %" PRIu64 " a voter: %s",
		    join, c->id, why);
		goto fail;
	}
	dq_client_free(cl);
	return 0;
fail:
	free(why);
	dq_client_free(cl);
	return -1;
}

struct cluster *
cluster_start(const struct cluster_conf *conf, char **cause)
{
	struct cluster *c = xcalloc(1, sizeof *c);
	char *known = NULL;
	int rc, joined = 0, fresh;

	if (cluster_check_address(conf->address, cause) != 0)
		goto fail;
	xasprintf(&c->dir, "%s/dqlite", conf->data_dir);
	if (mkdir(c->dir, 0700) != 0 && errno != EEXIST) {
		xasprintf(cause, "cannot create %s: %s", c->dir,
		    strerror(errno));
		goto fail;
	}
	if ((rc = node_file_read(c->dir, &c->id, &known, &joined,
	    cause)) < 0)
		goto fail;
	fresh = rc == 0;
	if (!fresh && strcmp(known, conf->address) != 0) {
		xasprintf(cause, "this master's node was made as %s (in %s/"
		    "berth-node) and the cluster knows it so: start it with "
		    "--cluster-address %s", known, c->dir, known);
		goto fail;
	}
	if (fresh)
		c->id = conf->join != NULL ?
		    dqlite_generate_node_id(conf->address) : 1;
	c->address = xstrdup(conf->address);
	if (dqlite_node_create(c->id, c->address, c->dir, &c->node) != 0) {
		xasprintf(cause, "dqlite node %s: %s", c->address,
		    c->node ? dqlite_node_errmsg(c->node) : "out of memory");
		goto fail;
	}
	c->dial = conf->dial;
	c->dial_arg = conf->dial_arg;
	if (dqlite_node_set_bind_address(c->node, conf->bind != NULL ?
	    conf->bind : c->address) != 0 ||
	    dqlite_node_set_connect_func(c->node, cluster_connect, c) != 0 ||
	    (conf->latency_ms > 0 && dqlite_node_set_network_latency_ms(
	    c->node, (unsigned)conf->latency_ms) != 0) ||
	    dqlite_node_start(c->node) != 0) {
		xasprintf(cause, "dqlite node %s (data %s): %s", c->address,
		    c->dir, dqlite_node_errmsg(c->node));
		dqlite_node_destroy(c->node);
		c->node = NULL;
		goto fail;
	}
	/* Written once started: the id is then the node's for good. */
	if (fresh && node_file_write(c->dir, c->id, c->address, 0,
	    cause) != 0)
		goto fail;
	if (conf->join != NULL && !joined) {
		if (cluster_join(c, conf->join, cause) != 0 ||
		    node_file_write(c->dir, c->id, c->address, 1, cause) != 0)
			goto fail;
		log_info("cluster: node %" PRIu64 " (%s) joined %s as a voter",
		    c->id, c->address, conf->join);
	} else
		log_info("cluster: dqlite node %" PRIu64 " on %s%s%s%s, data "
		    "in %s%s", c->id, c->address, conf->bind ? " (bound to " :
		    "", conf->bind ? conf->bind : "", conf->bind ? ")" : "",
		    c->dir, fresh &&
		    conf->join == NULL ? " (new cluster, bootstrapped)" : "");
	free(known);
	return c;
fail:
	free(known);
	cluster_stop(c);
	return NULL;
}

void
cluster_stop(struct cluster *c)
{
	if (c == NULL)
		return;
	if (c->node != NULL) {
		dqlite_node_stop(c->node);
		dqlite_node_destroy(c->node);
	}
	free(c->address);
	free(c->dir);
	free(c);
}

uint64_t
cluster_id(const struct cluster *c)
{
	return c->id;
}

const char *
cluster_address(const struct cluster *c)
{
	return c->address;
}
