/*
 * foreign.c - containers of other node ids on this engine (see foreign.h).
 *
 * Called by converge.c on the converge thread; the unit tests call it with
 * made-up lists and answers. No I/O, no clock, no lock.
 *
 * Safety rules, in the order they are applied:
 *  - only containers labelled with this grid (berth.grid) and a well-formed
 *    node id other than ours are considered: another grid's containers,
 *    or a hand-made one with a bad label, are never touched;
 *  - a node id is "gone" only when the master said so in answer to our
 *    question; until then, and for "known" and "unknown", nothing of it is
 *    touched: a live node's containers are sacred, and so are another
 *    master's;
 *  - an answer counts only for an id that was asked and is still seen.
 */
#include "agent/foreign.h"

#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"

const char *
foreign_status_name(enum foreign_status st)
{
	switch (st) {
	case FOREIGN_GONE:
		return PROTO_NODE_GONE;
	case FOREIGN_KNOWN:
		return PROTO_NODE_KNOWN;
	case FOREIGN_UNKNOWN:
		return PROTO_NODE_UNKNOWN;
	default:
		return "asking";
	}
}

void
foreign_init(struct foreign *f, int64_t reask_ms)
{
	memset(f, 0, sizeof *f);
	f->reask_ms = reask_ms;
}

void
foreign_clear(struct foreign *f)
{
	free(f->nodes);
	f->nodes = NULL;
	f->nnodes = 0;
}

static int
foreign_id_valid(const char *s)
{
	size_t i;

	for (i = 0; i < PROTO_NODE_ID_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[i] == '\0';
}

static struct foreign_node *
foreign_find(const struct foreign *f, const char *id)
{
	size_t i;

	for (i = 0; i < f->nnodes; i++)
		if (strcmp(f->nodes[i].id, id) == 0)
			return &f->nodes[i];
	return NULL;
}

const struct foreign_node *
foreign_node(const struct foreign *f, const char *id)
{
	return foreign_find(f, id);
}

static void
foreign_push(struct foreign_container **v, size_t *n, const char *id,
    const char *name, const char *node, enum plan_state st)
{
	struct foreign_container *c;

	*v = xreallocarray(*v, *n + 1, sizeof **v);
	c = &(*v)[(*n)++];
	c->id = xstrdup(id);
	c->name = xstrdup(name);
	snprintf(c->node, sizeof c->node, "%s", node);
	c->state = st;
}

void
foreign_scan(struct foreign *f, json_t *arr, const char *own,
    const char *grid, int64_t now, struct foreign_scan *out)
{
	struct foreign_node *n;
	json_t *e, *labels, *names, *ids = NULL;
	const char *id, *node, *g, *name;
	size_t i;

	memset(out, 0, sizeof *out);
	for (i = 0; i < f->nnodes; i++)
		f->nodes[i].seen = 0;
	json_array_foreach(arr, i, e) {
		id = json_string_value(json_object_get(e, "Id"));
		labels = json_object_get(e, "Labels");
		node = json_string_value(json_object_get(labels,
		    PROTO_LABEL_NODE));
		g = json_string_value(json_object_get(labels,
		    PROTO_LABEL_GRID));
		/* The filter did this already; never trust it with deletes. */
		if (id == NULL || node == NULL || g == NULL ||
		    strcmp(g, grid) != 0 || strcmp(node, own) == 0 ||
		    !foreign_id_valid(node))
			continue;
		names = json_object_get(e, "Names");
		name = json_string_value(json_array_get(names, 0));
		if (name != NULL && *name == '/')
			name++;
		if ((n = foreign_find(f, node)) == NULL) {
			f->nodes = xreallocarray(f->nodes, f->nnodes + 1,
			    sizeof *f->nodes);
			n = &f->nodes[f->nnodes++];
			memset(n, 0, sizeof *n);
			snprintf(n->id, sizeof n->id, "%s", node);
			n->status = FOREIGN_ASKING;
		}
		if (!n->seen && (n->asked_at == 0 ||
		    now - n->asked_at >= f->reask_ms)) {
			if (ids == NULL)
				ids = json_array();
			if (json_array_size(ids) < PROTO_MAX_NODE_QUERY) {
				json_array_append_new(ids, json_string(node));
				n->asked_at = now;
			}
		}
		n->seen = 1;
		if (n->status == FOREIGN_GONE)
			foreign_push(&out->remove, &out->nremove, id,
			    name != NULL ? name : "", node, plan_state_parse(
			    json_string_value(json_object_get(e, "State"))));
		else
			foreign_push(&out->keep, &out->nkeep, id,
			    name != NULL ? name : "", node, plan_state_parse(
			    json_string_value(json_object_get(e, "State"))));
	}
	/* Forget the ids no longer on the engine. */
	i = 0;
	while (i < f->nnodes) {
		if (!f->nodes[i].seen) {
			f->nodes[i] = f->nodes[--f->nnodes];
			continue;
		}
		i++;
	}
	if (ids != NULL)
		out->query = json_pack("{s:s, s:o}", "type", PROTO_T_NODE_QUERY,
		    "node_ids", ids);
}

static void
foreign_containers_free(struct foreign_container *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].id);
		free(v[i].name);
	}
	free(v);
}

void
foreign_scan_clear(struct foreign_scan *s)
{
	json_decref(s->query);
	foreign_containers_free(s->remove, s->nremove);
	foreign_containers_free(s->keep, s->nkeep);
	memset(s, 0, sizeof *s);
}

int
foreign_answer(struct foreign *f, json_t *frame, int64_t now)
{
	struct foreign_node *n;
	json_t *v;
	const char *id, *st;
	size_t i;
	int gone = 0;

	json_array_foreach(json_object_get(frame, "nodes"), i, v) {
		id = json_string_value(json_object_get(v, "id"));
		st = json_string_value(json_object_get(v, "status"));
		if (id == NULL || st == NULL ||
		    (n = foreign_find(f, id)) == NULL || n->asked_at == 0)
			continue;	/* not asked: not the master's to say */
		n->answered_at = now;
		if (strcmp(st, PROTO_NODE_GONE) == 0) {
			if (n->status != FOREIGN_GONE) {
				gone++;
				n->said = 0;
			}
			n->status = FOREIGN_GONE;
		} else {
			if (n->status == FOREIGN_GONE ||
			    n->status == FOREIGN_ASKING)
				n->said = 0;
			/* Anything but "gone" (an unknown word included)
			 * leaves the node's containers alone. */
			n->status = strcmp(st, PROTO_NODE_KNOWN) == 0 ?
			    FOREIGN_KNOWN : FOREIGN_UNKNOWN;
		}
	}
	return gone;
}
