/*
 * test_loadring.c - the master's ring of recent node load
 * (master/loadring.c): frames in one 10-s slot are averaged, a node keeps
 * at most 60 slots (ten minutes), reads return them oldest first and only
 * those of the last span, and a node silent for a span is forgotten.
 */
#include <stdlib.h>

#include "master/loadring.h"
#include "test.h"

#define S	LOADRING_STEP_MS

static void
test_loadring_slots(void)
{
	struct loadring *r = loadring_new();
	struct load_sample *v;
	size_t n;
	int64_t t0 = 1000000 * (int64_t)S, i;

	CHECK_INT(loadring_get(r, "a", t0, &v), 0);
	CHECK(v == NULL);
	loadring_add(r, "a", t0 + 1000, 10, 100, 1000, 3);
	loadring_add(r, "a", t0 + 6000, 30, 200, 1000, 4);	/* same slot */
	loadring_add(r, "a", t0 + S + 10, 50, 300, 1000, 5);	/* next slot */
	n = loadring_get(r, "a", t0 + S + 20, &v);
	CHECK_INT(n, 2);
	CHECK(v[0].cpu_pct == 20);	/* the slot's mean */
	CHECK_INT(v[0].mem_used, 200);	/* its last report */
	CHECK_INT(v[0].containers, 4);
	CHECK(v[1].cpu_pct == 50);
	CHECK(v[0].at < v[1].at);
	free(v);
	/* An unknown CPU (< 0) does not move the mean. */
	loadring_add(r, "a", t0 + S + 20, -1, 300, 1000, 5);
	n = loadring_get(r, "a", t0 + S + 30, &v);
	CHECK(v[n - 1].cpu_pct == 50);
	free(v);
	/* 70 more slots: 60 kept, the newest last. */
	for (i = 2; i < 72; i++)
		loadring_add(r, "a", t0 + i * S, (double)i, i, 1000, 1);
	n = loadring_get(r, "a", t0 + 71 * S, &v);
	CHECK_INT(n, LOADRING_SLOTS);
	CHECK(v[n - 1].cpu_pct == 71);
	CHECK(v[0].cpu_pct == 12);
	free(v);
	/* Read later: only the last span counts. */
	n = loadring_get(r, "a", t0 + 71 * S + 30 * S, &v);
	CHECK_INT(n, LOADRING_SLOTS - 30);
	free(v);
	loadring_free(r);
}

static void
test_loadring_forgets_silent_nodes(void)
{
	struct loadring *r = loadring_new();
	struct load_sample *v;
	int64_t t0 = 1000000 * (int64_t)S;

	loadring_add(r, "gone", t0, 1, 1, 1, 1);
	loadring_add(r, "here", t0, 2, 2, 2, 2);
	/* Eleven minutes later "here" reports again; the sweep runs. */
	loadring_add(r, "here", t0 + 66 * S, 3, 3, 3, 3);
	CHECK_INT(loadring_get(r, "gone", t0 + 66 * S, &v), 0);
	CHECK_INT(loadring_get(r, "here", t0 + 66 * S, &v), 1);
	free(v);
	loadring_free(r);
	loadring_free(NULL);
}

int
main(void)
{
	TEST_RUN(test_loadring_slots);
	TEST_RUN(test_loadring_forgets_silent_nodes);
	return TEST_DONE();
}
