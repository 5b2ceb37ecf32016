/*
 * opt.c - the option engine: parse, validate, default and print --help
 * from a daemon's table of struct opt (see opt.h for the model).
 *
 * Called by master/config.c and agent/config.c once at start-up, on the
 * main thread, before other threads exist; it keeps no state of its own.
 *
 * opt_parse() reads argv first, for syntax only: unknown flags, missing
 * values, --help and --version. So --help works even when the environment
 * holds a bad value, and a typo in a flag is reported before anything else.
 * Then every row gets its value in order of precedence (default, then the
 * first of its env names that is set, then its flags, the last one
 * winning), each through the same typed parser, and last each row's check
 * runs on the final value. The source of each row's final value is kept
 * so that an error names what the operator actually set (--url, BERTH_URL
 * or KONTENA_URI).
 */
#include "common/opt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "common/version.h"
#include "common/xmalloc.h"

/* Where a row's current value came from: 0, 1 + env index, or a flag. */
#define OPT_SRC_DEFAULT	0
#define OPT_SRC_FLAG	0xff

/* A flag seen in argv: its row and its value. */
struct opt_given {
	const struct opt	*o;	/* the row */
	const char		*value;	/* borrowed from argv */
};

static const char *
opt_real_getenv(const char *name, void *arg)
{
	(void)arg;
	return getenv(name);
}

static void *
opt_field(const struct opt *o, void *cfg)
{
	return (char *)cfg + o->offset;
}

/* The name of a source: "--flag", an env name, or the first env name. */
static void
opt_source_name(const struct opt *o, unsigned src, char *buf, size_t len)
{
	if (src == OPT_SRC_FLAG || o->env[0] == NULL)
		snprintf(buf, len, "--%s", o->flag);
	else if (src == OPT_SRC_DEFAULT)
		snprintf(buf, len, "%s", o->env[0]);
	else
		snprintf(buf, len, "%s", o->env[src - 1]);
}

/* A value as an error shows it: quoted and escaped, or hidden. */
static const char *
opt_quote(const struct opt *o, const char *value, char *buf, size_t len)
{
	char esc[128];

	if (o->flags & OPT_SECRET)
		snprintf(buf, len, "[hidden]");
	else
		snprintf(buf, len, "\"%s\"",
		    log_escape(esc, sizeof esc, value));
	return buf;
}

/* "a|b|c" as "a, b or c". */
static void
opt_choices_words(const char *choices, char *buf, size_t len)
{
	const char *p, *bar;
	size_t o = 0, n;

	buf[0] = '\0';
	for (p = choices; *p != '\0' && o < len; p = bar + 1) {
		bar = strchr(p, '|');
		n = bar != NULL ? (size_t)(bar - p) : strlen(p);
		o += (size_t)snprintf(buf + o, len - o, "%s%.*s",
		    p == choices ? "" : bar == NULL ? " or " : ", ", (int)n, p);
		if (bar == NULL)
			break;
	}
}

/* The choice that value names (case-insensitively), copied, or NULL. */
static char *
opt_choice(const char *choices, const char *value)
{
	const char *p, *bar;
	size_t n;

	for (p = choices; *p != '\0'; p = bar + 1) {
		bar = strchr(p, '|');
		n = bar != NULL ? (size_t)(bar - p) : strlen(p);
		if (n == strlen(value) && strncasecmp(p, value, n) == 0)
			return xstrndup(p, n);
		if (bar == NULL)
			break;
	}
	return NULL;
}

/* Parse value into the row's field; from names the source for errors. */
static int
opt_set(const struct opt *o, void *cfg, const char *from, const char *value,
    char **cause)
{
	char q[160], words[128], *end, *s;
	long v;

	switch (o->type) {
	case OPT_STRING:
	case OPT_PATH:
		free(*(char **)opt_field(o, cfg));
		*(char **)opt_field(o, cfg) = xstrdup(value);
		return 0;
	case OPT_ENUM:
		if ((s = opt_choice(o->choices, value)) == NULL) {
			opt_choices_words(o->choices, words, sizeof words);
			xasprintf(cause, "%s: %s is not %s", from,
			    opt_quote(o, value, q, sizeof q), words);
			return -1;
		}
		free(*(char **)opt_field(o, cfg));
		*(char **)opt_field(o, cfg) = s;
		return 0;
	case OPT_BOOL:
		/* An empty value only gets here when it is a value: off. */
		if (strcmp(value, "1") == 0 || strcmp(value, "true") == 0 ||
		    strcmp(value, "yes") == 0)
			v = 1;
		else if (*value == '\0' || strcmp(value, "0") == 0 ||
		    strcmp(value, "false") == 0 || strcmp(value, "no") == 0)
			v = 0;
		else {
			xasprintf(cause, "%s: %s is not 1/0, true/false or "
			    "yes/no", from, opt_quote(o, value, q, sizeof q));
			return -1;
		}
		*(int *)opt_field(o, cfg) = (int)v;
		return 0;
	case OPT_INT:
		errno = 0;
		v = strtol(value, &end, 10);
		if (errno != 0 || end == value || *end != '\0' || v < o->min ||
		    v > o->max) {
			xasprintf(cause, "%s: %s is not a whole number "
			    "(%d..%d)", from, opt_quote(o, value, q, sizeof q),
			    o->min, o->max);
			return -1;
		}
		*(int *)opt_field(o, cfg) = (int)v;
		return 0;
	case OPT_CUSTOM:
		return o->set(cfg, from, value, cause);
	}
	xasprintf(cause, "%s: option of unknown type", from);
	return -1;
}

