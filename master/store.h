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
 * declared below.
 */
#ifndef BERTH_STORE_H
#define BERTH_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

#define STORE_SCHEMA_VERSION	1

struct store;

/* Open path (creating it), set the pragmas. NULL with *cause on failure. */
struct store	*store_open(const char *path, char **cause);
void		 store_close(struct store *st);	/* NULL is a no-op */
/* Bring the schema up to STORE_SCHEMA_VERSION. 0, or -1 with *cause. */
int		 store_migrate(struct store *st, char **cause);
sqlite3		*store_db(struct store *st);

/*
 * Durability of this connection's commits. FULL (the default) fsyncs every
 * commit: an acknowledged operator write survives power loss. NORMAL is
 * still safe against a crash in WAL mode but may lose the last commits to
 * a power cut; the hub uses it for what agents report again on reconnect.
 */
void		 store_set_sync_normal(struct store *st);

/* The cached prepared statement for sql (a string literal), reset. */
sqlite3_stmt	*store_stmt(struct store *st, const char *sql);

int		 store_begin(struct store *st);	/* BEGIN IMMEDIATE */
int		 store_commit(struct store *st);
void		 store_rollback(struct store *st);

/* The last SQLite error message of this connection. */
const char	*store_errmsg(struct store *st);

/* Step a statement that returns no rows, and reset it: 0 or -1. */
int		 store_done(sqlite3_stmt *s);
/*
 * Append row(s) for every row of s to arr and reset s: arr, or NULL (arr
 * freed) on an error. store_row_json(): the first row into *out; 1, 0 if
 * there is none, -1 on an error.
 */
json_t		*store_rows_json(sqlite3_stmt *s, json_t *arr,
		    json_t *(*row)(sqlite3_stmt *));
int		 store_row_json(sqlite3_stmt *s, json_t *(*row)(sqlite3_stmt *),
		    json_t **out);

/* Bind helpers: NULL text binds SQL NULL. */
void		 store_bind_text(sqlite3_stmt *s, int i, const char *v);
/* Column as a string or NULL. */
const char	*store_col_text(sqlite3_stmt *s, int i);

/* ---- grids (store_grid.c) ---------------------------------------------- */

struct grid_settings {
	int64_t	 heartbeat_interval_s;	/* agent ping period */
	int64_t	 offline_after_s;	/* silence before a node is offline */
	int64_t	 ephemeral_removal_s;	/* offline time before removal */
	int64_t	 ha_grace_s;		/* ha: offline time before replacing */
	int64_t	 random_grace_s;	/* random: likewise */
	int64_t	 rebalance_settle_s;	/* a new node attracts moves after */
	int64_t	 move_cooldown_s;	/* a moved instance rests this long */
	int	 dry_run;		/* balancer/reaper plan but do not act */
};

struct grid {
	int64_t			 id;		/* row id */
	char			 name[64];	/* [a-z0-9-]{1,63} */
	struct grid_settings	 settings;	/* timing knobs */
	int64_t			 created_at;	/* epoch ms */
};

void	 grid_settings_default(struct grid_settings *gs);
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
/* Forget a node's token (it must rejoin with the grid token). 0 or -1. */
int	 store_node_clear_token(struct store *st, const char *id);

/* ---- services (store_service.c) ---------------------------------------- */

/* Services of a grid (optionally one stack, or NULL) as JSON; NULL on error. */
json_t	*store_service_list_json(struct store *st, int64_t grid_id,
	    const char *stack);
/* One service by stack and name: 1 and *out, 0 not found, -1 error. */
int	 store_service_get_json(struct store *st, int64_t grid_id,
	    const char *stack, const char *name, json_t **out);
/* Number of grids, or -1. */
int	 store_grid_count(struct store *st);

/* ---- node sessions (store_session.c; the hub's writes) ------------------ */

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
};

/*
 * Record a node coming online in one transaction: insert or update the
 * node (name made unique in the grid, agent labels merged), mark it
 * online and write the event. The name it got goes into name_out.
 * 0 or -1.
 */
int	 store_node_join(struct store *st, const struct node_join *j,
	    char name_out[64]);
/* Store a node_info frame (already validated). 0 or -1. */
int	 store_node_info(struct store *st, const char *id, json_t *info);
/* Mark a node offline with an event giving why. 0 or -1. */
int	 store_node_offline(struct store *st, const char *id, int64_t grid_id,
	    const char *name, const char *why);

struct node_seen {
	char	 id[NODE_ID_LEN + 1];	/* node */
	int64_t	 at;			/* last frame or pong, epoch ms */
	double	 cpu_pct;		/* last stats, or < 0 */
	int64_t	 mem_used;		/* last stats, or < 0 */
};
/* Write last-seen times and stats for many nodes in one transaction. */
int	 store_node_seen_batch(struct store *st, const struct node_seen *v,
	    size_t n);
/* At start-up: nodes left "connected" by a previous run are not. */
int	 store_node_reset_connected(struct store *st);

/* ---- stacks and deploys (store_stack.c) --------------------------------- */

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
/*
 * Upgrade a stack: a changed service gets a new revision, a new one is
 * added (inactive), a removed one is deleted with its instances. The ids
 * of services that changed or went away are appended to *changed (caller
 * frees); node ids that lost instances to *nodes (a JSON array). 0 or -1.
 */
int	 store_stack_update(struct store *st, int64_t stack_id, json_t *spec,
	    const char *source, int64_t **changed, size_t *nchanged,
	    json_t *nodes);
/* 1 and *stack_id, 0 not found, -1 error. */
int	 store_stack_find(struct store *st, int64_t grid_id, const char *name,
	    int64_t *stack_id);
/* Delete a stack; the nodes that ran its instances go to nodes (JSON
 * array) and its service ids to *services. 0 or -1. */
int	 store_stack_delete(struct store *st, int64_t stack_id, json_t *nodes,
	    int64_t **services, size_t *nservices);
json_t	*store_stack_list_json(struct store *st, int64_t grid_id);
int	 store_stack_get_json(struct store *st, int64_t stack_id, json_t **out);

/* A deploy of the stack's services in order. 0 or -1. */
int	 store_deploy_create(struct store *st, int64_t stack_id,
	    int64_t *deploy_id);
/* 1 if a deploy of the stack is created or ongoing, 0 not, -1 error. */
int	 store_deploy_running(struct store *st, int64_t stack_id);
int	 store_deploy_get_json(struct store *st, int64_t stack_id,
	    int64_t deploy_id, json_t **out);

/* Service id by grid/stack/name. 1, 0, -1. */
int	 store_service_find(struct store *st, int64_t grid_id,
	    const char *stack, const char *name, int64_t *service_id);
int	 store_service_scale(struct store *st, int64_t service_id,
	    int instances);
/* The service's instances as container entries (node, instance, state,
 * error, ...). NULL on error. */
json_t	*store_service_containers_json(struct store *st, int64_t service_id);

#endif
