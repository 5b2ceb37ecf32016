/*
 * job_spec.c - a job, from YAML or JSON, checked field by field (see
 * job_spec.h; docs/jobs.md lists the fields).
 *
 * Reads the stack parser's tree (stack_yaml.c) with its typed getters
 * (stack_value.c), in literal mode: no ${VAR} interpolation. Each field
 * has a row in job_fields with its reader; a reader reports its own
 * errors at the node, under the field's name, and adds the normalized
 * value to the job. Every problem is reported, not the first only.
 * Called by the master's API (any MHD thread) and by the CLI.
 */
#include "stacks/job_spec.h"
#include "stacks/stack_int.h"

#include "common/affinity.h"
#include "common/units.h"
#include "common/xmalloc.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

typedef void job_reader_fn(struct stack_ctx *, json_t *, const char *,
    const struct snode *);

int
job_name_valid(const char *name)
{
	size_t i, len = strlen(name);

	if (len == 0 || len > JOB_NAME_MAX || name[0] == '-')
		return 0;
	for (i = 0; i < len; i++) {
		if (!islower((unsigned char)name[i]) &&
		    !isdigit((unsigned char)name[i]) && name[i] != '-')
			return 0;
	}
	return 1;
}

/* The image reference charset the agent takes (agent/spec.c). */
static int
job_image_valid(const char *s)
{
	size_t len = strlen(s);

	return len > 0 && len <= 255 && s[0] != '-' &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._/:@-") == len;
}

static void
job_name(struct stack_ctx *ctx, json_t *job, const char *key,
    const struct snode *v)
{
	char *s;

	if (stack_is_null(v) || stack_get_str(ctx, v, key, &s) != 0)
		return;
	if (!job_name_valid(s))
		stack_errn(ctx, v, key, "\"%s\" is not a job name (lowercase "
		    "letters, digits and '-', at most %d, not starting with "
		    "'-')", s, JOB_NAME_MAX);
	else
		json_object_set_new(job, key, json_string(s));
	free(s);
}

static void
job_image(struct stack_ctx *ctx, json_t *job, const char *key,
    const struct snode *v)
{
	char *s;

	if (stack_get_str(ctx, v, key, &s) != 0)
		return;
	if (!job_image_valid(s))
		stack_errn(ctx, v, key, "\"%s\" is not an image reference "
		    "(letters, digits and ._/:@-, at most 255)", s);
	else
		json_object_set_new(job, key, json_string(s));
	free(s);
}

/* A string split into words as a shell would, or a list of words. */
static void
job_command(struct stack_ctx *ctx, json_t *job, const char *key,
    const struct snode *v)
{
	json_t *words;
	char *s, *cause;

	if (stack_is_null(v))
		return;
	if (v->type == SNODE_SEQ) {
		if (stack_get_strlist(ctx, v, key, &words) != 0) {
			json_decref(words);
			return;
		}
	} else {
		if (stack_get_str(ctx, v, key, &s) != 0)
			return;
		words = stack_shell_split(s, &cause);
		free(s);
		if (words == NULL) {
			stack_errn(ctx, v, key, "%s", cause);
			free(cause);
			return;
		}
	}
	if (json_array_size(words) == 0)
		stack_errn(ctx, v, key, "must not be empty (leave it out to "
		    "run the image's own command)");
	else if (json_array_size(words) > JOB_MAX_LIST)
		stack_errn(ctx, v, key, "more than %d words", JOB_MAX_LIST);
	else {
		json_object_set(job, key, words);
	}
	json_decref(words);
}

/* An environment variable name; BERTH_JOB_* are the job's own. */
static const char *
job_env_key_bad(const char *k, size_t len)
{
	size_t i;

	if (len == 0 || (!isalpha((unsigned char)k[0]) && k[0] != '_'))
		return "is not an environment variable name";
	for (i = 0; i < len; i++) {
		if (!isalnum((unsigned char)k[i]) && k[i] != '_')
			return "is not an environment variable name";
	}
	if (len >= 10 && strncmp(k, "BERTH_JOB_", 10) == 0)
		return "is set by berth for every job (BERTH_JOB_*)";
	return NULL;
}

