/*
 * hooks.c - run a service's hooks (see hooks.h).
 *
 * DESIGN: parsing and the oneshot set belong to the converge thread; the
 * runs (hook_exec(), hook_container()) to a worker, on its own Docker
 * client, bounded by HOOK_TIMEOUT_S and by the agent's stop flag (the
 * client's curl progress callback). Output is Docker's multiplexed stream,
 * cut to its last lines by observe_parse_logs() (at most 5 lines and
 * PROTO_MAX_OUTPUT bytes, printable ASCII), which is what a crash shows
 * too.
 */
#include "agent/hooks.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/docker.h"
#include "agent/observe.h"
#include "common/log.h"
#include "common/logfmt.h"
#include "common/proto.h"
#include "common/util.h"
#include "common/xmalloc.h"

#define HOOK_OUTPUT_READ	(256 * 1024)	/* bytes of output read */

static const char *hook_names[] = {
	[HOOK_PRE_START] = "pre_start",
	[HOOK_POST_START] = "post_start",
	[HOOK_PRE_STOP] = "pre_stop",
};

const char *
hook_type_name(enum hook_type t)
{
	return hook_names[t];
}

/* ---- the desired entry ---------------------------------------------------- */

void
hooks_free(struct hook *h, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(h[i].name);
		free(h[i].cmd);
	}
	free(h);
}

int
hooks_parse(json_t *e, int64_t instance, struct hook **out, size_t *n,
    char **cause)
{
	json_t *hooks = json_object_get(e, "hooks"), *list, *h, *v;
	struct hook *arr = NULL;
	size_t cnt = 0, i;
	const char *cmd, *name;
	int t;

	*out = NULL;
	*n = 0;
	if (hooks == NULL || json_is_null(hooks))
		return 0;
	if (!json_is_object(hooks)) {
		xasprintf(cause, "hooks: want an object");
		return -1;
	}
	for (t = HOOK_PRE_START; t <= HOOK_PRE_STOP; t++) {
		list = json_object_get(hooks, hook_names[t]);
		if (list == NULL || json_is_null(list))
			continue;
		if (!json_is_array(list)) {
			xasprintf(cause, "hooks.%s: want an array",
			    hook_names[t]);
			goto fail;
		}
		json_array_foreach(list, i, h) {
			cmd = json_string_value(json_object_get(h, "cmd"));
			v = json_object_get(h, "name");
			name = json_string_value(v);
			if (!json_is_object(h) || cmd == NULL || (v != NULL &&
			    !json_is_null(v) && name == NULL)) {
				xasprintf(cause, "hooks.%s[%zu]: want {name, "
				    "cmd, instances, oneshot} with a string "
				    "cmd", hook_names[t], i);
				goto fail;
			}
			v = json_object_get(h, "instances");
			if (v != NULL && !json_is_null(v) &&
			    !(json_is_string(v) && strcmp(json_string_value(v),
			    "*") == 0) && !json_is_integer(v)) {
				xasprintf(cause, "hooks.%s[%zu].instances: want "
				    "\"*\" or an instance number",
				    hook_names[t], i);
				goto fail;
			}
			if (json_is_integer(v) &&
			    json_integer_value(v) != instance)
				continue;	/* another instance's */
			arr = xreallocarray(arr, cnt + 1, sizeof *arr);
			arr[cnt].type = (enum hook_type)t;
			arr[cnt].cmd = xstrdup(cmd);
			arr[cnt].name = xstrndup(name != NULL ? name : cmd,
			    logfmt_utf8_cut(name != NULL ? name : cmd,
			    strlen(name != NULL ? name : cmd),
			    HOOK_NAME_MAX));
			arr[cnt].oneshot = json_is_true(json_object_get(h,
			    "oneshot"));
			cnt++;
		}
	}
	*out = arr;
	*n = cnt;
	return 0;
fail:
	hooks_free(arr, cnt);
	return -1;
}

size_t
hooks_pick(const struct hook *h, size_t n, enum hook_type t,
    struct hook **out)
{
	size_t i, cnt = 0;

	*out = NULL;
	for (i = 0; i < n; i++) {
		if (h[i].type != t)
			continue;
		*out = xreallocarray(*out, cnt + 1, sizeof **out);
		(*out)[cnt].type = t;
		(*out)[cnt].name = xstrdup(h[i].name);
		(*out)[cnt].cmd = xstrdup(h[i].cmd);
		(*out)[cnt].oneshot = h[i].oneshot;
		cnt++;
	}
	return cnt;
}

/* ---- runs ----------------------------------------------------------------- */

