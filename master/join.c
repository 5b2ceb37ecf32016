/*
 * join.c - join tokens and the joiner's side of the join (join.h).
 * Runs on the main thread at start-up (join_fetch) or on API threads
 * (the token helpers, which are pure).
 */
#include "master/join.h"
#include "master/cluster_tls.h"
#include "master/config.h"
#include "master/dq_client.h"
#include "master/master.h"
#include "master/store.h"

#include "common/log.h"
#include "common/tlsutil.h"
#include "common/util.h"
#include "common/xmalloc.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#define JOIN_PREFIX		"bj1."
#define JOIN_LEADER_WAIT_MS	15000	/* for a leader to be known */
#define JOIN_HTTP_TIMEOUT_S	20
#define JOIN_REPLY_MAX		(256 * 1024)

char *
join_token_format(const char *secret, const char *pin)
{
	unsigned char raw[TLSUTIL_PIN_LEN];
	char hex[TLSUTIL_PIN_LEN * 2 + 1], *out;

	if (pin == NULL || tlsutil_pin_parse(pin, raw) != 0) {
		xasprintf(&out, JOIN_PREFIX "%s", secret);
		return out;
	}
	util_hex(raw, sizeof raw, hex);
	xasprintf(&out, JOIN_PREFIX "%s.%s", secret, hex);
	return out;
}

static int
join_hex64(const char *s, size_t len)
{
	size_t i;

	if (len != 64)
		return 0;
	for (i = 0; i < len; i++)
		if (strchr("0123456789abcdef", s[i]) == NULL || s[i] == '\0')
			return 0;
	return 1;
}

int
join_token_parse(const char *token, char *secret, char *pinhex, char **cause)
{
	const char *p, *dot;
	size_t plen = strlen(JOIN_PREFIX);

	if (strncmp(token, JOIN_PREFIX, plen) != 0)
		goto bad;
	p = token + plen;
	dot = strchr(p, '.');
	if (!join_hex64(p, dot ? (size_t)(dot - p) : strlen(p)))
		goto bad;
	if (dot != NULL && !join_hex64(dot + 1, strlen(dot + 1)))
		goto bad;
	memcpy(secret, p, TOKEN_LEN);
	secret[TOKEN_LEN] = '\0';
	if (pinhex != NULL)
		snprintf(pinhex, 65, "%s", dot ? dot + 1 : "");
	return 0;
bad:
	xasprintf(cause, "not a join token (bj1.<64 hex>[.<64 hex pin>], as "
	    "berth master join-token prints)");
	return -1;
}

/* The leader's API URL, through the node at join. */
static int
join_leader_api(const struct master_config *cfg, char *api, size_t len,
    char **cause)
{
	struct dq_conn c = { .fd = -1 };
	struct store *st = NULL;
	const char *addrs[1] = { cfg->join };
	char *leader = NULL, *why = NULL, agent[256];
	int64_t end = util_mono_ms() + JOIN_LEADER_WAIT_MS;
	uint64_t id = 0;
	int rc;

	for (;;) {
		free(why);
		why = NULL;
		if (dq_conn_open(&c, cfg->join, 2000, &why) == 0 &&
		    dq_conn_leader(&c, &id, &leader, &why) == 0 && id != 0)
			break;
		dq_conn_close(&c);
		free(leader);
		leader = NULL;
		if (util_mono_ms() >= end) {
			xasprintf(cause, "no leader known at %s: %s", cfg->join,
			    why ? why : "the cluster has no leader");
			free(why);
			return -1;
		}
		usleep(300 * 1000);
	}
	dq_conn_close(&c);
	free(why);
	if ((st = store_open_dqlite(addrs, 1, MASTER_DQLITE_DB, cause)) ==
	    NULL) {
		free(leader);
		return -1;
	}
	rc = store_master_urls(st, leader, api, len, agent, sizeof agent);
	if (rc != 1 || api[0] == '\0')
		xasprintf(cause, "the leader (%s) has no API URL in the masters "
		    "table%s%s", leader, rc < 0 ? ": " : "", rc < 0 ?
		    store_errmsg(st) : "");
	store_close(st);
	free(leader);
	return rc == 1 && api[0] != '\0' ? 0 : -1;
}

struct join_buf {
	char	*data;
	size_t	 len;
};

static size_t
join_write(char *p, size_t size, size_t n, void *arg)
{
	struct join_buf *b = arg;
	size_t add = size * n;

	if (b->len + add > JOIN_REPLY_MAX)
		return 0;
	b->data = xrealloc(b->data, b->len + add + 1);
	memcpy(b->data + b->len, p, add);
	b->len += add;
	b->data[b->len] = '\0';
	return add;
}

