/*
 * hub_network.c - push each grid's network (peer list) and names to its
 * agents.
 *
 * ws thread only. A "network" frame (docs/protocol.md) is the same for
 * every node of a grid: the overlay prefix, the VXLAN id, and every node
 * that holds a subnet with its underlay address. A "names" frame is the
 * grid's services with their running instances' addresses, which each
 * agent's DNS server answers from (docs/dns.md). The hub builds both from
 * the store when something may have changed them (a session admitted, a
 * node_info with a new address, a state report that changed an instance:
 * hub_network_touch()) and once a second anyway (a node removed through
 * the API, a stack installed, a setting changed), and sends each to the
 * grid's sessions that have not had that text yet. A frame equal to the
 * last costs one query and a string compare, nothing on the wire.
 */
#include "master/hub_int.h"

#include "common/log.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

#define HUB_NETWORK_MS	1000	/* rebuild every grid's frame this often */

/* The grid's entry, made if missing. */
static struct hub_net *
hub_net_of(struct hub *h, int64_t grid_id)
{
	size_t i;

	for (i = 0; i < h->n_nets; i++)
		if (h->nets[i].grid_id == grid_id)
			return &h->nets[i];
	h->nets = xreallocarray(h->nets, h->n_nets + 1, sizeof *h->nets);
	memset(&h->nets[h->n_nets], 0, sizeof h->nets[h->n_nets]);
	h->nets[h->n_nets].grid_id = grid_id;
	return &h->nets[h->n_nets++];
}

/*
 * Make a frame of o (taken) with the type; when its text differs from
 * *text, it replaces it and *gen is bumped.
 */
static void
hub_net_frame(json_t *o, const char *type, struct hub_shared **frame,
    uint64_t *gen)
{
	char *t;

	json_object_set_new(o, "type", json_string(type));
	t = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	if (t == NULL)
		return;
	if (*frame != NULL && strcmp(HUB_SHARED_TEXT(*frame), t) == 0) {
		free(t);
		return;
	}
	/* Queues still holding the old one keep their references. */
	hub_shared_unref(*frame);
	*frame = hub_shared_new(t, strlen(t));
	free(t);
	(*gen)++;
}

/* Rebuild the grid's frames; a new text gets a new generation. */
static void
hub_net_build(struct hub *h, struct hub_net *n)
{
	json_t *o;

	if ((o = store_network_json(h->st, n->grid_id)) == NULL)
		log_error("hub: network of grid %lld: %s",
		    (long long)n->grid_id, store_errmsg(h->st));
	else
		hub_net_frame(o, PROTO_T_NETWORK, &n->text, &n->gen);
	if ((o = store_names_json(h->st, n->grid_id)) == NULL)
		log_error("hub: names of grid %lld: %s",
		    (long long)n->grid_id, store_errmsg(h->st));
	else
		hub_net_frame(o, PROTO_T_NAMES, &n->names, &n->names_gen);
}

void
hub_network_touch(struct hub *h)
{
	h->net_dirty = 1;
}

void
hub_network_tick(struct hub *h, int64_t raw)
{
	struct hub_sess *s;
	struct hub_net *n;
	size_t i;
	int all = raw - h->net_built_at >= HUB_NETWORK_MS;

	if (!all && !h->net_dirty)
		return;
	h->net_dirty = 0;
	if (all)
		h->net_built_at = raw;
	for (i = 0; i < h->n_nets; i++)
		h->nets[i].seen = 0;
	for (s = h->all; s != NULL; s = s->lnext) {
		/* A pending node (docs/nodes.md) learns nothing of the
		 * grid before it is approved. */
		if (!s->authed || s->close_code != 0 || s->pending)
			continue;
		n = hub_net_of(h, s->grid_id);
		if (!n->seen) {
			n->seen = 1;
			hub_net_build(h, n);
		}
		if (n->text != NULL && s->net_gen != n->gen) {
			s->net_gen = n->gen;
			hub_queue_shared(s, n->text);
		}
		if (n->names != NULL && s->names_gen != n->names_gen) {
			s->names_gen = n->names_gen;
			hub_queue_shared(s, n->names);
		}
	}
	/* Grids without sessions: forget their frames. */
	for (i = 0; i < h->n_nets; ) {
		if (!h->nets[i].seen) {
			hub_shared_unref(h->nets[i].text);
			hub_shared_unref(h->nets[i].names);
			h->nets[i] = h->nets[--h->n_nets];
		} else
			i++;
	}
}

void
hub_network_free(struct hub *h)
{
	size_t i;

	for (i = 0; i < h->n_nets; i++) {
		hub_shared_unref(h->nets[i].text);
		hub_shared_unref(h->nets[i].names);
	}
	free(h->nets);
	h->nets = NULL;
	h->n_nets = 0;
}
