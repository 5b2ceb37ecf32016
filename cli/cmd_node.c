/*
 * cmd_node.c - `berth node ...`: ls, show, label, rm. Their rows are in
 * cmd_table (cli/cmd.c); args.c has checked the words before these run.
 */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/table.h"

#include "common/units.h"
#include "common/util.h"
#include "common/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "2.1 GiB/23.5 GiB" (used/total, from the agent's stats) or the total. */
static const char *
node_memory(json_t *n, char *buf, size_t len)
{
	json_t *used = json_object_get(n, "mem_used");
	json_t *total = json_object_get(n, "mem_total");
	char a[32], b[32];

	if (!json_is_integer(total) || json_integer_value(total) <= 0)
		total = json_object_get(n, "memory");
	cli_bytes(json_integer_value(total), b, sizeof b);
	if (json_is_integer(used)) {
		cli_bytes(json_integer_value(used), a, sizeof a);
		snprintf(buf, len, "%s/%s", a, b);
	} else
		snprintf(buf, len, "%s", b);
	return buf;
}

/* "12%" of a number field, or "-". */
static const char *
node_pct(json_t *v, char *buf, size_t len)
{
	if (json_is_number(v))
		snprintf(buf, len, "%.0f%%", json_number_value(v));
	else
		snprintf(buf, len, "-");
	return buf;
}

/* The last minutes: the load averages and one line per minute. */
static void
node_show_load(json_t *n)
{
	json_t *avg = json_object_get(n, "load_avg");
	json_t *hist = json_object_get(n, "load_history"), *e;
	struct table *t;
	char p1[16], p5[16], p10[16], minute[20], cpu[16], mem[64], ctr[16];
	const char *at;
	double sum = 0;
	size_t i, cnt = 0;
	json_t *last = NULL;

	printf("load:           %s (1 min), %s (5 min), %s (10 min)\n",
	    node_pct(json_object_get(avg, "1m"), p1, sizeof p1),
	    node_pct(json_object_get(avg, "5m"), p5, sizeof p5),
	    node_pct(json_object_get(avg, "10m"), p10, sizeof p10));
	if (json_array_size(hist) == 0)
		return;
	printf("\nthe last minutes (CPU is the minute's mean; memory and "
	    "containers its last report):\n");
	t = table_new("MINUTE", "CPU", "MEMORY", "CONTAINERS", NULL);
	minute[0] = '\0';
	for (i = 0; i <= json_array_size(hist); i++) {
		e = json_array_get(hist, i);
		at = e != NULL ? cli_str(e, "at") : "";
		/* A new minute (or the end): the last one's row. */
		if (last != NULL && (e == NULL || strncmp(at, minute, 16) != 0)) {
			snprintf(cpu, sizeof cpu, "%.0f%%", sum / (double)cnt);
			node_memory(last, mem, sizeof mem);
			table_row(t, minute, cpu, mem, cli_int(last, "containers",
			    ctr, sizeof ctr), NULL);
			sum = 0;
			cnt = 0;
		}
		if (e == NULL)
			break;
		snprintf(minute, sizeof minute, "%.16s", at);
		sum += json_number_value(json_object_get(e, "cpu_pct"));
		cnt++;
		last = e;
	}
	table_print(t, stdout);
	table_free(t);
}

/*
 * "online", "offline", or "online, engine down" when its agent says so;
 * then ", cordoned", ", draining" or ", drained" (docs/nodes.md), and
 * ", protected".
 */
static const char *
node_status(json_t *n, char *buf, size_t len)
{
	json_t *d = json_object_get(n, "drain");

	snprintf(buf, len, "%s%s%s%s%s%s", cli_str(n, "status"),
	    strcmp(cli_str(n, "status"), "pending") == 0 &&
	    !json_is_true(json_object_get(n, "connected")) ? ", offline" : "",
	    strcmp(cli_str(n, "status"), "online") == 0 &&
	    strcmp(cli_str(n, "engine"), "down") == 0 ? ", engine down" : "",
	    json_is_object(d) ? ", " : json_is_true(json_object_get(n,
	    "cordoned")) ? ", cordoned" : "",
	    json_is_object(d) ? cli_str(d, "state") : "",
	    json_is_true(json_object_get(n, "protected")) ? ", protected" :
	    "");
	return buf;
}

/* A group's node: "burst", "burst, unneeded 6m/10m"; else "-". */
static const char *
node_group(json_t *n, char *buf, size_t len)
{
	json_t *g = json_object_get(n, "group");
	json_t *u = json_object_get(g, "unneeded_for_s");
	char a[32], b[32];

	if (!json_is_object(g))
		snprintf(buf, len, "-");
	else if (json_is_integer(u) && strcmp(cli_str(g, "state"),
	    "joined") == 0)
		snprintf(buf, len, "%s, unneeded %s/%s", cli_str(g, "name"),
		    units_format_duration(json_integer_value(u), a, sizeof a),
		    units_format_duration(json_integer_value(json_object_get(g,
		    "unneeded_s")), b, sizeof b));
	else
		snprintf(buf, len, "%s", cli_str(g, "name"));
	return buf;
}

