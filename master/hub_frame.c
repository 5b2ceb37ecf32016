/*
 * hub_frame.c - check agent frames and the labels header (see hub_frame.h).
 *
 * Called by the hub on the ws thread, and by hub_desired.c for the containers
 * of a state report; pure, so any thread (and the fuzzers) may call it.
 * A cause names the field the way docs/protocol.md does
 * ("state.containers[2].state: unknown state"); the hub logs it and sends
 * it back in the 4010 close reason. Of the agent's own bytes a cause holds
 * at most an unknown type's first 32.
 */
#include "master/hub_frame.h"

#include "common/proto.h"
#include "common/util.h"
#include "common/netaddr.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

static const char *frame_health[] = {
	"starting", "healthy", "unhealthy", NULL,
};

static const char *frame_states[] = {
	"pending", "pulling", "created", "starting", "running", "paused",
	"crashing", "stopped", "error", "removing", NULL,
};

/*
 * A container's health (docs/protocol.md), all optional: health one of
 * frame_health, health_error a string of at most PROTO_MAX_HEALTH_ERROR
 * bytes, health_restarts an integer 0..2^31-1. 0, or -1 with *cause.
 */
static int
frame_check_health(json_t *c, size_t idx, char **cause)
{
	const char *const *sp;
	json_t *v;

	if ((v = json_object_get(c, "health")) != NULL && !json_is_null(v)) {
		for (sp = frame_health; json_is_string(v) && *sp != NULL; sp++)
			if (strcmp(*sp, json_string_value(v)) == 0)
				break;
		if (!json_is_string(v) || *sp == NULL) {
			xasprintf(cause, "containers[%zu].health: expected "
			    "\"starting\", \"healthy\" or \"unhealthy\"", idx);
			return -1;
		}
	}
	if ((v = json_object_get(c, "health_error")) != NULL &&
	    !json_is_null(v) && (!json_is_string(v) ||
	    json_string_length(v) > PROTO_MAX_HEALTH_ERROR)) {
		xasprintf(cause, "containers[%zu].health_error: expected a "
		    "string of at most %d bytes", idx, PROTO_MAX_HEALTH_ERROR);
		return -1;
	}
	if ((v = json_object_get(c, "health_restarts")) != NULL &&
	    !json_is_null(v) && (!json_is_integer(v) ||
	    json_integer_value(v) < 0 || json_integer_value(v) > 2147483647)) {
		xasprintf(cause, "containers[%zu].health_restarts: expected an "
		    "integer 0-2147483647", idx);
		return -1;
	}
	return 0;
}

static const char *frame_hook_types[] = {
	"pre_start", "post_start", "pre_stop", NULL,
};

/*
 * One hook run of a container (docs/protocol.md): {type, name, ok,
 * exit_code, output, at}. 0, or -1 with *cause.
 */
