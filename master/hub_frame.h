/*
 * hub_frame.h - validation of what agents send the master, without I/O.
 *
 * The hub (ws thread) checks every agent frame with frame_check() before
 * it acts on one, and parses the Berth-Node-Labels header with
 * frame_labels(). Both are pure, so tests/fuzz/fuzz_master_frame.c and
 * fuzz_labels.c run them on arbitrary input.
 */
#ifndef BERTH_HUB_FRAME_H
#define BERTH_HUB_FRAME_H

#include <jansson.h>

enum frame_type {
	FRAME_STATS,		/* "stats": cpu_pct, mem_used, ... */
	FRAME_STATE,		/* "state": containers' reported states */
	FRAME_NODE_INFO,	/* "node_info": resources and versions */
	FRAME_LOGS,		/* "logs": container output; log_frame.h
				   checks the rest */
	FRAME_EXEC_STARTED,	/* "exec_started": id */
	FRAME_EXEC_ACK,		/* "exec_ack": id, bytes (stdin consumed) */
	FRAME_EXEC_END,		/* "exec_end": id, exit_code or error */
	FRAME_NODE_QUERY,	/* "node_query": node ids seen on the engine */
};

/*
 * Check a parsed frame: an object with a known "type" whose fields have
 * the types docs/protocol.md gives (for "state", every entry of
 * "containers"). The frame type in *type, and 0; or -1 with *cause (caller
 * frees) naming the bad field.
 */
int	 frame_check(json_t *f, enum frame_type *type, char **cause);
/* The "containers" of a state frame (hub_desired.c checks them again). */
int	 frame_state_containers(json_t *containers, char **cause);
/* A state frame's "jobs": an array of attempt reports. 0, or -1. */
int	 frame_state_jobs(json_t *jobs, char **cause);

/*
 * Parse a Berth-Node-Labels value, "k=v,k=v" (commas or spaces), into a
 * JSON array text (caller frees). NULL when a label is invalid, a key
 * repeats or there are more than PROTO_MAX_LABELS.
 */
char	*frame_labels(const char *in);

#endif
