/*
 * backoff.h - capped exponential backoff with full jitter, as pure math.
 *
 * The caller owns the attempt counter and the random number, so tests can
 * check the bounds exactly; the same function times reconnects (base 0.5 s,
 * cap BERTH_BACKOFF_MAX_S), image pulls (5 s to 5 min) and container
 * restarts (1 s to 5 min).
 */
#ifndef BERTH_AGENT_BACKOFF_H
#define BERTH_AGENT_BACKOFF_H

#include <stdint.h>

/* The ceiling of attempt n: min(cap, base * 2^n). */
int64_t	 backoff_ceiling_ms(unsigned attempt, int64_t base_ms, int64_t cap_ms);

/* Full jitter: uniform in [0, ceiling] picked by rnd. */
int64_t	 backoff_jitter_ms(unsigned attempt, int64_t base_ms, int64_t cap_ms,
	    uint32_t rnd);

/* "Max delay" jitter: uniform in [cap/2, cap], so refused nodes spread. */
int64_t	 backoff_max_ms(int64_t cap_ms, uint32_t rnd);

/* Plain exponential without jitter: min(cap, base * 2^n) (pull retries). */
#define backoff_plain_ms backoff_ceiling_ms

#endif
