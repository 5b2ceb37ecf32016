/*
 * stack_input.c - what `berth stack install|upgrade|validate` send with a
 * stack file, and the questions the master asks back.
 *
 * The master parses a stack (it has the vault, the grid's services and
 * the randomness a stack's variables draw on); what only this machine
 * has travels in the request's envelope: the values of the environment
 * variables the file's variables may read (found by stack_env_names()),
 * the values given with -v and --values-from, and, as the master asks
 * for them (a 422 whose body lists "needs"), more environment variables,
 * the files the stack names (env_file, from: file, ...) and the answers
 * to its prompts, asked here when stdin is a terminal. Each round sends
 * the envelope again with what was asked; a round that asks for nothing
 * new, or too many rounds, is an error.
 *
 * Called on the CLI's single thread by cmd_stack.c.
 */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/stack_input.h"

#include "stacks/stack.h"

#include "common/util.h"
#include "common/xmalloc.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define STACK_MAX_ROUNDS	64	/* questions asked back, at most */
#define STACK_MAX_FILE		(1024 * 1024)

void
stack_input_free(struct stack_input *in)
{
	free(in->src);
	json_decref(in->env);
	json_decref(in->files);
	json_decref(in->answers);
	json_decref(in->values);
	memset(in, 0, sizeof *in);
}

/* -v NAME=VALUE (strings, as Kontena's CLI read them) over --values-from. */
static int
stack_input_values(struct cli *c, json_t *values)
{
	const char **v, *eq;
	char *data, *cause, *name;
	size_t len;
	json_t *o;
	int n, i;

	v = cli_values(c, CLI_OPT_VALUES_FROM, &n);
	for (i = 0; i < n; i++) {
		if (util_read_file(v[i], STACK_MAX_FILE, &data, &len) != 0)
			return cli_fail("--values-from %s: %s", v[i],
			    strerror(errno));
		o = stack_values_load(data, len, v[i], &cause);
		free(data);
		if (o == NULL)
			return cli_fail_cause(cause);
		json_object_update(values, o);
		json_decref(o);
	}
	v = cli_values(c, CLI_OPT_VAR, &n);
	for (i = 0; i < n; i++) {
		if ((eq = strchr(v[i], '=')) == NULL || eq == v[i])
			return cli_fail("-v %s: expected NAME=VALUE", v[i]);
		name = xstrndup(v[i], (size_t)(eq - v[i]));
		json_object_set_new(values, name, json_string(eq + 1));
		free(name);
	}
	return 0;
}

int
stack_input_load(struct cli *c, const char *file, struct stack_input *in)
{
	json_t *names, *n;
	const char *v;
	size_t i;

	memset(in, 0, sizeof *in);
	in->file = file;
	if (util_read_file(file, 4 * STACK_MAX_FILE, &in->src, &in->len) != 0)
		return cli_fail("%s: %s", file, strerror(errno));
	in->env = json_object();
	in->files = json_object();
	in->answers = json_object();
	in->values = json_object();
	in->interactive = isatty(STDIN_FILENO) && isatty(STDERR_FILENO);
	if (stack_input_values(c, in->values) != 0) {
		stack_input_free(in);
		return 1;
	}
	/* What the file's variables may read from the environment. */
	names = stack_env_names(in->src, in->len);
	json_array_foreach(names, i, n) {
		v = getenv(json_string_value(n));
		json_object_set_new(in->env, json_string_value(n), v != NULL ?
		    json_string(v) : json_null());
	}
	json_decref(names);
	return 0;
}

json_t *
stack_input_envelope(struct stack_input *in, const char *name)
{
	json_t *src = json_stringn(in->src, in->len), *e;

	if (src == NULL)
		return NULL;
	e = json_pack("{s:o, s:s, s:O, s:O, s:O, s:O, s:b}", "source", src,
	    "file", in->file, "env", in->env, "files", in->files, "values",
	    in->values, "answers", in->answers, "interactive",
	    in->interactive);
	if (name != NULL)
		json_object_set_new(e, "name", json_string(name));
	return e;
}

/* path as the stack names it: from here, or from the stack file's folder. */
static char *
stack_input_path(const char *stack_file, const char *path, const char *base)
{
	const char *slash;
	char *p;

	if (strcmp(base, "stack") != 0 || *path == '/' ||
	    (slash = strrchr(stack_file, '/')) == NULL)
		return xstrdup(path);
	xasprintf(&p, "%.*s/%s", (int)(slash - stack_file), stack_file, path);
	return p;
}

/* ---- asking on the terminal ---------------------------------------------- */

