/*
 * cmd_job.c - `berth job ...`: run, ls, show, logs, cancel, rm, wait
 * (docs/jobs.md).
 *
 * `job run` builds the job from its flags, or reads it from a file with
 * -f (parsed here first with the master's own parser, stacks/job_spec.c,
 * so that a mistake is reported with its line before anything is sent).
 * With --wait, and in `job wait`, the CLI follows the job until it ends,
 * printing each change of state, and exits with the job's status: its
 * exit code, 124 when it timed out, 125 when it could not start, 130 when
 * it was cancelled (docs/jobs.md, "Exit status").
 *
 * Their rows are in cmd_table (cli/cmd.c); args.c has checked the words
 * before these run.
 */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/cmd.h"
#include "cli/table.h"

#include "stacks/job_spec.h"

#include "common/util.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define JOB_POLL_MS	300	/* how often --wait looks */

/* A flag's word as a JSON number when it is one, else as the string. */
static json_t *
job_number(const char *s)
{
	char *end;
	double d;
	long long i;

	errno = 0;
	i = strtoll(s, &end, 10);
	if (errno == 0 && *s != '\0' && *end == '\0')
		return json_integer(i);
	errno = 0;
	d = strtod(s, &end);
	if (errno == 0 && *s != '\0' && *end == '\0' && isfinite(d))
		return json_real(d);
	return json_string(s);
}

/* The job of `job run`'s flags and words. NULL after saying why. */
static json_t *
job_from_flags(struct cli *c)
{
	static const struct {
		enum cli_opt	 opt;
		const char	*key;
		int		 number;	/* else a string (units) */
	} one[] = {
		{ CLI_OPT_NAME, "name", 0 },
		{ CLI_OPT_CPUS, "cpus", 1 },
		{ CLI_OPT_MEMORY, "memory", 0 },
		{ CLI_OPT_TIMEOUT, "timeout", 0 },
		{ CLI_OPT_RETRIES, "retries", 1 },
		{ CLI_OPT_BACKOFF, "backoff", 0 },
		{ CLI_OPT_PARALLEL, "parallel", 1 },
		{ CLI_OPT_PRIORITY, "priority", 1 },
	};
	json_t *job = json_object(), *arr, *labels;
	const char **v, *eq;
	size_t i;
	int n, k;

	json_object_set_new(job, "image", json_string(c->args[0]));
	if (c->nargs > 1) {
		arr = json_array();
		for (k = 1; k < c->nargs; k++)
			json_array_append_new(arr, json_string(c->args[k]));
		json_object_set_new(job, "command", arr);
	}
	for (i = 0; i < sizeof one / sizeof one[0]; i++) {
		const char *val = cli_value(c, one[i].opt);

		if (val != NULL)
			json_object_set_new(job, one[i].key, one[i].number ?
			    job_number(val) : json_string(val));
	}
	v = cli_values(c, CLI_OPT_ENV, &n);
	if (n > 0) {
		arr = json_array();
		for (k = 0; k < n; k++)
			json_array_append_new(arr, json_string(v[k]));
		json_object_set_new(job, "env", arr);
	}
	v = cli_values(c, CLI_OPT_AFFINITY, &n);
	if (n > 0) {
		arr = json_array();
		for (k = 0; k < n; k++)
			json_array_append_new(arr, json_string(v[k]));
		json_object_set_new(job, "affinity", arr);
	}
	v = cli_values(c, CLI_OPT_LABEL, &n);
	if (n > 0) {
		labels = json_object();
		for (k = 0; k < n; k++) {
			if ((eq = strchr(v[k], '=')) == NULL || eq == v[k]) {
				json_decref(labels);
				json_decref(job);
				cli_fail("--label %s: want key=value", v[k]);
				return NULL;
			}
			json_object_set_new(labels, xstrndup(v[k],
			    (size_t)(eq - v[k])), json_string(eq + 1));
		}
		json_object_set_new(job, "labels", labels);
	}
	return job;
}