static int
frame_check_hook(json_t *h, size_t idx, size_t k, char **cause)
{
	const char *const *sp;
	json_t *v;

	if (!json_is_object(h)) {
		xasprintf(cause, "containers[%zu].hooks[%zu]: expected an "
		    "object", idx, k);
		return -1;
	}
	v = json_object_get(h, "type");
	for (sp = frame_hook_types; json_is_string(v) && *sp != NULL; sp++)
		if (strcmp(*sp, json_string_value(v)) == 0)
			break;
	if (!json_is_string(v) || *sp == NULL) {
		xasprintf(cause, "containers[%zu].hooks[%zu].type: expected "
		    "\"pre_start\", \"post_start\" or \"pre_stop\"", idx, k);
		return -1;
	}
	v = json_object_get(h, "name");
	if (!json_is_string(v) || json_string_length(v) > PROTO_MAX_HOOK_NAME) {
		xasprintf(cause, "containers[%zu].hooks[%zu].name: expected a "
		    "string of at most %d bytes", idx, k, PROTO_MAX_HOOK_NAME);
		return -1;
	}
	if (!json_is_boolean(json_object_get(h, "ok"))) {
		xasprintf(cause, "containers[%zu].hooks[%zu].ok: expected a "
		    "boolean", idx, k);
		return -1;
	}
	v = json_object_get(h, "exit_code");
	if (v != NULL && !json_is_null(v) && !json_is_integer(v)) {
		xasprintf(cause, "containers[%zu].hooks[%zu].exit_code: "
		    "expected an integer or null", idx, k);
		return -1;
	}
	v = json_object_get(h, "output");
	if (v != NULL && !json_is_null(v) && (!json_is_string(v) ||
	    json_string_length(v) > PROTO_MAX_OUTPUT)) {
		xasprintf(cause, "containers[%zu].hooks[%zu].output: expected "
		    "a string of at most %d bytes", idx, k, PROTO_MAX_OUTPUT);
		return -1;
	}
	v = json_object_get(h, "at");
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		xasprintf(cause, "containers[%zu].hooks[%zu].at: expected an "
		    "integer (epoch ms)", idx, k);
		return -1;
	}
	return 0;
}

/* A container's hook runs, optional: at most PROTO_MAX_HOOK_RUNS. */
static int
frame_check_hooks(json_t *c, size_t idx, char **cause)
{
	json_t *list = json_object_get(c, "hooks"), *h;
	size_t k;

	if (list == NULL || json_is_null(list))
		return 0;
	if (!json_is_array(list) || json_array_size(list) >
	    PROTO_MAX_HOOK_RUNS) {
		xasprintf(cause, "containers[%zu].hooks: expected an array of "
		    "at most %d hook runs", idx, PROTO_MAX_HOOK_RUNS);
		return -1;
	}
	json_array_foreach(list, k, h) {
		if (frame_check_hook(h, idx, k, cause) != 0)
			return -1;
	}
	return 0;
}

/* One reported container; 0, or -1 with *cause. */
static int
frame_check_container(json_t *c, size_t idx, char **cause)
{
	const char *const *sp;
	json_t *v;
	uint32_t ip;

	if (!json_is_object(c)) {
		xasprintf(cause, "containers[%zu]: expected an object", idx);
		return -1;
	}
	if (!json_is_integer(json_object_get(c, "service_id")) ||
	    !json_is_integer(json_object_get(c, "instance")) ||
	    !json_is_integer(json_object_get(c, "rev"))) {
		xasprintf(cause, "containers[%zu]: service_id, instance and rev "
		    "must be integers", idx);
		return -1;
	}
	v = json_object_get(c, "state");
	if (!json_is_string(v)) {
		xasprintf(cause, "containers[%zu].state: expected a string", idx);
		return -1;
	}
	for (sp = frame_states; *sp != NULL; sp++)
		if (strcmp(*sp, json_string_value(v)) == 0)
			break;
	if (*sp == NULL) {
		xasprintf(cause, "containers[%zu].state: unknown state", idx);
		return -1;
	}
	if ((v = json_object_get(c, "error")) != NULL && !json_is_null(v) &&
	    !json_is_string(v)) {
		xasprintf(cause, "containers[%zu].error: expected a string", idx);
		return -1;
	}
	if ((v = json_object_get(c, "exit_code")) != NULL && !json_is_null(v) &&
	    !json_is_integer(v)) {
		xasprintf(cause, "containers[%zu].exit_code: expected an "
		    "integer", idx);
		return -1;
	}
	if ((v = json_object_get(c, "last_output")) != NULL &&
	    !json_is_null(v) && (!json_is_string(v) ||
	    json_string_length(v) > PROTO_MAX_OUTPUT)) {
		xasprintf(cause, "containers[%zu].last_output: expected a string "
		    "of at most %d bytes", idx, PROTO_MAX_OUTPUT);
		return -1;
	}
	if ((v = json_object_get(c, "container_id")) != NULL &&
	    !json_is_null(v) && !json_is_string(v)) {
		xasprintf(cause, "containers[%zu].container_id: expected a "
		    "string", idx);
		return -1;
	}
	if ((v = json_object_get(c, "address")) != NULL &&
	    !json_is_null(v) && (!json_is_string(v) ||
	    netaddr_parse_ip(json_string_value(v), &ip) != 0)) {
		xasprintf(cause, "containers[%zu].address: expected an IPv4 "
		    "address", idx);
		return -1;
	}
	if (frame_check_health(c, idx, cause) != 0)
		return -1;
	return frame_check_hooks(c, idx, cause);
}

