/*
 * hub_claim.c - a second claimant of a node id (see hub_claim.h).
 *
 * Runs on the ws thread (hub_claim_verdict() is pure and runs anywhere).
 * A parked claimant is an upgraded but unadmitted session holding its
 * admission (struct hub_join, the minted token included) in s->claim;
 * nothing of it is in the store yet. It is resolved, whichever comes
 * first, by a frame or pong from the holder after the probe was sent
 * (refused, 4011, with a node.clone event: the one write a refusal makes,
 * because an operator must hear about a cloned machine), by the holder's
 * session ending, or by the probe's deadline passing (admitted: the
 * holder is closed with 4007 as any replaced session). Claimants are
 * parked from inside an admission batch (hub_admit_run()); one whose
 * holder is gone or silent is admitted on its own (hub_admit_join()).
 * The deadline runs on hub_clock(): a loop stalled by a burst of
 * admissions does not count as the holder's silence, nor does an answer
 * the loop has not read yet.
 */
#include "master/hub_claim.h"
#include "master/hub_int.h"

#include "common/log.h"
#include "common/proto.h"
#include "common/util.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

enum hub_claim_verdict
hub_claim_verdict(int held, const char *held_instance, long held_attempt,
    const char *instance, long attempt)
{
	if (!held)
		return HUB_CLAIM_ADMIT;
	/* An agent from before instances: the newest session wins. */
	if (held_instance == NULL || instance == NULL ||
	    *held_instance == '\0' || *instance == '\0')
		return HUB_CLAIM_TAKEOVER;
	if (strcmp(held_instance, instance) == 0)
		return attempt > held_attempt ? HUB_CLAIM_TAKEOVER :
		    HUB_CLAIM_STALE;
	return HUB_CLAIM_PROBE;
}

void
hub_join_free(struct hub_join *j)
{
	if (j == NULL)
		return;
	OPENSSL_cleanse(j->new_token, sizeof j->new_token);
	free(j->labels);
	free(j);
}

void
hub_claim_park(struct hub *h, struct hub_sess *s, struct hub_sess *holder,
    const struct hub_join *j)
{
	int64_t now = hub_clock(h);

	s->claim = xmalloc(sizeof *s->claim);
	memcpy(s->claim, j, sizeof *j);
	s->claim->labels = xstrdup(j->labels);
	s->claim->until = now + HUB_CLAIM_PROBE_MS;
	h->n_claims++;
	log_info("hub: node %s (%s): a second agent (instance %.8s, from %s) "
	    "claims it while instance %.8s (from %s) holds it; asking the "
	    "holder", holder->name, j->id, s->instance, s->peer,
	    holder->instance, holder->peer);
	if (holder->probe_at == 0) {
		holder->probe_at = now;
		holder->ping_due = 1;
		lws_callback_on_writable(holder->wsi);
	}
}

/* Drop s's claim (refused, admitted or gone). */
static void
hub_claim_drop(struct hub *h, struct hub_sess *s)
{
	hub_join_free(s->claim);
	s->claim = NULL;
	h->n_claims--;
}

void
hub_claim_ended(struct hub *h, struct hub_sess *s)
{
	if (s->claim != NULL)
		hub_claim_drop(h, s);
}

void
hub_claim_holder_alive(struct hub *h, struct hub_sess *holder)
{
	struct hub_sess *s, *next;
	char why[96];

	holder->probe_at = 0;
	for (s = h->all; s != NULL && h->n_claims > 0; s = next) {
		next = s->lnext;
		if (s->claim == NULL || s->close_code != 0 ||
		    strcmp(s->claim->id, holder->node_id) != 0)
			continue;
		log_warn("hub: node %s (%s): refused a second agent (instance "
		    "%.8s, from %s): instance %.8s (from %s) holds the node id "
		    "and answers; a cloned data dir?", holder->name,
		    holder->node_id, s->instance, s->peer, holder->instance,
		    holder->peer);
		if (store_event_add(h->st, holder->grid_id, "node.clone",
		    holder->name, "a second agent (from %s) presented the node "
		    "id of %s (%s), whose agent (from %s) is connected and "
		    "answers: refused it (4011); it rejoins as a new node if it "
		    "has the grid token. A machine image with a copy of the "
		    "agent's data dir?", s->peer, holder->name, holder->node_id,
		    holder->peer) != 0)
			log_error("hub: store: %s", store_errmsg(h->st));
		snprintf(why, sizeof why, "node id in use by a live agent "
		    "from %.48s", holder->peer);
		hub_claim_drop(h, s);
		hub_close(s, PROTO_CLOSE_NODE_ID_IN_USE, why);
	}
}

void
hub_claim_tick(struct hub *h, int64_t now)
{
	struct hub_sess *s, *next, *holder;
	struct hub_join *j;

	for (s = h->all; s != NULL && h->n_claims > 0; s = next) {
		next = s->lnext;
		if (s->claim == NULL || s->close_code != 0)
			continue;
		holder = hub_find(h, s->claim->id);
		if (holder != NULL && holder->close_code == 0 &&
		    (now < s->claim->until || hub_unread(holder) > 0))
			continue;	/* waiting, or its answer is unread */
		/* The holder is gone or did not answer: a dead session. */
		if (holder != NULL && holder->close_code == 0)
			log_info("hub: node %s (%s): the holder (from %s) did not "
			    "answer in %d ms: the new agent takes over",
			    holder->name, holder->node_id, holder->peer,
			    HUB_CLAIM_PROBE_MS);
		if (holder != NULL)
			holder->probe_at = 0;
		j = s->claim;
		s->claim = NULL;
		h->n_claims--;
		hub_admit_join(h, s, j);
		hub_join_free(j);
	}
}