/* The job of -f FILE, parsed here; --name may rename it. */
static json_t *
job_from_file(struct cli *c, const char *file)
{
	struct stack_errors errs = { 0 };
	static const enum cli_opt fields[] = { CLI_OPT_CPUS, CLI_OPT_MEMORY,
	    CLI_OPT_AFFINITY, CLI_OPT_TIMEOUT, CLI_OPT_RETRIES,
	    CLI_OPT_BACKOFF, CLI_OPT_PARALLEL, CLI_OPT_PRIORITY, CLI_OPT_ENV,
	    CLI_OPT_LABEL };
	json_t *job;
	char *src, *msg;
	size_t len, i;

	if (c->nargs > 0) {
		cli_fail("job run -f %s takes no IMAGE or CMD: the file has "
		    "them", file);
		return NULL;
	}
	for (i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		if (cli_flag(c, fields[i])) {
			cli_fail("job run -f: --%s goes in the file (only "
			    "--name and --wait go with -f)",
			    cmd_options[fields[i]].name);
			return NULL;
		}
	}
	if (util_read_file(file, 4 * 1024 * 1024, &src, &len) != 0) {
		cli_fail("%s: %s", file, strerror(errno));
		return NULL;
	}
	job = job_spec_parse(src, len, file, &errs);
	free(src);
	if (job == NULL) {
		msg = stack_errors_format(&errs);
		fprintf(stderr, "%s\n", msg);
		free(msg);
		cli_fail("%s: %zu error%s; nothing was sent", file, errs.n,
		    errs.n == 1 ? "" : "s");
		stack_errors_clear(&errs);
		return NULL;
	}
	if (cli_value(c, CLI_OPT_NAME) != NULL)
		json_object_set_new(job, "name",
		    json_string(cli_value(c, CLI_OPT_NAME)));
	return job;
}

/* ---- following a job ----------------------------------------------------- */

static void
job_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int
job_final(const char *state)
{
	return strcmp(state, "succeeded") == 0 ||
	    strcmp(state, "failed") == 0 || strcmp(state, "timed_out") == 0 ||
	    strcmp(state, "cancelled") == 0;
}

/* One line for the job's state now: "running on a1 (attempt 7)". */
static void
job_line(json_t *j, char *buf, size_t len)
{
	const char *state = cli_str(j, "state"), *reason = cli_str(j,
	    "reason"), *node = cli_str(j, "node");
	long long parallel = json_integer_value(json_object_get(j,
	    "parallel"));
	long long done = json_integer_value(json_object_get(j, "tasks_done"));
	json_t *a = json_object_get(j, "attempts");
	json_t *last = json_array_get(a, json_array_size(a) - 1);

	if (parallel > 1 && !job_final(state))
		snprintf(buf, len, "%s: %lld of %lld tasks done", state, done,
		    parallel);
	else if (strcmp(state, "pending") == 0)
		snprintf(buf, len, "pending: %s", strcmp(reason, "-") != 0 ?
		    reason : "queued");
	else if (strcmp(state, "assigned") == 0 ||
	    strcmp(state, "running") == 0)
		snprintf(buf, len, "%s %s %s (attempt %lld)", state,
		    strcmp(state, "assigned") == 0 ? "to" : "on", node,
		    (long long)json_integer_value(json_object_get(last, "id")));
	else
		snprintf(buf, len, "%s: %s", state, reason);
}

/*
 * Follow job id until it ends; print each new line unless quiet. The exit
 * status, or 1 if it cannot be followed.
 */
static int
job_follow(struct cli *c, long long id, const char *name, int quiet)
{
	char *path, *cause, line[512], last[512] = "", idtext[32];
	const char *state;
	json_t *j = NULL;
	int tty = isatty(STDOUT_FILENO) && !c->json, status;

	for (;;) {
		json_decref(j);
		j = NULL;
		snprintf(idtext, sizeof idtext, "%lld", id);
		path = cli_path("jobs/%s/%s", c->grid, idtext);
		if (client_json("GET", path, NULL, &j, &cause) != 0) {
			free(path);
			if (tty)
				printf("\n");
			return cli_fail_cause(cause);
		}
		free(path);
		state = cli_str(j, "state");
		job_line(j, line, sizeof line);
		if (strcmp(line, last) != 0 && !c->json &&
		    (!quiet || job_final(state))) {
			if (tty)
				printf("\r\033[K[%s] job %s %s", job_final(state) ?
				    (strcmp(state, "succeeded") == 0 ? "done" :
				    "fail") : "....", name, line);
			else
				printf("[%s] job %s %s\n", job_final(state) ?
				    (strcmp(state, "succeeded") == 0 ? "done" :
				    "fail") : "....", name, line);
			fflush(stdout);
			snprintf(last, sizeof last, "%s", line);
		}
		if (job_final(state))
			break;
		job_sleep_ms(JOB_POLL_MS);
	}
	if (tty)
		printf("\n");
	if (c->json)
		cli_print_json(j);
	status = (int)json_integer_value(json_object_get(j, "exit_status"));
	json_decref(j);
	return status & 0xff;
}

