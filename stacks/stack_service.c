/*
 * stack_service.c - one entry of `services:` to its normalized JSON spec.
 *
 * Called by stack_parse() for each service after the variables are
 * resolved. One table (svc_keys) lists every key a service may have, with
 * the function that reads it, or the reason berth refuses a Kontena key it
 * does not implement; a key in neither is "unknown". Each reader reports
 * its own errors and writes its field into the spec, which starts out with
 * every field at its default so the agent and the scheduler always find
 * every field with its type. links and depends_on entries are recorded in
 * ctx->refs for stack.c to check and order once every service is known.
 */
#include "stacks/stack_int.h"
#include "common/affinity.h"
#include "common/units.h"
#include "common/util.h"
#include "common/xmalloc.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

typedef void svc_fn(struct stack_ctx *, json_t *, const char *,
    const struct snode *, const char *);

static void
svc_set_str(struct stack_ctx *ctx, json_t *svc, const char *name,
    const struct snode *v, const char *path)
{
	char *s;

	if (stack_is_null(v)) {
		json_object_set_new(svc, name, json_null());
		return;
	}
	if (stack_get_str(ctx, v, path, &s) == 0) {
		if (*s == '\0')
			stack_errn(ctx, v, path, "must not be empty");
		else
			json_object_set_new(svc, name, json_string(s));
	}
	free(s);
}

static void
svc_image(struct stack_ctx *ctx, json_t *svc, const char *name,
    const struct snode *v, const char *path)
{
	char *s;
	size_t i;

	if (stack_get_str(ctx, v, path, &s) != 0)
		return;
	for (i = 0; s[i] != '\0'; i++) {
		if (isspace((unsigned char)s[i]) || iscntrl((unsigned char)s[i]))
			break;
	}
	if (*s == '\0' || s[i] != '\0')
		stack_errn(ctx, v, path, "\"%s\" is not an image name", s);
	else
		json_object_set_new(svc, name, json_string(s));
	free(s);
}

/*
 * command / entrypoint: a string split into words (command), a list kept.
 * A string entrypoint is one argument, as Kontena passed it to Docker.
 */
static void
svc_argv(struct stack_ctx *ctx, json_t *svc, const char *name,
    const struct snode *v, const char *path)
{
	json_t *words;
	char *s, *cause;

	if (stack_is_null(v))
		return;
	if (v->type == SNODE_SEQ) {
		if (stack_get_strlist(ctx, v, path, &words) == 0)
			json_object_set_new(svc, name, words);
		else
			json_decref(words);
		return;
	}
	if (stack_get_str(ctx, v, path, &s) != 0)
		return;
	if (strcmp(name, "entrypoint") == 0) {
		json_object_set_new(svc, name, json_pack("[s]", s));
		free(s);
		return;
	}
	if ((words = stack_shell_split(s, &cause)) == NULL) {
		stack_errn(ctx, v, path, "%s", cause);
		free(cause);
	} else
		json_object_set_new(svc, name, words);
	free(s);
}

static void
svc_bool(struct stack_ctx *ctx, json_t *svc, const char *name,
    const struct snode *v, const char *path)
{
	int b;

	if (stack_get_bool(ctx, v, path, &b) == 0)
		json_object_set_new(svc, name, json_boolean(b));
}

static void
svc_instances(struct stack_ctx *ctx, json_t *svc, const char *name,
    const struct snode *v, const char *path)
{
	long long i;

	if (stack_get_int(ctx, v, path, 0, 10000, &i) == 0)
		json_object_set_new(svc, name, json_integer(i));
}

static void
svc_cpus(struct stack_ctx *ctx, json_t *svc, const char *name,
    const struct snode *v, const char *path)
{
	double d;

	if (stack_is_null(v))
		return;
	if (stack_get_num(ctx, v, path, 0.01, 1024, &d) == 0)
		json_object_set_new(svc, name, json_real(d));
}

static void
svc_cpu_shares(struct stack_ctx *ctx, json_t *svc, const char *name,
    const struct snode *v, const char *path)
{
	long long i;

	if (stack_is_null(v))
		return;
	if (stack_get_int(ctx, v, path, 2, 262144, &i) == 0)
		json_object_set_new(svc, name, json_integer(i));
}

/* A memory size: an integer of bytes or a string such as "128M". */
static int
svc_memory(struct stack_ctx *ctx, const struct snode *v, const char *path,
    long long *bytes)
{
	char *s, *cause;
	int r = 0;

	if (stack_get_str(ctx, v, path, &s) != 0)
		return -1;
	if (!v->quoted && strcmp(s, "-1") == 0)
		*bytes = -1;
	else if (units_parse_bytes(s, bytes, &cause) != 0) {
		stack_errn(ctx, v, path, "%s", cause);
		free(cause);
		r = -1;
	}
	free(s);
	return r;
}

static void
svc_mem(struct stack_ctx *ctx, json_t *svc, const char *name,
    const struct snode *v, const char *path)
{
	long long b;
	long long min = 6 * 1024 * 1024;

	if (stack_is_null(v) || svc_memory(ctx, v, path, &b) != 0)
		return;
	if (strcmp(name, "memswap_limit") == 0 && b == -1)
		;			/* unlimited swap */
	else if (strcmp(name, "shm_size") == 0 && b <= 0) {
		stack_errn(ctx, v, path, "must be more than 0 bytes");
		return;
	} else if (strcmp(name, "shm_size") != 0 && b < min) {
		stack_errn(ctx, v, path, "%lld bytes is less than the 6 MiB "
		    "Docker allows", b);
		return;
	}
	json_object_set_new(svc, name, json_integer(b));
}

/* A duration in whole seconds: an integer or a string such as "30s". */
static int
svc_duration(struct stack_ctx *ctx, const struct snode *v, const char *path,
    long long *secs)
{
	char *s, *cause;
	int r = 0;

	if (stack_get_str(ctx, v, path, &s) != 0)
		return -1;
	if (units_parse_duration(s, secs, &cause) != 0) {
		stack_errn(ctx, v, path, "%s", cause);
		free(cause);
		r = -1;
	}
	free(s);
	return r;
}

