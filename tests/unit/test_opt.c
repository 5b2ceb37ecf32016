/*
 * test_opt.c - unit tests of the option engine (common/opt.c), of the two
 * daemons' tables that run on it, and of the close-code policy table
 * (common/proto.c).
 *
 * The engine is driven through a small table of its own (every type, an
 * alias, a secret, a custom row and a check) with a fake environment: flags
 * beat the environment, the first env name set wins, bounds and types are
 * refused with a message naming the source and the value, unknown flags
 * are refused, --help lists every row and never a secret. The daemons'
 * tables are held to their --help and their docs (README.md for the master,
 * docs/agent.md for the agent). The close-code table is held to the enum in
 * common/proto.h and to the tables in docs/protocol.md and docs/agent.md,
 * read from the source tree.
 */
#include <ctype.h>
#include <libgen.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/config.h"
#include "common/opt.h"
#include "common/proto.h"
#include "common/version.h"
#include "common/xmalloc.h"
#include "master/config.h"
#include "test.h"

/* ---- a table of every kind ------------------------------------------------ */

struct tcfg {
	char	*name;		/* OPT_STRING, default "anon" */
	char	*dir;		/* OPT_PATH, no default */
	int	 n;		/* OPT_INT 1..10, default 3 */
	int	 on;		/* OPT_BOOL */
	char	*level;		/* OPT_ENUM, default "info" */
	int	 pin;		/* OPT_INT, secret */
	char	*token;		/* OPT_STRING, secret, default */
	int	 ncustom;	/* OPT_CUSTOM: the value's length */
	char	 name_from[64];	/* what the check of name was told */
};

static int
t_set_custom(void *v, const char *from, const char *value, char **cause)
{
	struct tcfg *c = v;

	if (strchr(value, '!') != NULL) {
		xasprintf(cause, "%s: no '!' please", from);
		return -1;
	}
	c->ncustom = (int)strlen(value);
	return 0;
}

static int
t_check_name(void *v, const char *from, char **cause)
{
	struct tcfg *c = v;

	snprintf(c->name_from, sizeof c->name_from, "%s", from);
	if (strcmp(c->name, "bad") == 0) {
		xasprintf(cause, "%s: bad name", from);
		return -1;
	}
	return 0;
}

#define TOFF(f) offsetof(struct tcfg, f)

static const struct opt t_opts[] = {
	{ .flag = "name", .env = { "T_NAME", "OLD_NAME", "OLDER_NAME" },
	  .type = OPT_STRING, .def = "anon", .offset = TOFF(name),
	  .check = t_check_name, .help = "who we are" },
	{ .flag = "dir", .env = { "T_DIR" }, .type = OPT_PATH,
	  .def_help = "somewhere computed", .offset = TOFF(dir),
	  .help = "where things go" },
	{ .flag = "n", .env = { "T_N" }, .type = OPT_INT, .min = 1, .max = 10,
	  .unit = "s", .def = "3", .offset = TOFF(n), .help = "how many" },
	{ .flag = "on", .env = { "T_ON" }, .type = OPT_BOOL,
	  .offset = TOFF(on), .help = "switch it on" },
	{ .flag = "level", .env = { "T_LEVEL" }, .type = OPT_ENUM,
	  .choices = "error|warn|info|debug", .def = "info",
	  .offset = TOFF(level), .help = "how loud" },
	{ .flag = "pin", .env = { "T_PIN" }, .type = OPT_INT, .min = 0,
	  .max = 9999, .flags = OPT_SECRET, .offset = TOFF(pin),
	  .help = "the secret number" },
	{ .flag = "token", .env = { "T_TOKEN", "OLD_TOKEN" },
	  .type = OPT_STRING, .def = "s3cret-default", .flags = OPT_SECRET,
	  .offset = TOFF(token), .help = "the secret word" },
	{ .flag = "custom", .env = { "T_CUSTOM" }, .type = OPT_CUSTOM,
	  .offset = TOFF(ncustom), .set = t_set_custom,
	  .help = "parsed by its row" },
};

static const struct opt_extra t_extra[] = {
	{ "--print-things", "handled by the caller" },
	{ NULL, NULL },
};

