/*
 * docker.c - Docker Engine API over its unix socket with libcurl.
 *
 * Used by the converge thread, the workers and the pull thread, each with
 * its own struct docker (a CURL easy handle is not shared between
 * threads). Calls are synchronous but bounded: a connect timeout, a total
 * timeout per kind of call, and for pulls a low-speed limit instead (a
 * pull may be long but must keep moving). A progress callback, on the
 * calling thread, aborts any call once *stop is set: stop is the
 * converge's atomic_int, shared by every thread's struct docker and set
 * by the main thread at shutdown, so it is read with atomic_load().
 *
 * API version: /v1.41 (Docker 20.10, Debian 12's docker.io), or the
 * engine's own when it is older; newer engines accept 1.41.
 */
#include "agent/docker.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <curl/curl.h>

#include "common/log.h"
#include "common/proto.h"
#include "common/util.h"
#include "common/xmalloc.h"

#define DOCKER_API_DEFAULT	"1.41"
#define DOCKER_CONNECT_S	5L	/* connecting to a local socket */
#define DOCKER_CALL_S		30L	/* plain calls (list, create, ...) */
#define DOCKER_PULL_STALL_S	60L	/* pull aborted after this without data */
#define DOCKER_BODY_MAX		(16 * 1024 * 1024)

struct docker {
	CURL		*curl;		/* easy handle, reused (keep-alive) */
	char		*socket;	/* unix socket path */
	char		 api[16];	/* API version, e.g. "1.41" */
	const atomic_int *stop;		/* non-zero: abort calls (shutdown) */
};

/* What a call collects. */
struct docker_resp {
	struct buf	 body;		/* response body (not for pulls) */
	long		 status;	/* HTTP status */
	int		 pull;		/* stream of JSON lines: scan, don't keep */
	struct buf	 line;		/* pull: partial line carried over */
	char		*pull_error;	/* pull: first error line's message */
};

struct docker *
docker_new(const char *socket_path, const atomic_int *stop)
{
	struct docker *d = xcalloc(1, sizeof *d);

	d->curl = curl_easy_init();
	if (d->curl == NULL)
		fatalx("curl_easy_init failed");
	d->socket = xstrdup(socket_path);
	d->stop = stop;
	snprintf(d->api, sizeof d->api, "%s", DOCKER_API_DEFAULT);
	return d;
}

void
docker_free(struct docker *d)
{
	if (d == NULL)
		return;
	curl_easy_cleanup(d->curl);
	free(d->socket);
	free(d);
}

/* Look at one complete line of a pull stream. */
static void
docker_pull_line(struct docker_resp *r, const char *line)
{
	json_t *o, *e;

	if (r->pull_error != NULL || *line == '\0')
		return;
	o = json_loads(line, 0, NULL);
	if (o == NULL)
		return;
	e = json_object_get(o, "error");
	if (!json_is_string(e))
		e = json_object_get(json_object_get(o, "errorDetail"),
		    "message");
	if (!json_is_string(e))		/* a plain error body (HTTP 4xx/5xx) */
		e = json_object_get(o, "message");
	if (json_is_string(e))
		r->pull_error = xstrdup(json_string_value(e));
	json_decref(o);
}

static size_t
docker_write_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct docker_resp *r = arg;
	size_t len = size * nmemb, i, start = 0;

	if (!r->pull) {
		if (r->body.len + len > DOCKER_BODY_MAX)
			return 0;	/* aborts the transfer */
		buf_append(&r->body, ptr, len);
		return len;
	}
	for (i = 0; i < len; i++) {
		if (ptr[i] != '\n')
			continue;
		buf_append(&r->line, ptr + start, i - start);
		if (r->line.data != NULL)
			docker_pull_line(r, r->line.data);
		buf_free(&r->line);
		start = i + 1;
	}
	if (start < len) {
		if (r->line.len + (len - start) > DOCKER_BODY_MAX)
			return 0;
		buf_append(&r->line, ptr + start, len - start);
	}
	return len;
}

static int
docker_progress_cb(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
    curl_off_t un)
{
	const struct docker *d = arg;

	(void)dt; (void)dn; (void)ut; (void)un;
	return (d->stop != NULL && atomic_load(d->stop)) ? 1 : 0;
}

