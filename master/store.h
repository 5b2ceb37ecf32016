/*
 * store.h - the SQLite store: one file, one connection per thread.
 *
 * Every thread of the master that touches state opens its own struct store
 * on <data-dir>/berth.db (WAL, foreign keys on, synchronous=FULL, a busy
 * timeout) and keeps it for its life. store_migrate() runs once at start-up,
 * before any other thread opens the file, and brings the schema to the
 * newest version (PRAGMA user_version); later versions only ever add.
 *
 * Statements are prepared once per connection and cached (store_stmt());
 * every value from outside is bound, never spliced into SQL. Write paths
 * that change more than one row run inside store_begin()/store_commit(), so
 * a failure leaves nothing half-written.
 *
 * The typed accessors for each resource live in store_<resource>.c and are
 * declared below. They reach the database only through the statement shim
 * (store_db.h), so that another backend (dqlite, issue 18) can replace
 * plain SQLite behind them.
 */
#ifndef BERTH_STORE_H
#define BERTH_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/grid_settings.h"
#include "common/netaddr.h"
#include "common/nodegroup_settings.h"
#include "master/store_db.h"

#define STORE_SCHEMA_VERSION	18

/* Bring the schema up to STORE_SCHEMA_VERSION. 0, or -1 with *cause. */
int		 store_migrate(struct store *st, char **cause);

/* Step a statement that returns no rows, and reset it: 0 or -1. */
int		 store_done(struct store_stmt *s);
/*
 * Append row(s) for every row of s to arr and reset s: arr, or NULL (arr
 * freed) on an error. store_row_json(): the first row into *out; 1, 0 if
 * there is none, -1 on an error.
 */
json_t		*store_rows_json(struct store_stmt *s, json_t *arr,
		    json_t *(*row)(struct store_stmt *));
int		 store_row_json(struct store_stmt *s, json_t *(*row)(struct store_stmt *),
		    json_t **out);

/* Bind helpers: NULL text binds SQL NULL. */
void		 store_bind_text(struct store_stmt *s, int i, const char *v);
/* Column as a string or NULL. */
const char	*store_col_text(struct store_stmt *s, int i);

/* ---- settings tables (store_settings.c) --------------------------------- */

/* "a, b, c": the columns of t's rows, in table order (malloc'd). */
char		*store_settings_cols(const struct setting_table *t);
/* Bind base's settings to parameters first, first + 1, ... in row order. */
void		 store_settings_bind(struct store_stmt *s, int first,
		    const struct setting_table *t, const void *base);
/* Read columns first, first + 1, ... into base, in row order. */
void		 store_settings_read(struct store_stmt *s, int first,
		    const struct setting_table *t, void *base);
/*
 * Add to table a column for every row of t it lacks (with the row's type
 * and default). Run by store_migrate(); 0, or -1 with *cause.
 */
int		 store_settings_columns(struct store *st, const char *table,
		    const struct setting_table *t, char **cause);

/* ---- grids (store_grid.c) ---------------------------------------------- */

struct grid {
	int64_t			 id;		/* row id */
	char			 name[64];	/* [a-z0-9-]{1,63} */
	struct grid_settings	 settings;	/* timing knobs */
	int64_t			 created_at;	/* epoch ms */
};

/* 1 found, 0 not found, -1 error. */
int	 store_grid_get(struct store *st, const char *name, struct grid *out);
int	 store_grid_get_id(struct store *st, int64_t id, struct grid *out);
/* 0, 1 if the name exists, -1 error. */
int	 store_grid_create(struct store *st, const char *name,
	    const struct grid_settings *gs, const unsigned char *token_hash,
	    const unsigned char *sealed, size_t sealed_len, struct grid *out);
int	 store_grid_update_settings(struct store *st, int64_t id,
	    const struct grid_settings *gs);
/* 0 deleted, 1 not empty, -1 error. */
int	 store_grid_delete(struct store *st, int64_t id);
int	 store_grid_set_token(struct store *st, int64_t id,
	    const unsigned char *token_hash, const unsigned char *sealed,
	    size_t sealed_len);
/* Sealed grid token into out (TOKEN_SEAL_LEN bytes). 1, 0, -1. */
int	 store_grid_sealed_token(struct store *st, int64_t id,
	    unsigned char *out, size_t len);
/* The grid whose token hashes to hash. 1 found, 0 not, -1 error. */
int	 store_grid_by_token(struct store *st, const unsigned char *hash,
	    struct grid *out);
/* Every grid, as an array of JSON objects; NULL on error. */
json_t	*store_grid_list_json(struct store *st);
json_t	*grid_to_json(const struct grid *g);

/* ---- operator (store_grid.c) ------------------------------------------- */

/* 1 and the hash if set, 0 if not yet, -1 error. */
int	 store_operator_hash(struct store *st, unsigned char *out, size_t len);
int	 store_operator_set(struct store *st, const unsigned char *hash);

/* ---- masters of a cluster (store_master.c; docs/ha.md) ----------------- */

/* This master's row: its node's address and id, the URLs it serves. */
int	 store_master_set(struct store *st, const char *address,
	    uint64_t node_id, const char *api_url, const char *agent_url);
/* The URLs of the master whose node has that address: 1 found, 0 none,
 * -1 error. */
int	 store_master_urls(struct store *st, const char *address,
	    char *api_url, size_t api_len, char *agent_url, size_t agent_len);

/* The masters table as [{address, node_id, api_url, agent_url,
 * updated_at}], by node id; NULL on a store error. */
json_t	*store_master_list_json(struct store *st);
/* Forget the row of the master at address (removed from the cluster). */
int	 store_master_delete(struct store *st, const char *address);
/* A join token's hash, valid until expires_at (ms). */
int	 store_master_join_token_add(struct store *st,
	    const unsigned char *hash, int64_t expires_at);
/* Use a join token once: 1 used now (by address), 0 unknown, used or
 * expired, -1 store error. */
int	 store_master_join_token_use(struct store *st,
	    const unsigned char *hash, const char *by);

/* ---- dump (store_dump.c; berth-master --dump) ---------------------------- */

struct store_dump_stats {
	int		 tables;
	long long	 rows;
	long long	 bytes;
	int		 version;	/* schema (PRAGMA user_version) */
};
/* Write st as a plain SQLite file at path (path.tmp, then renamed);
 * refuses an existing path unless overwrite. -1 with *cause. */
int	 store_dump(struct store *st, const char *path, int overwrite,
	    struct store_dump_stats *ds, char **cause);

/* ---- events (store_event.c) -------------------------------------------- */

/* Append an event; grid_id 0 for a global one. 0 or -1. */
int	 store_event_add(struct store *st, int64_t grid_id, const char *type,
	    const char *subject, const char *fmt, ...)
	    __attribute__((format(printf, 5, 6)));

struct event_filter {
	const char	*type;		/* exact type, or a prefix ending '.' */
	int64_t		 since_ms;	/* at >= since, or 0 */
	int64_t		 until_ms;	/* at < until, or 0 */
	int64_t		 after_id;	/* id > after_id (for --follow), or 0 */
	int		 limit;		/* most recent N; 0 = default 100 */
};
json_t	*store_event_list_json(struct store *st, int64_t grid_id,
	    const struct event_filter *f);
/* The newest event's id (0: none), or -1. */
int64_t	 store_event_last_id(struct store *st);
/*
 * Grids' events after after_id, oldest first, at most limit: [{id,
 * grid_id, at (ms), type, subject, message}], or NULL (the webhook's feed).
 */
json_t	*store_event_feed_json(struct store *st, int64_t after_id, int limit);


/* ---- nodes (store_node.c) ---------------------------------------------- */

#define NODE_ID_LEN	32	/* hex characters */

