/*
 * jobrun.c - jobs on the agent (see jobrun.h): the desired frame's job
 * entries into create bodies, and the per-attempt decision.
 *
 * Called by converge.c on the converge thread (and by the unit tests).
 * Parsing validates every field at the edge, as spec.c does for
 * services; the create body carries the labels berth.grid, berth.node,
 * berth.job, berth.job-id, berth.job-index and berth.attempt, the job's
 * own labels, and the restart policy "no": a job's container runs once.
 */
#include "agent/jobrun.h"
#include "agent/spec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/log.h"
#include "common/proto.h"
#include "common/xmalloc.h"

#define JOBRUN_STOP_GRACE_S	10	/* SIGTERM, then SIGKILL after */

static const char *jobrun_state_names[] = {
	[JOBRUN_ST_PENDING] = "pending",
	[JOBRUN_ST_PULLING] = "pulling",
	[JOBRUN_ST_RUNNING] = "running",
	[JOBRUN_ST_EXITED] = "exited",
	[JOBRUN_ST_ERROR] = "error",
	[JOBRUN_ST_MISSING] = "missing",
};

const char *
jobrun_state_name(enum jobrun_state st)
{
	return jobrun_state_names[st];
}

void
jobrun_rec_clear(struct jobrun_rec *r)
{
	if (r == NULL)
		return;
	free(r->error);
	r->error = NULL;
}

static void
jobrun_spec_clear(struct jobrun_spec *s)
{
	free(s->name);
	free(s->image);
	free(s->body);
	memset(s, 0, sizeof *s);
}

void
jobrun_spec_free(struct jobrun_spec *specs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		jobrun_spec_clear(&specs[i]);
	free(specs);
}

int64_t
jobrun_time_ms(const char *s)
{
	struct tm tm;
	const char *p;
	int64_t ms = 0, scale = 100;

	if (s == NULL || strncmp(s, "0001-", 5) == 0)
		return -1;
	memset(&tm, 0, sizeof tm);
	if ((p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return -1;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++) {
			ms += (*p - '0') * scale;
			scale /= 10;
		}
	}
	if (*p != 'Z')
		return -1;		/* the engine speaks UTC */
	return (int64_t)timegm(&tm) * 1000 + ms;
}

/* ---- the decision ------------------------------------------------------- */

static void
jobrun_due(struct jobrun_out *out, int64_t ms)
{
	if (ms < 0)
		ms = 0;
	if (out->due < 0 || ms < out->due)
		out->due = ms;
}

int
jobrun_needs_inspect(const struct jobrun_spec *s,
    const struct observe_container *m)
{
	switch (m->a.state) {
	case PLAN_ST_RUNNING:
	case PLAN_ST_RESTARTING:
	case PLAN_ST_PAUSED:
		return s->timeout_s > 0;
	case PLAN_ST_EXITED:
	case PLAN_ST_DEAD:
		return s->timeout_s > 0 || m->list_exit < 0 ||
		    m->list_exit == 137;
	default:
		return 0;
	}
}

/* Its container exited (or is dead): what it says. */
static void
jobrun_exited(const struct jobrun_spec *s, const struct observe_container *m,
    const struct observe_inspect *ins, struct jobrun_out *out)
{
	int64_t started, finished;

	out->report = 1;
	out->state = JOBRUN_ST_EXITED;
	out->has_exit = 1;
	if (ins == NULL) {	/* the list said all there is to say */
		out->exit_code = m->list_exit;
		return;
	}
	started = jobrun_time_ms(ins->started_at);
	finished = jobrun_time_ms(ins->finished_at);
	out->exit_code = ins->exit_code;
	out->oom_killed = ins->oom_killed;
	/* Stopped for its timeout, or ran that long while nobody looked. */
	out->timed_out = s != NULL && s->timeout_s > 0 && started > 0 &&
	    finished > 0 && finished - started >= s->timeout_s * 1000;
}

