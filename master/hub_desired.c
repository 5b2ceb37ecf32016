/*
 * hub_desired.c - build desired sets from instances; apply reported states.
 *
 * Runs on the ws thread, on the hub's store connection; the rows come
 * from and go to store_instance.c, this file translates them to and from
 * protocol frames. A desired container is an instance row joined to its
 * service's spec; its name is "<stack>.<service>-<n>.<node8>" so that
 * agents sharing one Docker engine never collide.
 *
 * Sets are built as JSON text, many nodes per query (desired_texts()).
 * The part of a container that comes from its service's spec (image,
 * command, env, ...) is the same for every instance of the service, so it
 * is serialized once and kept in a struct desired_cache, keyed by service
 * id and checked against the spec text it was made from: a node of 2,000
 * instances, or 10,000 nodes of one daemon service, parse the spec once.
 * A service with secrets (the vault) is the exception: its part holds
 * their values, which change without its spec, so it is made again for
 * each desired_texts() call and wiped from memory at the call's end.
 */
#include "master/hub_desired.h"
#include "master/hub_frame.h"

#include "master/vault.h"

#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"

#include <openssl/crypto.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DESIRED_CACHE_BUCKETS	256	/* power of 2 */
#define DESIRED_CACHE_MAX	4096	/* entries before it is emptied */

/* Spec keys passed to the agent as they are (validated by the parser). */
static const char *desired_keys[] = {
	"image", "command", "entrypoint", "env", "cpu_shares", "cpus",
	"mem_limit", "memswap_limit", "shm_size", "ports", "volumes",
	"privileged", "cap_add", "cap_drop", "network_mode", "pid", "user",
	"read_only", "stop_signal", "stop_grace_period", "logging",
	"health_check", "hooks",
};

/* A service's spec and the container keys made from it. */
struct desired_part {
	struct desired_part	*next;		/* bucket chain */
	int64_t			 service_id;	/* whose */
	char			*spec;		/* the spec text it was made of */
	size_t			 spec_len;
	char			*text;		/* "\"image\":...,\"wait_for_port\":..." */
	size_t			 len;
	uint64_t		 call;		/* has secrets: made in this call
						   of desired_texts(); else 0 */
};

struct desired_cache {
	struct desired_part	*buckets[DESIRED_CACHE_BUCKETS];
	size_t			 n;		/* entries */
	uint64_t		 call;		/* desired_texts() calls */
	size_t			 nsecret;	/* entries holding secrets */
};

struct desired_cache *
desired_cache_new(void)
{
	return xcalloc(1, sizeof(struct desired_cache));
}

static void
desired_cache_clear(struct desired_cache *c)
{
	struct desired_part *p, *next;
	size_t i;

	for (i = 0; i < DESIRED_CACHE_BUCKETS; i++) {
		for (p = c->buckets[i]; p != NULL; p = next) {
			next = p->next;
			if (p->call != 0)
				OPENSSL_cleanse(p->text, p->len);
			free(p->spec);
			free(p->text);
			free(p);
		}
		c->buckets[i] = NULL;
	}
	c->n = 0;
	c->nsecret = 0;
}

/* The end of a desired_texts() call: no secret stays in memory. */
static void
desired_cache_wipe_secrets(struct desired_cache *c)
{
	struct desired_part **pp, *p;
	size_t i;

	for (i = 0; i < DESIRED_CACHE_BUCKETS && c->nsecret > 0; i++) {
		for (pp = &c->buckets[i]; (p = *pp) != NULL;) {
			if (p->call == 0) {
				pp = &p->next;
				continue;
			}
			*pp = p->next;
			OPENSSL_cleanse(p->text, p->len);
			free(p->spec);
			free(p->text);
			free(p);
			c->n--;
			c->nsecret--;
		}
	}
}

/*
 * A service's secrets into env as NAME=value (last, so a secret wins over
 * an environment entry of the same name). A secret that is gone (removed
 * with --force) is left out, and said in the log by name only.
 */
