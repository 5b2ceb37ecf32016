/*
 * hub_int.h - what hub.c and hub_admit.c share: the hub's structures and
 * the functions each calls in the other. Private to master/hub*.c;
 * everything here runs on the ws thread unless its comment says otherwise.
 *
 *	hub.c		sessions, frames, liveness, the inbox, the work
 *			queues, start and stop
 *	hub_admit.c	admission: headers, tokens, per-address limits,
 *			batches, shedding, the claim verdict of each
 *	hub_claim.c	a second claimant of a node id (hub_claim.h)
 *
 * The hub's other files are modules with their own headers, used only
 * from the ws thread: hub_outq.c (a session's out queue), hub_desired.c
 * (desired sets and state reports) and hub_frame.c (checks of agent
 * frames, pure).
 */
#ifndef BERTH_HUB_INT_H
#define BERTH_HUB_INT_H

#include "master/hub.h"
#include "master/hub_frame.h"
#include "master/hub_outq.h"
#include "master/hub_desired.h"
#include "master/token.h"

#include "common/proto.h"

#include "common/util.h"

#include <stddef.h>
#include <sys/socket.h>

#include <ev.h>
#include <jansson.h>
#include <libwebsockets.h>

#define HUB_BUCKETS		4096	/* session hash buckets (power of 2) */
#define HUB_FAIL_SLOTS		1024	/* peers tracked for rate limiting */
#define HUB_FAIL_MAX		20	/* failed attempts per window ... */
#define HUB_FAIL_WINDOW_MS	60000	/* ... before refusing outright */
#define HUB_SEEN_FLUSH_MS	2000	/* last-seen batch period */
#define HUB_SEEN_ROWS		2000	/* rows a last-seen transaction */
#define HUB_RESEND_MS		60000	/* re-send desired sets this often */
#define HUB_SETTINGS_MS		2000	/* grid settings cache lifetime */
#define HUB_PENDING_SLOTS	1024	/* addresses with connections pending */
#define HUB_PENDING_MAX		256	/* not yet upgraded, per address */
#define HUB_ADMIT_BATCH		128	/* sessions admitted per transaction */
#define HUB_DESIRED_BATCH	64	/* desired sets built per query */
#define HUB_WORK_MS		10	/* queued work per loop turn, then I/O */
#define HUB_SHED_WAIT_MS	2000	/* admission wait that sheds new
					   sessions with a retry-after close */
#define HUB_RETRY_MIN_MS	1000	/* retry-after bounds */
#define HUB_RETRY_MAX_MS	30000
#define HUB_TICK_MS		250	/* hub_tick() period */
#define HUB_LAG_MS		250	/* a tick later than this is a stall */
#define HUB_STOP_GRACE_MS	300	/* shutdown: close frames, then exit */
#define HUB_STOP_DESTROY_MAX	1000	/* more sockets: left to the exit */

enum hub_msg_type { HUB_MSG_CHANGED, HUB_MSG_KICK, HUB_MSG_LOGS_ACK,
    HUB_MSG_EXEC };

/* A request from another thread, waiting in the inbox. */
struct hub_msg {
	struct hub_msg		*next;		/* inbox order */
	enum hub_msg_type	 type;		/* what to do */
	int			 code;		/* close code for KICK; for
						   LOGS_ACK 1 means retry */
	uint64_t		 session;	/* LOGS_ACK: session serial */
	int64_t			 seq;		/* LOGS_ACK: frame number */
	char			 node_id[NODE_ID_LEN + 1]; /* which node */
	enum hub_exec_op	 exec_op;	/* EXEC: what (hub.h) */
	uint32_t		 exec_id;	/* EXEC: the session */
	int64_t			 num;		/* EXEC: ack bytes */
	unsigned char		*data;		/* EXEC: payload, or NULL */
	size_t			 len;		/* its bytes */
};

