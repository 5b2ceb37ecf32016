/*
 * store_session.c - the hub's writes to node records: joins, node info,
 * liveness, and the batched last-seen times.
 *
 * Runs on the ws thread with its own connection (and at start-up); the
 * scheduler thread also asks store_node_grid() which grid a node is in.
 * Admission is batched: the hub looks up the tokens of many new sessions
 * in one query (STORE_BATCH at a time) and records their joins in one
 * transaction; a node that is already online with the same name, labels
 * and version (a session replacing its own older one) costs no write.
 * Liveness (last seen, load) is written for every node at once every few
 * seconds, never one transaction per ping.
 */
#include "master/store.h"

#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* "?,?,...": STORE_BATCH parameters, for IN lists. */
#define Q4	"?,?,?,?"
#define Q16	Q4 "," Q4 "," Q4 "," Q4
#define Q64	Q16 "," Q16 "," Q16 "," Q16
_Static_assert(STORE_BATCH == 64, "Q64 spells STORE_BATCH parameters");

int
store_node_auth_batch(struct store *st, struct node_auth *v, size_t n)
{
	struct store_stmt *s;
	size_t i, k, base;
	int rc;

	for (i = 0; i < n; i++)
		v[i].found = 0;
	for (base = 0; base < n; base += STORE_BATCH) {
		k = n - base < STORE_BATCH ? n - base : STORE_BATCH;
		s = store_stmt(st, "SELECT id, grid_id, token_hash FROM nodes"
		    " WHERE token_hash IN (" Q64 ")");
		for (i = 0; i < k; i++)
			stmt_bind_blob(s, (int)i + 1, v[base + i].hash, 32);
		/* Unbound parameters are NULL, which matches nothing. */
		while ((rc = stmt_step(s)) == STORE_ROW) {
			const void *h = stmt_col_blob(s, 2);

			if (h == NULL || stmt_col_bytes(s, 2) != 32)
				continue;
			for (i = 0; i < k; i++) {
				struct node_auth *a = &v[base + i];

				if (a->found || memcmp(a->hash, h, 32) != 0)
					continue;
				a->found = 1;
				snprintf(a->id, sizeof a->id, "%s",
				    store_col_text(s, 0));
				a->grid_id = stmt_col_int64(s, 1);
			}
		}
		stmt_reset(s);
		if (rc != STORE_DONE)
			return -1;
	}
	return 0;
}

int
store_node_grid_batch(struct store *st, struct node_grid *v, size_t n)
{
	struct store_stmt *s;
	size_t i, k, base;
	const char *id;
	int rc;

	for (i = 0; i < n; i++)
		v[i].found = 0;
	for (base = 0; base < n; base += STORE_BATCH) {
		k = n - base < STORE_BATCH ? n - base : STORE_BATCH;
		s = store_stmt(st, "SELECT id, grid_id FROM nodes"
		    " WHERE id IN (" Q64 ")");
		for (i = 0; i < k; i++)
			store_bind_text(s, (int)i + 1, v[base + i].id);
		while ((rc = stmt_step(s)) == STORE_ROW) {
			id = store_col_text(s, 0);
			for (i = 0; i < k; i++) {
				if (strcmp(v[base + i].id, id) != 0)
					continue;
				v[base + i].found = 1;
				v[base + i].grid_id = stmt_col_int64(s, 1);
			}
		}
		stmt_reset(s);
		if (rc != STORE_DONE)
			return -1;
	}
	return 0;
}

int
store_node_by_token(struct store *st, const unsigned char *hash,
    char id[NODE_ID_LEN + 1], int64_t *grid_id)
{
	struct store_stmt *s = store_stmt(st,
	    "SELECT id, grid_id FROM nodes WHERE token_hash = ?1");
	int rc;

	stmt_bind_blob(s, 1, hash, 32);
	rc = stmt_step(s);
	if (rc == STORE_ROW) {
		snprintf(id, NODE_ID_LEN + 1, "%s", store_col_text(s, 0));
		*grid_id = stmt_col_int64(s, 1);
	}
	stmt_reset(s);
	if (rc == STORE_ROW)
		return 1;
	return rc == STORE_DONE ? 0 : -1;
}

