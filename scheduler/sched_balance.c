/*
 * sched_balance.c - rebalancing of stateless ha services: spread moves
 * toward new or emptier nodes and azs, and load moves off hot nodes.
 *
 * Called by sched_plan() after every service's placement pass, unless the
 * round stands down. Every move is start-before-stop (a MOVE_START step;
 * the old record goes in a later round once the new one runs) and within a
 * budget: max_moves_per_round overall, and per service at most
 * max_moves_per_service moves in flight (started earlier or this round).
 * A move starts only if the service keeps ceil(min_health * instances)
 * running even if the moved instance were lost, the instance itself runs
 * and has not moved within move_cooldown_ms, and the target has been
 * online for settle_ms.
 *
 * Spread moves strictly decrease sum(node count^2) + sum(az count^2) of the
 * service (rule 1: node counts differ by >= 2 and the az spread does not
 * get worse; rule 2: az counts differ by >= 2 and the node spread does not
 * get worse), so they cannot flap. Two verdicts are cached so that a round
 * does not look at every service again: "balanced by its counts alone" (no
 * node with 2 or more records, azs within 1) against (svc->version, the
 * azs it has eligible nodes in), and "found balanced" against (s->epoch,
 * svc->version), the latter not for services with service/container or
 * soft rules, whose verdict depends on more than the epoch tracks.
 */
#include "scheduler/sched_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"

enum {
	SCHED_BAL_BALANCED,	/* nothing to move: cacheable */
	SCHED_BAL_MOVED,	/* started a move */
	SCHED_BAL_BLOCKED,	/* a move is due but must wait */
};

#define SCHED_LOAD_TRIES 64	/* candidate instances per round, load pass */

/*
 * Count each in-flight number once, at its new node, and mark the old
 * record as moving so it is not picked again.
 */
static void
sched_count_moving(struct sched *s, struct sched_service *svc)
{
	struct sched_inst *t, *o;
	size_t k, j;

	if (svc->nmoving == 0)
		return;
	for (k = 0; k < svc->ninst; k++) {
		t = svc->inst[k];
		if (!t->move_target || t->doomed)
			continue;
		for (j = 0; j < svc->ninst; j++) {
			o = svc->inst[j];
			if (o->no == t->no && !o->move_target && !o->doomed) {
				s->cnt[o->node->slot]--;
				s->azcnt[o->node->az]--;
				/* Already being moved: not a candidate. */
				if (!o->moving) {
					o->moving = 1;
					sched_emit_mark(s, o);
				}
				break;
			}
		}
	}
}

static int
sched_settled(const struct sched_draft *d, const struct sched_node *n)
{
	return n->joined_at_ms + d->s->set.settle_ms <= d->now;
}

/* Running records (not move targets) and whether one more may go. */
static int
sched_health_ok(const struct sched_draft *d, const struct sched_service *svc)
{
	size_t k;
	int running = 0, need;

	for (k = 0; k < svc->ninst; k++) {
		if (svc->inst[k]->state == SCHED_RUNNING &&
		    !svc->inst[k]->move_target && !svc->inst[k]->doomed)
			running++;
	}
	need = (int)ceil(svc->min_health * svc->instances - 1e-9);
	return running - svc->nmoving - svc->started - 1 >= need;
}

static int
sched_budget_ok(const struct sched_draft *d, const struct sched_service *svc)
{
	return d->moves_left > 0 && svc->nmoving + svc->started <
	    d->s->set.max_moves_per_service;
}

static int
sched_movable(const struct sched_draft *d, const struct sched_inst *i)
{
	return !i->doomed && !i->moving && !i->move_target && !i->tentative &&
	    i->state == SCHED_RUNNING && i->no <= i->svc->instances &&
	    (i->moved_at_ms == 0 ||
	    d->now - i->moved_at_ms >= d->s->set.move_cooldown_ms);
}

/* Candidate key, as in placement: soft, count, total, load, tie-break. */
struct sched_tkey {
	int		 slot;		/* -1: none */
	int		 soft;		/* soft rules broken */
	int		 cnt;		/* service records on it */
	int		 total;		/* all records on it */
	double		 load;		/* cpu % */
};