/* Every node of a grid, by name, as JSON text built by SQLite (the same
 * objects as store_node_get_json()); NULL on error. */
char	*store_node_list_text(struct store *st, int64_t grid_id);
/* One node by name or id: 1 and *out, 0 not found, -1 error. */
int	 store_node_get_json(struct store *st, int64_t grid_id,
	    const char *name_or_id, json_t **out);
/* Resolve a name or id to the node id. 1, 0, -1. */
int	 store_node_find(struct store *st, int64_t grid_id,
	    const char *name_or_id, char id[NODE_ID_LEN + 1]);
/* Replace the labels (a JSON array string of "k=v"). 0 or -1. */
int	 store_node_set_labels(struct store *st, const char *id,
	    const char *labels_json);
/* Delete a node and its instance records. 0 or -1. */
int	 store_node_delete(struct store *st, const char *id);
/* 1 if a node has a session now, 0 if not (or unknown), -1 error. */
int	 store_node_connected(struct store *st, const char *id);
/*
 * An operator removed node id: its id may not join again (its agent must
 * start over with a new id). store_node_revoked(): 1 if so, 0, -1 error.
 */
int	 store_node_revoke(struct store *st, const char *id, int64_t grid_id,
	    const char *name);
int	 store_node_revoked(struct store *st, const char *id);
/* Forget a node's token (it must rejoin with the grid token). 0 or -1. */
int	 store_node_clear_token(struct store *st, const char *id);

/*
 * A node as the scheduler reads it (sched_sync.c). Text is borrowed from
 * the statement: valid only during the callback it is handed to.
 */
struct node_row {
	const char	*id;		/* node id */
	const char	*name;		/* unique in its grid */
	const char	*labels;	/* effective labels, JSON array text */
	int64_t		 grid_id;	/* its grid */
	int64_t		 cpus;		/* from node_info, or 0 */
	int64_t		 memory;	/* bytes, from node_info, or 0 */
	int		 connected;	/* 1: a session is open */
	int64_t		 connected_at;	/* epoch ms of the last join, or 0 */
	int64_t		 disconnected_at; /* epoch ms it went offline, or 0 */
	int64_t		 created_at;	/* epoch ms of its first join */
	double		 cpu_pct;	/* last reported load, or 0 */
	int64_t		 mem_used;	/* last reported bytes in use, or 0 */
	int		 engine_down;	/* its agent reports no Docker Engine,
					 * or its machine is leaving (node
					 * groups): no new records */
	int		 cordoned;	/* berth node cordon (or a drain) */
	int		 draining;	/* a drain is under way */
	int64_t		 drain_deadline_at; /* draining: epoch ms, or 0 */
	int		 pending;	/* waits for berth node approve: not
					 * in the scheduler's view */
};
typedef void store_node_fn(void *arg, const struct node_row *row);
typedef void store_node_load_fn(void *arg, const char *id, double cpu_pct,
    int64_t mem_used);

/* 1 if node id waits for approval (docs/nodes.md), 0 if not (or none), -1. */
int	 store_node_pending(struct store *st, const char *id);
/* Admit a pending node (the caller writes node.approve): 1, 0 not pending,
 * -1. */
int	 store_node_approve(struct store *st, const char *id);

/* Hand every node of a grid to fn. 0 or -1. */
int	 store_node_rows(struct store *st, int64_t grid_id, store_node_fn *fn,
	    void *arg);
/* Hand node id (whatever its grid) to fn: 1, 0 when there is none, -1. */
int	 store_node_row(struct store *st, const char *id, store_node_fn *fn,
	    void *arg);
/* Hand the reported load of every node of a grid that has one to fn. */
int	 store_node_loads(struct store *st, int64_t grid_id,
	    store_node_load_fn *fn, void *arg);
/*
 * Delete a node and its instance records, giving its name: 1, 0 when it
 * was already gone, -1 error.
 */
int	 store_node_remove(struct store *st, const char *id, char name[64]);

/*
 * What the master knows of a node id an agent found labelling containers
 * on its engine (docs/protocol.md, node_query): STORE_NODE_KNOWN (a node
 * of this master, online or not: its containers are its agent's),
 * STORE_NODE_GONE (removed from grid_id: a tombstone, written by a
 * trigger whenever a node row is deleted and dropped when the id joins
 * again), STORE_NODE_UNKNOWN (never a node here: another master's, say),
 * or -1 on error.
 */
enum store_node_status {
	STORE_NODE_UNKNOWN,
	STORE_NODE_GONE,
	STORE_NODE_KNOWN,
};
int	 store_node_status(struct store *st, int64_t grid_id, const char *id);

/* ---- node operations: cordon, drain, protect (store_drain.c) ----------- */

/* A node's operation state (docs/nodes.md). */
struct node_ops {
	char		 id[NODE_ID_LEN + 1];
	char		 name[64];
	int		 cordoned;	/* no new records */
	int		 protected_;	/* never chosen for scale-in */
	char		 drain_state[16]; /* "", "draining", "drained" */
	char		 drain_by[16];	/* "operator", "scale-in" */
	int64_t		 drain_started_at; /* epoch ms */
	int64_t		 drain_deadline_at; /* epoch ms */
	int		 drain_forced;	/* the deadline's event was written */
	int		 connected;	/* its agent is online */
	int64_t		 group_deadline_s; /* its group's drain_deadline_s,
					 * 0 when not a group's node */
	int64_t		 machine_id;	/* its machine, or 0 */
	char		 machine_state[16]; /* and its state */
	int		 instances;	/* ha/random records on it */
	int		 daemons;	/* daemon records */
	int		 stateful;	/* stateful records */
	int		 jobs;		/* job attempts assigned or running */
};

/* One node's operation state: 1 found, 0 not, -1 error. */
int	 store_node_ops_get(struct store *st, const char *id,
	    struct node_ops *out);
/* The draining nodes of a grid (caller frees *out). 0 or -1. */
int	 store_node_drains(struct store *st, int64_t grid_id,
	    struct node_ops **out, size_t *n);
/*
 * Cordon (on) or uncordon (off; a drain under way or done is cleared
 * with it). 1 changed, 0 it already was, -1 error.
 */
int	 store_node_cordon(struct store *st, const char *id, int on);
/* Protect from scale-in or not: 1 changed, 0 already, -1 error. */
int	 store_node_protect(struct store *st, const char *id, int on);
/*
 * Start a drain (cordons the node): 1 started, 0 one is already under
 * way (its deadline is set to deadline_at if that is not 0), -1 error.
 */
int	 store_node_drain_start(struct store *st, const char *id,
	    const char *by, int64_t now, int64_t deadline_at);
/* The drain is done (the node stays cordoned): 1, 0 not draining, -1. */
int	 store_node_drain_done(struct store *st, const char *id, int64_t now);
/* The deadline's event is written: 1, 0 not draining, -1. */
int	 store_node_drain_forced(struct store *st, const char *id);

/* ---- services (store_service.c) ---------------------------------------- */

/* Services of a grid (optionally one stack, or NULL) as JSON; NULL on error. */
json_t	*store_service_list_json(struct store *st, int64_t grid_id,
	    const char *stack);
/* One service by stack and name: 1 and *out, 0 not found, -1 error. */
int	 store_service_get_json(struct store *st, int64_t grid_id,
	    const char *stack, const char *name, json_t **out);

/*
 * An active service as the scheduler reads it (sched_sync.c). Text is
 * borrowed from the statement: valid only during the callback.
 */
struct service_row {
	int64_t		 id;		/* service id */
	int64_t		 grid_id;	/* its stack's grid */
	const char	*stack;		/* stack name */
	const char	*name;		/* service name */
	const char	*strategy;	/* "ha", "random" or "daemon" */
	int		 instances;	/* wanted (daemon: per node) */
	int		 stateful;	/* 1: instances stay on their node */
	double		 min_health;	/* deploy batch rule, 0..1 */
	int64_t		 rev;		/* revision */
	const char	*spec;		/* normalized spec, JSON text */
};
typedef void store_service_fn(void *arg, const struct service_row *row);

