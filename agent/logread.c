/*
 * logread.c - Docker's log stream into numbered entries (see logread.h).
 *
 * Both forms feed one assembler: an entry starts with Docker's time and a
 * space, then text; it ends with its frame (no TTY) or with a newline
 * (TTY). On a TTY stream Docker's cut of a long line shows only as the
 * next entry's time right after 16,384 bytes of text, so there, after
 * exactly that many bytes without a newline, the assembler looks at the
 * next 31 bytes: a time and a space start a new entry, anything else is
 * more text. An entry's text is cleaned to UTF-8 and given out in pieces
 * of at most PROTO_LOG_LINE_MAX bytes; an entry that grows past
 * LOGREAD_CHUNK before it ends is given out as it goes, so memory stays
 * bounded whatever a frame header claims.
 */
#include "agent/logread.h"

#include "common/logfmt.h"
#include "common/proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOGREAD_DOCKER_CUT	16384	/* Docker's partial-entry size */
#define LOGREAD_TS_PROBE	(LOGFMT_TS_LEN + 1)	/* "<time> " */
#define LOGREAD_TS_MAX		((int)sizeof ((struct logread *)0)->tsbuf)
#define LOGREAD_CHUNK		(64 * 1024)	/* give text out past this */

/* Where the assembler is within an entry. */
enum {
	LR_TS,		/* reading the time, up to its space */
	LR_TEXT,	/* reading text */
	LR_PROBE,	/* TTY: 16,384 bytes read; is a new entry next? */
};

struct lr_ctx {
	logread_fn	*fn;
	void		*arg;
};

void
logread_init(struct logread *r, int tty, const struct logread_pos *pos)
{
	memset(r, 0, sizeof *r);
	r->tty = tty;
	r->last_ts = -1;
	if (pos != NULL && pos->seq > 0) {
		r->seq = pos->seq;
		r->skip_ts = pos->ts;
		r->skip_n = pos->n;
		r->pos = *pos;
	}
}

void
logread_free(struct logread *r)
{
	buf_free(&r->cur);
	buf_free(&r->scratch);
}

void
logread_position(const struct logread *r, struct logread_pos *pos)
{
	*pos = r->pos;
}

const char *
logread_since(const struct logread_pos *pos, char *buf, size_t len)
{
	if (pos->seq <= 0) {
		snprintf(buf, len, "%s", "");
		return buf;
	}
	snprintf(buf, len, "%lld.%09lld", (long long)(pos->ts / 1000000000),
	    (long long)(pos->ts % 1000000000));
	return buf;
}

/* Number one piece and give it out (unless a resume skips it). */
static void
lr_piece(struct logread *r, int stream, int64_t ts, const char *text,
    size_t len, int partial, struct lr_ctx *c)
{
	struct logread_entry e;
	uint32_t n = ts == r->last_ts ? r->last_n + 1 : 1;

	r->last_ts = ts;
	r->last_n = n;
	if (r->skip_n > 0) {
		if (ts == r->skip_ts && n <= r->skip_n)
			return;		/* read before: passed over */
		r->skip_n = 0;
	}
	e.stream = stream;
	e.seq = ++r->seq;
	e.ts = ts;
	e.n = n;
	e.text = text;
	e.len = len;
	e.partial = partial;
	r->pos.seq = e.seq;
	r->pos.ts = ts;
	r->pos.n = n;
	c->fn(c->arg, &e);
}

/*
 * Give out len bytes of an entry's text: cleaned, in pieces. complete:
 * the entry ended (a trailing newline, and a carriage return before it,
 * are dropped); otherwise more of it follows.
 */
