/*
 * converge.h - the converge thread: desired set -> Docker, states -> master.
 *
 * The websocket thread hands it desired frames (as text) and session
 * starts; it never blocks the websocket thread. It sends state frames (and
 * node_info once it learns the Docker version) through conn_send().
 */
#ifndef BERTH_AGENT_CONVERGE_H
#define BERTH_AGENT_CONVERGE_H

#include <stddef.h>

#include <jansson.h>

struct agent_config;
struct conn;
struct converge;

struct converge *converge_new(const struct agent_config *cfg,
	    const char *node_id, struct conn *conn);
void	 converge_start(struct converge *c);
/* Stop the thread (aborting Docker calls in progress), join, free. */
void	 converge_free(struct converge *c);

/* Any thread: a desired frame arrived (copied). */
void	 converge_post_desired(struct converge *c, const char *text,
	    size_t len);
/*
 * Any thread: a new session was welcomed into grid (the welcome's name,
 * copied; NULL if it gave none); send a full state soon.
 */
void	 converge_post_session(struct converge *c, const char *grid);
/* Any thread: that session ended (no new job attempt starts until the
 * next session's desired set). */
void	 converge_post_session_end(struct converge *c);
/* Any thread: the master's node_status answer (a frame, copied). */
void	 converge_post_node_status(struct converge *c, const char *text,
	    size_t len);

/* Any thread: the master's network frame (copied; docs/network.md). */
void	 converge_post_network(struct converge *c, const char *text,
	    size_t len);
/*
 * Any thread: the master's names frame (borrowed; docs/dns.md), for the
 * node's DNS server. A bad one is logged and the last kept.
 */
void	 converge_post_names(struct converge *c, json_t *frame);
/* Any thread: this session's underlay address ("" when unknown). */
void	 converge_post_peer_address(struct converge *c, const char *addr);

/* Called on the converge thread once a retirement is done. */
typedef void converge_retired_fn(void *arg);
/*
 * Any thread: stop and remove every container of this node on the engine
 * (an empty desired set, applied without the master), because of why
 * (copied, for the log). done(arg) runs on the converge thread once none
 * is left (done may be NULL). A desired frame from the master afterwards
 * replaces the empty set as usual.
 */
void	 converge_post_retire(struct converge *c, const char *why,
	    converge_retired_fn *done, void *arg);
/*
 * Any thread: from now on this node is node_id (a new identity after the
 * old one was found in use elsewhere). Call after a retirement is done;
 * the desired set, the records and the report start afresh.
 */
void	 converge_set_node_id(struct converge *c, const char *node_id);
/* Any thread: the engine version, or NULL if not known yet (caller frees). */
char	*converge_docker_version(struct converge *c);
/* Any thread: containers this node owns, as of the last pass. */
int	 converge_ncontainers(struct converge *c);

#endif