int
frame_state_containers(json_t *containers, char **cause)
{
	json_t *c;
	size_t i;

	if (!json_is_array(containers)) {
		xasprintf(cause, "containers: expected an array");
		return -1;
	}
	json_array_foreach(containers, i, c) {
		if (frame_check_container(c, i, cause) != 0)
			return -1;
	}
	return 0;
}

static const char *frame_job_states[] = {
	"pending", "pulling", "running", "exited", "error", "missing", NULL,
};

/* One reported job attempt; 0, or -1 with *cause. */
static int
frame_check_job(json_t *c, size_t idx, char **cause)
{
	const char *const *sp;
	const char *str[] = { "error", "container_id" };
	const char *bools[] = { "oom_killed", "timed_out" };
	json_t *v;
	size_t k;

	if (!json_is_object(c)) {
		xasprintf(cause, "jobs[%zu]: expected an object", idx);
		return -1;
	}
	v = json_object_get(c, "attempt");
	if (!json_is_integer(v) || json_integer_value(v) < 1) {
		xasprintf(cause, "jobs[%zu].attempt: expected an attempt id",
		    idx);
		return -1;
	}
	v = json_object_get(c, "state");
	for (sp = frame_job_states; json_is_string(v) && *sp != NULL; sp++)
		if (strcmp(*sp, json_string_value(v)) == 0)
			break;
	if (!json_is_string(v) || *sp == NULL) {
		xasprintf(cause, "jobs[%zu].state: unknown state", idx);
		return -1;
	}
	v = json_object_get(c, "exit_code");
	if (v != NULL && !json_is_null(v) && !json_is_integer(v)) {
		xasprintf(cause, "jobs[%zu].exit_code: expected an integer",
		    idx);
		return -1;
	}
	for (k = 0; k < 2; k++) {
		v = json_object_get(c, str[k]);
		if (v != NULL && !json_is_null(v) && !json_is_string(v)) {
			xasprintf(cause, "jobs[%zu].%s: expected a string",
			    idx, str[k]);
			return -1;
		}
		v = json_object_get(c, bools[k]);
		if (v != NULL && !json_is_boolean(v)) {
			xasprintf(cause, "jobs[%zu].%s: expected true or "
			    "false", idx, bools[k]);
			return -1;
		}
	}
	return 0;
}

int
frame_state_jobs(json_t *jobs, char **cause)
{
	json_t *c;
	size_t i;

	if (!json_is_array(jobs)) {
		xasprintf(cause, "jobs: expected an array");
		return -1;
	}
	json_array_foreach(jobs, i, c) {
		if (frame_check_job(c, i, cause) != 0)
			return -1;
	}
	return 0;
}

/* A state frame's optional "engine" ("up", "down") and "engine_error". */
static int
frame_check_engine(json_t *f, char **cause)
{
	json_t *v = json_object_get(f, "engine");

	if (v != NULL && (!json_is_string(v) ||
	    (strcmp(json_string_value(v), "up") != 0 &&
	    strcmp(json_string_value(v), "down") != 0))) {
		xasprintf(cause, "state.engine: expected \"up\" or \"down\"");
		return -1;
	}
	v = json_object_get(f, "engine_error");
	if (v != NULL && !json_is_null(v) && (!json_is_string(v) ||
	    json_string_length(v) > PROTO_MAX_ERROR)) {
		xasprintf(cause, "state.engine_error: expected a string of at "
		    "most %d bytes", PROTO_MAX_ERROR);
		return -1;
	}
	return 0;
}

