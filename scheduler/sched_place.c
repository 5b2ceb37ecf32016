/*
 * sched_place.c - one service's placement pass: finish or abort moves in
 * flight, scale down, replace instances lost with an offline node, move
 * instances off nodes they no longer fit, and place missing instances with
 * the service's strategy (ha heap, seeded random, daemon per node).
 *
 * Called by sched_plan() (sched_plan.c) for each service on the round's
 * work list, in id order. Works on the live structures: placements are
 * linked in as tentative records (undone at the end of the round), records
 * planned to go are marked doomed. While a pass runs, s->cnt[slot] and
 * s->azcnt[az] hold the service's live (not doomed) records per node and
 * per az; sched_count()/sched_uncount() (sched_emit.c) set and clear them,
 * and everything that adds or dooms a record of the service keeps them
 * current. Steps and unplaceable instances go out through sched_emit.c.
 */
#include "scheduler/sched_int.h"

#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"

static void
sched_doom(struct sched *s, struct sched_inst *i)
{
	if (i->doomed)
		return;
	i->doomed = 1;
	s->cnt[i->node->slot]--;
	s->azcnt[i->node->az]--;
	sched_emit_mark(s, i);
}

static struct sched_inst *
sched_add(struct sched *s, struct sched_service *svc, struct sched_node *n,
    int no, int move_target, int64_t now)
{
	struct sched_inst *i;

	i = sched_inst_link(s, svc, n, no, 1);
	i->created_at_ms = now;
	if (move_target) {
		i->move_target = 1;
		i->moved_at_ms = now;
		svc->nmoving++;
	}
	s->cnt[n->slot]++;
	s->azcnt[n->az]++;
	return i;
}

static int64_t
sched_grace_ms(const struct sched *s, const struct sched_service *svc)
{
	return svc->strategy == SCHED_RANDOM ? s->set.random_grace_ms :
	    s->set.ha_grace_ms;
}

/* A stateless ha/random record whose node is offline past the grace. */
int
sched_inst_replaceable(const struct sched_draft *d, const struct sched_inst *i)
{
	const struct sched_node *n = i->node;

	if (d->stand_down || i->svc->dm.stateful ||
	    i->svc->strategy == SCHED_DAEMON || n->online ||
	    n->offline_since_ms <= 0)
		return 0;
	return d->now - n->offline_since_ms > sched_grace_ms(d->s, i->svc);
}

/* The placer: picks target nodes for one service's new records. */

struct sched_cand {
	uint32_t	 slot;		/* node slot */
	int		 soft;		/* soft rules broken */
	int		 cnt;		/* records of the service on it */
	int		 total;		/* records of any service on it */
	int		 load;		/* reported cpu %, rounded */
	uint64_t	 tb;		/* seeded tie-break */
};

struct sched_placer {
	struct sched_draft	*d;		/* the draft */
	struct sched_service	*svc;		/* whose records */
	struct sched_cand	*c;		/* candidates, grouped by az
						 * (ha) or by soft (random) */
	size_t			*start;		/* group g is c[start[g]..] */
	size_t			*len;		/* and has len[g] entries */
	int			 ngroups;	/* groups */
	uint64_t		 rng;		/* random's PRNG state */
};

static int
sched_cand_less(const struct sched_cand *a, const struct sched_cand *b)
{
	if (a->soft != b->soft)
		return a->soft < b->soft;
	if (a->cnt != b->cnt)
		return a->cnt < b->cnt;
	if (a->total != b->total)
		return a->total < b->total;
	if (a->load != b->load)
		return a->load < b->load;
	return a->tb < b->tb;
}

static void
sched_heap_down(struct sched_cand *h, size_t n, size_t k)
{
	struct sched_cand t;
	size_t c;

	for (;;) {
		c = 2 * k + 1;
		if (c >= n)
			return;
		if (c + 1 < n && sched_cand_less(&h[c + 1], &h[c]))
			c++;
		if (!sched_cand_less(&h[c], &h[k]))
			return;
		t = h[k];
		h[k] = h[c];
		h[c] = t;
		k = c;
	}
}

static void
sched_placer_init(struct sched_placer *p, struct sched_draft *d,
    struct sched_service *svc)
{
	struct sched *s = d->s;
	struct sched_node *n;
	struct sched_cand *c;
	size_t nw, w, i, *fill;
	uint64_t bits, salt;
	uint32_t slot;
	int g, maxsoft = (int)svc->dm.nsoft;