/* Check the URL's transport against the token's pin. */
static int
join_transport(CURL *c, const char *url, const char *pinhex, char **cause)
{
	unsigned char raw[TLSUTIL_PIN_LEN];
	char pin[TLSUTIL_PIN_STRLEN], *spec, *host = NULL;
	CURLU *u;
	int loop;

	if (strncmp(url, "https://", 8) == 0) {
		if (pinhex[0] == '\0') {
			xasprintf(cause, "the leader serves %s but the join "
			    "token carries no pin (minted by a master without "
			    "TLS?)", url);
			return -1;
		}
		xasprintf(&spec, "sha256:%s", pinhex);
		if (tlsutil_pin_parse(spec, raw) != 0) {
			free(spec);
			xasprintf(cause, "the join token's pin is damaged");
			return -1;
		}
		free(spec);
		tlsutil_pin_format(raw, pin);
		/* The pin names the key: no CA or host name needed. */
		curl_easy_setopt(c, CURLOPT_PINNEDPUBLICKEY, pin);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
		return 0;
	}
	if ((u = curl_url()) == NULL)
		fatalx("out of memory");
	loop = 0;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
		char *h = host;
		size_t hl = strlen(h);

		if (hl > 2 && h[0] == '[' && h[hl - 1] == ']') {
			h[hl - 1] = '\0';
			h++;
		}
		loop = tlsutil_host_loopback(h);
	}
	curl_free(host);
	curl_url_cleanup(u);
	if (!loop) {
		xasprintf(cause, "the leader's API %s is plain http off "
		    "loopback: the master key would travel in clear (run the "
		    "masters with TLS)", url);
		return -1;
	}
	return 0;
}

/* Write path (0600) unless it holds the same bytes; differing: refuse. */
static int
join_put(const char *dir, const char *name, const void *data, size_t len,
    char **cause)
{
	char *path, *old = NULL;
	size_t oldlen;
	int rc = 0;

	xasprintf(&path, "%s/%s", dir, name);
	if (util_read_file(path, 1024 * 1024, &old, &oldlen) == 0) {
		if (oldlen != len || memcmp(old, data, len) != 0) {
			xasprintf(cause, "%s exists and differs from the "
			    "cluster's: remove it (a joining master takes the "
			    "cluster's)", path);
			rc = -1;
		}
		OPENSSL_cleanse(old, oldlen);
		free(old);
	} else if (util_write_file(path, data, len, 0600) != 0) {
		xasprintf(cause, "cannot write %s: %s", path, strerror(errno));
		rc = -1;
	}
	free(path);
	return rc;
}

static int
join_unhex(const char *hex, unsigned char *out, size_t len)
{
	size_t i;
	unsigned int v;

	if (hex == NULL || strlen(hex) != len * 2)
		return -1;
	for (i = 0; i < len; i++) {
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (unsigned char)v;
	}
	return 0;
}

/*
 * POST body to url (checked against the token's pin): the status, the
 * answer in b, a 307's Location in *location (malloc'd); -1 with *cause
 * when no answer came.
 */
static long
join_post(const char *url, const char *pinhex, const char *body,
    struct join_buf *b, char **location, char **cause)
{
	struct curl_slist *hdr = NULL;
	char err[CURL_ERROR_SIZE] = "", *loc = NULL;
	long status = -1;
	CURL *c;
	CURLcode cc;

	if ((c = curl_easy_init()) == NULL)
		fatalx("curl_easy_init failed");
	if (join_transport(c, url, pinhex, cause) != 0)
		goto out;
	hdr = curl_slist_append(hdr, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, join_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)JOIN_HTTP_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
	if ((cc = curl_easy_perform(c)) != CURLE_OK) {
		xasprintf(cause, "%s: %s", url, err[0] ? err :
		    curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &loc) == CURLE_OK &&
	    loc != NULL)
		*location = xstrdup(loc);
out:
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	return status;
}

static void join_buf_clear(struct join_buf *);

/*
 * The leader's API URL from the TLS listener of the member at --join
 * (GET /internal/leader, checked against the token's pin): a joiner of
 * TLS masters holds no credential for their dqlite traffic yet.
 */
