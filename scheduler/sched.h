/*
 * sched.h - the pure scheduling library: a grid's nodes, services and
 * instance records in, a plan of steps (each with its reason) out.
 *
 * The master keeps one long-lived struct sched per grid on its scheduling
 * thread and keeps it in step with the store through the *_upsert and
 * *_remove calls; it never rebuilds it. Each round it calls sched_plan(),
 * writes the plan to the store, then calls sched_apply() with the same plan
 * so the in-memory view matches what it wrote. See docs/scheduler.md for the
 * round sequence, the semantics of every rule and the data structures.
 *
 * Pure: no I/O, no clock reads (time is the now_ms argument), no locks, no
 * globals. One struct sched must only be used by one thread at a time. The
 * same state (built by the same calls) with the same now_ms and seed gives
 * the same plan.
 *
 * Identity: a node by its string id (agent-generated); a service by its
 * integer id (the store's row id); an instance record by (service id,
 * instance_no, node id): during a start-before-stop move the same
 * instance_no exists on two nodes, the new one flagged move_target; a job
 * task by (job id, index): it is queued, or assigned to one node (where it
 * counts against the node's cpu and memory until it is removed).
 */
#ifndef BERTH_SCHED_H
#define BERTH_SCHED_H

#include <stddef.h>
#include <stdint.h>

struct sched;

enum sched_strategy {
	SCHED_HA = 0,		/* spread: az, then per-node count, then load */
	SCHED_RANDOM,		/* seeded uniform choice among eligible nodes */
	SCHED_DAEMON,		/* `instances` on every eligible node */
};

enum sched_state {
	SCHED_PENDING = 0,	/* placed, not yet reported running */
	SCHED_RUNNING,
	SCHED_STOPPED,
	SCHED_ERROR,
};

/* Grid settings in ms (sched_settings_from_grid()) and the tunables. */
struct sched_settings {
	int64_t	 ha_grace_ms;		/* ha instance on offline node: 120000 */
	int64_t	 random_grace_ms;	/* random instance likewise: 30000 */
	int64_t	 offline_after_ms;	/* the offline window (safety): 15000 */
	int64_t	 ephemeral_removal_ms;	/* reap offline ephemeral: 1200000 */
	int64_t	 settle_ms;		/* joined node attracts moves: 10000 */
	int64_t	 move_cooldown_ms;	/* a moved instance rests: 600000 */
	int64_t	 job_lost_ms;		/* job task on offline node: 120000 */
	int	 max_moves_per_service;	/* moves in flight per service: 1 */
	int	 max_moves_per_round;	/* moves started per round: 10 */
	double	 load_high;		/* cpu % above which a node is hot: 80 */
	double	 load_low;		/* cpu % below which a node is idle: 20 */
};

/* A node as the store knows it. All pointers are borrowed (copied in). */
struct sched_node_info {
	const char		 *id;		/* unique, e.g. 32 hex chars */
	const char		 *name;		/* human name, for node== and reasons */
	const char *const	 *labels;	/* "k=v" (or "k") strings */
	size_t			  nlabels;	/* entries in labels */
	double			  cpus;		/* capacity; 0 = not limited */
	int64_t			  memory;	/* bytes; 0 = not limited */
	int			  unmeasured;	/* 1: it has not reported its
						 * capacity yet: nothing that
						 * reserves cpu or memory goes
						 * there until it does */
	int			  online;	/* 1 if connected */
	int			  engine_down;	/* 1: its agent cannot reach its
						 * Docker Engine: no new records */
	int64_t			  joined_at_ms;	/* when it last came online */
	int64_t			  offline_since_ms; /* 0 while online */
	double			  load_cpu;	/* reported cpu use, 0-100 % */
	int64_t			  load_mem;	/* reported memory use, bytes */
	int			  cordoned;	/* 1: no new record of any kind
						 * (placement, move target,
						 * daemon, job task) goes there;
						 * what runs there stays */
	int			  draining;	/* 1 (with cordoned): its ha and
						 * random records move off
						 * start-before-stop, its
						 * daemons stop once nothing
						 * else (job tasks too) is left
						 * (docs/nodes.md) */
	int64_t			  drain_deadline_ms; /* draining: from this
						 * time on what is left is
						 * stopped at once (0: none) */
};

