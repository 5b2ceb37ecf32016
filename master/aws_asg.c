/*
 * aws_asg.c - the AWS Auto Scaling Query API client (see aws_asg.h).
 *
 * Called by the node groups' provider worker thread (never the scheduler
 * thread: every call is network I/O). One struct aws_asg is used by one
 * thread at a time; libxml2 is initialised once for the process.
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
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "common/log.h"
#include "common/version.h"
#include "common/xmalloc.h"

#define AWS_REPLY_MAX		(8 * 1024 * 1024)
#define AWS_CREDS_FILE_MAX	(1024 * 1024)
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

static pthread_once_t aws_xml_once = PTHREAD_ONCE_INIT;

static void
aws_xml_init(void)
{
	xmlInitParser();
}

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

/* ---- XML --------------------------------------------------------------- */

static xmlDocPtr
aws_xml_read(const char *xml, size_t len)
{
	pthread_once(&aws_xml_once, aws_xml_init);
	if (len > AWS_REPLY_MAX)
		return NULL;
	/* No network, no DTD, no entity substitution, no noise on stderr. */
	return xmlReadMemory(xml, (int)len, "aws.xml", NULL,
	    XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOERROR |
	    XML_PARSE_NOWARNING);
}

/* The first element child of n named name (local name, any namespace). */
static xmlNodePtr
aws_xml_child(xmlNodePtr n, const char *name)
{
	xmlNodePtr c;

	if (n == NULL)
		return NULL;
	for (c = n->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE &&
		    strcmp((const char *)c->name, name) == 0)
			return c;
	return NULL;
}

/* Follow a path of child names ("A/B/C"). */
static xmlNodePtr
aws_xml_path(xmlNodePtr n, const char *path)
{
	char part[128];
	const char *p = path, *slash;
	size_t l;

	while (n != NULL && *p != '\0') {
		slash = strchr(p, '/');
		l = slash != NULL ? (size_t)(slash - p) : strlen(p);
		if (l >= sizeof part)
			return NULL;
		memcpy(part, p, l);
		part[l] = '\0';
		n = aws_xml_child(n, part);
		p += l + (slash != NULL);
	}
	return n;
}

/* The text of child name of n into buf ("" if absent); 1 if present. */
static int
aws_xml_text(xmlNodePtr n, const char *name, char *buf, size_t len)
{
	xmlNodePtr c = name != NULL ? aws_xml_path(n, name) : n;
	xmlChar *t;

	buf[0] = '\0';
	if (c == NULL)
		return 0;
	t = xmlNodeGetContent(c);
	if (t == NULL)
		return 1;
	snprintf(buf, len, "%s", (const char *)t);
	xmlFree(t);
	return 1;
}

static char *
aws_xml_strdup(xmlNodePtr n, const char *name)
{
	xmlNodePtr c = aws_xml_path(n, name);
	xmlChar *t;
	char *s;

	if (c == NULL || (t = xmlNodeGetContent(c)) == NULL)
		return xstrdup("");
	s = xstrdup((const char *)t);
	xmlFree(t);
	return s;
}

