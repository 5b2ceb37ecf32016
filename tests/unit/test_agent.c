/*
 * test_agent.c - unit tests of the agent's pure parts: configuration from
 * env and flags (with the Kontena aliases), labels, URLs, backoff bounds,
 * /proc parsers, desired-entry validation and create bodies, the
 * converge plan, the table of Docker actions in flight and the worker
 * pool's queues (against a socket that does not exist).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "agent/backoff.h"
#include "agent/config.h"
#include "agent/connstep.h"
#include "agent/docker.h"
#include "agent/ident.h"
#include "agent/inflight.h"
#include "agent/nodeinfo.h"
#include "agent/plan.h"
#include "agent/spec.h"
#include "agent/workers.h"
#include "common/util.h"
#include "common/tlsutil.h"
#include "test.h"

/* A fake environment: NULL-terminated name, value pairs. */
static const char *
fake_getenv(const char *name, void *arg)
{
	const char **kv = arg;

	for (; kv[0] != NULL; kv += 2) {
		if (strcmp(kv[0], name) == 0)
			return kv[1];
	}
	return NULL;
}

static int
load(const char **env, int argc, char **argv, struct agent_config *cfg,
    char **cause)
{
	char *noargs[] = { "berth-agent", NULL };

	if (argv == NULL) {
		argv = noargs;
		argc = 1;
	}
	*cause = NULL;
	return agent_config_load(cfg, argc, argv, fake_getenv, env, stdout, cause);
}

/* BERTH_URL with every master of a cluster (docs/ha.md). */
static void
test_config_master_list(void)
{
	const char *env[] = { "BERTH_URL",
	    "ws://10.0.0.1:9293, ws://10.0.0.2:9293,ws://[::1]:7", NULL };
	const char *mixed[] = { "BERTH_URL", "ws://a:1,wss://b:2", NULL };
	const char *bad[] = { "BERTH_URL", "ws://a:1,b:2", NULL };
	const char *far[] = { "BERTH_URL", "ws://127.0.0.1:1,ws://10.0.0.9:2",
	    NULL };
	struct agent_config cfg;
	char *cause;

	CHECK_INT(load(env, 0, NULL, &cfg, &cause), 0);
	CHECK_INT(cfg.nmasters, 3);
	CHECK_STR(cfg.master.host, "10.0.0.1");
	CHECK_STR(cfg.masters[1].host, "10.0.0.2");
	CHECK_STR(cfg.masters[2].host, "::1");
	CHECK_INT(cfg.masters[2].port, 7);
	/* A 4013's leader URL is found in the list; another is not. */
	CHECK_INT(agent_config_find_master(&cfg, "ws://10.0.0.2:9293"), 1);
	CHECK_INT(agent_config_find_master(&cfg, "ws://[::1]:7"), 2);
	CHECK_INT(agent_config_find_master(&cfg, "ws://10.0.0.3:9293"), -1);
	CHECK_INT(agent_config_find_master(&cfg, "wss://10.0.0.2:9293"), -1);
	CHECK_INT(agent_config_find_master(&cfg, "junk"), -1);
	agent_config_free(&cfg);
	CHECK_INT(load(mixed, 0, NULL, &cfg, &cause), -1);
	CHECK_HAS(cause, "same scheme");
	free(cause);
	agent_config_free(&cfg);
	CHECK_INT(load(bad, 0, NULL, &cfg, &cause), -1);
	CHECK_HAS(cause, "BERTH_URL");
	CHECK_HAS(cause, "b:2");
	free(cause);
	agent_config_free(&cfg);
	/* Plain ws:// to any master off loopback is refused, as for one. */
	CHECK_INT(load(far, 0, NULL, &cfg, &cause), 0);
	cause = NULL;
	CHECK_INT(agent_config_check_plain(&cfg, &cause), -1);
	free(cause);
	agent_config_free(&cfg);
}

static void
test_config_defaults(void)
{
	const char *env[] = { "BERTH_URL", "ws://m:9293", NULL };
	struct agent_config cfg;
	char *cause;

	CHECK_INT(load(env, 0, NULL, &cfg, &cause), 0);
	CHECK_STR(cfg.master.host, "m");
	CHECK_INT(cfg.master.port, 9293);
	CHECK_INT(cfg.master.tls, 0);
	CHECK_STR(cfg.master.path, "/");
	CHECK_STR(cfg.data_dir, "/var/lib/berth-agent");
	CHECK_STR(cfg.docker_socket, "/var/run/docker.sock");
	CHECK_INT(cfg.stats_interval_s, 5);
	CHECK_INT(cfg.resync_interval_s, 10);
	CHECK_INT(cfg.backoff_max_s, 30);
	CHECK_INT(cfg.docker_concurrency, 8);
	CHECK(cfg.grid_token == NULL);
	CHECK_INT(cfg.nlabels, 0);
	CHECK(cfg.node_name != NULL && *cfg.node_name != '\0');
	agent_config_free(&cfg);
}

static void
test_config_kontena_aliases(void)
{
	const char *env[] = { "KONTENA_URI", "wss://master.example:443/x",
	    "KONTENA_TOKEN", "tok", "KONTENA_NODE_LABELS",
	    "ephemeral=true az=eu-west-1a", NULL };
	struct agent_config cfg;
	char *cause;

	CHECK_INT(load(env, 0, NULL, &cfg, &cause), 0);
	CHECK_INT(cfg.master.tls, 1);
	CHECK_STR(cfg.master.path, "/x");
	CHECK_STR(cfg.grid_token, "tok");
	CHECK_INT(cfg.nlabels, 2);
	CHECK_STR(cfg.labels[1], "az=eu-west-1a");
	agent_config_free(&cfg);
}

static void
test_config_berth_wins_over_alias(void)
{
	const char *env[] = { "KONTENA_URL", "ws://old", "BERTH_URL",
	    "ws://new:1", "BERTH_TOKEN", "a", "KONTENA_TOKEN", "b", NULL };
	struct agent_config cfg;
	char *cause;

	CHECK_INT(load(env, 0, NULL, &cfg, &cause), 0);
	CHECK_STR(cfg.master.host, "new");
	CHECK_STR(cfg.grid_token, "a");
	agent_config_free(&cfg);
}