/* A host port a service binds on its node. */
struct sched_port {
	int	 port;		/* 1-65535 */
	int	 udp;		/* 1 for udp, 0 for tcp */
};

/* A service as the store knows it. All pointers are borrowed. */
struct sched_service_info {
	int64_t			  id;		/* store row id, > 0 */
	const char		 *stack;	/* stack name ("" if none) */
	const char		 *name;		/* service name */
	enum sched_strategy	  strategy;
	int			  instances;	/* wanted; daemon: per node */
	const char *const	 *affinity;	/* rules, common/affinity.h form */
	size_t			  naffinity;	/* entries in affinity */
	double			  cpus;		/* reserved per instance, 0 = none */
	int64_t			  mem_limit;	/* bytes per instance, 0 = none */
	const struct sched_port	 *ports;	/* host ports per instance */
	size_t			  nports;	/* entries in ports */
	int			  stateful;	/* pinned; never on ephemeral */
	double			  min_health;	/* 0..1, share kept running */
	int64_t			  rev;		/* revision; informational */
};

/* An instance record as the store knows it. */
struct sched_instance_info {
	int64_t			 service_id;	/* owning service */
	int			 instance_no;	/* 1-based */
	const char		*node_id;	/* where it is (borrowed) */
	enum sched_state	 state;		/* last reported state */
	int64_t			 created_at_ms;	/* when it was placed */
	int64_t			 moved_at_ms;	/* last move or 0 (cooldown) */
	int			 move_target;	/* 1: replacement in a move */
};

enum sched_step_kind {
	SCHED_STEP_PLACE = 0,	/* new instance service#no on node_id */
	SCHED_STEP_REMOVE,	/* stop and forget service#no on node_id */
	SCHED_STEP_MOVE,	/* service#no on peer_node_id is lost: forget
				 * it and place a new one on node_id now */
	SCHED_STEP_MOVE_START,	/* place a replacement of service#no on
				 * node_id (move_target); the one on
				 * peer_node_id stays until it runs */
	SCHED_STEP_REMOVE_NODE,	/* forget node_id and its instance records */
	SCHED_STEP_NOTE,	/* no action; reason says what and why */
	SCHED_STEP_JOB_ASSIGN,	/* run task job_id#instance_no on node_id */
	SCHED_STEP_JOB_LOST,	/* task job_id#instance_no on node_id is lost
				 * (node offline past job_lost_ms, or being
				 * removed): its attempt failed; forget it */
};

struct sched_step {
	enum sched_step_kind	 kind;
	int64_t			 service_id;	/* 0 for REMOVE_NODE, NOTE, JOB_* */
	int64_t			 job_id;	/* JOB_*: the job; else 0 */
	int			 instance_no;	/* JOB_*: the task index; 0 for
						 * REMOVE_NODE and NOTE */
	char			*node_id;	/* node acted on (NULL: NOTE) */
	char			*peer_node_id;	/* MOVE*: old node; REMOVE with
						 * completes_move: the node
						 * that keeps the number */
	int			 completes_move; /* REMOVE: old half of a done
						 * move; peer loses its
						 * move_target flag */
	int			 aborts_move;	/* REMOVE: a failed move target */
	char			*reason;	/* human sentence, for events */
};

/* An instance that could not be placed this round, and why. */
struct sched_unplaceable {
	int64_t	 service_id;
	int	 instance_no;
	char	*node_id;	/* daemon: the node it was wanted on; a failed
				 * replacement: the offline node it is still
				 * recorded on; a missing number: NULL */
	char	*reason;
};

/*
 * A job task as the store knows it. A job of parallelism N has N tasks,
 * index 0..N-1; each is queued (node_id NULL) or assigned to a node, where
 * it counts against the node's cpu and memory like an instance record. The
 * pointers are borrowed (copied in).
 */
