/*
 * test_provider_process.c - the process provider (master/provider_process.c):
 * whether a machine's agent still runs, decided on a made-up /proc (a pid
 * file, a stat line, a cwd link), and a delete that must not forget a
 * machine it cannot account for: when it cannot tell whether the agent
 * runs, or its directory stays, the delete fails (the machine is kept and
 * deleted again later). Then a real launch, stop and delete of a process.
 */
#include "tests/unit/test.h"

#include "master/provider.h"

#include "common/util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/berth-test-pp-XXXXXX";
static char proc[600], data[600];

static void
put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	fputs(text, f);
	fclose(f);
}

/* proc/<pid>/stat with state st, proc/<pid>/cwd -> cwd (NULL: none). */
static void
fake(long pid, const char *comm, char st, const char *cwd)
{
	char p[700], line[200];

	snprintf(p, sizeof p, "%s/%ld", proc, pid);
	mkdir(p, 0700);
	snprintf(p, sizeof p, "%s/%ld/stat", proc, pid);
	snprintf(line, sizeof line, "%ld (%s) %c 1 %ld %ld 0 -1\n", pid,
	    comm, st, pid, pid);
	put(p, line);
	snprintf(p, sizeof p, "%s/%ld/cwd", proc, pid);
	unlink(p);
	if (cwd != NULL)
		CHECK(symlink(cwd, p) == 0);
}

static void
pidfile(const char *text)
{
	char p[700];

	snprintf(p, sizeof p, "%s/agent.pid", data);
	rmdir(p);
	unlink(p);
	if (text != NULL)
		put(p, text);
}

static void
test_decision(void)
{
	char p[700], other[700];

	snprintf(other, sizeof other, "%s/other", dir);
	mkdir(other, 0700);

	/* Nothing says an agent runs: 0. */
	pidfile(NULL);
	CHECK_INT(provider_process_find_at(proc, data), 0);
	pidfile("");
	CHECK_INT(provider_process_find_at(proc, data), 0);
	pidfile("12x\n");
	CHECK_INT(provider_process_find_at(proc, data), 0);
	pidfile("4242\n");
	CHECK_INT(provider_process_find_at(proc, data), 0);	/* no such pid */

	/* Ours: not a zombie, working in the data dir. */
	fake(4242, "berth-agent", 'S', data);
	CHECK_INT(provider_process_find_at(proc, data), 4242);
	fake(4242, "a) Z (b", 'R', data);	/* a name with ") Z" in it */
	CHECK_INT(provider_process_find_at(proc, data), 4242);
	/* Exiting: its cwd let go, not a zombie yet: still ours. */
	fake(4242, "berth-agent", 'S', NULL);
	CHECK_INT(provider_process_find_at(proc, data), 4242);

	/* Gone: a zombie, or the pid is someone else's now. */
	fake(4242, "berth-agent", 'Z', data);
	CHECK_INT(provider_process_find_at(proc, data), 0);
	fake(4242, "bash", 'S', other);
	CHECK_INT(provider_process_find_at(proc, data), 0);

	/* Cannot tell (a read fails for another reason than "no such
	 * file"): -1, never 0. */
	fake(4242, "berth-agent", 'S', data);
	snprintf(p, sizeof p, "%s/4242/stat", proc);
	unlink(p);
	mkdir(p, 0700);			/* read: EISDIR */
	CHECK_INT(provider_process_find_at(proc, data), -1);
	rmdir(p);
	pidfile(NULL);
	snprintf(p, sizeof p, "%s/agent.pid", data);
	mkdir(p, 0700);
	CHECK_INT(provider_process_find_at(proc, data), -1);
	rmdir(p);
}

static void
req_init(struct provider_req *r, const char *data_dir)
{
	memset(r, 0, sizeof *r);
	r->op = PROVIDER_DELETE;
	r->group_id = 1;
	r->machine_id = 1;
	snprintf(r->machine, sizeof r->machine, "m-1");
	snprintf(r->data_dir, sizeof r->data_dir, "%s", data_dir);
	r->settings.stop_grace_s = 30;
}

/* A delete that cannot account for the agent is not done. */
static void
test_delete_keeps(void)
{
	struct provider_req req;
	struct provider_res res;
	char p[800], file[700];

	/* Whether it runs cannot be told: kept, the directory too. */
	snprintf(p, sizeof p, "%s/agent.pid", data);
	mkdir(p, 0700);
	req_init(&req, data);
	provider_call(&provider_process, &req, &res);
	CHECK(!res.ok && !res.again);
	CHECK_HAS(res.cause, "cannot tell whether the agent");
	CHECK(access(data, F_OK) == 0);
	provider_res_clear(&res);
	rmdir(p);

	/* Its directory cannot be removed: a failed delete, not a gone
	 * machine (a path through a file: ENOTDIR). */
	snprintf(file, sizeof file, "%s/file", dir);
	put(file, "x");
	snprintf(p, sizeof p, "%s/sub", file);
	req_init(&req, p);
	provider_call(&provider_process, &req, &res);
	CHECK(!res.ok);
	CHECK_HAS(res.cause, "cannot remove");
	provider_res_clear(&res);
}

/* A real process: found while it runs, stopped, then its dir goes. */
static void
test_real(void)
{
	struct provider_launch l;
	struct provider_req req;
	struct provider_res res;
	char agent[700], mdir[700], *cause = NULL;
	pid_t pid = 0;
	int i, again = 0;

	snprintf(agent, sizeof agent, "%s/fake-agent", dir);
	put(agent, "#!/bin/sh\nexec sleep 60\n");
	chmod(agent, 0755);
	snprintf(mdir, sizeof mdir, "%s/machines-m-2", dir);
	memset(&l, 0, sizeof l);
	l.agent = agent;
	l.url = "ws://127.0.0.1:1";
	l.token = "t0ken";
	l.name = "m-2";
	l.data_dir = mdir;
	CHECK(provider_process_launch(&l, &pid, &cause) == 0);
	free(cause);
	CHECK(pid > 1);
	/* The pid file exists, whole, once the launch returns. */
	CHECK_INT(provider_process_find(mdir), pid);

	req_init(&req, mdir);
	for (i = 0; i < 100; i++) {
		provider_call(&provider_process, &req, &res);
		CHECK(res.ok);
		if (!res.again) {
			provider_res_clear(&res);
			break;
		}
		again++;
		provider_res_clear(&res);
		usleep(100 * 1000);
	}
	CHECK(again >= 1);		/* signalled first, gone later */
	CHECK(i < 100);
	CHECK(access(mdir, F_OK) != 0 && errno == ENOENT);
	CHECK_INT(provider_process_find(mdir), 0);
	if (kill(pid, 0) == 0)		/* a zombie at most */
		CHECK_INT(provider_process_find(mdir), 0);
}

int
main(void)
{
	char cmd[128];

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(proc, sizeof proc, "%s/proc", dir);
	snprintf(data, sizeof data, "%s/machines-m-1", dir);
	mkdir(proc, 0700);
	mkdir(data, 0700);
	TEST_RUN(test_decision);
	TEST_RUN(test_delete_keeps);
	TEST_RUN(test_real);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	(void)!system(cmd);
	return TEST_DONE();
}