void
hook_run_clear(struct hook_run *r)
{
	free(r->name);
	free(r->output);
	memset(r, 0, sizeof *r);
}

void
hook_run_copy(struct hook_run *dst, const struct hook_run *src)
{
	hook_run_clear(dst);
	*dst = *src;
	dst->name = src->name != NULL ? xstrdup(src->name) : NULL;
	dst->output = src->output != NULL ? xstrdup(src->output) : NULL;
}

char *
hook_run_failure(const struct hook_run *r)
{
	char *s, code[32];

	if (r->exit_code >= 0)
		snprintf(code, sizeof code, "exit code %d", r->exit_code);
	else
		snprintf(code, sizeof code, "could not run");
	xasprintf(&s, "%s hook %s failed: %s%s%s", hook_names[r->type],
	    r->name, code, r->output != NULL ? ": " : "",
	    r->output != NULL ? r->output : "");
	return s;
}

json_t *
hook_run_json(const struct hook_run *r)
{
	return json_pack("{s:s, s:s, s:b, s:o, s:s?, s:I}", "type",
	    hook_names[r->type], "name", r->name != NULL ? r->name : "",
	    "ok", r->ok, "exit_code", r->exit_code >= 0 ?
	    json_integer(r->exit_code) : json_null(), "output", r->output,
	    "at", (json_int_t)r->at);
}

static void
hook_run_start(struct hook_run *out, const struct hook *h)
{
	hook_run_clear(out);
	out->type = h->type;
	out->name = xstrdup(h->name);
	out->oneshot = h->oneshot;
	out->exit_code = -1;
}

static void
hook_run_end(struct hook_run *out, const char *data, size_t len,
    char *cause)
{
	if (cause != NULL) {
		out->output = cause;
		if (strlen(out->output) > PROTO_MAX_OUTPUT)
			out->output[PROTO_MAX_OUTPUT] = '\0';
	} else if (data != NULL)
		out->output = observe_parse_logs(data, len);
	out->ok = cause == NULL && out->exit_code == 0;
	out->at = util_now_ms();
}

/* Read the hijacked exec stream to its end (or the deadline) into b. */
static int
hook_read(int fd, struct buf *b, int64_t deadline, char **cause)
{
	struct pollfd pfd;
	char chunk[4096];
	int64_t left;
	ssize_t n;
	int rc;

	for (;;) {
		left = deadline - util_mono_ms();
		if (left <= 0) {
			xasprintf(cause, "still running after %d s",
			    HOOK_TIMEOUT_S);
			return -1;
		}
		pfd.fd = fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		rc = poll(&pfd, 1, left > 1000 ? 1000 : (int)left);
		if (rc < 0 && errno != EINTR) {
			xasprintf(cause, "poll: %s", strerror(errno));
			return -1;
		}
		if (rc <= 0)
			continue;
		n = read(fd, chunk, sizeof chunk);
		if (n == 0)
			return 0;
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			xasprintf(cause, "read: %s", strerror(errno));
			return -1;
		}
		if (b->len < HOOK_OUTPUT_READ)
			buf_append(b, chunk, (size_t)n);
	}
}

int
hook_exec(struct docker *d, const char *id, const struct hook *h,
    struct hook_run *out)
{
	struct buf b = { 0 };
	char *exec_id = NULL, *cause = NULL, *body;
	json_t *o;
	int fd = -1, running = 0, pid, code = -1, i;

	hook_run_start(out, h);
	o = json_pack("{s:b, s:b, s:b, s:[s, s, s]}", "AttachStdout", 1,
	    "AttachStderr", 1, "Tty", 0, "Cmd", "/bin/sh", "-c", h->cmd);
	body = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (docker_exec_create(d, id, body, &exec_id, &cause) != 0 ||
	    docker_exec_attach(d, exec_id, 0, &fd, &b, &cause) != 0 ||
	    hook_read(fd, &b, util_mono_ms() + HOOK_TIMEOUT_S * 1000,
	    &cause) != 0)
		goto out;
	/* The stream ended with the command; its exit code follows. */
	for (i = 0; i < 50; i++) {
		if (docker_exec_inspect(d, exec_id, &running, &code, &pid,
		    &cause) != 0)
			goto out;
		if (!running)
			break;
		usleep(100000);
	}
	if (running)
		xasprintf(&cause, "its exit code did not come");
	else
		out->exit_code = code;
out:
	if (fd >= 0)
		close(fd);
	free(body);
	free(exec_id);
	hook_run_end(out, b.data, b.len, cause);
	buf_free(&b);
	return out->ok;
}

