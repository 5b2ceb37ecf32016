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

#include <stddef.h>
#include <stdint.h>

/* What the exec relay asks of an agent's session (hub_exec_send()). */
enum hub_exec_op {
	HUB_EXEC_START,		/* data: the exec_start frame; the hub now
				   routes the agent's frames of this id */
	HUB_EXEC_CONTROL,	/* data: an exec_resize or exec_eof frame */
	HUB_EXEC_STDIN,		/* data: stdin bytes (the hub frames them) */
	HUB_EXEC_ACK,		/* num: output bytes the operator took */
	HUB_EXEC_CANCEL,	/* the operator left: exec_cancel, forget it */
};

struct hub	*hub_start(struct master *m, char **cause);
/*
 * Tell every agent the master is going away (1001) and stop; NULL is a
 * no-op. For the master's exit: with HUB_STOP_DESTROY_MAX sockets or more
 * they are left for the exit to close (hub.c says why).
 */
void		 hub_stop(struct hub *h);
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
/*
 * Any thread (the exec relay): pass op on session id to node_id's agent.
 * data (len bytes) is copied. When the node has no session the relay
 * hears EXEC_FA_LOST back.
 */
void		 hub_exec_send(struct hub *h, const char *node_id, uint32_t id,
		    enum hub_exec_op op, const void *data, size_t len,
		    int64_t num);
/* Number of connected agents (any thread; approximate). */
int		 hub_connected(struct hub *h);
/*
 * Roles of a clustered master (docs/ha.md): lead (admit agents, keep
 * sessions) or not (close every session and refuse new ones with 4013,
 * naming leader_agent_url, or "no leader known" when NULL or empty). Any
 * thread; the ws thread applies it on its next turn. A deposed hub writes
 * nothing more to the store for the sessions it closes.
 */
void		 hub_set_leader(struct hub *h, int lead,
		    const char *leader_agent_url);

/* What GET /metrics reports of the hub (any thread; approximate). */
struct hub_stats {
	long long	 sessions;	/* agents connected */
	long long	 waiting;	/* sessions waiting for admission */
	long long	 admitted;	/* sessions admitted since start */
	double		 admit_busy_s;	/* seconds with sessions waiting */
	long long	 shed;		/* sessions told to retry later (4012) */
	double		 stalled_s;	/* seconds the loop stalled */
};
void		 hub_stats(struct hub *h, struct hub_stats *out);

#endif