	memset(p, 0, sizeof *p);
	p->d = d;
	p->svc = svc;
	if (!svc->elig_valid)
		sched_elig_build(s, svc);
	p->rng = d->seed ^ sched_hash_u64((uint64_t)svc->id);
	salt = sched_hash_u64(p->rng);
	p->ngroups = svc->strategy == SCHED_RANDOM ? maxsoft + 1 : s->naz;
	p->start = xcalloc((size_t)p->ngroups + 1, sizeof *p->start);
	p->len = xcalloc((size_t)p->ngroups + 1, sizeof *p->len);
	p->c = xcalloc((size_t)svc->nelig + 1, sizeof *p->c);
	c = p->c;
	nw = (s->nslots + 63) / 64;
	for (w = 0, i = 0; w < nw; w++) {
		for (bits = svc->elig[w]; bits != 0; bits &= bits - 1) {
			slot = (uint32_t)(w * 64) +
			    (uint32_t)__builtin_ctzll(bits);
			n = s->nodes[slot];
			if (!sched_node_open(n))
				continue;
			c[i].slot = slot;
			c[i].soft = sched_filter_soft(&svc->dm, n);
			c[i].cnt = s->cnt[slot];
			c[i].total = (int)n->ninst;
			c[i].load = (int)(n->load_cpu + 0.5);
			c[i].tb = sched_hash_u64(salt ^ slot);
			i++;
		}
	}
	/* Group in place: count, then a stable scatter through a copy. */
	for (w = 0; w < i; w++) {
		g = svc->strategy == SCHED_RANDOM ? c[w].soft :
		    s->nodes[c[w].slot]->az;
		p->len[g]++;
	}
	for (g = 1; g < p->ngroups; g++)
		p->start[g] = p->start[g - 1] + p->len[g - 1];
	fill = xcalloc((size_t)p->ngroups + 1, sizeof *fill);
	memcpy(fill, p->start, (size_t)p->ngroups * sizeof *fill);
	p->c = xcalloc((size_t)svc->nelig + 1, sizeof *p->c);
	for (w = 0; w < i; w++) {
		g = svc->strategy == SCHED_RANDOM ? c[w].soft :
		    s->nodes[c[w].slot]->az;
		p->c[fill[g]++] = c[w];
	}
	free(fill);
	free(c);
	if (svc->strategy == SCHED_RANDOM)
		return;
	for (g = 0; g < p->ngroups; g++) {
		for (w = p->len[g] / 2; w-- > 0;)
			sched_heap_down(p->c + p->start[g], p->len[g], w);
	}
}

static void
sched_placer_free(struct sched_placer *p)
{
	free(p->c);
	free(p->start);
	free(p->len);
}

static void
sched_placer_drop(struct sched_placer *p, int g, size_t k)
{
	struct sched_cand *h = p->c + p->start[g];

	h[k] = h[--p->len[g]];
	if (p->svc->strategy != SCHED_RANDOM)
		sched_heap_down(h, p->len[g], k);
}

/*
 * The best node for one more record, or NULL. ha: the az with the fewest
 * records of the service (soft rules first), then within it the heap top
 * (fewest of the service, fewest in all, least cpu load, tie-break).
 * random: a seeded uniform pick among nodes breaking the fewest soft rules.
 * Candidates that fail a dynamic or capacity filter are dropped: within a
 * pass, capacity only shrinks and the service's own records only grow.
 */
static struct sched_node *
sched_placer_pick(struct sched_placer *p, int *gout, size_t *kout)
{
	struct sched *s = p->d->s;
	struct sched_cand *best, *top;
	struct sched_node *n;
	int g, bg;
	size_t k;

	for (;;) {
		best = NULL;
		bg = -1;
		k = 0;
		if (p->svc->strategy == SCHED_RANDOM) {
			for (g = 0; g < p->ngroups && p->len[g] == 0; g++)
				;
			if (g == p->ngroups)
				return NULL;
			bg = g;
			k = sched_rand_next(&p->rng) % p->len[g];
			best = &p->c[p->start[g] + k];
		} else {
			for (g = 0; g < p->ngroups; g++) {
				if (p->len[g] == 0)
					continue;
				top = &p->c[p->start[g]];
				if (best == NULL || top->soft < best->soft ||
				    (top->soft == best->soft &&
				    (s->azcnt[g] < s->azcnt[bg] ||
				    (s->azcnt[g] == s->azcnt[bg] &&
				    sched_cand_less(top, best))))) {
					best = top;
					bg = g;
				}
			}
			if (best == NULL)
				return NULL;
		}
		n = s->nodes[best->slot];
		if (sched_filter_dynamic(&p->svc->dm, n) &&
		    sched_filter_fits(&p->svc->dm, n)) {
			*gout = bg;
			*kout = k;
			return n;
		}
		sched_placer_drop(p, bg, k);
	}
}

