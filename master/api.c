/*
 * api.c - the REST server: accept, read bodies, route, authenticate, reply.
 *
 * libmicrohttpd runs its own thread pool (cfg.api_threads, epoll); every
 * callback here runs on one of those threads. A request body is collected
 * up to API_MAX_BODY (a larger Content-Length is refused before reading);
 * then the route table picks the handler. Every /v1 route needs the
 * operator token unless the table marks it open, and the table is the only
 * list of routes, so a new route cannot skip the check (the integration
 * tests walk it through --print-routes).
 */
#include "master/api.h"
#include "master/logstore.h"
#include "master/exec_relay.h"
#include "master/ui.h"

#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <microhttpd.h>
#include <zlib.h>

#define API_CACHE_SLOTS	64	/* cached reply texts (grids x lists) */

struct api_cache_slot {
	char		 key[48];	/* "" when free */
	uint64_t	 gen;		/* generation it was built at */
	char		*text;		/* the reply */
	size_t		 len;		/* its length */
};

struct api {
	struct master		*m;	/* the master */
	struct MHD_Daemon	*d;	/* the server */
	pthread_mutex_t		 cache_lock;	/* guards cache */
	struct api_cache_slot	 cache[API_CACHE_SLOTS];
	unsigned		 cache_next;	/* slot to reuse next */
};

char *
api_cache_get(struct api_ctx *ctx, const char *key, uint64_t gen)
{
	struct api *a = ctx->m->api;
	char *copy = NULL;
	size_t i;

	if (a == NULL)
		return NULL;
	pthread_mutex_lock(&a->cache_lock);
	for (i = 0; i < API_CACHE_SLOTS; i++) {
		if (a->cache[i].gen == gen && strcmp(a->cache[i].key, key) == 0 &&
		    a->cache[i].text != NULL) {
			copy = xmalloc(a->cache[i].len + 1);
			memcpy(copy, a->cache[i].text, a->cache[i].len + 1);
			break;
		}
	}
	pthread_mutex_unlock(&a->cache_lock);
	return copy;
}

void
api_cache_put(struct api_ctx *ctx, const char *key, uint64_t gen,
    const char *text)
{
	struct api *a = ctx->m->api;
	struct api_cache_slot *slot = NULL;
	size_t i;

	if (a == NULL)
		return;
	pthread_mutex_lock(&a->cache_lock);
	for (i = 0; i < API_CACHE_SLOTS; i++)
		if (strcmp(a->cache[i].key, key) == 0)
			slot = &a->cache[i];
	if (slot == NULL)
		slot = &a->cache[a->cache_next++ % API_CACHE_SLOTS];
	/* Never replace a newer text with an older one. */
	if (slot->text == NULL || strcmp(slot->key, key) != 0 ||
	    gen >= slot->gen) {
		free(slot->text);
		snprintf(slot->key, sizeof slot->key, "%s", key);
		slot->gen = gen;
		slot->len = strlen(text);
		slot->text = xstrdup(text);
	}
	pthread_mutex_unlock(&a->cache_lock);
}

/*
 * An exec session between the 101 and its upgrade callback, shared by the
 * request (whose completed callback may come first if the connection
 * fails) and the response (whose upgrade callback takes the session):
 * whichever takes t has it; the last reference frees the holder.
 */
struct api_upgrade {
	_Atomic(struct exec_target *) t;	/* the session, until taken */
	atomic_int		 refs;		/* the request and the response */
};

static struct exec_target *
api_upgrade_take(struct api_upgrade *u)
{
	return atomic_exchange(&u->t, NULL);
}

static void
api_upgrade_unref(struct api_upgrade *u)
{
	if (atomic_fetch_sub(&u->refs, 1) == 1)
		free(u);
}

/* One per request, from the first callback to the completed callback. */
struct api_req {
	struct buf	 body;		/* body collected so far */
	int		 too_big;	/* body passed API_MAX_BODY */
	struct api_upgrade *up;		/* a 101 was queued: its session */
};