struct sched_job_info {
	int64_t			  id;		/* the job's store id, > 0 */
	int			  index;	/* task index, >= 0 */
	const char		 *name;		/* job name, for reasons */
	int			  priority;	/* higher is placed first */
	int64_t			  queued_at_ms;	/* then first come, first served */
	int64_t			  not_before_ms; /* a retry's backoff, or 0 */
	const char *const	 *affinity;	/* rules, as a service's */
	size_t			  naffinity;	/* entries in affinity */
	double			  cpus;		/* reserved while it runs; 0 none */
	int64_t			  memory;	/* bytes reserved; 0 none */
	const char		 *node_id;	/* NULL: queued; else where it was
						 * assigned (assigned or running) */
};

/* Why a queued task was not placed this round. */
enum sched_queue_why {
	SCHED_QUEUE_NO_NODE = 0, /* no node passes its filters (affinity,
				 * offline, ...): more nodes would be needed */
	SCHED_QUEUE_FULL,	/* nodes pass its filters, none has room now */
	SCHED_QUEUE_BEHIND,	/* every node it could use is held for a task
				 * ahead of it in the queue */
	SCHED_QUEUE_BACKOFF,	/* a retry waiting out its backoff */
};

/*
 * A queued task that was not placed, and why: the plan lists every queued
 * task, in queue order (priority, then first come first served), so the
 * demand that more nodes would serve is read off the plan (what it needs,
 * and whether anything could take it).
 */
struct sched_queued {
	int64_t			 job_id;	/* the job */
	int			 index;		/* the task */
	int			 priority;	/* its priority */
	enum sched_queue_why	 why;		/* the kind of reason */
	double			 cpus;		/* what it needs */
	int64_t			 memory;
	int64_t			 due_ms;	/* BACKOFF: placed from then on */
	const char		*reason;	/* a sentence, for people;
						 * borrowed from the state: valid
						 * until the next sched_plan(),
						 * sched_apply() or job change */
	int			 changed;	/* reason differs from the one
						 * this task had in the plan
						 * before (or it is new) */
	int			 why_changed;	/* and so does its kind */
};

struct sched_opts {
	int	 dry_run;	/* flag the plan: the caller will not apply it */
	int	 balance_dry_run; /* rebalance/load moves and node removals
				 * become NOTE steps ("dry-run: would ...") */
	int	 no_balance;	/* skip step 6 (spread and load moves):
				 * sched_size()'s plans, which only read
				 * placements (a virtual node is never a
				 * move target: it has not settled) */
};

/* A plan: filled by sched_plan(), freed by sched_plan_clear(). */
struct sched_plan {
	struct sched_step	 *steps;	/* in the order to apply them */
	size_t			  nsteps;
	size_t			  steps_cap;	/* allocated entries */
	struct sched_unplaceable *unplaceable;	/* what did not fit */
	size_t			  nunplaceable;
	size_t			  unplaceable_cap; /* allocated entries */
	struct sched_queued	 *queued;	/* job tasks still queued */
	size_t			  nqueued;
	size_t			  queued_cap;	/* allocated entries */
	int64_t			  now_ms;	/* the time it was made for */
	uint64_t		  seed;		/* the seed it was made with */
	int			  dry_run;	/* copied from the options */
	int			  stand_down;	/* safety rule held this round */
	int			  nmoves;	/* MOVE_START steps (budgeted) */
	uint64_t		  gen;		/* state generation (internal) */
};

/* Lifecycle. sched_free(NULL) is a no-op. */
struct sched	*sched_new(void);
void		 sched_free(struct sched *s);

/* The defaults: a grid's shipped settings (common/grid_settings.c). */
void		 sched_settings_default(struct sched_settings *out);
/* A grid's settings (seconds) as the scheduler's (ms), tunables default. */
struct grid_settings;
void		 sched_settings_from_grid(const struct grid_settings *gs,
		    struct sched_settings *out);
