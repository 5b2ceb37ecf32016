/*
 * proto.h - the agent <-> master wire protocol: constants both sides share.
 *
 * docs/protocol.md is the specification; this header only names its
 * numbers and strings so that the master's hub and the agent cannot drift.
 * Frames are JSON text, one message per websocket message, each an object
 * with a "type" field. The only code is the close-code policy's lookup, in
 * proto.c.
 */
#ifndef BERTH_PROTO_H
#define BERTH_PROTO_H

#include <stddef.h>

#define PROTO_VERSION		1
/* The same number as the Berth-Protocol header spells it: "1". */
#define PROTO_VERSION_STR	PROTO_STR(PROTO_VERSION)
#define PROTO_STR(x)		PROTO_STR_(x)
#define PROTO_STR_(x)		#x
#define PROTO_WS_PROTOCOL	"berth-agent"	/* Sec-WebSocket-Protocol */
#define PROTO_MAX_FRAME		(4 * 1024 * 1024) /* largest frame accepted */
#define PROTO_MAX_DESIRED_PARTS	64	/* parts of one desired set */

/* Upgrade request headers (case-insensitive, as HTTP). */
#define PROTO_HDR_PROTOCOL	"berth-protocol:"
#define PROTO_HDR_NODE_ID	"berth-node-id:"
#define PROTO_HDR_NODE_NAME	"berth-node-name:"
#define PROTO_HDR_LABELS	"berth-node-labels:"
#define PROTO_HDR_VERSION	"berth-agent-version:"
#define PROTO_HDR_GRID_TOKEN	"berth-grid-token:"
#define PROTO_HDR_NODE_TOKEN	"berth-node-token:"
/* The agent's instance id at its provider (BERTH_PROVIDER_ID; aws-asg). */
#define PROTO_HDR_PROVIDER_ID	"berth-provider-id:"
#define PROTO_PROVIDER_ID_MAX	255
/*
 * Who is calling, beyond the node id: a random id the agent process makes
 * when it starts (32 lowercase hex) and the number of its connection
 * attempt (1, 2, ...). Two live sessions of one node id from different
 * instances are two machines presenting one identity (a cloned data
 * dir); a lower attempt of the same instance is a stale connection.
 */
#define PROTO_HDR_INSTANCE	"berth-agent-instance:"
#define PROTO_HDR_ATTEMPT	"berth-agent-attempt:"

#define PROTO_NODE_ID_LEN	32	/* lowercase hex characters */
#define PROTO_INSTANCE_LEN	32	/* lowercase hex characters */
#define PROTO_MAX_NODE_QUERY	256	/* node ids in one node_query */
#define PROTO_MAX_LABELS	256	/* labels in Berth-Node-Labels */
#define PROTO_MAX_ERROR		1024	/* bytes of an engine_error */
#define PROTO_MAX_OUTPUT	2048	/* bytes of a last_output */
#define PROTO_MAX_HEALTH_ERROR	512	/* bytes of a health_error */
#define PROTO_MAX_HOOK_NAME	256	/* bytes of a hook's name */
#define PROTO_MAX_HOOK_RUNS	16	/* hook runs in one report */
#define PROTO_MAX_LABELS_HDR	3072	/* bytes of its value (lws keeps
					   4096 for all upgrade headers) */

/*
 * Close codes: the master closes a refused or ended session with these.
 * Each has a row in proto_close_rules (proto.c) that says what it means
 * and what an agent does about it; docs/protocol.md's table is the same
 * rows (test_opt compares them).
 */
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
	PROTO_CLOSE_NODE_ID_IN_USE = 4011, /* another live agent holds the
					      node id (a cloned data dir) */
	PROTO_CLOSE_RETRY_LATER = 4012,	/* busy: come back after a delay */
	PROTO_CLOSE_NOT_LEADER = 4013,	/* a standby master: the reason names
					   the leader's agent URL */
};

/*
 * The reason text of a 4013 close names the leader's agent URL as
 * "leader at URL" (docs/ha.md); proto_leader_url() reads it back. Without
 * a leader known the reason says "no leader known".
 */