/* Hand every active service of a grid to fn. 0 or -1. */
int	 store_service_rows(struct store *st, int64_t grid_id,
	    store_service_fn *fn, void *arg);
/* Hand service id to fn if it is active: 1, 0 if not or gone, -1. */
int	 store_service_row(struct store *st, int64_t id, store_service_fn *fn,
	    void *arg);
/* "stack/name" of a service into label, and its revision. 1, 0, -1. */
int	 store_service_label(struct store *st, int64_t id, char *label,
	    size_t len, int64_t *rev);
/* The grid a service is in. 1 found, 0 not, -1 error. */
int	 store_service_grid(struct store *st, int64_t id, int64_t *grid_id);

/* Service id by grid/stack/name. 1, 0, -1. */
int	 store_service_find(struct store *st, int64_t grid_id,
	    const char *stack, const char *name, int64_t *service_id);
/* 0, 1 if the service no longer exists, -1 error. */
int	 store_service_scale(struct store *st, int64_t service_id,
	    int instances);
/* The service's instances as container entries (node, instance, state,
 * error, ...). NULL on error. */
json_t	*store_service_containers_json(struct store *st, int64_t service_id);

/* ---- instances (store_instance.c) -------------------------------------- */

/*
 * An instance as the scheduler reads it. Text is borrowed from the
 * statement: valid only during the callback.
 */
struct instance_row {
	int64_t		 service_id;	/* its service */
	int		 instance_no;	/* 1.. within the service */
	const char	*node_id;	/* where it is placed */
	const char	*state;		/* last reported; "pending" at first */
	int64_t		 created_at;	/* epoch ms it was placed */
	int64_t		 moved_at;	/* epoch ms of its last move, or 0 */
	int		 move_target;	/* 1: a move's new half, not yet done */
};
typedef void store_instance_fn(void *arg, const struct instance_row *row);

/* Hand every instance on the grid's nodes, of a node or of a service to
 * fn. 0 or -1. */
int	 store_instance_rows_grid(struct store *st, int64_t grid_id,
	    store_instance_fn *fn, void *arg);
int	 store_instance_rows_node(struct store *st, const char *node_id,
	    store_instance_fn *fn, void *arg);
int	 store_instance_rows_service(struct store *st, int64_t service_id,
	    store_instance_fn *fn, void *arg);
/* 1 if the instance record is there, 0 if not, -1 error. */
int	 store_instance_exists(struct store *st, int64_t service_id,
	    int instance_no, const char *node_id);

/*
 * The scheduler's writes, each one row (the caller holds the
 * transaction). add: a new record, state "pending"; moved_at 0 when it
 * was never moved. move_done: the new half of a start-before-stop move
 * stands alone (move_target back to 0). 0 or -1.
 */
int	 store_instance_add(struct store *st, int64_t service_id,
	    int instance_no, const char *node_id, int64_t rev, int move_target,
	    int64_t moved_at, int64_t now);
int	 store_instance_delete(struct store *st, int64_t service_id,
	    int instance_no, const char *node_id);
int	 store_instance_move_done(struct store *st, int64_t service_id,
	    int instance_no, const char *node_id);

/* An instance of a node's desired set, as the hub reads it (borrowed). */
struct instance_desired {
	const char	*node_id;	/* whose set */
	int64_t		 service_id;	/* its service */
	int		 instance_no;	/* 1.. within the service */
	int64_t		 rev;		/* revision the agent must run */
	const char	*service;	/* service name */
	const char	*stack;		/* stack name */
	const char	*grid;		/* grid name */
	int64_t		 grid_id;	/* its id */
	const char	*spec;		/* the service's spec, JSON text */
	int		 stopped;	/* the service is stopped: the agent
					   keeps the container, not running */
	int64_t		 settle_s;	/* its grid's instance_settle_s */
	size_t		 spec_len;	/* its length */
};
typedef void store_desired_fn(void *arg, const struct instance_desired *d);

/*
 * Hand the instances of n nodes to fn, by node, service and number (one
 * query per STORE_BATCH nodes). A node without instances gets no call.
 * 0 or -1.
 */
int	 store_instance_desired(struct store *st, const char *const *node_ids,
	    size_t n, store_desired_fn *fn, void *arg);

/* One container of an agent's state report (text borrowed, NULL: none). */
/* One hook run of an instance's report (docs/hooks.md). */
struct hook_report {
	char		*json;		/* the frame's object, compact */
	char		*msg;		/* in words, for its event */
	int64_t		 at;		/* epoch ms it ended */
};

struct instance_report {
	int64_t		 service_id;	/* which instance ... */
	int64_t		 instance_no;
	int64_t		 rev;		/* ... at which revision */
	const char	*state;		/* reported state */
	const char	*error;		/* why it is in error, or NULL */
	int		 has_exit_code;	/* exit_code is set */
	int64_t		 exit_code;	/* last exit code */
	const char	*container_id;	/* Docker's id, or NULL */
	int64_t		 restarts;	/* restarts counted by the agent */
	const char	*last_output;	/* last lines before an exit, or NULL */
	const char	*health;	/* its health_check's verdict, or NULL */
	const char	*health_error;	/* the last failed probe's, or NULL */
	int64_t		 health_restarts; /* restarts for failed probes */
	const char	*address;	/* its grid network IPv4, or NULL */
	const struct hook_report *hooks; /* the hooks its agent ran last */
	size_t		 nhooks;
};

/*
 * Record n reports of node_id's containers in one transaction; a report
 * is taken only by the instance of its revision, and an unchanged row is
 * not rewritten. *changed is 1 when a row changed. 0, or -1 with *cause
 * (nothing is written then).
 */
int	 store_instance_report(struct store *st, const char *node_id,
	    const struct instance_report *v, size_t n, int *changed,
	    char **cause);

/* ---- jobs (store_job.c, store_job_run.c; docs/jobs.md) ------------------- */

/*
 * The states of a job, of each of its tasks and of each attempt (the
 * tables' CHECKs take the same names; attempts are never pending).
 */
enum job_state {
	JOB_PENDING,		/* queued: waits for a node */
	JOB_ASSIGNED,		/* an attempt is on a node, not started yet */
	JOB_RUNNING,		/* its container runs */
	JOB_SUCCEEDED,		/* exited 0 */
	JOB_FAILED,		/* exited non-zero, could not start, lost */
	JOB_TIMED_OUT,		/* ran past its timeout and was killed */
	JOB_CANCELLED,		/* by an operator */
};
#define JOB_NSTATES	7

const char	*job_state_name(enum job_state s);
/* 0 and *out, or -1 if name is no state's name. */
int		 job_state_parse(const char *name, enum job_state *out);
/* succeeded, failed, timed_out or cancelled. */
int		 job_state_final(enum job_state s);
/*
 * What `berth job wait` exits with for a finished job or task: 0 when it
 * succeeded, its exit code when it failed with one, 124 when it timed
 * out, 125 when it could not start, 130 when it was cancelled, 1 when it
 * failed with none (its node was lost).
 */
#define JOB_EXIT_TIMEOUT	124
#define JOB_EXIT_NOSTART	125
#define JOB_EXIT_CANCELLED	130

/*
 * Create a job from the normalized spec (stacks/job_spec.h) with its
 * tasks (pending) and its event, in one transaction. Unnamed jobs are
 * called "job-<id>". 0 with *id and name, 1 if the name is taken, -1.
 */
int	 store_job_create(struct store *st, int64_t grid_id, json_t *spec,
	    int64_t now, int64_t *id, char name[64]);
