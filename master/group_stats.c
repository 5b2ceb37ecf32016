/*
 * group_stats.c - node groups' counters (see group_stats.h): a small
 * table, one row per group or grid seen, under one lock.
 */
#include "master/group_stats.h"

#include "common/xmalloc.h"

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
