/*
 * sched_int.h - the scheduler's private structures, shared by its .c files
 * and by nothing else (the interface is sched.h) but the white-box test
 * that corrupts them on purpose (tests/unit/test_sched_check.c).
 *
 * Layout (docs/scheduler.md has the picture):
 *  - nodes live in a slot array (stable index, holes reused) and a hash by
 *    id; each keeps its instance records and resource totals;
 *  - services live in an array sorted by id and a hash by id; each keeps
 *    its instance records and a lazily built bitmap over node slots of the
 *    nodes that pass its static hard filters (node/label affinity, the
 *    stateful-not-on-ephemeral rule);
 *  - instance records are in a hash by (service, number, node) and in both
 *    owners' arrays (each record knows its index in both, so removal is
 *    O(1) swap-remove).
 * During sched_plan() new placements are linked in as "tentative" records
 * so later decisions in the same round see them, and unlinked again (in
 * reverse order) before sched_plan() returns.
 *
 * Every invariant stated here and in the .c files' headers is checked by
 * sched_check() (sched_check.c); a new one belongs there too.
 */
#ifndef BERTH_SCHED_INT_H
#define BERTH_SCHED_INT_H

#include <stddef.h>
#include <stdint.h>

#include "common/affinity.h"
#include "scheduler/sched.h"

/* An intrusive hash-chain link; embedded in nodes, services, instances. */
struct sched_hent {
	struct sched_hent	*next;	/* next entry in the bucket */
	uint64_t		 h;	/* full hash of the entry's key */
};

/* A chained hash table of sched_hent; power-of-two buckets. */
struct sched_htab {
	struct sched_hent	**b;	/* buckets */
	size_t			  nb;	/* number of buckets (power of 2) */
	size_t			  n;	/* entries */
};

/* Host-port use on one node. */
struct sched_port_use {
	int	 port;		/* port number */
	int	 udp;		/* protocol */
	int	 count;		/* records using it (>1 only if forced in) */
};

struct sched_inst;
struct sched_job;

/*
 * What one placement asks of a node: everything the filters read. A
 * service holds one for all of its records and a job one for each of its
 * tasks (sched_job.c), so both pass the same filters and count against
 * the same node resources (sched_node_account()).
 */
struct sched_demand {
	char			*full;		/* its name in reasons (owned):
						 * "stack/name", "job build" */
	struct affinity		*rules;		/* parsed affinity rules */
	size_t			 nrules;	/* entries in rules */
	int			 nsoft;		/* soft rules among them */
	int			 has_dynamic;	/* a hard service/container rule */
	int64_t			 mcpus;		/* reserved, millicpus */
	int64_t			 mem_limit;	/* reserved, bytes */
	struct sched_port	*ports;		/* host ports it binds */
	size_t			 nports;	/* entries in ports */
	int			 stateful;	/* pinned, never ephemeral */
};

struct sched_node {
	struct sched_hent	 hent;		/* in s->node_hash, key id */
	char			*id;		/* unique id */
	char			*name;		/* human name (may equal id) */
	char			**labels;	/* "k=v" strings */
	size_t			 nlabels;	/* entries in labels */
	uint32_t		 slot;		/* index in s->nodes */
	int			 az;		/* index in s->azs (0: no az) */
	int			 ephemeral;	/* has a label with key ephemeral */
	int64_t			 mcpus;		/* capacity, millicpus; 0 = any */
	int64_t			 memory;	/* capacity bytes; 0 = any */
	int			 unmeasured;	/* capacity not reported yet */
	int			 online;	/* connected */
	int			 engine_down;	/* no Docker Engine: takes no new
						 * records (placements, moves) */
	int64_t			 joined_at_ms;	/* last came online */
	int64_t			 offline_since_ms; /* 0 while online */
	double			 load_cpu;	/* reported cpu % */
	int64_t			 load_mem;	/* reported bytes */
	int64_t			 used_mcpus;	/* sum over records here */
	int64_t			 used_mem;	/* sum over records here */
	struct sched_inst	**inst;		/* records on this node */
	size_t			 ninst;		/* entries in inst */
	size_t			 inst_cap;	/* allocated entries */
	struct sched_port_use	*ports;		/* host ports in use */
	size_t			 nports;	/* entries in ports */
	size_t			 ports_cap;	/* allocated entries */
	struct sched_job	**jobs;		/* job tasks assigned here */
	size_t			 njobs;		/* entries in jobs */
	size_t			 jobs_cap;	/* allocated entries */
	int			 doomed;	/* round: REMOVE_NODE planned */
	int			 cordoned;	/* takes no new records */
	int			 draining;	/* its records move off */
	int64_t			 drain_deadline_ms; /* then stopped; 0 none */
};

/*
 * A node that may take a new record (a placement, a move target, a daemon,
 * a job task): online, not being removed, its engine up, not cordoned.
 */