/* A job by name or id ("42"): 1 and *id, 0 not found, -1 error. */
int	 store_job_find(struct store *st, int64_t grid_id,
	    const char *name_or_id, int64_t *id);
/* The grid's jobs, newest first (state: one state's, or NULL). */
json_t	*store_job_list_json(struct store *st, int64_t grid_id,
	    const char *state);
/* One job with its tasks and attempts. 1 and *out, 0, -1. */
int	 store_job_get_json(struct store *st, int64_t id, json_t **out);

/* The nodes whose desired sets a change touched (store_job_touched_*). */
struct job_touched {
	char	(*nodes)[NODE_ID_LEN + 1]; /* node ids, each once */
	size_t	 n;
};
void	 store_job_touched_free(struct job_touched *t);

/*
 * Cancel a job in one transaction: queued tasks end cancelled, running
 * attempts too (their agents stop them), with one event. The nodes of
 * those attempts go to *t. 1 cancelled, 0 it had finished, -1 error.
 */
int	 store_job_cancel(struct store *st, int64_t id, const char *why,
	    int64_t now, struct job_touched *t);
/*
 * Delete a job, its tasks and attempts (agents then remove their
 * containers) with an event; an unfinished job only with force (it is
 * cancelled first). The nodes that kept its containers go to *t.
 * 1 deleted, 0 not finished and no force, -1 error.
 */
int	 store_job_delete(struct store *st, int64_t id, int force,
	    const char *why, int64_t now, struct job_touched *t);
/*
 * Delete the grid's finished jobs past retention: finished before
 * now - max_age_ms, and beyond the max_count newest. One transaction and
 * one event; *removed counts them, *t their nodes. 0 or -1.
 */
int	 store_job_retention(struct store *st, int64_t grid_id,
	    int64_t max_age_ms, int64_t max_count, int64_t now, int *removed,
	    struct job_touched *t);

/* A job task as the scheduler reads it (text borrowed for the call). */
struct job_task_row {
	int64_t		 job_id;	/* its job */
	int		 idx;		/* task index */
	const char	*name;		/* job name */
	int		 priority;	/* the job's */
	int64_t		 created_at;	/* the job's: FIFO order */
	int64_t		 not_before;	/* retry backoff, or 0 */
	enum job_state	 state;		/* pending, assigned, running, ... */
	const char	*node_id;	/* its attempt's node, or NULL */
	int64_t		 attempt_id;	/* its current attempt, or 0 */
	const char	*spec;		/* the job's normalized spec */
};
typedef void store_job_task_fn(void *arg, const struct job_task_row *r);
/* Unfinished tasks of a grid's jobs; every task of one job. 0 or -1. */
int	 store_job_tasks_grid(struct store *st, int64_t grid_id,
	    store_job_task_fn *fn, void *arg);
int	 store_job_tasks_job(struct store *st, int64_t job_id,
	    store_job_task_fn *fn, void *arg);
/* The grid a job is in. 1, 0 (gone), -1. */
int	 store_job_grid(struct store *st, int64_t job_id, int64_t *grid_id);

/*
 * The scheduler's writes (the caller holds the transaction). assign: a
 * new attempt of a pending task on node_id, with its event (why: the
 * plan's reason): 1 and *attempt, 0 when the task is no longer pending
 * (nothing written), -1. lost: the task's attempt on node_id ends failed
 * with why (a retry follows if it has one left): 1, 0 nothing to do, -1.
 * queue_reason: why a pending task waits (and, with event, a job.queued
 * event).
 */
int	 store_job_assign(struct store *st, int64_t job_id, int idx,
	    const char *node_id, const char *why, int64_t now,
	    int64_t *attempt);
int	 store_job_lost(struct store *st, int64_t job_id, int idx,
	    const char *node_id, const char *why, int64_t now);
int	 store_job_queue_reason(struct store *st, int64_t job_id, int idx,
	    const char *reason, int event);

/* An attempt as the hub sends it to its node (text borrowed). */
struct job_desired {
	int64_t		 attempt;	/* attempt id */
	int64_t		 job_id;	/* its job */
	int		 idx;		/* its task */
	int		 started;	/* 1: the master saw it start */
	const char	*name;		/* job name */
	const char	*grid;		/* grid name */
	const char	*spec;		/* the job's normalized spec */
};
typedef void store_job_desired_fn(void *arg, const struct job_desired *d);
/*
 * The node's attempts: unfinished ones to fn, finished ones (their
 * containers are kept until the job is deleted) as ids into done (a JSON
 * array). 0 or -1.
 */
int	 store_job_desired(struct store *st, const char *node_id,
	    store_job_desired_fn *fn, void *arg, json_t *done);

/* One attempt in an agent's state report (text borrowed, NULL: none). */
struct job_report {
	int64_t		 attempt;	/* attempt id */
	const char	*state;		/* pending, pulling, running, exited,
					   error, missing */
	int		 has_exit;	/* exit_code is set */
	int64_t		 exit_code;	/* exited: its code */
	int		 oom_killed;	/* exited: the kernel killed it */
	int		 timed_out;	/* exited: killed past its timeout */
	const char	*error;		/* error: why it could not start */
	const char	*container_id;	/* Docker's id, or NULL */
};
/*
 * Apply a node's reports in one transaction: an attempt of another node
 * or already finished is left alone. The ids of jobs that changed go to
 * *jobs (caller frees), *njobs of them; *desired is 1 when the node's
 * desired set changed. 0, or -1 with *cause (nothing written).
 */
int	 store_job_report(struct store *st, const char *node_id,
	    const struct job_report *v, size_t n, int64_t now, int64_t **jobs,
	    size_t *njobs, int *desired, char **cause);
/*
 * Node node_id is being deleted (the caller's transaction): its
 * unfinished attempts end failed with why. Their job ids go to *jobs.
 */
int	 store_job_node_gone(struct store *st, const char *node_id,
	    const char *why, int64_t now, int64_t **jobs, size_t *njobs);

/* ---- node sessions (store_session.c; the hub's writes) ------------------ */

#define STORE_BATCH	64	/* keys per IN (...) query of a batch call */

/* A node token to check: its hash in, its owner out. */
struct node_auth {
	unsigned char	 hash[32];		/* in: SHA-256 of the token */
	int		 found;			/* out: a node holds it */
	char		 id[NODE_ID_LEN + 1];	/* out: that node's id */
	int64_t		 grid_id;		/* out: and its grid */
};
/* Who holds each of n node tokens (one query per STORE_BATCH). 0 or -1. */
int	 store_node_auth_batch(struct store *st, struct node_auth *v, size_t n);

/* A node id, and the grid it is in if it exists. */
struct node_grid {
	const char	*id;			/* in: node id */
	int		 found;			/* out: the node exists */
	int64_t		 grid_id;		/* out: its grid */
};
/* The grid of each of n node ids (one query per STORE_BATCH). 0 or -1. */
int	 store_node_grid_batch(struct store *st, struct node_grid *v, size_t n);

/* Who a node token belongs to. 1 found, 0 not, -1 error. */
int	 store_node_by_token(struct store *st, const unsigned char *hash,
	    char id[NODE_ID_LEN + 1], int64_t *grid_id);
/* The grid a node id is in. 1 found, 0 not, -1 error. */
int	 store_node_grid(struct store *st, const char *id, int64_t *grid_id);

