/*
 * netplane.c - the grid network's data plane on this node.
 *
 * See netplane.h for the model. Every step is idempotent: "replace" for
 * what must be there, a listing compared with the frame for what must go,
 * so an agent restart, a lost frame or an operator's stray command heals
 * at the next apply.
 */
#include "agent/netplane.h"

#include "common/log.h"
#include "common/netaddr.h"
#include "common/proto.h"
#include "common/util.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

extern char **environ;

#define NP_OUT_MAX	(4 << 20)	/* bytes of a command's output kept */
#define NP_PEERS_MAX	65536		/* nodes in a frame, at most */

struct np_peer {
	char			 node_id[PROTO_NODE_ID_LEN + 1];
	uint32_t		 addr;		/* underlay */
	struct netaddr_prefix	 subnet;
};

struct netplane {
	const struct agent_config *cfg;
	struct docker		*docker;	/* the converge thread's */
	int			 on;		/* BERTH_NETWORK=on */
	char			 addr_text[16];	/* our underlay, "" unknown */
	char			*frame;		/* last frame applied */
	char			 grid[64];
	char			 domain[128];	/* names: GRID.berth.local */
	int64_t			 vni;
	struct netaddr_prefix	 cidr;
	struct netaddr_prefix	 subnet;	/* ours */
	int			 have_subnet;
	struct np_peer		*peers;		/* the others */
	size_t			 npeers;
	char			 netname[96];	/* Docker network */
	char			 brname[16];	/* its bridge */
	char			 vxname[16];	/* the VXLAN device */
	int			 ready;		/* netname is in place */
	int			 off;		/* not ready, and will not be
						   for this frame: no subnet,
						   a route conflict, Docker
						   refused (default bridge) */
	char			 node_id[PROTO_NODE_ID_LEN + 1]; /* ours */
	char			*last_error;	/* logged once */
	int			 fw_note;	/* firewall state logged: NP_FW_* */
	int			 fw_cleared;	/* BERTH_NETWORK=off: rules gone */
};

/* What the firewall step last logged (each said once). */
enum { NP_FW_NONE, NP_FW_NO_IPTABLES, NP_FW_NO_DOCKER_USER, NP_FW_KEPT };

struct netplane *
netplane_new(const struct agent_config *cfg, struct docker *docker)
{
	struct netplane *np = xcalloc(1, sizeof *np);

	np->cfg = cfg;
	np->docker = docker;
	np->on = cfg->network == NULL || strcmp(cfg->network, "off") != 0;
	return np;
}

void
netplane_free(struct netplane *np)
{
	if (np == NULL)
		return;
	free(np->frame);
	free(np->peers);
	free(np->last_error);
	free(np);
}

void
netplane_set_address(struct netplane *np, const char *addr)
{
	snprintf(np->addr_text, sizeof np->addr_text, "%s",
	    addr != NULL ? addr : "");
}

const char *
netplane_network(const struct netplane *np)
{
	return np != NULL && np->ready ? np->netname : NULL;
}

const char *
netplane_hold(const struct netplane *np)
{
	if (np == NULL || !np->on || np->ready || np->off)
		return NULL;
	if (np->frame == NULL)
		return "no peer list from the master yet";
	return np->last_error != NULL ? np->last_error : "not in place yet";
}

const char *
netplane_domain(const struct netplane *np)
{
	return np != NULL ? np->domain : "";
}

int
netplane_gateway(const struct netplane *np, char out[16])
{
	out[0] = '\0';
	if (np == NULL || !np->ready || !np->have_subnet)
		return -1;
	netaddr_format_ip(np->subnet.addr + 1, out);
	return 0;
}

