/*
 * client.c - REST calls from the CLI (see client.h).
 *
 * TLS: https:// masters are verified by BERTH_CA_CERT (the only CA then;
 * the master's self-signed tls.crt works) and/or BERTH_MASTER_PIN (the
 * master's public-key pin, handed to libcurl, which checks it before any
 * byte of the request is sent); else by the system CAs. Plain http:// is
 * used only to a loopback master or with BERTH_INSECURE_PLAIN=1, since the
 * request carries the operator token.
 */
#include "cli/client.h"

#include "common/tlsutil.h"
#include "common/util.h"
#include "common/version.h"
#include "common/xmalloc.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

static size_t
client_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct buf *b = arg;

	buf_append(b, ptr, size * nmemb);
	return size * nmemb;
}

char *
client_token(void)
{
	const char *env = getenv("BERTH_TOKEN"), *dir;
	char *path, *data;
	size_t len;

	if (env != NULL && *env != '\0')
		return xstrdup(env);
	dir = getenv("BERTH_DATA_DIR");
	xasprintf(&path, "%s/operator.token", dir && *dir ? dir : "./data");
	if (util_read_file(path, 4096, &data, &len) != 0) {
		free(path);
		return NULL;
	}
	free(path);
	while (len > 0 && isspace((unsigned char)data[len - 1]))
		data[--len] = '\0';
	return data;
}

char *
client_escape(const char *s)
{
	struct buf b = { 0 };
	static const char hex[] = "0123456789ABCDEF";
	char esc[3];

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~')
			buf_append(&b, s, 1);
		else {
			esc[0] = '%';
			esc[1] = hex[c >> 4];
			esc[2] = hex[c & 15];
			buf_append(&b, esc, 3);
		}
	}
	if (b.data == NULL)
		buf_append(&b, "", 0);
	return b.data;
}

int
client_tls(void *c, const char *url, char **cause)
{
	const char *ca = getenv("BERTH_CA_CERT");
	const char *pin = getenv("BERTH_MASTER_PIN");
	const char *plain = getenv("BERTH_INSECURE_PLAIN");
	unsigned char raw[TLSUTIL_PIN_LEN];
	char curlpin[TLSUTIL_PIN_STRLEN], host[256];
	const char *h;
	size_t n;

	if (strncmp(url, "http://", 7) == 0) {
		h = url + 7;
		if (*h == '[') {
			h++;
			n = strcspn(h, "]");
		} else
			n = strcspn(h, ":/?#");
		snprintf(host, sizeof host, "%.*s", (int)n, h);
		if (!tlsutil_host_loopback(host) &&
		    (plain == NULL || strcmp(plain, "1") != 0)) {
			xasprintf(cause, "BERTH_MASTER %s is plain http:// to a "
			    "non-loopback master, which would send the operator "
			    "token in clear: use https:// (with BERTH_CA_CERT or "
			    "BERTH_MASTER_PIN for a self-signed master) or set "
			    "BERTH_INSECURE_PLAIN=1", url);
			return -1;
		}
		return 0;
	}
	if (ca != NULL && *ca != '\0')
		curl_easy_setopt(c, CURLOPT_CAINFO, ca);
	if (pin != NULL && *pin != '\0') {
		if (tlsutil_pin_parse(pin, raw) != 0) {
			xasprintf(cause, "BERTH_MASTER_PIN: want sha256//<base64>"
			    " or sha256:<64 hex> (the master logs its pin)");
			return -1;
		}
		tlsutil_pin_format(raw, curlpin);
		curl_easy_setopt(c, CURLOPT_PINNEDPUBLICKEY, curlpin);
		if (ca == NULL || *ca == '\0') {
			/* The pin names the key: no CA or host name needed. */
			curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
			curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
		}
	}
	return 0;
}

/*
 * BERTH_MASTER: one URL, or a comma-separated list of every master of a
 * cluster (docs/ha.md). Parsed once; client_cur is the one to try first
 * (the first, then the leader a 307 named).
 */
#define CLIENT_MAX_MASTERS	16
#define CLIENT_FAILOVER_MS	20000	/* retry through a failover, at most */
#define CLIENT_ROUND_WAIT_MS	300	/* between rounds of the list */
#define CLIENT_MAX_HOPS		4	/* 307s followed for one call */

static char	*client_list[CLIENT_MAX_MASTERS];
static int	 client_n = -1;
static int	 client_cur;

static void
client_masters(void)
{
	const char *env = getenv("BERTH_MASTER"), *p, *e;
	size_t len;

	if (client_n >= 0)
		return;
	client_n = 0;
	if (env == NULL || *env == '\0')
		env = "http://127.0.0.1:9292";
	for (p = env; *p != '\0' && client_n < CLIENT_MAX_MASTERS; p = e) {
		while (*p == ',' || *p == ' ')
			p++;
		e = p + strcspn(p, ",");
		len = (size_t)(e - p);
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '/'))
			len--;
		if (len > 0)
			client_list[client_n++] = xstrndup(p, len);
	}
	if (client_n == 0)
		client_list[client_n++] = xstrdup("http://127.0.0.1:9292");
}