/* A record was added on the picked node: refresh its key. */
static void
sched_placer_commit(struct sched_placer *p, int g, size_t k)
{
	struct sched_cand *c = &p->c[p->start[g] + k];
	struct sched_node *n = p->d->s->nodes[c->slot];

	c->cnt = p->d->s->cnt[c->slot];
	c->total = (int)n->ninst;
	if (p->svc->strategy != SCHED_RANDOM)
		sched_heap_down(p->c + p->start[g], p->len[g], k);
}

/* Stateless (ha, random) and stateful services. */

static int
sched_inst_cmp(const void *a, const void *b)
{
	const struct sched_inst *x = *(struct sched_inst *const *)a;
	const struct sched_inst *y = *(struct sched_inst *const *)b;

	if (x->no != y->no)
		return x->no < y->no ? -1 : 1;
	if (x->move_target != y->move_target)
		return x->move_target - y->move_target;
	return x->node->slot < y->node->slot ? -1 :
	    x->node->slot > y->node->slot;
}

enum sched_want {
	SCHED_WANT_PLACE,	/* number missing */
	SCHED_WANT_REPLACE,	/* record on an offline node past grace */
	SCHED_WANT_MISFIT,	/* record on a node it no longer passes */
	SCHED_WANT_DRAIN,	/* running record on a draining node: start
				 * a replacement first (sched_drain.c) */
	SCHED_WANT_DRAIN_NOW,	/* on a draining node, not running or past
				 * the deadline: replace it now, or stop it */
};

struct sched_wanted {
	int			 no;	/* instance number */
	enum sched_want		 why;	/* what to do */
	struct sched_inst	*old;	/* the record replaced, or NULL */
};

/* Settle a number's move in flight: old on one node, tgt on another. */
static void
sched_pass_pair(struct sched_draft *d, struct sched_inst *old,
    struct sched_inst *tgt)
{
	struct sched_service *svc = old->svc;
	const char *tn = sched_node_label(tgt->node);

	if (tgt->state == SCHED_RUNNING) {
		sched_emit_step(d, SCHED_STEP_REMOVE, svc, old->no, old->node,
		    tgt->node, "move of %s#%d to %s done: new instance "
		    "running, stopping the one on %s", svc->name, old->no, tn,
		    sched_node_label(old->node));
		sched_emit_last(d)->completes_move = 1;
		sched_doom(d->s, old);
	} else if (tgt->state == SCHED_ERROR || tgt->state == SCHED_STOPPED ||
	    !tgt->node->online || tgt->node->doomed ||
	    tgt->node->engine_down) {
		sched_emit_step(d, SCHED_STEP_REMOVE, svc, tgt->no, tgt->node,
		    old->node, "move of %s#%d to %s failed (%s): keeping it "
		    "on %s", svc->name, tgt->no, tn, !tgt->node->online ||
		    tgt->node->doomed ? "node offline" :
		    tgt->node->engine_down ? "its Docker Engine is down" :
		    sched_state_name(tgt->state), sched_node_label(old->node));
		sched_emit_last(d)->aborts_move = 1;
		sched_doom(d->s, tgt);
	} else if (sched_drain_forced(d, old->node)) {
		sched_emit_step(d, SCHED_STEP_REMOVE, svc, old->no, old->node,
		    tgt->node, "node %s: drain deadline passed: stopping "
		    "%s#%d there, it continues on %s",
		    sched_node_label(old->node), svc->name, old->no, tn);
		sched_emit_last(d)->completes_move = 1;
		sched_doom(d->s, old);
	} else if (sched_inst_replaceable(d, old)) {
		sched_emit_step(d, SCHED_STEP_REMOVE, svc, old->no, old->node,
		    tgt->node, "node %s offline %llds: %s#%d continues on %s",
		    sched_node_label(old->node), (long long)((d->now -
		    old->node->offline_since_ms) / 1000), svc->name, old->no,
		    tn);
		sched_emit_last(d)->completes_move = 1;
		sched_doom(d->s, old);
	}
}

