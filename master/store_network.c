/*
 * store_network.c - the grid network's addresses (docs/network.md).
 *
 * Each node of a grid takes one subnet of the grid's overlay prefix
 * (settings network_cidr and network_node_prefix) at its first join, in
 * the join's transaction: the lowest one no node of the grid holds. The
 * row (node_subnets) goes when its node's row does (ON DELETE CASCADE),
 * which frees the subnet for a later node; UNIQUE (grid_id, subnet) makes
 * a subnet held twice impossible whatever path writes. A node keeps its
 * subnet across reconnects, master restarts and changes of network_cidr
 * (a node joining after such a change takes one of the new prefix).
 *
 * The peer list (every node of the grid with its underlay address and
 * subnet; not a pending node until it is approved) is what the hub pushes
 * to agents in "network" frames.
 */
#include "master/store.h"

#include "common/log.h"
#include "common/netaddr.h"
#include "common/util.h"
#include "common/xmalloc.h"
#include "stacks/stack.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Mark in taken[n] the /sublen subnets of cidr that used overlaps: the
 * index range its addresses cover, so a join costs one pass over the
 * grid's subnets whatever the size of the prefix.
 */
static void
subnet_mark(unsigned char *taken, uint32_t n, const struct netaddr_prefix *cidr,
    int sublen, const struct netaddr_prefix *used)
{
	uint64_t c_lo = cidr->addr, c_hi, u_lo = used->addr, u_hi, lo, hi;
	uint64_t first, last, i;

	c_hi = c_lo + (UINT64_C(1) << (32 - cidr->len)) - 1;
	u_hi = u_lo + (UINT64_C(1) << (32 - used->len)) - 1;
	if (u_hi < c_lo || u_lo > c_hi)
		return;
	lo = u_lo > c_lo ? u_lo : c_lo;
	hi = u_hi < c_hi ? u_hi : c_hi;
	first = (lo - c_lo) >> (32 - sublen);
	last = (hi - c_lo) >> (32 - sublen);
	for (i = first; i <= last && i < n; i++)
		taken[i] = 1;
}

/*
 * Every subnet is taken: the node joins without one. Said once a minute
 * (log and event, with how many joined so since), not once a join: a
 * fleet larger than the prefix would write an event per node and per
 * reconnect (10,000 of each when 10,000 agents come back).
 */
static int
subnet_full(struct store *st, int64_t grid_id, const char *node_id,
    int64_t sublen)
{
	static int64_t said_at;
	static unsigned long since;
	int64_t now = util_mono_ms();

	since++;
	if (said_at != 0 && now - said_at < 60 * 1000)
		return 0;
	said_at = now;
	log_warn("store: grid %lld: every /%lld subnet of its network_cidr "
	    "is taken: node %.12s and %lu more in the last minute joined "
	    "without one", (long long)grid_id, (long long)sublen, node_id,
	    since - 1);
	since = 0;
	return store_event_add(st, grid_id, "network.full", node_id,
	    "no free /%lld subnet left for node %.12s (a larger "
	    "network_cidr or network_node_prefix makes room)",
	    (long long)sublen, node_id) == 0 ? 0 : -1;
}