int
cmd_job_run(struct cli *c)
{
	const char *file = cli_value(c, CLI_OPT_FILE);
	json_t *job, *reply, *errs, *e;
	struct client_reply r;
	char *path, *body, *cause, name[128];
	long long id;
	size_t i;
	int rc;

	if (file == NULL && c->nargs == 0)
		return cli_fail("job run needs IMAGE, or -f FILE (usage: berth "
		    "job run [flags] IMAGE [CMD...])");
	job = file != NULL ? job_from_file(c, file) : job_from_flags(c);
	if (job == NULL)
		return 1;
	body = json_dumps(job, JSON_COMPACT);
	json_decref(job);
	path = cli_path("grids/%s/jobs", c->grid);
	rc = client_call("POST", path, "application/json", body, strlen(body),
	    &r, &cause);
	free(path);
	free(body);
	if (rc != 0)
		return cli_fail_cause(cause);
	if (r.status == 422 && file == NULL &&
	    json_is_array(errs = json_object_get(r.json, "errors"))) {
		/* From flags: name the flag, not a line of a file. */
		json_array_foreach(errs, i, e)
			fprintf(stderr, "berth: --%s: %s\n", cli_str(e, "key"),
			    cli_str(e, "message"));
		client_reply_free(&r);
		return 1;
	}
	if (r.status < 200 || r.status > 299) {
		rc = cli_fail("%s", r.json != NULL ? cli_str(r.json, "error") :
		    "the master refused the job");
		client_reply_free(&r);
		return rc;
	}
	reply = json_incref(r.json);
	client_reply_free(&r);
	id = json_integer_value(json_object_get(reply, "id"));
	snprintf(name, sizeof name, "%s", cli_str(reply, "name"));
	if (!cli_flag(c, CLI_OPT_WAIT)) {
		if (c->json)
			cli_print_json(reply);
		else
			printf("job %s queued (id %lld)\n", name, id);
		json_decref(reply);
		return 0;
	}
	json_decref(reply);
	if (!c->json)
		printf("[done] job %s queued (id %lld)\n", name, id);
	return job_follow(c, id, name, 0);
}

int
cmd_job_wait(struct cli *c)
{
	char *path, *cause = NULL, name[128];
	long long id;
	json_t *j;
	int rc;

	path = cli_path("jobs/%s/%s", c->grid, c->args[0]);
	rc = client_json("GET", path, NULL, &j, &cause);
	free(path);
	if (rc != 0)
		return cli_fail_cause(cause);
	id = json_integer_value(json_object_get(j, "id"));
	snprintf(name, sizeof name, "%s", cli_str(j, "name"));
	json_decref(j);
	return job_follow(c, id, name, 1);
}

/* ---- lists ------------------------------------------------------------ */

int
cmd_job_ls(struct cli *c)
{
	const char *state = cli_value(c, CLI_OPT_STATE);
	char tasks[32], att[16], code[16], prio[16], age[32], reason[64];
	struct table *t;
	json_t *arr, *v;
	char *path;
	size_t i;
	int rc;

	if (state != NULL)
		path = cli_path("grids/%s/jobs?state=%s", c->grid, state);
	else
		path = cli_path("grids/%s/jobs", c->grid);
	if ((rc = cli_get(c, path, &arr)) != 0)
		return rc < 0;
	t = table_new("NAME", "STATE", "PRIORITY", "TASKS", "ATTEMPTS", "NODE",
	    "EXIT", "CREATED", "REASON", NULL);
	json_array_foreach(arr, i, v) {
		snprintf(tasks, sizeof tasks, "%lld/%lld",
		    (long long)json_integer_value(json_object_get(v,
		    "tasks_done")), (long long)json_integer_value(
		    json_object_get(v, "parallel")));
		snprintf(reason, sizeof reason, "%.60s", cli_str(v, "reason"));
		table_row(t, cli_str(v, "name"), cli_str(v, "state"),
		    cli_int(v, "priority", prio, sizeof prio), tasks,
		    cli_int(v, "attempt_count", att, sizeof att),
		    cli_str(v, "node"), cli_int(v, "exit_status", code,
		    sizeof code), cli_age(v, "created_at", age, sizeof age),
		    reason, NULL);
	}
	table_print(t, stdout);
	table_free(t);
	json_decref(arr);
	return 0;
}

