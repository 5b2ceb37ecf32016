/*
 * cmd_stack.c - `berth stack ...`: install, upgrade, ls, show, rm.
 *
 * install and upgrade parse the file here first, so errors name the
 * operator's own file and come before anything is sent. The parse also
 * records what only this machine has: the values of `from: env`
 * variables and the contents of env_files. Those travel with the source in
 * a JSON envelope {"source", "name", "variables", "files"}; the master
 * parses the source again with them and stores it as it was written.
 *
 * Progress follows Kontena's CLI: one "[done] ..." line per step, with a
 * live spinner line while waiting when stdout is a terminal.
 *
 * Their rows are in cmd_table (cli/cmd.c); args.c has checked the words
 * before these run.
 */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/progress.h"
#include "cli/table.h"

#include "stacks/stack.h"

#include "common/util.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define STACK_DEPLOY_WAIT_S	900	/* give up watching after this */

/* What the local parse asked for, recorded for the master. */
struct stack_inputs {
	json_t	*variables;	/* NAME -> value of the environment */
	json_t	*files;		/* path -> content */
};

static const char *
stack_getenv(void *arg, const char *name)
{
	struct stack_inputs *in = arg;
	const char *v = getenv(name);

	if (v != NULL)
		json_object_set_new(in->variables, name, json_string(v));
	return v;
}

static char *
stack_read_file(void *arg, const char *path, char **cause)
{
	struct stack_inputs *in = arg;
	char *data;
	size_t len;
	json_t *v;

	if (util_read_file(path, 1024 * 1024, &data, &len) != 0) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if ((v = json_stringn(data, len)) == NULL) {
		xasprintf(cause, "%s: not UTF-8 text", path);
		free(data);
		return NULL;
	}
	json_object_set_new(in->files, path, v);
	return data;
}

/* Parse file locally; on success build the envelope and the stack name. */
static int
stack_prepare(struct cli *c, const char *file, const char *name,
    json_t **envelope, char **stack_name, json_t **parsed)
{
	struct stack_inputs in;
	struct stack_errors errs = { 0 };
	struct stack_opts opts;
	char *src, *msg;
	size_t len;
	json_t *st, *text;

	if (util_read_file(file, 4 * 1024 * 1024, &src, &len) != 0)
		return cli_fail("%s: %s", file, strerror(errno));
	in.variables = json_object();
	in.files = json_object();
	memset(&opts, 0, sizeof opts);
	opts.grid = c->grid;
	opts.name = name;
	opts.getenv = stack_getenv;
	opts.read_file = stack_read_file;
	opts.arg = &in;
	st = stack_parse(src, len, file, &opts, &errs);
	if (st == NULL) {
		size_t nerr = errs.n ? errs.n : 1;

		msg = stack_errors_format(&errs);
		fprintf(stderr, "%s\n", msg);
		free(msg);
		stack_errors_clear(&errs);
		free(src);
		json_decref(in.variables);
		json_decref(in.files);
		return cli_fail("%s: %zu error%s; nothing was sent", file, nerr,
		    nerr == 1 ? "" : "s");
	}
	if ((text = json_stringn(src, len)) == NULL) {
		free(src);
		json_decref(st);
		json_decref(in.variables);
		json_decref(in.files);
		return cli_fail("%s: not UTF-8 text", file);
	}
	*stack_name = xstrdup(json_string_value(json_object_get(st, "name")));
	*envelope = json_pack("{s:o, s:s, s:o, s:o}", "source", text,
	    "file", file, "variables", in.variables, "files", in.files);
	if (name != NULL)
		json_object_set_new(*envelope, "name", json_string(name));
	*parsed = st;
	free(src);
	return 0;
}

/*
 * Trigger a deploy of stack s and follow it to the end, printing the
 * steps. 0 when every service deployed. The last state of the deploy goes
 * to *last (NULL to drop it).
 */
static int
stack_deploy(struct cli *c, const char *s, json_t **last)
{
	char *path, *cause, msg[256];
	json_t *d;
	long long id;

	snprintf(msg, sizeof msg, "Triggering deployment of stack %s", s);
	step_start(msg);
	path = cli_path("stacks/%s/%s/deploy", c->grid, s);
	if (client_json("POST", path, NULL, &d, &cause) != 0) {
		free(path);
		step_end(msg, 0, cause);
		free(cause);
		return 1;
	}
	free(path);
	id = json_integer_value(json_object_get(d, "id"));
	json_decref(d);
	step_end(msg, 1, NULL);
	return stack_follow_deploy(c, s, id, last);
}