struct node_join {
	const char		*id;		/* node id from the agent */
	int64_t			 grid_id;	/* grid it joins */
	const char		*name;		/* name it asks for */
	const char		*labels;	/* JSON array of "k=v" */
	const char		*agent_version;	/* as reported */
	const unsigned char	*token_hash;	/* new node token, or NULL */
	const char		*peer;		/* peer address, for the event */
	int64_t			 machine_id;	/* a group's machine joining with
						 * its join token (its hash is
						 * join_hash), or 0 */
	const unsigned char	*join_hash;
	/* A new node waits for approval (docs/nodes.md): inserted pending
	 * with this reason and a node.pending event. An existing node keeps
	 * what it has. */
	int			 pending;
	const char		*pending_why;
	int			*pending_out;	/* if not NULL: is the node
						 * pending after the join */
};

/*
 * Record a node coming online in one transaction: insert or update the
 * node (name made unique in the grid, agent labels merged), mark it
 * online and write the event. The name it got goes into name_out.
 * A machine's join (machine_id) also spends its join token and marks it
 * joined, with its event. 0, 1 (the machine's token was spent meanwhile:
 * nothing written) or -1.
 */
int	 store_node_join(struct store *st, const struct node_join *j,
	    char name_out[64]);
/*
 * n joins in one transaction, names[i] for v[i]. All or nothing: -1 (and
 * nothing written) if any fails; the caller retries them one by one.
 */
int	 store_node_join_batch(struct store *st, const struct node_join *v,
	    size_t n, char (*names)[64]);
/*
 * Store a node_info frame (already validated): 1 when it changed the
 * node's row, 0 when the row holds it already (nothing written), -1.
 */
int	 store_node_info(struct store *st, const char *id, json_t *info);

/* The grid network (store_network.c, docs/network.md). */
/*
 * Inside the caller's transaction: give node_id a subnet of its grid's
 * overlay unless it has one; its subnet into subnet_out (may be NULL), ""
 * when every subnet is taken. 0 or -1.
 */
int	 store_node_subnet_assign(struct store *st, const char *node_id,
	    int64_t grid_id, char subnet_out[NET_SUBNET_TEXT]);
/*
 * The grid's peers, [{"node_id", "name", "address", "subnet"}...] in
 * subnet order, as JSON text (malloc'd), or NULL on error.
 */
char	*store_network_peers_text(struct store *st, int64_t grid_id);
/* The grid network as the API shows it, or NULL (no such grid, error). */
json_t	*store_network_json(struct store *st, int64_t grid_id);
/*
 * The grid's names (docs/dns.md): every service with its stack, whether
 * it is its stack's expose, its links {alias, stack, service} and its
 * running instances {n, address} on the grid network; NULL on error.
 */
json_t	*store_names_json(struct store *st, int64_t grid_id);
/*
 * What a node's agent says of its Docker Engine: up, or down and why.
 * Written with a node.engine event when it changed: 1, 0 unchanged, -1.
 */
int	 store_node_engine(struct store *st, const char *id, int64_t grid_id,
	    const char *name, int down, const char *error);
/* Mark a node offline with an event giving why. 0 or -1. */
int	 store_node_offline(struct store *st, const char *id, int64_t grid_id,
	    const char *name, const char *why);

struct node_seen {
	char	 id[NODE_ID_LEN + 1];	/* node */
	int64_t	 at;			/* last frame or pong, epoch ms */
	double	 cpu_pct;		/* last stats, or < 0 */
	int64_t	 mem_used;		/* last stats, or < 0 */
	int64_t	 mem_total;		/* last stats, or < 0 */
	int64_t	 containers;		/* last stats, or < 0 */
};
/* Write last-seen times and stats for many nodes in one transaction. */
int	 store_node_seen_batch(struct store *st, const struct node_seen *v,
	    size_t n);
/* At start-up: nodes left "connected" by a previous run are not. */
int	 store_node_reset_connected(struct store *st);

/* ---- grid lists for the hub, the scheduler, start-up (store_grid.c) ----- */

/* A grid's liveness settings, as the hub's tick uses them. */
struct grid_timings {
	int64_t	 id;			/* grid id */
	int64_t	 heartbeat_interval_s;	/* agent ping period */
	int64_t	 offline_after_s;	/* silence before a node is offline */
	char	 name[64];		/* grid name */
};
/* Every grid's timings into *out (caller frees), *n of them. 0 or -1. */
int	 store_grid_timings(struct store *st, struct grid_timings **out,
	    size_t *n);

/* 1 if the grid's join_approval is "manual", 0 if not, -1. */
int	 store_grid_join_manual(struct store *st, int64_t grid_id);

/* A grid's id and name. */
struct grid_ref {
	int64_t	 id;		/* grid id */
	char	 name[64];	/* grid name */
};
/* Every grid into *out (caller frees), *n of them. 0 or -1. */
int	 store_grid_refs(struct store *st, struct grid_ref **out, size_t *n);
/* Number of grids, or -1. */
int	 store_grid_count(struct store *st);

/* ---- counts for /metrics (store_metrics.c) ------------------------------ */

#define METRICS_MAX_STATES	16	/* instance states counted */

struct metrics_counts {
	int64_t	 nodes_online;		/* nodes with status "online" */
	int64_t	 nodes_offline;		/* every other node */
	int64_t	 grids;			/* rows of each table */
	int64_t	 stacks;
	int64_t	 services;
	struct {
		char	 state[16];	/* a reported state */
		int64_t	 n;		/* instances in it */
	}	 states[METRICS_MAX_STATES]; /* by state name */
	size_t	 nstates;
};
/*
 * Fill *c. Instance states are the ten hub_frame.c accepts ("pending"
 * among them), so METRICS_MAX_STATES is never reached. 0 or -1.
 */
int	 store_metrics_counts(struct store *st, struct metrics_counts *c);


/* ---- stacks (store_stack.c) --------------------------------------------- */

/*
 * SQL: node alias a is there to say what runs on it: connected, and its
 * agent reaches its Docker Engine. Reports from other nodes are old news.
 */
#define STORE_LIVE_NODE(a) \
	"(" a ".connected AND coalesce(" a ".engine_state, 'up') != 'down')"

/* Dump flags for specs: stable key order, reals without noise. */
#define STORE_JSON_FLAGS	(JSON_COMPACT | JSON_SORT_KEYS | \
				 JSON_REAL_PRECISION(10))

/*
 * Create a stack and its services (inactive until a deploy reaches them)
 * from the parser's normalized spec, in one transaction. 0, 1 if the name
 * exists, -1 on error.
 */
int	 store_stack_create(struct store *st, int64_t grid_id, json_t *spec,
	    const char *source, int64_t *stack_id);

/* A secret sealed by the caller, for the vault (store_vault.c). */
struct store_secret {
	const char		*name;		/* the secret's name */
	unsigned char		*sealed;	/* its sealed value */
	size_t			 len;		/* bytes in sealed */
};

/* What else a stack's create or upgrade writes, in its transaction. */
struct stack_write {
	const struct store_secret *secrets;	/* to: vault writes */
	size_t			 nsecrets;
	int64_t			 parent_id;	/* its parent stack, or 0 */
	json_t			*rolled;	/* services moved to a new
						   revision by a changed secret
						   (ids appended), or NULL */
};
int	 store_stack_create_ex(struct store *st, int64_t grid_id, json_t *spec,
	    const char *source, const struct stack_write *w, int64_t *stack_id);

/* What store_stack_update() did, for the caller's notifications. */
struct stack_update {
	int64_t	*changed;	/* services whose spec changed: new revision */
	size_t	 nchanged;	/* entries in changed */
	int64_t	*added;		/* services new to the stack, inactive */
	size_t	 nadded;	/* entries in added */
	int64_t	*removed;	/* services deleted with their instances */
	size_t	 nremoved;	/* entries in removed */
	int64_t	*rescaled;	/* same revision, the file's count changed */
	size_t	 nrescaled;	/* entries in rescaled */
	json_t	*nodes;		/* array: node ids that lost instances */
};
/*
 * Upgrade a stack in one transaction: a service whose spec changed beyond
 * its instance count gets the next revision, a service with the same spec
 * keeps its revision, a new one is added inactive, and one the spec no
 * longer has is deleted with its instances. The count follows the file
 * only where the file changed it (a manual scale survives otherwise). The
 * stack's own revision always goes up. 0 and *u filled (release it with
 * store_stack_update_clear()), 1 if the stack no longer exists (another
 * request removed it since the caller looked it up), or -1; *u is empty
 * unless 0.
 */