static void
svc_grace(struct stack_ctx *ctx, json_t *svc, const char *name,
    const struct snode *v, const char *path)
{
	long long secs;

	if (svc_duration(ctx, v, path, &secs) == 0)
		json_object_set_new(svc, name, json_integer(secs));
}

static void
svc_caps(struct stack_ctx *ctx, json_t *svc, const char *name,
    const struct snode *v, const char *path)
{
	json_t *l;
	const char *c;
	size_t i, j;
	int ok = 1;

	if (stack_is_null(v))
		return;
	if (stack_get_strlist(ctx, v, path, &l) != 0) {
		json_decref(l);
		return;
	}
	for (i = 0; i < json_array_size(l); i++) {
		c = json_string_value(json_array_get(l, i));
		for (j = 0; c[j] != '\0'; j++) {
			if (!isalnum((unsigned char)c[j]) && c[j] != '_')
				break;
		}
		if (*c == '\0' || c[j] != '\0') {
			stack_errn(ctx, v->kids[i], path, "\"%s\" is not a "
			    "capability name (e.g. NET_ADMIN or ALL)", c);
			ok = 0;
		}
	}
	if (ok)
		json_object_set_new(svc, name, l);
	else
		json_decref(l);
}

static void
svc_affinity(struct stack_ctx *ctx, json_t *svc, const char *name,
    const struct snode *v, const char *path)
{
	struct affinity a;
	json_t *l;
	char *cause, *ipath;
	size_t i;
	int ok = 1;

	if (stack_is_null(v))
		return;
	if (stack_get_strlist(ctx, v, path, &l) != 0) {
		json_decref(l);
		return;
	}
	for (i = 0; i < json_array_size(l); i++) {
		if (affinity_parse(json_string_value(json_array_get(l, i)), &a,
		    &cause) != 0) {
			ipath = stack_path_idx(path, i);
			stack_errn(ctx, v->kids[i], ipath, "%s", cause);
			free(ipath);
			free(cause);
			ok = 0;
		}
		affinity_clear(&a);
	}
	if (ok)
		json_object_set_new(svc, name, l);
	else
		json_decref(l);
}

static void
svc_choice(struct stack_ctx *ctx, json_t *svc, const char *name,
    const struct snode *v, const char *path, const char *const *ok)
{
	char *s;
	size_t i;

	if (stack_is_null(v))
		return;
	if (stack_get_str(ctx, v, path, &s) != 0)
		return;
	for (i = 0; ok[i] != NULL; i++) {
		if (strcmp(s, ok[i]) == 0)
			break;
	}
	if (ok[i] == NULL) {
		stack_errn(ctx, v, path, "\"%s\" is not supported (expected "
		    "%s%s%s%s%s)", s, ok[0], ok[1] ? ", " : "",
		    ok[1] ? ok[1] : "", ok[1] && ok[2] ? " or " : "",
		    ok[1] && ok[2] ? ok[2] : "");
	} else
		json_object_set_new(svc, name, json_string(s));
	free(s);
}

static void
svc_network_mode(struct stack_ctx *ctx, json_t *svc, const char *name,
    const struct snode *v, const char *path)
{
	static const char *const ok[] = { "bridge", "host", "none", NULL };

	svc_choice(ctx, svc, name, v, path, ok);
}

static void
svc_pid(struct stack_ctx *ctx, json_t *svc, const char *name,
    const struct snode *v, const char *path)
{
	static const char *const ok[] = { "host", NULL };

	svc_choice(ctx, svc, name, v, path, ok);
}

static void
svc_stop_signal(struct stack_ctx *ctx, json_t *svc, const char *name,
    const struct snode *v, const char *path)
{
	char *s;
	size_t i;

	if (stack_is_null(v) || stack_get_str(ctx, v, path, &s) != 0)
		return;
	for (i = 0; s[i] != '\0'; i++) {
		if (!isalnum((unsigned char)s[i]) && s[i] != '+' &&
		    s[i] != '-')
			break;
	}
	if (*s == '\0' || s[i] != '\0')
		stack_errn(ctx, v, path, "\"%s\" is not a signal", s);
	else
		json_object_set_new(svc, name, json_string(s));
	free(s);
}

void
stack_env_put(json_t *env, const char *kv)
{
	size_t i, klen = strcspn(kv, "=");
	const char *e;

	for (i = 0; i < json_array_size(env); i++) {
		e = json_string_value(json_array_get(env, i));
		if (strncmp(e, kv, klen) == 0 && e[klen] == '=') {
			json_array_set_new(env, i, json_string(kv));
			return;
		}
	}
	json_array_append_new(env, json_string(kv));
}

static int
svc_env_key_ok(const char *k, size_t len)
{
	size_t i;

	if (len == 0)
		return 0;
	for (i = 0; i < len; i++) {
		if (isspace((unsigned char)k[i]) || k[i] == '=')
			return 0;
	}
	return 1;
}

