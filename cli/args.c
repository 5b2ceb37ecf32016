/*
 * args.c - parse a berth command line against the tables in cmd.c.
 *
 * One pass over the words. Until the command is known, the first plain
 * word names a group (or a one-word command) and the next one a verb of
 * that group; every later plain word is a positional argument of the
 * command. Options may come anywhere: a long one is found by its name in
 * cmd_options ("--name value", "--name=value"); a short one ("-f", "-it",
 * "-vK=V", "-v K=V") by its letter among the options that the command
 * takes, so it has to come after the command's words (the global -h
 * excepted). "--" ends the options, and so does the command's stop-th
 * positional word; "-" alone is a positional word. An option that the
 * command does not take is refused at once when it follows the command's
 * words, and at the end when it came before them, where the positional
 * bounds are checked too (neither end check when --help or --version was
 * given: those answer whatever the rest of the line says).
 *
 * Called once, by main(); single-threaded.
 */
#include "cli/cmd.h"

#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

#define ARGS_BIT(o)	((uint64_t)1 << (o))

int
cli_flag(const struct cli *c, enum cli_opt o)
{
	return c->opts[o].n;
}

const char *
cli_value(const struct cli *c, enum cli_opt o)
{
	const struct cli_optval *ov = &c->opts[o];

	return ov->n > 0 && ov->v != NULL ? ov->v[ov->n - 1] : NULL;
}

const char **
cli_values(const struct cli *c, enum cli_opt o, int *n)
{
	*n = c->opts[o].v != NULL ? c->opts[o].n : 0;
	return c->opts[o].v;
}

/* Where a reason sends the user: the help of what is known so far. */
static const char *
args_see(const struct cli *c, char *buf, size_t len)
{
	char name[64];

	if (c->cmd != NULL)
		snprintf(buf, len, "see berth %s --help",
		    cmd_name(c->cmd, name, sizeof name));
	else if (c->group != NULL)
		snprintf(buf, len, "see berth %s --help", c->group->name);
	else
		snprintf(buf, len, "see berth --help");
	return buf;
}

/* -1 with *cause when the command is known and does not take o. */
static int
args_taken(const struct cli *c, enum cli_opt o, char letter, char **cause)
{
	char name[64], see[96];

	if (c->cmd == NULL || (cmd_accepts(c->cmd) & ARGS_BIT(o)))
		return 0;
	cmd_name(c->cmd, name, sizeof name);
	args_see(c, see, sizeof see);
	if (letter != 0)
		xasprintf(cause, "%s does not take -%c (%s)", name, letter, see);
	else
		xasprintf(cause, "%s does not take --%s (%s)", name,
		    cmd_options[o].name, see);
	return -1;
}

/* Record one occurrence of o, spelt -letter (or --name if letter is 0). */
static void
args_record(struct cli *c, int argc, enum cli_opt o, char letter,
    const char *value)
{
	struct cli_optval *ov = &c->opts[o];

	if (ov->n == 0)
		ov->letter = letter;
	if (value != NULL) {
		/* Each occurrence takes a word at least: argc is room. */
		if (ov->v == NULL)
			ov->v = xcalloc((size_t)argc, sizeof *ov->v);
		ov->v[ov->n] = value;
	}
	ov->n++;
}

