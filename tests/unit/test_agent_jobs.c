/*
 * test_agent_jobs.c - jobs on the agent without Docker (agent/jobrun.c):
 * the decision for one attempt branch by branch (create only from the
 * open session, once; start a created one, once; a run past its timeout
 * stopped; an exited one reported, never started again; a missing one
 * reported, not recreated; a finished attempt's container stopped and
 * kept), the image and pull answers, the desired entries and their create
 * bodies, Docker's times, and the plan leaving job containers alone.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "agent/jobrun.h"
#include "agent/plan.h"
#include "common/proto.h"
#include "test.h"

#define NODE	"0123456789abcdef0123456789abcdef"
#define T(s)	(jobrun_time_ms(s))

static struct jobrun_spec
spec_of(int64_t attempt, int started, int64_t timeout)
{
	struct jobrun_spec s;

	memset(&s, 0, sizeof s);
	s.attempt = attempt;
	s.job_id = 1;
	s.name = "job.build-0.7.01234567";
	s.image = "berth-test/busybox:latest";
	s.started = started;
	s.timeout_s = timeout;
	return s;
}

static struct observe_container
listed(int64_t attempt, enum plan_state st)
{
	struct observe_container c;

	memset(&c, 0, sizeof c);
	c.id = "c0ffee";
	c.name = "job.build-0.7.01234567";
	c.a.attempt = attempt;
	c.a.state = st;
	return c;
}

static struct observe_inspect
inspect_of(const char *started, const char *finished, int code, int oom)
{
	struct observe_inspect i;

	memset(&i, 0, sizeof i);
	i.started_at = (char *)started;
	i.finished_at = (char *)finished;
	i.exit_code = code;
	i.oom_killed = oom;
	return i;
}

static void
test_jobrun_create_only_live_and_once(void)
{
	struct jobrun_spec s = spec_of(7, 0, 0);
	struct jobrun_rec r = { .attempt = 7 };
	struct jobrun_facts f = { .busy = 0, .live = 1, .now_ms = 0 };
	struct jobrun_out out;

	jobrun_decide(&s, 0, NULL, NULL, &r, &f, &out);
	CHECK(out.action == JOBRUN_CREATE);
	CHECK(out.report && out.state == JOBRUN_ST_PENDING);
	/* Not from a session that is not open now. */
	f.live = 0;
	jobrun_decide(&s, 0, NULL, NULL, &r, &f, &out);
	CHECK(out.action == JOBRUN_WAIT);
	CHECK(out.state == JOBRUN_ST_PENDING);
	/* Not while its create is in flight. */
	f.live = 1;
	f.busy = 1;
	jobrun_decide(&s, 0, NULL, NULL, &r, &f, &out);
	CHECK(out.action == JOBRUN_WAIT);
	/* Created once by this agent, now gone: missing, never again. */
	f.busy = 0;
	r.created = 1;
	jobrun_decide(&s, 0, NULL, NULL, &r, &f, &out);
	CHECK(out.action == JOBRUN_NONE);
	CHECK(out.state == JOBRUN_ST_MISSING);
	/* The master saw it start: never created here, whatever we know. */
	r.created = 0;
	s.started = 1;
	jobrun_decide(&s, 0, NULL, NULL, &r, &f, &out);
	CHECK(out.action == JOBRUN_NONE);
	CHECK(out.state == JOBRUN_ST_MISSING);
}

static void
test_jobrun_created_started_once(void)
{
	struct jobrun_spec s = spec_of(7, 0, 0);
	struct jobrun_rec r = { .attempt = 7 };
	struct jobrun_facts f = { .busy = 0, .live = 1, .now_ms = 0 };
	struct observe_container m = listed(7, PLAN_ST_CREATED);
	struct observe_inspect ins = inspect_of(NULL, NULL, 0, 0);
	struct jobrun_out out;

	/* Created, never ran (an agent killed between create and start). */
	jobrun_decide(&s, 0, &m, &ins, &r, &f, &out);
	CHECK(out.action == JOBRUN_START);
	f.live = 0;
	jobrun_decide(&s, 0, &m, &ins, &r, &f, &out);
	CHECK(out.action == JOBRUN_WAIT);
	/* Its start failed: reported, not tried again. */
	f.live = 1;
	r.error = strdup("OCI runtime create failed: exec: \"nope\"");
	jobrun_decide(&s, 0, &m, &ins, &r, &f, &out);
	CHECK(out.action == JOBRUN_NONE);
	CHECK(out.state == JOBRUN_ST_ERROR);
	CHECK_HAS(out.error, "OCI runtime");
	jobrun_rec_clear(&r);
}

