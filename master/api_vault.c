/*
 * api_vault.c - /v1/grids/{g}/vault and /v1/vault/{g}/{name}.
 *
 * Runs on the API threads. The list gives names, versions, times and the
 * services that use each secret, never a value; GET of one secret is the
 * only reply that carries a value, and it is an event of the grid
 * (vault.read: who read what, from where). Values are sealed before they
 * reach the store (master/vault.c) and never appear in an error body or
 * the log: a malformed body is refused without quoting it.
 */
#include "master/api.h"
#include "master/vault.h"

#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

/* The request body as an object, refused without quoting any of it. */
static json_t *
vault_body(struct api_ctx *ctx)
{
	json_error_t jerr;
	json_t *v;

	if (ctx->body_len == 0) {
		api_error(ctx, 400, NULL, "request body is empty; expected "
		    "{\"value\": \"...\"}");
		return NULL;
	}
	v = json_loadb(ctx->body, ctx->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (v == NULL || !json_is_object(v)) {
		/* jerr.text may quote the body: say where, not what. */
		api_error(ctx, 400, NULL, "the body is not a JSON object "
		    "(malformed at line %d, column %d)", v == NULL ? jerr.line :
		    1, v == NULL ? jerr.column : 1);
		json_decref(v);
		return NULL;
	}
	return v;
}

/* The value field: a non-empty string within the limit. */
static const char *
vault_value(struct api_ctx *ctx, json_t *body, size_t *len)
{
	json_t *v = json_object_get(body, "value");

	if (!json_is_string(v)) {
		api_error(ctx, 422, "value", "value must be a string");
		return NULL;
	}
	*len = json_string_length(v);
	if (*len == 0) {
		api_error(ctx, 422, "value", "value must not be empty");
		return NULL;
	}
	if (*len > VAULT_MAX_VALUE) {
		api_error(ctx, 422, "value", "value is %zu bytes; the limit is "
		    "%d", *len, VAULT_MAX_VALUE);
		return NULL;
	}
	return json_string_value(v);
}

static int
vault_name_ok(struct api_ctx *ctx, const char *name)
{
	if (vault_name_valid(name))
		return 0;
	api_error(ctx, 422, "name", "\"%.80s\" is not a secret name (1 to %d "
	    "of letters, digits, '_', '.' and '-')", name != NULL ? name : "",
	    VAULT_MAX_NAME);
	return -1;
}


/* A node with an instance of a service whose secret changed. */
static void
vault_node_touched(void *arg, const struct instance_row *row)
{
	master_desired_changed(arg, row->node_id);
}

/* Seal and write; reply 201/200 with the entry, or the error. */
static void
vault_put(struct api_ctx *ctx, const struct grid *g, const char *name,
    const char *value, size_t len, enum vault_put mode)
{
	unsigned char *sealed;
	size_t slen, i;
	json_t *rolled = json_array(), *o, *id;
	int rc;

	if (vault_seal(ctx->m->key, g->id, name, value, len, &sealed,
	    &slen) != 0) {
		api_error(ctx, 500, NULL, "cannot seal the value");
		json_decref(rolled);
		return;
	}
	rc = store_vault_put(ctx->st, g->id, name, sealed, slen, mode, rolled);
	free(sealed);
	if (rc == 1)
		api_error(ctx, 409, "name", "secret %s exists in grid %s (use "
		    "update)", name, g->name);
	else if (rc == 2)
		api_error(ctx, 404, "name", "no secret %s in grid %s (write it, "
		    "or update with upsert)", name, g->name);
	else if (rc != 0)
		api_store_error(ctx);
	else if (store_vault_get_json(ctx->st, g->id, name, &o) != 1)
		api_store_error(ctx);
	else {
		json_array_foreach(rolled, i, id) {
			master_changed_service(ctx->m, json_integer_value(id));
			/* Their nodes' desired sets name the secret: re-sent
			   (the containers keep their value until a deploy). */
			if (store_instance_rows_service(ctx->st,
			    json_integer_value(id), vault_node_touched, ctx->m)
			    != 0)
				log_warn("vault: nodes of service %lld: %s",
				    (long long)json_integer_value(id),
				    store_errmsg(ctx->st));
		}
		api_reply(ctx, mode == VAULT_PUT_CREATE ? 201 : 200, o);
	}
	json_decref(rolled);
}

void
api_vault_list(struct api_ctx *ctx)
{
	struct grid g;
	json_t *arr;

	if (api_grid(ctx, ctx->cap[0], &g) != 0)
		return;
	if ((arr = store_vault_list_json(ctx->st, g.id)) == NULL)
		api_store_error(ctx);
	else
		api_reply(ctx, 200, arr);
}

void
api_vault_create(struct api_ctx *ctx)
{
	static const char *const allowed[] = { "name", "value", NULL };
	struct grid g;
	const char *name, *value;
	json_t *body;
	size_t len;

	if (api_grid(ctx, ctx->cap[0], &g) != 0)
		return;
	if ((body = vault_body(ctx)) == NULL)
		return;
	if (api_only_keys(ctx, body, "", allowed) != 0)
		goto out;
	name = json_string_value(json_object_get(body, "name"));
	if (vault_name_ok(ctx, name) != 0 ||
	    (value = vault_value(ctx, body, &len)) == NULL)
		goto out;
	vault_put(ctx, &g, name, value, len, VAULT_PUT_CREATE);
out:
	json_decref(body);
}

void
api_vault_update(struct api_ctx *ctx)
{
	static const char *const allowed[] = { "name", "value", "upsert",
	    NULL };
	struct grid g;
	const char *value;
	json_t *body, *up, *n;
	size_t len;

	if (api_grid(ctx, ctx->cap[0], &g) != 0)
		return;
	if (vault_name_ok(ctx, ctx->cap[1]) != 0)
		return;
	if ((body = vault_body(ctx)) == NULL)
		return;
	if (api_only_keys(ctx, body, "", allowed) != 0)
		goto out;
	n = json_object_get(body, "name");
	if (n != NULL && (!json_is_string(n) || strcmp(json_string_value(n),
	    ctx->cap[1]) != 0)) {
		api_error(ctx, 422, "name", "name must be the secret's own, as "
		    "in the path");
		goto out;
	}
	up = json_object_get(body, "upsert");
	if (up != NULL && !json_is_boolean(up)) {
		api_error(ctx, 422, "upsert", "upsert must be true or false");
		goto out;
	}
	if ((value = vault_value(ctx, body, &len)) == NULL)
		goto out;
	vault_put(ctx, &g, ctx->cap[1], value, len, json_is_true(up) ?
	    VAULT_PUT_UPSERT : VAULT_PUT_UPDATE);
out:
	json_decref(body);
}

/* The client's address, for the read's event. */
static void
vault_peer(struct api_ctx *ctx, char *buf, size_t len)
{
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr *sa;

	snprintf(buf, len, "?");
	ci = MHD_get_connection_info(ctx->conn,
	    MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || (sa = ci->client_addr) == NULL)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
		    buf, (socklen_t)len);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->
		    sin6_addr, buf, (socklen_t)len);
}

