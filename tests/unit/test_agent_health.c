/*
 * test_agent_health.c - health_check: the record's verdicts (health.c),
 * decide.c acting on them, the desired entry's parsing, and real probes
 * against loopback servers this test runs itself.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "agent/decide.h"
#include "agent/health.h"
#include "agent/spec.h"
#include "test.h"

#define NODE	"0123456789abcdef0123456789abcdef"

static struct health_spec
hspec(int http, int port, int timeout, int interval, int delay)
{
	struct health_spec h = { http, port, "/health", timeout, interval,
	    delay };

	return h;
}

/* Probes are due initial_delay after a start, then every interval. */
static void
test_health_timing(void)
{
	struct health_spec h = hspec(0, 80, 10, 60, 10);
	struct health_rec r = { 0 };
	int launch;
	int64_t due;

	CHECK_INT(health_decide(&r, &h, "c1@t1", 1000, &launch, &due),
	    HEALTH_STARTING);
	CHECK_INT(launch, 0);
	CHECK_INT(due, 10000);
	health_decide(&r, &h, "c1@t1", 11000, &launch, &due);
	CHECK_INT(launch, 1);
	CHECK_INT(due, 60000);
	health_launched(&r, 11000);
	/* Its probe runs: no second one, the result wakes the pass. */
	health_decide(&r, &h, "c1@t1", 12000, &launch, &due);
	CHECK_INT(launch, 0);
	CHECK_INT(due, -1);
	CHECK_INT(health_result(&r, "c1@t1", 1, NULL), 0);
	CHECK_INT(health_decide(&r, &h, "c1@t1", 12000, &launch, &due),
	    HEALTH_HEALTHY);
	CHECK_INT(launch, 0);
	CHECK_INT(due, 59000);
	health_decide(&r, &h, "c1@t1", 71000, &launch, &due);
	CHECK_INT(launch, 1);
	/* A result for a start now gone changes nothing. */
	health_launched(&r, 71000);
	CHECK_INT(health_result(&r, "c0@t0", 0, strdup("refused")), 0);
	CHECK_INT(r.status, HEALTH_HEALTHY);
	CHECK(r.error == NULL);
	/* No health check any more: forgotten. */
	CHECK_INT(health_decide(&r, NULL, "c1@t1", 72000, &launch, &due),
	    HEALTH_NONE);
	CHECK(r.key == NULL);
	health_rec_clear(&r);
}

/*
 * HEALTH_FAILS_RESTART failures in a row restart it, once; a pass in
 * between starts the count again; the reason outlives the restart.
 */
static void
test_health_fails_restart(void)
{
	struct health_spec h = hspec(1, 80, 1, 1, 0);
	struct health_rec r = { 0 };
	int launch, i;
	int64_t due;

	health_decide(&r, &h, "c1@t1", 0, &launch, &due);
	CHECK_INT(launch, 1);
	for (i = 1; i < HEALTH_FAILS_RESTART; i++) {
		health_launched(&r, i * 1000);
		CHECK_INT(health_result(&r, "c1@t1", 0, strdup("status 500")),
		    0);
	}
	CHECK_INT(r.status, HEALTH_UNHEALTHY);
	CHECK_INT(r.fails, HEALTH_FAILS_RESTART - 1);
	/* One pass: the count starts again. */
	health_launched(&r, 5000);
	CHECK_INT(health_result(&r, "c1@t1", 1, NULL), 0);
	CHECK_INT(r.fails, 0);
	CHECK(r.error == NULL);
	CHECK_INT(r.passed, 1);
	for (i = 1; i < HEALTH_FAILS_RESTART; i++) {
		health_launched(&r, 5000 + i * 1000);
		CHECK_INT(health_result(&r, "c1@t1", 0, strdup("status 503")),
		    0);
	}
	health_launched(&r, 9000);
	CHECK_INT(health_result(&r, "c1@t1", 0, strdup("status 502")), 1);
	CHECK_INT(r.restart, 1);
	CHECK_STR(r.error, "status 502");
	/* While the restart is due or runs: no probes. */
	health_decide(&r, &h, "c1@t1", 20000, &launch, &due);
	CHECK_INT(launch, 0);
	health_restarted(&r, 1);
	CHECK_INT(r.restarts, 1);
	CHECK_INT(r.restart, 0);
	/* Its next start: starting again, the last reason still shown. */
	CHECK_INT(health_decide(&r, &h, "c1@t2", 21000, &launch, &due),
	    HEALTH_STARTING);
	CHECK_INT(r.passed, 0);
	CHECK_STR(r.error, "status 502");
	CHECK_INT(launch, 1);
	health_rec_clear(&r);
}

