/*
 * api_stacks.c - /v1/grids/{g}/stacks and /v1/stacks/{g}/{s}[...].
 *
 * Runs on the API threads. A stack arrives as the file itself
 * (application/yaml, or the same document in JSON) or as the CLI's
 * envelope {"source", "name"?, "variables"?, "files"?}, which carries the
 * values only the operator's machine had (`from: env`, env_file). The
 * master parses it again (stacks/), refuses it with every error (file,
 * line, column, key) and stores nothing, or stores source and services in
 * one transaction.
 */
#include "master/api.h"
#include "master/group_stats.h"
#include "master/vault.h"

#include "stacks/stack.h"

#include "common/util.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

/*
 * What the parser may ask for, served from the request and the store.
 * The envelope carries what only the operator's machine has: the values
 * of environment variables ("env"), files ("files"), answers to prompts
 * ("answers"); what it does not carry yet, the master asks for (a 422
 * with "needs"), and the CLI sends it along with the next try.
 */
struct api_stack_inputs {
	struct api_ctx		*ctx;	/* the request */
	const struct grid	*g;	/* the grid it installs into */
	json_t			*env;	/* NAME -> string or null */
	int			 env_ask; /* a name not in env is a need */
	json_t			*files;	/* path -> content or {error} */
	int			 files_ask; /* a path not in files is a need */
	json_t			*answers; /* variable -> answer */
	int			 interactive; /* someone can be asked */
};

static int
api_stack_getenv(void *arg, const char *name, char **value)
{
	struct api_stack_inputs *in = arg;
	json_t *v = json_object_get(in->env, name);

	if (v == NULL)
		return in->env_ask ? STACK_NEED : 0;
	if (!json_is_string(v))
		return 0;
	*value = xstrdup(json_string_value(v));
	return 1;
}

static int
api_stack_read_file(void *arg, const char *path, enum stack_file_base base,
    char **data, size_t *len, char **cause)
{
	struct api_stack_inputs *in = arg;
	json_t *v = json_object_get(in->files, path), *e;

	if (v == NULL) {
		if (in->files_ask)
			return STACK_NEED;
		xasprintf(cause, "%s: not sent with the stack (the CLI sends "
		    "the files a stack names along)", path);
		return -1;
	}
	if (!json_is_string(v)) {
		e = json_object_get(v, "error");
		xasprintf(cause, "%s", json_is_string(e) ? json_string_value(e) :
		    "cannot be read");
		return -1;
	}
	*len = json_string_length(v);
	*data = xmalloc(*len + 1);
	memcpy(*data, json_string_value(v), *len + 1);
	return 0;
}

static int
api_stack_prompt(void *arg, const struct stack_prompt *p, json_t **answer)
{
	struct api_stack_inputs *in = arg;
	json_t *a = json_object_get(in->answers, p->variable);

	if (a != NULL) {
		*answer = json_incref(a);
		return 1;
	}
	return in->interactive ? STACK_NEED : 0;
}

static int
api_stack_vault(void *arg, const char *name, char **value, size_t *len)
{
	struct api_stack_inputs *in = arg;
	unsigned char *sealed;
	size_t slen;
	int rc;

	if (value == NULL) {
		rc = store_vault_sealed(in->ctx->st, in->g->id, name, &sealed,
		    &slen);
		free(sealed);
		return rc == 1;
	}
	return vault_get(in->ctx->st, in->ctx->m->key, in->g->id, name, value,
	    len) == 1;
}

static json_t *
api_stack_vault_names(void *arg)
{
	struct api_stack_inputs *in = arg;

	return store_vault_names(in->ctx->st, in->g->id);
}

static void
api_stack_random(void *arg, void *buf, size_t len)
{
	util_random(buf, len);
}

/* stack/service in the grid: 1 (and its image and instances), 0, -1. */
static int
api_stack_service_find(void *arg, const char *stack, const char *service,
    json_t **info)
{
	struct api_stack_inputs *in = arg;
	int64_t stack_id;
	json_t *svc;

	if (store_stack_find(in->ctx->st, in->g->id, stack, &stack_id) != 1)
		return -1;
	if (store_service_get_json(in->ctx->st, in->g->id, stack, service,
	    &svc) != 1)
		return 0;
	*info = json_pack("{s:O?, s:O?}", "image", json_object_get(svc,
	    "image"), "instances", json_object_get(svc, "instances"));
	json_decref(svc);
	return 1;
}