/* The engine's message from an error body, or a generic one. */
static void
docker_error(struct docker_resp *r, const char *what, char **cause)
{
	json_t *o = NULL, *m;

	if (r->body.data != NULL)
		o = json_loads(r->body.data, 0, NULL);
	m = json_object_get(o, "message");
	if (json_is_string(m))
		xasprintf(cause, "%s: %s", what, json_string_value(m));
	else
		xasprintf(cause, "%s: HTTP %ld", what, r->status);
	json_decref(o);
}

/*
 * Why a request never got an answer, in the operator's words rather than
 * curl's: the socket is missing, nobody listens on it, the agent may not
 * open it, the engine hung up or did not answer in time. The agent shows
 * this as the node's engine error (docs/agent.md, "The engine").
 */
static void
docker_call_failed(struct docker *d, CURLcode rc, const char *method,
    const char *path, long timeout_s, char **cause)
{
	long os = 0;

	curl_easy_getinfo(d->curl, CURLINFO_OS_ERRNO, &os);
	switch (rc) {
	case CURLE_ABORTED_BY_CALLBACK:
		xasprintf(cause, "docker %s %s: aborted (shutting down)",
		    method, path);
		return;
	case CURLE_COULDNT_CONNECT:
		if (os == ENOENT)
			xasprintf(cause, "the Docker Engine socket %s does not "
			    "exist: is dockerd running?", d->socket);
		else if (os == ECONNREFUSED)
			xasprintf(cause, "nothing listens on the Docker Engine "
			    "socket %s: dockerd has stopped", d->socket);
		else if (os == EACCES || os == EPERM)
			xasprintf(cause, "no permission to use the Docker "
			    "Engine socket %s: run the agent as root or in the "
			    "docker group", d->socket);
		else
			xasprintf(cause, "cannot connect to the Docker Engine "
			    "socket %s: %s", d->socket, os != 0 ?
			    strerror((int)os) : "connection failed");
		return;
	case CURLE_OPERATION_TIMEDOUT:
		xasprintf(cause, "the Docker Engine at %s did not answer "
		    "%s %s within %ld s", d->socket, method, path, timeout_s);
		return;
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
		xasprintf(cause, "the Docker Engine at %s closed the "
		    "connection during %s %s", d->socket, method, path);
		return;
	default:
		xasprintf(cause, "the Docker Engine at %s: %s %s failed (%s)",
		    d->socket, method, path, curl_easy_strerror(rc));
		return;
	}
}

/*
 * One request. path is after the version prefix ("/containers/json").
 * Returns 0 when the exchange happened (look at r->status), -1 with *cause
 * when the request never reached the engine (no socket, refused), or
 * DOCKER_NO_ANSWER when it may have (a timeout, the connection lost, a
 * shutdown in the middle).
 */
static int
docker_call(struct docker *d, const char *method, const char *path,
    const char *body, long timeout_s, struct docker_resp *r, char **cause)
{
	struct curl_slist *hdrs = NULL;
	char *url, err[CURL_ERROR_SIZE] = "";
	CURLcode rc;
	CURL *c = d->curl;

	curl_easy_reset(c);
	xasprintf(&url, "http://localhost/v%s%s", d->api, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, d->socket);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, DOCKER_CONNECT_S);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, docker_write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, docker_progress_cb);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, d);
	if (r->pull) {
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, DOCKER_PULL_STALL_S);
	} else
		curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
	if (body != NULL) {
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	} else if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	rc = curl_easy_perform(c);
	curl_slist_free_all(hdrs);
	free(url);
	if (rc != CURLE_OK) {
		docker_call_failed(d, rc, method, path, timeout_s, cause);
		return rc == CURLE_COULDNT_CONNECT ||
		    rc == CURLE_COULDNT_RESOLVE_HOST ? -1 : DOCKER_NO_ANSWER;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	return 0;
}

static void
docker_resp_free(struct docker_resp *r)
{
	buf_free(&r->body);
	buf_free(&r->line);
	free(r->pull_error);
}

