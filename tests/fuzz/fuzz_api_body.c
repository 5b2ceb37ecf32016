/*
 * fuzz_api_body.c - libFuzzer target for every JSON body the API accepts,
 * and for the route matcher.
 *
 * Input: byte 0 picks what to call, byte 1 holds flags, the rest is the
 * request body (or, for the route matcher, the path):
 *
 *	0 POST /v1/grids		api_grid_create
 *	1 PATCH /v1/grids/g		api_grid_patch
 *	2 PATCH /v1/nodes/g/n1		api_node_patch
 *	3 PATCH /v1/services/g/st/web	api_service_scale
 *	4 POST /v1/grids/g/stacks	api_stack_create
 *	5 PUT /v1/stacks/g/st		api_stack_upgrade
 *	6 api_route_find(method, path)
 *
 * flags & 3 picks the Content-Type (none, JSON, YAML, YAML with a
 * charset); flags & 4 names a grid, node or service that does not exist.
 * Handlers run as api_dispatch() runs them, on the seeded store of
 * tests/lib/master_fixture.h, without MHD (ctx->conn is NULL: api_query()
 * answers NULL).
 *
 * A handler must reply exactly once with a status from 100 to 599 and
 * never 500 (the store never fails here); an error reply is an object
 * with an "error" string; a 2xx reply other than 204 has a body. What a
 * call created is removed again and an upgraded stack is restored, so
 * every input meets the same store.
 */
#include "tests/lib/master_fixture.h"

#include "master/api.h"

#include "common/xmalloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum fuzz_call {
	FUZZ_GRID_CREATE,
	FUZZ_GRID_PATCH,
	FUZZ_NODE_PATCH,
	FUZZ_SERVICE_SCALE,
	FUZZ_STACK_CREATE,
	FUZZ_STACK_UPGRADE,
	FUZZ_ROUTE,
	FUZZ_NCALLS
};

static void
fuzz_route(const char *path, uint8_t flags)
{
	static const char *methods[] = { "GET", "POST", "PUT", "PATCH",
	    "DELETE", "HEAD", "OPTIONS", "get" };
	const struct api_route *r;
	const char *caps[API_MAX_CAPTURES] = { NULL }, *p;
	char *scratch = xmalloc(strlen(path) + 1), allow[64];
	size_t i, ncap;
	int known;

	r = api_route_find(methods[flags % 8], path, scratch, caps, allow,
	    sizeof allow, &known);
	if (!known && (r != NULL || allow[0] != '\0'))
		abort();
	if (known && allow[0] == '\0')
		abort();
	if (r != NULL) {
		/* Each {} took one non-empty segment; the literals matched. */
		for (ncap = 0, p = r->pattern; (p = strstr(p, "{}")) != NULL;
		    p += 2)
			ncap++;
		for (i = 0; i < API_MAX_CAPTURES; i++) {
			if ((i < ncap) != (caps[i] != NULL))
				abort();
			if (caps[i] != NULL && (caps[i][0] == '\0' ||
			    strchr(caps[i], '/') != NULL))
				abort();
		}
		if (path[0] != '/' || strlen(path) < strlen(r->pattern) - 2 * ncap)
			abort();
	}
	free(scratch);
}