void
api_vault_read(struct api_ctx *ctx)
{
	struct grid g;
	char *value, peer[64];
	size_t len;
	json_t *o, *v;
	int rc;

	if (api_grid(ctx, ctx->cap[0], &g) != 0)
		return;
	if (vault_name_ok(ctx, ctx->cap[1]) != 0)
		return;
	rc = vault_get(ctx->st, ctx->m->key, g.id, ctx->cap[1], &value, &len);
	if (rc == 0) {
		api_error(ctx, 404, NULL, "no secret %s in grid %s",
		    ctx->cap[1], g.name);
		return;
	}
	if (rc < 0) {
		api_error(ctx, 500, NULL, "cannot read secret %s (a store "
		    "error, or a master.key other than the one that sealed "
		    "it)", ctx->cap[1]);
		return;
	}
	vault_peer(ctx, peer, sizeof peer);
	/* The audit record first: no value leaves without it. */
	if (store_event_add(ctx->st, g.id, "vault.read", ctx->cap[1],
	    "secret %s read through the API (from %s)", ctx->cap[1],
	    peer) != 0 || store_vault_get_json(ctx->st, g.id, ctx->cap[1],
	    &o) != 1) {
		vault_free(value, len);
		api_store_error(ctx);
		return;
	}
	v = json_stringn(value, len);
	vault_free(value, len);
	if (v == NULL) {
		json_decref(o);
		api_error(ctx, 500, NULL, "secret %s is not UTF-8 text",
		    ctx->cap[1]);
		return;
	}
	json_object_set_new(o, "value", v);
	api_reply(ctx, 200, o);
}

void
api_vault_delete(struct api_ctx *ctx)
{
	const char *force = api_query(ctx, "force");
	struct grid g;
	char users[512];
	int rc;

	if (api_grid(ctx, ctx->cap[0], &g) != 0)
		return;
	if (vault_name_ok(ctx, ctx->cap[1]) != 0)
		return;
	rc = store_vault_delete(ctx->st, g.id, ctx->cap[1], force != NULL &&
	    (strcmp(force, "1") == 0 || strcmp(force, "true") == 0), users,
	    sizeof users);
	if (rc == 0)
		api_reply(ctx, 204, NULL);
	else if (rc == 1)
		api_error(ctx, 404, NULL, "no secret %s in grid %s",
		    ctx->cap[1], g.name);
	else if (rc == 2)
		api_error(ctx, 409, NULL, "secret %s is used by %s (remove it "
		    "from their secrets first, or --force)", ctx->cap[1], users);
	else
		api_store_error(ctx);
}