/* One line from stdin, without its newline; echo off when secret. */
static char *
stack_read_line(int secret)
{
	struct termios old, raw;
	char buf[4096];
	int restore = 0;
	size_t n;

	if (secret && tcgetattr(STDIN_FILENO, &old) == 0) {
		raw = old;
		raw.c_lflag &= ~(tcflag_t)ECHO;
		restore = tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) == 0;
	}
	if (fgets(buf, sizeof buf, stdin) == NULL)
		buf[0] = '\0';
	if (restore) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return xstrdup(buf);
}

static void
stack_print_value(json_t *v)
{
	char *s;

	if (json_is_string(v))
		fputs(json_string_value(v), stderr);
	else if (v != NULL && !json_is_null(v)) {
		s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		fputs(s != NULL ? s : "", stderr);
		free(s);
	}
}

/* A question from the master, asked here: the answer (a new reference). */
static json_t *
stack_ask(json_t *need)
{
	const char *q = json_string_value(json_object_get(need, "question"));
	const char *type = json_string_value(json_object_get(need, "type"));
	json_t *def = json_object_get(need, "default");
	json_t *choices = json_object_get(need, "choices"), *c, *out;
	int multi = json_is_true(json_object_get(need, "multi"));
	int other = json_is_true(json_object_get(need, "other"));
	int echo = !json_is_false(json_object_get(need, "echo"));
	char *line, *tok, *save;
	size_t i;
	long k;

	for (;;) {
		if (json_array_size(choices) > 0) {
			json_array_foreach(choices, i, c) {
				fprintf(stderr, "  %zu) ", i + 1);
				stack_print_value(c);
				fputc('\n', stderr);
			}
			if (other && !multi)
				fprintf(stderr, "  (or type another value%s)\n",
				    strcmp(type, "service_link") == 0 ?
				    "; empty for none" : "");
		}
		fprintf(stderr, "%s", q != NULL ? q : "?");
		if (type != NULL && strcmp(type, "boolean") == 0)
			fprintf(stderr, " (y/n)");
		else if (multi)
			fprintf(stderr, " (numbers, separated by commas)");
		if (def != NULL && !json_is_null(def)) {
			fputs(" [", stderr);
			if (json_is_boolean(def))
				fputs(json_is_true(def) ? "y" : "n", stderr);
			else
				stack_print_value(def);
			fputc(']', stderr);
		}
		fputc(' ', stderr);
		fflush(stderr);
		line = stack_read_line(!echo);
		if (*line == '\0') {
			free(line);
			if (feof(stdin))
				return json_null();
			return json_incref(def != NULL ? def : json_null());
		}
		if (type != NULL && strcmp(type, "boolean") == 0) {
			if (strchr("yY", line[0]) != NULL) {
				free(line);
				return json_true();
			}
			if (strchr("nN", line[0]) != NULL) {
				free(line);
				return json_false();
			}
			free(line);
			fprintf(stderr, "  answer y or n\n");
			continue;
		}
		if (json_array_size(choices) == 0) {
			out = json_string(line);
			free(line);
			return out != NULL ? out : json_null();
		}
		if (multi) {
			out = json_array();
			for (tok = strtok_r(line, ", ", &save); tok != NULL;
			    tok = strtok_r(NULL, ", ", &save)) {
				k = strtol(tok, NULL, 10);
				if (k >= 1 && (size_t)k <= json_array_size(
				    choices))
					json_array_append(out,
					    json_array_get(choices,
					    (size_t)k - 1));
			}
			free(line);
			return out;
		}
		k = strtol(line, &tok, 10);
		if (*tok == '\0' && k >= 1 && (size_t)k <=
		    json_array_size(choices)) {
			free(line);
			return json_incref(json_array_get(choices,
			    (size_t)k - 1));
		}
		json_array_foreach(choices, i, c) {
			if (json_is_string(c) && strcmp(json_string_value(c),
			    line) == 0) {
				free(line);
				return json_incref(c);
			}
		}
		if (other) {
			out = json_string(line);
			free(line);
			return out != NULL ? out : json_null();
		}
		fprintf(stderr, "  \"%s\" is not one of the choices\n", line);
		free(line);
	}
}