static void
lr_text(struct logread *r, int stream, int64_t ts, const char *text,
    size_t len, int complete, struct lr_ctx *c)
{
	size_t off = 0, n;
	int line_ends = 0;

	if (complete && len > 0 && text[len - 1] == '\n') {
		len--;
		line_ends = 1;
		if (len > 0 && text[len - 1] == '\r')
			len--;
	}
	r->scratch.len = 0;
	logfmt_utf8_sanitize(&r->scratch, text, len);
	len = r->scratch.len;
	do {
		n = logfmt_utf8_cut(r->scratch.data + off, len - off,
		    PROTO_LOG_LINE_MAX);
		lr_piece(r, stream, ts, r->scratch.data + off, n,
		    off + n < len || !line_ends, c);
		off += n;
	} while (off < len);
}

/* The entry's time is complete in tsbuf ("<time> "): parse it. */
static void
lr_take_ts(struct logread *r)
{
	int64_t ts;

	if (r->tslen > 1 && logfmt_parse_ts(r->tsbuf, r->tslen - 1, &ts) ==
	    r->tslen - 1)
		r->ts = ts;
	else {
		/* Not a time: keep the bytes as text, at the last time. */
		r->ts = r->last_ts >= 0 ? r->last_ts : 0;
		buf_append(&r->cur, r->tsbuf, r->tslen);
	}
	r->tslen = 0;
	r->state = LR_TEXT;
}

/* End the entry being assembled. */
static void
lr_end(struct logread *r, int complete, struct lr_ctx *c)
{
	if (r->state == LR_TS && r->tslen > 0) {
		buf_append(&r->cur, r->tsbuf, r->tslen);
		r->ts = r->last_ts >= 0 ? r->last_ts : 0;
		r->tslen = 0;
	}
	if (r->cur.len > 0 || complete)
		lr_text(r, r->cur_stream, r->ts, r->cur.data ? r->cur.data :
		    "", r->cur.len, complete, c);
	r->cur.len = 0;
	r->state = LR_TS;
	r->raw = 0;
}

/* Text past LOGREAD_CHUNK: give out all but a UTF-8-safe tail. */
static void
lr_spill(struct logread *r, struct lr_ctx *c)
{
	size_t cut = r->cur.len;

	while (cut > 0 && r->cur.len - cut < 4 &&
	    ((unsigned char)r->cur.data[cut - 1] & 0xc0) == 0x80)
		cut--;
	if (cut > 0 && ((unsigned char)r->cur.data[cut - 1] & 0xc0) == 0xc0)
		cut--;		/* a lead byte whose sequence is cut */
	if (cut == 0)
		cut = r->cur.len;
	lr_text(r, r->cur_stream, r->ts, r->cur.data, cut, 0, c);
	memmove(r->cur.data, r->cur.data + cut, r->cur.len - cut);
	r->cur.len -= cut;
}

/*
 * Assemble bytes of entries. Frames: the caller ends each entry at its
 * frame's end. TTY: a newline ends one, and so does Docker's cut.
 */
static void
lr_bytes(struct logread *r, const char *p, size_t len, struct lr_ctx *c)
{
		const char *nl;
	size_t take;

	while (len > 0) {
		switch (r->state) {
		case LR_TS:
			r->tsbuf[r->tslen++] = *p;
			if (*p == ' ' || r->tslen == LOGREAD_TS_MAX)
				lr_take_ts(r);
			else if (r->tty && *p == '\n') {
				buf_append(&r->cur, r->tsbuf, r->tslen);
				r->tslen = 0;
				r->ts = r->last_ts >= 0 ? r->last_ts : 0;
				lr_end(r, 1, c);
			}
			p++;
			len--;
			break;
		case LR_PROBE:
			r->tsbuf[r->tslen++] = *p;
			p++;
			len--;
			if (r->tslen == LOGREAD_TS_PROBE ||
			    r->tsbuf[r->tslen - 1] == '\n') {
				int64_t ts;

				if (r->tslen == LOGREAD_TS_PROBE &&
				    r->tsbuf[LOGFMT_TS_LEN] == ' ' &&
				    logfmt_parse_ts(r->tsbuf, LOGFMT_TS_LEN,
				    &ts) == LOGFMT_TS_LEN) {
					/* Docker's cut: a new entry. */
					r->tslen = 0;
					lr_end(r, 0, c);
					r->ts = ts;
					r->state = LR_TEXT;
					break;
				}
				/* More of the same entry. */
				r->state = LR_TEXT;
				take = r->tslen;
				r->tslen = 0;
				lr_bytes(r, r->tsbuf, take, c);
			}
			break;
		case LR_TEXT:
			take = len;
			nl = r->tty ? memchr(p, '\n', len) : NULL;
			if (nl != NULL)
				take = (size_t)(nl - p) + 1;
			if (r->tty && r->raw < LOGREAD_DOCKER_CUT &&
			    r->raw + take > LOGREAD_DOCKER_CUT &&
			    (nl == NULL || r->raw + take - 1 >
			    LOGREAD_DOCKER_CUT))
				take = LOGREAD_DOCKER_CUT - r->raw;
			buf_append(&r->cur, p, take);
			r->raw += take;
			p += take;
			len -= take;
			if (r->tty && r->cur.len > 0 &&
			    r->cur.data[r->cur.len - 1] == '\n')
				lr_end(r, 1, c);
			else if (r->tty && r->raw == LOGREAD_DOCKER_CUT)
				r->state = LR_PROBE;
			else if (r->cur.len >= LOGREAD_CHUNK)
				lr_spill(r, c);
			break;
		}
	}
}

