/*
 * util.c - output and argument helpers shared by the CLI's commands.
 */
#include "cli/cli.h"
#include "cli/client.h"

#include "common/util.h"
#include "common/xmalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
cli_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("berth: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

int
cli_fail_cause(char *cause)
{
	cli_fail("%s", cause);
	free(cause);
	return 1;
}

int
cli_get(struct cli *c, char *path, json_t **out)
{
	char *cause;
	int rc;

	*out = NULL;
	rc = client_json("GET", path, NULL, out, &cause);
	free(path);
	if (rc != 0)
		return -cli_fail_cause(cause);
	if (c->json) {
		cli_print_json(*out);
		json_decref(*out);
		*out = NULL;
		return 1;
	}
	return 0;
}

int
cli_print_json(json_t *v)
{
	char *text = json_dumps(v, JSON_INDENT(2) | JSON_ENCODE_ANY |
	    JSON_REAL_PRECISION(10));

	printf("%s\n", text ? text : "null");
	free(text);
	return 0;
}

const char *
cli_str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : "-";
}

const char *
cli_int(json_t *o, const char *key, char *buf, size_t len)
{
	json_t *v = json_object_get(o, key);

	if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, len, "%.1f", json_real_value(v));
	else
		snprintf(buf, len, "-");
	return buf;
}

const char *
cli_bytes(long long bytes, char *buf, size_t len)
{
	static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes;
	size_t u = 0;

	if (bytes <= 0) {
		snprintf(buf, len, "-");
		return buf;
	}
	while (v >= 1024 && u + 1 < sizeof units / sizeof units[0]) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
	return buf;
}

const char *
cli_join(json_t *arr, const char *sep, char *buf, size_t len)
{
	size_t i, o = 0;
	json_t *v;

	buf[0] = '\0';
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v))
			continue;
		o += (size_t)snprintf(buf + o, o < len ? len - o : 0, "%s%s",
		    o ? sep : "", json_string_value(v));
	}
	if (buf[0] == '\0')
		snprintf(buf, len, "-");
	return buf;
}

const char *
cli_age(json_t *o, const char *key, char *buf, size_t len)
{
	json_t *v = json_object_get(o, key);
	int64_t t, d;

	if (!json_is_string(v) || (t = util_parse_time(json_string_value(v))) < 0) {
		snprintf(buf, len, "-");
		return buf;
	}
	d = (util_now_ms() - t) / 1000;
	if (d < 0)
		d = 0;
	if (d < 120)
		snprintf(buf, len, "%llds ago", (long long)d);
	else if (d < 7200)
		snprintf(buf, len, "%lldm ago", (long long)d / 60);
	else if (d < 172800)
		snprintf(buf, len, "%lldh ago", (long long)d / 3600);
	else
		snprintf(buf, len, "%lldd ago", (long long)d / 86400);
	return buf;
}

char *
cli_path(const char *fmt, ...)
{
	struct buf b = { 0 };
	va_list ap;
	const char *p;
	char *e;

	buf_append(&b, "/v1/", 4);
	va_start(ap, fmt);
	for (p = fmt; *p != '\0'; p++) {
		if (p[0] == '%' && p[1] == 's') {
			e = client_escape(va_arg(ap, const char *));
			buf_append(&b, e, strlen(e));
			free(e);
			p++;
		} else
			buf_append(&b, p, 1);
	}
	va_end(ap);
	return b.data;
}

int
cli_confirm(const struct cli *c, const char *fmt, ...)
{
	char line[64];
	va_list ap;

	if (cli_flag(c, CLI_OPT_YES) || !isatty(STDIN_FILENO) ||
	    !isatty(STDOUT_FILENO))
		return 1;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(" [y/N] ");
	fflush(stdout);
	if (fgets(line, sizeof line, stdin) == NULL)
		return 0;
	return line[0] == 'y' || line[0] == 'Y';
}

const char *
cli_instances(json_t *svc, char *buf, size_t len)
{
	const char *strategy = cli_str(svc, "strategy");

	cli_int(svc, "instances", buf, len);
	if (strcmp(strategy, "daemon") == 0 && strcmp(buf, "-") != 0)
		snprintf(buf + strlen(buf), len - strlen(buf), " per node");
	return buf;
}

/* Does word need quotes for a shell? */
static int
cli_needs_quotes(const char *w)
{
	if (*w == '\0')
		return 1;
	for (; *w != '\0'; w++) {
		if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789-_./=:,+@%", *w) == NULL)
			return 1;
	}
	return 0;
}

const char *
cli_shell_join(json_t *arr, char *buf, size_t len)
{
	struct buf b = { 0 };
	const char *w, *p;
	json_t *v;
	size_t i;

	json_array_foreach(arr, i, v) {
		if ((w = json_string_value(v)) == NULL)
			continue;
		if (b.len > 0)
			buf_append(&b, " ", 1);
		if (!cli_needs_quotes(w)) {
			buf_append(&b, w, strlen(w));
			continue;
		}
		/* 'single quotes', a quote itself as '\'' */
		buf_append(&b, "'", 1);
		for (p = w; *p != '\0'; p++) {
			if (*p == '\'')
				buf_append(&b, "'\\''", 4);
			else
				buf_append(&b, p, 1);
		}
		buf_append(&b, "'", 1);
	}
	snprintf(buf, len, "%s", b.data != NULL ? b.data : "-");
	buf_free(&b);
	return buf;
}