/* Parse "major.minor" into a comparable number. */
static long
docker_api_num(const char *v)
{
	long maj = 0, min = 0;

	if (sscanf(v, "%ld.%ld", &maj, &min) < 1)
		return 0;
	return maj * 1000 + min;
}

const char *
docker_api_version(const struct docker *d)
{
	return d->api;
}

int
docker_version(struct docker *d, char **version, char **cause)
{
	struct docker_resp r = { 0 };
	json_t *o, *v, *api;
	int rc = -1;

	/* /version works without a prefix, whatever the engine speaks. */
	snprintf(d->api, sizeof d->api, "%s", DOCKER_API_DEFAULT);
	if (docker_call(d, "GET", "/version", NULL, DOCKER_CALL_S, &r,
	    cause) != 0)
		goto out;
	if (r.status != 200) {
		docker_error(&r, "docker version", cause);
		goto out;
	}
	o = json_loads(r.body.data != NULL ? r.body.data : "", 0, NULL);
	v = json_object_get(o, "Version");
	api = json_object_get(o, "ApiVersion");
	if (!json_is_string(v)) {
		xasprintf(cause, "docker version: no Version in the answer");
		json_decref(o);
		goto out;
	}
	*version = xstrdup(json_string_value(v));
	if (json_is_string(api) && docker_api_num(json_string_value(api)) <
	    docker_api_num(DOCKER_API_DEFAULT))
		snprintf(d->api, sizeof d->api, "%s", json_string_value(api));
	json_decref(o);
	rc = 0;
out:
	docker_resp_free(&r);
	return rc;
}

int
docker_image_exists(struct docker *d, const char *image, char **cause)
{
	struct docker_resp r = { 0 };
	char *path;
	int rc = -1;

	xasprintf(&path, "/images/%s/json", image);
	if (docker_call(d, "GET", path, NULL, DOCKER_CALL_S, &r, cause) != 0)
		goto out;
	if (r.status == 200)
		rc = 1;
	else if (r.status == 404)
		rc = 0;
	else
		docker_error(&r, "docker image inspect", cause);
out:
	free(path);
	docker_resp_free(&r);
	return rc;
}

void
docker_split_image(const char *image, char **from, char **tag)
{
	const char *slash = strrchr(image, '/'), *colon, *at;

	at = strchr(image, '@');
	if (at != NULL) {		/* by digest: the whole reference */
		*from = xstrdup(image);
		*tag = NULL;
		return;
	}
	colon = strrchr(slash != NULL ? slash : image, ':');
	if (colon == NULL) {
		*from = xstrdup(image);
		*tag = xstrdup("latest");
		return;
	}
	*from = xstrndup(image, (size_t)(colon - image));
	*tag = xstrdup(colon + 1);
}

int
docker_pull(struct docker *d, const char *image, char **cause)
{
	struct docker_resp r = { 0 };
	char *from, *tag, *ef, *et = NULL, *path;
	int rc = -1;

	docker_split_image(image, &from, &tag);
	ef = curl_easy_escape(d->curl, from, 0);
	if (tag != NULL)
		et = curl_easy_escape(d->curl, tag, 0);
	xasprintf(&path, "/images/create?fromImage=%s%s%s", ef,
	    et ? "&tag=" : "", et ? et : "");
	curl_free(ef);
	curl_free(et);
	r.pull = 1;
	if (docker_call(d, "POST", path, NULL, 0, &r, cause) != 0)
		goto out;
	if (r.line.data != NULL)	/* a last line without newline */
		docker_pull_line(&r, r.line.data);
	if (r.status != 200) {
		/* The error body went through the line scanner. */
		if (r.pull_error != NULL)
			xasprintf(cause, "pull %s: %s", image, r.pull_error);
		else
			xasprintf(cause, "pull %s: HTTP %ld", image, r.status);
		goto out;
	}
	if (r.pull_error != NULL) {
		xasprintf(cause, "pull %s: %s", image, r.pull_error);
		goto out;
	}
	rc = 0;
out:
	free(path);
	free(from);
	free(tag);
	docker_resp_free(&r);
	return rc;
}