int	 store_stack_update(struct store *st, int64_t stack_id, json_t *spec,
	    const char *source, struct stack_update *u);
int	 store_stack_update_ex(struct store *st, int64_t stack_id, json_t *spec,
	    const char *source, const struct stack_write *w,
	    struct stack_update *u);
void	 store_stack_update_clear(struct stack_update *u);
/*
 * A stack and its child stacks (depends:), written in one transaction by
 * store_stack_tree_write(): the root first, each child after its parent.
 */
struct stack_tree_item {
	json_t		*spec;		/* the normalized stack, without its
					   children */
	const char	*source;	/* its file as written */
	size_t		 parent;	/* its parent's index (the root: 0) */
	int64_t		 id;		/* in: the installed stack to upgrade,
					   or 0 to create; out: its id */
};
/*
 * Create or upgrade each stack of t (w's secrets go with the root), then
 * delete the stacks of remove (child stacks the file no longer has). What
 * changed goes to u as store_stack_update() says. 0, 1 a name is taken,
 * -1 error.
 */
int	 store_stack_tree_write(struct store *st, int64_t grid_id,
	    struct stack_tree_item *t, size_t n, const struct stack_write *w,
	    const int64_t *remove, size_t nremove, struct stack_update *u);
/*
 * Links into stack_id or its descendants from stacks outside them, as
 * store_stack_linked_from() lists them. The count, or -1.
 */
int	 store_stack_tree_linked_from(struct store *st, int64_t stack_id,
	    char *buf, size_t len);
/* Append {id, name} of each child stack of stack_id to out. 0 or -1. */
int	 store_stack_children(struct store *st, int64_t stack_id, json_t *out);
/* A stack's id and its descendants' (deepest first), in *ids. 0 or -1. */
int	 store_stack_tree(struct store *st, int64_t stack_id, int64_t **ids,
	    size_t *n);
/* The stack's `stack:` (user/name) into ref. 1, 0 not found, -1 error. */
int	 store_stack_ref(struct store *st, int64_t stack_id, char *ref,
	    size_t len);
/* 1 and *stack_id, 0 not found, -1 error. */
int	 store_stack_find(struct store *st, int64_t grid_id, const char *name,
	    int64_t *stack_id);
/* Delete a stack and its child stacks; the nodes that ran their
 * instances go to nodes (JSON array) and their service ids to *services.
 * 0, 1 if it was gone already (another request removed it), or -1. */
int	 store_stack_delete(struct store *st, int64_t stack_id, json_t *nodes,
	    int64_t **services, size_t *nservices);
json_t	*store_stack_list_json(struct store *st, int64_t grid_id);
/*
 * Are the targets of service_id's links to other stacks deployed? 1
 * ready, 0 not yet (a target is inactive or in an unfinished deploy), 2
 * a target is gone; why (len bytes) says which. -1 error.
 */
int	 store_service_links_ready(struct store *st, int64_t service_id,
	    char *why, size_t len);
/*
 * Services of other stacks that link to stack_id's services (but not to
 * those named in keep, an object, or NULL), as "stack/svc -> target" into
 * buf (len bytes, cut short if need be): how many, or -1 on error.
 */
int	 store_stack_linked_from(struct store *st, int64_t stack_id,
	    json_t *keep, char *buf, size_t len);
/* 1 and *out, 0 if the stack no longer exists, -1 error. */
int	 store_stack_get_json(struct store *st, int64_t stack_id, json_t **out);
/* The stored normalized spec: 1 and *spec, 0, -1. */
int	 store_stack_spec(struct store *st, int64_t stack_id, json_t **spec);

/* ---- the vault (store_vault.c) ------------------------------------------ */

/* How a write treats an existing secret. */
enum vault_put {
	VAULT_PUT_CREATE,	/* a new secret; 1 if the name is taken */
	VAULT_PUT_UPDATE,	/* an existing one; 2 if there is none */
	VAULT_PUT_UPSERT,	/* either */
};

/* The sealed value of a secret: 1 and *sealed (malloc'd), 0, -1. */
int	 store_vault_sealed(struct store *st, int64_t grid_id,
	    const char *name, unsigned char **sealed, size_t *len);
/*
 * Write a sealed secret with its event (why, if not NULL, ends the
 * event's text); an update also moves the services that use it to a new
 * revision, whose ids go to rolled (an array, or NULL). _tx runs in the
 * caller's transaction. 0, 1 exists (CREATE), 2 missing (UPDATE), -1.
 */
int	 store_vault_put(struct store *st, int64_t grid_id, const char *name,
	    const unsigned char *sealed, size_t len, enum vault_put mode,
	    json_t *rolled);
int	 store_vault_put_tx(struct store *st, int64_t grid_id,
	    const char *name, const unsigned char *sealed, size_t len,
	    enum vault_put mode, const char *why, json_t *rolled);
/*
 * Remove a secret with its event: 0, 1 not found, 2 in use (users gets
 * "stack/service, ..."; force removes it anyway), -1 error.
 */
int	 store_vault_delete(struct store *st, int64_t grid_id,
	    const char *name, int force, char *users, size_t len);
/* Names, versions, times and users of the grid's secrets (no value). */
json_t	*store_vault_list_json(struct store *st, int64_t grid_id);
int	 store_vault_get_json(struct store *st, int64_t grid_id,
	    const char *name, json_t **out);
/* The names only (an array), NULL on error. */
json_t	*store_vault_names(struct store *st, int64_t grid_id);

/* ---- exec targets (store_exec.c) ----------------------------------------- */

/* The container an exec goes to. */
struct exec_pick {
	char	 container[192];	/* <stack>.<service>-<n>.<node8> */
	char	 node_id[NODE_ID_LEN + 1]; /* its node */
	char	 node[64];		/* the node's name */
	int	 connected;		/* the node's agent is connected */
	char	 state[16];		/* last reported state */
	int	 instance;		/* instance number */
	char	 service[130];		/* "stack/service" */
};
/*
 * Service service_id's instance (any with instance 0: a running one
 * first, then the lowest number), or the container of that name in the
 * grid. 1 and *p, 0 none, -1 error.
 */
int	 store_exec_pick_service(struct store *st, int64_t service_id,
	    int instance, struct exec_pick *p);
int	 store_exec_pick_container(struct store *st, int64_t grid_id,
	    const char *name, struct exec_pick *p);

/* ---- service lifecycle (store_lifecycle.c) ------------------------------ */

/* How a lifecycle operation ended. */
enum lifecycle_rc {
	LC_OK,			/* written (or nothing to do: already so) */
	LC_BUSY,		/* a deploy of the stack is in progress */
	LC_STOPPED,		/* restart: the service(s) are stopped */
	LC_LINKED,		/* rm: another service links to it */
	LC_GONE,		/* the stack or service was removed by a
				   request that raced this one */
	LC_ERROR = -1,		/* a store error */
};

/* What an operation changed, for the caller's notifications. */
struct lifecycle {
	int64_t	*services;	/* services whose row changed */
	size_t	 nservices;	/* entries in services */
	json_t	*nodes;		/* array of node ids whose desired set changed
				   (may repeat) */
	int64_t	 deploy_id;	/* start, restart: the deploy it began */
	char	*cause;		/* why, for LC_BUSY, LC_STOPPED, LC_LINKED */
};
void	 lifecycle_clear(struct lifecycle *lc);

