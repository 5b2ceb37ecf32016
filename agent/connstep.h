/*
 * connstep.h - the steps of one connection attempt and their deadlines.
 *
 * An attempt to reach the master goes through four steps, each of which
 * can hang on a peer that accepts and then says nothing (a frozen master,
 * a proxy, a wrong port): the TCP connect, the TLS handshake (wss://), the
 * answer to the upgrade request, and the master's welcome frame. Each
 * step gets its own deadline, counted from the moment the attempt entered
 * it; a step that overruns ends the attempt, and the caller (conn.c) logs
 * which step it was and schedules the next attempt with the usual
 * backoff. Nothing here does I/O or reads the clock: the caller passes
 * the time and the evidence (the socket is connected, the handshake
 * began, the upgrade was written, the session is established, welcomed).
 */
#ifndef BERTH_AGENT_CONNSTEP_H
#define BERTH_AGENT_CONNSTEP_H

#include <stdint.h>

enum connstep_step {
	CONNSTEP_IDLE,		/* no attempt under way */
	CONNSTEP_TCP,		/* connect(2) in progress */
	CONNSTEP_TLS,		/* TLS handshake (wss:// only) */
	CONNSTEP_UPGRADE,	/* upgrade request sent, no answer yet */
	CONNSTEP_WELCOME,	/* upgraded, the welcome frame not yet in */
	CONNSTEP_READY,		/* welcomed: the session's own liveness rules */
};

/* Where one attempt is. */
struct connstep {
	enum connstep_step step;	/* the step it is in */
	int		 tls;		/* the attempt has a TLS step */
	int64_t		 since;		/* mono ms it entered step */
};

/* A new attempt: in CONNSTEP_TCP from now. */
void	 connstep_begin(struct connstep *cs, int tls, int64_t now);
/*
 * Evidence that the attempt reached step to (or a later one): it moves
 * forward, never back; a step it skips (TLS, say, when the verify
 * callback is the first sign) is simply passed. Returns 1 if it moved.
 */
int	 connstep_reach(struct connstep *cs, enum connstep_step to,
	    int64_t now);
/* The TCP connect finished: on to TLS (wss://) or the upgrade. */
int	 connstep_connected(struct connstep *cs, int64_t now);
/* The attempt ended (closed, failed, or given up): CONNSTEP_IDLE. */
void	 connstep_end(struct connstep *cs);
/*
 * 1 if the current step has run limit_ms or longer (the attempt must be
 * given up), else 0; *left is the time to its deadline (0 when over).
 * IDLE and READY have no deadline here.
 */
int	 connstep_overdue(const struct connstep *cs, int64_t now,
	    int64_t limit_ms, int64_t *left);
/* What the step waits for, for the log line: "answer to the upgrade". */
const char *connstep_what(enum connstep_step step);
const char *connstep_name(enum connstep_step step);

#endif
