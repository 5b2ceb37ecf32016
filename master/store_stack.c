/*
 * store_stack.c - stacks and their services in the store.
 *
 * Called from the API threads. A stack keeps its source as the operator
 * wrote it and the parser's normalized spec; each service keeps its own
 * spec and the columns the scheduler reads. Services start inactive: the
 * scheduler places nothing for a service until a deploy reaches it, which
 * is how the deploy order (links, depends_on) holds.
 */
#include "master/store.h"

#include "stacks/stack.h"

#include "common/util.h"
#include "common/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Insert one service of a stack. 0 or -1. */
static int
service_insert(struct store *st, int64_t stack_id, json_t *svc, int position,
    int64_t now)
{
	struct store_stmt *s = store_stmt(st,
	    "INSERT INTO services (stack_id, name, position, spec, strategy,"
	    " instances, stateful, min_health, rev, active, created_at,"
	    " updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1, 0, ?9, ?9)");
	json_t *deploy = json_object_get(svc, "deploy");
	json_t *mh = json_object_get(deploy, "min_health");
	char *text = json_dumps(svc, STORE_JSON_FLAGS);
	int rc;

	stmt_bind_int64(s, 1, stack_id);
	store_bind_text(s, 2, json_string_value(json_object_get(svc, "name")));
	stmt_bind_int(s, 3, position);
	store_bind_text(s, 4, text);
	store_bind_text(s, 5, json_string_value(json_object_get(svc,
	    "strategy")));
	stmt_bind_int64(s, 6, json_integer_value(json_object_get(svc,
	    "instances")));
	stmt_bind_int(s, 7, json_is_true(json_object_get(svc, "stateful")));
	stmt_bind_double(s, 8, json_is_number(mh) ? json_number_value(mh) :
	    0.8);
	stmt_bind_int64(s, 9, now);
	rc = store_done(s);
	free(text);
	return rc;
}

/* The secrets a stack writes (to: vault), in the caller's transaction. */
static int
stack_secrets(struct store *st, int64_t grid_id, const char *stack,
    const struct stack_write *w, json_t *rolled)
{
	char why[128];
	size_t i;

	snprintf(why, sizeof why, "by stack %s (to: vault)", stack);
	for (i = 0; w != NULL && i < w->nsecrets; i++) {
		if (store_vault_put_tx(st, grid_id, w->secrets[i].name,
		    w->secrets[i].sealed, w->secrets[i].len, VAULT_PUT_UPSERT,
		    why, rolled) != 0)
			return -1;
	}
	return 0;
}

int
store_stack_create(struct store *st, int64_t grid_id, json_t *spec,
    const char *source, int64_t *stack_id)
{
	return store_stack_create_ex(st, grid_id, spec, source, NULL, stack_id);
}

/* Insert a stack, in the caller's transaction: 0, 1 name taken, -1. */
static int
stack_create_tx(struct store *st, int64_t grid_id, json_t *spec,
    const char *source, const struct stack_write *w, int64_t parent_id,
    int64_t *stack_id)
{
	struct store_stmt *s;
	json_t *svc;
	char *text;
	int64_t now = util_now_ms();
	size_t i;
	int rc;

	s = store_stmt(st,
	    "INSERT INTO stacks (grid_id, name, stack_ref, version, description,"
	    " source, spec, rev, created_at, updated_at, parent_id)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1, ?8, ?8, ?9)");
	text = json_dumps(spec, STORE_JSON_FLAGS);
	stmt_bind_int64(s, 1, grid_id);
	store_bind_text(s, 2, json_string_value(json_object_get(spec, "name")));
	store_bind_text(s, 3, json_string_value(json_object_get(spec, "stack")));
	store_bind_text(s, 4, json_string_value(json_object_get(spec,
	    "version")));
	store_bind_text(s, 5, json_string_value(json_object_get(spec,
	    "description")));
	store_bind_text(s, 6, source);
	store_bind_text(s, 7, text);
	stmt_bind_int64(s, 8, now);
	if (parent_id > 0)
		stmt_bind_int64(s, 9, parent_id);
	else
		stmt_bind_null(s, 9);
	rc = stmt_step(s);
	stmt_reset(s);
	free(text);
	if ((rc & 0xff) == STORE_CONSTRAINT)
		return 1;
	if (rc != STORE_DONE)
		return -1;
	*stack_id = store_last_id(st);
	json_array_foreach(json_object_get(spec, "services"), i, svc) {
		if (service_insert(st, *stack_id, svc, (int)i, now) != 0)
			return -1;
	}
	if (stack_secrets(st, grid_id, json_string_value(json_object_get(spec,
	    "name")), w, w != NULL ? w->rolled : NULL) != 0)
		return -1;
	return store_event_add(st, grid_id, "stack.create",
	    json_string_value(json_object_get(spec, "name")),
	    "stack %s created with %zu service(s)%s%s",
	    json_string_value(json_object_get(spec, "name")),
	    json_array_size(json_object_get(spec, "services")),
	    parent_id > 0 ? ", a child stack of " : "", parent_id > 0 ?
	    json_string_value(json_object_get(spec, "parent")) : "");
}

