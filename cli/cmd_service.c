/*
 * cmd_service.c - `berth service ...`: ls, show, scale, containers.
 *
 * Services are named STACK/SVC. Their rows are in cmd_table (cli/cmd.c);
 * args.c has checked the words before these run.
 */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/table.h"

#include "common/xmalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Split "stack/svc" into its parts (pointers into buf). 0, or -1 after
 * saying why.
 */
int
service_split(const char *in, char *buf, size_t len, char **stack, char **svc)
{
	char *slash;

	snprintf(buf, len, "%s", in);
	if ((slash = strchr(buf, '/')) == NULL || slash == buf ||
	    slash[1] == '\0' || strchr(slash + 1, '/') != NULL) {
		cli_fail("\"%s\" is not STACK/SERVICE", in);
		return -1;
	}
	*slash = '\0';
	*stack = buf;
	*svc = slash + 1;
	return 0;
}

int
cmd_service_ls(struct cli *c)
{
	struct table *t;
	json_t *arr, *v;
	char *path = cli_path("grids/%s/services", c->grid);
	char name[160], inst[32], run[16], aff[256];
	size_t i;
	int rc;

	if ((rc = cli_get(c, path, &arr)) != 0)
		return rc < 0;
	t = table_new("SERVICE", "STATE", "STRATEGY", "INSTANCES", "RUNNING",
	    "IMAGE", "AFFINITY", NULL);
	json_array_foreach(arr, i, v) {
		snprintf(name, sizeof name, "%s/%s", cli_str(v, "stack"),
		    cli_str(v, "name"));
		table_row(t, name, cli_str(v, "state"), cli_str(v, "strategy"),
		    cli_instances(v, inst, sizeof inst),
		    cli_int(v, "running", run, sizeof run),
		    cli_str(v, "image"), cli_join(json_object_get(v,
		    "affinity"), ",", aff, sizeof aff), NULL);
	}
	table_print(t, stdout);
	table_free(t);
	json_decref(arr);
	return 0;
}

int
cmd_service_show(struct cli *c)
{
	char buf[2048], name[256], *path, *stack, *svc;
	json_t *v, *spec, *e;
	size_t i;
	int rc;

	if (service_split(c->args[0], name, sizeof name, &stack, &svc) != 0)
		return 1;
	path = cli_path("services/%s/%s/%s", c->grid, stack, svc);
	if ((rc = cli_get(c, path, &v)) != 0)
		return rc < 0;
	spec = json_object_get(v, "spec");
	printf("service:    %s/%s\n", cli_str(v, "stack"), cli_str(v, "name"));
	printf("image:      %s\n", cli_str(v, "image"));
	printf("state:      %s\n", cli_str(v, "state"));
	printf("strategy:   %s\n", cli_str(v, "strategy"));
	printf("instances:  %s\n", cli_instances(v, buf, sizeof buf));
	printf("running:    %s\n", cli_int(v, "running", buf, sizeof buf));
	printf("stateful:   %s\n", json_is_true(json_object_get(v,
	    "stateful")) ? "yes" : "no");
	printf("revision:   %s\n", cli_int(v, "rev", buf, sizeof buf));
	printf("affinity:   %s\n", cli_join(json_object_get(v, "affinity"),
	    ", ", buf, sizeof buf));
	if (spec != NULL) {
		printf("cpu_shares: %s\n", cli_int(spec, "cpu_shares", buf,
		    sizeof buf));
		printf("mem_limit:  %s\n", cli_bytes(json_integer_value(
		    json_object_get(spec, "mem_limit")), buf, sizeof buf));
		if (json_is_array(json_object_get(spec, "entrypoint")))
			printf("entrypoint: %s\n", cli_shell_join(
			    json_object_get(spec, "entrypoint"), buf,
			    sizeof buf));
		printf("command:    %s\n", json_is_array(json_object_get(spec,
		    "command")) ? cli_shell_join(json_object_get(spec,
		    "command"), buf, sizeof buf) : "-");
		printf("env:        %s\n", json_array_size(json_object_get(spec,
		    "env")) == 0 ? "-" : "");
		json_array_foreach(json_object_get(spec, "env"), i, e)
			printf("  %s\n", json_string_value(e));
	}
	printf("updated:    %s\n", cli_str(v, "updated_at"));
	json_decref(v);
	return 0;
}

