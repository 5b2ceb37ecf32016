/*
 * util.h - small helpers shared by every binary: clocks, names, labels,
 * randomness, hex, and a growable byte buffer.
 *
 * Nothing here keeps state; every function is safe on any thread.
 */
#ifndef BERTH_UTIL_H
#define BERTH_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define UTIL_NAME_MAX	63	/* names are [a-z0-9][a-z0-9-]{0,62} */
/* The name rule in words, for error messages. */
#define UTIL_NAME_RULE	"[a-z0-9-], 1 to 63 characters, beginning with a " \
			"letter or digit"

/* Milliseconds: wall clock (for records) and monotonic (for timers). */
int64_t	 util_now_ms(void);
int64_t	 util_mono_ms(void);
/* Poll fd for events until deadline (util_mono_ms()): 1 ready, 0 timed
 * out, -1 error. */
int	 util_wait_fd(int fd, short events, int64_t deadline);
int64_t	 util_mono_us(void);	/* monotonic microseconds */

/* Format epoch milliseconds as ISO-8601 UTC ("2026-11-22T21:39:44.123Z"). */
void	 util_iso8601(int64_t ms, char *buf, size_t len);
/* Parse ISO-8601 UTC or a plain integer of epoch seconds; -1 on error. */
int64_t	 util_parse_time(const char *s);

/*
 * 1 if s is a valid name: [a-z0-9-], 1 to 63 characters, the first a
 * letter or digit. Names become parts of container names (Docker wants
 * [a-zA-Z0-9] first) and words on the CLI's command line (where "-x" is
 * an option), so a leading '-' is refused everywhere a name comes in.
 */
int	 util_name_valid(const char *s);

/*
 * A label is "key=value": key 1-63 of [A-Za-z0-9._-], value 0-255 bytes of
 * printable ASCII other than ',' and whitespace. 1 if valid.
 */
int	 util_label_valid(const char *s);

/* 1 if labels a and b ("k=v" or "k") have the same key. */
int	 util_label_same_key(const char *a, const char *b);

/* Fill buf with len bytes from getrandom(2). Aborts if the kernel fails. */
void	 util_random(void *buf, size_t len);
/* Lowercase hex of len bytes into out (2*len+1 bytes). */
void	 util_hex(const void *buf, size_t len, char *out);

/* A growable byte buffer, always NUL-terminated. */
struct buf {
	char	*data;		/* NUL-terminated contents, or NULL */
	size_t	 len;		/* bytes used, not counting the NUL */
	size_t	 cap;		/* bytes allocated */
};
void	 buf_append(struct buf *b, const void *data, size_t len);
void	 buf_printf(struct buf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	 buf_free(struct buf *b);	/* leaves b empty and reusable */

/* Read a whole file (at most max bytes) into *out; 0, or -1 with errno. */
int	 util_read_file(const char *path, size_t max, char **out, size_t *len);
/* Write data to path atomically (tmp + fsync + rename) with mode; 0 or -1. */
int	 util_write_file(const char *path, const void *data, size_t len,
	    int mode);

#endif