int
store_stack_create_ex(struct store *st, int64_t grid_id, json_t *spec,
    const char *source, const struct stack_write *w, int64_t *stack_id)
{
	int rc;

	if (store_begin(st) != 0)
		return -1;
	rc = stack_create_tx(st, grid_id, spec, source, w, w != NULL ?
	    w->parent_id : 0, stack_id);
	if (rc != 0) {
		store_rollback(st);
		return rc;
	}
	return store_commit(st);
}

static int
parent_set(struct store *st, int64_t stack_id, int64_t parent_id)
{
	struct store_stmt *s = store_stmt(st, "UPDATE stacks SET parent_id = ?2"
	    " WHERE id = ?1");

	stmt_bind_int64(s, 1, stack_id);
	stmt_bind_int64(s, 2, parent_id);
	return store_done(s);
}

/* Append the distinct node ids running instances matched by sql/id. */
static int
collect_nodes(struct store *st, const char *sql, int64_t id, json_t *nodes)
{
	struct store_stmt *s = store_stmt(st, sql);
	int rc;

	stmt_bind_int64(s, 1, id);
	while ((rc = stmt_step(s)) == STORE_ROW)
		json_array_append_new(nodes, json_string(store_col_text(s, 0)));
	stmt_reset(s);
	return rc == STORE_DONE ? 0 : -1;
}

void
store_stack_update_clear(struct stack_update *u)
{
	free(u->changed);
	free(u->added);
	free(u->removed);
	free(u->rescaled);
	json_decref(u->nodes);
	memset(u, 0, sizeof *u);
}

static void
ids_push(int64_t **v, size_t *n, int64_t id)
{
	*v = xreallocarray(*v, *n + 1, sizeof **v);
	(*v)[(*n)++] = id;
}

/* The spec as text without its instance count: what a revision covers. */
static char *
service_spec_sans_count(const char *text)
{
	json_t *o = json_loads(text, 0, NULL);
	char *out;

	if (o == NULL)
		return xstrdup(text);
	json_object_del(o, "instances");
	out = json_dumps(o, STORE_JSON_FLAGS);
	json_decref(o);
	return out;
}

/*
 * Bring one service of the new spec into the store at position: insert
 * it, or give it the new spec. The instance count is not part of what a
 * revision covers: a spec that differs only in `instances` keeps its
 * revision (no container is replaced), and any other change takes the
 * next one. The count follows the file only when the file's count
 * changed (spec.instances is the file's value, never a scale's): a
 * manual scale survives an upgrade that leaves `instances` alone. What
 * happened goes to u. 0 or -1.
 */