static int
aws_xml_int(xmlNodePtr n, const char *name, int64_t *out)
{
	char buf[32], *end;
	long long v;

	if (!aws_xml_text(n, name, buf, sizeof buf) || buf[0] == '\0')
		return -1;
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

static int
aws_xml_bool(xmlNodePtr n, const char *name)
{
	char buf[8];

	aws_xml_text(n, name, buf, sizeof buf);
	return strcmp(buf, "true") == 0;
}

/* Printable ASCII only: AWS's words go into events and logs. */
static void
aws_clean(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = ' ';
}

int
aws_xml_error(const char *xml, size_t len, char *code, size_t codelen,
    char *msg, size_t msglen)
{
	xmlDocPtr doc = aws_xml_read(xml, len);
	xmlNodePtr root, err;
	int rc = -1;

	code[0] = msg[0] = '\0';
	if (doc == NULL)
		return -1;
	root = xmlDocGetRootElement(doc);
	if (root != NULL && strcmp((const char *)root->name,
	    "ErrorResponse") == 0 && (err = aws_xml_child(root, "Error")) &&
	    aws_xml_text(err, "Code", code, codelen) && code[0] != '\0') {
		aws_xml_text(err, "Message", msg, msglen);
		aws_clean(code);
		aws_clean(msg);
		rc = 0;
	}
	xmlFreeDoc(doc);
	return rc;
}

int
aws_xml_groups(const char *xml, size_t len, const char *group,
    struct aws_asg_group *out, char **cause)
{
	xmlDocPtr doc = aws_xml_read(xml, len);
	xmlNodePtr list, g, m, inst;
	char name[256], proc[64];
	size_t n;
	int rc = -1;

	memset(out, 0, sizeof *out);
	if (doc == NULL) {
		xasprintf(cause, "DescribeAutoScalingGroups: reply is not XML");
		return -1;
	}
	list = aws_xml_path(xmlDocGetRootElement(doc),
	    "DescribeAutoScalingGroupsResult/AutoScalingGroups");
	if (list == NULL) {
		xasprintf(cause, "DescribeAutoScalingGroups: reply has no "
		    "AutoScalingGroups");
		goto out;
	}
	for (g = list->children; g != NULL; g = g->next) {
		if (g->type != XML_ELEMENT_NODE)
			continue;
		aws_xml_text(g, "AutoScalingGroupName", name, sizeof name);
		if (strcmp(name, group) == 0)
			break;
	}
	if (g == NULL) {
		xasprintf(cause, "auto scaling group %s not found", group);
		goto out;
	}
	snprintf(out->name, sizeof out->name, "%s", name);
	if (aws_xml_int(g, "MinSize", &out->min) == -1 ||
	    aws_xml_int(g, "MaxSize", &out->max) == -1 ||
	    aws_xml_int(g, "DesiredCapacity", &out->desired) == -1) {
		xasprintf(cause, "DescribeAutoScalingGroups: group %s lacks "
		    "MinSize, MaxSize or DesiredCapacity", group);
		goto out;
	}
	out->new_protected = aws_xml_bool(g, "NewInstancesProtectedFromScaleIn");
	for (m = aws_xml_child(aws_xml_child(g, "SuspendedProcesses"),
	    "member"); m != NULL; m = m->next) {
		if (m->type != XML_ELEMENT_NODE)
			continue;
		aws_xml_text(m, "ProcessName", proc, sizeof proc);
		if (strcmp(proc, "Terminate") == 0)
			out->terminate_suspended = 1;
		else if (strcmp(proc, "Launch") == 0)
			out->launch_suspended = 1;
	}
	n = 0;
	for (inst = aws_xml_child(g, "Instances") ?
	    aws_xml_child(g, "Instances")->children : NULL; inst != NULL;
	    inst = inst->next)
		n += inst->type == XML_ELEMENT_NODE;
	out->instances = xcalloc(n ? n : 1, sizeof *out->instances);
	for (inst = aws_xml_child(g, "Instances") ?
	    aws_xml_child(g, "Instances")->children : NULL; inst != NULL;
	    inst = inst->next) {
		struct aws_asg_instance *i;

		if (inst->type != XML_ELEMENT_NODE)
			continue;
		i = &out->instances[out->n_instances];
		aws_xml_text(inst, "InstanceId", i->id, sizeof i->id);
		if (i->id[0] == '\0')
			continue;
		aws_xml_text(inst, "AvailabilityZone", i->az, sizeof i->az);
		aws_xml_text(inst, "LifecycleState", i->lifecycle,
		    sizeof i->lifecycle);
		aws_xml_text(inst, "HealthStatus", i->health, sizeof i->health);
		i->protected_ = aws_xml_bool(inst, "ProtectedFromScaleIn");
		aws_clean(i->id);
		aws_clean(i->az);
		out->n_instances++;
	}
	rc = 0;
out:
	xmlFreeDoc(doc);
	if (rc != 0)
		aws_asg_group_clear(out);
	return rc;
}

int
aws_xml_activities(const char *xml, size_t len,
    struct aws_asg_activity **out, size_t *n, char **cause)
{
	xmlDocPtr doc = aws_xml_read(xml, len);
	xmlNodePtr list, m;
	size_t cap = 0;
	char when[64];

	*out = NULL;
	*n = 0;
	if (doc == NULL) {
		xasprintf(cause, "DescribeScalingActivities: reply is not XML");
		return -1;
	}
	list = aws_xml_path(xmlDocGetRootElement(doc),
	    "DescribeScalingActivitiesResult/Activities");
	if (list == NULL) {
		xmlFreeDoc(doc);
		xasprintf(cause, "DescribeScalingActivities: reply has no "
		    "Activities");
		return -1;
	}
	for (m = list->children; m != NULL; m = m->next)
		cap += m->type == XML_ELEMENT_NODE;
	*out = xcalloc(cap ? cap : 1, sizeof **out);
	for (m = list->children; m != NULL; m = m->next) {
		struct aws_asg_activity *a;

		if (m->type != XML_ELEMENT_NODE)
			continue;
		a = &(*out)[(*n)++];
		aws_xml_text(m, "ActivityId", a->id, sizeof a->id);
		aws_xml_text(m, "StatusCode", a->status, sizeof a->status);
		a->description = aws_xml_strdup(m, "Description");
		a->message = aws_xml_strdup(m, "StatusMessage");
		aws_clean(a->description);
		aws_clean(a->message);
		aws_xml_text(m, "StartTime", when, sizeof when);
		a->start_ms = util_parse_time(when);
		if (a->start_ms < 0)
			a->start_ms = 0;
	}
	xmlFreeDoc(doc);
	return 0;
}

void
aws_asg_group_clear(struct aws_asg_group *g)
{
	if (g == NULL)
		return;
	free(g->instances);
	memset(g, 0, sizeof *g);
}

void
aws_asg_activities_free(struct aws_asg_activity *v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(v[i].description);
		free(v[i].message);
	}
	free(v);
}