/* argv[*k] is "--name" or "--name=value"; *k moves past a value word. */
static int
args_long(struct cli *c, int argc, char **argv, int *k, char **cause)
{
	const char *a = argv[*k] + 2, *eq = strchr(a, '='), *value = NULL;
	size_t len = eq != NULL ? (size_t)(eq - a) : strlen(a);
	const struct cmd_option *opt;
	char see[96];
	int o;

	for (o = 0; o < CLI_OPT__COUNT; o++) {
		if (strncmp(cmd_options[o].name, a, len) == 0 &&
		    cmd_options[o].name[len] == '\0')
			break;
	}
	if (o == CLI_OPT__COUNT) {
		xasprintf(cause, "unknown option --%.*s (%s)", (int)len, a,
		    args_see(c, see, sizeof see));
		return -1;
	}
	opt = &cmd_options[o];
	if (args_taken(c, (enum cli_opt)o, 0, cause) != 0)
		return -1;
	if (opt->value == NULL) {
		if (eq != NULL) {
			xasprintf(cause, "--%s takes no value", opt->name);
			return -1;
		}
	} else if (eq != NULL)
		value = eq + 1;
	else if (*k + 1 < argc)
		value = argv[++*k];
	else {
		xasprintf(cause, "--%s needs a value", opt->name);
		return -1;
	}
	args_record(c, argc, (enum cli_opt)o, 0, value);
	return 0;
}

/* The reason for a letter that no option of the command has. */
static int
args_short_refused(const struct cli *c, char letter, char **cause)
{
	char name[64], see[96];
	int o;

	args_see(c, see, sizeof see);
	for (o = 0; o < CLI_OPT__COUNT; o++) {
		if (cmd_options[o].letter == letter)
			break;
	}
	if (o == CLI_OPT__COUNT)
		xasprintf(cause, "unknown option -%c (%s)", letter, see);
	else if (c->cmd != NULL)
		xasprintf(cause, "%s does not take -%c (%s)",
		    cmd_name(c->cmd, name, sizeof name), letter, see);
	else	/* which option a letter is depends on the command */
		xasprintf(cause, "-%c goes after the command (%s)", letter, see);
	return -1;
}

/*
 * argv[*k] is "-x", "-xy" or "-vVALUE": letters of flags, the last of
 * which may take a value, attached or as the next word.
 */
static int
args_short(struct cli *c, int argc, char **argv, int *k, char **cause)
{
	uint64_t acc = c->cmd != NULL ? cmd_accepts(c->cmd) : CMD_OPTS_GLOBAL;
	const char *p, *value;
	int o;

	for (p = argv[*k] + 1; *p != '\0'; p++) {
		for (o = 0; o < CLI_OPT__COUNT; o++) {
			if (cmd_options[o].letter == *p && (acc & ARGS_BIT(o)))
				break;
		}
		if (o == CLI_OPT__COUNT)
			return args_short_refused(c, *p, cause);
		if (cmd_options[o].value == NULL) {
			args_record(c, argc, (enum cli_opt)o, *p, NULL);
			continue;
		}
		if (p[1] != '\0')
			value = p + 1;
		else if (*k + 1 < argc)
			value = argv[++*k];
		else {
			xasprintf(cause, "-%c needs a value", *p);
			return -1;
		}
		args_record(c, argc, (enum cli_opt)o, *p, value);
		break;
	}
	return 0;
}

/* A plain word: the group, the verb, or the command's next argument. */
static int
args_word(struct cli *c, int argc, char *w, const struct cmd_group **show,
    char **cause)
{
	if (c->cmd == NULL && c->group == NULL) {
		if ((c->group = cmd_find_group(w)) != NULL ||
		    (c->cmd = cmd_find_word(w)) != NULL)
			return 0;
		xasprintf(cause, "unknown command \"%s\" (see berth --help)", w);
		return -1;
	}
	if (c->cmd == NULL) {
		if ((c->cmd = cmd_find_verb(c->group, w)) != NULL)
			return 0;
		if (strcmp(w, "help") == 0) {	/* berth grid help */
			args_record(c, argc, CLI_OPT_HELP, 0, NULL);
			return 0;
		}
		*show = c->group;
		xasprintf(cause, "unknown command \"%s %s\"", c->group->name, w);
		return -1;
	}
	c->args[c->nargs++] = w;
	return 0;
}

/*
 * The name of the (n+1)-th required word in a usage line, into buf: "FILE"
 * for "S FILE" and n = 1. Bracketed parts are optional, "--" and a
 * trailing "..." are not names. NULL if the usage does not say.
 */