/* environment: kept apart until the end so env_file can go first. */
static void
svc_environment(struct stack_ctx *ctx, json_t *svc, const char *name,
    const struct snode *v, const char *path)
{
	json_t *env = json_array();
	const struct snode *k;
	char *s, *kv, *kpath;
	size_t i;

	if (v->type == SNODE_SEQ) {
		for (i = 0; i < v->n; i++) {
			kpath = stack_path_idx(path, i);
			if (stack_get_str(ctx, v->kids[i], kpath, &s) == 0) {
				if (!svc_env_key_ok(s, strcspn(s, "=")) ||
				    strchr(s, '=') == NULL)
					stack_errn(ctx, v->kids[i], kpath,
					    "\"%s\" is not KEY=VALUE", s);
				else
					stack_env_put(env, s);
			}
			free(s);
			free(kpath);
		}
	} else if (v->type == SNODE_MAP) {
		for (i = 0; i < SNODE_NPAIRS(v); i++) {
			k = SNODE_KEY(v, i);
			kpath = stack_path(path, k->str);
			if (!svc_env_key_ok(k->str, k->len)) {
				stack_errn(ctx, k, kpath, "\"%s\" is not an "
				    "environment variable name", k->str);
			} else if (stack_is_null(SNODE_VAL(v, i))) {
				xasprintf(&kv, "%s=", k->str);
				stack_env_put(env, kv);
				free(kv);
			} else if (stack_get_str(ctx, SNODE_VAL(v, i), kpath,
			    &s) == 0) {
				/*
				 * Kontena wrote "#{key}=#{value}" of what its
				 * YAML 1.1 parser read: "on" is true, 0755 is
				 * 493, 1.50 is 1.5.
				 */
				json_t *typed = stack_text_json(s,
				    SNODE_VAL(v, i)->quoted);

				if (!json_is_string(typed)) {
					free(s);
					s = stack_json_str(typed);
				}
				json_decref(typed);
				xasprintf(&kv, "%s=%s", k->str, s);
				stack_env_put(env, kv);
				free(kv);
				free(s);
			}
			free(kpath);
		}
	} else if (!stack_is_null(v)) {
		stack_errn(ctx, v, path, "must be a list of KEY=VALUE or a "
		    "mapping, not a %s", stack_type_name(v));
	}
	json_object_set_new(svc, " environment", env);
}

/* The KEY=VALUE lines of an env file: # comments and blanks skipped. */
static void
svc_env_file_one(struct stack_ctx *ctx, json_t *env, const struct snode *v,
    const char *path)
{
	char *file, *data, *cause = NULL, *line, *save, *end;
	int lineno = 0, rc;

	if (stack_get_str(ctx, v, path, &file) != 0)
		return;
	rc = stack_host_read(ctx, file, STACK_FILE_STACK, &data, NULL, &cause);
	if (rc != 0) {
		if (rc != STACK_NEED)
			stack_errn(ctx, v, path, "cannot read \"%s\": %s", file,
			    cause);
		free(cause);
		free(file);
		return;
	}
	free(cause);
	for (line = strtok_r(data, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		while (isspace((unsigned char)*line))
			line++;
		end = line + strlen(line);
		while (end > line && isspace((unsigned char)end[-1]))
			*--end = '\0';
		if (*line == '\0' || *line == '#')
			continue;
		if (strncmp(line, "export ", 7) == 0)
			line += 7;
		if (strchr(line, '=') == NULL ||
		    !svc_env_key_ok(line, strcspn(line, "="))) {
			stack_errn(ctx, v, path, "%s: a line is not "
			    "KEY=VALUE: \"%.40s\"", file, line);
			continue;
		}
		stack_env_put(env, line);
	}
	free(data);
	free(file);
}

static void
svc_env_file(struct stack_ctx *ctx, json_t *svc, const char *name,
    const struct snode *v, const char *path)
{
	json_t *env = json_array();
	char *ipath;
	size_t i;

	if (v->type == SNODE_SEQ) {
		for (i = 0; i < v->n; i++) {
			ipath = stack_path_idx(path, i);
			svc_env_file_one(ctx, env, v->kids[i], ipath);
			free(ipath);
		}
	} else if (!stack_is_null(v))
		svc_env_file_one(ctx, env, v, path);
	json_object_set_new(svc, " env_file", env);
}

static int
svc_port_num(const char *s, size_t len, long long *out)
{
	size_t i;

	if (len == 0 || len > 5)
		return -1;
	*out = 0;
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		*out = *out * 10 + (s[i] - '0');
	}
	return *out >= 1 && *out <= 65535 ? 0 : -1;
}

static const char *
svc_last_colon(const char *s, size_t len)
{
	while (len > 0) {
		if (s[--len] == ':')
			return s + len;
	}
	return NULL;
}

/* "[ip:]node:container[/proto]" to {ip, node_port, container_port, ...} */
static json_t *
svc_port(const char *s, char **cause)
{
	char ip[64] = "0.0.0.0", buf[16];
	const char *slash, *c1, *c2, *proto = "tcp";
	long long node, cont;
	size_t len, iplen;

	len = (slash = strchr(s, '/')) != NULL ? (size_t)(slash - s) :
	    strlen(s);
	if (slash != NULL) {
		proto = slash + 1;
		if (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0) {
			xasprintf(cause, "port \"%s\": protocol must be tcp or "
			    "udp", s);
			return NULL;
		}
	}
	if ((c2 = svc_last_colon(s, len)) == NULL) {
		xasprintf(cause, "port \"%s\" needs a node port and a "
		    "container port ([ip:]node:container[/proto])", s);
		return NULL;
	}
	if ((c1 = svc_last_colon(s, (size_t)(c2 - s))) != NULL) {
		iplen = (size_t)(c1 - s);
		if (iplen < sizeof ip) {
			memcpy(ip, s, iplen);
			ip[iplen] = '\0';
		}
		if (iplen >= sizeof ip || inet_pton(AF_INET, ip, buf) != 1) {
			xasprintf(cause, "port \"%s\": \"%.*s\" is not an IPv4 "
			    "address", s, (int)iplen, s);
			return NULL;
		}
	}
	if (svc_port_num(c1 ? c1 + 1 : s, (size_t)(c2 - (c1 ? c1 + 1 : s)),
	    &node) != 0 || svc_port_num(c2 + 1, (size_t)(s + len - c2 - 1),
	    &cont) != 0) {
		xasprintf(cause, "port \"%s\": ports are numbers from 1 to "
		    "65535 ([ip:]node:container[/proto])", s);
		return NULL;
	}
	return json_pack("{s:s, s:I, s:I, s:s}", "ip", ip, "node_port", node,
	    "container_port", cont, "protocol", proto);
}

