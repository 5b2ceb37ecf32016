/*
 * api_exec.c - GET /v1/services/{g}/{s}/{svc}/exec and GET
 * /v1/containers/{g}/{name}/exec: the websocket upgrade that starts an
 * exec session (docs/exec.md).
 *
 * Runs on the API threads, behind the operator token like every /v1
 * route (the route table's auth). Everything is decided here, before the
 * upgrade, so a refusal is a plain HTTP error with the usual body: the
 * websocket headers, the query (cmd=... once per word, tty, stdin, cols,
 * rows, instance), the container (a given instance, the lowest-numbered
 * running one, or a container by name), its node (connected), a session
 * slot on the relay, and the audit event exec.start, which names the
 * command, the container and the node (never an environment: an exec
 * gets none from berth). Then the reply is 101 and api.c hands the
 * socket to the exec relay (exec_relay_adopt()).
 */
#include "master/api.h"
#include "master/exec_relay.h"

#include "common/wsframe.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <microhttpd.h>

#define EXEC_ARGS_MAX	256	/* words of a command */
#define EXEC_ARG_MAX	8192	/* bytes of one word */

/* The query's cmd words, in order. */
struct exec_args {
	json_t	*cmd;		/* array of strings */
	char	 bad[96];	/* why a word was refused, or "" */
};

static enum MHD_Result
exec_arg(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	struct exec_args *a = cls;
	json_t *v;

	if (strcmp(key, "cmd") != 0 || a->bad[0] != '\0')
		return MHD_YES;
	if (value == NULL)
		value = "";
	if (json_array_size(a->cmd) >= EXEC_ARGS_MAX)
		snprintf(a->bad, sizeof a->bad, "cmd: at most %d words",
		    EXEC_ARGS_MAX);
	else if (strlen(value) > EXEC_ARG_MAX)
		snprintf(a->bad, sizeof a->bad, "cmd[%zu]: over %d bytes",
		    json_array_size(a->cmd), EXEC_ARG_MAX);
	else if ((v = json_string(value)) == NULL)
		snprintf(a->bad, sizeof a->bad, "cmd[%zu]: not UTF-8",
		    json_array_size(a->cmd));
	else
		json_array_append_new(a->cmd, v);
	return MHD_YES;
}

/* Does header h's comma-separated value hold token (any case)? */
static int
exec_header_has(struct api_ctx *ctx, const char *h, const char *token)
{
	const char *v = MHD_lookup_connection_value(ctx->conn,
	    MHD_HEADER_KIND, h), *p;
	size_t n = strlen(token), len;

	for (p = v; p != NULL && *p != '\0'; p += len) {
		p += strspn(p, " \t,");
		len = strcspn(p, ",");
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len == n && strncasecmp(p, token, n) == 0)
			return 1;
		len += strcspn(p + len, ",");
	}
	return 0;
}

/* A 0/1 flag of the query (absent: 0). -1 after replying 422. */
static int
exec_flag(struct api_ctx *ctx, const char *key)
{
	const char *v = api_query(ctx, key);

	if (v == NULL || strcmp(v, "0") == 0 || strcmp(v, "false") == 0)
		return 0;
	if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0 || *v == '\0')
		return 1;
	api_error(ctx, 422, key, "%s must be 0 or 1", key);
	return -1;
}

/* An integer of the query in [lo, hi] (absent: dflt). -1 after 422. */
static int
exec_num(struct api_ctx *ctx, const char *key, int lo, int hi, int dflt)
{
	const char *v = api_query(ctx, key);
	char *end;
	long n;

	if (v == NULL)
		return dflt;
	n = strtol(v, &end, 10);
	if (*v == '\0' || *end != '\0' || n < lo || n > hi) {
		api_error(ctx, 422, key, "%s must be a whole number from %d to "
		    "%d", key, lo, hi);
		return -1;
	}
	return (int)n;
}

/* The websocket handshake's headers; replies 400 when they are wrong. */
static int
exec_upgrade_ok(struct api_ctx *ctx, char accept[WS_ACCEPT_LEN + 1])
{
	const char *key = MHD_lookup_connection_value(ctx->conn,
	    MHD_HEADER_KIND, "Sec-WebSocket-Key");
	const char *ver = MHD_lookup_connection_value(ctx->conn,
	    MHD_HEADER_KIND, "Sec-WebSocket-Version");

	if (strcmp(ctx->method, "GET") != 0 ||
	    !exec_header_has(ctx, "Upgrade", "websocket") ||
	    !exec_header_has(ctx, "Connection", "upgrade")) {
		api_error(ctx, 400, NULL, "exec is a websocket: GET with "
		    "Upgrade: websocket and Connection: Upgrade (berth "
		    "service exec speaks it)");
		return -1;
	}
	if (ver == NULL || strcmp(ver, "13") != 0) {
		api_error(ctx, 400, NULL, "Sec-WebSocket-Version must be 13");
		return -1;
	}
	if (!ws_key_valid(key)) {
		api_error(ctx, 400, NULL, "Sec-WebSocket-Key must be 16 bytes "
		    "in base64");
		return -1;
	}
	ws_accept(key, accept);
	return 0;
}