static const char *
args_required(const char *usage, int n, char *buf, size_t len)
{
	const char *p = usage;
	size_t w;
	int depth = 0, i;

	for (; *p != '\0'; p += w) {
		p += strspn(p, " ");
		w = strcspn(p, " ");
		if (w == 0)
			break;
		if (depth == 0 && *p != '[' && *p != '-' &&
		    strncmp(p, "...", 3) != 0 && n-- == 0) {
			if (w > 3 && strncmp(p + w - 3, "...", 3) == 0)
				w -= 3;
			snprintf(buf, len, "%.*s", (int)w, p);
			return buf;
		}
		for (i = 0; i < (int)w; i++)
			depth += p[i] == '[' ? 1 : p[i] == ']' ? -1 : 0;
	}
	return NULL;
}

/* After the words: the checks that need all of them. */
static int
args_finish(struct cli *c, char **cause)
{
	const struct cmd_entry *e;
	const char *u, *what;
	char name[64], word[64];
	int o;

	if (c->cmd == NULL && c->group != NULL && c->group->dflt != NULL &&
	    !cli_flag(c, CLI_OPT_HELP))
		c->cmd = cmd_find_verb(c->group, c->group->dflt);
	if ((e = c->cmd) == NULL || cli_flag(c, CLI_OPT_HELP) ||
	    cli_flag(c, CLI_OPT_VERSION))
		return 0;
	/* Options given before the command was known. */
	for (o = 0; o < CLI_OPT__COUNT; o++) {
		if (c->opts[o].n > 0 && args_taken(c, (enum cli_opt)o,
		    c->opts[o].letter, cause) != 0)
			return -1;
	}
	cmd_name(e, name, sizeof name);
	u = e->usage;
	if (c->nargs < e->lower) {
		what = args_required(u, c->nargs, word, sizeof word);
		xasprintf(cause, "%s needs %s (usage: berth %s%s%s)", name,
		    what ? what : "more arguments", name, *u ? " " : "", u);
		return -1;
	}
	if (e->upper >= 0 && c->nargs > e->upper) {
		xasprintf(cause, "%s: unexpected argument \"%s\" (usage: berth "
		    "%s%s%s)", name, c->args[e->upper], name, *u ? " " : "", u);
		return -1;
	}
	return 0;
}

int
args_parse(struct cli *c, int argc, char **argv,
    const struct cmd_group **show, char **cause)
{
	const char *env;
	char *a;
	int k, ended = 0, dashdash = -1;

	memset(c, 0, sizeof *c);
	*show = NULL;
	c->args = xcalloc((size_t)argc + 1, sizeof *c->args);
	for (k = 1; k < argc; k++) {
		a = argv[k];
		if (!ended && a[0] == '-' && a[1] != '\0') {
			if (strcmp(a, "--") == 0) {
				ended = 1;
				dashdash = c->nargs;
			} else if ((a[1] == '-' ? args_long(c, argc, argv, &k,
			    cause) : args_short(c, argc, argv, &k, cause)) != 0)
				return -1;
			continue;
		}
		if (args_word(c, argc, a, show, cause) != 0)
			return -1;
		if (c->cmd != NULL && c->cmd->stop > 0 &&
		    c->nargs >= c->cmd->stop)
			ended = 1;
	}
	c->dashdash = dashdash >= 0 ? dashdash : c->nargs;
	if ((c->grid = cli_value(c, CLI_OPT_GRID)) == NULL) {
		env = getenv("BERTH_GRID");
		c->grid = env != NULL && *env != '\0' ? env : "default";
	}
	c->json = cli_flag(c, CLI_OPT_JSON) > 0;
	return args_finish(c, cause);
}

void
args_free(struct cli *c)
{
	int o;

	for (o = 0; o < CLI_OPT__COUNT; o++)
		free(c->opts[o].v);
	free(c->args);
}
