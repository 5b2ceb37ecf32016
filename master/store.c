/*
 * store.c - migrate the SQLite file's schema; the row helpers.
 *
 * One struct store per thread (see store.h); opening it, its pragmas and
 * its statement cache are the statement shim's (store_db.c). The schema lives here as an
 * ordered list of migrations; migration i takes user_version i to i+1 and
 * runs in one transaction, so a crash mid-migration leaves the old version.
 * Never edit a shipped migration: append a new one. The one exception is
 * the columns of settings tables (grids' timing knobs...), which follow
 * their table (store_settings.c): a new row is a new column at start-up.
 */
#include "master/store.h"

#include "common/log.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>


static const char *store_migrations[] = {
	/* 0 -> 1: the first schema. */
	"CREATE TABLE operator ("
	"  id INTEGER PRIMARY KEY CHECK (id = 1),"
	"  token_hash BLOB NOT NULL,"
	"  created_at INTEGER NOT NULL);"
	"CREATE TABLE grids ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  token_hash BLOB NOT NULL UNIQUE,"
	"  token_sealed BLOB NOT NULL,"
	"  heartbeat_interval_s INTEGER NOT NULL DEFAULT 5,"
	"  offline_after_s INTEGER NOT NULL DEFAULT 15,"
	"  ephemeral_removal_s INTEGER NOT NULL DEFAULT 1200,"
	"  ha_grace_s INTEGER NOT NULL DEFAULT 120,"
	"  random_grace_s INTEGER NOT NULL DEFAULT 30,"
	"  rebalance_settle_s INTEGER NOT NULL DEFAULT 10,"
	"  move_cooldown_s INTEGER NOT NULL DEFAULT 600,"
	"  dry_run INTEGER NOT NULL DEFAULT 0,"
	"  created_at INTEGER NOT NULL);"
	"CREATE TABLE nodes ("
	"  id TEXT PRIMARY KEY,"
	"  grid_id INTEGER NOT NULL REFERENCES grids(id) ON DELETE RESTRICT,"
	"  name TEXT NOT NULL,"
	"  labels TEXT NOT NULL DEFAULT '[]',"
	"  agent_labels TEXT NOT NULL DEFAULT '[]',"
	"  token_hash BLOB UNIQUE,"
	"  cpus INTEGER NOT NULL DEFAULT 0,"
	"  memory INTEGER NOT NULL DEFAULT 0,"
	"  addresses TEXT NOT NULL DEFAULT '[]',"
	"  agent_version TEXT,"
	"  docker_version TEXT,"
	"  os TEXT,"
	"  kernel TEXT,"
	"  connected INTEGER NOT NULL DEFAULT 0,"
	"  status TEXT NOT NULL DEFAULT 'offline',"
	"  cpu_pct REAL,"
	"  mem_used INTEGER,"
	"  last_seen_at INTEGER,"
	"  connected_at INTEGER,"
	"  disconnected_at INTEGER,"
	"  created_at INTEGER NOT NULL,"
	"  UNIQUE (grid_id, name));"
	"CREATE TABLE stacks ("
	"  id INTEGER PRIMARY KEY,"
	"  grid_id INTEGER NOT NULL REFERENCES grids(id) ON DELETE RESTRICT,"
	"  name TEXT NOT NULL,"
	"  stack_ref TEXT NOT NULL,"
	"  version TEXT,"
	"  description TEXT,"
	"  source TEXT NOT NULL,"
	"  spec TEXT NOT NULL,"
	"  rev INTEGER NOT NULL DEFAULT 1,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  UNIQUE (grid_id, name));"
	"CREATE TABLE services ("
	"  id INTEGER PRIMARY KEY,"
	"  stack_id INTEGER NOT NULL REFERENCES stacks(id) ON DELETE CASCADE,"
	"  name TEXT NOT NULL,"
	"  position INTEGER NOT NULL DEFAULT 0,"
	"  spec TEXT NOT NULL,"
	"  strategy TEXT NOT NULL DEFAULT 'ha'"
	"    CHECK (strategy IN ('ha', 'random', 'daemon')),"
	"  instances INTEGER NOT NULL DEFAULT 1 CHECK (instances >= 0),"
	"  stateful INTEGER NOT NULL DEFAULT 0,"
	"  rev INTEGER NOT NULL DEFAULT 1,"
	"  active INTEGER NOT NULL DEFAULT 0,"
	"  min_health REAL NOT NULL DEFAULT 0.8,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  UNIQUE (stack_id, name));"
	"CREATE TABLE instances ("
	"  id INTEGER PRIMARY KEY,"
	"  service_id INTEGER NOT NULL REFERENCES services(id) ON DELETE CASCADE,"
	"  instance_no INTEGER NOT NULL,"
	"  node_id TEXT NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,"
	"  rev INTEGER NOT NULL,"
	"  move_target INTEGER NOT NULL DEFAULT 0,"
	"  moved_at INTEGER,"
	"  state TEXT NOT NULL DEFAULT 'pending',"
	"  error TEXT,"
	"  exit_code INTEGER,"
	"  container_id TEXT,"
	"  restarts INTEGER NOT NULL DEFAULT 0,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  UNIQUE (service_id, instance_no, node_id));"
	"CREATE INDEX instances_node ON instances(node_id);"
	"CREATE TABLE deploys ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  stack_id INTEGER NOT NULL REFERENCES stacks(id) ON DELETE CASCADE,"
	"  state TEXT NOT NULL DEFAULT 'created'"
	"    CHECK (state IN ('created', 'ongoing', 'success', 'error')),"
	"  error TEXT,"
	"  created_at INTEGER NOT NULL,"
	"  started_at INTEGER,"
	"  finished_at INTEGER);"
	"CREATE INDEX deploys_stack ON deploys(stack_id);"
	"CREATE TABLE deploy_services ("
	"  deploy_id INTEGER NOT NULL REFERENCES deploys(id) ON DELETE CASCADE,"
	"  service_id INTEGER NOT NULL REFERENCES services(id) ON DELETE CASCADE,"
	"  position INTEGER NOT NULL,"
	"  state TEXT NOT NULL DEFAULT 'created'"
	"    CHECK (state IN ('created', 'ongoing', 'success', 'error')),"
	"  error TEXT,"
	"  started_at INTEGER,"
	"  finished_at INTEGER,"
	"  PRIMARY KEY (deploy_id, service_id));"
	"CREATE TABLE events ("
	"  id INTEGER PRIMARY KEY,"
	"  grid_id INTEGER REFERENCES grids(id) ON DELETE CASCADE,"
	"  at INTEGER NOT NULL,"
	"  type TEXT NOT NULL,"
	"  subject TEXT,"
	"  message TEXT NOT NULL);"
	"CREATE INDEX events_grid_at ON events(grid_id, at);",
	/* 1 -> 2: jobs (docs/jobs.md); per node, the jobs it finished. */
	"CREATE TABLE jobs ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  grid_id INTEGER NOT NULL REFERENCES grids(id) ON DELETE RESTRICT,"
	"  name TEXT NOT NULL,"
	"  spec TEXT NOT NULL,"
	"  priority INTEGER NOT NULL DEFAULT 0,"
	"  parallel INTEGER NOT NULL DEFAULT 1 CHECK (parallel >= 1),"
	"  retries INTEGER NOT NULL DEFAULT 0 CHECK (retries >= 0),"
	"  state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending',"
	"    'assigned', 'running', 'succeeded', 'failed', 'timed_out',"
	"    'cancelled')),"
	"  exit_code INTEGER,"
	"  exit_status INTEGER,"
	"  reason TEXT,"
	"  created_at INTEGER NOT NULL,"
	"  started_at INTEGER,"
	"  finished_at INTEGER,"
	"  UNIQUE (grid_id, name));"
	"CREATE INDEX jobs_grid_state ON jobs(grid_id, state);"
	"CREATE INDEX jobs_grid_finished ON jobs(grid_id, finished_at);"
	"CREATE TABLE job_tasks ("
	"  job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
	"  idx INTEGER NOT NULL CHECK (idx >= 0),"
	"  state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending',"
	"    'assigned', 'running', 'succeeded', 'failed', 'timed_out',"
	"    'cancelled')),"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  attempt_id INTEGER,"
	"  node_id TEXT,"
	"  not_before INTEGER NOT NULL DEFAULT 0,"
	"  exit_code INTEGER,"
	"  exit_status INTEGER,"
	"  reason TEXT,"
	"  queue_reason TEXT,"
	"  started_at INTEGER,"
	"  finished_at INTEGER,"
	"  PRIMARY KEY (job_id, idx));"
	"CREATE TABLE job_attempts ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
	"  idx INTEGER NOT NULL,"
	"  no INTEGER NOT NULL,"
	"  node_id TEXT NOT NULL,"
	"  state TEXT NOT NULL DEFAULT 'assigned' CHECK (state IN ("
	"    'assigned', 'running', 'succeeded', 'failed', 'timed_out',"
	"    'cancelled')),"
	"  exit_code INTEGER,"
	"  exit_status INTEGER,"
	"  reason TEXT,"
	"  container_id TEXT,"
	"  assigned_at INTEGER NOT NULL,"
	"  started_at INTEGER,"
	"  finished_at INTEGER);"
	"CREATE INDEX job_attempts_node ON job_attempts(node_id, state);"
	"CREATE INDEX job_attempts_task ON job_attempts(job_id, idx);"
	"ALTER TABLE nodes ADD COLUMN jobs_finished INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE nodes ADD COLUMN last_job_at INTEGER;",
	/*
	 * 2 -> 3: a service can be stopped (kept, with its instance rows and
	 * containers, but nothing running; docs/lifecycle.md), and a node
	 * records how many containers its agent last counted.
	 */
	"ALTER TABLE services ADD COLUMN stopped INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE nodes ADD COLUMN containers INTEGER;"
	"ALTER TABLE nodes ADD COLUMN mem_total INTEGER;",
	/*
	 * 3 -> 4: what berth shows is the truth.
	 *
	 * Stack and service ids are never used again (AUTOINCREMENT): agents
	 * know an instance by its service id, so a service made after a
	 * removal must not take the removed one's id, or it adopts the old
	 * containers. SQLite cannot add AUTOINCREMENT to a table: each is
	 * made anew and its rows copied (store_migrate() runs migrations
	 * with foreign keys off, the way SQLite documents such changes).
	 * Ids taken before this migration by rows already deleted are not
	 * known; the sequence starts above the highest id present.
	 *
	 * Nodes keep what their agent says of its Docker Engine; instances
	 * the last output lines of a container that exited; removed_nodes
	 * the node ids an operator removed, which may not join again.
	 */
	"CREATE TABLE stacks_new ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  grid_id INTEGER NOT NULL REFERENCES grids(id) ON DELETE RESTRICT,"
	"  name TEXT NOT NULL,"
	"  stack_ref TEXT NOT NULL,"
	"  version TEXT,"
	"  description TEXT,"
	"  source TEXT NOT NULL,"
	"  spec TEXT NOT NULL,"
	"  rev INTEGER NOT NULL DEFAULT 1,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  UNIQUE (grid_id, name));"
	"INSERT INTO stacks_new SELECT id, grid_id, name, stack_ref, version,"
	"  description, source, spec, rev, created_at, updated_at FROM stacks;"
	"DROP TABLE stacks;"
	"ALTER TABLE stacks_new RENAME TO stacks;"
	"CREATE TABLE services_new ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  stack_id INTEGER NOT NULL REFERENCES stacks(id) ON DELETE CASCADE,"
	"  name TEXT NOT NULL,"
	"  position INTEGER NOT NULL DEFAULT 0,"
	"  spec TEXT NOT NULL,"
	"  strategy TEXT NOT NULL DEFAULT 'ha'"
	"    CHECK (strategy IN ('ha', 'random', 'daemon')),"
	"  instances INTEGER NOT NULL DEFAULT 1 CHECK (instances >= 0),"
	"  stateful INTEGER NOT NULL DEFAULT 0,"
	"  rev INTEGER NOT NULL DEFAULT 1,"
	"  active INTEGER NOT NULL DEFAULT 0,"
	"  min_health REAL NOT NULL DEFAULT 0.8,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  stopped INTEGER NOT NULL DEFAULT 0,"
	"  UNIQUE (stack_id, name));"
	"INSERT INTO services_new SELECT id, stack_id, name, position, spec,"
	"  strategy, instances, stateful, rev, active, min_health, created_at,"
	"  updated_at, stopped FROM services;"
	"DROP TABLE services;"
	"ALTER TABLE services_new RENAME TO services;"
	"ALTER TABLE nodes ADD COLUMN engine_state TEXT;"
	"ALTER TABLE nodes ADD COLUMN engine_error TEXT;"
	"ALTER TABLE instances ADD COLUMN last_output TEXT;"
	"CREATE TABLE removed_nodes ("
	"  id TEXT PRIMARY KEY,"
	"  grid_id INTEGER NOT NULL REFERENCES grids(id) ON DELETE CASCADE,"
	"  name TEXT NOT NULL,"
	"  removed_at INTEGER NOT NULL);",

	/*
	 * 4 -> 5: tombstones of removed nodes. An agent that finds
	 * containers of another node id on its engine asks the master about
	 * that id; "gone" must be the master's knowledge, not a guess from a
	 * missing row (another master's nodes are missing too), so removals
	 * leave a tombstone, whatever path removed the row.
	 */
	"CREATE TABLE node_tombstones ("
	"  id TEXT PRIMARY KEY,"
	"  grid_id INTEGER NOT NULL REFERENCES grids(id) ON DELETE CASCADE,"
	"  name TEXT NOT NULL,"
	"  removed_at INTEGER NOT NULL);"
	"CREATE TRIGGER nodes_tombstone AFTER DELETE ON nodes BEGIN"
	"  INSERT OR REPLACE INTO node_tombstones (id, grid_id, name,"
	"   removed_at) VALUES (old.id, old.grid_id, old.name,"
	"   CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));"
	" END;"
	"CREATE TRIGGER nodes_untombstone AFTER INSERT ON nodes BEGIN"
	"  DELETE FROM node_tombstones WHERE id = new.id;"
	" END;",
	/*
	 * 5 -> 6: the vault (values sealed with master.key: the store alone
	 * reads none) and a stack's parent (child stacks, Kontena's depends).
	 */
	"CREATE TABLE vault ("
	"  id INTEGER PRIMARY KEY,"
	"  grid_id INTEGER NOT NULL REFERENCES grids(id) ON DELETE CASCADE,"
	"  name TEXT NOT NULL,"
	"  sealed BLOB NOT NULL,"
	"  version INTEGER NOT NULL DEFAULT 1,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  UNIQUE (grid_id, name));"
	"ALTER TABLE stacks ADD COLUMN parent_id INTEGER"
	"  REFERENCES stacks(id) ON DELETE SET NULL;",
	/*
	 * 6 -> 7: node groups and their machines (docs/autoscaling.md).
	 * A group's settings are columns that follow their table
	 * (common/nodegroup_settings.c), added after the migrations. A
	 * machine's row changes state in the transaction of its event.
	 */
	"CREATE TABLE node_groups ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  grid_id INTEGER NOT NULL REFERENCES grids(id) ON DELETE RESTRICT,"
	"  name TEXT NOT NULL,"
	"  provider TEXT NOT NULL,"
	"  labels TEXT NOT NULL DEFAULT '[]',"
	"  backoff_until INTEGER NOT NULL DEFAULT 0,"
	"  backoff_cur_s INTEGER NOT NULL DEFAULT 0,"
	"  last_add_at INTEGER NOT NULL DEFAULT 0,"
	"  last_failure_at INTEGER NOT NULL DEFAULT 0,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  UNIQUE (grid_id, name));"
	"CREATE TABLE machines ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  group_id INTEGER NOT NULL REFERENCES node_groups(id)"
	"    ON DELETE RESTRICT,"
	"  name TEXT NOT NULL DEFAULT '',"
	"  state TEXT NOT NULL DEFAULT 'requested' CHECK (state IN ("
	"    'requested', 'launching', 'joined', 'draining', 'terminating',"
	"    'gone', 'failed')),"
	"  join_token_hash BLOB UNIQUE,"
	"  node_id TEXT,"
	"  pid INTEGER,"
	"  data_dir TEXT,"
	"  reason TEXT,"
	"  created_at INTEGER NOT NULL,"
	"  state_at INTEGER NOT NULL,"
	"  joined_at INTEGER,"
	"  unneeded_since INTEGER);"
	"CREATE INDEX machines_group ON machines(group_id, state);"
	"CREATE INDEX machines_node ON machines(node_id);",
	/*
	 * 7 -> 8: cordon, drain and protect as node operations
	 * (docs/nodes.md). A drain's state lives on its node, so a master
	 * killed mid-drain carries on where it was; drain_forced says the
	 * deadline's event was written; drain_by is who asked ("operator",
	 * "scale-in").
	 */
	"ALTER TABLE nodes ADD COLUMN cordoned INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE nodes ADD COLUMN protected INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE nodes ADD COLUMN drain_state TEXT CHECK (drain_state IN"
	"  ('draining', 'drained'));"
	"ALTER TABLE nodes ADD COLUMN drain_by TEXT;"
	"ALTER TABLE nodes ADD COLUMN drain_started_at INTEGER;"
	"ALTER TABLE nodes ADD COLUMN drain_deadline_at INTEGER;"
	"ALTER TABLE nodes ADD COLUMN drain_done_at INTEGER;"
	"ALTER TABLE nodes ADD COLUMN drain_forced INTEGER NOT NULL DEFAULT 0;",
	/*
	 * 8 -> 9: the id a provider gave a machine's instance (exec,
	 * docker, aws-asg): what a delete names, what a list is matched by.
	 */
	"ALTER TABLE machines ADD COLUMN provider_id TEXT;",

	/*
	 * 9 -> 10: an instance's health, as its agent's probes of the
	 * service's health_check judge it (docs/health.md): the status, the
	 * last failed probe's reason, and the restarts failed probes caused;
	 * and the last of its hooks the agent ran (docs/hooks.md), as the
	 * JSON object of the state frame.
	 */
	"ALTER TABLE instances ADD COLUMN health TEXT;"
	"ALTER TABLE instances ADD COLUMN health_error TEXT;"
	"ALTER TABLE instances ADD COLUMN health_restarts INTEGER NOT NULL"
	"  DEFAULT 0;"
	"ALTER TABLE instances ADD COLUMN last_hook TEXT;",

	/*
	 * 10 -> 11: aws-asg joins (docs/autoscaling.md): a group's own join
	 * token (its hash, and a sealed copy for `berth grid cloud-config
	 * --group`), and the zone of a machine's instance (the node's az
	 * label), learnt when its instance id is matched.
	 */
	"ALTER TABLE node_groups ADD COLUMN join_token_hash BLOB;"
	"ALTER TABLE node_groups ADD COLUMN join_token_sealed BLOB;"
	"CREATE UNIQUE INDEX node_groups_token ON node_groups(join_token_hash);"
	"ALTER TABLE machines ADD COLUMN az TEXT;",

	/*
	 * 11 -> 12: a node waiting for approval (docs/nodes.md, "Pending
	 * nodes"): joined, never scheduled on, no desired set, until berth
	 * node approve; pending_reason says why it waits.
	 */
	"ALTER TABLE nodes ADD COLUMN pending INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE nodes ADD COLUMN pending_reason TEXT;",

	/*
	 * 12 -> 13: the grid network (docs/network.md). A node's subnet of
	 * its grid's overlay, taken at its first join and kept until the
	 * node is removed (the row goes with it); UNIQUE makes "never given
	 * twice while in use" the store's rule. peer_address: the node's
	 * underlay address, as its agent reports it (node_info).
	 */
	"CREATE TABLE node_subnets ("
	"  node_id TEXT PRIMARY KEY REFERENCES nodes(id) ON DELETE CASCADE,"
	"  grid_id INTEGER NOT NULL REFERENCES grids(id) ON DELETE CASCADE,"
	"  subnet TEXT NOT NULL,"
	"  assigned_at INTEGER NOT NULL,"
	"  UNIQUE (grid_id, subnet));"
	"ALTER TABLE nodes ADD COLUMN peer_address TEXT;",

	/*
	 * 13 -> 14: an instance's address on the grid network, as its
	 * agent reports it (state), for the grid's names (docs/dns.md).
	 * NULL while it has none (not running, or off the grid network).
	 */
	"ALTER TABLE instances ADD COLUMN address TEXT;",

	/*
	 * 14 -> 15: the scheduler asks for a grid's draining nodes twice a
	 * round; without an index that read every node row (43 % of the
	 * scheduling thread while 3,000 agents joined).
	 */
	"CREATE INDEX nodes_draining ON nodes(grid_id)"
	" WHERE drain_state = 'draining';",

	/*
	 * 15 -> 16: the masters of a cluster (docs/ha.md, "Roles"): each
	 * master writes its row at start (its node's Raft address, the API
	 * and agent URLs it serves), so that a standby can name the
	 * leader's URLs in a 307 or a close. Unused by a single master.
	 */
	"CREATE TABLE masters ("
	"  address TEXT PRIMARY KEY,"
	"  node_id INTEGER NOT NULL,"
	"  api_url TEXT NOT NULL,"
	"  agent_url TEXT NOT NULL,"
	"  updated_at INTEGER NOT NULL);",

	/*
	 * 16 -> 17: join tokens for new masters (berth master join-token,
	 * docs/ha.md "Setting up three masters"): only the SHA-256 of the
	 * secret is kept; a token serves once, before expires_at.
	 */
	"CREATE TABLE master_join_tokens ("
	"  hash BLOB PRIMARY KEY,"
	"  created_at INTEGER NOT NULL,"
	"  expires_at INTEGER NOT NULL,"
	"  used_at INTEGER,"
	"  used_by TEXT);",

	/*
	 * 17 -> 18: the running instances that have an address, which the
	 * hub reads for each grid's names frame (docs/dns.md) once a second
	 * and on every tick something changed, up to four times a second
	 * while agents join. Without the index that read every instance of
	 * the grid: 4.7 ms at 10,000 daemons none of which had an address,
	 * on the thread every agent waits on. With it the read is as long
	 * as the frame.
	 */
	"CREATE INDEX instances_named ON instances(service_id, instance_no,"
	"  address) WHERE state = 'running' AND address IS NOT NULL;",
};

