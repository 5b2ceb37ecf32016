/*
 * hub_network.c - push each grid's network (peer list) to its agents.
 *
 * ws thread only. A "network" frame (docs/protocol.md) is the same for
 * every node of a grid: the overlay prefix, the VXLAN id, and every node
 * that holds a subnet with its underlay address. The hub builds it from
 * the store when something may have changed it (a session admitted, a
 * node_info with a new address: hub_network_touch()) and once a second
 * anyway (a node removed through the API, a setting changed), and sends it
 * to the grid's sessions that have not had that text yet. A frame equal to
 * the last costs one query and a string compare, nothing on the wire.
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

/* Rebuild the grid's frame; a new text gets a new generation. */
static void
hub_net_build(struct hub *h, struct hub_net *n)
{
	json_t *o = store_network_json(h->st, n->grid_id);
	char *text;

	if (o == NULL) {
		log_error("hub: network of grid %lld: %s",
		    (long long)n->grid_id, store_errmsg(h->st));
		return;
	}
	json_object_set_new(o, "type", json_string(PROTO_T_NETWORK));
	text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	if (text == NULL)
		return;
	if (n->text != NULL && strcmp(n->text, text) == 0) {
		free(text);
		return;
	}
	free(n->text);
	n->text = text;
	n->gen++;
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
			hub_queue_raw(s, HUB_OUT_FRAME, n->text,
			    strlen(n->text));
		}
	}
	/* Grids without sessions: forget their frames. */
	for (i = 0; i < h->n_nets; ) {
		if (!h->nets[i].seen) {
			free(h->nets[i].text);
			h->nets[i] = h->nets[--h->n_nets];
		} else
			i++;
	}
}

void
hub_network_free(struct hub *h)
{
	size_t i;

	for (i = 0; i < h->n_nets; i++)
		free(h->nets[i].text);
	free(h->nets);
	h->nets = NULL;
	h->n_nets = 0;
}