/* ---- credentials ----------------------------------------------------------- */

static char *
aws_trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static char *
aws_strdup_wipe(char **dst, const char *v)
{
	if (*dst != NULL) {
		explicit_bzero(*dst, strlen(*dst));
		free(*dst);
	}
	*dst = xstrdup(v);
	return *dst;
}

void
aws_creds_clear(struct aws_creds *c)
{
	if (c->akid != NULL)
		free(c->akid);
	if (c->secret != NULL) {
		explicit_bzero(c->secret, strlen(c->secret));
		free(c->secret);
	}
	if (c->token != NULL) {
		explicit_bzero(c->token, strlen(c->token));
		free(c->token);
	}
	memset(c, 0, sizeof *c);
}

/* A key may be used only if it cannot break a header or the userpwd. */
static int
aws_creds_word_ok(const char *s, int allow_colon)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s > 0x7e ||
		    (!allow_colon && *s == ':'))
			return 0;
	return 1;
}

static int
aws_creds_file(const char *path, const char *profile, struct aws_creds *out,
    char **cause)
{
	char *data, *line, *next, *p, *eq, section[128] = "";
	size_t len;
	int lineno = 0, rc = -1, found = 0;

	if (util_read_file(path, AWS_CREDS_FILE_MAX, &data, &len) == -1) {
		xasprintf(cause, "credentials file %s: %s", path,
		    strerror(errno));
		return -1;
	}
	for (line = data; line != NULL; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		lineno++;
		p = aws_trim(line);
		if (*p == '\0' || *p == '#' || *p == ';')
			continue;
		if (*p == '[') {
			char *end = strchr(p, ']');

			if (end == NULL || end[1] != '\0') {
				/* Never quote the line: it may hold a key. */
				xasprintf(cause, "credentials file %s: line %d: "
				    "a section must be [name]", path, lineno);
				goto out;
			}
			*end = '\0';
			p = aws_trim(p + 1);
			if (strncmp(p, "profile ", 8) == 0)
				p = aws_trim(p + 8);
			snprintf(section, sizeof section, "%s", p);
			found |= strcmp(section, profile) == 0;
			continue;
		}
		if ((eq = strchr(p, '=')) == NULL) {
			xasprintf(cause, "credentials file %s: line %d: expected "
			    "key = value", path, lineno);
			goto out;
		}
		if (strcmp(section, profile) != 0)
			continue;
		*eq = '\0';
		p = aws_trim(p);
		eq = aws_trim(eq + 1);
		if (strcmp(p, "aws_access_key_id") == 0)
			aws_strdup_wipe(&out->akid, eq);
		else if (strcmp(p, "aws_secret_access_key") == 0)
			aws_strdup_wipe(&out->secret, eq);
		else if (strcmp(p, "aws_session_token") == 0)
			aws_strdup_wipe(&out->token, eq);
	}
	if (!found)
		xasprintf(cause, "credentials file %s: no profile [%s]", path,
		    profile);
	else if (out->akid == NULL || out->secret == NULL)
		xasprintf(cause, "credentials file %s: profile [%s] lacks %s",
		    path, profile, out->akid == NULL ? "aws_access_key_id" :
		    "aws_secret_access_key");
	else
		rc = 0;
out:
	explicit_bzero(data, len);
	free(data);
	return rc;
}

