/*
 * log.c - leveled logging to stderr, one write(2) per line.
 *
 * Used by every thread; the level and prefix are set once at start-up, before
 * threads exist, and only read afterwards. Records carry an ISO-8601 UTC time
 * with milliseconds, the level and the binary's prefix.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static enum log_level	 log_level = LOG_LVL_INFO;
static const char	*log_prefix = "berth";

static const char *log_level_names[] = { "error", "warn", "info", "debug" };

int
log_set_level_name(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof log_level_names / sizeof log_level_names[0];
	    i++) {
		if (strcasecmp(name, log_level_names[i]) == 0) {
			log_level = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

void
log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level
log_get_level(void)
{
	return log_level;
}

void
log_set_prefix(const char *prefix)
{
	log_prefix = prefix;
}

static void
log_vwrite(enum log_level level, const char *fmt, va_list ap)
{
	char line[2048];
	struct timespec ts;
	struct tm tm;
	int n, m;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof line,
	    "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %-5s ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L, log_prefix,
	    log_level_names[level]);
	if (n < 0 || (size_t)n >= sizeof line)
		return;
	m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
	if (m < 0)
		return;
	n += m;
	if ((size_t)n > sizeof line - 2)
		n = sizeof line - 2;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}

#define LOG_FN(fn, lvl)						\
void								\
fn(const char *fmt, ...)					\
{								\
	va_list ap;						\
								\
	if (log_level < (lvl))					\
		return;						\
	va_start(ap, fmt);					\
	log_vwrite((lvl), fmt, ap);				\
	va_end(ap);						\
}

LOG_FN(log_error, LOG_LVL_ERROR)
LOG_FN(log_warn, LOG_LVL_WARN)
LOG_FN(log_info, LOG_LVL_INFO)
LOG_FN(log_debug, LOG_LVL_DEBUG)

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LVL_ERROR, fmt, ap);
	va_end(ap);
	exit(1);
}

char *
log_escape(char *dst, size_t dstlen, const char *src)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	unsigned char c;

	if (dstlen == 0)
		return dst;
	for (; src != NULL && *src != '\0'; src++) {
		c = (unsigned char)*src;
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			if (o + 1 >= dstlen)
				break;
			dst[o++] = (char)c;
		} else {
			if (o + 4 >= dstlen)
				break;
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 0xf];
		}
	}
	dst[o] = '\0';
	return dst;
}
