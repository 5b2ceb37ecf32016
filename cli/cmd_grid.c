/*
 * cmd_grid.c - `berth grid ...`: ls, show, create, set, rm, token,
 * cloud-config, events. Their rows (words, bounds, options, help) are in
 * cmd_table (cli/cmd.c); args.c has checked the words before these run.
 */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/cmd.h"
#include "cli/table.h"

#include "common/grid_settings.h"
#include "common/util.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
cmd_grid_ls(struct cli *c)
{
	struct table *t;
	json_t *arr, *g, *s;
	char *cause, n1[16], n2[16], n3[16], a[16], b[16], d[16];
	size_t i;

	if (client_json("GET", "/v1/grids", NULL, &arr, &cause) != 0)
		return cli_fail_cause(cause);
	if (c->json)
		return cli_print_json(arr), json_decref(arr), 0;
	t = table_new("NAME", "NODES", "ONLINE", "STACKS", "HEARTBEAT",
	    "OFFLINE-AFTER", "REMOVAL", NULL);
	json_array_foreach(arr, i, g) {
		s = json_object_get(g, "settings");
		snprintf(a, sizeof a, "%llds", (long long)json_integer_value(
		    json_object_get(s, "heartbeat_interval_s")));
		snprintf(b, sizeof b, "%llds", (long long)json_integer_value(
		    json_object_get(s, "offline_after_s")));
		snprintf(d, sizeof d, "%llds", (long long)json_integer_value(
		    json_object_get(s, "ephemeral_removal_s")));
		table_row(t, cli_str(g, "name"), cli_int(g, "nodes", n1,
		    sizeof n1), cli_int(g, "nodes_online", n2, sizeof n2),
		    cli_int(g, "stacks", n3, sizeof n3), a, b, d, NULL);
	}
	table_print(t, stdout);
	table_free(t);
	json_decref(arr);
	return 0;
}

static int
grid_show(struct cli *c, const char *name)
{
	json_t *g, *s, *v;
	const char *key;
	char *path = cli_path("grids/%s", name), buf[32];
	int rc;

	if ((rc = cli_get(c, path, &g)) != 0)
		return rc < 0;
	printf("name:        %s\ncreated:     %s\nsettings:\n",
	    cli_str(g, "name"), cli_str(g, "created_at"));
	s = json_object_get(g, "settings");
	json_object_foreach(s, key, v) {
		if (json_is_boolean(v))
			printf("  %-22s %s\n", key, json_is_true(v) ? "true" :
			    "false");
		else if (json_is_string(v))	/* network_cidr, webhook_url */
			printf("  %-22s %s\n", key, json_string_value(v));
		else
			printf("  %-22s %s\n", key, cli_int(s, key, buf,
			    sizeof buf));
	}
	json_decref(g);
	return 0;
}

int
cmd_grid_show(struct cli *c)
{
	return grid_show(c, c->args[0]);
}

int
cmd_grid_create(struct cli *c)
{
	const char *name = c->args[0];
	json_t *body = json_pack("{s:s}", "name", name), *g;
	char *cause;

	if (client_json("POST", "/v1/grids", body, &g, &cause) != 0) {
		json_decref(body);
		return cli_fail_cause(cause);
	}
	json_decref(body);
	if (c->json)
		return cli_print_json(g), json_decref(g), 0;
	printf("grid %s created\ntoken: %s\n", name, cli_str(g, "token"));
	json_decref(g);
	return 0;
}

/*
 * grid set G key=value ...: a key the grid settings table knows is read by
 * its type and unit ("ephemeral_removal_s=20m", "dry_run=on"); an unknown
 * key goes to the master as a number or boolean, and the master's answer
 * (it may be newer than this CLI) says whether it exists.
 */
int
cmd_grid_set(struct cli *c)
{
	const char *name = c->args[0];
	char **kv = c->args + 1;
	int n = c->nargs - 1;
	const struct setting *row;
	json_t *settings = json_object(), *body, *g, *v;
	char *path, *cause, *eq, *end, key[64];
	long long num;
	int i, rc;

	for (i = 0; i < n; i++) {
		if ((eq = strchr(kv[i], '=')) == NULL ||
		    (size_t)(eq - kv[i]) >= sizeof key) {
			json_decref(settings);
			return cli_fail("\"%s\" is not key=value", kv[i]);
		}
		snprintf(key, sizeof key, "%.*s", (int)(eq - kv[i]), kv[i]);
		if ((row = settings_find(&grid_settings_table, key)) != NULL) {
			if (settings_value_from_text(row, eq + 1, &v,
			    &cause) != 0) {
				json_decref(settings);
				return cli_fail_cause(cause);
			}
			json_object_set_new(settings, key, v);
			continue;
		}
		if (strcmp(eq + 1, "true") == 0 || strcmp(eq + 1, "false") == 0) {
			json_object_set_new(settings, key,
			    json_boolean(eq[1] == 't'));
			continue;
		}
		errno = 0;
		num = strtoll(eq + 1, &end, 10);
		if (errno != 0 || *end != '\0' || end == eq + 1) {
			json_decref(settings);
			return cli_fail("%s: \"%s\" is not a number", key, eq + 1);
		}
		json_object_set_new(settings, key, json_integer(num));
	}
	body = json_pack("{s:o}", "settings", settings);
	path = cli_path("grids/%s", name);
	rc = client_json("PATCH", path, body, &g, &cause);
	free(path);
	json_decref(body);
	if (rc != 0)
		return cli_fail_cause(cause);
	json_decref(g);
	return grid_show(c, name);
}

