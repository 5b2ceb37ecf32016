/*
 * test_logs.c - the pure parts of container logs: Docker's stream decoded
 * (agent/logread.c), the agent's bounded buffer with its drop markers
 * (agent/logbuf.c) and the shared formats (common/logfmt.c).
 *
 * The byte streams below are what Docker 20.10 sends for
 * GET /containers/{id}/logs?timestamps=1, recorded from a real engine:
 * 8-byte frame headers without a TTY, raw "<time> <text>" entries with
 * one, and a long line cut into entries of 16,384 bytes that share a time.
 */
#include "tests/unit/test.h"

#include "agent/logbuf.h"
#include "agent/logread.h"
#include "common/logfmt.h"
#include "common/proto.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

#define TS1	"2026-12-01T11:44:16.589380596Z"
#define TS1_NS	1796125456589380596LL
#define TS2	"2026-12-01T11:44:16.589446441Z"
#define TS2_NS	1796125456589446441LL

/* Everything a decoder gave out. */
struct got {
	struct logread_entry e[64];
	char		 text[64][256];
	size_t		 n;
	struct buf	 all;	/* texts joined, for long lines */
};

static void
got_cb(void *arg, const struct logread_entry *e)
{
	struct got *g = arg;

	if (g->n < 64) {
		g->e[g->n] = *e;
		snprintf(g->text[g->n], sizeof g->text[g->n], "%.*s",
		    (int)(e->len < 255 ? e->len : 255), e->text);
		g->e[g->n].text = NULL;
		g->n++;
	}
	buf_append(&g->all, e->text, e->len);
}

/* A non-TTY frame around payload. */
static void
frame(struct buf *b, int stream, const char *payload, size_t len)
{
	unsigned char h[8] = { (unsigned char)stream, 0, 0, 0,
	    (unsigned char)(len >> 24), (unsigned char)(len >> 16),
	    (unsigned char)(len >> 8), (unsigned char)len };

	buf_append(b, h, 8);
	buf_append(b, payload, len);
}

static void
test_frames_decode(void)
{
	struct buf in = { 0 };
	struct logread r;
	struct got g = { 0 };
	size_t i;

	frame(&in, 1, TS1 " line 1\n", strlen(TS1 " line 1\n"));
	frame(&in, 2, TS1 " err\r\n", strlen(TS1 " err\r\n"));
	frame(&in, 1, TS2 " last", strlen(TS2 " last"));
	logread_init(&r, 0, NULL);
	/* Byte by byte: a frame may arrive in any number of pieces. */
	for (i = 0; i < in.len; i++)
		logread_feed(&r, in.data + i, 1, got_cb, &g);
	CHECK_INT(g.n, 3);
	CHECK_STR(g.text[0], "line 1");
	CHECK_INT(g.e[0].stream, 1);
	CHECK_INT(g.e[0].ts, TS1_NS);
	CHECK_INT(g.e[0].seq, 1);
	CHECK_INT(g.e[0].n, 1);
	CHECK(!g.e[0].partial);
	CHECK_STR(g.text[1], "err");		/* \r\n both go */
	CHECK_INT(g.e[1].stream, 2);
	CHECK_INT(g.e[1].n, 2);			/* second entry of TS1 */
	CHECK_STR(g.text[2], "last");
	CHECK(g.e[2].partial);			/* no newline: goes on */
	CHECK_INT(g.e[2].seq, 3);
	CHECK_INT(r.pos.seq, 3);
	CHECK_INT(r.pos.ts, TS2_NS);
	CHECK_INT(r.pos.n, 1);
	logread_free(&r);
	buf_free(&in);
	buf_free(&g.all);
}

