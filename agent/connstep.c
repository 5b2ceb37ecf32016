/*
 * connstep.c - the steps of a connection attempt and their deadlines (see
 * connstep.h). Pure: conn.c on the websocket thread passes the time and
 * the evidence; the unit tests pass made-up times.
 */
#include "agent/connstep.h"

void
connstep_begin(struct connstep *cs, int tls, int64_t now)
{
	cs->step = CONNSTEP_TCP;
	cs->tls = tls;
	cs->since = now;
}

int
connstep_reach(struct connstep *cs, enum connstep_step to, int64_t now)
{
	if (cs->step == CONNSTEP_IDLE || to <= cs->step)
		return 0;
	if (to == CONNSTEP_TLS && !cs->tls)
		to = CONNSTEP_UPGRADE;
	cs->step = to;
	cs->since = now;
	return 1;
}

int
connstep_connected(struct connstep *cs, int64_t now)
{
	return connstep_reach(cs, cs->tls ? CONNSTEP_TLS : CONNSTEP_UPGRADE,
	    now);
}

void
connstep_end(struct connstep *cs)
{
	cs->step = CONNSTEP_IDLE;
	cs->since = 0;
}

int
connstep_overdue(const struct connstep *cs, int64_t now, int64_t limit_ms,
    int64_t *left)
{
	int64_t used;

	*left = 0;
	if (cs->step == CONNSTEP_IDLE || cs->step == CONNSTEP_READY)
		return 0;
	used = now - cs->since;
	if (used >= limit_ms)
		return 1;
	*left = limit_ms - used;
	return 0;
}

const char *
connstep_what(enum connstep_step step)
{
	switch (step) {
	case CONNSTEP_TCP:
		return "TCP connection";
	case CONNSTEP_TLS:
		return "TLS handshake";
	case CONNSTEP_UPGRADE:
		return "answer to the websocket upgrade";
	case CONNSTEP_WELCOME:
		return "welcome frame";
	default:
		return "progress";
	}
}

const char *
connstep_name(enum connstep_step step)
{
	static const char *names[] = {
		[CONNSTEP_IDLE] = "idle",
		[CONNSTEP_TCP] = "tcp",
		[CONNSTEP_TLS] = "tls",
		[CONNSTEP_UPGRADE] = "upgrade",
		[CONNSTEP_WELCOME] = "welcome",
		[CONNSTEP_READY] = "ready",
	};

	return names[step];
}