static const struct api_route api_routes[] = {
	{ "GET", "/healthz", api_healthz, 1 },
	{ "GET", "/metrics", api_metrics, 1 },
	{ "GET", "/v1/grids", api_grid_list, 0 },
	{ "POST", "/v1/grids", api_grid_create, 0 },
	{ "GET", "/v1/grids/{}", api_grid_show, 0 },
	{ "PATCH", "/v1/grids/{}", api_grid_patch, 0 },
	{ "DELETE", "/v1/grids/{}", api_grid_delete, 0 },
	{ "GET", "/v1/grids/{}/token", api_grid_token_get, 0 },
	{ "POST", "/v1/grids/{}/token", api_grid_token_rotate, 0 },
	{ "GET", "/v1/grids/{}/nodes", api_node_list, 0 },
	{ "GET", "/v1/grids/{}/services", api_service_list, 0 },
	{ "GET", "/v1/grids/{}/events", api_event_list, 0 },
	{ "GET", "/v1/nodes/{}/{}", api_node_show, 0 },
	{ "PATCH", "/v1/nodes/{}/{}", api_node_patch, 0 },
	{ "DELETE", "/v1/nodes/{}/{}", api_node_delete, 0 },
	{ "POST", "/v1/nodes/{}/{}/token", api_node_token_reset, 0 },
	{ "POST", "/v1/nodes/{}/{}/cordon", api_node_cordon, 0 },
	{ "POST", "/v1/nodes/{}/{}/uncordon", api_node_uncordon, 0 },
	{ "POST", "/v1/nodes/{}/{}/drain", api_node_drain, 0 },
	{ "POST", "/v1/nodes/{}/{}/protect", api_node_protect, 0 },
	{ "POST", "/v1/nodes/{}/{}/approve", api_node_approve, 0 },
	{ "GET", "/v1/grids/{}/stacks", api_stack_list, 0 },
	{ "POST", "/v1/grids/{}/stacks", api_stack_create, 0 },
	{ "GET", "/v1/stacks/{}/{}", api_stack_show, 0 },
	{ "PUT", "/v1/stacks/{}/{}", api_stack_upgrade, 0 },
	{ "DELETE", "/v1/stacks/{}/{}", api_stack_delete, 0 },
	{ "POST", "/v1/stacks/{}/{}/deploy", api_stack_deploy, 0 },
	{ "GET", "/v1/stacks/{}/{}/deploys", api_stack_deploy_list, 0 },
	{ "GET", "/v1/stacks/{}/{}/deploys/{}", api_stack_deploy_show, 0 },
	{ "GET", "/v1/services/{}/{}/{}", api_service_show, 0 },
	{ "PATCH", "/v1/services/{}/{}/{}", api_service_scale, 0 },
	{ "POST", "/v1/services/{}/{}/{}/scale", api_service_scale, 0 },
	{ "GET", "/v1/services/{}/{}/{}/containers", api_service_containers, 0 },
	{ "GET", "/v1/services/{}/{}/{}/logs", api_logs_service, 0 },
	{ "GET", "/v1/stacks/{}/{}/logs", api_logs_stack, 0 },
	{ "GET", "/v1/containers/{}/{}/logs", api_logs_container, 0 },
	/* exec: websocket upgrades (api_exec.c, docs/exec.md) */
	{ "GET", "/v1/services/{}/{}/{}/exec", api_service_exec, 0 },
	{ "GET", "/v1/containers/{}/{}/exec", api_container_exec, 0 },
	/* the lifecycle: api_lifecycle.c */
	{ "DELETE", "/v1/services/{}/{}/{}", api_service_delete, 0 },
	{ "POST", "/v1/services/{}/{}/{}/stop", api_service_stop, 0 },
	{ "POST", "/v1/services/{}/{}/{}/start", api_service_start, 0 },
	{ "POST", "/v1/services/{}/{}/{}/restart", api_service_restart, 0 },
	{ "POST", "/v1/stacks/{}/{}/stop", api_stack_stop, 0 },
	{ "POST", "/v1/stacks/{}/{}/start", api_stack_start, 0 },
	{ "POST", "/v1/stacks/{}/{}/restart", api_stack_restart, 0 },
	{ "GET", "/v1/grids/{}/cloud-config", api_grid_cloud_config, 0 },
	{ "GET", "/v1/grids/{}/networks", api_network_list, 0 },
	{ "GET", "/v1/networks/{}/{}", api_network_show, 0 },
	{ "GET", "/v1/grids/{}/vault", api_vault_list, 0 },
	{ "POST", "/v1/grids/{}/vault", api_vault_create, 0 },
	{ "GET", "/v1/vault/{}/{}", api_vault_read, 0 },
	{ "PUT", "/v1/vault/{}/{}", api_vault_update, 0 },
	{ "DELETE", "/v1/vault/{}/{}", api_vault_delete, 0 },
	{ "GET", "/v1/grids/{}/jobs", api_job_list, 0 },
	{ "POST", "/v1/grids/{}/jobs", api_job_create, 0 },
	{ "GET", "/v1/jobs/{}/{}", api_job_show, 0 },
	{ "DELETE", "/v1/jobs/{}/{}", api_job_delete, 0 },
	{ "POST", "/v1/jobs/{}/{}/cancel", api_job_cancel, 0 },
	{ "GET", "/v1/jobs/{}/{}/logs", api_logs_job, 0 },
	/* node groups: api_nodegroups.c (docs/autoscaling.md) */
	{ "GET", "/v1/grids/{}/nodegroups", api_nodegroup_list, 0 },
	{ "POST", "/v1/grids/{}/nodegroups", api_nodegroup_create, 0 },
	{ "GET", "/v1/nodegroups/{}/{}", api_nodegroup_show, 0 },
	{ "PATCH", "/v1/nodegroups/{}/{}", api_nodegroup_patch, 0 },
	{ "DELETE", "/v1/nodegroups/{}/{}", api_nodegroup_delete, 0 },
	{ "GET", "/v1/nodegroups/{}/{}/machines", api_nodegroup_machines, 0 },
	{ "GET", "/v1/grids/{}/nodegroups/plan", api_nodegroup_plan_grid, 0 },
	{ "GET", "/v1/nodegroups/{}/{}/plan", api_nodegroup_plan, 0 },
	/* masters of a cluster: api_masters.c (docs/ha.md) */
	{ "GET", "/v1/masters", api_master_list, 0 },
	{ "POST", "/v1/masters/join-token", api_master_join_token, 0 },
	{ "POST", "/v1/masters/join", api_master_join, 1 },
	{ "DELETE", "/v1/masters/{}", api_master_delete, 0 },
	{ "GET", "/install/agent.sh", api_install_script, 1 },
	{ "GET", "/install/berth-agent", api_install_agent, 1 },
};