int
store_node_subnet_assign(struct store *st, const char *node_id,
    int64_t grid_id, char subnet_out[NET_SUBNET_TEXT])
{
	struct netaddr_prefix cidr, sub, used;
	unsigned char *taken = NULL;
	struct store_stmt *s;
	char *why = NULL, text[20];
	uint32_t n, i;
	int64_t sublen = 24;
	int rc;

	if (subnet_out != NULL)
		subnet_out[0] = '\0';
	s = store_stmt(st, "SELECT subnet FROM node_subnets WHERE node_id = ?1");
	store_bind_text(s, 1, node_id);
	rc = stmt_step(s);
	if (rc == STORE_ROW && subnet_out != NULL)
		snprintf(subnet_out, NET_SUBNET_TEXT, "%s",
		    store_col_text(s, 0));
	stmt_reset(s);
	if (rc == STORE_ROW)
		return 0;
	if (rc != STORE_DONE)
		return -1;

	s = store_stmt(st, "SELECT network_cidr, network_node_prefix FROM"
	    " grids WHERE id = ?1");
	stmt_bind_int64(s, 1, grid_id);
	rc = stmt_step(s);
	if (rc == STORE_ROW) {
		if (netaddr_parse(store_col_text(s, 0), &cidr, &why) != 0)
			rc = STORE_ERROR;
		sublen = stmt_col_int64(s, 1);
	}
	stmt_reset(s);
	if (rc != STORE_ROW || sublen <= cidr.len || sublen > 30 ||
	    sublen - cidr.len > 20) {
		log_error("store: grid %lld: no usable network_cidr (%s)",
		    (long long)grid_id, why != NULL ? why : "no such grid");
		free(why);
		return 0;	/* the node joins, without a subnet */
	}
	n = 1u << (sublen - cidr.len);
	taken = xcalloc(n, 1);
	s = store_stmt(st, "SELECT subnet FROM node_subnets WHERE grid_id = ?1");
	stmt_bind_int64(s, 1, grid_id);
	while ((rc = stmt_step(s)) == STORE_ROW) {
		if (netaddr_parse(store_col_text(s, 0), &used, &why) != 0) {
			free(why);
			why = NULL;
			continue;
		}
		subnet_mark(taken, n, &cidr, (int)sublen, &used);
	}
	stmt_reset(s);
	if (rc != STORE_DONE) {
		free(taken);
		return -1;
	}
	for (i = 0; i < n && taken[i]; i++)
		;
	free(taken);
	if (i == n)
		return subnet_full(st, grid_id, node_id, sublen);
	netaddr_subnet(&cidr, (int)sublen, i, &sub);
	netaddr_format(&sub, text);
	s = store_stmt(st, "INSERT INTO node_subnets (node_id, grid_id, subnet,"
	    " assigned_at) VALUES (?1, ?2, ?3, ?4)");
	store_bind_text(s, 1, node_id);
	stmt_bind_int64(s, 2, grid_id);
	store_bind_text(s, 3, text);
	stmt_bind_int64(s, 4, util_now_ms());
	if (store_done(s) != 0)
		return -1;
	if (subnet_out != NULL)
		snprintf(subnet_out, NET_SUBNET_TEXT, "%s", text);
	return 0;
}

/* The peers as a JSON array text; SQLite builds it. */
#define NETWORK_PEERS_SQL \
	"SELECT coalesce(json_group_array(json_object('node_id', n.id," \
	" 'name', n.name, 'address', n.peer_address, 'subnet', ns.subnet))," \
	" '[]') FROM (SELECT * FROM node_subnets WHERE grid_id = ?1" \
	" ORDER BY subnet) ns JOIN nodes n ON n.id = ns.node_id" \
	" WHERE n.pending = 0"

char *
store_network_peers_text(struct store *st, int64_t grid_id)
{
	struct store_stmt *s = store_stmt(st, NETWORK_PEERS_SQL);
	char *text = NULL;

	stmt_bind_int64(s, 1, grid_id);
	if (stmt_step(s) == STORE_ROW)
		text = xstrdup(store_col_text(s, 0));
	stmt_reset(s);
	return text;
}

json_t *
store_network_json(struct store *st, int64_t grid_id)
{
	struct store_stmt *s;
	json_t *o = NULL, *peers;
	char *text;
	char dom[128];

	s = store_stmt(st, "SELECT name, network_cidr, network_node_prefix"
	    " FROM grids WHERE id = ?1");
	stmt_bind_int64(s, 1, grid_id);
	if (stmt_step(s) == STORE_ROW) {
		snprintf(dom, sizeof dom, "%s." NET_DOMAIN_SUFFIX,
		    store_col_text(s, 0));
		o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}",
		    "name", NET_GRID_NETWORK, "grid", store_col_text(s, 0),
		    "cidr", store_col_text(s, 1),
		    "node_prefix", (json_int_t)stmt_col_int64(s, 2),
		    "vni", (json_int_t)NET_VNI(grid_id), "domain", dom);
	}
	stmt_reset(s);
	if (o == NULL)
		return NULL;
	text = store_network_peers_text(st, grid_id);
	peers = text != NULL ? json_loads(text, 0, NULL) : NULL;
	free(text);
	if (peers == NULL) {
		json_decref(o);
		return NULL;
	}
	json_object_set_new(o, "nodes", peers);
	return o;
}

