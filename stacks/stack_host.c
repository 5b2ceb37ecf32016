/*
 * stack_host.c - the parser's calls out to its caller (struct stack_host).
 *
 * Every use of a callback goes through here, so that a missing callback,
 * a STACK_NEED answer and the list of needs are handled in one place. A
 * need is recorded once (the same environment variable asked twice is one
 * need) and sets ctx->needed: from then on the parse only collects what
 * else it needs and reports no errors, since the values it lacks would
 * make them noise. Pure; the callbacks are the caller's business.
 */
#include "stacks/stack_int.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

/* Add need to ctx's list unless an equal one is there. Takes need. */
void
stack_host_need(struct stack_ctx *ctx, json_t *need)
{
	json_t *v;
	size_t i;

	ctx->needed = 1;
	if (ctx->needs == NULL)
		ctx->needs = json_array();
	json_array_foreach(ctx->needs, i, v) {
		if (json_equal(v, need)) {
			json_decref(need);
			return;
		}
	}
	json_array_append_new(ctx->needs, need);
}

int
stack_host_getenv(struct stack_ctx *ctx, const char *name, char **value)
{
	const struct stack_host *h = ctx->host;
	int rc;

	*value = NULL;
	if (h == NULL || h->getenv == NULL)
		return 0;
	rc = h->getenv(h->arg, name, value);
	if (rc == STACK_NEED) {
		stack_host_need(ctx, json_pack("{s:s, s:s}", "kind", "env", "name",
		    name));
		return STACK_NEED;
	}
	if (rc != 1) {
		free(*value);
		*value = NULL;
		return 0;
	}
	return 1;
}

int
stack_host_read(struct stack_ctx *ctx, const char *path,
    enum stack_file_base base, char **data, size_t *len, char **cause)
{
	const struct stack_host *h = ctx->host;
	char *full = NULL;
	size_t n = 0;
	int rc;

	*data = NULL;
	*cause = NULL;
	if (len == NULL)
		len = &n;
	*len = 0;
	if (h == NULL || h->read_file == NULL) {
		*cause = xstrdup("files cannot be read here (the caller gave "
		    "no file reader)");
		return -1;
	}
	/* A file an extends: file names is beside that file (Kontena
	   read it from there). */
	if (base == STACK_FILE_STACK && ctx->dir != NULL &&
	    *ctx->dir != '\0' && *path != '/') {
		xasprintf(&full, "%s%s", ctx->dir, path);
		path = full;
	}
	rc = h->read_file(h->arg, path, base, data, len, cause);
	if (rc == STACK_NEED) {
		free(*cause);
		*cause = NULL;
		stack_host_need(ctx, json_pack("{s:s, s:s, s:s}", "kind", "file",
		    "path", path, "base", base == STACK_FILE_STACK ? "stack" :
		    "cwd"));
		free(full);
		return STACK_NEED;
	}
	free(full);
	if (rc != 0 || *data == NULL) {
		free(*data);
		*data = NULL;
		if (*cause == NULL)
			*cause = xstrdup("cannot be read");
		return -1;
	}
	free(*cause);
	*cause = NULL;
	return 0;
}

int
stack_host_prompt(struct stack_ctx *ctx, const struct stack_prompt *p,
    json_t **answer)
{
	const struct stack_host *h = ctx->host;
	json_t *need;
	int rc;

	*answer = NULL;
	if (h == NULL || h->prompt == NULL)
		return 0;
	rc = h->prompt(h->arg, p, answer);
	if (rc == STACK_NEED) {
		need = json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:b}", "kind",
		    "prompt", "variable", p->variable, "type", p->type,
		    "question", p->question, "multi", p->multi, "echo",
		    p->echo, "other", p->other);
		json_object_set(need, "default", p->def != NULL ? p->def :
		    json_null());
		if (p->choices != NULL)
			json_object_set(need, "choices", p->choices);
		stack_host_need(ctx, need);
		return STACK_NEED;
	}
	if (rc != 1 || *answer == NULL) {
		json_decref(*answer);
		*answer = NULL;
		return 0;
	}
	return 1;
}

int
stack_host_vault(struct stack_ctx *ctx, const char *name, char **value,
    size_t *len)
{
	const struct stack_host *h = ctx->host;

	if (value != NULL)
		*value = NULL;
	if (h == NULL || h->vault_read == NULL)
		return 0;
	return h->vault_read(h->arg, name, value, len) == 1 ? 1 : 0;
}

json_t *
stack_host_vault_names(struct stack_ctx *ctx)
{
	const struct stack_host *h = ctx->host;
	json_t *v;

	if (h == NULL || h->vault_names == NULL ||
	    (v = h->vault_names(h->arg)) == NULL)
		return json_array();
	if (!json_is_array(v)) {
		json_decref(v);
		return json_array();
	}
	return v;
}

int
stack_host_random(struct stack_ctx *ctx, void *buf, size_t len)
{
	const struct stack_host *h = ctx->host;

	if (h == NULL || h->random == NULL)
		return -1;
	h->random(h->arg, buf, len);
	return 0;
}

int
stack_host_service(struct stack_ctx *ctx, const char *stack,
    const char *service, json_t **info)
{
	const struct stack_host *h = ctx->host;
	json_t *got = NULL;
	int rc;

	if (info != NULL)
		*info = NULL;
	if (h == NULL || h->service_find == NULL)
		return -2;
	rc = h->service_find(h->arg, stack, service, &got);
	if (rc == 1 && info != NULL)
		*info = got;
	else
		json_decref(got);
	return rc == 1 ? 1 : rc == 0 ? 0 : -1;
}

json_t *
stack_host_services(struct stack_ctx *ctx)
{
	const struct stack_host *h = ctx->host;
	json_t *v;

	if (h == NULL || h->services == NULL ||
	    (v = h->services(h->arg)) == NULL)
		return json_array();
	if (!json_is_array(v)) {
		json_decref(v);
		return json_array();
	}
	return v;
}