static struct opt_table t_table = {
	.prog = "berth-test",
	.about = "A table of every kind.",
	.opts = t_opts,
	.nopts = sizeof t_opts / sizeof t_opts[0],
	.extra = t_extra,
	.footer = "The footer.\n",
	.flags = 0,
};

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

/* Parse argv (NULL-terminated, without the program) under env. */
static int
t_parse(const struct opt_table *t, void *cfg, const char **env,
    char **args, char **cause)
{
	char *argv[32];
	int argc = 0;
	FILE *out = fopen("/dev/null", "w");
	int rc;

	argv[argc++] = "prog";
	while (args != NULL && *args != NULL && argc < 31)
		argv[argc++] = *args++;
	argv[argc] = NULL;
	*cause = NULL;
	rc = opt_parse(t, cfg, argc, argv, fake_getenv, env, out, cause);
	fclose(out);
	return rc;
}

static void
t_free(struct tcfg *c)
{
	opt_free(&t_table, c);
	memset(c, 0, sizeof *c);
}

/* The --help of a table, as a string the caller frees. */
static char *
help_of(const struct opt_table *t)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	opt_usage(t, f);
	fclose(f);
	return buf;
}

static void
test_opt_defaults(void)
{
	const char *env[] = { NULL };
	struct tcfg c = { 0 };
	char *cause;

	CHECK_INT(t_parse(&t_table, &c, env, NULL, &cause), 0);
	CHECK_STR(c.name, "anon");
	CHECK(c.dir == NULL);
	CHECK_INT(c.n, 3);
	CHECK_INT(c.on, 0);
	CHECK_STR(c.level, "info");
	CHECK_STR(c.token, "s3cret-default");
	CHECK_STR(c.name_from, "T_NAME");	/* a default names the env */
	t_free(&c);
}

static void
test_opt_flags_beat_env(void)
{
	const char *env[] = { "T_N", "5", "T_NAME", "from-env", "T_ON", "1",
	    NULL };
	char *a1[] = { "--n", "7", "--name=from-flag", NULL };
	char *a2[] = { "--n=2", "--n", "9", "--on=no", NULL };
	struct tcfg c = { 0 };
	char *cause;

	CHECK_INT(t_parse(&t_table, &c, env, NULL, &cause), 0);
	CHECK_INT(c.n, 5);
	CHECK_STR(c.name, "from-env");
	CHECK_INT(c.on, 1);
	CHECK_STR(c.name_from, "T_NAME");
	t_free(&c);
	CHECK_INT(t_parse(&t_table, &c, env, a1, &cause), 0);
	CHECK_INT(c.n, 7);
	CHECK_STR(c.name, "from-flag");
	CHECK_STR(c.name_from, "--name");
	t_free(&c);
	/* The last flag wins; a bool flag takes =value. */
	CHECK_INT(t_parse(&t_table, &c, env, a2, &cause), 0);
	CHECK_INT(c.n, 9);
	CHECK_INT(c.on, 0);
	t_free(&c);
}

static void
test_opt_aliases(void)
{
	const char *e1[] = { "OLDER_NAME", "older", NULL };
	const char *e2[] = { "OLDER_NAME", "older", "OLD_NAME", "old", NULL };
	const char *e3[] = { "OLD_NAME", "old", "T_NAME", "new", NULL };
	const char *e4[] = { "OLD_NAME", "bad", NULL };
	struct tcfg c = { 0 };
	char *cause;

	CHECK_INT(t_parse(&t_table, &c, e1, NULL, &cause), 0);
	CHECK_STR(c.name, "older");
	CHECK_STR(c.name_from, "OLDER_NAME");
	t_free(&c);
	CHECK_INT(t_parse(&t_table, &c, e2, NULL, &cause), 0);
	CHECK_STR(c.name, "old");
	t_free(&c);
	CHECK_INT(t_parse(&t_table, &c, e3, NULL, &cause), 0);
	CHECK_STR(c.name, "new");
	t_free(&c);
	/* An error names the alias the operator actually set. */
	CHECK_INT(t_parse(&t_table, &c, e4, NULL, &cause), -1);
	CHECK_STR(cause, "OLD_NAME: bad name");
	free(cause);
	t_free(&c);
}

