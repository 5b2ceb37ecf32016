/*
 * asg_join.h - agents of aws-asg groups waiting for their instance id to
 * be checked (docs/autoscaling.md, "Joining").
 *
 * An agent that presents a group's join token and an instance id no
 * machine is bound to yet cannot be admitted at once: the check is an
 * Auto Scaling call, and the ws thread never waits for one. The hub notes
 * the id here and tells the agent to come back (4012, "retry after");
 * the scheduler's round takes the ids to check and queues a
 * PROVIDER_JOIN call per id on the provider threads; its answer binds the
 * id to a launching machine of the group (the agent is then admitted on
 * its next attempt, by the join hash the bind wrote) or refuses it. A
 * process-wide table under a mutex, small and bounded (ASG_JOIN_MAX).
 */
#ifndef BERTH_ASG_JOIN_H
#define BERTH_ASG_JOIN_H

#include <stddef.h>
#include <stdint.h>

#define ASG_JOIN_MAX		512	/* ids waiting or refused, at most */
#define ASG_JOIN_RETRY_MS	2000	/* what a waiting agent is told */
#define ASG_JOIN_ASKED_MS	120000	/* a check not answered: asked again */
#define ASG_JOIN_REFUSED_MS	60000	/* a refusal stands this long */

enum asg_join_verdict {
	ASG_JOIN_WAIT = 0,	/* being checked: come back later */
	ASG_JOIN_REFUSED,	/* not admitted: why says so */
	ASG_JOIN_PENDING,	/* the provider does not know the id: the
				 * agent may join as a pending node, for an
				 * operator to approve (why says why) */
};

struct asg_join_ask {
	int64_t		 group_id;
	char		 id[256];
};

/*
 * The join hash of a bound machine: SHA-256 of the group token's hash (in
 * hex) and the instance id. The hub computes it from what an agent
 * presents, the bind from the stored hash: the token itself is needed by
 * neither.
 */
void	 asg_join_hash(const unsigned char *group_hash, const char *id,
	    unsigned char out[32]);

/* ws thread: an agent of group_id presents id. why gets a refusal's. */
enum asg_join_verdict asg_join_note(int64_t grid_id, int64_t group_id,
	    const char *id, char *why, size_t whylen);
/* Scheduler: up to max ids of grid_id to check now (marked asked). */
size_t	 asg_join_take(int64_t grid_id, struct asg_join_ask *out, size_t max);
/* Scheduler: the id was bound (forgotten here) or is refused (why). */
void	 asg_join_bound(int64_t group_id, const char *id);
void	 asg_join_refuse(int64_t group_id, const char *id, const char *why);
/* Scheduler: the provider says the id is none of the group's instances. */
void	 asg_join_unknown(int64_t group_id, const char *id, const char *why);
/* Scheduler: the check failed (a call error): asked again next round. */
void	 asg_join_retry(int64_t group_id, const char *id);

#endif
