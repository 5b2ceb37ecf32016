/*
 * test_agent_portprobe.c - deploy.wait_for_port on the agent: the desired
 * entry's field, the per-instance decision (running + wait_for_port + not
 * yet proven -> "starting"; a restart proves again), the probe cadence,
 * and real probes on loopback (the agent's own namespace, and through
 * setns() into the namespace of our own pid when run as root), and the
 * reason given when setns() is refused (a thread without CAP_SYS_ADMIN).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "agent/portprobe.h"
#include "agent/spec.h"
#include "common/util.h"
#include "test.h"

#define NODE	"0123456789abcdef0123456789abcdef"
#define ENTRY	"{\"name\":\"web.web-1.01234567\",\"service_id\":3," \
		"\"instance\":1,\"rev\":2,\"image\":\"busybox\""

static void
test_spec_wait_for_port(void)
{
	static const char *bad[] = {
		ENTRY ",\"wait_for_port\":0}",
		ENTRY ",\"wait_for_port\":65536}",
		ENTRY ",\"wait_for_port\":\"8080\"}",
		ENTRY ",\"wait_for_port\":80.5}",
	};
	struct spec s;
	char *cause = NULL;
	size_t i;

	CHECK_INT(spec_parse_one(ENTRY "}", NODE, &s, &cause), 0);
	CHECK_INT(s.wait_for_port, 0);
	spec_clear(&s);
	CHECK_INT(spec_parse_one(ENTRY ",\"wait_for_port\":null}", NODE, &s,
	    &cause), 0);
	CHECK_INT(s.wait_for_port, 0);
	spec_clear(&s);
	CHECK_INT(spec_parse_one(ENTRY ",\"wait_for_port\":8080}", NODE, &s,
	    &cause), 0);
	CHECK_INT(s.wait_for_port, 8080);
	/* Only the agent acts on it: Docker's body does not carry it. */
	CHECK(strstr(s.body, "8080") == NULL);
	spec_clear(&s);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cause = NULL;
		CHECK_INT(spec_parse_one(bad[i], NODE, &s, &cause), -1);
		CHECK_HAS(cause, "wait_for_port");
		free(cause);
	}
}

static void
test_decide_without_port_is_running(void)
{
	struct portprobe_rec r;
	int64_t due;
	int launch;

	memset(&r, 0, sizeof r);
	CHECK_INT(portprobe_decide(&r, 0, "c1@t1", 1000, &launch, &due), 0);
	CHECK_INT(launch, 0);
	CHECK_INT(due, -1);
	/* Unknown start (no inspect yet): starting, nothing to probe. */
	CHECK_INT(portprobe_decide(&r, 8080, NULL, 1000, &launch, &due), 1);
	CHECK_INT(launch, 0);
	portprobe_rec_clear(&r);
}

static void
test_decide_starting_until_the_port_answers(void)
{
	struct portprobe_rec r;
	int64_t due;
	int launch;

	memset(&r, 0, sizeof r);
	/* Running, wait_for_port, not yet probed: starting, probe now. */
	CHECK_INT(portprobe_decide(&r, 8080, "c1@t1", 1000, &launch, &due), 1);
	CHECK_INT(launch, 1);
	/* The pass comes back for the next one even without a wake-up. */
	CHECK_INT(due, PORTPROBE_FAST_MS);
	portprobe_launched(&r, 1000);
	/* A probe in flight: no second one; its result wakes the pass. */
	CHECK_INT(portprobe_decide(&r, 8080, "c1@t1", 1100, &launch, &due), 1);
	CHECK_INT(launch, 0);
	CHECK_INT(due, -1);
	/* Refused: still starting, the next probe PORTPROBE_FAST_MS later. */
	CHECK_INT(portprobe_result(&r, "c1@t1", 0, NULL), 0);
	CHECK_INT(portprobe_decide(&r, 8080, "c1@t1", 1100, &launch, &due), 1);
	CHECK_INT(launch, 0);
	CHECK_INT(due, PORTPROBE_FAST_MS - 100);
	CHECK_INT(portprobe_decide(&r, 8080, "c1@t1", 1000 + PORTPROBE_FAST_MS,
	    &launch, &due), 1);
	CHECK_INT(launch, 1);
	CHECK_INT(due, PORTPROBE_FAST_MS);
	portprobe_launched(&r, 1000 + PORTPROBE_FAST_MS);
	/* It answers: running, and never probed again for this start. */
	CHECK_INT(portprobe_result(&r, "c1@t1", 1, NULL), 0);
	CHECK_INT(portprobe_decide(&r, 8080, "c1@t1", 2000, &launch, &due), 0);
	CHECK_INT(launch, 0);
	CHECK_INT(due, -1);
	CHECK_INT(portprobe_decide(&r, 8080, "c1@t1", 900000, &launch, &due),
	    0);
	CHECK_INT(launch, 0);
	/* The container restarted (new StartedAt): starting, probe again. */
	CHECK_INT(portprobe_decide(&r, 8080, "c1@t2", 900100, &launch, &due),
	    1);
	CHECK_INT(launch, 1);
	portprobe_launched(&r, 900100);
	/* A late answer for the old start does not prove the new one. */
	CHECK_INT(portprobe_result(&r, "c1@t1", 1, NULL), 0);
	CHECK_INT(portprobe_decide(&r, 8080, "c1@t2", 900200, &launch, &due),
	    1);
	/* A replacement container (new id) is proven on its own. */
	CHECK_INT(portprobe_decide(&r, 8080, "c2@t3", 900300, &launch, &due),
	    1);
	CHECK_INT(launch, 1);
	portprobe_rec_clear(&r);
}