/* An exec session that runs on an agent (hub_exec.c). */
struct hub_exec {
	uint32_t		 id;		/* the relay's session id */
	int64_t			 unacked;	/* output bytes the relay has
						   not acknowledged */
};

/*
 * An admission decided but not yet carried out: what hub_admit_join()
 * records and welcomes. Held by a parked claimant (hub_claim.c).
 */
struct hub_join {
	char		 id[NODE_ID_LEN + 1];	/* node id */
	char		 name[64];		/* name asked for */
	char		*labels;		/* JSON array text, owned */
	char		 version[64];		/* agent version */
	int64_t		 grid_id;		/* grid it joins */
	int		 minted;		/* a node token was minted */
	unsigned char	 hash[TOKEN_HASH_LEN];	/* its hash */
	char		 new_token[TOKEN_LEN + 1]; /* it; secret */
	int64_t		 until;			/* parked: hub_clock() ms
						 * deadline */
	int64_t		 machine_id;		/* a group's machine joining
						 * with its join token, or 0 */
	unsigned char	 join_hash[TOKEN_HASH_LEN]; /* that token's hash */
	int		 is_new;		/* no node has its id yet */
	int		 pending;		/* a new node: waits for
						 * approval (hub_admit_approval) */
	char		 pending_why[160];	/* why */
	int		 pending_now;		/* the node is pending after
						 * the join (from the store) */
};

/* A new session's upgrade headers, kept until it is admitted or refused. */
struct hub_hello {
	char		 id[NODE_ID_LEN + 1];	/* Berth-Node-Id */
	char		 name[64];		/* Berth-Node-Name */
	char		 version[64];		/* Berth-Agent-Version */
	char		*labels;		/* Berth-Node-Labels, JSON */
	int		 grid_token;		/* joins with the grid token */
	unsigned char	 hash[TOKEN_HASH_LEN];	/* its token's SHA-256 */
	char		 provider_id[PROTO_PROVIDER_ID_MAX + 1]; /*
						   Berth-Provider-Id, or "" */
};

struct hub_sess;

/* A queue of sessions, linked through the sessions' own fields. */
struct hub_list {
	struct hub_sess	*head, *tail;
	size_t		 n;
};

/* A session's place in one hub_list. */
struct hub_link {
	struct hub_sess	*next, *prev;
	int		 on;		/* linked */
};

/* One agent connection; lws allocates and zeroes it (per-session data). */
struct hub_sess {
	struct hub		*h;		/* the hub */
	struct lws		*wsi;		/* its connection */
	char			 peer[64];	/* peer address */
	int			 authed;	/* welcome sent */
	int			 pending;	/* its node waits for approval:
						 * no desired set is sent */
	uint64_t		 serial;	/* unique per session */
	struct hub_hello	*hello;		/* waiting for admission */
	int64_t			 queued_at;	/* mono ms it was queued */
	struct hub_link		 admit;		/* in h->admitq */
	struct hub_link		 dirty;		/* in h->dirtyq */
	int			 desired_force;	/* queue the set even if same */
	int			 close_sent;	/* shutdown: close frame written */
	int			 offline_done;	/* already marked offline */
	int			 close_code;	/* nonzero: close when writable */
	char			 close_why[124]; /* reason sent with it (a
						 * close frame holds 123) */
	char			 node_id[NODE_ID_LEN + 1]; /* its node */
	char			 name[64];	/* node name */
	int64_t			 grid_id;	/* node's grid */
	struct buf		 rx;		/* fragments of the frame */
	struct hub_outq		 outq;		/* frames to send */
	int			 ping_due;	/* send a ping when writable */
	int64_t			 last_rx;	/* mono ms of last frame/pong */
	int64_t			 last_ping;	/* mono ms of last ping */
	int64_t			 last_desired_at; /* mono ms last_desired was
						 * queued */
	int64_t			 seen_at;	/* wall ms of last frame/pong */
	double			 cpu_pct;	/* last stats, or -1 */
	int64_t			 mem_used;	/* last stats, or -1 */
	int64_t			 mem_total;	/* last stats, or -1 */
	int64_t			 containers;	/* last stats, or -1 */
	int			 seen_dirty;	/* seen_at/stats unsaved */
	char			*last_desired;	/* last "containers" queued:
						 * sent, or pending in outq */
	char			*last_state;	/* last "containers" recorded */
	int			 rx_binary;	/* rx is a binary message */
	struct hub_exec		*execs;		/* its exec sessions */
	size_t			 nexecs;	/* entries in execs */
	int			 engine;	/* its Docker Engine as the agent
						 * last said: 0 not yet, 1 up,
						 * 2 down */
	char			*engine_error;	/* why it is down, or NULL */
	char			*last_state_raw; /* that state frame, as sent */
	char			 instance[PROTO_INSTANCE_LEN + 1]; /* the agent
						 * process, "" if not sent */
	long			 attempt;	/* its attempt number, or 0 */
	struct hub_join		*claim;		/* parked: another session
						 * holds the node id */
	int64_t			 probe_at;	/* hub_clock() ms a claim's probe
						 * ping was queued (holder), or
						 * 0 */
	uint64_t		 net_gen;	/* its grid's network frame
						 * generation last queued */
	uint64_t		 names_gen;	/* and its names frame's */
	struct hub_sess		*hnext;		/* hash chain by node id */
	struct hub_sess		*lnext, *lprev;	/* list of all sessions */
};