#define API_N_ROUTES (sizeof api_routes / sizeof api_routes[0])

void
api_print_routes(void)
{
	size_t i;

	for (i = 0; i < API_N_ROUTES; i++)
		printf("%s %s %s\n", api_routes[i].method,
		    api_routes[i].pattern, api_routes[i].open ? "open" : "auth");
}

/*
 * Match path against pattern; on success fill caps (pointers into the
 * scratch copy) and return 1.
 */
static int
api_match(const char *pattern, char *scratch, const char *path,
    const char **caps)
{
	const char *p = pattern;
	char *s;
	size_t ncap = 0, n;

	strcpy(scratch, path);
	s = scratch;
	for (;;) {
		if (*p == '\0' || *s == '\0')
			return *p == '\0' && *s == '\0';
		if (p[0] == '{' && p[1] == '}') {
			n = strcspn(s, "/");
			if (n == 0 || ncap == API_MAX_CAPTURES)
				return 0;
			caps[ncap++] = s;
			p += 2;
			s += n;
			if (*s == '/') {
				if (*p != '/')
					return 0;
				*s++ = '\0';
				p++;
			}
			continue;
		}
		if (*p != *s)
			return 0;
		p++;
		s++;
	}
}

/*
 * An error may quote what the client sent (a name, a key, a path part).
 * If that was a token pasted in the wrong place, the reply must not carry
 * it on into a terminal, a CI log or a proxy's log: every run of 64 or
 * more hex digits (a token's form) becomes "[hidden]", in place.
 */
#define API_TOKEN_RUN	64
static void
api_hide_tokens(char *text)
{
	char *r = text, *w = text, *run;

	while (*r != '\0') {
		if (!isxdigit((unsigned char)*r)) {
			*w++ = *r++;
			continue;
		}
		for (run = r; isxdigit((unsigned char)*r); r++)
			;
		if (r - run >= API_TOKEN_RUN) {
			memcpy(w, "[hidden]", 8);
			w += 8;
		} else {
			memmove(w, run, (size_t)(r - run));
			w += r - run;
		}
	}
	*w = '\0';
}

/*
 * MHD's upgrade callback, on an MHD thread once the 101 went out: the
 * exec relay takes the socket and the session.
 */
static void
api_upgraded(void *cls, struct MHD_Connection *conn, void *con_cls,
    const char *extra, size_t extra_len, MHD_socket sock,
    struct MHD_UpgradeResponseHandle *urh)
{
	struct api_upgrade *u = cls;
	struct exec_target *t = api_upgrade_take(u);

	api_upgrade_unref(u);
	if (t == NULL) {
		MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
		return;
	}
	exec_relay_adopt(t->relay, t, sock, extra, extra_len, urh);
}

/*
 * A reply body (taken: freed here or by MHD): gzip-compressed when it is
 * large and the client takes gzip (a browser always does; the CLI and
 * curl without --compressed do not, and get the bytes as before). A
 * 1,000-node list is about 550 KB of JSON and 40 KB compressed, which is
 * what a dashboard polling it every 2 s pays.
 */