/* Reading again from a position gives the same numbers, nothing twice. */
static void
test_resume_skips_what_was_read(void)
{
	struct buf in = { 0 };
	struct logread r;
	struct logread_pos pos;
	struct got g = { 0 };
	char since[40];

	frame(&in, 1, TS1 " a\n", strlen(TS1 " a\n"));
	frame(&in, 1, TS1 " b\n", strlen(TS1 " b\n"));
	frame(&in, 1, TS1 " c\n", strlen(TS1 " c\n"));
	frame(&in, 1, TS2 " d\n", strlen(TS2 " d\n"));
	/* After "b": since=TS1 gives a, b, c, d again; a and b are skipped. */
	pos.seq = 7;
	pos.ts = TS1_NS;
	pos.n = 2;
	CHECK_STR(logread_since(&pos, since, sizeof since),
	    "1796125456.589380596");
	logread_init(&r, 0, &pos);
	logread_feed(&r, in.data, in.len, got_cb, &g);
	CHECK_INT(g.n, 2);
	CHECK_STR(g.text[0], "c");
	CHECK_INT(g.e[0].seq, 8);
	CHECK_INT(g.e[0].n, 3);
	CHECK_STR(g.text[1], "d");
	CHECK_INT(g.e[1].seq, 9);
	logread_free(&r);
	pos.seq = 0;
	CHECK_STR(logread_since(&pos, since, sizeof since), "");
	buf_free(&in);
	buf_free(&g.all);
}

/* A 40,000-byte line: Docker's three entries, pieces of LINE_MAX. */
static void
test_long_line_frames(void)
{
	struct buf in = { 0 }, p = { 0 };
	struct logread r;
	struct got g = { 0 };
	size_t sizes[3] = { 16384, 16384, 7232 }, i;

	for (i = 0; i < 3; i++) {
		p.len = 0;
		buf_append(&p, TS1 " ", 31);
		while (p.len < 31 + sizes[i])
			buf_append(&p, "a", 1);
		if (i == 2)
			buf_append(&p, "\n", 1);
		frame(&in, 1, p.data, p.len);
	}
	logread_init(&r, 0, NULL);
	logread_feed(&r, in.data, in.len, got_cb, &g);
	CHECK_INT(g.n, 3);
	CHECK(g.e[0].partial && g.e[1].partial && !g.e[2].partial);
	CHECK_INT(g.e[0].len, 16384);
	CHECK_INT(g.e[2].len, 7232);
	CHECK_INT(g.all.len, 40000);
	for (i = 0; i < 3; i++)
		CHECK_INT(g.e[i].n, i + 1);	/* one time, three places */
	logread_free(&r);
	buf_free(&in);
	buf_free(&p);
	buf_free(&g.all);
}

/* With a TTY: raw entries, "\r\n", and Docker's cut at 16,384 bytes. */
static void
test_tty_stream(void)
{
	struct buf in = { 0 };
	struct logread r;
	struct got g = { 0 };
	size_t i;

	buf_append(&in, TS1 " hello\r\n", strlen(TS1 " hello\r\n"));
	buf_append(&in, TS2 " ", 31);
	for (i = 0; i < 16384; i++)
		buf_append(&in, "b", 1);
	buf_append(&in, TS2 " ", 31);
	for (i = 0; i < 3616; i++)
		buf_append(&in, "b", 1);
	buf_append(&in, "\r\n", 2);
	buf_append(&in, TS2 " after\r\n", strlen(TS2 " after\r\n"));
	logread_init(&r, 1, NULL);
	for (i = 0; i < in.len; i += 1000)
		logread_feed(&r, in.data + i, in.len - i < 1000 ? in.len - i :
		    1000, got_cb, &g);
	CHECK_INT(g.n, 4);
	CHECK_STR(g.text[0], "hello");
	CHECK_INT(g.e[1].len, 16384);
	CHECK(g.e[1].partial);
	CHECK_INT(g.e[2].len, 3616);
	CHECK(!g.e[2].partial);
	CHECK_INT(g.e[2].ts, TS2_NS);
	CHECK_STR(g.text[3], "after");
	CHECK_INT(g.e[3].n, 3);
	logread_free(&r);
	buf_free(&in);
	buf_free(&g.all);
}