const struct opt *
opt_find(const struct opt_table *t, const char *flag)
{
	size_t i;

	for (i = 0; i < t->nopts; i++) {
		if (strcmp(t->opts[i].flag, flag) == 0)
			return &t->opts[i];
	}
	return NULL;
}

/*
 * First pass: the syntax of argv. Fills given[] with the flags in order.
 * 0, 1 after --help or --version, -1 with *cause.
 */
static int
opt_scan(const struct opt_table *t, int argc, char **argv,
    struct opt_given *given, size_t *ngiven, FILE *out, char **cause)
{
	const struct opt *o;
	const char *arg, *eq, *value;
	char name[64];
	int k;

	*ngiven = 0;
	for (k = 1; k < argc; k++) {
		arg = argv[k];
		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			opt_usage(t, out);
			return 1;
		}
		if (strcmp(arg, "--version") == 0 || strcmp(arg, "-V") == 0) {
			fprintf(out, "%s %s\n", t->prog, BERTH_VERSION);
			return 1;
		}
		if (strcmp(arg, "--") == 0) {
			if (k + 1 < argc) {
				xasprintf(cause, "unexpected argument \"%s\" "
				    "(see --help)", argv[k + 1]);
				return -1;
			}
			break;
		}
		if (strncmp(arg, "--", 2) != 0) {
			xasprintf(cause, "%s \"%s\" (see --help)",
			    arg[0] == '-' && arg[1] != '\0' ? "unknown option" :
			    "unexpected argument", arg);
			return -1;
		}
		eq = strchr(arg + 2, '=');
		snprintf(name, sizeof name, "%.*s", eq != NULL ?
		    (int)(eq - arg - 2) : (int)strlen(arg + 2), arg + 2);
		if ((o = opt_find(t, name)) == NULL) {
			xasprintf(cause, "unknown option --%s (see --help)",
			    name);
			return -1;
		}
		if (eq != NULL)
			value = eq + 1;
		else if (o->type == OPT_BOOL)
			value = "1";
		else if (k + 1 < argc)
			value = argv[++k];
		else {
			xasprintf(cause, "--%s needs a value", o->flag);
			return -1;
		}
		given[*ngiven].o = o;
		given[(*ngiven)++].value = value;
	}
	return 0;
}

int
opt_parse(const struct opt_table *t, void *cfg, int argc, char **argv,
    opt_getenv_fn get, void *arg, FILE *out, char **cause)
{
	const struct opt *o;
	struct opt_given *given;
	unsigned char *src;
	const char *v;
	char from[64];
	size_t i, j, ngiven;
	int rc = -1;

	if (get == NULL)
		get = opt_real_getenv;
	given = xcalloc((size_t)(argc > 0 ? argc : 1), sizeof *given);
	src = xcalloc(t->nopts, sizeof *src);
	if ((rc = opt_scan(t, argc, argv, given, &ngiven, out, cause)) != 0)
		goto out;
	rc = -1;

	/* Defaults, then the environment. */
	for (i = 0; i < t->nopts; i++) {
		o = &t->opts[i];
		if (o->def != NULL) {
			opt_source_name(o, OPT_SRC_DEFAULT, from, sizeof from);
			if (opt_set(o, cfg, from, o->def, cause) != 0)
				goto out;
		}
		for (j = 0; j < OPT_ENV_MAX && o->env[j] != NULL; j++) {
			if ((v = get(o->env[j], arg)) == NULL)
				continue;
			if (*v == '\0' && (t->flags & OPT_EMPTY_IS_UNSET))
				continue;
			if (opt_set(o, cfg, o->env[j], v, cause) != 0)
				goto out;
			src[i] = (unsigned char)(1 + j);
			break;
		}
	}

	/* Then the flags, in the order given: the last one wins. */
	for (i = 0; i < ngiven; i++) {
		o = given[i].o;
		opt_source_name(o, OPT_SRC_FLAG, from, sizeof from);
		if (*given[i].value == '\0' &&
		    (t->flags & OPT_EMPTY_IS_UNSET)) {
			xasprintf(cause, "%s: empty value", from);
			goto out;
		}
		if (opt_set(o, cfg, from, given[i].value, cause) != 0)
			goto out;
		src[o - t->opts] = OPT_SRC_FLAG;
	}

	/* Each row's own rule, on its final value. */
	for (i = 0; i < t->nopts; i++) {
		o = &t->opts[i];
		if (o->check == NULL)
			continue;
		opt_source_name(o, src[i], from, sizeof from);
		if (o->check(cfg, from, cause) != 0)
			goto out;
	}
	rc = 0;
out:
	free(given);
	free(src);
	return rc;
}