#define API_GZIP_MIN	1024	/* smaller bodies go as they are */
static struct MHD_Response *
api_body(struct api_ctx *ctx, char *text, size_t len)
{
	struct MHD_Response *r;
	z_stream z;
	unsigned char *out;
	size_t cap;

	if (len < API_GZIP_MIN || !ui_takes_gzip(MHD_lookup_connection_value(
	    ctx->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING)))
		goto plain;
	memset(&z, 0, sizeof z);
	/* 15 + 16: a gzip wrapper; level 1: the CPU is the master's. */
	if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK)
		goto plain;
	cap = deflateBound(&z, (uLong)len);
	out = xmalloc(cap);
	z.next_in = (unsigned char *)text;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
		deflateEnd(&z);
		free(out);
		goto plain;
	}
	r = MHD_create_response_from_buffer(z.total_out, out,
	    MHD_RESPMEM_MUST_FREE);
	deflateEnd(&z);
	free(text);
	MHD_add_response_header(r, "Content-Encoding", "gzip");
	MHD_add_response_header(r, "Vary", "Accept-Encoding");
	return r;
plain:
	r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (len >= API_GZIP_MIN)
		MHD_add_response_header(r, "Vary", "Accept-Encoding");
	return r;
}

static void
api_send(struct api_ctx *ctx, const char *allow, struct api_req *req)
{
	struct MHD_Response *r;
	char *text;
	size_t len;
	int status = ctx->status ? ctx->status : 500;

	if (ctx->upgrade != NULL && status == 101) {
		struct api_upgrade *u = xcalloc(1, sizeof *u);

		atomic_init(&u->t, ctx->upgrade);
		atomic_init(&u->refs, 2);
		ctx->upgrade = NULL;
		req->up = u;
		r = MHD_create_response_for_upgrade(api_upgraded, u);
		MHD_add_response_header(r, "Upgrade", "websocket");
		MHD_add_response_header(r, "Sec-WebSocket-Accept",
		    ctx->upgrade_accept);
		MHD_queue_response(ctx->conn, 101, r);
		MHD_destroy_response(r);
		atomic_fetch_add(&ctx->m->api_status[101], 1);
		return;
	}
	if (ctx->out != NULL) {
		text = json_dumps(ctx->out, JSON_COMPACT |
		    JSON_REAL_PRECISION(10));
		if (text == NULL)
			text = xstrdup("{\"error\":\"cannot encode reply\"}");
		if (status >= 400)
			api_hide_tokens(text);
		len = strlen(text);
		r = api_body(ctx, text, len);
		MHD_add_response_header(r, "Content-Type", "application/json");
	} else if (ctx->out_text != NULL) {
		len = strlen(ctx->out_text);
		r = api_body(ctx, ctx->out_text, len);
		ctx->out_text = NULL;
		MHD_add_response_header(r, "Content-Type", ctx->out_type);
	} else if (ctx->out_stream != NULL) {
		/* MHD owns the state from here, even on failure. */
		r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN,
		    32 * 1024, ctx->out_stream, ctx->out_stream_arg,
		    ctx->out_stream_free);
		ctx->out_stream = NULL;
		if (r == NULL) {
			ctx->out_stream_free(ctx->out_stream_arg);
			status = 500;
			r = MHD_create_response_from_buffer(0, NULL,
			    MHD_RESPMEM_PERSISTENT);
		} else {
			MHD_add_response_header(r, "Content-Type",
			    ctx->out_type);
			/* Proxies must pass lines on as they come. */
			MHD_add_response_header(r, "Cache-Control", "no-cache");
			MHD_add_response_header(r, "X-Accel-Buffering", "no");
		}
	} else if (ctx->out_has_fd) {
		/* MHD owns the descriptor from here, even on failure. */
		r = MHD_create_response_from_fd64(ctx->out_size, ctx->out_fd);
		ctx->out_has_fd = 0;
		if (r == NULL) {
			close(ctx->out_fd);
			status = 500;
			r = MHD_create_response_from_buffer(0, NULL,
			    MHD_RESPMEM_PERSISTENT);
		} else
			MHD_add_response_header(r, "Content-Type",
			    ctx->out_type);
	} else
		r = MHD_create_response_from_buffer(0, NULL,
		    MHD_RESPMEM_PERSISTENT);
	if (allow != NULL)
		MHD_add_response_header(r, "Allow", allow);
	if (ctx->location != NULL) {
		MHD_add_response_header(r, "Location", ctx->location);
		free(ctx->location);
		ctx->location = NULL;
	}
	if (ctx->retry_after_s > 0) {
		char ra[16];

		snprintf(ra, sizeof ra, "%d", ctx->retry_after_s);
		MHD_add_response_header(r, "Retry-After", ra);
	}
	MHD_queue_response(ctx->conn, (unsigned int)status, r);
	MHD_destroy_response(r);
	if (status >= 100 && status < 600)
		atomic_fetch_add(&ctx->m->api_status[status], 1);
	json_decref(ctx->out);
	ctx->out = NULL;
	free(ctx->out_text);
	ctx->out_text = NULL;
	if (ctx->upgrade != NULL) {	/* replied otherwise after all */
		exec_relay_release(ctx->upgrade->relay);
		exec_target_free(ctx->upgrade);
		ctx->upgrade = NULL;
	}
}

