/*
 * test_stack_vars.c - unit tests of what Kontena stack files do beyond
 * plain YAML (stacks/): Liquid over the file's text, with errors at the
 * template's lines; every variable resolver, setter and option as Opto
 * and Kontena's CLI had them; values given (-v) and kept (upgrades); the
 * questions a parse needs answered; YAML 1.1 scalars and merge keys.
 *
 * The host below pretends to be the master and the operator: an
 * environment, files, a vault, the grid's services, a deterministic
 * source of "random" bytes, and answers to prompts.
 */
#include "tests/unit/test.h"
#include "stacks/stack.h"
#include "stacks/stack_int.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

static json_t *h_env, *h_files, *h_secrets, *h_answers;
static int h_interactive;
static unsigned long long h_seed;

static int
h_getenv(void *arg, const char *name, char **value)
{
	json_t *v = json_object_get(h_env, name);

	if (!json_is_string(v))
		return 0;
	*value = xstrdup(json_string_value(v));
	return 1;
}

static int
h_read(void *arg, const char *path, enum stack_file_base base, char **data,
    size_t *len, char **cause)
{
	json_t *v = json_object_get(h_files, path);

	if (!json_is_string(v)) {
		*cause = xstrdup("no such file");
		return -1;
	}
	*data = xstrdup(json_string_value(v));
	*len = strlen(*data);
	return 0;
}

static int
h_prompt(void *arg, const struct stack_prompt *p, json_t **answer)
{
	json_t *a = json_object_get(h_answers, p->variable);

	if (a != NULL) {
		*answer = json_incref(a);
		return 1;
	}
	return h_interactive ? STACK_NEED : 0;
}

static int
h_vault(void *arg, const char *name, char **value, size_t *len)
{
	json_t *v = json_object_get(h_secrets, name);

	if (!json_is_string(v))
		return 0;
	if (value != NULL) {
		*value = xstrdup(json_string_value(v));
		*len = strlen(*value);
	}
	return 1;
}

static json_t *
h_vault_names(void *arg)
{
	json_t *out = json_array();
	const char *k;
	json_t *v;

	json_object_foreach(h_secrets, k, v)
		json_array_append_new(out, json_string(k));
	return out;
}

/* A xorshift generator: "random", but the same every run. */
static void
h_random(void *arg, void *buf, size_t len)
{
	unsigned char *b = buf;
	size_t i;

	for (i = 0; i < len; i++) {
		h_seed ^= h_seed << 13;
		h_seed ^= h_seed >> 7;
		h_seed ^= h_seed << 17;
		b[i] = (unsigned char)h_seed;
	}
}

static int
h_service(void *arg, const char *stack, const char *service, json_t **info)
{
	if (strcmp(stack, "app") == 0 && strcmp(service, "web") == 0) {
		*info = json_pack("{s:s, s:i}", "image", "nginx", "instances",
		    4);
		return 1;
	}
	if (strcmp(stack, "lb") == 0)
		return strcmp(service, "lb") == 0 ? (*info = json_pack(
		    "{s:s, s:i}", "image", "kontena/lb:latest", "instances",
		    2), 1) : 0;
	return -1;
}

static json_t *
h_services(void *arg)
{
	return json_pack("[{s:s, s:s, s:s}, {s:s, s:s, s:s}, {s:s, s:s, "
	    "s:s}]", "link", "lb/lb", "name", "lb", "image",
	    "kontena/lb:latest", "link", "lb2/lb", "name", "lb", "image",
	    "kontena/lb:1.0", "link", "zk/zookeeper", "name", "zookeeper",
	    "image", "kontena/zookeeper:3.4");
}

static const struct stack_host host = {
	.getenv = h_getenv, .read_file = h_read, .prompt = h_prompt,
	.vault_read = h_vault, .vault_names = h_vault_names,
	.random = h_random, .service_find = h_service,
	.services = h_services,
};

static struct stack_errors errs;
static struct stack_result res;

static void
reset(void)
{
	json_decref(h_env);
	json_decref(h_files);
	json_decref(h_secrets);
	json_decref(h_answers);
	h_env = json_object();
	h_files = json_object();
	h_secrets = json_object();
	h_answers = json_object();
	h_interactive = 0;
	h_seed = 88172645463325252ULL;
	stack_errors_clear(&errs);
	stack_result_clear(&res);
}

/* Parse yaml as stack "app" on grid "prod"; values, previous optional. */
static json_t *
parse_with(const char *yaml, json_t *values, json_t *previous)
{
	struct stack_opts o = { .grid = "prod", .name = "app",
	    .values = values, .previous = previous, .host = &host,
	    .now = 1517400000 };
	json_t *st;

	stack_errors_clear(&errs);
	stack_result_clear(&res);
	st = stack_parse_ex(yaml, strlen(yaml), "t.yml", &o, &errs, &res);
	if (st == NULL && errs.n > 0) {
		char *m = stack_errors_format(&errs);

		printf("  errors: %s\n", m);
		free(m);
	}
	return st;
}

static json_t *
parse(const char *yaml)
{
	return parse_with(yaml, NULL, NULL);
}

static int
has_err(int line, const char *key, const char *msg)
{
	size_t i;

	for (i = 0; i < errs.n; i++) {
		if ((line == 0 || errs.v[i].line == line) &&
		    strcmp(errs.v[i].key, key) == 0 &&
		    strstr(errs.v[i].message, msg) != NULL)
			return 1;
	}
	return 0;
}

#define ERR(yaml, line, key, msg) do {					\
	json_t *e_ = parse(yaml);					\
	CHECK(e_ == NULL);						\
	CHECK(has_err((line), (key), (msg)));				\
	if (!has_err((line), (key), (msg))) {				\
		char *m_ = stack_errors_format(&errs);			\
		printf("  got: %s\n", m_);				\
		free(m_);						\
	}								\
	json_decref(e_);						\
} while (0)

static json_t *
svc(json_t *st, size_t i)
{
	return json_array_get(json_object_get(st, "services"), i);
}

static const char *
var_s(json_t *st, const char *name)
{
	return json_string_value(json_object_get(json_object_get(st,
	    "variables"), name));
}

static json_t *
var_j(json_t *st, const char *name)
{
	return json_object_get(json_object_get(st, "variables"), name);
}

static const char *
env_of(json_t *st, size_t svc_i, const char *key)
{
	json_t *env = json_object_get(svc(st, svc_i), "env"), *e;
	size_t i, k = strlen(key);

	json_array_foreach(env, i, e) {
		if (strncmp(json_string_value(e), key, k) == 0 &&
		    json_string_value(e)[k] == '=')
			return json_string_value(e) + k + 1;
	}
	return NULL;
}

#define SVC "services:\n  web:\n    image: nginx\n"