/* Answer what the master needs; 1 when something new was added. */
static int
stack_input_answer(struct stack_input *in, json_t *needs, char **cause)
{
	const char *kind, *name, *base, *v;
	json_t *n, *content;
	char *data, *full;
	size_t i, len;
	int added = 0;

	json_array_foreach(needs, i, n) {
		kind = json_string_value(json_object_get(n, "kind"));
		if (kind == NULL)
			continue;
		if (strcmp(kind, "env") == 0) {
			name = json_string_value(json_object_get(n, "name"));
			if (name == NULL || json_object_get(in->env, name))
				continue;
			v = getenv(name);
			json_object_set_new(in->env, name, v != NULL ?
			    json_string(v) : json_null());
			added = 1;
		} else if (strcmp(kind, "file") == 0) {
			name = json_string_value(json_object_get(n, "path"));
			base = json_string_value(json_object_get(n, "base"));
			if (name == NULL || json_object_get(in->files, name))
				continue;
			full = stack_input_path(in->file, name, base != NULL ?
			    base : "cwd");
			if (util_read_file(full, STACK_MAX_FILE, &data,
			    &len) != 0) {
				char *e;

				xasprintf(&e, "%s: %s", full, strerror(errno));
				content = json_pack("{s:s}", "error", e);
				free(e);
			} else {
				content = json_stringn(data, len);
				if (content == NULL)
					content = json_pack("{s:s}", "error",
					    "not UTF-8 text");
				free(data);
			}
			free(full);
			json_object_set_new(in->files, name, content);
			added = 1;
		} else if (strcmp(kind, "prompt") == 0) {
			name = json_string_value(json_object_get(n,
			    "variable"));
			if (name == NULL || json_object_get(in->answers, name))
				continue;
			if (!in->interactive) {
				xasprintf(cause, "variable %s needs an answer "
				    "and there is no terminal to ask on (pass "
				    "-v %s=VALUE)", name, name);
				return -1;
			}
			json_object_set_new(in->answers, name, stack_ask(n));
			added = 1;
		}
	}
	return added;
}

/* Print the errors of a refused stack on stderr, one per line. */
static size_t
stack_input_errors(struct stack_input *in, json_t *body)
{
	json_t *errs = json_object_get(body, "errors"), *e;
	size_t i;

	json_array_foreach(errs, i, e) {
		const char *key = json_string_value(json_object_get(e, "key"));

		fprintf(stderr, "%s:%lld:%lld: %s%s%s\n", in->file,
		    (long long)json_integer_value(json_object_get(e, "line")),
		    (long long)json_integer_value(json_object_get(e,
		    "column")), key != NULL ? key : "", key != NULL &&
		    *key != '\0' ? ": " : "", json_string_value(
		    json_object_get(e, "message")));
	}
	return json_array_size(errs);
}

void
stack_input_warnings(struct stack_input *in, json_t *warnings)
{
	json_t *w;
	size_t i;

	json_array_foreach(warnings, i, w) {
		const char *key = json_string_value(json_object_get(w, "key"));

		fprintf(stderr, "%s:%lld:%lld: warning: %s%s%s\n", in->file,
		    (long long)json_integer_value(json_object_get(w, "line")),
		    (long long)json_integer_value(json_object_get(w,
		    "column")), key != NULL ? key : "", key != NULL &&
		    *key != '\0' ? ": " : "", json_string_value(
		    json_object_get(w, "message")));
	}
}

int
stack_input_send(struct stack_input *in, const char *method, const char *path,
    const char *name, json_t **reply, char **cause)
{
	struct client_reply r;
	json_t *env, *needs;
	char *text;
	size_t nerr;
	int round, rc;

	*reply = NULL;
	*cause = NULL;
	for (round = 0; round < STACK_MAX_ROUNDS; round++) {
		if ((env = stack_input_envelope(in, name)) == NULL) {
			xasprintf(cause, "%s: not UTF-8 text", in->file);
			return -1;
		}
		text = json_dumps(env, JSON_COMPACT);
		json_decref(env);
		rc = client_call(method, path, "application/json", text,
		    strlen(text), &r, cause);
		free(text);
		if (rc != 0)
			return -1;
		if (r.status >= 200 && r.status < 300) {
			*reply = r.json != NULL ? json_incref(r.json) :
			    json_null();
			client_reply_free(&r);
			return 0;
		}
		needs = r.status == 422 ? json_object_get(r.json, "needs") :
		    NULL;
		if (needs != NULL) {
			rc = stack_input_answer(in, needs, cause);
			client_reply_free(&r);
			if (rc < 0)
				return -1;
			if (rc == 0) {
				xasprintf(cause, "the master keeps asking for "
				    "the same input");
				return -1;
			}
			continue;
		}
		if (r.status == 422 && json_object_get(r.json, "errors")) {
			nerr = stack_input_errors(in, r.json);
			xasprintf(cause, "%s: %zu error%s; nothing was "
			    "installed", in->file, nerr, nerr == 1 ? "" : "s");
			client_reply_free(&r);
			return 1;
		}
		/* Any other refusal: its one-line reason. */
		*cause = client_reason(&r);
		client_reply_free(&r);
		return -1;
	}
	xasprintf(cause, "gave up after %d rounds of questions",
	    STACK_MAX_ROUNDS);
	return -1;
}