int
store_node_grid(struct store *st, const char *id, int64_t *grid_id)
{
	struct store_stmt *s = store_stmt(st,
	    "SELECT grid_id FROM nodes WHERE id = ?1");
	int rc;

	store_bind_text(s, 1, id);
	rc = stmt_step(s);
	if (rc == STORE_ROW)
		*grid_id = stmt_col_int64(s, 0);
	stmt_reset(s);
	if (rc == STORE_ROW)
		return 1;
	return rc == STORE_DONE ? 0 : -1;
}

/* 1 if name is taken in the grid by a node other than id. */
static int
node_name_taken(struct store *st, int64_t grid_id, const char *name,
    const char *id)
{
	struct store_stmt *s = store_stmt(st,
	    "SELECT 1 FROM nodes WHERE grid_id = ?1 AND name = ?2 AND id != ?3");
	int rc;

	stmt_bind_int64(s, 1, grid_id);
	store_bind_text(s, 2, name);
	store_bind_text(s, 3, id);
	rc = stmt_step(s);
	stmt_reset(s);
	return rc == STORE_ROW;
}

/*
 * The labels a node gets when its agent reconnects. The agent's labels
 * come from its configuration (BERTH_LABELS); an operator may have changed
 * them since. While the agent reports the same labels as last time the
 * node keeps what it has, operator edits included. When the agent's
 * labels changed (its configuration did), the previous agent labels are
 * taken out and the new ones put in, replacing any label with the same key.
 */
static char *
node_merge_labels(const char *current, const char *old_agent,
    const char *new_agent)
{
	json_t *cur = json_loads(current, 0, NULL);
	json_t *old = json_loads(old_agent, 0, NULL);
	json_t *neu = json_loads(new_agent, 0, NULL);
	json_t *out = json_array(), *v, *w;
	size_t i, j;
	char *text;
	int drop;

	if (json_equal(old, neu)) {
		text = json_dumps(cur ? cur : out, JSON_COMPACT);
		goto done;
	}
	json_array_foreach(cur, i, v) {
		drop = 0;
		json_array_foreach(old, j, w)
			if (json_equal(v, w))
				drop = 1;
		json_array_foreach(neu, j, w)
			if (util_label_same_key(json_string_value(v),
			    json_string_value(w)))
				drop = 1;
		if (!drop)
			json_array_append(out, v);
	}
	json_array_foreach(neu, i, v)
		json_array_append(out, v);
	text = json_dumps(out, JSON_COMPACT);
done:
	json_decref(cur);
	json_decref(old);
	json_decref(neu);
	json_decref(out);
	return text;
}

/*
 * The rows of one join, inside the caller's transaction. A node already
 * online whose name, labels and version stay as they are (a new session
 * of a node taking over from its own older one) is left as it is: no
 * write, no event. 0, 1 (a machine's join token was spent meanwhile) or
 * -1; on 1 or -1 the caller rolls the transaction back.
 */
