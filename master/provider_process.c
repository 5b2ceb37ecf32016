/*
 * provider_process.c - the process provider (see provider.h).
 *
 * Launch forks twice: the intermediate child exits at once, so the agent
 * is nobody's zombie (init or a subreaper adopts it) and the master never
 * has to reap it; the agent calls setsid(), so SIGTERM reaches its whole
 * process group and a terminal's ^C does not. Everything the child needs
 * (paths, environment) is built before the fork: between fork and exec
 * only async-signal-safe calls run (the master is threaded). A pipe
 * closed on exec tells the parent whether the exec worked.
 */
#include "master/provider.h"

#include "common/util.h"
#include "common/xmalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Write v in decimal with write(2) only (async-signal-safe). */
static void
pp_write_num(int fd, long v)
{
	char buf[24];
	int i = (int)sizeof buf;

	buf[--i] = '\n';
	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0 && i > 0);
	(void)!write(fd, buf + i, sizeof buf - (size_t)i);
}

static void
pp_env_add(char ***env, size_t *n, const char *fmt, const char *v)
{
	*env = xreallocarray(*env, *n + 2, sizeof **env);
	xasprintf(&(*env)[(*n)++], fmt, v);
	(*env)[*n] = NULL;
}

int
provider_process_launch(const struct provider_launch *l, pid_t *pid,
    char **cause)
{
	char **env = NULL, *extra, *w, *save = NULL, *log_path, *pid_path;
	char *pid_tmp;
	char *argv[2], cpus[24];
	const char *path = getenv("PATH");
	size_t n = 0, i;
	int pfd[2], status, err = 0, rc = -1;
	sigset_t all;
	pid_t child;
	long got = 0;
	ssize_t r;

	if (mkdir(l->data_dir, 0700) != 0 && errno != EEXIST) {
		xasprintf(cause, "cannot make %s: %s", l->data_dir,
		    strerror(errno));
		return -1;
	}
	if (access(l->agent, X_OK) != 0) {
		xasprintf(cause, "cannot run %s: %s", l->agent,
		    strerror(errno));
		return -1;
	}
	pp_env_add(&env, &n, "PATH=%s", path != NULL ? path :
	    "/usr/local/bin:/usr/bin:/bin");
	pp_env_add(&env, &n, "BERTH_URL=%s", l->url);
	pp_env_add(&env, &n, "BERTH_TOKEN=%s", l->token);
	pp_env_add(&env, &n, "BERTH_NODE_NAME=%s", l->name);
	pp_env_add(&env, &n, "BERTH_DATA_DIR=%s", l->data_dir);
	if (l->pin != NULL && *l->pin != '\0')
		pp_env_add(&env, &n, "BERTH_MASTER_PIN=%s", l->pin);
	if (l->cpus > 0) {
		snprintf(cpus, sizeof cpus, "%lld", (long long)l->cpus);
		pp_env_add(&env, &n, "BERTH_CPUS=%s", cpus);
	}
	/* The master's own BERTH_NETWORK (tests: off; docs/network.md). */
	if (getenv("BERTH_NETWORK") != NULL)
		pp_env_add(&env, &n, "BERTH_NETWORK=%s", getenv("BERTH_NETWORK"));
	if (l->env != NULL && *l->env != '\0') {
		extra = xstrdup(l->env);
		for (w = strtok_r(extra, " ", &save); w != NULL;
		    w = strtok_r(NULL, " ", &save))
			pp_env_add(&env, &n, "%s", w);
		free(extra);
	}
	xasprintf(&log_path, "%s/agent.log", l->data_dir);
	xasprintf(&pid_path, "%s/agent.pid", l->data_dir);
	xasprintf(&pid_tmp, "%s/agent.pid.tmp", l->data_dir);
	argv[0] = (char *)l->agent;
	argv[1] = NULL;
	sigemptyset(&all);

	if (pipe2(pfd, O_CLOEXEC) != 0) {
		xasprintf(cause, "pipe: %s", strerror(errno));
		goto out;
	}
	child = fork();
	if (child < 0) {
		xasprintf(cause, "fork: %s", strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		goto out;
	}
	if (child == 0) {
		pid_t agent;
		int fd, sig;
		struct sigaction sa;

		close(pfd[0]);
		agent = fork();
		if (agent != 0) {
			long v = agent;

			(void)!write(pfd[1], &v, sizeof v);
			_exit(agent < 0 ? 1 : 0);
		}
		/* The agent: its own session, default signals, no fds of
		 * the master's but the pipe (closed by exec). */
		setsid();
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = SIG_DFL;
		for (sig = 1; sig < NSIG; sig++)
			sigaction(sig, &sa, NULL);
		sigprocmask(SIG_SETMASK, &all, NULL);
		if (chdir(l->data_dir) != 0)
			goto fail;
		if ((fd = open("/dev/null", O_RDONLY)) < 0 || dup2(fd, 0) < 0)
			goto fail;
		if ((fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND,
		    0600)) < 0 || dup2(fd, 1) < 0 || dup2(1, 2) < 0)
			goto fail;
		if (pfd[1] > 3)
			syscall(SYS_close_range, 3U, (unsigned)pfd[1] - 1, 0U);
		syscall(SYS_close_range, (unsigned)pfd[1] + 1, ~0U, 0U);
		/* Whole or not at all: a reader never sees it empty. */
		if ((fd = open(pid_tmp, O_WRONLY | O_CREAT | O_TRUNC,
		    0600)) < 0)
			goto fail;
		pp_write_num(fd, (long)getpid());
		close(fd);
		if (rename(pid_tmp, pid_path) != 0)
			goto fail;
		execve(l->agent, argv, env);
fail:
		fd = errno;
		(void)!write(pfd[1], &fd, sizeof fd);
		_exit(127);
	}
	close(pfd[1]);
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	r = read(pfd[0], &got, sizeof got);
	if (r != (ssize_t)sizeof got || got <= 0) {
		xasprintf(cause, "fork: cannot start the agent");
		close(pfd[0]);
		goto out;
	}
	r = read(pfd[0], &err, sizeof err);
	close(pfd[0]);
	if (r == (ssize_t)sizeof err) {
		xasprintf(cause, "cannot start %s: %s", l->agent,
		    strerror(err));
		goto out;
	}
	*pid = (pid_t)got;
	rc = 0;
out:
	for (i = 0; i < n; i++) {
		explicit_bzero(env[i], strlen(env[i]));
		free(env[i]);
	}
	free(env);
	free(log_path);
	free(pid_path);
	free(pid_tmp);
	return rc;
}

