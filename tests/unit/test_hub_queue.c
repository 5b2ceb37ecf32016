/*
 * test_hub_queue.c - a hub session's out queue (master/hub_outq.c): frames
 * leave in order, a session holds at most one pending desired frame (a
 * newer set replaces it in its place), a desired frame already written is
 * never touched, and an agent that stops reading costs one frame however
 * many sets are queued. No lws context: the queue does no I/O.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "master/hub_claim.h"
#include "master/hub_outq.h"
#include "test.h"

#define WELCOME	"{\"type\":\"welcome\"}"

/* Queue a desired frame told apart by its generation. */
static int
push_desired(struct hub_outq *q, int gen)
{
	char text[64];

	snprintf(text, sizeof text, "{\"type\":\"desired\",\"generation\":%d}",
	    gen);
	return hub_outq_push(q, HUB_OUT_DESIRED, text, strlen(text));
}

/* The payload of the i-th queued frame as a string (static buffer). */
static const char *
frame_at(const struct hub_outq *q, size_t i)
{
	static char text[256];
	const struct hub_out *o = q->head;

	while (o != NULL && i-- > 0)
		o = o->next;
	if (o == NULL)
		return NULL;
	snprintf(text, sizeof text, "%.*s", (int)o->len, HUB_OUT_PAYLOAD(o));
	return text;
}

/*
 * A shared frame (a grid's network) goes into many queues by reference:
 * each leaves in its queue's order, a newer desired set queued after it
 * does not drop it, and it lives until the owner and every queue let go
 * (make check's ASan sees a leak or a use after free).
 */
static void
test_shared_frame(void)
{
	struct hub_outq a = { 0 }, b = { 0 };
	struct hub_shared *sh = hub_shared_new("{\"type\":\"network\"}x",
	    18);	/* not the x */

	CHECK_STR(HUB_SHARED_TEXT(sh), "{\"type\":\"network\"}");
	hub_outq_push(&a, HUB_OUT_FRAME, WELCOME, strlen(WELCOME));
	hub_outq_push_shared(&a, sh);
	hub_outq_push_shared(&b, sh);
	CHECK_INT(sh->refs, 3);
	CHECK_INT(push_desired(&a, 1), 0);
	CHECK_INT(push_desired(&a, 2), 1);	/* replaces 1, not the frame */
	CHECK_INT(a.n, 3);
	CHECK_STR(frame_at(&a, 1), "{\"type\":\"network\"}");
	CHECK(HUB_OUT_PAYLOAD(a.head->next) == HUB_OUT_PAYLOAD(b.head));
	hub_shared_unref(sh);		/* the owner's: a newer frame came */
	CHECK_STR(frame_at(&b, 0), "{\"type\":\"network\"}");
	hub_outq_pop(&b);
	CHECK_INT(sh->refs, 1);
	hub_outq_clear(&a);		/* the last reference */
	CHECK_INT(a.n, 0);
	CHECK_INT(b.n, 0);
}

static void
test_empty_queue(void)
{
	struct hub_outq q = { 0 };

	hub_outq_pop(&q);
	CHECK(q.head == NULL && q.tail == NULL && q.desired == NULL);
	CHECK_INT(q.n, 0);
	hub_outq_clear(&q);
	CHECK_INT(q.n, 0);
}

static void
test_frames_leave_in_order(void)
{
	struct hub_outq q = { 0 };

	CHECK_INT(hub_outq_push(&q, HUB_OUT_FRAME, WELCOME, strlen(WELCOME)),
	    0);
	CHECK_INT(push_desired(&q, 1), 0);
	CHECK_INT(q.n, 2);
	CHECK_STR(frame_at(&q, 0), WELCOME);
	CHECK_STR(frame_at(&q, 1), "{\"type\":\"desired\",\"generation\":1}");
	CHECK(q.head->kind == HUB_OUT_FRAME);
	CHECK(q.tail->kind == HUB_OUT_DESIRED);
	hub_outq_pop(&q);
	CHECK_STR(frame_at(&q, 0), "{\"type\":\"desired\",\"generation\":1}");
	hub_outq_pop(&q);
	CHECK(q.head == NULL && q.tail == NULL && q.desired == NULL);
	CHECK_INT(q.n, 0);
}