static void
svc_ports(struct stack_ctx *ctx, json_t *svc, const char *name,
    const struct snode *v, const char *path)
{
	json_t *l, *ports, *p, *q;
	char *cause, *ipath;
	size_t i, j;
	int ok = 1;

	if (stack_is_null(v))
		return;
	if (v->type == SNODE_SEQ && v->n > STACK_MAX_LIST) {
		stack_errn(ctx, v, path, "more than %d entries", STACK_MAX_LIST);
		return;
	}
	if (stack_get_strlist(ctx, v, path, &l) != 0) {
		json_decref(l);
		return;
	}
	ports = json_array();
	for (i = 0; i < json_array_size(l); i++) {
		ipath = stack_path_idx(path, i);
		if ((p = svc_port(json_string_value(json_array_get(l, i)),
		    &cause)) == NULL) {
			stack_errn(ctx, v->kids[i], ipath, "%s", cause);
			free(cause);
			ok = 0;
		} else {
			json_array_foreach(ports, j, q) {
				if (json_equal(json_object_get(p, "node_port"),
				    json_object_get(q, "node_port")) &&
				    json_equal(json_object_get(p, "protocol"),
				    json_object_get(q, "protocol"))) {
					stack_errn(ctx, v->kids[i], ipath,
					    "node port %lld/%s is published "
					    "twice", (long long)
					    json_integer_value(json_object_get(
					    p, "node_port")), json_string_value(
					    json_object_get(p, "protocol")));
					ok = 0;
					break;
				}
			}
			json_array_append_new(ports, p);
		}
		free(ipath);
	}
	json_decref(l);
	if (ok)
		json_object_set_new(svc, name, ports);
	else
		json_decref(ports);
}

static int
svc_volume_declared(struct stack_ctx *ctx, const char *name, size_t len)
{
	size_t i;

	/* An extends: file's volumes are checked in the stack that uses
	   them (stack_extends.c). */
	if (ctx->extending != NULL)
		return 1;
	for (i = 0; i < ctx->nvolnames; i++) {
		if (strlen(ctx->volnames[i]) == len &&
		    strncmp(ctx->volnames[i], name, len) == 0)
			return 1;
	}
	return 0;
}

/* "/path", "/host:/path[:mode]" or "named:/path[:mode]". */
static int
svc_volume_check(struct stack_ctx *ctx, const char *s, const char **mount,
    size_t *mlen, char **cause)
{
	const char *c1, *c2, *m;
	size_t slen;

	if ((c1 = strchr(s, ':')) == NULL) {
		*mount = s;
		*mlen = strlen(s);
		if (*s != '/')
			goto relative;
		return 0;
	}
	*mount = c1 + 1;
	c2 = strchr(c1 + 1, ':');
	*mlen = c2 ? (size_t)(c2 - c1 - 1) : strlen(c1 + 1);
	if (c1 == s) {
		xasprintf(cause, "volume \"%s\" has an empty source", s);
		return -1;
	}
	if (**mount != '/')
		goto relative;
	if (c2 != NULL) {
		for (m = c2 + 1; *m != '\0'; m += slen + (m[slen] == ',')) {
			slen = strcspn(m, ",");
			if (!((slen == 2 && (strncmp(m, "ro", 2) == 0 ||
			    strncmp(m, "rw", 2) == 0)) || (slen == 1 &&
			    (*m == 'z' || *m == 'Z')) || (slen == 6 &&
			    strncmp(m, "nocopy", 6) == 0))) {
				xasprintf(cause, "volume \"%s\": mode must be "
				    "ro or rw (optionally with z, Z or "
				    "nocopy)", s);
				return -1;
			}
		}
	}
	if (*s == '.' || *s == '~') {
		xasprintf(cause, "volume \"%s\": host paths must be absolute",
		    s);
		return -1;
	}
	if (*s != '/' && !svc_volume_declared(ctx, s, (size_t)(c1 - s))) {
		xasprintf(cause, "volume \"%s\": named volume \"%.*s\" is not "
		    "declared under the top-level volumes:", s,
		    (int)(c1 - s), s);
		return -1;
	}
	return 0;
relative:
	xasprintf(cause, "volume \"%s\": the container path must be absolute",
	    s);
	return -1;
}

static void
svc_volumes(struct stack_ctx *ctx, json_t *svc, const char *name,
    const struct snode *v, const char *path)
{
	json_t *l;
	const char *mount, *s, *om, *os;
	char *cause, *ipath;
	size_t i, j, mlen, olen;
	int ok = 1;

	if (stack_is_null(v))
		return;
	if (v->type == SNODE_SEQ && v->n > STACK_MAX_LIST) {
		stack_errn(ctx, v, path, "more than %d entries", STACK_MAX_LIST);
		return;
	}
	if (stack_get_strlist(ctx, v, path, &l) != 0) {
		json_decref(l);
		return;
	}
	for (i = 0; i < json_array_size(l); i++) {
		s = json_string_value(json_array_get(l, i));
		ipath = stack_path_idx(path, i);
		if (svc_volume_check(ctx, s, &mount, &mlen, &cause) != 0) {
			stack_errn(ctx, v->kids[i], ipath, "%s", cause);
			free(cause);
			ok = 0;
		} else {
			for (j = 0; j < i; j++) {
				os = json_string_value(json_array_get(l, j));
				cause = NULL;
				if (svc_volume_check(ctx, os, &om, &olen,
				    &cause) == 0 && olen == mlen &&
				    strncmp(om, mount, mlen) == 0) {
					stack_errn(ctx, v->kids[i], ipath,
					    "mount point %.*s is used twice",
					    (int)mlen, mount);
					ok = 0;
				}
				free(cause);
			}
		}
		free(ipath);
	}
	if (ok)
		json_object_set_new(svc, name, l);
	else
		json_decref(l);
}

/*
 * A link to another stack's service: "stack/service[:alias]". Kontena's
 * usual pattern (one load balancer stack that every app links to). The
 * entry is kept as written in links; stack_links gets {stack, service,
 * alias} for the master, which checks that the target exists and orders
 * deploys by it. A link that names this stack is an ordinary link.
 * Returns the service part when it names this stack, else NULL.
 */
