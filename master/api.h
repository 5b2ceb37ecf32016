/*
 * api.h - the REST API: libmicrohttpd server, routing, auth, replies.
 *
 * api.c owns the server and the one table of routes; each resource has
 * its handlers in api_<resource>.c. A handler runs on an MHD pool thread,
 * gets a struct api_ctx with the path captures, query and parsed body, and
 * answers through api_reply() or api_error() exactly once. Status codes
 * and the error body shape ({"error", "field"?, "line"?}) are made only
 * here, so every route answers alike.
 */
#ifndef BERTH_API_H
#define BERTH_API_H

#include "master/master.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define API_MAX_BODY	(1024 * 1024)	/* larger bodies are 413 */
#define API_MAX_CAPTURES 4

struct MHD_Connection;
struct exec_target;

/*
 * A streamed reply's producer, libmicrohttpd's content reader: copy at
 * most max bytes into buf and return how many; 0 only after suspending
 * the connection (MHD_suspend_connection(), which needs the daemon's
 * suspend/resume support, on), API_STREAM_END at the end, API_STREAM_ERROR
 * to cut the connection. It runs on an API thread each time the socket
 * can take more.
 */
typedef ssize_t	 api_stream_fn(void *arg, uint64_t pos, char *buf, size_t max);
#define API_STREAM_END		((ssize_t)-1)	/* MHD_CONTENT_READER_... */
#define API_STREAM_ERROR	((ssize_t)-2)

struct api_ctx {
	struct master		*m;		/* the master */
	struct store		*st;		/* this thread's store */
	struct MHD_Connection	*conn;		/* for headers and query */
	const char		*method;	/* "GET", ... */
	const char		*path;		/* URL path, no query */
	const char		*cap[API_MAX_CAPTURES]; /* {} captures */
	const char		*body;		/* request body (NUL-ended) */
	size_t			 body_len;	/* its length */
	const char		*content_type;	/* header value, or NULL */

	int			 status;	/* reply status; 0 = none yet */
	json_t			*out;		/* reply JSON (owned) */
	char			*out_text;	/* or a text reply (owned) */
	const char		*out_type;	/* its content type */
	int			 out_fd;	/* or a file reply (owned), */
	int			 out_has_fd;	/* when this is 1 */
	uint64_t		 out_size;	/* its length */
	api_stream_fn		*out_stream;	/* or a streamed reply */
	void			*out_stream_arg; /* its state (owned) */
	void			(*out_stream_free)(void *); /* frees it */
	struct exec_target	*upgrade;	/* or a 101 to an exec session
						   (owned until adopted) */
	char			 upgrade_accept[32]; /* its Sec-WebSocket-Accept */
	char			*location;	/* a Location header (owned) */
	int			 retry_after_s;	/* a Retry-After header, or 0 */
};

/* Handlers. */
typedef void api_handler_fn(struct api_ctx *ctx);

struct api_route {
	const char	*method;	/* "GET", "POST", ... */
	const char	*pattern;	/* "/v1/grids/{}/nodes" */
	api_handler_fn	*fn;		/* the handler */
	int		 open;		/* 1: no operator token needed */
};

struct api	*api_start(struct master *m, char **cause);
void		 api_stop(struct api *a);	/* NULL is a no-op */
/* Print "METHOD PATTERN open|auth" for every route (for tests). */
void		 api_print_routes(void);
/*
 * The route for method and path, or NULL. scratch holds strlen(path) + 1
 * bytes; caps (API_MAX_CAPTURES) point into it. allow gets the path's
 * methods ("GET, PATCH"); *known is 1 when some route has the path.
 */
const struct api_route *api_route_find(const char *method, const char *path,
	    char *scratch, const char **caps, char *allow, size_t allowlen,
	    int *known);

/* Reply with JSON (takes ownership of body; NULL for no body). */
void	 api_reply(struct api_ctx *ctx, int status, json_t *body);
/*
 * Reply 101 Switching Protocols to a websocket: once sent, the socket and
 * t (taken) go to the exec relay (exec_relay_adopt()).
 */
void	 api_reply_upgrade(struct api_ctx *ctx, struct exec_target *t,
	    const char *accept);
/* Reply with text (copied). */
void	 api_reply_text(struct api_ctx *ctx, int status, const char *type,
	    const char *text);