/* A frame header that makes sense: stream 0-2, three zero bytes. */
static int
lr_header_ok(const unsigned char *h)
{
	return h[0] <= 2 && h[1] == 0 && h[2] == 0 && h[3] == 0;
}

void
logread_feed(struct logread *r, const char *data, size_t len, logread_fn *fn,
    void *arg)
{
	struct lr_ctx c = { fn, arg };
	size_t take;

	if (r->tty) {
		lr_bytes(r, data, len, &c);
		return;
	}
	while (len > 0) {
		if (r->frame_left == 0) {
			take = 8 - r->frame_hdr;
			if (take > len)
				take = len;
			memcpy(r->hdr + r->frame_hdr, data, take);
			r->frame_hdr += take;
			data += take;
			len -= take;
			if (r->frame_hdr < 8)
				break;
			r->frame_hdr = 0;
			if (!lr_header_ok(r->hdr)) {
				/*
				 * Not a frame: a TTY container after all
				 * (the inspect said otherwise, or failed).
				 * Read the rest as a raw stream.
				 */
				r->bad_frames++;
				r->tty = 1;
				lr_bytes(r, (const char *)r->hdr, 8, &c);
				lr_bytes(r, data, len, &c);
				return;
			}
			r->cur_stream = r->hdr[0] == 2 ? 2 : 1;
			r->frame_left = (size_t)r->hdr[4] << 24 |
			    (size_t)r->hdr[5] << 16 | (size_t)r->hdr[6] << 8 |
			    r->hdr[7];
			if (r->frame_left == 0)
				continue;
		}
		take = r->frame_left < len ? r->frame_left : len;
		lr_bytes(r, data, take, &c);
		data += take;
		len -= take;
		r->frame_left -= take;
		if (r->frame_left == 0) {
			
			lr_end(r, r->cur.len > 0 &&
			    r->cur.data[r->cur.len - 1] == '\n', &c);
		}
	}
}

void
logread_finish(struct logread *r, logread_fn *fn, void *arg)
{
	struct lr_ctx c = { fn, arg };
	
	/*
	 * A frame cut short is dropped: the next read gets it whole from
	 * Docker. A TTY entry without its newline is Docker's last flush.
	 */
	if (!r->tty) {
		r->cur.len = 0;
		r->frame_left = r->frame_hdr = 0;
		r->state = LR_TS;
		r->tslen = 0;
		return;
	}
	if (r->state == LR_PROBE) {
		size_t n = r->tslen;

		r->state = LR_TEXT;
		r->tslen = 0;
		buf_append(&r->cur, r->tsbuf, n);
	}
	if (r->cur.len > 0 || r->tslen > 0)
		lr_end(r, 0, &c);
}
