/*
 * help.c - what the CLI says about itself: `berth --help` (every group),
 * `berth GROUP --help` (one group), `berth GROUP VERB --help` (usage, the
 * command's options, and whatever its row's help_more adds), `berth help
 * [GROUP [VERB]]` and `berth version`. All of it is printed from the
 * tables in cmd.c, so help cannot drift from what the parser accepts.
 *
 * Called from main() and as commands; single-threaded.
 */
#include "cli/cmd.h"
#include "common/version.h"

#include <ctype.h>
#include <string.h>

#define HELP_WIDTH	79	/* wrap before this column */
#define HELP_COL	35	/* a listing's help column */

/*
 * Print text from column at, wrapping between words before HELP_WIDTH
 * onto lines indented to col. Returns the column it stopped at.
 */
static int
help_wrap(FILE *f, const char *text, int col, int at)
{
	const char *p = text;
	int first = 1, n;

	for (;;) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		n = (int)strcspn(p, " ");
		if (!first && at + 1 + n > HELP_WIDTH) {
			fprintf(f, "\n%*s", col, "");
			at = col;
		} else if (!first) {
			fputc(' ', f);
			at++;
		}
		fwrite(p, 1, (size_t)n, f);
		at += n;
		p += n;
		first = 0;
	}
	return at;
}

/* "  LEFT      help", help at HELP_COL (on the next line if LEFT is long). */
static void
help_line(FILE *f, const char *left, const char *help)
{
	int at;

	fputs("  ", f);
	at = help_wrap(f, left, 6, 2);
	if (at >= HELP_COL - 1) {
		fputc('\n', f);
		at = 0;
	}
	fprintf(f, "%*s", HELP_COL - at, "");
	help_wrap(f, help, HELP_COL, HELP_COL);
	fputc('\n', f);
}

void
help_item(FILE *f, int width, const char *left, const char *text)
{
	fprintf(f, "  %-*s  ", width, left);
	help_wrap(f, text, width + 4, width + 4);
	fputc('\n', f);
}

/* A command's line in a listing: "stack install FILE [--name S]". */
static void
help_command_line(FILE *f, const struct cmd_entry *e)
{
	char name[64], left[512];

	snprintf(left, sizeof left, "%s%s%s", cmd_name(e, name, sizeof name),
	    *e->usage ? " " : "", e->usage);
	help_line(f, left, e->help);
}

/*
 * The name of o's value: as e's usage line writes it ("[--name S]" for
 * stack install, "[--name N]" for grid cloud-config), else the table's.
 */
static const char *
help_value_name(const struct cmd_entry *e, const struct cmd_option *o,
    char *buf, size_t len)
{
	const char *p;
	size_t n = strlen(o->name), w;

	for (p = e != NULL ? e->usage : ""; (p = strstr(p, "--")) != NULL;
	    p += 2) {
		if (strncmp(p + 2, o->name, n) != 0 ||
		    (p[2 + n] != ' ' && p[2 + n] != '='))
			continue;
		p += 3 + n;
		if ((w = strcspn(p, " ]|")) == 0)
			break;
		snprintf(buf, len, "%.*s", (int)w, p);
		return buf;
	}
	return o->value;
}

/* "-f, --force", "--grid G", "--label k=v ..." into buf. */
static const char *
help_option_label(const struct cmd_entry *e, const struct cmd_option *o,
    char *buf, size_t len)
{
	char s[8] = "", v[32];
	const char *value = NULL;

	if (o->letter != 0)
		snprintf(s, sizeof s, "-%c, ", o->letter);
	if (o->value != NULL)
		value = help_value_name(e, o, v, sizeof v);
	snprintf(buf, len, "%s--%s%s%s%s", s, o->name, value ? " " : "",
	    value ? value : "", o->flags & CMD_OPTION_REPEAT ? " ..." : "");
	return buf;
}

/* The options in set, the command's own first; e's own help wins. */
static void
help_options(FILE *f, uint64_t set, const struct cmd_entry *e)
{
	const char *help;
	char label[128];
	int pass, o, w, width = 0;

	for (o = 0; o < CLI_OPT__COUNT; o++) {
		if (set & ((uint64_t)1 << o)) {
			w = (int)strlen(help_option_label(e, &cmd_options[o],
			    label, sizeof label));
			if (w > width)
				width = w;
		}
	}
	for (pass = 0; pass < 2; pass++) {
		for (o = 0; o < CLI_OPT__COUNT; o++) {
			if (!(set & ((uint64_t)1 << o)) ||
			    !(CMD_OPTS_GLOBAL & ((uint64_t)1 << o)) != !pass)
				continue;
			help = e != NULL && e->opt_help[o] != NULL ?
			    e->opt_help[o] : cmd_options[o].help;
			help_item(f, width, help_option_label(e,
			    &cmd_options[o], label, sizeof label), help);
		}
	}
}

