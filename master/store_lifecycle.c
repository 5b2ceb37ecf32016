/*
 * store_lifecycle.c - stop, start, restart and remove services in the
 * store (docs/lifecycle.md).
 *
 * Called from the API threads (api_lifecycle.c). Each operation is one
 * BEGIN IMMEDIATE transaction with its events, on one service or on every
 * service of a stack, and fills a struct lifecycle with what the caller
 * must tell the scheduler and the hub. Nothing here waits for an agent:
 * a stop is a flag the desired sets carry, a start or a restart is a
 * deploy that the scheduler's deploy machine carries out.
 *
 *	stop	 services.stopped = 1. The scheduler stops seeing the service
 *		 (store_service_rows() skips it), the desired sets say
 *		 "stopped", and the agents stop the containers and keep them.
 *	start	 stopped = 0; instances left at an older revision (the stack
 *		 was upgraded while stopped) take the current one, since
 *		 nothing of the service runs and so no min_health is at stake;
 *		 then a deploy of the service(s) follows them to running.
 *	restart	 a new revision of the same definition and a deploy: the
 *		 deploy machine rolls the instances in batches that keep
 *		 min_health of them running (kubectl rollout restart's idea).
 *	rm	 deletes the service with its instances (the agents remove
 *		 the containers) and drops it from the stack's spec.
 */
#include "master/store.h"

#include "common/util.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

void
lifecycle_clear(struct lifecycle *lc)
{
	free(lc->services);
	json_decref(lc->nodes);
	free(lc->cause);
	memset(lc, 0, sizeof *lc);
}

static void
lifecycle_push(struct lifecycle *lc, int64_t id)
{
	lc->services = xreallocarray(lc->services, lc->nservices + 1,
	    sizeof *lc->services);
	lc->services[lc->nservices++] = id;
}

/* The stack's grid and name. 0 or -1. */
static int
lifecycle_stack(struct store *st, int64_t stack_id, int64_t *grid_id,
    char *name, size_t len)
{
	struct store_stmt *s = store_stmt(st, "SELECT grid_id, name FROM stacks"
	    " WHERE id = ?1");
	int rc;

	stmt_bind_int64(s, 1, stack_id);
	rc = stmt_step(s);
	if (rc == STORE_ROW) {
		*grid_id = stmt_col_int64(s, 0);
		snprintf(name, len, "%s", store_col_text(s, 1));
	}
	stmt_reset(s);
	/* Gone: another request removed it since the caller looked it up. */
	return rc == STORE_ROW ? 0 : rc == STORE_DONE ? 1 : -1;
}

/* 1 when a deploy of the stack is created or ongoing, 0 not, -1 error. */
static int
lifecycle_deploying(struct store *st, int64_t stack_id, int64_t *deploy_id)
{
	struct store_stmt *s = store_stmt(st, "SELECT id FROM deploys"
	    " WHERE stack_id = ?1 AND state IN ('created', 'ongoing')"
	    " ORDER BY id DESC LIMIT 1");
	int rc;

	stmt_bind_int64(s, 1, stack_id);
	rc = stmt_step(s);
	if (rc == STORE_ROW)
		*deploy_id = stmt_col_int64(s, 0);
	stmt_reset(s);
	if (rc == STORE_ROW)
		return 1;
	return rc == STORE_DONE ? 0 : -1;
}

/*
 * Start and restart wait for a deploy of the stack in progress: 0 to go
 * on, else -1 with *rc LC_BUSY (and lc->cause) or left LC_ERROR.
 */
static int
lifecycle_refuse_busy(struct store *st, int64_t stack_id, const char *stack,
    struct lifecycle *lc, enum lifecycle_rc *rc)
{
	int64_t busy;
	int d;

	if ((d = lifecycle_deploying(st, stack_id, &busy)) == 0)
		return 0;
	if (d > 0) {
		xasprintf(&lc->cause, "deploy %lld of stack %s is in "
		    "progress; wait for it (berth stack show %s)",
		    (long long)busy, stack, stack);
		*rc = LC_BUSY;
	}
	return -1;
}

/* Append the distinct nodes with instances of service_id to lc->nodes. */
static int
lifecycle_nodes(struct store *st, int64_t service_id, struct lifecycle *lc)
{
	struct store_stmt *s = store_stmt(st, "SELECT DISTINCT node_id"
	    " FROM instances WHERE service_id = ?1");
	int rc;

	stmt_bind_int64(s, 1, service_id);
	while ((rc = stmt_step(s)) == STORE_ROW)
		json_array_append_new(lc->nodes,
		    json_string(store_col_text(s, 0)));
	stmt_reset(s);
	return rc == STORE_DONE ? 0 : -1;
}

