/*
 * test_stack.c - unit tests of the stack-file parser (stacks/).
 *
 * Each test feeds stack_parse() a YAML text and checks either the
 * normalized JSON or the errors, with their line, column and key, the way
 * an operator would see them. The last test runs the parser over the real
 * Kontena stacks in $BERTH_SHARED/kontena-stacks (default
 * ../shared/kontena-stacks) and pins how many validate, the figure quoted
 * in docs/stack-file.md. The corpus is not part of the repository: with
 * BERTH_SHARED unset and no ../shared/kontena-stacks, that test is
 * reported as skipped (a TAP "# SKIP"); with BERTH_SHARED set, a missing
 * corpus fails it. Tests run from the repository root.
 */
#include "tests/unit/test.h"
#include "common/units.h"
#include "stacks/stack.h"
#include "common/util.h"
#include "common/xmalloc.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The environment and files the tests pretend the caller has. */
static const char *test_env[][2] = {
	{ "VERSION", "7.0" },
	{ "REPLICAS", "4" },
	{ "DEBUG", "yes" },
	{ "REGION", "eu" },
	{ NULL, NULL },
};
static const char *test_files[][2] = {
	{ "app.env", "# comment\nA=from-file\nB=file\n\nexport C=3\n" },
	{ "bad.env", "A=1\nnot a pair\n" },
	{ "secret.txt", "s3cr3t" },
	{ NULL, NULL },
};

static int
test_getenv(void *arg, const char *name, char **value)
{
	size_t i;

	for (i = 0; test_env[i][0] != NULL; i++) {
		if (strcmp(test_env[i][0], name) == 0) {
			*value = xstrdup(test_env[i][1]);
			return 1;
		}
	}
	return 0;
}

static int
test_read_file(void *arg, const char *path, enum stack_file_base base,
    char **data, size_t *len, char **cause)
{
	size_t i;

	for (i = 0; test_files[i][0] != NULL; i++) {
		if (strcmp(test_files[i][0], path) == 0) {
			*data = xstrdup(test_files[i][1]);
			*len = strlen(*data);
			return 0;
		}
	}
	*cause = xstrdup("no such file");
	return -1;
}

/* The grid the tests pretend exists: stack lb with service lb. */
static int
test_service_find(void *arg, const char *stack, const char *service,
    json_t **info)
{
	if (strcmp(stack, "lb") != 0)
		return -1;
	if (strcmp(service, "lb") != 0)
		return 0;
	*info = json_pack("{s:s, s:i}", "image", "kontena/lb:latest",
	    "instances", 2);
	return 1;
}

static const struct stack_host test_host = {
	.getenv = test_getenv,
	.read_file = test_read_file,
	.service_find = test_service_find,
};

static struct stack_opts test_opts = { .grid = "prod", .host = &test_host };

static json_t *
parse(const char *yaml, struct stack_errors *e)
{
	memset(e, 0, sizeof *e);
	return stack_parse(yaml, strlen(yaml), "t.yml", &test_opts, e);
}

/* 1 if some error is at line:col with key and a message containing msg. */
static int
has_err(const struct stack_errors *e, int line, int col, const char *key,
    const char *msg)
{
	size_t i;

	for (i = 0; i < e->n; i++) {
		if (e->v[i].line == line && e->v[i].col == col &&
		    strcmp(e->v[i].key, key) == 0 &&
		    strstr(e->v[i].message, msg) != NULL &&
		    strcmp(e->v[i].file, "t.yml") == 0)
			return 1;
	}
	return 0;
}

static void
dump_errs(const struct stack_errors *e)
{
	char *s = stack_errors_format(e);

	printf("  errors:\n%s\n", s);
	free(s);
}

/* Parse yaml, expect failure with an error at line:col, key, msg. */
#define CHECK_ERR(yaml, line, col, key, msg) do {			\
	struct stack_errors ce_;					\
	json_t *cj_ = parse((yaml), &ce_);				\
	CHECK(cj_ == NULL);						\
	CHECK(has_err(&ce_, (line), (col), (key), (msg)));		\
	if (!has_err(&ce_, (line), (col), (key), (msg)))		\
		dump_errs(&ce_);					\
	json_decref(cj_);						\
	stack_errors_clear(&ce_);					\
} while (0)

#define HEAD "stack: me/app\nservices:\n  web:\n    image: nginx\n"

static json_t *
svc0(json_t *stack)
{
	return json_array_get(json_object_get(stack, "services"), 0);
}

