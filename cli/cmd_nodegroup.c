/*
 * cmd_nodegroup.c - berth nodegroup ls|show|create|set|rm|machines
 * (docs/autoscaling.md). Settings are key=value words read through the
 * node group settings table (durations "15m", sizes "2GiB"), as `grid
 * set` reads the grid's; the master checks them again and names every
 * bad one.
 */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/table.h"

#include "common/nodegroup_settings.h"
#include "common/units.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* "key=value" words into a settings object: 0, or 1 after printing why. */
static int
ng_words(char **kv, int n, json_t *settings)
{
	const struct setting *row;
	char *eq, *cause, key[64];
	json_t *v;
	int i;

	for (i = 0; i < n; i++) {
		if ((eq = strchr(kv[i], '=')) == NULL ||
		    (size_t)(eq - kv[i]) >= sizeof key)
			return cli_fail("\"%s\" is not key=value", kv[i]);
		snprintf(key, sizeof key, "%.*s", (int)(eq - kv[i]), kv[i]);
		if ((row = settings_find(&nodegroup_settings_table,
		    key)) == NULL) {
			/* The master may know it; it says if not. */
			json_object_set_new(settings, key, json_string(eq + 1));
			continue;
		}
		if (settings_value_from_text(row, eq + 1, &v, &cause) != 0)
			return cli_fail_cause(cause);
		json_object_set_new(settings, key, v);
	}
	return 0;
}

/* An --min/--max value: 0, or 1 after printing why. */
static int
ng_count(struct cli *c, enum cli_opt o, const char *name, json_t *body)
{
	const char *v = cli_value(c, o);
	char *end;
	long long n;

	if (v == NULL)
		return 0;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno != 0 || *end != '\0' || end == v || n < 0)
		return cli_fail("--%s: \"%s\" is not a count", name, v);
	json_object_set_new(body, name, json_integer(n));
	return 0;
}

static const char *
ng_dur(json_t *s, const char *key, char *buf, size_t len)
{
	return units_format_duration(json_integer_value(json_object_get(s,
	    key)), buf, len);
}

int
cmd_nodegroup_ls(struct cli *c)
{
	struct table *t;
	json_t *arr, *g, *s;
	char *path = cli_path("grids/%s/nodegroups", c->grid);
	char a[16], b[16], d[16], p[16], cpu[16], mem[32], tmo[32];
	size_t i;
	int rc;

	if ((rc = cli_get(c, path, &arr)) != 0)
		return rc < 0;
	t = table_new("NAME", "PROVIDER", "SIZE", "MIN", "MAX", "PRIORITY",
	    "CPUS", "MEMORY", "PROVISION-TIMEOUT", NULL);
	json_array_foreach(arr, i, g) {
		s = json_object_get(g, "settings");
		snprintf(p, sizeof p, "%lld", (long long)json_integer_value(
		    json_object_get(s, "priority")));
		snprintf(cpu, sizeof cpu, "%lld", (long long)json_integer_value(
		    json_object_get(s, "cpus")));
		if (json_integer_value(json_object_get(s, "memory")) > 0)
			cli_bytes(json_integer_value(json_object_get(s,
			    "memory")), mem, sizeof mem);
		else
			snprintf(mem, sizeof mem, "-");
		table_row(t, cli_str(g, "name"), cli_str(g, "provider"),
		    cli_int(g, "size", a, sizeof a), cli_int(g, "min", b,
		    sizeof b), cli_int(g, "max", d, sizeof d), p, cpu, mem,
		    ng_dur(s, "provision_timeout_s", tmo, sizeof tmo), NULL);
	}
	table_print(t, stdout);
	table_free(t);
	json_decref(arr);
	return 0;
}

