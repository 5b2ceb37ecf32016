/*
 * test_provider_exec.c - the exec provider (master/provider_exec.c) with
 * real programs (shell scripts written here): a good create, delete and
 * list; garbage, an answer without an id, exit 1 (nothing made), a hang
 * (killed at the timeout, with the children of its process group), an
 * output over the cap, and a program that exits while a child it left
 * behind holds its stdout open (done at once, not at the timeout). The
 * join token reaches the program on stdin, never in its argv or env.
 */
#include "tests/unit/test.h"

#include "master/provider.h"

#include "common/util.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/berth-test-exec-XXXXXX";

/* A script at dir/name with body; its path in buf. */
static void
script(const char *name, const char *body, char *buf, size_t len)
{
	FILE *f;

	snprintf(buf, len, "%s/%s", dir, name);
	f = fopen(buf, "w");
	fprintf(f, "#!/bin/sh\n%s\n", body);
	fclose(f);
	chmod(buf, 0755);
}

static void
req_init(struct provider_req *r, enum provider_op op, const char *program)
{
	memset(r, 0, sizeof *r);
	r->op = op;
	r->grid_id = 1;
	r->group_id = 2;
	r->machine_id = 3;
	snprintf(r->grid, sizeof r->grid, "default");
	snprintf(r->group, sizeof r->group, "burst");
	snprintf(r->machine, sizeof r->machine, "burst-3");
	snprintf(r->token, sizeof r->token, "sekrit-token");
	snprintf(r->url, sizeof r->url, "ws://127.0.0.1:1");
	snprintf(r->labels, sizeof r->labels,
	    "[\"ephemeral=true\",\"berth.group=burst\"]");
	r->count = 1;
	nodegroup_settings_default(&r->settings);
	snprintf(r->settings.exec_program, sizeof r->settings.exec_program,
	    "%s", program);
	r->settings.exec_timeout_s = 2;
}

static void
test_good(void)
{
	struct provider_req r;
	struct provider_res res;
	char prog[256], log[256], *text = NULL;

	snprintf(log, sizeof log, "%s/calls", dir);
	script("good", "in=$(cat); echo \"$1 $in\" >>\"$(dirname \"$0\")/calls\"\n"
	    "env >>\"$(dirname \"$0\")/env\"; echo \"$@\" >>\"$(dirname \"$0\")/argv\"\n"
	    "case $1 in\n"
	    "create) echo '{\"id\": \"i-0abc\"}' ;;\n"
	    "delete) echo '{}' ;;\n"
	    "list) echo '{\"instances\": [{\"id\": \"i-0abc\", \"machine\": \"burst-3\"}, {\"id\": \"i-stray\"}]}' ;;\n"
	    "esac", prog, sizeof prog);
	req_init(&r, PROVIDER_CREATE, prog);
	provider_call(&provider_exec, &r, &res);
	CHECK_INT(res.ok, 1);
	CHECK_STR(res.id, "i-0abc");
	CHECK_INT(res.machine_id, 3);
	provider_res_clear(&res);
	CHECK(util_read_file(log, 65536, &text, NULL) == 0);
	CHECK_HAS(text, "create {\"op\":\"create\",\"grid\":\"default\","
	    "\"group\":\"burst\",\"machine\":\"burst-3\",\"count\":1,");
	CHECK_HAS(text, "\"token\":\"sekrit-token\"");
	CHECK_HAS(text, "\"labels\":[\"ephemeral=true\",\"berth.group=burst\"]");
	free(text);
	snprintf(log, sizeof log, "%s/env", dir);
	CHECK(util_read_file(log, 1 << 20, &text, NULL) == 0);
	CHECK(strstr(text, "sekrit-token") == NULL);
	CHECK_HAS(text, "BERTH_PROVIDER_OP=create");
	free(text);
	snprintf(log, sizeof log, "%s/argv", dir);
	CHECK(util_read_file(log, 65536, &text, NULL) == 0);
	CHECK(strstr(text, "sekrit-token") == NULL);
	free(text);

	req_init(&r, PROVIDER_DELETE, prog);
	snprintf(r.provider_id, sizeof r.provider_id, "i-0abc");
	provider_call(&provider_exec, &r, &res);
	CHECK_INT(res.ok, 1);
	provider_res_clear(&res);
	snprintf(log, sizeof log, "%s/calls", dir);
	CHECK(util_read_file(log, 65536, &text, NULL) == 0);
	CHECK_HAS(text, "delete {\"op\":\"delete\",\"grid\":\"default\","
	    "\"group\":\"burst\",\"machine\":\"burst-3\",\"id\":\"i-0abc\"}");
	free(text);

	req_init(&r, PROVIDER_LIST, prog);
	provider_call(&provider_exec, &r, &res);
	CHECK_INT(res.ok, 1);
	CHECK_INT((int)res.ninst, 2);
	if (res.ninst == 2) {
		CHECK_STR(res.inst[0].machine, "burst-3");
		CHECK_STR(res.inst[1].id, "i-stray");
		CHECK_STR(res.inst[1].machine, "");
	}
	provider_res_clear(&res);
}