int
cmd_node_ls(struct cli *c)
{
	struct table *t;
	json_t *arr, *n;
	char *path = cli_path("grids/%s/nodes", c->grid);
	char labels[512], cpus[16], mem[64], inst[16], seen[32], load[16];
	char ctrs[16], status[96], group[160];
	size_t i;
	int rc;

	if ((rc = cli_get(c, path, &arr)) != 0)
		return rc < 0;
	t = table_new("NAME", "STATUS", "LABELS", "CPUS", "CPU", "MEMORY",
	    "CONTAINERS", "INSTANCES", "LAST-SEEN", "GROUP", "ID", NULL);
	json_array_foreach(arr, i, n) {
		json_t *pct = json_object_get(n, "cpu_pct");

		if (json_is_number(pct))
			snprintf(load, sizeof load, "%.0f%%",
			    json_number_value(pct));
		else
			snprintf(load, sizeof load, "-");
		node_memory(n, mem, sizeof mem);
		table_row(t, cli_str(n, "name"), node_status(n, status,
		    sizeof status),
		    cli_join(json_object_get(n, "labels"), ",", labels,
		    sizeof labels), cli_int(n, "cpus", cpus, sizeof cpus),
		    load, mem, cli_int(n, "containers", ctrs, sizeof ctrs),
		    cli_int(n, "instances", inst, sizeof inst),
		    cli_age(n, "last_seen_at", seen, sizeof seen),
		    node_group(n, group, sizeof group), cli_str(n, "id"),
		    NULL);
	}
	table_print(t, stdout);
	table_free(t);
	json_decref(arr);
	return 0;
}

/* The grid network's other nodes: where this node's routes lead. */
static void
node_show_peers(json_t *n)
{
	json_t *peers = json_object_get(n, "peers"), *p;
	struct table *t;
	size_t i;

	if (!json_is_array(peers))
		return;
	printf("peers:          %zu\n", json_array_size(peers));
	if (json_array_size(peers) == 0)
		return;
	t = table_new("  NODE", "ADDRESS", "SUBNET", NULL);
	json_array_foreach(peers, i, p) {
		char name[80];

		snprintf(name, sizeof name, "  %s", cli_str(p, "name"));
		table_row(t, name, cli_str(p, "address"), cli_str(p, "subnet"),
		    NULL);
	}
	table_print(t, stdout);
	table_free(t);
}

int
cmd_node_show(struct cli *c)
{
	char *path = cli_path("nodes/%s/%s", c->grid, c->args[0]);
	char buf[512], mem[32];
	json_t *n;
	int rc;

	if ((rc = cli_get(c, path, &n)) != 0)
		return rc < 0;
	printf("name:           %s\n", cli_str(n, "name"));
	printf("id:             %s\n", cli_str(n, "id"));
	printf("grid:           %s\n", cli_str(n, "grid"));
	printf("status:         %s\n", node_status(n, buf, sizeof buf));
	printf("group:          %s\n", node_group(n, buf, sizeof buf));
	if (json_is_string(json_object_get(n, "pending_reason")))
		printf("pending:        %s (berth node approve %s admits it)\n",
		    cli_str(n, "pending_reason"), cli_str(n, "name"));
	if (json_is_object(json_object_get(n, "drain"))) {
		json_t *d = json_object_get(n, "drain");
		json_t *l = json_object_get(d, "left");

		printf("drain:          %s by %s, started %s, deadline %s%s\n",
		    cli_str(d, "state"), cli_str(d, "by"),
		    cli_str(d, "started_at"), cli_str(d, "deadline_at"),
		    json_is_true(json_object_get(d, "forced")) ?
		    " (passed: forced)" : "");
		printf("drain left:     %lld instance(s), %lld job(s), %lld "
		    "daemon(s), %lld stateful (stay)\n",
		    (long long)json_integer_value(json_object_get(l,
		    "instances")), (long long)json_integer_value(
		    json_object_get(l, "jobs")), (long long)json_integer_value(
		    json_object_get(l, "daemons")), (long long)
		    json_integer_value(json_object_get(l, "stateful")));
	}
	printf("docker engine:  %s%s%s\n", cli_str(n, "engine"),
	    json_is_string(json_object_get(n, "engine_error")) ? ": " : "",
	    json_is_string(json_object_get(n, "engine_error")) ?
	    cli_str(n, "engine_error") : "");
	printf("connected:      %s\n",
	    json_is_true(json_object_get(n, "connected")) ? "yes" : "no");
	printf("labels:         %s\n", cli_join(json_object_get(n, "labels"),
	    ", ", buf, sizeof buf));
	printf("cpus:           %s\n", cli_int(n, "cpus", buf, sizeof buf));
	printf("memory:         %s\n", cli_bytes(json_integer_value(
	    json_object_get(n, "memory")), mem, sizeof mem));
	printf("addresses:      %s\n", cli_join(json_object_get(n,
	    "addresses"), ", ", buf, sizeof buf));
	printf("peer address:   %s\n", cli_str(n, "peer_address"));
	printf("subnet:         %s\n", cli_str(n, "subnet"));
	printf("agent version:  %s\n", cli_str(n, "agent_version"));
	printf("docker version: %s\n", cli_str(n, "docker_version"));
	printf("os:             %s\n", cli_str(n, "os"));
	printf("cpu:            %s\n", node_pct(json_object_get(n, "cpu_pct"),
	    buf, sizeof buf));
	printf("memory used:    %s\n", node_memory(n, buf, sizeof buf));
	printf("containers:     %s\n", cli_int(n, "containers", buf,
	    sizeof buf));
	printf("instances:      %s\n", cli_int(n, "instances", buf,
	    sizeof buf));
	printf("last seen:      %s\n", cli_str(n, "last_seen_at"));
	printf("connected at:   %s\n", cli_str(n, "connected_at"));
	printf("disconnected:   %s\n", cli_str(n, "disconnected_at"));
	printf("created:        %s\n", cli_str(n, "created_at"));
	node_show_load(n);
	node_show_peers(n);
	json_decref(n);
	return 0;
}