#define STORE_N_MIGRATIONS \
	(sizeof store_migrations / sizeof store_migrations[0])

_Static_assert(STORE_N_MIGRATIONS == STORE_SCHEMA_VERSION,
    "one migration per schema version");


/* After a migration: every row's parent is there. 0, or -1 with *cause. */
static int
store_fk_check(struct store *st, char **cause)
{
	struct store_stmt *s;
	int rc;

	if ((s = store_prepare(st, "PRAGMA foreign_key_check")) == NULL) {
		xasprintf(cause, "foreign key check: %s", store_errmsg(st));
		return -1;
	}
	rc = stmt_step(s);
	if (rc == STORE_ROW)
		xasprintf(cause, "after the migration a row of %s has no "
		    "parent in %s", stmt_col_text(s, 0),
		    stmt_col_text(s, 2));
	else if (rc != STORE_DONE)
		xasprintf(cause, "foreign key check: %s",
		    store_errmsg(st));
	stmt_free(s);
	return rc == STORE_DONE ? 0 : -1;
}

int
store_migrate(struct store *st, char **cause)
{
	struct store_stmt *s;
	int version;

	if ((s = store_prepare(st, "PRAGMA user_version")) == NULL ||
	    stmt_step(s) != STORE_ROW) {
		xasprintf(cause, "cannot read schema version: %s",
		    store_errmsg(st));
		stmt_free(s);
		return -1;
	}
	version = stmt_col_int(s, 0);
	stmt_free(s);
	if (version > STORE_SCHEMA_VERSION) {
		xasprintf(cause, "database schema version %d is newer than "
		    "this berth-master (%d); refusing to touch it", version,
		    STORE_SCHEMA_VERSION);
		return -1;
	}
	/*
	 * Foreign keys off while the schema changes: a table made anew
	 * (12 steps in SQLite's "ALTER TABLE" page) is dropped while others
	 * still point at it, and a drop must not cascade. It cannot change
	 * inside a transaction, so it is set around them; the check after
	 * proves that no row lost its parent.
	 */
	if (version < STORE_SCHEMA_VERSION)
		store_exec(st, "PRAGMA foreign_keys = OFF");
	for (; version < STORE_SCHEMA_VERSION; version++) {
		char *sql;

		xasprintf(&sql, "BEGIN IMMEDIATE; %s PRAGMA user_version = %d;"
		    " COMMIT;", store_migrations[version], version + 1);
		if (store_exec(st, sql) != STORE_OK) {
			xasprintf(cause, "migration to schema %d failed: %s",
			    version + 1, store_errmsg(st));
			store_exec(st, "ROLLBACK");
			free(sql);
			return -1;
		}
		free(sql);
		log_info("store: schema migrated to version %d", version + 1);
		if (version + 1 == STORE_SCHEMA_VERSION &&
		    store_fk_check(st, cause) != 0)
			return -1;
	}
	store_exec(st, "PRAGMA foreign_keys = ON");
	/* Columns of settings rows added since: see store_settings.c. */
	if (store_begin(st) != 0) {
		xasprintf(cause, "cannot add setting columns: %s",
		    store_errmsg(st));
		return -1;
	}
	if (store_settings_columns(st, "grids", &grid_settings_table,
	    cause) != 0 || store_settings_columns(st, "node_groups",
	    &nodegroup_settings_table, cause) != 0) {
		store_rollback(st);
		return -1;
	}
	if (store_commit(st) != 0) {
		xasprintf(cause, "cannot add setting columns: %s",
		    store_errmsg(st));
		return -1;
	}
	return 0;
}


int
store_done(struct store_stmt *s)
{
	int rc = stmt_step(s);

	stmt_reset(s);
	return rc == STORE_DONE ? 0 : -1;
}

json_t *
store_rows_json(struct store_stmt *s, json_t *arr, json_t *(*row)(struct store_stmt *))
{
	int rc;

	while ((rc = stmt_step(s)) == STORE_ROW)
		json_array_append_new(arr, row(s));
	stmt_reset(s);
	if (rc != STORE_DONE) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

int
store_row_json(struct store_stmt *s, json_t *(*row)(struct store_stmt *), json_t **out)
{
	int rc = stmt_step(s);

	if (rc == STORE_ROW)
		*out = row(s);
	stmt_reset(s);
	if (rc == STORE_ROW)
		return 1;
	return rc == STORE_DONE ? 0 : -1;
}

void
store_bind_text(struct store_stmt *s, int i, const char *v)
{
	if (v == NULL)
		stmt_bind_null(s, i);
	else
		stmt_bind_text(s, i, v);
}

const char *
store_col_text(struct store_stmt *s, int i)
{
	return stmt_col_text(s, i);
}