int
docker_create(struct docker *d, const char *name, const char *body,
    char **id, char **cause)
{
	struct docker_resp r = { 0 };
	char *path, *en;
	json_t *o;
	int rc = -1;

	en = curl_easy_escape(d->curl, name, 0);
	xasprintf(&path, "/containers/create?name=%s", en);
	curl_free(en);
	if ((rc = docker_call(d, "POST", path, body, DOCKER_CALL_S, &r,
	    cause)) != 0)
		goto out;
	rc = -1;
	if (r.status == 404) {
		docker_error(&r, "create", cause);
		rc = DOCKER_NO_IMAGE;
		goto out;
	}
	if (r.status == 409) {
		docker_error(&r, "create", cause);
		rc = DOCKER_NAME_TAKEN;
		goto out;
	}
	if (r.status != 201) {
		docker_error(&r, "create", cause);
		goto out;
	}
	o = json_loads(r.body.data != NULL ? r.body.data : "", 0, NULL);
	if (!json_is_string(json_object_get(o, "Id"))) {
		xasprintf(cause, "create: no Id in the answer");
		json_decref(o);
		goto out;
	}
	*id = xstrdup(json_string_value(json_object_get(o, "Id")));
	json_decref(o);
	rc = 0;
out:
	free(path);
	docker_resp_free(&r);
	return rc;
}

/* A POST/DELETE on /containers/{id}... that answers 204 (or ok). */
static int
docker_simple(struct docker *d, const char *method, const char *path,
    long timeout_s, const char *what, long ok2, char **cause)
{
	struct docker_resp r = { 0 };
	int rc = -1;

	if ((rc = docker_call(d, method, path, NULL, timeout_s, &r,
	    cause)) != 0)
		goto out;
	rc = -1;
	if (r.status == 204 || r.status == 200 || r.status == ok2)
		rc = 0;
	else
		docker_error(&r, what, cause);
out:
	docker_resp_free(&r);
	return rc;
}

int
docker_start(struct docker *d, const char *id, char **cause)
{
	char *path;
	int rc;

	xasprintf(&path, "/containers/%s/start", id);
	rc = docker_simple(d, "POST", path, DOCKER_CALL_S, "start", 304,
	    cause);
	free(path);
	return rc;
}

int
docker_stop(struct docker *d, const char *id, int timeout_s, char **cause)
{
	char *path;
	long limit;
	int rc;

	if (timeout_s >= 0) {
		xasprintf(&path, "/containers/%s/stop?t=%d", id, timeout_s);
		limit = DOCKER_CALL_S + timeout_s;
	} else {
		xasprintf(&path, "/containers/%s/stop", id);
		limit = DOCKER_CALL_S + 300;	/* its own StopTimeout */
	}
	rc = docker_simple(d, "POST", path, limit, "stop", 304, cause);
	free(path);
	return rc;
}

int
docker_wait(struct docker *d, const char *id, long timeout_s, int *code,
    char **cause)
{
	struct docker_resp r = { 0 };
	char *path;
	json_t *o, *v;
	int rc = -1;

	xasprintf(&path, "/containers/%s/wait", id);
	if (docker_call(d, "POST", path, NULL, timeout_s, &r, cause) != 0)
		goto out;
	if (r.status != 200) {
		docker_error(&r, "wait", cause);
		goto out;
	}
	o = json_loads(r.body.data != NULL ? r.body.data : "", 0, NULL);
	v = json_object_get(o, "StatusCode");
	if (!json_is_integer(v))
		xasprintf(cause, "wait: no StatusCode in the answer");
	else {
		*code = (int)json_integer_value(v);
		rc = 0;
	}
	json_decref(o);
out:
	free(path);
	docker_resp_free(&r);
	return rc;
}

int
docker_restart(struct docker *d, const char *id, char **cause)
{
	char *path;
	int rc;

	xasprintf(&path, "/containers/%s/restart", id);
	rc = docker_simple(d, "POST", path, DOCKER_CALL_S + 300, "restart", 0,
	    cause);
	free(path);
	return rc;
}

