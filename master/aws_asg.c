/*
 * aws_asg.c - the AWS Auto Scaling Query API client (see aws_asg.h); its
 * XML replies are read in aws_asg_xml.c, its credentials in
 * aws_asg_creds.c.
 *
 * Called by the node groups' provider worker thread (never the scheduler
 * thread: every call is network I/O). One struct aws_asg is used by one
 * thread at a time.
 *
 * A call: credentials are read (env or file), the form body is built
 * ("Action=...&Version=2011-01-01&..." percent-encoded as RFC 3986 and
 * SigV4 want), POSTed with curl signing it, and the reply parsed. Retries
 * happen only for codes with which AWS says the request was not executed
 * (Throttling and kin) and for a connection that was never made, so a
 * retried TerminateInstanceInAutoScalingGroup cannot terminate twice.
 * The secret lives only in struct aws_creds for the length of one call;
 * aws_creds_clear() wipes it. Causes carry AWS's code and message, the
 * action and the endpoint, never a header.
 */
#include "master/aws_asg.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "common/log.h"
#include "common/version.h"
#include "common/xmalloc.h"

#define AWS_TIMEOUT_MS		20000L
#define AWS_CONNECT_MS		5000L
#define AWS_RETRIES		5
#define AWS_RETRY_BASE_MS	200L
#define AWS_RETRY_MAX_MS	10000L
#define AWS_DEADLINE_MS		60000L
#define AWS_MSG_MAX		512

struct aws_asg {
	CURL		*curl;		/* reused: keep-alive to the endpoint */
	char		*region;
	char		*endpoint;	/* ends in "/" */
	char		*sigv4;		/* "aws:amz:<region>:autoscaling" */
	char		*creds_file;	/* NULL: env first, then default file */
	char		*profile;	/* NULL: $AWS_PROFILE or "default" */
	long		 timeout_ms;
	int		 max_retries;
	long		 retry_base_ms;
	long		 retry_max_ms;
	long		 deadline_ms;	/* a call with its retries, at most */
	struct aws_asg_stats stats;
	char		 last_code[128]; /* AWS code of the last failed call */
};

/* ---- form encoding ---------------------------------------------------- */

void
aws_form_add(struct buf *form, const char *key, const char *value)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *s;
	int pass;

	if (form->len > 0)
		buf_append(form, "&", 1);
	for (pass = 0; pass < 2; pass++) {
		for (s = pass == 0 ? key : value; *s != '\0'; s++) {
			unsigned char c = (unsigned char)*s;
			char esc[3];

			if (isalnum(c) || c == '-' || c == '_' || c == '.' ||
			    c == '~') {
				buf_append(form, s, 1);
				continue;
			}
			esc[0] = '%';
			esc[1] = hex[c >> 4];
			esc[2] = hex[c & 15];
			buf_append(form, esc, 3);
		}
		if (pass == 0)
			buf_append(form, "=", 1);
	}
}

