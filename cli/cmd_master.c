/*
 * cmd_master.c - berth master ls | rm | join-token: the masters of a
 * cluster (docs/ha.md; /v1/masters in master/api_masters.c).
 */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/table.h"

#include "common/units.h"
#include "common/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
cmd_master_ls(struct cli *c)
{
	struct table *t;
	json_t *arr, *m;
	char *cause;
	size_t i;

	if (client_json("GET", "/v1/masters", NULL, &arr, &cause) != 0)
		return cli_fail_cause(cause);
	if (c->json)
		return cli_print_json(arr), json_decref(arr), 0;
	t = table_new("ID", "ADDRESS", "API", "ROLE", "ONLINE", NULL);
	json_array_foreach(arr, i, m) {
		table_row(t, cli_str(m, "id"),
		    cli_str(m, "address")[0] ? cli_str(m, "address") : "-",
		    cli_str(m, "api_url")[0] ? cli_str(m, "api_url") : "-",
		    cli_str(m, "role"), json_is_true(json_object_get(m,
		    "online")) ? "yes" : "no", NULL);
	}
	table_print(t, stdout);
	table_free(t);
	json_decref(arr);
	return 0;
}

int
cmd_master_rm(struct cli *c)
{
	char *path, *cause;
	json_t *out;

	if (!cli_confirm(c, "remove master %s from the cluster?", c->args[0]))
		return cli_fail("not removed");
	path = cli_path("masters/%s", c->args[0]);
	if (client_json("DELETE", path, NULL, &out, &cause) != 0) {
		free(path);
		return cli_fail_cause(cause);
	}
	free(path);
	if (c->json)
		return cli_print_json(out), json_decref(out), 0;
	printf("master %s (%s) removed%s\n", cli_str(out, "id"),
	    cli_str(out, "address"),
	    json_is_true(json_object_get(out, "handed_over")) ?
	    " after handing the lead over" : "");
	printf("stop it and clear its data dir before it joins again\n");
	json_decref(out);
	return 0;
}

int
cmd_master_join_token(struct cli *c)
{
	const char *ttl = cli_value(c, CLI_OPT_TTL);
	long long secs = 0;
	char *cause = NULL;
	json_t *body = NULL, *out;
	int rc;

	if (ttl != NULL) {
		if (units_parse_duration(ttl, &secs, &cause) != 0) {
			rc = cli_fail("--ttl: %s", cause);
			free(cause);
			return rc;
		}
		if (secs < 1 || secs > 7 * 86400)
			return cli_fail("--ttl: from 1s to 7 days");
		body = json_pack("{s:I}", "ttl_s", (json_int_t)secs);
	}
	rc = client_json("POST", "/v1/masters/join-token", body, &out, &cause);
	json_decref(body);
	if (rc != 0)
		return cli_fail_cause(cause);
	if (c->json)
		return cli_print_json(out), json_decref(out), 0;
	/* The token alone on stdout (TOKEN=$(berth master join-token)). */
	printf("%s\n", cli_str(out, "token"));
	fprintf(stderr, "valid once, for %llds: berth-master --join "
	    "<a master's cluster address> --join-token <it>\n",
	    (long long)json_integer_value(json_object_get(out, "ttl_s")));
	json_decref(out);
	return 0;
}