int
docker_remove(struct docker *d, const char *id, char **cause)
{
	char *path;
	int rc;

	xasprintf(&path, "/containers/%s?force=1&v=1", id);
	rc = docker_simple(d, "DELETE", path, DOCKER_CALL_S, "remove", 404,
	    cause);
	free(path);
	return rc;
}

/* GET returning a JSON value. */
static json_t *
docker_get_json(struct docker *d, const char *path, const char *what,
    char **cause)
{
	struct docker_resp r = { 0 };
	json_error_t jerr;
	json_t *o = NULL;

	if (docker_call(d, "GET", path, NULL, DOCKER_CALL_S, &r, cause) != 0)
		goto out;
	if (r.status != 200) {
		docker_error(&r, what, cause);
		goto out;
	}
	o = json_loads(r.body.data != NULL ? r.body.data : "", 0, &jerr);
	if (o == NULL)
		xasprintf(cause, "%s: bad JSON: %s", what, jerr.text);
out:
	docker_resp_free(&r);
	return o;
}

json_t *
docker_list(struct docker *d, const char *node_id, char **cause)
{
	return docker_list_label(d, PROTO_LABEL_NODE, node_id, cause);
}

json_t *
docker_list_label(struct docker *d, const char *key, const char *value,
    char **cause)
{
	char *filters, *ef, *path;
	json_t *o, *k;

	/* As JSON: a value is any string (quotes, backslashes). */
	k = json_pack("{s:[s+++]}", "label", key, "=", value, "");
	filters = json_dumps(k, JSON_COMPACT);
	json_decref(k);
	if (filters == NULL) {
		xasprintf(cause, "list containers: cannot build the filter");
		return NULL;
	}
	ef = curl_easy_escape(d->curl, filters, 0);
	xasprintf(&path, "/containers/json?all=1&filters=%s", ef);
	curl_free(ef);
	free(filters);
	o = docker_get_json(d, path, "list containers", cause);
	free(path);
	if (o != NULL && !json_is_array(o)) {
		json_decref(o);
		xasprintf(cause, "list containers: not an array");
		return NULL;
	}
	return o;
}

int
docker_logs_tail(struct docker *d, const char *id, int tail, char **data,
    size_t *len, char **cause)
{
	struct docker_resp r = { 0 };
	char *path;
	int rc = -1;

	xasprintf(&path, "/containers/%s/logs?stdout=1&stderr=1&tail=%d", id,
	    tail);
	if (docker_call(d, "GET", path, NULL, DOCKER_CALL_S, &r, cause) != 0)
		goto out;
	if (r.status != 200) {
		docker_error(&r, "logs", cause);
		goto out;
	}
	*len = r.body.len;
	*data = r.body.data;
	r.body.data = NULL;
	r.body.len = 0;
	rc = 0;
out:
	free(path);
	docker_resp_free(&r);
	return rc;
}

int
docker_last_exit(struct docker *d, const char *id, long long since_s,
    int *code, char **cause)
{
	struct docker_resp r = { 0 };
	char *filters, *ef, *path, *line, *save = NULL;
	const char *v;
	json_t *o;
	int rc = -1, found = 0;

	xasprintf(&filters, "{\"container\":[\"%s\"],\"event\":[\"die\"]}",
	    id);
	ef = curl_easy_escape(d->curl, filters, 0);
	xasprintf(&path, "/events?since=%lld&until=%lld&filters=%s", since_s,
	    (long long)(util_now_ms() / 1000) + 1, ef);
	curl_free(ef);
	free(filters);
	if (docker_call(d, "GET", path, NULL, DOCKER_CALL_S, &r, cause) != 0)
		goto out;
	if (r.status != 200) {
		docker_error(&r, "events", cause);
		goto out;
	}
	/* One JSON object per line, oldest first: the last one counts. */
	for (line = r.body.data != NULL ? strtok_r(r.body.data, "\n", &save) :
	    NULL; line != NULL; line = strtok_r(NULL, "\n", &save)) {
		if ((o = json_loads(line, 0, NULL)) == NULL)
			continue;
		v = json_string_value(json_object_get(json_object_get(
		    json_object_get(o, "Actor"), "Attributes"), "exitCode"));
		if (v != NULL) {
			*code = atoi(v);
			found = 1;
		}
		json_decref(o);
	}
	rc = found;
out:
	free(path);
	docker_resp_free(&r);
	return rc;
}

