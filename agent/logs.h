/*
 * logs.h - the agent's log thread: follows the output of every container
 * this node owns and ships it to the master (docs/logs.md).
 *
 * The thread never touches the converge thread's state and the converge
 * thread never waits on it: a slow or absent master only fills the
 * per-container buffers (agent/logbuf.h), which then drop and count. The
 * websocket thread takes the next logs frame when it has nothing else to
 * write (logs_take_frame()), and passes the master's logs_ack frames and
 * the session's start and end back in.
 */
#ifndef BERTH_AGENT_LOGS_H
#define BERTH_AGENT_LOGS_H

#include <stdint.h>

struct agent_config;
struct conn;
struct logs;

struct logs	*logs_new(const struct agent_config *cfg, const char *node_id,
		    struct conn *conn);
void		 logs_start(struct logs *l);
/* Stop the thread, write the cursor file, free. NULL is a no-op. */
void		 logs_free(struct logs *l);

/* ws thread: the next frame to write (caller frees), or NULL. */
char		*logs_take_frame(struct logs *l);
/* ws thread: is a frame waiting? */
int		 logs_frame_ready(struct logs *l);
/* ws thread: a session was welcomed / ended. */
void		 logs_session_start(struct logs *l);
void		 logs_session_end(struct logs *l);
/* ws thread: a logs_ack frame (retry: send again from the last ack). */
void		 logs_on_ack(struct logs *l, int64_t seq, int retry);
/* Any thread: this node is node_id from now on (a new identity, 4011). */
void		 logs_set_node_id(struct logs *l, const char *node_id);

#endif