static void
test_opt_bounds(void)
{
	const char *bad[] = { "0", "11", "abc", "3x", "", "-1",
	    "99999999999999999999", NULL };
	const char *env[] = { "T_N", NULL, NULL };
	char *args[] = { "--n", NULL, NULL };
	char want[128];
	struct tcfg c = { 0 };
	char *cause;
	size_t i;

	for (i = 0; bad[i] != NULL; i++) {
		env[1] = bad[i];
		CHECK_INT(t_parse(&t_table, &c, env, NULL, &cause), -1);
		snprintf(want, sizeof want, "T_N: \"%s\" is not a whole number "
		    "(1..10)", bad[i]);
		CHECK_STR(cause, want);
		free(cause);
		t_free(&c);
	}
	{
		const char *none[] = { NULL };

		args[1] = "abc";
		CHECK_INT(t_parse(&t_table, &c, none, args, &cause), -1);
		CHECK_STR(cause, "--n: \"abc\" is not a whole number (1..10)");
		free(cause);
		t_free(&c);
		args[1] = "1";
		CHECK_INT(t_parse(&t_table, &c, none, args, &cause), 0);
		CHECK_INT(c.n, 1);
		t_free(&c);
		args[1] = "10";
		CHECK_INT(t_parse(&t_table, &c, none, args, &cause), 0);
		CHECK_INT(c.n, 10);
		t_free(&c);
	}
}

static void
test_opt_types(void)
{
	const char *e1[] = { "T_ON", "maybe", NULL };
	const char *e2[] = { "T_LEVEL", "DEBUG", NULL };
	const char *e3[] = { "T_LEVEL", "loud", NULL };
	const char *e4[] = { "T_ON", "true", "T_CUSTOM", "abcd", NULL };
	const char *e5[] = { "T_CUSTOM", "a!", NULL };
	const char *e6[] = { "T_NAME", "a\"b\n", "T_N", "x\ty", NULL };
	char *bare[] = { "--on", NULL };
	struct tcfg c = { 0 };
	char *cause;

	CHECK_INT(t_parse(&t_table, &c, e1, NULL, &cause), -1);
	CHECK_STR(cause, "T_ON: \"maybe\" is not 1/0, true/false or yes/no");
	free(cause);
	t_free(&c);
	CHECK_INT(t_parse(&t_table, &c, e1, bare, &cause), -1); /* env first */
	free(cause);
	t_free(&c);
	CHECK_INT(t_parse(&t_table, &c, (const char *[]){ NULL }, bare, &cause),
	    0);
	CHECK_INT(c.on, 1);
	t_free(&c);
	/* A choice matches in any case and is stored as the table spells it. */
	CHECK_INT(t_parse(&t_table, &c, e2, NULL, &cause), 0);
	CHECK_STR(c.level, "debug");
	t_free(&c);
	CHECK_INT(t_parse(&t_table, &c, e3, NULL, &cause), -1);
	CHECK_STR(cause, "T_LEVEL: \"loud\" is not error, warn, info or debug");
	free(cause);
	t_free(&c);
	CHECK_INT(t_parse(&t_table, &c, e4, NULL, &cause), 0);
	CHECK_INT(c.on, 1);
	CHECK_INT(c.ncustom, 4);
	t_free(&c);
	CHECK_INT(t_parse(&t_table, &c, e5, NULL, &cause), -1);
	CHECK_STR(cause, "T_CUSTOM: no '!' please");
	free(cause);
	t_free(&c);
	/* A quoted value is escaped: one line, no bare quote. */
	CHECK_INT(t_parse(&t_table, &c, e6, NULL, &cause), -1);
	CHECK_STR(cause, "T_N: \"x\\x09y\" is not a whole number (1..10)");
	free(cause);
	t_free(&c);
}

