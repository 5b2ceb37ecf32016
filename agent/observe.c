/*
 * observe.c - read Docker's view of this node for a converge pass.
 *
 * Who: converge.c, on the converge thread only, with the converge thread's
 * own struct docker (borrowed). Nothing here is shared or locked.
 *
 * Invariants:
 *  - only containers whose berth.node label is this node's id are ever
 *    returned: the list call filters on it, and the answer is re-checked
 *    here, because what it returns can be removed;
 *  - an instance's identity comes from strict decimal labels; a container
 *    whose labels do not parse is listed as unlabelled (plan.c removes it);
 *  - a container is inspected again when its listed state differs from
 *    the one it was inspected in, when the cache lifetime passed, or when
 *    observe_stale() said so; a failed inspect keeps the previous figures;
 *  - cache entries live while a pass looks at their container (a pass
 *    that does not, e.g. for a container being removed, drops them);
 *  - an image is checked once per pass, however many instances use it.
 */
#include "agent/observe.h"

#include <stdlib.h>
#include <string.h>

#include "agent/docker.h"
#include "common/log.h"
#include "common/proto.h"
#include "common/util.h"
#include "common/xmalloc.h"

/* One image looked up in this pass (many instances share an image). */
struct observe_image {
	char		*image;		/* reference as asked */
	int		 rc;		/* docker_image_exists() */
	char		*cause;		/* its cause when rc < 0 */
};

struct observe {
	struct docker	*docker;	/* borrowed: the converge thread's */
	char		*node_id;	/* our berth.node label */
	int64_t		 cache_ms;	/* inspect lifetime */
	struct observe_inspect *cache;	/* inspect results by container */
	size_t		 ncache;	/* entries in cache */
	struct observe_image *images;	/* image checks of this pass */
	size_t		 nimages;	/* entries in images */
};

struct observe *
observe_new(struct docker *d, const char *node_id, int64_t cache_ms)
{
	struct observe *o = xcalloc(1, sizeof *o);

	o->docker = d;
	o->node_id = xstrdup(node_id);
	o->cache_ms = cache_ms;
	return o;
}

static void
observe_images_clear(struct observe *o)
{
	size_t i;

	for (i = 0; i < o->nimages; i++) {
		free(o->images[i].image);
		free(o->images[i].cause);
	}
	free(o->images);
	o->images = NULL;
	o->nimages = 0;
}

static void
observe_inspect_clear(struct observe_inspect *ins)
{
	free(ins->id);
	free(ins->started_at);
	free(ins->finished_at);
	free(ins->last_output);
	free(ins->output_for);
	free(ins->ip);
	free(ins->ip_net);
}

void
observe_free(struct observe *o)
{
	size_t i;

	if (o == NULL)
		return;
	for (i = 0; i < o->ncache; i++)
		observe_inspect_clear(&o->cache[i]);
	free(o->cache);
	observe_images_clear(o);
	free(o->node_id);
	free(o);
}

/* Strict decimal label value. */
static int
observe_label_int(json_t *labels, const char *key, int64_t *out)
{
	const char *s = json_string_value(json_object_get(labels, key));
	char *end;
	long long v;

	if (s == NULL || *s == '\0')
		return -1;
	v = strtoll(s, &end, 10);
	if (*end != '\0' || v < 0)
		return -1;
	*out = v;
	return 0;
}

void
observe_parse_list(json_t *arr, const char *node_id, struct observe_list *l)
{
	struct observe_container *k;
	json_t *e, *labels, *names;
	const char *id, *name, *node, *status, *daemon;
	size_t i;

	l->c = xcalloc(json_array_size(arr) + 1, sizeof *l->c);
	l->n = 0;
	json_array_foreach(arr, i, e) {
		id = json_string_value(json_object_get(e, "Id"));
		labels = json_object_get(e, "Labels");
		node = json_string_value(json_object_get(labels,
		    PROTO_LABEL_NODE));
		/* The filter did this already; never trust it with deletes. */
		if (id == NULL || node == NULL || strcmp(node, node_id) != 0)
			continue;
		names = json_object_get(e, "Names");
		name = json_string_value(json_array_get(names, 0));
		if (name != NULL && *name == '/')
			name++;
		k = &l->c[l->n++];
		k->id = xstrdup(id);
		k->name = xstrdup(name != NULL ? name : "");
		k->a.state = plan_state_parse(json_string_value(
		    json_object_get(e, "State")));
		k->list_exit = -1;
		status = json_string_value(json_object_get(e, "Status"));
		if (status != NULL && strncmp(status, "Exited (", 8) == 0) {
			char *end;
			long v = strtol(status + 8, &end, 10);

			if (end != status + 8 && *end == ')' && v >= 0 &&
			    v <= 255)
				k->list_exit = (int)v;
		}
		if (observe_label_int(labels, PROTO_LABEL_ATTEMPT,
		    &k->a.attempt) != 0 || k->a.attempt < 1)
			k->a.attempt = 0;
		k->a.labelled = observe_label_int(labels,
		    PROTO_LABEL_SERVICE_ID, &k->a.service_id) == 0 &&
		    observe_label_int(labels, PROTO_LABEL_INSTANCE,
		    &k->a.instance) == 0 &&
		    observe_label_int(labels, PROTO_LABEL_REV, &k->a.rev) == 0;
		daemon = json_string_value(json_object_get(labels,
		    PROTO_LABEL_DAEMON));
		k->a.daemon = daemon != NULL && strcmp(daemon, "true") == 0;
	}
}

