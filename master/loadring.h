/*
 * loadring.h - the last minutes of every node's load, in memory: what
 * `berth node show` prints under "load" (GET /v1/nodes/{g}/{node},
 * "load_history").
 *
 * The hub (ws thread) adds each stats frame an agent sends; the API
 * threads copy a node's samples out. Samples are kept per LOADRING_STEP_MS
 * slot (frames within one slot are averaged), LOADRING_SLOTS of them, so
 * the span is the same whatever the agents' stats interval. Nodes that
 * sent nothing for a whole span are forgotten, so ephemeral nodes coming
 * and going cost nothing. Not stored: a master restart starts empty.
 */
#ifndef BERTH_LOADRING_H
#define BERTH_LOADRING_H

#include <stddef.h>
#include <stdint.h>

#define LOADRING_STEP_MS	10000	/* one sample per 10 s */
#define LOADRING_SLOTS		60	/* ten minutes */

/* One slot of a node's load. */
struct load_sample {
	int64_t		 at;		/* epoch ms of its last frame */
	double		 cpu_pct;	/* mean CPU use in the slot, 0-100 */
	int64_t		 mem_used;	/* bytes, last in the slot (-1 unknown) */
	int64_t		 mem_total;	/* bytes, last in the slot (-1 unknown) */
	int64_t		 containers;	/* last in the slot (-1 unknown) */
	int		 n;		/* frames averaged into it */
};

struct loadring;

struct loadring *loadring_new(void);
void	 loadring_free(struct loadring *r);	/* NULL is a no-op */
/* Any thread: a stats frame of node_id at now_ms (values < 0: unknown). */
void	 loadring_add(struct loadring *r, const char *node_id, int64_t now_ms,
	    double cpu_pct, int64_t mem_used, int64_t mem_total,
	    int64_t containers);
/*
 * Any thread: node_id's samples of the last LOADRING_SLOTS slots before
 * now_ms, oldest first, into *out (caller frees; NULL when none); their
 * number.
 */
size_t	 loadring_get(struct loadring *r, const char *node_id, int64_t now_ms,
	    struct load_sample **out);

#endif