const char *
client_base(void)
{
	client_masters();
	return client_list[client_cur];
}

/* The master of the list that url is on (its base + "/..."), or -1. */
static int
client_find(const char *url)
{
	size_t n;
	int i;

	for (i = 0; i < client_n; i++) {
		n = strlen(client_list[i]);
		if (strncmp(url, client_list[i], n) == 0 &&
		    (url[n] == '/' || url[n] == '?' || url[n] == '\0'))
			return i;
	}
	return -1;
}

int
client_nmasters(void)
{
	client_masters();
	return client_n;
}

int
client_follow(const char *location)
{
	int i;

	client_masters();
	if ((i = client_find(location)) < 0)
		return -1;
	client_cur = i;
	return 0;
}

void
client_next(void)
{
	client_masters();
	client_cur = (client_cur + 1) % client_n;
}

/* One request to url (on base, whose TLS rules apply). *refused: no
 * connection was made, so nothing was sent. *location: a 3xx's target. */
static int
client_once(const char *base, const char *url, const char *method,
    const char *content_type, const char *body, size_t len,
    struct client_reply *r, char **location, int *refused, char **cause)
{
	struct curl_slist *hdrs = NULL;
	struct buf out = { 0 };
	char *token, *auth, *loc = NULL, errbuf[CURL_ERROR_SIZE] = "";
	CURL *c;
	CURLcode rc;

	memset(r, 0, sizeof *r);
	*location = NULL;
	*refused = 0;
	if ((c = curl_easy_init()) == NULL) {
		xasprintf(cause, "cannot initialise libcurl");
		return -1;
	}
	/* Every master of the list is held to the same pin and CA. */
	if (client_tls(c, base, cause) != 0) {
		curl_easy_cleanup(c);
		return -1;
	}
	if ((token = client_token()) != NULL) {
		xasprintf(&auth, "Authorization: Bearer %s", token);
		hdrs = curl_slist_append(hdrs, auth);
		memset(auth, 0, strlen(auth));
		free(auth);
		memset(token, 0, strlen(token));
		free(token);
	}
	if (content_type != NULL) {
		char *ct;

		xasprintf(&ct, "Content-Type: %s", content_type);
		hdrs = curl_slist_append(hdrs, ct);
		free(ct);
	}
	hdrs = curl_slist_append(hdrs, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, client_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "berth-cli/" BERTH_VERSION);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)len);
	}
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK) {
		*refused = rc == CURLE_COULDNT_CONNECT;
		xasprintf(cause, "cannot reach the master at %s: %s", base,
		    errbuf[0] ? errbuf : curl_easy_strerror(rc));
		buf_free(&out);
	} else {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
		if (r->status >= 300 && r->status < 400 &&
		    curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &loc) ==
		    CURLE_OK && loc != NULL)
			*location = xstrdup(loc);
		if (out.data == NULL)
			buf_append(&out, "", 0);
		r->body = out.data;
		r->len = out.len;
		r->json = json_loadb(out.data, out.len, 0, NULL);
	}
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	return rc == CURLE_OK ? 0 : -1;
}

/* A standby that knows no leader yet (503 during an election). */
static int
client_standby_busy(const struct client_reply *r)
{
	json_t *e;

	return r->status == 503 && r->json != NULL &&
	    (e = json_object_get(r->json, "error")) != NULL &&
	    json_is_string(e) && strstr(json_string_value(e), "standby") !=
	    NULL;
}

/*
 * The request goes to the master tried first; a 307 of a standby is
 * followed by the CLI itself (never by libcurl: the token and the pin go
 * only to masters of BERTH_MASTER) to the leader it names, which must be
 * in the list. With several masters listed, one that cannot be reached
 * (nothing sent) is skipped for the next, and a standby without a leader
 * is asked again, round after round, for up to CLIENT_FAILOVER_MS: a
 * failover costs a client a pause, not an error. So do masters that name
 * each other as leader for a moment while the lead changes hands: a
 * redirect loop is an error only once the window is over.
 */