void		 sched_settings_set(struct sched *s,
		    const struct sched_settings *set);
void		 sched_settings_get(const struct sched *s,
		    struct sched_settings *out);

/*
 * Keeping in step. Upserts copy what they need. A node or service change
 * marks only what it affects for the next round. Removing a node or a
 * service also forgets its instance records. Instance upserts name a known
 * service and node. All return 0, or -1 with *cause (caller frees; cause
 * may be NULL).
 */
int		 sched_node_upsert(struct sched *s,
		    const struct sched_node_info *n, char **cause);
int		 sched_node_load(struct sched *s, const char *id,
		    double load_cpu, int64_t load_mem);
int		 sched_node_remove(struct sched *s, const char *id);
int		 sched_service_upsert(struct sched *s,
		    const struct sched_service_info *svc, char **cause);
int		 sched_service_remove(struct sched *s, int64_t id);
int		 sched_instance_upsert(struct sched *s,
		    const struct sched_instance_info *inst, char **cause);
int		 sched_instance_remove(struct sched *s, int64_t service_id,
		    int instance_no, const char *node_id);

/*
 * Job tasks. An upsert adds a task or changes it (queued -> assigned when
 * node_id is set; its priority, backoff or demand); node_id must name a
 * known node. Remove a task once it finished, was cancelled or its job was
 * deleted: its node's resources are free again. A task assigned by a plan
 * (JOB_ASSIGN) is on its node after sched_apply(); one planned JOB_LOST is
 * gone (the caller upserts it again if it is to be retried). Upsert: 0, or
 * -1 with *cause; remove: 0, or -1 if there is no such task.
 */
int		 sched_job_upsert(struct sched *s,
		    const struct sched_job_info *j, char **cause);
int		 sched_job_remove(struct sched *s, int64_t id, int index);
/* Tasks known, and those of them queued. */
size_t		 sched_job_count(const struct sched *s);
size_t		 sched_job_queued(const struct sched *s);
/*
 * Every task into *out (caller frees the array): name and node_id are
 * borrowed from s (valid until s next changes), affinity is not given.
 */
size_t		 sched_job_list(const struct sched *s,
		    struct sched_job_info **out);

/*
 * Reading back (tests, the master's consistency checks). The list is a new
 * array the caller frees; its node_id pointers are borrowed from s and stay
 * valid until s next changes. service_id 0 lists every service.
 */
size_t		 sched_instance_list(const struct sched *s,
		    int64_t service_id, struct sched_instance_info **out);
size_t		 sched_node_count(const struct sched *s);
/* 1 if node id is known here with its capacity reported, else 0. */
int		 sched_node_measured(const struct sched *s, const char *id);

/*
 * Plan one round at now_ms. Does not change what the upserts described
 * (only internal caches); out is overwritten (call sched_plan_clear() on
 * it first if it was used). opts may be NULL. Returns 0.
 */
int		 sched_plan(struct sched *s, int64_t now_ms, uint64_t seed,
		    const struct sched_opts *opts, struct sched_plan *out);
/*
 * Apply a plan made by sched_plan() on this s to the in-memory state:
 * placements appear as pending instances created at plan->now_ms, removals
 * disappear, removed nodes go with their records. Steps that no longer fit
 * (their node or service was removed meanwhile) are skipped: -1 with *cause
 * naming the first, after applying the rest.
 */
int		 sched_apply(struct sched *s, const struct sched_plan *plan,
		    char **cause);
void		 sched_plan_init(struct sched_plan *plan);
void		 sched_plan_clear(struct sched_plan *plan);
/* Steps other than NOTE. */
size_t		 sched_plan_nactions(const struct sched_plan *plan);

/*
 * Check every invariant of the in-memory state (docs/scheduler.md, "Data
 * structures"): 0, or -1 with *cause (caller frees; cause may be NULL)
 * naming the first broken one. Call it between calls, not from inside
 * them. O(records + nodes x services): for tests and check builds.
 */
int		 sched_check(const struct sched *s, char **cause);

