/*
 * proto.h - the agent <-> master wire protocol: constants both sides share.
 *
 * docs/protocol.md is the specification; this header only names its
 * numbers and strings so that the master's hub and the agent cannot drift.
 * Frames are JSON text, one message per websocket message, each an object
 * with a "type" field.
 */
#ifndef BERTH_PROTO_H
#define BERTH_PROTO_H

#define PROTO_VERSION		1
#define PROTO_WS_PROTOCOL	"berth-agent"	/* Sec-WebSocket-Protocol */
#define PROTO_MAX_FRAME		(4 * 1024 * 1024) /* largest frame accepted */

/* Upgrade request headers (case-insensitive, as HTTP). */
#define PROTO_HDR_PROTOCOL	"berth-protocol:"
#define PROTO_HDR_NODE_ID	"berth-node-id:"
#define PROTO_HDR_NODE_NAME	"berth-node-name:"
#define PROTO_HDR_LABELS	"berth-node-labels:"
#define PROTO_HDR_VERSION	"berth-agent-version:"
#define PROTO_HDR_GRID_TOKEN	"berth-grid-token:"
#define PROTO_HDR_NODE_TOKEN	"berth-node-token:"

#define PROTO_NODE_ID_LEN	32	/* lowercase hex characters */
#define PROTO_MAX_LABELS	256	/* labels in Berth-Node-Labels */
#define PROTO_MAX_LABELS_HDR	3072	/* bytes of its value (lws keeps
					   4096 for all upgrade headers) */

/* Close codes: the master closes a refused or ended session with these. */
enum proto_close {
	PROTO_CLOSE_SHUTDOWN = 1001,	/* master is going away */
	PROTO_CLOSE_BAD_HEADERS = 4000,	/* missing or invalid headers */
	PROTO_CLOSE_BAD_GRID_TOKEN = 4001,
	PROTO_CLOSE_BAD_NODE_TOKEN = 4002,
	PROTO_CLOSE_TOKEN_OTHER_NODE = 4003, /* node token of another node id */
	PROTO_CLOSE_VERSION = 4004,	/* protocol version mismatch */
	PROTO_CLOSE_PING_TIMEOUT = 4005,
	PROTO_CLOSE_NODE_REMOVED = 4006,
	PROTO_CLOSE_DUPLICATE = 4007,	/* a newer connection took over */
	PROTO_CLOSE_TOKEN_RESET = 4008,	/* node token reset by an operator */
	PROTO_CLOSE_RATE_LIMITED = 4009, /* too many failed attempts */
	PROTO_CLOSE_BAD_FRAME = 4010,	/* malformed or unknown frame */
};

/* Frame types. */
#define PROTO_T_WELCOME		"welcome"	/* master -> agent */
#define PROTO_T_DESIRED		"desired"	/* master -> agent */
#define PROTO_T_NODE_INFO	"node_info"	/* agent -> master */
#define PROTO_T_STATE		"state"		/* agent -> master */
#define PROTO_T_STATS		"stats"		/* agent -> master */

/* Container labels every berth container carries. */
#define PROTO_LABEL_GRID	"berth.grid"
#define PROTO_LABEL_STACK	"berth.stack"
#define PROTO_LABEL_SERVICE	"berth.service"
#define PROTO_LABEL_INSTANCE	"berth.instance"
#define PROTO_LABEL_NODE	"berth.node"
#define PROTO_LABEL_REV		"berth.rev"
#define PROTO_LABEL_SERVICE_ID	"berth.service-id"

#endif