static void
test_liquid_in_stacks(void)
{
	json_t *st;

	reset();
	st = parse("stack: me/app\nvariables:\n  n:\n    type: integer\n"
	    "    default: 3\n  lb:\n    type: boolean\n    default: false\n"
	    "services:\n  web:\n    image: nginx\n    instances: {{ n }}\n"
	    "    # {% if lb %}\n    links: [lb/lb]\n    # {% endif %}\n"
	    "    environment:\n"
	    "      # {% for i in (1..n) %}\n"
	    "      - NODE_{{ i }}=node-{{ i }}.{{ STACK }}.{{ GRID }}\n"
	    "      # {% endfor %}\n");
	CHECK(st != NULL);
	CHECK_INT(json_integer_value(json_object_get(svc(st, 0),
	    "instances")), 3);
	CHECK_INT(json_array_size(json_object_get(svc(st, 0), "links")), 0);
	CHECK_STR(env_of(st, 0, "NODE_3"), "node-3.app.prod");
	json_decref(st);

	/* An undefined variable or filter: the template's line. */
	ERR("stack: me/app\n" SVC "    # {% if nope %}\n    # {% endif %}\n",
	    5, "", "Liquid error: undefined variable nope");
	ERR("stack: me/app\n" SVC "\n    user: \"{{ 'x' | shout }}\"\n", 6, "",
	    "undefined filter shout");
	ERR("stack: me/app\n" SVC "    # {% if true %}\n", 5, "",
	    "'if' tag was never closed");
	/* YAML errors in the rendered text point back to the template. */
	ERR("stack: me/app\nvariables:\n  n:\n    type: integer\n"
	    "    default: 2\n" SVC "    # {% for i in (1..n) %}\n"
	    "    # {% endfor %}\n    instances: {{ 'many' }}\n", 11,
	    "services.web.instances", "must be an integer");
	ERR("stack: me/app\n" SVC "    # {% for i in (1..3) %}\n"
	    "    # {% endfor %}\n    command: [a,\n  b: 1\n", 9, "",
	    "YAML syntax error");
	/* The raw file must be YAML too (Kontena read its variables so). */
	ERR("stack: me/app\n" SVC "    user: {% if true %}x{% endif %}\n", 5,
	    "", "YAML syntax error");
	/* A null variable is defined (Kontena's LiquidNull). */
	st = parse("stack: me/app\nvariables:\n  x:\n    type: string\n"
	    "    required: false\n" SVC "    user: \"[{{ x }}]\"\n");
	CHECK(st != NULL);
	CHECK_STR(json_string_value(json_object_get(svc(st, 0), "user")),
	    "[]");
	json_decref(st);
	/* Without tags the file is read once, strictly. */
	ERR("stack: me/app\n" SVC "    image: twice\n", 5, "image",
	    "duplicate key");
}

static void
test_env_and_files(void)
{
	json_t *st;

	reset();
	json_object_set_new(h_env, "plain", json_string("from-env"));
	json_object_set_new(h_env, "N", json_string("12"));
	json_object_set_new(h_env, "B", json_string("true"));
	json_object_set_new(h_env, "SECOND", json_string("2nd"));
	json_object_set_new(h_files, "pw.txt", json_string("s3cret\n"));
	json_object_set_new(h_files, "conf.yml",
	    json_string("db:\n  host: pg\n  port: 5432\nlist: [a, b]\n"));
	st = parse("stack: me/app\nvariables:\n"
	    "  plain:\n    type: string\n    default: d\n"
	    "  n:\n    type: integer\n    from:\n      env: N\n"
	    "  b:\n    type: string\n    from:\n      env: B\n"
	    "  multi:\n    type: string\n    from:\n      env: [NONE, SECOND]\n"
	    "  pw:\n    type: string\n    chomp: true\n    from:\n"
	    "      file: pw.txt\n"
	    "  opt:\n    type: string\n    required: false\n    from:\n"
	    "      file: {path: none.txt, ignore_errors: true}\n"
	    "  host:\n    type: string\n    from:\n"
	    "      yaml: {file: conf.yml, key: db.host}\n"
	    "  port:\n    type: integer\n    from:\n"
	    "      yaml: {file: conf.yml, key: db.port}\n"
	    "  list:\n    type: array\n    from:\n"
	    "      yaml: {file: conf.yml, key: list}\n" SVC);
	CHECK(st != NULL);
	/* every variable falls back to the environment of its own name */
	CHECK_STR(var_s(st, "plain"), "from-env");
	CHECK_INT(json_integer_value(var_j(st, "n")), 12);
	/* env's "true" is a boolean, made "true" by the string type */
	CHECK_STR(var_s(st, "b"), "true");
	CHECK_STR(var_s(st, "multi"), "2nd");
	CHECK_STR(var_s(st, "pw"), "s3cret");
	CHECK(json_is_null(var_j(st, "opt")));
	CHECK_STR(var_s(st, "host"), "pg");
	CHECK_INT(json_integer_value(var_j(st, "port")), 5432);
	CHECK_INT(json_array_size(var_j(st, "list")), 2);
	json_decref(st);
}

static void
test_computed(void)
{
	json_t *st;

	reset();
	st = parse("stack: me/app\nvariables:\n"
	    "  mem:\n    type: integer\n    default: 1024\n"
	    "  cache:\n    type: integer\n    from:\n"
	    "      evaluate: ${mem} * 0.25\n"
	    "  pool:\n    type: string\n    from:\n"
	    "      evaluate: ((${mem} * 10) * 7) / 100\n"
	    "  half:\n    type: string\n    from:\n"
	    "      evaluate: 1 / 2.0\n"
	    "  neg:\n    type: integer\n    min: -10\n    from:\n"
	    "      evaluate: -7 / 2\n"
	    "  pw:\n    type: integer\n    from:\n      evaluate: 2 ** 10\n"
	    "  url:\n    type: string\n    from:\n"
	    "      interpolate: amqp://${user}@$host/${STACK}\n"
	    "  user:\n    type: string\n    default: u\n"
	    "  host:\n    type: string\n    default: h.${GRID}\n"
	    "  copy:\n    type: string\n    from:\n      variable: user\n"
	    "  size:\n    type: string\n    from:\n      condition:\n"
	    "        - if: {mem: {gt: 2048}}\n          then: big\n"
	    "        - elsif: {mem: {gte: 1000, lt: 2000}}\n"
	    "          then: mid\n        - else: small\n"
	    "  none:\n    type: string\n    required: false\n    from:\n"
	    "      condition:\n        - if: {user: x}\n          then: y\n"
	    SVC);
	CHECK(st != NULL);
	if (st == NULL)
		return;
	/* Ruby's arithmetic: 1024 * 0.25 is 256.0, an integer 256 */
	CHECK_INT(json_integer_value(var_j(st, "cache")), 256);
	/* integer division: (10240 * 7) / 100 is 716 */
	CHECK_STR(var_s(st, "pool"), "716");
	CHECK_STR(var_s(st, "half"), "0.5");
	CHECK_INT(json_integer_value(var_j(st, "neg")), -4);
	CHECK_INT(json_integer_value(var_j(st, "pw")), 1024);
	/* interpolate names variables declared after it too */
	CHECK_STR(var_s(st, "url"), "amqp://u@h.prod/app");
	CHECK_STR(var_s(st, "copy"), "u");
	CHECK_STR(var_s(st, "size"), "mid");
	CHECK(json_is_null(var_j(st, "none")));
	json_decref(st);
	ERR("stack: me/app\nvariables:\n  a:\n    type: integer\n    from:\n"
	    "      evaluate: 1 / 0\n" SVC, 6, "variables.a.from.evaluate",
	    "divided by 0");
	ERR("stack: me/app\nvariables:\n  a:\n    type: string\n    from:\n"
	    "      interpolate: x${b}\n  b:\n    type: string\n"
	    "    required: false\n" SVC, 6, "variables.a.from.interpolate",
	    "variable b has no value");
}

