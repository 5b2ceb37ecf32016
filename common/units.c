/*
 * units.c - parse and print sizes and durations (see units.h).
 *
 * The parsers are strict: the whole string must be a number with known
 * units, so "12 m" or "5x" are errors, not 12 bytes or 5 seconds. The
 * printers give the exact value back in the largest unit that divides it,
 * so what the CLI prints can be pasted back.
 */
#include "common/units.h"

#include "common/xmalloc.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A number with an optional fraction at *s; advances *s past it. */
static int
units_number(const char **s, double *v)
{
	const char *p = *s;
	char *end;

	if (!isdigit((unsigned char)*p))
		return -1;
	while (isdigit((unsigned char)*p) || *p == '.')
		p++;
	errno = 0;
	*v = strtod(*s, &end);
	if (end != p || errno != 0)
		return -1;
	*s = p;
	return 0;
}

int
units_parse_bytes(const char *s, long long *bytes, char **cause)
{
	static const struct {
		const char	*suffix;	/* lowercase */
		double		 mult;
	} units[] = {
		{ "", 1 }, { "b", 1 },
		{ "k", 1024.0 }, { "kb", 1024.0 }, { "kib", 1024.0 },
		{ "m", 1048576.0 }, { "mb", 1048576.0 }, { "mib", 1048576.0 },
		{ "g", 1073741824.0 }, { "gb", 1073741824.0 },
		{ "gib", 1073741824.0 },
		{ "t", 1099511627776.0 }, { "tb", 1099511627776.0 },
		{ "tib", 1099511627776.0 },
	};
	const char *p = s;
	double v;
	size_t i;

	if (units_number(&p, &v) != 0)
		goto bad;
	for (i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (strcasecmp(p, units[i].suffix) == 0)
			break;
	}
	if (i == sizeof units / sizeof units[0])
		goto bad;
	v *= units[i].mult;
	if (v >= 9.0e18) {
		xasprintf(cause, "size \"%s\" is too large", s);
		return -1;
	}
	if (i < 2 && strchr(s, '.') != NULL)
		goto bad;
	*bytes = (long long)v;
	return 0;
bad:
	xasprintf(cause, "\"%s\" is not a memory size (bytes, or a number "
	    "with k, m, g or t, e.g. 128M, 1g, 512k)", s);
	return -1;
}

int
units_parse_duration(const char *s, long long *seconds, char **cause)
{
	static const struct {
		const char	*suffix;	/* longest first where prefixes */
		double		 mult;
	} units[] = {
		{ "min", 60 }, { "ms", 0.001 }, { "s", 1 }, { "m", 60 },
		{ "h", 3600 }, { "d", 86400 },
	};
	const char *p = s;
	double v, total = 0;
	size_t i, ulen;

	if (units_number(&p, &v) == 0 && *p == '\0') {
		total = v;			/* a bare number: seconds */
		p = "";
	} else {
		p = s;
		if (*p == '\0')
			goto bad;
	}
	while (*p != '\0') {
		if (units_number(&p, &v) != 0)
			goto bad;
		for (i = 0; i < sizeof units / sizeof units[0]; i++) {
			ulen = strlen(units[i].suffix);
			if (strncmp(p, units[i].suffix, ulen) == 0 &&
			    !isalpha((unsigned char)p[ulen]))
				break;
		}
		if (i == sizeof units / sizeof units[0])
			goto bad;
		total += v * units[i].mult;
		p += strlen(units[i].suffix);
		if (total > 1.0e9) {
			xasprintf(cause, "duration \"%s\" is too long", s);
			return -1;
		}
	}
	*seconds = llround(total);
	return 0;
bad:
	xasprintf(cause, "\"%s\" is not a duration (seconds, or numbers with "
	    "s, m, h or d, e.g. 30s, 2m, 1h30m)", s);
	return -1;
}

const char *
units_format_duration(long long seconds, char *buf, size_t len)
{
	static const struct {
		const char	*suffix;
		long long	 secs;
	} units[] = { { "d", 86400 }, { "h", 3600 }, { "m", 60 }, { "s", 1 } };
	size_t i, o = 0;
	long long left = seconds;

	if (seconds <= 0) {
		snprintf(buf, len, "%llds", seconds);
		return buf;
	}
	buf[0] = '\0';
	for (i = 0; i < sizeof units / sizeof units[0] && left > 0; i++) {
		if (left < units[i].secs)
			continue;
		o += (size_t)snprintf(buf + o, o < len ? len - o : 0, "%lld%s",
		    left / units[i].secs, units[i].suffix);
		left %= units[i].secs;
	}
	return buf;
}

const char *
units_format_bytes(long long bytes, char *buf, size_t len)
{
	static const char *const names[] = { "", "KiB", "MiB", "GiB", "TiB" };
	size_t u = 0;
	long long v = bytes;

	while (v != 0 && v % 1024 == 0 && u + 1 < sizeof names /
	    sizeof names[0]) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, "%lld%s", v, names[u]);
	return buf;
}
