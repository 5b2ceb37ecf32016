/*
 * conn.h - the agent's websocket to the master (libwebsockets client).
 *
 * One lws service thread owns the context and the socket. Other threads
 * only call conn_send(), which queues a serialized frame and wakes the
 * service thread with lws_cancel_service() (the lws threads pattern).
 */
#ifndef BERTH_AGENT_CONN_H
#define BERTH_AGENT_CONN_H

#include <stddef.h>

struct agent_config;
struct converge;
struct conn;
struct logs;
struct exec_mgr;

struct conn *conn_new(const struct agent_config *cfg, const char *node_id,
	    char *node_token);
/* Wire the converge thread in before conn_start(). */
void	 conn_set_converge(struct conn *c, struct converge *conv);
/* Wire the log thread in before conn_start(). */
void	 conn_set_logs(struct conn *c, struct logs *logs);
/* Any thread: the log thread has a frame ready; wake the service thread. */
void	 conn_logs_wake(struct conn *c);
/* Wire the exec sessions in before conn_start(). */
void	 conn_set_exec(struct conn *c, struct exec_mgr *x);
/* Create the lws context and the service thread; -1 with *cause. */
int	 conn_start(struct conn *c, char **cause);
/* Any thread: send frame (ownership taken) if a session is up, else drop. */
void	 conn_send(struct conn *c, char *frame);
/*
 * The same for a binary frame of len bytes (an exec data frame). Binary
 * frames are never shed when the queue is full: their senders' windows
 * bound them.
 */
void	 conn_send_binary(struct conn *c, void *data, size_t len);
/*
 * Close the socket (going away) and stop the service thread; conn_send()
 * stays safe to call (it drops). Then, once no other thread can call
 * conn_send(), conn_free() frees everything.
 */
void	 conn_stop(struct conn *c);
void	 conn_free(struct conn *c);

#endif