int
cmd_service_scale(struct cli *c)
{
	const char *count = c->args[1];
	char *path, *cause, *end, buf[16], name[256], *stack, *svc;
	json_t *body, *v;
	long n;
	int rc;

	if (service_split(c->args[0], name, sizeof name, &stack, &svc) != 0)
		return 1;
	errno = 0;
	n = strtol(count, &end, 10);
	if (errno != 0 || *end != '\0' || end == count || n < 0 || n > 10000)
		return cli_fail("\"%s\" is not an instance count (0 to 10000)",
		    count);
	path = cli_path("services/%s/%s/%s/scale", c->grid, stack, svc);
	body = json_pack("{s:i}", "instances", (int)n);
	rc = client_json("POST", path, body, &v, &cause);
	json_decref(body);
	free(path);
	if (rc != 0)
		return cli_fail_cause(cause);
	if (c->json)
		cli_print_json(v);
	else
		printf("%s/%s scaled to %s\n", stack, svc,
		    cli_int(v, "instances", buf, sizeof buf));
	json_decref(v);
	return 0;
}

/*
 * The state column: what the agent says, or "unknown (node offline)" and
 * "unknown (engine down)" when nobody can say (the reason in ERROR).
 */
static const char *
container_state(json_t *v, char *buf, size_t len)
{
	const char *st = cli_str(v, "state"), *why = cli_str(v, "error");

	if (strcmp(st, "unknown") != 0)
		snprintf(buf, len, "%s", st);
	else if (strcmp(why, "node offline") == 0)
		snprintf(buf, len, "unknown (node offline)");
	else
		snprintf(buf, len, "unknown (engine down)");
	return buf;
}

/* The error column: the offline case is said in STATE already. */
static const char *
container_error(json_t *v)
{
	const char *why = cli_str(v, "error");

	return strcmp(why, "node offline") == 0 ? "-" : why;
}

int
cmd_service_containers(struct cli *c)
{
	char *path, inst[16], rev[16], code[16], name[256], *stack, *svc;
	char state[64], restarts[16];
	struct table *t;
	json_t *arr, *v;
	size_t i;
	int rc;

	if (service_split(c->args[0], name, sizeof name, &stack, &svc) != 0)
		return 1;
	path = cli_path("services/%s/%s/%s/containers", c->grid, stack, svc);
	if ((rc = cli_get(c, path, &arr)) != 0)
		return rc < 0;
	t = table_new("NAME", "NODE", "INSTANCE", "REV", "STATE", "HEALTH",
	    "EXIT", "RESTARTS", "ERROR", NULL);
	json_array_foreach(arr, i, v) {
		table_row(t, cli_str(v, "name"), cli_str(v, "node"),
		    cli_int(v, "instance", inst, sizeof inst),
		    cli_int(v, "rev", rev, sizeof rev), container_state(v,
		    state, sizeof state), cli_str(v, "health"),
		    cli_int(v, "exit_code", code, sizeof code),
		    cli_int(v, "restarts", restarts, sizeof restarts),
		    container_error(v), NULL);
	}
	table_print(t, stdout);
	/* Why the ones that exited did: their last lines. */
	json_array_foreach(arr, i, v) {
		const char *out = json_string_value(json_object_get(v,
		    "last_output"));
		char *copy, *line, *save = NULL;

		if (out == NULL)
			continue;
		printf("\nlast output of %s (%s):\n", cli_str(v, "name"),
		    cli_str(v, "reported_state"));
		copy = xstrdup(out);
		for (line = strtok_r(copy, "\n", &save); line != NULL;
		    line = strtok_r(NULL, "\n", &save))
			printf("  %s\n", line);
		free(copy);
	}
	table_free(t);
	json_decref(arr);
	return 0;
}