/* A TTY container taken for a plain one: the first header makes no sense. */
static void
test_tty_detected(void)
{
	const char *in = TS1 " one\r\n" TS1 " two\r\n";
	struct logread r;
	struct got g = { 0 };

	logread_init(&r, 0, NULL);
	logread_feed(&r, in, strlen(in), got_cb, &g);
	CHECK_INT(g.n, 2);
	CHECK_STR(g.text[0], "one");
	CHECK_STR(g.text[1], "two");
	CHECK(r.tty);
	logread_free(&r);
	buf_free(&g.all);
}

/* Bytes that are not UTF-8 become U+FFFD; NULs stay; pieces stay valid. */
static void
test_invalid_utf8(void)
{
	static const char line[] = TS1 " a\xff\xfe" "b\0c\xe2\x82\n";
	struct buf in = { 0 };
	struct logread r;
	struct got g = { 0 };

	frame(&in, 1, line, sizeof line - 1);
	logread_init(&r, 0, NULL);
	logread_feed(&r, in.data, in.len, got_cb, &g);
	CHECK_INT(g.n, 1);
	CHECK_INT(g.all.len, 1 + 3 + 3 + 1 + 1 + 1 + 3 + 3);
	CHECK(memcmp(g.all.data, "a\xef\xbf\xbd\xef\xbf\xbd" "b\0c"
	    "\xef\xbf\xbd\xef\xbf\xbd", g.all.len) == 0);
	CHECK_INT(logfmt_utf8_valid(g.all.data, g.all.len), g.all.len);
	logread_free(&r);
	buf_free(&in);
	buf_free(&g.all);
}

/* A frame header claiming 1 GiB: text goes out in bounded pieces. */
static void
test_huge_frame_bounded(void)
{
	unsigned char h[8] = { 1, 0, 0, 0, 0x40, 0, 0, 0 };
	char chunk[4096];
	struct logread r;
	struct got g = { 0 };
	size_t i, max = 0;

	memset(chunk, 'x', sizeof chunk);
	logread_init(&r, 0, NULL);
	logread_feed(&r, (const char *)h, 8, got_cb, &g);
	logread_feed(&r, TS1 " ", 31, got_cb, &g);
	for (i = 0; i < 256; i++)	/* 1 MiB of one "line" */
		logread_feed(&r, chunk, sizeof chunk, got_cb, &g);
	for (i = 0; i < g.n; i++) {
		if (g.e[i].len > max)
			max = g.e[i].len;
		CHECK(g.e[i].partial);
	}
	CHECK(max <= PROTO_LOG_LINE_MAX);
	CHECK(r.cur.cap <= 2 * 64 * 1024);	/* never held the whole */
	CHECK(g.all.len >= 1024 * 1024 - 64 * 1024);
	logread_free(&r);
	buf_free(&g.all);
}

static struct logread_entry
entry(int64_t seq, const char *text)
{
	struct logread_entry e;

	memset(&e, 0, sizeof e);
	e.stream = 1;
	e.seq = seq;
	e.ts = TS1_NS + seq;
	e.n = 1;
	e.text = text;
	e.len = strlen(text);
	return e;
}