static void
test_decide_error_is_kept_and_new_once(void)
{
	struct portprobe_rec r;
	int64_t due;
	int launch;

	memset(&r, 0, sizeof r);
	portprobe_decide(&r, 80, "c1@t1", 0, &launch, &due);
	portprobe_launched(&r, 1);
	CHECK_INT(portprobe_result(&r, "c1@t1", 0, strdup("setns: EPERM")),
	    1);
	CHECK_STR(r.error, "setns: EPERM");
	portprobe_launched(&r, 300);
	/* The same failure again: not logged again. */
	CHECK_INT(portprobe_result(&r, "c1@t1", 0, strdup("setns: EPERM")),
	    0);
	CHECK_INT(portprobe_decide(&r, 80, "c1@t1", 600, &launch, &due), 1);
	CHECK_STR(r.error, "setns: EPERM");
	/* A refused connect keeps the reason; success clears it. */
	portprobe_launched(&r, 600);
	portprobe_result(&r, "c1@t1", 0, NULL);
	CHECK_STR(r.error, "setns: EPERM");
	portprobe_launched(&r, 900);
	portprobe_result(&r, "c1@t1", 1, NULL);
	CHECK(r.error == NULL);
	CHECK_INT(portprobe_decide(&r, 80, "c1@t1", 1000, &launch, &due), 0);
	/* No wait_for_port any more (new rev): forgotten, running. */
	CHECK_INT(portprobe_decide(&r, 0, "c1@t1", 1100, &launch, &due), 0);
	CHECK(r.key == NULL);
	portprobe_rec_clear(&r);
}

static void
test_probe_cadence_slows_down(void)
{
	struct portprobe_rec r;
	int64_t due;
	int launch;

	CHECK_INT(portprobe_interval_ms(0), PORTPROBE_FAST_MS);
	CHECK_INT(portprobe_interval_ms(9999), PORTPROBE_FAST_MS);
	CHECK_INT(portprobe_interval_ms(10000), PORTPROBE_MID_MS);
	CHECK_INT(portprobe_interval_ms(60000), PORTPROBE_SLOW_MS);
	CHECK(PORTPROBE_SLOW_MS <= 2000);	/* never slower than a pass */

	/* A container starting for 30 s is probed every PORTPROBE_MID_MS. */
	memset(&r, 0, sizeof r);
	CHECK_INT(portprobe_decide(&r, 80, "c1@t1", 0, &launch, &due), 1);
	portprobe_launched(&r, 0);
	portprobe_result(&r, "c1@t1", 0, NULL);
	CHECK_INT(portprobe_decide(&r, 80, "c1@t1", 30000, &launch, &due), 1);
	CHECK_INT(launch, 1);
	CHECK_INT(due, PORTPROBE_MID_MS);
	portprobe_launched(&r, 30000);
	portprobe_result(&r, "c1@t1", 0, NULL);
	CHECK_INT(portprobe_decide(&r, 80, "c1@t1", 30500, &launch, &due), 1);
	CHECK_INT(launch, 0);
	CHECK_INT(due, PORTPROBE_MID_MS - 500);
	portprobe_rec_clear(&r);
}

/* A listening socket on 127.0.0.1, port in *port. */
static int
listen_loopback(int *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof sin;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof sin) != 0 ||
	    listen(fd, 64) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) != 0)
		return -1;
	*port = ntohs(sin.sin_port);
	return fd;
}

static void
test_probe_own_namespace(void)
{
	struct portprobe_job job;
	int port, fd = listen_loopback(&port);
	int64_t t0;

	CHECK(fd >= 0);
	memset(&job, 0, sizeof job);
	job.port = port;
	portprobe_run(&job, PORTPROBE_TIMEOUT_MS, NULL);
	CHECK_INT(job.ok, 1);
	CHECK(job.cause == NULL);
	close(fd);
	/* Closed: refused at once, not an error. */
	t0 = util_mono_ms();
	portprobe_run(&job, PORTPROBE_TIMEOUT_MS, NULL);
	CHECK_INT(job.ok, 0);
	CHECK(job.cause == NULL);
	CHECK(util_mono_ms() - t0 < PORTPROBE_TIMEOUT_MS);
}