static inline int
sched_node_open(const struct sched_node *n)
{
	return n->online && !n->doomed && !n->engine_down && !n->cordoned;
}

/* Where a service stands in the current round. */
enum sched_pass {
	SCHED_PASS_NONE = 0,	/* nothing asked for a pass */
	SCHED_PASS_QUEUED,	/* its placement pass runs this round */
	SCHED_PASS_CHANGED,	/* the pass planned steps or left some unplaced:
				 * the balancer leaves it alone this round */
};

struct sched_service {
	struct sched_hent	 hent;		/* in s->svc_hash, key id */
	int64_t			 id;		/* store row id */
	char			*stack;		/* stack name, "" if none */
	char			*name;		/* service name */
	enum sched_strategy	 strategy;
	int			 instances;	/* wanted (daemon: per node) */
	struct sched_demand	 dm;		/* what each record asks of its
						 * node; dm.full is "stack/name" */
	double			 min_health;	/* 0..1 */
	int64_t			 rev;		/* informational */
	struct sched_inst	**inst;		/* its records */
	size_t			 ninst;		/* entries in inst */
	size_t			 inst_cap;	/* allocated entries */
	int			 nmoving;	/* records with move_target set */
	uint64_t		*elig;		/* bitmap over node slots */
	int			 elig_valid;	/* elig is built and kept */
	uint32_t		 nelig;		/* bits set in elig */
	int			*elig_az;	/* eligible nodes per az */
	int			 elig_az_cap;	/* entries in elig_az */
	int			 dirty;		/* in s->dirty: needs a pass */
	uint64_t		 dirty_gen;	/* s->gen when last dirtied */
	uint64_t		 version;	/* bumped on each change of it
						 * or of its records */
	uint64_t		 bal_epoch;	/* s->epoch when found balanced */
	uint64_t		 bal_version;	/* version when found balanced */
	uint64_t		 qb_version;	/* version when the quick check
						 * (counts only) said balanced */
	uint64_t		 qb_azmask;	/* azs with eligible nodes then */
	enum sched_pass		 pass;		/* round: this service's pass */
	int			 unplaced;	/* round: left something out
						 * (sched_apply clears it) */
	int			 started;	/* round: moves started */
};

struct sched_inst {
	struct sched_hent	 hent;		/* in s->inst_hash (not when
						 * tentative) */
	struct sched_service	*svc;		/* owner */
	struct sched_node	*node;		/* where it is */
	int			 no;		/* instance number, 1-based */
	enum sched_state	 state;		/* reported */
	int64_t			 created_at_ms;	/* placed at */
	int64_t			 moved_at_ms;	/* last moved, 0 never */
	int			 move_target;	/* replacement in a move */
	size_t			 svc_idx;	/* index in svc->inst */
	size_t			 node_idx;	/* index in node->inst */
	int			 tentative;	/* round: planned, not real */
	int			 doomed;	/* round: planned to go */
	int			 moving;	/* round: a move of it started
						 * or is in flight */
};

/*
 * One task of a job (sched_job.c). Queued (node NULL, in s->queue at
 * qidx) or assigned to a node (in node->jobs at node_idx, counted in the
 * node's used_mcpus/used_mem), and in s->job_hash either way.
 */
struct sched_job {
	struct sched_hent	 hent;		/* in s->job_hash, key (id, index) */
	int64_t			 id;		/* the job's store id */
	int			 index;		/* task index */
	char			*name;		/* job name */
	struct sched_demand	 dm;		/* what it asks of a node */
	int			 priority;	/* higher first */
	int64_t			 queued_at_ms;	/* FIFO within a priority */
	int64_t			 not_before_ms;	/* backoff: not placed before */
	struct sched_node	*node;		/* assigned there, or NULL */
	size_t			 node_idx;	/* index in node->jobs */
	size_t			 qidx;		/* index in s->queue (queued) */
	int			 tentative;	/* round: placed by this plan */
	int			 doomed;	/* round: planned JOB_LOST */
	enum sched_queue_why	 why;		/* last full pass: why queued */
	char			*reason;	/* and the sentence */
	int64_t			 due_ms;	/* and, for BACKOFF, until when */
	int			 changed;	/* that pass changed the reason */
	int			 why_changed;	/* ... and its kind */
};