int
stack_follow_deploy(struct cli *c, const char *s, long long id, json_t **last)
{
	char *path, *cause, msg[256];
	json_t *d, *svcs, *v;
	const char *state;
	size_t shown = 0;
	int n = 0, waited;

	snprintf(msg, sizeof msg, "Waiting for deployment to start");
	step_start(msg);
	path = cli_path("stacks/%s/%s/deploys/", c->grid, s);
	xasprintf(&cause, "%s%lld", path, id);
	free(path);
	path = cause;
	for (waited = 0;; waited++) {
		if (client_json("GET", path, NULL, &d, &cause) != 0) {
			step_end(msg, 0, cause);
		free(cause);
			free(path);
			return 1;
		}
		state = cli_str(d, "state");
		if (strcmp(state, "created") != 0)
			break;
		json_decref(d);
		step_tick(msg, n++);
		step_sleep_ms(200);
	}
	step_end(msg, 1, NULL);

	/* Follow the services in deploy order until the deploy ends. */
	for (waited = 0; waited < STACK_DEPLOY_WAIT_S * 5; waited++) {
		svcs = json_object_get(d, "services");
		while (shown < json_array_size(svcs)) {
			v = json_array_get(svcs, shown);
			state = cli_str(v, "state");
			snprintf(msg, sizeof msg, "Deploying service %s",
			    cli_str(v, "name"));
			if (strcmp(state, "success") == 0) {
				step_end(msg, 1, NULL);
				shown++;
			} else if (strcmp(state, "error") == 0) {
				step_end(msg, 0, cli_str(v, "error"));
				if (last != NULL)
					*last = d;
				else
					json_decref(d);
				free(path);
				return 1;
			} else {
				step_tick(msg, n++);
				break;
			}
		}
		state = cli_str(d, "state");
		if (strcmp(state, "success") == 0 ||
		    strcmp(state, "error") == 0) {
			int ok = strcmp(state, "success") == 0;

			if (!ok)
				cli_fail("deploy %lld failed: %s", id,
				    cli_str(d, "error"));
			if (last != NULL)
				*last = d;
			else
				json_decref(d);
			free(path);
			return ok ? 0 : 1;
		}
		json_decref(d);
		step_sleep_ms(200);
		if (client_json("GET", path, NULL, &d, &cause) != 0) {
			free(path);
			return cli_fail_cause(cause);
		}
	}
	json_decref(d);
	free(path);
	return cli_fail("gave up waiting for deploy %lld after %ds; see berth "
	    "stack show %s", id, STACK_DEPLOY_WAIT_S, s);
}

/* Print the warnings the master gives for keys it does not act on. */
static void
stack_warn(json_t *stack)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(stack, "warnings"), i, v)
		fprintf(stderr, "warning: %s\n", json_string_value(v));
}

/*
 * Upgrade: the services the file no longer has are removed with their
 * containers. Say which, and ask on a terminal. 1 to go ahead.
 */
static int
stack_confirm_removals(struct cli *c, const char *name, json_t *parsed)
{
	char *path = cli_path("stacks/%s/%s", c->grid, name), *cause;
	struct buf gone = { 0 };
	json_t *cur, *svc, *nsvc;
	size_t i, j, n = 0;
	long long running = 0;
	int keep, rc;

	rc = client_json("GET", path, NULL, &cur, &cause);
	free(path);
	if (rc != 0) {
		free(cause);	/* the upgrade itself will say why */
		return 1;
	}
	json_array_foreach(json_object_get(cur, "services"), i, svc) {
		keep = 0;
		json_array_foreach(json_object_get(parsed, "services"), j,
		    nsvc) {
			if (strcmp(cli_str(nsvc, "name"), cli_str(svc,
			    "name")) == 0)
				keep = 1;
		}
		if (keep)
			continue;
		buf_printf(&gone, "%s%s", n++ ? ", " : "", cli_str(svc,
		    "name"));
		running += json_integer_value(json_object_get(svc, "placed"));
	}
	json_decref(cur);
	if (n == 0)
		return 1;
	if (!progress_is_quiet())
		printf("The upgrade of stack %s removes %zu service%s (%s) and "
		    "%lld container%s.\n", name, n, n == 1 ? "" : "s",
		    gone.data, running, running == 1 ? "" : "s");
	buf_free(&gone);
	return cli_confirm(c, "Go ahead?");
}