static const char *
svc_xref(struct stack_ctx *ctx, json_t *svc, const char *s,
    const struct snode *at, const char *path, int *bad)
{
	const char *slash = strchr(s, '/'), *svcname = slash + 1;
	char *stack, *service;
	size_t alen = strcspn(svcname, ":");
	struct stack_xref *x;

	stack = xstrndup(s, (size_t)(slash - s));
	service = xstrndup(svcname, alen);
	if (!util_name_valid(stack) || strchr(svcname, '/') != NULL ||
	    !stack_service_name_valid(service) ||
	    (svcname[alen] == ':' && svcname[alen + 1] == '\0')) {
		stack_errn(ctx, at, path, "\"%s\" is not a link to another "
		    "stack's service (STACK/SERVICE[:ALIAS])", s);
		*bad = 1;
		free(stack);
		free(service);
		return NULL;
	}
	if (ctx->stack_name != NULL && strcmp(stack, ctx->stack_name) == 0) {
		free(stack);
		free(service);
		return svcname;
	}
	/* Kontena's alias: the one given, else the link as written. */
	json_array_append_new(json_object_get(svc, "stack_links"), json_pack(
	    "{s:s, s:s, s:s#}", "stack", stack, "service", service, "alias",
	    svcname[alen] == ':' ? svcname + alen + 1 : s,
	    svcname[alen] == ':' ? (int)strlen(svcname + alen + 1) :
	    (int)strlen(s)));
	ctx->xrefs = xreallocarray(ctx->xrefs, ctx->nxrefs + 1,
	    sizeof *ctx->xrefs);
	x = &ctx->xrefs[ctx->nxrefs++];
	x->from = xstrdup(json_string_value(json_object_get(svc, "name")));
	x->stack = stack;
	x->service = service;
	x->path = xstrdup(path);
	x->line = at->line;
	x->col = at->col;
	return NULL;
}

/* links and depends_on: recorded in ctx->refs for stack.c to check. */
static void
svc_refs(struct stack_ctx *ctx, json_t *svc, const char *name,
    const struct snode *v, const char *path)
{
	json_t *l;
	const char *s, *from, *local;
	char *ipath;
	struct stack_ref *r;
	size_t i;
	int bad = 0;

	if (stack_is_null(v))
		return;
	if (stack_get_strlist(ctx, v, path, &l) != 0) {
		json_decref(l);
		return;
	}
	from = json_string_value(json_object_get(svc, "name"));
	for (i = 0; i < json_array_size(l); i++) {
		s = json_string_value(json_array_get(l, i));
		ipath = stack_path_idx(path, i);
		local = s;
		if (strchr(s, '/') != NULL &&
		    (local = svc_xref(ctx, svc, s, v->kids[i], ipath,
		    &bad)) == NULL) {
			free(ipath);
			continue;
		}
		if (*local == '\0' || *local == ':') {
			stack_errn(ctx, v->kids[i], ipath, "\"%s\" names no "
			    "service", s);
			free(ipath);
			continue;
		}
		/* The alias is a name in the grid's DNS (docs/dns.md). */
		if (strcmp(name, "links") == 0 && strchr(local, ':') != NULL &&
		    !stack_service_name_valid(strchr(local, ':') + 1)) {
			stack_errn(ctx, v->kids[i], ipath, "\"%s\": the alias "
			    "is not a valid name (1 to 63 of letters, digits, "
			    "'_' and '-', the first a letter or digit)", s);
			free(ipath);
			continue;
		}
		ctx->refs = xreallocarray(ctx->refs, ctx->nrefs + 1,
		    sizeof *ctx->refs);
		r = &ctx->refs[ctx->nrefs++];
		r->from = xstrdup(from);
		r->to = xstrndup(local, strcmp(name, "links") == 0 ?
		    strcspn(local, ":") : strlen(local));
		r->path = ipath;
		r->line = v->kids[i]->line;
		r->col = v->kids[i]->col;
	}
	json_object_set_new(svc, name, l);
}

static void
svc_logging(struct stack_ctx *ctx, json_t *svc, const char *name,
    const struct snode *v, const char *path)
{
	json_t *log = json_object(), *opts = json_object();
	const struct snode *k, *val;
	char *kpath, *opath, *s;
	size_t i, j;

	if (stack_is_null(v) || stack_want_map(ctx, v, path) != 0)
		goto out;
	for (i = 0; i < SNODE_NPAIRS(v); i++) {
		k = SNODE_KEY(v, i);
		val = SNODE_VAL(v, i);
		kpath = stack_path(path, k->str);
		if (strcmp(k->str, "driver") == 0) {
			if (stack_get_str(ctx, val, kpath, &s) == 0)
				json_object_set_new(log, "driver",
				    json_string(s));
			free(s);
		} else if (strcmp(k->str, "options") == 0) {
			if (stack_want_map(ctx, val, kpath) != 0)
				goto next;
			for (j = 0; j < SNODE_NPAIRS(val); j++) {
				opath = stack_path(kpath,
				    SNODE_KEY(val, j)->str);
				if (stack_get_str(ctx, SNODE_VAL(val, j),
				    opath, &s) == 0)
					json_object_set_new(opts,
					    SNODE_KEY(val, j)->str,
					    json_string(s));
				free(s);
				free(opath);
			}
		} else
			stack_unknown_key(ctx, k, kpath, "logging");
next:
		free(kpath);
	}
	if (json_object_get(log, "driver") == NULL) {
		stack_errn(ctx, v, path, "driver is required");
		goto out;
	}
	json_object_set(log, "options", opts);
	json_object_set(svc, name, log);
out:
	json_decref(opts);
	json_decref(log);
}

static void
svc_deploy(struct stack_ctx *ctx, json_t *svc, const char *name,
    const struct snode *v, const char *path)
{
	static const char *const strategies[] = { "ha", "random", "daemon",
	    NULL };
	json_t *dep = json_object_get(svc, "deploy");
	const struct snode *k, *val;
	char *kpath;
	long long i;
	double d;
	size_t n;

	if (stack_is_null(v) || stack_want_map(ctx, v, path) != 0)
		return;
	for (n = 0; n < SNODE_NPAIRS(v); n++) {
		k = SNODE_KEY(v, n);
		val = SNODE_VAL(v, n);
		kpath = stack_path(path, k->str);
		if (strcmp(k->str, "strategy") == 0) {
			svc_choice(ctx, dep, "strategy", val, kpath,
			    strategies);
			json_object_set(svc, "strategy",
			    json_object_get(dep, "strategy"));
		} else if (strcmp(k->str, "wait_for_port") == 0) {
			if (!stack_is_null(val) &&
			    stack_get_int(ctx, val, kpath, 1, 65535, &i) == 0)
				json_object_set_new(dep, k->str,
				    json_integer(i));
		} else if (strcmp(k->str, "min_health") == 0) {
			if (stack_get_num(ctx, val, kpath, 0, 1, &d) == 0)
				json_object_set_new(dep, k->str, json_real(d));
		} else if (strcmp(k->str, "interval") == 0) {
			if (!stack_is_null(val) &&
			    svc_duration(ctx, val, kpath, &i) == 0)
				json_object_set_new(dep, k->str,
				    json_integer(i));
		} else
			stack_unknown_key(ctx, k, kpath, "deploy");
		free(kpath);
	}
}