struct sched {
	struct sched_settings	 set;		/* grid settings */
	struct sched_node	**nodes;	/* by slot; NULL = free slot */
	uint32_t		 nslots;	/* slots in use (high water) */
	uint32_t		 slot_cap;	/* allocated; bitmap width */
	uint32_t		*free_slots;	/* stack of free slots */
	uint32_t		 nfree;		/* entries in free_slots */
	size_t			 nnodes;	/* live nodes */
	struct sched_htab	 node_hash;	/* by id */
	struct sched_service	**svcs;		/* sorted by id */
	size_t			 nsvcs;		/* entries in svcs */
	size_t			 svcs_cap;	/* allocated entries */
	struct sched_htab	 svc_hash;	/* by id */
	struct sched_htab	 inst_hash;	/* by (svc, no, node) */
	size_t			 ninst;		/* real records */
	char			**azs;		/* az label values; [0] = "" */
	int			 naz;		/* entries in azs */
	struct sched_service	**dirty;	/* services needing a pass */
	size_t			 ndirty;	/* entries in dirty */
	size_t			 dirty_cap;	/* allocated entries */
	uint64_t		 gen;		/* bumped by every plan */
	uint64_t		 epoch;		/* bumped by whatever may
						 * unbalance a balanced service:
						 * nodes, their capacity, state
						 * or labels, settings, services,
						 * record removals, a node
						 * settling */
	int64_t			 last_plan_ms;	/* now_ms of the last plan */
	struct sched_htab	 job_hash;	/* job tasks by (id, index) */
	struct sched_job	**queue;	/* queued tasks; in queue order
						 * when queue_sorted; NULL: a
						 * hole (a task that left) */
	size_t			 nqueue;	/* entries in queue, holes too */
	size_t			 nholes;	/* NULL entries among them */
	size_t			 queue_cap;	/* allocated entries */
	int			 queue_sorted;	/* queue is in queue order */
	size_t			 njobs;		/* tasks, queued or assigned */
	uint64_t		 jobs_gen;	/* bumped by every job change */
	uint64_t		 jobs_seen_gen;	/* jobs_gen at the last full */
	uint64_t		 jobs_seen_epoch; /* and epoch, queue pass */
	int64_t			 jobs_due_ms;	/* a backoff ends: pass again */
	/* Scratch for one round (sized to slot_cap / naz). */
	int			*cnt;		/* per slot: records of the
						 * service being looked at; all
						 * zero between counts */
	int			*azcnt;		/* per az: likewise */
	int			 azcnt_cap;	/* entries in azcnt */
	struct sched_inst	**tent;		/* tentative records, in order */
	size_t			 ntent;		/* entries in tent */
	size_t			 tent_cap;	/* allocated entries */
	struct sched_inst	**marked;	/* records doomed/moving */
	size_t			 nmarked;	/* entries in marked */
	size_t			 marked_cap;	/* allocated entries */
	struct sched_job	**jtent;	/* tasks placed or doomed by the
						 * plan being made, in order */
	size_t			 njtent;	/* entries in jtent */
	size_t			 jtent_cap;	/* allocated entries */
	struct sched_job	**held;		/* per slot: the queued task a
						 * node is held for (job pass) */
	uint32_t		 held_cap;	/* entries in held */
};

/*
 * A draft: the plan one sched_plan() call is writing, with what the passes
 * that write it share (the options, the time, the seed, the move budget
 * left, the safety verdict). Lives on sched_plan()'s stack. (The master's
 * struct sched_round, in master/sched_round.c, is its own round over all
 * grids; this is one grid's plan in the making.)
 */
struct sched_draft {
	struct sched		*s;		/* the state */
	struct sched_plan	*plan;		/* being filled */
	const struct sched_opts	*opts;		/* never NULL */
	int64_t			 now;		/* now_ms */
	uint64_t		 seed;		/* the plan's seed */
	int			 moves_left;	/* round budget */
	int			 stand_down;	/* safety rule holds */
};

/* A node as reasons name it: its name, or its id if it has none. */
static inline const char *
sched_node_label(const struct sched_node *n)
{
	return n->name[0] != '\0' ? n->name : n->id;
}

/* sched_hash.c */
uint64_t	 sched_hash_str(const char *s);
uint64_t	 sched_hash_u64(uint64_t x);
uint64_t	 sched_hash_inst(int64_t svc_id, int no, uint32_t slot);
void		 sched_htab_init(struct sched_htab *t);
void		 sched_htab_free(struct sched_htab *t);
void		 sched_htab_add(struct sched_htab *t, struct sched_hent *e,
		    uint64_t h);
void		 sched_htab_del(struct sched_htab *t, struct sched_hent *e);
struct sched_hent *sched_htab_first(const struct sched_htab *t, uint64_t h);
uint64_t	 sched_rand_next(uint64_t *state);

/* sched_state.c */
struct sched_node	*sched_node_find(const struct sched *s, const char *id);
struct sched_service	*sched_service_find(const struct sched *s, int64_t id);
struct sched_inst	*sched_inst_find(const struct sched *s,
			    const struct sched_service *svc, int no,
			    const struct sched_node *node);
struct sched_inst	*sched_inst_link(struct sched *s,
			    struct sched_service *svc, struct sched_node *node,
			    int no, int tentative);
