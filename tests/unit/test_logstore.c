/*
 * test_logstore.c - the master's side of container logs on a real SQLite
 * file: frames checked into batches (master/log_frame.c), the log store's
 * thread writing them exactly once (master/logstore.c), its refusal state,
 * retention by a container's share and by age, and the readers' pages
 * (master/store_logs.c). The master is tests/lib/master_fixture.h's (no
 * hub: acknowledgements go nowhere); the log store runs its real thread.
 */
#include "tests/unit/test.h"
#include "tests/lib/master_fixture.h"

#include "master/log_frame.h"
#include "master/logstore.h"
#include "master/store_logs.h"

#include "common/util.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CID_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define CID_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static struct master_fixture *fx;
static struct logstore *ls;

/* A batch from frame text (checked), as from node n1 of grid "g". */
static struct log_batch *
batch(const char *text, uint64_t session)
{
	struct log_batch *b = NULL;
	json_t *f = json_loads(text, JSON_ALLOW_NUL, NULL);
	char *cause = NULL;

	if (f == NULL || log_frame_parse(f, &b, &cause) != 0) {
		printf("  batch refused: %s\n", cause ? cause : "not JSON");
		free(cause);
		json_decref(f);
		return NULL;
	}
	json_decref(f);
	snprintf(b->node_id, sizeof b->node_id, "%s", MASTER_FIXTURE_NODE_ID);
	snprintf(b->node_name, sizeof b->node_name, "n1");
	b->grid_id = fx->grid_id;
	b->session = session;
	return b;
}

/*
 * A frame of lines from..to of container cid, each "line N" and pad "x",
 * at ts0 + N; marked "resend" when resend is 1.
 */
static char *
frame_r(const char *cid, int64_t seq, int64_t from, int64_t to, int64_t ts0,
    size_t pad, int resend)
{
	struct buf b = { 0 };
	int64_t i;
	size_t k;

	buf_printf(&b, "{\"type\":\"logs\",\"seq\":%lld,%s\"streams\":[{"
	    "\"container_id\":\"%s\",\"name\":\"st.web-1.n1\",\"stack\":\"st\","
	    "\"service\":\"web\",\"instance\":1,\"lines\":[", (long long)seq,
	    resend ? "\"resend\":true," : "", cid);
	for (i = from; i <= to; i++) {
		buf_printf(&b, "%s[%lld,%lld,\"o\",\"line %lld", i > from ? "," :
		    "", (long long)i, (long long)(ts0 + i), (long long)i);
		for (k = 0; k < pad; k++)
			buf_append(&b, "x", 1);
		buf_append(&b, "\"]", 2);
	}
	buf_append(&b, "]}]}", 4);
	return b.data;
}

static char *
frame(const char *cid, int64_t seq, int64_t from, int64_t to, int64_t ts0,
    size_t pad)
{
	return frame_r(cid, seq, from, to, ts0, pad, 0);
}

static void
submit(const char *text, uint64_t session, enum logstore_submit want)
{
	struct log_batch *b = batch(text, session);

	CHECK(b != NULL);
	if (b != NULL)
		CHECK_INT(logstore_submit(ls, b), want);
}

/* Wait (up to 10 s) until the store has stored lines and seen dups. */
static int
settle(uint64_t lines, uint64_t dups)
{
	struct logstore_stats s;
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int i;

	for (i = 0; i < 1000; i++) {
		logstore_stats(ls, &s);
		if (s.lines >= lines && s.duplicates >= dups &&
		    s.queued_bytes == 0)
			return 1;
		nanosleep(&ts, NULL);
	}
	printf("  settle: %llu lines, %llu dups\n",
	    (unsigned long long)s.lines, (unsigned long long)s.duplicates);
	return 0;
}

struct collect {
	char		 text[64][64];
	int64_t		 dropped[64];
	size_t		 n;
};

static int
collect_cb(void *arg, const struct log_row *r)
{
	struct collect *c = arg;

	if (c->n < 64) {
		snprintf(c->text[c->n], sizeof c->text[c->n], "%.*s",
		    (int)(r->len < 63 ? r->len : 63), r->text ? r->text : "");
		c->dropped[c->n] = r->dropped;
		c->n++;
	}
	return 0;
}

