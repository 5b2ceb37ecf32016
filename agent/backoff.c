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
