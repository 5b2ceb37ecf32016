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
	const char	*file;		/* the stack file, as given */
	json_t		*variables;	/* NAME -> value of the environment */
	json_t		*files;		/* path -> content */
};

static int
stack_getenv(void *arg, const char *name, char **value)
{
	struct stack_inputs *in = arg;
	const char *v = getenv(name);

	if (v == NULL)
		return 0;
	json_object_set_new(in->variables, name, json_string(v));
	*value = xstrdup(v);
	return 1;
}

/*
 * path as the stack names it: from the working directory, or (env_file,
 * extends, depends) from the stack file's directory, as Kontena read them.
 */
static char *
stack_file_path(const char *stack_file, const char *path,
    enum stack_file_base base)
{
	const char *slash;
	char *p;

	if (base == STACK_FILE_CWD || *path == '/' ||
	    (slash = strrchr(stack_file, '/')) == NULL)
		return xstrdup(path);
	xasprintf(&p, "%.*s/%s", (int)(slash - stack_file), stack_file, path);
	return p;
}

static int
stack_read_file(void *arg, const char *path, enum stack_file_base base,
    char **data, size_t *len, char **cause)
{
	struct stack_inputs *in = arg;
	char *full = stack_file_path(in->file, path, base);
	json_t *v;

	if (util_read_file(full, 1024 * 1024, data, len) != 0) {
		xasprintf(cause, "%s: %s", full, strerror(errno));
		free(full);
		return -1;
	}
	free(full);
	if ((v = json_stringn(*data, *len)) == NULL) {
		xasprintf(cause, "%s: not UTF-8 text", path);
		free(*data);
		*data = NULL;
		return -1;
	}
	json_object_set_new(in->files, path, v);
	return 0;
}

/* Parse file locally; on success build the envelope and the stack name. */
static int
stack_prepare(struct cli *c, const char *file, const char *name,
    json_t **envelope, char **stack_name, json_t **parsed)
{
	struct stack_inputs in;
	struct stack_errors errs = { 0 };
	struct stack_opts opts;
	struct stack_host host;
	char *src, *msg;
	size_t len;
	json_t *st, *text;

	if (util_read_file(file, 4 * 1024 * 1024, &src, &len) != 0)
		return cli_fail("%s: %s", file, strerror(errno));
	in.file = file;
	in.variables = json_object();
	in.files = json_object();
	memset(&host, 0, sizeof host);
	host.getenv = stack_getenv;
	host.read_file = stack_read_file;
	host.arg = &in;
	memset(&opts, 0, sizeof opts);
	opts.grid = c->grid;
	opts.name = name;
	opts.host = &host;
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

/* ---- progress lines -------------------------------------------------- */

static int
stack_tty(void)
{
	return isatty(STDOUT_FILENO);
}

static void
step_start(const char *msg)
{
	if (stack_tty()) {
		printf("\r\033[K[....] %s", msg);
		fflush(stdout);
	}
}

static void
step_tick(const char *msg, int n)
{
	static const char spin[] = "|/-\\";

	if (stack_tty()) {
		printf("\r\033[K[ %c  ] %s", spin[n % 4], msg);
		fflush(stdout);
	}
}

static void
step_end(const char *msg, int ok, const char *why)
{
	printf("%s[%s] %s%s%s\n", stack_tty() ? "\r\033[K" : "",
	    ok ? "done" : "fail", msg, why ? ": " : "", why ? why : "");
	fflush(stdout);
}

static void
stack_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/*
 * Trigger a deploy of stack s and follow it to the end, printing the
 * steps. 0 when every service deployed.
 */
static int
stack_deploy(struct cli *c, const char *s)
{
	char *path, *cause, msg[256];
	json_t *d, *svcs, *v;
	const char *state;
	long long id;
	size_t shown = 0;
	int n = 0, waited;

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
		stack_sleep_ms(200);
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
			json_decref(d);
			free(path);
			return ok ? 0 : 1;
		}
		json_decref(d);
		stack_sleep_ms(200);
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

static int
stack_install(struct cli *c, const char *file, const char *upgrade)
{
	json_t *env = NULL, *parsed, *reply;
	char *name = NULL, *path, *cause, msg[256];
	int rc;

	if (stack_prepare(c, file, upgrade ? upgrade : cli_value(c,
	    CLI_OPT_NAME), &env, &name, &parsed) != 0)
		return 1;
	json_decref(parsed);
	if (upgrade != NULL && strcmp(name, upgrade) != 0) {
		json_object_set_new(env, "name", json_string(upgrade));
		free(name);
		name = xstrdup(upgrade);
	}
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
	json_decref(reply);
	step_end(msg, 1, NULL);
	rc = stack_deploy(c, name);
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
	return stack_deploy(c, c->args[0]);
}

int
cmd_stack_ls(struct cli *c)
{
	char *path = cli_path("grids/%s/stacks", c->grid), svcs[16];
	struct table *t;
	json_t *arr, *v;
	size_t i;
	int rc;

	if ((rc = cli_get(c, path, &arr)) != 0)
		return rc < 0;
	t = table_new("NAME", "STACK", "VERSION", "SERVICES", "DEPLOY",
	    "UPDATED", NULL);
	json_array_foreach(arr, i, v) {
		table_row(t, cli_str(v, "name"), cli_str(v, "stack"),
		    cli_str(v, "version"), cli_int(v, "services", svcs,
		    sizeof svcs), cli_str(v, "deploy_state"),
		    cli_str(v, "updated_at"), NULL);
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
	char inst[16], run[16], aff[256], shares[16];
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
	printf("deploy:      %s\n", cli_str(v, "deploy_state"));
	printf("updated:     %s\n\n", cli_str(v, "updated_at"));
	t = table_new("SERVICE", "IMAGE", "STRATEGY", "INSTANCES", "RUNNING",
	    "CPU_SHARES", "AFFINITY", NULL);
	json_array_foreach(json_object_get(v, "services"), i, svc) {
		table_row(t, cli_str(svc, "name"), cli_str(svc, "image"),
		    cli_str(svc, "strategy"), cli_int(svc, "instances", inst,
		    sizeof inst), cli_int(svc, "running", run, sizeof run),
		    cli_int(svc, "cpu_shares", shares, sizeof shares),
		    cli_join(json_object_get(svc, "affinity"), ",", aff,
		    sizeof aff), NULL);
	}
	table_print(t, stdout);
	table_free(t);
	json_decref(v);
	return 0;
}

int
cmd_stack_rm(struct cli *c)
{
	const char *s = c->args[0];
	char *path = cli_path("stacks/%s/%s", c->grid, s), *cause, *p2, msg[128];
	int rc;

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
	return 0;
}
