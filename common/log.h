/*
 * log.h - the one logger of every berth binary.
 *
 * One line per record, written with a single write(2) so lines from several
 * threads never interleave. The level is checked before anything is
 * formatted. Strings that come from outside (peer names, paths, frames) must
 * go through the "%s" of log_*() only after log_escape(), or be passed with
 * log_*_str() helpers that escape them; tokens are never passed at all.
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