json_t *
docker_inspect(struct docker *d, const char *id, char **cause)
{
	char *path;
	json_t *o;

	xasprintf(&path, "/containers/%s/json", id);
	o = docker_get_json(d, path, "inspect", cause);
	free(path);
	return o;
}

/* ---- exec (agent/exec.c) ------------------------------------------------ */

int
docker_exec_create(struct docker *d, const char *container, const char *body,
    char **exec_id, char **cause)
{
	struct docker_resp r = { 0 };
	char *path;
	json_t *o;
	int rc = -1;

	xasprintf(&path, "/containers/%s/exec", container);
	if (docker_call(d, "POST", path, body, DOCKER_CALL_S, &r, cause) != 0)
		goto out;
	if (r.status != 201) {
		docker_error(&r, "exec", cause);
		goto out;
	}
	o = json_loads(r.body.data != NULL ? r.body.data : "", 0, NULL);
	if (!json_is_string(json_object_get(o, "Id"))) {
		xasprintf(cause, "exec: no Id in the answer");
		json_decref(o);
		goto out;
	}
	*exec_id = xstrdup(json_string_value(json_object_get(o, "Id")));
	json_decref(o);
	rc = 0;
out:
	free(path);
	docker_resp_free(&r);
	return rc;
}

int
docker_exec_resize(struct docker *d, const char *exec_id, int rows, int cols,
    char **cause)
{
	char *path;
	int rc;

	xasprintf(&path, "/exec/%s/resize?h=%d&w=%d", exec_id, rows, cols);
	rc = docker_simple(d, "POST", path, DOCKER_CALL_S, "exec resize", 201,
	    cause);
	free(path);
	return rc;
}

int
docker_exec_inspect(struct docker *d, const char *exec_id, int *running,
    int *exit_code, int *pid, char **cause)
{
	char *path;
	json_t *o, *v;

	xasprintf(&path, "/exec/%s/json", exec_id);
	o = docker_get_json(d, path, "exec inspect", cause);
	free(path);
	if (o == NULL)
		return -1;
	*running = json_is_true(json_object_get(o, "Running"));
	v = json_object_get(o, "ExitCode");
	*exit_code = json_is_integer(v) ? (int)json_integer_value(v) : -1;
	v = json_object_get(o, "Pid");
	*pid = json_is_integer(v) ? (int)json_integer_value(v) : 0;
	json_decref(o);
	return 0;
}

/*
 * Read the engine's answer to the hijack request up to its blank line
 * (bounded), leaving what came after it in *extra. The status into
 * *status, the error body's message (for a refusal) into *cause.
 */
static int
docker_attach_reply(int fd, long *status, struct buf *extra, char **cause)
{
	char chunk[4096], *end, *sp;
	struct buf hdr = { 0 };
	struct pollfd pfd = { fd, POLLIN, 0 };
	ssize_t n;
	size_t hlen;
	int rc = -1;

	for (;;) {
		if (poll(&pfd, 1, (int)DOCKER_CALL_S * 1000) <= 0) {
			xasprintf(cause, "exec start: no answer from the engine");
			goto out;
		}
		n = read(fd, chunk, sizeof chunk);
		if (n <= 0) {
			xasprintf(cause, "exec start: the engine closed the "
			    "connection");
			goto out;
		}
		buf_append(&hdr, chunk, (size_t)n);
		if ((end = strstr(hdr.data, "\r\n\r\n")) != NULL)
			break;
		if (hdr.len > 16384) {
			xasprintf(cause, "exec start: answer header too long");
			goto out;
		}
	}
	hlen = (size_t)(end - hdr.data) + 4;
	sp = strchr(hdr.data, ' ');
	*status = sp != NULL ? strtol(sp + 1, NULL, 10) : 0;
	if (*status != 101 && *status != 200) {
		/* An error body (JSON with "message") follows; take what came. */
		json_t *o = json_loads(hdr.data + hlen, 0, NULL);
		json_t *m = json_object_get(o, "message");

		if (json_is_string(m))
			xasprintf(cause, "exec start: %s", json_string_value(m));
		else
			xasprintf(cause, "exec start: HTTP %ld", *status);
		json_decref(o);
		goto out;
	}
	buf_append(extra, hdr.data + hlen, hdr.len - hlen);
	rc = 0;
out:
	buf_free(&hdr);
	return rc;
}