/*
 * On service_id of stack_id, or with service_id 0 on every service of the
 * stack, each in one transaction with its events; *lc is filled (release
 * it with lifecycle_clear() whatever the result). docs/lifecycle.md says
 * what each does. start and restart refuse while a deploy of the stack is
 * unfinished (LC_BUSY); restart skips stopped services and is LC_STOPPED
 * when nothing is left; remove (one service) refuses while a deploy runs
 * or another service links to it, unless force.
 */
enum lifecycle_rc store_lifecycle_stop(struct store *st, int64_t stack_id,
	    int64_t service_id, struct lifecycle *lc);
enum lifecycle_rc store_lifecycle_start(struct store *st, int64_t stack_id,
	    int64_t service_id, struct lifecycle *lc);
enum lifecycle_rc store_lifecycle_restart(struct store *st,
	    int64_t stack_id, int64_t service_id, struct lifecycle *lc);
enum lifecycle_rc store_lifecycle_remove(struct store *st, int64_t stack_id,
	    int64_t service_id, int force, struct lifecycle *lc);

/* ---- deploys (store_deploy.c) ------------------------------------------- */

/*
 * The state of a deploy, and of each service in it: the deploys and
 * deploy_services tables take the same four names (their CHECK), and the
 * API shows them as they are. created and ongoing are unfinished.
 */
enum deploy_state {
	DEPLOY_CREATED,		/* queued; the scheduler has not begun it */
	DEPLOY_ONGOING,		/* being deployed */
	DEPLOY_SUCCESS,		/* every instance ran at the new revision */
	DEPLOY_ERROR,		/* ended early; its error says why */
};
#define DEPLOY_NSTATES	4

/* The name of s in the store and the API. */
const char	*deploy_state_name(enum deploy_state s);
/* 0 and *out, or -1 if name is no state's name. */
int		 deploy_state_parse(const char *name, enum deploy_state *out);

/* A deploy of the stack's services in order. 0, 1 if the stack no longer
 * exists, or -1. */
int	 store_deploy_create(struct store *st, int64_t stack_id,
	    int64_t *deploy_id);
/*
 * The same inside the caller's transaction, of one service (service_id)
 * or of every service of the stack (0). 0 or -1.
 */
int	 store_deploy_insert(struct store *st, int64_t stack_id,
	    int64_t service_id, int64_t *deploy_id);
/* 1 if a deploy of the stack is created or ongoing, 0 not, -1 error. */
int	 store_deploy_running(struct store *st, int64_t stack_id);
/*
 * deploy.interval (docs/stack-file.md): every service of grid_id with an
 * interval whose last deploy (the newest deploy that included it, as the
 * store keeps them: a master restart neither redeploys at once nor skips
 * one) was created at least its interval before now_ms, and whose stack
 * has no deploy under way, gets a deploy of its own, with a
 * "deploy.interval" event; one transaction. *n: how many. 0 or -1.
 */
int	 store_deploy_intervals(struct store *st, int64_t grid_id,
	    int64_t now_ms, int *n);
int	 store_deploy_get_json(struct store *st, int64_t stack_id,
	    int64_t deploy_id, json_t **out);
/* The stack's deploys, newest first, without their services; NULL on
 * error. */
json_t	*store_deploy_list_json(struct store *st, int64_t stack_id);

/*
 * What the deploy machine (sched_deploy.c) decides on: a service of a
 * deploy, and its instance rows counted against the service's revision.
 * Every row is in exactly one of outdated, running, pending and failed.
 */
struct deploy_service {
	int64_t			 id;		/* service id */
	char			 name[64];	/* service name */
	enum deploy_state	 state;		/* its state in this deploy */
	int64_t			 rev;		/* the service's revision */
	double			 min_health;	/* share kept running */
	int			 active;	/* the scheduler places it */
	int			 stopped;	/* stopped by an operator: the
						   deploy records, starts nothing */
	size_t			 placed;	/* rows, moves included */
	size_t			 outdated;	/* below rev: to roll */
	size_t			 running;	/* at rev, running */
	size_t			 pending;	/* at rev, not yet running */
	size_t			 failed;	/* at rev, in error */
	int			 error_no;	/* 1st failed: instance */
	char			 error_node[64];/* 1st failed: node name */
	char			*error;		/* 1st failed: its message */
};

/* An unfinished deploy, read in one read transaction. */
struct deploy_snap {
	int64_t			 id;		/* deploy id */
	int64_t			 grid_id;	/* grid of its stack */
	char			 stack[64];	/* stack name */
	enum deploy_state	 state;		/* created or ongoing */
	int64_t			 created_at;	/* epoch ms; timeout's start */
	struct deploy_service	*services;	/* in deploy order */
	size_t			 nservices;	/* entries in services */
};

/*
 * Every unfinished deploy of grid_id, oldest first, with its services:
 * *out (release with store_deploy_snaps_free()). 0 or -1.
 */
int	 store_deploy_unfinished(struct store *st, int64_t grid_id,
	    struct deploy_snap **out, size_t *n);
void	 store_deploy_snaps_free(struct deploy_snap *v, size_t n);

/*
 * Why a service of a deploy is not done yet, for a timeout's message: its
 * first instance not running at its revision, those with an error (a
 * failed pull being retried) first. Malloc'd, or NULL if none.
 */
char	*store_deploy_wait_reason(struct store *st, int64_t service_id);

/*
 * The deploy machine's writes. Each is one transaction with the event it
 * owes the log. Those that end or begin a deploy first check that it is
 * still unfinished: 1 written, 0 it was not (superseded by a newer deploy
 * or removed with its stack meanwhile; nothing written), -1 error.
 */
int	 store_deploy_start(struct store *st, const struct deploy_snap *d,
	    int64_t now);
int	 store_deploy_succeed(struct store *st, const struct deploy_snap *d,
	    int64_t now);
/* End d in error with why, and service_id (0: none) with it; the services
 * still to come end with "not deployed: an earlier service failed". */
int	 store_deploy_fail(struct store *st, const struct deploy_snap *d,
	    int64_t service_id, const char *why, int64_t now);
/* A service of d: created -> ongoing. 0 or -1. */
int	 store_deploy_service_start(struct store *st,
	    const struct deploy_snap *d, const struct deploy_service *v,
	    int64_t now);
/* Activate a service of d, so that the scheduler places it. 0 or -1. */
int	 store_deploy_service_activate(struct store *st,
	    const struct deploy_snap *d, const struct deploy_service *v,
	    int64_t now);
/*
 * Roll up to count of v's outdated instances, lowest instance number
 * first, to v->rev (pending again, the agent replaces the container). The
 * nodes of the rolled rows, one entry per row, go to *nodes (caller
 * frees). 0 or -1.
 */
int	 store_deploy_service_roll(struct store *st,
	    const struct deploy_service *v, size_t count, int64_t now,
	    char (**nodes)[NODE_ID_LEN + 1], size_t *nnodes);
/* A service of d is stopped: done, nothing rolled or started. 0 or -1. */
int	 store_deploy_service_stopped(struct store *st,
	    const struct deploy_snap *d, const struct deploy_service *v,
	    int64_t now);
/* A service of d is deployed: v->placed instances run. 0 or -1. */
int	 store_deploy_service_done(struct store *st,
	    const struct deploy_snap *d, const struct deploy_service *v,
	    int64_t now);


/* ---- node groups and machines (store_nodegroup.c) ---------------------- */

#define NODEGROUP_LABELS_MAX	4096	/* the labels' JSON text */