static int
service_upgrade(struct store *st, int64_t stack_id, json_t *svc, int position,
    int64_t now, struct stack_update *u)
{
	struct store_stmt *s = store_stmt(st, "SELECT id, spec,"
	    " json_extract(spec, '$.instances') IS NOT ?3 FROM services"
	    " WHERE stack_id = ?1 AND name = ?2");
	json_t *mh;
	char *text = NULL, *old = NULL, *a = NULL, *b = NULL;
	int64_t sid = 0, count;
	int rc, recount = 0, respec;

	count = json_integer_value(json_object_get(svc, "instances"));
	stmt_bind_int64(s, 1, stack_id);
	store_bind_text(s, 2, json_string_value(json_object_get(svc, "name")));
	stmt_bind_int64(s, 3, count);
	rc = stmt_step(s);
	if (rc == STORE_ROW) {
		sid = stmt_col_int64(s, 0);
		old = xstrdup(store_col_text(s, 1));
		recount = stmt_col_int(s, 2);
	}
	stmt_reset(s);
	if (rc == STORE_DONE) {
		rc = service_insert(st, stack_id, svc, position, now);
		if (rc == 0)
			ids_push(&u->added, &u->nadded,
			    store_last_id(st));
		goto out;
	}
	if (rc != STORE_ROW) {
		rc = -1;
		goto out;
	}
	text = json_dumps(svc, STORE_JSON_FLAGS);
	a = service_spec_sans_count(old);
	b = service_spec_sans_count(text);
	respec = strcmp(a, b) != 0;
	mh = json_object_get(json_object_get(svc, "deploy"), "min_health");
	s = store_stmt(st, "UPDATE services SET spec = ?2, strategy = ?3,"
	    " instances = CASE WHEN ?9 THEN ?4 ELSE instances END,"
	    " stateful = ?5, min_health = ?6, position = ?7,"
	    " rev = rev + ?10, updated_at = CASE WHEN ?9 OR ?10"
	    " THEN ?8 ELSE updated_at END WHERE id = ?1");
	stmt_bind_int64(s, 1, sid);
	store_bind_text(s, 2, text);
	store_bind_text(s, 3, json_string_value(json_object_get(svc,
	    "strategy")));
	stmt_bind_int64(s, 4, count);
	stmt_bind_int(s, 5, json_is_true(json_object_get(svc, "stateful")));
	stmt_bind_double(s, 6, json_is_number(mh) ? json_number_value(mh) :
	    0.8);
	stmt_bind_int(s, 7, position);
	stmt_bind_int64(s, 8, now);
	stmt_bind_int(s, 9, recount);
	stmt_bind_int(s, 10, respec);
	if ((rc = store_done(s)) != 0)
		goto out;
	if (respec)
		ids_push(&u->changed, &u->nchanged, sid);
	else if (recount)
		ids_push(&u->rescaled, &u->nrescaled, sid);
out:
	free(a);
	free(b);
	free(text);
	free(old);
	return rc;
}

/*
 * Delete the services of stack_id whose names keep does not hold, with
 * their instances; the nodes that ran those go to u->nodes. 0 or -1.
 */
static int
services_remove(struct store *st, int64_t stack_id, json_t *keep,
    struct stack_update *u)
{
	struct store_stmt *s = store_stmt(st, "SELECT id, name FROM services"
	    " WHERE stack_id = ?1");
	size_t i, first = u->nremoved;
	int rc;

	stmt_bind_int64(s, 1, stack_id);
	while ((rc = stmt_step(s)) == STORE_ROW) {
		if (json_object_get(keep, store_col_text(s, 1)) == NULL)
			ids_push(&u->removed, &u->nremoved,
			    stmt_col_int64(s, 0));
	}
	stmt_reset(s);
	if (rc != STORE_DONE)
		return -1;
	/* Deleted once the SELECT is done: its cursor is on this table. */
	for (i = first; i < u->nremoved; i++) {
		if (collect_nodes(st, "SELECT DISTINCT node_id FROM instances"
		    " WHERE service_id = ?1", u->removed[i], u->nodes) != 0)
			return -1;
		s = store_stmt(st, "DELETE FROM services WHERE id = ?1");
		stmt_bind_int64(s, 1, u->removed[i]);
		if (store_done(s) != 0)
			return -1;
	}
	return 0;
}

/* 1 if stack_id is a stack, 0 not, -1 error. */
static int
stack_exists(struct store *st, int64_t stack_id)
{
	struct store_stmt *s = store_stmt(st, "SELECT 1 FROM stacks WHERE id = ?1");
	int rc;

	stmt_bind_int64(s, 1, stack_id);
	rc = stmt_step(s);
	stmt_reset(s);
	if (rc == STORE_ROW)
		return 1;
	return rc == STORE_DONE ? 0 : -1;
}

int
store_stack_update(struct store *st, int64_t stack_id, json_t *spec,
    const char *source, struct stack_update *u)
{
	return store_stack_update_ex(st, stack_id, spec, source, NULL, u);
}