/* The grid's services for service_link: {link, name, image}. */
static json_t *
api_stack_services(void *arg)
{
	struct api_stack_inputs *in = arg;
	json_t *all = store_service_list_json(in->ctx->st, in->g->id, NULL);
	json_t *out = json_array(), *v;
	char *link;
	size_t i;

	json_array_foreach(all, i, v) {
		xasprintf(&link, "%s/%s", json_string_value(json_object_get(v,
		    "stack")), json_string_value(json_object_get(v, "name")));
		json_array_append_new(out, json_pack("{s:s, s:O, s:O}", "link",
		    link, "name", json_object_get(v, "name"), "image",
		    json_object_get(v, "image")));
		free(link);
	}
	json_decref(all);
	return out;
}

static int
api_is_yaml(const char *ctype)
{
	return ctype != NULL && (strncmp(ctype, "application/yaml", 16) == 0 ||
	    strncmp(ctype, "application/x-yaml", 18) == 0 ||
	    strncmp(ctype, "text/yaml", 9) == 0 ||
	    strncmp(ctype, "text/x-yaml", 11) == 0);
}

/* What api_stack_parse() produced. */
struct api_parsed {
	json_t		*spec;		/* the normalized stack */
	char		*source;	/* the text to store */
	json_t		*warnings;	/* array */
	json_t		*vault_writes;	/* NAME -> value: seal, never log */
};

static void
api_parsed_clear(struct api_parsed *p)
{
	json_decref(p->spec);
	free(p->source);
	json_decref(p->warnings);
	json_decref(p->vault_writes);
	memset(p, 0, sizeof *p);
}

/* Reply 422 with every parse error. */
static void
api_stack_errors(struct api_ctx *ctx, struct stack_errors *errs)
{
	json_t *body, *arr = json_array();
	char *msg;
	size_t i;

	for (i = 0; i < errs->n; i++)
		json_array_append_new(arr, json_pack("{s:s, s:i, s:i, s:s, "
		    "s:s}", "file", errs->v[i].file, "line", errs->v[i].line,
		    "column", errs->v[i].col, "key", errs->v[i].key, "message",
		    errs->v[i].message));
	body = json_pack("{s:s, s:o}", "error", "invalid stack file",
	    "errors", arr);
	if (errs->n > 0) {
		xasprintf(&msg, "%s:%d:%d: %s%s%s%s", errs->v[0].file,
		    errs->v[0].line, errs->v[0].col, errs->v[0].key,
		    errs->v[0].key[0] ? ": " : "", errs->v[0].message,
		    errs->n > 1 ? " (and more, see errors)" : "");
		json_object_set_new(body, "error", json_string(msg));
		free(msg);
		if (errs->v[0].key[0] != '\0')
			json_object_set_new(body, "field",
			    json_string(errs->v[0].key));
		json_object_set_new(body, "line",
		    json_integer(errs->v[0].line));
	}
	api_reply(ctx, 422, body);
}

/* Reply 422 naming what the parse needs from the operator. */
static void
api_stack_needs(struct api_ctx *ctx, json_t *needs)
{
	struct buf b = { NULL, 0, 0 };
	const char *kind;
	json_t *n;
	size_t i;

	json_array_foreach(needs, i, n) {
		kind = json_string_value(json_object_get(n, "kind"));
		buf_printf(&b, "%s%s %s", i ? ", " : "", kind,
		    json_string_value(json_object_get(n, strcmp(kind, "env") ==
		    0 ? "name" : strcmp(kind, "file") == 0 ? "path" :
		    "variable")));
	}
	api_reply(ctx, 422, json_pack("{s:s+, s:O}", "error", "the stack "
	    "needs input from the operator: ", b.data != NULL ? b.data : "",
	    "needs", needs));
	buf_free(&b);
}