/* The words under a row's flag in --help: env names, range, default. */
static void
opt_usage_env(const struct opt *o, FILE *out)
{
	size_t j;

	if (o->env[0] == NULL)	/* a one-shot action: a flag only */
		fprintf(out, "flag only");
	else
		fprintf(out, "env %s%s", o->env[0], o->type == OPT_BOOL ?
		    "=1" : "");
	for (j = 1; j < OPT_ENV_MAX && o->env[j] != NULL; j++)
		fprintf(out, "%s%s", j == 1 ? " (or " : ", ", o->env[j]);
	if (j > 1)
		fprintf(out, ")");
	if (o->type == OPT_INT)
		fprintf(out, ", %d..%d%s%s", o->min, o->max,
		    o->unit != NULL ? " " : "", o->unit != NULL ? o->unit : "");
	if (o->type == OPT_ENUM)
		fprintf(out, ", %s", o->choices);
	if (o->flags & OPT_SECRET)
		fprintf(out, ", secret: never printed");
	else if (o->def != NULL && *o->def != '\0' && o->type != OPT_BOOL)
		fprintf(out, ", default %s", o->def);
	else if (o->def_help != NULL)
		fprintf(out, ", default: %s", o->def_help);
	else if (o->type == OPT_BOOL)
		fprintf(out, ", default %s", o->def != NULL &&
		    strcmp(o->def, "1") == 0 ? "on" : "off");
}

void
opt_usage(const struct opt_table *t, FILE *out)
{
	const struct opt_extra *x;
	const struct opt *o;
	const char *a;
	char left[64];
	size_t i;

	fprintf(out, "usage: %s [options]\n\n%s\n\n"
	    "Options (each also an environment variable; flags win):\n",
	    t->prog, t->about);
	for (i = 0; i < t->nopts; i++) {
		o = &t->opts[i];
		a = o->arg;
		if (a == NULL) {
			switch (o->type) {
			case OPT_PATH:	a = "PATH"; break;
			case OPT_INT:	a = "N"; break;
			case OPT_BOOL:	a = ""; break;
			case OPT_ENUM:	a = "WORD"; break;
			default:	a = "VALUE"; break;
			}
		}
		snprintf(left, sizeof left, "--%s%s%s", o->flag,
		    *a != '\0' ? " " : "", a);
		fprintf(out, "  %-24s %s\n  %-24s ", left, o->help, "");
		opt_usage_env(o, out);
		fprintf(out, "\n");
	}
	for (x = t->extra; x != NULL && x->left != NULL; x++)
		fprintf(out, "  %-24s %s\n", x->left, x->help);
	fprintf(out, "  %-24s %s\n  %-24s %s\n", "-h, --help", "this text",
	    "-V, --version", "print the version");
	if (t->footer != NULL)
		fprintf(out, "\n%s", t->footer);
}

void
opt_free(const struct opt_table *t, void *cfg)
{
	const struct opt *o;
	char **sp;
	size_t i;

	for (i = 0; i < t->nopts; i++) {
		o = &t->opts[i];
		if (o->type != OPT_STRING && o->type != OPT_PATH &&
		    o->type != OPT_ENUM)
			continue;
		sp = opt_field(o, cfg);
		if (*sp != NULL && (o->flags & OPT_SECRET))
			explicit_bzero(*sp, strlen(*sp));
		free(*sp);
		*sp = NULL;
	}
}
