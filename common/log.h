/*
 * log.h - the one logger of every berth binary.
 *
 * One line per record, written with a single write(2) so lines from several
 * threads never interleave; a record longer than 2 KiB is cut. The level is
 * checked before anything is formatted. The level and the prefix are set
 * at start-up, before any thread exists, and only read afterwards.
 *
 * A string that comes from outside and was not validated (an agent's close
 * reason or frame, a header, a path) reaches a log_*() "%s" only through
 * log_escape(); names and ids the edge has already checked are logged as
 * they are. Tokens are never logged at all.
 */
#ifndef BERTH_LOG_H
#define BERTH_LOG_H

#include <stddef.h>

enum log_level {
	LOG_LVL_ERROR = 0,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
};

int	 log_set_level_name(const char *name);	/* 0, or -1 if unknown */
void	 log_set_level(enum log_level level);
enum log_level log_get_level(void);
void	 log_set_prefix(const char *prefix);	/* e.g. "master" */

void	 log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Fatal errors at start-up only: log and exit(1). */
void	 fatalx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

/*
 * Copy at most dstlen-1 bytes of src into dst, replacing control characters,
 * quotes, backslashes and non-ASCII bytes with \xNN escapes. Returns dst.
 */
char	*log_escape(char *dst, size_t dstlen, const char *src);

#endif