/*
 * Parse the request body into a normalized stack. On failure replies (400
 * for a bad envelope, 422 with every stack error or with what it needs)
 * and returns -1; on success fills *out. previous: the installed stack's
 * values (an upgrade), or NULL.
 */
static int
api_stack_parse(struct api_ctx *ctx, const struct grid *g,
    const char *force_name, json_t *previous, struct api_parsed *out)
{
	struct api_stack_inputs in;
	struct stack_errors errs = { 0 };
	struct stack_result res = { NULL, NULL, NULL };
	struct stack_opts opts;
	struct stack_host host;
	const char *file = "stack.yml", *text = ctx->body, *name;
	size_t len = ctx->body_len;
	json_t *env = NULL, *v, *values = NULL;
	json_error_t jerr;
	int rc = -1;

	memset(out, 0, sizeof *out);
	memset(&in, 0, sizeof in);
	memset(&opts, 0, sizeof opts);
	in.ctx = ctx;
	in.g = g;
	name = force_name ? force_name : api_query(ctx, "name");
	if (len == 0) {
		api_error(ctx, 400, NULL, "request body is empty; expected a "
		    "stack file");
		return -1;
	}
	if (!api_is_yaml(ctx->content_type)) {
		env = json_loadb(ctx->body, ctx->body_len,
		    JSON_REJECT_DUPLICATES, &jerr);
		if (env == NULL) {
			api_error(ctx, 400, NULL, "malformed JSON at line %d "
			    "column %d: %s (send a stack file as "
			    "application/yaml)", jerr.line, jerr.column,
			    jerr.text);
			return -1;
		}
		if (json_is_object(env) &&
		    json_object_get(env, "source") != NULL) {
			static const char *const allowed[] = { "source", "name",
			    "file", "variables", "env", "files", "values",
			    "answers", "interactive", NULL };

			if (api_only_keys(ctx, env, "", allowed) != 0)
				goto out;
			v = json_object_get(env, "source");
			if (!json_is_string(v)) {
				api_error(ctx, 422, "source", "source must be "
				    "the stack file as a string");
				goto out;
			}
			text = json_string_value(v);
			len = json_string_length(v);
			v = json_object_get(env, "file");
			if (json_is_string(v))
				file = json_string_value(v);
			v = json_object_get(env, "name");
			if (v != NULL && !json_is_string(v)) {
				api_error(ctx, 422, "name", "name must be a "
				    "string");
				goto out;
			}
			if (name == NULL && v != NULL)
				name = json_string_value(v);
			/* "variables" is the older name of "env" */
			in.env = json_object_get(env, "env");
			in.env_ask = in.env != NULL;
			if (in.env == NULL)
				in.env = json_object_get(env, "variables");
			in.files = json_object_get(env, "files");
			in.files_ask = in.env_ask;
			in.answers = json_object_get(env, "answers");
			values = json_object_get(env, "values");
			v = json_object_get(env, "interactive");
			in.interactive = json_is_true(v);
			if ((in.env && !json_is_object(in.env)) ||
			    (in.files && !json_is_object(in.files)) ||
			    (in.answers && !json_is_object(in.answers)) ||
			    (values && !json_is_object(values)) ||
			    (v != NULL && !json_is_boolean(v))) {
				api_error(ctx, 422, in.env && !json_is_object(
				    in.env) ? json_object_get(env, "env") ?
				    "env" : "variables" : in.files &&
				    !json_is_object(in.files) ? "files" :
				    in.answers && !json_is_object(in.answers) ?
				    "answers" : values && !json_is_object(
				    values) ? "values" : "interactive",
				    "env, variables, files, answers and values "
				    "must be objects, interactive a boolean");
				goto out;
			}
		}
	}
	if (name != NULL && !util_name_valid(name)) {
		api_error(ctx, 422, "name", "stack name \"%.80s\" is invalid: "
		    "use " UTIL_NAME_RULE, name);
		goto out;
	}
	memset(&host, 0, sizeof host);
	host.getenv = api_stack_getenv;
	host.read_file = api_stack_read_file;
	host.prompt = api_stack_prompt;
	host.vault_read = api_stack_vault;
	host.vault_names = api_stack_vault_names;
	host.random = api_stack_random;
	host.service_find = api_stack_service_find;
	host.services = api_stack_services;
	host.arg = &in;
	opts.grid = g->name;
	opts.name = name;
	opts.values = values;
	opts.previous = previous;
	opts.now = util_now_ms() / 1000;
	opts.host = &host;
	out->spec = stack_parse_ex(text, len, file, &opts, &errs, &res);
	if (out->spec == NULL) {
		if (res.needs != NULL && errs.n == 0)
			api_stack_needs(ctx, res.needs);
		else
			api_stack_errors(ctx, &errs);
		goto out;
	}
	out->source = xstrndup(text, len);
	out->warnings = json_incref(res.warnings);
	out->vault_writes = json_incref(res.vault_writes);
	rc = 0;
out:
	stack_errors_clear(&errs);
	stack_result_clear(&res);
	json_decref(env);
	if (rc != 0)
		api_parsed_clear(out);
	return rc;
}

