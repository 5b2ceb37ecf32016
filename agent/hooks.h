/*
 * hooks.h - a service's hooks: pre_start, post_start, pre_stop.
 *
 * Kontena's semantics (its agent's LifecycleHookManager), docs/hooks.md:
 *  - pre_start runs before the instance's container is created, in a
 *    container of its own made from the instance's create body with the
 *    entrypoint "/bin/sh -c <cmd>" (no restart policy, no host ports, no
 *    berth labels), started, waited for and removed: the instance's own
 *    container does not exist yet, so nothing can be exec'd in it;
 *  - post_start runs in the instance's container (Docker's exec API,
 *    "/bin/sh -c <cmd>") right after each start of it;
 *  - pre_stop runs there before the agent stops it (a stop, a replace,
 *    a restart for failed health checks); a failing pre_stop is reported
 *    but the stop goes on;
 *  - instances: "*" (every instance) or one instance number;
 *  - oneshot: once per instance for the service's lifetime (service ids
 *    are never reused), remembered in <data-dir>/hooks-done across agent
 *    restarts and redeploys; marked once run, whatever its result, as
 *    Kontena marked it when it chose to run it.
 * A pre_start or post_start hook that exits non-zero (or cannot run) fails
 * the instance: the start counts as failed (the container, if started, is
 * stopped again), the instance reports "error" with the hook's last output
 * lines, and the start is retried with the usual backoff.
 *
 * The workers run the hooks (each bounded by HOOK_TIMEOUT_S); the converge
 * thread chooses them (hook_done_*) and reports the last run of each
 * instance in its state frame ("hook"), which the master keeps and turns
 * into an instance.hook event.
 */
#ifndef BERTH_AGENT_HOOKS_H
#define BERTH_AGENT_HOOKS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/proto.h"

struct docker;

#define HOOK_TIMEOUT_S		300	/* one hook, at most */
#define HOOK_NAME_MAX		PROTO_MAX_HOOK_NAME /* bytes of a name */
#define HOOK_REPORT_MAX		PROTO_MAX_HOOK_RUNS /* runs in a report */

enum hook_type {
	HOOK_PRE_START,
	HOOK_POST_START,
	HOOK_PRE_STOP,
};

/* One hook of an instance (its instances filter already applied). */
struct hook {
	enum hook_type	 type;
	char		*name;		/* the stack file's name, or its cmd */
	char		*cmd;		/* run with /bin/sh -c */
	int		 oneshot;	/* once per instance, ever */
};

/* What one run of a hook did. */
struct hook_run {
	enum hook_type	 type;
	char		*name;
	int		 oneshot;	/* the hook is oneshot */
	int		 ok;		/* it ran and exited 0 */
	int		 exit_code;	/* -1: it could not run */
	char		*output;	/* its last lines (or why it could not
					   run), NULL if none */
	int64_t		 at;		/* epoch ms it ended */
};

const char *hook_type_name(enum hook_type t);

/*
 * The desired entry's "hooks" ({pre_start|post_start|pre_stop: [{name,
 * cmd, instances, oneshot}]}, null or absent) into the hooks of
 * instance `instance`. 0, or -1 with *cause naming the field.
 */
int	 hooks_parse(json_t *e, int64_t instance, struct hook **out,
	    size_t *n, char **cause);
void	 hooks_free(struct hook *h, size_t n);
/* Copy the hooks of type t out of h (for a worker's job). */
size_t	 hooks_pick(const struct hook *h, size_t n, enum hook_type t,
	    struct hook **out);

void	 hook_run_clear(struct hook_run *r);
void	 hook_run_copy(struct hook_run *dst, const struct hook_run *src);
/* "post_start hook NAME failed: exit code 3: <output>" */
char	*hook_run_failure(const struct hook_run *r);
/* The state frame's "hook" object. */
json_t	*hook_run_json(const struct hook_run *r);

/*
 * Run h in the running container id (exec, /bin/sh -c) and fill *out;
 * returns out->ok.
 */
int	 hook_exec(struct docker *d, const char *id, const struct hook *h,
	    struct hook_run *out);
/*
 * Run a pre_start hook in a container of its own made from body (the
 * instance's create body), called "<name>.pre_start"; fill *out; returns
 * out->ok.
 */
int	 hook_container(struct docker *d, const char *name, const char *body,
	    const struct hook *h, struct hook_run *out);

/* Oneshot hooks already run: keys "<service_id>/<instance>/<type>/<name>". */
struct hook_done;

struct hook_done *hook_done_load(const char *data_dir);
void	 hook_done_free(struct hook_done *d);
int	 hook_done_has(const struct hook_done *d, int64_t service_id,
	    int64_t instance, const struct hook *h);
/* Mark it (written to the file at once; a failed write is logged). */
void	 hook_done_add(struct hook_done *d, int64_t service_id,
	    int64_t instance, enum hook_type t, const char *name);

#endif