static void
test_generated(void)
{
	json_t *st, *prev;
	const char *s, *u;
	char keep[64];
	size_t i;

	reset();
	st = parse("stack: me/app\nvariables:\n"
	    "  a:\n    type: string\n    from:\n      random_string: 12\n"
	    "  h:\n    type: string\n    from:\n"
	    "      random_string: {length: 8, charset: hex}\n"
	    "  b:\n    type: string\n    from:\n"
	    "      random_string: {length: 6, charset: '01'}\n"
	    "  r:\n    type: string\n    from:\n"
	    "      random_string: {length: 5, charset: a-c}\n"
	    "  n:\n    type: integer\n    from:\n"
	    "      random_number: {min: 5, max: 7}\n"
	    "  u:\n    type: string\n    from:\n      random_uuid: true\n" SVC);
	CHECK(st != NULL);
	if (st == NULL)
		return;
	s = var_s(st, "a");
	CHECK(s != NULL && strlen(s) == 12);
	for (i = 0; s != NULL && s[i] != '\0'; i++)
		CHECK(strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV"
		    "WXYZ0123456789", s[i]) != NULL);
	s = var_s(st, "h");
	CHECK(s != NULL && strlen(s) == 8 && strspn(s, "0123456789abcdef") ==
	    8);
	s = var_s(st, "b");
	CHECK(s != NULL && strlen(s) == 6 && strspn(s, "01") == 6);
	s = var_s(st, "r");
	CHECK(s != NULL && strlen(s) == 5 && strspn(s, "abc") == 5);
	CHECK(json_integer_value(var_j(st, "n")) >= 5 &&
	    json_integer_value(var_j(st, "n")) <= 7);
	u = var_s(st, "u");
	CHECK(u != NULL && strlen(u) == 36 && u[14] == '4' && u[8] == '-');
	snprintf(keep, sizeof keep, "%s", var_s(st, "a"));

	/* An upgrade keeps the generated values (the stack's answers). */
	prev = json_deep_copy(json_object_get(st, "variables"));
	json_decref(st);
	h_seed = 12345;
	st = parse_with("stack: me/app\nvariables:\n"
	    "  a:\n    type: string\n    from:\n      random_string: 12\n" SVC,
	    NULL, prev);
	CHECK(st != NULL);
	CHECK_STR(var_s(st, "a"), keep);
	json_decref(st);
	json_decref(prev);
	ERR("stack: me/app\nvariables:\n  a:\n    type: string\n    from:\n"
	    "      random_string: {length: 6, charset: base64}\n" SVC, 6,
	    "variables.a.from.random_string", "divisible by 4");
}

static void
test_options(void)
{
	json_t *st, *a;

	reset();
	st = parse("stack: me/app\nvariables:\n"
	    "  up:\n    type: string\n    default: ' Mixed Case '\n"
	    "    upcase: true\n    strip: true\n"
	    "  cap:\n    type: string\n    default: hELLO\n"
	    "    transform: [capitalize]\n"
	    "  md5:\n    type: string\n    default: abc\n    hexdigest: md5\n"
	    "  b64:\n    type: string\n    default: hi\n    encode_64: true\n"
	    "  dec:\n    type: string\n    default: aGk=\n    decode_64: true\n"
	    "  blank:\n    type: string\n    default: '   '\n"
	    "    required: false\n"
	    "  keep:\n    type: string\n    default: ''\n"
	    "    empty_is_nil: false\n"
	    "  zero:\n    type: integer\n    nil_is_zero: true\n"
	    "  mode:\n    type: integer\n    default: 0755\n"
	    "  flag:\n    type: boolean\n    default: enabled\n"
	    "  flag_i:\n    type: boolean\n    default: yes\n"
	    "    as: integer\n"
	    "  flag_s:\n    type: boolean\n    default: 'no'\n    as: string\n"
	    "    false: nope\n"
	    "  custom:\n    type: boolean\n    default: si\n"
	    "    truthy: [si, oui]\n"
	    "  nob:\n    type: boolean\n"
	    "  e:\n    type: enum\n    options: {a: first, b: second}\n"
	    "    default: b\n"
	    "  other:\n    type: enum\n    options: [x, y]\n"
	    "    can_be_other: true\n    default: z\n"
	    "  list:\n    type: array\n    default: 'c;a;b;a;'\n"
	    "    split: ';'\n    sort: true\n    uniq: true\n"
	    "  joined:\n    type: array\n    default: [x, y]\n    join: '+'\n"
	    "  count:\n    type: array\n    default: a,b,c\n    count: true\n"
	    "  nolist:\n    type: array\n    default: ''\n"
	    "    empty_is_nil: true\n    required: false\n"
	    "  site:\n    type: uri\n    default: ftp://f/\n"
	    "    validate: {schemes: [ftp]}\n"
	    "  pick:\n    type: string\n    default: b\n    in: [a, b]\n" SVC);
	CHECK(st != NULL);
	if (st == NULL)
		return;
	CHECK_STR(var_s(st, "up"), "MIXED CASE");
	CHECK_STR(var_s(st, "cap"), "Hello");
	CHECK_STR(var_s(st, "md5"), "900150983cd24fb0d6963f7d28e17f72");
	CHECK_STR(var_s(st, "b64"), "aGk=\n");
	CHECK_STR(var_s(st, "dec"), "hi");
	CHECK(json_is_null(var_j(st, "blank")));
	CHECK_STR(var_s(st, "keep"), "");
	CHECK_INT(json_integer_value(var_j(st, "zero")), 0);
	/* YAML 1.1: 0755 is octal 493 (Kontena's parser read it so) */
	CHECK_INT(json_integer_value(var_j(st, "mode")), 493);
	CHECK(json_is_true(var_j(st, "flag")));
	CHECK_INT(json_integer_value(var_j(st, "flag_i")), 1);
	CHECK_STR(var_s(st, "flag_s"), "nope");
	CHECK(json_is_true(var_j(st, "custom")));
	/* a boolean without a value is false, never missing */
	CHECK(json_is_false(var_j(st, "nob")));
	CHECK_STR(var_s(st, "e"), "b");
	CHECK_STR(var_s(st, "other"), "z");
	a = var_j(st, "list");
	CHECK(json_array_size(a) == 3 &&
	    strcmp(json_string_value(json_array_get(a, 0)), "a") == 0 &&
	    strcmp(json_string_value(json_array_get(a, 2)), "c") == 0);
	CHECK_STR(var_s(st, "joined"), "x+y");
	CHECK_INT(json_integer_value(var_j(st, "count")), 3);
	CHECK(json_is_null(var_j(st, "nolist")));
	CHECK_STR(var_s(st, "site"), "ftp://f/");
	json_decref(st);
	ERR("stack: me/app\nvariables:\n  x:\n    type: string\n"
	    "    default: c\n    in: [a, b]\n" SVC, 3, "variables.x",
	    "is not one of those allowed");
	ERR("stack: me/app\nvariables:\n  x:\n    type: string\n"
	    "    default: c\n    hexdigest: crc\n" SVC, 3, "variables.x",
	    "invalid hexdigest");
	/* An option a type does not have is a warning, as Opto ignored it */
	st = parse("stack: me/app\nvariables:\n  x:\n    type: string\n"
	    "    default: c\n    min: 3\n" SVC);
	CHECK(st != NULL);
	CHECK(json_array_size(res.warnings) == 1);
	CHECK_HAS(json_string_value(json_object_get(json_array_get(
	    res.warnings, 0), "message")), "option \"min\" means nothing");
	json_decref(st);
}