static int
stack_install(struct cli *c, const char *file, const char *upgrade)
{
	json_t *env = NULL, *parsed = NULL, *reply, *last = NULL, *out;
	char *name = NULL, *path, *cause, msg[256];
	int rc;

	progress_quiet(c->json);
	if (stack_prepare(c, file, upgrade ? upgrade : cli_value(c,
	    CLI_OPT_NAME), &env, &name, &parsed) != 0)
		return 1;
	if (upgrade != NULL && strcmp(name, upgrade) != 0) {
		json_object_set_new(env, "name", json_string(upgrade));
		free(name);
		name = xstrdup(upgrade);
	}
	if (upgrade != NULL && !stack_confirm_removals(c, name, parsed)) {
		json_decref(parsed);
		json_decref(env);
		free(name);
		return cli_fail("stack %s not upgraded", upgrade);
	}
	json_decref(parsed);
	snprintf(msg, sizeof msg, "%s stack %s", upgrade ? "Upgrading" :
	    "Creating", name);
	step_start(msg);
	if (upgrade)
		path = cli_path("stacks/%s/%s", c->grid, name);
	else
		path = cli_path("grids/%s/stacks", c->grid);
	rc = client_json(upgrade ? "PUT" : "POST", path, env, &reply, &cause);
	free(path);
	json_decref(env);
	if (rc != 0) {
		step_end(msg, 0, cause);
		free(cause);
		free(name);
		return 1;
	}
	step_end(msg, 1, NULL);
	stack_warn(reply);
	rc = stack_deploy(c, name, &last);
	if (c->json) {
		out = json_pack("{s:o, s:o}", "stack", reply, "deploy",
		    last != NULL ? last : json_null());
		cli_print_json(out);
		json_decref(out);
	} else {
		json_decref(reply);
		json_decref(last);
	}
	free(name);
	return rc;
}

int
cmd_stack_install(struct cli *c)
{
	return stack_install(c, c->args[0], NULL);
}

int
cmd_stack_upgrade(struct cli *c)
{
	return stack_install(c, c->args[1], c->args[0]);
}

int
cmd_stack_deploy(struct cli *c)
{
	json_t *last = NULL;
	int rc;

	progress_quiet(c->json);
	rc = stack_deploy(c, c->args[0], &last);
	if (c->json && last != NULL)
		cli_print_json(last);
	json_decref(last);
	return rc;
}

int
cmd_stack_deploys(struct cli *c)
{
	char *path = cli_path("stacks/%s/%s/deploys", c->grid, c->args[0]);
	char id[16];
	struct table *t;
	json_t *arr, *v;
	size_t i;
	int rc;

	if ((rc = cli_get(c, path, &arr)) != 0)
		return rc < 0;
	t = table_new("ID", "STATE", "CREATED", "FINISHED", "ERROR", NULL);
	json_array_foreach(arr, i, v) {
		table_row(t, cli_int(v, "id", id, sizeof id),
		    cli_str(v, "state"), cli_str(v, "created_at"),
		    cli_str(v, "finished_at"), cli_str(v, "error"), NULL);
	}
	table_print(t, stdout);
	table_free(t);
	json_decref(arr);
	return 0;
}

int
cmd_stack_ls(struct cli *c)
{
	char *path = cli_path("grids/%s/stacks", c->grid), svcs[48];
	struct table *t;
	json_t *arr, *v;
	size_t i;
	int rc;

	if ((rc = cli_get(c, path, &arr)) != 0)
		return rc < 0;
	t = table_new("NAME", "STACK", "VERSION", "SERVICES", "STATE",
	    "DEPLOY", "UPDATED", NULL);
	json_array_foreach(arr, i, v) {
		/* "3", or "3 (1 stopped)" when an operator stopped some. */
		if (json_integer_value(json_object_get(v, "stopped_services")))
			snprintf(svcs, sizeof svcs, "%lld (%lld stopped)",
			    (long long)json_integer_value(json_object_get(v,
			    "services")), (long long)json_integer_value(
			    json_object_get(v, "stopped_services")));
		else
			cli_int(v, "services", svcs, sizeof svcs);
		table_row(t, cli_str(v, "name"), cli_str(v, "stack"),
		    cli_str(v, "version"), svcs, cli_str(v, "state"),
		    cli_str(v, "deploy_state"), cli_str(v, "updated_at"),
		    NULL);
	}
	table_print(t, stdout);
	table_free(t);
	json_decref(arr);
	return 0;
}