static int
node_join_rows(struct store *st, const struct node_join *j, char name_out[64])
{
	struct store_stmt *s;
	char *labels = NULL, name[64];
	int64_t now = util_now_ms();
	int rc, exists, same = 0;

	s = store_stmt(st, "SELECT labels, agent_labels, name, connected,"
	    " status, agent_version, pending FROM nodes WHERE id = ?1");
	store_bind_text(s, 1, j->id);
	rc = stmt_step(s);
	exists = rc == STORE_ROW;
	if (j->pending_out != NULL)	/* a new node: as it is inserted */
		*j->pending_out = exists ? stmt_col_int(s, 6) :
		    j->pending;
	if (exists) {
		labels = node_merge_labels(store_col_text(s, 0),
		    store_col_text(s, 1), j->labels);
		snprintf(name, sizeof name, "%s", store_col_text(s, 2));
		same = stmt_col_int(s, 3) == 1 &&
		    strcmp(store_col_text(s, 4) ? store_col_text(s, 4) : "",
		    "online") == 0 && labels != NULL &&
		    strcmp(labels, store_col_text(s, 0)) == 0 &&
		    strcmp(name, j->name) == 0 &&
		    store_col_text(s, 5) != NULL &&
		    strcmp(store_col_text(s, 5), j->agent_version) == 0 &&
		    j->token_hash == NULL;
	}
	stmt_reset(s);
	if (rc != STORE_ROW && rc != STORE_DONE)
		goto fail;
	if (same) {
		free(labels);
		snprintf(name_out, 64, "%s", name);
		return store_node_subnet_assign(st, j->id, j->grid_id, NULL);
	}

	/* A node keeps its name unless it asks for a new free one. */
	if (!exists || (strcmp(name, j->name) != 0 &&
	    !node_name_taken(st, j->grid_id, j->name, j->id)))
		snprintf(name, sizeof name, "%s", j->name);
	if (node_name_taken(st, j->grid_id, name, j->id))
		snprintf(name, sizeof name, "%.50s-%.6s", j->name, j->id);

	if (exists) {
		s = store_stmt(st,
		    "UPDATE nodes SET name = ?2, labels = ?3, agent_labels = ?4,"
		    " agent_version = ?5, token_hash = coalesce(?6, token_hash),"
		    " connected = 1, status = 'online', last_seen_at = ?7,"
		    " connected_at = ?7 WHERE id = ?1");
		store_bind_text(s, 3, labels);
	} else {
		s = store_stmt(st,
		    "INSERT INTO nodes (id, name, labels, agent_labels,"
		    " agent_version, token_hash, connected, status, last_seen_at,"
		    " connected_at, created_at, grid_id, pending, pending_reason)"
		    " VALUES (?1, ?2, ?4, ?4, ?5, ?6, 1, 'online', ?7, ?7, ?7, ?8,"
		    " ?9, ?10)");
		stmt_bind_int64(s, 8, j->grid_id);
		stmt_bind_int(s, 9, j->pending != 0);
		store_bind_text(s, 10, j->pending ? j->pending_why : NULL);
	}
	store_bind_text(s, 1, j->id);
	store_bind_text(s, 2, name);
	store_bind_text(s, 4, j->labels);
	store_bind_text(s, 5, j->agent_version);
	if (j->token_hash != NULL)
		stmt_bind_blob(s, 6, j->token_hash, 32);
	else
		stmt_bind_null(s, 6);
	stmt_bind_int64(s, 7, now);
	if (store_done(s) != 0)
		goto fail;
	if (j->machine_id != 0) {
		/* The join token is spent here, once: the row must still be
		 * launching with that token (a racing join finds it used). */
		s = store_stmt(st, "UPDATE machines SET state = 'joined',"
		    " node_id = ?2, join_token_hash = NULL, joined_at = ?3,"
		    " state_at = ?3, reason = 'joined' WHERE id = ?1 AND"
		    " state = 'launching' AND join_token_hash = ?4");
		stmt_bind_int64(s, 1, j->machine_id);
		store_bind_text(s, 2, j->id);
		stmt_bind_int64(s, 3, now);
		stmt_bind_blob(s, 4, j->join_hash, 32);
		if (store_done(s) != 0)
			goto fail;
		if (store_changes(st) != 1) {
			free(labels);
			return 1;	/* the caller rolls back */
		}
		if (store_event_add(st, j->grid_id, "machine.join", name,
		    "machine %s joined as node %.12s (from %s)", name, j->id,
		    j->peer) != 0)
			goto fail;
	}
	/* The grid network: a subnet at the first join, kept after. */
	if (store_node_subnet_assign(st, j->id, j->grid_id, NULL) != 0)
		goto fail;
	if (!exists && j->pending) {
		if (store_event_add(st, j->grid_id, "node.pending", name,
		    "node %s (from %s, labels %s) waits for approval: %s; "
		    "berth node approve %s admits it, berth node rm %s "
		    "turns it away", name, j->peer, j->labels,
		    j->pending_why != NULL ? j->pending_why : "", name,
		    name) != 0)
			goto fail;
	} else if (store_event_add(st, j->grid_id, exists ? "node.online" :
	    "node.join", name, exists ? "node %s online (from %s)" :
	    "node %s joined the grid (from %s, labels %s)", name, j->peer,
	    j->labels) != 0)
		goto fail;
	free(labels);
	snprintf(name_out, 64, "%s", name);
	return 0;
fail:
	free(labels);
	return -1;
}

