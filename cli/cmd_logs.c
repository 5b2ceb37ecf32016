/*
 * cmd_logs.c - `berth service logs`, `berth stack logs`, `berth container
 * logs`: print containers' output from the master's log store, and with
 * -f keep printing until Ctrl-C (docs/logs.md).
 *
 * The master streams NDJSON (one JSON object per line, an empty line as a
 * keep-alive); each object is printed as "<prefix> | <line>", the prefix
 * being the instance ("web-3"), padded to the widest seen and, on a
 * terminal, coloured per instance. On a terminal a line's control
 * characters are shown escaped, so no container can move the cursor or
 * change colours; into a pipe or a file the text goes as it was written.
 * --json prints the master's objects as they come. Pieces of a line too
 * long to travel whole are joined again while nothing else comes between.
 *
 * A follow whose connection drops (the master restarted) reconnects and
 * resumes after the last line printed (?after=<id>), so nothing is shown
 * twice or skipped. Ctrl-C ends it cleanly, with status 0.
 */
#include "cli/cli.h"
#include "cli/client.h"

#include "common/logfmt.h"
#include "common/util.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOGS_PREFIX_MAX	64
#define LOGS_COLOURS	6
#define LOGS_RETRY_S	1	/* between reconnects while following */

static volatile int logs_interrupted;

static void
logs_sigint(int sig)
{
	(void)sig;
	logs_interrupted = 1;
}

/* A prefix seen, and its colour. */
struct logs_prefix {
	char		 name[LOGS_PREFIX_MAX];
	int		 colour;
};

struct logs_out {
	int		 json;		/* print the objects as they come */
	int		 tty;		/* stdout is a terminal */
	int		 colour;	/* use colours */
	int		 timestamps;	/* print each line's time */
	struct buf	 pending;	/* an NDJSON line not yet complete */
	struct logs_prefix *pre;	/* prefixes seen */
	size_t		 npre;
	int		 width;		/* the widest prefix */
	char		 open[LOGS_PREFIX_MAX + 72]; /* container + stream of
					   an unfinished (partial) line */
	long long	 last_id;	/* of the last line printed */
	long long	 lines;		/* printed */
	struct buf	 line;		/* formatting scratch */
};

static const char *logs_colours[LOGS_COLOURS] = {
	"\033[36m", "\033[33m", "\033[32m", "\033[35m", "\033[34m", "\033[31m",
};

static const struct logs_prefix *
logs_prefix(struct logs_out *o, const char *name)
{
	size_t i;
	int w;

	for (i = 0; i < o->npre; i++)
		if (strcmp(o->pre[i].name, name) == 0)
			return &o->pre[i];
	o->pre = xreallocarray(o->pre, o->npre + 1, sizeof *o->pre);
	snprintf(o->pre[o->npre].name, sizeof o->pre[o->npre].name, "%s",
	    name);
	o->pre[o->npre].colour = (int)(o->npre % LOGS_COLOURS);
	w = (int)strlen(o->pre[o->npre].name);
	if (w > o->width)
		o->width = w;
	return &o->pre[o->npre++];
}