/* Seal the parse's to: vault writes for the store; 0, or -1 (replied). */
static int
api_stack_seal(struct api_ctx *ctx, const struct grid *g,
    struct api_parsed *p, struct store_secret **out, size_t *n)
{
	const char *k;
	json_t *v;
	size_t i = 0;

	*n = json_object_size(p->vault_writes);
	*out = xcalloc(*n + 1, sizeof **out);
	json_object_foreach(p->vault_writes, k, v) {
		(*out)[i].name = k;
		if (vault_seal(ctx->m->key, g->id, k, json_string_value(v),
		    json_string_length(v), &(*out)[i].sealed,
		    &(*out)[i].len) != 0) {
			api_error(ctx, 500, NULL, "cannot seal secret %s", k);
			return -1;
		}
		i++;
	}
	return 0;
}

static void
api_secrets_free(struct store_secret *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i].sealed);
	free(v);
}

/*
 * The stack and its child stacks (depends:, nested in "children") as the
 * items store_stack_tree_write() takes: each spec a copy without its
 * children, source and file; each child after its parent.
 */
static void
api_tree_flatten(json_t *spec, const char *source, size_t parent,
    struct stack_tree_item **t, size_t *n)
{
	struct stack_tree_item *it;
	json_t *c;
	size_t i, me = *n;

	*t = xreallocarray(*t, *n + 1, sizeof **t);
	it = &(*t)[(*n)++];
	memset(it, 0, sizeof *it);
	it->spec = json_copy(spec);
	it->source = source;
	it->parent = parent;
	json_object_del(it->spec, "children");
	json_object_del(it->spec, "source");
	json_object_del(it->spec, "file");
	json_array_foreach(json_object_get(spec, "children"), i, c)
		api_tree_flatten(c, json_string_value(json_object_get(c,
		    "source")), me, t, n);
}

static void
api_tree_free(struct stack_tree_item *t, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		json_decref(t[i].spec);
	free(t);
}

static const char *
api_item_name(const struct stack_tree_item *it)
{
	return json_string_value(json_object_get(it->spec, "name"));
}

/* Drop the child stacks' sources from what a dry run shows. */
static void
api_tree_strip(json_t *spec)
{
	json_t *c;
	size_t i;

	json_array_foreach(json_object_get(spec, "children"), i, c) {
		json_object_del(c, "source");
		api_tree_strip(c);
	}
}

/*
 * The installed values of stack id and, as "CHILD.NAME", of its child
 * stacks (theirs as "CHILD.GRANDCHILD.NAME"), for an upgrade to keep.
 */