/* Add KEY=VALUE to env, replacing an earlier KEY. */
static void
job_env_put(json_t *env, const char *kv)
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

/* A mapping KEY: value, or a list of KEY=VALUE. */
static void
job_env(struct stack_ctx *ctx, json_t *job, const char *key,
    const struct snode *v)
{
	json_t *env = json_array();
	const struct snode *k;
	const char *bad;
	char *s, *kv, *path;
	size_t i;

	if (stack_is_null(v))
		goto out;
	if (v->type == SNODE_SEQ) {
		for (i = 0; i < v->n; i++) {
			path = stack_path_idx(key, i);
			if (stack_get_str(ctx, v->kids[i], path, &s) == 0) {
				if (strchr(s, '=') == NULL)
					stack_errn(ctx, v->kids[i], path,
					    "\"%s\" is not KEY=VALUE", s);
				else if ((bad = job_env_key_bad(s,
				    strcspn(s, "="))) != NULL)
					stack_errn(ctx, v->kids[i], path,
					    "\"%.*s\" %s", (int)strcspn(s, "="),
					    s, bad);
				else
					job_env_put(env, s);
				free(s);
			}
			free(path);
		}
	} else if (v->type == SNODE_MAP) {
		for (i = 0; i < SNODE_NPAIRS(v); i++) {
			k = SNODE_KEY(v, i);
			path = stack_path(key, k->str);
			if ((bad = job_env_key_bad(k->str, k->len)) != NULL)
				stack_errn(ctx, k, path, "\"%s\" %s", k->str,
				    bad);
			else if (stack_is_null(SNODE_VAL(v, i))) {
				xasprintf(&kv, "%s=", k->str);
				job_env_put(env, kv);
				free(kv);
			} else if (stack_get_str(ctx, SNODE_VAL(v, i), path,
			    &s) == 0) {
				xasprintf(&kv, "%s=%s", k->str, s);
				job_env_put(env, kv);
				free(kv);
				free(s);
			}
			free(path);
		}
	} else {
		stack_errn(ctx, v, key, "must be a mapping or a list of "
		    "KEY=VALUE, not a %s", stack_type_name(v));
		goto out;
	}
	if (json_array_size(env) > JOB_MAX_LIST)
		stack_errn(ctx, v, key, "more than %d variables", JOB_MAX_LIST);
out:
	json_object_set_new(job, key, env);
}

static void
job_cpus(struct stack_ctx *ctx, json_t *job, const char *key,
    const struct snode *v)
{
	double d;

	if (stack_is_null(v))
		return;
	if (stack_get_num(ctx, v, key, 0.001, 1024, &d) == 0)
		json_object_set_new(job, key, json_real(d));
}

static void
job_memory(struct stack_ctx *ctx, json_t *job, const char *key,
    const struct snode *v)
{
	long long b;
	char *s, *cause = NULL;

	if (stack_is_null(v) || stack_get_str(ctx, v, key, &s) != 0)
		return;
	if (units_parse_bytes(s, &b, &cause) != 0) {
		stack_errn(ctx, v, key, "%s", cause);
		free(cause);
	} else if (b < JOB_MIN_MEMORY)
		stack_errn(ctx, v, key, "%lld bytes is below Docker's floor of "
		    "6 MiB", b);
	else
		json_object_set_new(job, key, json_integer(b));
	free(s);
}

/* A duration: seconds, or "30s", "10m", "1h30m". */
static int
job_seconds(struct stack_ctx *ctx, const char *key, const struct snode *v,
    long long min, long long max, long long *out)
{
	char *s, *cause = NULL, lo[32], hi[32];
	int rc = -1;

	if (stack_get_str(ctx, v, key, &s) != 0)
		return -1;
	if (units_parse_duration(s, out, &cause) != 0) {
		stack_errn(ctx, v, key, "%s", cause);
		free(cause);
	} else if (*out < min || *out > max)
		stack_errn(ctx, v, key, "%s is out of range (%s to %s)", s,
		    units_format_duration(min, lo, sizeof lo),
		    units_format_duration(max, hi, sizeof hi));
	else
		rc = 0;
	free(s);
	return rc;
}

