/*
 * test_agent_hooks.c - hooks (agent/hooks.c): the desired entry's hooks
 * per instance, picking them for an action, what a run reports, and the
 * oneshot set kept in the data dir across agent restarts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "agent/hooks.h"
#include "test.h"

static json_t *
entry(const char *hooks)
{
	char text[2048];

	snprintf(text, sizeof text, "{\"hooks\": %s}", hooks);
	return json_loads(text, 0, NULL);
}

/* instances: "*" is every instance, n only instance n; names default. */
static void
test_hooks_parse(void)
{
	json_t *e = entry("{\"pre_start\": [{\"name\": \"prep\", \"cmd\": "
	    "\"echo p\", \"instances\": 2, \"oneshot\": false}],"
	    " \"post_start\": [{\"name\": null, \"cmd\": \"echo hi\","
	    " \"instances\": \"*\", \"oneshot\": true},"
	    " {\"name\": \"one\", \"cmd\": \"echo 1\", \"instances\": 1}],"
	    " \"pre_stop\": []}");
	struct hook *h, *p;
	char *cause = NULL;
	size_t n, np;

	CHECK_INT(hooks_parse(e, 1, &h, &n, &cause), 0);
	CHECK_INT(n, 2);
	CHECK_INT(h[0].type, HOOK_POST_START);
	CHECK_STR(h[0].name, "echo hi");	/* no name: its cmd */
	CHECK_INT(h[0].oneshot, 1);
	CHECK_STR(h[1].name, "one");
	hooks_free(h, n);
	CHECK_INT(hooks_parse(e, 2, &h, &n, &cause), 0);
	CHECK_INT(n, 2);
	CHECK_INT(h[0].type, HOOK_PRE_START);
	CHECK_STR(h[0].cmd, "echo p");
	CHECK_STR(h[1].name, "echo hi");
	np = hooks_pick(h, n, HOOK_POST_START, &p);
	CHECK_INT(np, 1);
	CHECK_STR(p[0].cmd, "echo hi");
	hooks_free(p, np);
	CHECK_INT(hooks_pick(h, n, HOOK_PRE_STOP, &p), 0);
	CHECK(p == NULL);
	hooks_free(h, n);
	CHECK_INT(hooks_parse(e, 3, &h, &n, &cause), 0);
	CHECK_INT(n, 1);
	hooks_free(h, n);
	json_decref(e);
	/* None: nothing. */
	e = json_loads("{\"hooks\": null}", 0, NULL);
	CHECK_INT(hooks_parse(e, 1, &h, &n, &cause), 0);
	CHECK_INT(n, 0);
	json_decref(e);
}

/* Bad entries are refused naming the field. */
static void
test_hooks_parse_bad(void)
{
	static const struct {
		const char *hooks, *err;
	} bad[] = {
		{ "[]", "hooks: want an object" },
		{ "{\"post_start\": {}}", "hooks.post_start: want an array" },
		{ "{\"pre_stop\": [{\"name\": \"x\"}]}", "hooks.pre_stop[0]" },
		{ "{\"pre_stop\": [{\"cmd\": 5}]}", "hooks.pre_stop[0]" },
		{ "{\"post_start\": [{\"cmd\": \"x\", \"instances\": \"1\"}]}",
		  "hooks.post_start[0].instances" },
	};
	struct hook *h;
	char *cause;
	size_t i, n;
	json_t *e;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		e = entry(bad[i].hooks);
		cause = NULL;
		CHECK_INT(hooks_parse(e, 1, &h, &n, &cause), -1);
		CHECK_HAS(cause, bad[i].err);
		free(cause);
		json_decref(e);
	}
}

/* A run's failure in words and as the state frame's object. */
static void
test_hook_run_report(void)
{
	struct hook_run r = { HOOK_POST_START, "migrate", 0, 0, 3,
	    "boom", 1700000000000LL };
	struct hook_run c = { 0 };
	char *s, *j;
	json_t *o;

	s = hook_run_failure(&r);
	CHECK_STR(s, "post_start hook migrate failed: exit code 3: boom");
	free(s);
	r.exit_code = -1;
	r.output = "exec: no such container";
	s = hook_run_failure(&r);
	CHECK_STR(s, "post_start hook migrate failed: could not run: exec: "
	    "no such container");
	free(s);
	r.exit_code = 0;
	r.ok = 1;
	r.output = NULL;
	o = hook_run_json(&r);
	j = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	CHECK_STR(j, "{\"at\":1700000000000,\"exit_code\":0,\"name\":"
	    "\"migrate\",\"ok\":true,\"output\":null,\"type\":\"post_start\"}");
	free(j);
	json_decref(o);
	r.name = strdup("migrate");
	r.output = strdup("x");
	hook_run_copy(&c, &r);
	hook_run_clear(&r);
	CHECK_STR(c.name, "migrate");
	CHECK_STR(c.output, "x");
	hook_run_clear(&c);
}

/* Oneshot hooks run are remembered in the data dir, per instance. */
static void
test_hook_done(void)
{
	char dir[] = "/tmp/berth-hooks.XXXXXX", path[64];
	struct hook h = { HOOK_POST_START, "once", "echo", 1 };
	struct hook_done *d;

	CHECK(mkdtemp(dir) != NULL);
	d = hook_done_load(dir);
	CHECK_INT(hook_done_has(d, 7, 1, &h), 0);
	hook_done_add(d, 7, 1, HOOK_POST_START, "once");
	hook_done_add(d, 7, 1, HOOK_POST_START, "once");	/* no dup */
	CHECK_INT(hook_done_has(d, 7, 1, &h), 1);
	CHECK_INT(hook_done_has(d, 7, 2, &h), 0);	/* per instance */
	CHECK_INT(hook_done_has(d, 8, 1, &h), 0);	/* per service */
	h.type = HOOK_PRE_START;
	CHECK_INT(hook_done_has(d, 7, 1, &h), 0);	/* per type */
	h.type = HOOK_POST_START;
	hook_done_free(d);
	/* An agent restart reads them back. */
	d = hook_done_load(dir);
	CHECK_INT(hook_done_has(d, 7, 1, &h), 1);
	hook_done_free(d);
	snprintf(path, sizeof path, "%s/hooks-done", dir);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	TEST_RUN(test_hooks_parse);
	TEST_RUN(test_hooks_parse_bad);
	TEST_RUN(test_hook_run_report);
	TEST_RUN(test_hook_done);
	return TEST_DONE();
}