static int
frame_check_info(json_t *f, char **cause)
{
	static const char *strs[] = { "hostname", "docker_version", "os",
	    "kernel", NULL };
	const char **k;
	json_t *v, *a;
	uint32_t ip;
	size_t i;

	v = json_object_get(f, "cpus");
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		xasprintf(cause, "node_info.cpus: expected a whole number");
		return -1;
	}
	v = json_object_get(f, "memory");
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		xasprintf(cause, "node_info.memory: expected bytes");
		return -1;
	}
	for (k = strs; *k != NULL; k++) {
		v = json_object_get(f, *k);
		if (v != NULL && !json_is_string(v) && !json_is_null(v)) {
			xasprintf(cause, "node_info.%s: expected a string", *k);
			return -1;
		}
	}
	v = json_object_get(f, "peer_address");
	if (v != NULL && !json_is_null(v) && (!json_is_string(v) ||
	    netaddr_parse_ip(json_string_value(v), &ip) != 0)) {
		xasprintf(cause, "node_info.peer_address: expected an IPv4 "
		    "address");
		return -1;
	}
	v = json_object_get(f, "addresses");
	if (v != NULL) {
		if (!json_is_array(v)) {
			xasprintf(cause, "node_info.addresses: expected an array");
			return -1;
		}
		json_array_foreach(v, i, a) {
			if (!json_is_string(a)) {
				xasprintf(cause, "node_info.addresses[%zu]: "
				    "expected a string", i);
				return -1;
			}
		}
	}
	return 0;
}

/* An exec frame: "id" always, then what its type has. */
static int
frame_check_exec(json_t *f, const char *t, enum frame_type type,
    char **cause)
{
	json_t *v = json_object_get(f, "id");

	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > 0xffffffffLL) {
		xasprintf(cause, "%s.id: expected a session id", t);
		return -1;
	}
	if (type == FRAME_EXEC_ACK) {
		v = json_object_get(f, "bytes");
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > PROTO_EXEC_WINDOW) {
			xasprintf(cause, "%s.bytes: expected 0 to %d", t,
			    PROTO_EXEC_WINDOW);
			return -1;
		}
	}
	if (type == FRAME_EXEC_END) {
		v = json_object_get(f, "exit_code");
		if (v != NULL && !json_is_null(v) && !json_is_integer(v)) {
			xasprintf(cause, "%s.exit_code: expected an integer", t);
			return -1;
		}
		v = json_object_get(f, "error");
		if (v != NULL && !json_is_null(v) && !json_is_string(v)) {
			xasprintf(cause, "%s.error: expected a string", t);
			return -1;
		}
		if (!json_is_integer(json_object_get(f, "exit_code")) &&
		    !json_is_string(json_object_get(f, "error"))) {
			xasprintf(cause, "%s: expected exit_code or error", t);
			return -1;
		}
	}
	return 0;
}

/* node_query: "node_ids", 1 to PROTO_MAX_NODE_QUERY ids of 32 hex. */
static int
frame_check_query(json_t *f, char **cause)
{
	json_t *ids = json_object_get(f, "node_ids"), *v;
	const char *s;
	size_t i, k;

	if (!json_is_array(ids) || json_array_size(ids) == 0 ||
	    json_array_size(ids) > PROTO_MAX_NODE_QUERY) {
		xasprintf(cause, "node_query.node_ids: expected an array of 1 "
		    "to %d node ids", PROTO_MAX_NODE_QUERY);
		return -1;
	}
	json_array_foreach(ids, i, v) {
		s = json_string_value(v);
		for (k = 0; s != NULL && k < PROTO_NODE_ID_LEN; k++)
			if (!((s[k] >= '0' && s[k] <= '9') ||
			    (s[k] >= 'a' && s[k] <= 'f')))
				break;
		if (s == NULL || k != PROTO_NODE_ID_LEN || s[k] != '\0') {
			xasprintf(cause, "node_query.node_ids[%zu]: expected "
			    "32 lowercase hex characters", i);
			return -1;
		}
	}
	return 0;
}