/*
 * The decision, on a /proc at proc (tests give a made-up one). Only what
 * shows the agent is not running says 0 (no pid file, no such process, a
 * zombie, another process's working directory, one we may not look at);
 * an error that shows nothing (EMFILE, ENOMEM, EIO...) is -1: a caller
 * must then neither forget the machine nor remove its directory.
 */
pid_t
provider_process_find_at(const char *proc, const char *data_dir)
{
	char path[PATH_MAX], link[PATH_MAX], real[PATH_MAX], *text, *p, *end;
	long pid;
	ssize_t n;
	int zombie;

	snprintf(path, sizeof path, "%s/agent.pid", data_dir);
	if (util_read_file(path, 64, &text, NULL) != 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
	errno = 0;
	pid = strtol(text, &end, 10);
	zombie = end == text || (*end != '\n' && *end != '\0') || errno != 0;
	free(text);
	if (zombie || pid <= 1 || pid > INT_MAX)
		return 0;	/* not a pid file of ours (it is written whole) */
	/* A zombie (exited, not reaped yet) is not running. */
	snprintf(path, sizeof path, "%s/%ld/stat", proc, pid);
	if (util_read_file(path, 4096, &text, NULL) != 0)
		return errno == ENOENT || errno == ESRCH ? 0 : -1;
	p = strrchr(text, ')');
	zombie = p == NULL || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X';
	free(text);
	if (zombie)
		return 0;
	/* The same process only if it still works in the data dir. */
	snprintf(path, sizeof path, "%s/%ld/cwd", proc, pid);
	if ((n = readlink(path, link, sizeof link - 1)) < 0) {
		/*
		 * ENOENT: it is exiting (its cwd is already let go, its
		 * memory not yet, which takes a while for a big process):
		 * still ours until it is a zombie. EACCES: someone else's.
		 */
		if (errno == ENOENT)
			return (pid_t)pid;
		return errno == EACCES || errno == EPERM || errno == ESRCH ?
		    0 : -1;
	}
	link[n] = '\0';
	if (realpath(data_dir, real) == NULL)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
	return strcmp(link, real) == 0 ? (pid_t)pid : 0;
}

pid_t
provider_process_find(const char *data_dir)
{
	return provider_process_find_at("/proc", data_dir);
}

int
provider_process_stop(const char *data_dir, int force)
{
	pid_t pid = provider_process_find(data_dir);

	if (pid <= 0)
		return pid;
	/* Its process group (setsid made it the leader), or it alone. */
	if (kill(-pid, force ? SIGKILL : SIGTERM) != 0)
		kill(pid, force ? SIGKILL : SIGTERM);
	return 1;
}

static int
pp_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

int
provider_process_remove(const char *data_dir)
{
	struct stat sb;

	if (lstat(data_dir, &sb) != 0)
		return errno == ENOENT ? 0 : -1;
	return nftw(data_dir, pp_rm, 16, FTW_DEPTH | FTW_PHYS);
}

void
provider_process_last_line(const char *data_dir, char *buf, size_t len)
{
	char path[PATH_MAX], tail[1024];
	char *nl, *start;
	ssize_t n;
	off_t size;
	int fd;

	buf[0] = '\0';
	snprintf(path, sizeof path, "%s/agent.log", data_dir);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	if (size > (off_t)sizeof tail - 1)
		lseek(fd, size - (off_t)sizeof tail + 1, SEEK_SET);
	else
		lseek(fd, 0, SEEK_SET);
	n = read(fd, tail, sizeof tail - 1);
	close(fd);
	if (n <= 0)
		return;
	tail[n] = '\0';
	while (n > 0 && (tail[n - 1] == '\n' || tail[n - 1] == '\r'))
		tail[--n] = '\0';
	nl = strrchr(tail, '\n');
	start = nl != NULL ? nl + 1 : tail;
	snprintf(buf, len, "%s", start);
}

/* ---- the vtable -------------------------------------------------------- */

static int
pp_available(const char **why)
{
	*why = NULL;
	return 1;
}

/*
 * <dir>/group names the machine's grid and group ("grid group"), written
 * before its agent starts: a list tells a group's agents from the other
 * groups' (all share <data-dir>/machines) without the store.
 */
static void
pp_group_line(const struct provider_req *req, char *buf, size_t len)
{
	snprintf(buf, len, "%s %s\n", req->grid, req->group);
}

static void
pp_create(const struct provider_req *req, struct provider_res *res)
{
	struct provider_launch l;
	char *cause = NULL, path[PATH_MAX], line[160];
	pid_t pid = 0;

	if (mkdir(req->data_dir, 0700) != 0 && errno != EEXIST) {
		snprintf(res->cause, sizeof res->cause, "cannot make %.300s: %s",
		    req->data_dir, strerror(errno));
		res->nothing = 1;
		return;
	}
	snprintf(path, sizeof path, "%s/group", req->data_dir);
	pp_group_line(req, line, sizeof line);
	if (util_write_file(path, line, strlen(line), 0600) != 0) {
		snprintf(res->cause, sizeof res->cause, "cannot write %.300s: "
		    "%s", path, strerror(errno));
		res->nothing = 1;
		return;
	}

	memset(&l, 0, sizeof l);
	l.agent = req->agent;
	l.url = req->url;
	l.pin = req->pin[0] != '\0' ? req->pin : NULL;
	l.token = req->token;
	l.name = req->machine;
	l.data_dir = req->data_dir;
	l.cpus = req->settings.cpus;
	l.env = req->settings.agent_env;
	if (provider_process_launch(&l, &pid, &cause) != 0) {
		snprintf(res->cause, sizeof res->cause, "%s", cause);
		free(cause);
		res->nothing = 1;	/* nothing is left running */
		return;
	}
	res->ok = 1;
	res->pid = pid;
	snprintf(res->id, sizeof res->id, "%ld", (long)pid);
}

/*
 * SIGTERM, SIGKILL after the group's grace; gone: its directory goes,
 * and only then is the machine gone (the answer forgets its row). When
 * it cannot be told whether the agent runs, or the directory stays, the
 * delete failed: the machine is kept and deleted again later.
 */
static void
pp_delete(const struct provider_req *req, struct provider_res *res)
{
	int rc;

	if (req->data_dir[0] == '\0') {
		res->ok = 1;
		return;
	}
	rc = provider_process_stop(req->data_dir,
	    req->since_ms > req->settings.stop_grace_s * 1000);
	if (rc == 1) {
		res->again = 1;
		res->ok = 1;
		return;
	}
	if (rc < 0) {
		snprintf(res->cause, sizeof res->cause, "cannot tell whether "
		    "the agent of %.300s runs: %s", req->data_dir,
		    strerror(errno));
		return;
	}
	if (provider_process_remove(req->data_dir) != 0) {
		snprintf(res->cause, sizeof res->cause, "cannot remove %.300s: "
		    "%s", req->data_dir, strerror(errno));
		return;
	}
	res->ok = 1;
}

/*
 * The running agents of req's group under data_dir (the master's machines
 * directory): each machine directory whose group file names the group.
 * One without it (or unreadable) is not listed: nothing is judged on it.
 */
static void
pp_list(const struct provider_req *req, struct provider_res *res)
{
	char path[PATH_MAX], line[160], *text;
	struct dirent *de;
	DIR *d;
	pid_t pid;
	int same;

	res->ok = 1;
	if ((d = opendir(req->data_dir)) == NULL)
		return;
	pp_group_line(req, line, sizeof line);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s/group", req->data_dir,
		    de->d_name);
		if (util_read_file(path, sizeof line, &text, NULL) != 0)
			continue;
		same = strcmp(text, line) == 0;
		free(text);
		if (!same)
			continue;
		snprintf(path, sizeof path, "%s/%s", req->data_dir, de->d_name);
		if ((pid = provider_process_find(path)) <= 0)
			continue;
		res->inst = xreallocarray(res->inst, res->ninst + 1,
		    sizeof *res->inst);
		snprintf(res->inst[res->ninst].id, sizeof res->inst->id, "%ld",
		    (long)pid);
		snprintf(res->inst[res->ninst].machine, sizeof
		    res->inst->machine, "%.63s", de->d_name);
		res->ninst++;
	}
	closedir(d);
}

const struct provider provider_process = {
	.name = "process",
	.async = 0,
	.join = PROVIDER_JOIN_TOKEN,
	.available = pp_available,
	.create = pp_create,
	.delete = pp_delete,
	.list = pp_list,
};