void
api_reply(struct api_ctx *ctx, int status, json_t *body)
{
	if (ctx->status != 0) {
		log_error("api: %s %s replied twice", ctx->method, ctx->path);
		json_decref(body);
		return;
	}
	ctx->status = status;
	ctx->out = body;
}

void
api_reply_upgrade(struct api_ctx *ctx, struct exec_target *t,
    const char *accept)
{
	if (ctx->status != 0) {
		exec_relay_release(t->relay);
		exec_target_free(t);
		return;
	}
	ctx->status = 101;
	ctx->upgrade = t;
	snprintf(ctx->upgrade_accept, sizeof ctx->upgrade_accept, "%s",
	    accept);
}

void
api_reply_text(struct api_ctx *ctx, int status, const char *type,
    const char *text)
{
	if (ctx->status != 0)
		return;
	ctx->status = status;
	ctx->out_text = xstrdup(text);
	ctx->out_type = type;
}

void
api_reply_stream(struct api_ctx *ctx, int status, const char *type,
    api_stream_fn *fn, void *arg, void (*free_fn)(void *))
{
	if (ctx->status != 0) {
		free_fn(arg);
		return;
	}
	ctx->status = status;
	ctx->out_stream = fn;
	ctx->out_stream_arg = arg;
	ctx->out_stream_free = free_fn;
	ctx->out_type = type;
}

int
api_reply_file(struct api_ctx *ctx, int status, const char *type,
    const char *path)
{
	struct stat sb;
	int fd;

	if (ctx->status != 0)
		return 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		errno = EISDIR;		/* a directory or a device */
		return -1;
	}
	ctx->status = status;
	ctx->out_fd = fd;
	ctx->out_has_fd = 1;
	ctx->out_size = (uint64_t)sb.st_size;
	ctx->out_type = type;
	return 0;
}

/*
 * s as a JSON string. An error may quote input that is not UTF-8 (a JSON
 * parser's message, a name cut short by "%.80s"), which jansson refuses:
 * then every non-ASCII byte becomes '?', so the reply still says why.
 */