int
frame_check(json_t *f, enum frame_type *type, char **cause)
{
	const char *t;
	char *c;

	if (!json_is_object(f) || !json_is_string(json_object_get(f, "type"))) {
		xasprintf(cause, "malformed frame: no \"type\"");
		return -1;
	}
	t = json_string_value(json_object_get(f, "type"));
	if (strcmp(t, PROTO_T_STATS) == 0) {
		*type = FRAME_STATS;
		if (!json_is_number(json_object_get(f, "cpu_pct"))) {
			xasprintf(cause, "stats.cpu_pct: expected a number");
			return -1;
		}
		{
			static const char *ints[] = { "mem_used", "mem_total",
			    "containers", NULL };
			const char **k;
			json_t *v;

			for (k = ints; *k != NULL; k++) {
				v = json_object_get(f, *k);
				if (v != NULL && !json_is_null(v) &&
				    (!json_is_integer(v) ||
				    json_integer_value(v) < 0)) {
					xasprintf(cause, "stats.%s: expected a "
					    "whole number", *k);
					return -1;
				}
			}
		}
		return 0;
	}
	if (strcmp(t, PROTO_T_STATE) == 0) {
		*type = FRAME_STATE;
		if (frame_check_engine(f, cause) != 0)
			return -1;
		if (frame_state_containers(json_object_get(f, "containers"),
		    &c) != 0 || (json_object_get(f, "jobs") != NULL &&
		    frame_state_jobs(json_object_get(f, "jobs"), &c) != 0)) {
			xasprintf(cause, "state.%s", c);
			free(c);
			return -1;
		}
		return 0;
	}
	if (strcmp(t, PROTO_T_LOGS) == 0) {
		*type = FRAME_LOGS;
		return 0;
	}
	if (strcmp(t, PROTO_T_NODE_INFO) == 0) {
		*type = FRAME_NODE_INFO;
		return frame_check_info(f, cause);
	}
	if (strcmp(t, PROTO_T_EXEC_STARTED) == 0 ||
	    strcmp(t, PROTO_T_EXEC_ACK) == 0 || strcmp(t, PROTO_T_EXEC_END) == 0) {
		*type = strcmp(t, PROTO_T_EXEC_STARTED) == 0 ?
		    FRAME_EXEC_STARTED : strcmp(t, PROTO_T_EXEC_ACK) == 0 ?
		    FRAME_EXEC_ACK : FRAME_EXEC_END;
		return frame_check_exec(f, t, *type, cause);
	}
	if (strcmp(t, PROTO_T_NODE_QUERY) == 0) {
		*type = FRAME_NODE_QUERY;
		return frame_check_query(f, cause);
	}
	xasprintf(cause, "unknown frame type \"%.32s\"", t);
	return -1;
}

char *
frame_labels(const char *in)
{
	json_t *arr = json_array();
	char *copy = xstrdup(in), *p, *save = NULL, *text = NULL;

	for (p = strtok_r(copy, ", ", &save); p != NULL;
	    p = strtok_r(NULL, ", ", &save)) {
		size_t i;
		json_t *v;

		if (!util_label_valid(p) ||
		    json_array_size(arr) >= PROTO_MAX_LABELS)
			goto out;
		json_array_foreach(arr, i, v)
			if (util_label_same_key(json_string_value(v), p))
				goto out;
		json_array_append_new(arr, json_string(p));
	}
	text = json_dumps(arr, JSON_COMPACT);
out:
	free(copy);
	json_decref(arr);
	return text;
}