static void
test_conditions(void)
{
	json_t *st;

	reset();
	st = parse("stack: me/app\nvariables:\n"
	    "  up:\n    type: boolean\n    default: true\n"
	    "  down:\n    type: boolean\n    default: false\n"
	    "  n:\n    type: integer\n    default: 5\n"
	    "  s:\n    type: string\n    default: foobar\n"
	    "  a:\n    type: string\n    only_if: up\n    default: A\n"
	    "  b:\n    type: string\n    only_if: [up, down]\n    default: B\n"
	    "  c:\n    type: string\n    skip_if: down\n    default: C\n"
	    "  d:\n    type: string\n    only_if: {n: 5}\n    default: D\n"
	    "  e:\n    type: string\n    only_if:\n      n: {gt: 1, lte: 5}\n"
	    "      s: {start_with: foo, contain: oba}\n    default: E\n"
	    "  f:\n    type: string\n    skip_if:\n      n: {any_of: [1, 5]}\n"
	    "    default: F\n"
	    "  f2:\n    type: string\n    skip_if:\n      s: {any_of: 'x,foobar'}"
	    "\n    default: F2\n"
	    "  g:\n    type: string\n    only_if: later\n    default: G\n"
	    "  later:\n    type: string\n    default: 'false'\n" SVC);
	CHECK(st != NULL);
	if (st == NULL)
		return;
	CHECK_STR(var_s(st, "a"), "A");
	CHECK(json_is_null(var_j(st, "b")));	/* down is false */
	CHECK_STR(var_s(st, "c"), "C");
	CHECK_STR(var_s(st, "d"), "D");
	CHECK_STR(var_s(st, "e"), "E");
	CHECK(json_is_null(var_j(st, "f")));	/* skipped: 5 is any of */
	CHECK(json_is_null(var_j(st, "f2")));
	/* a string "false" is not true (Opto's string truth) */
	CHECK(json_is_null(var_j(st, "g")));
	json_decref(st);
	ERR("stack: me/app\nvariables:\n  a:\n    type: string\n"
	    "    only_if: ghost\n" SVC, 3, "variables.a",
	    "undeclared variable \"ghost\"");
}

static void
test_asking(void)
{
	json_t *st, *need, *values;

	reset();
	/* Nobody to ask: the prompt gives nothing, the default decides. */
	st = parse("stack: me/app\nvariables:\n  v:\n    type: string\n"
	    "    default: dflt\n    from:\n      prompt: Version?\n" SVC);
	CHECK(st != NULL);
	CHECK_STR(var_s(st, "v"), "dflt");
	json_decref(st);
	/* Someone to ask: the parse needs the answer first. */
	h_interactive = 1;
	st = parse("stack: me/app\nvariables:\n  v:\n    type: string\n"
	    "    default: dflt\n    from:\n      prompt: Version?\n"
	    "  e:\n    type: enum\n    options: [x, y]\n    from: prompt\n"
	    SVC);
	CHECK(st == NULL && errs.n == 0);
	CHECK(json_array_size(res.needs) == 1);
	need = json_array_get(res.needs, 0);
	CHECK_STR(json_string_value(json_object_get(need, "kind")), "prompt");
	CHECK_STR(json_string_value(json_object_get(need, "variable")), "v");
	CHECK_STR(json_string_value(json_object_get(need, "question")),
	    "Version? :");
	CHECK_STR(json_string_value(json_object_get(need, "default")),
	    "dflt");
	json_object_set_new(h_answers, "v", json_string("1.2"));
	st = parse("stack: me/app\nvariables:\n  v:\n    type: string\n"
	    "    default: dflt\n    from:\n      prompt: Version?\n"
	    "  e:\n    type: enum\n    options: [x, y]\n    from: prompt\n"
	    SVC);
	CHECK(st == NULL && json_array_size(res.needs) == 1);
	need = json_array_get(res.needs, 0);
	CHECK_STR(json_string_value(json_object_get(need, "question")),
	    "Select e :");
	CHECK(json_array_size(json_object_get(need, "choices")) == 2);
	json_object_set_new(h_answers, "e", json_string("y"));
	st = parse("stack: me/app\nvariables:\n  v:\n    type: string\n"
	    "    default: dflt\n    from:\n      prompt: Version?\n"
	    "  e:\n    type: enum\n    options: [x, y]\n    from: prompt\n"
	    SVC);
	CHECK(st != NULL);
	CHECK_STR(var_s(st, "v"), "1.2");
	CHECK_STR(var_s(st, "e"), "y");
	json_decref(st);

	/* A value given (-v) wins over everything, typed by the variable. */
	values = json_pack("{s:s, s:s}", "n", "7", "other", "x");
	st = parse_with("stack: me/app\nvariables:\n  n:\n    type: integer\n"
	    "    value: 1\n" SVC, values, NULL);
	CHECK(st != NULL);
	CHECK_INT(json_integer_value(var_j(st, "n")), 7);
	CHECK(json_array_size(res.warnings) == 1);	/* "other" */
	json_decref(st);
	json_decref(values);

	/* service_link: the grid's services, filtered, picked by prompt. */
	h_interactive = 0;
	ERR("stack: me/app\nvariables:\n  lb:\n    type: string\n    from:\n"
	    "      service_link:\n        prompt: Choose a loadbalancer\n"
	    "        image: kontena/lb\n" SVC, 3, "variables.lb",
	    "choose one of lb/lb, lb2/lb");
	json_object_set_new(h_answers, "lb", json_string("lb2/lb"));
	st = parse("stack: me/app\nvariables:\n  lb:\n    type: string\n"
	    "    from:\n      service_link:\n        prompt: Choose\n"
	    "        image: kontena/lb\n  n:\n    type: integer\n"
	    "    from:\n      service_instances: web\n" SVC);
	CHECK(st != NULL);
	CHECK_STR(var_s(st, "lb"), "lb2/lb");
	CHECK_INT(json_integer_value(var_j(st, "n")), 4);
	json_decref(st);
	/* No service matches: nothing to choose from. */
	ERR("stack: me/app\nvariables:\n  zk:\n    type: string\n    from:\n"
	    "      service_link:\n        prompt: Choose\n"
	    "        name: kafka\n" SVC, 3, "variables.zk", "has no value");
}

static void
test_vault_variables(void)
{
	json_t *st;

	reset();
	json_object_set_new(h_secrets, "app-pw", json_string("from-vault"));
	json_object_set_new(h_secrets, "ssl-cert-a", json_string("pem"));
	st = parse("stack: me/app\nvariables:\n"
	    "  pw:\n    type: string\n    from:\n      vault: ${STACK}-pw\n"
	    "      random_string: 8\n    to:\n      vault: ${STACK}-pw\n"
	    "  fresh:\n    type: string\n    from:\n"
	    "      vault: ${STACK}-fresh\n      random_string: 8\n"
	    "    to:\n      vault: ${STACK}-fresh\n"
	    "  alias:\n    type: string\n    default: aliased\n"
	    "    to:\n      env: OTHER_NAME\n"
	    "  certs:\n    type: array\n    required: false\n    from:\n"
	    "      certificates: Select\n"
	    SVC "    user: ${OTHER_NAME}\n    environment:\n"
	    "      - PW={{ pw }}\n");
	CHECK(st != NULL);
	if (st == NULL)
		return;
	/* Secrets are never stored with the stack's values. */
	CHECK(json_is_null(var_j(st, "pw")));
	CHECK(json_is_null(var_j(st, "fresh")));
	/* ... but the template and ${} see them */
	CHECK_STR(env_of(st, 0, "PW"), "from-vault");
	/* to: vault writes both: the one read, the one generated */
	CHECK_STR(json_string_value(json_object_get(res.vault_writes,
	    "app-pw")), "from-vault");
	CHECK(json_string_length(json_object_get(res.vault_writes,
	    "app-fresh")) == 8);
	CHECK_STR(json_string_value(json_object_get(svc(st, 0), "user")),
	    "aliased");
	/* berth keeps no certificates: none to select */
	CHECK(json_array_size(var_j(st, "certs")) == 0);
	json_decref(st);
}