int
cmd_stack_show(struct cli *c)
{
	const char *s = c->args[0];
	char *path = cli_path("stacks/%s/%s", c->grid, s);
	char inst[32], run[16], aff[256], shares[16];
	struct table *t;
	json_t *v, *svc;
	size_t i;
	int rc;

	if ((rc = cli_get(c, path, &v)) != 0)
		return rc < 0;
	printf("name:        %s\n", cli_str(v, "name"));
	printf("stack:       %s\n", cli_str(v, "stack"));
	printf("version:     %s\n", cli_str(v, "version"));
	printf("description: %s\n", cli_str(v, "description"));
	printf("revision:    %s\n", cli_int(v, "rev", inst, sizeof inst));
	printf("state:       %s\n", cli_str(v, "state"));
	printf("deploy:      %s\n", cli_str(v, "deploy_state"));
	if (json_is_string(json_object_get(v, "deploy_error")))
		printf("deploy error: %s\n", cli_str(v, "deploy_error"));
	printf("updated:     %s\n\n", cli_str(v, "updated_at"));
	t = table_new("SERVICE", "STATE", "IMAGE", "STRATEGY", "INSTANCES",
	    "RUNNING", "CPU_SHARES", "AFFINITY", NULL);
	json_array_foreach(json_object_get(v, "services"), i, svc) {
		table_row(t, cli_str(svc, "name"), cli_str(svc, "state"),
		    cli_str(svc, "image"),
		    cli_str(svc, "strategy"), cli_instances(svc, inst,
		    sizeof inst), cli_int(svc, "running", run, sizeof run),
		    cli_int(svc, "cpu_shares", shares, sizeof shares),
		    cli_join(json_object_get(svc, "affinity"), ",", aff,
		    sizeof aff), NULL);
	}
	table_print(t, stdout);
	table_free(t);
	json_array_foreach(json_object_get(v, "warnings"), i, svc)
		printf("warning: %s\n", json_string_value(svc));
	json_decref(v);
	return 0;
}

int
cmd_stack_rm(struct cli *c)
{
	const char *s = c->args[0];
	char *path = cli_path("stacks/%s/%s", c->grid, s), *cause, *p2, msg[128];
	long long placed = 0;
	json_t *cur, *svc;
	size_t i, n;
	int rc;

	progress_quiet(c->json);
	/* Say what goes, and ask on a terminal (--force and --yes do not). */
	if (!cli_flag(c, CLI_OPT_FORCE) && !cli_flag(c, CLI_OPT_YES) &&
	    client_json("GET", path, NULL, &cur, &cause) == 0) {
		n = json_array_size(json_object_get(cur, "services"));
		json_array_foreach(json_object_get(cur, "services"), i, svc)
			placed += json_integer_value(json_object_get(svc,
			    "placed"));
		json_decref(cur);
		if (!cli_confirm(c, "Remove stack %s with its %zu service%s and "
		    "%lld container%s?", s, n, n == 1 ? "" : "s", placed,
		    placed == 1 ? "" : "s")) {
			free(path);
			return cli_fail("stack %s not removed", s);
		}
	} else if (!cli_flag(c, CLI_OPT_FORCE) && !cli_flag(c, CLI_OPT_YES))
		free(cause);	/* the DELETE says why */
	if (cli_flag(c, CLI_OPT_FORCE)) {
		xasprintf(&p2, "%s?force=1", path);
		free(path);
		path = p2;
	}
	snprintf(msg, sizeof msg, "Removing stack %s", s);
	step_start(msg);
	rc = client_json("DELETE", path, NULL, NULL, &cause);
	free(path);
	if (rc != 0) {
		step_end(msg, 0, cause);
		free(cause);
		return 1;
	}
	step_end(msg, 1, NULL);
	if (c->json) {
		cur = json_pack("{s:s, s:b}", "stack", s, "removed", 1);
		cli_print_json(cur);
		json_decref(cur);
	}
	return 0;
}