static int
sched_tkey_less(const struct sched_tkey *a, const struct sched_tkey *b)
{
	if (b->slot < 0)
		return 1;
	if (a->soft != b->soft)
		return a->soft < b->soft;
	if (a->cnt != b->cnt)
		return a->cnt < b->cnt;
	if (a->total != b->total)
		return a->total < b->total;
	if (a->load != b->load)
		return a->load < b->load;
	return a->slot < b->slot;
}

/*
 * Best settled, fitting target per az (idle_only: load below load_low).
 * best[] has s->naz entries.
 */
static void
sched_targets(struct sched_draft *d, struct sched_service *svc,
    int idle_only, struct sched_tkey *best)
{
	struct sched *s = d->s;
	struct sched_node *n;
	struct sched_tkey key;
	size_t nw = (s->nslots + 63) / 64, w;
	uint64_t bits;
	uint32_t slot;
	int az;

	for (az = 0; az < s->naz; az++)
		best[az].slot = -1;
	for (w = 0; w < nw; w++) {
		for (bits = svc->elig[w]; bits != 0; bits &= bits - 1) {
			slot = (uint32_t)(w * 64) +
			    (uint32_t)__builtin_ctzll(bits);
			n = s->nodes[slot];
			if (!sched_node_open(n) ||
			    !sched_settled(d, n) || (idle_only && n->load_cpu >= s->set.load_low))
				continue;
			key.slot = (int)slot;
			key.soft = sched_filter_soft(&svc->dm, n);
			key.cnt = s->cnt[slot];
			key.total = (int)n->ninst;
			key.load = n->load_cpu;
			if (!sched_tkey_less(&key, &best[n->az]) ||
			    !sched_filter_dynamic(&svc->dm, n) ||
			    !sched_filter_fits(&svc->dm, n))
				continue;
			best[n->az] = key;
		}
	}
}

/* The record of svc on n to move: the highest movable number. */
static struct sched_inst *
sched_pick_record(const struct sched_draft *d, struct sched_service *svc,
    struct sched_node *n)
{
	struct sched_inst *i, *pick = NULL;
	size_t k;

	for (k = 0; k < n->ninst; k++) {
		i = n->inst[k];
		if (i->svc == svc && sched_movable(d, i) &&
		    (pick == NULL || i->no > pick->no))
			pick = i;
	}
	return pick;
}

static void
sched_move_start(struct sched_draft *d, struct sched_inst *old,
    struct sched_node *to, const char *why)
{
	struct sched *s = d->s;
	struct sched_service *svc = old->svc;
	struct sched_inst *t;

	if (d->opts->balance_dry_run) {
		sched_emit_step(d, SCHED_STEP_NOTE, svc, old->no, to, old->node,
		    "dry-run: would move %s#%d from %s to %s (%s)", svc->name,
		    old->no, sched_node_label(old->node),
		    sched_node_label(to), why);
	} else {
		sched_emit_step(d, SCHED_STEP_MOVE_START, svc, old->no, to,
		    old->node, "%s: moving %s#%d from %s to %s", why,
		    svc->name, old->no, sched_node_label(old->node),
		    sched_node_label(to));
	}
	/* Either way, account for it so the round does not repeat it. */
	old->moving = 1;
	sched_emit_mark(s, old);
	s->cnt[old->node->slot]--;
	s->azcnt[old->node->az]--;
	t = sched_inst_link(s, svc, to, old->no, 1);
	t->created_at_ms = t->moved_at_ms = d->now;
	t->move_target = 1;
	svc->nmoving++;
	s->cnt[to->slot]++;
	s->azcnt[to->az]++;
	svc->started++;
	d->moves_left--;
}

/* Azs (the first 64) in which svc has statically eligible nodes. */
static uint64_t
sched_azmask(const struct sched *s, const struct sched_service *svc)
{
	uint64_t m = 0;
	int az;

	for (az = 0; az < s->naz && az < svc->elig_az_cap && az < 64; az++) {
		if (svc->elig_az[az] > 0)
			m |= 1ULL << az;
	}
	return m;
}

/*
 * The quick check, from counts alone: no node holds 2 or more records and
 * the azs with eligible nodes differ by less than 2. Then no move can pass
 * either rule whatever the nodes' state, so the verdict holds until the
 * service's records or its set of eligible azs change.
 */