static void
test_opt_unknown_flag(void)
{
	const char *env[] = { NULL };
	char *a1[] = { "--nope", NULL };
	char *a2[] = { "--nope=1", NULL };
	char *a3[] = { "-x", NULL };
	char *a4[] = { "stray", NULL };
	char *a5[] = { "--n", NULL };
	char *a6[] = { "--", "stray", NULL };
	char *a7[] = { "--na", "x", NULL };	/* no prefix matching */
	char *a8[] = { "--", NULL };
	struct tcfg c = { 0 };
	char *cause;

	CHECK_INT(t_parse(&t_table, &c, env, a1, &cause), -1);
	CHECK_STR(cause, "unknown option --nope (see --help)");
	free(cause);
	t_free(&c);
	CHECK_INT(t_parse(&t_table, &c, env, a2, &cause), -1);
	CHECK_STR(cause, "unknown option --nope (see --help)");
	free(cause);
	t_free(&c);
	CHECK_INT(t_parse(&t_table, &c, env, a3, &cause), -1);
	CHECK_STR(cause, "unknown option \"-x\" (see --help)");
	free(cause);
	t_free(&c);
	CHECK_INT(t_parse(&t_table, &c, env, a4, &cause), -1);
	CHECK_STR(cause, "unexpected argument \"stray\" (see --help)");
	free(cause);
	t_free(&c);
	CHECK_INT(t_parse(&t_table, &c, env, a5, &cause), -1);
	CHECK_STR(cause, "--n needs a value");
	free(cause);
	t_free(&c);
	CHECK_INT(t_parse(&t_table, &c, env, a6, &cause), -1);
	CHECK_STR(cause, "unexpected argument \"stray\" (see --help)");
	free(cause);
	t_free(&c);
	CHECK_INT(t_parse(&t_table, &c, env, a7, &cause), -1);
	CHECK_STR(cause, "unknown option --na (see --help)");
	free(cause);
	t_free(&c);
	CHECK_INT(t_parse(&t_table, &c, env, a8, &cause), 0);
	t_free(&c);
}

/* Empty values: a value (the agent), or unset / refused (the master). */
static void
test_opt_empty_values(void)
{
	const char *e1[] = { "T_NAME", "", "T_N", "", NULL };
	const char *e2[] = { "T_NAME", "", "OLD_NAME", "old", NULL };
	char *a1[] = { "--name=", NULL };
	struct opt_table unset = t_table;
	struct tcfg c = { 0 };
	char *cause;

	unset.flags = OPT_EMPTY_IS_UNSET;
	CHECK_INT(t_parse(&t_table, &c, e1, NULL, &cause), -1);
	CHECK_STR(cause, "T_N: \"\" is not a whole number (1..10)");
	free(cause);
	t_free(&c);
	CHECK_INT(t_parse(&t_table, &c, e2, NULL, &cause), 0);
	CHECK_STR(c.name, "");			/* the first set wins */
	t_free(&c);
	CHECK_INT(t_parse(&t_table, &c, (const char *[]){ NULL }, a1, &cause),
	    0);
	CHECK_STR(c.name, "");
	t_free(&c);

	CHECK_INT(t_parse(&unset, &c, e1, NULL, &cause), 0);
	CHECK_STR(c.name, "anon");
	CHECK_INT(c.n, 3);
	t_free(&c);
	CHECK_INT(t_parse(&unset, &c, e2, NULL, &cause), 0);
	CHECK_STR(c.name, "old");		/* empty: the next name */
	t_free(&c);
	CHECK_INT(t_parse(&unset, &c, (const char *[]){ NULL }, a1, &cause),
	    -1);
	CHECK_STR(cause, "--name: empty value");
	free(cause);
	t_free(&c);
}

/* --help and --version answer even when the environment is bad. */
static void
test_opt_help_and_version(void)
{
	const char *bad[] = { "T_N", "abc", NULL };
	char *a1[] = { "--help", NULL };
	char *a2[] = { "-h", NULL };
	char *a3[] = { "--version", NULL };
	char *a4[] = { "--nope", "--help", NULL };
	char *argv[] = { "prog", "--version", NULL };
	struct tcfg c = { 0 };
	char *cause, *buf = NULL;
	size_t len = 0;
	FILE *f;

	CHECK_INT(t_parse(&t_table, &c, bad, a1, &cause), 1);
	t_free(&c);
	CHECK_INT(t_parse(&t_table, &c, bad, a2, &cause), 1);
	t_free(&c);
	CHECK_INT(t_parse(&t_table, &c, bad, a3, &cause), 1);
	t_free(&c);
	CHECK_INT(t_parse(&t_table, &c, bad, a4, &cause), -1);
	free(cause);
	t_free(&c);
	f = open_memstream(&buf, &len);
	CHECK_INT(opt_parse(&t_table, &c, 2, argv, fake_getenv, bad, f,
	    &cause), 1);
	fclose(f);
	CHECK_STR(buf, "berth-test " BERTH_VERSION "\n");
	free(buf);
	t_free(&c);
}