int
client_call(const char *method, const char *path, const char *content_type,
    const char *body, size_t len, struct client_reply *r, char **cause)
{
	char *url = NULL, *location = NULL, *why = NULL;
	int64_t until;
	int refused, hops = 0, tried = 0, rc, i;

	client_masters();
	until = util_mono_ms() + CLIENT_FAILOVER_MS;
	for (;;) {
		const char *base = client_list[client_cur];

		if (url == NULL)
			xasprintf(&url, "%s%s", base, path);
		free(why);
		why = NULL;
		rc = client_once(base, url, method, content_type, body, len, r,
		    &location, &refused, &why);
		free(url);
		url = NULL;
		tried++;
		if (rc == 0 && r->status == 307 && location != NULL) {
			if ((i = client_find(location)) < 0) {
				xasprintf(cause, "the master at %s is a standby "
				    "and sends the request to %s, which is not "
				    "in BERTH_MASTER (list every master there, "
				    "comma-separated)", base, location);
				free(location);
				client_reply_free(r);
				return -1;
			}
			if (++hops > CLIENT_MAX_HOPS &&
			    util_mono_ms() >= until) {
				xasprintf(cause, "the masters redirect in a "
				    "loop (last: %s to %s)", base, location);
				free(location);
				client_reply_free(r);
				return -1;
			}
			if (hops > CLIENT_MAX_HOPS) {
				/* Masters naming each other as leader: their
				 * views lag a change of leader (berth master
				 * rm, a hand-over). Ask again after a pause,
				 * within the failover window. */
				struct timespec ts = { 0,
				    CLIENT_ROUND_WAIT_MS * 1000000L };

				nanosleep(&ts, NULL);
				hops = 0;
			}
			client_cur = i;
			url = location;		/* the same path and query */
			location = NULL;
			client_reply_free(r);
			continue;
		}
		free(location);
		location = NULL;
		if (!(rc == -1 && refused && client_n > 1) &&
		    !(rc == 0 && client_standby_busy(r)))
			break;
		/* Another master, or the same again after a pause. A
		 * standby may name a leader that just died: not a loop. */
		hops = 0;
		if (util_mono_ms() >= until)
			break;
		if (rc == 0)
			client_reply_free(r);
		client_cur = (client_cur + 1) % client_n;
		if (tried % client_n == 0 || client_n == 1) {
			struct timespec ts = { 0,
			    CLIENT_ROUND_WAIT_MS * 1000000L };

			nanosleep(&ts, NULL);
		}
	}
	if (rc == -1)
		*cause = why;
	else
		free(why);
	return rc;	/* a standby's 503 past the window is the reply */
}

struct client_stream_arg {
	CURL		*c;
	int		(*fn)(const char *, size_t, void *);
	void		*arg;
	long		 status;	/* 0 until the first bytes */
	struct buf	 err;		/* a non-2xx body */
	int		 stopped;	/* fn said stop */
	const volatile int *stop;
};

static size_t
client_stream_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct client_stream_arg *a = arg;
	size_t len = size * nmemb;

	if (a->status == 0)
		curl_easy_getinfo(a->c, CURLINFO_RESPONSE_CODE, &a->status);
	if (a->status < 200 || a->status >= 300) {
		if (a->err.len < 64 * 1024)
			buf_append(&a->err, ptr, len);
		return len;
	}
	if (a->fn(ptr, len, a->arg) != 0) {
		a->stopped = 1;
		return 0;
	}
	return len;
}

static int
client_stream_progress(void *arg, curl_off_t dt, curl_off_t dn,
    curl_off_t ut, curl_off_t un)
{
	struct client_stream_arg *a = arg;

	return a->stop != NULL && *a->stop;
}

int
client_stream(const char *path, int (*fn)(const char *, size_t, void *),
    void *arg, const volatile int *stop, long *status,
    struct client_reply *errbody, char **cause)
{
	const char *base = client_base();
	struct curl_slist *hdrs = NULL;
	struct client_stream_arg a;
	char *url, *token, *auth, *loc, errbuf[CURL_ERROR_SIZE] = "";
	CURLcode rc;
	int ret, hops = 0, i;