void
jobrun_decide(const struct jobrun_spec *s, int done,
    const struct observe_container *m, const struct observe_inspect *ins,
    const struct jobrun_rec *r, const struct jobrun_facts *f,
    struct jobrun_out *out)
{
	int64_t started, left;

	memset(out, 0, sizeof *out);
	out->due = -1;
	out->action = JOBRUN_NONE;
	if (done) {
		/* Finished for the master (cancelled, lost): stop, keep. */
		if (m != NULL && m->a.state == PLAN_ST_RUNNING)
			out->action = f->busy ? JOBRUN_WAIT : JOBRUN_STOP;
		return;
	}
	out->report = 1;
	out->state = JOBRUN_ST_PENDING;
	if (m == NULL) {
		if (r->error != NULL) {
			out->state = JOBRUN_ST_ERROR;
			out->error = r->error;
		} else if (f->busy)
			out->action = JOBRUN_WAIT;	/* being created */
		else if (r->created || s->started)
			out->state = JOBRUN_ST_MISSING;
		else if (!f->live)
			out->action = JOBRUN_WAIT;
		else
			out->action = JOBRUN_CREATE;
		return;
	}
	switch (m->a.state) {
	case PLAN_ST_CREATED:
		/* Never ran: started once, or its failure reported. */
		if (r->error != NULL) {
			out->state = JOBRUN_ST_ERROR;
			out->error = r->error;
		} else if (f->busy || !f->live || s->started)
			out->action = JOBRUN_WAIT;
		else
			out->action = JOBRUN_START;
		return;
	case PLAN_ST_RUNNING:
	case PLAN_ST_RESTARTING:
	case PLAN_ST_PAUSED:	/* paused by hand: still its attempt, timed */
		out->state = JOBRUN_ST_RUNNING;
		if (s->timeout_s <= 0 || ins == NULL ||
		    (started = jobrun_time_ms(ins->started_at)) < 0)
			return;
		left = started + s->timeout_s * 1000 - f->now_ms;
		if (left > 0)
			jobrun_due(out, left);
		else
			out->action = f->busy ? JOBRUN_WAIT : JOBRUN_STOP;
		return;
	case PLAN_ST_EXITED:
	case PLAN_ST_DEAD:
		jobrun_exited(s, m, ins, out);
		return;
	case PLAN_ST_REMOVING:
		out->state = JOBRUN_ST_MISSING;
		return;
	}
}

void
jobrun_image(struct jobrun_rec *r, int image_rc, enum pull_status st,
    char *error, struct jobrun_out *out)
{
	if (image_rc > 0) {		/* here: create it */
		free(error);
		return;
	}
	out->action = JOBRUN_WAIT;
	if (image_rc < 0) {		/* the engine could not say: again */
		free(error);
		return;
	}
	if (st == PULL_PULLING) {
		free(error);
		out->state = JOBRUN_ST_PULLING;
		return;
	}
	/* A failed pull: this attempt could not start. */
	free(r->error);
	r->error = error != NULL ? error : xstrdup("the image could not be "
	    "pulled");
	out->state = JOBRUN_ST_ERROR;
	out->error = r->error;
}

/* ---- the desired frame's jobs --------------------------------------------- */

static int
jobrun_name_valid(const char *s)
{
	size_t i, len = strlen(s);

	if (len == 0 || len > 200)
		return 0;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') ||
		    (i > 0 && (c == '_' || c == '.' || c == '-'))))
			return 0;
	}
	return 1;
}

