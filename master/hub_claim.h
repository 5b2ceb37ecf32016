/*
 * hub_claim.h - two agents presenting one node id: whose session it is.
 *
 * A node id is a machine's identity, kept in its agent's data dir. When a
 * connection claims a node id that a live session already holds, the hub
 * must tell three cases apart: the same agent process again (its old
 * session is half dead, or this is a newer attempt after a stall), a
 * stale attempt of that process arriving late (the master was frozen and
 * now drains its listen queue), and a second machine with a copy of the
 * data dir (a machine image baked from a node that had joined). Agents
 * say who they are with Berth-Agent-Instance (random per process) and
 * Berth-Agent-Attempt (1, 2, ... per process); hub_claim_verdict() is the
 * decision, pure. A different instance is probed: the hub pings the
 * holder and parks the claimant for HUB_CLAIM_PROBE_MS; a holder that
 * answers is alive and the claimant is refused with 4011 (and an event),
 * a holder that does not is taken over like any dead session.
 */
#ifndef BERTH_HUB_CLAIM_H
#define BERTH_HUB_CLAIM_H

#define HUB_CLAIM_PROBE_MS	3000	/* a live holder answers a ping in this */

enum hub_claim_verdict {
	HUB_CLAIM_ADMIT,	/* nobody holds it: admit */
	HUB_CLAIM_TAKEOVER,	/* the holder's own newer session, or an agent
				   without an instance (older protocol):
				   admit, close the holder with 4007 */
	HUB_CLAIM_STALE,	/* an older attempt of the holder's process:
				   refuse it (4007), keep the holder */
	HUB_CLAIM_PROBE,	/* another process: ask the holder first */
};

/*
 * held: a session holds the node id and is not closing. Instances are ""
 * when a side did not send one; attempts 0 then.
 */
enum hub_claim_verdict hub_claim_verdict(int held, const char *held_instance,
	    long held_attempt, const char *instance, long attempt);

#endif