/* One object from the master. */
static void
logs_print_one(struct logs_out *o, json_t *v)
{
	const char *svc = json_string_value(json_object_get(v, "service"));
	const char *job = json_string_value(json_object_get(v, "job"));
	const char *ctr = json_string_value(json_object_get(v, "container"));
	const char *stream = json_string_value(json_object_get(v, "stream"));
	const char *ts = json_string_value(json_object_get(v, "ts"));
	json_t *line = json_object_get(v, "line");
	json_int_t inst = json_integer_value(json_object_get(v, "instance"));
	int partial = json_is_true(json_object_get(v, "partial"));
	int dropped = stream != NULL && strcmp(stream, "dropped") == 0;
	const struct logs_prefix *p;
	char name[LOGS_PREFIX_MAX], key[sizeof o->open];
	const char *text;
	size_t len;

	if (json_is_integer(json_object_get(v, "id")))
		o->last_id = json_integer_value(json_object_get(v, "id"));
	o->lines++;
	if (svc != NULL && *svc != '\0')
		snprintf(name, sizeof name, "%s-%lld", svc, (long long)inst);
	else if (job != NULL && *job != '\0')
		snprintf(name, sizeof name, "%s", job);
	else
		snprintf(name, sizeof name, "%s", ctr != NULL ? ctr : "?");
	text = json_string_value(line);
	len = text != NULL ? json_string_length(line) : 0;
	snprintf(key, sizeof key, "%s/%s", ctr != NULL ? ctr : "",
	    stream != NULL ? stream : "");

	o->line.len = 0;
	if (o->open[0] != '\0' && strcmp(o->open, key) == 0 && !dropped) {
		/* The rest of a line that came in pieces. */
	} else {
		if (o->open[0] != '\0')
			buf_append(&o->line, "\n", 1);
		p = logs_prefix(o, name);
		if (o->colour)
			buf_printf(&o->line, "%s%-*s |\033[0m ",
			    logs_colours[p->colour], o->width, name);
		else
			buf_printf(&o->line, "%-*s | ", o->width, name);
		if (o->timestamps && ts != NULL)
			buf_printf(&o->line, "%s ", ts);
		if (dropped && o->colour)
			buf_append(&o->line, "\033[1;33m", 7);
	}
	if (text != NULL) {
		if (o->tty)
			logfmt_terminal_safe(&o->line, text, len);
		else
			buf_append(&o->line, text, len);
	}
	if (dropped && o->colour)
		buf_append(&o->line, "\033[0m", 4);
	if (partial && !dropped)
		snprintf(o->open, sizeof o->open, "%s", key);
	else {
		o->open[0] = '\0';
		buf_append(&o->line, "\n", 1);
	}
	fwrite(o->line.data, 1, o->line.len, stdout);
}

/* Body bytes from the master: complete lines are printed. */
static int
logs_chunk(const char *p, size_t len, void *arg)
{
	struct logs_out *o = arg;
	const char *nl, *start;
	size_t n;
	json_t *v;

	buf_append(&o->pending, p, len);
	start = o->pending.data;
	while ((nl = memchr(start, '\n', o->pending.len - (size_t)(start -
	    o->pending.data))) != NULL) {
		n = (size_t)(nl - start);
		if (n > 0) {		/* an empty line is a keep-alive */
			v = json_loadb(start, n, JSON_ALLOW_NUL, NULL);
			if (v != NULL) {
				if (o->json) {
					fwrite(start, 1, n + 1, stdout);
					if (json_is_integer(json_object_get(v,
					    "id")))
						o->last_id = json_integer_value(
						    json_object_get(v, "id"));
					o->lines++;
				} else
					logs_print_one(o, v);
				json_decref(v);
			}
		}
		start = nl + 1;
	}
	n = o->pending.len - (size_t)(start - o->pending.data);
	memmove(o->pending.data, start, n);
	o->pending.len = n;
	fflush(stdout);
	return ferror(stdout) ? 1 : 0;	/* a closed pipe ends it */
}