static struct spec
hc_spec(int interval)
{
	struct spec s;

	memset(&s, 0, sizeof s);
	s.name = "web.web-1";
	s.service_id = 1;
	s.instance = 1;
	s.rev = 1;
	s.image = "berth-test/busybox:latest";
	s.settle_s = 0;		/* would be running at once without it */
	s.health = hspec(1, 8080, 1, interval, 0);
	return s;
}

static struct observe_container
running(const char *id, enum plan_state st)
{
	struct observe_container c;

	memset(&c, 0, sizeof c);
	c.id = (char *)id;
	c.name = "web.web-1";
	c.a.labelled = 1;
	c.a.service_id = 1;
	c.a.instance = 1;
	c.a.rev = 1;
	c.a.state = st;
	return c;
}

static void
decide_free(struct decide_out *out)
{
	free(out->probe_key);
	free(out->health_key);
	free(out->msg);
	memset(out, 0, sizeof *out);
}

/*
 * decide.c: with a health check an instance is "starting" until a probe
 * of its start passes (settle_s does not count); it is probed in its
 * namespace at its address; HEALTH_FAILS_RESTART failures restart it,
 * reported "starting" with "unhealthy: <reason>" (what a deploy that times
 * out quotes), and the restart is counted.
 */
static void
test_decide_health(void)
{
	struct spec s = hc_spec(1);
	struct observe_container m = running("c1", PLAN_ST_RUNNING);
	struct observe_container ex = running("c1", PLAN_ST_EXITED);
	struct observe_inspect ins = { .pid = 4242, .started_at = "t1",
	    .ip = "172.17.0.9" };
	struct decide_facts f = { PLAN_KEEP, 0, 0, 600000 };
	struct decide_facts busy = { PLAN_START, 1, 0, -1 };
	struct decide_rec r;
	struct decide_out out = { 0 };
	int i;

	decide_rec_init(&r, 1, 1, 1);
	decide_instance(&s, &m, &ins, &r, &f, 1000, &out);
	CHECK_INT(out.action, DECIDE_KEEP);
	CHECK_INT(out.reason, DECIDE_R_HEALTH_WAIT);
	CHECK_INT(out.state, DECIDE_ST_STARTING);
	CHECK_INT(out.health, HEALTH_STARTING);
	CHECK_INT(out.health_probe, 1);
	CHECK_STR(out.health_key, "c1@t1");
	CHECK_INT(out.health_pid, 4242);
	CHECK_STR(out.health_addr, "172.17.0.9");
	CHECK(out.error == NULL);
	decide_free(&out);
	health_launched(&r.health, 1000);
	/* Failures: still starting, with the reason; the third restarts. */
	for (i = 1; i <= HEALTH_FAILS_RESTART; i++) {
		CHECK_INT(health_result(&r.health, "c1@t1", 0, strdup(
		    "GET http://172.17.0.9:8080/health: status 500")),
		    i == HEALTH_FAILS_RESTART);
		decide_instance(&s, &m, &ins, &r, &f, 1000 + i * 1000, &out);
		CHECK_INT(out.state, DECIDE_ST_STARTING);
		CHECK_INT(out.health, HEALTH_UNHEALTHY);
		CHECK_STR(out.error, "unhealthy: GET http://172.17.0.9:8080/"
		    "health: status 500");
		CHECK_STR(out.health_error, "GET http://172.17.0.9:8080/"
		    "health: status 500");
		if (i < HEALTH_FAILS_RESTART) {
			CHECK_INT(out.action, DECIDE_KEEP);
			CHECK_INT(out.health_probe, 1);
			health_launched(&r.health, 1000 + i * 1000);
		} else {
			CHECK_INT(out.action, DECIDE_RESTART);
			CHECK_INT(out.reason, DECIDE_R_UNHEALTHY);
			CHECK_INT(out.health_probe, 0);
		}
		decide_free(&out);
	}
	/* The restart runs and Docker shows it exited: still starting. */
	decide_instance(&s, &ex, &ins, &r, &busy, 5000, &out);
	CHECK_INT(out.action, DECIDE_WAIT);
	CHECK_INT(out.state, DECIDE_ST_STARTING);
	CHECK_STR(out.error, "unhealthy: GET http://172.17.0.9:8080/health: "
	    "status 500");
	decide_free(&out);
	/* ... and again while it runs: no second restart. */
	decide_instance(&s, &m, &ins, &r, &busy, 5100, &out);
	CHECK(out.action != DECIDE_RESTART);
	decide_free(&out);
	decide_rec_health_restarted(&r, 1);
	/* Its new start: counted, starting, probed afresh. */
	ins.started_at = "t2";
	decide_instance(&s, &m, &ins, &r, &f, 6000, &out);
	CHECK_INT(out.restarts, 1);
	CHECK_INT(out.health_restarts, 1);
	CHECK_INT(out.state, DECIDE_ST_STARTING);
	CHECK_INT(out.health, HEALTH_STARTING);
	CHECK_INT(out.health_probe, 1);
	CHECK_STR(out.health_key, "c1@t2");
	decide_free(&out);
	health_launched(&r.health, 6000);
	/* It passes: running and healthy, the reason gone. */
	health_result(&r.health, "c1@t2", 1, NULL);
	decide_instance(&s, &m, &ins, &r, &f, 6100, &out);
	CHECK_INT(out.state, DECIDE_ST_RUNNING);
	CHECK_INT(out.reason, DECIDE_R_RUNNING);
	CHECK_INT(out.health, HEALTH_HEALTHY);
	CHECK(out.error == NULL);
	CHECK(out.health_error == NULL);
	decide_free(&out);
	/* One failure later: still running (it settled), but unhealthy. */
	decide_instance(&s, &m, &ins, &r, &f, 7100, &out);
	CHECK_INT(out.health_probe, 1);
	decide_free(&out);
	health_launched(&r.health, 7100);
	health_result(&r.health, "c1@t2", 0, strdup("connect to "
	    "172.17.0.9:8080: Connection refused"));
	decide_instance(&s, &m, &ins, &r, &f, 7200, &out);
	CHECK_INT(out.state, DECIDE_ST_RUNNING);
	CHECK_INT(out.health, HEALTH_UNHEALTHY);
	CHECK_STR(out.error, "unhealthy: connect to 172.17.0.9:8080: "
	    "Connection refused");
	decide_free(&out);
	/* A new rev starts its counters afresh. */
	s.rev = 2;
	decide_instance(&s, &m, &ins, &r, &f, 8000, &out);
	CHECK_INT(out.health_restarts, 0);
	CHECK(out.health_error == NULL);
	decide_free(&out);
	/* Without a health check: no health reported, settle_s rules. */
	s.health.port = 0;
	decide_instance(&s, &m, &ins, &r, &f, 9000, &out);
	CHECK_INT(out.health, HEALTH_NONE);
	CHECK_INT(out.state, DECIDE_ST_RUNNING);
	CHECK_INT(out.health_probe, 0);
	decide_free(&out);
	decide_rec_clear(&r);
}