static int
jobrun_from_json(json_t *e, const char *node_id, struct jobrun_spec *s,
    char **cause)
{
	json_t *cfg = NULL, *host, *labels, *arr, *v;
	const char *name, *image, *grid, *job, *phase, *key;
	json_int_t attempt, job_id, index, timeout, mem;
	char num[32];
	double cpus;

	memset(s, 0, sizeof *s);
	if (!json_is_object(e)) {
		xasprintf(cause, "entry is not an object");
		return -1;
	}
	name = json_string_value(json_object_get(e, "name"));
	image = json_string_value(json_object_get(e, "image"));
	grid = json_string_value(json_object_get(e, "grid"));
	job = json_string_value(json_object_get(e, "job"));
	phase = json_string_value(json_object_get(e, "phase"));
	attempt = json_integer_value(json_object_get(e, "attempt"));
	job_id = json_integer_value(json_object_get(e, "job_id"));
	index = json_integer_value(json_object_get(e, "index"));
	if (name == NULL || !jobrun_name_valid(name)) {
		xasprintf(cause, "name: want [A-Za-z0-9][A-Za-z0-9_.-]*");
		return -1;
	}
	if (image == NULL || !spec_image_valid(image)) {
		xasprintf(cause, "%s: image: missing or not a valid reference",
		    name);
		return -1;
	}
	if (!json_is_integer(json_object_get(e, "attempt")) || attempt < 1 ||
	    !json_is_integer(json_object_get(e, "job_id")) || job_id < 1 ||
	    !json_is_integer(json_object_get(e, "index")) || index < 0 ||
	    job == NULL || grid == NULL) {
		xasprintf(cause, "%s: attempt, job_id, index, job and grid are "
		    "required", name);
		return -1;
	}
	if (phase == NULL || (strcmp(phase, "run") != 0 &&
	    strcmp(phase, "started") != 0)) {
		xasprintf(cause, "%s: phase: want \"run\" or \"started\"", name);
		return -1;
	}
	v = json_object_get(e, "timeout");
	timeout = json_integer_value(v);
	if (v != NULL && !json_is_null(v) && (!json_is_integer(v) ||
	    timeout < 0)) {
		xasprintf(cause, "%s: timeout: want seconds >= 0", name);
		return -1;
	}

	cfg = json_object();
	host = json_object();
	json_object_set_new(cfg, "HostConfig", host);
	json_object_set_new(cfg, "Image", json_string(image));
	if (spec_strings(e, "command", &arr, cause) != 0)
		goto fail;
	if (arr != NULL)
		json_object_set_new(cfg, "Cmd", arr);
	if (spec_strings(e, "env", &arr, cause) != 0)
		goto fail;
	if (arr != NULL)
		json_object_set_new(cfg, "Env", arr);
	labels = json_object();
	json_object_set_new(cfg, "Labels", labels);
	/* The job's own labels first: berth.* cannot be among them. */
	v = json_object_get(e, "labels");
	if (v != NULL && !json_is_null(v)) {
		json_t *lv;

		if (!json_is_object(v)) {
			xasprintf(cause, "%s: labels: want an object", name);
			goto fail;
		}
		json_object_foreach(v, key, lv) {
			if (!json_is_string(lv) ||
			    strncmp(key, "berth.", 6) == 0) {
				xasprintf(cause, "%s: labels.%s: want a "
				    "string, and no berth.* key", name, key);
				goto fail;
			}
			json_object_set(labels, key, lv);
		}
	}
	json_object_set_new(labels, PROTO_LABEL_GRID, json_string(grid));
	json_object_set_new(labels, PROTO_LABEL_NODE, json_string(node_id));
	json_object_set_new(labels, PROTO_LABEL_JOB, json_string(job));
	snprintf(num, sizeof num, "%lld", (long long)job_id);
	json_object_set_new(labels, PROTO_LABEL_JOB_ID, json_string(num));
	snprintf(num, sizeof num, "%lld", (long long)index);
	json_object_set_new(labels, PROTO_LABEL_JOB_INDEX, json_string(num));
	snprintf(num, sizeof num, "%lld", (long long)attempt);
	json_object_set_new(labels, PROTO_LABEL_ATTEMPT, json_string(num));
	v = json_object_get(e, "cpus");
	if (v != NULL && !json_is_null(v)) {
		cpus = json_number_value(v);
		if (!json_is_number(v) || cpus <= 0 || cpus > 1024) {
			xasprintf(cause, "%s: cpus: want a number > 0", name);
			goto fail;
		}
		json_object_set_new(host, "NanoCpus",
		    json_integer((json_int_t)(cpus * 1e9)));
	}
	v = json_object_get(e, "memory");
	mem = json_integer_value(v);
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_integer(v) || mem < 0) {
			xasprintf(cause, "%s: memory: want bytes", name);
			goto fail;
		}
		json_object_set_new(host, "Memory", json_integer(mem));
	}
	json_object_set_new(host, "RestartPolicy", json_pack("{s:s}", "Name",
	    "no"));
	json_object_set_new(cfg, "StopTimeout",
	    json_integer(JOBRUN_STOP_GRACE_S));
	s->body = json_dumps(cfg, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(cfg);
	if (s->body == NULL) {
		xasprintf(cause, "%s: cannot encode the create body", name);
		return -1;
	}
	s->attempt = attempt;
	s->job_id = job_id;
	s->index = (int)index;
	s->name = xstrdup(name);
	s->image = xstrdup(image);
	s->started = strcmp(phase, "started") == 0;
	s->timeout_s = timeout;
	return 0;
fail:
	json_decref(cfg);
	return -1;
}

