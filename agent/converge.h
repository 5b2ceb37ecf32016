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
/* Any thread: a new session was welcomed; send a full state soon. */
void	 converge_post_session(struct converge *c);
/* Any thread: that session ended (no new job attempt starts until the
 * next session's desired set). */
void	 converge_post_session_end(struct converge *c);
/* Any thread: the engine version, or NULL if not known yet (caller frees). */
char	*converge_docker_version(struct converge *c);
/* Any thread: containers this node owns, as of the last pass. */
int	 converge_ncontainers(struct converge *c);

#endif