/* Lines of container cid in order, into c. */
static void
read_stream(const char *cid, struct collect *c)
{
	struct store *st = logstore_reader(ls);
	struct log_stream_row row;
	int64_t last = 0;

	memset(c, 0, sizeof *c);
	CHECK(st != NULL);
	CHECK_INT(store_logs_stream_get(st, cid, &row), 1);
	CHECK_INT(store_logs_last_id(st, &last), 0);
	CHECK_INT(store_logs_page(st, row.id, 0, 0, 0, 0, last, 64, collect_cb,
	    c), 0);
}

static void
test_frames_refused_by_field(void)
{
	static const struct {
		const char	*frame;
		const char	*cause;
	} bad[] = {
		{ "{\"type\":\"logs\",\"seq\":0,\"streams\":[]}", "logs.seq" },
		{ "{\"type\":\"logs\",\"seq\":1,\"resend\":1,\"streams\":[]}",
		  "logs.resend" },
		{ "{\"type\":\"logs\",\"seq\":1,\"streams\":[{\"container_id\":\""
		  CID_A "\",\"name\":\"a\",\"lines\":[[1,1,\"o\",\"x\"],"
		  "[1,2,\"o\",\"y\"]]}]}", "logs.streams[0].lines[1][0]" },
		{ "{\"type\":\"logs\",\"seq\":1,\"streams\":[{\"container_id\":\""
		  CID_A "\",\"name\":\"a\",\"job\":\"a b\",\"lines\":[[1,1,"
		  "\"o\",\"x\"]]}]}", "logs.streams[0].job" },
		{ "{\"type\":\"logs\",\"seq\":1,\"streams\":[{\"container_id\":\""
		  CID_A "\",\"name\":\"a\",\"lines\":[[1,1,\"d\",2]]}]}",
		  "logs.streams[0].lines[0][3]" },
	};
	struct log_batch *b;
	json_t *f;
	char *cause;
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		f = json_loads(bad[i].frame, 0, NULL);
		b = NULL;
		cause = NULL;
		CHECK(f != NULL);
		CHECK_INT(log_frame_parse(f, &b, &cause), -1);
		CHECK(b == NULL);
		CHECK_HAS(cause, bad[i].cause);
		free(cause);
		json_decref(f);
	}
}

static void
test_exactly_once(void)
{
	struct collect c;
	char *f1 = frame(CID_A, 1, 1, 5, 1000, 0);
	char *f2 = frame(CID_A, 2, 4, 8, 1000, 0);

	submit(f1, 1, LOGSTORE_QUEUED);
	CHECK(settle(5, 0));
	/* A resend (new session) of lines 4-8: 4 and 5 are there already. */
	submit(f1, 2, LOGSTORE_QUEUED);
	submit(f2, 2, LOGSTORE_QUEUED);
	CHECK(settle(8, 7));
	read_stream(CID_A, &c);
	CHECK_INT(c.n, 8);
	CHECK_STR(c.text[0], "line 1");
	CHECK_STR(c.text[7], "line 8");
	/* A marker reaching back over stored lines counts only the new. */
	submit("{\"type\":\"logs\",\"seq\":3,\"streams\":[{\"container_id\":\""
	    CID_A "\",\"name\":\"st.web-1.n1\",\"lines\":[[12,1012,\"d\",6],"
	    "[13,1013,\"o\",\"line 13\"]]}]}", 2, LOGSTORE_QUEUED);
	CHECK(settle(10, 7));
	read_stream(CID_A, &c);
	CHECK_INT(c.n, 10);
	CHECK_INT(c.dropped[8], 4);	/* 9, 10, 11, 12 */
	CHECK_STR(c.text[9], "line 13");
	free(f1);
	free(f2);
}

/* Another node may not write into a container it does not own. */
static void
test_container_belongs_to_its_node(void)
{
	struct log_batch *b = batch("{\"type\":\"logs\",\"seq\":1,\"streams\":["
	    "{\"container_id\":\"" CID_A "\",\"name\":\"x\",\"lines\":[[100,1,"
	    "\"o\",\"intruder\"]]}]}", 9);
	struct logstore_stats before, after;
	struct collect c;
	char *f;

	logstore_stats(ls, &before);
	snprintf(b->node_id, sizeof b->node_id, "ffffffffffffffffffffffffffffffff");
	CHECK_INT(logstore_submit(ls, b), LOGSTORE_QUEUED);
	/* The evidence that it was handled: a later batch is stored. */
	f = frame(CID_B, 1, 1, 1, 5000, 0);
	submit(f, 10, LOGSTORE_QUEUED);
	free(f);
	CHECK(settle(before.lines + 1, 0));
	logstore_stats(ls, &after);
	CHECK_INT(after.lines, before.lines + 1);
	read_stream(CID_A, &c);
	CHECK_STR(c.text[c.n - 1], "line 13");
}