static json_t *
svc_hook(struct stack_ctx *ctx, const struct snode *v, const char *path)
{
	json_t *h = json_pack("{s:n, s:n, s:s, s:b}", "name", "cmd",
	    "instances", "*", "oneshot", 0);
	const struct snode *k, *val;
	char *kpath, *s;
	long long i;
	size_t n;
	int b, ok = 1;

	if (stack_want_map(ctx, v, path) != 0) {
		json_decref(h);
		return NULL;
	}
	for (n = 0; n < SNODE_NPAIRS(v); n++) {
		k = SNODE_KEY(v, n);
		val = SNODE_VAL(v, n);
		kpath = stack_path(path, k->str);
		if (strcmp(k->str, "name") == 0 || strcmp(k->str, "cmd") == 0) {
			if (stack_get_str(ctx, val, kpath, &s) == 0)
				json_object_set_new(h, k->str, json_string(s));
			else
				ok = 0;
			free(s);
		} else if (strcmp(k->str, "instances") == 0) {
			if (val->type == SNODE_SCALAR &&
			    strcmp(val->str, "*") == 0)
				;
			else if (stack_get_int(ctx, val, kpath, 1, 10000,
			    &i) == 0)
				json_object_set_new(h, k->str, json_integer(i));
			else
				ok = 0;
		} else if (strcmp(k->str, "oneshot") == 0) {
			if (stack_get_bool(ctx, val, kpath, &b) == 0)
				json_object_set_new(h, k->str, json_boolean(b));
			else
				ok = 0;
		} else {
			stack_unknown_key(ctx, k, kpath, "a hook");
			ok = 0;
		}
		free(kpath);
	}
	if (ok && json_is_null(json_object_get(h, "cmd"))) {
		stack_errn(ctx, v, path, "a hook needs cmd");
		ok = 0;
	}
	if (!ok) {
		json_decref(h);
		return NULL;
	}
	return h;
}

static void
svc_hooks(struct stack_ctx *ctx, json_t *svc, const char *name,
    const struct snode *v, const char *path)
{
	json_t *hooks = json_object(), *list, *h;
	const struct snode *k, *val;
	char *kpath, *ipath;
	size_t n, i;
	int ok = 1;

	if (stack_is_null(v) || stack_want_map(ctx, v, path) != 0) {
		json_decref(hooks);
		return;
	}
	for (n = 0; n < SNODE_NPAIRS(v); n++) {
		k = SNODE_KEY(v, n);
		val = SNODE_VAL(v, n);
		kpath = stack_path(path, k->str);
		if (strcmp(k->str, "pre_build") == 0) {
			stack_errn(ctx, k, kpath, "pre_build hooks are not "
			    "supported: berth does not build images");
			ok = 0;
		} else if (strcmp(k->str, "pre_start") != 0 &&
		    strcmp(k->str, "post_start") != 0 &&
		    strcmp(k->str, "pre_stop") != 0) {
			stack_unknown_key(ctx, k, kpath, "hooks (expected "
			    "pre_start, post_start or pre_stop)");
			ok = 0;
		} else if (stack_is_null(val)) {
			/* Kontena took a hook list that Liquid emptied. */
			json_object_set_new(hooks, k->str, json_array());
		} else if (stack_want_seq(ctx, val, kpath) != 0)
			ok = 0;
		else {
			list = json_array();
			for (i = 0; i < val->n; i++) {
				ipath = stack_path_idx(kpath, i);
				if ((h = svc_hook(ctx, val->kids[i],
				    ipath)) != NULL)
					json_array_append_new(list, h);
				else
					ok = 0;
				free(ipath);
			}
			json_object_set_new(hooks, k->str, list);
		}
		free(kpath);
	}
	if (ok)
		json_object_set(svc, name, hooks);
	json_decref(hooks);
}

static void
svc_health_check(struct stack_ctx *ctx, json_t *svc, const char *name,
    const struct snode *v, const char *path)
{
	static const char *const protos[] = { "http", "tcp", NULL };
	json_t *hc = json_pack("{s:n, s:n, s:n, s:i, s:i, s:i}", "protocol",
	    "port", "uri", "timeout", 10, "interval", 60, "initial_delay", 10);
	const struct snode *k, *val;
	char *kpath, *s;
	long long i;
	size_t n, before = ctx->errs->n;

	if (stack_is_null(v) || stack_want_map(ctx, v, path) != 0) {
		json_decref(hc);
		return;
	}
	for (n = 0; n < SNODE_NPAIRS(v); n++) {
		k = SNODE_KEY(v, n);
		val = SNODE_VAL(v, n);
		kpath = stack_path(path, k->str);
		if (strcmp(k->str, "protocol") == 0)
			svc_choice(ctx, hc, "protocol", val, kpath, protos);
		else if (strcmp(k->str, "port") == 0) {
			if (stack_get_int(ctx, val, kpath, 1, 65535, &i) == 0)
				json_object_set_new(hc, k->str,
				    json_integer(i));
		} else if (strcmp(k->str, "uri") == 0) {
			if (stack_get_str(ctx, val, kpath, &s) == 0) {
				if (*s != '/')
					stack_errn(ctx, val, kpath, "must "
					    "start with /");
				else
					json_object_set_new(hc, k->str,
					    json_string(s));
			}
			free(s);
		} else if (strcmp(k->str, "timeout") == 0 ||
		    strcmp(k->str, "interval") == 0 ||
		    strcmp(k->str, "initial_delay") == 0) {
			if (svc_duration(ctx, val, kpath, &i) == 0)
				json_object_set_new(hc, k->str,
				    json_integer(i));
		} else
			stack_unknown_key(ctx, k, kpath, "health_check");
		free(kpath);
	}
	if (json_is_null(json_object_get(hc, "protocol")) ||
	    json_is_null(json_object_get(hc, "port"))) {
		stack_errn(ctx, v, path, "protocol (http or tcp) and port are "
		    "required");
	} else if (strcmp(json_string_value(json_object_get(hc, "protocol")),
	    "http") == 0 && json_is_null(json_object_get(hc, "uri")))
		json_object_set_new(hc, "uri", json_string("/"));
	if (ctx->errs->n == before)
		json_object_set(svc, name, hc);
	json_decref(hc);
}