static void
job_timeout(struct stack_ctx *ctx, json_t *job, const char *key,
    const struct snode *v)
{
	long long t;

	if (!stack_is_null(v) && job_seconds(ctx, key, v, 0,
	    JOB_MAX_TIMEOUT_S, &t) == 0)
		json_object_set_new(job, key, json_integer(t));
}

static void
job_backoff(struct stack_ctx *ctx, json_t *job, const char *key,
    const struct snode *v)
{
	long long t;

	if (!stack_is_null(v) && job_seconds(ctx, key, v, 1,
	    JOB_MAX_BACKOFF_S, &t) == 0)
		json_object_set_new(job, key, json_integer(t));
}

static void
job_int(struct stack_ctx *ctx, json_t *job, const char *key,
    const struct snode *v, long long min, long long max)
{
	long long i;

	if (!stack_is_null(v) && stack_get_int(ctx, v, key, min, max, &i) == 0)
		json_object_set_new(job, key, json_integer(i));
}

static void
job_retries(struct stack_ctx *ctx, json_t *job, const char *key,
    const struct snode *v)
{
	job_int(ctx, job, key, v, 0, JOB_MAX_RETRIES);
}

static void
job_parallel(struct stack_ctx *ctx, json_t *job, const char *key,
    const struct snode *v)
{
	job_int(ctx, job, key, v, 1, JOB_MAX_PARALLEL);
}

static void
job_priority(struct stack_ctx *ctx, json_t *job, const char *key,
    const struct snode *v)
{
	job_int(ctx, job, key, v, -JOB_MAX_PRIORITY, JOB_MAX_PRIORITY);
}

static void
job_affinity(struct stack_ctx *ctx, json_t *job, const char *key,
    const struct snode *v)
{
	struct affinity a;
	json_t *rules;
	char *path, *why = NULL;
	size_t i;

	if (stack_is_null(v))
		return;
	if (stack_get_strlist(ctx, v, key, &rules) != 0) {
		json_decref(rules);
		return;
	}
	if (json_array_size(rules) > JOB_MAX_AFFINITY) {
		stack_errn(ctx, v, key, "more than %d rules", JOB_MAX_AFFINITY);
		json_decref(rules);
		return;
	}
	for (i = 0; i < json_array_size(rules); i++) {
		if (affinity_parse(json_string_value(json_array_get(rules, i)),
		    &a, &why) == 0) {
			affinity_clear(&a);
			continue;
		}
		path = stack_path_idx(key, i);
		stack_errn(ctx, v->kids[i], path, "%s", why);
		free(why);
		free(path);
	}
	json_object_set_new(job, key, rules);
}

/* A label key: [a-z0-9][a-z0-9._/-]*, not berth.* (berth's own). */
static const char *
job_label_key_bad(const char *k)
{
	size_t i, len = strlen(k);

	if (len == 0 || len > 63 || !(islower((unsigned char)k[0]) ||
	    isdigit((unsigned char)k[0])))
		return "is not a label key ([a-z0-9][a-z0-9._/-]*, at most 63)";
	for (i = 0; i < len; i++) {
		if (!islower((unsigned char)k[i]) &&
		    !isdigit((unsigned char)k[i]) && strchr("._/-", k[i]) ==
		    NULL)
			return "is not a label key ([a-z0-9][a-z0-9._/-]*, at "
			    "most 63)";
	}
	if (strncmp(k, "berth.", 6) == 0)
		return "is berth's own (berth.*)";
	return NULL;
}