void			 sched_inst_unlink(struct sched *s,
			    struct sched_inst *i);
void			 sched_node_drop(struct sched *s,
			    struct sched_node *n);
void			 sched_service_dirty(struct sched *s,
			    struct sched_service *svc);
void			 sched_node_account(struct sched_node *n,
			    const struct sched_demand *d, int sign);

/* sched_filter.c: the filters read a demand (a service's, a job's). */
int		 sched_filter_rule(const struct affinity *a,
		    const struct sched_node *n);
int		 sched_filter_static(const struct sched_demand *d,
		    const struct sched_node *n);
int		 sched_filter_dynamic(const struct sched_demand *d,
		    const struct sched_node *n);
int		 sched_filter_fits(const struct sched_demand *d,
		    const struct sched_node *n);
int		 sched_filter_soft(const struct sched_demand *d,
		    const struct sched_node *n);
void		 sched_elig_build(struct sched *s, struct sched_service *svc);
void		 sched_elig_update(struct sched *s, struct sched_node *n,
		    int removing);
void		 sched_elig_grow(struct sched *s, uint32_t new_cap);
int		 sched_elig_has(const struct sched_service *svc,
		    uint32_t slot);
char		*sched_filter_why(const struct sched *s,
		    const struct sched_demand *d,
		    const char *(*pass)(void *, const struct sched_node *),
		    void *arg);
char		*sched_filter_why_node(const struct sched_demand *d,
		    const struct sched_node *n);

/* sched_emit.c */
void		 sched_emit_step(struct sched_draft *d,
		    enum sched_step_kind kind, struct sched_service *svc,
		    int no, const struct sched_node *node,
		    const struct sched_node *peer, const char *fmt, ...)
		    __attribute__((format(printf, 7, 8)));
struct sched_step *sched_emit_last(struct sched_draft *d);
void		 sched_emit_job_step(struct sched_draft *d,
		    enum sched_step_kind kind, const struct sched_job *j,
		    const struct sched_node *node, const char *fmt, ...)
		    __attribute__((format(printf, 5, 6)));
void		 sched_emit_queued(struct sched_draft *d,
		    const struct sched_job *j);
void		 sched_emit_unplaceable(struct sched_draft *d,
		    struct sched_service *svc, int no,
		    const struct sched_node *node, char *reason);
void		 sched_emit_mark(struct sched *s, struct sched_inst *i);
void		 sched_count(struct sched *s, struct sched_service *svc);
void		 sched_uncount(struct sched *s, struct sched_service *svc);

/* sched_place.c */
void		 sched_service_pass(struct sched_draft *d,
		    struct sched_service *svc);
int		 sched_inst_replaceable(const struct sched_draft *d,
		    const struct sched_inst *i);

/* sched_job.c */
void		 sched_job_pass(struct sched_draft *d);
void		 sched_job_undo(struct sched *s);
int		 sched_job_apply(struct sched *s, const struct sched_step *st,
		    char **cause);
void		 sched_job_drop_node(struct sched *s, struct sched_node *n);
void		 sched_job_free_all(struct sched *s);
struct sched_job *sched_job_find(const struct sched *s, int64_t id,
		    int index);

/* sched_drain.c: records on draining nodes (docs/nodes.md). */
enum sched_drain_act {
	SCHED_DRAIN_NONE = 0,	/* leave it (not draining, or waits) */
	SCHED_DRAIN_MOVE,	/* start a replacement elsewhere first */
	SCHED_DRAIN_NOW,	/* not running, or the deadline passed:
				 * replace it now (or stop it) */
};
int		 sched_drain_forced(const struct sched_draft *d,
		    const struct sched_node *n);
enum sched_drain_act sched_drain_want(const struct sched_draft *d,
		    const struct sched_inst *i);
int		 sched_drain_clear(const struct sched_node *n);
void		 sched_drain_queue(struct sched_draft *d);

/* sched_balance.c */
void		 sched_balance(struct sched_draft *d);
void		 sched_balance_load(struct sched_draft *d);

/*
 * sched_check.c. In BERTH_CHECK builds (make check), sched_plan() and
 * sched_apply() end with SCHED_CHECK_AFTER(s, "what"): sched_check() or
 * abort with the broken invariant. Release builds compile it out.
 */
void		 sched_check_abort(const struct sched *s, const char *after);
void		 sched_check_plan_abort(const struct sched *s,
		    const struct sched_plan *plan);
#ifdef BERTH_CHECK
#define SCHED_CHECK_AFTER(s, what)	sched_check_abort((s), (what))
#define SCHED_CHECK_PLAN(s, plan)	sched_check_plan_abort((s), (plan))
#else
#define SCHED_CHECK_AFTER(s, what)	do { } while (0)
#define SCHED_CHECK_PLAN(s, plan)	do { } while (0)
#endif

#endif