/* Failed attempts from one peer address (rate limiting). */
struct hub_fail {
	char		 peer[64];	/* address, "" if free */
	int		 count;		/* failures in the window */
	int64_t		 window_start;	/* mono ms */
};

/*
 * Connections from one address that are not yet websockets (TCP, TLS or
 * the upgrade request under way). Capped per address, so one peer cannot
 * hold the hub's descriptors with half-open upgrades (slow loris); each
 * also ends after info.timeout_secs whatever it sends.
 */
struct hub_pending {
	unsigned char	 addr[16];	/* IPv6, or IPv4 mapped */
	int		 n;		/* pending connections; 0: slot free */
};

/* A grid's last "network" frame (hub_network.c). */
struct hub_net {
	int64_t		 grid_id;	/* whose */
	struct hub_shared *text;	/* the frame, or NULL */
	uint64_t	 gen;		/* bumped when text changes */
	struct hub_shared *names;	/* the names frame, or NULL */
	uint64_t	 names_gen;	/* bumped when names changes */
	int		 seen;		/* the grid has sessions (a tick's) */
};

/* Liveness settings of a grid, cached for the tick. */
struct hub_grid {
	int64_t		 id;		/* grid id */
	char		 name[64];	/* grid name, for welcome */
	int64_t		 heartbeat_ms;	/* ping period */
	int64_t		 offline_ms;	/* silence before offline */
};

struct hub {
	struct master		*m;		/* the master */
	struct lws_context	*ctx;		/* owned by the ws thread */
	pthread_t		 thread;	/* the ws thread */
	atomic_int		 stop;		/* ask the thread to end */
	struct ev_loop		*loop;		/* libev (epoll) loop the ws
						 * thread runs, or NULL: poll */
	void			*foreign[1];	/* loop, as lws wants it */
	int			 stopping;	/* shutdown begun (ws thread) */
	int			 done;		/* leave the loop (ws thread) */
	lws_sorted_usec_list_t	 final;		/* end of the shutdown grace */
	int64_t			 stop_at;	/* mono ms shutdown began */
	atomic_int		 n_connected;	/* authed sessions */

	pthread_mutex_t		 lock;		/* guards inbox, leader_why */
	struct hub_msg		*inbox;		/* from other threads */
	struct hub_msg		*inbox_tail;
	/* Roles (docs/ha.md): the watcher sets want_lead; the ws thread
	 * applies it to led. A hub that does not lead admits nobody. */
	atomic_int		 want_lead;
	int			 led;		/* ws thread */
	char			 leader_why[124]; /* a 4013's reason */