/*
 * Check the request, its container and its node; on success take a relay
 * slot, record exec.start and answer 101 with ctx->upgrade set.
 */
static void
exec_begin(struct api_ctx *ctx, struct grid *g, struct exec_pick *p)
{
	struct exec_args a = { json_array(), "" };
	struct exec_target *t = NULL;
	char accept[WS_ACCEPT_LEN + 1], *cmd = NULL, shown[1024];
	int tty, in, rows, cols;
	uint32_t id;

	if (strcmp(p->state, "running") != 0 &&
	    strcmp(p->state, "starting") != 0) {
		api_error(ctx, 409, NULL, "container %s (instance %d of %s) is "
		    "%s, not running", p->container, p->instance, p->service,
		    p->state);
		goto out;
	}
	if (!p->connected) {
		api_error(ctx, 409, NULL, "node %s of container %s is not "
		    "connected", p->node, p->container);
		goto out;
	}
	MHD_get_connection_values(ctx->conn, MHD_GET_ARGUMENT_KIND, exec_arg,
	    &a);
	if (a.bad[0] != '\0') {
		api_error(ctx, 422, "cmd", "%s", a.bad);
		goto out;
	}
	if (json_array_size(a.cmd) == 0) {
		api_error(ctx, 422, "cmd", "no command: give cmd=WORD once per "
		    "word (berth service exec S/V -- CMD...)");
		goto out;
	}
	if ((tty = exec_flag(ctx, "tty")) < 0 ||
	    (in = exec_flag(ctx, "stdin")) < 0 ||
	    (rows = exec_num(ctx, "rows", 1, 1000, 24)) < 0 ||
	    (cols = exec_num(ctx, "cols", 1, 1000, 80)) < 0)
		goto out;
	if (exec_upgrade_ok(ctx, accept) != 0)
		goto out;
	if (ctx->m->exec == NULL ||
	    (id = exec_relay_reserve(ctx->m->exec)) == 0) {
		api_error(ctx, 409, NULL, "this master runs %d exec sessions "
		    "already (or is shutting down)", EXEC_RELAY_MAX);
		goto out;
	}
	cmd = json_dumps(a.cmd, JSON_COMPACT);
	snprintf(shown, sizeof shown, "%s", cmd);
	/* The audit record comes first: no record, no exec. */
	if (store_event_add(ctx->st, g->id, "exec.start", p->container,
	    "exec %u in %s (%s#%d) on node %s: %s%s%s", id, p->container,
	    p->service, p->instance, p->node, shown, tty ? " (tty)" : "",
	    in ? " (stdin)" : "") != 0) {
		exec_relay_release(ctx->m->exec);
		api_store_error(ctx);
		goto out;
	}
	t = xcalloc(1, sizeof *t);
	t->grid_id = g->id;
	snprintf(t->node_id, sizeof t->node_id, "%s", p->node_id);
	snprintf(t->node, sizeof t->node, "%s", p->node);
	snprintf(t->container, sizeof t->container, "%s", p->container);
	t->cmd_json = cmd;
	cmd = NULL;
	t->tty = tty;
	t->want_stdin = in;
	t->rows = rows;
	t->cols = cols;
	t->id = id;
	t->relay = ctx->m->exec;
	api_reply_upgrade(ctx, t, accept);
out:
	free(cmd);
	json_decref(a.cmd);
}

void
api_service_exec(struct api_ctx *ctx)
{
	struct exec_pick p;
	struct grid g;
	int64_t sid;
	int rc, inst;

	if (api_grid(ctx, ctx->cap[0], &g) != 0)
		return;
	rc = store_service_find(ctx->st, g.id, ctx->cap[1], ctx->cap[2], &sid);
	if (rc == 0)
		api_error(ctx, 404, NULL, "no service %s/%s in grid %s",
		    ctx->cap[1], ctx->cap[2], g.name);
	if (rc != 1)
		goto fail;
	if ((inst = exec_num(ctx, "instance", 1, 1000000, 0)) < 0)
		return;
	rc = store_exec_pick_service(ctx->st, sid, inst, &p);
	if (rc == 0 && inst > 0)
		api_error(ctx, 404, NULL, "service %s/%s has no instance %d",
		    ctx->cap[1], ctx->cap[2], inst);
	else if (rc == 0)
		api_error(ctx, 409, NULL, "service %s/%s has no instance "
		    "placed", ctx->cap[1], ctx->cap[2]);
	if (rc != 1)
		goto fail;
	exec_begin(ctx, &g, &p);
	return;
fail:
	if (rc < 0)
		api_store_error(ctx);
}

void
api_container_exec(struct api_ctx *ctx)
{
	struct exec_pick p;
	struct grid g;
	int rc;

	if (api_grid(ctx, ctx->cap[0], &g) != 0)
		return;
	rc = store_exec_pick_container(ctx->st, g.id, ctx->cap[1], &p);
	if (rc == 0)
		api_error(ctx, 404, NULL, "no container %s in grid %s (names "
		    "are as berth service containers shows them)", ctx->cap[1],
		    g.name);
	else if (rc < 0)
		api_store_error(ctx);
	else
		exec_begin(ctx, &g, &p);
}