static int
sched_quick_balanced(const struct sched *s, const struct sched_service *svc)
{
	int az, maxc = 0, amin = -1, amax = 0;
	size_t k;

	for (k = 0; k < svc->ninst; k++) {
		if (s->cnt[svc->inst[k]->node->slot] > maxc)
			maxc = s->cnt[svc->inst[k]->node->slot];
	}
	for (az = 0; az < s->naz; az++) {
		if (s->azcnt[az] > amax)
			amax = s->azcnt[az];
		if (az < svc->elig_az_cap && svc->elig_az[az] > 0 &&
		    (amin < 0 || s->azcnt[az] < amin))
			amin = s->azcnt[az];
	}
	return maxc < 2 && (amin < 0 || amax - amin < 2);
}

/* One spread move for svc, if one is due; counts are set. */
static int
sched_balance_one(struct sched_draft *d, struct sched_service *svc,
    struct sched_tkey *best)
{
	struct sched *s = d->s;
	struct sched_node *n, *src, *bsrc = NULL, *btgt = NULL;
	struct sched_inst *i;
	int *srcaz, az, ta, cs, ct, as, at;
	int gain, bgain = 0, bagain = 0, soft;
	size_t k;
	char why[160];

	if (sched_quick_balanced(s, svc))
		return SCHED_BAL_BALANCED;

	/* Sources: per az, the online node with the most of svc. */
	srcaz = xcalloc((size_t)s->naz, sizeof *srcaz);
	for (az = 0; az < s->naz; az++)
		srcaz[az] = -1;
	for (k = 0; k < svc->ninst; k++) {
		i = svc->inst[k];
		n = i->node;
		if (!n->online || n->doomed || i->doomed || i->moving)
			continue;
		az = n->az;
		if (srcaz[az] < 0 || s->cnt[n->slot] > s->cnt[srcaz[az]] ||
		    (s->cnt[n->slot] == s->cnt[srcaz[az]] &&
		    n->slot < (uint32_t)srcaz[az]))
			srcaz[az] = (int)n->slot;
	}
	sched_targets(d, svc, 0, best);
	for (az = 0; az < s->naz; az++) {
		if (srcaz[az] < 0)
			continue;
		src = s->nodes[srcaz[az]];
		cs = s->cnt[src->slot];
		as = s->azcnt[az];
		soft = sched_filter_soft(&svc->dm, src);
		for (ta = 0; ta < s->naz; ta++) {
			if (best[ta].slot < 0 || best[ta].soft > soft)
				continue;
			ct = best[ta].cnt;
			at = s->azcnt[ta];
			if (ct + 2 <= cs && (ta == az || at < as))
				gain = cs - ct;
			else if (at + 2 <= as && ct + 1 <= cs)
				gain = 1;
			else
				continue;
			if (gain > bgain || (gain == bgain && as - at > bagain)) {
				bgain = gain;
				bagain = as - at;
				bsrc = src;
				btgt = s->nodes[best[ta].slot];
			}
		}
	}
	free(srcaz);
	if (bsrc == NULL)
		return SCHED_BAL_BALANCED;
	if (!sched_budget_ok(d, svc) || !sched_health_ok(d, svc) ||
	    (i = sched_pick_record(d, svc, bsrc)) == NULL)
		return SCHED_BAL_BLOCKED;
	snprintf(why, sizeof why, "rebalance: %s has %d of %s (az \"%s\" %d),"
	    " %s has %d (az \"%s\" %d)", sched_node_label(btgt),
	    s->cnt[btgt->slot], svc->name, s->azs[btgt->az],
	    s->azcnt[btgt->az], sched_node_label(bsrc), s->cnt[bsrc->slot],
	    s->azs[bsrc->az], s->azcnt[bsrc->az]);
	sched_move_start(d, i, btgt, why);
	return SCHED_BAL_MOVED;
}

static int
sched_balance_service(struct sched_draft *d, struct sched_service *svc,
    struct sched_tkey *best)
{
	struct sched *s = d->s;
	int res;

	if (!svc->elig_valid)
		sched_elig_build(s, svc);
	sched_count(s, svc);
	sched_count_moving(s, svc);
	if (svc->nmoving == 0 && sched_quick_balanced(s, svc)) {
		svc->qb_version = svc->version;
		svc->qb_azmask = sched_azmask(s, svc);
	}
	do {
		res = sched_balance_one(d, svc, best);
	} while (res == SCHED_BAL_MOVED && sched_budget_ok(d, svc));
	sched_uncount(s, svc);
	return res;
}

