/*
 * hub.h - the agent websocket hub: one libwebsockets service thread that
 * owns every agent session.
 *
 * Other threads never touch lws objects: they call hub_node_changed() or
 * hub_kick(), which push a message onto the hub's locked inbox and call
 * lws_cancel_service(); the service thread drains the inbox (the
 * minimal-ws-server-threads pattern).
 */
#ifndef BERTH_HUB_H
#define BERTH_HUB_H

#include "master/master.h"

struct hub	*hub_start(struct master *m, char **cause);
void		 hub_stop(struct hub *h);	/* NULL is a no-op */
/* The node's desired set changed: re-send it if the node is connected. */
void		 hub_node_changed(struct hub *h, const char *node_id);
/* Close the node's session, if any, with close_code. */
void		 hub_kick(struct hub *h, const char *node_id, int close_code);
/*
 * The log store wrote (retry 0) or refused (retry 1) a node's logs frames
 * up to seq on hub session serial: tell the agent, if that session is
 * still the node's (any thread).
 */
void		 hub_logs_ack(struct hub *h, const char *node_id,
		    uint64_t session, int64_t seq, int retry);
/* Number of connected agents (any thread; approximate). */
int		 hub_connected(struct hub *h);

#endif