static int
ng_show(struct cli *c, const char *name)
{
	json_t *g, *s, *v;
	const char *key;
	char *path = cli_path("nodegroups/%s/%s", c->grid, name), buf[64];
	char lab[1024];
	int rc;

	if ((rc = cli_get(c, path, &g)) != 0)
		return rc < 0;
	printf("name:      %s\nprovider:  %s\nsize:      %s (min %s, max %s)\n",
	    cli_str(g, "name"), cli_str(g, "provider"), cli_int(g, "size",
	    buf, 16), cli_int(g, "min", buf + 16, 16), cli_int(g, "max",
	    buf + 32, 16));
	printf("labels:    ephemeral=true, berth.group=%s%s%s\n",
	    cli_str(g, "name"), json_array_size(json_object_get(g,
	    "labels")) ? ", " : "", cli_join(json_object_get(g, "labels"),
	    ", ", lab, sizeof lab));
	if (json_object_get(g, "backoff_until") != NULL)
		printf("backoff:   until %s\n", cli_str(g, "backoff_until"));
	printf("settings:\n");
	s = json_object_get(g, "settings");
	json_object_foreach(s, key, v) {
		if (json_is_boolean(v))
			printf("  %-22s %s\n", key, json_is_true(v) ? "true" :
			    "false");
		else if (json_is_integer(v))
			printf("  %-22s %lld\n", key,
			    (long long)json_integer_value(v));
		else
			printf("  %-22s \"%s\"\n", key, json_string_value(v));
	}
	json_decref(g);
	return 0;
}

int
cmd_nodegroup_show(struct cli *c)
{
	return ng_show(c, c->args[0]);
}

int
cmd_nodegroup_create(struct cli *c)
{
	const char **labels, **sets;
	json_t *body, *arr, *settings, *g;
	char *path, *cause;
	int i, nl, ns, rc;

	body = json_pack("{s:s, s:s}", "name", c->args[0], "provider",
	    cli_value(c, CLI_OPT_PROVIDER) != NULL ?
	    cli_value(c, CLI_OPT_PROVIDER) : "");
	if (ng_count(c, CLI_OPT_MIN, "min", body) != 0 ||
	    ng_count(c, CLI_OPT_MAX, "max", body) != 0) {
		json_decref(body);
		return 1;
	}
	labels = cli_values(c, CLI_OPT_LABEL, &nl);
	if (nl > 0) {
		arr = json_array();
		for (i = 0; i < nl; i++)
			json_array_append_new(arr, json_string(labels[i]));
		json_object_set_new(body, "labels", arr);
	}
	sets = cli_values(c, CLI_OPT_SET, &ns);
	if (ns > 0) {
		settings = json_object();
		json_object_set_new(body, "settings", settings);
		if (ng_words((char **)sets, ns, settings) != 0) {
			json_decref(body);
			return 1;
		}
	}
	path = cli_path("grids/%s/nodegroups", c->grid);
	rc = client_json("POST", path, body, &g, &cause);
	free(path);
	json_decref(body);
	if (rc != 0)
		return cli_fail_cause(cause);
	if (c->json)
		return cli_print_json(g), json_decref(g), 0;
	printf("node group %s created (%s, min %lld, max %lld)\n", c->args[0],
	    cli_str(g, "provider"), (long long)json_integer_value(
	    json_object_get(g, "min")), (long long)json_integer_value(
	    json_object_get(g, "max")));
	json_decref(g);
	return 0;
}

int
cmd_nodegroup_set(struct cli *c)
{
	json_t *settings = json_object(), *body, *g, *v;
	char *path, *cause;
	int rc;

	if (ng_words(c->args + 1, c->nargs - 1, settings) != 0) {
		json_decref(settings);
		return 1;
	}
	body = json_object();
	/* labels=a=b,c=d replaces the group's labels. */
	if ((v = json_object_get(settings, "labels")) != NULL &&
	    json_is_string(v)) {
		json_t *arr = json_array();
		char *copy = xstrdup(json_string_value(v)), *w, *save = NULL;

		for (w = strtok_r(copy, ",", &save); w != NULL;
		    w = strtok_r(NULL, ",", &save))
			json_array_append_new(arr, json_string(w));
		free(copy);
		json_object_set_new(body, "labels", arr);
		json_object_del(settings, "labels");
	}
	if (json_object_size(settings) > 0 || json_object_size(body) == 0)
		json_object_set(body, "settings", settings);
	json_decref(settings);
	path = cli_path("nodegroups/%s/%s", c->grid, c->args[0]);
	rc = client_json("PATCH", path, body, &g, &cause);
	free(path);
	json_decref(body);
	if (rc != 0)
		return cli_fail_cause(cause);
	json_decref(g);
	return ng_show(c, c->args[0]);
}