static void
job_labels(struct stack_ctx *ctx, json_t *job, const char *key,
    const struct snode *v)
{
	json_t *labels = json_object();
	const struct snode *k;
	const char *bad;
	char *s, *path;
	size_t i;

	if (stack_is_null(v) || stack_want_map(ctx, v, key) != 0)
		goto out;
	if (SNODE_NPAIRS(v) > JOB_MAX_LABELS)
		stack_errn(ctx, v, key, "more than %d labels", JOB_MAX_LABELS);
	for (i = 0; i < SNODE_NPAIRS(v); i++) {
		k = SNODE_KEY(v, i);
		path = stack_path(key, k->str);
		if ((bad = job_label_key_bad(k->str)) != NULL)
			stack_errn(ctx, k, path, "\"%s\" %s", k->str, bad);
		else if (stack_get_str(ctx, SNODE_VAL(v, i), path, &s) == 0) {
			if (strlen(s) > 255)
				stack_errn(ctx, SNODE_VAL(v, i), path, "longer "
				    "than 255 bytes");
			else
				json_object_set_new(labels, k->str,
				    json_string(s));
			free(s);
		}
		free(path);
	}
out:
	json_object_set_new(job, key, labels);
}

static const struct {
	const char	*key;
	job_reader_fn	*read;
} job_fields[] = {
	{ "name", job_name },
	{ "image", job_image },
	{ "command", job_command },
	{ "env", job_env },
	{ "cpus", job_cpus },
	{ "memory", job_memory },
	{ "affinity", job_affinity },
	{ "timeout", job_timeout },
	{ "retries", job_retries },
	{ "backoff", job_backoff },
	{ "parallel", job_parallel },
	{ "priority", job_priority },
	{ "labels", job_labels },
};

#define JOB_NFIELDS	(sizeof job_fields / sizeof job_fields[0])

json_t *
job_spec_parse(const char *buf, size_t len, const char *file,
    struct stack_errors *errs)
{
	static const struct stack_opts no_opts;
	const struct snode *root, *at[JOB_NFIELDS] = { NULL }, *k;
	struct stack_ctx ctx;
	json_t *job = NULL;
	size_t i, j;

	memset(&ctx, 0, sizeof ctx);
	ctx.file = file != NULL ? file : "-";
	ctx.opts = &no_opts;
	ctx.errs = errs;
	ctx.literal = 1;
	if (len > STACK_MAX_INPUT) {
		stack_err(&ctx, 1, 1, "", "the job is %zu bytes; the limit is "
		    "%d", len, STACK_MAX_INPUT);
		goto out;
	}
	if (stack_utf8_check(&ctx, buf, len) != 0 ||
	    (root = stack_yaml_load(&ctx, buf, len)) == NULL ||
	    stack_want_map(&ctx, root, "") != 0)
		goto out;
	job = json_pack("{s:n, s:n, s:n, s:n, s:[], s:i, s:i, s:i, s:i, "
	    "s:i}", "name", "command", "cpus", "memory", "affinity",
	    "timeout", 0, "retries", 0, "backoff", JOB_DEFAULT_BACKOFF_S,
	    "parallel", 1, "priority", 0);
	/* In the file's order, so that errors come in line order. */
	for (i = 0; i < SNODE_NPAIRS(root); i++) {
		k = SNODE_KEY(root, i);
		for (j = 0; j < JOB_NFIELDS; j++) {
			if (strcmp(k->str, job_fields[j].key) == 0)
				break;
		}
		if (j == JOB_NFIELDS) {
			stack_unknown_key(&ctx, k, k->str, "a job");
			continue;
		}
		at[j] = SNODE_VAL(root, i);
		job_fields[j].read(&ctx, job, job_fields[j].key, at[j]);
	}
	if (at[1] == NULL)
		stack_errn(&ctx, root, "image", "image is required");
	if (json_object_get(job, "env") == NULL)
		json_object_set_new(job, "env", json_array());
	if (json_object_get(job, "labels") == NULL)
		json_object_set_new(job, "labels", json_object());
out:
	stack_yaml_free(&ctx);
	stack_vars_free(&ctx);
	if (errs->n > 0) {
		json_decref(job);
		return NULL;
	}
	return job;
}