static void
test_config_flags_override_env(void)
{
	const char *env[] = { "BERTH_URL", "ws://env", "BERTH_LABELS", "a=1",
	    NULL };
	char *argv[] = { "berth-agent", "--url", "ws://flag:7",
	    "--labels=b=2,c=3", "--node-name", "n1", "--backoff-max", "4",
	    NULL };
	struct agent_config cfg;
	char *cause;

	CHECK_INT(load(env, 8, argv, &cfg, &cause), 0);
	CHECK_STR(cfg.master.host, "flag");
	CHECK_INT(cfg.master.port, 7);
	CHECK_INT(cfg.nlabels, 2);
	CHECK_STR(cfg.labels[0], "b=2");
	CHECK_STR(cfg.node_name, "n1");
	CHECK_INT(cfg.backoff_max_s, 4);
	agent_config_free(&cfg);
}

static void
test_config_errors_name_the_variable(void)
{
	const char *e1[] = { NULL };
	const char *e2[] = { "BERTH_URL", "ws://m", "DOCKER_HOST",
	    "tcp://1.2.3.4:2375", NULL };
	const char *e3[] = { "BERTH_URL", "ws://m", "BERTH_STATS_INTERVAL_S",
	    "0", NULL };
	const char *e4[] = { "BERTH_URL", "ws://m", "BERTH_NODE_NAME",
	    "Bad_Name", NULL };
	const char *e5[] = { "BERTH_URL", "ftp://m", NULL };
	const char *e6[] = { "BERTH_URL", "ws://m", "BERTH_LABELS", "a=1,a=2",
	    NULL };
	const char *e7[] = { "BERTH_URL", "ws://m", "BERTH_LOG_LEVEL", "loud",
	    NULL };
	const char *e8[] = { "BERTH_URL", "ws://m", "BERTH_NODE_NAME", "-x",
	    NULL };
	struct agent_config cfg;
	char *cause;

	CHECK_INT(load(e1, 0, NULL, &cfg, &cause), -1);
	CHECK_HAS(cause, "BERTH_URL");
	free(cause);
	agent_config_free(&cfg);
	CHECK_INT(load(e2, 0, NULL, &cfg, &cause), -1);
	CHECK_HAS(cause, "DOCKER_HOST: only unix://");
	free(cause);
	agent_config_free(&cfg);
	CHECK_INT(load(e3, 0, NULL, &cfg, &cause), -1);
	CHECK_HAS(cause, "BERTH_STATS_INTERVAL_S");
	free(cause);
	agent_config_free(&cfg);
	CHECK_INT(load(e4, 0, NULL, &cfg, &cause), -1);
	CHECK_HAS(cause, "BERTH_NODE_NAME");
	free(cause);
	agent_config_free(&cfg);
	CHECK_INT(load(e8, 0, NULL, &cfg, &cause), -1);
	CHECK_HAS(cause, "BERTH_NODE_NAME: want [a-z0-9-], 1 to 63 characters, "
	    "beginning with a letter or digit, got \"-x\"");
	free(cause);
	agent_config_free(&cfg);
	CHECK_INT(load(e5, 0, NULL, &cfg, &cause), -1);
	CHECK_HAS(cause, "BERTH_URL");
	free(cause);
	agent_config_free(&cfg);
	CHECK_INT(load(e6, 0, NULL, &cfg, &cause), -1);
	CHECK_HAS(cause, "given twice");
	free(cause);
	agent_config_free(&cfg);
	CHECK_INT(load(e7, 0, NULL, &cfg, &cause), -1);
	CHECK_HAS(cause, "BERTH_LOG_LEVEL");
	free(cause);
	agent_config_free(&cfg);
}

static void
test_config_help(void)
{
	const char *env[] = { NULL };
	char *argv[] = { "berth-agent", "--help", NULL };
	struct agent_config cfg;
	char *cause;
	FILE *saved = stdout;

	stdout = fopen("/dev/null", "w");
	CHECK_INT(load(env, 2, argv, &cfg, &cause), 1);
	fclose(stdout);
	stdout = saved;
	agent_config_free(&cfg);
}

static void
test_labels_parse(void)
{
	char **l = NULL, *cause = NULL, *j;
	size_t n = 0, i;

	CHECK_INT(agent_config_parse_labels("X", " a=1,, b=2\tc= ", &l, &n, &cause),
	    0);
	CHECK_INT(n, 3);
	CHECK_STR(l[2], "c=");
	j = agent_config_labels_join(l, n);
	CHECK_STR(j, "a=1,b=2,c=");
	free(j);
	for (i = 0; i < n; i++)
		free(l[i]);
	free(l);
	CHECK_INT(agent_config_parse_labels("X", "", &l, &n, &cause), 0);
	CHECK_INT(n, 0);
	free(l);
	CHECK_INT(agent_config_parse_labels("X", "novalue", &l, &n, &cause), -1);
	CHECK_HAS(cause, "X: invalid label");
	free(cause);
	cause = NULL;
	CHECK_INT(agent_config_parse_labels("X", "=v", &l, &n, &cause), -1);
	free(cause);
	cause = NULL;
	/* More than the master takes in Berth-Node-Labels: refused here. */
	{
		struct buf b = { NULL, 0, 0 };

		for (i = 0; i < 257; i++)
			buf_printf(&b, "%sk%zu=v", i ? "," : "", i);
		CHECK_INT(agent_config_parse_labels("X", b.data, &l, &n,
		    &cause), -1);
		CHECK_HAS(cause, "more than 256 labels");
		free(cause);
		cause = NULL;
		buf_free(&b);
	}
}

static void
test_url_parse(void)
{
	struct config_url u;
	char *cause = NULL;

	CHECK_INT(agent_config_parse_url("U", "ws://[::1]:9293", &u, &cause), 0);
	CHECK_STR(u.host, "::1");
	CHECK_INT(u.port, 9293);
	free(u.host);
	free(u.path);
	CHECK_INT(agent_config_parse_url("U", "wss://h", &u, &cause), 0);
	CHECK_INT(u.port, 443);
	free(u.host);
	free(u.path);
	CHECK_INT(agent_config_parse_url("U", "ws://h:99999", &u, &cause), -1);
	free(cause);
	cause = NULL;
	CHECK_INT(agent_config_parse_url("U", "ws://:80", &u, &cause), -1);
	free(cause);
}