/* The desired entry's health_check: defaults, and errors naming the field. */
static void
test_spec_health(void)
{
	static const struct {
		const char *hc, *err;
	} bad[] = {
		{ "\"x\"", "health_check: want an object" },
		{ "{\"port\": 80}", "health_check.protocol" },
		{ "{\"protocol\": \"udp\", \"port\": 80}",
		  "health_check.protocol" },
		{ "{\"protocol\": \"tcp\", \"port\": 0}", "health_check.port" },
		{ "{\"protocol\": \"tcp\", \"port\": 70000}",
		  "health_check.port" },
		{ "{\"protocol\": \"tcp\", \"port\": 80, \"interval\": -1}",
		  "health_check.interval" },
		{ "{\"protocol\": \"tcp\", \"port\": 80, \"timeout\": \"1s\"}",
		  "health_check.timeout" },
		{ "{\"protocol\": \"http\", \"port\": 80, \"uri\": \"x\"}",
		  "health_check.uri" },
		{ "{\"protocol\": \"http\", \"port\": 80, \"uri\": "
		  "\"/a b\"}", "health_check.uri" },
	};
	char text[1024], *cause = NULL;
	struct spec s;
	size_t i;

	snprintf(text, sizeof text, "{\"name\": \"a.b-1.x\", \"grid\": \"g\","
	    " \"stack\": \"a\", \"service\": \"b\", \"service_id\": 1,"
	    " \"instance\": 1, \"rev\": 1, \"image\": \"busybox\","
	    " \"health_check\": {\"protocol\": \"http\", \"port\": 8080,"
	    " \"uri\": null, \"timeout\": 0, \"interval\": 5,"
	    " \"initial_delay\": 0}}");
	CHECK_INT(spec_parse_one(text, NODE, &s, &cause), 0);
	CHECK_INT(s.health.http, 1);
	CHECK_INT(s.health.port, 8080);
	CHECK_STR(s.health.uri, "/");
	CHECK_INT(s.health.timeout_s, 1);	/* at least a second */
	CHECK_INT(s.health.interval_s, 5);
	CHECK_INT(s.health.initial_delay_s, 0);
	spec_clear(&s);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(text, sizeof text, "{\"name\": \"a.b-1.x\", \"grid\":"
		    " \"g\", \"stack\": \"a\", \"service\": \"b\","
		    " \"service_id\": 1, \"instance\": 1, \"rev\": 1,"
		    " \"image\": \"busybox\", \"health_check\": %s}",
		    bad[i].hc);
		cause = NULL;
		CHECK_INT(spec_parse_one(text, NODE, &s, &cause), -1);
		CHECK_HAS(cause, bad[i].err);
		free(cause);
	}
}