static json_t *
api_error_text(const char *s)
{
	json_t *v = json_string(s);
	char *copy, *p;

	if (v != NULL)
		return v;
	copy = xstrdup(s);
	for (p = copy; *p != '\0'; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	v = json_string(copy);
	free(copy);
	return v;
}

void
api_error(struct api_ctx *ctx, int status, const char *field,
    const char *fmt, ...)
{
	va_list ap;
	char *msg;
	json_t *o;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	o = json_object();
	json_object_set_new(o, "error", api_error_text(msg));
	if (field != NULL)
		json_object_set_new(o, "field", api_error_text(field));
	free(msg);
	api_reply(ctx, status, o);
}

void
api_store_error(struct api_ctx *ctx)
{
	/* Read before the rollback, which has a code of its own. */
	int full = (store_errcode(ctx->st) & 0xff) == STORE_FULL;

	log_error("api: %s %s: store: %s", ctx->method, ctx->path,
	    store_errmsg(ctx->st));
	store_rollback(ctx->st);
	/*
	 * A full disk is the operator's to fix, and the master's log may be
	 * on that disk too (it could not say so): the reply names it.
	 */
	if (full)
		api_error(ctx, 507, NULL, "the master's disk is full: the "
		    "store cannot write (free space where its --data-dir is; "
		    "reads still work)");
	else
		api_error(ctx, 500, NULL,
		    "internal error (see the master's log)");
}

json_t *
api_body_object(struct api_ctx *ctx)
{
	json_error_t jerr;
	json_t *v;

	if (ctx->body_len == 0) {
		api_error(ctx, 400, NULL, "request body is empty; expected a "
		    "JSON object");
		return NULL;
	}
	v = json_loadb(ctx->body, ctx->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (v == NULL) {
		api_error(ctx, 400, NULL, "malformed JSON at line %d column "
		    "%d: %s", jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		api_error(ctx, 400, NULL, "expected a JSON object");
		return NULL;
	}
	return v;
}

const char *
api_query(struct api_ctx *ctx, const char *key)
{
	if (ctx->conn == NULL)		/* a handler called without MHD */
		return NULL;
	return MHD_lookup_connection_value(ctx->conn, MHD_GET_ARGUMENT_KIND,
	    key);
}

int
api_grid(struct api_ctx *ctx, const char *name, struct grid *g)
{
	int rc = store_grid_get(ctx->st, name, g);

	if (rc == 1)
		return 0;
	if (rc == 0)
		api_error(ctx, 404, NULL, "no grid \"%s\"", name);
	else
		api_store_error(ctx);
	return -1;
}

int
api_only_keys(struct api_ctx *ctx, json_t *obj, const char *prefix,
    const char *const *allowed)
{
	const char *key, *const *a;
	json_t *v;
	char field[128];

	json_object_foreach(obj, key, v) {
		for (a = allowed; *a != NULL; a++)
			if (strcmp(*a, key) == 0)
				break;
		if (*a == NULL) {
			snprintf(field, sizeof field, "%s%s", prefix, key);
			api_error(ctx, 422, field, "unknown field \"%s\"", field);
			return -1;
		}
	}
	return 0;
}

static int
api_authorized(struct api_ctx *ctx)
{
	const char *h = MHD_lookup_connection_value(ctx->conn,
	    MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0 || h[7] == '\0') {
		api_error(ctx, 401, NULL, "missing bearer token (Authorization:"
		    " Bearer <operator token>)");
		return 0;
	}
	if (!token_check(h + 7, ctx->m->operator_hash, TOKEN_HASH_LEN)) {
		api_error(ctx, 403, NULL, "invalid operator token");
		return 0;
	}
	return 1;
}

const struct api_route *
api_route_find(const char *method, const char *path, char *scratch,
    const char **caps, char *allow, size_t allowlen, int *known)
{
	const struct api_route *r;
	const char *c[API_MAX_CAPTURES];
	size_t i;

	*known = 0;
	allow[0] = '\0';
	for (i = 0; i < API_N_ROUTES; i++) {
		r = &api_routes[i];
		memset(c, 0, sizeof c);
		if (!api_match(r->pattern, scratch, path, c))
			continue;
		*known = 1;
		if (strlen(allow) + strlen(r->method) + 3 < allowlen) {
			if (allow[0] != '\0')
				strcat(allow, ", ");
			strcat(allow, r->method);
		}
		if (strcmp(r->method, method) == 0 ||
		    (strcmp(method, "HEAD") == 0 &&
		    strcmp(r->method, "GET") == 0)) {
			memcpy(caps, c, sizeof c);
			return r;
		}
	}
	return NULL;
}

static void
api_dispatch(struct api_ctx *ctx, char *allow, size_t allowlen)
{
	const struct api_route *hit;
	char *scratch = xmalloc(strlen(ctx->path) + 1);
	int path_known;

	hit = api_route_find(ctx->method, ctx->path, scratch, ctx->cap, allow,
	    allowlen, &path_known);
	if (hit == NULL) {
		if (path_known)
			api_error(ctx, 405, NULL, "method %s not allowed on %s "
			    "(allowed: %s)", ctx->method, ctx->path, allow);
		else
			api_error(ctx, 404, NULL, "no route %s", ctx->path);
		free(scratch);
		return;
	}
	allow[0] = '\0';
	if (!hit->open && !api_authorized(ctx)) {
		free(scratch);
		return;
	}
	ctx->st = master_store(ctx->m);
	hit->fn(ctx);
	store_rollback(ctx->st);	/* a handler never leaves one open */
	if (ctx->status == 0) {
		log_error("api: %s %s: handler gave no reply", ctx->method,
		    ctx->path);
		api_error(ctx, 500, NULL, "internal error");
	}
	free(scratch);
}

/* One query argument, escaped again, onto the redirect's URL. */
static enum MHD_Result
api_query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	static const char hex[] = "0123456789ABCDEF";
	struct buf *b = cls;
	const char *parts[2] = { key, value };
	const unsigned char *p;
	int i;

	(void)kind;
	buf_append(b, b->len == 0 || memchr(b->data, '?', b->len) == NULL ?
	    "?" : "&", 1);
	for (i = 0; i < 2 && parts[i] != NULL; i++) {
		if (i == 1)
			buf_append(b, "=", 1);
		for (p = (const unsigned char *)parts[i]; *p != '\0'; p++) {
			if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' &&
			    *p <= 'z') || (*p >= '0' && *p <= '9') ||
			    strchr("-._~/:,", *p) != NULL)
				buf_append(b, (const char *)p, 1);
			else {
				char e[3] = { '%', hex[*p >> 4],
				    hex[*p & 15] };

				buf_append(b, e, 3);
			}
		}
	}
	return MHD_YES;
}