/* Upgrade a stack, in the caller's transaction (u is added to). */
static int
stack_update_tx(struct store *st, int64_t stack_id, json_t *spec,
    const char *source, const struct stack_write *w, struct stack_update *u)
{
	const char *name = json_string_value(json_object_get(spec, "name"));
	struct store_stmt *s;
	json_t *svc, *keep = json_object();
	char *text;
	int64_t now = util_now_ms(), grid_id = 0;
	size_t i;
	int rc = -1, rc2;

	/* Looked up before this transaction: another request may have
	 * removed it since (2: a 404 for the caller, not a store error). */
	if ((rc = stack_exists(st, stack_id)) != 1) {
		rc = rc == 0 ? 2 : -1;
		goto out;
	}
	rc = -1;
	json_array_foreach(json_object_get(spec, "services"), i, svc) {
		json_object_set_new(keep, json_string_value(json_object_get(svc,
		    "name")), json_true());
		if (service_upgrade(st, stack_id, svc, (int)i, now, u) != 0)
			goto out;
	}
	if (services_remove(st, stack_id, keep, u) != 0)
		goto out;
	s = store_stmt(st, "UPDATE stacks SET source = ?2, spec = ?3,"
	    " version = ?4, description = ?5, stack_ref = ?6, rev = rev + 1,"
	    " updated_at = ?7 WHERE id = ?1");
	text = json_dumps(spec, STORE_JSON_FLAGS);
	stmt_bind_int64(s, 1, stack_id);
	store_bind_text(s, 2, source);
	store_bind_text(s, 3, text);
	store_bind_text(s, 4, json_string_value(json_object_get(spec,
	    "version")));
	store_bind_text(s, 5, json_string_value(json_object_get(spec,
	    "description")));
	store_bind_text(s, 6, json_string_value(json_object_get(spec, "stack")));
	stmt_bind_int64(s, 7, now);
	rc2 = store_done(s);
	free(text);
	/* Its grid (no RETURNING: the dqlite backend cannot run it). */
	if (rc2 == 0 && store_changes(st) > 0) {
		s = store_stmt(st, "SELECT grid_id FROM stacks WHERE id = ?1");
		stmt_bind_int64(s, 1, stack_id);
		if (stmt_step(s) == STORE_ROW)
			grid_id = stmt_col_int64(s, 0);
		stmt_reset(s);
	}
	if (grid_id == 0 || store_event_add(st, grid_id, "stack.upgrade", name,
	    "stack %s upgraded: %zu service(s) changed or removed", name,
	    u->nchanged + u->nremoved) != 0)
		goto out;
	if (stack_secrets(st, grid_id, name, w, w != NULL ? w->rolled :
	    NULL) != 0)
		goto out;
	rc = 0;
out:
	json_decref(keep);
	return rc;
}

int
store_stack_update_ex(struct store *st, int64_t stack_id, json_t *spec,
    const char *source, const struct stack_write *w, struct stack_update *u)
{
	memset(u, 0, sizeof *u);
	u->nodes = json_array();
	int rc = -1;

	if (store_begin(st) != 0 ||
	    (rc = stack_update_tx(st, stack_id, spec, source, w, u)) != 0 ||
	    (rc = store_commit(st)) != 0) {
		store_rollback(st);
		store_stack_update_clear(u);
		return rc == 2 ? 1 : -1;	/* 1: removed meanwhile */
	}
	return 0;
}

int
store_stack_ref(struct store *st, int64_t stack_id, char *ref, size_t len)
{
	struct store_stmt *s = store_stmt(st,
	    "SELECT stack_ref FROM stacks WHERE id = ?1");
	int rc;

	stmt_bind_int64(s, 1, stack_id);
	rc = stmt_step(s);
	if (rc == STORE_ROW)
		snprintf(ref, len, "%s", store_col_text(s, 0));
	stmt_reset(s);
	if (rc == STORE_ROW)
		return 1;
	return rc == STORE_DONE ? 0 : -1;
}

int
store_stack_find(struct store *st, int64_t grid_id, const char *name,
    int64_t *stack_id)
{
	struct store_stmt *s = store_stmt(st,
	    "SELECT id FROM stacks WHERE grid_id = ?1 AND name = ?2");
	int rc;

	stmt_bind_int64(s, 1, grid_id);
	store_bind_text(s, 2, name);
	rc = stmt_step(s);
	if (rc == STORE_ROW)
		*stack_id = stmt_col_int64(s, 0);
	stmt_reset(s);
	if (rc == STORE_ROW)
		return 1;
	return rc == STORE_DONE ? 0 : -1;
}