int
cmd_job_show(struct cli *c)
{
	char buf[512], b2[64], b3[64], id[32], no[16], task[16], code[16];
	char *path = cli_path("jobs/%s/%s", c->grid, c->args[0]);
	struct table *t;
	json_t *j, *a, *v;
	long long n;
	size_t i;
	int rc;

	if ((rc = cli_get(c, path, &j)) != 0)
		return rc < 0;
	printf("job:        %s (id %lld)\n", cli_str(j, "name"),
	    (long long)json_integer_value(json_object_get(j, "id")));
	printf("state:      %s\n", cli_str(j, "state"));
	printf("image:      %s\n", cli_str(j, "image"));
	printf("command:    %s\n", json_is_array(json_object_get(j,
	    "command")) ? cli_join(json_object_get(j, "command"), " ", buf,
	    sizeof buf) : "(the image's)");
	printf("priority:   %s\n", cli_int(j, "priority", buf, sizeof buf));
	printf("tasks:      %s", cli_int(j, "parallel", buf, sizeof buf));
	printf(" (%s done)\n", cli_int(j, "tasks_done", buf, sizeof buf));
	printf("retries:    %s\n", cli_int(j, "retries", buf, sizeof buf));
	n = json_integer_value(json_object_get(j, "timeout"));
	printf("timeout:    %s\n", n > 0 ? cli_int(j, "timeout", buf,
	    sizeof buf) : "none");
	if (json_is_number(json_object_get(j, "cpus")))
		printf("cpus:       %g\n", json_number_value(json_object_get(j,
		    "cpus")));
	if (json_is_integer(json_object_get(j, "memory")))
		printf("memory:     %s\n", cli_bytes(json_integer_value(
		    json_object_get(j, "memory")), buf, sizeof buf));
	printf("affinity:   %s\n", cli_join(json_object_get(j, "affinity"),
	    ", ", buf, sizeof buf));
	printf("exit:       %s\n", cli_int(j, "exit_status", buf, sizeof buf));
	printf("reason:     %s\n", cli_str(j, "reason"));
	printf("created:    %s\n", cli_str(j, "created_at"));
	printf("started:    %s\n", cli_str(j, "started_at"));
	printf("finished:   %s\n", cli_str(j, "finished_at"));
	a = json_object_get(j, "attempts");
	if (json_array_size(a) > 0) {
		printf("\n");
		t = table_new("ATTEMPT", "TASK", "TRY", "NODE", "STATE", "EXIT",
		    "STARTED", "FINISHED", "CONTAINER", "REASON", NULL);
		json_array_foreach(a, i, v) {
			snprintf(b2, sizeof b2, "%s", cli_str(v, "started_at"));
			snprintf(b3, sizeof b3, "%s", cli_str(v,
			    "finished_at"));
			table_row(t, cli_int(v, "id", id, sizeof id),
			    cli_int(v, "index", task, sizeof task),
			    cli_int(v, "no", no, sizeof no), cli_str(v, "node"),
			    cli_str(v, "state"), cli_int(v, "exit_status", code,
			    sizeof code), b2, b3, cli_str(v, "container"),
			    cli_str(v, "reason"), NULL);
		}
		table_print(t, stdout);
		table_free(t);
	}
	json_decref(j);
	return 0;
}

/* ---- changes ------------------------------------------------------------ */

int
cmd_job_cancel(struct cli *c)
{
	char *path = cli_path("jobs/%s/%s/cancel", c->grid, c->args[0]);
	char *cause;
	json_t *v;
	int rc;

	rc = client_json("POST", path, NULL, &v, &cause);
	free(path);
	if (rc != 0)
		return cli_fail_cause(cause);
	if (c->json)
		cli_print_json(v);
	else
		printf("job %s cancelled\n", cli_str(v, "name"));
	json_decref(v);
	return 0;
}

int
cmd_job_rm(struct cli *c)
{
	char *path, *cause;
	struct client_reply r;
	int rc;

	if (cli_flag(c, CLI_OPT_FORCE))
		path = cli_path("jobs/%s/%s?force=1", c->grid, c->args[0]);
	else
		path = cli_path("jobs/%s/%s", c->grid, c->args[0]);
	rc = client_do("DELETE", path, NULL, NULL, 0, &r, &cause);
	free(path);
	if (rc != 0)
		return cli_fail_cause(cause);
	client_reply_free(&r);
	if (!c->json)
		printf("job %s removed\n", c->args[0]);
	return 0;
}
