/*
 * hub_desired.h - a node's desired container set, and the states its agent
 * reports back, translated between the store and protocol frames.
 *
 * Used by the hub (ws thread) with its own store connection.
 */
#ifndef BERTH_HUB_DESIRED_H
#define BERTH_HUB_DESIRED_H

#include "master/store.h"

#include <jansson.h>

/*
 * The containers' parts that come from their service's spec, serialized
 * once per service and spec (see hub_desired.c). Not thread-safe: one per
 * thread. desired_cache_free(NULL) is a no-op.
 */
struct desired_cache	*desired_cache_new(void);
void			 desired_cache_free(struct desired_cache *c);

/*
 * The desired sets of n nodes as the members of their desired frames
 * (docs/protocol.md, "desired"), each the JSON object text
 * {"containers":[...],"jobs":[...],"jobs_done":[ids]}, with each
 * service's secrets opened with key into its containers' environment:
 * texts[i]
 * (malloc'd) for ids[i]. The containers of STORE_BATCH nodes come from
 * one query; jobs from one query per node. 0, or -1 on a store error
 * (every texts[i] NULL then).
 */
int	 desired_texts(struct store *st, const unsigned char *key,
	    struct desired_cache *c, const char *const *ids, size_t n,
	    char **texts);

/*
 * One node's desired set as desired_texts() makes it, parsed: {"containers":
 * [...], "jobs": [...], "jobs_done": [ids]}. NULL on a store error. For
 * tests and fuzzers: the hub uses desired_texts().
 */
json_t	*desired_build(struct store *st, const unsigned char *key,
	    const char *node_id);
/*
 * Record a state frame's "jobs" (validated here): the ids of jobs that
 * changed go to *changed (caller frees); *desired is 1 when the node's
 * desired set changed with them. 0, or -1 with *cause.
 */
int	 desired_apply_jobs(struct store *st, const char *node_id, json_t *jobs,
	    int64_t **changed, size_t *nchanged, int *desired, char **cause);

/*
 * Record a "state" frame's containers for node_id in one transaction.
 * *grid_changed is set when an instance's state changed (the scheduler and
 * deploys care). 0, or -1 with *cause naming the bad field (nothing is
 * written then).
 */
int	 desired_apply_state(struct store *st, const char *node_id,
	    json_t *containers, int *grid_changed, char **cause);

#endif