/*
 * One "links" entry of a service's spec, as the stack file wrote it
 * ("svc", "svc:alias", "stack/svc[:alias]"), as {alias, stack, service};
 * the stack defaults to the linking service's own. NULL if malformed
 * (the stack parser refused those at install; a spec is trusted text,
 * but a row edited by hand must not crash the hub).
 */
static json_t *
store_names_link(const char *own_stack, const char *text)
{
	const char *slash, *svc, *colon;
	char *stack, *service, svcdns[64], alias[64];
	json_t *o;

	slash = strchr(text, '/');
	svc = slash != NULL ? slash + 1 : text;
	colon = strchr(svc, ':');
	stack = slash != NULL ? xstrndup(text, slash - text) :
	    xstrdup(own_stack);
	service = colon != NULL ? xstrndup(svc, colon - svc) : xstrdup(svc);
	o = NULL;
	stack_dns_name(service, svcdns, sizeof svcdns);
	stack_dns_name(colon != NULL ? colon + 1 : service, alias,
	    sizeof alias);
	if (util_name_valid(stack) && util_name_valid(svcdns) &&
	    util_name_valid(alias))
		o = json_pack("{s:s, s:s, s:s}", "alias", alias, "stack",
		    stack, "service", svcdns);
	free(stack);
	free(service);
	return o;
}

json_t *
store_names_json(struct store *st, int64_t grid_id)
{
	struct store_stmt *s;
	json_t *o = NULL, *list, *svc = NULL, *links, *l, *e;
	const char *stack, *addr;
	int64_t last = -1, id;
	char dom[128], name[64];
	size_t i;
	int rc;

	s = store_stmt(st, "SELECT name FROM grids WHERE id = ?1");
	stmt_bind_int64(s, 1, grid_id);
	if (stmt_step(s) == STORE_ROW) {
		snprintf(dom, sizeof dom, "%s." NET_DOMAIN_SUFFIX,
		    store_col_text(s, 0));
		o = json_pack("{s:s, s:s, s:[]}", "grid",
		    store_col_text(s, 0), "domain", dom, "services");
	}
	stmt_reset(s);
	if (o == NULL)
		return NULL;
	list = json_object_get(o, "services");

	/*
	 * Every service of the grid, with its running instances that have
	 * an address: a service with none is still listed (its name is
	 * the grid's: NODATA, not another resolver's NXDOMAIN).
	 */
	s = store_stmt(st, "SELECT v.id, t.name, v.name,"
	    " coalesce(json_extract(t.spec, '$.expose') = v.name, 0),"
	    " json_extract(v.spec, '$.links'), i.instance_no, i.address"
	    " FROM services v JOIN stacks t ON t.id = v.stack_id"
	    " LEFT JOIN instances i ON i.service_id = v.id"
	    "  AND i.state = 'running' AND i.address IS NOT NULL"
	    " WHERE t.grid_id = ?1"
	    " ORDER BY t.name, v.name, v.id, i.instance_no, i.address");
	stmt_bind_int64(s, 1, grid_id);
	while ((rc = stmt_step(s)) == STORE_ROW) {
		id = stmt_col_int64(s, 0);
		if (id != last) {
			last = id;
			stack = store_col_text(s, 1);
			links = json_array();
			l = store_col_text(s, 4) != NULL ?
			    json_loads(store_col_text(s, 4), 0, NULL) : NULL;
			for (i = 0; i < json_array_size(l); i++) {
				if (!json_is_string(json_array_get(l, i)))
					continue;
				e = store_names_link(stack,
				    json_string_value(json_array_get(l, i)));
				if (e != NULL)
					json_array_append_new(links, e);
			}
			json_decref(l);
			stack_dns_name(store_col_text(s, 2), name,
			    sizeof name);
			svc = json_pack("{s:s, s:s, s:b, s:o, s:[]}",
			    "stack", stack, "service", name,
			    "exposed", stmt_col_int(s, 3) != 0,
			    "links", links, "instances");
			json_array_append_new(list, svc);
		}
		addr = store_col_text(s, 6);
		if (addr != NULL)
			json_array_append_new(json_object_get(svc,
			    "instances"), json_pack("{s:I, s:s}", "n",
			    (json_int_t)stmt_col_int64(s, 5),
			    "address", addr));
	}
	stmt_reset(s);
	if (rc != STORE_DONE) {
		json_decref(o);
		return NULL;
	}
	return o;
}