static void
no_wake(void *arg)
{
	(void)arg;
}

static struct portprobe_job *
job_new(int pid, int port)
{
	struct portprobe_job *job = calloc(1, sizeof *job);

	job->service_id = 3;
	job->instance = 1;
	job->container_id = strdup("c1");
	job->key = strdup("c1@t1");
	job->pid = pid;
	job->port = port;
	return job;
}

/* Through the launcher: a thread that setns()es into our own pid's net. */
static void
test_probe_thread_setns(void)
{
	struct portprobe *p = portprobe_new(no_wake, NULL);
	struct portprobe_job *job;
	int port, fd = listen_loopback(&port), n = 0;

	CHECK(fd >= 0);
	CHECK_INT(portprobe_launch(p, job_new((int)getpid(), port)), 0);
	CHECK_INT(portprobe_wait(p, 2000), 0);
	job = portprobe_take(p);
	CHECK(job != NULL);
	if (job != NULL && geteuid() == 0) {
		CHECK_INT(job->ok, 1);
		CHECK(job->cause == NULL);
	} else if (job != NULL) {	/* not root: why, not a silent no */
		CHECK_INT(job->ok, 0);
		CHECK_HAS(job->cause, "root");
	}
	portprobe_job_free(job);
	CHECK(portprobe_take(p) == NULL);

	/* A pid that is gone: re-inspect, no error text. */
	CHECK_INT(portprobe_launch(p, job_new(0x3ffffff0, port)), 0);
	CHECK_INT(portprobe_wait(p, 2000), 0);
	job = portprobe_take(p);
	CHECK(job != NULL && job->gone && !job->ok && job->cause == NULL);
	portprobe_job_free(job);

	/* Many at once (launch refuses beyond PORTPROBE_MAX running): each
	 * comes back once. */
	while (n < PORTPROBE_MAX + 4) {
		job = job_new(0, port);
		if (portprobe_launch(p, job) != 0) {	/* not taken */
			portprobe_job_free(job);
			break;
		}
		n++;
	}
	CHECK(n >= 1);
	CHECK_INT(portprobe_wait(p, 2000), 0);
	while ((job = portprobe_take(p)) != NULL) {
		CHECK_INT(job->ok, 1);
		portprobe_job_free(job);
		n--;
	}
	CHECK_INT(n, 0);
	close(fd);
	portprobe_free(p);
	portprobe_free(NULL);
	portprobe_job_free(NULL);
}

/*
 * An agent without CAP_SYS_ADMIN: capabilities are per thread, so a thread
 * drops it and launches the probe, whose thread inherits the lack.
 */
static void *
launch_without_sys_admin(void *arg)
{
	struct portprobe *p = arg;
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	int port, fd = listen_loopback(&port), rc = -1;

	memset(d, 0, sizeof d);
	if (syscall(SYS_capget, &h, d) == 0) {
		d[CAP_SYS_ADMIN / 32].effective &= ~(1u << (CAP_SYS_ADMIN % 32));
		if (syscall(SYS_capset, &h, d) == 0)
			rc = portprobe_launch(p, job_new((int)getpid(), port));
	}
	if (rc == 0)
		portprobe_wait(p, 2000);
	close(fd);
	return rc == 0 ? p : NULL;
}

static void
test_probe_setns_refused_says_why(void)
{
	struct portprobe *p = portprobe_new(no_wake, NULL);
	struct portprobe_job *job;
	pthread_t t;
	void *ret = NULL;

	CHECK_INT(pthread_create(&t, NULL, launch_without_sys_admin, p), 0);
	pthread_join(t, &ret);
	CHECK(ret == p);
	job = portprobe_take(p);
	CHECK(job != NULL);
	if (job != NULL) {
		CHECK_INT(job->ok, 0);
		CHECK_HAS(job->cause, "wait_for_port");
		CHECK_HAS(job->cause, "must run as root");
	}
	portprobe_job_free(job);
	portprobe_free(p);
}

int
main(void)
{
	TEST_RUN(test_spec_wait_for_port);
	TEST_RUN(test_decide_without_port_is_running);
	TEST_RUN(test_decide_starting_until_the_port_answers);
	TEST_RUN(test_decide_error_is_kept_and_new_once);
	TEST_RUN(test_probe_cadence_slows_down);
	TEST_RUN(test_probe_own_namespace);
	TEST_RUN(test_probe_thread_setns);
	TEST_RUN(test_probe_setns_refused_says_why);
	return TEST_DONE();
}
