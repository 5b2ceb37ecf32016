/*
 * backoff.c - capped exponential backoff with full jitter.
 *
 * Pure functions, callable from any thread: the callers keep the attempt
 * counters and supply randomness. Full jitter (delay uniform in [0, ceiling])
 * keeps a grid of agents from reconnecting in lockstep after a master
 * restart.
 */
#include "agent/backoff.h"

int64_t
backoff_ceiling_ms(unsigned attempt, int64_t base_ms, int64_t cap_ms)
{
	int64_t d = base_ms;

	if (base_ms <= 0 || cap_ms <= 0)
		return 0;
	while (attempt-- > 0 && d < cap_ms)
		d *= 2;		/* stops growing at the cap: no overflow */
	return d < cap_ms ? d : cap_ms;
}

int64_t
backoff_jitter_ms(unsigned attempt, int64_t base_ms, int64_t cap_ms,
    uint32_t rnd)
{
	int64_t c = backoff_ceiling_ms(attempt, base_ms, cap_ms);

	return (int64_t)((uint64_t)rnd % (uint64_t)(c + 1));
}

int64_t
backoff_max_ms(int64_t cap_ms, uint32_t rnd)
{
	int64_t half;

	if (cap_ms <= 0)
		return 0;
	half = cap_ms / 2;
	return half + (int64_t)((uint64_t)rnd % (uint64_t)(cap_ms - half + 1));
}

int64_t
backoff_reconnect_ms(struct backoff_reconnect *r, enum proto_close_action act,
    long long retry, int max, int64_t cap_ms, int64_t now_ms, uint32_t rnd)
{
	int64_t delay;

	if (act == PROTO_CLOSE_DO_RESTART)
		r->restart_until = now_ms + BACKOFF_RESTART_WINDOW_MS;
	/* A busy master says when to come back; without a delay: max. */
	if (act == PROTO_CLOSE_DO_RETRY_AFTER && retry <= 0)
		max = 1;
	if (act == PROTO_CLOSE_DO_MAX_DELAY)
		max = 1;
	if (max)
		delay = backoff_max_ms(cap_ms, rnd);
	else if (act == PROTO_CLOSE_DO_RETRY_AFTER)
		return proto_retry_after_jitter_ms(retry, rnd);	/* its delay */
	else if (r->restart_until != 0 && now_ms < r->restart_until)
		return BACKOFF_RESTART_MIN_MS + (int64_t)((uint64_t)rnd %
		    (uint64_t)(BACKOFF_RESTART_MAX_MS - BACKOFF_RESTART_MIN_MS
		    + 1));
	else
		delay = backoff_jitter_ms(r->attempt, BACKOFF_RECONNECT_BASE_MS,
		    cap_ms, rnd);
	if (r->attempt < 64)
		r->attempt++;
	return delay;
}

void
backoff_reconnect_welcomed(struct backoff_reconnect *r)
{
	r->restart_until = 0;
}