int
store_node_join(struct store *st, const struct node_join *j,
    char name_out[64])
{
	int rc;

	if (store_begin(st) != 0)
		return -1;
	if ((rc = node_join_rows(st, j, name_out)) == 0 &&
	    (rc = store_commit(st)) == 0)
		return 0;
	store_rollback(st);
	return rc == 1 ? 1 : -1;
}

int
store_node_join_batch(struct store *st, const struct node_join *v, size_t n,
    char (*names)[64])
{
	size_t i;

	if (n == 0)
		return 0;
	if (store_begin(st) != 0)
		return -1;
	for (i = 0; i < n; i++)
		if (node_join_rows(st, &v[i], names[i]) != 0)
			goto fail;
	if (store_commit(st) != 0)
		goto fail;
	return 0;
fail:
	store_rollback(st);
	return -1;
}

/* Bind a node_info's fields as ?1..?8; the addresses' text, to free. */
static char *
node_info_bind(struct store_stmt *s, const char *id, json_t *info,
    const char *peer)
{
	json_t *v;
	char *addrs;

	store_bind_text(s, 1, id);
	stmt_bind_int64(s, 2, json_integer_value(json_object_get(info,
	    "cpus")));
	stmt_bind_int64(s, 3, json_integer_value(json_object_get(info,
	    "memory")));
	v = json_object_get(info, "addresses");
	addrs = json_is_array(v) ? json_dumps(v, JSON_COMPACT) : xstrdup("[]");
	store_bind_text(s, 4, addrs);
	store_bind_text(s, 5, json_string_value(json_object_get(info,
	    "docker_version")));
	store_bind_text(s, 6, json_string_value(json_object_get(info, "os")));
	store_bind_text(s, 7, json_string_value(json_object_get(info,
	    "kernel")));
	store_bind_text(s, 8, peer);
	return addrs;
}

int
store_node_info(struct store *st, const char *id, json_t *info)
{
	struct store_stmt *s;
	json_t *v;
	char *addrs;
	const char *peer;
	int rc, k;

	/*
	 * Each session starts with a node_info, nearly always the one the
	 * store holds: found by reading (no writer waited for), it costs no
	 * write lock, of which 10,000 reconnecting agents took 10,000.
	 * Absent from an older agent, the peer address stays as it was.
	 */
	v = json_object_get(info, "peer_address");
	peer = json_is_string(v) ? json_string_value(v) : NULL;
	for (k = 0; k < 2; k++) {
		s = store_stmt(st, k == 0 ? "SELECT 1 FROM nodes WHERE id = ?1"
		    " AND (cpus IS NOT ?2 OR memory IS NOT ?3 OR addresses IS NOT"
		    " ?4 OR docker_version IS NOT ?5 OR os IS NOT ?6 OR kernel"
		    " IS NOT ?7 OR (?8 IS NOT NULL AND peer_address IS NOT ?8))" :
		    "UPDATE nodes SET cpus = ?2, memory = ?3, addresses = ?4,"
		    " docker_version = ?5, os = ?6, kernel = ?7,"
		    " peer_address = coalesce(?8, peer_address) WHERE id = ?1");
		addrs = node_info_bind(s, id, info, peer);
		rc = k == 0 ? stmt_step(s) : store_done(s);
		if (k == 0)
			stmt_reset(s);
		free(addrs);
		if (k == 0 && rc == STORE_DONE)
			return 0;	/* as stored */
		if (k == 0 && rc != STORE_ROW)
			return -1;
	}
	return rc == 0 ? 1 : -1;
}