/* A full queue refuses; the session's later frames are dropped until its
 * "resend" frame comes. */
static void
test_refusal_until_resend(void)
{
	struct collect c;
	char *f3 = frame(CID_B, 3, 2, 2, 5000, 0);
	char *f4 = frame(CID_B, 4, 3, 3, 5000, 0);
	char *f5;
	struct logstore_stats s0;

	logstore_stats(ls, &s0);
	logstore_set_queue_max(ls, 1);
	submit(f3, 20, LOGSTORE_REFUSED);
	logstore_set_queue_max(ls, 0);
	submit(f4, 20, LOGSTORE_IGNORED);	/* sent before the retry */
	f5 = frame_r(CID_B, 5, 2, 3, 5000, 0, 1);
	submit(f5, 20, LOGSTORE_QUEUED);
	CHECK(settle(s0.lines + 2, 0));
	read_stream(CID_B, &c);
	CHECK_INT(c.n, 3);
	CHECK_STR(c.text[1], "line 2");
	CHECK_STR(c.text[2], "line 3");
	logstore_session_end(ls, 20);
	free(f3);
	free(f4);
	free(f5);
}

static void
test_retention(void)
{
	struct grid g;
	struct store *rd;
	struct log_stream_row row;
	struct collect c;
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	char *f;
	int64_t now = util_now_ms() * 1000000, i;
	int k;
	const char *cid = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";
	const char *old = "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd";

	/* A container's share: 10% of 1 MiB. */
	CHECK_INT(store_grid_get_id(fx->st, fx->grid_id, &g), 1);
	g.settings.logs_max_bytes = 1024 * 1024;
	g.settings.logs_container_pct = 10;
	g.settings.logs_max_age_s = 3600;
	CHECK_INT(store_grid_update_settings(fx->st, fx->grid_id, &g.settings), 0);
	for (i = 0; i < 4; i++) {	/* 4 x 100 lines of ~1 KiB */
		f = frame(cid, i + 1, i * 100 + 1, i * 100 + 100, now, 1000);
		submit(f, 30, LOGSTORE_QUEUED);
		free(f);
	}
	/* The grid's settings are re-read every 2 s: wait for the trim. */
	rd = logstore_reader(ls);
	for (k = 0; k < 500; k++) {
		if (store_logs_stream_get(rd, cid, &row) == 1 &&
		    row.max_seq == 400 && row.bytes <= 1024 * 1024 / 10)
			break;
		if (k % 50 == 49)	/* and the pass checks shares too */
			logstore_retention_soon(ls);
		nanosleep(&ts, NULL);
	}
	CHECK_INT(row.max_seq, 400);
	CHECK(row.bytes <= 1024 * 1024 / 10);
	CHECK(row.lines < 400 && row.lines > 0);
	read_stream(cid, &c);
	CHECK(strncmp(c.text[0], "line 1x", 7) != 0);	/* the oldest went */
	/* Age: lines two hours old go at the next pass. */
	f = frame(old, 1, 1, 3, now - 7200LL * 1000000000, 0);
	submit(f, 31, LOGSTORE_QUEUED);
	free(f);
	for (k = 0; k < 500; k++) {
		if (store_logs_stream_get(rd, old, &row) == 1 && row.max_seq == 3)
			break;
		nanosleep(&ts, NULL);
	}
	CHECK_INT(row.lines, 3);
	logstore_retention_soon(ls);
	for (k = 0; k < 500; k++) {
		if (store_logs_stream_get(rd, old, &row) == 1 && row.lines == 0)
			break;
		nanosleep(&ts, NULL);
	}
	CHECK_INT(row.lines, 0);
	CHECK_INT(row.max_seq, 3);	/* its numbering is remembered */
}

int
main(void)
{
	char *cause = NULL;

	fx = master_fixture_new();
	if ((ls = logstore_start(&fx->m, &cause)) == NULL) {
		printf("not ok - logstore_start: %s\n", cause);
		return 1;
	}
	fx->m.logs = ls;
	TEST_RUN(test_frames_refused_by_field);
	TEST_RUN(test_exactly_once);
	TEST_RUN(test_container_belongs_to_its_node);
	TEST_RUN(test_refusal_until_resend);
	TEST_RUN(test_retention);
	logstore_stop(ls);
	logstore_free(ls);
	master_fixture_free(fx);
	return TEST_DONE();
}