static void
aws_form_addf(struct buf *form, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void
aws_form_addf(struct buf *form, const char *key, const char *fmt, ...)
{
	va_list ap;
	char *v;

	va_start(ap, fmt);
	xvasprintf(&v, fmt, ap);
	va_end(ap);
	aws_form_add(form, key, v);
	free(v);
}

/* ---- the client ----------------------------------------------------------------- */

int
aws_error_retryable(const char *code)
{
	static const char *const codes[] = { "Throttling",
	    "ThrottlingException", "RequestLimitExceeded",
	    "ResourceContention", "ServiceUnavailable", "RequestThrottled" };
	size_t i;

	for (i = 0; i < sizeof codes / sizeof codes[0]; i++)
		if (strcmp(code, codes[i]) == 0)
			return 1;
	return 0;
}

int
aws_endpoint_check(const char *url, char **cause)
{
	const char *host, *end, *p;
	char h[256];
	size_t hl;
	int tls;

	if (strncmp(url, "https://", 8) == 0) {
		tls = 1;
		host = url + 8;
	} else if (strncmp(url, "http://", 7) == 0) {
		tls = 0;
		host = url + 7;
	} else {
		xasprintf(cause, "endpoint: must begin with https:// (http:// "
		    "only to a loopback test endpoint)");
		return -1;
	}
	if (*host == '[') {
		if ((end = strchr(host, ']')) == NULL)
			goto bad;
		end++;
	} else
		end = host + strcspn(host, ":/?#@");
	hl = (size_t)(end - host);
	if (hl == 0 || hl >= sizeof h)
		goto bad;
	memcpy(h, host, hl);
	h[hl] = '\0';
	if (h[0] != '[' && strspn(h, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") != hl)
		goto bad;
	if (h[0] == '[' && strspn(h + 1, "0123456789abcdefABCDEF:.]") !=
	    hl - 1)
		goto bad;
	p = end;
	if (*p == ':') {
		size_t n = strspn(p + 1, "0123456789");

		if (n == 0 || n > 5)
			goto bad;
		p += 1 + n;
	}
	if (*p == '/')
		p++;
	if (*p != '\0')
		goto bad;
	if (!tls && strcmp(h, "localhost") != 0 && strcmp(h, "[::1]") != 0 &&
	    (strncmp(h, "127.", 4) != 0 ||
	    strspn(h, "0123456789.") != hl)) {
		xasprintf(cause, "endpoint: http:// only to a loopback test "
		    "endpoint (127.0.0.1, localhost, [::1]); use https://");
		return -1;
	}
	return 0;
bad:
	xasprintf(cause, "endpoint: must be https://HOST[:PORT] with no "
	    "user, path or query");
	return -1;
}

struct aws_asg *
aws_asg_new(const struct aws_asg_config *cfg, char **cause)
{
	struct aws_asg *a;
	struct aws_creds c;
	const char *r = cfg->region;

	if (r == NULL || *r == '\0' || strlen(r) > 32 ||
	    strspn(r, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(r)) {
		xasprintf(cause, "region: must be an AWS region such as "
		    "eu-west-1");
		return NULL;
	}
	if (cfg->endpoint != NULL && aws_endpoint_check(cfg->endpoint,
	    cause) == -1)
		return NULL;
	/* Fail early on missing credentials; calls read them again. */
	if (aws_creds_load(cfg->credentials_file, cfg->profile, &c,
	    cause) == -1)
		return NULL;
	aws_creds_clear(&c);

	a = xcalloc(1, sizeof *a);
	a->region = xstrdup(r);
	if (cfg->endpoint != NULL) {
		size_t l = strlen(cfg->endpoint);

		xasprintf(&a->endpoint, "%s%s", cfg->endpoint,
		    l > 0 && cfg->endpoint[l - 1] == '/' ? "" : "/");
	} else
		xasprintf(&a->endpoint, "https://autoscaling.%s.amazonaws.com/",
		    r);
	xasprintf(&a->sigv4, "aws:amz:%s:autoscaling", r);
	a->creds_file = cfg->credentials_file ?
	    xstrdup(cfg->credentials_file) : NULL;
	a->profile = cfg->profile ? xstrdup(cfg->profile) : NULL;
	a->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : AWS_TIMEOUT_MS;
	a->max_retries = cfg->max_retries < 0 ? 0 :
	    cfg->max_retries > 0 ? cfg->max_retries : AWS_RETRIES;
	a->retry_base_ms = cfg->retry_base_ms > 0 ? cfg->retry_base_ms :
	    AWS_RETRY_BASE_MS;
	a->retry_max_ms = cfg->retry_max_ms > 0 ? cfg->retry_max_ms :
	    AWS_RETRY_MAX_MS;
	a->deadline_ms = cfg->deadline_ms > 0 ? cfg->deadline_ms :
	    AWS_DEADLINE_MS;
	if ((a->curl = curl_easy_init()) == NULL) {
		xasprintf(cause, "curl_easy_init failed");
		aws_asg_free(a);
		return NULL;
	}
	return a;
}

void
aws_asg_free(struct aws_asg *a)
{
	if (a == NULL)
		return;
	if (a->curl != NULL)
		curl_easy_cleanup(a->curl);
	free(a->region);
	free(a->endpoint);
	free(a->sigv4);
	free(a->creds_file);
	free(a->profile);
	free(a);
}

const char *
aws_asg_last_code(const struct aws_asg *a)
{
	return a->last_code;
}

void
aws_asg_get_stats(const struct aws_asg *a, struct aws_asg_stats *out)
{
	*out = a->stats;
}

static size_t
aws_write_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct buf *b = arg;
	size_t n = size * nmemb;

	if (b->len + n > AWS_REPLY_MAX)
		return 0;	/* aborts the transfer */
	buf_append(b, ptr, n);
	return n;
}

/*
 * Before retry number attempt+1: sleep a random time in [ceiling/2,
 * ceiling] ("equal jitter", ceiling = base * 2^attempt, capped) and say 1,
 * or say 0 (no retry) when the retries are spent or the sleep would pass
 * the call's deadline.
 */
static int
aws_backoff(const struct aws_asg *a, int attempt, int64_t t0)
{
	long ceiling = a->retry_base_ms, ms;
	uint32_t r;
	struct timespec ts;
	int i;

	if (attempt >= a->max_retries)
		return 0;
	for (i = 0; i < attempt && ceiling < a->retry_max_ms; i++)
		ceiling *= 2;
	if (ceiling > a->retry_max_ms)
		ceiling = a->retry_max_ms;
	util_random(&r, sizeof r);
	ms = ceiling / 2 + (long)(r % (uint32_t)(ceiling / 2 + 1));
	if (util_mono_ms() - t0 + ms >= a->deadline_ms)
		return 0;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
	return 1;
}

/*
 * POST Action=action&Version=...&params; on 200 the body is in *reply.
 * 0, or -1 with *cause "Action: Code: Message".
 */
static int
aws_call(struct aws_asg *a, const char *action, const struct buf *params,
    struct buf *reply, char **cause)
{
	struct aws_creds cr;
	struct buf body = { 0 };
	struct curl_slist *hdrs = NULL;
	char err[CURL_ERROR_SIZE], code[128], msg[AWS_MSG_MAX];
	char *tokhdr = NULL;
	CURL *c = a->curl;
	CURLcode res;
	long status;
	int attempt, rc = -1;
	int64_t t0 = util_mono_ms(), left;

	if (aws_creds_load(a->creds_file, a->profile, &cr, cause) == -1)
		return -1;
	aws_form_add(&body, "Action", action);
	aws_form_add(&body, "Version", AWS_ASG_VERSION);
	if (params != NULL && params->len > 0) {
		buf_append(&body, "&", 1);
		buf_append(&body, params->data, params->len);
	}
	hdrs = curl_slist_append(hdrs,
	    "Content-Type: application/x-www-form-urlencoded; charset=utf-8");
	if (cr.token != NULL) {
		xasprintf(&tokhdr, "X-Amz-Security-Token: %s", cr.token);
		hdrs = curl_slist_append(hdrs, tokhdr);
	}
	a->stats.calls++;
	a->last_code[0] = '\0';
	for (attempt = 0;; attempt++) {
		buf_free(reply);
		err[0] = '\0';
		curl_easy_reset(c);
		curl_easy_setopt(c, CURLOPT_URL, a->endpoint);
		curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_VERBOSE, 0L);
		/* Each exchange gets its timeout, within the call's deadline. */
		left = a->deadline_ms - (util_mono_ms() - t0);
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, left < a->timeout_ms ?
		    (long)(left > 1 ? left : 1) : a->timeout_ms);
		curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
		    a->timeout_ms < AWS_CONNECT_MS ? a->timeout_ms :
		    AWS_CONNECT_MS);
		curl_easy_setopt(c, CURLOPT_USERAGENT, "berth/" BERTH_VERSION);
		curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body.len);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(c, CURLOPT_AWS_SIGV4, a->sigv4);
		curl_easy_setopt(c, CURLOPT_USERNAME, cr.akid);
		curl_easy_setopt(c, CURLOPT_PASSWORD, cr.secret);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, aws_write_cb);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, reply);
		a->stats.requests++;
		res = curl_easy_perform(c);
		/* Drop curl's copy of the secret until the next request. */
		curl_easy_setopt(c, CURLOPT_PASSWORD, "");
		if (res != CURLE_OK) {
			/* Retry only when nothing reached AWS. */
			if (res == CURLE_COULDNT_CONNECT &&
			    aws_backoff(a, attempt, t0)) {
				a->stats.retries++;
				continue;
			}
			xasprintf(cause, "%s: POST %s: %s", action, a->endpoint,
			    err[0] != '\0' ? err : curl_easy_strerror(res));
			break;
		}
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		if (status == 200) {
			rc = 0;
			break;
		}
		if (aws_xml_error(reply->data ? reply->data : "", reply->len,
		    code, sizeof code, msg, sizeof msg) == -1) {
			snprintf(code, sizeof code, "HTTP%ld", status);
			snprintf(msg, sizeof msg, "HTTP %ld without an AWS error",
			    status);
		}
		if ((aws_error_retryable(code) || status == 503) &&
		    aws_backoff(a, attempt, t0)) {
			a->stats.retries++;
			log_debug("aws-asg: %s: %s, retry %d of %d", action, code,
			    attempt + 1, a->max_retries);
			continue;
		}
		snprintf(a->last_code, sizeof a->last_code, "%s", code);
		if (aws_error_retryable(code))
			xasprintf(cause, "%s: %s: %s (gave up after %d "
			    "retries, %lld ms)", action, code, msg, attempt,
			    (long long)(util_mono_ms() - t0));
		else
			xasprintf(cause, "%s: %s: %s", action, code, msg);
		break;
	}
	curl_slist_free_all(hdrs);
	if (tokhdr != NULL) {
		explicit_bzero(tokhdr, strlen(tokhdr));
		free(tokhdr);
	}
	aws_creds_clear(&cr);
	buf_free(&body);
	return rc;
}