int
observe_list(struct observe *o, struct observe_list *l, char **cause)
{
	json_t *arr;

	l->c = NULL;
	l->n = 0;
	arr = docker_list(o->docker, o->node_id, cause);
	if (arr == NULL)
		return -1;
	observe_parse_list(arr, o->node_id, l);
	json_decref(arr);
	return 0;
}

void
observe_list_clear(struct observe_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->c[i].id);
		free(l->c[i].name);
	}
	free(l->c);
	l->c = NULL;
	l->n = 0;
}

int
observe_name_taken(const struct observe_list *l, const char *name)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		if (l->c[i].name != NULL && strcmp(l->c[i].name, name) == 0)
			return 1;
	}
	return 0;
}

/*
 * The container's IPv4: NetworkSettings.IPAddress (the default bridge),
 * else the first network's under NetworkSettings.Networks (sorted by
 * name, so the choice is stable). NULL when it has none.
 */
static void
observe_parse_ip(json_t *o, struct observe_inspect *ins)
{
	json_t *ns = json_object_get(o, "NetworkSettings"), *nets, *n;
	const char *s = json_string_value(json_object_get(ns, "IPAddress")),
	    *key, *best = "bridge", *ip;

	free(ins->ip);
	free(ins->ip_net);
	ins->ip = ins->ip_net = NULL;
	if (s == NULL || *s == '\0') {
		best = NULL;
		nets = json_object_get(ns, "Networks");
		json_object_foreach(nets, key, n) {
			ip = json_string_value(json_object_get(n,
			    "IPAddress"));
			if (ip == NULL || *ip == '\0')
				continue;
			if (best == NULL || strcmp(key, best) < 0) {
				best = key;
				s = ip;
			}
		}
	}
	if (s != NULL && *s != '\0' && strlen(s) < 16) {
		ins->ip = xstrdup(s);
		ins->ip_net = xstrdup(best);
	}
}

void
observe_parse_inspect(json_t *o, enum plan_state state, int64_t now,
    struct observe_inspect *ins)
{
	json_t *st = json_object_get(o, "State");
	const char *s;

	ins->state = state;
	/* A crash loop may be running again by now: keep the last exit. */
	s = json_string_value(json_object_get(st, "Status"));
	if (s == NULL || strcmp(s, "running") != 0) {
		ins->exit_code = (int)json_integer_value(json_object_get(st,
		    "ExitCode"));
		ins->exit_known = 1;
	}
	ins->restart_count = (int)json_integer_value(json_object_get(o,
	    "RestartCount"));
	/* For wait_for_port: whose namespace, and which start of it. */
	ins->pid = (int)json_integer_value(json_object_get(st, "Pid"));
	s = json_string_value(json_object_get(st, "StartedAt"));
	free(ins->started_at);
	ins->started_at = s != NULL ? xstrdup(s) : NULL;
	ins->started_ms = util_parse_time(s);
	if (ins->started_ms < 0)
		ins->started_ms = 0;
	/* Docker's zero time ("0001-01-01T...") is "never exited". */
	s = json_string_value(json_object_get(st, "FinishedAt"));
	free(ins->finished_at);
	ins->finished_at = s != NULL && strncmp(s, "0001-", 5) != 0 ?
	    xstrdup(s) : NULL;
	ins->created_s = util_parse_time(json_string_value(json_object_get(o,
	    "Created"))) / 1000;
	if (ins->created_s < 0)
		ins->created_s = 0;
	s = json_string_value(json_object_get(json_object_get(st, "Health"),
	    "Status"));
	ins->healthy = s != NULL && strcmp(s, "healthy") == 0;
	/* For jobs: whether the kernel killed it. */
	ins->oom_killed = json_is_true(json_object_get(st, "OOMKilled"));
	s = json_string_value(json_object_get(json_object_get(o,
	    "HostConfig"), "NetworkMode"));
	ins->host_net = s != NULL && strcmp(s, "host") == 0;
	observe_parse_ip(o, ins);
	ins->at = now;
}

/* The cache entry of container id, made (never inspected) if new. */
static struct observe_inspect *
observe_cached(struct observe *o, const char *id)
{
	struct observe_inspect *ins;
	size_t i;

	for (i = 0; i < o->ncache; i++) {
		if (strcmp(o->cache[i].id, id) == 0)
			return &o->cache[i];
	}
	o->cache = xreallocarray(o->cache, o->ncache + 1, sizeof *o->cache);
	ins = &o->cache[o->ncache++];
	memset(ins, 0, sizeof *ins);
	ins->id = xstrdup(id);
	ins->at = -1;
	return ins;
}