/* Delete one stack, in the caller's transaction (appending). */
static int
stack_delete_tx(struct store *st, int64_t stack_id, json_t *nodes,
    int64_t **services, size_t *nservices)
{
	struct store_stmt *s;
	int rc;

	if (collect_nodes(st, "SELECT DISTINCT i.node_id FROM instances i"
	    " JOIN services v ON v.id = i.service_id WHERE v.stack_id = ?1",
	    stack_id, nodes) != 0)
		return -1;
	s = store_stmt(st, "SELECT id FROM services WHERE stack_id = ?1");
	stmt_bind_int64(s, 1, stack_id);
	while ((rc = stmt_step(s)) == STORE_ROW) {
		*services = xreallocarray(*services, *nservices + 1,
		    sizeof **services);
		(*services)[(*nservices)++] = stmt_col_int64(s, 0);
	}
	stmt_reset(s);
	/* Its grid and name, then the row (no RETURNING: the dqlite
	 * backend cannot run it). */
	s = store_stmt(st, "SELECT grid_id, name FROM stacks WHERE id = ?1");
	stmt_bind_int64(s, 1, stack_id);
	rc = stmt_step(s);
	if (rc == STORE_ROW) {
		int64_t grid_id = stmt_col_int64(s, 0);
		char *name = xstrdup(store_col_text(s, 1));

		stmt_reset(s);
		s = store_stmt(st, "DELETE FROM stacks WHERE id = ?1");
		stmt_bind_int64(s, 1, stack_id);
		if (store_done(s) != 0) {
			free(name);
			return -1;
		}
		rc = store_changes(st) == 0 ? 1 :
		    store_event_add(st, grid_id, "stack.remove", name,
		    "stack %s removed with its services and instances", name);
		free(name);
		return rc;
	}
	stmt_reset(s);
	/* Removed by another request since the caller's lookup: 1. */
	return rc == STORE_DONE ? 1 : -1;
}

int
store_stack_tree(struct store *st, int64_t stack_id, int64_t **ids,
    size_t *n)
{
	struct store_stmt *s = store_stmt(st,
	    "WITH RECURSIVE t(id, depth) AS (SELECT ?1, 0 UNION ALL"
	    " SELECT k.id, t.depth + 1 FROM stacks k JOIN t"
	    " ON k.parent_id = t.id WHERE t.depth < 64)"
	    " SELECT id FROM t ORDER BY depth DESC, id");
	int rc;

	*ids = NULL;
	*n = 0;
	stmt_bind_int64(s, 1, stack_id);
	while ((rc = stmt_step(s)) == STORE_ROW)
		ids_push(ids, n, stmt_col_int64(s, 0));
	stmt_reset(s);
	if (rc != STORE_DONE) {
		free(*ids);
		*ids = NULL;
		*n = 0;
		return -1;
	}
	return 0;
}

int
store_stack_delete(struct store *st, int64_t stack_id, json_t *nodes,
    int64_t **services, size_t *nservices)
{
	int64_t *ids;
	size_t n, i;
	int rc = -1;

	*services = NULL;
	*nservices = 0;
	if (store_begin(st) != 0)
		return -1;
	/* Its child stacks first, theirs before them. */
	if (store_stack_tree(st, stack_id, &ids, &n) != 0)
		goto fail;
	for (i = 0; i < n; i++) {
		rc = stack_delete_tx(st, ids[i], nodes, services, nservices);
		if (rc != 0) {
			free(ids);
			goto fail;
		}
	}
	free(ids);
	if (store_commit(st) == 0)
		return 0;
	rc = -1;
fail:
	/* 1: the stack was removed by another request meanwhile. */
	store_rollback(st);
	free(*services);
	*services = NULL;
	*nservices = 0;
	json_array_clear(nodes);
	return rc == 1 ? 1 : -1;
}

int
store_stack_tree_write(struct store *st, int64_t grid_id,
    struct stack_tree_item *t, size_t n, const struct stack_write *w,
    const int64_t *remove, size_t nremove, struct stack_update *u)
{
	int64_t parent;
	size_t i;
	int rc;

	memset(u, 0, sizeof *u);
	u->nodes = json_array();
	if (store_begin(st) != 0)
		goto fail;
	for (i = 0; i < n; i++) {
		parent = i == 0 ? (w != NULL ? w->parent_id : 0) :
		    t[t[i].parent].id;
		/* The secrets (to: vault) once, with the stack that asked. */
		if (t[i].id > 0)
			rc = stack_update_tx(st, t[i].id, t[i].spec,
			    t[i].source, i == 0 ? w : NULL, u);
		else
			rc = stack_create_tx(st, grid_id, t[i].spec,
			    t[i].source, i == 0 ? w : NULL, parent, &t[i].id);
		if (rc == 1 || rc == 2) {	/* name taken, or gone */
			store_rollback(st);
			store_stack_update_clear(u);
			return rc;
		}
		if (rc != 0)
			goto fail;
		/* A child installed again under its parent. */
		if (i > 0 && parent_set(st, t[i].id, parent) != 0)
			goto fail;
	}
	for (i = 0; i < nremove; i++) {
		/* A child removed meanwhile (1) is as good as removed. */
		if (stack_delete_tx(st, remove[i], u->nodes, &u->removed,
		    &u->nremoved) < 0)
			goto fail;
	}
	if (store_commit(st) == 0)
		return 0;
fail:
	store_rollback(st);
	store_stack_update_clear(u);
	return -1;
}