	/* Below: ws thread only. */
	struct store		*st;		/* ws thread's connection */
	struct hub_sess		*by_id[HUB_BUCKETS]; /* current sessions */
	struct hub_sess		*all;		/* every session */
	struct hub_fail		 fails[HUB_FAIL_SLOTS]; /* rate limiting */
	struct hub_pending	 pending[HUB_PENDING_SLOTS]; /* per address */
	int64_t			 capped_logged;	/* mono ms of last cap log */
	struct hub_grid		*grids;		/* settings cache */
	size_t			 n_grids;
	int64_t			 grids_at;	/* mono ms of last load */
	struct hub_grid		 grid_default;	/* a grid not in the cache
						   yet: the shipped defaults */
	int64_t			 seen_flushed;	/* mono ms of last flush */
	int			 seen_more;	/* the last left some unsaved */
	int			 n_claims;	/* parked claimants */
	uint64_t		 generation;	/* desired frame counter */
	uint64_t		 serials;	/* sessions so far */
	lws_sorted_usec_list_t	 tick;		/* hub_tick(), every 250 ms */
	int64_t			 tick_at;	/* mono ms of the last tick */
	int64_t			 lag;		/* ms the loop stalled, in sum */
	struct hub_list		 admitq;	/* sessions to admit, in order */
	struct hub_list		 dirtyq;	/* sessions whose set to rebuild */
	lws_sorted_usec_list_t	 work;		/* hub_work(): the queues */
	int			 work_armed;	/* hub_work() is scheduled */
	double			 admit_us;	/* us per admission (average) */
	uint64_t		 rnd;		/* retry-after jitter state */
	struct desired_cache	*dcache;	/* services' parts of sets */
	struct hub_net		*nets;		/* network frames by grid */
	size_t			 n_nets;
	int			 net_dirty;	/* rebuild them at the next tick */
	int64_t			 net_built_at;	/* mono ms of the last rebuild */
	int64_t			 admit_since;	/* mono us admitq became non-empty,
						 * 0 while it is empty */
	/* Counters for hub_stats(), written on the ws thread only. */
	atomic_llong		 n_admitted;	/* sessions admitted, ever */
	atomic_llong		 n_shed;	/* sessions told to come back */
	atomic_llong		 n_waiting;	/* admitq.n */
	atomic_llong		 admit_busy_us;	/* us with admitq non-empty */
	atomic_llong		 lag_ms;	/* lag, for other threads */
};

/* hub_network.c: the grids' network frames (peer lists). */
/* Something may have changed a peer list: rebuild at the next tick. */
void		 hub_network_touch(struct hub *h);
/* From hub_tick(): rebuild what is due, send what changed. */
void		 hub_network_tick(struct hub *h, int64_t raw);
void		 hub_network_free(struct hub *h);

/* hub.c */
/* The liveness clock: monotonic ms, less the time the loop stalled. */
int64_t		 hub_clock(struct hub *h);
/* Bytes s's peer sent that the loop has not read yet. */
int		 hub_unread(struct hub_sess *s);
/* The reason of a 4013 close (the leader's agent URL), copied out. */
void		 hub_leader_why(struct hub *h, char *out, size_t len);
void		 hub_list_push(struct hub_list *l, struct hub_sess *s,
		    size_t off);
void		 hub_list_remove(struct hub_list *l, struct hub_sess *s,
		    size_t off);