static void
sched_pass_emit(struct sched_draft *d, struct sched_placer *p,
    struct sched_wanted *w, struct sched_node *n, int g, size_t k)
{
	struct sched *s = d->s;
	struct sched_service *svc = p->svc;
	const char *nl = sched_node_label(n);
	int before = s->cnt[n->slot];

	if (w->why == SCHED_WANT_DRAIN_NOW) {
		sched_doom(s, w->old);
		sched_add(s, svc, n, w->no, 0, d->now)->moved_at_ms = d->now;
		sched_emit_step(d, SCHED_STEP_MOVE, svc, w->no, n,
		    w->old->node, "node %s draining: %s#%d %s, moves to %s",
		    sched_node_label(w->old->node), svc->name, w->no,
		    sched_drain_forced(d, w->old->node) ?
		    "drain deadline passed" : "not running", nl);
	} else if (w->why == SCHED_WANT_DRAIN) {
		w->old->moving = 1;
		sched_emit_mark(s, w->old);
		sched_add(s, svc, n, w->no, 1, d->now);
		sched_emit_step(d, SCHED_STEP_MOVE_START, svc, w->no, n,
		    w->old->node, "node %s draining: starting %s#%d on %s "
		    "before stopping it there", sched_node_label(w->old->node),
		    svc->name, w->no, nl);
		d->plan->nmoves--;	/* paced per service, not budgeted */
	} else if (w->why == SCHED_WANT_REPLACE) {
		sched_doom(s, w->old);
		sched_add(s, svc, n, w->no, 0, d->now)->moved_at_ms = d->now;
		sched_emit_step(d, SCHED_STEP_MOVE, svc, w->no, n,
		    w->old->node, "node %s offline %llds > %s grace %llds: "
		    "%s#%d moves to %s", sched_node_label(w->old->node),
		    (long long)((d->now - w->old->node->offline_since_ms) /
		    1000), sched_strategy_name(svc->strategy),
		    (long long)(sched_grace_ms(s, svc) / 1000), svc->name,
		    w->no, nl);
	} else if (w->why == SCHED_WANT_MISFIT) {
		w->old->moving = 1;
		sched_emit_mark(s, w->old);
		sched_add(s, svc, n, w->no, 1, d->now);
		sched_emit_step(d, SCHED_STEP_MOVE_START, svc, w->no, n,
		    w->old->node, "%s#%d: node %s no longer passes its "
		    "filters; starting a replacement on %s", svc->name, w->no,
		    sched_node_label(w->old->node), nl);
		d->plan->nmoves--;	/* not a budgeted move */
	} else {
		sched_add(s, svc, n, w->no, 0, d->now);
		if (svc->strategy == SCHED_RANDOM)
			sched_emit_step(d, SCHED_STEP_PLACE, svc, w->no, n,
			    NULL, "place %s#%d on %s (random)", svc->name,
			    w->no, nl);
		else
			sched_emit_step(d, SCHED_STEP_PLACE, svc, w->no, n,
			    NULL, "place %s#%d on %s (ha: az \"%s\" had %d, "
			    "node had %d of %s)", svc->name, w->no, nl,
			    s->azs[n->az], s->azcnt[n->az] - 1, before,
			    svc->name);
	}
	sched_placer_commit(p, g, k);
}