static void
test_jobrun_running_and_timeout(void)
{
	struct jobrun_spec s = spec_of(7, 1, 10);
	struct jobrun_rec r = { .attempt = 7 };
	struct observe_container m = listed(7, PLAN_ST_RUNNING);
	struct observe_inspect ins = inspect_of("2026-01-01T10:00:00.5Z",
	    "0001-01-01T00:00:00Z", 0, 0);
	struct jobrun_facts f = { .busy = 0, .live = 0, .now_ms = 0 };
	struct jobrun_out out;
	int64_t t0 = T("2026-01-01T10:00:00.5Z");

	CHECK(t0 > 0);
	f.now_ms = t0 + 4000;
	jobrun_decide(&s, 0, &m, &ins, &r, &f, &out);
	CHECK(out.action == JOBRUN_NONE);
	CHECK(out.state == JOBRUN_ST_RUNNING);
	CHECK_INT(out.due, 6000);	/* a pass at its deadline */
	f.now_ms = t0 + 10000;
	jobrun_decide(&s, 0, &m, &ins, &r, &f, &out);
	CHECK(out.action == JOBRUN_STOP);
	CHECK(out.state == JOBRUN_ST_RUNNING);
	f.busy = 1;			/* being stopped */
	jobrun_decide(&s, 0, &m, &ins, &r, &f, &out);
	CHECK(out.action == JOBRUN_WAIT);
	/* No timeout: it runs as long as it likes. */
	s.timeout_s = 0;
	f.busy = 0;
	jobrun_decide(&s, 0, &m, &ins, &r, &f, &out);
	CHECK(out.action == JOBRUN_NONE && out.due == -1);
}

static void
test_jobrun_exited_reports(void)
{
	struct jobrun_spec s = spec_of(7, 1, 10);
	struct jobrun_rec r = { .attempt = 7 };
	struct observe_container m = listed(7, PLAN_ST_EXITED);
	struct observe_inspect ins;
	struct jobrun_facts f = { .busy = 0, .live = 1, .now_ms = 0 };
	struct jobrun_out out;

	ins = inspect_of("2026-01-01T10:00:00Z", "2026-01-01T10:00:03Z", 3, 0);
	jobrun_decide(&s, 0, &m, &ins, &r, &f, &out);
	/* Never started again. */
	CHECK(out.action == JOBRUN_NONE);
	CHECK(out.state == JOBRUN_ST_EXITED && out.has_exit);
	CHECK_INT(out.exit_code, 3);
	CHECK(!out.timed_out && !out.oom_killed);
	ins = inspect_of("2026-01-01T10:00:00Z", "2026-01-01T10:00:12.25Z",
	    137, 0);
	jobrun_decide(&s, 0, &m, &ins, &r, &f, &out);
	CHECK(out.timed_out);
	CHECK_INT(out.exit_code, 137);
	ins = inspect_of("2026-01-01T10:00:00Z", "2026-01-01T10:00:01Z", 137,
	    1);
	jobrun_decide(&s, 0, &m, &ins, &r, &f, &out);
	CHECK(out.oom_killed && !out.timed_out);
	m.a.state = PLAN_ST_DEAD;
	jobrun_decide(&s, 0, &m, &ins, &r, &f, &out);
	CHECK(out.action == JOBRUN_NONE && out.state == JOBRUN_ST_EXITED);
}