int
docker_exec_attach(struct docker *d, const char *exec_id, int tty, int *fd,
    struct buf *extra, char **cause)
{
	struct sockaddr_un sa;
	struct buf req = { 0 };
	char body[64];
	long status = 0;
	size_t off = 0;
	ssize_t n;
	int s;

	*fd = -1;
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	if (strlen(d->socket) >= sizeof sa.sun_path) {
		xasprintf(cause, "exec start: socket path too long");
		return -1;
	}
	memcpy(sa.sun_path, d->socket, strlen(d->socket));
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof sa) != 0) {
		xasprintf(cause, "exec start: cannot connect to %s: %s",
		    d->socket, strerror(errno));
		if (s >= 0)
			close(s);
		return -1;
	}
	/* The engine answers 101 UPGRADED and then carries the raw stream
	 * both ways on this connection (the docker CLI's "hijack"). */
	snprintf(body, sizeof body, "{\"Detach\":false,\"Tty\":%s}",
	    tty ? "true" : "false");
	buf_printf(&req, "POST /v%s/exec/%s/start HTTP/1.1\r\n"
	    "Host: docker\r\nContent-Type: application/json\r\n"
	    "Connection: Upgrade\r\nUpgrade: tcp\r\n"
	    "Content-Length: %zu\r\n\r\n%s", d->api, exec_id, strlen(body),
	    body);
	while (off < req.len) {
		n = write(s, req.data + off, req.len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			xasprintf(cause, "exec start: write: %s",
			    strerror(errno));
			buf_free(&req);
			close(s);
			return -1;
		}
		off += (size_t)n;
	}
	buf_free(&req);
	if (docker_attach_reply(s, &status, extra, cause) != 0) {
		close(s);
		return -1;
	}
	*fd = s;
	return 0;
}

/* ---- networks (agent/netplane.c) ------------------------------------------ */

int
docker_network_inspect(struct docker *d, const char *name, json_t **out,
    char **cause)
{
	struct docker_resp r = { 0 };
	char *path, *en;
	int rc = -1;

	*out = NULL;
	en = curl_easy_escape(d->curl, name, 0);
	xasprintf(&path, "/networks/%s", en);
	curl_free(en);
	if (docker_call(d, "GET", path, NULL, DOCKER_CALL_S, &r, cause) != 0)
		goto out;
	if (r.status == 404) {
		rc = 0;
		goto out;
	}
	if (r.status != 200) {
		docker_error(&r, "network inspect", cause);
		goto out;
	}
	*out = json_loads(r.body.data != NULL ? r.body.data : "", 0, NULL);
	if (*out == NULL) {
		xasprintf(cause, "network inspect: bad JSON");
		goto out;
	}
	rc = 1;
out:
	free(path);
	docker_resp_free(&r);
	return rc;
}

int
docker_network_create(struct docker *d, const char *body, char **cause)
{
	struct docker_resp r = { 0 };
	int rc;

	if ((rc = docker_call(d, "POST", "/networks/create", body,
	    DOCKER_CALL_S, &r, cause)) == 0 && r.status != 201 &&
	    r.status != 200) {
		docker_error(&r, "network create", cause);
		/* 409: made meanwhile, which the next inspect finds. */
		rc = r.status >= 400 && r.status < 500 && r.status != 409 ?
		    -2 : -1;
	}
	docker_resp_free(&r);
	return rc;
}

int
docker_network_remove(struct docker *d, const char *name, char **cause)
{
	char *path, *en;
	int rc;

	en = curl_easy_escape(d->curl, name, 0);
	xasprintf(&path, "/networks/%s", en);
	curl_free(en);
	rc = docker_simple(d, "DELETE", path, DOCKER_CALL_S, "network remove",
	    404, cause);
	free(path);
	return rc;
}