/* Bounded: the oldest lines stay, the rest are counted in one marker. */
static void
test_buffer_drops_and_counts(void)
{
	struct logbuf_limits lim = { 3, 1 << 20, 1 << 20 };
	struct logbuf b;
	struct logread_entry e;
	struct buf out = { 0 };
	size_t total = 0;
	int64_t seq, last = 0;

	memset(&b, 0, sizeof b);
	for (seq = 1; seq <= 10; seq++) {
		e = entry(seq, "x");
		CHECK_INT(logbuf_add(&b, &lim, &total, &e), seq <= 3);
	}
	CHECK_INT(b.nlines, 3);
	CHECK_INT(b.dropped, 7);
	CHECK_INT(logbuf_encode(&b, &out, 1 << 20, 100, &last), 3);
	CHECK_INT(last, 3);
	CHECK_STR(out.data, "[1,1796125456589380597,\"o\",\"x\"],"
	    "[2,1796125456589380598,\"o\",\"x\"],"
	    "[3,1796125456589380599,\"o\",\"x\"]");
	/* Still full: nothing to flush. */
	logbuf_flush_drops(&b, &lim, &total);
	CHECK(!logbuf_has_unsent(&b));
	/* The master took 1..3: the marker for 4..10 goes out first. */
	logbuf_ack(&b, 3, &total);
	CHECK_INT(b.acked.seq, 3);
	CHECK_INT(total, 0);
	e = entry(11, "y");
	CHECK_INT(logbuf_add(&b, &lim, &total, &e), 1);
	out.len = 0;
	CHECK_INT(logbuf_encode(&b, &out, 1 << 20, 100, &last), 2);
	CHECK_STR(out.data, "[10,1796125456589380600,\"d\",7],"
	    "[11,1796125456589380607,\"o\",\"y\"]");
	logbuf_clear(&b, &total);
	CHECK_INT(total, 0);
	buf_free(&out);
}

/* A quiet container's marker goes out once there is room. */
static void
test_buffer_marker_when_quiet(void)
{
	struct logbuf_limits lim = { 2, 1 << 20, 1 << 20 };
	struct logbuf b;
	struct logread_entry e;
	struct buf out = { 0 };
	size_t total = 0;
	int64_t seq, last = 0;

	memset(&b, 0, sizeof b);
	for (seq = 1; seq <= 5; seq++) {
		e = entry(seq, "x");
		logbuf_add(&b, &lim, &total, &e);
	}
	(void)logbuf_encode(&b, &out, 1 << 20, 100, &last);
	logbuf_ack(&b, last, &total);
	logbuf_flush_drops(&b, &lim, &total);
	out.len = 0;
	CHECK_INT(logbuf_encode(&b, &out, 1 << 20, 100, &last), 1);
	CHECK_STR(out.data, "[5,1796125456589380599,\"d\",3]");
	/* Its position is the last dropped line's: a restart resumes after. */
	logbuf_ack(&b, 5, &total);
	CHECK_INT(b.acked.seq, 5);
	CHECK_INT(b.acked.ts, TS1_NS + 5);
	buf_free(&out);
}

/* Frames stay under their byte budget; a rewind sends again. */
static void
test_buffer_encode_budget_and_rewind(void)
{
	struct logbuf_limits lim = { 1000, 1 << 20, 1 << 20 };
	struct logbuf b;
	struct logread_entry e;
	struct buf out = { 0 };
	char text[101];
	size_t total = 0, n;
	int64_t seq, last = 0;

	memset(&b, 0, sizeof b);
	memset(text, 'z', 100);
	text[100] = '\0';
	for (seq = 1; seq <= 100; seq++) {
		e = entry(seq, text);
		logbuf_add(&b, &lim, &total, &e);
	}
	n = logbuf_encode(&b, &out, 1000, 100, &last);
	CHECK(n >= 1 && n < 100);
	CHECK(out.len <= 1000);
	CHECK_INT(last, (int64_t)n);
	out.len = 0;
	n = logbuf_encode(&b, &out, 1 << 20, 3, &last);
	CHECK_INT(n, 3);
	/* Session lost: everything not acknowledged goes again. */
	logbuf_rewind(&b);
	out.len = 0;
	CHECK_INT(logbuf_encode(&b, &out, 1 << 20, 1000, &last), 100);
	CHECK_INT(last, 100);
	logbuf_clear(&b, &total);
	buf_free(&out);
}