static int
aws_name_ok(const char *group, char **cause)
{
	if (group == NULL || *group == '\0' || strlen(group) > 255) {
		xasprintf(cause, "asg_name: 1 to 255 characters");
		return 0;
	}
	return 1;
}

/* i-, then 8 or 17 hex digits (EC2's two formats). */
static int
aws_instance_ok(const char *id, char **cause)
{
	size_t n = id != NULL && strncmp(id, "i-", 2) == 0 ?
	    strlen(id + 2) : 0;

	if ((n != 8 && n != 17) ||
	    strspn(id + 2, "0123456789abcdef") != n) {
		xasprintf(cause, "instance id %.40s%s: must be i- and 8 or 17 "
		    "hex digits", id != NULL ? id : "(null)",
		    id != NULL && strlen(id) > 40 ? "..." : "");
		return 0;
	}
	return 1;
}

int
aws_asg_describe(struct aws_asg *a, const char *group,
    struct aws_asg_group *out, char **cause)
{
	struct buf p = { 0 }, reply = { 0 };
	int rc = -1;

	memset(out, 0, sizeof *out);
	if (!aws_name_ok(group, cause))
		return -1;
	aws_form_add(&p, "AutoScalingGroupNames.member.1", group);
	if (aws_call(a, "DescribeAutoScalingGroups", &p, &reply, cause) == 0)
		rc = aws_xml_groups(reply.data, reply.len, group, out, cause);
	buf_free(&p);
	buf_free(&reply);
	return rc;
}