static void
test_yaml11_and_merge(void)
{
	json_t *st, *s;

	reset();
	st = parse("stack: me/app\n"
	    "data:\n  common: &common\n    image: busybox\n    instances: 2\n"
	    "    environment: {SHARED: 1}\n"
	    "services:\n  web:\n    <<: *common\n    instances: 3\n"
	    "    privileged: yes\n    read_only: On\n"
	    "    environment:\n      D: on\n      MODE: 0755\n"
	    "      F: 1.50\n      N: ~\n      S: 'yes'\n      H: 0x1f\n"
	    "  db:\n    <<: [*common]\n");
	CHECK(st != NULL);
	if (st == NULL)
		return;
	s = svc(st, 0);
	CHECK_STR(json_string_value(json_object_get(s, "image")), "busybox");
	/* the service's own key wins over the merged one */
	CHECK_INT(json_integer_value(json_object_get(s, "instances")), 3);
	CHECK(json_is_true(json_object_get(s, "privileged")));
	CHECK(json_is_true(json_object_get(s, "read_only")));
	/* Kontena wrote "#{key}=#{value}" of what Psych read */
	CHECK_STR(env_of(st, 0, "D"), "true");
	CHECK_STR(env_of(st, 0, "MODE"), "493");
	CHECK_STR(env_of(st, 0, "F"), "1.5");
	CHECK_STR(env_of(st, 0, "N"), "");
	CHECK_STR(env_of(st, 0, "S"), "yes");
	CHECK_STR(env_of(st, 0, "H"), "31");
	CHECK_INT(json_integer_value(json_object_get(svc(st, 1),
	    "instances")), 2);
	CHECK_STR(env_of(st, 1, "SHARED"), "1");
	json_decref(st);
}


static int
has_warn(const char *key, const char *msg)
{
	json_t *w;
	size_t i;

	json_array_foreach(res.warnings, i, w) {
		if (strcmp(json_string_value(json_object_get(w, "key")),
		    key) == 0 && strstr(json_string_value(json_object_get(w,
		    "message")), msg) != NULL)
			return 1;
	}
	return 0;
}

static json_t *
svc_named(json_t *st, const char *name)
{
	json_t *s;
	size_t i;

	json_array_foreach(json_object_get(st, "services"), i, s) {
		if (strcmp(json_string_value(json_object_get(s, "name")),
		    name) == 0)
			return s;
	}
	return NULL;
}

static const char *
svc_s(json_t *st, const char *name, const char *key)
{
	return json_string_value(json_object_get(svc_named(st, name), key));
}