/* Undo what a successful call created or changed. */
static void
fuzz_undo(enum fuzz_call call, struct api_ctx *ctx)
{
	struct master_fixture *fx = master_fixture_once();
	struct stack_update u;
	struct grid g;
	json_t *nodes, *name;
	int64_t id, *ids = NULL;
	size_t n;

	name = json_object_get(ctx->out, "name");
	if (call == FUZZ_GRID_CREATE && ctx->status == 201) {
		if (store_grid_get(fx->st, json_string_value(name), &g) != 1 ||
		    store_grid_delete(fx->st, g.id) != 0)
			master_fixture_die(fx, "undo grid create");
	} else if (call == FUZZ_STACK_CREATE && ctx->status == 201) {
		nodes = json_array();
		if (store_stack_find(fx->st, fx->grid_id,
		    json_string_value(name), &id) != 1 ||
		    store_stack_delete(fx->st, id, nodes, &ids, &n) != 0)
			master_fixture_die(fx, "undo stack create");
		free(ids);
		json_decref(nodes);
	} else if (call == FUZZ_STACK_UPGRADE && ctx->status == 200) {
		if (store_stack_update(fx->st, fx->stack_id, fx->stack_spec,
		    master_fixture_stack_yml, &u) != 0)
			master_fixture_die(fx, "undo stack upgrade");
		store_stack_update_clear(&u);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *ctypes[] = { NULL, "application/json",
	    "application/yaml", "text/x-yaml; charset=utf-8" };
	static unsigned long runs;
	struct master_fixture *fx;
	struct api_ctx ctx;
	enum fuzz_call call;
	const char *miss;
	uint8_t flags;
	char *body, *text;
	json_t *err;

	if (size < 2)
		return 0;
	fx = master_fixture_once();
	call = (enum fuzz_call)(data[0] % FUZZ_NCALLS);
	flags = data[1];
	body = xmalloc(size - 2 + 1);
	memcpy(body, data + 2, size - 2);
	body[size - 2] = '\0';
	if (call == FUZZ_ROUTE) {
		fuzz_route(body, flags);
		free(body);
		return 0;
	}

	memset(&ctx, 0, sizeof ctx);
	ctx.m = &fx->m;
	ctx.st = fx->st;
	ctx.path = "/fuzz";
	ctx.body = body;
	ctx.body_len = size - 2;
	ctx.content_type = ctypes[flags & 3];
	miss = (flags & 4) ? "nope" : NULL;
	switch (call) {
	case FUZZ_GRID_CREATE:
		ctx.method = "POST";
		api_grid_create(&ctx);
		break;
	case FUZZ_GRID_PATCH:
		ctx.method = "PATCH";
		ctx.cap[0] = miss ? miss : "g";
		api_grid_patch(&ctx);
		break;
	case FUZZ_NODE_PATCH:
		ctx.method = "PATCH";
		ctx.cap[0] = "g";
		ctx.cap[1] = miss ? miss : (flags & 8) ?
		    MASTER_FIXTURE_NODE_ID : "n1";
		api_node_patch(&ctx);
		break;
	case FUZZ_SERVICE_SCALE:
		ctx.method = "PATCH";
		ctx.cap[0] = "g";
		ctx.cap[1] = "st";
		ctx.cap[2] = miss ? miss : "web";
		api_service_scale(&ctx);
		break;
	case FUZZ_STACK_CREATE:
		ctx.method = "POST";
		ctx.cap[0] = miss ? miss : "g";
		api_stack_create(&ctx);
		break;
	case FUZZ_STACK_UPGRADE:
		ctx.method = "PUT";
		ctx.cap[0] = "g";
		ctx.cap[1] = miss ? miss : "st";
		api_stack_upgrade(&ctx);
		break;
	default:
		abort();
	}
	store_rollback(fx->st);	/* as api_dispatch() does */

	if (ctx.status < 100 || ctx.status > 599 || ctx.status == 500) {
		fprintf(stderr, "fuzz: call %d replied %d\n", call, ctx.status);
		abort();
	}
	if (ctx.out_text != NULL || ctx.out_has_fd)
		abort();		/* these handlers answer JSON */
	if (ctx.status >= 400) {
		err = json_object_get(ctx.out, "error");
		if (!json_is_string(err) || json_string_length(err) == 0)
			abort();
		if (json_object_get(ctx.out, "field") != NULL &&
		    !json_is_string(json_object_get(ctx.out, "field")))
			abort();
	} else if (ctx.status != 204 && ctx.out == NULL)
		abort();
	if (ctx.out != NULL) {
		/* What api_send() writes. */
		text = json_dumps(ctx.out, JSON_COMPACT |
		    JSON_REAL_PRECISION(10));
		if (text == NULL)
			abort();
		free(text);
	}
	fuzz_undo(call, &ctx);
	json_decref(ctx.out);
	free(body);

	/* Events pile up from accepted changes; keep the store small. */
	if (++runs % 4096 == 0)
		store_exec(fx->st, "DELETE FROM events");
	return 0;
}
