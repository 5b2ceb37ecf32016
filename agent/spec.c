/*
 * spec.c - desired frame entries to Docker create bodies.
 *
 * Runs on the converge thread when a desired frame arrives. Every field of
 * an entry is type-checked here; a bad entry is skipped with a reason so the
 * rest of the node's containers still converge. The create body carries
 * the berth.* labels (docs/protocol.md) that the agent later uses to recognise
 * its containers, and the restart policy "unless-stopped" (docs/agent.md):
 * containers survive an agent crash or an engine restart on their own.
 */
#include "agent/spec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/log.h"
#include "common/proto.h"
#include "common/xmalloc.h"

#define SPEC_NAME_MAX	200
#define SPEC_IMAGE_MAX	255
#define SPEC_DEFAULT_GRACE 10

void
spec_clear(struct spec *s)
{
	free(s->name);
	free(s->image);
	free(s->body);
	free(s->health.uri);
	hooks_free(s->hooks, s->nhooks);
	memset(s, 0, sizeof *s);
}

void
spec_free_array(struct spec *specs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		spec_clear(&specs[i]);
	free(specs);
}

static int
spec_name_valid(const char *s)
{
	size_t i, len = strlen(s);

	if (len == 0 || len > SPEC_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') ||
		    (i > 0 && (c == '_' || c == '.' || c == '-'))))
			return 0;
	}
	return 1;
}

int
spec_image_valid(const char *s)
{
	size_t len = strlen(s);

	return len > 0 && len <= SPEC_IMAGE_MAX && s[0] != '-' &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._/:@-") == len;
}

/* A string array (or null/absent); copies into out, or fails. */
int
spec_strings(json_t *e, const char *key, json_t **out, char **cause)
{
	json_t *v = json_object_get(e, key), *x;
	size_t i;

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		goto bad;
	json_array_foreach(v, i, x) {
		if (!json_is_string(x))
			goto bad;
	}
	*out = json_deep_copy(v);
	return 0;
bad:
	xasprintf(cause, "%s: want an array of strings", key);
	return -1;
}

/* An integer >= min, or null/absent (*present = 0). */
static int
spec_int(json_t *e, const char *key, int64_t min, int64_t *out, int *present,
    char **cause)
{
	json_t *v = json_object_get(e, key);

	*present = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min) {
		xasprintf(cause, "%s: want an integer >= %lld", key,
		    (long long)min);
		return -1;
	}
	*out = json_integer_value(v);
	*present = 1;
	return 0;
}