/*
 * Merge "k=v" (set) and "k-" (remove) words into the node's labels and
 * send the whole list.
 */
int
cmd_node_label(struct cli *c)
{
	char **words = c->args + 1;
	int n = c->nargs - 1;
	char *path = cli_path("nodes/%s/%s", c->grid, c->args[0]), *cause;
	json_t *node, *labels, *out, *v, *body;
	const char *key;
	size_t i, klen;
	int w, drop, rc;

	if (client_json("GET", path, NULL, &node, &cause) != 0) {
		free(path);
		return cli_fail_cause(cause);
	}
	labels = json_object_get(node, "labels");
	out = json_array();
	json_array_foreach(labels, i, v) {
		key = json_string_value(v);
		klen = strcspn(key, "=");
		drop = 0;
		for (w = 0; w < n; w++) {
			size_t wk = strcspn(words[w], "=");

			if (words[w][wk] == '\0' && wk > 0 &&
			    words[w][wk - 1] == '-')
				wk--;
			if (wk == klen && strncmp(words[w], key, klen) == 0)
				drop = 1;
		}
		if (!drop)
			json_array_append(out, v);
	}
	for (w = 0; w < n; w++) {
		size_t len = strlen(words[w]);

		if (len > 1 && words[w][len - 1] == '-' &&
		    strchr(words[w], '=') == NULL)
			continue;
		if (!util_label_valid(words[w])) {
			json_decref(out);
			json_decref(node);
			free(path);
			return cli_fail("\"%s\" is not a key=value label (or "
			    "key- to remove one)", words[w]);
		}
		json_array_append_new(out, json_string(words[w]));
	}
	json_decref(node);
	body = json_pack("{s:o}", "labels", out);
	rc = client_json("PATCH", path, body, &node, &cause);
	json_decref(body);
	free(path);
	if (rc != 0)
		return cli_fail_cause(cause);
	if (c->json)
		cli_print_json(node);
	else {
		char buf[512];

		printf("%s: %s\n", cli_str(node, "name"), cli_join(
		    json_object_get(node, "labels"), ", ", buf, sizeof buf));
	}
	json_decref(node);
	return 0;
}

int
cmd_node_rm(struct cli *c)
{
	const char *name = c->args[0];
	char *path = cli_path("nodes/%s/%s", c->grid, name), *cause, *p2;
	json_t *n;
	int rc;

	/* Say what goes, and ask on a terminal. */
	if (client_json("GET", path, NULL, &n, &cause) == 0) {
		rc = cli_confirm(c, "Remove node %s (%s, %lld instance%s)? Its "
		    "id is revoked: its agent cannot join again under it.",
		    name, cli_str(n, "status"), (long long)json_integer_value(
		    json_object_get(n, "instances")), json_integer_value(
		    json_object_get(n, "instances")) == 1 ? "" : "s");
		json_decref(n);
		if (!rc) {
			free(path);
			return cli_fail("node %s not removed", name);
		}
	} else
		free(cause);	/* the DELETE says why */
	if (cli_flag(c, CLI_OPT_FORCE)) {
		xasprintf(&p2, "%s?force=1", path);
		free(path);
		path = p2;
	}
	rc = client_json("DELETE", path, NULL, NULL, &cause);
	free(path);
	if (rc != 0)
		return cli_fail_cause(cause);
	if (c->json) {
		n = json_pack("{s:s, s:b}", "node", name, "removed", 1);
		cli_print_json(n);
		json_decref(n);
	} else
		printf("node %s removed\n", name);
	return 0;
}
