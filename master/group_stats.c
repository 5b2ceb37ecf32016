/*
 * group_stats.c - node groups' counters (see group_stats.h): a small
 * table, one row per group or grid seen, under one lock.
 */
#include "master/group_stats.h"

#include "common/units.h"
#include "common/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>

#include <pthread.h>
#include <string.h>

struct gs_row {
	int64_t		 id;		/* group id, or -grid id */
	uint64_t	 n[GROUP_STAT_N];
	int		 demand;
};

static pthread_mutex_t gs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct gs_row *gs_rows;
static size_t gs_nrows;

/* The row for id, made if asked; NULL if not there. Locked. */
static struct gs_row *
gs_row(int64_t id, int make)
{
	size_t i;

	for (i = 0; i < gs_nrows; i++)
		if (gs_rows[i].id == id)
			return &gs_rows[i];
	if (!make)
		return NULL;
	gs_rows = xreallocarray(gs_rows, gs_nrows + 1, sizeof *gs_rows);
	memset(&gs_rows[gs_nrows], 0, sizeof *gs_rows);
	gs_rows[gs_nrows].id = id;
	gs_rows[gs_nrows].demand = -1;
	return &gs_rows[gs_nrows++];
}

void
group_stats_add(int64_t group_id, enum group_stat which, int n)
{
	if (n <= 0 || (unsigned)which >= GROUP_STAT_N)
		return;
	pthread_mutex_lock(&gs_lock);
	gs_row(group_id, 1)->n[which] += (uint64_t)n;
	pthread_mutex_unlock(&gs_lock);
}

uint64_t
group_stats_get(int64_t group_id, enum group_stat which)
{
	struct gs_row *r;
	uint64_t v = 0;

	if ((unsigned)which >= GROUP_STAT_N)
		return 0;
	pthread_mutex_lock(&gs_lock);
	if ((r = gs_row(group_id, 0)) != NULL)
		v = r->n[which];
	pthread_mutex_unlock(&gs_lock);
	return v;
}

void
group_stats_demand(int64_t grid_id, int n)
{
	pthread_mutex_lock(&gs_lock);
	gs_row(-grid_id, 1)->demand = n;
	pthread_mutex_unlock(&gs_lock);
}

int
group_stats_demand_get(int64_t grid_id)
{
	struct gs_row *r;
	int v = -1;

	pthread_mutex_lock(&gs_lock);
	if ((r = gs_row(-grid_id, 0)) != NULL)
		v = r->demand;
	pthread_mutex_unlock(&gs_lock);
	return v;
}

struct gs_wait {
	int64_t		 grid_id;
	int64_t		 service_id;
	char		 text[200];	/* "2 nodes of burst-a" */
	int64_t		 since;		/* epoch ms */
	int64_t		 timeout_s;
};

static struct gs_wait *gs_waits;
static size_t gs_nwaits;

void
group_stats_waiting(int64_t grid_id, json_t *waiting)
{
	const char *key;
	json_t *v;
	size_t i, k;

	pthread_mutex_lock(&gs_lock);
	for (i = k = 0; i < gs_nwaits; i++)
		if (gs_waits[i].grid_id != grid_id)
			gs_waits[k++] = gs_waits[i];
	gs_nwaits = k;
	json_object_foreach(waiting, key, v) {
		if (!json_is_object(v))
			continue;
		gs_waits = xreallocarray(gs_waits, gs_nwaits + 1,
		    sizeof *gs_waits);
		gs_waits[gs_nwaits].grid_id = grid_id;
		gs_waits[gs_nwaits].service_id = strtoll(key, NULL, 10);
		snprintf(gs_waits[gs_nwaits].text,
		    sizeof gs_waits[gs_nwaits].text, "%s", json_string_value(
		    json_object_get(v, "text")) != NULL ? json_string_value(
		    json_object_get(v, "text")) : "machines");
		gs_waits[gs_nwaits].since = json_integer_value(
		    json_object_get(v, "since"));
		gs_waits[gs_nwaits].timeout_s = json_integer_value(
		    json_object_get(v, "timeout_s"));
		gs_nwaits++;
	}
	pthread_mutex_unlock(&gs_lock);
}

int
group_stats_waiting_text(int64_t service_id, int64_t now_ms, char *buf,
    size_t len)
{
	char a[32], b[32];
	int64_t el;
	size_t i;
	int found = 0;

	pthread_mutex_lock(&gs_lock);
	for (i = 0; i < gs_nwaits && !found; i++) {
		if (gs_waits[i].service_id != service_id)
			continue;
		el = (now_ms - gs_waits[i].since) / 1000;
		snprintf(buf, len, "waiting for %s, %s of %s",
		    gs_waits[i].text, units_format_duration(el > 0 ? el : 0,
		    a, sizeof a), units_format_duration(gs_waits[i].timeout_s,
		    b, sizeof b));
		found = 1;
	}
	pthread_mutex_unlock(&gs_lock);
	return found;
}