static void
test_newer_desired_replaces_pending(void)
{
	struct hub_outq q = { 0 };

	hub_outq_push(&q, HUB_OUT_FRAME, WELCOME, strlen(WELCOME));
	push_desired(&q, 1);
	CHECK_INT(push_desired(&q, 2), 1);
	CHECK_INT(q.n, 2);
	CHECK_STR(frame_at(&q, 0), WELCOME);
	CHECK_STR(frame_at(&q, 1), "{\"type\":\"desired\",\"generation\":2}");
	CHECK(frame_at(&q, 2) == NULL);
	hub_outq_clear(&q);
}

static void
test_written_desired_is_not_replaced(void)
{
	struct hub_outq q = { 0 };

	push_desired(&q, 1);
	hub_outq_pop(&q);		/* written */
	CHECK(q.desired == NULL);
	CHECK_INT(push_desired(&q, 2), 0);
	CHECK_INT(q.n, 1);
	CHECK_STR(frame_at(&q, 0), "{\"type\":\"desired\",\"generation\":2}");
	CHECK_INT(push_desired(&q, 3), 1);
	CHECK_INT(q.n, 1);
	CHECK_STR(frame_at(&q, 0), "{\"type\":\"desired\",\"generation\":3}");
	hub_outq_clear(&q);
}

static void
test_replacement_keeps_its_place(void)
{
	struct hub_outq q = { 0 };

	/* Frames queued after a pending desired stay after its successor. */
	push_desired(&q, 1);
	hub_outq_push(&q, HUB_OUT_FRAME, WELCOME, strlen(WELCOME));
	CHECK_INT(push_desired(&q, 2), 1);
	CHECK_INT(q.n, 2);
	CHECK_STR(frame_at(&q, 0), "{\"type\":\"desired\",\"generation\":2}");
	CHECK_STR(frame_at(&q, 1), WELCOME);
	CHECK(q.tail->kind == HUB_OUT_FRAME);
	/* Other frames are never merged. */
	hub_outq_push(&q, HUB_OUT_FRAME, WELCOME, strlen(WELCOME));
	CHECK_INT(q.n, 3);
	hub_outq_clear(&q);
}

/* A set too big for one frame: its parts, and a newer set over them. */
static void
test_set_in_parts(void)
{
	struct hub_outq q = { 0 };

	hub_outq_push(&q, HUB_OUT_FRAME, WELCOME, strlen(WELCOME));
	push_desired(&q, 1);
	hub_outq_push(&q, HUB_OUT_DESIRED_PART, "p1.2", 4);
	hub_outq_push(&q, HUB_OUT_DESIRED_PART, "p1.3", 4);
	CHECK_INT(q.n, 4);
	CHECK_STR(frame_at(&q, 2), "p1.2");
	/* A newer set, still pending: it takes the first part's place
	 * and the old parts go. */
	CHECK_INT(push_desired(&q, 2), 1);
	CHECK_INT(q.n, 2);
	CHECK_STR(frame_at(&q, 1), "{\"type\":\"desired\",\"generation\":2}");
	CHECK(q.tail->kind == HUB_OUT_DESIRED);
	hub_outq_push(&q, HUB_OUT_DESIRED_PART, "p2.2", 4);
	CHECK_INT(q.n, 3);
	CHECK_STR(frame_at(&q, 2), "p2.2");
	/* Its first part written, the rest pending: a newer set drops the
	 * rest and is appended. */
	hub_outq_pop(&q);
	hub_outq_pop(&q);
	CHECK_INT(q.n, 1);
	CHECK_INT(push_desired(&q, 3), 0);
	CHECK_INT(q.n, 1);
	CHECK_STR(frame_at(&q, 0), "{\"type\":\"desired\",\"generation\":3}");
	CHECK(q.head == q.tail && q.desired == q.head);
	hub_outq_clear(&q);
	CHECK(q.head == NULL && q.tail == NULL && q.n == 0);
}