static void
desired_secrets(struct store *st, const unsigned char *key,
    const struct instance_desired *d, json_t *spec, json_t *c)
{
	json_t *secrets = json_object_get(spec, "secrets"), *e, *env, *x;
	const char *secret, *name;
	struct buf b = { NULL, 0, 0 };
	char *value;
	size_t i, j, len, klen;
	int rc;

	env = json_object_get(c, "env");
	env = json_is_array(env) ? json_deep_copy(env) : json_array();
	json_array_foreach(secrets, i, e) {
		secret = json_string_value(json_object_get(e, "secret"));
		name = json_string_value(json_object_get(e, "name"));
		if (secret == NULL || name == NULL)
			continue;
		rc = vault_get(st, key, d->grid_id, secret, &value, &len);
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

void
desired_cache_free(struct desired_cache *c)
{
	if (c == NULL)
		return;
	desired_cache_clear(c);
	free(c);
}

/*
 * The spec's part of a container: its keys as JSON members, no braces;
 * *secrets is 1 when it holds secrets' values.
 */
static char *
desired_part_text(struct store *st, const unsigned char *key,
    const struct instance_desired *d, size_t *len, int *secrets)
{
	json_t *spec = json_loadb(d->spec, d->spec_len, 0, NULL), *c, *v;
	char *text;
	size_t i, n;

	c = json_object();
	for (i = 0; i < sizeof desired_keys / sizeof desired_keys[0]; i++) {
		v = spec ? json_object_get(spec, desired_keys[i]) : NULL;
		json_object_set(c, desired_keys[i], v ? v : json_null());
	}
	*secrets = spec != NULL &&
	    json_array_size(json_object_get(spec, "secrets")) > 0;
	if (*secrets)
		desired_secrets(st, key, d, spec, c);
	/* The agent reports "running" only once this port answers. */
	v = spec ? json_object_get(json_object_get(spec, "deploy"),
	    "wait_for_port") : NULL;
	json_object_set(c, "wait_for_port", json_is_integer(v) ? v :
	    json_null());
	/* Its containers stop after the node's others (docs/nodes.md). */
	v = spec ? json_object_get(spec, "strategy") : NULL;
	if (json_is_string(v) && strcmp(json_string_value(v), "daemon") == 0)
		json_object_set_new(c, "daemon", json_true());
	json_decref(spec);
	text = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(c);
	if (text == NULL)
		text = xstrdup("{}");
	/* "{...}" -> "..." */
	n = strlen(text);
	memmove(text, text + 1, n - 2);
	text[n - 2] = '\0';
	*len = n - 2;
	return text;
}

struct desired_build_arg {
	json_t		*arr;		/* the jobs being gathered */
	const char	*node_id;	/* whose */
};

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

/* The batch being built: one text per distinct node id. */
struct desired_batch {
	struct store		*st;		/* for the vault */
	const unsigned char	*key;		/* opens it */
	struct desired_cache	*cache;
	const char *const	*ids;		/* the caller's ids */
	size_t			*order;		/* indexes, sorted by id */
	size_t			 n;
	struct buf		*sets;		/* per index: "[{...},{...}" */
	size_t			 last;		/* index of the last row's node */
};

static const struct desired_part *
desired_part(struct desired_batch *a, const struct instance_desired *d)
{
	struct desired_cache *c = a->cache;
	size_t b = (size_t)d->service_id & (DESIRED_CACHE_BUCKETS - 1);
	struct desired_part *p;
	int secrets;

	for (p = c->buckets[b]; p != NULL; p = p->next) {
		if (p->service_id != d->service_id)
			continue;
		if (p->spec_len == d->spec_len &&
		    memcmp(p->spec, d->spec, d->spec_len) == 0 &&
		    (p->call == 0 || p->call == c->call))
			return p;
		/* The service changed (or holds secrets): make it again. */
		if (p->call != 0) {
			OPENSSL_cleanse(p->text, p->len);
			c->nsecret--;
		}
		free(p->spec);
		free(p->text);
		break;
	}
	if (p == NULL) {
		if (c->n >= DESIRED_CACHE_MAX)
			desired_cache_clear(c);
		p = xcalloc(1, sizeof *p);
		p->service_id = d->service_id;
		p->next = c->buckets[b];
		c->buckets[b] = p;
		c->n++;
	}
	p->spec = xmalloc(d->spec_len + 1);
	memcpy(p->spec, d->spec, d->spec_len);
	p->spec[d->spec_len] = '\0';
	p->spec_len = d->spec_len;
	p->text = desired_part_text(a->st, a->key, d, &p->len, &secrets);
	p->call = secrets ? c->call : 0;
	if (secrets)
		c->nsecret++;
	return p;
}

/* Append s as a JSON string. */
static void
desired_json_str(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	char esc[7];

	const unsigned char *run;

	buf_append(b, "\"", 1);
	for (; *p != '\0'; p++) {
		for (run = p; *p >= 0x20 && *p != '"' && *p != '\\'; p++)
			;
		if (p > run)
			buf_append(b, run, (size_t)(p - run));
		if (*p == '\0')
			break;
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			buf_append(b, esc, 2);
		} else if (*p < 0x20) {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[*p >> 4];
			esc[5] = hex[*p & 15];
			buf_append(b, esc, 6);
		} else
			buf_append(b, p, 1);
	}
	buf_append(b, "\"", 1);
}


static const struct desired_batch *desired_sort_batch;

static int
desired_cmp(const void *x, const void *y)
{
	const struct desired_batch *a = desired_sort_batch;

	return strcmp(a->ids[*(const size_t *)x], a->ids[*(const size_t *)y]);
}

/* The index of the set that holds id's containers, or n if none. */
static size_t
desired_find(const struct desired_batch *a, const char *id)
{
	size_t lo = 0, hi = a->n, mid;
	int c;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		c = strcmp(id, a->ids[a->order[mid]]);
		if (c == 0) {
			/* Duplicates share the first one's set. */
			while (mid > 0 &&
			    strcmp(id, a->ids[a->order[mid - 1]]) == 0)
				mid--;
			return a->order[mid];
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return a->n;
}

static void
desired_row(void *arg, const struct instance_desired *d)
{
	struct desired_batch *a = arg;
	const struct desired_part *p;
	struct buf *b;
	char num[96], name[256];
	int n;

	if (a->last >= a->n || strcmp(a->ids[a->last], d->node_id) != 0)
		a->last = desired_find(a, d->node_id);
	if (a->last >= a->n)
		return;
	b = &a->sets[a->last];
	buf_append(b, b->len == 0 ? "[{\"name\":" : ",{\"name\":", 9);
	snprintf(name, sizeof name, "%s.%s-%d.%.8s", d->stack, d->service,
	    d->instance_no, d->node_id);
	desired_json_str(b, name);
	buf_append(b, ",\"grid\":", 8);
	desired_json_str(b, d->grid);
	buf_append(b, ",\"stack\":", 9);
	desired_json_str(b, d->stack);
	buf_append(b, ",\"service\":", 11);
	desired_json_str(b, d->service);
	n = snprintf(num, sizeof num, ",\"service_id\":%lld,\"instance\":%d,"
	    "\"rev\":%lld", (long long)d->service_id, d->instance_no,
	    (long long)d->rev);
	buf_append(b, num, (size_t)n);
	p = desired_part(a, d);
	if (p->len > 0) {
		buf_append(b, ",", 1);
		buf_append(b, p->text, p->len);
	}
	/*
	 * Stopped by an operator: keep the container, stopped; and running
	 * once it has stayed up settle_s (the grid's setting).
	 */
	n = snprintf(num, sizeof num, ",\"stopped\":%s,\"settle_s\":%lld}",
	    d->stopped ? "true" : "false", (long long)d->settle_s);
	buf_append(b, num, (size_t)n);
}

/*
 * Append ',"jobs":[...],"jobs_done":[...]' for node_id: its job attempts
 * (one query; a node runs few, if any). 0 or -1.
 */
static int
desired_jobs_text(struct store *st, const char *node_id, struct buf *b)
{
	struct desired_build_arg j = { json_array(), node_id };
	json_t *done = json_array();
	char *t;
	int rc = -1;

	if (store_job_desired(st, node_id, desired_job_add, &j, done) == 0) {
		buf_append(b, ",\"jobs\":", 8);
		t = json_dumps(j.arr, JSON_COMPACT);
		buf_append(b, t, strlen(t));
		free(t);
		buf_append(b, ",\"jobs_done\":", 13);
		t = json_dumps(done, JSON_COMPACT);
		buf_append(b, t, strlen(t));
		free(t);
		rc = 0;
	}
	json_decref(j.arr);
	json_decref(done);
	return rc;
}

int
desired_texts(struct store *st, const unsigned char *key,
    struct desired_cache *c, const char *const *ids, size_t n, char **texts)
{
	struct desired_batch a;
	size_t i, j;
	int rc;

	if (n == 0)
		return 0;
	memset(&a, 0, sizeof a);
	a.st = st;
	a.key = key;
	a.cache = c;
	c->call++;
	a.ids = ids;
	a.n = n;
	a.last = n;
	a.order = xcalloc(n, sizeof *a.order);
	a.sets = xcalloc(n, sizeof *a.sets);
	for (i = 0; i < n; i++)
		a.order[i] = i;
	desired_sort_batch = &a;	/* ws thread only: qsort has no arg */
	qsort(a.order, n, sizeof *a.order, desired_cmp);
	desired_sort_batch = NULL;
	rc = store_instance_desired(st, ids, n, desired_row, &a);
	for (i = 0; i < n; i++)
		texts[i] = NULL;
	for (i = 0; i < n && rc == 0; i++) {
		struct buf t = { NULL, 0, 0 };

		j = desired_find(&a, ids[i]);
		buf_append(&t, "{\"containers\":", 14);
		if (a.sets[j].len == 0)
			buf_append(&t, "[]", 2);
		else {
			buf_append(&t, a.sets[j].data, a.sets[j].len);
			buf_append(&t, "]", 1);
		}
		if (desired_jobs_text(st, ids[i], &t) != 0) {
			buf_free(&t);
			rc = -1;
			break;
		}
		buf_append(&t, "}", 1);
		texts[i] = t.data;
	}
	if (rc != 0)
		for (i = 0; i < n; i++) {
			free(texts[i]);
			texts[i] = NULL;
		}
	for (i = 0; i < n; i++)
		buf_free(&a.sets[i]);
	free(a.sets);
	free(a.order);
	desired_cache_wipe_secrets(c);
	return rc;
}

json_t *
desired_build(struct store *st, const unsigned char *key, const char *node_id)
{
	struct desired_cache *c = desired_cache_new();
	char *text = NULL;
	json_t *arr = NULL;

	if (desired_texts(st, key, c, &node_id, 1, &text) == 0) {
		arr = json_loads(text, 0, NULL);
		if (arr == NULL)	/* a bug, not a store error */
			abort();
	}
	free(text);
	desired_cache_free(c);
	return arr;
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

/* A checked hook run in words: "post_start hook NAME: exit code 0: out". */
static char *
desired_hook_msg(json_t *h)
{
	json_t *code = json_object_get(h, "exit_code");
	const char *out = json_string_value(json_object_get(h, "output"));
	char *s, num[32];

	if (json_is_integer(code))
		snprintf(num, sizeof num, "exit code %lld",
		    (long long)json_integer_value(code));
	else
		snprintf(num, sizeof num, "could not run");
	xasprintf(&s, "%s hook %s %s: %s%s%s", json_string_value(
	    json_object_get(h, "type")), json_string_value(json_object_get(h,
	    "name")), json_is_true(json_object_get(h, "ok")) ? "ran" :
	    "failed", num, out != NULL ? ": " : "", out != NULL ? out : "");
	return s;
}

int
desired_apply_state(struct store *st, const char *node_id, json_t *containers,
    int *grid_changed, char **cause)
{
	struct instance_report *v;
	struct hook_report **hooks;
	json_t *c, *e, *x;
	size_t i, k;
	int rc;

	*grid_changed = 0;
	if (frame_state_containers(containers, cause) != 0)
		return -1;
	/* Checked: every entry is an object with integer ids and a state. */
	v = xcalloc(json_array_size(containers) + 1, sizeof *v);
	hooks = xcalloc(json_array_size(containers) + 1, sizeof *hooks);
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
		e = json_object_get(c, "health");
		v[i].health = json_is_string(e) ? json_string_value(e) : NULL;
		e = json_object_get(c, "health_error");
		v[i].health_error = json_is_string(e) ? json_string_value(e) :
		    NULL;
		e = json_object_get(c, "health_restarts");
		v[i].health_restarts = json_is_integer(e) ?
		    json_integer_value(e) : 0;
		e = json_object_get(c, "address");
		v[i].address = json_is_string(e) ? json_string_value(e) : NULL;
		e = json_object_get(c, "hooks");
		if (json_array_size(e) > 0) {
			/* Checked: objects with type, name, ok and at. */
			hooks[i] = xcalloc(json_array_size(e),
			    sizeof *hooks[i]);
			json_array_foreach(e, k, x) {
				hooks[i][k].json = json_dumps(x, JSON_COMPACT |
				    JSON_SORT_KEYS);
				hooks[i][k].msg = desired_hook_msg(x);
				hooks[i][k].at = json_integer_value(
				    json_object_get(x, "at"));
			}
			v[i].hooks = hooks[i];
			v[i].nhooks = json_array_size(e);
		}
	}
	rc = store_instance_report(st, node_id, v, json_array_size(containers),
	    grid_changed, cause);
	for (i = 0; i < json_array_size(containers); i++) {
		for (k = 0; k < v[i].nhooks; k++) {
			free(hooks[i][k].json);
			free(hooks[i][k].msg);
		}
		free(hooks[i]);
	}
	free(hooks);
	free(v);
	return rc;
}