/* Every row's flag, env names, help and (non-secret) default in --help. */
static void
check_help_lists_rows(const struct opt_table *t)
{
	char *help = help_of(t), flag[80];
	const struct opt *o;
	size_t i, j;

	CHECK_HAS(help, t->prog);
	CHECK_HAS(help, "--help");
	CHECK_HAS(help, "--version");
	for (i = 0; i < t->nopts; i++) {
		o = &t->opts[i];
		snprintf(flag, sizeof flag, "--%s ", o->flag);
		CHECK_HAS(help, flag);
		for (j = 0; j < OPT_ENV_MAX && o->env[j] != NULL; j++)
			CHECK_HAS(help, o->env[j]);
		CHECK_HAS(help, o->help);
		if (o->def != NULL && *o->def != '\0' &&
		    !(o->flags & OPT_SECRET) && o->type != OPT_BOOL)
			CHECK_HAS(help, o->def);
		if (o->def_help != NULL && !(o->flags & OPT_SECRET))
			CHECK_HAS(help, o->def_help);
		if (o->type == OPT_INT) {
			snprintf(flag, sizeof flag, "%d..%d", o->min, o->max);
			CHECK_HAS(help, flag);
		}
	}
	for (i = 0; t->extra != NULL && t->extra[i].left != NULL; i++)
		CHECK_HAS(help, t->extra[i].left);
	free(help);
}

static void
test_opt_help_lists_every_row(void)
{
	char *help;

	check_help_lists_rows(&t_table);
	check_help_lists_rows(&master_config_table);
	check_help_lists_rows(&agent_config_table);
	help = help_of(&t_table);
	CHECK_HAS(help, "The footer.");
	CHECK_HAS(help, "somewhere computed");
	CHECK_HAS(help, "OLD_NAME, OLDER_NAME");
	free(help);
	/* What tls.sh and the TLS docs rely on. */
	help = help_of(&master_config_table);
	CHECK_HAS(help, "BERTH_MASTER_PIN");
	CHECK_HAS(help, "--print-routes");
	free(help);
}

static void
test_opt_secrets_not_echoed(void)
{
	const char *e1[] = { "T_PIN", "hunter2", NULL };
	const char *e2[] = { "BERTH_URL", "ws://m", "BERTH_TOKEN",
	    "sekrit value", NULL };
	char *a1[] = { "--pin=hunter2", NULL };
	struct agent_config ac;
	struct tcfg c = { 0 };
	char *help, *cause;

	help = help_of(&t_table);
	CHECK(strstr(help, "s3cret-default") == NULL);
	CHECK_HAS(help, "secret");
	free(help);
	CHECK_INT(t_parse(&t_table, &c, e1, NULL, &cause), -1);
	CHECK_STR(cause, "T_PIN: [hidden] is not a whole number (0..9999)");
	free(cause);
	t_free(&c);
	CHECK_INT(t_parse(&t_table, &c, (const char *[]){ NULL }, a1, &cause),
	    -1);
	CHECK(cause != NULL && strstr(cause, "hunter2") == NULL);
	CHECK_HAS(cause, "--pin: [hidden]");
	free(cause);
	t_free(&c);
	/* The agent's grid token. */
	CHECK(opt_find(&agent_config_table, "token")->flags & OPT_SECRET);
	cause = NULL;
	CHECK_INT(agent_config_load(&ac, 1, (char *[]){ "berth-agent", NULL },
	    fake_getenv, e2, stdout, &cause), -1);
	CHECK_STR(cause, "BERTH_TOKEN: contains whitespace");
	free(cause);
	agent_config_free(&ac);
}