void
netplane_mac(uint32_t a, char out[18])
{
	snprintf(out, 18, "02:b5:%02x:%02x:%02x:%02x", a >> 24,
	    (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

/* Log an error once until it changes or the plane works again. */
static void
np_error(struct netplane *np, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void
np_error(struct netplane *np, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (msg == NULL)
		return;
	if (np->last_error == NULL || strcmp(np->last_error, msg) != 0)
		log_warn("network: %s", msg);
	free(np->last_error);
	np->last_error = msg;
}

/*
 * Run argv (ip or bridge) and wait: 0 with *out (its stdout, caller frees,
 * may be NULL to drop it), or -1 with *cause (its stderr's first line).
 */
static int
np_run(char *const argv[], char **out, char **cause)
{
	posix_spawn_file_actions_t fa;
	int po[2], pe[2], status, rc = -1;
	struct buf bo = { NULL, 0, 0 }, be = { NULL, 0, 0 };
	struct pollfd pf[2];
	char chunk[4096], *nl;
	ssize_t r;
	pid_t pid;
	int open_fds = 2;

	if (out != NULL)
		*out = NULL;
	if (pipe2(po, O_CLOEXEC) != 0)
		goto spawn_fail;
	if (pipe2(pe, O_CLOEXEC) != 0) {
		close(po[0]);
		close(po[1]);
		goto spawn_fail;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, po[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(po[1]);
	close(pe[1]);
	if (rc != 0) {
		close(po[0]);
		close(pe[0]);
		errno = rc;
		goto spawn_fail;
	}
	pf[0].fd = po[0];
	pf[1].fd = pe[0];
	pf[0].events = pf[1].events = POLLIN;
	while (open_fds > 0) {
		if (poll(pf, 2, 10000) <= 0)
			break;
		for (int i = 0; i < 2; i++) {
			if (pf[i].fd < 0 || pf[i].revents == 0)
				continue;
			r = read(pf[i].fd, chunk, sizeof chunk);
			if (r <= 0) {
				close(pf[i].fd);
				pf[i].fd = -1;
				open_fds--;
				continue;
			}
			struct buf *b = i == 0 ? &bo : &be;
			if (b->len < NP_OUT_MAX)
				buf_append(b, chunk, (size_t)r);
		}
	}
	for (int i = 0; i < 2; i++)
		if (pf[i].fd >= 0)
			close(pf[i].fd);
	if (open_fds > 0)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	buf_append(&bo, "", 1);
	buf_append(&be, "", 1);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		rc = 0;
		if (out != NULL) {
			*out = bo.data;
			bo.data = NULL;
		}
	} else {
		rc = -1;
		if ((nl = strchr(be.data, '\n')) != NULL)
			*nl = '\0';
		xasprintf(cause, "%s %s: %s", argv[0], argv[1],
		    *be.data != '\0' ? be.data : "failed");
	}
	buf_free(&bo);
	buf_free(&be);
	return rc;
spawn_fail:
	xasprintf(cause, "cannot run %s: %s", argv[0], strerror(errno));
	return -1;
}

/* np_run() of a NULL-ended list of words; the error is logged once. */
static int
np_cmd(struct netplane *np, char **out, ...)
{
	char *argv[24], *cause = NULL;
	va_list ap;
	size_t n = 0;
	int rc;

	va_start(ap, out);
	while (n < 23 && (argv[n] = va_arg(ap, char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	if ((rc = np_run(argv, out, &cause)) != 0) {
		np_error(np, "%s", cause);
		free(cause);
	}
	return rc;
}

/* ip -j ... read as JSON (an array), or NULL. */
static json_t *
np_json(struct netplane *np, ...)
{
	char *argv[16], *out = NULL, *cause = NULL;
	va_list ap;
	size_t n = 0;
	json_t *v;

	va_start(ap, np);
	while (n < 15 && (argv[n] = va_arg(ap, char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	if (np_run(argv, &out, &cause) != 0) {
		np_error(np, "%s", cause);
		free(cause);
		return NULL;
	}
	v = json_loads(out, JSON_DECODE_ANY, NULL);
	free(out);
	if (v != NULL && !json_is_array(v)) {
		json_decref(v);
		v = NULL;
	}
	return v != NULL ? v : json_array();
}

/* ---- the frame ------------------------------------------------------------ */

static int
np_parse(struct netplane *np, const char *text, const char *node_id)
{
	json_t *o = json_loads(text, 0, NULL), *nodes, *p;
	const char *grid, *s, *id, *addr;
	struct np_peer *v = NULL;
	struct netaddr_prefix sub;
	char *why = NULL;
	size_t i, n = 0;
	uint32_t ip;
	int rc = -1;

	grid = json_string_value(json_object_get(o, "grid"));
	s = json_string_value(json_object_get(o, "cidr"));
	nodes = json_object_get(o, "nodes");
	if (grid == NULL || strlen(grid) >= sizeof np->grid || s == NULL ||
	    netaddr_parse(s, &np->cidr, &why) != 0 ||
	    !json_is_integer(json_object_get(o, "vni")) ||
	    !json_is_array(nodes) || json_array_size(nodes) > NP_PEERS_MAX) {
		np_error(np, "a network frame without grid, cidr, vni or "
		    "nodes: ignored");
		goto out;
	}
	snprintf(np->grid, sizeof np->grid, "%s", grid);
	s = json_string_value(json_object_get(o, "domain"));
	snprintf(np->domain, sizeof np->domain, "%s",
	    s != NULL && strlen(s) < sizeof np->domain &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-.") == strlen(s) ?
	    s : "");
	np->vni = json_integer_value(json_object_get(o, "vni"));
	np->have_subnet = 0;
	json_array_foreach(nodes, i, p) {
		id = json_string_value(json_object_get(p, "node_id"));
		s = json_string_value(json_object_get(p, "subnet"));
		addr = json_string_value(json_object_get(p, "address"));
		if (id == NULL || s == NULL || netaddr_parse(s, &sub, &why) != 0) {
			free(why);
			why = NULL;
			continue;
		}
		if (strcmp(id, node_id) == 0) {
			np->subnet = sub;
			np->have_subnet = 1;
			continue;
		}
		if (addr == NULL || netaddr_parse_ip(addr, &ip) != 0)
			continue;	/* not reachable yet */
		v = xreallocarray(v, n + 1, sizeof *v);
		snprintf(v[n].node_id, sizeof v[n].node_id, "%s", id);
		v[n].addr = ip;
		v[n].subnet = sub;
		n++;
	}
	free(np->peers);
	np->peers = v;
	np->npeers = n;
	snprintf(np->netname, sizeof np->netname, "berth-%s", np->grid);
	snprintf(np->brname, sizeof np->brname, "bbr%06llx",
	    (unsigned long long)(np->vni & 0xffffff));
	snprintf(np->vxname, sizeof np->vxname, "bvx%06llx",
	    (unsigned long long)(np->vni & 0xffffff));
	rc = 0;
out:
	free(why);
	json_decref(o);
	return rc;
}

/* ---- the pieces ----------------------------------------------------------- */

/* The MTU of the link that holds addr, or 1500. */
static int
np_underlay_mtu(struct netplane *np, const char *addr)
{
	json_t *links = np_json(np, "ip", "-j", "-4", "addr", "show", NULL);
	json_t *l, *a;
	size_t i, j;
	int mtu = 1500;

	json_array_foreach(links, i, l)
		json_array_foreach(json_object_get(l, "addr_info"), j, a) {
			const char *loc = json_string_value(json_object_get(a,
			    "local"));
			if (loc != NULL && strcmp(loc, addr) == 0 &&
			    json_is_integer(json_object_get(l, "mtu")))
				mtu = (int)json_integer_value(
				    json_object_get(l, "mtu"));
		}
	json_decref(links);
	return mtu;
}

int
netplane_route_conflict(json_t *routes, const char *own_bridge,
    const char *own_vxlan, const struct netaddr_prefix *p, char *buf,
    size_t len)
{
	struct netaddr_prefix r;
	json_t *o;
	size_t i;
	char *why = NULL, dst[40];

	json_array_foreach(routes, i, o) {
		const char *d = json_string_value(json_object_get(o, "dst"));
		const char *dev = json_string_value(json_object_get(o, "dev"));

		if (d == NULL || strcmp(d, "default") == 0 || (dev != NULL &&
		    ((own_bridge != NULL && strcmp(dev, own_bridge) == 0) ||
		    (own_vxlan != NULL && strcmp(dev, own_vxlan) == 0))))
			continue;
		if (strchr(d, '/') == NULL)
			snprintf(dst, sizeof dst, "%s/32", d);
		else
			snprintf(dst, sizeof dst, "%s", d);
		if (netaddr_parse(dst, &r, &why) != 0) {
			free(why);
			why = NULL;
			continue;
		}
		if (netaddr_overlap(&r, p)) {
			snprintf(buf, len, "%s dev %s", d, dev ? dev : "?");
			return 1;
		}
	}
	return 0;
}

/*
 * The Docker network for our subnet: 0 when it is in place, -1 when it may
 * be next time (the engine failed), -2 when it will not be (the engine
 * refused it, or another node's network has the name).
 */
static int
np_docker_network(struct netplane *np, int mtu)
{
	json_t *cur = NULL, *cfg0, *body;
	char sub[NET_SUBNET_TEXT], gw[16], mtus[16], *text, *cause = NULL;
	const char *have;
	int rc;

	netaddr_format(&np->subnet, sub);
	netaddr_format_ip(np->subnet.addr + 1, gw);
	rc = docker_network_inspect(np->docker, np->netname, &cur, &cause);
	if (rc < 0) {
		np_error(np, "%s", cause);
		free(cause);
		return -1;
	}
	if (rc == 1) {
		const char *owner = json_string_value(json_object_get(
		    json_object_get(cur, "Labels"), "berth.node"));

		/* Another node's (agents sharing one engine): not ours to
		 * touch. */
		if (owner == NULL || strcmp(owner, np->node_id) != 0) {
			np_error(np, "the Docker network %s belongs to %s%.12s: "
			    "agents that share one engine need "
			    "BERTH_NETWORK=off", np->netname, owner != NULL ?
			    "node " : "", owner != NULL ? owner : "someone else");
			json_decref(cur);
			return -2;
		}
		cfg0 = json_array_get(json_object_get(json_object_get(cur,
		    "IPAM"), "Config"), 0);
		have = json_string_value(json_object_get(cfg0, "Subnet"));
		if (have != NULL && strcmp(have, sub) == 0) {
			json_decref(cur);
			return 0;
		}
		json_decref(cur);
		/* Our subnet changed (the node was removed and joined
		 * again): the old network goes once it is empty. */
		log_info("network: %s has subnet %s, the node's is %s: made "
		    "again", np->netname, have != NULL ? have : "?", sub);
		if (docker_network_remove(np->docker, np->netname,
		    &cause) != 0) {
			np_error(np, "cannot remove %s to make it again on "
			    "%s: %s", np->netname, sub, cause);
			free(cause);
			return -1;
		}
	}
	snprintf(mtus, sizeof mtus, "%d", mtu);
	body = json_pack("{s:s, s:s, s:b, s:{s:s, s:[{s:s, s:s}]}, "
	    "s:{s:s, s:s, s:s}, s:{s:s, s:s}}",
	    "Name", np->netname, "Driver", "bridge", "CheckDuplicate", 1,
	    "IPAM", "Driver", "default", "Config", "Subnet", sub, "Gateway", gw,
	    "Options", "com.docker.network.bridge.name", np->brname,
	    "com.docker.network.driver.mtu", mtus,
	    /* berth masquerades only what leaves the grid (np_firewall). */
	    "com.docker.network.bridge.enable_ip_masquerade", "false",
	    "Labels", "berth.grid", np->grid, "berth.network",
	    NET_GRID_NETWORK);
	json_object_set_new(json_object_get(body, "Labels"), "berth.node",
	    json_string(np->node_id));
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	rc = docker_network_create(np->docker, text, &cause);
	free(text);
	if (rc != 0) {
		np_error(np, "cannot make the Docker network %s on %s: %s",
		    np->netname, sub, cause);
		free(cause);
		return rc;
	}
	log_info("network: Docker network %s on %s (gateway %s, bridge %s, "
	    "mtu %d)", np->netname, sub, gw, np->brname, mtu);
	return 0;
}

/* The VXLAN device, up, with our VTEP MAC and x.y.z.0/32. */
static int
np_vxlan(struct netplane *np, int mtu)
{
	json_t *l;
	char vni[16], mac[18], mtus[16], a0[24], ip0[16];
	const char *cur_mac = NULL;
	int rc = 0;

	snprintf(vni, sizeof vni, "%lld", (long long)np->vni);
	snprintf(mtus, sizeof mtus, "%d", mtu);
	netplane_mac(np->subnet.addr, mac);
	netaddr_format_ip(np->subnet.addr, ip0);
	snprintf(a0, sizeof a0, "%s/32", ip0);
	l = np_json(np, "ip", "-j", "-d", "link", "show", NULL);
	{
		json_t *o;
		size_t i;
		int found = 0, same = 0;

		json_array_foreach(l, i, o) {
			const char *n = json_string_value(json_object_get(o,
			    "ifname"));
			json_t *d;

			if (n == NULL || strcmp(n, np->vxname) != 0)
				continue;
			found = 1;
			d = json_object_get(json_object_get(json_object_get(o,
			    "linkinfo"), "info_data"), "id");
			cur_mac = json_string_value(json_object_get(o,
			    "address"));
			same = json_integer_value(d) == np->vni &&
			    json_string_value(json_object_get(json_object_get(
			    json_object_get(o, "linkinfo"), "info_data"),
			    "local")) != NULL && strcmp(json_string_value(
			    json_object_get(json_object_get(json_object_get(o,
			    "linkinfo"), "info_data"), "local")),
			    np->addr_text) == 0;
		}
		if (found && !same) {
			log_info("network: %s is not VNI %s from %s: made "
			    "again", np->vxname, vni, np->addr_text);
			rc = np_cmd(np, NULL, "ip", "link", "del", np->vxname,
			    NULL);
			found = 0;
		}
		if (rc == 0 && !found) {
			rc = np_cmd(np, NULL, "ip", "link", "add", np->vxname,
			    "type", "vxlan", "id", vni, "local", np->addr_text,
			    "dstport", "4789", "nolearning", NULL);
			if (rc == 0)
				log_info("network: VXLAN %s (VNI %s) from %s",
				    np->vxname, vni, np->addr_text);
			cur_mac = NULL;
		}
	}
	if (rc == 0 && (cur_mac == NULL || strcmp(cur_mac, mac) != 0))
		rc = np_cmd(np, NULL, "ip", "link", "set", np->vxname,
		    "address", mac, NULL);
	json_decref(l);
	if (rc == 0)
		rc = np_cmd(np, NULL, "ip", "link", "set", np->vxname, "mtu",
		    mtus, "up", NULL);
	if (rc == 0)
		rc = np_cmd(np, NULL, "ip", "addr", "replace", a0, "dev",
		    np->vxname, NULL);
	return rc;
}

static const struct np_peer *
np_peer_by_subnet(const struct netplane *np, uint32_t a)
{
	size_t i;

	for (i = 0; i < np->npeers; i++)
		if (np->peers[i].subnet.addr == a)
			return &np->peers[i];
	return NULL;
}

/* Routes, neighbours and forwarding entries equal to the peer list. */
static void
np_peers(struct netplane *np)
{
	json_t *cur, *o;
	char sub[NET_SUBNET_TEXT], ip0[16], mac[18], addr[16];
	struct netaddr_prefix p;
	const struct np_peer *pp;
	char *why = NULL;
	uint32_t ip;
	size_t i;

	for (i = 0; i < np->npeers; i++) {
		pp = &np->peers[i];
		netaddr_format(&pp->subnet, sub);
		netaddr_format_ip(pp->subnet.addr, ip0);
		netaddr_format_ip(pp->addr, addr);
		netplane_mac(pp->subnet.addr, mac);
		(void)np_cmd(np, NULL, "bridge", "fdb", "replace", mac, "dev",
		    np->vxname, "dst", addr, "self", "permanent", NULL);
		(void)np_cmd(np, NULL, "ip", "neigh", "replace", ip0, "lladdr",
		    mac, "dev", np->vxname, "nud", "permanent", NULL);
		(void)np_cmd(np, NULL, "ip", "route", "replace", sub, "via",
		    ip0, "dev", np->vxname, "onlink", NULL);
	}

	/* What is there for nodes that are gone. */
	cur = np_json(np, "ip", "-j", "-4", "route", "show", "dev", np->vxname,
	    NULL);
	json_array_foreach(cur, i, o) {
		const char *d = json_string_value(json_object_get(o, "dst"));

		if (d == NULL || netaddr_parse(d, &p, &why) != 0) {
			free(why);
			why = NULL;
			continue;
		}
		if (p.len == 32 || np_peer_by_subnet(np, p.addr) != NULL)
			continue;
		log_info("network: route to %s goes (its node left)", d);
		(void)np_cmd(np, NULL, "ip", "route", "del", d, "dev",
		    np->vxname, NULL);
	}
	json_decref(cur);
	cur = np_json(np, "ip", "-j", "-4", "neigh", "show", "dev", np->vxname,
	    NULL);
	json_array_foreach(cur, i, o) {
		const char *d = json_string_value(json_object_get(o, "dst"));

		if (d == NULL || netaddr_parse_ip(d, &ip) != 0 ||
		    np_peer_by_subnet(np, ip) != NULL)
			continue;
		(void)np_cmd(np, NULL, "ip", "neigh", "del", d, "dev",
		    np->vxname, NULL);
	}
	json_decref(cur);
	cur = np_json(np, "bridge", "-j", "fdb", "show", "dev", np->vxname,
	    NULL);
	json_array_foreach(cur, i, o) {
		const char *m = json_string_value(json_object_get(o, "mac"));
		unsigned b[6];
		int keep = 0;

		if (m == NULL || sscanf(m, "%x:%x:%x:%x:%x:%x", &b[0], &b[1],
		    &b[2], &b[3], &b[4], &b[5]) != 6 || b[0] != 0x02 ||
		    b[1] != 0xb5)
			continue;	/* not one of ours */
		ip = (uint32_t)b[2] << 24 | b[3] << 16 | b[4] << 8 | b[5];
		keep = np_peer_by_subnet(np, ip) != NULL;
		if (!keep)
			(void)np_cmd(np, NULL, "bridge", "fdb", "del", m, "dev",
			    np->vxname, "self", NULL);
	}
	json_decref(cur);
}


/* ---- the firewall (docs/network.md "Firewall") ---------------------------- */

/*
 * Where Docker manages iptables, its FORWARD chain (policy DROP; "-o
 * BRIDGE -j DOCKER" accepts only published ports) drops what other nodes
 * send into our bridge, and its masquerade rule for a network rewrites
 * the source of what our containers send to other nodes. berth keeps, in
 * this namespace's tables and marked with the comment "berth:VXLAN-DEVICE":
 *   filter DOCKER-USER   -s P -d SUBNET -i VX -o BR -j ACCEPT  (from peers)
 *                        -s SUBNET -d P -i BR -o VX -j ACCEPT  (to peers)
 *   nat POSTROUTING      -s SUBNET -d P -j RETURN  (grid-internal: no NAT)
 *                        -s SUBNET -j MASQUERADE   (the rest: the outside)
 * for P the grid's prefix and any node subnet outside it (a node that
 * joined before network_cidr changed). They must be the chain's first
 * rules, in this order: Docker inserts its own at the top when it
 * (re)creates a network, and a network made by an older agent still has
 * Docker's masquerade, which the RETURN rules must precede. Each apply
 * lists the chain (iptables -S) and compares, as routes are compared; on
 * a difference berth's rules are deleted and inserted again. No
 * DOCKER-USER chain: Docker does not filter here (--iptables=false), and
 * berth keeps no rules at all.
 */
#define NP_FW_RULES	64	/* rules per chain, at most */

struct np_rules {
	char	*v[NP_FW_RULES];
	size_t	 n;
};

static void
np_rules_free(struct np_rules *r)
{
	while (r->n > 0)
		free(r->v[--r->n]);
}

static void
np_rules_add(struct np_rules *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void
np_rules_add(struct np_rules *r, const char *fmt, ...)
{
	va_list ap;

	if (r->n == NP_FW_RULES)
		return;
	va_start(ap, fmt);
	if (vasprintf(&r->v[r->n], fmt, ap) >= 0)
		r->n++;
	va_end(ap);
}

/* A rule of ours, in an iptables -S listing. */
static int
np_rule_ours(const char *line)
{
	return strstr(line, " --comment \"berth:") != NULL ||
	    strstr(line, " --comment berth:") != NULL;
}

/* iptables -t TABLE OP CHAIN [POS] with the words of spec ("-A CHAIN
 * ..." as iptables -S prints it; quotes dropped). */
static int
np_ipt_rule(struct netplane *np, const char *table, const char *op,
    const char *pos, const char *spec)
{
	char *copy = xstrdup(spec), *argv[64], *w, *save = NULL, *cause = NULL;
	size_t n = 0;
	int rc;

	argv[n++] = "iptables";
	argv[n++] = "-w";
	argv[n++] = "5";
	argv[n++] = "-t";
	argv[n++] = (char *)table;
	argv[n++] = (char *)op;
	for (w = strtok_r(copy, " ", &save); w != NULL && n < 62;
	    w = strtok_r(NULL, " ", &save)) {
		if (n == 6 && strcmp(w, "-A") == 0)
			continue;	/* the op is ours */
		if (*w == '"') {
			w++;
			w[strcspn(w, "\"")] = '\0';
		}
		argv[n++] = w;
		if (n == 7 && pos != NULL)
			argv[n++] = (char *)pos;	/* after the chain */
	}
	argv[n] = NULL;
	if ((rc = np_run(argv, NULL, &cause)) != 0) {
		np_error(np, "%s", cause);
		free(cause);
	}
	free(copy);
	return rc;
}

/*
 * Make berth's rules of TABLE CHAIN exactly want, at the chain's head.
 * 0 done (or nothing to do), -1 a command failed.
 */
static int
np_chain_sync(struct netplane *np, const char *table, const char *chain,
    const struct np_rules *want)
{
	char *argv[] = { "iptables", "-w", "5", "-t", (char *)table, "-S",
	    (char *)chain, NULL };
	char *out = NULL, *cause = NULL, *line, *save = NULL, pos[24], pre[64];
	struct np_rules ours = { { 0 }, 0 };
	size_t nrule = 0, i;
	int same = 1, rc = 0;

	if (np_run(argv, &out, &cause) != 0) {
		np_error(np, "%s", cause);
		free(cause);
		return -1;
	}
	snprintf(pre, sizeof pre, "-A %s ", chain);
	for (line = strtok_r(out, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, pre, strlen(pre)) != 0)
			continue;
		if (nrule < want->n && strcmp(line, want->v[nrule]) != 0)
			same = 0;
		nrule++;
		if (np_rule_ours(line)) {
			if (nrule > want->n)
				same = 0;	/* a stale one below */
			np_rules_add(&ours, "%s", line);
		}
	}
	free(out);
	if (nrule < want->n)
		same = 0;
	if (same) {
		np_rules_free(&ours);
		return 0;
	}
	for (i = 0; i < ours.n; i++)
		if (np_ipt_rule(np, table, "-D", NULL, ours.v[i]) != 0)
			rc = -1;
	for (i = 0; rc == 0 && i < want->n; i++) {
		snprintf(pos, sizeof pos, "%zu", i + 1);
		rc = np_ipt_rule(np, table, "-I", pos, want->v[i]);
	}
	if (rc == 0)
		log_info("network: firewall: %zu rule(s) of berth in %s %s%s",
		    want->n, table, chain, ours.n > 0 ? " (put back in "
		    "place)" : "");
	np_rules_free(&ours);
	return rc;
}

/*
 * Keep berth's firewall rules (on != 0) or remove them (on == 0: the grid
 * network is off on this node). A missing iptables is said once and
 * changes nothing else.
 */
static void
np_firewall(struct netplane *np, int on)
{
	char *argv[] = { "iptables", "-w", "5", "-t", "filter", "-S",
	    "DOCKER-USER", NULL };
	struct np_rules filt = { { 0 }, 0 }, nat = { { 0 }, 0 };
	char *cause = NULL, sub[NET_SUBNET_TEXT], p[NET_SUBNET_TEXT], cm[48];
	struct netaddr_prefix pre[NP_FW_RULES / 2];
	size_t npre = 0, i, j;
	int has_user;

	if (np_run(argv, NULL, &cause) != 0) {
		if (strncmp(cause, "cannot run", 10) == 0) {
			if (on && np->fw_note != NP_FW_NO_IPTABLES)
				log_warn("network: iptables is not installed: "
				    "berth keeps no firewall rules (where "
				    "Docker manages iptables, it drops what "
				    "other nodes send to this node's "
				    "containers: install iptables)");
			np->fw_note = NP_FW_NO_IPTABLES;
			free(cause);
			return;
		}
		has_user = 0;
		if (on && np->fw_note != NP_FW_NO_DOCKER_USER)
			log_info("network: no DOCKER-USER chain (%s): Docker "
			    "does not filter forwarding here, berth keeps no "
			    "firewall rules", cause);
		free(cause);
	} else
		has_user = 1;
	np->fw_note = has_user ? NP_FW_KEPT : NP_FW_NO_DOCKER_USER;

	if (on && has_user && np->have_subnet) {
		snprintf(cm, sizeof cm, "-m comment --comment \"berth:%s\"",
		    np->vxname);
		netaddr_format(&np->subnet, sub);
		/* The grid's prefix, and node subnets outside it. */
		pre[npre++] = np->cidr;
		for (i = 0; i <= np->npeers && npre < NP_FW_RULES / 2; i++) {
			const struct netaddr_prefix *s = i == 0 ? &np->subnet :
			    &np->peers[i - 1].subnet;

			for (j = 0; j < npre; j++)
				if (netaddr_overlap(&pre[j], s) &&
				    pre[j].len <= s->len)
					break;
			if (j == npre)
				pre[npre++] = *s;
		}
		for (i = 0; i < npre; i++) {
			netaddr_format(&pre[i], p);
			np_rules_add(&filt, "-A DOCKER-USER -s %s -d %s -i %s "
			    "-o %s %s -j ACCEPT", p, sub, np->vxname,
			    np->brname, cm);
			np_rules_add(&filt, "-A DOCKER-USER -s %s -d %s -i %s "
			    "-o %s %s -j ACCEPT", sub, p, np->brname,
			    np->vxname, cm);
			np_rules_add(&nat, "-A POSTROUTING -s %s -d %s %s "
			    "-j RETURN", sub, p, cm);
		}
		np_rules_add(&nat, "-A POSTROUTING -s %s %s -j MASQUERADE",
		    sub, cm);
	}
	if (has_user)
		(void)np_chain_sync(np, "filter", "DOCKER-USER", &filt);
	(void)np_chain_sync(np, "nat", "POSTROUTING", &nat);
	np_rules_free(&filt);
	np_rules_free(&nat);
}

void
netplane_apply(struct netplane *np, const char *text, const char *node_id)
{
	struct netaddr_prefix all;
	json_t *routes;
	char conflict[128], sub[NET_SUBNET_TEXT];
	int mtu, rc;
	size_t i;

	if (text != NULL) {
		json_t *o = json_loads(text, 0, NULL);

		log_debug("network: frame of grid %s: %zu node(s)%s",
		    json_string_value(json_object_get(o, "grid")) ?
		    json_string_value(json_object_get(o, "grid")) : "?",
		    json_array_size(json_object_get(o, "nodes")),
		    np->on ? "" : " (BERTH_NETWORK=off: nothing to do)");
		json_decref(o);
		free(np->frame);
		np->frame = xstrdup(text);
	}
	if (np->frame == NULL)
		return;
	if (!np->on) {
		np->ready = 0;
		/* Rules an earlier run with the network on left go, once
		 * (as root only: otherwise there can be none). */
		if (!np->fw_cleared && geteuid() == 0)
			np_firewall(np, 0);
		np->fw_cleared = 1;
		return;
	}
	snprintf(np->node_id, sizeof np->node_id, "%s", node_id);
	if (np_parse(np, np->frame, node_id) != 0) {
		np->off = !np->ready;
		return;
	}
	if (!np->have_subnet) {
		np_error(np, "the master gave this node no subnet (is the "
		    "grid's network_cidr full?): containers stay on Docker's "
		    "default bridge");
		np->ready = 0;
		np->off = 1;
		np_firewall(np, 0);
		return;
	}

	/* A subnet the host routes elsewhere is refused. */
	routes = np_json(np, "ip", "-j", "-4", "route", "show", "table", "main",
	    NULL);
	all = np->subnet;
	for (i = 0; i <= np->npeers; i++) {
		const struct netaddr_prefix *p = i == 0 ? &all :
		    &np->peers[i - 1].subnet;

		if (netplane_route_conflict(routes, np->brname, np->vxname,
		    p, conflict, sizeof conflict)) {
			netaddr_format(p, sub);
			np_error(np, "subnet %s overlaps the host's route %s: "
			    "the grid network is off on this node (change "
			    "the grid's network_cidr, or the host's routes)",
			    sub, conflict);
			json_decref(routes);
			np->ready = i != 0 && np->ready;
			np->off = !np->ready;
			if (i == 0)
				np_firewall(np, 0);
			return;
		}
	}
	json_decref(routes);

	mtu = np->addr_text[0] != '\0' ?
	    np_underlay_mtu(np, np->addr_text) - NET_VXLAN_OVERHEAD : 1450;
	if (mtu < 576)
		mtu = 576;
	rc = np_docker_network(np, mtu);
	np->ready = rc == 0;
	np->off = rc == -2;
	if (!np->ready)
		return;
	if (np->addr_text[0] == '\0') {
		np_error(np, "no underlay address (set BERTH_PEER_ADDRESS): "
		    "containers of this node reach only each other");
		return;
	}
	if (np_vxlan(np, mtu) != 0)
		return;
	np_peers(np);
	np_firewall(np, 1);
}

/* The HostConfig of create body o when it joins the grid network. */
static json_t *
np_joining_host(json_t *o)
{
	json_t *host = json_object_get(o, "HostConfig");
	const char *mode;

	if (!json_is_object(host))
		return NULL;
	mode = json_string_value(json_object_get(host, "NetworkMode"));
	if (mode != NULL && strcmp(mode, "bridge") != 0 &&
	    strcmp(mode, "default") != 0)
		return NULL;
	return host;
}

int
netplane_joins(const char *body)
{
	json_t *o = json_loads(body, 0, NULL);
	int joins = np_joining_host(o) != NULL;

	json_decref(o);
	return joins;
}

char *
netplane_attach(const struct netplane *np, const char *body)
{
	json_t *o, *host, *search;
	const char *stack;
	char *out, *dom, gw[16];

	if (netplane_network(np) == NULL)
		return NULL;
	o = json_loads(body, 0, NULL);
	if ((host = np_joining_host(o)) == NULL) {
		json_decref(o);
		return NULL;
	}
	json_object_set_new(host, "NetworkMode", json_string(np->netname));
	/*
	 * Names (docs/dns.md): Docker's resolver in the container forwards
	 * what it does not know to our server on the gateway; the search
	 * list makes "svc" the container's stack's service.
	 */
	if (netplane_gateway(np, gw) == 0 && np->domain[0] != '\0' &&
	    json_object_get(host, "Dns") == NULL) {
		json_object_set_new(host, "Dns", json_pack("[s]", gw));
		search = json_array();
		stack = json_string_value(json_object_get(json_object_get(o,
		    "Labels"), PROTO_LABEL_STACK));
		if (stack != NULL && *stack != '\0') {
			xasprintf(&dom, "%s.%s", stack, np->domain);
			json_array_append_new(search, json_string(dom));
			free(dom);
		}
		json_array_append_new(search, json_string(np->domain));
		json_object_set_new(host, "DnsSearch", search);
	}
	out = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return out;
}