/* ---- real probes on loopback -------------------------------------------- */

struct server {
	int		 fd;		/* listening */
	int		 port;
	const char	*answer;	/* written after the request; NULL: none */
	char		 request[1024];	/* what the probe sent */
	pthread_t	 thread;
};

static void *
server_main(void *arg)
{
	struct server *sv = arg;
	ssize_t n;
	size_t got = 0;
	int c;

	c = accept(sv->fd, NULL, NULL);
	if (c < 0)
		return NULL;
	while (got < sizeof sv->request - 1 &&
	    strstr(sv->request, "\r\n\r\n") == NULL) {
		n = read(c, sv->request + got, sizeof sv->request - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		sv->request[got] = '\0';
	}
	if (sv->answer != NULL) {
		if (write(c, sv->answer, strlen(sv->answer)) < 0)
			perror("write");
	} else
		sleep(2);		/* longer than the probe's timeout */
	close(c);
	return NULL;
}

static int
listen_any(int *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof sin;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof sin) != 0 ||
	    listen(fd, 4) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) != 0)
		return -1;
	*port = ntohs(sin.sin_port);
	return fd;
}

static void
server_start(struct server *sv, const char *answer)
{
	memset(sv, 0, sizeof *sv);
	sv->fd = listen_any(&sv->port);
	sv->answer = answer;
	pthread_create(&sv->thread, NULL, server_main, sv);
}

static void
server_stop(struct server *sv)
{
	pthread_join(sv->thread, NULL);
	close(sv->fd);
}

/* http: 200-399 healthy; other statuses, silence and garbage not. */
static void
test_health_run_http(void)
{
	static const struct {
		const char *answer;
		int ok;
		const char *why;
	} cases[] = {
		{ "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 1, NULL },
		{ "HTTP/1.0 301 Moved\r\nLocation: /x\r\n\r\n", 1, NULL },
		{ "HTTP/1.1 500 Internal Server Error\r\n\r\n", 0,
		  "/health: status 500" },
		{ "HTTP/1.1 404 Not Found\r\n\r\n", 0, "status 404" },
		{ "SSH-2.0-OpenSSH\r\n", 0, "not an HTTP answer" },
		{ "", 0, "closed without an answer" },
		{ NULL, 0, "no answer within the timeout" },
	};
	struct health_spec h;
	struct server sv;
	char *why;
	size_t i;
	int ok;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		server_start(&sv, cases[i].answer);
		CHECK(sv.fd >= 0);
		h = hspec(1, sv.port, 1, 1, 0);
		ok = health_run(&h, "127.0.0.1", NULL, &why);
		CHECK_INT(ok, cases[i].ok);
		if (cases[i].why != NULL)
			CHECK_HAS(why, cases[i].why);
		else
			CHECK(why == NULL);
		free(why);
		server_stop(&sv);
		CHECK_HAS(sv.request, "GET /health HTTP/1.0\r\n");
		CHECK_HAS(sv.request, "User-Agent: berth-agent/");
	}
}

/* tcp: a connect is enough; a closed port says so; stop ends it early. */
static void
test_health_run_tcp(void)
{
	struct health_spec h;
	struct server sv;
	atomic_int stop = 1;
	char *why;
	int fd, port;

	server_start(&sv, "");
	h = hspec(0, sv.port, 1, 1, 0);
	CHECK_INT(health_run(&h, NULL, NULL, &why), 1);
	CHECK(why == NULL);
	server_stop(&sv);
	/* A port nothing listens on (bound, never listening). */
	fd = listen_any(&port);
	close(fd);
	h = hspec(0, port, 1, 1, 0);
	CHECK_INT(health_run(&h, "127.0.0.1", NULL, &why), 0);
	CHECK_HAS(why, "connect to 127.0.0.1:");
	CHECK_HAS(why, "refused");
	free(why);
	/* The agent stops: a silent http server does not hold it. */
	server_start(&sv, NULL);
	h = hspec(1, sv.port, 60, 1, 0);
	CHECK_INT(health_run(&h, "127.0.0.1", &stop, &why), 0);
	CHECK_HAS(why, "stopping");
	free(why);
	server_stop(&sv);
}

int
main(void)
{
	TEST_RUN(test_health_timing);
	TEST_RUN(test_health_fails_restart);
	TEST_RUN(test_decide_health);
	TEST_RUN(test_spec_health);
	TEST_RUN(test_health_run_http);
	TEST_RUN(test_health_run_tcp);
	return TEST_DONE();
}