/* The agent's total bound counts over every container. */
static void
test_buffer_total_bound(void)
{
	struct logbuf_limits lim = { 1000, 1 << 20, 3 * (LOGBUF_ENTRY_COST + 1) };
	struct logbuf a, b;
	struct logread_entry e;
	size_t total = 0;

	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	e = entry(1, "x");
	CHECK_INT(logbuf_add(&a, &lim, &total, &e), 1);
	CHECK_INT(logbuf_add(&b, &lim, &total, &e), 1);
	e = entry(2, "x");
	CHECK_INT(logbuf_add(&a, &lim, &total, &e), 1);
	CHECK_INT(logbuf_add(&b, &lim, &total, &e), 0);
	CHECK_INT(b.dropped, 1);
	logbuf_clear(&a, &total);
	logbuf_clear(&b, &total);
	CHECK_INT(total, 0);
}

static void
test_times(void)
{
	char buf[LOGFMT_TS_LEN + 1], *cause = NULL;
	int64_t ns;

	CHECK_INT(logfmt_parse_ts(TS1, strlen(TS1), &ns), 30);
	CHECK_INT(ns, TS1_NS);
	CHECK_STR(logfmt_ts(ns, buf), TS1);
	CHECK_INT(logfmt_parse_ts("2026-12-01T11:44:16Z", 20, &ns), 20);
	CHECK_INT(ns, 1796125456000000000LL);
	CHECK_INT(logfmt_parse_ts("2026-12-01T12:44:16.5+01:00", 27, &ns), 27);
	CHECK_INT(ns, 1796125456500000000LL);
	CHECK_INT(logfmt_parse_ts("2026-13-01T11:44:16Z", 20, &ns), 0);
	CHECK_INT(logfmt_parse_ts("not a time at all, no", 21, &ns), 0);
	CHECK_INT(logfmt_parse_since(TS1, 0, &ns, &cause), 0);
	CHECK_INT(ns, TS1_NS);
	CHECK_INT(logfmt_parse_since("10m", 1000000000000LL, &ns, &cause), 0);
	CHECK_INT(ns, 1000000000000LL - 600000000000LL);
	CHECK_INT(logfmt_parse_since("yesterday", 0, &ns, &cause), -1);
	CHECK_HAS(cause, "yesterday");
	free(cause);
}

static void
test_escapes(void)
{
	struct buf b = { 0 };

	logfmt_json_escape(&b, "a\"b\\c\n\t\x01\0z\xc3\xa9", 12);
	CHECK_STR(b.data, "a\\\"b\\\\c\\n\\t\\u0001\\u0000z\xc3\xa9");
	b.len = 0;
	/* ESC, BEL, CR, DEL and a C1 control are shown, not obeyed. */
	logfmt_terminal_safe(&b, "a\033[31mb\a\r\x7f\xc2\x9b" "c\t\xc3\xa9", 16);
	CHECK_STR(b.data, "a\\x1b[31mb\\x07\\x0d\\x7f\\x9bc\t\xc3\xa9");
	CHECK_INT(logfmt_utf8_cut("\xc3\xa9\xc3\xa9", 4, 3), 2);
	CHECK_INT(logfmt_utf8_cut("abcd", 4, 3), 3);
	CHECK_INT(logfmt_utf8_valid("ok\xed\xa0\x80", 5), 2);	/* surrogate */
	CHECK_INT(logfmt_utf8_valid("\xc0\xaf", 2), 0);		/* overlong */
	buf_free(&b);
}

int
main(void)
{
	TEST_RUN(test_frames_decode);
	TEST_RUN(test_resume_skips_what_was_read);
	TEST_RUN(test_long_line_frames);
	TEST_RUN(test_tty_stream);
	TEST_RUN(test_tty_detected);
	TEST_RUN(test_invalid_utf8);
	TEST_RUN(test_huge_frame_bounded);
	TEST_RUN(test_buffer_drops_and_counts);
	TEST_RUN(test_buffer_marker_when_quiet);
	TEST_RUN(test_buffer_encode_budget_and_rewind);
	TEST_RUN(test_buffer_total_bound);
	TEST_RUN(test_times);
	TEST_RUN(test_escapes);
	return TEST_DONE();
}
