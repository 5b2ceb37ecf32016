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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
store_node_subnet_assign(struct store *st, const char *node_id,
    int64_t grid_id, char subnet_out[NET_SUBNET_TEXT])
{
	struct netaddr_prefix cidr, sub, used;
	unsigned char *taken = NULL;
	sqlite3_stmt *s;
	char *why = NULL, text[20];
	uint32_t n, i;
	int64_t sublen = 24;
	int rc;

	if (subnet_out != NULL)
		subnet_out[0] = '\0';
	s = store_stmt(st, "SELECT subnet FROM node_subnets WHERE node_id = ?1");
	store_bind_text(s, 1, node_id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && subnet_out != NULL)
		snprintf(subnet_out, NET_SUBNET_TEXT, "%s",
		    store_col_text(s, 0));
	sqlite3_reset(s);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc != SQLITE_DONE)
		return -1;

	s = store_stmt(st, "SELECT network_cidr, network_node_prefix FROM"
	    " grids WHERE id = ?1");
	sqlite3_bind_int64(s, 1, grid_id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		if (netaddr_parse(store_col_text(s, 0), &cidr, &why) != 0)
			rc = SQLITE_ERROR;
		sublen = sqlite3_column_int64(s, 1);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_ROW || sublen <= cidr.len || sublen > 30 ||
	    sublen - cidr.len > 20) {
		log_error("store: grid %lld: no usable network_cidr (%s)",
		    (long long)grid_id, why != NULL ? why : "no such grid");
		free(why);
		return 0;	/* the node joins, without a subnet */
	}
	n = 1u << (sublen - cidr.len);
	taken = xcalloc(n, 1);
	s = store_stmt(st, "SELECT subnet FROM node_subnets WHERE grid_id = ?1");
	sqlite3_bind_int64(s, 1, grid_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (netaddr_parse(store_col_text(s, 0), &used, &why) != 0) {
			free(why);
			why = NULL;
			continue;
		}
		for (i = 0; i < n; i++)
			if (netaddr_subnet(&cidr, (int)sublen, i, &sub) == 0 &&
			    netaddr_overlap(&sub, &used))
				taken[i] = 1;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		free(taken);
		return -1;
	}
	for (i = 0; i < n && taken[i]; i++)
		;
	free(taken);
	if (i == n) {
		log_warn("store: grid %lld: every /%lld subnet of its "
		    "network_cidr is taken: node %.12s joins without one",
		    (long long)grid_id, (long long)sublen, node_id);
		return store_event_add(st, grid_id, "network.full", node_id,
		    "no free /%lld subnet left for node %.12s",
		    (long long)sublen, node_id) == 0 ? 0 : -1;
	}
	netaddr_subnet(&cidr, (int)sublen, i, &sub);
	netaddr_format(&sub, text);
	s = store_stmt(st, "INSERT INTO node_subnets (node_id, grid_id, subnet,"
	    " assigned_at) VALUES (?1, ?2, ?3, ?4)");
	store_bind_text(s, 1, node_id);
	sqlite3_bind_int64(s, 2, grid_id);
	store_bind_text(s, 3, text);
	sqlite3_bind_int64(s, 4, util_now_ms());
	if (store_done(s) != 0)
		return -1;
	if (subnet_out != NULL)
		snprintf(subnet_out, NET_SUBNET_TEXT, "%s", text);
	return 0;
}

int
store_node_peer_address(struct store *st, const char *node_id,
    const char *address)
{
	sqlite3_stmt *s = store_stmt(st,
	    "UPDATE nodes SET peer_address = ?2 WHERE id = ?1");

	store_bind_text(s, 1, node_id);
	store_bind_text(s, 2, address);
	return store_done(s);
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
	sqlite3_stmt *s = store_stmt(st, NETWORK_PEERS_SQL);
	char *text = NULL;

	sqlite3_bind_int64(s, 1, grid_id);
	if (sqlite3_step(s) == SQLITE_ROW)
		text = xstrdup(store_col_text(s, 0));
	sqlite3_reset(s);
	return text;
}

json_t *
store_network_json(struct store *st, int64_t grid_id)
{
	sqlite3_stmt *s;
	json_t *o = NULL, *peers;
	char *text;
	char dom[128];

	s = store_stmt(st, "SELECT name, network_cidr, network_node_prefix"
	    " FROM grids WHERE id = ?1");
	sqlite3_bind_int64(s, 1, grid_id);
	if (sqlite3_step(s) == SQLITE_ROW) {
		snprintf(dom, sizeof dom, "%s." NET_DOMAIN_SUFFIX,
		    store_col_text(s, 0));
		o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}",
		    "name", NET_GRID_NETWORK, "grid", store_col_text(s, 0),
		    "cidr", store_col_text(s, 1),
		    "node_prefix", (json_int_t)sqlite3_column_int64(s, 2),
		    "vni", (json_int_t)NET_VNI(grid_id), "domain", dom);
	}
	sqlite3_reset(s);
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