/*
 * secrets: [{secret, name, type: env}]: the vault secret `secret` goes
 * into the container's environment as `name`. The secret must be in the
 * vault, or be written by this stack (to: vault), as Kontena checked.
 */
static void
svc_secrets(struct stack_ctx *ctx, json_t *svc, const char *name,
    const struct snode *v, const char *path)
{
	json_t *out = json_array(), *e;
	const struct snode *it, *k;
	char *ipath, *kpath, *val[3];
	static const char *const keys[] = { "secret", "name", "type" };
	size_t i, j, n;
	int ok = 1, bad;

	if (stack_is_null(v)) {
		json_decref(out);
		return;
	}
	if (stack_want_seq(ctx, v, path) != 0) {
		json_decref(out);
		return;
	}
	for (i = 0; i < v->n; i++) {
		it = v->kids[i];
		ipath = stack_path_idx(path, i);
		memset(val, 0, sizeof val);
		bad = 0;
		if (stack_want_map(ctx, it, ipath) != 0) {
			free(ipath);
			ok = 0;
			continue;
		}
		for (j = 0; j < SNODE_NPAIRS(it); j++) {
			k = SNODE_KEY(it, j);
			kpath = stack_path(ipath, k->str);
			for (n = 0; n < 3; n++) {
				if (strcmp(k->str, keys[n]) == 0)
					break;
			}
			if (n == 3) {
				stack_unknown_key(ctx, k, kpath, "a secret");
				bad = 1;
			} else {
				free(val[n]);
				if (stack_get_str(ctx, SNODE_VAL(it, j), kpath,
				    &val[n]) != 0)
					bad = 1;
			}
			free(kpath);
		}
		if (!bad && (val[0] == NULL || val[1] == NULL)) {
			stack_errn(ctx, it, ipath, "a secret needs secret (the "
			    "vault's name for it) and name (the variable in "
			    "the container)");
			bad = 1;
		}
		if (!bad && val[2] != NULL && strcmp(val[2], "env") != 0) {
			stack_errn(ctx, it, ipath, "type \"%s\": secrets go "
			    "into the environment (type: env)", val[2]);
			bad = 1;
		}
		if (!bad && (strchr(val[1], '=') != NULL || *val[1] == '\0')) {
			stack_errn(ctx, it, ipath, "\"%s\" is not an "
			    "environment variable name", val[1]);
			bad = 1;
		}
		if (!bad && ctx->host != NULL && ctx->host->vault_read !=
		    NULL && json_object_get(ctx->vault_writes, val[0]) ==
		    NULL && stack_host_vault(ctx, val[0], NULL, NULL) != 1) {
			stack_errn(ctx, it, ipath, "secret %s is not in the "
			    "vault (berth vault write %s)", val[0], val[0]);
			bad = 1;
		}
		if (!bad) {
			e = json_pack("{s:s, s:s, s:s}", "secret", val[0],
			    "name", val[1], "type", "env");
			json_array_append_new(out, e);
		} else
			ok = 0;
		for (n = 0; n < 3; n++)
			free(val[n]);
		free(ipath);
	}
	if (ok)
		json_object_set_new(svc, name, out);
	else
		json_decref(out);
}

/*
 * build: Kontena built images only in `kontena stack build`; install used
 * image:. berth never builds: with an image it says build is ignored,
 * without one the image error says what to do.
 */
static void
svc_build(struct stack_ctx *ctx, json_t *svc, const char *name,
    const struct snode *v, const char *path)
{
	json_object_set_new(svc, " build", json_true());
	stack_warn(ctx, v, path, "build ignored: berth does not build "
	    "images (Kontena built them only in `stack build`); the image "
	    "is pulled");
}

/* certificates: berth keeps none; an empty list says nothing. */
static void
svc_certificates(struct stack_ctx *ctx, json_t *svc, const char *name,
    const struct snode *v, const char *path)
{
	if (stack_is_null(v) || (v->type == SNODE_SEQ && v->n == 0))
		return;
	stack_errn(ctx, v, path, "Kontena certificates (Let's Encrypt, "
	    "through its vault) are not supported by berth: it keeps no "
	    "certificates; put a certificate in the vault and name it in "
	    "secrets:");
}

/* extends: read by stack_extends.c once every service is read. */
static void
svc_extends(struct stack_ctx *ctx, json_t *svc, const char *name,
    const struct snode *v, const char *path)
{
	json_object_set_new(svc, " extends", json_true());
}

/* only_if and skip_if: stack.c tests them (stack_vars_keep()). */
static void
svc_cond(struct stack_ctx *ctx, json_t *svc, const char *name,
    const struct snode *v, const char *path)
{
}

