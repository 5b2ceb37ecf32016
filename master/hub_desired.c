/*
 * hub_desired.c - build desired sets from instances; apply reported states.
 *
 * Runs on the ws thread, on the hub's store connection; the rows come
 * from and go to store_instance.c, this file translates them to and from
 * protocol frames. A desired container is an instance row joined to its
 * service's spec; its name is "<stack>.<service>-<n>.<node8>" so that
 * agents sharing one Docker engine never collide.
 */
#include "master/hub_desired.h"
#include "master/hub_frame.h"

#include "master/vault.h"

#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"

#include <openssl/crypto.h>

#include <stdlib.h>
#include <string.h>

/* Spec keys passed to the agent as they are (validated by the parser). */
static const char *desired_keys[] = {
	"image", "command", "entrypoint", "env", "cpu_shares", "cpus",
	"mem_limit", "memswap_limit", "shm_size", "ports", "volumes",
	"privileged", "cap_add", "cap_drop", "network_mode", "pid", "user",
	"read_only", "stop_signal", "stop_grace_period", "logging",
};

struct desired_build_arg {
	json_t			*arr;		/* the set being built */
	const char		*node_id;	/* whose */
	struct store		*st;		/* the hub's connection */
	const unsigned char	*key;		/* opens the vault */
};

/*
 * A service's secrets into env as NAME=value (last, so a secret wins over
 * an environment entry of the same name). A secret that is gone (removed
 * with --force) is left out, and said in the log by name only.
 */
static void
desired_secrets(struct desired_build_arg *a, const struct instance_desired *d,
    json_t *spec, json_t *c)
{
	json_t *secrets = json_object_get(spec, "secrets"), *e, *env, *x;
	const char *secret, *name;
	struct buf b = { NULL, 0, 0 };
	char *value;
	size_t i, j, len, klen;
	int rc;

	if (json_array_size(secrets) == 0)
		return;
	env = json_object_get(c, "env");
	env = json_is_array(env) ? json_deep_copy(env) : json_array();
	json_array_foreach(secrets, i, e) {
		secret = json_string_value(json_object_get(e, "secret"));
		name = json_string_value(json_object_get(e, "name"));
		if (secret == NULL || name == NULL)
			continue;
		rc = vault_get(a->st, a->key, d->grid_id, secret, &value, &len);
		if (rc != 1) {
			log_warn("hub: service %s/%s: secret %s is %s; its "
			    "containers start without %s", d->stack,
			    d->service, secret, rc == 0 ? "not in the vault" :
			    "unreadable", name);
			continue;
		}
		klen = strlen(name);
		for (j = 0; j < json_array_size(env); j++) {
			x = json_array_get(env, j);
			if (strncmp(json_string_value(x), name, klen) == 0 &&
			    json_string_value(x)[klen] == '=') {
				json_array_remove(env, j);
				break;
			}
		}
		buf_append(&b, name, klen);
		buf_append(&b, "=", 1);
		buf_append(&b, value, len);
		json_array_append_new(env, json_stringn(b.data, b.len));
		OPENSSL_cleanse(b.data, b.len);
		b.len = 0;
		vault_free(value, len);
	}
	buf_free(&b);
	json_object_set_new(c, "env", env);
}

/* Append one desired container for row d to the array arg. */
static void
desired_add(void *arg, const struct instance_desired *d)
{
	struct desired_build_arg *a = arg;
	json_t *c, *spec, *v;
	char *name;
	size_t i;

	xasprintf(&name, "%s.%s-%d.%.8s", d->stack, d->service,
	    d->instance_no, a->node_id);
	c = json_pack("{s:s, s:s, s:s, s:s, s:I, s:i, s:I}",
	    "name", name, "grid", d->grid, "stack", d->stack,
	    "service", d->service, "service_id", (json_int_t)d->service_id,
	    "instance", d->instance_no, "rev", (json_int_t)d->rev);
	free(name);
	spec = json_loads(d->spec, 0, NULL);
	for (i = 0; i < sizeof desired_keys / sizeof desired_keys[0]; i++) {
		v = spec ? json_object_get(spec, desired_keys[i]) : NULL;
		json_object_set(c, desired_keys[i], v ? v : json_null());
	}
	if (spec != NULL)
		desired_secrets(a, d, spec, c);
	/* The agent reports "running" only once this port answers. */
	v = spec ? json_object_get(json_object_get(spec, "deploy"),
	    "wait_for_port") : NULL;
	json_object_set(c, "wait_for_port", json_is_integer(v) ? v :
	    json_null());
	/* Stopped by an operator: keep the container, stopped. */
	json_object_set_new(c, "stopped", json_boolean(d->stopped));
	/* ... and once it has stayed up this long (the grid's setting). */
	json_object_set_new(c, "settle_s", json_integer(d->settle_s));
	json_decref(spec);
	json_array_append_new(a->arr, c);
}