int
aws_asg_set_desired(struct aws_asg *a, const char *group, int64_t desired,
    char **cause)
{
	struct aws_asg_group g;
	struct buf p = { 0 }, reply = { 0 };
	int rc;

	if (aws_asg_describe(a, group, &g, cause) == -1)
		return -1;
	if (desired < g.desired) {
		xasprintf(cause, "refused to lower the desired capacity of %s "
		    "from %lld to %lld: AWS would choose which instances to "
		    "terminate (berth removes instances only by name)", group,
		    (long long)g.desired, (long long)desired);
		aws_asg_group_clear(&g);
		return -1;
	}
	if (desired > g.max) {
		xasprintf(cause, "desired capacity %lld of %s is above its "
		    "MaxSize %lld", (long long)desired, group,
		    (long long)g.max);
		aws_asg_group_clear(&g);
		return -1;
	}
	rc = 0;
	if (desired != g.desired) {
		aws_form_add(&p, "AutoScalingGroupName", group);
		aws_form_addf(&p, "DesiredCapacity", "%lld",
		    (long long)desired);
		aws_form_add(&p, "HonorCooldown", "false");
		rc = aws_call(a, "SetDesiredCapacity", &p, &reply, cause);
	}
	aws_asg_group_clear(&g);
	buf_free(&p);
	buf_free(&reply);
	return rc;
}

