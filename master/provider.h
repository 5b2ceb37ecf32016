/*
 * provider.h - the machine providers of node groups (docs/autoscaling.md).
 *
 * A provider creates, deletes and lists machines behind one small vtable
 * (struct provider): the scheduler thread (master/sched_groups.c) decides,
 * commits the machine's row with its event, then hands the provider a
 * self-contained request (struct provider_req: every string copied, the
 * group's settings copied, so nothing is shared with the round). The
 * answer (struct provider_res) is applied by the round: for a provider
 * that is `async` (exec, docker, aws-asg: programs and networks that may
 * take seconds or hang) the call runs on the provider threads
 * (master/provider_worker.c) and its result is queued to the scheduler,
 * which applies it on its next round, with the events; the `process`
 * provider's calls are quick system calls (fork, kill, /proc) and run in
 * the round itself, their results applied at once by the same code.
 *
 * Operations are those of an Auto Scaling group as much as of a single
 * machine:
 *	create	one request per machine (its single-use join token is in
 *		the request); a group-level provider (aws-asg) grows its
 *		desired capacity by the request's `count` and answers
 *		without an instance id: the id is learnt at join (the agent
 *		presents BERTH_PROVIDER_ID with the group's token, checked
 *		against `list`; join = PROVIDER_JOIN_INSTANCE).
 *	delete	one named machine: by the id the provider gave (exec,
 *		aws-asg: terminate that instance and decrement), or by the
 *		machine's name when create never answered with one; deleting
 *		what is already gone succeeds. `again` asks to be called once
 *		more (a process still stopping).
 *	list	the instances the provider has for the group, with their ids
 *		and the machine name each was created for (if it knows): the
 *		round finds orphans (an instance with no machine row) and
 *		lost machines with it.
 * A provider may also say whether it can run here (`available`), shown by
 * the API when a group is created.
 */
#ifndef BERTH_PROVIDER_H
#define BERTH_PROVIDER_H

#include "common/nodegroup_settings.h"

#include <stdint.h>
#include <sys/types.h>

#define PROVIDER_ID_MAX		256	/* an instance id, with its NUL */
#define PROVIDER_CAUSE_MAX	512	/* why a call failed */
#define PROVIDER_LABELS_MAX	4096	/* the node's labels, JSON array */

enum provider_op {
	PROVIDER_CREATE = 0,
	PROVIDER_DELETE,
	PROVIDER_LIST,
	PROVIDER_JOIN,		/* join = PROVIDER_JOIN_INSTANCE: check the
				 * instance id an agent presents (live member
				 * of the group), protect it, give its AZ */
};

/* How a machine's agent proves which machine it is. */
enum provider_join {
	PROVIDER_JOIN_TOKEN = 0,	/* a single-use token per machine */
	PROVIDER_JOIN_INSTANCE,		/* group token + instance id, checked
					 * against list (aws-asg) */
};

/* One call, self-contained: the worker needs nothing else. */
struct provider_req {
	enum provider_op	 op;
	int64_t			 grid_id;
	int64_t			 group_id;
	int64_t			 machine_id;	/* 0 for list */
	char			 grid[64];
	char			 group[64];
	char			 machine[64];	/* the machine's (and node's) name */
	char			 provider_id[PROVIDER_ID_MAX]; /* delete: the
						 * provider's id, "" unknown */
	int			 count;		/* create: machines (1 but for a
						 * group-level provider) */
	char			 token[128];	/* create: its join token (wiped
						 * once the call is made) */
	char			 url[600];	/* create: what the agent dials */
	char			 pin[128];	/* create: the master's key pin */
	char			 agent[NODEGROUP_AGENT_MAX]; /* process: binary */
	char			 data_dir[512];	/* process: its directory */
	char			 labels[PROVIDER_LABELS_MAX]; /* the node's */
	int64_t			 since_ms;	/* delete: ms since terminating;
						 * list (aws-asg): report failed
						 * launches since this epoch ms
						 * (0: none asked) */
	struct nodegroup_settings settings;	/* the group's, copied */
};

struct provider_instance {
	char			 id[PROVIDER_ID_MAX];
	char			 machine[64];	/* "" when not known */
};