const char	*sched_step_kind_name(enum sched_step_kind kind);
const char	*sched_strategy_name(enum sched_strategy strategy);
const char	*sched_state_name(enum sched_state state);
const char	*sched_queue_why_name(enum sched_queue_why why);

/*
 * Sizing a scale-up (node groups, docs/autoscaling.md). Each group is a
 * template for new nodes: labels, cpus and memory. sched_size() adds
 * virtual nodes built from the templates to s, plans with the real
 * planner, reads what landed on them, and removes them again: s is left
 * as it was (job tasks keep their queue reasons). Demand is what a plan
 * cannot place: ha and random instance numbers, and queued job tasks that
 * no node can take (not those waiting out a backoff). Daemons make no
 * demand, but they are placed on virtual nodes like on real ones, so
 * their reservations count.
 *
 * First every group's `upcoming` machines (launched, not yet measured)
 * join as virtual nodes: demand they absorb launches nothing. Then the
 * groups in the order given (the caller sorts by priority): each gets up
 * to `headroom` more virtual nodes; the smallest number of them that
 * serves as much as all of them would is its launch count, and they stay
 * while the next group is tried, so what one group cannot take overflows
 * to the next.
 */
struct sched_size_group {
	const char		 *name;		/* the group's name */
	const char *const	 *labels;	/* every node's labels */
	size_t			  nlabels;
	double			  cpus;		/* template; 0 = not limited */
	int64_t			  memory;	/* bytes; 0 = not limited */
	int			  upcoming;	/* machines on their way */
	int			  headroom;	/* more it may launch now */
};

struct sched_size_result {
	int		*launch;	/* per group: nodes to launch (the
					 * caller's array of ngroups) */
	int		 demand;	/* instances and tasks wanting a node */
	int		 served;	/* of them, placed on virtual nodes */
	int		 plans;		/* sched_plan() calls it took */
	char		*unserved;	/* why the first item no group serves
					 * cannot be placed (malloc'd), or
					 * NULL when all are served */
	int64_t		*services;	/* services with numbers placed on
					 * virtual nodes: they wait for
					 * capacity (malloc'd, or NULL) */
	size_t		 nservices;
	int		*upcoming_used;	/* per group, or NULL: of its machines
					 * on their way, how many demand
					 * takes (the rest will be idle:
					 * node groups' spare) */
};

/* 0 (out filled; free out->unserved, out->services), or -1 with *cause. */
int		 sched_size(struct sched *s, const struct sched_size_group *g,
		    size_t ngroups, int64_t now_ms, uint64_t seed,
		    struct sched_size_result *out, char **cause);

/*
 * Scale-in of a node that is not empty (node groups): would its ha and
 * random records all fit elsewhere if it were drained? Each is tried, in
 * turn, on the open nodes (online, not cordoned, engine up) other than
 * node_id, with its service's filters, cpu, memory and ports, counting
 * those tried before it; s is left as it was. A job task there, or a
 * stateful record, keeps the node (a drain would wait for the one and
 * cannot move the other). 1: they fit; 0: they do not (*why, malloc'd, says
 * which one and why; why may be NULL); -1: no such node.
 */
int		 sched_drain_fits(struct sched *s, const char *node_id,
		    char **why);

/*
 * Set a node's cordon and drain as sched_node_upsert() would, its other
 * fields kept (for simulations: "would this node help if its drain were
 * cancelled?"). 0, or -1 when there is no such node.
 */
int		 sched_node_cordon(struct sched *s, const char *node_id,
		    int cordoned, int draining, int64_t drain_deadline_ms);

/*
 * Check a plan against the state it was made from (before sched_apply):
 * no step adds a record (PLACE, MOVE, MOVE_START, JOB_ASSIGN) on a node
 * that is cordoned (or draining), and a draining node is cordoned. 0, or
 * -1 with *cause.
 * Check builds run it after every sched_plan().
 */
int		 sched_check_plan(const struct sched *s,
		    const struct sched_plan *plan, char **cause);

#endif