int
store_node_offline(struct store *st, const char *id, int64_t grid_id,
    const char *name, const char *why)
{
	struct store_stmt *s;

	if (store_begin(st) != 0)
		return -1;
	s = store_stmt(st,
	    "UPDATE nodes SET connected = 0, status = 'offline',"
	    " disconnected_at = ?2 WHERE id = ?1 AND connected = 1");
	store_bind_text(s, 1, id);
	stmt_bind_int64(s, 2, util_now_ms());
	if (store_done(s) != 0)
		goto fail;
	if (store_changes(st) > 0 &&
	    store_event_add(st, grid_id, "node.offline", name,
	    "node %s offline: %s", name, why) != 0)
		goto fail;
	return store_commit(st);
fail:
	store_rollback(st);
	return -1;
}

int
store_node_engine(struct store *st, const char *id, int64_t grid_id,
    const char *name, int down, const char *error)
{
	struct store_stmt *s;
	int changed, was_down, same, rc;

	/*
	 * Every new session reports its engine once: when the store says so
	 * already (a reconnect), no write transaction, which would take the
	 * write lock once per agent in a burst of reconnects.
	 */
	s = store_stmt(st, "SELECT engine_state IS ?2 AND engine_error IS ?3"
	    " FROM nodes WHERE id = ?1");
	store_bind_text(s, 1, id);
	store_bind_text(s, 2, down ? "down" : "up");
	store_bind_text(s, 3, down ? error : NULL);
	rc = stmt_step(s);
	same = rc == STORE_ROW && stmt_col_int(s, 0);
	stmt_reset(s);
	if (rc != STORE_ROW && rc != STORE_DONE)
		return -1;
	if (same)
		return 0;
	if (store_begin(st) != 0)
		return -1;
	/* "Answers" is news only after "down": a first report is not. */
	s = store_stmt(st, "SELECT engine_state = 'down' FROM nodes"
	    " WHERE id = ?1");
	store_bind_text(s, 1, id);
	was_down = stmt_step(s) == STORE_ROW && stmt_col_int(s, 0);
	stmt_reset(s);
	s = store_stmt(st, "UPDATE nodes SET engine_state = ?2,"
	    " engine_error = ?3 WHERE id = ?1 AND (engine_state IS NOT ?2"
	    " OR engine_error IS NOT ?3)");
	store_bind_text(s, 1, id);
	store_bind_text(s, 2, down ? "down" : "up");
	store_bind_text(s, 3, down ? error : NULL);
	if (store_done(s) != 0)
		goto fail;
	changed = store_changes(st) > 0;
	if (changed && down && store_event_add(st, grid_id, "node.engine",
	    name, "node %s: Docker Engine down: %s; no new instances are "
	    "placed on it", name, error) != 0)
		goto fail;
	if (changed && !down && was_down && store_event_add(st, grid_id,
	    "node.engine", name, "node %s: Docker Engine answers again",
	    name) != 0)
		goto fail;
	if (store_commit(st) != 0)
		return -1;
	return changed;
fail:
	store_rollback(st);
	return -1;
}

/*
 * One UPDATE for a slice of nodes, their values in a JSON array bound as
 * one parameter: on dqlite every statement is a round trip to the leader,
 * and one UPDATE a node made the hub's flush (up to 2,000 nodes) as many
 * round trips. Node ids are the hub's checked hex; one that is not is
 * skipped rather than quoted (the other form binds it, and matches no
 * row).
 */
#define SEEN_SLICE	2000

