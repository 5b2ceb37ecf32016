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
	char name[160], inst[16], run[16], aff[256];
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
		    cli_int(v, "instances", inst, sizeof inst),
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
	char buf[512], name[256], *path, *stack, *svc;
	json_t *v, *spec;
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
	printf("instances:  %s\n", cli_int(v, "instances", buf, sizeof buf));
	printf("running:    %s\n", cli_int(v, "running", buf, sizeof buf));
	printf("stateful:   %s\n", json_is_true(json_object_get(v,
	    "stateful")) ? "yes" : "no");
	printf("revision:   %s\n", cli_int(v, "rev", buf, sizeof buf));
	printf("affinity:   %s\n", cli_join(json_object_get(v, "affinity"),
	    ", ", buf, sizeof buf));
	if (spec != NULL) {
		printf("cpu_shares: %s\n", cli_int(spec, "cpu_shares", buf,
		    sizeof buf));
		printf("mem_limit:  %s\n", cli_int(spec, "mem_limit", buf,
		    sizeof buf));
		printf("command:    %s\n", json_is_array(json_object_get(spec,
		    "command")) ? cli_join(json_object_get(spec, "command"),
		    " ", buf, sizeof buf) : "-");
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

int
cmd_service_containers(struct cli *c)
{
	char *path, inst[16], rev[16], code[16], name[256], *stack, *svc;
	struct table *t;
	json_t *arr, *v;
	size_t i;
	int rc;

	if (service_split(c->args[0], name, sizeof name, &stack, &svc) != 0)
		return 1;
	path = cli_path("services/%s/%s/%s/containers", c->grid, stack, svc);
	if ((rc = cli_get(c, path, &arr)) != 0)
		return rc < 0;
	t = table_new("NAME", "NODE", "INSTANCE", "REV", "STATE", "EXIT",
	    "ERROR", NULL);
	json_array_foreach(arr, i, v) {
		table_row(t, cli_str(v, "name"), cli_str(v, "node"),
		    cli_int(v, "instance", inst, sizeof inst),
		    cli_int(v, "rev", rev, sizeof rev), cli_str(v, "state"),
		    cli_int(v, "exit_code", code, sizeof code),
		    cli_str(v, "error"), NULL);
	}
	table_print(t, stdout);
	table_free(t);
	json_decref(arr);
	return 0;
}