static void
test_node_name_from_host(void)
{
	char *n;

	n = agent_config_node_name_from_host("IP-10-0-0-5.eu-west-1.Compute");
	CHECK_STR(n, "ip-10-0-0-5-eu-west-1-compute");
	free(n);
	n = agent_config_node_name_from_host("");
	CHECK_STR(n, "node");
	free(n);
	n = agent_config_node_name_from_host("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	CHECK_INT(strlen(n), 63);
	free(n);
	/* Names begin with a letter or digit (issue 21.11). */
	n = agent_config_node_name_from_host("_build.box");
	CHECK_STR(n, "build-box");
	CHECK(util_name_valid(n));
	free(n);
	n = agent_config_node_name_from_host("__");
	CHECK_STR(n, "node");
	free(n);
}

/* Each step of a connection attempt has its own deadline (issue 21.0). */
static void
test_connstep(void)
{
	struct connstep cs = { CONNSTEP_IDLE, 0, 0 };
	int64_t left;

	CHECK(!connstep_overdue(&cs, 1000000, 1000, &left));
	CHECK(!connstep_reach(&cs, CONNSTEP_UPGRADE, 5));  /* no attempt */
	/* ws://: TCP, then the upgrade (no TLS step), then the welcome. */
	connstep_begin(&cs, 0, 1000);
	CHECK_INT(cs.step, CONNSTEP_TCP);
	CHECK(!connstep_overdue(&cs, 1999, 1000, &left));
	CHECK_INT(left, 1);
	CHECK(connstep_overdue(&cs, 2000, 1000, &left));
	CHECK_INT(left, 0);
	CHECK(connstep_connected(&cs, 1900));
	CHECK_INT(cs.step, CONNSTEP_UPGRADE);
	/* A new step's deadline counts from when it began. */
	CHECK(!connstep_overdue(&cs, 2800, 1000, &left));
	CHECK(connstep_overdue(&cs, 2900, 1000, &left));
	CHECK_STR(connstep_what(cs.step), "answer to the websocket upgrade");
	/* Forward only: late or repeated evidence does not reset a step. */
	CHECK(!connstep_reach(&cs, CONNSTEP_UPGRADE, 2500));
	CHECK(!connstep_connected(&cs, 2500));
	CHECK_INT(cs.since, 1900);
	CHECK(connstep_reach(&cs, CONNSTEP_WELCOME, 3000));
	CHECK(connstep_overdue(&cs, 4000, 1000, &left));
	CHECK_STR(connstep_what(cs.step), "welcome frame");
	CHECK(connstep_reach(&cs, CONNSTEP_READY, 3500));
	CHECK(!connstep_overdue(&cs, 100000, 1000, &left));
	connstep_end(&cs);
	CHECK_INT(cs.step, CONNSTEP_IDLE);
	/* wss://: the TLS step between TCP and the upgrade. */
	connstep_begin(&cs, 1, 0);
	CHECK(connstep_connected(&cs, 10));
	CHECK_INT(cs.step, CONNSTEP_TLS);
	CHECK_STR(connstep_what(cs.step), "TLS handshake");
	CHECK(connstep_overdue(&cs, 1010, 1000, &left));
	/* The verify callback may be the first sign of TCP being done. */
	connstep_begin(&cs, 1, 0);
	CHECK(connstep_reach(&cs, CONNSTEP_TLS, 300));
	CHECK_INT(cs.since, 300);
	CHECK_STR(connstep_what(CONNSTEP_TCP), "TCP connection");
}

static void
test_docker_host(void)
{
	char *p = NULL, *cause = NULL;

	CHECK_INT(agent_config_parse_docker_host("D", "unix:///run/d.sock", &p,
	    &cause), 0);
	CHECK_STR(p, "/run/d.sock");
	free(p);
	CHECK_INT(agent_config_parse_docker_host("D", "unix://rel", &p, &cause), -1);
	free(cause);
}

/*
 * The reconnect policy: exponential with full jitter after a drop; after a
 * 1001 (the master going away) one attempt every 0.5-1.5 s for a minute,
 * refused connects included, without growing the backoff; a 4012's delay
 * is the master's; the minute ends at the next welcome.
 */
static void
test_backoff_reconnect(void)
{
	struct backoff_reconnect r;
	int64_t d, t = 1000000;
	unsigned i;

	memset(&r, 0, sizeof r);
	/* Drops: the ceiling doubles. */
	CHECK_INT(backoff_reconnect_ms(&r, PROTO_CLOSE_DO_BACKOFF, -1, 0,
	    30000, t, 500), 500);
	CHECK_INT(r.attempt, 1);
	CHECK_INT(backoff_reconnect_ms(&r, PROTO_CLOSE_DO_BACKOFF, -1, 0,
	    30000, t, 1000), 1000);
	CHECK_INT(r.attempt, 2);
	/* The master goes away: every attempt within 0.5-1.5 s, failed
	 * connects (no close code) too, for a minute. */
	d = backoff_reconnect_ms(&r, proto_close_action(PROTO_CLOSE_SHUTDOWN),
	    -1, 0, 30000, t, 0);
	CHECK_INT(d, BACKOFF_RESTART_MIN_MS);
	for (i = 0; i < 50; i++) {
		d = backoff_reconnect_ms(&r, PROTO_CLOSE_DO_BACKOFF, -1, 0,
		    30000, t + 1000 * i, i * 2654435761u);
		CHECK(d >= BACKOFF_RESTART_MIN_MS &&
		    d <= BACKOFF_RESTART_MAX_MS);
	}
	CHECK_INT(r.attempt, 2);	/* not grown */
	/* A busy master's delay wins, and does not grow the backoff. */
	d = backoff_reconnect_ms(&r, PROTO_CLOSE_DO_RETRY_AFTER, 4000, 0,
	    30000, t, 0);
	CHECK_INT(d, 4000);
	CHECK_INT(r.attempt, 2);
	/* After the minute: the backoff as it was (ceiling 2 s). */
	d = backoff_reconnect_ms(&r, PROTO_CLOSE_DO_BACKOFF, -1, 0, 30000,
	    t + BACKOFF_RESTART_WINDOW_MS, 2000);
	CHECK_INT(d, 2000);
	CHECK_INT(r.attempt, 3);
	/* Welcomed within the minute: a later drop backs off again. */
	backoff_reconnect_ms(&r, PROTO_CLOSE_DO_RESTART, -1, 0, 30000, t, 0);
	backoff_reconnect_welcomed(&r);
	d = backoff_reconnect_ms(&r, PROTO_CLOSE_DO_BACKOFF, -1, 0, 30000,
	    t + 10, 3999);
	CHECK_INT(d, 3999);
	/* A refused node (max delay) is never hurried by a restart. */
	backoff_reconnect_ms(&r, PROTO_CLOSE_DO_RESTART, -1, 0, 30000, t, 0);
	d = backoff_reconnect_ms(&r, PROTO_CLOSE_DO_MAX_DELAY, -1, 0, 30000,
	    t + 10, 0);
	CHECK_INT(d, 15000);
	d = backoff_reconnect_ms(&r, PROTO_CLOSE_DO_RETRY_AFTER, -1, 0, 30000,
	    t + 10, 0);
	CHECK_INT(d, 15000);
}

static void
test_backoff_bounds(void)
{
	unsigned a;
	uint32_t r;
	int64_t d;

	CHECK_INT(backoff_ceiling_ms(0, 500, 30000), 500);
	CHECK_INT(backoff_ceiling_ms(1, 500, 30000), 1000);
	CHECK_INT(backoff_ceiling_ms(6, 500, 30000), 30000);
	CHECK_INT(backoff_ceiling_ms(1000, 500, 30000), 30000);
	for (a = 0; a < 70; a++) {
		for (r = 0; r < 5; r++) {
			d = backoff_jitter_ms(a, 500, 30000,
			    r == 4 ? UINT32_MAX : r * 1234567u);
			CHECK(d >= 0 && d <= backoff_ceiling_ms(a, 500, 30000));
		}
	}
	CHECK_INT(backoff_jitter_ms(0, 500, 30000, 500), 500);
	CHECK_INT(backoff_jitter_ms(0, 500, 30000, 501), 0);
	CHECK_INT(backoff_max_ms(30000, 0), 15000);
	CHECK_INT(backoff_max_ms(30000, 15000), 30000);
	CHECK(backoff_max_ms(30000, UINT32_MAX) <= 30000);
	/* pulls: 5 s then doubling up to 5 min */
	CHECK_INT(backoff_plain_ms(0, 5000, 300000), 5000);
	CHECK_INT(backoff_plain_ms(3, 5000, 300000), 40000);
	CHECK_INT(backoff_plain_ms(10, 5000, 300000), 300000);
}

static void
test_proc_parsers(void)
{
	struct cpu_sample a, b;
	uint64_t total, used;
	char *os;

	CHECK_INT(nodeinfo_parse_stat("cpu  100 0 100 800 0 0 0 0 0 0\n"
	    "cpu0 1 2 3 4\n", &a), 0);
	CHECK_INT(a.busy, 200);
	CHECK_INT(a.total, 1000);
	CHECK_INT(nodeinfo_parse_stat("cpu  150 0 150 900 0 0 0 0\n", &b), 0);
	CHECK(nodeinfo_cpu_pct(&a, &b) > 49.9 && nodeinfo_cpu_pct(&a, &b) <
	    50.1);
	CHECK(nodeinfo_cpu_pct(&b, &b) == 0.0);
	CHECK_INT(nodeinfo_parse_stat("intr 1 2\n", &a), -1);
	CHECK_INT(nodeinfo_parse_meminfo("MemTotal: 1000 kB\nMemFree: 100 kB\n"
	    "MemAvailable: 400 kB\n", &total, &used), 0);
	CHECK_INT(total, 1024000);
	CHECK_INT(used, 600 * 1024);
	os = nodeinfo_parse_os_release("NAME=x\nPRETTY_NAME=\"Debian GNU/Linux "
	    "12 (bookworm)\"\n");
	CHECK_STR(os, "Debian GNU/Linux 12 (bookworm)");
	free(os);
}

/*
 * A stats frame's container count: a number, or null while the engine
 * cannot be seen (the master keeps its last count instead of taking 0,
 * which lets a node group delete a machine that still has containers);
 * never a negative number, which the master refuses with 4010.
 */
static void
test_stats_frame_count(void)
{
	char *t = nodeinfo_stats_frame(1.5, 10, 20, 3);
	json_t *o = json_loads(t, 0, NULL);

	CHECK_INT(json_integer_value(json_object_get(o, "containers")), 3);
	json_decref(o);
	free(t);
	t = nodeinfo_stats_frame(1.5, 10, 20, -1);
	o = json_loads(t, 0, NULL);
	CHECK(o != NULL && json_is_null(json_object_get(o, "containers")));
	CHECK_INT(json_integer_value(json_object_get(o, "mem_total")), 20);
	json_decref(o);
	free(t);
}

static void
test_ident_id_valid(void)
{
	CHECK(ident_id_valid("0123456789abcdef0123456789abcdef"));
	CHECK(!ident_id_valid("0123456789ABCDEF0123456789abcdef"));
	CHECK(!ident_id_valid("0123"));
	CHECK(!ident_id_valid("0123456789abcdef0123456789abcdef0"));
}

static void
test_split_image(void)
{
	char *f, *t;

	docker_split_image("progrium/stress", &f, &t);
	CHECK_STR(f, "progrium/stress");
	CHECK_STR(t, "latest");
	free(f);
	free(t);
	docker_split_image("localhost:5000/a/b:1.2", &f, &t);
	CHECK_STR(f, "localhost:5000/a/b");
	CHECK_STR(t, "1.2");
	free(f);
	free(t);
	docker_split_image("localhost:5000/a", &f, &t);
	CHECK_STR(f, "localhost:5000/a");
	CHECK_STR(t, "latest");
	free(f);
	free(t);
}

#define NODE "0123456789abcdef0123456789abcdef"

static void
test_spec_create_body(void)
{
	struct spec s;
	char *cause = NULL;
	json_t *b, *h, *l;

	CHECK_INT(spec_parse_one("{\"name\":\"stress.stress-1.01234567\","
	    "\"grid\":\"default\",\"stack\":\"stress\",\"service\":\"stress\","
	    "\"service_id\":3,\"instance\":1,\"rev\":2,\"image\":"
	    "\"progrium/stress\",\"command\":[\"-q\",\"--cpu\",\"1\"],"
	    "\"entrypoint\":null,\"env\":[\"A=b\"],\"cpu_shares\":100,"
	    "\"cpus\":1.5,\"mem_limit\":134217728,\"memswap_limit\":-1,"
	    "\"ports\":[{\"ip\":\"0.0.0.0\",\"node_port\":8080,"
	    "\"container_port\":80,\"protocol\":\"tcp\"}],\"volumes\":"
	    "[\"/data:/data:ro\"],\"privileged\":false,\"cap_add\":[\"NET_ADMIN\"],"
	    "\"read_only\":true,\"stop_grace_period\":7,\"logging\":"
	    "{\"driver\":\"json-file\",\"options\":{\"max-size\":\"1m\"}}}",
	    NODE, &s, &cause), 0);
	CHECK_INT(s.service_id, 3);
	CHECK_INT(s.stop_grace, 7);
	b = json_loads(s.body, 0, NULL);
	h = json_object_get(b, "HostConfig");
	l = json_object_get(b, "Labels");
	CHECK_STR(json_string_value(json_object_get(b, "Image")),
	    "progrium/stress");
	CHECK_INT(json_array_size(json_object_get(b, "Cmd")), 3);
	CHECK(json_object_get(b, "Entrypoint") == NULL);
	CHECK_INT(json_integer_value(json_object_get(h, "CpuShares")), 100);
	CHECK_INT(json_integer_value(json_object_get(h, "NanoCpus")),
	    1500000000);
	CHECK_INT(json_integer_value(json_object_get(h, "Memory")), 134217728);
	CHECK_INT(json_integer_value(json_object_get(h, "MemorySwap")), -1);
	CHECK(json_is_true(json_object_get(h, "ReadonlyRootfs")));
	CHECK_STR(json_string_value(json_object_get(json_object_get(h,
	    "RestartPolicy"), "Name")), "unless-stopped");
	CHECK_STR(json_string_value(json_object_get(json_array_get(
	    json_object_get(json_object_get(h, "PortBindings"), "80/tcp"), 0),
	    "HostPort")), "8080");
	CHECK(json_object_get(json_object_get(b, "ExposedPorts"), "80/tcp") !=
	    NULL);
	CHECK_STR(json_string_value(json_object_get(l, "berth.node")), NODE);
	CHECK_STR(json_string_value(json_object_get(l, "berth.service-id")),
	    "3");
	CHECK_STR(json_string_value(json_object_get(l, "berth.rev")), "2");
	CHECK_STR(json_string_value(json_object_get(l, "berth.instance")), "1");
	CHECK_STR(json_string_value(json_object_get(l, "berth.stack")),
	    "stress");
	CHECK_INT(json_integer_value(json_object_get(b, "StopTimeout")), 7);
	/* logging: Docker's log config, as Kontena passed it. */
	CHECK_STR(json_string_value(json_object_get(json_object_get(h,
	    "LogConfig"), "Type")), "json-file");
	CHECK_STR(json_string_value(json_object_get(json_object_get(
	    json_object_get(h, "LogConfig"), "Config"), "max-size")), "1m");
	json_decref(b);
	spec_clear(&s);
}

static void
test_spec_rejects_bad_entries(void)
{
	static const char *bad[] = {
		"{\"name\":\"a\",\"service_id\":1,\"instance\":1,\"rev\":1}",
		"{\"name\":\"-a\",\"image\":\"x\",\"service_id\":1,"
		    "\"instance\":1,\"rev\":1}",
		"{\"name\":\"a\",\"image\":\"x y\",\"service_id\":1,"
		    "\"instance\":1,\"rev\":1}",
		"{\"name\":\"a\",\"image\":\"x\",\"instance\":1,\"rev\":1}",
		"{\"name\":\"a\",\"image\":\"x\",\"service_id\":1,"
		    "\"instance\":0,\"rev\":1}",
		"{\"name\":\"a\",\"image\":\"x\",\"service_id\":1,"
		    "\"instance\":1,\"rev\":1,\"command\":\"sleep 1\"}",
		"{\"name\":\"a\",\"image\":\"x\",\"service_id\":1,"
		    "\"instance\":1,\"rev\":1,\"mem_limit\":\"1g\"}",
		"{\"name\":\"a\",\"image\":\"x\",\"service_id\":1,"
		    "\"instance\":1,\"rev\":1,\"ports\":[{\"container_port\":0}]}",
		"{\"name\":\"a\",\"image\":\"x\",\"service_id\":1,"
		    "\"instance\":1,\"rev\":1,\"logging\":{\"options\":{}}}",
		"{\"name\":\"a\",\"image\":\"x\",\"service_id\":1,"
		    "\"instance\":1,\"rev\":1,\"logging\":{\"driver\":\"x\","
		    "\"options\":{\"a\":1}}}",
		"[1]",
	};
	struct spec s;
	char *cause;
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cause = NULL;
		CHECK_INT(spec_parse_one(bad[i], NODE, &s, &cause), -1);
		CHECK(cause != NULL);
		free(cause);
	}
}