/* extends:, the cases of Kontena's own reader specs and then some. */
static void
test_extends(void)
{
	json_t *st, *s, *l;

	reset();
	/* stack-internal-extend.yml */
	st = parse("stack: user/stackname\nservices:\n  base:\n"
	    "    stateful: true\n    instances: 2\n    image: base\n"
	    "    deploy:\n      strategy: daemon\n    command: run\n"
	    "    environment:\n      - \"TEST1=test1\"\n      - \"TEST2=test2\"\n"
	    "  app:\n    extends: base\n    environment:\n"
	    "      - \"TEST2=changed\"\n      - \"TEST3=new\"\n");
	CHECK(st != NULL);
	s = svc_named(st, "app");
	CHECK_STR(svc_s(st, "app", "image"), "base");
	CHECK_INT(json_integer_value(json_object_get(s, "instances")), 2);
	CHECK(json_is_true(json_object_get(s, "stateful")));
	l = json_object_get(s, "env");
	CHECK_INT(json_array_size(l), 3);
	CHECK_STR(json_string_value(json_array_get(l, 0)), "TEST1=test1");
	CHECK_STR(json_string_value(json_array_get(l, 1)), "TEST2=changed");
	CHECK_STR(json_string_value(json_array_get(l, 2)), "TEST3=new");
	/* Kontena's merge lost the parent's deploy and command. */
	CHECK_STR(json_string_value(json_object_get(s, "strategy")), "ha");
	CHECK(json_is_null(json_object_get(s, "command")));
	CHECK(has_warn("services.app.extends", "deploy, which Kontena"));
	CHECK(has_warn("services.app.extends", "command, which Kontena"));
	CHECK(json_object_get(s, " given") == NULL);
	json_decref(st);

	/* kontena_v3.yml extending docker-compose_v2.yml */
	reset();
	json_object_set_new(h_files, "docker-compose_v2.yml", json_string(
	    "version: '2'\nservices:\n  wordpress:\n    image: wordpress:4.1\n"
	    "    ports:\n      - 80:80\n    depends_on:\n      - mysql\n"
	    "  mysql:\n    image: mysql:5.6\n    entrypoint: test\n"
	    "  broken:\n    image: [not, a, string]\n"));
	st = parse("stack: user/stackname\nversion: 0.1.1\nservices:\n"
	    "  wordpress:\n    extends:\n      file: docker-compose_v2.yml\n"
	    "      service: wordpress\n    stateful: true\n    environment:\n"
	    "      WORDPRESS_DB_PASSWORD: ${STACK}_secret\n    instances: 2\n"
	    "    deploy:\n      strategy: ha\n  mysql:\n    extends:\n"
	    "      file: docker-compose_v2.yml\n      service: mysql\n"
	    "    stateful: true\n    environment:\n"
	    "      - MYSQL_ROOT_PASSWORD=${STACK}_secret\n");
	CHECK(st != NULL);
	CHECK_STR(svc_s(st, "wordpress", "image"), "wordpress:4.1");
	CHECK_STR(env_of(st, 1, "WORDPRESS_DB_PASSWORD"), "app_secret");
	CHECK_STR(svc_s(st, "wordpress", "name"), "wordpress");
	s = svc_named(st, "wordpress");
	CHECK_INT(json_integer_value(json_object_get(s, "instances")), 2);
	CHECK_INT(json_array_size(json_object_get(s, "ports")), 1);
	CHECK_STR(json_string_value(json_array_get(json_object_get(s,
	    "depends_on"), 0)), "mysql");
	/* Ordered by the depends_on it inherited: mysql first. */
	CHECK_STR(json_string_value(json_object_get(svc(st, 0), "name")),
	    "mysql");
	CHECK_STR(svc_s(st, "mysql", "image"), "mysql:5.6");
	CHECK_STR(json_string_value(json_array_get(json_object_get(
	    svc_named(st, "mysql"), "entrypoint"), 0)), "test");
	CHECK_STR(env_of(st, 0, "MYSQL_ROOT_PASSWORD"), "app_secret");
	json_decref(st);

	/* The stack's variables reach the file (${} and Liquid); its own
	   files are beside it; it may extend again. */
	reset();
	json_object_set_new(h_files, "base/compose.yml", json_string(
	    "services:\n  db:\n    extends:\n      file: more/root.yml\n"
	    "      service: root\n    environment:\n      - ENV_VAR=$ENV_VAR\n"
	    "# {% if ENV_VAR == 'abcd' %}\n      - LIQUID=yes\n# {% endif %}\n"
	    "    env_file: db.env\n"));
	json_object_set_new(h_files, "base/db.env", json_string("FROM_FILE=1\n"));
	json_object_set_new(h_files, "base/more/root.yml", json_string(
	    "services:\n  root:\n    image: postgres:${version}\n"
	    "    secrets:\n      - {secret: pw, name: PGPASSWORD, type: env}\n"
	    "      - {secret: other, name: OTHER, type: env}\n"
	    "    links: [cache]\n"));
	json_object_set_new(h_secrets, "pw", json_string("s1"));
	json_object_set_new(h_secrets, "pw2", json_string("s2"));
	json_object_set_new(h_secrets, "other", json_string("s3"));
	st = parse("stack: x\nvariables:\n  ENV_VAR:\n    type: string\n"
	    "    value: abcd\n  version:\n    type: string\n    value: '10'\n"
	    "services:\n  cache:\n    image: redis\n  db:\n    extends:\n"
	    "      file: base/compose.yml\n      service: db\n    secrets:\n"
	    "      - {secret: pw2, name: PGPASSWORD, type: env}\n"
	    "      - {secret: pw, name: PW, type: env}\n");
	CHECK(st != NULL);
	CHECK_STR(svc_s(st, "db", "image"), "postgres:10");
	CHECK_STR(env_of(st, 1, "ENV_VAR"), "abcd");
	CHECK_STR(env_of(st, 1, "LIQUID"), "yes");
	CHECK_STR(env_of(st, 1, "FROM_FILE"), "1");
	l = json_object_get(svc_named(st, "db"), "secrets");
	CHECK_INT(json_array_size(l), 3);
	CHECK_STR(json_string_value(json_object_get(json_array_get(l, 0),
	    "secret")), "pw2");
	CHECK_STR(json_string_value(json_object_get(json_array_get(l, 2),
	    "secret")), "other");
	CHECK_STR(json_string_value(json_array_get(json_object_get(
	    svc_named(st, "db"), "links"), 0)), "cache");
	json_decref(st);

	/* The child's links replace the parent's (and its depends_on). */
	reset();
	st = parse("stack: x\nservices:\n  a:\n    image: a\n  b:\n"
	    "    image: b\n  p:\n    image: p\n    links: [a]\n"
	    "    depends_on: [b]\n  c:\n    extends: p\n    links: [b]\n"
	    "  d:\n    extends: p\n    depends_on: [a]\n");
	CHECK(st != NULL);
	l = json_object_get(svc_named(st, "c"), "links");
	CHECK_INT(json_array_size(l), 1);
	CHECK_STR(json_string_value(json_array_get(l, 0)), "b");
	CHECK_INT(json_array_size(json_object_get(svc_named(st, "c"),
	    "depends_on")), 0);
	CHECK_INT(json_array_size(json_object_get(svc_named(st, "d"),
	    "links")), 1);
	CHECK_INT(json_array_size(json_object_get(svc_named(st, "d"),
	    "depends_on")), 2);
	json_decref(st);

	/* Chains, and the image from anywhere up the chain. */
	st = parse("stack: x\nservices:\n  c:\n    extends: b\n"
	    "  b:\n    extends: a\n    user: bob\n  a:\n    image: a:1\n");
	CHECK(st != NULL);
	CHECK_STR(svc_s(st, "c", "image"), "a:1");
	CHECK_STR(svc_s(st, "c", "user"), "bob");
	json_decref(st);

	ERR("stack: x\nservices:\n  a:\n    extends: ghost\n", 4,
	    "services.a.extends", "no service \"ghost\" in t.yml");
	ERR("stack: x\nservices:\n  a:\n    extends: b\n  b:\n"
	    "    extends: a\n", 0, "services.a", "a loop of services");
	ERR("stack: x\nservices:\n  a:\n    extends: a\n", 4,
	    "services.a.extends", "cannot extend itself");
	ERR("stack: x\nservices:\n  a:\n    extends:\n      stack: k/base\n"
	    "      service: a\n", 5, "services.a.extends", "stack registry");
	ERR("stack: x\nservices:\n  a:\n    image: x\n    extends:\n"
	    "      service: a\n", 6, "services.a.extends", "needs file:");
	ERR("stack: x\nservices:\n  a:\n    extends:\n      file: nope.yml\n"
	    "      service: a\n", 5, "services.a.extends",
	    "cannot read \"nope.yml\"");
	ERR("stack: x\nservices:\n  a:\n    extends: [1]\n", 4,
	    "services.a.extends", "must be a service name or");
	ERR("stack: x\nservices:\n  a:\n    extends: b\n  b:\n    user: u\n",
	    4, "services.a", "image is required");
	json_object_set_new(h_files, "self.yml", json_string(
	    "services:\n  a:\n    extends:\n      file: self.yml\n"
	    "      service: a\n"));
	ERR("stack: x\nservices:\n  a:\n    extends:\n      file: self.yml\n"
	    "      service: a\n", 0, "services.a.extends", "more than 8 files");
	ERR("stack: x\nservices:\n  a:\n    extends:\n      file: self.yml\n"
	    "      service: b\n", 0, "services", "no service \"b\" here");
	/* An error in the other file is at its line, in its name. */
	json_object_set_new(h_files, "bad.yml", json_string(
	    "services:\n  a:\n    image: x\n    instances: many\n"));
	st = parse("stack: x\nservices:\n  a:\n    extends:\n"
	    "      file: bad.yml\n      service: a\n");
	CHECK(st == NULL);
	CHECK(errs.n >= 1 && strcmp(errs.v[0].file, "bad.yml") == 0 &&
	    errs.v[0].line == 4);
	/* Named volumes of the other file's service: declared here. */
	json_object_set_new(h_files, "vol.yml", json_string(
	    "services:\n  a:\n    image: x\n    volumes: ['data:/d']\n"));
	ERR("stack: x\nservices:\n  a:\n    extends:\n      file: vol.yml\n"
	    "      service: a\n", 5, "services.a.extends",
	    "named volume \"data\" is not declared");
	st = parse("stack: x\nvolumes:\n  data:\n    external: true\n"
	    "services:\n  a:\n    extends:\n      file: vol.yml\n"
	    "      service: a\n");
	CHECK(st != NULL);
	json_decref(st);
	reset();
}