static void
sched_pass_stateless(struct sched_draft *d, struct sched_service *svc)
{
	struct sched *s = d->s;
	struct sched_inst **recs, *old, *tgt, *i;
	struct sched_wanted *want;
	struct sched_placer p;
	struct sched_node *n;
	size_t nrec = svc->ninst, k, j, nwant = 0;
	char *why = NULL;
	int no, N = svc->instances, placer = 0, g;
	enum sched_drain_act act;

	recs = xcalloc(nrec + 1, sizeof *recs);
	if (nrec > 0)
		memcpy(recs, svc->inst, nrec * sizeof *recs);
	qsort(recs, nrec, sizeof *recs, sched_inst_cmp);
	if (!svc->elig_valid)
		sched_elig_build(s, svc);
	want = xcalloc((size_t)N + 1, sizeof *want);

	/* Scale down, highest number first. */
	for (k = nrec; k-- > 0 && recs[k]->no > N;) {
		i = recs[k];
		if (i->doomed)
			continue;
		sched_emit_step(d, SCHED_STEP_REMOVE, svc, i->no, i->node,
		    NULL, "scale down: %s wants %d instance%s, removing #%d "
		    "from %s", svc->name, N, N == 1 ? "" : "s", i->no,
		    sched_node_label(i->node));
		sched_doom(s, i);
	}

	/* Walk numbers 1..N against the sorted records. */
	for (no = 1, k = 0; no <= N; no++) {
		old = tgt = NULL;
		for (; k < nrec && recs[k]->no < no; k++)
			;
		for (j = k; j < nrec && recs[j]->no == no; j++) {
			i = recs[j];
			if (i->doomed)
				continue;
			if (i->move_target && tgt == NULL)
				tgt = i;
			else if (!i->move_target && old == NULL)
				old = i;
			else {
				sched_emit_step(d, SCHED_STEP_REMOVE, svc, no,
				    i->node, NULL, "%s#%d has a second record "
				    "on %s: removing it", svc->name, no,
				    sched_node_label(i->node));
				sched_doom(s, i);
			}
		}
		if (old != NULL && tgt != NULL) {
			sched_pass_pair(d, old, tgt);
			continue;
		}
		if (old == NULL)
			old = tgt;	/* a target whose original is gone */
		if (old == NULL) {
			want[nwant].no = no;
			want[nwant].why = SCHED_WANT_PLACE;
			want[nwant++].old = NULL;
		} else if ((act = sched_drain_want(d, old)) !=
		    SCHED_DRAIN_NONE) {
			want[nwant].no = no;
			want[nwant].why = act == SCHED_DRAIN_MOVE ?
			    SCHED_WANT_DRAIN : SCHED_WANT_DRAIN_NOW;
			want[nwant++].old = old;
			if (act == SCHED_DRAIN_MOVE)
				svc->started++;	/* paced: counted now */
		} else if (sched_inst_replaceable(d, old)) {
			want[nwant].no = no;
			want[nwant].why = SCHED_WANT_REPLACE;
			want[nwant++].old = old;
		} else if (!svc->dm.stateful && old->node->online &&
		    !sched_elig_has(svc, old->node->slot)) {
			want[nwant].no = no;
			want[nwant].why = SCHED_WANT_MISFIT;
			want[nwant++].old = old;
		}
	}

	for (k = 0; k < nwant; k++) {
		if (!placer) {
			sched_placer_init(&p, d, svc);
			placer = 1;
		}
		if ((n = sched_placer_pick(&p, &g, &j)) != NULL) {
			sched_pass_emit(d, &p, &want[k], n, g, j);
			continue;
		}
		if (want[k].why == SCHED_WANT_MISFIT)
			continue;	/* it stays where it is */
		if (want[k].why == SCHED_WANT_DRAIN) {
			svc->started--;	/* it waits where it is */
			continue;
		}
		if (want[k].why == SCHED_WANT_DRAIN_NOW) {
			/* Nothing running to keep: it stops; its number is
			 * placed (or reported) like any missing one. */
			sched_emit_step(d, SCHED_STEP_REMOVE, svc, want[k].no,
			    want[k].old->node, NULL, "node %s draining: %s#%d "
			    "%s and fits on no other node: stopping it",
			    sched_node_label(want[k].old->node), svc->name,
			    want[k].no, sched_drain_forced(d,
			    want[k].old->node) ? "past the drain deadline" :
			    "not running");
			sched_doom(s, want[k].old);
			continue;
		}
		if (why == NULL)
			why = sched_filter_why(s, &svc->dm, NULL, NULL);
		if (want[k].why == SCHED_WANT_REPLACE)
			sched_emit_unplaceable(d, svc, want[k].no,
			    want[k].old->node, xstrdup(why));
		else
			sched_emit_unplaceable(d, svc, want[k].no, NULL,
			    xstrdup(why));
	}
	if (placer)
		sched_placer_free(&p);
	free(why);
	free(want);
	free(recs);
}

/* Daemon services: `instances` records on every eligible online node. */

static int
sched_inst_cmp_desc(const void *a, const void *b)
{
	return -sched_inst_cmp(a, b);
}