int
aws_asg_protect(struct aws_asg *a, const char *group,
    const char *const *ids, size_t n, int protect, char **cause)
{
	struct buf p = { 0 }, reply = { 0 };
	size_t i, j;
	char key[64];

	if (!aws_name_ok(group, cause))
		return -1;
	for (i = 0; i < n; i++)
		if (!aws_instance_ok(ids[i], cause))
			return -1;
	for (i = 0; i < n; i += AWS_ASG_PROTECT_BATCH) {
		buf_free(&p);
		aws_form_add(&p, "AutoScalingGroupName", group);
		for (j = 0; j < AWS_ASG_PROTECT_BATCH && i + j < n; j++) {
			snprintf(key, sizeof key, "InstanceIds.member.%zu",
			    j + 1);
			aws_form_add(&p, key, ids[i + j]);
		}
		aws_form_add(&p, "ProtectedFromScaleIn",
		    protect ? "true" : "false");
		if (aws_call(a, "SetInstanceProtection", &p, &reply,
		    cause) == -1) {
			buf_free(&p);
			buf_free(&reply);
			return -1;
		}
	}
	buf_free(&p);
	buf_free(&reply);
	return 0;
}

int
aws_asg_terminate(struct aws_asg *a, const char *instance_id, char **cause)
{
	struct buf p = { 0 }, reply = { 0 };
	int rc;

	if (!aws_instance_ok(instance_id, cause))
		return -1;
	aws_form_add(&p, "InstanceId", instance_id);
	aws_form_add(&p, "ShouldDecrementDesiredCapacity", "true");
	rc = aws_call(a, "TerminateInstanceInAutoScalingGroup", &p, &reply,
	    cause);
	buf_free(&p);
	buf_free(&reply);
	return rc;
}

int
aws_asg_activities(struct aws_asg *a, const char *group, int max,
    struct aws_asg_activity **out, size_t *n, char **cause)
{
	struct buf p = { 0 }, reply = { 0 };
	int rc = -1;

	*out = NULL;
	*n = 0;
	if (!aws_name_ok(group, cause))
		return -1;
	if (max < 1 || max > 100)
		max = 100;
	aws_form_add(&p, "AutoScalingGroupName", group);
	aws_form_addf(&p, "MaxRecords", "%d", max);
	if (aws_call(a, "DescribeScalingActivities", &p, &reply, cause) == 0)
		rc = aws_xml_activities(reply.data, reply.len, out, n, cause);
	buf_free(&p);
	buf_free(&reply);
	return rc;
}