static const struct {
	const char	*name;	/* the key */
	svc_fn		*fn;	/* its reader, or NULL: refused */
	const char	*why;	/* why berth refuses it */
} svc_keys[] = {
	{ "image", svc_image, NULL },
	{ "command", svc_argv, NULL },
	{ "entrypoint", svc_argv, NULL },
	{ "instances", svc_instances, NULL },
	{ "stateful", svc_bool, NULL },
	{ "environment", svc_environment, NULL },
	{ "env_file", svc_env_file, NULL },
	{ "ports", svc_ports, NULL },
	{ "volumes", svc_volumes, NULL },
	{ "links", svc_refs, NULL },
	{ "depends_on", svc_refs, NULL },
	{ "affinity", svc_affinity, NULL },
	{ "cpus", svc_cpus, NULL },
	{ "cpu_shares", svc_cpu_shares, NULL },
	{ "mem_limit", svc_mem, NULL },
	{ "memswap_limit", svc_mem, NULL },
	{ "shm_size", svc_mem, NULL },
	{ "privileged", svc_bool, NULL },
	{ "cap_add", svc_caps, NULL },
	{ "cap_drop", svc_caps, NULL },
	{ "network_mode", svc_network_mode, NULL },
	{ "pid", svc_pid, NULL },
	{ "user", svc_set_str, NULL },
	{ "logging", svc_logging, NULL },
	{ "deploy", svc_deploy, NULL },
	{ "hooks", svc_hooks, NULL },
	{ "health_check", svc_health_check, NULL },
	{ "stop_signal", svc_stop_signal, NULL },
	{ "stop_grace_period", svc_grace, NULL },
	{ "read_only", svc_bool, NULL },

	{ "secrets", svc_secrets, NULL },
	{ "certificates", svc_certificates, NULL },
	{ "build", svc_build, NULL },
	{ "extends", svc_extends, NULL },
	{ "only_if", svc_cond, NULL },
	{ "skip_if", svc_cond, NULL },
	{ "volumes_from", NULL, "volumes_from is not supported by berth; use "
	    "a named volume" },
	{ "external_links", NULL, "links to services outside the stack are "
	    "not supported by berth" },
	{ "restart", NULL, "restart policies are not supported: berth always "
	    "restarts containers and reschedules by deploy.strategy" },
	{ "log_driver", NULL, "log_driver is Kontena's old form; use "
	    "logging: {driver: ...}" },
	{ "log_opt", NULL, "log_opt is Kontena's old form; use "
	    "logging: {options: ...}" },
	{ "mem_swaplimit", NULL, "mem_swaplimit is not a key; did you mean "
	    "memswap_limit?" },
};

/* The spec with every field at its default. */
static json_t *
svc_defaults(const char *name)
{
	return json_pack("{s:s, s:n, s:n, s:n, s:i, s:b, s:s, "
	    "s:{s:s, s:n, s:f, s:n}, s:[], s:[], s:[], s:[], s:[], s:[], "
	    "s:[], s:[], s:n, s:n, s:n, s:n, s:n, s:b, s:[], s:[], s:n, s:n, s:n, "
	    "s:n, s:n, s:n, s:n, s:i, s:b}",
	    "name", name, "image", "command", "entrypoint",
	    "instances", 1, "stateful", 0, "strategy", "ha",
	    "deploy", "strategy", "ha", "wait_for_port", "min_health", 0.8,
	    "interval",
	    "affinity", "env", "ports", "volumes", "links", "depends_on",
	    "stack_links", "secrets", "cpus", "cpu_shares", "mem_limit", "memswap_limit", "shm_size",
	    "privileged", 0, "cap_add", "cap_drop",
	    "network_mode", "pid", "user", "logging", "hooks", "health_check",
	    "stop_signal", "stop_grace_period", 10, "read_only", 0);
}

json_t *
stack_service_parse(struct stack_ctx *ctx, const char *name,
    const struct snode *map, const char *path)
{
	json_t *svc, *env, *part, *given;
	const struct snode *k;
	char *kpath;
	size_t i, j, e;
	long long mem, swap;

	svc = svc_defaults(name);
	{
		char dns[64];

		stack_dns_name(name, dns, sizeof dns);
		json_object_set_new(svc, "dns_name", json_string(dns));
	}
	/* The keys given, for extends (stack_extends.c). */
	given = json_array();
	json_object_set_new(svc, " given", given);
	if (stack_want_map(ctx, map, path) != 0)
		return svc;
	for (i = 0; i < SNODE_NPAIRS(map); i++) {
		k = SNODE_KEY(map, i);
		kpath = stack_path(path, k->str);
		for (j = 0; j < sizeof svc_keys / sizeof svc_keys[0]; j++) {
			if (strcmp(k->str, svc_keys[j].name) == 0)
				break;
		}
		if (j == sizeof svc_keys / sizeof svc_keys[0])
			stack_unknown_key(ctx, k, kpath, "a service");
		else if (svc_keys[j].fn == NULL)
			stack_errn(ctx, k, kpath, "%s", svc_keys[j].why);
		else {
			json_array_append_new(given, json_string(k->str));
			svc_keys[j].fn(ctx, svc, k->str, SNODE_VAL(map, i),
			    kpath);
		}
		free(kpath);
	}

	/*
	 * As Kontena merged them: environment first, then the env_files'
	 * entries whose keys it does not have (environment wins).
	 */
	env = json_object_get(svc, "env");
	part = json_object_get(svc, " environment");
	for (e = 0; e < json_array_size(part); e++)
		stack_env_put(env, json_string_value(json_array_get(part, e)));
	part = json_object_get(svc, " env_file");
	for (e = 0; e < json_array_size(part); e++) {
		const char *kv = json_string_value(json_array_get(part, e));
		size_t klen = strcspn(kv, "="), m;

		for (m = 0; m < json_array_size(env); m++) {
			const char *x = json_string_value(json_array_get(env,
			    m));

			if (strncmp(x, kv, klen) == 0 && x[klen] == '=')
				break;
		}
		if (m == json_array_size(env))
			json_array_append_new(env, json_string(kv));
	}
	json_object_del(svc, " env_file");
	json_object_del(svc, " environment");

	mem = json_integer_value(json_object_get(svc, "mem_limit"));
	swap = json_integer_value(json_object_get(svc, "memswap_limit"));
	if (swap > 0 && (mem == 0 || swap < mem)) {
		stack_errn(ctx, map, path, "memswap_limit needs a mem_limit no "
		    "larger than it (it counts memory plus swap)");
	}
	return svc;
}