int
cmd_grid_rm(struct cli *c)
{
	const char *name = c->args[0];
	char *path = cli_path("grids/%s", name), *cause;
	int rc = client_json("DELETE", path, NULL, NULL, &cause);

	free(path);
	if (rc != 0)
		return cli_fail_cause(cause);
	printf("grid %s removed\n", name);
	return 0;
}

int
cmd_grid_token(struct cli *c)
{
	char *path = cli_path("grids/%s/token", c->args[0]), *cause;
	json_t *t;
	int rc = client_json(cli_flag(c, CLI_OPT_ROTATE) ? "POST" : "GET", path,
	    NULL, &t, &cause);

	free(path);
	if (rc != 0)
		return cli_fail_cause(cause);
	if (c->json)
		cli_print_json(t);
	else
		printf("%s\n", cli_str(t, "token"));
	json_decref(t);
	return 0;
}

int
cmd_grid_cloud_config(struct cli *c)
{
	const char *node = cli_value(c, CLI_OPT_NAME);	/* one static node */
	const char *group = cli_value(c, CLI_OPT_GROUP);	/* a node group's */
	const char **labels;
	struct client_reply r;
	struct buf q = { 0 };
	char *path, *cause, *e;
	int i, n, rc;

	labels = cli_values(c, CLI_OPT_LABEL, &n);
	path = cli_path("grids/%s/cloud-config", c->args[0]);
	buf_append(&q, path, strlen(path));
	free(path);
	for (i = 0; i < n; i++) {
		if (!util_label_valid(labels[i])) {
			buf_free(&q);
			return cli_fail("--label %s is not key=value", labels[i]);
		}
		e = client_escape(labels[i]);
		buf_printf(&q, "%clabel=%s", i == 0 ? '?' : '&', e);
		free(e);
	}
	if (node != NULL) {
		e = client_escape(node);
		buf_printf(&q, "%cname=%s", n == 0 ? '?' : '&', e);
		free(e);
	}
	if (group != NULL) {
		e = client_escape(group);
		buf_printf(&q, "%cgroup=%s", n == 0 && node == NULL ? '?' : '&',
		    e);
		free(e);
	}
	rc = client_do("GET", q.data, NULL, NULL, 0, &r, &cause);
	buf_free(&q);
	if (rc != 0)
		return cli_fail_cause(cause);
	fwrite(r.body, 1, r.len, stdout);
	client_reply_free(&r);
	return 0;
}

static void
grid_print_events(json_t *arr, int json, long long *last)
{
	json_t *e;
	size_t i;

	json_array_foreach(arr, i, e) {
		if (json) {
			char *text = json_dumps(e, JSON_COMPACT);

			printf("%s\n", text);
			free(text);
		} else
			printf("%-24s  %-16s  %-20s  %s\n", cli_str(e, "at"),
			    cli_str(e, "type"), cli_str(e, "subject"),
			    cli_str(e, "message"));
		*last = json_integer_value(json_object_get(e, "id"));
	}
	fflush(stdout);
}

int
cmd_grid_events(struct cli *c)
{
	const char *name = c->args[0];
	int follow = cli_flag(c, CLI_OPT_FOLLOW) > 0;
	char *path, *cause;
	long long last = 0;
	json_t *arr;

	path = cli_path("grids/%s/events?limit=100", name);
	if (client_json("GET", path, NULL, &arr, &cause) != 0) {
		free(path);
		return cli_fail_cause(cause);
	}
	free(path);
	if (c->json && !follow) {
		cli_print_json(arr);
		json_decref(arr);
		return 0;
	}
	if (!c->json)
		printf("%-24s  %-16s  %-20s  %s\n", "TIME", "TYPE", "SUBJECT",
		    "MESSAGE");
	grid_print_events(arr, c->json, &last);
	json_decref(arr);
	while (follow) {
		sleep(1);
		path = cli_path("grids/%s/events?limit=1000&after=", name);
		xasprintf(&cause, "%s%lld", path, last);
		free(path);
		path = cause;
		if (client_json("GET", path, NULL, &arr, &cause) != 0) {
			free(path);
			return cli_fail_cause(cause);
		}
		free(path);
		grid_print_events(arr, c->json, &last);
		json_decref(arr);
	}
	return 0;
}

/*
 * More `grid set --help`: the settings. A stand-in list, as docs/api.md
 * has it: once common/ holds the grid-settings table (issue 11, point 1)
 * this prints from it instead. The master stays the judge of names and
 * bounds either way.
 */
void
cmd_grid_set_help(FILE *f)
{
	fputs("Settings (key=value; seconds also as 30s, 10m, 1h30m):\n", f);
	settings_usage(&grid_settings_table, f, "  ");
}