/* Short jobs are decided from the list: no inspect per container. */
static void
test_jobrun_list_only(void)
{
	struct jobrun_spec s = spec_of(7, 1, 0);
	struct jobrun_rec r = { .attempt = 7 };
	struct observe_container m = listed(7, PLAN_ST_EXITED);
	struct jobrun_facts f = { .busy = 0, .live = 1, .now_ms = 0 };
	struct jobrun_out out;
	struct observe_list l;
	json_t *arr;

	m.list_exit = 3;
	CHECK(!jobrun_needs_inspect(&s, &m));
	jobrun_decide(&s, 0, &m, NULL, &r, &f, &out);
	CHECK(out.state == JOBRUN_ST_EXITED && out.exit_code == 3);
	m.list_exit = 137;		/* killed: OOM? stopped? ask */
	CHECK(jobrun_needs_inspect(&s, &m));
	m.list_exit = -1;		/* the list did not say */
	CHECK(jobrun_needs_inspect(&s, &m));
	m.list_exit = 0;
	s.timeout_s = 5;		/* a timeout needs the times */
	CHECK(jobrun_needs_inspect(&s, &m));
	m.a.state = PLAN_ST_RUNNING;
	CHECK(jobrun_needs_inspect(&s, &m));
	s.timeout_s = 0;
	CHECK(!jobrun_needs_inspect(&s, &m));
	jobrun_decide(&s, 0, &m, NULL, &r, &f, &out);
	CHECK(out.action == JOBRUN_NONE && out.state == JOBRUN_ST_RUNNING);
	/* The list's Status carries the exit code. */
	arr = json_loads("[{\"Id\":\"a\",\"Names\":[\"/j\"],\"State\":"
	    "\"exited\",\"Status\":\"Exited (42) 3 seconds ago\","
	    "\"Labels\":{\"berth.node\":\"" NODE "\",\"berth.attempt\":"
	    "\"9\"}},{\"Id\":\"b\",\"Names\":[\"/k\"],\"State\":"
	    "\"running\",\"Status\":\"Up 2 seconds\",\"Labels\":"
	    "{\"berth.node\":\"" NODE "\",\"berth.attempt\":\"x\"}}]",
	    0, NULL);
	observe_parse_list(arr, NODE, &l);
	CHECK_INT(l.n, 2);
	if (l.n == 2) {
		CHECK_INT(l.c[0].a.attempt, 9);
		CHECK_INT(l.c[0].list_exit, 42);
		CHECK_INT(l.c[1].list_exit, -1);
		/* A bad attempt label: not a job's, and not labelled. */
		CHECK_INT(l.c[1].a.attempt, 0);
		CHECK(!l.c[1].a.labelled);
	}
	observe_list_clear(&l);
	json_decref(arr);
}

static void
test_jobrun_done_stops_and_keeps(void)
{
	struct observe_container m = listed(7, PLAN_ST_RUNNING);
	struct jobrun_facts f = { .busy = 0, .live = 1, .now_ms = 0 };
	struct jobrun_out out;

	jobrun_decide(NULL, 1, &m, NULL, NULL, &f, &out);
	CHECK(out.action == JOBRUN_STOP);
	CHECK(!out.report);
	f.busy = 1;
	jobrun_decide(NULL, 1, &m, NULL, NULL, &f, &out);
	CHECK(out.action == JOBRUN_WAIT);
	m.a.state = PLAN_ST_EXITED;
	f.busy = 0;
	jobrun_decide(NULL, 1, &m, NULL, NULL, &f, &out);
	CHECK(out.action == JOBRUN_NONE);
}

static void
test_jobrun_image_and_pull(void)
{
	struct jobrun_rec r = { .attempt = 7 };
	struct jobrun_out out;

	memset(&out, 0, sizeof out);
	out.action = JOBRUN_CREATE;
	jobrun_image(&r, 1, PULL_PULLING, NULL, &out);
	CHECK(out.action == JOBRUN_CREATE);
	jobrun_image(&r, -1, PULL_PULLING, strdup("engine down"), &out);
	CHECK(out.action == JOBRUN_WAIT && r.error == NULL);
	out.action = JOBRUN_CREATE;
	jobrun_image(&r, 0, PULL_PULLING, NULL, &out);
	CHECK(out.action == JOBRUN_WAIT && out.state == JOBRUN_ST_PULLING);
	out.action = JOBRUN_CREATE;
	jobrun_image(&r, 0, PULL_FAILED, strdup("pull x: no such host"), &out);
	CHECK(out.state == JOBRUN_ST_ERROR);
	CHECK_HAS(out.error, "no such host");
	CHECK_HAS(r.error, "no such host");
	jobrun_rec_clear(&r);
}