static int
api_tree_previous(struct api_ctx *ctx, int64_t id, const char *prefix,
    json_t *out)
{
	json_t *spec = NULL, *kids = json_array(), *v, *c;
	const char *k, *name, *cname;
	char *key, *pre;
	size_t i, nlen;
	int rc = -1;

	if (store_stack_spec(ctx->st, id, &spec) < 0 ||
	    store_stack_children(ctx->st, id, kids) != 0)
		goto out;
	json_object_foreach(json_object_get(spec, "variables"), k, v) {
		xasprintf(&key, "%s%s", prefix, k);
		json_object_set(out, key, v);
		free(key);
	}
	name = json_string_value(json_object_get(spec, "name"));
	nlen = name != NULL ? strlen(name) : 0;
	json_array_foreach(kids, i, c) {
		cname = json_string_value(json_object_get(c, "name"));
		/* Installed as PARENT-CHILD. */
		if (name == NULL || strncmp(cname, name, nlen) != 0 ||
		    cname[nlen] != '-')
			continue;
		xasprintf(&pre, "%s%s.", prefix, cname + nlen + 1);
		rc = api_tree_previous(ctx, json_integer_value(
		    json_object_get(c, "id")), pre, out);
		free(pre);
		if (rc != 0)
			goto out;
	}
	rc = 0;
out:
	json_decref(spec);
	json_decref(kids);
	return rc;
}

/*
 * ?dry_run=1: what would be written, without writing: the normalized
 * stack, the warnings and the names of the secrets it would write.
 */
static int
api_dry_run(struct api_ctx *ctx, struct api_parsed *p, int exists)
{
	const char *q = api_query(ctx, "dry_run");
	const char *k;
	json_t *names, *v;

	if (q == NULL || (strcmp(q, "1") != 0 && strcmp(q, "true") != 0))
		return 0;
	names = json_array();
	json_object_foreach(p->vault_writes, k, v)
		json_array_append_new(names, json_string(k));
	api_tree_strip(p->spec);
	api_reply(ctx, 200, json_pack("{s:O, s:O, s:o, s:b}", "stack",
	    p->spec, "warnings", p->warnings, "vault_writes", names, "exists",
	    exists));
	return 1;
}

void
api_stack_list(struct api_ctx *ctx)
{
	struct grid g;
	json_t *arr;

	if (api_grid(ctx, ctx->cap[0], &g) != 0)
		return;
	if ((arr = store_stack_list_json(ctx->st, g.id)) == NULL)
		api_store_error(ctx);
	else
		api_reply(ctx, 200, arr);
}

/* The stack was removed by a request that raced this one: 404. */
static void
api_stack_gone(struct api_ctx *ctx, const char *name)
{
	api_error(ctx, 404, NULL, "stack %s was removed meanwhile", name);
}

static void
api_stack_reply(struct api_ctx *ctx, int status, int64_t stack_id,
    const char *name, json_t *warnings)
{
	json_t *o;
	int rc = store_stack_get_json(ctx->st, stack_id, &o);

	if (rc == 1) {
		/* "warnings": the keys berth keeps but does not act on, as
		   GET gives them; the file's own (line, key, message) apart. */
		json_object_set_new(o, "file_warnings", warnings != NULL ?
		    json_incref(warnings) : json_array());
		api_reply(ctx, status, o);
	} else if (rc == 0)
		api_stack_gone(ctx, name);
	else
		api_store_error(ctx);
}

void
api_stack_create(struct api_ctx *ctx)
{
	struct stack_tree_item *t = NULL;
	struct stack_update u;
	struct stack_write w;
	struct api_parsed p;
	struct grid g;
	struct store_secret *sec = NULL;
	size_t nsec = 0, n = 0, i;
	int64_t id;
	json_t *v;
	int rc, exists;

	if (api_grid(ctx, ctx->cap[0], &g) != 0)
		return;
	if (api_stack_parse(ctx, &g, NULL, NULL, &p) != 0)
		return;
	exists = store_stack_find(ctx->st, g.id, json_string_value(
	    json_object_get(p.spec, "name")), &id) == 1;
	if (api_dry_run(ctx, &p, exists))
		goto out;
	api_tree_flatten(p.spec, p.source, 0, &t, &n);
	for (i = 1; i < n; i++) {
		rc = store_stack_find(ctx->st, g.id, api_item_name(&t[i]), &id);
		if (rc != 0) {
			if (rc < 0)
				api_store_error(ctx);
			else
				api_error(ctx, 409, "depends", "stack \"%s\" "
				    "exists in grid %s: a child stack of this "
				    "one would be installed under that name",
				    api_item_name(&t[i]), g.name);
			goto out;
		}
	}
	if (api_stack_seal(ctx, &g, &p, &sec, &nsec) != 0)
		goto out;
	memset(&w, 0, sizeof w);
	w.secrets = sec;
	w.nsecrets = nsec;
	w.rolled = json_array();
	rc = store_stack_tree_write(ctx->st, g.id, t, n, &w, NULL, 0, &u);
	if (rc == 1)
		api_error(ctx, 409, "name", "stack \"%s\" exists in grid %s "
		    "(use upgrade, or --name)", json_string_value(
		    json_object_get(p.spec, "name")), g.name);
	else if (rc != 0)
		api_store_error(ctx);
	else {
		json_array_foreach(w.rolled, i, v)
			master_changed_service(ctx->m, json_integer_value(v));
		api_stack_reply(ctx, 201, t[0].id, json_string_value(
		    json_object_get(p.spec, "name")), p.warnings);
		store_stack_update_clear(&u);
	}
	json_decref(w.rolled);
out:
	api_tree_free(t, n);
	api_secrets_free(sec, nsec);
	api_parsed_clear(&p);
}