static const char *
sget(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static long long
iget(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static void
test_reference_stress(void)
{
	struct stack_errors e = { NULL, 0 };
	json_t *st, *s;
	char *buf;
	size_t len;

	CHECK(util_read_file("stacks/examples/stress.yml", 65536, &buf,
	    &len) == 0);
	st = stack_parse(buf, len, "stress.yml", NULL, &e);
	free(buf);
	CHECK(st != NULL);
	CHECK_INT(e.n, 0);
	if (st == NULL)
		return;
	CHECK_STR(sget(st, "stack"), "jussi/stress");
	CHECK_STR(sget(st, "name"), "stress");
	CHECK_STR(sget(st, "version"), "0.1.1");
	CHECK_STR(sget(st, "description"),
	    "Runs progrium/stress on multiple instances");
	s = svc0(st);
	CHECK_STR(sget(s, "name"), "stress");
	CHECK_STR(sget(s, "image"), "progrium/stress");
	CHECK_INT(json_array_size(json_object_get(s, "command")), 9);
	CHECK_STR(json_string_value(json_array_get(json_object_get(s,
	    "command"), 7)), "--timeout");
	CHECK_STR(sget(s, "strategy"), "daemon");
	CHECK_STR(sget(json_object_get(s, "deploy"), "strategy"), "daemon");
	CHECK_INT(iget(s, "instances"), 1);
	CHECK_STR(json_string_value(json_array_get(json_object_get(s,
	    "affinity"), 0)), "label==ephemeral=true");
	CHECK_INT(iget(s, "cpu_shares"), 100);
	json_decref(st);
}

static void
test_examples(void)
{
	static const char *files[] = { "stacks/examples/stress-local.yml",
	    "stacks/examples/web-ha.yml" };
	struct stack_errors e = { NULL, 0 };
	json_t *st, *s;
	char *buf;
	size_t len, i;

	for (i = 0; i < 2; i++) {
		CHECK(util_read_file(files[i], 65536, &buf, &len) == 0);
		st = stack_parse(buf, len, files[i], NULL, &e);
		free(buf);
		CHECK(st != NULL);
		if (st == NULL) {
			dump_errs(&e);
			stack_errors_clear(&e);
			continue;
		}
		s = svc0(st);
		CHECK_STR(sget(s, "image"), "berth-test/busybox:latest");
		if (i == 0) {
			CHECK_STR(sget(s, "strategy"), "daemon");
			CHECK_INT(iget(s, "cpu_shares"), 100);
			CHECK_INT(iget(s, "mem_limit"), 64 << 20);
			CHECK_STR(json_string_value(json_array_get(
			    json_object_get(s, "affinity"), 0)),
			    "label==ephemeral=true");
		} else {
			CHECK_STR(sget(s, "strategy"), "ha");
			CHECK_INT(iget(s, "instances"), 6);
			CHECK(json_real_value(json_object_get(json_object_get(
			    s, "deploy"), "min_health")) == 0.5);
			CHECK(json_is_false(json_object_get(s, "stateful")));
		}
		json_decref(st);
	}
}

static void
test_defaults(void)
{
	struct stack_errors e;
	json_t *st, *s, *d;

	st = parse("stack: app\nservices:\n  web:\n    image: nginx\n", &e);
	CHECK(st != NULL);
	if (st == NULL)
		return;
	CHECK_STR(sget(st, "stack"), "app");
	CHECK_STR(sget(st, "name"), "app");
	CHECK(json_is_null(json_object_get(st, "version")));
	s = svc0(st);
	CHECK(json_is_null(json_object_get(s, "command")));
	CHECK(json_is_null(json_object_get(s, "entrypoint")));
	CHECK_INT(iget(s, "instances"), 1);
	CHECK(json_is_false(json_object_get(s, "stateful")));
	CHECK_STR(sget(s, "strategy"), "ha");
	d = json_object_get(s, "deploy");
	CHECK(json_real_value(json_object_get(d, "min_health")) == 0.8);
	CHECK(json_is_null(json_object_get(d, "wait_for_port")));
	CHECK(json_is_null(json_object_get(d, "interval")));
	CHECK_INT(iget(s, "stop_grace_period"), 10);
	CHECK(json_is_null(json_object_get(s, "mem_limit")));
	CHECK(json_is_null(json_object_get(s, "cpus")));
	CHECK(json_is_false(json_object_get(s, "privileged")));
	CHECK(json_is_false(json_object_get(s, "read_only")));
	CHECK_INT(json_array_size(json_object_get(s, "env")), 0);
	CHECK(json_is_null(json_object_get(s, "logging")));
	json_decref(st);
}

static const char every_key[] =
"stack: acme/shop\n"
"version: 1.2.3\n"
"description: every key\n"
"expose: web\n"
"volumes:\n"
"  data:\n"
"    external: true\n"
"  logs:\n"
"    external:\n"
"      name: shared-logs\n"
"services:\n"
"  web:\n"
"    image: nginx:1.25\n"
"    command: nginx -g 'daemon off;' \"a b\"\n"
"    entrypoint: [\"/bin/sh\", \"-c\"]\n"
"    instances: 3\n"
"    stateful: true\n"
"    environment:\n"
"      - A=1\n"
"      - B=two words\n"
"    env_file: app.env\n"
"    ports:\n"
"      - 80:8080\n"
"      - 127.0.0.1:53:5353/udp\n"
"    volumes:\n"
"      - /var/cache\n"
"      - /etc/hosts:/etc/hosts:ro\n"
"      - data:/data\n"
"      - logs:/logs:rw,z\n"
"    links:\n"
"      - db:database\n"
"    depends_on:\n"
"      - cache\n"
"    affinity:\n"
"      - label==az=a\n"
"      - node!=~n2\n"
"    cpus: 1.5\n"
"    cpu_shares: 512\n"
"    mem_limit: 128M\n"
"    memswap_limit: 1g\n"
"    shm_size: 512k\n"
"    privileged: true\n"
"    cap_add: [NET_ADMIN]\n"
"    cap_drop:\n"
"      - ALL\n"
"    network_mode: host\n"
"    pid: host\n"
"    user: 1000\n"
"    logging:\n"
"      driver: json-file\n"
"      options:\n"
"        max-size: 10m\n"
"        max-file: 3\n"
"    deploy:\n"
"      strategy: random\n"
"      wait_for_port: 8080\n"
"      min_health: 0.5\n"
"      interval: 1h30m\n"
"    hooks:\n"
"      post_start:\n"
"        - name: warm\n"
"          cmd: curl localhost\n"
"          instances: 1\n"
"          oneshot: true\n"
"      pre_stop:\n"
"        - cmd: sleep 1\n"
"          instances: '*'\n"
"    health_check:\n"
"      protocol: http\n"
"      port: 8080\n"
"      uri: /health\n"
"      timeout: 5\n"
"      interval: 1m\n"
"      initial_delay: 30s\n"
"    stop_signal: SIGQUIT\n"
"    stop_grace_period: 2m\n"
"    read_only: true\n"
"  db:\n"
"    image: postgres\n"
"  cache:\n"
"    image: redis\n"
"    environment:\n"
"      MODE: lru\n"
"      EMPTY:\n"
"      N: 5\n";

static void
test_every_key(void)
{
	struct stack_errors e;
	json_t *st, *s, *p, *d, *h, *l, *hc;

	st = parse(every_key, &e);
	CHECK(st != NULL);
	if (st == NULL) {
		dump_errs(&e);
		stack_errors_clear(&e);
		return;
	}
	CHECK_STR(sget(st, "name"), "shop");
	CHECK_STR(sget(st, "version"), "1.2.3");
	CHECK_STR(sget(st, "description"), "every key");
	CHECK_STR(sget(st, "expose"), "web");
	l = json_object_get(st, "volumes");
	CHECK_INT(json_array_size(l), 2);
	CHECK_STR(sget(json_object_get(json_array_get(l, 0), "external"),
	    "name"), "data");
	CHECK_STR(sget(json_object_get(json_array_get(l, 1), "external"),
	    "name"), "shared-logs");

	/* Dependency order: web names db and cache, so it comes last. */
	l = json_object_get(st, "services");
	CHECK_INT(json_array_size(l), 3);
	CHECK_STR(sget(json_array_get(l, 0), "name"), "db");
	CHECK_STR(sget(json_array_get(l, 1), "name"), "cache");
	s = json_array_get(l, 2);
	CHECK_STR(sget(s, "name"), "web");
	CHECK_STR(sget(s, "image"), "nginx:1.25");
	l = json_object_get(s, "command");
	CHECK_INT(json_array_size(l), 4);
	CHECK_STR(json_string_value(json_array_get(l, 2)), "daemon off;");
	CHECK_STR(json_string_value(json_array_get(l, 3)), "a b");
	l = json_object_get(s, "entrypoint");
	CHECK_INT(json_array_size(l), 2);
	CHECK_STR(json_string_value(json_array_get(l, 0)), "/bin/sh");
	CHECK_INT(iget(s, "instances"), 3);
	CHECK(json_is_true(json_object_get(s, "stateful")));

	/* environment first, then the env_file keys it lacks (Kontena). */
	l = json_object_get(s, "env");
	CHECK_INT(json_array_size(l), 3);
	CHECK_STR(json_string_value(json_array_get(l, 0)), "A=1");
	CHECK_STR(json_string_value(json_array_get(l, 1)), "B=two words");
	CHECK_STR(json_string_value(json_array_get(l, 2)), "C=3");

	p = json_object_get(s, "ports");
	CHECK_INT(json_array_size(p), 2);
	CHECK_STR(sget(json_array_get(p, 0), "ip"), "0.0.0.0");
	CHECK_INT(iget(json_array_get(p, 0), "node_port"), 80);
	CHECK_INT(iget(json_array_get(p, 0), "container_port"), 8080);
	CHECK_STR(sget(json_array_get(p, 0), "protocol"), "tcp");
	CHECK_STR(sget(json_array_get(p, 1), "ip"), "127.0.0.1");
	CHECK_INT(iget(json_array_get(p, 1), "node_port"), 53);
	CHECK_INT(iget(json_array_get(p, 1), "container_port"), 5353);
	CHECK_STR(sget(json_array_get(p, 1), "protocol"), "udp");

	l = json_object_get(s, "volumes");
	CHECK_INT(json_array_size(l), 4);
	CHECK_STR(json_string_value(json_array_get(l, 2)), "data:/data");
	CHECK_STR(json_string_value(json_array_get(json_object_get(s,
	    "links"), 0)), "db:database");
	CHECK_STR(json_string_value(json_array_get(json_object_get(s,
	    "depends_on"), 0)), "cache");
	CHECK_INT(json_array_size(json_object_get(s, "affinity")), 2);
	CHECK(json_real_value(json_object_get(s, "cpus")) == 1.5);
	CHECK_INT(iget(s, "cpu_shares"), 512);
	CHECK_INT(iget(s, "mem_limit"), 128LL << 20);
	CHECK_INT(iget(s, "memswap_limit"), 1LL << 30);
	CHECK_INT(iget(s, "shm_size"), 512LL << 10);
	CHECK(json_is_true(json_object_get(s, "privileged")));
	CHECK_STR(json_string_value(json_array_get(json_object_get(s,
	    "cap_add"), 0)), "NET_ADMIN");
	CHECK_STR(json_string_value(json_array_get(json_object_get(s,
	    "cap_drop"), 0)), "ALL");
	CHECK_STR(sget(s, "network_mode"), "host");
	CHECK_STR(sget(s, "pid"), "host");
	CHECK_STR(sget(s, "user"), "1000");
	l = json_object_get(s, "logging");
	CHECK_STR(sget(l, "driver"), "json-file");
	CHECK_STR(sget(json_object_get(l, "options"), "max-size"), "10m");
	CHECK_STR(sget(json_object_get(l, "options"), "max-file"), "3");
	CHECK_STR(sget(s, "strategy"), "random");
	d = json_object_get(s, "deploy");
	CHECK_STR(sget(d, "strategy"), "random");
	CHECK_INT(iget(d, "wait_for_port"), 8080);
	CHECK(json_real_value(json_object_get(d, "min_health")) == 0.5);
	CHECK_INT(iget(d, "interval"), 5400);
	h = json_object_get(s, "hooks");
	l = json_object_get(h, "post_start");
	CHECK_STR(sget(json_array_get(l, 0), "name"), "warm");
	CHECK_STR(sget(json_array_get(l, 0), "cmd"), "curl localhost");
	CHECK_INT(iget(json_array_get(l, 0), "instances"), 1);
	CHECK(json_is_true(json_object_get(json_array_get(l, 0), "oneshot")));
	l = json_object_get(h, "pre_stop");
	CHECK_STR(sget(json_array_get(l, 0), "instances"), "*");
	CHECK(json_is_false(json_object_get(json_array_get(l, 0), "oneshot")));
	hc = json_object_get(s, "health_check");
	CHECK_STR(sget(hc, "protocol"), "http");
	CHECK_INT(iget(hc, "port"), 8080);
	CHECK_STR(sget(hc, "uri"), "/health");
	CHECK_INT(iget(hc, "timeout"), 5);
	CHECK_INT(iget(hc, "interval"), 60);
	CHECK_INT(iget(hc, "initial_delay"), 30);
	CHECK_STR(sget(s, "stop_signal"), "SIGQUIT");
	CHECK_INT(iget(s, "stop_grace_period"), 120);
	CHECK(json_is_true(json_object_get(s, "read_only")));

	/* environment as a mapping; null and numbers become text. */
	l = json_object_get(json_array_get(json_object_get(st, "services"), 1),
	    "env");
	CHECK_STR(json_string_value(json_array_get(l, 0)), "MODE=lru");
	CHECK_STR(json_string_value(json_array_get(l, 1)), "EMPTY=");
	CHECK_STR(json_string_value(json_array_get(l, 2)), "N=5");
	json_decref(st);
}

static void
test_variables(void)
{
	static const char yaml[] =
	    "stack: me/vars\n"
	    "variables:\n"
	    "  version:\n"
	    "    type: string\n"
	    "    default: '6.2'\n"
	    "    from:\n"
	    "      env: VERSION\n"
	    "      prompt: Which version?\n"
	    "  replicas:\n"
	    "    type: integer\n"
	    "    min: 1\n"
	    "    max: 9\n"
	    "    from: {env: REPLICAS}\n"
	    "  debug:\n"
	    "    type: boolean\n"
	    "    from:\n"
	    "      env: DEBUG\n"
	    "  REGION:\n"
	    "    type: enum\n"
	    "    options: [us, eu]\n"
	    "    from: env\n"
	    "  host:\n"
	    "    type: string\n"
	    "    default: db.${STACK}.${GRID}.local\n"
	    "  url:\n"
	    "    type: uri\n"
	    "    from:\n"
	    "      interpolate: http://$host:80/\n"
	    "  tags:\n"
	    "    type: array\n"
	    "    split: ','\n"
	    "    uniq: true\n"
	    "    default: a,b,a\n"
	    "  secret:\n"
	    "    type: string\n"
	    "    from:\n"
	    "      file: secret.txt\n"
	    "    to:\n"
	    "      env: PASSWORD\n"
	    "  extra:\n"
	    "    type: string\n"
	    "    required: false\n"
	    "  only:\n"
	    "    type: string\n"
	    "    only_if: debug\n"
	    "    value: shown\n"
	    "  skipped:\n"
	    "    type: string\n"
	    "    skip_if:\n"
	    "      REGION: eu\n"
	    "    default: hidden\n"
	    "services:\n"
	    "  web:\n"
	    "    image: redis:${version}\n"
	    "    instances: ${replicas}\n"
	    "    privileged: $debug\n"
	    "    command: echo $$HOME $${x} $$$REGION ${extra}x $PASSWORD\n"
	    "    environment:\n"
	    "      - URL=${url}\n"
	    "      - HOST=$host\n"
	    "      - TAGS=$tags\n"
	    "      - ONLY=${only}\n"
	    "      - SKIPPED=${skipped}\n"
	    "      - PRICE=5$\n"
	    "      - SUB=$(date)\n";
	struct stack_errors e;
	json_t *st, *s, *v, *env, *cmd;

	st = parse(yaml, &e);
	CHECK(st != NULL);
	if (st == NULL) {
		dump_errs(&e);
		stack_errors_clear(&e);
		return;
	}
	v = json_object_get(st, "variables");
	CHECK_STR(sget(v, "version"), "7.0");
	CHECK_INT(iget(v, "replicas"), 4);
	CHECK(json_is_true(json_object_get(v, "debug")));
	CHECK_STR(sget(v, "REGION"), "eu");
	CHECK_STR(sget(v, "host"), "db.vars.prod.local");
	CHECK_STR(sget(v, "url"), "http://db.vars.prod.local:80/");
	CHECK_INT(json_array_size(json_object_get(v, "tags")), 2);
	CHECK_STR(sget(v, "secret"), "s3cr3t");
	CHECK(json_is_null(json_object_get(v, "extra")));
	CHECK_STR(sget(v, "only"), "shown");
	CHECK(json_is_null(json_object_get(v, "skipped")));
	s = svc0(st);
	CHECK_STR(sget(s, "image"), "redis:7.0");
	CHECK_INT(iget(s, "instances"), 4);
	CHECK(json_is_true(json_object_get(s, "privileged")));
	cmd = json_object_get(s, "command");
	CHECK_INT(json_array_size(cmd), 6);
	CHECK_STR(json_string_value(json_array_get(cmd, 1)), "$HOME");
	CHECK_STR(json_string_value(json_array_get(cmd, 2)), "${x}");
	CHECK_STR(json_string_value(json_array_get(cmd, 3)), "$eu");
	CHECK_STR(json_string_value(json_array_get(cmd, 4)), "x");
	CHECK_STR(json_string_value(json_array_get(cmd, 5)), "s3cr3t");
	env = json_object_get(s, "env");
	CHECK_STR(json_string_value(json_array_get(env, 0)),
	    "URL=http://db.vars.prod.local:80/");
	CHECK_STR(json_string_value(json_array_get(env, 1)),
	    "HOST=db.vars.prod.local");
	/* ${array} is its items joined by commas (after uniq). */
	CHECK_STR(json_string_value(json_array_get(env, 2)), "TAGS=a,b");
	CHECK_STR(json_string_value(json_array_get(env, 3)), "ONLY=shown");
	CHECK_STR(json_string_value(json_array_get(env, 4)), "SKIPPED=");
	CHECK_STR(json_string_value(json_array_get(env, 5)), "PRICE=5$");
	CHECK_STR(json_string_value(json_array_get(env, 6)), "SUB=$(date)");
	json_decref(st);
}

static void
test_variable_errors(void)
{
	CHECK_ERR(HEAD "    user: ${nobody}\n", 5, 11, "services.web.user",
	    "undeclared variable \"nobody\"");
	CHECK_ERR(HEAD "    user: $nobody\n", 5, 11, "services.web.user",
	    "undeclared variable \"nobody\"");
	/* Kontena's pattern: the braces are optional, "${oops" is oops. */
	CHECK_ERR(HEAD "    user: ${oops\n", 5, 11, "services.web.user",
	    "undeclared variable \"oops\"");
	CHECK_ERR("stack: a\nvariables:\n  x:\n    type: string\n"
	    "    default: $y\n  y:\n    type: string\n    default: $x\n"
	    "services: {}\n", 3, 3, "variables.x", "depends on itself");
	CHECK_ERR("stack: a\nvariables:\n  x:\n    type: integer\n"
	    "    max: 3\n    from: {env: REPLICAS}\nservices: {}\n", 3, 3,
	    "variables.x", "too large: the maximum is 3, the value is 4");
	CHECK_ERR("stack: a\nvariables:\n  x:\n    type: integer\n"
	    "    default: -2\nservices: {}\n", 3, 3, "variables.x",
	    "too small: the minimum is 0");
	CHECK_ERR("stack: a\nvariables:\n  x:\n    type: float\n"
	    "services: {}\n", 4, 11, "variables.x.type",
	    "unknown variable type \"float\"");
	CHECK_ERR("stack: a\nvariables:\n  x:\n    default: 1\n"
	    "services: {}\n", 4, 5, "variables.x", "type is required");
	CHECK_ERR("stack: a\nvariables:\n  x:\n    type: string\n"
	    "    from:\n      prompt: Value?\nservices: {}\n", 3, 3,
	    "variables.x", "berth asks for it only on a terminal; pass "
	    "-v x=VALUE");
	CHECK_ERR("stack: a\nvariables:\n  x:\n    type: enum\n"
	    "    options: [a, b]\n    default: c\nservices: {}\n", 3, 3,
	    "variables.x", "value \"c\" is not one of the options");
	CHECK_ERR("stack: a\nvariables:\n  GRID:\n    type: string\n"
	    "services: {}\n", 3, 3, "variables.GRID", "set automatically");
	CHECK_ERR("stack: a\nvariables:\n  x:\n    type: string\n"
	    "    from:\n      file: nope.txt\nservices: {}\n", 6, 13,
	    "variables.x.from.file", "cannot read \"nope.txt\": no such file");
	CHECK_ERR("stack: a\nvariables:\n  x:\n    type: string\n"
	    "    from:\n      bogus: 1\nservices: {}\n", 6, 7,
	    "variables.x.from", "unknown resolver \"bogus\"");
	CHECK_ERR("stack: a\nvariables:\n  x:\n    type: string\n"
	    "    from:\n      evaluate: 1 + x\nservices: {}\n", 6, 17,
	    "variables.x.from.evaluate", "does not look like a number");
	CHECK_ERR("stack: a\nvariables:\n  x:\n    type: uri\n"
	    "    default: ftp://h/\nservices: {}\n", 3, 3, "variables.x",
	    "its scheme is not allowed (schemes: http, https)");
	CHECK_ERR("stack: a\nvariables:\n  x:\n    type: string\n"
	    "    min_length: 5\n    default: abc\nservices: {}\n", 3, 3,
	    "variables.x", "too short");
}

static void
test_unknown_keys(void)
{
	CHECK_ERR(HEAD "    imagee: x\n", 5, 5, "services.web.imagee",
	    "unknown key \"imagee\" in a service");
	CHECK_ERR(HEAD "    deploy:\n      strategie: ha\n", 6, 7,
	    "services.web.deploy.strategie", "unknown key \"strategie\"");
	CHECK_ERR(HEAD "    health_check:\n      protocol: tcp\n"
	    "      port: 1\n      path: /\n", 8, 7,
	    "services.web.health_check.path", "unknown key \"path\"");
	CHECK_ERR(HEAD "    logging:\n      driver: x\n      opts: {}\n", 7, 7,
	    "services.web.logging.opts", "unknown key \"opts\"");
	CHECK_ERR(HEAD "volumes:\n  v:\n    external: true\n    extra: 1\n",
	    8, 5, "volumes.v.extra", "unknown key \"extra\"");
	CHECK_ERR(HEAD "    hooks:\n      post_start:\n        - cmd: x\n"
	    "          when: now\n", 8, 11,
	    "services.web.hooks.post_start[0].when", "unknown key \"when\"");
}

static void
test_wrong_types(void)
{
	CHECK_ERR(HEAD "    instances: '3'\n", 5, 16, "services.web.instances",
	    "must be an integer, not the string \"3\"");
	CHECK_ERR(HEAD "    instances: many\n", 5, 16,
	    "services.web.instances", "must be an integer");
	CHECK_ERR(HEAD "    instances: -1\n", 5, 16, "services.web.instances",
	    "out of range");
	CHECK_ERR(HEAD "    stateful: maybe\n", 5, 15, "services.web.stateful",
	    "must be true or false");
	CHECK_ERR("stack: me/app\nservices:\n  web:\n    image: [a, b]\n", 4,
	    12, "services.web.image", "must be a string, not a list");
	CHECK_ERR(HEAD "    cap_add: NET_ADMIN\n", 5, 14, "services.web.cap_add",
	    "must be a list");
	CHECK_ERR(HEAD "    cpu_shares: 1\n", 5, 17, "services.web.cpu_shares",
	    "out of range (2 to 262144)");
	CHECK_ERR(HEAD "    cpus: lots\n", 5, 11, "services.web.cpus",
	    "must be a number");
	CHECK_ERR(HEAD "    deploy:\n      strategy: spread\n", 6, 17,
	    "services.web.deploy.strategy", "\"spread\" is not supported "
	    "(expected ha, random or daemon)");
	CHECK_ERR(HEAD "    deploy:\n      min_health: 1.5\n", 6, 19,
	    "services.web.deploy.min_health", "out of range");
	CHECK_ERR(HEAD "    network_mode: overlay\n", 5, 19,
	    "services.web.network_mode", "\"overlay\" is not supported");
	CHECK_ERR(HEAD "    environment: FOO\n", 5, 18,
	    "services.web.environment", "must be a list of KEY=VALUE");
	CHECK_ERR(HEAD "    environment:\n      - NOEQUALS\n", 6, 9,
	    "services.web.environment[0]", "is not KEY=VALUE");
	CHECK_ERR(HEAD "    stop_grace_period: soon\n", 5, 24,
	    "services.web.stop_grace_period", "is not a duration");
	CHECK_ERR(HEAD "    command: echo 'unterminated\n", 5, 14,
	    "services.web.command", "unterminated ' quote");
	CHECK_ERR(HEAD "    health_check:\n      port: 80\n", 6, 7,
	    "services.web.health_check", "protocol (http or tcp) and port");
	CHECK_ERR("stack: a\nservices:\n  web: nginx\n", 3, 8, "services.web",
	    "must be a mapping, not a string");
	CHECK_ERR("- a\n- b\n", 1, 1, "", "must be a mapping, not a list");
	CHECK_ERR("stack: a\nservices:\n  web:\n    command: x\n", 4, 5,
	    "services.web", "image is required");
	CHECK_ERR("stack: Bad_Name\nservices: {}\n", 1, 8, "stack",
	    "not a valid stack name");
	CHECK_ERR("stack: a\nservices:\n  -web:\n    image: x\n", 3, 3,
	    "services.-web", "not a valid service name");
	CHECK_ERR("stack: a\nservices:\n  Web_1:\n    image: x\n"
	    "  web-1:\n    image: x\n", 5, 3, "services.web-1",
	    "would have the same DNS name \"web-1\"");
	/* A link's alias is a DNS name in the grid (docs/dns.md). */
	CHECK_ERR("stack: a\nservices:\n  db:\n    image: x\n  web:\n"
	    "    image: x\n    links:\n      - db:my.db\n", 8, 9,
	    "services.web.links[0]", "the alias is not a valid name");
	CHECK_ERR("stack: a\nservices:\n  db:\n    image: x\n  web:\n"
	    "    image: x\n    links:\n      - \"db:\"\n", 8, 9,
	    "services.web.links[0]", "the alias is not a valid name");
}

static void
test_bad_affinity(void)
{
	CHECK_ERR(HEAD "    affinity:\n      - label=ephemeral\n", 6, 9,
	    "services.web.affinity[0]", "has no == or != operator");
	CHECK_ERR(HEAD "    affinity:\n      - host==a\n", 6, 9,
	    "services.web.affinity[0]", "unknown kind \"host\"");
	CHECK_ERR(HEAD "    affinity:\n      - node==\n", 6, 9,
	    "services.web.affinity[0]", "empty value");
}

static void
test_bad_ports(void)
{
	struct stack_errors e;
	json_t *st;

	/* Found by fuzzing: "ports:" with no value leaked. */
	st = parse(HEAD "    ports:\n", &e);
	CHECK(st != NULL);
	CHECK_INT(json_array_size(json_object_get(svc0(st), "ports")), 0);
	json_decref(st);
	CHECK_ERR(HEAD "    ports:\n      - 8080\n", 6, 9,
	    "services.web.ports[0]", "needs a node port and a container port");
	CHECK_ERR(HEAD "    ports:\n      - 70000:80\n", 6, 9,
	    "services.web.ports[0]", "numbers from 1 to 65535");
	CHECK_ERR(HEAD "    ports:\n      - 80:80/sctp\n", 6, 9,
	    "services.web.ports[0]", "protocol must be tcp or udp");
	CHECK_ERR(HEAD "    ports:\n      - 1.2.3:80:80\n", 6, 9,
	    "services.web.ports[0]", "\"1.2.3\" is not an IPv4 address");
	CHECK_ERR(HEAD "    ports:\n      - 80:80\n      - 80:81\n", 7, 9,
	    "services.web.ports[1]", "node port 80/tcp is published twice");
	CHECK_ERR(HEAD "    ports:\n      - a:b\n", 6, 9,
	    "services.web.ports[0]", "numbers from 1 to 65535");
}

static void
test_bad_memory(void)
{
	CHECK_ERR(HEAD "    mem_limit: 128X\n", 5, 16, "services.web.mem_limit",
	    "\"128X\" is not a memory size");
	CHECK_ERR(HEAD "    mem_limit: lots\n", 5, 16, "services.web.mem_limit",
	    "is not a memory size");
	CHECK_ERR(HEAD "    mem_limit: 1k\n", 5, 16, "services.web.mem_limit",
	    "less than the 6 MiB Docker allows");
	CHECK_ERR(HEAD "    mem_limit: 64m\n    memswap_limit: 32m\n", 4, 5,
	    "services.web", "memswap_limit needs a mem_limit no larger");
	CHECK_ERR(HEAD "    shm_size: 0\n", 5, 15, "services.web.shm_size",
	    "more than 0 bytes");
}

static void
test_bad_volumes(void)
{
	CHECK_ERR(HEAD "    volumes:\n      - data:/data\n", 6, 9,
	    "services.web.volumes[0]", "named volume \"data\" is not declared");
	CHECK_ERR(HEAD "    volumes:\n      - relative/path\n", 6, 9,
	    "services.web.volumes[0]", "container path must be absolute");
	CHECK_ERR(HEAD "    volumes:\n      - /a:/x:rx\n", 6, 9,
	    "services.web.volumes[0]", "mode must be ro or rw");
	CHECK_ERR(HEAD "    volumes:\n      - /a:/x\n      - /b:/x\n", 7, 9,
	    "services.web.volumes[1]", "mount point /x is used twice");
	CHECK_ERR(HEAD "volumes:\n  v:\n    driver: local\n", 7, 5,
	    "volumes.v.driver", "external volumes only");
	/* Found by fuzzing: a wrong external mapping freed garbage. */
	CHECK_ERR(HEAD "volumes:\n  v:\n    external:\n      nom: x\n", 8, 7,
	    "volumes.v.external", "must be true or {name: NAME}");
	CHECK_ERR(HEAD "volumes:\n  v:\n    external: false\n", 7, 15,
	    "volumes.v.external", "external volumes only");
}

static void
test_duplicate_key(void)
{
	CHECK_ERR(HEAD "    image: other\n", 5, 5, "image",
	    "duplicate key (first at line 4, column 5)");
	CHECK_ERR("stack: a\nstack: b\nservices: {}\n", 2, 1, "stack",
	    "duplicate key (first at line 1, column 1)");
}

static void
test_yaml_syntax(void)
{
	CHECK_ERR(HEAD "    command: [a, b\n", 6, 1, "", "YAML syntax error");
	CHECK_ERR("stack: a\n  bad: indent\n", 2, 6, "",
	    "YAML syntax error: mapping values are not allowed");
	CHECK_ERR("stack: a\n---\nstack: b\n", 2, 1, "",
	    "more than one YAML document");
	CHECK_ERR("", 1, 1, "", "the stack file is empty");
	CHECK_ERR("a: *nothing\n", 1, 4, "", "unknown alias *nothing");
	CHECK_ERR("stack: !!binary abc\nservices: {}\n", 1, 8, "",
	    "YAML tag tag:yaml.org,2002:binary is not supported");
	CHECK_ERR(HEAD "    <<: 3\n", 5, 9, "<<",
	    "a merge key (<<) takes a mapping");
}

static void
test_invalid_utf8(void)
{
	CHECK_ERR("stack: a\nservices:\n  w\xc3\xa9" "b:\n    image: \xff\n",
	    4, 12, "", "invalid UTF-8 (byte 0xff)");
	CHECK_ERR("stack: a\xc0\xaf\n", 1, 9, "", "invalid UTF-8");
	CHECK_ERR("stack: \xed\xa0\x80\n", 1, 8, "", "invalid UTF-8");
}

static void
test_limits(void)
{
	struct stack_errors e;
	json_t *st;
	char *deep, *big, *p;
	size_t i;

	/* 100 nested flow lists: stopped at the 65th level. */
	deep = xmalloc(1000);
	p = deep;
	p += sprintf(p, "stack: a\nx: ");
	for (i = 0; i < 100; i++)
		*p++ = '[';
	for (i = 0; i < 100; i++)
		*p++ = ']';
	*p = '\0';
	CHECK_ERR(deep, 2, 3 + STACK_MAX_DEPTH, "", "nesting deeper than 64");
	free(deep);

	/* Very deep block nesting does not overflow the stack either. */
	big = xmalloc(STACK_MAX_INPUT);
	p = big;
	for (i = 0; i < 20000; i++)
		*p++ = '[';
	*p = '\0';
	st = parse(big, &e);
	CHECK(st == NULL && e.n == 1);
	CHECK_HAS(e.n ? e.v[0].message : NULL, "nesting deeper than 64");
	stack_errors_clear(&e);
	free(big);

	/* One byte over the size cap. */
	big = xmalloc(STACK_MAX_INPUT + 2);
	memset(big, '#', STACK_MAX_INPUT + 1);
	big[STACK_MAX_INPUT + 1] = '\0';
	CHECK_ERR(big, 1, 1, "", "the limit is 1048576");
	free(big);

	/* Billion laughs: aliases count expanded. */
	CHECK_ERR("a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	    "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
	    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
	    "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
	    "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
	    "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n",
	    5, 36, "",
	    "more than 100000 YAML nodes");
	CHECK_ERR("a: &a [1, *a]\n", 1, 11, "", "recursive alias *a");

	/* Interpolation cannot multiply a big value without bound. */
	big = xmalloc(STACK_MAX_INPUT);
	p = big;
	p += sprintf(p, "stack: a\nvariables:\n  v:\n    type: string\n"
	    "    default: ");
	memset(p, 'x', 500000);
	p += 500000;
	p += sprintf(p, "\nservices:\n  web:\n    image: x\n    cap_add:\n");
	for (i = 0; i < 40; i++)
		p += sprintf(p, "      - $v\n");
	st = parse(big, &e);
	CHECK(st == NULL);
	CHECK(e.n > 0 && e.v[0].line > 9 &&
	    strncmp(e.v[0].key, "services.web.cap_add[", 21) == 0);
	CHECK_HAS(e.n ? e.v[0].message : NULL, "interpolation made more than");
	stack_errors_clear(&e);
	free(big);

	/* Aliases that stay small are fine. */
	st = parse("stack: a\nservices:\n  web:\n    image: x\n"
	    "    cap_add: &caps [NET_ADMIN]\n    cap_drop: *caps\n", &e);
	CHECK(st != NULL);
	json_decref(st);
	stack_errors_clear(&e);
}

static void
test_all_errors_at_once(void)
{
	struct stack_errors e;
	json_t *st;
	char *s;

	st = parse("stack: me/app\n"
	    "services:\n"
	    "  web:\n"
	    "    image: nginx\n"
	    "    instances: two\n"
	    "    bogus: 1\n"
	    "    affinity: [nope]\n"
	    "    user: $who\n"
	    "  db:\n"
	    "    mem_limit: 1q\n", &e);
	CHECK(st == NULL);
	CHECK_INT(e.n, 6);
	CHECK(has_err(&e, 5, 16, "services.web.instances", "integer"));
	CHECK(has_err(&e, 6, 5, "services.web.bogus", "unknown key"));
	CHECK(has_err(&e, 7, 16, "services.web.affinity[0]", "operator"));
	CHECK(has_err(&e, 8, 11, "services.web.user", "undeclared"));
	CHECK(has_err(&e, 10, 16, "services.db.mem_limit", "memory size"));
	CHECK(has_err(&e, 10, 5, "services.db", "image is required"));
	s = stack_errors_format(&e);
	CHECK_HAS(s, "t.yml:5:16: services.web.instances: must be an "
	    "integer, not \"two\"\n");
	CHECK(s[strlen(s) - 1] != '\n');
	free(s);
	stack_errors_clear(&e);
	CHECK_INT(e.n, 0);
}

static void
test_dependencies(void)
{
	struct stack_errors e;
	json_t *st, *l;

	st = parse("stack: a\nservices:\n"
	    "  web:\n    image: x\n    links: [api:backend]\n"
	    "  api:\n    image: x\n    depends_on: [db, cache]\n"
	    "  cache:\n    image: x\n"
	    "  db:\n    image: x\n", &e);
	CHECK(st != NULL);
	l = json_object_get(st, "services");
	CHECK_STR(sget(json_array_get(l, 0), "name"), "cache");
	CHECK_STR(sget(json_array_get(l, 1), "name"), "db");
	CHECK_STR(sget(json_array_get(l, 2), "name"), "api");
	CHECK_STR(sget(json_array_get(l, 3), "name"), "web");
	json_decref(st);

	CHECK_ERR("stack: a\nservices:\n"
	    "  a:\n    image: x\n    depends_on: [b]\n"
	    "  b:\n    image: x\n    links:\n      - a\n", 5, 18,
	    "services.a.depends_on[0]", "dependency cycle (links/depends_on) "
	    "between services a, b");
	CHECK_ERR("stack: a\nservices:\n  a:\n    image: x\n"
	    "    links: [ghost]\n", 5, 13, "services.a.links[0]",
	    "unknown service \"ghost\"");
	CHECK_ERR("stack: a\nservices:\n  a:\n    image: x\n"
	    "    depends_on: [a]\n", 5, 18, "services.a.depends_on[0]",
	    "dependency cycle");
	CHECK_ERR("stack: a\nexpose: ghost\nservices:\n  a:\n    image: x\n",
	    2, 9, "expose", "unknown service \"ghost\"");
}

/*
 * Links to other stacks' services (Kontena's load balancer pattern):
 * accepted when the grid has the target, kept as written in links and
 * listed in stack_links; a missing stack or service is an error at the
 * entry; a link that names the stack itself is an ordinary link.
 */
static void
test_stack_links(void)
{
	struct stack_errors e;
	json_t *st, *l, *x;

	st = parse("stack: a\nservices:\n"
	    "  web:\n    image: x\n    links: [lb/lb, a/db:database]\n"
	    "    depends_on: [lb/lb]\n"
	    "  db:\n    image: x\n", &e);
	CHECK(st != NULL);
	if (st == NULL)
		dump_errs(&e);
	l = json_object_get(st, "services");
	CHECK_STR(sget(json_array_get(l, 0), "name"), "db");
	CHECK_STR(sget(json_array_get(l, 1), "name"), "web");
	x = json_object_get(json_array_get(l, 1), "stack_links");
	CHECK(json_array_size(x) == 2);
	CHECK_STR(sget(json_array_get(x, 0), "stack"), "lb");
	CHECK_STR(sget(json_array_get(x, 0), "service"), "lb");
	/* Kontena's alias: the link as written when none is given */
	CHECK_STR(sget(json_array_get(x, 0), "alias"), "lb/lb");
	CHECK_STR(json_string_value(json_array_get(json_object_get(
	    json_array_get(l, 1), "links"), 0)), "lb/lb");
	CHECK(json_array_size(json_object_get(json_array_get(l, 0),
	    "stack_links")) == 0);
	json_decref(st);

	CHECK_ERR("stack: a\nservices:\n  a:\n    image: x\n"
	    "    links: [web/lb]\n", 5, 13, "services.a.links[0]",
	    "there is no stack web in grid prod");
	CHECK_ERR("stack: a\nservices:\n  a:\n    image: x\n"
	    "    links:\n      - lb/proxy\n", 6, 9, "services.a.links[0]",
	    "stack lb has no service proxy");
	CHECK_ERR("stack: a\nservices:\n  a:\n    image: x\n"
	    "    links: [lb/lb/x]\n", 5, 13, "services.a.links[0]",
	    "is not a link to another stack's service");
	CHECK_ERR("stack: a\nservices:\n  a:\n    image: x\n"
	    "    links: [a/ghost]\n", 5, 13, "services.a.links[0]",
	    "unknown service \"ghost\"");
}

static void
test_kontena_only(void)
{
	CHECK_ERR("stack: me/app\nservices:\n  web:\n    build: .\n", 4, 5,
	    "services.web", "image is required (berth does not build images");
	CHECK_ERR(HEAD "    extends: {stack: kontena/base, service: web}\n", 5,
	    14, "services.web.extends", "stack registry");
	CHECK_ERR(HEAD "    hooks:\n      pre_build:\n        - cmd: make\n", 6,
	    7, "services.web.hooks.pre_build", "berth does not build images");
}

static void
test_json_form(void)
{
	static const char json[] = "{\"stack\": \"me/j\", \"services\": "
	    "{\"web\": {\"image\": \"nginx\", \"instances\": 2, "
	    "\"stateful\": true, \"command\": [\"a\", \"b c\"], "
	    "\"mem_limit\": 67108864, \"deploy\": {\"min_health\": 1}}}}";
	struct stack_errors e;
	json_t *st, *s;

	st = parse(json, &e);
	CHECK(st != NULL);
	s = svc0(st);
	CHECK_INT(iget(s, "instances"), 2);
	CHECK(json_is_true(json_object_get(s, "stateful")));
	CHECK_STR(json_string_value(json_array_get(json_object_get(s,
	    "command"), 1)), "b c");
	CHECK_INT(iget(s, "mem_limit"), 64 << 20);
	CHECK(json_real_value(json_object_get(json_object_get(s, "deploy"),
	    "min_health")) == 1.0);
	json_decref(st);
	CHECK_ERR("{\"stack\": \"a\", \"services\": {\"web\": {\"image\": \"x\", "
	    "\"instances\": \"2\"}}}", 1, 64, "services.web.instances",
	    "not the string \"2\"");
}

static void
test_env_file(void)
{
	struct stack_errors e;
	json_t *st, *env;

	st = parse(HEAD "    env_file: [app.env]\n    environment:\n"
	    "      A: override\n", &e);
	CHECK(st != NULL);
	env = json_object_get(svc0(st), "env");
	CHECK_INT(json_array_size(env), 3);
	CHECK_STR(json_string_value(json_array_get(env, 0)), "A=override");
	CHECK_STR(json_string_value(json_array_get(env, 2)), "C=3");
	json_decref(st);
	CHECK_ERR(HEAD "    env_file: bad.env\n", 5, 15,
	    "services.web.env_file", "a line is not KEY=VALUE");
	CHECK_ERR(HEAD "    env_file: missing.env\n", 5, 15,
	    "services.web.env_file", "cannot read \"missing.env\"");
}

static void
test_name_override(void)
{
	struct stack_opts o = { .name = "other" };
	struct stack_errors e = { NULL, 0 };
	const char *y = "stack: me/app\nvariables:\n  s:\n    type: string\n"
	    "    default: ${STACK}-${GRID}\nservices: {}\nvolumes:\n"
	    "  v:\n    external: true\n";
	json_t *st;

	st = stack_parse(y, strlen(y), "x.yml", &o, &e);
	CHECK(st != NULL);
	CHECK_STR(sget(st, "stack"), "me/app");
	CHECK_STR(sget(st, "name"), "other");
	CHECK_STR(sget(json_object_get(st, "variables"), "s"), "other-");
	json_decref(st);
	o.name = "Not Valid";
	st = stack_parse(y, strlen(y), "x.yml", &o, &e);
	CHECK(st == NULL);
	CHECK(e.n == 1 && strstr(e.v[0].message, "--name") != NULL);
	stack_errors_clear(&e);
}

/*
 * Names become parts of container names and words on the CLI's command
 * line: a leading '-' is refused wherever a name comes in (issue 21.11).
 */
static void
test_name_leading_dash(void)
{
	struct stack_opts o = { .name = "-x" };
	struct stack_errors e = { NULL, 0 };
	const char *y = "stack: me/app\nservices: {}\nvolumes:\n"
	    "  v:\n    external: true\n";
	json_t *st;

	CHECK(util_name_valid("x"));
	CHECK(util_name_valid("0-x"));
	CHECK(util_name_valid("x-"));
	CHECK(!util_name_valid("-x"));
	CHECK(!util_name_valid("-"));
	CHECK(!util_name_valid("--"));
	CHECK(!util_name_valid(""));
	CHECK_ERR("stack: me/-x\nservices: {}\n", 1, 8, "stack",
	    "beginning with a letter or digit");
	CHECK_ERR("stack: -x\nservices: {}\n", 1, 8, "stack",
	    "\"-x\" is not a valid stack name");
	CHECK_ERR("stack: me/app\nservices:\n  -web:\n    image: nginx\n",
	    3, 3, "services.-web", "not a valid service name");
	st = stack_parse(y, strlen(y), "x.yml", &o, &e);
	CHECK(st == NULL);
	CHECK(e.n == 1 && strstr(e.v[0].message, "--name \"-x\"") != NULL);
	stack_errors_clear(&e);
}

static void
test_units(void)
{
	long long v;
	char *cause = NULL;
	json_t *w;

	CHECK(units_parse_bytes("128M", &v, &cause) == 0 && v == 128 << 20);
	CHECK(units_parse_bytes("1g", &v, &cause) == 0 && v == 1 << 30);
	CHECK(units_parse_bytes("512k", &v, &cause) == 0 && v == 512 << 10);
	CHECK(units_parse_bytes("64mb", &v, &cause) == 0 && v == 64 << 20);
	CHECK(units_parse_bytes("1.5G", &v, &cause) == 0 &&
	    v == 3LL << 29);
	CHECK(units_parse_bytes("1048576", &v, &cause) == 0 &&
	    v == 1048576);
	CHECK(units_parse_bytes("12 m", &v, &cause) == -1);
	free(cause);
	CHECK(units_parse_bytes("99999999999t", &v, &cause) == -1);
	CHECK_HAS(cause, "too large");
	free(cause);
	CHECK(units_parse_duration("30s", &v, &cause) == 0 && v == 30);
	CHECK(units_parse_duration("2m", &v, &cause) == 0 && v == 120);
	CHECK(units_parse_duration("1h", &v, &cause) == 0 && v == 3600);
	CHECK(units_parse_duration("30min", &v, &cause) == 0 && v == 1800);
	CHECK(units_parse_duration("1h30m", &v, &cause) == 0 && v == 5400);
	CHECK(units_parse_duration("2d", &v, &cause) == 0 && v == 172800);
	CHECK(units_parse_duration("90", &v, &cause) == 0 && v == 90);
	CHECK(units_parse_duration("1.5s", &v, &cause) == 0 && v == 2);
	CHECK(units_parse_duration("5x", &v, &cause) == -1);
	free(cause);
	CHECK(units_parse_duration("", &v, &cause) == -1);
	free(cause);
	w = stack_shell_split(" a  'b c' \"d \\\"e\\\"\" f\\ g ''", &cause);
	CHECK(w != NULL && json_array_size(w) == 5);
	CHECK_STR(json_string_value(json_array_get(w, 1)), "b c");
	CHECK_STR(json_string_value(json_array_get(w, 2)), "d \"e\"");
	CHECK_STR(json_string_value(json_array_get(w, 3)), "f g");
	CHECK_STR(json_string_value(json_array_get(w, 4)), "");
	json_decref(w);
	CHECK(stack_shell_split("a \"b", &cause) == NULL);
	CHECK_HAS(cause, "unterminated \" quote");
	free(cause);
}

static int
kontena_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The real Kontena stacks: every one parses, given what Kontena would
 * have asked for (the secrets they read, answers without defaults, the
 * services they link to), as integration/kontena.sh installs them on a
 * real master. The figure is quoted in docs/stack-file.md.
 */
#define KONTENA_FILES		22

/* The grid the corpus is parsed against: its vault and services. */
static int
kontena_vault(void *arg, const char *name, char **value, size_t *len)
{
	static const char *const have[] = { "drone-github-gh-client",
	    "drone-github-gh-secret", "drone-gitlab-gl-url",
	    "drone-gitlab-gl-client", "drone-gitlab-gl-secret",
	    "elastic-password", "kibana-password", "logstash-password",
	    "fluentd-cloudwatch-aws-access-key-id",
	    "fluentd-cloudwatch-aws-secret-access-key",
	    "fluentd-loggly-token", "fluentd-splunkhec-token",
	    "wordpress-cluster-resilio-secret", NULL };
	size_t i;

	for (i = 0; have[i] != NULL; i++) {
		if (strcmp(have[i], name) == 0) {
			if (value != NULL) {
				*value = xstrdup("from-the-vault");
				*len = strlen(*value);
			}
			return 1;
		}
	}
	return 0;
}

static void
kontena_random(void *arg, void *buf, size_t len)
{
	memset(buf, 7, len);
}

static int
kontena_service(void *arg, const char *stack, const char *service,
    json_t **info)
{
	if ((strcmp(stack, "ingress-lb") == 0 && strcmp(service, "lb") == 0) ||
	    (strcmp(stack, "zookeeper-cluster") == 0 &&
	    strcmp(service, "zookeeper") == 0)) {
		*info = json_pack("{s:s, s:i}", "image", "x", "instances", 1);
		return 1;
	}
	return strcmp(stack, "ingress-lb") == 0 ? 0 : -1;
}

/* What -v gives each file that needs answers. */
static json_t *
kontena_values(const char *file)
{
	if (strncmp(file, "drone_", 6) == 0)
		return json_pack("{s:s, s:s}", "loadbalancer", "ingress-lb/lb",
		    "drone_host", "drone.example.com");
	if (strcmp(file, "elasticsearch_kontena.yml") == 0)
		return json_pack("{s:s}", "instances", "3");
	if (strcmp(file, "fluentd_splunkhec.yml") == 0)
		return json_pack("{s:s}", "host", "splunk.example.com");
	if (strcmp(file, "kafka_kontena.yml") == 0)
		return json_pack("{s:s}", "zookeeper_link",
		    "zookeeper-cluster/zookeeper");
	if (strcmp(file, "kibana_kontena.yml") == 0)
		return json_pack("{s:s, s:s}", "loadbalancer", "ingress-lb/lb",
		    "virtual_host", "kibana.example.com");
	if (strcmp(file, "wordpress-cluster_kontena.yml") == 0)
		return json_pack("{s:s}", "loadbalancer", "ingress-lb/lb");
	return json_object();
}

/*
 * The corpus folder, or NULL with *why set when its test is to be skipped:
 * BERTH_SHARED unset and no ../shared/kontena-stacks (a clone on its own).
 */
static char *
kontena_dir(const char **why)
{
	const char *shared = getenv("BERTH_SHARED");
	char *dir;
	DIR *d;

	xasprintf(&dir, "%s/kontena-stacks",
	    shared != NULL ? shared : "../shared");
	if (shared != NULL)
		return dir;
	if ((d = opendir(dir)) != NULL)
		closedir(d);
	else if (errno == ENOENT || errno == ENOTDIR) {
		*why = "../shared/kontena-stacks not present (set BERTH_SHARED "
		    "to its parent folder to run it)";
		free(dir);
		return NULL;
	}
	return dir;		/* there, or there but unreadable: run (fail) */
}

static void
test_kontena_stacks(void)
{
	struct stack_host h = { .vault_read = kontena_vault,
	    .random = kontena_random, .service_find = kontena_service };
	struct stack_opts o = { .grid = "default", .host = &h };
	struct stack_errors e = { NULL, 0 };
	const char *why = NULL;
	char *dir, *path, *buf, *names[64], *m;
	struct dirent *de;
	size_t n = 0, i, len, nvalid = 0;
	json_t *st;
	DIR *d;

	if ((dir = kontena_dir(&why)) == NULL) {
		printf("  FAIL %s\n", why);
		test_failed_now = 1;
		return;
	}
	if ((d = opendir(dir)) == NULL) {
		printf("  FAIL cannot open %s\n", dir);
		test_failed_now = 1;
		free(dir);
		return;
	}
	while ((de = readdir(d)) != NULL && n < 64) {
		len = strlen(de->d_name);
		if (len > 4 && strcmp(de->d_name + len - 4, ".yml") == 0)
			names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof *names, kontena_cmp);
	CHECK_INT(n, KONTENA_FILES);
	for (i = 0; i < n; i++) {
		xasprintf(&path, "%s/%s", dir, names[i]);
		CHECK(util_read_file(path, 1 << 20, &buf, &len) == 0);
		o.values = kontena_values(names[i]);
		st = stack_parse(buf, len, names[i], &o, &e);
		if (st != NULL)
			nvalid++;
		else {
			m = stack_errors_format(&e);
			printf("  FAIL %s:\n%s\n", names[i], m);
			free(m);
		}
		json_decref(o.values);
		json_decref(st);
		stack_errors_clear(&e);
		free(buf);
		free(path);
		free(names[i]);
	}
	free(dir);
	CHECK_INT(nvalid, KONTENA_FILES);
}

int
main(void)
{
	const char *why = NULL;
	char *kdir;

	TEST_RUN(test_reference_stress);
	TEST_RUN(test_examples);
	TEST_RUN(test_defaults);
	TEST_RUN(test_every_key);
	TEST_RUN(test_variables);
	TEST_RUN(test_variable_errors);
	TEST_RUN(test_unknown_keys);
	TEST_RUN(test_wrong_types);
	TEST_RUN(test_bad_affinity);
	TEST_RUN(test_bad_ports);
	TEST_RUN(test_bad_memory);
	TEST_RUN(test_bad_volumes);
	TEST_RUN(test_duplicate_key);
	TEST_RUN(test_yaml_syntax);
	TEST_RUN(test_invalid_utf8);
	TEST_RUN(test_limits);
	TEST_RUN(test_all_errors_at_once);
	TEST_RUN(test_dependencies);
	TEST_RUN(test_stack_links);
	TEST_RUN(test_kontena_only);
	TEST_RUN(test_json_form);
	TEST_RUN(test_env_file);
	TEST_RUN(test_name_override);
	TEST_RUN(test_name_leading_dash);
	TEST_RUN(test_units);
	if ((kdir = kontena_dir(&why)) != NULL) {
		free(kdir);
		TEST_RUN(test_kontena_stacks);
	} else {
		printf("ok - test_kontena_stacks # SKIP %s\n", why);
		fflush(stdout);
	}
	return TEST_DONE();
}
