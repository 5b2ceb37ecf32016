/*
 * foreign.h - containers of other node ids on this node's engine.
 *
 * An engine can hold berth containers that no agent manages: after an
 * agent's data dir was lost, its replacement joins as a new node while
 * the old node's containers keep running; after a node was removed while
 * its agent could not be told. The agent lists the containers of its grid
 * (label berth.grid) now and then, and asks the master about every other
 * node id it finds there (node_query, docs/protocol.md); the master
 * answers per id "gone" (removed from the grid: it keeps a tombstone),
 * "known" (a node of this master, online or offline: its containers are
 * its agent's and are never touched) or "unknown" (not its node at all:
 * another master's, say; left alone). Only the containers of a node the
 * master says is gone are removed, and only once the master said so.
 *
 * Converge thread only. foreign_scan() is given the list answer (I/O is
 * the caller's) and says what to ask and what to remove; the answers go
 * in through foreign_answer(). Pure apart from memory: unit tested.
 */
#ifndef BERTH_AGENT_FOREIGN_H
#define BERTH_AGENT_FOREIGN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "agent/plan.h"
#include "common/proto.h"

enum foreign_status {
	FOREIGN_ASKING,		/* asked (or to ask); no answer yet */
	FOREIGN_GONE,		/* removed from the grid: remove its containers */
	FOREIGN_KNOWN,		/* the master's node: leave them */
	FOREIGN_UNKNOWN,	/* not the master's: leave them */
};

/* What the agent knows about one other node id. */
struct foreign_node {
	char		 id[PROTO_NODE_ID_LEN + 1];	/* the node id */
	enum foreign_status status;	/* the master's last answer */
	int64_t		 asked_at;	/* mono ms of the last question, 0 */
	int64_t		 answered_at;	/* mono ms of the last answer, 0 */
	int		 seen;		/* on the engine in the last scan */
	int		 said;		/* its status was logged */
};

/* A container of another node id, from one scan. */
struct foreign_container {
	char		*id;		/* Docker id */
	char		*name;		/* without the leading '/' */
	char		 node[PROTO_NODE_ID_LEN + 1];	/* its berth.node */
	enum plan_state	 state;		/* from Docker's State */
};

struct foreign {
	struct foreign_node *nodes;	/* node ids seen lately */
	size_t		 nnodes;
	int64_t		 reask_ms;	/* ask again about an id this often */
};

/* What one scan asks for. */
struct foreign_scan {
	json_t		*query;		/* node_query frame, or NULL */
	struct foreign_container *remove; /* containers to remove */
	size_t		 nremove;
	struct foreign_container *keep;	/* of nodes that are not gone */
	size_t		 nkeep;
};

void	 foreign_init(struct foreign *f, int64_t reask_ms);
void	 foreign_clear(struct foreign *f);
/*
 * One scan: arr is Docker's list of the grid's containers (label
 * berth.grid=grid, re-checked here); own is this node's id. Fills *out
 * (release with foreign_scan_clear()): the question to send (ids new, or
 * not asked for reask_ms), and the containers of gone nodes to remove.
 * Node ids no longer on the engine are forgotten.
 */
void	 foreign_scan(struct foreign *f, json_t *arr, const char *own,
	    const char *grid, int64_t now, struct foreign_scan *out);
void	 foreign_scan_clear(struct foreign_scan *s);
/*
 * A node_status frame from the master (already parsed). Returns how many
 * node ids it turned "gone" (the caller scans again at once).
 */
int	 foreign_answer(struct foreign *f, json_t *frame, int64_t now);
/* The node's record, or NULL. */
const struct foreign_node *foreign_node(const struct foreign *f,
	    const char *id);
const char *foreign_status_name(enum foreign_status st);

#endif