/*
 * The instance's create body as a one-off container for its pre_start
 * hook: "/bin/sh -c <cmd>", no restart policy, no host ports (its own
 * container may need them next), no labels (the agent's list must not
 * take it for an instance).
 */
static char *
hook_body(const char *body, const struct hook *h)
{
	json_t *o = json_loads(body, 0, NULL), *host;
	char *s;

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "Entrypoint", json_pack("[s, s]", "/bin/sh",
	    "-c"));
	json_object_set_new(o, "Cmd", json_pack("[s]", h->cmd));
	json_object_set_new(o, "Labels", json_object());
	json_object_del(o, "ExposedPorts");
	json_object_del(o, "Healthcheck");
	host = json_object_get(o, "HostConfig");
	if (json_is_object(host)) {
		json_object_del(host, "RestartPolicy");
		json_object_del(host, "PortBindings");
	}
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

int
hook_container(struct docker *d, const char *name, const char *body,
    const struct hook *h, struct hook_run *out)
{
	char *hname, *hbody, *id = NULL, *cause = NULL, *ign = NULL,
	    *data = NULL;
	size_t len = 0;
	int code;

	hook_run_start(out, h);
	xasprintf(&hname, "%s.pre_start", name);
	hbody = hook_body(body, h);
	/* One an agent killed mid-hook left behind goes first. */
	if (docker_remove(d, hname, &ign) != 0)
		free(ign);
	ign = NULL;
	if (hbody == NULL) {
		cause = xstrdup("bad create body");
		goto out;
	}
	if (docker_create(d, hname, hbody, &id, &cause) != 0 ||
	    docker_start(d, id, &cause) != 0 ||
	    docker_wait(d, id, HOOK_TIMEOUT_S, &code, &cause) != 0)
		goto out;
	out->exit_code = code;
	if (docker_logs_tail(d, id, OBSERVE_OUTPUT_LINES, &data, &len,
	    &ign) != 0)
		free(ign);
out:
	if (id != NULL && docker_remove(d, id, &ign) != 0) {
		log_warn("%s: %s", hname, ign);
		free(ign);
	}
	hook_run_end(out, data, len, cause);
	free(data);
	free(id);
	free(hbody);
	free(hname);
	return out->ok;
}

/* ---- oneshot hooks already run -------------------------------------------- */

struct hook_done {
	char		*path;		/* <data-dir>/hooks-done */
	char	       **keys;		/* one a line in the file */
	size_t		 n;
};

static char *
hook_done_key(int64_t service_id, int64_t instance, enum hook_type t,
    const char *name)
{
	char *k, *p;

	xasprintf(&k, "%lld/%lld/%s/%s", (long long)service_id,
	    (long long)instance, hook_names[t], name);
	for (p = k; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	return k;
}

struct hook_done *
hook_done_load(const char *data_dir)
{
	struct hook_done *d = xcalloc(1, sizeof *d);
	char *text = NULL, *line, *save = NULL;
	size_t len;

	xasprintf(&d->path, "%s/hooks-done", data_dir);
	if (util_read_file(d->path, 16 * 1024 * 1024, &text, &len) != 0)
		return d;	/* none yet */
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		d->keys = xreallocarray(d->keys, d->n + 1, sizeof *d->keys);
		d->keys[d->n++] = xstrdup(line);
	}
	free(text);
	return d;
}

void
hook_done_free(struct hook_done *d)
{
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < d->n; i++)
		free(d->keys[i]);
	free(d->keys);
	free(d->path);
	free(d);
}

int
hook_done_has(const struct hook_done *d, int64_t service_id,
    int64_t instance, const struct hook *h)
{
	char *k = hook_done_key(service_id, instance, h->type, h->name);
	size_t i;
	int found = 0;

	for (i = 0; i < d->n && !found; i++)
		found = strcmp(d->keys[i], k) == 0;
	free(k);
	return found;
}

void
hook_done_add(struct hook_done *d, int64_t service_id, int64_t instance,
    enum hook_type t, const char *name)
{
	struct hook h = { t, (char *)name, NULL, 1 };
	struct buf b = { 0 };
	size_t i;

	if (hook_done_has(d, service_id, instance, &h))
		return;
	d->keys = xreallocarray(d->keys, d->n + 1, sizeof *d->keys);
	d->keys[d->n++] = hook_done_key(service_id, instance, t, name);
	for (i = 0; i < d->n; i++)
		buf_printf(&b, "%s\n", d->keys[i]);
	if (util_write_file(d->path, b.data, b.len, 0600) != 0)
		log_warn("hooks: cannot write %s: a oneshot hook may run "
		    "again after an agent restart", d->path);
	buf_free(&b);
}