/* Append one desired job attempt for d to the array arg. */
static void
desired_job_add(void *arg, const struct job_desired *d)
{
	struct desired_build_arg *a = arg;
	json_t *c, *spec, *v, *env;
	char *name, *kv;
	size_t i;
	static const char *keys[] = { "image", "command", "cpus", "memory",
	    "timeout", "labels" };

	spec = json_loads(d->spec, 0, NULL);
	xasprintf(&name, "job.%s-%d.%lld.%.8s", d->name, d->idx,
	    (long long)d->attempt, a->node_id);
	c = json_pack("{s:I, s:I, s:s, s:i, s:s, s:s, s:s}",
	    "attempt", (json_int_t)d->attempt, "job_id", (json_int_t)d->job_id,
	    "job", d->name, "index", d->idx, "grid", d->grid, "name", name,
	    "phase", d->started ? "started" : "run");
	free(name);
	for (i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		v = spec != NULL ? json_object_get(spec, keys[i]) : NULL;
		json_object_set(c, keys[i], v != NULL ? v : json_null());
	}
	/* The job's own variables first; BERTH_JOB_* cannot be in them. */
	env = json_array();
	json_array_foreach(json_object_get(spec, "env"), i, v)
		json_array_append(env, v);
	xasprintf(&kv, "BERTH_JOB_NAME=%s", d->name);
	json_array_append_new(env, json_string(kv));
	free(kv);
	xasprintf(&kv, "BERTH_JOB_INDEX=%d", d->idx);
	json_array_append_new(env, json_string(kv));
	free(kv);
	xasprintf(&kv, "BERTH_JOB_PARALLEL=%lld", (long long)
	    json_integer_value(json_object_get(spec, "parallel")));
	json_array_append_new(env, json_string(kv));
	free(kv);
	xasprintf(&kv, "BERTH_JOB_ATTEMPT=%lld", (long long)d->attempt);
	json_array_append_new(env, json_string(kv));
	free(kv);
	json_object_set_new(c, "env", env);
	json_decref(spec);
	json_array_append_new(a->arr, c);
}

json_t *
desired_build(struct store *st, const unsigned char *key, const char *node_id)
{
	struct desired_build_arg a = { json_array(), node_id, st, key };
	struct desired_build_arg j = { json_array(), node_id, st, key };
	json_t *done = json_array();

	if (store_instance_desired(st, node_id, desired_add, &a) != 0 ||
	    store_job_desired(st, node_id, desired_job_add, &j, done) != 0) {
		json_decref(a.arr);
		json_decref(j.arr);
		json_decref(done);
		return NULL;
	}
	return json_pack("{s:o, s:o, s:o}", "containers", a.arr, "jobs", j.arr,
	    "jobs_done", done);
}

int
desired_apply_jobs(struct store *st, const char *node_id, json_t *jobs,
    int64_t **changed, size_t *nchanged, int *desired, char **cause)
{
	struct job_report *v;
	json_t *c, *e;
	size_t i;
	int rc;

	*changed = NULL;
	*nchanged = 0;
	*desired = 0;
	if (jobs == NULL)
		return 0;
	if (frame_state_jobs(jobs, cause) != 0)
		return -1;
	if (json_array_size(jobs) == 0)
		return 0;
	/* Checked: objects with an integer attempt and a known state. */
	v = xcalloc(json_array_size(jobs) + 1, sizeof *v);
	json_array_foreach(jobs, i, c) {
		v[i].attempt = json_integer_value(json_object_get(c,
		    "attempt"));
		v[i].state = json_string_value(json_object_get(c, "state"));
		e = json_object_get(c, "exit_code");
		v[i].has_exit = json_is_integer(e);
		v[i].exit_code = json_integer_value(e);
		v[i].oom_killed = json_is_true(json_object_get(c,
		    "oom_killed"));
		v[i].timed_out = json_is_true(json_object_get(c, "timed_out"));
		e = json_object_get(c, "error");
		v[i].error = json_is_string(e) ? json_string_value(e) : NULL;
		e = json_object_get(c, "container_id");
		v[i].container_id = json_is_string(e) ? json_string_value(e) :
		    NULL;
	}
	rc = store_job_report(st, node_id, v, json_array_size(jobs),
	    util_now_ms(), changed, nchanged, desired, cause);
	free(v);
	return rc;
}

int
desired_apply_state(struct store *st, const char *node_id, json_t *containers,
    int *grid_changed, char **cause)
{
	struct instance_report *v;
	json_t *c, *e;
	size_t i;
	int rc;

	*grid_changed = 0;
	if (frame_state_containers(containers, cause) != 0)
		return -1;
	/* Checked: every entry is an object with integer ids and a state. */
	v = xcalloc(json_array_size(containers) + 1, sizeof *v);
	json_array_foreach(containers, i, c) {
		v[i].service_id = json_integer_value(json_object_get(c,
		    "service_id"));
		v[i].instance_no = json_integer_value(json_object_get(c,
		    "instance"));
		v[i].rev = json_integer_value(json_object_get(c, "rev"));
		v[i].state = json_string_value(json_object_get(c, "state"));
		e = json_object_get(c, "error");
		v[i].error = json_is_string(e) ? json_string_value(e) : NULL;
		e = json_object_get(c, "exit_code");
		v[i].has_exit_code = json_is_integer(e);
		v[i].exit_code = json_integer_value(e);
		e = json_object_get(c, "container_id");
		v[i].container_id = json_is_string(e) ? json_string_value(e) :
		    NULL;
		e = json_object_get(c, "restarts");
		v[i].restarts = json_is_integer(e) ? json_integer_value(e) : 0;
		e = json_object_get(c, "last_output");
		v[i].last_output = json_is_string(e) ? json_string_value(e) :
		    NULL;
	}
	rc = store_instance_report(st, node_id, v, json_array_size(containers),
	    grid_changed, cause);
	free(v);
	return rc;
}