#define PROTO_LEADER_AT		"leader at "

/*
 * The reason text of a 4012 close carries the delay as "retry after N ms"
 * (N decimal milliseconds); proto_retry_after_ms() reads it back.
 */
#define PROTO_RETRY_AFTER_FMT	"retry after %lld ms"
#define PROTO_RETRY_AFTER_MIN_MS	100	/* what an agent accepts */
#define PROTO_RETRY_AFTER_MAX_MS	300000


/* What an agent does when the master closes with a code. */
enum proto_close_action {
	PROTO_CLOSE_DO_BACKOFF,		/* reconnect with the normal backoff */
	PROTO_CLOSE_DO_MAX_DELAY,	/* reconnect after the "max delay",
					   uniform in [cap/2, cap]: a refused
					   node must not retry in step with
					   the others */
	PROTO_CLOSE_DO_REJOIN,		/* forget the stored node token and
					   rejoin with the grid token (normal
					   backoff) */
	PROTO_CLOSE_DO_RETRY_AFTER,	/* reconnect after the delay the
					   reason gives, plus up to a quarter
					   of it at random; the backoff does
					   not grow (max delay if none) */
	PROTO_CLOSE_DO_REMOVED,		/* as REJOIN; and if the node is not
					   admitted again within the retire
					   grace, stop and remove the node's
					   containers */
	PROTO_CLOSE_DO_RESTART,		/* the master is going away, most
					   likely restarting: reconnect every
					   0.5-1.5 s for a minute without
					   growing the backoff, then with
					   backoff (agent/backoff.h) */
	PROTO_CLOSE_DO_NEW_NODE,	/* the node id is another machine's:
					   remove this node id's containers
					   from the local engine, then rejoin
					   as a new node (a new id) with the
					   grid token, or stop without one */
};

/* One row of the close-code policy. */
struct proto_close_rule {
	int			 code;	  /* enum proto_close */
	const char		*name;	  /* short, for logs: "bad_node_token" */
	const char		*meaning; /* docs/protocol.md's words */
	enum proto_close_action	 action;  /* what the agent does */
};

extern const struct proto_close_rule proto_close_rules[];
extern const size_t proto_close_nrules;

/* The rule of a code, or NULL for a code the protocol does not define. */
const struct proto_close_rule *proto_close_rule(int code);
/* What to do on code: its rule's action, PROTO_CLOSE_DO_BACKOFF if none. */
enum proto_close_action proto_close_action(int code);
/* docs/protocol.md's words for an action ("reconnect with backoff"). */
const char	*proto_close_action_text(enum proto_close_action action);
/*
 * The delay of a 4012 close's reason (len bytes, not terminated): N of
 * "retry after N ms", clamped to [PROTO_RETRY_AFTER_MIN_MS,
 * PROTO_RETRY_AFTER_MAX_MS]; -1 when the reason has none.
 */
long long	 proto_retry_after_ms(const char *reason, size_t len);
/*
 * The wait before reconnecting on a 4012 with that delay: the delay plus
 * up to a quarter of it, picked by rnd.
 */
long long	 proto_retry_after_jitter_ms(long long delay, unsigned rnd);
/*
 * The URL of a 4013 close's reason (len bytes, not terminated): what
 * follows "leader at " up to a space or the end, copied into out (NUL
 * terminated). 0, or -1 when the reason names none or it does not fit.
 */
int		 proto_leader_url(const char *reason, size_t len, char *out,
		    size_t outlen);

/* Frame types. */
#define PROTO_T_WELCOME		"welcome"	/* master -> agent */
#define PROTO_T_DESIRED		"desired"	/* master -> agent */
#define PROTO_T_DESIRED_PART	"desired_part"	/* master -> agent */
#define PROTO_T_NODE_INFO	"node_info"	/* agent -> master */
#define PROTO_T_STATE		"state"		/* agent -> master */
#define PROTO_T_STATS		"stats"		/* agent -> master */
#define PROTO_T_LOGS		"logs"		/* agent -> master */
#define PROTO_T_LOGS_ACK	"logs_ack"	/* master -> agent */
#define PROTO_T_NETWORK		"network"	/* master -> agent: peers */
#define PROTO_T_NAMES		"names"		/* master -> agent: DNS */