/* Run one logs request; path is /v1/... without the query. */
static int
logs_run(struct cli *c, char *path)
{
	const char *tail = cli_value(c, CLI_OPT_TAIL);
	const char *since = cli_value(c, CLI_OPT_SINCE);
	int follow = cli_flag(c, CLI_OPT_FOLLOW) > 0;
	struct client_reply err;
	struct logs_out o;
	struct sigaction sa;
	struct buf q = { 0 };
	long status;
	long long n;
	int64_t ns;
	char *cause = NULL, *e, *url;
	int rc, reconnects = 0;

	if (tail != NULL && strcmp(tail, "all") != 0) {
		errno = 0;
		n = strtoll(tail, &e, 10);
		if (errno != 0 || *e != '\0' || e == tail || n < 0) {
			free(path);
			return cli_fail("--tail: \"%s\" is not a number of "
			    "lines (or \"all\")", tail);
		}
	}
	if (since != NULL && logfmt_parse_since(since, util_now_ms() *
	    1000000, &ns, &cause) != 0) {
		free(path);
		cli_fail("--since: %s", cause);
		free(cause);
		return 1;
	}
	memset(&o, 0, sizeof o);
	o.json = c->json;
	o.tty = isatty(STDOUT_FILENO);
	o.colour = o.tty && getenv("NO_COLOR") == NULL;
	o.timestamps = cli_flag(c, CLI_OPT_TIMESTAMPS) > 0;
	o.last_id = -1;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = logs_sigint;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	for (;;) {
		q.len = 0;
		buf_printf(&q, "%s?follow=%d", path, follow);
		if (o.last_id >= 0)
			buf_printf(&q, "&after=%lld", o.last_id);
		else {
			if (tail != NULL) {
				url = client_escape(tail);
				buf_printf(&q, "&tail=%s", url);
				free(url);
			}
			if (since != NULL) {
				url = client_escape(since);
				buf_printf(&q, "&since=%s", url);
				free(url);
			}
		}
		rc = client_stream(q.data, logs_chunk, &o, &logs_interrupted,
		    &status, &err, &cause);
		if (rc == 0 && (status < 200 || status >= 300)) {
			json_t *m = err.json != NULL ?
			    json_object_get(err.json, "error") : NULL;

			if (json_is_string(m))
				cli_fail("%s", json_string_value(m));
			else if (status == 401 || status == 403)
				cli_fail("not authorized (HTTP %ld): set "
				    "BERTH_TOKEN to the operator token", status);
			else
				cli_fail("the master answered HTTP %ld", status);
			client_reply_free(&err);
			rc = 1;
			break;
		}
		client_reply_free(&err);
		if (rc == 1 || logs_interrupted) {	/* Ctrl-C, closed pipe */
			rc = 0;
			break;
		}
		if (!follow) {
			if (rc < 0) {
				cli_fail_cause(cause);
				rc = 1;
			}
			break;
		}
		/* Following: the master went away; resume after the last line. */
		if (rc < 0) {
			if (reconnects++ == 0 || reconnects % 30 == 0)
				fprintf(stderr, "berth: %s; reconnecting\n",
				    cause);
			free(cause);
			cause = NULL;
		}
		/* Nothing printed yet: the same request again is exact. */
		sleep(LOGS_RETRY_S);
		if (logs_interrupted) {
			rc = 0;
			break;
		}
	}
	if (o.open[0] != '\0' && !o.json)
		fputc('\n', stdout);
	if (o.colour)
		fputs("\033[0m", stdout);
	fflush(stdout);
	buf_free(&q);
	buf_free(&o.pending);
	buf_free(&o.line);
	free(o.pre);
	free(path);
	return rc;
}

int
cmd_service_logs(struct cli *c)
{
	char buf[256], *slash, *path;

	snprintf(buf, sizeof buf, "%s", c->args[0]);
	if ((slash = strchr(buf, '/')) == NULL || slash == buf ||
	    slash[1] == '\0' || strchr(slash + 1, '/') != NULL)
		return cli_fail("\"%s\" is not STACK/SERVICE", c->args[0]);
	*slash = '\0';
	path = cli_path("services/%s/%s/%s/logs", c->grid, buf, slash + 1);
	return logs_run(c, path);
}

int
cmd_stack_logs(struct cli *c)
{
	return logs_run(c, cli_path("stacks/%s/%s/logs", c->grid, c->args[0]));
}

int
cmd_job_logs(struct cli *c)
{
	return logs_run(c, cli_path("jobs/%s/%s/logs", c->grid, c->args[0]));
}

int
cmd_container_logs(struct cli *c)
{
	return logs_run(c, cli_path("containers/%s/%s/logs", c->grid,
	    c->args[0]));
}
