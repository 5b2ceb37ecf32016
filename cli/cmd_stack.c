/*
 * cmd_stack.c - `berth stack ...`: install, upgrade, ls, show, rm.
 *
 * install, upgrade and validate send the file to the master, which
 * parses it (it has the vault, the grid's services and the randomness a
 * stack's variables draw on) and asks back what only this machine has
 * (stack_input.c): environment variables, files, answers to prompts. An
 * install is first checked without writing (?dry_run=1), so that errors,
 * each with the operator's file:line:col, come before any progress line;
 * --dry-run stops there and prints what would be created.
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
#include "cli/stack_input.h"

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

/* Trigger a deploy of stack s: its id in *id, 0; or 1 (said why). */
static int
stack_deploy_trigger(struct cli *c, const char *s, long long *id)
{
	char *path, *cause, msg[256];
	json_t *d;

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
	*id = json_integer_value(json_object_get(d, "id"));
	json_decref(d);
	step_end(msg, 1, NULL);
	return 0;
}

/*
 * A service waiting for node groups' machines: msg says which ("...:
 * waiting for 2 nodes of burst-a, 1m12s of 15m"); a "[wait]" line when
 * the machines waited for change (noted: the last said, without the
 * time).
 */
static void
stack_deploy_waiting(json_t *v, char *msg, size_t len, char *noted,
    size_t nlen)
{
	const char *w = json_string_value(json_object_get(v, "waiting"));
	const char *comma;
	char what[512];

	if (w == NULL)
		return;
	snprintf(what, sizeof what, "%s", msg);
	snprintf(msg, len, "%.200s: %.300s", what, w);
	comma = strrchr(w, ',');
	snprintf(what, sizeof what, "%.*s", comma != NULL ? (int)(comma - w) :
	    (int)strlen(w), w);
	if (strcmp(what, noted) != 0) {
		snprintf(noted, nlen, "%s", what);
		step_note(msg);
	}
}