static void
help_group_commands(FILE *f, const struct cmd_group *g)
{
	size_t i;

	fprintf(f, "%s:\n", g->title);
	for (i = 0; i < cmd_ntable; i++) {
		if (cmd_table[i].verb != NULL &&
		    strcmp(cmd_table[i].group, g->name) == 0)
			help_command_line(f, &cmd_table[i]);
	}
}

void
help_all(FILE *f)
{
	size_t i;

	fputs("usage: berth <command> [options]\n\n"
	    "Drives a berth master over its REST API.\n\n", f);
	for (i = 0; i < cmd_ngroups; i++)
		help_group_commands(f, &cmd_groups[i]);
	fputs("Other:\n", f);
	for (i = 0; i < cmd_ntable; i++) {
		if (cmd_table[i].verb == NULL)
			help_command_line(f, &cmd_table[i]);
	}
	fputs("\nOptions of every command (berth GROUP VERB --help shows a "
	    "command's own):\n", f);
	help_options(f, CMD_OPTS_GLOBAL, NULL);
	fputs("\nEnvironment: BERTH_MASTER (default http://127.0.0.1:9292), "
	    "BERTH_TOKEN\n(operator token; default: the contents of "
	    "$BERTH_DATA_DIR/operator.token,\nelse ./data/operator.token), "
	    "BERTH_GRID; for an https master BERTH_CA_CERT\nand/or "
	    "BERTH_MASTER_PIN; BERTH_INSECURE_PLAIN=1 allows http to a "
	    "non-loopback\nmaster.\n", f);
}

void
help_group(FILE *f, const struct cmd_group *g)
{
	fprintf(f, "usage: berth %s <verb> [arguments] [options]\n\n", g->name);
	help_group_commands(f, g);
	if (g->dflt != NULL)
		fprintf(f, "\n`berth %s` alone is `berth %s %s`%s%s%s.\n", g->name,
		    g->name, g->dflt, g->alias ? "; `berth " : "",
		    g->alias ? g->alias : "", g->alias ? "` is the same" : "");
	fprintf(f, "\nOptions of every command (berth %s VERB --help shows a "
	    "command's own):\n", g->name);
	help_options(f, CMD_OPTS_GLOBAL, NULL);
}

void
help_command(FILE *f, const struct cmd_entry *e)
{
	char name[64];
	int at;

	cmd_name(e, name, sizeof name);
	at = fprintf(f, "usage: berth %s", name);
	if (*e->usage != '\0') {
		fputc(' ', f);
		help_wrap(f, e->usage, at + 1, at + 1);
	}
	fprintf(f, "\n\n%c", toupper((unsigned char)e->help[0]));
	help_wrap(f, e->help + 1, 0, 1);
	fputs(".\n", f);
	if (e->alias != NULL)
		fprintf(f, "Also: berth %s %s.\n", e->group, e->alias);
	fputs("\nOptions:\n", f);
	help_options(f, cmd_accepts(e), e);
	if (e->help_more != NULL) {
		fputc('\n', f);
		e->help_more(f);
	}
}

int
cmd_help(struct cli *c)
{
	const struct cmd_group *g;
	const struct cmd_entry *e;

	if (c->nargs == 0) {
		help_all(stdout);
		return 0;
	}
	if ((e = cmd_find_word(c->args[0])) != NULL) {
		if (c->nargs > 1)
			return cli_fail("unknown command \"%s %s\" (see berth "
			    "--help)", c->args[0], c->args[1]);
		help_command(stdout, e);
		return 0;
	}
	if ((g = cmd_find_group(c->args[0])) == NULL)
		return cli_fail("unknown command \"%s\" (see berth --help)",
		    c->args[0]);
	if (c->nargs == 1) {
		help_group(stdout, g);
		return 0;
	}
	if ((e = cmd_find_verb(g, c->args[1])) == NULL) {
		cli_fail("unknown command \"%s %s\"", g->name, c->args[1]);
		fputc('\n', stderr);
		help_group(stderr, g);
		return 1;
	}
	help_command(stdout, e);
	return 0;
}

int
cmd_version(struct cli *c)
{
	json_t *v;

	if (!c->json) {
		printf("berth %s\n", BERTH_VERSION);
		return 0;
	}
	v = json_pack("{s:s}", "version", BERTH_VERSION);
	cli_print_json(v);
	json_decref(v);
	return 0;
}