static void
test_failures(void)
{
	struct provider_req r;
	struct provider_res res;
	char prog[256], pidfile[256], *text = NULL;
	int64_t t0;
	long pid;

	/* exit 1: the cause is its last stderr line; nothing was made. */
	script("exit1", "cat >/dev/null; echo starting >&2; "
	    "echo 'no capacity in zone a' >&2; exit 1", prog, sizeof prog);
	req_init(&r, PROVIDER_CREATE, prog);
	provider_call(&provider_exec, &r, &res);
	CHECK_INT(res.ok, 0);
	CHECK_INT(res.nothing, 1);
	CHECK_HAS(res.cause, "exit status 1: no capacity in zone a");

	/* Garbage with exit 0: not trusted, and maybe something exists. */
	script("garbage", "cat >/dev/null; printf 'ok\\001 done'", prog,
	    sizeof prog);
	req_init(&r, PROVIDER_CREATE, prog);
	provider_call(&provider_exec, &r, &res);
	CHECK_INT(res.ok, 0);
	CHECK_INT(res.nothing, 0);
	CHECK_HAS(res.cause, "output is not a JSON object");
	CHECK_HAS(res.cause, "ok? done");

	/* JSON, but no id. */
	script("noid", "cat >/dev/null; echo '{\"id\": 7}'", prog, sizeof prog);
	req_init(&r, PROVIDER_CREATE, prog);
	provider_call(&provider_exec, &r, &res);
	CHECK_INT(res.ok, 0);
	CHECK_HAS(res.cause, "no \"id\"");

	/* A list entry without an id. */
	script("badlist", "cat >/dev/null; echo '{\"instances\": [{}]}'",
	    prog, sizeof prog);
	req_init(&r, PROVIDER_LIST, prog);
	provider_call(&provider_exec, &r, &res);
	CHECK_INT(res.ok, 0);
	CHECK_HAS(res.cause, "instances[0]");
	provider_res_clear(&res);

	/* A hang: killed at the timeout, its child (same group) too. */
	snprintf(pidfile, sizeof pidfile, "%s/child.pid", dir);
	script("hang", "sleep 300 & echo $! >\"$(dirname \"$0\")/child.pid\"; "
	    "wait", prog, sizeof prog);
	req_init(&r, PROVIDER_CREATE, prog);
	r.settings.exec_timeout_s = 1;
	t0 = util_mono_ms();
	provider_call(&provider_exec, &r, &res);
	CHECK_INT(res.ok, 0);
	CHECK_INT(res.nothing, 0);
	CHECK_HAS(res.cause, "timed out after 1s (killed)");
	CHECK(util_mono_ms() - t0 < 30000);
	CHECK(util_read_file(pidfile, 64, &text, NULL) == 0);
	pid = text != NULL ? strtol(text, NULL, 10) : 0;
	free(text);
	text = NULL;
	/* Its child is gone (or a zombie of init's, on its way out). */
	for (int i = 0; i < 100 && pid > 0 && kill((pid_t)pid, 0) == 0; i++)
		usleep(20000);
	CHECK(pid > 0 && kill((pid_t)pid, 0) != 0);

	/* Output over the cap: failed, killed. */
	script("flood", "cat >/dev/null; while :; do echo "
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa; done",
	    prog, sizeof prog);
	req_init(&r, PROVIDER_LIST, prog);
	provider_call(&provider_exec, &r, &res);
	CHECK_INT(res.ok, 0);
	CHECK_HAS(res.cause, "output over 65536 bytes");

	/* A program not there, or not executable. */
	req_init(&r, PROVIDER_CREATE, "/nonexistent/program");
	provider_call(&provider_exec, &r, &res);
	CHECK_INT(res.ok, 0);
	CHECK_INT(res.nothing, 1);
	CHECK_HAS(res.cause, "cannot run /nonexistent/program");
}

/* It exits, a child keeps its stdout: the answer counts at once. */
static void
test_leftover_child(void)
{
	struct provider_req r;
	struct provider_res res;
	char prog[256];
	int64_t t0;

	script("leftover", "cat >/dev/null; sleep 3 & echo '{\"id\": \"x1\"}'",
	    prog, sizeof prog);
	req_init(&r, PROVIDER_CREATE, prog);
	r.settings.exec_timeout_s = 20;
	t0 = util_mono_ms();
	provider_call(&provider_exec, &r, &res);
	CHECK_INT(res.ok, 1);
	CHECK_STR(res.id, "x1");
	CHECK(util_mono_ms() - t0 < 2500);
}

static void
test_find(void)
{
	const char *why = NULL;

	CHECK(provider_find("process") == &provider_process);
	CHECK(provider_find("exec") == &provider_exec);
	CHECK(provider_find("nope") == NULL);
	CHECK(provider_exec.async == 1 && provider_process.async == 0);
	CHECK(provider_exec.available(&why) == 1);
}

int
main(void)
{
	char cmd[128];

	if (mkdtemp(dir) == NULL)
		return 1;
	TEST_RUN(test_find);
	TEST_RUN(test_good);
	TEST_RUN(test_failures);
	TEST_RUN(test_leftover_child);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	(void)!system(cmd);
	return TEST_DONE();
}