static void
sched_pass_daemon(struct sched_draft *d, struct sched_service *svc)
{
	struct sched *s = d->s;
	struct sched_inst **mine, *i;
	struct sched_node *n;
	unsigned char *used;
	size_t k, j, nmine, maxno = 0, next = 1, nw, w;
	uint64_t bits;
	uint32_t slot;
	char *why;
	int need;

	if (!svc->elig_valid)
		sched_elig_build(s, svc);
	mine = xcalloc(svc->ninst + 1, sizeof *mine);
	for (k = 0; k < svc->ninst; k++) {
		if ((size_t)svc->inst[k]->no > maxno)
			maxno = (size_t)svc->inst[k]->no;
	}
	used = xcalloc(maxno + s->nslots * (size_t)svc->instances + 2, 1);
	/* Records on nodes it no longer passes, or too many on one node. */
	for (k = 0; k < svc->ninst; k++) {
		i = svc->inst[k];
		n = i->node;
		if (i->doomed || i->tentative)
			continue;
		if (!sched_elig_has(svc, n->slot)) {
			sched_emit_step(d, SCHED_STEP_REMOVE, svc, i->no, n,
			    NULL, "daemon %s: node %s no longer passes its "
			    "filters", svc->name, sched_node_label(n));
			sched_doom(s, i);
			continue;
		}
		if (n->draining && (sched_drain_forced(d, n) ||
		    (n->online && sched_drain_clear(n)))) {
			sched_emit_step(d, SCHED_STEP_REMOVE, svc, i->no, n,
			    NULL, "daemon %s: node %s draining: %s", svc->name,
			    sched_node_label(n), sched_drain_forced(d, n) ?
			    "drain deadline passed" : "nothing else is left, "
			    "daemons stop last");
			sched_doom(s, i);
			continue;
		}
		if (s->cnt[n->slot] <= svc->instances)
			continue;
		nmine = 0;
		for (j = 0; j < n->ninst; j++) {
			if (n->inst[j]->svc == svc && !n->inst[j]->doomed)
				mine[nmine++] = n->inst[j];
		}
		qsort(mine, nmine, sizeof *mine, sched_inst_cmp_desc);
		for (j = 0; j < nmine - (size_t)svc->instances; j++) {
			sched_emit_step(d, SCHED_STEP_REMOVE, svc,
			    mine[j]->no, n, NULL, "daemon %s: node %s has %zu, "
			    "wants %d", svc->name, sched_node_label(n), nmine,
			    svc->instances);
			sched_doom(s, mine[j]);
		}
	}
	/* Numbers freed this round are not reused in it (container names
	 * must not collide while the old one stops). */
	for (k = 0; k < svc->ninst; k++)
		used[svc->inst[k]->no] = 1;
	/* Fill every eligible online node up to `instances`. */
	nw = (s->nslots + 63) / 64;
	for (w = 0; w < nw; w++) {
		for (bits = svc->elig[w]; bits != 0; bits &= bits - 1) {
			slot = (uint32_t)(w * 64) +
			    (uint32_t)__builtin_ctzll(bits);
			n = s->nodes[slot];
			if (!sched_node_open(n))
				continue;
			/*
			 * A node just joined, its capacity not reported yet
			 * (its node_info follows the welcome): the daemon
			 * waits for it without a word. Said as unplaceable,
			 * each round of a join storm wrote an event per new
			 * node: 21,297 for 1,000 joins.
			 */
			if (n->unmeasured && (svc->dm.mcpus > 0 ||
			    svc->dm.mem_limit > 0))
				continue;
			for (need = svc->instances - s->cnt[slot]; need > 0;
			    need--) {
				while (used[next])
					next++;
				if (!sched_filter_dynamic(&svc->dm, n) ||
				    !sched_filter_fits(&svc->dm, n)) {
					why = sched_filter_why_node(&svc->dm, n);
					sched_emit_unplaceable(d, svc,
					    (int)next, n, why);
					break;
				}
				used[next] = 1;
				sched_add(s, svc, n, (int)next, 0, d->now);
				sched_emit_step(d, SCHED_STEP_PLACE, svc,
				    (int)next, n, NULL, "daemon %s: node %s "
				    "has %d of %d", svc->name,
				    sched_node_label(n), s->cnt[slot] - 1,
				    svc->instances);
			}
		}
	}
	free(used);
	free(mine);
}

/* One service's pass; s->cnt is all zero before and after. */
void
sched_service_pass(struct sched_draft *d, struct sched_service *svc)
{
	sched_count(d->s, svc);
	if (svc->strategy == SCHED_DAEMON)
		sched_pass_daemon(d, svc);
	else
		sched_pass_stateless(d, svc);
	sched_uncount(d->s, svc);
}