static void
test_spec_desired_skips_bad_and_duplicates(void)
{
	struct spec *s;
	size_t n;
	int64_t gen;
	char *cause = NULL;

	CHECK_INT(spec_parse_desired("{\"type\":\"desired\",\"generation\":42,"
	    "\"containers\":[{\"name\":\"a\",\"image\":\"x\",\"service_id\":1,"
	    "\"instance\":1,\"rev\":1},{\"name\":\"bad\"},{\"name\":\"b\","
	    "\"image\":\"x\",\"service_id\":1,\"instance\":1,\"rev\":1},"
	    "{\"name\":\"c\",\"image\":\"x\",\"service_id\":1,\"instance\":2,"
	    "\"rev\":1}]}", NODE, &s, &n, &gen, &cause), 0);
	CHECK_INT(gen, 42);
	CHECK_INT(n, 2);
	CHECK_STR(s[0].name, "a");
	CHECK_STR(s[1].name, "c");
	spec_free_array(s, n);
	CHECK_INT(spec_parse_desired("{\"type\":\"desired\"}", NODE, &s, &n,
	    &gen, &cause), -1);
	free(cause);
}

/* Run the plan on small arrays. */
static void
run_plan(const struct plan_want *w, size_t nw, const struct plan_actual *a,
    size_t na, enum plan_act *act, long *match, int *rm)
{
	struct plan p = { act, match, rm };

	plan_compute(w, nw, a, na, &p);
}