int
cmd_nodegroup_rm(struct cli *c)
{
	char *path = cli_path("nodegroups/%s/%s", c->grid, c->args[0]);
	char *cause;
	int rc;

	rc = client_json("DELETE", path, NULL, NULL, &cause);
	free(path);
	if (rc != 0)
		return cli_fail_cause(cause);
	if (!c->json)
		printf("node group %s removed\n", c->args[0]);
	return 0;
}

int
cmd_nodegroup_machines(struct cli *c)
{
	struct table *t;
	json_t *arr, *m;
	char *path = cli_path("nodegroups/%s/%s/machines", c->grid,
	    c->args[0]), age[32], pid[16], node[16];
	size_t i;
	int rc;

	if ((rc = cli_get(c, path, &arr)) != 0)
		return rc < 0;
	t = table_new("NAME", "STATE", "NODE", "PID", "SINCE", "REASON", NULL);
	json_array_foreach(arr, i, m) {
		snprintf(node, sizeof node, "%.12s", cli_str(m, "node_id"));
		table_row(t, cli_str(m, "name"), cli_str(m, "state"), node,
		    cli_int(m, "pid", pid, sizeof pid), cli_age(m, "state_at",
		    age, sizeof age), cli_str(m, "reason"), NULL);
	}
	table_print(t, stdout);
	table_free(t);
	json_decref(arr);
	return 0;
}

/*
 * What the next scheduling round would do for the grid's groups (or G's),
 * computed by the scheduler without a write or a provider call.
 */
int
cmd_nodegroup_plan(struct cli *c)
{
	struct table *t;
	json_t *plan, *d, *g;
	char *path, what[96];
	const char *grp;
	size_t i;
	int rc;

	if (c->nargs > 0)
		path = cli_path("nodegroups/%s/%s/plan", c->grid, c->args[0]);
	else
		path = cli_path("grids/%s/nodegroups/plan", c->grid);
	if ((rc = cli_get(c, path, &plan)) != 0)
		return rc < 0;
	json_array_foreach(json_object_get(plan, "groups"), i, g) {
		printf("%s: %lld of %lld..%lld%s%s%s%s\n", cli_str(g, "name"),
		    (long long)json_integer_value(json_object_get(g, "size")),
		    (long long)json_integer_value(json_object_get(g, "min")),
		    (long long)json_integer_value(json_object_get(g, "max")),
		    json_is_true(json_object_get(g, "paused")) ? ", paused" :
		    "", json_is_true(json_object_get(g, "dry_run")) ?
		    ", dry-run" : "", json_object_get(g, "backoff_until") ?
		    ", backing off until " : "", json_object_get(g,
		    "backoff_until") ? cli_str(g, "backoff_until") : "");
	}
	if (json_array_size(json_object_get(plan, "decisions")) == 0) {
		printf("nothing to do\n");
		json_decref(plan);
		return 0;
	}
	t = table_new("GROUP", "ACTION", "WHAT", "REASON", NULL);
	json_array_foreach(json_object_get(plan, "decisions"), i, d) {
		grp = cli_str(d, "group");
		if (json_object_get(d, "count") != NULL)
			snprintf(what, sizeof what, "%lld machine(s)",
			    (long long)json_integer_value(json_object_get(d,
			    "count")));
		else
			snprintf(what, sizeof what, "%s", cli_str(d,
			    "machine"));
		table_row(t, grp[0] != '\0' ? grp : "(grid)", cli_str(d,
		    "action"), what[0] != '\0' ? what : "-", cli_str(d,
		    "reason"), NULL);
	}
	table_print(t, stdout);
	table_free(t);
	json_decref(plan);
	return 0;
}

void
cmd_nodegroup_set_help(FILE *f)
{
	fputs("Settings (key=value; seconds also as 30s, 10m, 1h30m; sizes "
	    "as 2GiB), and\nlabels=k=v,k=v to replace the group's labels:\n",
	    f);
	settings_usage(&nodegroup_settings_table, f, "  ");
}