/* A service's and a volume's only_if / skip_if (Kontena's reader). */
static void
test_service_conditions(void)
{
	json_t *st;

	reset();
	st = parse("stack: x\nvariables:\n  debug:\n    type: boolean\n"
	    "    value: false\n  mode:\n    type: string\n    value: prod\n"
	    "  n:\n    type: integer\n    value: 3\n  word:\n"
	    "    type: string\n    value: 'false'\n"
	    "volumes:\n  dbg:\n    external: true\n    only_if: debug\n"
	    "services:\n"
	    "  a:\n    image: a\n    only_if: debug\n    volumes: ['dbg:/d']\n"
	    "    bogus: key\n"
	    "  b:\n    image: b\n    skip_if: debug\n"
	    "  c:\n    image: c\n    only_if: {mode: prod, n: 3}\n"
	    "  d:\n    image: d\n    only_if: {mode: dev}\n"
	    "  e:\n    image: e\n    only_if: [mode, n]\n"
	    "  f:\n    image: f\n    skip_if: [debug, mode]\n"
	    "  g:\n    image: g\n    only_if: word\n"
	    "  h:\n    image: h\n    only_if: undeclared\n"
	    "  i:\n    image: i\n    skip_if: undeclared\n"
	    "    only_if: mode\n");
	CHECK(st != NULL);
	CHECK(svc_named(st, "a") == NULL);
	CHECK(svc_named(st, "b") != NULL);
	CHECK(svc_named(st, "c") != NULL);
	CHECK(svc_named(st, "d") == NULL);
	CHECK(svc_named(st, "e") != NULL);
	CHECK(svc_named(st, "f") == NULL);
	CHECK(svc_named(st, "g") == NULL);
	CHECK(svc_named(st, "h") == NULL);
	CHECK(svc_named(st, "i") != NULL);
	CHECK_INT(json_array_size(json_object_get(st, "volumes")), 0);
	/* The left-out service's errors are warnings. */
	CHECK(has_warn("services.a.bogus", "left out by its only_if"));
	json_decref(st);
	ERR("stack: x\nvariables:\n  flag:\n    type: boolean\n    value: false\n"
	    "services:\n  a:\n    image: a\n    only_if: flag\n  b:\n"
	    "    image: b\n    links: [a]\n", 12, "services.b.links[0]",
	    "left out by its only_if/skip_if");
	ERR("stack: x\nservices:\n  a:\n    image: a\n    only_if: 5\n", 5,
	    "services.a.only_if", "a condition is a variable name");
	/* Kontena's stack-with-ifs.yml fixture. */
	json_object_set_new(h_files, "docker-compose_v2.yml", json_string(
	    "version: '2'\nservices:\n  wordpress:\n    image: wordpress:4.1\n"
	    "    ports:\n      - 80:80\n    depends_on:\n      - mysql\n"
	    "  mysql:\n    image: mysql:5.6\n    entrypoint: test\n"));
	{
		static const char ifs[] = "stack: user/stackname\n"
		    "version: 0.1.1\nvariables:\n  db:\n    type: enum\n"
		    "    required: true\n    options:\n      - value: mysql\n"
		    "        label: MySQL\n      - value: galera\n"
		    "        label: Galera cluster\n    from: prompt\n"
		    "  GALERA_NODES:\n    type: integer\n    min: 1\n"
		    "    from:\n      prompt: Number of Galera nodes\n"
		    "    only_if:\n      db: galera\n  no_wp:\n"
		    "    type: boolean\n    as: boolean\n    from:\n"
		    "      prompt: Skip wordpress?\nservices:\n  wordpress:\n"
		    "    skip_if: no_wp\n    extends:\n"
		    "      file: docker-compose_v2.yml\n      service: wordpress\n"
		    "    image: wordpress\n    stateful: true\n    deploy:\n"
		    "      strategy: ha\n  mysql:\n    only_if:\n"
		    "      db: mysql\n    extends:\n"
		    "      file: docker-compose_v2.yml\n      service: mysql\n"
		    "    image: mysql\n  galera:\n    only_if:\n"
		    "      db: galera\n    extends:\n"
		    "      file: docker-compose_v2.yml\n      service: mysql\n"
		    "    image: galera\n    instances: $GALERA_NODES\n";

		json_object_set_new(h_answers, "db", json_string("mysql"));
		json_object_set_new(h_answers, "no_wp", json_false());
		st = parse(ifs);
		CHECK(st != NULL);
		CHECK_INT(json_array_size(json_object_get(st, "services")), 2);
		CHECK_STR(svc_s(st, "wordpress", "image"), "wordpress");
		CHECK_STR(svc_s(st, "mysql", "image"), "mysql");
		CHECK(svc_named(st, "galera") == NULL);
		json_decref(st);
		json_object_set_new(h_answers, "no_wp", json_true());
		json_object_set_new(h_answers, "db", json_string("galera"));
		json_object_set_new(h_answers, "GALERA_NODES", json_integer(3));
		st = parse(ifs);
		CHECK(st != NULL);
		CHECK_INT(json_array_size(json_object_get(st, "services")), 1);
		CHECK_INT(json_integer_value(json_object_get(svc_named(st,
		    "galera"), "instances")), 3);
		CHECK_STR(json_string_value(json_array_get(json_object_get(
		    svc_named(st, "galera"), "entrypoint"), 0)), "test");
		json_decref(st);
		/* wordpress links mysql, left out: Kontena's master refused
		   the missing link too. */
		json_object_set_new(h_answers, "no_wp", json_false());
		ERR(ifs, 0, "services.wordpress.extends",
		    "left out by its only_if/skip_if");
	}
	/* A left-out parent still gives what it has. */
	st = parse("stack: x\nservices:\n  base:\n    image: b\n"
	    "    only_if: nothing\n  app:\n    extends: base\n");
	CHECK(st != NULL);
	CHECK_INT(json_array_size(json_object_get(st, "services")), 1);
	CHECK_STR(svc_s(st, "app", "image"), "b");
	json_decref(st);
	reset();
}