/*
 * A standby (docs/ha.md, "Roles") answers every request but /healthz and
 * /metrics with 307 to the same path and query on the leader's API URL,
 * or 503 with Retry-After while it knows no leader. 1 when answered.
 */
static int
api_standby(struct api_ctx *ctx, const char *url)
{
	char leader[256];
	struct buf b = { 0 };

	if (master_leads(ctx->m) || strcmp(url, "/healthz") == 0 ||
	    strcmp(url, "/metrics") == 0)
		return 0;
	master_leader_urls(ctx->m, leader, sizeof leader, NULL, 0);
	if (leader[0] == '\0') {
		ctx->retry_after_s = 1;
		api_error(ctx, 503, NULL, "this master is a standby and knows "
		    "no leader yet (an election?): try again");
		return 1;
	}
	buf_append(&b, leader, strlen(leader));
	buf_append(&b, url, strlen(url));
	MHD_get_connection_values(ctx->conn, MHD_GET_ARGUMENT_KIND,
	    api_query_arg, &b);
	buf_append(&b, "", 1);
	ctx->location = b.data;
	api_reply(ctx, 307, json_pack("{s:s, s:s}", "error", "this master is "
	    "a standby: send the request to the leader", "leader", leader));
	return 1;
}

/* A whole request: a standby's 307, the dashboard's files or the API. */
static void
api_serve(struct api *a, struct api_ctx *ctx, struct api_req *req,
    const char *url)
{
	char *path, allow[64];
	size_t n;

	if (api_standby(ctx, url)) {
		api_send(ctx, NULL, req);
		return;
	}
	/* The dashboard's files: "/", "/ui" and "/ui/..." (master/ui.c). */
	if ((n = (size_t)ui_serve(ctx->conn, ctx->method, url)) != 0) {
		atomic_fetch_add(&a->m->api_status[n], 1);
		return;
	}

	/* The whole request is here: normalise the path and dispatch. */
	path = xstrdup(url);
	n = strlen(path);
	if (n > 1 && path[n - 1] == '/')
		path[n - 1] = '\0';
	ctx->path = path;
	ctx->body = req->body.data ? req->body.data : "";
	ctx->body_len = req->body.len;
	ctx->content_type = MHD_lookup_connection_value(ctx->conn,
	    MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	api_dispatch(ctx, allow, sizeof allow);
	api_send(ctx, allow[0] != '\0' ? allow : NULL, req);
	free(path);
}

static enum MHD_Result
api_access(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	struct api *a = cls;
	struct api_req *req = *con_cls;
	struct api_ctx ctx;
	const char *cl;

	memset(&ctx, 0, sizeof ctx);
	ctx.m = a->m;
	ctx.conn = conn;
	ctx.method = method;
	ctx.path = url;
	if (req == NULL) {
		req = xcalloc(1, sizeof *req);
		*con_cls = req;
		cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl != NULL && strtoull(cl, NULL, 10) > API_MAX_BODY) {
			/* Refuse before reading; MHD closes the connection. */
			api_error(&ctx, 413, NULL, "request body over %d bytes",
			    API_MAX_BODY);
			api_send(&ctx, NULL, req);
			return MHD_YES;
		}
		return MHD_YES;
	}
	if (*upload_size != 0) {
		if (req->body.len + *upload_size > API_MAX_BODY)
			req->too_big = 1;
		else if (!req->too_big)
			buf_append(&req->body, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	if (req->too_big) {
		api_error(&ctx, 413, NULL, "request body over %d bytes",
		    API_MAX_BODY);
		api_send(&ctx, NULL, req);
		return MHD_YES;
	}

	/*
	 * Counted before the role is read: a leader's planned stop stands
	 * by, then waits for the requests it already took (role.c), so a
	 * write under way ends before the lead goes elsewhere.
	 */
	atomic_fetch_add(&a->m->api_busy, 1);
	api_serve(a, &ctx, req, url);
	atomic_fetch_sub(&a->m->api_busy, 1);
	return MHD_YES;
}

static void
api_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct api_req *req = *con_cls;

	if (req == NULL)
		return;
	if (req->up != NULL) {
		struct exec_target *t = api_upgrade_take(req->up);

		if (t != NULL) {	/* the upgrade never happened */
			exec_relay_release(t->relay);
			exec_target_free(t);
		}
		api_upgrade_unref(req->up);
	}
	buf_free(&req->body);
	free(req);
	*con_cls = NULL;
}

/*
 * Percent-decoding of the path and the query values, as MHD's own does,
 * except that "%00" stays as it is: a NUL in the middle would cut the
 * string short for every strcmp after it, so "/ui/app.js%00.png" would be
 * served as "/ui/app.js" and a name "a%00b" looked up as "a". Kept as
 * text, it matches no route, file or name (404, 422).
 */
static int
api_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static size_t
api_unescape(void *cls, struct MHD_Connection *conn, char *s)
{
	char *r = s, *w = s;
	int hi, lo;

	while (*r != '\0') {
		if (r[0] == '%' && (hi = api_hexval(r[1])) >= 0 &&
		    (lo = api_hexval(r[2])) >= 0 && (hi | lo) != 0) {
			*w++ = (char)(hi << 4 | lo);
			r += 3;
		} else
			*w++ = *r++;
	}
	*w = '\0';
	return (size_t)(w - s);
}

static void
api_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	vsnprintf(line, sizeof line, fmt, ap);
	n = strlen(line);
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	log_warn("api: mhd: %s", line);
}