/* A string or null/absent; *out borrowed from e. */
static int
spec_str(json_t *e, const char *key, const char **out, char **cause)
{
	json_t *v = json_object_get(e, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		xasprintf(cause, "%s: want a string", key);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

static int
spec_bool(json_t *e, const char *key, int *out, char **cause)
{
	json_t *v = json_object_get(e, key);

	*out = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_boolean(v)) {
		xasprintf(cause, "%s: want true or false", key);
		return -1;
	}
	*out = json_is_true(v);
	return 0;
}

/*
 * logging: {driver, options: {k: "v"}} -> HostConfig.LogConfig (the
 * stack file's logging:, as Kontena passed it to Docker). Absent or null:
 * the engine's default driver.
 */
static int
spec_logging(json_t *e, json_t *host, char **cause)
{
	json_t *l = json_object_get(e, "logging"), *opts, *v, *cfg;
	const char *driver, *k;

	if (l == NULL || json_is_null(l))
		return 0;
	driver = json_string_value(json_object_get(l, "driver"));
	if (!json_is_object(l) || driver == NULL || *driver == '\0' ||
	    strlen(driver) > 64) {
		xasprintf(cause, "logging: want {driver, options}");
		return -1;
	}
	opts = json_object_get(l, "options");
	if (opts != NULL && !json_is_null(opts) && !json_is_object(opts)) {
		xasprintf(cause, "logging.options: want an object of strings");
		return -1;
	}
	cfg = json_object();
	json_object_foreach(opts, k, v) {
		if (!json_is_string(v)) {
			json_decref(cfg);
			xasprintf(cause, "logging.options.%s: want a string", k);
			return -1;
		}
		json_object_set(cfg, k, v);
	}
	json_object_set_new(host, "LogConfig", json_pack("{s:s, s:o}", "Type",
	    driver, "Config", cfg));
	return 0;
}

/* ports -> ExposedPorts and HostConfig.PortBindings. */
static int
spec_ports(json_t *e, json_t *cfg, json_t *host, char **cause)
{
	json_t *v = json_object_get(e, "ports"), *p, *exposed, *bind, *list;
	const char *ip, *proto;
	json_int_t np, cp;
	char key[32], port[16];
	size_t i;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		goto bad;
	exposed = json_object();
	bind = json_object();
	json_object_set_new(cfg, "ExposedPorts", exposed);
	json_object_set_new(host, "PortBindings", bind);
	json_array_foreach(v, i, p) {
		ip = json_string_value(json_object_get(p, "ip"));
		proto = json_string_value(json_object_get(p, "protocol"));
		np = json_integer_value(json_object_get(p, "node_port"));
		cp = json_integer_value(json_object_get(p, "container_port"));
		if (!json_is_object(p) || cp < 1 || cp > 65535 || np < 0 ||
		    np > 65535)
			goto bad;
		if (proto == NULL)
			proto = "tcp";
		if (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0 &&
		    strcmp(proto, "sctp") != 0)
			goto bad;
		snprintf(key, sizeof key, "%lld/%s", (long long)cp, proto);
		json_object_set_new(exposed, key, json_object());
		if (np == 0)
			continue;	/* exposed only */
		snprintf(port, sizeof port, "%lld", (long long)np);
		list = json_object_get(bind, key);
		if (list == NULL) {
			list = json_array();
			json_object_set_new(bind, key, list);
		}
		json_array_append_new(list, json_pack("{s:s, s:s}",
		    "HostIp", ip != NULL ? ip : "", "HostPort", port));
	}
	return 0;
bad:
	xasprintf(cause, "ports: want [{ip, node_port, container_port (1-65535),"
	    " protocol tcp|udp|sctp}]");
	return -1;
}

/* Entry -> Docker create body. e is trusted only after these checks. */
/*
 * health_check: {protocol: "http"|"tcp", port, uri, timeout, interval,
 * initial_delay} (seconds; the stack parser filled in Kontena's defaults,
 * which are used here too when a key is absent). Absent or null: none.
 */
static int
spec_health(json_t *e, struct health_spec *h, char **cause)
{
	static const struct {
		const char *key;
		int64_t min, def;
	} times[] = {
		{ "timeout", 1, 10 }, { "interval", 1, 60 },
		{ "initial_delay", 0, 10 },
	};
	json_t *hc = json_object_get(e, "health_check"), *v;
	int64_t t[3];
	const char *proto, *uri;
	size_t i;

	memset(h, 0, sizeof *h);
	if (hc == NULL || json_is_null(hc))
		return 0;
	if (!json_is_object(hc)) {
		xasprintf(cause, "health_check: want an object");
		return -1;
	}
	proto = json_string_value(json_object_get(hc, "protocol"));
	if (proto == NULL || (strcmp(proto, "http") != 0 &&
	    strcmp(proto, "tcp") != 0)) {
		xasprintf(cause, "health_check.protocol: want \"http\" or "
		    "\"tcp\"");
		return -1;
	}
	v = json_object_get(hc, "port");
	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > 65535) {
		xasprintf(cause, "health_check.port: want an integer 1-65535");
		return -1;
	}
	for (i = 0; i < 3; i++) {
		v = json_object_get(hc, times[i].key);
		t[i] = times[i].def;
		if (v == NULL || json_is_null(v))
			continue;
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > 86400) {
			xasprintf(cause, "health_check.%s: want seconds, "
			    "0-86400", times[i].key);
			return -1;
		}
		t[i] = json_integer_value(v);
		if (t[i] < times[i].min)	/* Kontena's 0: the least */
			t[i] = times[i].min;
	}
	uri = json_string_value(json_object_get(hc, "uri"));
	if (uri != NULL && (uri[0] != '/' || strlen(uri) > 2048 ||
	    strpbrk(uri, " \r\n") != NULL)) {
		xasprintf(cause, "health_check.uri: want a path starting with "
		    "/, without spaces or line breaks, at most 2048 bytes");
		return -1;
	}
	h->http = strcmp(proto, "http") == 0;
	h->port = (int)json_integer_value(json_object_get(hc, "port"));
	h->uri = xstrdup(uri != NULL ? uri : "/");
	h->timeout_s = (int)t[0];
	h->interval_s = (int)t[1];
	h->initial_delay_s = (int)t[2];
	return 0;
}