/*
 * What the stack is doing now, whatever its last deploy said: deploying
 * (a deploy is under way), not deployed (no deploy reached a service),
 * running (every instance placed runs at its revision on a node that can
 * say so, and every ha/random service has all its instances), else
 * degraded. A stack whose deploy failed and that converged later is
 * running; one whose deploy succeeded and then lost a node is degraded.
 */
static const char *
stack_state(struct store_stmt *s)
{
	const char *d = store_col_text(s, 9);

	if (d != NULL && (strcmp(d, "created") == 0 ||
	    strcmp(d, "ongoing") == 0))
		return "deploying";
	if (stmt_col_int64(s, 8) > 0 && stmt_col_int64(s, 12) == 0)
		return "not deployed";
	/* Every service stopped by an operator (docs/lifecycle.md). */
	if (stmt_col_int64(s, 8) > 0 &&
	    stmt_col_int64(s, 15) == stmt_col_int64(s, 8))
		return "stopped";
	if (stmt_col_int64(s, 13) == 0 && stmt_col_int64(s, 14) == 0)
		return "running";
	return "degraded";
}

static json_t *
stack_row_json(struct store_stmt *s)
{
	char t[32];
	json_t *o = json_object();

	json_object_set_new(o, "name", json_string(store_col_text(s, 1)));
	json_object_set_new(o, "stack", json_string(store_col_text(s, 2)));
	json_object_set_new(o, "version", store_col_text(s, 3) ?
	    json_string(store_col_text(s, 3)) : json_null());
	json_object_set_new(o, "description", store_col_text(s, 4) ?
	    json_string(store_col_text(s, 4)) : json_null());
	json_object_set_new(o, "rev", json_integer(stmt_col_int64(s, 5)));
	util_iso8601(stmt_col_int64(s, 6), t, sizeof t);
	json_object_set_new(o, "created_at", json_string(t));
	util_iso8601(stmt_col_int64(s, 7), t, sizeof t);
	json_object_set_new(o, "updated_at", json_string(t));
	json_object_set_new(o, "services",
	    json_integer(stmt_col_int64(s, 8)));
	json_object_set_new(o, "deploy_state", store_col_text(s, 9) ?
	    json_string(store_col_text(s, 9)) : json_null());
	json_object_set_new(o, "deploy_id", stmt_col_type(s, 10) ==
	    STORE_NULL ? json_null() : json_integer(stmt_col_int64(s,
	    10)));
	json_object_set_new(o, "deploy_error", store_col_text(s, 11) ?
	    json_string(store_col_text(s, 11)) : json_null());
	json_object_set_new(o, "state", json_string(stack_state(s)));
	json_object_set_new(o, "stopped_services",
	    json_integer(stmt_col_int64(s, 15)));
	return o;
}

#define STACK_COLS \
	"k.id, k.name, k.stack_ref, k.version, k.description, k.rev, " \
	"k.created_at, k.updated_at, " \
	"(SELECT count(*) FROM services v WHERE v.stack_id = k.id), " \
	"(SELECT state FROM deploys d WHERE d.stack_id = k.id " \
	"  ORDER BY d.id DESC LIMIT 1), " \
	"(SELECT id FROM deploys d WHERE d.stack_id = k.id " \
	"  ORDER BY d.id DESC LIMIT 1), " \
	"(SELECT error FROM deploys d WHERE d.stack_id = k.id " \
	"  ORDER BY d.id DESC LIMIT 1), " \
	"(SELECT count(*) FROM services v WHERE v.stack_id = k.id " \
	"  AND v.active), " \
	"(SELECT count(*) FROM instances i JOIN services v " \
	"  ON v.id = i.service_id JOIN nodes n ON n.id = i.node_id " \
	"  WHERE v.stack_id = k.id AND NOT v.stopped AND NOT (i.rev >= v.rev " \
	"  AND i.state = 'running' AND " STORE_LIVE_NODE("n") ")), " \
	"(SELECT count(*) FROM services v WHERE v.stack_id = k.id " \
	"  AND NOT v.stopped AND v.strategy != 'daemon' AND v.instances != " \
	"  (SELECT count(DISTINCT i.instance_no) FROM instances i " \
	"  WHERE i.service_id = v.id)), " \
	"(SELECT count(*) FROM services v WHERE v.stack_id = k.id " \
	"  AND v.stopped = 1)"