/* The master's table through config_load(): defaults, sources, messages. */
static void
test_opt_master_table(void)
{
	const char *none[] = { NULL };
	const char *e1[] = { "BERTH_TICK_MS", "5", NULL };
	const char *e2[] = { "BERTH_API_LISTEN", "", "BERTH_TICK_MS", "250",
	    "BERTH_INSECURE_PLAIN", "yes", "BERTH_LOG_LEVEL", "DEBUG", NULL };
	char *a1[] = { "m", "--tick-ms", "abc", NULL };
	char *a2[] = { "m", "--tick-ms=20", "--tls-self-signed",
	    "--data-dir", "/d", NULL };
	char *a3[] = { "m", "--api-listen", "", NULL };
	struct master_config mc;
	char *cause = NULL;

	CHECK_INT(config_load(&mc, 1, a1, fake_getenv, (void *)none, stdout,
	    &cause), 0);
	CHECK_STR(mc.data_dir, "./data");
	CHECK_STR(mc.api_listen, "0.0.0.0:9292");
	CHECK_STR(mc.agent_listen, "0.0.0.0:9293");
	CHECK_STR(mc.log_level, "info");
	CHECK(mc.public_url == NULL && mc.agent_url == NULL &&
	    mc.agent_binary == NULL && mc.tls_cert == NULL &&
	    mc.tls_key == NULL && mc.tls_san == NULL);
	CHECK_INT(mc.tick_ms, 1000);
	CHECK_INT(mc.deploy_timeout_s, 600);
	CHECK_INT(mc.api_threads, 4);
	CHECK_INT(mc.tls_self_signed, 0);
	CHECK_INT(mc.insecure_plain, 0);
	config_free(&mc);
	CHECK_INT(config_load(&mc, 3, a1, fake_getenv, (void *)none, stdout,
	    &cause), -1);
	CHECK_STR(cause, "--tick-ms: \"abc\" is not a whole number (10..60000)");
	free(cause);
	config_free(&mc);
	CHECK_INT(config_load(&mc, 1, a1, fake_getenv, (void *)e1, stdout,
	    &cause), -1);
	CHECK_STR(cause, "BERTH_TICK_MS: \"5\" is not a whole number "
	    "(10..60000)");
	free(cause);
	config_free(&mc);
	/* An empty variable is unset for the master; the flag still wins. */
	CHECK_INT(config_load(&mc, 5, a2, fake_getenv, (void *)e2, stdout,
	    &cause), 0);
	CHECK_STR(mc.api_listen, "0.0.0.0:9292");
	CHECK_INT(mc.tick_ms, 20);
	CHECK_INT(mc.tls_self_signed, 1);
	CHECK_INT(mc.insecure_plain, 1);
	CHECK_STR(mc.data_dir, "/d");
	CHECK_STR(mc.log_level, "debug");
	config_free(&mc);
	CHECK_INT(config_load(&mc, 3, a3, fake_getenv, (void *)none, stdout,
	    &cause), -1);
	CHECK_STR(cause, "--api-listen: empty value");
	free(cause);
	config_free(&mc);
}

/* ---- files of the source tree ------------------------------------------- */

/* Like CHECK_HAS, but a failure shows only what is missing, not the doc. */
#define CHECK_IN_DOC(doc, rel, want) do {				\
	if (strstr((doc), (want)) == NULL) {				\
		printf("  FAIL %s:%d: %s lacks \"%s\"\n", __FILE__,	\
		    __LINE__, (rel), (want));				\
		test_failed_now = 1;					\
	}								\
} while (0)

/*
 * The contents of a file of the source tree: from the current directory
 * (tests/run.sh runs from the top), else from beside build/unit/. NULL if
 * neither has it.
 */
static char *
src_file(const char *rel)
{
	char exe[PATH_MAX], path[PATH_MAX * 2], *buf = NULL, *dir;
	ssize_t n;
	size_t len = 0;
	FILE *f;

	f = fopen(rel, "r");
	if (f == NULL) {
		n = readlink("/proc/self/exe", exe, sizeof exe - 1);
		if (n <= 0)
			return NULL;
		exe[n] = '\0';
		dir = dirname(dirname(dirname(exe)));	/* build/unit/x */
		snprintf(path, sizeof path, "%s/%s", dir, rel);
		if ((f = fopen(path, "r")) == NULL)
			return NULL;
	}
	buf = xmalloc(1 << 20);
	len = fread(buf, 1, (1 << 20) - 1, f);
	buf[len] = '\0';
	fclose(f);
	return buf;
}

