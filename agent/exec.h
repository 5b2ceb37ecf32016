/*
 * exec.h - exec sessions on the agent: the master's exec_start runs a
 * command in one of this node's containers through Docker's exec API,
 * and its output goes back as binary frames (docs/exec.md,
 * docs/protocol.md "Exec").
 *
 * The websocket thread hands frames in (exec_on_frame(), exec_on_data(),
 * exec_lost()) and never blocks on them: each session runs on a thread of
 * its own, which talks to Docker and sends through conn_send(). A
 * session's output is bounded by the master's window (PROTO_EXEC_WINDOW
 * bytes not yet acknowledged), so a slow operator stalls only the
 * command's own output pipe, never the agent.
 */
#ifndef BERTH_AGENT_EXEC_H
#define BERTH_AGENT_EXEC_H

#include <stddef.h>

#include <jansson.h>

struct agent_config;
struct conn;
struct exec_mgr;

struct exec_mgr *exec_new(const struct agent_config *cfg, const char *node_id,
	    struct conn *conn);
/* End every session (their processes are killed), join, free. */
void	 exec_free(struct exec_mgr *x);

/* ws thread: an exec_* control frame (type is its "type"). */
void	 exec_on_frame(struct exec_mgr *x, const char *type, json_t *f);
/* ws thread: a binary frame (stream, id, bytes). */
void	 exec_on_data(struct exec_mgr *x, const unsigned char *data,
	    size_t len);
/* ws thread: the session to the master ended: every exec ends. */
void	 exec_lost(struct exec_mgr *x);
/* Any thread: this node is node_id from now on (a new identity, 4011). */
void	 exec_set_node_id(struct exec_mgr *x, const char *node_id);
/* Sessions running now (any thread). */
int	 exec_count(struct exec_mgr *x);

#endif
