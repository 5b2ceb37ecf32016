/*
 * provider.h - the machine providers of node groups (docs/autoscaling.md).
 *
 * A provider creates, deletes and lists machines. This slice has the
 * `process` provider: berth-agent as a local process of its own session,
 * with its own data dir (the machine's), started with the machine's
 * single-use join token. Its calls are quick local system calls (fork,
 * kill, /proc), so the scheduler thread makes them after committing the
 * rows they act on; providers that talk to a network (exec, aws-asg)
 * will run on a worker thread and report back, so that no round waits
 * on them.
 *
 * The process's identity is its data dir: the agent runs with it as its
 * working directory and writes its pid there (agent.pid), so a master
 * that restarts finds what it started, and a pid reused by another
 * program is never signalled (/proc/PID/cwd must be the data dir).
 */
#ifndef BERTH_PROVIDER_H
#define BERTH_PROVIDER_H

#include <stdint.h>
#include <sys/types.h>

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
/* The running agent of data_dir, or 0 when there is none. */
pid_t	 provider_process_find(const char *data_dir);
/* Signal it (SIGTERM, or SIGKILL when force): 1 signalled, 0 none. */
int	 provider_process_stop(const char *data_dir, int force);
/* Remove data_dir and what is in it. 0 or -1. */
int	 provider_process_remove(const char *data_dir);
/* The last line of <data_dir>/agent.log (for events), or "". */
void	 provider_process_last_line(const char *data_dir, char *buf,
	    size_t len);

#endif