/* One service the operation applies to. */
struct lc_svc {
	char	 label[130];	/* "stack/name": its events' subject */
	int64_t	 id;		/* service id */
	char	 name[64];	/* its name */
	int	 stopped;	/* services.stopped */
	int64_t	 rev;		/* services.rev */
	double	 min_health;	/* services.min_health */
	int64_t	 instances;	/* instance rows */
};

/* The services of the stack (or only service_id): *v, *n. 0 or -1. */
static int
lifecycle_services(struct store *st, int64_t stack_id, const char *stack,
    int64_t service_id, struct lc_svc **v, size_t *n)
{
	struct store_stmt *s = store_stmt(st, "SELECT v.id, v.name, v.stopped,"
	    " v.rev, v.min_health, (SELECT count(*) FROM instances i"
	    "  WHERE i.service_id = v.id) FROM services v"
	    " WHERE v.stack_id = ?1 AND (?2 = 0 OR v.id = ?2)"
	    " ORDER BY v.position, v.id");
	struct lc_svc *e;
	int rc;

	*v = NULL;
	*n = 0;
	stmt_bind_int64(s, 1, stack_id);
	stmt_bind_int64(s, 2, service_id);
	while ((rc = stmt_step(s)) == STORE_ROW) {
		*v = xreallocarray(*v, *n + 1, sizeof **v);
		e = &(*v)[(*n)++];
		e->id = stmt_col_int64(s, 0);
		snprintf(e->name, sizeof e->name, "%s", store_col_text(s, 1));
		snprintf(e->label, sizeof e->label, "%s/%s", stack,
		    e->name);
		e->stopped = stmt_col_int(s, 2);
		e->rev = stmt_col_int64(s, 3);
		e->min_health = stmt_col_double(s, 4);
		e->instances = stmt_col_int64(s, 5);
	}
	stmt_reset(s);
	if (rc != STORE_DONE) {
		free(*v);
		*v = NULL;
		*n = 0;
		return -1;
	}
	return 0;
}

/*
 * Begin, and read what every operation needs. 0; 1 if the stack, or the
 * one service asked for, was removed since the caller looked it up; -1 on
 * a store error (both rolled back).
 */
static int
lifecycle_begin(struct store *st, int64_t stack_id, int64_t service_id,
    struct lifecycle *lc, int64_t *grid_id, char *stack, size_t len,
    struct lc_svc **v, size_t *n)
{
	int rc;

	memset(lc, 0, sizeof *lc);
	lc->nodes = json_array();
	*v = NULL;
	*n = 0;
	if (store_begin(st) != 0)
		return -1;
	if ((rc = lifecycle_stack(st, stack_id, grid_id, stack, len)) != 0 ||
	    (rc = lifecycle_services(st, stack_id, stack, service_id, v,
	    n)) != 0) {
		store_rollback(st);
		return rc;
	}
	if (service_id != 0 && *n == 0) {	/* the service alone was removed */
		store_rollback(st);
		return 1;
	}
	return 0;
}

/* Commit, or roll back on rc -1; rc passes through. */
static enum lifecycle_rc
lifecycle_end(struct store *st, enum lifecycle_rc rc, struct lc_svc *v)
{
	free(v);
	if (rc != LC_OK) {
		store_rollback(st);
		return rc;
	}
	return store_commit(st) == 0 ? LC_OK : LC_ERROR;
}

enum lifecycle_rc
store_lifecycle_stop(struct store *st, int64_t stack_id, int64_t service_id,
    struct lifecycle *lc)
{
	struct lc_svc *v;
	struct store_stmt *s;
	char stack[64];
	int64_t grid_id;
	size_t n, i;
	enum lifecycle_rc rc = LC_ERROR;
	int b;

	if ((b = lifecycle_begin(st, stack_id, service_id, lc, &grid_id, stack,
	    sizeof stack, &v, &n)) != 0)
		return b > 0 ? LC_GONE : LC_ERROR;
	for (i = 0; i < n; i++) {
		if (v[i].stopped)
			continue;	/* stopping twice is no error */
		s = store_stmt(st, "UPDATE services SET stopped = 1,"
		    " updated_at = ?2 WHERE id = ?1");
		stmt_bind_int64(s, 1, v[i].id);
		stmt_bind_int64(s, 2, util_now_ms());
		if (store_done(s) != 0 ||
		    lifecycle_nodes(st, v[i].id, lc) != 0 ||
		    store_event_add(st, grid_id, "service.stop", v[i].label,
		    "service %s/%s stopped by the operator: its %lld "
		    "container(s) stop and stay", stack, v[i].name,
		    (long long)v[i].instances) != 0)
			goto out;
		lifecycle_push(lc, v[i].id);
	}
	rc = LC_OK;
out:
	return lifecycle_end(st, rc, v);
}

