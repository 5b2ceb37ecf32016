/*
 * test_wsframe.c - the RFC 6455 codec (common/wsframe.c) the exec channel
 * speaks between the CLI and the master: the handshake key of the RFC's
 * own example, frames of each length form round-tripped masked and not,
 * every prefix of a frame asking for more bytes, each rule a frame can
 * break, fragments reassembled around a control frame, and UTF-8.
 */
#include <stdlib.h>
#include <string.h>

#include "common/wsframe.h"
#include "test.h"

static void
test_ws_accept_rfc_example(void)
{
	char out[WS_ACCEPT_LEN + 1], key[WS_KEY_LEN + 1], key2[WS_KEY_LEN + 1];

	/* RFC 6455, section 1.3. */
	ws_accept("dGhlIHNhbXBsZSBub25jZQ==", out);
	CHECK_STR(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	ws_key_new(key);
	ws_key_new(key2);
	CHECK(ws_key_valid(key));
	CHECK(strcmp(key, key2) != 0);
	CHECK(ws_key_valid("dGhlIHNhbXBsZSBub25jZQ=="));
	CHECK(!ws_key_valid("dGhlIHNhbXBsZSBub25jZQ="));
	CHECK(!ws_key_valid("dGhlIHNhbXBsZSBub25jZ!=="));
	CHECK(!ws_key_valid(NULL));
}

/* Encode len bytes, parse them back, every prefix first. */
static void
roundtrip(size_t len, int masked)
{
	static const unsigned char mask[4] = { 0x12, 0x34, 0x56, 0x78 };
	unsigned char *payload = malloc(len + 1);
	struct buf b = { 0 };
	struct ws_frame f;
	const char *cause;
	size_t i, cut;
	ssize_t n;
	int code, prefix_ok = 1;

	for (i = 0; i < len; i++)
		payload[i] = (unsigned char)(i * 7 + 3);
	ws_frame_append(&b, WS_OP_BINARY, 1, payload, len,
	    masked ? mask : NULL);
	/* Every strict prefix is "need more" (a few, for long frames). */
	for (cut = 0; cut < b.len; cut += cut < 20 ? 1 : b.len / 7 + 1) {
		unsigned char *copy = malloc(b.len);

		memcpy(copy, b.data, b.len);
		if (ws_frame_parse(copy, cut, masked, 1 << 20, &f, &code,
		    &cause) != 0)
			prefix_ok = 0;
		free(copy);
	}
	CHECK(prefix_ok);
	n = ws_frame_parse((unsigned char *)b.data, b.len, masked, 1 << 20,
	    &f, &code, &cause);
	CHECK_INT(n, b.len);
	CHECK_INT(f.opcode, WS_OP_BINARY);
	CHECK_INT(f.fin, 1);
	CHECK_INT(f.len, len);
	CHECK(len == 0 || memcmp(f.payload, payload, len) == 0);
	/* The wrong side's masking is refused. */
	ws_frame_append(&b, WS_OP_TEXT, 1, "x", 1, masked ? mask : NULL);
	CHECK_INT(ws_frame_parse((unsigned char *)b.data + n,
	    b.len - (size_t)n, !masked, 1 << 20, &f, &code, &cause), -1);
	CHECK_INT(code, WS_CLOSE_PROTOCOL);
	buf_free(&b);
	free(payload);
}

static void
test_ws_frames_roundtrip(void)
{
	roundtrip(0, 0);
	roundtrip(5, 1);
	roundtrip(125, 0);
	roundtrip(126, 1);		/* the 16-bit form */
	roundtrip(65535, 0);
	roundtrip(65536, 1);		/* the 64-bit form */
	roundtrip(300000, 0);
}

/* One hand-made frame: its verdict and close code. */
static int
parse_bytes(const unsigned char *in, size_t len, int masked, size_t max,
    int *code)
{
	unsigned char buf[64];
	struct ws_frame f;
	const char *cause = NULL;

	memcpy(buf, in, len);
	*code = 0;
	return (int)ws_frame_parse(buf, len, masked, max, &f, code, &cause);
}

static void
test_ws_frame_rules(void)
{
	static const unsigned char rsv[] = { 0xc1, 0x00 };
	static const unsigned char op3[] = { 0x83, 0x00 };
	static const unsigned char frag_ping[] = { 0x09, 0x00 };
	static const unsigned char long_ping[] = { 0x89, 0x7e, 0x00, 0x7e };
	static const unsigned char short16[] = { 0x82, 0x7e, 0x00, 0x05 };
	static const unsigned char top64[] = { 0x82, 0x7f, 0x80, 0, 0, 0, 0,
	    0, 0, 1 };
	static const unsigned char big[] = { 0x82, 0x7e, 0x01, 0x00 };
	static const unsigned char close_ok[] = { 0x88, 0x02, 0x03, 0xe8 };
	int code;

	CHECK_INT(parse_bytes(rsv, sizeof rsv, 0, 100, &code), -1);
	CHECK_INT(code, WS_CLOSE_PROTOCOL);
	CHECK_INT(parse_bytes(op3, sizeof op3, 0, 100, &code), -1);
	CHECK_INT(parse_bytes(frag_ping, sizeof frag_ping, 0, 100, &code), -1);
	CHECK_INT(parse_bytes(long_ping, sizeof long_ping, 0, 1000, &code),
	    -1);
	CHECK_INT(parse_bytes(short16, sizeof short16, 0, 100, &code), -1);
	CHECK_INT(parse_bytes(top64, sizeof top64, 0, 100, &code), -1);
	CHECK_INT(parse_bytes(big, sizeof big, 0, 255, &code), -1);
	CHECK_INT(code, WS_CLOSE_TOO_BIG);
	CHECK_INT(parse_bytes(close_ok, sizeof close_ok, 0, 100, &code), 4);
}

static void
test_ws_reader_fragments(void)
{
	struct ws_reader r = { .max = 10 };
	struct buf b = { 0 };
	struct ws_frame f;
	const char *cause;
	ssize_t n;
	size_t off = 0;
	int code, op = 0, rc, got = 0, pings = 0;

	ws_frame_append(&b, WS_OP_TEXT, 0, "hel", 3, NULL);
	ws_frame_append(&b, WS_OP_PING, 1, "p", 1, NULL);
	ws_frame_append(&b, WS_OP_CONT, 0, "lo ", 3, NULL);
	ws_frame_append(&b, WS_OP_CONT, 1, "wo", 2, NULL);
	while ((n = ws_frame_parse((unsigned char *)b.data + off,
	    b.len - off, 0, 100, &f, &code, &cause)) > 0) {
		off += (size_t)n;
		if (f.opcode == WS_OP_PING) {
			pings++;
			continue;
		}
		rc = ws_reader_feed(&r, &f, &op, &code, &cause);
		CHECK(rc >= 0);
		if (rc == 1) {
			got = 1;
			CHECK_INT(op, WS_OP_TEXT);
			CHECK_STR(r.msg.data, "hello wo");
		}
	}
	CHECK_INT(got, 1);
	CHECK_INT(pings, 1);
	buf_free(&b);

	/* A continuation out of nowhere; a new message inside one. */
	f.opcode = WS_OP_CONT;
	f.fin = 1;
	f.payload = (unsigned char *)"x";
	f.len = 1;
	CHECK_INT(ws_reader_feed(&r, &f, &op, &code, &cause), -1);
	f.opcode = WS_OP_BINARY;
	f.fin = 0;
	CHECK_INT(ws_reader_feed(&r, &f, &op, &code, &cause), 0);
	CHECK_INT(ws_reader_feed(&r, &f, &op, &code, &cause), -1);
	/* Over max. */
	ws_reader_free(&r);
	f.fin = 1;
	f.payload = (unsigned char *)"0123456789a";
	f.len = 11;
	CHECK_INT(ws_reader_feed(&r, &f, &op, &code, &cause), -1);
	CHECK_INT(code, WS_CLOSE_TOO_BIG);
	/* Text must be UTF-8. */
	ws_reader_free(&r);
	f.opcode = WS_OP_TEXT;
	f.payload = (unsigned char *)"\xc3\x28";
	f.len = 2;
	CHECK_INT(ws_reader_feed(&r, &f, &op, &code, &cause), -1);
	CHECK_INT(code, WS_CLOSE_BAD_DATA);
	ws_reader_free(&r);
}

static void
test_ws_utf8(void)
{
	CHECK(ws_utf8_valid((const unsigned char *)"plain", 5));
	CHECK(ws_utf8_valid((const unsigned char *)"\xc3\xa9t\xc3\xa9", 6));
	CHECK(ws_utf8_valid((const unsigned char *)"\xf0\x9f\x98\x80", 4));
	CHECK(!ws_utf8_valid((const unsigned char *)"\xc0\xaf", 2));
	CHECK(!ws_utf8_valid((const unsigned char *)"\xed\xa0\x80", 3));
	CHECK(!ws_utf8_valid((const unsigned char *)"\xf4\x90\x80\x80", 4));
	CHECK(!ws_utf8_valid((const unsigned char *)"\xe2\x82", 2));
	CHECK(!ws_utf8_valid((const unsigned char *)"\xff", 1));
}

static void
test_ws_close_reason_cut(void)
{
	char reason[300];
	struct buf b = { 0 };
	struct ws_frame f;
	const char *cause;
	int code;

	memset(reason, 'a', sizeof reason);
	memcpy(reason + 120, "\xc3\xa9\xc3\xa9", 4);
	reason[sizeof reason - 1] = '\0';
	ws_close_append(&b, 4001, reason, NULL);
	CHECK(ws_frame_parse((unsigned char *)b.data, b.len, 0, 1000, &f,
	    &code, &cause) > 0);
	CHECK(f.len <= WS_CONTROL_MAX);
	CHECK_INT((f.payload[0] << 8) | f.payload[1], 4001);
	CHECK(ws_utf8_valid(f.payload + 2, f.len - 2));
	buf_free(&b);
}

int
main(void)
{
	TEST_RUN(test_ws_accept_rfc_example);
	TEST_RUN(test_ws_frames_roundtrip);
	TEST_RUN(test_ws_frame_rules);
	TEST_RUN(test_ws_reader_fragments);
	TEST_RUN(test_ws_utf8);
	TEST_RUN(test_ws_close_reason_cut);
	return TEST_DONE();
}