int
stack_follow_deploy(struct cli *c, const char *s, long long id, json_t **last)
{
	char *path, *cause, msg[512], noted[512] = "";
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
				stack_deploy_waiting(v, msg, sizeof msg,
				    noted, sizeof noted);
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

/*
 * Trigger a deploy of stack s and follow it to the end. The last state of
 * the deploy goes to *last (NULL to drop it).
 */
static int
stack_deploy(struct cli *c, const char *s, json_t **last)
{
	long long id;

	if (stack_deploy_trigger(c, s, &id) != 0)
		return 1;
	return stack_follow_deploy(c, s, id, last);
}

/*
 * The stacks of the tree under stack s, each after its own children (as
 * Kontena deployed child stacks before their parent), s last, appended
 * to names. 0, or 1 (said why).
 */
static int
stack_tree_order(struct cli *c, const char *s, json_t *names)
{
	json_t *st, *v;
	char *path, *cause;
	size_t i;
	int rc;

	path = cli_path("stacks/%s/%s", c->grid, s);
	rc = client_json("GET", path, NULL, &st, &cause);
	free(path);
	if (rc != 0)
		return cli_fail_cause(cause);
	json_array_foreach(json_object_get(st, "children"), i, v) {
		if (stack_tree_order(c, json_string_value(v), names) != 0) {
			json_decref(st);
			return 1;
		}
	}
	json_decref(st);
	json_array_append_new(names, json_string(s));
	return 0;
}

/*
 * Deploy stack s with its child stacks: every deploy triggered first,
 * children before parents, then each followed in that order. The
 * master's deploys wait for the services they link to, so a child that
 * links to its parent's service (${PARENT_STACK}/x) waits for it rather
 * than holding the parent back. 0 when all deployed.
 */
static int
stack_deploy_tree(struct cli *c, const char *s, json_t **last)
{
	json_t *names = json_array(), *v;
	long long *ids;
	size_t i, n;
	int rc = 0;

	if (stack_tree_order(c, s, names) != 0) {
		json_decref(names);
		return 1;
	}
	n = json_array_size(names);
	if (n == 1) {
		json_decref(names);
		return stack_deploy(c, s, last);
	}
	ids = xcalloc(n, sizeof *ids);
	json_array_foreach(names, i, v) {
		if (stack_deploy_trigger(c, json_string_value(v), &ids[i]) !=
		    0) {
			rc = 1;
			break;
		}
	}
	/* The root's (last) deploy goes to *last. */
	for (i = 0; rc == 0 && i < n; i++)
		rc = stack_follow_deploy(c, json_string_value(json_array_get(
		    names, i)), ids[i], i + 1 == n ? last : NULL);
	free(ids);
	json_decref(names);
	return rc;
}

/* --values-to FILE: the stack's values as YAML (JSON is YAML). */
static int
stack_values_to(const char *file, json_t *stack)
{
	json_t *vars = json_object_get(stack, "variables"), *v;
	struct buf b = { NULL, 0, 0 };
	const char *k;
	char *s;
	int rc;

	buf_printf(&b, "# the values of stack %s (secrets are kept in the "
	    "vault, not here)\n", cli_str(stack, "name"));
	json_object_foreach(vars, k, v) {
		if (json_is_null(v))
			continue;
		s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		buf_printf(&b, "%s: %s\n", k, s);
		free(s);
	}
	rc = util_write_file(file, b.data, b.len, 0600);
	buf_free(&b);
	if (rc != 0)
		return cli_fail("--values-to %s: %s", file, strerror(errno));
	return 0;
}

/* The services of st as a table (a plan's). */
static void
stack_print_services(json_t *st)
{
	json_t *svc, *sec;
	struct table *t;
	char inst[16], buf[512];
	size_t i;

	t = table_new("SERVICE", "IMAGE", "STRATEGY", "INSTANCES", "SECRETS",
	    "LINKS", NULL);
	json_array_foreach(json_object_get(st, "services"), i, svc) {
		struct buf b = { NULL, 0, 0 };
		size_t j;

		json_array_foreach(json_object_get(svc, "secrets"), j, sec)
			buf_printf(&b, "%s%s", j ? "," : "",
			    cli_str(sec, "name"));
		table_row(t, cli_str(svc, "name"), cli_str(svc, "image"),
		    cli_str(svc, "strategy"), cli_int(svc, "instances", inst,
		    sizeof inst), b.data != NULL ? b.data : "-",
		    cli_join(json_object_get(svc, "links"), ",", buf,
		    sizeof buf), NULL);
		buf_free(&b);
	}
	table_print(t, stdout);
	table_free(t);
}

/* A plan's child stacks, each with its services, then theirs. */
static void
stack_print_children(json_t *st)
{
	json_t *ch;
	size_t i;

	json_array_foreach(json_object_get(st, "children"), i, ch) {
		printf("\nwith child stack %s (%s), from %s:\n", cli_str(ch,
		    "name"), cli_str(ch, "stack"), cli_str(ch, "file"));
		stack_print_services(ch);
		stack_print_children(ch);
	}
}

/* --dry-run: what an install or upgrade would do, without doing it. */
static int
stack_print_plan(struct cli *c, json_t *plan, const char *verb)
{
	json_t *st = json_object_get(plan, "stack");
	char buf[512];

	if (c->json)
		return cli_print_json(plan);
	printf("%s stack %s (%s%s%s) on grid %s\n",
	    json_is_true(json_object_get(plan, "exists")) && strcmp(verb,
	    "install") != 0 ? "Would upgrade" : "Would install",
	    cli_str(st, "name"), cli_str(st, "stack"),
	    json_is_string(json_object_get(st, "version")) ? " " : "",
	    json_is_string(json_object_get(st, "version")) ?
	    cli_str(st, "version") : "", c->grid);
	stack_print_services(st);
	stack_print_children(st);
	if (json_array_size(json_object_get(plan, "vault_writes")) > 0)
		printf("It would write to the vault: %s\n", cli_join(
		    json_object_get(plan, "vault_writes"), ", ", buf,
		    sizeof buf));
	if (json_is_true(json_object_get(plan, "exists")) &&
	    strcmp(verb, "install") == 0)
		printf("(stack %s exists: install would be refused; use "
		    "upgrade or --name)\n", cli_str(st, "name"));
	return 0;
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

/*
 * install and upgrade: check the file against the master (which asks
 * back what only this machine has), then write it and deploy it.
 */
static int
stack_install(struct cli *c, const char *file, const char *upgrade)
{
	struct stack_input in;
	json_t *reply = NULL, *plan = NULL, *last = NULL, *out;
	char *path, *dry, *cause, msg[256], *name;
	int rc;

	progress_quiet(c->json && !cli_flag(c, CLI_OPT_DRY_RUN));
	if (stack_input_load(c, file, &in) != 0)
		return 1;
	if (upgrade)
		path = cli_path("stacks/%s/%s", c->grid, upgrade);
	else
		path = cli_path("grids/%s/stacks", c->grid);
	/* First without writing: every error before any progress line. */
	xasprintf(&dry, "%s?dry_run=1", path);
	rc = stack_input_send(&in, upgrade ? "PUT" : "POST", dry, upgrade ?
	    upgrade : cli_value(c, CLI_OPT_NAME), &plan, &cause);
	free(dry);
	if (rc != 0) {
		free(path);
		stack_input_free(&in);
		return cli_fail_cause(cause);
	}
	stack_input_warnings(&in, json_object_get(plan, "warnings"));
	if (cli_flag(c, CLI_OPT_DRY_RUN)) {
		rc = stack_print_plan(c, plan, upgrade ? "upgrade" : "install");
		json_decref(plan);
		free(path);
		stack_input_free(&in);
		return rc;
	}
	name = xstrdup(cli_str(json_object_get(plan, "stack"), "name"));
	if (upgrade != NULL && !stack_confirm_removals(c, name,
	    json_object_get(plan, "stack"))) {
		json_decref(plan);
		free(path);
		stack_input_free(&in);
		free(name);
		return cli_fail("stack %s not upgraded", upgrade);
	}
	json_decref(plan);
	snprintf(msg, sizeof msg, "%s stack %s", upgrade ? "Upgrading" :
	    "Creating", name);
	step_start(msg);
	rc = stack_input_send(&in, upgrade ? "PUT" : "POST", path, upgrade ?
	    upgrade : cli_value(c, CLI_OPT_NAME), &reply, &cause);
	free(path);
	stack_input_free(&in);
	if (rc != 0) {
		step_end(msg, 0, cause);
		free(cause);
		free(name);
		return 1;
	}
	step_end(msg, 1, NULL);
	stack_warn(reply);
	if (cli_value(c, CLI_OPT_VALUES_TO) != NULL &&
	    stack_values_to(cli_value(c, CLI_OPT_VALUES_TO), reply) != 0) {
		json_decref(reply);
		free(name);
		return 1;
	}
	rc = 0;
	if (!cli_flag(c, CLI_OPT_NO_DEPLOY))
		rc = stack_deploy_tree(c, name, &last);
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

/* validate: everything install checks, nothing written. */
int
cmd_stack_validate(struct cli *c)
{
	struct stack_input in;
	json_t *plan, *st;
	char *path, *cause;
	int rc;

	if (stack_input_load(c, c->args[0], &in) != 0)
		return 1;
	path = cli_path("grids/%s/stacks", c->grid);
	xasprintf(&cause, "%s?dry_run=1", path);
	free(path);
	path = cause;
	rc = stack_input_send(&in, "POST", path, cli_value(c, CLI_OPT_NAME),
	    &plan, &cause);
	free(path);
	if (rc != 0) {
		stack_input_free(&in);
		return cli_fail_cause(cause);
	}
	stack_input_warnings(&in, json_object_get(plan, "warnings"));
	if (c->json)
		cli_print_json(json_object_get(plan, "stack"));
	else {
		st = json_object_get(plan, "stack");
		printf("%s: valid: stack %s (%s) with %zu service(s)%s\n",
		    c->args[0], cli_str(st, "name"), cli_str(st, "stack"),
		    json_array_size(json_object_get(st, "services")),
		    json_array_size(json_object_get(plan, "warnings")) > 0 ?
		    ", with warnings" : "");
	}
	json_decref(plan);
	stack_input_free(&in);
	return 0;
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
	if (json_is_string(json_object_get(v, "parent")))
		printf("parent:      %s\n", cli_str(v, "parent"));
	if (json_array_size(json_object_get(v, "children")) > 0) {
		char kids[512];

		printf("children:    %s\n", cli_join(json_object_get(v,
		    "children"), ", ", kids, sizeof kids));
	}
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
	char *path = cli_path("stacks/%s/%s", c->grid, s), *cause, *p2;
	char msg[512], kids[256] = "";
	long long placed = 0;
	json_t *cur, *svc;
	size_t i, n;
	int rc;

	progress_quiet(c->json);
	snprintf(msg, sizeof msg, "Removing stack %s", s);
	if (client_json("GET", path, NULL, &cur, &cause) == 0) {
		n = json_array_size(json_object_get(cur, "services"));
		json_array_foreach(json_object_get(cur, "services"), i, svc)
			placed += json_integer_value(json_object_get(svc,
			    "placed"));
		/* Its child stacks go with it (Kontena's rm removed them
		   too). */
		if (json_array_size(json_object_get(cur, "children")) > 0) {
			cli_join(json_object_get(cur, "children"), ", ", kids,
			    sizeof kids);
			snprintf(msg, sizeof msg, "Removing stack %s and its "
			    "child stacks %s", s, kids);
		}
		json_decref(cur);
		/* Say what goes, and ask on a terminal (--force and --yes
		   do not). */
		if (!cli_flag(c, CLI_OPT_FORCE) && !cli_flag(c, CLI_OPT_YES) &&
		    !cli_confirm(c, "Remove stack %s with its %zu service%s and "
		    "%lld container%s%s%s?", s, n, n == 1 ? "" : "s", placed,
		    placed == 1 ? "" : "s", *kids ? ", and its child stacks " :
		    "", kids)) {
			free(path);
			return cli_fail("stack %s not removed", s);
		}
	} else
		free(cause);	/* the DELETE says why */
	if (cli_flag(c, CLI_OPT_FORCE)) {
		xasprintf(&p2, "%s?force=1", path);
		free(path);
		path = p2;
	}
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