static void
test_plan_create_keep_start(void)
{
	struct plan_want w[] = { { 1, 1, 5 }, { 1, 2, 5 }, { 2, 1, 1 } };
	struct plan_actual a[] = {
		{ 1, 1, 1, 5, PLAN_ST_RUNNING, 0, 0 },
		{ 1, 2, 1, 1, PLAN_ST_EXITED, 0, 0 },
	};
	enum plan_act act[3];
	long match[3];
	int rm[2];

	run_plan(w, 3, a, 2, act, match, rm);
	CHECK_INT(act[0], PLAN_KEEP);
	CHECK_INT(match[0], 0);
	CHECK_INT(act[1], PLAN_CREATE);
	CHECK_INT(act[2], PLAN_START);
	CHECK_INT(match[2], 1);
	CHECK_INT(rm[0], 0);
	CHECK_INT(rm[1], 0);
}

static void
test_plan_replace_on_new_rev(void)
{
	struct plan_want w[] = { { 1, 1, 6 } };
	struct plan_actual a[] = { { 1, 1, 1, 5, PLAN_ST_RUNNING, 0, 0 } };
	enum plan_act act[1];
	long match[1];
	int rm[1];

	run_plan(w, 1, a, 1, act, match, rm);
	CHECK_INT(act[0], PLAN_CREATE);
	CHECK_INT(match[0], -1);
	CHECK_INT(rm[0], 1);
}

