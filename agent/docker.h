/*
 * docker.h - a small Docker Engine API client over the unix socket.
 *
 * One struct docker per thread (it owns a CURL easy handle). Every call is
 * synchronous with a bounded time, and aborts early when *stop becomes
 * non-zero, so shutdown never waits for a slow engine. Errors come back as
 * -1 with *cause holding the engine's own message when it gave one.
 */
#ifndef BERTH_AGENT_DOCKER_H
#define BERTH_AGENT_DOCKER_H

#include <stdatomic.h>

#include <jansson.h>

#include "common/util.h"

struct docker;

/* docker_create() result when the engine lacks the image. */
#define DOCKER_NO_IMAGE	(-2)
/*
 * A create, start, stop or remove that got no answer (a timeout, the
 * connection lost): the engine may still have done it. Jobs must not take
 * it for a refusal (jobrun.h): the container list says what happened.
 */
#define DOCKER_NO_ANSWER (-3)
/* docker_create() result when a container already has the name (409). */
#define DOCKER_NAME_TAKEN (-4)

/* stop: the owner's shutdown flag (read by curl's progress callback). */
struct docker *docker_new(const char *socket_path, const atomic_int *stop);
void	 docker_free(struct docker *d);

/* The API version this client speaks ("1.41"), for URLs made elsewhere. */
const char *docker_api_version(const struct docker *d);
/* Engine version (e.g. "20.10.24"); also picks the API version to speak. */
int	 docker_version(struct docker *d, char **version, char **cause);
/* 1 if the image is present locally, 0 if not, -1 on error. */
int	 docker_image_exists(struct docker *d, const char *image, char **cause);
/* Pull image; fails on an error line in the stream even with HTTP 200. */
int	 docker_pull(struct docker *d, const char *image, char **cause);
/* Create a container named name from a JSON body; *id on success. */
int	 docker_create(struct docker *d, const char *name, const char *body,
	    char **id, char **cause);
int	 docker_start(struct docker *d, const char *id, char **cause);
/* Stop with grace: timeout_s < 0 uses the container's own StopTimeout. */
int	 docker_stop(struct docker *d, const char *id, int timeout_s,
	    char **cause);
/* Remove with force, and its anonymous volumes. Absent is success. */
/* POST /containers/{id}/restart: stop with its own StopTimeout, start. */
int	 docker_restart(struct docker *d, const char *id, char **cause);
/* POST /containers/{id}/wait: its exit code once it exits (timeout_s). */
int	 docker_wait(struct docker *d, const char *id, long timeout_s,
	    int *code, char **cause);
int	 docker_remove(struct docker *d, const char *id, char **cause);
/* Every container (any state) labelled berth.node=node_id: a JSON array. */
json_t	*docker_list(struct docker *d, const char *node_id, char **cause);
/*
 * The last tail lines a container logged (stdout and stderr, Docker's
 * stream as it comes: multiplexed unless it has a terminal): *data (not
 * NUL-terminated, caller frees) and *len.
 */
int	 docker_logs_tail(struct docker *d, const char *id, int tail,
	    char **data, size_t *len, char **cause);
/*
 * The exit code of the container's last exit, from the engine's events
 * (the "die" events of it since since_s, epoch seconds, up to now): an
 * inspect of a container Docker has restarted already says 0. 1 and
 * *code, 0 if none was found, -1 on error.
 */
int	 docker_last_exit(struct docker *d, const char *id, long long since_s,
	    int *code, char **cause);
/* Every container labelled key=value (all states); NULL with *cause. */
json_t	*docker_list_label(struct docker *d, const char *key,
	    const char *value, char **cause);
/* GET /containers/{id}/json. */
json_t	*docker_inspect(struct docker *d, const char *id, char **cause);

/*
 * Exec (agent/exec.c). create: POST /containers/{c}/exec with body (the
 * ExecConfig JSON), *exec_id. attach: POST /exec/{id}/start on a
 * connection of its own that the engine then hands over ("hijack"): *fd
 * carries the raw stream both ways (multiplexed with 8-byte headers
 * unless tty), *extra any stream bytes read with the answer; the caller
 * closes *fd. resize: the exec's pseudo-terminal. inspect: whether it
 * runs, its exit code (-1 while running) and its process id on the host.
 */
int	 docker_exec_create(struct docker *d, const char *container,
	    const char *body, char **exec_id, char **cause);
int	 docker_exec_attach(struct docker *d, const char *exec_id, int tty,
	    int *fd, struct buf *extra, char **cause);
int	 docker_exec_resize(struct docker *d, const char *exec_id, int rows,
	    int cols, char **cause);
int	 docker_exec_inspect(struct docker *d, const char *exec_id,
	    int *running, int *exit_code, int *pid, char **cause);

/* Split an image reference into fromImage and tag for a pull. */
void	 docker_split_image(const char *image, char **from, char **tag);

/*
 * Networks (agent/netplane.c): inspect gives 1 and *out, 0 when there is
 * no such network, -1; create takes the API's JSON body and gives 0, -1
 * when the engine could not be asked or failed (5xx: try again), or -2
 * when it refused the network (4xx but 409: an overlapping subnet);
 * remove of an absent network is success.
 */
int	 docker_network_inspect(struct docker *d, const char *name,
	    json_t **out, char **cause);
int	 docker_network_create(struct docker *d, const char *body,
	    char **cause);
int	 docker_network_remove(struct docker *d, const char *name,
	    char **cause);

#endif
