/*
 * fuzz_wsframe.c - libFuzzer target for the RFC 6455 codec the exec
 * channel speaks (common/wsframe.c): a stream of bytes from a client (the
 * master reads masked frames) or from a server (the CLI reads unmasked
 * ones), chosen by the first byte. Besides "no crash, no leak, no read
 * past the input": a parsed frame lies inside what was given, a control
 * frame is whole and at most 125 bytes, a message never passes its
 * reader's max, a text message is UTF-8, and a frame encoded again from
 * what was parsed parses to the same payload.
 */
#include "common/wsframe.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX	4096	/* largest frame and message */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_reencode(const struct ws_frame *f, int masked)
{
	static const unsigned char mask[4] = { 1, 2, 3, 4 };
	struct buf b = { 0 };
	struct ws_frame g;
	const char *cause;
	int code;

	ws_frame_append(&b, f->opcode, f->fin, f->payload, f->len,
	    masked ? mask : NULL);
	if (ws_frame_parse((unsigned char *)b.data, b.len, masked, FUZZ_MAX,
	    &g, &code, &cause) != (ssize_t)b.len || g.len != f->len ||
	    g.opcode != f->opcode || g.fin != f->fin ||
	    (f->len > 0 && memcmp(g.payload, f->payload, f->len) != 0))
		abort();
	buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ws_reader r = { .max = FUZZ_MAX };
	struct ws_frame f;
	unsigned char *copy;
	const char *cause;
	size_t off = 0;
	ssize_t n;
	int masked, code, op, rc;

	if (size < 1)
		return 0;
	masked = data[0] & 1;
	copy = malloc(size);
	memcpy(copy, data, size);
	off = 1;
	while (off < size) {
		cause = NULL;
		n = ws_frame_parse(copy + off, size - off, masked, FUZZ_MAX,
		    &f, &code, &cause);
		if (n <= 0) {
			if (n < 0 && (cause == NULL ||
			    (code != WS_CLOSE_PROTOCOL &&
			    code != WS_CLOSE_TOO_BIG)))
				abort();
			break;
		}
		if ((size_t)n > size - off || f.payload < copy + off ||
		    f.payload + f.len > copy + off + n || f.len > FUZZ_MAX)
			abort();
		if (f.opcode >= WS_OP_CLOSE && (!f.fin ||
		    f.len > WS_CONTROL_MAX))
			abort();
		fuzz_reencode(&f, masked);
		off += (size_t)n;
		if (f.opcode >= WS_OP_CLOSE)
			continue;
		rc = ws_reader_feed(&r, &f, &op, &code, &cause);
		if (rc < 0)
			break;
		if (rc == 1 && (r.msg.len > FUZZ_MAX || (op == WS_OP_TEXT &&
		    !ws_utf8_valid((unsigned char *)r.msg.data, r.msg.len))))
			abort();
	}
	ws_reader_free(&r);
	free(copy);
	return 0;
}