/* Resolve cap[0]/cap[1] to a grid and stack id; replies on failure. */
static int
api_stack_lookup(struct api_ctx *ctx, struct grid *g, int64_t *id)
{
	int rc;

	if (api_grid(ctx, ctx->cap[0], g) != 0)
		return -1;
	rc = store_stack_find(ctx->st, g->id, ctx->cap[1], id);
	if (rc == 1)
		return 0;
	if (rc == 0)
		api_error(ctx, 404, NULL, "no stack \"%s\" in grid %s",
		    ctx->cap[1], g->name);
	else
		api_store_error(ctx);
	return -1;
}

void
api_stack_show(struct api_ctx *ctx)
{
	struct grid g;
	int64_t id;

	if (api_stack_lookup(ctx, &g, &id) == 0)
		api_stack_reply(ctx, 200, id, ctx->cap[1], NULL);
}

static void
api_notify_nodes(struct api_ctx *ctx, json_t *nodes)
{
	json_t *v;
	size_t i;

	json_array_foreach(nodes, i, v)
		master_desired_changed(ctx->m, json_string_value(v));
}

void
api_stack_upgrade(struct api_ctx *ctx)
{
	struct stack_tree_item *t = NULL;
	struct stack_update u;
	struct stack_write w;
	struct api_parsed p;
	struct grid g;
	struct store_secret *sec = NULL;
	json_t *keep, *svc, *old = NULL, *v;
	const char *file_ref;
	char links[512], ref[160];
	size_t i, j, nsec = 0, n = 0, nold = 0, nremove = 0;
	int64_t id, *olds = NULL, *remove = NULL;
	int rc;

	if (api_stack_lookup(ctx, &g, &id) != 0)
		return;
	/* The answers so far (its child stacks' too): generated and asked
	   values stay. */
	old = json_object();
	if (api_tree_previous(ctx, id, "", old) != 0) {
		json_decref(old);
		api_store_error(ctx);
		return;
	}
	rc = api_stack_parse(ctx, &g, ctx->cap[1], old, &p);
	json_decref(old);
	if (rc != 0)
		return;
	/* The file must be this stack's: another's would replace it. */
	if ((rc = store_stack_ref(ctx->st, id, ref, sizeof ref)) != 1) {
		if (rc == 0)
			api_stack_gone(ctx, ctx->cap[1]);
		else
			api_store_error(ctx);
		goto out;
	}
	file_ref = json_string_value(json_object_get(p.spec, "stack"));
	if (file_ref == NULL || strcmp(file_ref, ref) != 0) {
		api_error(ctx, 422, "stack", "the file is stack %s, but stack "
		    "%s was installed from %s; remove it and install the other "
		    "file instead", file_ref ? file_ref : "?", ctx->cap[1],
		    ref);
		goto out;
	}
	if (api_dry_run(ctx, &p, 1))
		goto out;
	/*
	 * Child stacks: one installed under its name is upgraded (if it is
	 * a child of the same parent), a new one created, one the file no
	 * longer has removed, as Kontena's upgrade did.
	 */
	api_tree_flatten(p.spec, p.source, 0, &t, &n);
	t[0].id = id;
	for (i = 1; i < n; i++) {
		rc = store_stack_find(ctx->st, g.id, api_item_name(&t[i]),
		    &t[i].id);
		if (rc < 0) {
			api_store_error(ctx);
			goto out;
		}
		if (rc == 0)
			continue;
		if (store_stack_spec(ctx->st, t[i].id, &old) < 0) {
			api_store_error(ctx);
			goto out;
		}
		rc = json_equal(json_object_get(old, "parent"),
		    json_object_get(t[i].spec, "parent"));
		json_decref(old);
		if (!rc) {
			api_error(ctx, 409, "depends", "stack \"%s\" exists in "
			    "grid %s and is not a child stack of %s",
			    api_item_name(&t[i]), g.name, json_string_value(
			    json_object_get(t[i].spec, "parent")));
			goto out;
		}
	}
	if (store_stack_tree(ctx->st, id, &olds, &nold) != 0) {
		api_store_error(ctx);
		goto out;
	}
	for (i = 0; i < nold; i++) {
		for (j = 0; j < n && t[j].id != olds[i]; j++)
			;
		if (j < n)
			continue;
		rc = store_stack_tree_linked_from(ctx->st, olds[i], links,
		    sizeof links);
		if (rc != 0) {
			if (rc < 0)
				api_store_error(ctx);
			else
				api_error(ctx, 409, "depends", "the upgrade "
				    "removes a child stack that other stacks "
				    "link to (%s); remove those links first",
				    links);
			goto out;
		}
		remove = xreallocarray(remove, nremove + 1, sizeof *remove);
		remove[nremove++] = olds[i];
	}
	keep = json_object();
	json_array_foreach(json_object_get(p.spec, "services"), i, svc)
		json_object_set(keep, json_string_value(json_object_get(svc,
		    "name")), json_true());
	rc = store_stack_linked_from(ctx->st, id, keep, links, sizeof links);
	json_decref(keep);
	if (rc != 0) {
		if (rc < 0)
			api_store_error(ctx);
		else
			api_error(ctx, 409, "services", "the upgrade removes "
			    "services that other stacks link to (%s); remove "
			    "those links first", links);
		goto out;
	}
	if (api_stack_seal(ctx, &g, &p, &sec, &nsec) != 0)
		goto out;
	memset(&w, 0, sizeof w);
	w.secrets = sec;
	w.nsecrets = nsec;
	w.rolled = json_array();
	rc = store_stack_tree_write(ctx->st, g.id, t, n, &w, remove, nremove,
	    &u);
	if (rc == 1)
		api_error(ctx, 409, "depends", "a child stack's name is taken "
		    "in grid %s", g.name);
	else if (rc == 2)
		api_stack_gone(ctx, ctx->cap[1]);
	else if (rc != 0)
		api_store_error(ctx);
	else {
		/* New services wait, inactive, for a deploy to reach them. */
		for (i = 0; i < u.nchanged; i++)
			master_changed_service(ctx->m, u.changed[i]);
		for (i = 0; i < u.nremoved; i++)
			master_changed_service(ctx->m, u.removed[i]);
		for (i = 0; i < u.nrescaled; i++)
			master_changed_service(ctx->m, u.rescaled[i]);
		json_array_foreach(w.rolled, i, v)
			master_changed_service(ctx->m, json_integer_value(v));
		api_notify_nodes(ctx, u.nodes);
		api_stack_reply(ctx, 200, id, ctx->cap[1], p.warnings);
		store_stack_update_clear(&u);
	}
	json_decref(w.rolled);
out:
	free(olds);
	free(remove);
	api_tree_free(t, n);
	api_secrets_free(sec, nsec);
	api_parsed_clear(&p);
}