/*
 * Container logs (docs/protocol.md, "logs"; docs/logs.md). A line's text
 * is at most PROTO_LOG_LINE_MAX bytes of UTF-8 (longer lines travel in
 * pieces); an agent keeps a logs frame under PROTO_LOG_FRAME_BYTES as
 * written, with at most PROTO_LOG_FRAME_LINES entries over at most
 * PROTO_LOG_FRAME_STREAMS containers, and has at most PROTO_LOG_INFLIGHT
 * frames unacknowledged: so the master holds a bounded amount per agent.
 */
#define PROTO_LOG_LINE_MAX	16384
#define PROTO_LOG_FRAME_BYTES	(512 * 1024)
#define PROTO_LOG_FRAME_LINES	8192
#define PROTO_LOG_FRAME_STREAMS	256
#define PROTO_LOG_INFLIGHT	4

/*
 * Exec (docs/exec.md; docs/protocol.md, "Exec"). Control frames are JSON
 * text like the others, each with the session's "id" (1 .. 2^32-1, chosen
 * by the master). Data travels in binary frames: one byte of stream, the
 * id in 4 bytes big-endian, then the bytes. Each direction of a session
 * has a window: the sender may have at most PROTO_EXEC_WINDOW bytes of
 * data not yet acknowledged by an exec_ack from the receiver.
 */
#define PROTO_T_EXEC_START	"exec_start"	/* master -> agent */
#define PROTO_T_EXEC_RESIZE	"exec_resize"	/* master -> agent */
#define PROTO_T_EXEC_EOF	"exec_eof"	/* master -> agent: stdin ended */
#define PROTO_T_EXEC_CANCEL	"exec_cancel"	/* master -> agent: end it */
#define PROTO_T_EXEC_ACK	"exec_ack"	/* both: data bytes consumed */
#define PROTO_T_EXEC_STARTED	"exec_started"	/* agent -> master */
#define PROTO_T_EXEC_END	"exec_end"	/* agent -> master: exit or error */

#define PROTO_EXEC_STDIN	0	/* binary frame streams */
#define PROTO_EXEC_STDOUT	1
#define PROTO_EXEC_STDERR	2
#define PROTO_EXEC_HDR		5	/* stream byte + 4-byte id */
#define PROTO_EXEC_WINDOW	(256 * 1024) /* unacknowledged data bytes */
#define PROTO_EXEC_CHUNK	(32 * 1024)  /* largest data frame payload */
#define PROTO_EXEC_MAX_AGENT	32	/* sessions an agent runs at once */

#define PROTO_T_NODE_QUERY	"node_query"	/* agent -> master */
#define PROTO_T_NODE_STATUS	"node_status"	/* master -> agent */

/* A node_status answer per node id. */
#define PROTO_NODE_GONE		"gone"		/* removed from this grid */
#define PROTO_NODE_KNOWN	"known"		/* a node of this master */
#define PROTO_NODE_UNKNOWN	"unknown"	/* never heard of it */

/* Container labels every berth container carries. */
#define PROTO_LABEL_GRID	"berth.grid"
#define PROTO_LABEL_STACK	"berth.stack"
#define PROTO_LABEL_SERVICE	"berth.service"
#define PROTO_LABEL_INSTANCE	"berth.instance"
#define PROTO_LABEL_NODE	"berth.node"
#define PROTO_LABEL_REV		"berth.rev"
#define PROTO_LABEL_SERVICE_ID	"berth.service-id"
#define PROTO_LABEL_DAEMON	"berth.daemon"	/* "true": a daemon service's */
/* ... and every job container (docs/jobs.md). */
#define PROTO_LABEL_JOB		"berth.job"		/* job name */
#define PROTO_LABEL_JOB_ID	"berth.job-id"
#define PROTO_LABEL_JOB_INDEX	"berth.job-index"	/* its task */
#define PROTO_LABEL_ATTEMPT	"berth.attempt"		/* its attempt id */

#endif
