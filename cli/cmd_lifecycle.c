/*
 * cmd_lifecycle.c - `berth service stop|start|restart|rm STACK/SVC` and
 * `berth stack stop|start|restart S` (docs/lifecycle.md).
 *
 * Each is one API call; then the CLI shows the outcome as it happens:
 * stop waits until no container of the service(s) runs any more, start
 * and restart follow the deploy the master began (the same lines as
 * `stack deploy`), rm returns once the master removed the service (the
 * agents then remove its containers). --json prints the final object
 * instead of progress lines.
 *
 * Their rows are in cmd_table (cli/cmd.c); args.c has checked the words.
 */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/progress.h"

#include "common/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LC_WAIT_S	900	/* give up watching a stop after this */

/* Running containers of the service (svc) or of the stack (svc NULL). */
static int
lc_running(struct cli *c, const char *stack, const char *svc, long *n,
    char **cause)
{
	char *path;
	json_t *arr, *v;
	const char *st;
	size_t i;
	int rc;

	if (svc != NULL)
		path = cli_path("services/%s/%s/%s/containers", c->grid, stack,
		    svc);
	else {
		char *esc = client_escape(stack), *p;

		p = cli_path("grids/%s/services", c->grid);
		xasprintf(&path, "%s?stack=%s", p, esc);
		free(p);
		free(esc);
	}
	rc = client_json("GET", path, NULL, &arr, cause);
	free(path);
	if (rc != 0)
		return -1;
	*n = 0;
	json_array_foreach(arr, i, v) {
		if (svc == NULL) {
			*n += (long)json_integer_value(json_object_get(v,
			    "running"));
			continue;
		}
		st = cli_str(v, "state");
		if (strcmp(st, "running") == 0 || strcmp(st, "starting") == 0)
			(*n)++;
	}
	json_decref(arr);
	return 0;
}

/* Wait until nothing of the service (or stack) runs. 0, or 1 after why. */
static int
lc_wait_stopped(struct cli *c, const char *msg, const char *stack,
    const char *svc)
{
	char *cause, why[64];
	long n = 0;
	int i;

	for (i = 0; i < LC_WAIT_S * 4; i++) {
		if (lc_running(c, stack, svc, &n, &cause) != 0) {
			step_end(msg, 0, cause);
			free(cause);
			return 1;
		}
		if (n == 0) {
			step_end(msg, 1, NULL);
			return 0;
		}
		step_tick(msg, i);
		step_sleep_ms(250);
	}
	snprintf(why, sizeof why, "%ld container(s) still running after "
	    "%ds", n, LC_WAIT_S);
	step_end(msg, 0, why);
	return 1;
}

/* The verb's words: "Stopping", ... */
static const char *
lc_doing(const char *verb)
{
	if (strcmp(verb, "stop") == 0)
		return "Stopping";
	if (strcmp(verb, "start") == 0)
		return "Starting";
	if (strcmp(verb, "restart") == 0)
		return "Restarting";
	return "Removing";
}

/*
 * POST (or DELETE for rm) the verb on the service svc of stack, or on the
 * stack when svc is NULL; then follow it.
 */
static int
lc_do(struct cli *c, const char *verb, const char *stack, const char *svc)
{
	char *path, *cause, msg[256];
	json_t *reply = NULL;
	int rc, rm = strcmp(verb, "rm") == 0;

	if (svc != NULL)
		path = rm ? cli_path("services/%s/%s/%s", c->grid, stack,
		    svc) : cli_path("services/%s/%s/%s/%s", c->grid, stack,
		    svc, verb);
	else
		path = cli_path("stacks/%s/%s/%s", c->grid, stack, verb);
	if (rm && cli_flag(c, CLI_OPT_FORCE)) {
		xasprintf(&cause, "%s?force=1", path);
		free(path);
		path = cause;
	}
	snprintf(msg, sizeof msg, "%s %s %s%s%s", lc_doing(verb),
	    svc != NULL ? "service" : "stack", stack, svc != NULL ? "/" : "",
	    svc != NULL ? svc : "");
	if (!c->json)
		step_start(msg);
	rc = client_json(rm ? "DELETE" : "POST", path, NULL, &reply, &cause);
	free(path);
	if (rc != 0) {
		if (c->json)
			return cli_fail_cause(cause);
		step_end(msg, 0, cause);
		free(cause);
		return 1;
	}
	if (c->json) {
		if (!json_is_null(reply))
			cli_print_json(reply);
		json_decref(reply);
		return 0;
	}
	if (strcmp(verb, "stop") == 0) {
		json_decref(reply);
		return lc_wait_stopped(c, msg, stack, svc);
	}
	step_end(msg, 1, NULL);
	if (rm) {
		json_decref(reply);
		return 0;
	}
	/* start, restart: the master began a deploy; follow it. */
	rc = stack_follow_deploy(c, stack, (long long)json_integer_value(
	    json_object_get(reply, "id")), NULL);
	json_decref(reply);
	return rc;
}

static int
lc_service(struct cli *c, const char *verb)
{
	char name[256], *stack, *svc;

	if (service_split(c->args[0], name, sizeof name, &stack, &svc) != 0)
		return 1;
	return lc_do(c, verb, stack, svc);
}

int
cmd_service_stop(struct cli *c)
{
	return lc_service(c, "stop");
}

int
cmd_service_start(struct cli *c)
{
	return lc_service(c, "start");
}

int
cmd_service_restart(struct cli *c)
{
	return lc_service(c, "restart");
}

int
cmd_service_rm(struct cli *c)
{
	return lc_service(c, "rm");
}

int
cmd_stack_stop(struct cli *c)
{
	return lc_do(c, "stop", c->args[0], NULL);
}

int
cmd_stack_start(struct cli *c)
{
	return lc_do(c, "start", c->args[0], NULL);
}

int
cmd_stack_restart(struct cli *c)
{
	return lc_do(c, "restart", c->args[0], NULL);
}