static void
test_plan_removes_unwanted_and_unlabelled(void)
{
	struct plan_want w[] = { { 1, 1, 1 } };
	struct plan_actual a[] = {
		{ 1, 1, 1, 1, PLAN_ST_RUNNING, 0, 0 },
		{ 1, 9, 1, 1, PLAN_ST_RUNNING, 0, 0 },	/* not wanted */
		{ 0, 0, 0, 0, PLAN_ST_RUNNING, 0, 0 },	/* labels broken */
		{ 1, 1, 2, 1, PLAN_ST_REMOVING, 0, 0 },	/* Docker is on it */
	};
	enum plan_act act[1];
	long match[1];
	int rm[4];

	run_plan(w, 1, a, 4, act, match, rm);
	CHECK_INT(act[0], PLAN_KEEP);
	CHECK_INT(rm[0], 0);
	CHECK_INT(rm[1], 1);
	CHECK_INT(rm[2], 1);
	CHECK_INT(rm[3], 0);
}

static void
test_plan_duplicates_keep_best(void)
{
	struct plan_want w[] = { { 1, 1, 1 } };
	struct plan_actual a[] = {
		{ 1, 1, 1, 1, PLAN_ST_EXITED, 0, 0 },
		{ 1, 1, 1, 1, PLAN_ST_RUNNING, 0, 0 },
		{ 1, 1, 1, 1, PLAN_ST_CREATED, 0, 0 },
	};
	enum plan_act act[1];
	long match[1];
	int rm[3];

	run_plan(w, 1, a, 3, act, match, rm);
	CHECK_INT(act[0], PLAN_KEEP);
	CHECK_INT(match[0], 1);
	CHECK_INT(rm[0], 1);
	CHECK_INT(rm[1], 0);
	CHECK_INT(rm[2], 1);
}

static void
test_plan_dead_is_recreated_restarting_kept(void)
{
	struct plan_want w[] = { { 1, 1, 1 }, { 2, 1, 1 } };
	struct plan_actual a[] = {
		{ 1, 1, 1, 1, PLAN_ST_DEAD, 0, 0 },
		{ 1, 2, 1, 1, PLAN_ST_RESTARTING, 0, 0 },
	};
	enum plan_act act[2];
	long match[2];
	int rm[2];

	run_plan(w, 2, a, 2, act, match, rm);
	CHECK_INT(act[0], PLAN_CREATE);
	CHECK_INT(rm[0], 1);
	CHECK_INT(act[1], PLAN_KEEP);
	CHECK_INT(rm[1], 0);
}

/*
 * Daemons stop last: with a web container and a daemon's both to go, the
 * daemon's is held; once the web container is gone (or with only jobs'
 * and daemons' to go) nothing is held.
 */
static void
test_plan_hold_daemons(void)
{
	struct plan_actual a[] = {
		{ 1, 1, 1, 1, PLAN_ST_RUNNING, 0, 1 },	/* daemon, to go */
		{ 1, 2, 1, 1, PLAN_ST_RUNNING, 0, 0 },	/* web, to go */
		{ 1, 3, 1, 1, PLAN_ST_RUNNING, 0, 1 },	/* daemon, kept */
		{ 1, 4, 1, 1, PLAN_ST_EXITED, 7, 0 },	/* a job's, to go */
		{ 0, 0, 0, 0, PLAN_ST_RUNNING, 0, 1 },	/* unlabelled */
	};
	int rm[] = { 1, 1, 0, 1, 1 }, hold[5];

	CHECK_INT(plan_hold_daemons(a, 5, rm, hold), 1);
	CHECK_INT(hold[0], 1);
	CHECK_INT(hold[1], 0);
	CHECK_INT(hold[2], 0);
	CHECK_INT(hold[3], 0);
	CHECK_INT(hold[4], 0);
	/* The web container is gone: the daemon's goes. */
	rm[1] = 0;
	CHECK_INT(plan_hold_daemons(a, 5, rm, hold), 0);
	CHECK_INT(hold[0], 0);
	/* A web container's removal alone holds nothing. */
	rm[0] = 0;
	rm[1] = 1;
	CHECK_INT(plan_hold_daemons(a, 5, rm, hold), 0);
}

static void
test_plan_empty_desired_removes_all(void)
{
	struct plan_actual a[] = { { 1, 1, 1, 1, PLAN_ST_RUNNING, 0, 0 } };
	enum plan_act act[1];
	long match[1];
	int rm[1];

	run_plan(NULL, 0, a, 1, act, match, rm);
	CHECK_INT(rm[0], 1);
}

static void
test_plan_state_parse(void)
{
	CHECK_INT(plan_state_parse("running"), PLAN_ST_RUNNING);
	CHECK_INT(plan_state_parse("paused"), PLAN_ST_PAUSED);
	CHECK_INT(plan_state_parse("restarting"), PLAN_ST_RESTARTING);
	CHECK_INT(plan_state_parse("created"), PLAN_ST_CREATED);
	CHECK_INT(plan_state_parse("exited"), PLAN_ST_EXITED);
	CHECK_INT(plan_state_parse("dead"), PLAN_ST_DEAD);
	CHECK_INT(plan_state_parse("removing"), PLAN_ST_REMOVING);
	CHECK_INT(plan_state_parse(NULL), PLAN_ST_EXITED);
}

/* Pins: both written forms parse to the same bytes; anything else fails. */
static void
test_tls_pin_forms(void)
{
	unsigned char a[TLSUTIL_PIN_LEN], b[TLSUTIL_PIN_LEN];
	char text[TLSUTIL_PIN_STRLEN];
	const char *b64 = "sha256//ZBgPuXWf/2FvcVWqhjqoOnMsXqv+/yYc2Woa/CENxUA=";
	const char *hex = "sha256:64180fb9759fff616f7155aa863aa83a732c5eabfeff261"
	    "cd96a1afc210dc540";

	CHECK_INT(tlsutil_pin_parse(b64, a), 0);
	CHECK_INT(tlsutil_pin_parse(hex, b), 0);
	CHECK(memcmp(a, b, sizeof a) == 0);
	tlsutil_pin_format(a, text);
	CHECK_STR(text, b64);
	CHECK_INT(tlsutil_pin_parse("sha256//short=", a), -1);
	CHECK_INT(tlsutil_pin_parse("sha1:64180fb9", a), -1);
	CHECK_INT(tlsutil_pin_parse("sha256:zz180fb9759fff616f7155aa863aa83a732c"
	    "5eabfeff261cd96a1afc210dc540", a), -1);
	CHECK_INT(tlsutil_pin_parse("ZBgPuXWf/2FvcVWqhjqoOnMsXqv+/yYc2Woa/CENxUA=",
	    a), -1);
	CHECK_INT(tlsutil_host_loopback("127.0.0.1"), 1);
	CHECK_INT(tlsutil_host_loopback("127.9.8.7"), 1);
	CHECK_INT(tlsutil_host_loopback("::1"), 1);
	CHECK_INT(tlsutil_host_loopback("LocalHost"), 1);
	CHECK_INT(tlsutil_host_loopback("10.0.0.1"), 0);
	CHECK_INT(tlsutil_host_loopback("master"), 0);
	CHECK_INT(tlsutil_host_loopback("0.0.0.0"), 0);
}

