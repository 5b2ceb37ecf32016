/*
 * logfmt.c - times, UTF-8 and escaping for container logs (see logfmt.h).
 */
#include "common/logfmt.h"

#include "common/units.h"
#include "common/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int
logfmt_digits(const char *s, size_t n, int *v)
{
	size_t i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

size_t
logfmt_parse_ts(const char *s, size_t len, int64_t *ns)
{
	struct tm tm;
	int y, mo, d, h, mi, sec, oh, om, i;
	int64_t frac = 0, t;
	size_t p;

	if (len < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' &&
	    s[10] != 't') || s[13] != ':' || s[16] != ':')
		return 0;
	if (logfmt_digits(s, 4, &y) || logfmt_digits(s + 5, 2, &mo) ||
	    logfmt_digits(s + 8, 2, &d) || logfmt_digits(s + 11, 2, &h) ||
	    logfmt_digits(s + 14, 2, &mi) || logfmt_digits(s + 17, 2, &sec))
		return 0;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60 || y < 1970)
		return 0;
	p = 19;
	if (p < len && s[p] == '.') {
		p++;
		for (i = 0; i < 9 && p < len && s[p] >= '0' && s[p] <= '9'; i++)
			frac = frac * 10 + (s[p++] - '0');
		if (i == 0 || (p < len && s[p] >= '0' && s[p] <= '9'))
			return 0;
		for (; i < 9; i++)
			frac *= 10;
	}
	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = (int64_t)timegm(&tm);
	if (p < len && (s[p] == 'Z' || s[p] == 'z'))
		p++;
	else if (p + 6 <= len && (s[p] == '+' || s[p] == '-') &&
	    s[p + 3] == ':' && logfmt_digits(s + p + 1, 2, &oh) == 0 &&
	    logfmt_digits(s + p + 4, 2, &om) == 0 && oh < 24 && om < 60) {
		t += (s[p] == '+' ? -1 : 1) * (int64_t)(oh * 3600 + om * 60);
		p += 6;
	} else
		return 0;
	if (t < 0)
		return 0;
	*ns = t * 1000000000 + frac;
	return p;
}

char *
logfmt_ts(int64_t ns, char *buf)
{
	struct tm tm;
	time_t t;

	if (ns < 0)
		ns = 0;
	t = (time_t)(ns / 1000000000);
	gmtime_r(&t, &tm);
	/* Fields in range by gmtime_r(); years past 9999 are not a log's. */
	snprintf(buf, LOGFMT_TS_LEN + 1, "%04u-%02u-%02uT%02u:%02u:%02u.%09uZ",
	    (unsigned)(tm.tm_year + 1900) % 10000u, (unsigned)(tm.tm_mon + 1) % 100u,
	    (unsigned)tm.tm_mday % 100u, (unsigned)tm.tm_hour % 100u,
	    (unsigned)tm.tm_min % 100u, (unsigned)tm.tm_sec % 100u,
	    (unsigned)(ns % 1000000000));
	return buf;
}

int
logfmt_parse_since(const char *s, int64_t now_ns, int64_t *ns, char **cause)
{
	long long secs;
	char *err = NULL;
	size_t n = strlen(s);

	if (n > 0 && logfmt_parse_ts(s, n, ns) == n)
		return 0;
	if (units_parse_duration(s, &secs, &err) == 0 && secs >= 0) {
		free(err);
		*ns = now_ns - (int64_t)secs * 1000000000;
		if (*ns < 0)
			*ns = 0;
		return 0;
	}
	free(err);
	xasprintf(cause, "\"%.64s\" is neither an RFC 3339 time "
	    "(2026-01-02T15:04:05Z) nor a duration (30s, 10m, 2h)", s);
	return -1;
}

void
logfmt_json_escape(struct buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, run = 0;
	char esc[6];
	unsigned char c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		buf_append(b, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"':
			buf_append(b, "\\\"", 2);
			break;
		case '\\':
			buf_append(b, "\\\\", 2);
			break;
		case '\n':
			buf_append(b, "\\n", 2);
			break;
		case '\r':
			buf_append(b, "\\r", 2);
			break;
		case '\t':
			buf_append(b, "\\t", 2);
			break;
		default:
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			buf_append(b, esc, 6);
		}
	}
	buf_append(b, s + run, len - run);
}

/* Bytes of the UTF-8 character at s (len left), or 0 if it is not one. */
static size_t
logfmt_utf8_char(const unsigned char *s, size_t len)
{
	unsigned c = s[0];
	size_t n, i;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else
		return 0;
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and beyond U+10FFFF. */
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 ||
	    cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

size_t
logfmt_utf8_valid(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, n;

	while (i < len) {
		if (u[i] < 0x80) {
			i++;
			continue;
		}
		if ((n = logfmt_utf8_char(u + i, len - i)) == 0)
			break;
		i += n;
	}
	return i;
}

void
logfmt_utf8_sanitize(struct buf *b, const char *s, size_t len)
{
	size_t i = 0, ok;

	while (i < len) {
		ok = logfmt_utf8_valid(s + i, len - i);
		buf_append(b, s + i, ok);
		i += ok;
		if (i < len) {
			buf_append(b, "\xef\xbf\xbd", 3);	/* U+FFFD */
			i++;
		}
	}
	if (b->data == NULL)
		buf_append(b, "", 0);
}

size_t
logfmt_utf8_cut(const char *s, size_t len, size_t max)
{
	size_t n;

	if (len <= max)
		return len;
	if (max == 0)
		return 0;
	n = max;
	/* Back off continuation bytes to the start of their character. */
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n > 0 ? n : max;
}

void
logfmt_terminal_safe(struct buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t i, run = 0;
	char esc[4];

	for (i = 0; i < len; i++) {
		int c1 = u[i] == 0xc2 && i + 1 < len && u[i + 1] >= 0x80 &&
		    u[i + 1] <= 0x9f;	/* U+0080..U+009F */

		if ((u[i] >= 0x20 && u[i] != 0x7f && !c1) || u[i] == '\t')
			continue;
		buf_append(b, s + run, i - run);
		if (c1)
			i++;
		esc[0] = '\\';
		esc[1] = 'x';
		esc[2] = hex[u[i] >> 4];
		esc[3] = hex[u[i] & 15];
		buf_append(b, esc, 4);
		run = i + 1;
	}
	buf_append(b, s + run, len - run);
}
