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

#include "common/proto.h"

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

/*
 * The reconnect policy of an agent (the real one in agent/conn.c and the
 * simulated ones of tests/bench/agentsim.c share it): what to wait after
 * a session ended with a close whose action is act (common/proto.c).
 *
 * A master that says it is going away (1001) is most likely restarting.
 * For BACKOFF_RESTART_WINDOW_MS after that close, attempts follow one
 * another every BACKOFF_RESTART_MIN_MS to _MAX_MS (uniform) and the
 * backoff does not grow: without this, the exponential delays grown while
 * a master restarted (0.5, 1, 2, 4, 8 s ceilings...) left a fleet coming
 * back over 20-30 s after a 5 s outage. A refused connect is cheap; the
 * burst when the master listens again is the master's to shed (4012).
 */
#define BACKOFF_RECONNECT_BASE_MS	500
#define BACKOFF_RESTART_WINDOW_MS	60000
#define BACKOFF_RESTART_MIN_MS		500
#define BACKOFF_RESTART_MAX_MS		1500

struct backoff_reconnect {
	unsigned	 attempt;	/* reconnects since the last stable one */
	int64_t		 restart_until;	/* after a 1001, until (mono ms) */
};

/*
 * The delay before the next attempt. act: the close's action
 * (PROTO_CLOSE_DO_BACKOFF for a connection that failed or dropped);
 * retry: a 4012's delay (proto_retry_after_ms()) or -1; max: the
 * caller's own reason for the max delay (a bad pin, no token). Advances
 * r->attempt unless the delay is the master's or a restart's.
 */
int64_t	 backoff_reconnect_ms(struct backoff_reconnect *r,
	    enum proto_close_action act, long long retry, int max,
	    int64_t cap_ms, int64_t now_ms, uint32_t rnd);
/* A session was welcomed: a later drop is no longer the restart's. */
void	 backoff_reconnect_welcomed(struct backoff_reconnect *r);

#endif