/* wss settings and the plain-text policy. */
static void
test_config_tls(void)
{
	const char *e1[] = { "BERTH_URL", "wss://m:9293", "BERTH_MASTER_PIN",
	    "sha256//ZBgPuXWf/2FvcVWqhjqoOnMsXqv+/yYc2Woa/CENxUA=", NULL };
	const char *e2[] = { "BERTH_URL", "ws://m:9293", "BERTH_MASTER_PIN",
	    "sha256//ZBgPuXWf/2FvcVWqhjqoOnMsXqv+/yYc2Woa/CENxUA=", NULL };
	const char *e3[] = { "BERTH_URL", "wss://m", "BERTH_MASTER_PIN", "x",
	    NULL };
	const char *e4[] = { "BERTH_URL", "ws://m:9293", NULL };
	const char *e5[] = { "BERTH_URL", "ws://m:9293", "BERTH_INSECURE_PLAIN",
	    "1", NULL };
	const char *e6[] = { "BERTH_URL", "ws://127.0.0.1:9293", NULL };
	const char *e7[] = { "BERTH_URL", "wss://m", "BERTH_CA_CERT",
	    "/nonexistent/ca.pem", NULL };
	char *argv[] = { "berth-agent", "--insecure-plain", NULL };
	struct agent_config cfg;
	char *cause;

	CHECK_INT(load(e1, 0, NULL, &cfg, &cause), 0);
	CHECK_INT(cfg.has_pin, 1);
	CHECK_INT(agent_config_check_plain(&cfg, &cause), 0);
	agent_config_free(&cfg);
	CHECK_INT(load(e2, 0, NULL, &cfg, &cause), -1);
	CHECK_HAS(cause, "wss://");
	free(cause);
	agent_config_free(&cfg);
	CHECK_INT(load(e3, 0, NULL, &cfg, &cause), -1);
	CHECK_HAS(cause, "BERTH_MASTER_PIN");
	free(cause);
	agent_config_free(&cfg);
	CHECK_INT(load(e7, 0, NULL, &cfg, &cause), -1);
	CHECK_HAS(cause, "BERTH_CA_CERT");
	free(cause);
	agent_config_free(&cfg);
	CHECK_INT(load(e4, 0, NULL, &cfg, &cause), 0);
	CHECK_INT(agent_config_check_plain(&cfg, &cause), -1);
	CHECK_HAS(cause, "BERTH_INSECURE_PLAIN=1");
	free(cause);
	agent_config_free(&cfg);
	CHECK_INT(load(e4, 2, argv, &cfg, &cause), 0);
	CHECK_INT(cfg.insecure_plain, 1);
	CHECK_INT(agent_config_check_plain(&cfg, &cause), 0);
	agent_config_free(&cfg);
	CHECK_INT(load(e5, 0, NULL, &cfg, &cause), 0);
	CHECK_INT(agent_config_check_plain(&cfg, &cause), 0);
	agent_config_free(&cfg);
	CHECK_INT(load(e6, 0, NULL, &cfg, &cause), 0);
	CHECK_INT(agent_config_check_plain(&cfg, &cause), 0);
	agent_config_free(&cfg);
}

/* BERTH_DOCKER_CONCURRENCY: 1-64, the flag wins, bad values name it. */
static void
test_config_docker_concurrency(void)
{
	const char *ok[] = { "BERTH_URL", "ws://m", "BERTH_DOCKER_CONCURRENCY",
	    "16", NULL };
	const char *bad[] = { "0", "65", "x", "8s", "", "-1", NULL };
	const char *env[] = { "BERTH_URL", "ws://m", "BERTH_DOCKER_CONCURRENCY",
	    NULL, NULL };
	char *argv[] = { "berth-agent", "--docker-concurrency", "64", NULL };
	struct agent_config cfg;
	char *cause;
	size_t i;

	CHECK_INT(load(ok, 0, NULL, &cfg, &cause), 0);
	CHECK_INT(cfg.docker_concurrency, 16);
	agent_config_free(&cfg);
	CHECK_INT(load(ok, 3, argv, &cfg, &cause), 0);
	CHECK_INT(cfg.docker_concurrency, 64);
	agent_config_free(&cfg);
	for (i = 0; bad[i] != NULL; i++) {
		char want[128];

		env[3] = bad[i];
		CHECK_INT(load(env, 0, NULL, &cfg, &cause), -1);
		snprintf(want, sizeof want, "BERTH_DOCKER_CONCURRENCY: \"%s\" "
		    "is not a whole number (1..64)", bad[i]);
		CHECK_STR(cause, want);
		free(cause);
		agent_config_free(&cfg);
	}
}