void
api_stack_delete(struct api_ctx *ctx)
{
	const char *force = api_query(ctx, "force");
	char links[512];
	struct grid g;
	json_t *nodes;
	int64_t id, *services;
	size_t n, i;
	int rc;

	if (api_stack_lookup(ctx, &g, &id) != 0)
		return;
	/* Kontena refused this too: their links would point nowhere. (Its
	   child stacks go with it.) */
	rc = store_stack_tree_linked_from(ctx->st, id, links, sizeof links);
	if (rc < 0) {
		api_store_error(ctx);
		return;
	}
	if (rc > 0) {
		api_error(ctx, 409, NULL, "stack %s is linked from other "
		    "stacks (%s); remove those links first", ctx->cap[1],
		    links);
		return;
	}
	if (force == NULL || (strcmp(force, "1") != 0 &&
	    strcmp(force, "true") != 0)) {
		rc = store_deploy_running(ctx->st, id);
		if (rc < 0) {
			api_store_error(ctx);
			return;
		}
		if (rc == 1) {
			api_error(ctx, 409, NULL, "stack %s has a deploy in "
			    "progress; wait for it or remove with --force",
			    ctx->cap[1]);
			return;
		}
	}
	nodes = json_array();
	rc = store_stack_delete(ctx->st, id, nodes, &services, &n);
	if (rc == 1)
		api_stack_gone(ctx, ctx->cap[1]);
	else if (rc != 0)
		api_store_error(ctx);
	else {
		for (i = 0; i < n; i++)
			master_changed_service(ctx->m, services[i]);
		free(services);
		api_notify_nodes(ctx, nodes);
		api_reply(ctx, 204, NULL);
	}
	json_decref(nodes);
}