/*
 * Reply with the regular file at path, streamed from its descriptor.
 * 0, or -1 (errno set, nothing replied) when it cannot be opened.
 */
int	 api_reply_file(struct api_ctx *ctx, int status, const char *type,
	    const char *path);
/*
 * Reply with a body of unknown length (chunked) that fn produces while the
 * client reads; arg is fn's state, freed by free_fn (on any thread) when
 * the reply is over or the client has gone.
 */
void	 api_reply_stream(struct api_ctx *ctx, int status, const char *type,
	    api_stream_fn *fn, void *arg, void (*free_fn)(void *));
/*
 * A small cache of reply texts, for lists that many clients poll: key is
 * the route's own (say "nodes:<grid id>"), gen the generation the text was
 * built at. api_cache_get() returns a copy (caller frees) when the cached
 * text is of generation gen, else NULL; api_cache_put() keeps a copy.
 */
char	*api_cache_get(struct api_ctx *ctx, const char *key, uint64_t gen);
void	 api_cache_put(struct api_ctx *ctx, const char *key, uint64_t gen,
	    const char *text);
/* Reply with an error body; field may be NULL. */
void	 api_error(struct api_ctx *ctx, int status, const char *field,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Reply 500 and log the store's error. */
void	 api_store_error(struct api_ctx *ctx);

/*
 * The body as a JSON object. On a malformed body or a non-object, replies
 * 400 naming the problem and returns NULL. The caller owns the result.
 */
json_t	*api_body_object(struct api_ctx *ctx);
/* A query argument, or NULL. */
const char *api_query(struct api_ctx *ctx, const char *key);
/*
 * Look up grid cap[0] into *g; replies 404 (or 500) and returns -1 when
 * it is not there.
 */
int	 api_grid(struct api_ctx *ctx, const char *name, struct grid *g);
/* Reject any key of obj not in allowed (NULL-ended): 422 naming it. */
int	 api_only_keys(struct api_ctx *ctx, json_t *obj, const char *prefix,
	    const char *const *allowed);

/* Route handlers, one file per resource. */
api_handler_fn api_healthz, api_metrics;
api_handler_fn api_master_list, api_master_delete, api_master_join_token,
    api_master_join;
api_handler_fn api_grid_list, api_grid_create, api_grid_show,
    api_grid_patch, api_grid_delete, api_grid_token_get,
    api_grid_token_rotate;
api_handler_fn api_node_list, api_node_show, api_node_patch,
    api_node_delete, api_node_token_reset;
/* Node operations (api_node_ops.c, docs/nodes.md). */
api_handler_fn api_node_cordon, api_node_uncordon, api_node_drain,
    api_node_protect, api_node_approve;
/* cap[0]/cap[1] as a grid and a node id (api_nodes.c); replies if not. */
struct grid;
int	 api_node_lookup(struct api_ctx *ctx, struct grid *g,
	    char id[NODE_ID_LEN + 1]);
api_handler_fn api_service_list, api_service_show, api_service_scale,
    api_service_containers;
api_handler_fn api_stack_list, api_stack_create, api_stack_show,
    api_stack_upgrade, api_stack_delete, api_stack_deploy,
    api_stack_deploy_show, api_stack_deploy_list;
api_handler_fn api_event_list;
api_handler_fn api_network_list, api_network_show;
api_handler_fn api_vault_list, api_vault_create, api_vault_read,
    api_vault_update, api_vault_delete;
api_handler_fn api_job_list, api_job_create, api_job_show, api_job_cancel,
    api_job_delete;
api_handler_fn api_logs_service, api_logs_stack, api_logs_container,
    api_logs_job;
api_handler_fn api_service_exec, api_container_exec;
api_handler_fn api_service_stop, api_service_start, api_service_restart,
    api_service_delete, api_stack_stop, api_stack_start, api_stack_restart;
api_handler_fn api_grid_cloud_config, api_install_script, api_install_agent;
api_handler_fn api_nodegroup_list, api_nodegroup_create, api_nodegroup_show,
    api_nodegroup_patch, api_nodegroup_delete, api_nodegroup_machines,
    api_nodegroup_plan, api_nodegroup_plan_grid;
/*
 * Why a cloud-config label= argument is refused, given the nprev accepted
 * before it; NULL when it is fine.
 */
const char *api_cloud_config_label(const char *value,
	    const char *const *prev, int nprev);

#endif
