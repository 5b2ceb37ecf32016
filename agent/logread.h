/*
 * logread.h - decode Docker's log stream into numbered lines.
 *
 * GET /containers/{id}/logs?timestamps=1 gives, for a container without a
 * TTY, frames of an 8-byte header (stream 1 stdout or 2 stderr, then a
 * big-endian length) around "<RFC3339Nano> <text>", one per entry Docker
 * logged; with a TTY, the same "<time> <text>" entries back to back, raw.
 * Docker cuts a line longer than 16 KiB into entries of 16,384 bytes
 * with the same time, only the last ending in a newline. This module turns
 * either into entries of at most PROTO_LOG_LINE_MAX bytes of valid UTF-8
 * (invalid bytes become U+FFFD, NULs stay), each with its stream, time,
 * whether the line goes on (partial), and its position: the container's
 * sequence number and where Docker's ?since= finds it again.
 *
 * Positions. An entry's position is (ts, n): its time and how many
 * entries with that same time came before it, plus one. Reading again with
 * since=ts and skipping n entries of time ts lands right after it, and the
 * numbering continues where it was; that is how the agent resumes after a
 * reconnect of the stream, a container restart or its own restart.
 *
 * Pure (no I/O, no clock, no threads): unit-tested on recorded bytes.
 */
#ifndef BERTH_AGENT_LOGREAD_H
#define BERTH_AGENT_LOGREAD_H

#include <stddef.h>
#include <stdint.h>

#include "common/util.h"

/* One decoded entry, valid during the callback. */
struct logread_entry {
	int		 stream;	/* 1 stdout, 2 stderr */
	int64_t		 seq;		/* the container's line number */
	int64_t		 ts;		/* Docker's time, ns since the epoch */
	uint32_t	 n;		/* its place among entries of ts */
	const char	*text;		/* UTF-8, no newline at the end */
	size_t		 len;
	int		 partial;	/* the line goes on in the next entry */
};

typedef void logread_fn(void *arg, const struct logread_entry *e);

/* Where a container's log was left: the position of its last entry. */
struct logread_pos {
	int64_t		 seq;		/* 0: nothing read yet */
	int64_t		 ts;
	uint32_t	 n;
};

struct logread {
	int		 tty;		/* raw stream, no frame headers */
	/* Numbering. */
	int64_t		 seq;		/* of the last entry given out */
	int64_t		 last_ts;	/* its time (-1: none yet) */
	uint32_t	 last_n;	/* its place at that time */
	int64_t		 skip_ts;	/* resume: entries of this time ... */
	uint32_t	 skip_n;	/* ... to pass over first */
	struct logread_pos pos;		/* after the last entry given out */
	/* Frame decoding (no TTY). */
	unsigned char	 hdr[8];	/* header being read */
	size_t		 frame_hdr;	/* its bytes so far */
	size_t		 frame_left;	/* payload bytes still to come */
	int		 bad_frames;	/* headers that made no sense */
	/* The entry being assembled. */
	int		 state;		/* time, text, or TTY probe */
	char		 tsbuf[40];	/* its time's bytes (or a probe's) */
	size_t		 tslen;
	int64_t		 ts;		/* its time */
	size_t		 raw;		/* its text bytes from Docker */
	int		 cur_stream;	/* 1 or 2 */
	struct buf	 cur;		/* its text so far */
	struct buf	 scratch;	/* cleaned text */
};

/* Start decoding; pos is where reading resumes (seq 0: the beginning). */
void	 logread_init(struct logread *r, int tty, const struct logread_pos *pos);
void	 logread_free(struct logread *r);
/* Decode len more bytes, calling fn for each complete entry. */
void	 logread_feed(struct logread *r, const char *data, size_t len,
	    logread_fn *fn, void *arg);
/* The stream ended: give out what is left of an unfinished entry. */
void	 logread_finish(struct logread *r, logread_fn *fn, void *arg);
/* The position after the last entry given out (for the next since=). */
void	 logread_position(const struct logread *r, struct logread_pos *pos);

/*
 * The ?since= value that resumes after pos: "" for the beginning, else
 * "<seconds>.<nanoseconds>" into buf (at least 32 bytes).
 */
const char *logread_since(const struct logread_pos *pos, char *buf,
	    size_t len);

#endif