#define HUB_ADMITQ	offsetof(struct hub_sess, admit)
#define HUB_DIRTYQ	offsetof(struct hub_sess, dirty)
/* Ask for hub_work() on the next loop turn. */
void		 hub_work_arm(struct hub *h);
/* Account the admission queue's busy time; call after it changed. */
void		 hub_admitq_changed(struct hub *h);
size_t		 hub_hash(const char *id);
struct hub_sess	*hub_find(struct hub *h, const char *id);
void		 hub_unindex(struct hub *h, struct hub_sess *s);
void		 hub_close(struct hub_sess *s, int code, const char *why);
/* Queue frame after those already queued; takes the caller's reference. */
void		 hub_queue_json(struct hub_sess *s, json_t *frame);
/* Queue len bytes (copied) as a frame of kind. */
void		 hub_queue_shared(struct hub_sess *s, struct hub_shared *sh);
void		 hub_queue_raw(struct hub_sess *s, enum hub_out_kind kind,
		    const void *data, size_t len);
/* Queue the desired sets of n sessions, each if it changed or forced. */
void		 hub_send_desired(struct hub *h, struct hub_sess **v, size_t n);
/* Rebuild the session's set soon (coalesced: once however often). */
void		 hub_mark_dirty(struct hub *h, struct hub_sess *s, int force);
const struct hub_grid *hub_grid_settings(struct hub *h, int64_t grid_id);

/* hub_exec.c: exec sessions between the relay and the agents. */
/* A relay message for s's agent; s NULL when the node is not connected. */
void		 hub_exec_to_agent(struct hub *h, struct hub_sess *s,
		    struct hub_msg *msg);
/* An exec_* frame from s's agent, checked by frame_check(). */
void		 hub_exec_from_agent(struct hub *h, struct hub_sess *s, json_t *f,
		    enum frame_type type);
/* A binary frame from s's agent (closes s when it breaks the rules). */
void		 hub_exec_data_from_agent(struct hub *h, struct hub_sess *s,
		    const unsigned char *data, size_t len);
/* s ended: its exec sessions are lost. */
void		 hub_exec_sess_end(struct hub *h, struct hub_sess *s);

/* hub_admit.c */
/*
 * A new session: check its headers and queue it for admission, refuse it,
 * or (the queue too long) tell it to come back later.
 */
void		 hub_admit_begin(struct hub *h, struct hub_sess *s);
/*
 * Admit up to HUB_ADMIT_BATCH queued sessions; each gets its claim
 * verdict (hub_claim.h) in the batch: admitted, closed as stale, or
 * parked while the live holder of its node id is probed.
 */
void		 hub_admit_run(struct hub *h);
void		 hub_hello_free(struct hub_hello *hello);
/*
 * Admit s as j on its own (a parked claimant whose holder is gone or did
 * not answer): record the join, take over from an older session of the
 * node, welcome it and queue its desired set. On a store error s is
 * closed (1001). j stays the caller's.
 */
void		 hub_admit_join(struct hub *h, struct hub_sess *s,
		    const struct hub_join *j);

/* hub_claim.c */
void		 hub_join_free(struct hub_join *j);	/* NULL: no-op */
/* Park s (claiming j's node id, which holder holds) and probe holder. */
void		 hub_claim_park(struct hub *h, struct hub_sess *s,
		    struct hub_sess *holder, const struct hub_join *j);
/* The holder sent something after its probe: refuse its claimants. */
void		 hub_claim_holder_alive(struct hub *h, struct hub_sess *holder);
/*
 * Admit claimants whose holder is gone or did not answer in time; now is
 * hub_clock() (a stalled loop is nobody's silence).
 */
void		 hub_claim_tick(struct hub *h, int64_t now);
/* s is closing: drop its claim, if any. */
void		 hub_claim_ended(struct hub *h, struct hub_sess *s);
/* At accept: 1 to refuse a peer with too many upgrades pending. */
int		 hub_pending_refuse(struct hub *h,
		    const struct lws_filter_network_conn_args *a);
/* Count a connection as pending until it upgrades or closes. */
void		 hub_pending_add(struct hub *h, struct lws *wsi);
void		 hub_pending_done(struct lws *wsi);

#endif