void
api_stack_deploy(struct api_ctx *ctx)
{
	struct grid g;
	int64_t id, deploy_id;
	json_t *o;
	int rc;

	if (api_stack_lookup(ctx, &g, &id) != 0)
		return;
	rc = store_deploy_create(ctx->st, id, &deploy_id);
	if (rc == 0) {
		rc = store_deploy_get_json(ctx->st, id, deploy_id, &o);
		rc = rc == 1 ? 0 : rc == 0 ? 1 : -1;
	}
	if (rc == 1) {		/* removed by a request that raced ours */
		api_stack_gone(ctx, ctx->cap[1]);
		return;
	}
	if (rc != 0) {
		api_store_error(ctx);
		return;
	}
	master_changed_grid(ctx->m, g.id);
	api_reply(ctx, 202, o);
}

void
api_stack_deploy_list(struct api_ctx *ctx)
{
	struct grid g;
	int64_t id;
	json_t *arr;

	if (api_stack_lookup(ctx, &g, &id) != 0)
		return;
	if ((arr = store_deploy_list_json(ctx->st, id)) == NULL)
		api_store_error(ctx);
	else
		api_reply(ctx, 200, arr);
}

/*
 * A service whose deploy waits for node groups' machines says which
 * ("waiting": "waiting for 2 nodes of burst-a, 1m12s of 15m").
 */
static void
api_deploy_waiting(json_t *deploy)
{
	const char *state;
	char text[320];
	size_t i;
	json_t *v;

	json_array_foreach(json_object_get(deploy, "services"), i, v) {
		state = json_string_value(json_object_get(v, "state"));
		if (state != NULL && (strcmp(state, "ongoing") == 0 ||
		    strcmp(state, "created") == 0) &&
		    group_stats_waiting_text(json_integer_value(
		    json_object_get(v, "service_id")), util_now_ms(), text,
		    sizeof text))
			json_object_set_new(v, "waiting", json_string(text));
	}
}

void
api_stack_deploy_show(struct api_ctx *ctx)
{
	struct grid g;
	int64_t id, deploy_id;
	char *end;
	json_t *o;
	int rc;

	if (api_stack_lookup(ctx, &g, &id) != 0)
		return;
	deploy_id = strtoll(ctx->cap[2], &end, 10);
	if (*end != '\0' || deploy_id <= 0) {
		api_error(ctx, 404, NULL, "no deploy \"%s\"", ctx->cap[2]);
		return;
	}
	rc = store_deploy_get_json(ctx->st, id, deploy_id, &o);
	if (rc == 1) {
		api_deploy_waiting(o);
		api_reply(ctx, 200, o);
	}
	else if (rc == 0)
		api_error(ctx, 404, NULL, "no deploy %lld of stack %s",
		    (long long)deploy_id, ctx->cap[1]);
	else
		api_store_error(ctx);
}
