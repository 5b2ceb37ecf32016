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

const char *
client_base(void)
{
	const char *base = getenv("BERTH_MASTER");

	return base == NULL || *base == '\0' ? "http://127.0.0.1:9292" : base;
}

int
client_call(const char *method, const char *path, const char *content_type,
    const char *body, size_t len, struct client_reply *r, char **cause)
{
	const char *base = client_base();
	struct curl_slist *hdrs = NULL;
	struct buf out = { 0 };
	char *url, *token, *auth, errbuf[CURL_ERROR_SIZE] = "";
	CURL *c;
	CURLcode rc;

	memset(r, 0, sizeof *r);
	xasprintf(&url, "%s%s%s", base,
	    base[strlen(base) - 1] == '/' ? "" : "", path);
	if ((c = curl_easy_init()) == NULL) {
		xasprintf(cause, "cannot initialise libcurl");
		free(url);
		return -1;
	}
	if (client_tls(c, base, cause) != 0) {
		curl_easy_cleanup(c);
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
		xasprintf(cause, "cannot reach the master at %s: %s", base,
		    errbuf[0] ? errbuf : curl_easy_strerror(rc));
		buf_free(&out);
	} else {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
		if (out.data == NULL)
			buf_append(&out, "", 0);
		r->body = out.data;
		r->len = out.len;
		r->json = json_loadb(out.data, out.len, 0, NULL);
	}
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	free(url);
	return rc == CURLE_OK ? 0 : -1;
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
	const char *base = getenv("BERTH_MASTER");
	struct curl_slist *hdrs = NULL;
	struct client_stream_arg a;
	char *url, *token, *auth, errbuf[CURL_ERROR_SIZE] = "";
	CURLcode rc;
	int ret;

	memset(&a, 0, sizeof a);
	memset(errbody, 0, sizeof *errbody);
	*status = 0;
	if (base == NULL || *base == '\0')
		base = "http://127.0.0.1:9292";
	xasprintf(&url, "%s%s", base, path);
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
