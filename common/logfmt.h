/*
 * logfmt.h - the small formats container logs travel in, shared by the
 * agent (reading Docker, writing frames), the master (storing, serving)
 * and the CLI (printing).
 *
 * Times are nanoseconds since the epoch, written the way Docker writes
 * them: RFC 3339 in UTC with nine fraction digits. Text is UTF-8: bytes
 * that are not are replaced by U+FFFD before anything else sees them, so
 * a JSON encoder, a websocket text frame and a terminal all get valid
 * UTF-8. Pure functions, safe on any thread.
 */
#ifndef BERTH_LOGFMT_H
#define BERTH_LOGFMT_H

#include <stddef.h>
#include <stdint.h>

#include "common/util.h"

#define LOGFMT_TS_LEN	30	/* "2026-12-01T11:44:16.589450859Z" */

/*
 * Parse an RFC 3339 time at s (at most len bytes): a date, "T", a time,
 * an optional fraction of up to 9 digits, then "Z" or "+hh:mm"/"-hh:mm".
 * Returns the bytes it used, or 0 when s does not start with one.
 */
size_t	 logfmt_parse_ts(const char *s, size_t len, int64_t *ns);
/* ns as "2026-12-01T11:44:16.589450859Z" into buf (LOGFMT_TS_LEN + 1). */
char	*logfmt_ts(int64_t ns, char *buf);

/*
 * A "since" as people give it: an RFC 3339 time, or a duration before now
 * ("10m", "2h", "90" seconds; common/units.h). 0 with *ns, or -1 with
 * *cause (caller frees).
 */
int	 logfmt_parse_since(const char *s, int64_t now_ns, int64_t *ns,
	    char **cause);

/*
 * Append s (len bytes of UTF-8, NULs allowed) to b as the body of a JSON
 * string: quotes, backslashes and control characters escaped, the rest
 * as it is.
 */
void	 logfmt_json_escape(struct buf *b, const char *s, size_t len);

/*
 * The length of the longest prefix of s (len bytes) that is valid UTF-8
 * and ends on a character boundary.
 */
size_t	 logfmt_utf8_valid(const char *s, size_t len);
/*
 * Append s to b with every byte that is not part of valid UTF-8 replaced
 * by U+FFFD (as Docker's own JSON log files do).
 */
void	 logfmt_utf8_sanitize(struct buf *b, const char *s, size_t len);
/*
 * The largest n <= max such that s[0..n) does not end inside a UTF-8
 * sequence (s is valid UTF-8); at least 1 when len > 0 and max > 0.
 */
size_t	 logfmt_utf8_cut(const char *s, size_t len, size_t max);

/*
 * Append s to b for a terminal: control characters (C0 but tab, DEL, C1)
 * as visible escapes ("\x1b"), so a line can neither move the cursor nor
 * change colours; everything else as it is.
 */
void	 logfmt_terminal_safe(struct buf *b, const char *s, size_t len);

#endif