static void
test_jobrun_parse(void)
{
	const char *frame = "{\"type\":\"desired\",\"generation\":3,"
	    "\"containers\":[],\"jobs\":["
	    "{\"attempt\":7,\"job_id\":2,\"job\":\"build\",\"index\":1,"
	    "\"grid\":\"default\",\"name\":\"job.build-1.7.01234567\","
	    "\"phase\":\"run\",\"image\":\"berth-test/busybox:latest\","
	    "\"command\":[\"sh\",\"-c\",\"exit 3\"],\"env\":[\"A=b\","
	    "\"BERTH_JOB_INDEX=1\"],\"cpus\":0.5,\"memory\":67108864,"
	    "\"timeout\":60,\"labels\":{\"team\":\"core\"}},"
	    "{\"attempt\":8,\"job_id\":2,\"job\":\"build\",\"index\":2,"
	    "\"grid\":\"default\",\"name\":\"bad name\",\"phase\":\"run\","
	    "\"image\":\"x\"},"
	    "{\"attempt\":9,\"job_id\":2,\"job\":\"build\",\"index\":3,"
	    "\"grid\":\"default\",\"name\":\"job.build-3.9.01234567\","
	    "\"phase\":\"started\",\"image\":\"x\",\"labels\":"
	    "{\"berth.node\":\"evil\"}}"
	    "],\"jobs_done\":[3,4,\"x\",-1]}";
	struct jobrun_spec *specs;
	int64_t *done;
	size_t n, nd;
	char *cause = NULL;
	json_t *body, *labels, *host;

	CHECK(jobrun_parse_desired(frame, NODE, &specs, &n, &done, &nd,
	    &cause) == 0);
	/* The bad name and the berth.* label are skipped. */
	CHECK_INT(n, 1);
	CHECK_INT(nd, 2);
	CHECK(nd == 2 && done[0] == 3 && done[1] == 4);
	if (n == 1) {
		CHECK_INT(specs[0].attempt, 7);
		CHECK_INT(specs[0].index, 1);
		CHECK(!specs[0].started);
		CHECK_INT(specs[0].timeout_s, 60);
		body = json_loads(specs[0].body, 0, NULL);
		labels = json_object_get(body, "Labels");
		host = json_object_get(body, "HostConfig");
		CHECK_STR(json_string_value(json_object_get(labels,
		    PROTO_LABEL_ATTEMPT)), "7");
		CHECK_STR(json_string_value(json_object_get(labels,
		    PROTO_LABEL_NODE)), NODE);
		CHECK_STR(json_string_value(json_object_get(labels,
		    PROTO_LABEL_JOB_INDEX)), "1");
		CHECK_STR(json_string_value(json_object_get(labels,
		    "team")), "core");
		/* Runs once: no restart policy. */
		CHECK_STR(json_string_value(json_object_get(json_object_get(
		    host, "RestartPolicy"), "Name")), "no");
		CHECK_INT(json_integer_value(json_object_get(host,
		    "NanoCpus")), 500000000);
		CHECK_INT(json_integer_value(json_object_get(host, "Memory")),
		    67108864);
		CHECK_INT(json_array_size(json_object_get(body, "Env")), 2);
		json_decref(body);
	}
	jobrun_spec_free(specs, n);
	free(done);
	/* A frame without jobs: none (an older master). */
	CHECK(jobrun_parse_desired("{\"generation\":1,\"containers\":[]}",
	    NODE, &specs, &n, &done, &nd, &cause) == 0);
	CHECK(n == 0 && nd == 0);
	jobrun_spec_free(specs, n);
	free(done);
	CHECK(jobrun_parse_desired("{\"jobs\":3}", NODE, &specs, &n, &done,
	    &nd, &cause) == -1);
	CHECK_HAS(cause, "must be arrays");
	free(cause);
}

static void
test_jobrun_times(void)
{
	CHECK_INT(T("1970-01-01T00:00:01Z"), 1000);
	CHECK_INT(T("1970-01-01T00:00:01.123456789Z"), 1123);
	CHECK_INT(T("0001-01-01T00:00:00Z"), -1);
	CHECK_INT(T("garbage"), -1);
	CHECK_INT(T(NULL), -1);
}

/* The service plan neither claims nor removes a job's container. */
static void
test_plan_leaves_jobs_alone(void)
{
	struct plan_want w[] = { { 1, 1, 1 } };
	struct plan_actual a[] = {
		{ 0, 0, 0, 0, PLAN_ST_EXITED, 7, 0 },
		{ 1, 1, 1, 1, PLAN_ST_RUNNING, 0, 0 },
	};
	enum plan_act act[1];
	long match[1];
	int rm[2];
	struct plan p = { act, match, rm };

	plan_compute(w, 1, a, 2, &p);
	CHECK(rm[0] == 0 && rm[1] == 0);
	CHECK(match[0] == 1 && act[0] == PLAN_KEEP);
}

int
main(void)
{
	TEST_RUN(test_jobrun_create_only_live_and_once);
	TEST_RUN(test_jobrun_created_started_once);
	TEST_RUN(test_jobrun_running_and_timeout);
	TEST_RUN(test_jobrun_exited_reports);
	TEST_RUN(test_jobrun_list_only);
	TEST_RUN(test_jobrun_done_stops_and_keeps);
	TEST_RUN(test_jobrun_image_and_pull);
	TEST_RUN(test_jobrun_parse);
	TEST_RUN(test_jobrun_times);
	TEST_RUN(test_plan_leaves_jobs_alone);
	return TEST_DONE();
}