json_t *
store_stack_list_json(struct store *st, int64_t grid_id)
{
	struct store_stmt *s = store_stmt(st, "SELECT " STACK_COLS
	    " FROM stacks k WHERE k.grid_id = ?1 ORDER BY k.name");
	json_t *arr = json_array();

	stmt_bind_int64(s, 1, grid_id);
	return store_rows_json(s, arr, stack_row_json);
}

int
store_stack_get_json(struct store *st, int64_t stack_id, json_t **out)
{
	struct store_stmt *s = store_stmt(st, "SELECT " STACK_COLS ", k.source,"
	    " k.grid_id, k.spec, json_extract(k.spec, '$.variables'),"
	    " (SELECT p.name FROM stacks p WHERE p.id = k.parent_id),"
	    " json_extract(k.spec, '$.labels')"
	    " FROM stacks k WHERE k.id = ?1");
	json_t *o, *svcs, *spec, *v;
	int64_t grid_id;
	size_t i;
	int rc;

	stmt_bind_int64(s, 1, stack_id);
	rc = stmt_step(s);
	if (rc != STORE_ROW) {
		stmt_reset(s);
		return rc == STORE_DONE ? 0 : -1;
	}
	o = stack_row_json(s);
	json_object_set_new(o, "source", json_string(store_col_text(s, 16)));
	grid_id = stmt_col_int64(s, 17);
	spec = json_loads(store_col_text(s, 18), 0, NULL);
	/* The stack's answers (secrets are never among them). */
	json_object_set_new(o, "variables", store_col_text(s, 19) != NULL ?
	    json_loads(store_col_text(s, 19), 0, NULL) : json_object());
	json_object_set_new(o, "parent", store_col_text(s, 20) != NULL ?
	    json_string(store_col_text(s, 20)) : json_null());
	json_object_set_new(o, "labels", store_col_text(s, 21) != NULL ?
	    json_loads(store_col_text(s, 21), 0, NULL) : json_array());
	/* The parser's normalized stack, as stored (no secret values). */
	json_object_set(o, "spec", spec);
	stmt_reset(s);
	svcs = store_service_list_json(st, grid_id,
	    json_string_value(json_object_get(o, "name")));
	if (svcs == NULL) {
		json_decref(spec);
		json_decref(o);
		return -1;
	}
	json_object_set_new(o, "services", svcs);
	/* Keys of the file that berth keeps but does not act on yet. */
	json_object_set_new(o, "warnings", stack_warnings(spec));
	json_decref(spec);
	/* Its child stacks (depends:), by name. */
	svcs = json_array();
	if (store_stack_children(st, stack_id, svcs) != 0) {
		json_decref(svcs);
		json_decref(o);
		return -1;
	}
	json_object_set_new(o, "children", json_array());
	json_array_foreach(svcs, i, v)
		json_array_append(json_object_get(o, "children"),
		    json_object_get(v, "name"));
	json_decref(svcs);
	*out = o;
	return 1;
}

/* ---- links between stacks ------------------------------------------------ */

int
store_service_links_ready(struct store *st, int64_t service_id, char *why,
    size_t len)
{
	struct store_stmt *s = store_stmt(st,
	    "SELECT json_extract(j.value, '$.stack'),"
	    " json_extract(j.value, '$.service'), k.id, t.id, t.active,"
	    " (SELECT count(*) FROM deploy_services ds"
	    "   JOIN deploys d ON d.id = ds.deploy_id"
	    "   WHERE ds.service_id = t.id"
	    "   AND d.state IN ('created', 'ongoing')"
	    "   AND ds.state IN ('created', 'ongoing'))"
	    " FROM services v JOIN stacks me ON me.id = v.stack_id,"
	    " json_each(v.spec, '$.stack_links') j"
	    " LEFT JOIN stacks k ON k.grid_id = me.grid_id"
	    "   AND k.name = json_extract(j.value, '$.stack')"
	    " LEFT JOIN services t ON t.stack_id = k.id"
	    "   AND t.name = json_extract(j.value, '$.service')"
	    " WHERE v.id = ?1");
	int rc, ready = 1;

	*why = '\0';
	stmt_bind_int64(s, 1, service_id);
	while (ready == 1 && (rc = stmt_step(s)) == STORE_ROW) {
		if (stmt_col_type(s, 3) == STORE_NULL) {
			snprintf(why, len, "it links to %s/%s, which is no "
			    "longer in the grid", store_col_text(s, 0),
			    store_col_text(s, 1));
			ready = 2;
		} else if (stmt_col_int(s, 4) == 0 ||
		    stmt_col_int64(s, 5) > 0) {
			snprintf(why, len, "waiting for %s/%s to be deployed",
			    store_col_text(s, 0), store_col_text(s, 1));
			ready = 0;
		}
	}
	if (ready == 1 && rc != STORE_DONE)
		ready = -1;
	stmt_reset(s);
	return ready;
}