/* Each row's flag and env names in a doc's option table (`--x`, `ENV`). */
static void
check_doc_lists_rows(const struct opt_table *t, const char *rel)
{
	char *doc = src_file(rel), want[96];
	const struct opt *o;
	size_t i, j;

	CHECK(doc != NULL);
	if (doc == NULL) {
		printf("  cannot read %s\n", rel);
		return;
	}
	for (i = 0; i < t->nopts; i++) {
		o = &t->opts[i];
		snprintf(want, sizeof want, "`--%s`", o->flag);
		CHECK_IN_DOC(doc, rel, want);
		for (j = 0; j < OPT_ENV_MAX && o->env[j] != NULL; j++) {
			snprintf(want, sizeof want, "`%s", o->env[j]);
			CHECK_IN_DOC(doc, rel, want);
		}
	}
	free(doc);
}

static void
test_opt_docs_list_every_row(void)
{
	check_doc_lists_rows(&master_config_table, "README.md");
	check_doc_lists_rows(&agent_config_table, "docs/agent.md");
}

/* ---- the close-code policy ------------------------------------------------ */

/* Every PROTO_CLOSE_X = N of proto.h's enum has the row N named "x". */
static void
test_proto_close_covers_enum(void)
{
	char *h = src_file("common/proto.h"), *p, *end, name[64];
	const struct proto_close_rule *r;
	size_t n = 0, i, k;
	int code;

	CHECK(h != NULL);
	if (h == NULL)
		return;
	p = strstr(h, "enum proto_close {");
	end = p != NULL ? strstr(p, "};") : NULL;
	CHECK(p != NULL && end != NULL);
	while (p != NULL && end != NULL &&
	    (p = strstr(p, "PROTO_CLOSE_")) != NULL && p < end) {
		p += strlen("PROTO_CLOSE_");
		for (k = 0; k < sizeof name - 1 && (isupper((unsigned char)*p) ||
		    *p == '_'); p++)
			name[k++] = (char)tolower((unsigned char)*p);
		name[k] = '\0';
		CHECK(sscanf(p, " = %d", &code) == 1);
		r = proto_close_rule(code);
		CHECK(r != NULL);
		if (r != NULL)
			CHECK_STR(r->name, name);
		n++;
	}
	CHECK(n >= 12);
	CHECK_INT(n, proto_close_nrules);	/* no row without its code */
	for (i = 0; i < proto_close_nrules; i++) {
		CHECK(proto_close_rule(proto_close_rules[i].code) ==
		    &proto_close_rules[i]);	/* codes are unique */
		CHECK(*proto_close_rules[i].meaning != '\0');
	}
	/* A code outside the protocol: the network's doing, plain backoff. */
	CHECK_INT(proto_close_action(1000), PROTO_CLOSE_DO_BACKOFF);
	CHECK_INT(proto_close_action(1006), PROTO_CLOSE_DO_BACKOFF);
	CHECK_INT(proto_close_action(4999), PROTO_CLOSE_DO_BACKOFF);
	CHECK(proto_close_rule(4999) == NULL);
	free(h);
}

/* docs/protocol.md's table is the same rows, word for word. */
static void
test_proto_close_docs_protocol(void)
{
	char *doc = src_file("docs/protocol.md"), want[512];
	const struct proto_close_rule *r;
	char *p, *eol;
	size_t i, rows = 0;
	int code;

	CHECK(doc != NULL);
	if (doc == NULL)
		return;
	for (i = 0; i < proto_close_nrules; i++) {
		r = &proto_close_rules[i];
		snprintf(want, sizeof want, "\n| %d | %s | %s |\n", r->code,
		    r->meaning, proto_close_action_text(r->action));
		CHECK_IN_DOC(doc, "docs/protocol.md", want);
	}
	/* And no row in the doc that the table lacks. */
	for (p = doc; (p = strstr(p, "\n| ")) != NULL; p = eol) {
		p += 3;
		eol = strchr(p, '\n');
		if (eol == NULL)
			eol = p + strlen(p);
		if (sscanf(p, "%d |", &code) == 1 && code >= 1000 &&
		    code < 5000) {
			rows++;
			CHECK(proto_close_rule(code) != NULL);
		}
	}
	CHECK_INT(rows, proto_close_nrules);
	free(doc);
}