static int
node_seen_slice(struct store *st, const struct node_seen *v, size_t n)
{
	struct store_stmt *s;
	struct buf b = { NULL, 0, 0 };
	size_t i, k = 0;
	int rc;

	buf_append(&b, "[", 1);
	for (i = 0; i < n; i++) {
		if (v[i].id[strspn(v[i].id, "0123456789abcdef")] != '\0')
			continue;
		buf_printf(&b, "%s[\"%s\",%lld,%.3f,%lld,%lld,%lld]",
		    k++ == 0 ? "" : ",", v[i].id, (long long)v[i].at,
		    isfinite(v[i].cpu_pct) ? v[i].cpu_pct : -1.0,
		    (long long)v[i].mem_used, (long long)v[i].mem_total,
		    (long long)v[i].containers);
	}
	buf_append(&b, "]", 2);		/* with the NUL */
	s = store_stmt(st,
	    "UPDATE nodes SET last_seen_at = j.at,"
	    " cpu_pct = CASE WHEN j.cpu < 0 THEN cpu_pct ELSE j.cpu END,"
	    " mem_used = CASE WHEN j.mu < 0 THEN mem_used ELSE j.mu END,"
	    " mem_total = CASE WHEN j.mt < 0 THEN mem_total ELSE j.mt END,"
	    " containers = CASE WHEN j.c < 0 THEN containers ELSE j.c END"
	    " FROM (SELECT json_extract(value, '$[0]') AS id,"
	    "  json_extract(value, '$[1]') AS at,"
	    "  json_extract(value, '$[2]') AS cpu,"
	    "  json_extract(value, '$[3]') AS mu,"
	    "  json_extract(value, '$[4]') AS mt,"
	    "  json_extract(value, '$[5]') AS c FROM json_each(?1)) AS j"
	    " WHERE nodes.id = j.id");
	store_bind_text(s, 1, b.data);
	rc = store_done(s);
	buf_free(&b);
	return rc;
}

/* One UPDATE a node: SQLite's statements are calls, not round trips. */
static int
node_seen_rows(struct store *st, const struct node_seen *v, size_t n)
{
	struct store_stmt *s;
	size_t i;

	for (i = 0; i < n; i++) {
		s = store_stmt(st,
		    "UPDATE nodes SET last_seen_at = ?2,"
		    " cpu_pct = CASE WHEN ?3 < 0 THEN cpu_pct ELSE ?3 END,"
		    " mem_used = CASE WHEN ?4 < 0 THEN mem_used ELSE ?4 END,"
		    " mem_total = CASE WHEN ?5 < 0 THEN mem_total ELSE ?5 END,"
		    " containers = CASE WHEN ?6 < 0 THEN containers ELSE ?6 END"
		    " WHERE id = ?1");
		store_bind_text(s, 1, v[i].id);
		stmt_bind_int64(s, 2, v[i].at);
		stmt_bind_double(s, 3, v[i].cpu_pct);
		stmt_bind_int64(s, 4, v[i].mem_used);
		stmt_bind_int64(s, 5, v[i].mem_total);
		stmt_bind_int64(s, 6, v[i].containers);
		if (store_done(s) != 0)
			return -1;
	}
	return 0;
}

/*
 * One transaction, in the first form above on dqlite (a round trip per
 * 2,000 nodes, not one a node) and in the second on SQLite, where a
 * statement is a call and json_each's parsing costs more (10,000 idle
 * agents, the flush then sliced each tick: 11.2-11.4 % of a core against
 * 12.1-12.9 % with json_each).
 */
int
store_node_seen_batch(struct store *st, const struct node_seen *v, size_t n)
{
	size_t i, k;

	if (n == 0)
		return 0;
	if (store_begin(st) != 0)
		return -1;
	for (i = 0; i < n; i += k) {
		k = n - i < SEEN_SLICE ? n - i : SEEN_SLICE;
		if ((store_remote(st) ? node_seen_slice(st, v + i, k) :
		    node_seen_rows(st, v + i, k)) != 0) {
			store_rollback(st);
			return -1;
		}
	}
	return store_commit(st);
}

int
store_node_reset_connected(struct store *st)
{
	/*
	 * The master was down, not the nodes: their offline time (grace
	 * periods, removal) counts from this start, so that agents coming
	 * back in the first seconds find their instances where they left
	 * them.
	 */
	struct store_stmt *s = store_stmt(st,
	    "UPDATE nodes SET connected = 0, status = 'offline',"
	    " disconnected_at = ?1 WHERE connected = 1");

	stmt_bind_int64(s, 1, util_now_ms());
	return store_done(s);
}