int
store_stack_linked_from(struct store *st, int64_t stack_id, json_t *keep,
    char *buf, size_t len)
{
	struct store_stmt *s = store_stmt(st,
	    "SELECT ok.name, v.name, json_extract(j.value, '$.service')"
	    " FROM stacks me JOIN stacks ok ON ok.grid_id = me.grid_id"
	    "   AND ok.id != me.id"
	    " JOIN services v ON v.stack_id = ok.id,"
	    " json_each(v.spec, '$.stack_links') j"
	    " WHERE me.id = ?1 AND json_extract(j.value, '$.stack') = me.name"
	    " ORDER BY ok.name, v.name");
	size_t used = 0;
	int rc, n = 0;

	*buf = '\0';
	stmt_bind_int64(s, 1, stack_id);
	while ((rc = stmt_step(s)) == STORE_ROW) {
		if (keep != NULL && json_object_get(keep,
		    store_col_text(s, 2)) != NULL)
			continue;
		if (used < len)
			used += (size_t)snprintf(buf + used, len - used,
			    "%s%s/%s -> %s", n ? ", " : "",
			    store_col_text(s, 0), store_col_text(s, 1),
			    store_col_text(s, 2));
		n++;
	}
	stmt_reset(s);
	return rc == STORE_DONE ? n : -1;
}

int
store_stack_tree_linked_from(struct store *st, int64_t stack_id, char *buf,
    size_t len)
{
	struct store_stmt *s = store_stmt(st,
	    "WITH RECURSIVE t(id, depth) AS (SELECT ?1, 0 UNION ALL"
	    " SELECT k.id, t.depth + 1 FROM stacks k JOIN t"
	    " ON k.parent_id = t.id WHERE t.depth < 64)"
	    " SELECT ok.name, v.name, me.name || '/' ||"
	    " json_extract(j.value, '$.service')"
	    " FROM stacks me JOIN t ON t.id = me.id"
	    " JOIN stacks ok ON ok.grid_id = me.grid_id"
	    "   AND ok.id NOT IN (SELECT id FROM t)"
	    " JOIN services v ON v.stack_id = ok.id,"
	    " json_each(v.spec, '$.stack_links') j"
	    " WHERE json_extract(j.value, '$.stack') = me.name"
	    " ORDER BY ok.name, v.name");
	size_t used = 0;
	int rc, n = 0;

	*buf = '\0';
	stmt_bind_int64(s, 1, stack_id);
	while ((rc = stmt_step(s)) == STORE_ROW) {
		if (used < len)
			used += (size_t)snprintf(buf + used, len - used,
			    "%s%s/%s -> %s", n ? ", " : "",
			    store_col_text(s, 0), store_col_text(s, 1),
			    store_col_text(s, 2));
		n++;
	}
	stmt_reset(s);
	return rc == STORE_DONE ? n : -1;
}

int
store_stack_children(struct store *st, int64_t stack_id, json_t *out)
{
	struct store_stmt *s = store_stmt(st, "SELECT id, name FROM stacks"
	    " WHERE parent_id = ?1 ORDER BY name");
	int rc;

	stmt_bind_int64(s, 1, stack_id);
	while ((rc = stmt_step(s)) == STORE_ROW)
		json_array_append_new(out, json_pack("{s:I, s:s}", "id",
		    (json_int_t)stmt_col_int64(s, 0), "name",
		    store_col_text(s, 1)));
	stmt_reset(s);
	return rc == STORE_DONE ? 0 : -1;
}

int
store_stack_spec(struct store *st, int64_t stack_id, json_t **spec)
{
	struct store_stmt *s = store_stmt(st, "SELECT spec FROM stacks"
	    " WHERE id = ?1");
	int rc;

	*spec = NULL;
	stmt_bind_int64(s, 1, stack_id);
	rc = stmt_step(s);
	if (rc == STORE_ROW)
		*spec = json_loads(store_col_text(s, 0), 0, NULL);
	stmt_reset(s);
	if (rc == STORE_ROW)
		return *spec != NULL ? 1 : -1;
	return rc == STORE_DONE ? 0 : -1;
}