static void
test_reader_that_stalls_costs_one_frame(void)
{
	struct hub_outq q = { 0 };
	int i, replaced = 0;

	hub_outq_push(&q, HUB_OUT_FRAME, WELCOME, strlen(WELCOME));
	for (i = 1; i <= 10000; i++)
		replaced += push_desired(&q, i);
	CHECK_INT(replaced, 9999);
	CHECK_INT(q.n, 2);
	CHECK_STR(frame_at(&q, 1),
	    "{\"type\":\"desired\",\"generation\":10000}");
	hub_outq_clear(&q);
	CHECK(q.head == NULL && q.tail == NULL && q.desired == NULL);
	/* A cleared queue is empty and usable again. */
	CHECK_INT(push_desired(&q, 1), 0);
	CHECK_INT(q.n, 1);
	hub_outq_clear(&q);
}

static void
test_payload_has_lws_headroom(void)
{
	struct hub_outq q = { 0 };
	const struct hub_out *o;

	hub_outq_push(&q, HUB_OUT_FRAME, "", 0);
	o = q.head;
	CHECK(o != NULL && o->len == 0);
	CHECK(HUB_OUT_PAYLOAD(o) == o->buf + LWS_PRE);
	push_desired(&q, 7);
	push_desired(&q, 8);	/* replaced: new buffer, same headroom */
	o = q.desired;
	CHECK(o != NULL && HUB_OUT_PAYLOAD(o) == o->buf + LWS_PRE);
	CHECK_INT(o->len, strlen("{\"type\":\"desired\",\"generation\":8}"));
	hub_outq_clear(&q);
}

/* Two sessions claiming one node id (issue 21.3): whose is it? */
static void
test_claim_verdict(void)
{
	const char *a = "0123456789abcdef0123456789abcdef";
	const char *b = "fedcba9876543210fedcba9876543210";

	CHECK_INT(hub_claim_verdict(0, NULL, 0, a, 1), HUB_CLAIM_ADMIT);
	CHECK_INT(hub_claim_verdict(0, a, 3, a, 1), HUB_CLAIM_ADMIT);
	/* The same process: a later attempt takes over, an earlier one
	 * (drained late from a frozen master's queue) is stale. */
	CHECK_INT(hub_claim_verdict(1, a, 3, a, 4), HUB_CLAIM_TAKEOVER);
	CHECK_INT(hub_claim_verdict(1, a, 3, a, 2), HUB_CLAIM_STALE);
	CHECK_INT(hub_claim_verdict(1, a, 3, a, 3), HUB_CLAIM_STALE);
	/* Another process: ask the holder first. */
	CHECK_INT(hub_claim_verdict(1, a, 3, b, 1), HUB_CLAIM_PROBE);
	CHECK_INT(hub_claim_verdict(1, a, 1, b, 99), HUB_CLAIM_PROBE);
	/* Either side without an instance: the newest wins, as before. */
	CHECK_INT(hub_claim_verdict(1, "", 0, b, 1), HUB_CLAIM_TAKEOVER);
	CHECK_INT(hub_claim_verdict(1, a, 2, "", 0), HUB_CLAIM_TAKEOVER);
	CHECK_INT(hub_claim_verdict(1, NULL, 0, NULL, 0), HUB_CLAIM_TAKEOVER);
}

int
main(void)
{
	TEST_RUN(test_empty_queue);
	TEST_RUN(test_frames_leave_in_order);
	TEST_RUN(test_newer_desired_replaces_pending);
	TEST_RUN(test_written_desired_is_not_replaced);
	TEST_RUN(test_replacement_keeps_its_place);
	TEST_RUN(test_set_in_parts);
	TEST_RUN(test_reader_that_stalls_costs_one_frame);
	TEST_RUN(test_payload_has_lws_headroom);
	TEST_RUN(test_claim_verdict);
	TEST_RUN(test_shared_frame);
	return TEST_DONE();
}