int
jobrun_parse_one(const char *text, const char *node_id, struct jobrun_spec *s,
    char **cause)
{
	json_error_t jerr;
	json_t *e;
	int rc;

	if ((e = json_loads(text, 0, &jerr)) == NULL) {
		xasprintf(cause, "bad JSON: %s", jerr.text);
		return -1;
	}
	rc = jobrun_from_json(e, node_id, s, cause);
	json_decref(e);
	return rc;
}

int
jobrun_parse_desired(const char *text, const char *node_id,
    struct jobrun_spec **specs, size_t *nspecs, int64_t **done, size_t *ndone,
    char **cause)
{
	json_error_t jerr;
	json_t *o, *list, *ids, *e;
	struct jobrun_spec *out;
	int64_t *d;
	size_t i, j, n = 0, nd = 0;
	char *why = NULL, esc[256];

	*specs = NULL;
	*nspecs = 0;
	*done = NULL;
	*ndone = 0;
	if ((o = json_loads(text, 0, &jerr)) == NULL) {
		xasprintf(cause, "desired: bad JSON: %s", jerr.text);
		return -1;
	}
	list = json_object_get(o, "jobs");
	ids = json_object_get(o, "jobs_done");
	if ((list != NULL && !json_is_array(list)) ||
	    (ids != NULL && !json_is_array(ids))) {
		xasprintf(cause, "desired: jobs and jobs_done must be arrays");
		json_decref(o);
		return -1;
	}
	out = xcalloc(json_array_size(list) + 1, sizeof *out);
	json_array_foreach(list, i, e) {
		if (jobrun_from_json(e, node_id, &out[n], &why) != 0) {
			log_warn("desired: job entry %zu skipped: %s", i,
			    log_escape(esc, sizeof esc, why));
			free(why);
			why = NULL;
			continue;
		}
		for (j = 0; j < n; j++) {
			if (out[j].attempt == out[n].attempt ||
			    strcmp(out[j].name, out[n].name) == 0)
				break;
		}
		if (j < n) {
			log_warn("desired: job entry %zu skipped: same attempt "
			    "or name as %s", i, out[j].name);
			jobrun_spec_clear(&out[n]);
			continue;
		}
		n++;
	}
	d = xcalloc(json_array_size(ids) + 1, sizeof *d);
	json_array_foreach(ids, i, e) {
		if (json_is_integer(e) && json_integer_value(e) > 0)
			d[nd++] = json_integer_value(e);
	}
	json_decref(o);
	*specs = out;
	*nspecs = n;
	*done = d;
	*ndone = nd;
	return 0;
}