/* depends: child stacks, their names, values and links. */
static void
test_depends(void)
{
	json_t *st, *ch, *vals, *prev, *gch;

	reset();
	json_object_set_new(h_files, "db/db.yml", json_string(
	    "stack: me/db\nvariables:\n  size:\n    type: integer\n"
	    "    default: 1\n  pw:\n    type: string\n    from:\n"
	    "      random_string: 8\n"
	    "depends:\n  backup:\n    stack: backup.yml\n"
	    "services:\n  postgres:\n    image: postgres\n"
	    "    instances: ${size}\n    environment:\n"
	    "      - PARENT=${PARENT_STACK}\n      - PW=${pw}\n"
	    "    links: ['${PARENT_STACK}/web']\n"));
	json_object_set_new(h_files, "db/backup.yml", json_string(
	    "stack: me/backup\nservices:\n  cron:\n    image: busybox\n"
	    "    links: ['${PARENT_STACK}/postgres']\n"));
	st = parse("stack: me/app\ndepends:\n  db:\n    stack: db/db.yml\n"
	    "    variables:\n      size: 3\nservices:\n  web:\n    image: web\n"
	    "    environment:\n      - DB=${db}\n"
	    "    links: ['${db}/postgres:pg']\n");
	CHECK(st != NULL);
	CHECK_STR(env_of(st, 0, "DB"), "app-db");
	CHECK(json_is_null(json_object_get(st, "parent")));
	ch = json_array_get(json_object_get(st, "children"), 0);
	CHECK_STR(json_string_value(json_object_get(ch, "name")), "app-db");
	CHECK_STR(json_string_value(json_object_get(ch, "parent")), "app");
	CHECK_STR(json_string_value(json_object_get(ch, "file")), "db/db.yml");
	CHECK(strncmp(json_string_value(json_object_get(ch, "source")),
	    "stack: me/db\n", 13) == 0);
	CHECK_INT(json_integer_value(json_object_get(svc(ch, 0), "instances")),
	    3);
	CHECK_STR(env_of(ch, 0, "PARENT"), "app");
	gch = json_array_get(json_object_get(ch, "children"), 0);
	CHECK_STR(json_string_value(json_object_get(gch, "name")),
	    "app-db-backup");
	CHECK_STR(json_string_value(json_object_get(gch, "file")), "backup.yml");
	json_decref(st);

	/* -v db.size=5 over the file's; an upgrade keeps the generated pw. */
	vals = json_pack("{s:i}", "db.size", 5);
	prev = json_pack("{s:s}", "db.pw", "kept-pw!");
	st = parse_with("stack: me/app\ndepends:\n  db:\n    stack: db/db.yml\n"
	    "    variables:\n      size: 3\nservices:\n  web:\n    image: web\n",
	    vals, prev);
	CHECK(st != NULL);
	CHECK(json_array_size(res.warnings) == 0);
	ch = json_array_get(json_object_get(st, "children"), 0);
	CHECK_INT(json_integer_value(json_object_get(svc(ch, 0), "instances")),
	    5);
	CHECK_STR(env_of(ch, 0, "PW"), "kept-pw!");
	json_decref(st);
	json_decref(vals);
	json_decref(prev);

	ERR("stack: me/app\ndepends:\n  db:\n    stack: kontena/postgres\n"
	    "services:\n  web:\n    image: web\n", 4, "depends.db",
	    "stack registry (kontena/postgres)");
	ERR("stack: me/app\ndepends:\n  db:\n    stack: https://x/y.yml\n"
	    "services:\n  web:\n    image: web\n", 4, "depends.db", "URL");
	ERR("stack: me/app\ndepends:\n  db:\n    file: db.yml\n"
	    "services:\n  web:\n    image: web\n", 4, "depends.db.file",
	    "unknown key");
	ERR("stack: me/app\ndepends:\n  Db:\n    stack: db/db.yml\n"
	    "services:\n  web:\n    image: web\n", 3, "depends.Db",
	    "\"app-Db\", not a valid stack name");
	ERR("stack: me/app\ndepends:\n  db:\n    stack: none.yml\n"
	    "services:\n  web:\n    image: web\n", 4, "depends.db",
	    "cannot read \"none.yml\"");
	ERR("stack: me/app\nvariables:\n  db:\n    type: string\n"
	    "depends:\n  db:\n    stack: db/db.yml\n"
	    "services:\n  web:\n    image: web\n", 3, "variables.db",
	    "set automatically");
	ERR("stack: me/app\nservices:\n  web:\n    image: web\n"
	    "    links: ['app-db/postgres']\n", 5, "services.web.links[0]",
	    "no stack app-db");
	json_object_set_new(h_files, "loop.yml", json_string(
	    "stack: me/loop\ndepends:\n  again:\n    stack: loop.yml\n"
	    "services:\n  a:\n    image: a\n"));
	ERR("stack: me/app\ndepends:\n  l:\n    stack: loop.yml\n"
	    "services:\n  web:\n    image: web\n", 0, "depends.again",
	    "more than 8 files");
	/* The child's errors are at its lines, in its file. */
	json_object_set_new(h_files, "bad.yml", json_string(
	    "stack: me/bad\nservices:\n  a:\n    image: a\n    instances: x\n"));
	st = parse("stack: me/app\ndepends:\n  b:\n    stack: bad.yml\n"
	    "services:\n  web:\n    image: web\n");
	CHECK(st == NULL);
	CHECK(errs.n == 1 && strcmp(errs.v[0].file, "bad.yml") == 0 &&
	    errs.v[0].line == 5);
	reset();
}

static void
test_tolerated(void)
{
	json_t *st, *w;
	size_t i;
	int unknown = 0, nets = 0;

	reset();
	st = parse("stack: me/app\nversion: 1.0\nmeta:\n  maintainer: me\n"
	    "labels: [tier=web]\nnetworks: {}\ncolour: blue\n" SVC);
	CHECK(st != NULL);
	if (st == NULL)
		return;
	CHECK_STR(json_string_value(json_object_get(st, "version")), "1.0");
	CHECK_STR(json_string_value(json_object_get(json_object_get(st,
	    "meta"), "maintainer")), "me");
	CHECK_STR(json_string_value(json_array_get(json_object_get(st,
	    "labels"), 0)), "tier=web");
	json_array_foreach(res.warnings, i, w) {
		unknown |= strstr(json_string_value(json_object_get(w,
		    "message")), "unknown top-level key \"colour\"") != NULL;
		nets |= strstr(json_string_value(json_object_get(w, "message")),
		    "networks ignored") != NULL;
	}
	CHECK(unknown && nets);
	json_decref(st);
	ERR("stack: me/app\nlabels: [Tier=web]\n" SVC, 2, "labels[0]",
	    "is not a label");

	/* Kontena's service names; build beside image; entrypoint. */
	st = parse("stack: me/app\nservices:\n  My_Web:\n    image: nginx\n"
	    "    build: .\n    entrypoint: /bin/sh -c\n");
	CHECK(st != NULL);
	if (st == NULL)
		return;
	CHECK_STR(json_string_value(json_object_get(svc(st, 0), "name")),
	    "My_Web");
	CHECK_STR(json_string_value(json_object_get(svc(st, 0), "dns_name")),
	    "my-web");
	/* a string entrypoint is one argument, as Kontena passed it */
	CHECK(json_array_size(json_object_get(svc(st, 0), "entrypoint")) == 1);
	CHECK_STR(json_string_value(json_array_get(json_object_get(svc(st, 0),
	    "entrypoint"), 0)), "/bin/sh -c");
	CHECK(json_array_size(res.warnings) == 1);
	CHECK_HAS(json_string_value(json_object_get(json_array_get(
	    res.warnings, 0), "message")), "build ignored");
	json_decref(st);
}

/*
 * A YAML 1.1 float longer than any buffer (the fuzzer's find: 87 digits
 * and a dot overran an 80-byte one): still a float, and its value.
 */
static void
test_yaml11_long_float(void)
{
	char s[300];
	long long i;
	double d = 0;
	int b;

	memset(s, '8', 250);
	strcpy(s + 250, ".5e+1");
	CHECK_INT(stack_yaml11(s, &i, &d, &b), Y11_FLOAT);
	CHECK(d > 8.8e250 && d < 8.9e250);
	memset(s, '8', 87);
	strcpy(s + 87, ".");
	CHECK_INT(stack_yaml11(s, &i, &d, &b), Y11_FLOAT);
	CHECK(d > 8.8e86 && d < 8.9e86);
}

int
main(void)
{
	TEST_RUN(test_liquid_in_stacks);
	TEST_RUN(test_yaml11_long_float);
	TEST_RUN(test_env_and_files);
	TEST_RUN(test_computed);
	TEST_RUN(test_generated);
	TEST_RUN(test_options);
	TEST_RUN(test_conditions);
	TEST_RUN(test_asking);
	TEST_RUN(test_vault_variables);
	TEST_RUN(test_yaml11_and_merge);
	TEST_RUN(test_tolerated);
	TEST_RUN(test_extends);
	TEST_RUN(test_service_conditions);
	TEST_RUN(test_depends);
	reset();
	json_decref(h_env);
	json_decref(h_files);
	json_decref(h_secrets);
	json_decref(h_answers);
	return TEST_DONE();
}