/* Creates are never doubled; a replacement's create waits its removal. */
static void
test_inflight_rules(void)
{
	struct inflight t = { NULL, 0, 0 };
	uint64_t c1, r1, r2, s1;

	CHECK_INT(inflight_instance_busy(&t, 1, 1), 0);
	CHECK_INT(inflight_may_remove(&t, 1, 1, 1, "aaa"), 1);

	/* A create in flight: no second create, no removal of what it made. */
	c1 = inflight_add(&t, INFLIGHT_CREATE, 1, 1, 1, NULL);
	CHECK(c1 != 0);
	CHECK_INT(inflight_instance_busy(&t, 1, 1), 1);
	CHECK_INT(inflight_instance_busy(&t, 1, 2), 0);
	CHECK_INT(inflight_instance_busy(&t, 2, 1), 0);
	CHECK_INT(inflight_may_remove(&t, 1, 1, 1, "new"), 0);
	CHECK_INT(inflight_may_remove(&t, 1, 1, 2, "other"), 1);
	CHECK_INT(inflight_may_remove(&t, 0, 0, 0, "unlabelled"), 1);
	inflight_done(&t, c1);
	CHECK_INT(inflight_instance_busy(&t, 1, 1), 0);
	CHECK_INT(inflight_may_remove(&t, 1, 1, 1, "new"), 1);

	/* Replacement: the old one is being removed; no create meanwhile,
	 * no second removal of it, but a duplicate may go in parallel. */
	r1 = inflight_add(&t, INFLIGHT_REMOVE, 1, 1, 1, "old");
	CHECK_INT(inflight_instance_busy(&t, 1, 1), 1);
	CHECK_INT(inflight_removing(&t, "old"), 1);
	CHECK_INT(inflight_removing(&t, "dup"), 0);
	CHECK_INT(inflight_may_remove(&t, 1, 1, 1, "old"), 0);
	CHECK_INT(inflight_may_remove(&t, 1, 1, 1, "dup"), 1);
	r2 = inflight_add(&t, INFLIGHT_REMOVE, 0, 0, 0, "junk");
	CHECK(r2 != r1);
	CHECK_INT(inflight_may_remove(&t, 0, 0, 0, "junk"), 0);
	CHECK_INT(inflight_instance_busy(&t, 0, 0), 0);	/* unlabelled */
	inflight_done(&t, r1);
	CHECK_INT(inflight_instance_busy(&t, 1, 1), 0);
	CHECK_INT(inflight_removing(&t, "old"), 0);

	/* A start in flight holds its container and its instance. */
	s1 = inflight_add(&t, INFLIGHT_START, 1, 3, 1, "stopped");
	CHECK_INT(inflight_may_remove(&t, 1, 3, 1, "stopped"), 0);
	CHECK_INT(inflight_instance_busy(&t, 3, 1), 1);
	inflight_done(&t, 12345);	/* unknown ids are ignored */
	CHECK_INT(t.n, 2);
	inflight_done(&t, s1);
	inflight_done(&t, r2);
	CHECK_INT(t.n, 0);
	inflight_add(&t, INFLIGHT_REMOVE, 0, 0, 0, "x");
	inflight_clear(&t);
	CHECK_INT(t.n, 0);
	CHECK(t.e == NULL);
}

/* Counts done() calls, as converge_wake() would be woken. */
struct wake_count {
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	int		 n;
};

static void
wake_count_cb(void *arg)
{
	struct wake_count *w = arg;

	pthread_mutex_lock(&w->lock);
	w->n++;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

/*
 * The pool against an engine that is not there: every job comes back
 * once, failed with a reason, in the done queue; shutdown joins and frees
 * what was never run.
 */
static void
test_workers_queue(void)
{
	enum { NJOBS = 20 };
	struct wake_count wc = { PTHREAD_MUTEX_INITIALIZER,
	    PTHREAD_COND_INITIALIZER, 0 };
	atomic_int stop = 0;
	struct workers *w;
	struct work *job;
	int seen[NJOBS + 1], i, n = 0;

	memset(seen, 0, sizeof seen);
	w = workers_new("/nonexistent/berth-test.sock", 3, &stop,
	    wake_count_cb, &wc);
	workers_start(w);
	for (i = 1; i <= NJOBS; i++) {
		job = calloc(1, sizeof *job);
		job->seq = (uint64_t)i;
		job->kind = i % 3 == 0 ? INFLIGHT_CREATE : i % 3 == 1 ?
		    INFLIGHT_START : INFLIGHT_REMOVE;
		job->name = strdup("c");
		job->body = strdup("{}");
		if (job->kind != INFLIGHT_CREATE)
			job->id = strdup("0123abcd");
		job->stop_first = 1;
		workers_submit(w, job);
	}
	pthread_mutex_lock(&wc.lock);
	while (wc.n < NJOBS)
		pthread_cond_wait(&wc.cond, &wc.lock);
	pthread_mutex_unlock(&wc.lock);
	while ((job = workers_take(w)) != NULL) {
		CHECK(job->seq >= 1 && job->seq <= NJOBS);
		if (job->seq >= 1 && job->seq <= NJOBS)
			seen[job->seq]++;
		CHECK_INT(job->rc, -1);
		CHECK(job->cause != NULL);
		CHECK_INT(job->created, 0);
		work_free(job);
		n++;
	}
	CHECK_INT(n, NJOBS);
	for (i = 1; i <= NJOBS; i++)
		CHECK_INT(seen[i], 1);
	atomic_store(&stop, 1);
	workers_free(w);

	/* Stopped at once: queued jobs are freed, not run. */
	atomic_store(&stop, 0);
	w = workers_new("/nonexistent/berth-test.sock", 1, &stop,
	    wake_count_cb, &wc);
	atomic_store(&stop, 1);
	workers_start(w);
	for (i = 0; i < 5; i++) {
		job = calloc(1, sizeof *job);
		job->kind = INFLIGHT_START;
		job->name = strdup("c");
		job->id = strdup("x");
		workers_submit(w, job);
	}
	workers_free(w);
	workers_free(NULL);
	work_free(NULL);
}

int
main(void)
{
	TEST_RUN(test_config_defaults);
	TEST_RUN(test_config_master_list);
	TEST_RUN(test_config_kontena_aliases);
	TEST_RUN(test_config_berth_wins_over_alias);
	TEST_RUN(test_config_flags_override_env);
	TEST_RUN(test_config_errors_name_the_variable);
	TEST_RUN(test_config_help);
	TEST_RUN(test_labels_parse);
	TEST_RUN(test_url_parse);
	TEST_RUN(test_tls_pin_forms);
	TEST_RUN(test_config_tls);
	TEST_RUN(test_node_name_from_host);
	TEST_RUN(test_connstep);
	TEST_RUN(test_docker_host);
	TEST_RUN(test_backoff_bounds);
	TEST_RUN(test_backoff_reconnect);
	TEST_RUN(test_stats_frame_count);
	TEST_RUN(test_proc_parsers);
	TEST_RUN(test_ident_id_valid);
	TEST_RUN(test_split_image);
	TEST_RUN(test_spec_create_body);
	TEST_RUN(test_spec_rejects_bad_entries);
	TEST_RUN(test_spec_desired_skips_bad_and_duplicates);
	TEST_RUN(test_plan_create_keep_start);
	TEST_RUN(test_plan_replace_on_new_rev);
	TEST_RUN(test_plan_removes_unwanted_and_unlabelled);
	TEST_RUN(test_plan_duplicates_keep_best);
	TEST_RUN(test_plan_dead_is_recreated_restarting_kept);
	TEST_RUN(test_plan_empty_desired_removes_all);
	TEST_RUN(test_plan_hold_daemons);
	TEST_RUN(test_plan_state_parse);
	TEST_RUN(test_config_docker_concurrency);
	TEST_RUN(test_inflight_rules);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	TEST_RUN(test_workers_queue);
	curl_global_cleanup();
	return TEST_DONE();
}
