/*
 * observe.h - what Docker shows this node, read for one converge pass.
 *
 * The reading half of converge: the list of the node's own containers
 * (label berth.node=<node id>, re-checked here), their inspect results
 * (cached per container until its listed state changes or the cache
 * lifetime passes) and, once per pass and image, whether an image is
 * present. Converge thread only; it lends its struct docker. Nothing here
 * decides anything: decide.h does that, from what this returns.
 *
 * A pass: observe_list(), then observe_inspect() / observe_image() as the
 * decisions need them, then observe_done() (drops the cache entries of
 * containers no longer looked at, forgets the image checks). The parsers
 * (observe_parse_list(), observe_parse_inspect()) are pure, for tests.
 */
#ifndef BERTH_AGENT_OBSERVE_H
#define BERTH_AGENT_OBSERVE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "agent/plan.h"

struct docker;

/* One listed container of this node. */
struct observe_container {
	char		*id;		/* Docker id */
	char		*name;		/* without the leading '/' */
	struct plan_actual a;		/* labels and state, for the plan */
	int		 list_exit;	/* exit code the list's Status gives
					   ("Exited (3) 2 seconds ago"), or
					   -1: an exited job often needs no
					   inspect (jobrun.h) */
};

/* A pass's list. */
struct observe_list {
	struct observe_container *c;	/* listed containers, list order */
	size_t		 n;		/* how many */
};

/* What an inspect of one container said (cached). */
struct observe_inspect {
	char		*id;		/* container id */
	enum plan_state	 state;		/* its listed state when inspected */
	int		 exit_code;	/* State.ExitCode of the last exit */
	int		 exit_known;	/* an inspect saw it exited (Docker
					   zeroes ExitCode when it restarts) */
	int		 restart_count;	/* RestartCount (Docker's policy) */
	int		 pid;		/* State.Pid, 0 if not running */
	char		*started_at;	/* State.StartedAt, NULL if unknown */
	int64_t		 started_ms;	/* the same in epoch ms, 0 unknown */
	long long	 created_s;	/* Created, epoch seconds (0 unknown) */
	char		*finished_at;	/* State.FinishedAt of the last exit,
					   NULL if it never exited */
	int		 healthy;	/* State.Health.Status is "healthy"
					   (a health check passed) */
	char		*last_output;	/* last lines logged before the exit
					   at finished_at, NULL if none */
	char		*output_for;	/* the finished_at they are for */
	int		 oom_killed;	/* State.OOMKilled */
	int		 host_net;	/* HostConfig.NetworkMode is "host" */
	char		*ip;		/* its IPv4 on its network (Network-
					   Settings), NULL if none: health
					   probes connect there */
	char		*ip_net;	/* the network ip is on ("bridge"
					   for the default one), or NULL */
	int64_t		 at;		/* mono ms of the inspect, -1: stale */
	int		 live;		/* looked at in this pass */
};

struct observe;

/* d is borrowed (the converge thread's); cache_ms: inspect lifetime. */
struct observe *observe_new(struct docker *d, const char *node_id,
	    int64_t cache_ms);
void	 observe_free(struct observe *o);

/* List the node's containers into *l; -1 with *cause if Docker fails. */
int	 observe_list(struct observe *o, struct observe_list *l,
	    char **cause);
/* Free a list's entries; the list is empty afterwards. */
void	 observe_list_clear(struct observe_list *l);
/* 1 if a listed container is called name (an old one being removed). */
int	 observe_name_taken(const struct observe_list *l, const char *name);

/*
 * The inspect of a listed container: the cached one while it is fresh,
 * else a new one (on failure the old figures stay; never NULL). The
 * pointer is valid until the next observe_inspect() or observe_done().
 */
const struct observe_inspect *observe_inspect(struct observe *o,
	    const struct observe_container *c, int64_t now);
/* Inspect this container again on its next observe_inspect(). */
void	 observe_stale(struct observe *o, const char *id);
/*
 * Is image present? 1 yes, 0 no, -1 with *cause (caller frees) if the
 * engine could not say. Asked of the engine once per pass and image.
 */
int	 observe_image(struct observe *o, const char *image, char **cause);
/* The pass ended: prune the inspect cache, forget the image checks. */
void	 observe_done(struct observe *o);

/* Pure: the list answer -> the containers labelled berth.node=node_id. */
void	 observe_parse_list(json_t *arr, const char *node_id,
	    struct observe_list *l);
/* Pure: an inspect answer into ins (listed state, time of the inspect). */
void	 observe_parse_inspect(json_t *o, enum plan_state state, int64_t now,
	    struct observe_inspect *ins);
/*
 * Pure: the last lines of a logs answer (Docker's multiplexed stream, or
 * raw text from a container with a terminal): at most OBSERVE_OUTPUT_LINES
 * lines, PROTO_MAX_OUTPUT bytes, bytes outside printable ASCII as '?'.
 * NULL when it holds no text.
 */
char	*observe_parse_logs(const char *data, size_t len);

#define OBSERVE_OUTPUT_LINES	5	/* last lines kept of an exit */

#endif