struct provider_res {
	enum provider_op	 op;
	int64_t			 grid_id;
	int64_t			 group_id;
	int64_t			 machine_id;
	char			 machine[64];
	int			 ok;		/* the call did what it was asked */
	int			 nothing;	/* create failed, nothing was made
						 * (no delete needed) */
	int			 again;		/* delete: call again later */
	char			 id[PROVIDER_ID_MAX]; /* create: the instance */
	int64_t			 pid;		/* process: the agent's pid */
	char			 cause[PROVIDER_CAUSE_MAX]; /* when !ok */
	char			 az[64];	/* join: the instance's zone */
	char			 failed[PROVIDER_CAUSE_MAX]; /* list: a launch
						 * failed since since_ms: why */
	struct provider_instance *inst;		/* list (malloc'd) */
	size_t			 ninst;
};

struct provider {
	const char		*name;		/* "process", "exec" */
	int			 async;		/* calls on the provider threads */
	enum provider_join	 join;
	/* 1 when it can run on this host, else 0 with why (static text). */
	int			(*available)(const char **why);
	/* Each fills res (ok, or !ok with a cause); never blocks forever. */
	void			(*create)(const struct provider_req *req,
				    struct provider_res *res);
	void			(*delete)(const struct provider_req *req,
				    struct provider_res *res);
	void			(*list)(const struct provider_req *req,
				    struct provider_res *res);
	/* join = PROVIDER_JOIN_INSTANCE: is req->provider_id (what an
	 * agent presented) a live instance of the group? ok (protected,
	 * its zone in az), nothing (not one: refused), or a failed call. */
	void			(*join_check)(const struct provider_req *req,
				    struct provider_res *res);
};

/* The provider called name, or NULL (not in this build). */
const struct provider	*provider_find(const char *name);
/* Run req through p on this thread; res is filled (and zeroed first). */
void			 provider_call(const struct provider *p,
			    const struct provider_req *req,
			    struct provider_res *res);
void			 provider_res_clear(struct provider_res *res);

extern const struct provider provider_process;
extern const struct provider provider_exec;
extern const struct provider provider_docker;
extern const struct provider provider_aws_asg;

/* ---- the process provider's own calls (provider_process.c) ------------ */

struct provider_launch {
	const char	*agent;		/* berth-agent path */
	const char	*url;		/* ws:// or wss:// the agent dials */
	const char	*pin;		/* the master's key pin, or NULL */
	const char	*token;		/* the machine's join token */
	const char	*name;		/* node name */
	const char	*data_dir;	/* the machine's own directory */
	int64_t		 cpus;		/* BERTH_CPUS, 0 for the machine's */
	const char	*env;		/* extra "K=V K=V" for the agent */
};

/*
 * Start the agent: 0 with *pid, or -1 with *cause (nothing left
 * running). The agent's output goes to <data_dir>/agent.log.
 */
int	 provider_process_launch(const struct provider_launch *l, pid_t *pid,
	    char **cause);
/*
 * The running agent of data_dir: its pid, 0 when there is none, or -1
 * (errno) when it cannot be told. _at: on a /proc at proc (tests).
 */
pid_t	 provider_process_find(const char *data_dir);
pid_t	 provider_process_find_at(const char *proc, const char *data_dir);
/* Signal it (SIGTERM, or SIGKILL when force): 1 signalled, 0 none, -1
 * cannot tell (errno). */
int	 provider_process_stop(const char *data_dir, int force);
/* Remove data_dir and what is in it. 0 or -1. */
int	 provider_process_remove(const char *data_dir);
/* The last line of <data_dir>/agent.log (for events), or "". */
void	 provider_process_last_line(const char *data_dir, char *buf,
	    size_t len);

/* ---- the exec provider's runner (provider_exec.c) ---------------------- */

/*
 * Run program with argv[1] = op, input on its stdin; its stdout (at most
 * cap bytes) into *out (NUL-terminated, malloc'd). 0 when it exited 0;
 * else -1 with cause ("exit status 1: <last line of stderr>", "timed out
 * after 5s", "output over 65536 bytes"); *killed is 1 when it was killed
 * (timeout, output cap), so what it did is unknown.
 */
int	 provider_exec_run(const char *program, const char *op,
	    const char *input, int64_t timeout_ms, size_t cap, char **out,
	    char *cause, size_t causelen, int *killed);
/* The same with any argv (argv[0] looked up in PATH without a '/'). */
int	 provider_run_argv(char *const argv[], const char *op,
	    const char *input, int64_t timeout_ms, size_t cap, char **out,
	    char *cause, size_t causelen, int *killed);

#endif