	xasprintf(&url, "%s%s", base, path);
again:
	memset(&a, 0, sizeof a);
	memset(errbody, 0, sizeof *errbody);
	*status = 0;
	hdrs = NULL;
	if ((a.c = curl_easy_init()) == NULL) {
		xasprintf(cause, "cannot initialise libcurl");
		free(url);
		return -1;
	}
	if (client_tls(a.c, base, cause) != 0) {
		curl_easy_cleanup(a.c);
		free(url);
		return -1;
	}
	if ((token = client_token()) != NULL) {
		xasprintf(&auth, "Authorization: Bearer %s", token);
		hdrs = curl_slist_append(hdrs, auth);
		memset(auth, 0, strlen(auth));
		free(auth);
		memset(token, 0, strlen(token));
		free(token);
	}
	a.fn = fn;
	a.arg = arg;
	a.stop = stop;
	curl_easy_setopt(a.c, CURLOPT_URL, url);
	curl_easy_setopt(a.c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(a.c, CURLOPT_WRITEFUNCTION, client_stream_write);
	curl_easy_setopt(a.c, CURLOPT_WRITEDATA, &a);
	curl_easy_setopt(a.c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(a.c, CURLOPT_CONNECTTIMEOUT, 10L);
	/* The master sends a keep-alive every 15 s: silence means it is gone. */
	curl_easy_setopt(a.c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(a.c, CURLOPT_LOW_SPEED_TIME, 45L);
	curl_easy_setopt(a.c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(a.c, CURLOPT_XFERINFOFUNCTION, client_stream_progress);
	curl_easy_setopt(a.c, CURLOPT_XFERINFODATA, &a);
	curl_easy_setopt(a.c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(a.c, CURLOPT_USERAGENT, "berth-cli/" BERTH_VERSION);
	rc = curl_easy_perform(a.c);
	if (a.status == 0)
		curl_easy_getinfo(a.c, CURLINFO_RESPONSE_CODE, &a.status);
	/* A standby's 307 to a listed master: follow it (client_call). */
	loc = NULL;
	if (rc == CURLE_OK && a.status == 307 && hops < CLIENT_MAX_HOPS &&
	    curl_easy_getinfo(a.c, CURLINFO_REDIRECT_URL, &loc) == CURLE_OK &&
	    loc != NULL && (i = client_find(loc)) >= 0) {
		free(url);
		url = xstrdup(loc);
		client_cur = i;
		base = client_list[i];
		hops++;
		buf_free(&a.err);
		curl_slist_free_all(hdrs);
		curl_easy_cleanup(a.c);
		goto again;
	}
	*status = a.status;
	if (a.stopped || (rc == CURLE_ABORTED_BY_CALLBACK && stop != NULL &&
	    *stop))
		ret = 1;
	else if (rc != CURLE_OK) {
		xasprintf(cause, "%s the master at %s: %s", a.status != 0 ?
		    "lost the connection to" : "cannot reach", base,
		    errbuf[0] ? errbuf : curl_easy_strerror(rc));
		ret = -1;
	} else
		ret = 0;
	if (a.err.data != NULL) {
		errbody->status = a.status;
		errbody->body = a.err.data;
		errbody->len = a.err.len;
		errbody->json = json_loadb(a.err.data, a.err.len, 0, NULL);
	} else
		buf_free(&a.err);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(a.c);
	free(url);
	return ret;
}

void
client_reply_free(struct client_reply *r)
{
	free(r->body);
	json_decref(r->json);
	memset(r, 0, sizeof *r);
}

char *
client_reason(const struct client_reply *r)
{
	json_t *err, *line, *errs;
	char *cause, *c2;

	err = r->json ? json_object_get(r->json, "error") : NULL;
	line = r->json ? json_object_get(r->json, "line") : NULL;
	errs = r->json ? json_object_get(r->json, "errors") : NULL;
	if (json_array_size(errs) > 0) {
		/* Every bad field, one after the other (node groups). */
		struct buf b = { 0 };
		json_t *e;
		size_t i;

		json_array_foreach(errs, i, e)
			buf_printf(&b, "%s%s: %s", i ? "; " : "",
			    json_string_value(json_object_get(e, "field")),
			    json_string_value(json_object_get(e, "error")));
		cause = b.data;
	} else if (json_is_string(err) && json_is_integer(line))
		xasprintf(&cause, "%s (line %lld)", json_string_value(err),
		    (long long)json_integer_value(line));
	else if (json_is_string(err))
		xasprintf(&cause, "%s", json_string_value(err));
	else if (r->status == 401 || r->status == 403)
		xasprintf(&cause, "not authorized (HTTP %ld): set BERTH_TOKEN to "
		    "the operator token", r->status);
	else
		xasprintf(&cause, "the master answered HTTP %ld", r->status);
	if (r->status == 401 && json_is_string(err)) {
		xasprintf(&c2, "%s; set BERTH_TOKEN or run where "
		    "./data/operator.token is", cause);
		free(cause);
		cause = c2;
	}
	return cause;
}

int
client_do(const char *method, const char *path, const char *ctype,
    const char *body, size_t len, struct client_reply *r, char **cause)
{
	if (client_call(method, path, ctype, body, len, r, cause) != 0)
		return -1;
	if (r->status >= 200 && r->status < 300)
		return 0;
	*cause = client_reason(r);
	client_reply_free(r);
	return -1;
}

int
client_json(const char *method, const char *path, json_t *body, json_t **out,
    char **cause)
{
	struct client_reply r;
	char *text = NULL;
	int rc;

	if (body != NULL)
		text = json_dumps(body, JSON_COMPACT);
	rc = client_do(method, path, body ? "application/json" : NULL, text,
	    text ? strlen(text) : 0, &r, cause);
	free(text);
	if (rc != 0)
		return -1;
	if (out != NULL) {
		*out = r.json ? json_incref(r.json) : json_null();
	}
	client_reply_free(&r);
	return 0;
}