enum lifecycle_rc
store_lifecycle_start(struct store *st, int64_t stack_id, int64_t service_id,
    struct lifecycle *lc)
{
	struct lc_svc *v;
	struct store_stmt *s;
	char stack[64];
	int64_t grid_id;
	size_t n, i;
	enum lifecycle_rc rc = LC_ERROR;
	int b;

	if ((b = lifecycle_begin(st, stack_id, service_id, lc, &grid_id, stack,
	    sizeof stack, &v, &n)) != 0)
		return b > 0 ? LC_GONE : LC_ERROR;
	if (lifecycle_refuse_busy(st, stack_id, stack, lc, &rc) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		/* Instances of any service: their desired sets carry
		 * "stopped" no more, or are simply re-read. */
		if (lifecycle_nodes(st, v[i].id, lc) != 0)
			goto out;
		lifecycle_push(lc, v[i].id);
		if (!v[i].stopped)
			continue;
		s = store_stmt(st, "UPDATE services SET stopped = 0,"
		    " updated_at = ?2 WHERE id = ?1");
		stmt_bind_int64(s, 1, v[i].id);
		stmt_bind_int64(s, 2, util_now_ms());
		if (store_done(s) != 0)
			goto out;
		/* Nothing of it runs: no min_health to keep while its
		 * instances take the current revision all at once. */
		s = store_stmt(st, "UPDATE instances SET rev = ?2,"
		    " state = 'pending', error = NULL, exit_code = NULL,"
		    " updated_at = ?3 WHERE service_id = ?1 AND rev < ?2");
		stmt_bind_int64(s, 1, v[i].id);
		stmt_bind_int64(s, 2, v[i].rev);
		stmt_bind_int64(s, 3, util_now_ms());
		if (store_done(s) != 0 ||
		    store_event_add(st, grid_id, "service.start", v[i].label,
		    "service %s/%s started by the operator", stack,
		    v[i].name) != 0)
			goto out;
	}
	if (store_deploy_insert(st, stack_id, service_id, &lc->deploy_id) != 0)
		goto out;
	rc = LC_OK;
out:
	return lifecycle_end(st, rc, v);
}

enum lifecycle_rc
store_lifecycle_restart(struct store *st, int64_t stack_id,
    int64_t service_id, struct lifecycle *lc)
{
	struct lc_svc *v;
	struct store_stmt *s;
	char stack[64];
	int64_t grid_id;
	size_t n, i;
	enum lifecycle_rc rc = LC_ERROR;
	int b;

	if ((b = lifecycle_begin(st, stack_id, service_id, lc, &grid_id, stack,
	    sizeof stack, &v, &n)) != 0)
		return b > 0 ? LC_GONE : LC_ERROR;
	if (lifecycle_refuse_busy(st, stack_id, stack, lc, &rc) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		if (v[i].stopped)
			continue;	/* a stopped one stays stopped */
		s = store_stmt(st, "UPDATE services SET rev = rev + 1,"
		    " updated_at = ?2 WHERE id = ?1");
		stmt_bind_int64(s, 1, v[i].id);
		stmt_bind_int64(s, 2, util_now_ms());
		if (store_done(s) != 0 ||
		    store_event_add(st, grid_id, "service.restart", v[i].label,
		    "service %s/%s restarts as revision %lld: its %lld "
		    "instance(s) roll, keeping %.0f%% running", stack,
		    v[i].name, (long long)v[i].rev + 1,
		    (long long)v[i].instances, v[i].min_health * 100) != 0)
			goto out;
		lifecycle_push(lc, v[i].id);
	}
	if (lc->nservices == 0) {
		xasprintf(&lc->cause, service_id != 0 ? "service %s/%s is "
		    "stopped: start it (berth service start)" : "every service "
		    "of stack %s%s is stopped: start them (berth stack start)",
		    stack, service_id != 0 && n > 0 ? v[0].name : "");
		rc = LC_STOPPED;
		goto out;
	}
	if (store_deploy_insert(st, stack_id, service_id, &lc->deploy_id) != 0)
		goto out;
	rc = LC_OK;
out:
	return lifecycle_end(st, rc, v);
}