static int
spec_from_json(json_t *e, const char *node_id, struct spec *s, char **cause)
{
	const char *name, *grid, *stack, *service, *image, *str;
	json_t *cfg = NULL, *host = NULL, *labels, *arr;
	int64_t sid, inst, rev, n;
	int has, b;
	char num[32];
	double cpus;

	memset(s, 0, sizeof *s);
	if (!json_is_object(e)) {
		xasprintf(cause, "entry is not an object");
		return -1;
	}
	if (spec_str(e, "name", &name, cause) != 0 ||
	    spec_str(e, "grid", &grid, cause) != 0 ||
	    spec_str(e, "stack", &stack, cause) != 0 ||
	    spec_str(e, "service", &service, cause) != 0 ||
	    spec_str(e, "image", &image, cause) != 0)
		return -1;
	if (name == NULL || !spec_name_valid(name)) {
		xasprintf(cause, "name: want [A-Za-z0-9][A-Za-z0-9_.-]*");
		return -1;
	}
	if (image == NULL || !spec_image_valid(image)) {
		xasprintf(cause, "%s: image: missing or not a valid reference",
		    name);
		return -1;
	}
	if (spec_int(e, "service_id", 1, &sid, &has, cause) != 0 || !has ||
	    spec_int(e, "instance", 1, &inst, &has, cause) != 0 || !has ||
	    spec_int(e, "rev", 0, &rev, &has, cause) != 0 || !has) {
		if (*cause == NULL)
			xasprintf(cause, "%s: service_id, instance and rev are "
			    "required", name);
		return -1;
	}

	cfg = json_object();
	host = json_object();
	json_object_set_new(cfg, "Image", json_string(image));
	if (spec_strings(e, "command", &arr, cause) != 0)
		goto fail;
	if (arr != NULL)
		json_object_set_new(cfg, "Cmd", arr);
	if (spec_strings(e, "entrypoint", &arr, cause) != 0)
		goto fail;
	if (arr != NULL)
		json_object_set_new(cfg, "Entrypoint", arr);
	if (spec_strings(e, "env", &arr, cause) != 0)
		goto fail;
	if (arr != NULL)
		json_object_set_new(cfg, "Env", arr);

	labels = json_object();
	json_object_set_new(cfg, "Labels", labels);
	json_object_set_new(labels, PROTO_LABEL_GRID, json_string(grid ? grid :
	    ""));
	json_object_set_new(labels, PROTO_LABEL_STACK,
	    json_string(stack ? stack : ""));
	json_object_set_new(labels, PROTO_LABEL_SERVICE,
	    json_string(service ? service : ""));
	snprintf(num, sizeof num, "%lld", (long long)inst);
	json_object_set_new(labels, PROTO_LABEL_INSTANCE, json_string(num));
	json_object_set_new(labels, PROTO_LABEL_NODE, json_string(node_id));
	snprintf(num, sizeof num, "%lld", (long long)rev);
	json_object_set_new(labels, PROTO_LABEL_REV, json_string(num));
	snprintf(num, sizeof num, "%lld", (long long)sid);
	json_object_set_new(labels, PROTO_LABEL_SERVICE_ID, json_string(num));

	if (spec_int(e, "cpu_shares", 0, &n, &has, cause) != 0)
		goto fail;
	if (has)
		json_object_set_new(host, "CpuShares", json_integer(n));
	arr = json_object_get(e, "cpus");
	if (arr != NULL && !json_is_null(arr)) {
		cpus = json_number_value(arr);
		if (!json_is_number(arr) || cpus <= 0 || cpus > 1024) {
			xasprintf(cause, "cpus: want a number > 0");
			goto fail;
		}
		json_object_set_new(host, "NanoCpus",
		    json_integer((json_int_t)(cpus * 1e9)));
	}
	if (spec_int(e, "mem_limit", 0, &n, &has, cause) != 0)
		goto fail;
	if (has)
		json_object_set_new(host, "Memory", json_integer(n));
	if (spec_int(e, "memswap_limit", -1, &n, &has, cause) != 0)
		goto fail;
	if (has)
		json_object_set_new(host, "MemorySwap", json_integer(n));
	if (spec_int(e, "shm_size", 0, &n, &has, cause) != 0)
		goto fail;
	if (has)
		json_object_set_new(host, "ShmSize", json_integer(n));
	if (spec_ports(e, cfg, host, cause) != 0)
		goto fail;
	if (spec_logging(e, host, cause) != 0)
		goto fail;
	if (spec_strings(e, "volumes", &arr, cause) != 0)
		goto fail;
	if (arr != NULL)
		json_object_set_new(host, "Binds", arr);
	if (spec_bool(e, "privileged", &b, cause) != 0)
		goto fail;
	json_object_set_new(host, "Privileged", json_boolean(b));
	if (spec_strings(e, "cap_add", &arr, cause) != 0)
		goto fail;
	if (arr != NULL)
		json_object_set_new(host, "CapAdd", arr);
	if (spec_strings(e, "cap_drop", &arr, cause) != 0)
		goto fail;
	if (arr != NULL)
		json_object_set_new(host, "CapDrop", arr);
	if (spec_str(e, "network_mode", &str, cause) != 0)
		goto fail;
	if (str != NULL)
		json_object_set_new(host, "NetworkMode", json_string(str));
	if (spec_str(e, "pid", &str, cause) != 0)
		goto fail;
	if (str != NULL)
		json_object_set_new(host, "PidMode", json_string(str));
	if (spec_str(e, "user", &str, cause) != 0)
		goto fail;
	if (str != NULL)
		json_object_set_new(cfg, "User", json_string(str));
	if (spec_bool(e, "read_only", &b, cause) != 0)
		goto fail;
	json_object_set_new(host, "ReadonlyRootfs", json_boolean(b));
	if (spec_str(e, "stop_signal", &str, cause) != 0)
		goto fail;
	if (str != NULL)
		json_object_set_new(cfg, "StopSignal", json_string(str));
	if (spec_int(e, "stop_grace_period", 0, &n, &has, cause) != 0)
		goto fail;
	s->stop_grace = has ? (int)(n > 3600 ? 3600 : n) : SPEC_DEFAULT_GRACE;
	json_object_set_new(cfg, "StopTimeout", json_integer(s->stop_grace));
	if (spec_int(e, "wait_for_port", 1, &n, &has, cause) != 0)
		goto fail;
	if (has && n > 65535) {
		xasprintf(cause, "wait_for_port: want an integer 1-65535");
		goto fail;
	}
	s->wait_for_port = has ? (int)n : 0;
	if (spec_bool(e, "stopped", &b, cause) != 0)
		goto fail;
	s->stopped = b;
	/* A daemon service's container stops last (plan_hold_daemons()). */
	if (spec_bool(e, "daemon", &b, cause) != 0)
		goto fail;
	if (b)
		json_object_set_new(labels, PROTO_LABEL_DAEMON,
		    json_string("true"));
	if (spec_int(e, "settle_s", 0, &n, &has, cause) != 0)
		goto fail;
	if (has && n > 3600) {
		xasprintf(cause, "settle_s: want an integer 0-3600");
		goto fail;
	}
	s->settle_s = has ? (int)n : 0;
	if (spec_health(e, &s->health, cause) != 0)
		goto fail;
	if (hooks_parse(e, inst, &s->hooks, &s->nhooks, cause) != 0)
		goto fail;
	json_object_set_new(host, "RestartPolicy",
	    json_pack("{s:s}", "Name", "unless-stopped"));
	json_object_set_new(cfg, "HostConfig", host);
	host = NULL;

	s->body = json_dumps(cfg, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(cfg);
	if (s->body == NULL) {
		xasprintf(cause, "%s: cannot encode the create body", name);
		free(s->health.uri);
		s->health.uri = NULL;
		hooks_free(s->hooks, s->nhooks);
		s->hooks = NULL;
		s->nhooks = 0;
		return -1;
	}
	s->name = xstrdup(name);
	s->image = xstrdup(image);
	s->service_id = sid;
	s->instance = inst;
	s->rev = rev;
	return 0;
fail:
	json_decref(cfg);
	json_decref(host);
	free(s->health.uri);
	s->health.uri = NULL;
	hooks_free(s->hooks, s->nhooks);
	s->hooks = NULL;
	s->nhooks = 0;
	return -1;
}

int
spec_parse_one(const char *text, const char *node_id, struct spec *s,
    char **cause)
{
	json_error_t jerr;
	json_t *e;
	int rc;

	e = json_loads(text, 0, &jerr);
	if (e == NULL) {
		xasprintf(cause, "bad JSON: %s", jerr.text);
		return -1;
	}
	rc = spec_from_json(e, node_id, s, cause);
	json_decref(e);
	return rc;
}

int
spec_parse_desired(const char *text, const char *node_id, struct spec **specs,
    size_t *nspecs, int64_t *generation, char **cause)
{
	json_error_t jerr;
	json_t *o, *list, *e, *g;
	struct spec *out = NULL;
	size_t i, j, n = 0;
	char *why = NULL, esc[256];

	o = json_loads(text, 0, &jerr);
	if (o == NULL) {
		xasprintf(cause, "desired: bad JSON: %s", jerr.text);
		return -1;
	}
	list = json_object_get(o, "containers");
	g = json_object_get(o, "generation");
	if (!json_is_array(list) || !json_is_integer(g)) {
		xasprintf(cause, "desired: want generation and containers");
		json_decref(o);
		return -1;
	}
	out = xcalloc(json_array_size(list) + 1, sizeof *out);
	json_array_foreach(list, i, e) {
		if (spec_from_json(e, node_id, &out[n], &why) != 0) {
			log_warn("desired: entry %zu skipped: %s", i,
			    log_escape(esc, sizeof esc, why));
			free(why);
			why = NULL;
			continue;
		}
		for (j = 0; j < n; j++) {
			if ((out[j].service_id == out[n].service_id &&
			    out[j].instance == out[n].instance) ||
			    strcmp(out[j].name, out[n].name) == 0)
				break;
		}
		if (j < n) {
			log_warn("desired: entry %zu skipped: same instance or"
			    " name as entry %s", i,
			    log_escape(esc, sizeof esc, out[j].name));
			spec_clear(&out[n]);
			continue;
		}
		n++;
	}
	*generation = json_integer_value(g);
	json_decref(o);
	*specs = out;
	*nspecs = n;
	return 0;
}