int
aws_creds_load(const char *file, const char *profile, struct aws_creds *out,
    char **cause)
{
	const char *ak, *sk, *tok, *home;
	char *path = NULL;
	int rc;

	memset(out, 0, sizeof *out);
	if (file == NULL) {
		ak = getenv("AWS_ACCESS_KEY_ID");
		sk = getenv("AWS_SECRET_ACCESS_KEY");
		tok = getenv("AWS_SESSION_TOKEN");
		if ((ak != NULL && *ak != '\0') || (sk != NULL && *sk != '\0')) {
			if (ak == NULL || *ak == '\0' || sk == NULL ||
			    *sk == '\0') {
				xasprintf(cause, "%s is set but %s is not",
				    ak != NULL && *ak != '\0' ?
				    "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
				    ak != NULL && *ak != '\0' ?
				    "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
				return -1;
			}
			out->akid = xstrdup(ak);
			out->secret = xstrdup(sk);
			if (tok != NULL && *tok != '\0')
				out->token = xstrdup(tok);
			goto check;
		}
		file = getenv("AWS_SHARED_CREDENTIALS_FILE");
		if (file == NULL || *file == '\0') {
			if ((home = getenv("HOME")) == NULL || *home == '\0') {
				xasprintf(cause, "no AWS credentials: set "
				    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
				    "or a credentials file");
				return -1;
			}
			xasprintf(&path, "%s/.aws/credentials", home);
			file = path;
		}
	}
	if (profile == NULL || *profile == '\0')
		profile = getenv("AWS_PROFILE");
	if (profile == NULL || *profile == '\0')
		profile = "default";
	rc = aws_creds_file(file, profile, out, cause);
	free(path);
	if (rc == -1) {
		aws_creds_clear(out);
		return -1;
	}
check:
	if (!aws_creds_word_ok(out->akid, 0) ||
	    !aws_creds_word_ok(out->secret, 1) ||
	    (out->token != NULL && !aws_creds_word_ok(out->token, 1))) {
		xasprintf(cause, "the AWS %s has a space, a control character "
		    "or (key id) a colon", !aws_creds_word_ok(out->akid, 0) ?
		    "access key id" : !aws_creds_word_ok(out->secret, 1) ?
		    "secret access key" : "session token");
		aws_creds_clear(out);
		return -1;
	}
	return 0;
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
