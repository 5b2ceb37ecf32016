/*
 * cmd_node_ops.c - `berth node cordon|uncordon|drain|protect N`
 * (docs/nodes.md). Their rows are in cmd_table (cli/cmd.c). Each POSTs to
 * /v1/nodes/{g}/{node}/<op> and prints what the node is now; `drain`
 * then follows the drain to its end with a progress line (--no-wait
 * returns at once).
 */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/progress.h"

#include "common/units.h"
#include "common/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* POST op with body (may be NULL) to the node; *out the node's JSON. */
static int
ops_post(struct cli *c, const char *op, json_t *body, json_t **out)
{
	char *path = cli_path("nodes/%s/%s/%s", c->grid, c->args[0], op);
	char *cause = NULL;
	int rc;

	rc = client_json("POST", path, body, out, &cause);
	free(path);
	if (rc != 0)
		return cli_fail_cause(cause);
	return 0;
}

/* "cordoned", "draining", "drained" or "schedulable". */
static const char *
ops_state(json_t *n)
{
	json_t *d = json_object_get(n, "drain");

	if (json_is_object(d))
		return cli_str(d, "state");
	return json_is_true(json_object_get(n, "cordoned")) ? "cordoned" :
	    "schedulable";
}

/* Print the node's state after an operation (or its JSON). */
static int
ops_print(struct cli *c, json_t *n, const char *what)
{
	if (c->json)
		cli_print_json(n);
	else
		printf("node %s %s (%s%s)\n", cli_str(n, "name"), what,
		    ops_state(n), json_is_true(json_object_get(n,
		    "protected")) ? ", protected from scale-in" : "");
	json_decref(n);
	return 0;
}

int
cmd_node_cordon(struct cli *c)
{
	json_t *n;

	if (ops_post(c, "cordon", NULL, &n) != 0)
		return 1;
	return ops_print(c, n, "cordoned: no new work goes there");
}

int
cmd_node_uncordon(struct cli *c)
{
	json_t *n;

	if (ops_post(c, "uncordon", NULL, &n) != 0)
		return 1;
	return ops_print(c, n, "uncordoned: it takes work again");
}

int
cmd_node_approve(struct cli *c)
{
	json_t *n;

	if (ops_post(c, "approve", NULL, &n) != 0)
		return 1;
	return ops_print(c, n, "approved: it takes work from now on");
}

int
cmd_node_protect(struct cli *c)
{
	int off = cli_flag(c, CLI_OPT_OFF);
	json_t *n, *body = json_pack("{s:b}", "protected", !off);
	int rc = ops_post(c, "protect", body, &n);

	json_decref(body);
	if (rc != 0)
		return 1;
	return ops_print(c, n, off ? "is no longer protected from scale-in" :
	    "is protected: scale-in never chooses it");
}

/* What a drain still waits for: "2 instance(s), 1 job(s), 1 daemon(s)". */
static const char *
ops_left(json_t *d, char *buf, size_t len)
{
	json_t *l = json_object_get(d, "left");

	snprintf(buf, len, "%lld instance(s), %lld job(s), %lld daemon(s) "
	    "left", (long long)json_integer_value(json_object_get(l,
	    "instances")), (long long)json_integer_value(json_object_get(l,
	    "jobs")), (long long)json_integer_value(json_object_get(l,
	    "daemons")));
	return buf;
}

int
cmd_node_drain(struct cli *c)
{
	const char *dl = cli_value(c, CLI_OPT_DEADLINE);
	char *path, *cause = NULL, msg[256], left[128], last[128] = "";
	long long secs = 0;
	json_t *n, *d, *body = NULL;
	int tty = isatty(STDOUT_FILENO) && !c->json, tick = 0, rc;
	time_t t0 = time(NULL);

	if (dl != NULL) {
		if (units_parse_duration(dl, &secs, &cause) != 0) {
			rc = cli_fail("--deadline: %s", cause);
			free(cause);
			return rc;
		}
		if (secs < 1)
			return cli_fail("--deadline must be at least 1s");
		body = json_pack("{s:I}", "deadline_s", (json_int_t)secs);
	}
	rc = ops_post(c, "drain", body, &n);
	json_decref(body);
	if (rc != 0)
		return 1;
	if (cli_flag(c, CLI_OPT_NO_WAIT))
		return ops_print(c, n, "draining");
	if (c->json)
		progress_quiet(1);
	snprintf(msg, sizeof msg, "draining node %s", cli_str(n, "name"));
	step_start(msg);
	path = cli_path("nodes/%s/%s", c->grid, c->args[0]);
	for (;;) {
		d = json_object_get(n, "drain");
		if (!json_is_object(d)) {
			free(path);
			step_end(msg, 0, "the drain was cancelled (node "
			    "uncordoned)");
			json_decref(n);
			return 1;
		}
		if (strcmp(cli_str(d, "state"), "drained") == 0)
			break;
		ops_left(d, left, sizeof left);
		if (tty) {
			char line[400];

			snprintf(line, sizeof line, "%s: %s (%llds)", msg, left,
			    (long long)(time(NULL) - t0));
			step_tick(line, tick++);
		} else if (!c->json && strcmp(left, last) != 0) {
			printf("node %s: %s\n", cli_str(n, "name"), left);
			fflush(stdout);
		}
		snprintf(last, sizeof last, "%s", left);
		step_sleep_ms(500);
		json_decref(n);
		if (client_json("GET", path, NULL, &n, &cause) != 0) {
			free(path);
			step_end(msg, 0, cause);
			return cli_fail_cause(cause);
		}
	}
	free(path);
	d = json_object_get(n, "drain");
	snprintf(left, sizeof left, "%llds%s", (long long)(time(NULL) - t0),
	    json_is_true(json_object_get(d, "forced")) ? ", forced at its "
	    "deadline" : "");
	snprintf(msg + strlen(msg), sizeof msg - strlen(msg), " (%s)", left);
	step_end(msg, 1, NULL);
	if (c->json)
		cli_print_json(n);
	json_decref(n);
	return 0;
}