char *
observe_parse_logs(const char *data, size_t len)
{
	struct buf raw = { 0 };
	const unsigned char *p = (const unsigned char *)data;
	size_t i = 0, n, start, lines = 0;
	char *out;

	/* Multiplexed: frames of [stream, 0, 0, 0, size (big endian)]. */
	if (len >= 8 && p[0] <= 2 && p[1] == 0 && p[2] == 0 && p[3] == 0) {
		while (i + 8 <= len) {
			n = (size_t)p[i + 4] << 24 | (size_t)p[i + 5] << 16 |
			    (size_t)p[i + 6] << 8 | p[i + 7];
			i += 8;
			if (n > len - i)
				n = len - i;
			buf_append(&raw, data + i, n);
			i += n;
		}
	} else
		buf_append(&raw, data, len);
	if (raw.data == NULL)
		return NULL;
	n = raw.len;
	while (n > 0 && (raw.data[n - 1] == '\n' || raw.data[n - 1] == '\r'))
		n--;
	/* The last lines that fit. */
	for (start = n; start > 0; start--) {
		if (raw.data[start - 1] == '\n' &&
		    ++lines == OBSERVE_OUTPUT_LINES)
			break;
		if (n - start + 1 > PROTO_MAX_OUTPUT)
			break;
	}
	if (n == start) {
		buf_free(&raw);
		return NULL;
	}
	out = xstrndup(raw.data + start, n - start);
	for (i = 0; out[i] != '\0'; i++) {
		if (out[i] != '\n' && (out[i] < 0x20 || out[i] > 0x7e))
			out[i] = '?';
	}
	buf_free(&raw);
	return out;
}

/*
 * A container that exited since it was last looked at: fetch the lines it
 * logged last, once per exit (its FinishedAt), so a crash shows why.
 */
static void
observe_output(struct observe *o, struct observe_inspect *ins)
{
	char *data = NULL, *cause = NULL;
	size_t len = 0;

	if (ins->finished_at == NULL || (ins->output_for != NULL &&
	    strcmp(ins->output_for, ins->finished_at) == 0))
		return;
	free(ins->output_for);
	ins->output_for = xstrdup(ins->finished_at);
	free(ins->last_output);
	ins->last_output = NULL;
	/* A restarted container's inspect says exit code 0: ask the events. */
	if (!ins->exit_known || ins->state == PLAN_ST_RUNNING) {
		int code, rc;

		rc = docker_last_exit(o->docker, ins->id, ins->created_s, &code,
		    &cause);
		if (rc == 1) {
			ins->exit_code = code;
			ins->exit_known = 1;
		} else if (rc < 0) {
			log_debug("%s", cause);
			free(cause);
			cause = NULL;
		}
	}
	if (docker_logs_tail(o->docker, ins->id, OBSERVE_OUTPUT_LINES, &data,
	    &len, &cause) != 0) {
		log_debug("%s", cause);
		free(cause);
		return;
	}
	ins->last_output = observe_parse_logs(data, len);
	free(data);
}

const struct observe_inspect *
observe_inspect(struct observe *o, const struct observe_container *c,
    int64_t now)
{
	struct observe_inspect *ins = observe_cached(o, c->id);
	char *cause = NULL;
	json_t *j;

	ins->live = 1;
	if (ins->at >= 0 && ins->state == c->a.state &&
	    now - ins->at < o->cache_ms)
		return ins;
	j = docker_inspect(o->docker, c->id, &cause);
	if (j == NULL) {
		log_debug("%s", cause);
		free(cause);
		return ins;	/* keep old figures; list state still counts */
	}
	observe_parse_inspect(j, c->a.state, now, ins);
	json_decref(j);
	observe_output(o, ins);
	return ins;
}

void
observe_stale(struct observe *o, const char *id)
{
	size_t i;

	for (i = 0; i < o->ncache; i++) {
		if (strcmp(o->cache[i].id, id) == 0)
			o->cache[i].at = -1;
	}
}

int
observe_image(struct observe *o, const char *image, char **cause)
{
	struct observe_image *e = NULL;
	size_t i;

	for (i = 0; i < o->nimages && e == NULL; i++) {
		if (strcmp(o->images[i].image, image) == 0)
			e = &o->images[i];
	}
	if (e == NULL) {
		o->images = xreallocarray(o->images, o->nimages + 1,
		    sizeof *o->images);
		e = &o->images[o->nimages++];
		e->image = xstrdup(image);
		e->cause = NULL;
		e->rc = docker_image_exists(o->docker, image, &e->cause);
	}
	if (e->rc < 0)
		*cause = xstrdup(e->cause != NULL ? e->cause : "image check");
	return e->rc;
}

void
observe_done(struct observe *o)
{
	size_t i = 0;

	while (i < o->ncache) {
		if (!o->cache[i].live) {
			observe_inspect_clear(&o->cache[i]);
			o->cache[i] = o->cache[--o->ncache];
			continue;
		}
		o->cache[i++].live = 0;
	}
	observe_images_clear(o);
}
