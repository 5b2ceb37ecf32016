/*
 * aws_asg_creds.c - the Auto Scaling client's credentials (see
 * aws_asg.h): the environment's AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
 * and AWS_SESSION_TOKEN, or a shared credentials file (ini, profiles).
 *
 * Read again for every call by the client's thread. The file's bytes and
 * every copy of the secret are wiped (explicit_bzero) before they are
 * freed; an error names a line by its number and never quotes it.
 */
#include "master/aws_asg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"

#define AWS_CREDS_FILE_MAX	(1024 * 1024)

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