struct nodegroup {
	int64_t			 id;		/* row id */
	int64_t			 grid_id;
	char			 name[64];	/* [a-z0-9-]{1,63} */
	char			 provider[16];	/* "process" */
	char			 labels[NODEGROUP_LABELS_MAX]; /* JSON array of
						 * "k=v", the operator's (the
						 * forced two are added at join) */
	struct nodegroup_settings settings;
	int64_t			 backoff_until;	/* epoch ms; no launch before */
	int64_t			 backoff_s;	/* the current backoff */
	int64_t			 last_add_at;	/* epoch ms of the last launch */
	int64_t			 last_failure_at; /* and of the last failure */
	int64_t			 created_at;
};

/*
 * A machine: one requested instance of a group's provider. States:
 * requested -> launching -> joined -> draining -> terminating -> gone,
 * or failed (then terminating). A row is deleted when it is gone: the
 * events keep its story.
 */
struct machine {
	int64_t			 id;
	int64_t			 group_id;
	int64_t			 grid_id;
	char			 group[64];	/* the group's name */
	char			 name[64];	/* "<group>-<id>": its node name */
	char			 state[16];
	char			 node_id[NODE_ID_LEN + 1]; /* once joined */
	int64_t			 pid;		/* process provider, 0 unknown */
	char			 data_dir[512];	/* process provider */
	char			 provider_id[256]; /* the provider's id for it */
	char			 reason[256];	/* why the last change */
	int64_t			 created_at;
	int64_t			 state_at;	/* when the state last changed */
	int64_t			 joined_at;	/* 0 until joined */
	int64_t			 unneeded_since; /* 0: needed */
	int			 node_measured;	/* its node reported capacity */
	int			 node_online;	/* its node is online */
	int			 node_busy;	/* non-daemon records or jobs */
	int			 node_exists;	/* its node record is there */
	int			 node_jobs;	/* job attempts assigned or
						 * running there */
	int			 node_protected; /* berth node protect */
	int			 node_draining;	/* its node's drain is under way */
	int			 node_containers; /* its agent's last count of
						 * the containers it owns
						 * (stats), less the finished
						 * jobs' it keeps; <0 unknown */
	int			 node_engine_down; /* its agent says it cannot see
						    its Docker Engine */
	int64_t			 node_jobs_finished; /* job attempts that ran
						 * there and ended */
};

/* 0 created (out filled), 1 the name exists, -1 error. */
int	 store_nodegroup_create(struct store *st, struct nodegroup *g);
/* 1 found, 0 not, -1 error. */
int	 store_nodegroup_get(struct store *st, int64_t grid_id,
	    const char *name, struct nodegroup *out);
int	 store_nodegroup_get_id(struct store *st, int64_t id,
	    struct nodegroup *out);
/* Every group of a grid by priority, then name (caller frees). 0 or -1. */
int	 store_nodegroup_list(struct store *st, int64_t grid_id,
	    struct nodegroup **out, size_t *n);
/* Labels and settings. 0 or -1. */
int	 store_nodegroup_update(struct store *st, const struct nodegroup *g);
/* Backoff and the times of the last launch and failure. 0 or -1. */
int	 store_nodegroup_marks(struct store *st, const struct nodegroup *g);
/* 0 deleted, 1 it still has machines, -1 error. */
int	 store_nodegroup_delete(struct store *st, int64_t id);
/* Machines of a group by state: joined or on their way, all. -1 error. */
int	 store_nodegroup_size(struct store *st, int64_t group_id, int *size,
	    int *all);
json_t	*nodegroup_to_json(const struct nodegroup *g, int size);

/* A new machine, requested: 0 (out filled) or -1. */
int	 store_machine_add(struct store *st, const struct nodegroup *g,
	    int64_t now, struct machine *out);
/* Machines of a group (group_id), or of a grid (group_id 0). 0 or -1. */
int	 store_machine_list(struct store *st, int64_t grid_id,
	    int64_t group_id, struct machine **out, size_t *n);
/*
 * Move machine id from state `from` to `to` (with the reason): 1 moved,
 * 0 it was not in `from`, -1 error.
 */
int	 store_machine_state(struct store *st, int64_t id, const char *from,
	    const char *to, const char *reason, int64_t now);
/* launching: its join token's hash and data dir. 1, 0 (not requested), -1. */
int	 store_machine_launching(struct store *st, int64_t id,
	    const unsigned char *token_hash, const char *data_dir, int64_t now);
int	 store_machine_pid(struct store *st, int64_t id, int64_t pid);
/* The provider's id of its instance ("" forgets it). 0 or -1. */
int	 store_machine_provider_id(struct store *st, int64_t id,
	    const char *provider_id);
/* Machines of grid_id launched (machine.launch events) since ms. -1 err. */
int	 store_machine_launches_since(struct store *st, int64_t grid_id,
	    int64_t since);

/* Node groups, per group (GET /metrics). */
#define METRICS_MACHINE_STATES	7
extern const char *const metrics_machine_states[METRICS_MACHINE_STATES];
struct metrics_group {
	char			 grid[64];	/* its grid's name */
	struct nodegroup	 g;		/* settings, backoff */
	int64_t			 machines[METRICS_MACHINE_STATES]; /* by state,
						 * as metrics_machine_states */
	int64_t			 nodes;		/* node records of its machines */
	int64_t			 nodes_online;
	int64_t			 launches_hour;	/* machine.launch since now-1h */
};
/* Every group of every grid, by grid and name (caller frees). 0 or -1. */
int	 store_metrics_groups(struct store *st, int64_t now,
	    struct metrics_group **out, size_t *n);
/* Node records of grid_id. -1 error. */
int	 store_grid_node_count(struct store *st, int64_t grid_id);
int	 store_machine_unneeded(struct store *st, int64_t id, int64_t since);
int	 store_machine_delete(struct store *st, int64_t id);
json_t	*machine_to_json(const struct machine *m);

/* What a join token names: a launching machine, its grid and labels. */
struct machine_claim {
	int64_t			 machine_id;
	int64_t			 grid_id;
	char			 name[64];	/* the machine's */
	char			 group[64];
	char			 labels[NODEGROUP_LABELS_MAX]; /* group's JSON */
	char			 az[64];	/* aws-asg: its instance's zone */
};
/* 1 found (launching), 0 not, -1 error. */
int	 store_machine_by_token(struct store *st, const unsigned char *hash,
	    struct machine_claim *out);
/* The machine whose node is node_id (any state): 1, 0, -1. */
/*
 * A group's node (node_id, a machine's) reported its resources: a group
 * template's cpus or memory still 0 is learned from it, with a
 * nodegroup.template event (*grid_id set). 1 learned, 0 not, -1.
 */
int	 store_nodegroup_learn(struct store *st, const char *node_id,
	    int64_t *grid_id);
int	 store_machine_by_node(struct store *st, const char *node_id,
	    struct machine_claim *out);

/*
 * A group's join token (aws-asg: every instance boots with it): set once
 * (1 set, 0 it had one, -1 error); read (1, 0 none yet, -1); the group a
 * token's hash opens (1 with *group_id and *grid_id, 0, -1).
 */
int	 store_nodegroup_token_set(struct store *st, int64_t id,
	    const unsigned char *hash, const unsigned char *sealed,
	    size_t sealed_len);
int	 store_nodegroup_token(struct store *st, int64_t id,
	    unsigned char *hash, unsigned char *sealed, size_t sealed_len);
int	 store_nodegroup_by_token(struct store *st, const unsigned char *hash,
	    int64_t *group_id, int64_t *grid_id);
/*
 * Bind a launching machine that has no instance yet to the instance id
 * (with its zone), joinable with join_hash: 1 bound, 0 not (no longer
 * launching, or bound meanwhile), -1 error.
 */
int	 store_machine_bind(struct store *st, int64_t id,
	    const char *provider_id, const unsigned char *join_hash,
	    const char *az);

#endif