/* docs/agent.md groups the codes by what the agent does: the same groups. */
static void
test_proto_close_docs_agent(void)
{
	char *doc = src_file("docs/agent.md"), *p, *end, *cell, *q;
	enum proto_close_action act;
	size_t seen = 0;
	long code;

	CHECK(doc != NULL);
	if (doc == NULL)
		return;
	p = strstr(doc, "## Reconnects and close codes");
	CHECK(p != NULL);
	if (p == NULL || (end = strstr(p + 1, "\n## ")) == NULL)
		end = doc + strlen(doc);
	/* Rows "| 4002, 4003, ... | what the agent does |". */
	while (p != NULL && (p = strstr(p, "\n| ")) != NULL && p < end) {
		p += 3;
		if (!isdigit((unsigned char)*p) ||
		    (cell = strstr(p, " |")) == NULL)
			continue;
		if (memmem(cell, (size_t)(strchrnul(cell, '\n') - cell),
		    "new node", 8) != NULL)
			act = PROTO_CLOSE_DO_NEW_NODE;
		else if (memmem(cell, (size_t)(strchrnul(cell, '\n') - cell),
		    "restarting", 10) != NULL)
			act = PROTO_CLOSE_DO_RESTART;
		else if (memmem(cell, (size_t)(strchrnul(cell, '\n') - cell),
		    "retire grace", 12) != NULL)
			act = PROTO_CLOSE_DO_REMOVED;
		else if (memmem(cell, (size_t)(strchrnul(cell, '\n') - cell),
		    "rejoin", 6) != NULL)
			act = PROTO_CLOSE_DO_REJOIN;
		else if (memmem(cell, (size_t)(strchrnul(cell, '\n') - cell),
		    "retry after", 11) != NULL)
			act = PROTO_CLOSE_DO_RETRY_AFTER;
		else if (memmem(cell, (size_t)(strchrnul(cell, '\n') - cell),
		    "max delay", 9) != NULL)
			act = PROTO_CLOSE_DO_MAX_DELAY;
		else
			act = PROTO_CLOSE_DO_BACKOFF;
		for (q = p; q < cell; ) {
			if (!isdigit((unsigned char)*q)) {
				q++;
				continue;
			}
			code = strtol(q, &q, 10);
			CHECK(proto_close_rule((int)code) != NULL);
			if (proto_close_action((int)code) != act)
				printf("  docs/agent.md puts %ld in the wrong "
				    "row\n", code);
			CHECK_INT(proto_close_action((int)code), act);
			seen++;
		}
	}
	CHECK_INT(seen, proto_close_nrules);
	free(doc);
}

/* A 4013's reason names the leader's agent URL; the agent reads it back. */
static void
test_proto_leader_url(void)
{
	char url[64], small[8];
	const char *r = "standby; " PROTO_LEADER_AT "ws://10.0.0.2:9293";

	CHECK(proto_leader_url(r, strlen(r), url, sizeof url) == 0);
	CHECK_STR(url, "ws://10.0.0.2:9293");
	/* Not terminated: only len bytes count. */
	CHECK(proto_leader_url(r, strlen(r) - 5, url, sizeof url) == 0);
	CHECK_STR(url, "ws://10.0.0.2");
	CHECK(proto_leader_url(r, strlen(r), small, sizeof small) == -1);
	r = "standby; no leader known";
	CHECK(proto_leader_url(r, strlen(r), url, sizeof url) == -1);
	r = "standby; leader at ";
	CHECK(proto_leader_url(r, strlen(r), url, sizeof url) == -1);
	CHECK(proto_leader_url(NULL, 0, url, sizeof url) == -1);
	CHECK_INT(proto_close_action(PROTO_CLOSE_NOT_LEADER),
	    PROTO_CLOSE_DO_RESTART);
}

int
main(void)
{
	TEST_RUN(test_opt_defaults);
	TEST_RUN(test_opt_flags_beat_env);
	TEST_RUN(test_opt_aliases);
	TEST_RUN(test_opt_bounds);
	TEST_RUN(test_opt_types);
	TEST_RUN(test_opt_unknown_flag);
	TEST_RUN(test_opt_empty_values);
	TEST_RUN(test_opt_help_and_version);
	TEST_RUN(test_opt_help_lists_every_row);
	TEST_RUN(test_opt_secrets_not_echoed);
	TEST_RUN(test_opt_master_table);
	TEST_RUN(test_opt_docs_list_every_row);
	TEST_RUN(test_proto_close_covers_enum);
	TEST_RUN(test_proto_close_docs_protocol);
	TEST_RUN(test_proto_close_docs_agent);
	TEST_RUN(test_proto_leader_url);
	return TEST_DONE();
}