static int
join_leader_tls(const struct master_config *cfg, const char *pinhex,
    char *api, size_t len, char **cause)
{
	struct join_buf b = { NULL, 0 };
	char *url, err[CURL_ERROR_SIZE];
	int64_t end = util_mono_ms() + JOIN_LEADER_WAIT_MS;
	long status;
	CURL *c;
	CURLcode cc;
	int ret = -1;

	xasprintf(&url, "https://%s" CLUSTER_TLS_LEADER, cfg->join);
	for (;;) {
		if ((c = curl_easy_init()) == NULL)
			fatalx("curl_easy_init failed");
		join_buf_clear(&b);
		err[0] = '\0';
		status = 0;
		if (join_transport(c, url, pinhex, cause) != 0) {
			curl_easy_cleanup(c);
			break;
		}
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, join_write);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
		curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
		cc = curl_easy_perform(c);
		if (cc == CURLE_OK)
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_cleanup(c);
		if (status == 200 && b.data != NULL && b.len < len &&
		    strncmp(b.data, "https://", 8) == 0) {
			snprintf(api, len, "%s", b.data);
			ret = 0;
			break;
		}
		/* A pin that does not match will not match later either. */
		if (cc == CURLE_SSL_PINNEDPUBKEYNOTMATCH ||
		    util_mono_ms() >= end) {
			if (cc != CURLE_OK)
				xasprintf(cause, "%s: %s", url, err[0] ? err :
				    curl_easy_strerror(cc));
			else
				xasprintf(cause, "%s: %ld %s", url, status,
				    b.data ? b.data : "");
			break;
		}
		usleep(300 * 1000);	/* an election, or it starts */
	}
	join_buf_clear(&b);
	free(url);
	return ret;
}

static void
join_buf_clear(struct join_buf *b)
{
	if (b->data != NULL) {
		OPENSSL_cleanse(b->data, b->len);
		free(b->data);
	}
	b->data = NULL;
	b->len = 0;
}

int
join_fetch(const struct master_config *cfg, char **cause)
{
	struct join_buf b = { NULL, 0 };
	unsigned char key[TOKEN_KEY_LEN];
	char secret[TOKEN_LEN + 1], pinhex[65], api[256], *url = NULL,
	    *body = NULL, *location = NULL;
	const char *cert, *tkey;
	int64_t end = util_mono_ms() + JOIN_LEADER_WAIT_MS;
	json_t *req, *rep = NULL;
	long status = 0;
	int ret = -1, hops = 0;

	if (join_token_parse(cfg->join_token, secret, pinhex, cause) != 0)
		return -1;
	OPENSSL_cleanse(secret, sizeof secret);
	/*
	 * A cluster of TLS masters (the token carries the pin) takes its
	 * dqlite traffic only from masters that hold its master key
	 * (docs/ha.md, "TLS between masters"), which this one does not yet:
	 * ask --join's listener for the leader's API URL instead. Plain
	 * masters: ask --join's node who leads, then the masters table.
	 */
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (pinhex[0] != '\0') {
		if (join_leader_tls(cfg, pinhex, api, sizeof api, cause) != 0)
			return -1;
	} else if (join_leader_api(cfg, api, sizeof api, cause) != 0)
		return -1;
	xasprintf(&url, "%s/v1/masters/join", api);
	req = json_pack("{s:s, s:s}", "token", cfg->join_token, "address",
	    cfg->cluster_address);
	body = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	for (;;) {
		log_info("join: asking %s for the cluster's master key and "
		    "TLS identity", url);
		join_buf_clear(&b);
		free(location);
		location = NULL;
		if ((status = join_post(url, pinhex, body, &b, &location,
		    cause)) < 0)
			goto out;
		if (status == 307 && location != NULL && hops++ < 3 &&
		    strncmp(location, "https://", 8) == 0) {
			free(url);
			url = location;		/* the same pin serves */
			location = NULL;
			continue;
		}
		/* A standby that knows no leader yet (an election). */
		if (status == 503 && util_mono_ms() < end) {
			usleep(300 * 1000);
			continue;
		}
		break;
	}
	rep = b.data ? json_loads(b.data, 0, NULL) : NULL;
	if (status != 200) {
		const char *e = json_string_value(json_object_get(rep,
		    "error"));

		xasprintf(cause, "the leader (%s) refused the join: %ld %s",
		    url, status, e ? e : "");
		goto out;
	}
	if (join_unhex(json_string_value(json_object_get(rep, "master_key")),
	    key, sizeof key) != 0) {
		xasprintf(cause, "the leader's answer has no master key");
		goto out;
	}
	if (join_put(cfg->data_dir, "master.key", key, sizeof key,
	    cause) != 0)
		goto out;
	cert = json_string_value(json_object_get(rep, "tls_cert"));
	tkey = json_string_value(json_object_get(rep, "tls_key"));
	if (cert != NULL && tkey != NULL &&
	    (join_put(cfg->data_dir, "tls.key", tkey, strlen(tkey),
	    cause) != 0 || join_put(cfg->data_dir, "tls.crt", cert,
	    strlen(cert), cause) != 0))
		goto out;
	log_info("join: the leader accepted the join token; master key%s "
	    "written to %s", cert ? " and TLS identity (tls.crt, tls.key: "
	    "serve them with --tls-self-signed)" : "", cfg->data_dir);
	ret = 0;
out:
	OPENSSL_cleanse(key, sizeof key);
	join_buf_clear(&b);
	if (body != NULL) {
		OPENSSL_cleanse(body, strlen(body));
		free(body);
	}
	json_decref(rep);
	free(location);
	free(url);
	return ret;
}