struct api *
api_start(struct master *m, char **cause)
{
	struct addrinfo hints, *ai = NULL;
	struct MHD_OptionItem tls_opts[3];
	struct api *a;
	char *host = NULL, portstr[16];
	int port, flags, rc;

	if (config_split_listen(m->cfg.api_listen, &host, &port, cause) != 0)
		return NULL;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(portstr, sizeof portstr, "%d", port);
	rc = getaddrinfo(host[0] ? host : NULL, portstr, &hints, &ai);
	if (rc != 0) {
		xasprintf(cause, "--api-listen %s: %s", m->cfg.api_listen,
		    gai_strerror(rc));
		free(host);
		return NULL;
	}
	free(host);

	a = xcalloc(1, sizeof *a);
	a->m = m;
	pthread_mutex_init(&a->cache_lock, NULL);
	/*
	 * Suspend/resume: a log follower waits for lines without holding
	 * an API thread (master/api_logs.c). ALLOW_UPGRADE: exec sessions
	 * are websockets on this port.
	 */
	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	    MHD_USE_ERROR_LOG | MHD_USE_TURBO | MHD_ALLOW_SUSPEND_RESUME |
	    MHD_ALLOW_UPGRADE;
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (m->tls.on) {
		if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
			xasprintf(cause, "this libmicrohttpd has no TLS");
			freeaddrinfo(ai);
			free(a);
			return NULL;
		}
		flags |= MHD_USE_TLS;
	}
	/* Without TLS the two cert options are skipped: MHD_OPTION_ARRAY
	 * with an empty first entry ends the list there. */
	tls_opts[0] = (struct MHD_OptionItem){ m->tls.on ?
	    MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, m->tls.cert_pem };
	tls_opts[1] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0,
	    m->tls.key_pem };
	tls_opts[2] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
	a->d = MHD_start_daemon((unsigned int)flags, (uint16_t)port, NULL, NULL,
	    api_access, a,
	    MHD_OPTION_EXTERNAL_LOGGER, api_mhd_log, a,
	    MHD_OPTION_ARRAY, tls_opts,
	    MHD_OPTION_SOCK_ADDR, ai->ai_addr,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)m->cfg.api_threads,
	    MHD_OPTION_NOTIFY_COMPLETED, api_completed, a,
	    MHD_OPTION_UNESCAPE_CALLBACK, api_unescape, a,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)4096,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)256,
	    MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned int)1,
	    MHD_OPTION_END);
	freeaddrinfo(ai);
	if (a->d == NULL) {
		xasprintf(cause, "cannot serve the API on %s (address in use?)",
		    m->cfg.api_listen);
		free(a);
		return NULL;
	}
	return a;
}

void
api_stop(struct api *a)
{
	size_t i;

	if (a == NULL)
		return;
	/* MHD must not stop with a connection suspended: wake followers. */
	logstore_waiters_shutdown(a->m->logs);
	MHD_stop_daemon(a->d);
	for (i = 0; i < API_CACHE_SLOTS; i++)
		free(a->cache[i].text);
	pthread_mutex_destroy(&a->cache_lock);
	free(a);
}