void
sched_balance(struct sched_draft *d)
{
	struct sched *s = d->s;
	struct sched_service *svc;
	struct sched_tkey *best;
	size_t k, start;
	int res;

	if (s->nsvcs == 0 || s->set.max_moves_per_service <= 0)
		return;
	best = xcalloc((size_t)s->naz, sizeof *best);
	start = (size_t)(d->seed % s->nsvcs);
	for (k = 0; k < s->nsvcs && d->moves_left > 0; k++) {
		svc = s->svcs[(start + k) % s->nsvcs];
		if (svc->strategy != SCHED_HA || svc->dm.stateful ||
		    svc->instances == 0 || svc->pass == SCHED_PASS_CHANGED)
			continue;
		if (svc->bal_epoch == s->epoch &&
		    svc->bal_version == svc->version)
			continue;
		if (svc->elig_valid && svc->qb_version == svc->version &&
		    svc->qb_azmask == sched_azmask(s, svc) && s->naz <= 64)
			continue;
		res = sched_balance_service(d, svc, best);
		if (res == SCHED_BAL_BALANCED && svc->started == 0 &&
		    !svc->dm.has_dynamic && svc->dm.nsoft == 0) {
			svc->bal_epoch = s->epoch;
			svc->bal_version = svc->version;
		}
	}
	free(best);
}

/* Load moves: one instance off each hot node, onto an idle one. */

static int
sched_load_try(struct sched_draft *d, struct sched_inst *i,
    struct sched_tkey *best)
{
	struct sched *s = d->s;
	struct sched_service *svc = i->svc;
	struct sched_node *hot = i->node, *to = NULL;
	int az, cs, as, soft, ok = 0;
	char why[160];

	if (!svc->elig_valid)
		sched_elig_build(s, svc);
	sched_count(s, svc);
	sched_count_moving(s, svc);
	sched_targets(d, svc, 1, best);
	cs = s->cnt[hot->slot];
	as = s->azcnt[hot->az];
	soft = sched_filter_soft(&svc->dm, hot);
	for (az = 0; az < s->naz; az++) {
		if (best[az].slot < 0 || best[az].soft > soft ||
		    best[az].cnt + 1 > cs ||
		    (az != hot->az && s->azcnt[az] >= as))
			continue;
		if (to == NULL || sched_tkey_less(&best[az],
		    &best[to->az]))
			to = s->nodes[best[az].slot];
	}
	if (to != NULL) {
		snprintf(why, sizeof why, "load: %s cpu %.0f%% > %.0f%%, %s "
		    "idle at %.0f%%", sched_node_label(hot), hot->load_cpu,
		    s->set.load_high, sched_node_label(to), to->load_cpu);
		sched_move_start(d, i, to, why);
		ok = 1;
	}
	sched_uncount(s, svc);
	return ok;
}

void
sched_balance_load(struct sched_draft *d)
{
	struct sched *s = d->s;
	struct sched_node *n;
	struct sched_inst *i;
	struct sched_tkey *best;
	uint32_t slot;
	size_t k;
	int idle = 0, tries = SCHED_LOAD_TRIES;

	if (s->set.max_moves_per_service <= 0)
		return;
	for (slot = 0; slot < s->nslots; slot++) {
		n = s->nodes[slot];
		if (n != NULL && sched_node_open(n) &&
		    sched_settled(d, n) && n->load_cpu < s->set.load_low)
			idle++;
	}
	if (idle == 0)
		return;
	best = xcalloc((size_t)s->naz, sizeof *best);
	for (slot = 0; slot < s->nslots && d->moves_left > 0 && tries > 0;
	    slot++) {
		n = s->nodes[slot];
		if (n == NULL || !n->online || n->doomed ||
		    n->load_cpu <= s->set.load_high)
			continue;
		for (k = 0; k < n->ninst && tries > 0; k++) {
			i = n->inst[k];
			if (i->svc->strategy != SCHED_HA || i->svc->dm.stateful ||
			    i->svc->pass == SCHED_PASS_CHANGED || !sched_movable(d, i) ||
			    !sched_budget_ok(d, i->svc) ||
			    !sched_health_ok(d, i->svc))
				continue;
			tries--;
			if (sched_load_try(d, i, best))
				break;
		}
	}
	free(best);
}
