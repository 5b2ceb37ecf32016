/*
 * role.h - the leadership watcher of a clustered master (docs/ha.md,
 * "Roles").
 *
 * One thread asks the master's own dqlite node who leads (LEADER over the
 * wire protocol; dqlite 1.11 has no callback) every --leader-poll-ms.
 * When the node starts leading, the watcher runs the leader's start-up
 * (the lead callback: migrations, first-start secrets), writes this
 * master's row of the masters table, marks every connected node offline
 * from now (a failover removes or reschedules nothing by itself: each node
 * gets a whole offline window to come back), then turns the role to
 * MASTER_LEADER: the API serves, the hub admits agents, the scheduler
 * runs. When the node stops leading, the role turns to MASTER_STANDBY
 * first (the API redirects, the hub closes its sessions with 4013), then
 * the scheduler stops; whatever is still in flight fails in the store,
 * which is fenced to this master's own node.
 *
 * A standby looks the leader's URLs up in the masters table (through a
 * store connection that follows the leader) whenever the leader changes,
 * for its 307s and 4013s. Every master writes its own row at start.
 */
#ifndef BERTH_ROLE_H
#define BERTH_ROLE_H

#include "master/master.h"

/* The leader's start-up, run on the watcher's thread with its (fenced)
 * store each time this master takes the lead: 0, or -1 with *cause (it
 * is tried again at the next poll). */
typedef int (*role_lead_fn)(struct master *m, struct store *st,
    char **cause);

struct role_watch	*role_watch_start(struct master *m, role_lead_fn lead,
			    char **cause);
/* Stop the thread and free it; NULL ok. The role is left as it is. */
void			 role_watch_stop(struct role_watch *w);

/* A planned stop of the leader: stand by and hand the lead over to
 * another voter (TRANSFER) first. A no-op unless this master leads. */
void			 role_hand_over(struct master *m);
/* This master stops leading now (the API redirects from here on, agents
 * are refused, no rounds), before it hands the lead over; the watcher
 * learns the next leader at its next poll. */
void			 role_stand_by(struct master *m);

/* This master's own API and agent URLs, as its masters row gives them:
 * --public-url / --agent-url, else from the listen addresses (a wildcard
 * host is replaced by the --cluster-address host). */
void			 role_own_urls(struct master *m, char *api,
			    size_t apilen, char *agent, size_t agentlen);

#endif
