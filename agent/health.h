/*
 * health.h - a service's health_check: probe its containers, judge them.
 *
 * A desired entry with a health_check ({protocol http|tcp, port, uri,
 * timeout, interval, initial_delay}; docs/stack-file.md) is probed by the
 * agent, as Kontena's agent did: initial_delay seconds after each start of
 * its container, then every interval seconds; a probe is a TCP connect to
 * the container's own address (its IP on its network, from Docker's
 * inspect; 127.0.0.1 when it has none, e.g. network_mode host) and, for
 * http, a GET of uri, each bounded by timeout. http is healthy on a status
 * 200-399, tcp when the connect succeeds.
 *
 * The probe runs inside the container's network namespace (setns(2) on
 * a short-lived probe thread of portprobe.c, the launcher wait_for_port
 * uses), so it reaches the container whatever network the agent itself is
 * on. The converge thread never waits on a probe.
 *
 * Two parts, like portprobe.h:
 *  - the record and its decisions (struct health_rec): pure, no I/O, no
 *    clock, no lock; the converge thread owns one per instance and
 *    decide.c consults it;
 *  - health_run(): one probe, on the calling (probe) thread.
 *
 * Verdicts: a container start is "starting" until its first probe answers;
 * then "healthy" or "unhealthy" by the last probe. The instance is
 * "running" (settled: a deploy may go on) once a probe of its current
 * start passed. HEALTH_FAILS_RESTART probes failing in a row restart the
 * container (Kontena restarted at the first failure; three ride out one
 * slow answer); the count of those restarts is reported.
 */
#ifndef BERTH_AGENT_HEALTH_H
#define BERTH_AGENT_HEALTH_H

#include <stdatomic.h>
#include <stdint.h>

#include "common/proto.h"

#define HEALTH_FAILS_RESTART	3	/* failed probes in a row: restart */
#define HEALTH_ERROR_MAX	PROTO_MAX_HEALTH_ERROR /* bytes reported */

/* A service's health_check, as the desired entry gives it. */
struct health_spec {
	int		 http;		/* 1 http, 0 tcp; */
	int		 port;		/* 1-65535; 0: no health check */
	char		*uri;		/* http: path, starting with / */
	int		 timeout_s;	/* each probe, >= 1 */
	int		 interval_s;	/* between probes, >= 1 */
	int		 initial_delay_s; /* after a start, >= 0 */
};

enum health_status {
	HEALTH_NONE,		/* no health check */
	HEALTH_STARTING,	/* no probe of this start answered yet */
	HEALTH_HEALTHY,		/* the last probe passed */
	HEALTH_UNHEALTHY,	/* the last probe failed */
};

/* One instance's health history; converge thread only. */
struct health_rec {
	char		*key;		/* container start it is for (the
					   portprobe_key()), or NULL */
	enum health_status status;	/* for key */
	int		 passed;	/* a probe of key passed once */
	int		 fails;		/* probes of key failed in a row */
	int		 busy;		/* a probe of this instance runs */
	int64_t		 since;		/* mono ms key was first seen */
	int64_t		 last;		/* mono ms of the last launch, 0 none */
	char		*error;		/* the last failure ("http 500 from
					   ..."); kept over restarts until a
					   probe passes */
	int		 restarts;	/* restarts for failed probes */
	int		 restart;	/* a restart is due or in flight */
};

const char *health_status_name(enum health_status st);

/*
 * The container of this record's instance runs, as start key (NULL: not
 * known yet). Returns the status to report. *launch: probe now. *due: ms
 * until the next probe is due, -1 if none.
 */
enum health_status health_decide(struct health_rec *r,
	    const struct health_spec *h, const char *key, int64_t now,
	    int *launch, int64_t *due);
/* A probe was handed to the launcher at now. */
void	 health_launched(struct health_rec *r, int64_t now);
/*
 * A probe's result for key: passed (ok), or failed with why (taken).
 * Returns 1 when this failure makes HEALTH_FAILS_RESTART in a row: the
 * caller restarts the container (r->restart is set until
 * health_restarted()).
 */
int	 health_result(struct health_rec *r, const char *key, int ok,
	    char *why);
/* The restart asked by health_result() was done (ok) or failed. */
void	 health_restarted(struct health_rec *r, int ok);
/* Its container is not running: forget the start, keep error/restarts. */
void	 health_rec_idle(struct health_rec *r);
/* Forget everything (a new rev, or freed). */
void	 health_rec_clear(struct health_rec *r);

/*
 * One probe on the calling thread, in its network namespace: connect to
 * addr (dotted IPv4, NULL for 127.0.0.1):port, and for http GET uri. 1
 * healthy; 0 unhealthy with *why (the caller frees). Ends early (0, "the
 * agent is stopping") once *stop is set.
 */
int	 health_run(const struct health_spec *h, const char *addr,
	    const atomic_int *stop, char **why);

#endif