/* Services of the stack other than v that name v in links or depends_on. */
static int
lifecycle_linked_from(struct store *st, int64_t stack_id,
    const struct lc_svc *v, char **names)
{
	struct store_stmt *s = store_stmt(st, "SELECT DISTINCT o.name"
	    " FROM services o, json_each(o.spec, '$.links') l"
	    " WHERE o.stack_id = ?1 AND o.id != ?2 AND (l.value = ?3"
	    "  OR substr(l.value, 1, length(?3) + 1) = ?3 || ':')"
	    " UNION SELECT o.name FROM services o,"
	    "  json_each(o.spec, '$.depends_on') l"
	    " WHERE o.stack_id = ?1 AND o.id != ?2 AND l.value = ?3"
	    " ORDER BY 1");
	struct buf b = { 0 };
	int rc;

	*names = NULL;
	stmt_bind_int64(s, 1, stack_id);
	stmt_bind_int64(s, 2, v->id);
	store_bind_text(s, 3, v->name);
	while ((rc = stmt_step(s)) == STORE_ROW) {
		if (b.len > 0)
			buf_append(&b, ", ", 2);
		buf_append(&b, store_col_text(s, 0),
		    strlen(store_col_text(s, 0)));
	}
	stmt_reset(s);
	if (rc != STORE_DONE) {
		buf_free(&b);
		return -1;
	}
	if (b.len > 0) {
		buf_append(&b, "", 1);
		*names = b.data;
	}
	return 0;
}

/* Drop service name from the stack's normalized spec. 0 or -1. */
static int
lifecycle_spec_drop(struct store *st, int64_t stack_id, const char *name)
{
	struct store_stmt *s = store_stmt(st, "SELECT spec FROM stacks"
	    " WHERE id = ?1");
	json_t *spec = NULL, *svcs, *e;
	char *text;
	size_t i;
	int rc;

	stmt_bind_int64(s, 1, stack_id);
	if (stmt_step(s) == STORE_ROW)
		spec = json_loads(store_col_text(s, 0), 0, NULL);
	stmt_reset(s);
	if (spec == NULL)
		return -1;
	svcs = json_object_get(spec, "services");
	for (i = 0; i < json_array_size(svcs); i++) {
		e = json_array_get(svcs, i);
		if (json_is_string(json_object_get(e, "name")) &&
		    strcmp(json_string_value(json_object_get(e, "name")),
		    name) == 0) {
			json_array_remove(svcs, i);
			break;
		}
	}
	text = json_dumps(spec, STORE_JSON_FLAGS);
	json_decref(spec);
	s = store_stmt(st, "UPDATE stacks SET spec = ?2, updated_at = ?3"
	    " WHERE id = ?1");
	stmt_bind_int64(s, 1, stack_id);
	store_bind_text(s, 2, text);
	stmt_bind_int64(s, 3, util_now_ms());
	rc = store_done(s);
	free(text);
	return rc;
}

enum lifecycle_rc
store_lifecycle_remove(struct store *st, int64_t stack_id, int64_t service_id,
    int force, struct lifecycle *lc)
{
	struct lc_svc *v;
	struct store_stmt *s;
	char stack[64], *names = NULL;
	int64_t grid_id, busy;
	size_t n;
	enum lifecycle_rc rc = LC_ERROR;
	int b;
	int d;

	if ((b = lifecycle_begin(st, stack_id, service_id, lc, &grid_id, stack,
	    sizeof stack, &v, &n)) != 0)
		return b > 0 ? LC_GONE : LC_ERROR;
	if (n != 1)
		goto out;	/* the caller found it: a store error */
	if (!force) {
		if ((d = lifecycle_deploying(st, stack_id, &busy)) != 0) {
			if (d > 0) {
				xasprintf(&lc->cause, "deploy %lld of stack %s "
				    "is in progress; wait for it or remove with "
				    "--force", (long long)busy, stack);
				rc = LC_BUSY;
			}
			goto out;
		}
		if (lifecycle_linked_from(st, stack_id, v, &names) != 0)
			goto out;
		if (names != NULL) {
			xasprintf(&lc->cause, "service %s/%s is linked from %s "
			    "(links or depends_on); remove that first, or use "
			    "--force", stack, v->name, names);
			free(names);
			rc = LC_LINKED;
			goto out;
		}
	}
	if (lifecycle_nodes(st, v->id, lc) != 0)
		goto out;
	s = store_stmt(st, "DELETE FROM services WHERE id = ?1");
	stmt_bind_int64(s, 1, v->id);
	if (store_done(s) != 0 || lifecycle_spec_drop(st, stack_id,
	    v->name) != 0 ||
	    store_event_add(st, grid_id, "service.remove", v->label,
	    "service %s/%s removed%s with its %lld instance(s)", stack,
	    v->name, force ? " (forced)" : "", (long long)v->instances) != 0)
		goto out;
	lifecycle_push(lc, v->id);
	rc = LC_OK;
out:
	return lifecycle_end(st, rc, v);
}
