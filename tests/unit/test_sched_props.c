/*
 * test_sched_props.c - property tests for the scheduler over random grids
 * (hundreds of seeds, a few seconds in all).
 *
 * Each seed builds a grid of up to 24 nodes (azs, ephemeral and disk
 * labels, some offline) and up to 8 services (every strategy, random
 * affinity from a pool, cpu/memory/port reservations, some stateful), plans
 * from scratch, then perturbs it for several rounds (nodes join, leave,
 * return; scale; time passes; load changes) and finally lets it converge.
 * After every round it checks:
 *  - every placement went to an online node passing the hard filters, and
 *    no node holds more cpu, memory or host ports than it has;
 *  - daemon records = instances on every eligible node, less what the
 *    plan reported unplaceable; none on ineligible nodes;
 *  - stateful records never change node and never sit on ephemeral nodes;
 *  - moves started per round and in flight per service stay in budget;
 *  - the same state and seed give the same plan, and planning does not
 *    change the state;
 *  - every invariant of the state holds (sched_check(), after each plan,
 *    each apply and each batch of upserts);
 * and that planning again on the applied result of a from-scratch plan
 * (instances marked running) gives no action, as does the converged grid.
 */
#include "tests/unit/test.h"
#include "tests/unit/test_sched.h"

#define P_NODES	40
#define P_SVCS	8

struct pnode {
	char		 id[12];	/* "n<k>" */
	char		 labels[64];	/* "az=a,ephemeral=true,..." */
	int		 online;
	int		 ephemeral;
	double		 cpus;
	int64_t		 mem;
	int		 alive;		/* not removed */
};

struct pgrid {
	uint64_t	 rng;
	struct pnode	 n[P_NODES];
	int		 nn;
	struct ts_svc	 v[P_SVCS];
	char		 aff[P_SVCS][96];
	char		 names[P_SVCS][12];	/* "s<k>", room for any int */
	int		 nv;
	int		 max_round;	/* settings used */
	int		 max_svc;
};

static uint64_t
prand(struct pgrid *g)
{
	uint64_t z = (g->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int
pr(struct pgrid *g, int n)
{
	return (int)(prand(g) % (uint64_t)n);
}

static const char *pool[] = {
	"label==az=a", "label!=ephemeral=true", "label==~disk=ssd",
	"node!=n3", "label!=az=c", "label==ephemeral", "service!=s1",
	"label!=~az=b", "node!=~n1",
};

static void
pnode_put(struct sched *s, struct pnode *n, int64_t now)
{
	ts_node_full(s, n->id, n->labels, n->cpus, n->mem, n->online,
	    now - 3600000, now, 0);
}

static void
pgrid_make(struct pgrid *g, uint64_t seed)
{
	struct pnode *n;
	struct ts_svc *v;
	int i, k, r;
	size_t len;

	memset(g, 0, sizeof *g);
	g->rng = seed * 7919 + 1;
	g->nn = 1 + pr(g, 24);
	for (i = 0; i < g->nn; i++) {
		n = &g->n[i];
		snprintf(n->id, sizeof n->id, "n%d", i);
		len = 0;
		if (pr(g, 10) < 8)
			len += (size_t)snprintf(n->labels + len,
			    sizeof n->labels - len, "az=%c,", 'a' + pr(g, 3));
		if (pr(g, 4) == 0) {
			len += (size_t)snprintf(n->labels + len,
			    sizeof n->labels - len, "ephemeral=true,");
			n->ephemeral = 1;
		}
		if (pr(g, 10) < 3)
			snprintf(n->labels + len, sizeof n->labels - len,
			    "disk=ssd");
		n->online = pr(g, 10) != 0;
		n->cpus = 2 + pr(g, 7);
		n->mem = (2 + pr(g, 15)) * GIB;
		n->alive = 1;
	}
	g->nv = 1 + pr(g, P_SVCS);
	for (i = 0; i < g->nv; i++) {
		v = &g->v[i];
		snprintf(g->names[i], sizeof g->names[i], "s%d", i);
		v->id = i + 1;
		v->name = g->names[i];
		r = pr(g, 4);
		v->strategy = r < 2 ? SCHED_HA : r == 2 ? SCHED_RANDOM :
		    SCHED_DAEMON;
		v->instances = v->strategy == SCHED_DAEMON ? 1 + pr(g, 2) :
		    pr(g, 7);
		len = 0;
		for (k = pr(g, 3); k > 0; k--)
			len += (size_t)snprintf(g->aff[i] + len,
			    sizeof g->aff[i] - len, "%s;",
			    pool[pr(g, sizeof pool / sizeof pool[0])]);
		v->affinity = g->aff[i];
		v->cpus = pr(g, 3) * 0.25;
		v->mem = pr(g, 2) ? (256 + pr(g, 768)) * MIB : 0;
		v->port = pr(g, 10) == 0 ? 80 : 0;
		v->stateful = pr(g, 7) == 0;
		v->min_health = pr(g, 3) == 0 ? 0.5 : 0;
	}
	g->max_round = 1 + pr(g, 4);
	g->max_svc = 1 + pr(g, 2);
}

static struct sched *
pgrid_load(struct pgrid *g, int64_t now)
{
	struct sched *s = sched_new();
	struct sched_settings set;
	int i;

	sched_settings_default(&set);
	set.max_moves_per_round = g->max_round;
	set.max_moves_per_service = g->max_svc;
	sched_settings_set(s, &set);
	for (i = 0; i < g->nn; i++)
		pnode_put(s, &g->n[i], now);
	for (i = 0; i < g->nv; i++)
		ts_svc_put(s, &g->v[i]);
	return s;
}

static struct pnode *
pnode_find(struct pgrid *g, const char *id)
{
	int i;

	for (i = 0; i < g->nn; i++) {
		if (strcmp(g->n[i].id, id) == 0 && g->n[i].alive)
			return &g->n[i];
	}
	return NULL;
}

static int
has_label(const struct pnode *n, const char *l)
{
	char buf[80];
	size_t len = strlen(l);

	snprintf(buf, sizeof buf, ",%s,", n->labels);
	if (strchr(l, '=') != NULL) {
		char want[80];

		snprintf(want, sizeof want, ",%s,", l);
		return strstr(buf, want) != NULL;
	}
	{
		const char *p = buf;

		while ((p = strchr(p, ',')) != NULL) {
			p++;
			if (strncmp(p, l, len) == 0 &&
			    (p[len] == '=' || p[len] == ','))
				return 1;
		}
	}
	return 0;
}

/* The hard node/label rules and the stateful rule, as the test sees them. */
static int
static_ok(const struct ts_svc *v, const struct pnode *n)
{
	char rules[96], *p, *r;
	int ok = 1, neg, hit;

	if (v->stateful && n->ephemeral)
		return 0;
	snprintf(rules, sizeof rules, "%s", v->affinity);
	for (p = rules; (r = strsep(&p, ";")) != NULL;) {
		if (*r == '\0')
			continue;
		neg = strstr(r, "!=") != NULL;
		if (r[strcspn(r, "=") + 1] == '~' || strchr(r, '~') != NULL)
			continue;
		if (strncmp(r, "label", 5) == 0)
			hit = has_label(n, r + 7);
		else if (strncmp(r, "node", 4) == 0)
			hit = strcmp(n->id, r + 6) == 0;
		else
			continue;
		if (neg ? hit : !hit)
			ok = 0;
	}
	return ok;
}

/* Capacity on every node and the service!=s1 rule. */
static void
check_capacity(struct pgrid *g, struct sched *s)
{
	struct sched_instance_info *l;
	size_t n, i;
	int k;
	double cpu[P_NODES] = { 0 };
	int64_t mem[P_NODES] = { 0 };
	int port[P_NODES] = { 0 }, s1[P_NODES] = { 0 };
	struct pnode *pn;

	n = sched_instance_list(s, 0, &l);
	for (i = 0; i < n; i++) {
		pn = pnode_find(g, l[i].node_id);
		CHECK(pn != NULL);
		if (pn == NULL)
			continue;
		k = (int)(pn - g->n);
		cpu[k] += g->v[l[i].service_id - 1].cpus;
		mem[k] += g->v[l[i].service_id - 1].mem;
		port[k] += g->v[l[i].service_id - 1].port != 0;
		s1[k] += l[i].service_id == 2;
		if (g->v[l[i].service_id - 1].stateful)
			CHECK(!pn->ephemeral);
	}
	for (k = 0; k < g->nn; k++) {
		CHECK(cpu[k] <= g->n[k].cpus + 1e-9);
		CHECK(mem[k] <= g->n[k].mem);
		CHECK(port[k] <= 1);
	}
	free(l);
}

/* Placements in p went to online nodes passing the static filters. */
static void
check_steps(struct pgrid *g, const struct sched_plan *p)
{
	const struct sched_step *st;
	struct pnode *pn;
	size_t i;
	int starts = 0;

	for (i = 0; i < p->nsteps; i++) {
		st = &p->steps[i];
		if (st->kind == SCHED_STEP_MOVE_START)
			starts++;
		if (st->kind != SCHED_STEP_PLACE &&
		    st->kind != SCHED_STEP_MOVE &&
		    st->kind != SCHED_STEP_MOVE_START)
			continue;
		pn = pnode_find(g, st->node_id);
		CHECK(pn != NULL && pn->online);
		CHECK(pn != NULL && static_ok(&g->v[st->service_id - 1], pn));
		/* Stateful records never move. */
		CHECK(st->kind == SCHED_STEP_PLACE ||
		    !g->v[st->service_id - 1].stateful);
		CHECK(st->kind == SCHED_STEP_PLACE ||
		    g->v[st->service_id - 1].strategy != SCHED_DAEMON);
	}
	CHECK(starts <= g->max_round);
	CHECK(p->nmoves <= g->max_round);
}

/* Daemons: instances on each eligible online node unless unplaceable. */
static void
check_daemons(struct pgrid *g, struct sched *s, const struct sched_plan *p)
{
	struct ts_svc *v;
	struct pnode *n;
	size_t u;
	int i, k, want, have, unpl;

	for (i = 0; i < g->nv; i++) {
		v = &g->v[i];
		if (v->strategy != SCHED_DAEMON)
			continue;
		for (k = 0; k < g->nn; k++) {
			n = &g->n[k];
			if (!n->alive)
				continue;
			have = ts_count(s, v->id, n->id);
			if (!static_ok(v, n)) {
				CHECK_INT(have, 0);
				continue;
			}
			if (!n->online)
				continue;
			unpl = 0;
			for (u = 0; u < p->nunplaceable; u++) {
				if (p->unplaceable[u].service_id == v->id &&
				    p->unplaceable[u].node_id != NULL &&
				    strcmp(p->unplaceable[u].node_id,
				    n->id) == 0)
					unpl++;
			}
			want = v->instances;
			CHECK(unpl > 0 ? have < want : have == want);
		}
	}
}

/* Stateless ha/random: placed + unplaceable covers every number. */
static void
check_counts(struct pgrid *g, struct sched *s, const struct sched_plan *p)
{
	struct ts_svc *v;
	size_t u;
	int i, have, unpl;

	for (i = 0; i < g->nv; i++) {
		v = &g->v[i];
		if (v->strategy == SCHED_DAEMON)
			continue;
		have = ts_count(s, v->id, NULL);
		/* Replacements that failed are still recorded (node_id). */
		for (unpl = 0, u = 0; u < p->nunplaceable; u++)
			unpl += p->unplaceable[u].service_id == v->id &&
			    p->unplaceable[u].node_id == NULL;
		CHECK_INT(have + unpl, v->instances);
	}
}

/*
 * Records of stateful services: while (svc, no) exists it stays on its
 * node. pins holds last round's records; a record that vanished (scale
 * down, its node removed) may come back elsewhere.
 */
struct pin {
	int64_t		 svc;
	int		 no;
	char		 node[8];
};

static void
check_pins(struct pgrid *g, struct sched *s, struct pin *pins, int *npins)
{
	struct sched_instance_info *l;
	struct pin now[256];
	size_t n, i;
	int k, nnow = 0;

	n = sched_instance_list(s, 0, &l);
	for (i = 0; i < n; i++) {
		if (!g->v[l[i].service_id - 1].stateful || nnow == 256)
			continue;
		for (k = 0; k < *npins; k++) {
			if (pins[k].svc == l[i].service_id &&
			    pins[k].no == l[i].instance_no)
				CHECK_STR(pins[k].node, l[i].node_id);
		}
		now[nnow].svc = l[i].service_id;
		now[nnow].no = l[i].instance_no;
		snprintf(now[nnow].node, sizeof now[nnow].node, "%s",
		    l[i].node_id);
		nnow++;
	}
	memcpy(pins, now, (size_t)nnow * sizeof *pins);
	*npins = nnow;
	free(l);
}

/* In-flight moves per service within budget. */
static void
check_inflight(struct pgrid *g, struct sched *s)
{
	struct sched_instance_info *l;
	size_t n, i;
	int moving[P_SVCS + 1] = { 0 }, k;

	n = sched_instance_list(s, 0, &l);
	for (i = 0; i < n; i++)
		moving[l[i].service_id] += l[i].move_target;
	for (k = 1; k <= g->nv; k++)
		CHECK(moving[k] <= g->max_svc);
	free(l);
}

static int
same_plan(const struct sched_plan *a, const struct sched_plan *b)
{
	size_t i;

	if (a->nsteps != b->nsteps || a->nunplaceable != b->nunplaceable)
		return 0;
	for (i = 0; i < a->nsteps; i++) {
		if (a->steps[i].kind != b->steps[i].kind ||
		    a->steps[i].service_id != b->steps[i].service_id ||
		    a->steps[i].instance_no != b->steps[i].instance_no ||
		    strcmp(a->steps[i].reason, b->steps[i].reason) != 0 ||
		    (a->steps[i].node_id == NULL) !=
		    (b->steps[i].node_id == NULL) ||
		    (a->steps[i].node_id != NULL &&
		    strcmp(a->steps[i].node_id, b->steps[i].node_id) != 0))
			return 0;
	}
	return 1;
}

static int n_seeds, n_rounds, n_moves, n_places;

static void
perturb(struct pgrid *g, struct sched *s, int64_t now)
{
	struct pnode *n;
	struct ts_svc *v;
	int k, e;

	for (e = 1 + pr(g, 3); e > 0; e--) {
		switch (pr(g, 6)) {
		case 0:		/* a node joins */
			if (g->nn == P_NODES)
				break;
			n = &g->n[g->nn++];
			memset(n, 0, sizeof *n);
			snprintf(n->id, sizeof n->id, "n%d", (g->nn - 1) % 100);
			snprintf(n->labels, sizeof n->labels, "az=%c%s",
			    'a' + pr(g, 3), pr(g, 3) ? "" :
			    ",ephemeral=true");
			n->ephemeral = strstr(n->labels, "ephemeral") != NULL;
			n->online = n->alive = 1;
			n->cpus = 4;
			n->mem = 8 * GIB;
			ts_node_full(s, n->id, n->labels, n->cpus, n->mem, 1,
			    now, 0, 0);
			break;
		case 1:		/* a node leaves */
			n = &g->n[pr(g, g->nn)];
			if (!n->alive || !n->online)
				break;
			n->online = 0;
			ts_node_full(s, n->id, n->labels, n->cpus, n->mem, 0,
			    now - 3600000, now, 0);
			break;
		case 2:		/* a node returns */
			n = &g->n[pr(g, g->nn)];
			if (!n->alive || n->online)
				break;
			n->online = 1;
			ts_node_full(s, n->id, n->labels, n->cpus, n->mem, 1,
			    now, 0, 0);
			break;
		case 3:		/* scale */
			v = &g->v[pr(g, g->nv)];
			v->instances = v->strategy == SCHED_DAEMON ?
			    pr(g, 3) : pr(g, 9);
			ts_svc_put(s, v);
			break;
		case 4:		/* load */
			k = pr(g, g->nn);
			if (g->n[k].alive)
				sched_node_load(s, g->n[k].id, pr(g, 100), 0);
			break;
		default:	/* nothing but time */
			break;
		}
	}
}

/* Mirror REMOVE_NODE steps into the test's model. */
static void
mirror(struct pgrid *g, const struct sched_plan *p)
{
	struct pnode *n;
	size_t i;

	for (i = 0; i < p->nsteps; i++) {
		if (p->steps[i].kind == SCHED_STEP_REMOVE_NODE &&
		    (n = pnode_find(g, p->steps[i].node_id)) != NULL)
			n->alive = 0;
		if (p->steps[i].kind == SCHED_STEP_MOVE_START)
			n_moves++;
		if (p->steps[i].kind == SCHED_STEP_PLACE)
			n_places++;
	}
}

static void
one_seed(uint64_t seed)
{
	struct pgrid g, g2;
	struct sched *s, *s2;
	struct sched_plan p, q;
	struct pin pins[256];
	int npins = 0, r, k, fail_before = test_failed_now;
	int64_t now = T0;

	n_seeds++;
	pgrid_make(&g, seed);
	s = pgrid_load(&g, now);
	TS_CHECK_STATE(s);
	/* Same state, same seed: same plan; planning changes nothing. */
	g2 = g;
	s2 = pgrid_load(&g2, now);
	sched_plan(s, now, seed, NULL, &p);
	TS_CHECK_STATE(s);
	sched_plan(s2, now, seed, NULL, &q);
	CHECK(same_plan(&p, &q));
	sched_plan_clear(&q);
	sched_plan(s, now, seed, NULL, &q);
	CHECK(same_plan(&p, &q));
	sched_plan_clear(&q);
	sched_free(s2);

	/* From scratch. */
	check_steps(&g, &p);
	CHECK(sched_apply(s, &p, NULL) == 0);
	TS_CHECK_STATE(s);
	mirror(&g, &p);
	check_capacity(&g, s);
	check_daemons(&g, s, &p);
	check_counts(&g, s, &p);
	check_pins(&g, s, pins, &npins);
	sched_plan_clear(&p);
	/* Planning again on the result: no churn. */
	ts_all_running(s);
	TS_CHECK_STATE(s);
	now += 1000;
	sched_plan(s, now, seed + 1, NULL, &p);
	TS_CHECK_STATE(s);
	CHECK_INT(sched_plan_nactions(&p), 0);
	if (sched_plan_nactions(&p) != 0)
		ts_dump(&p);
	sched_plan_clear(&p);

	/* Perturbed rounds. */
	for (r = 0; r < 12; r++) {
		perturb(&g, s, now);
		TS_CHECK_STATE(s);
		now += 1000 * (1 + pr(&g, 400));
		ts_round(s, now, seed + (uint64_t)r, &p);	/* checks too */
		if (getenv("PROPS_DEBUG") != NULL) {
			struct sched_instance_info *l;
			size_t nl, i;

			printf(" round %d at %lld\n", r, (long long)now);
			ts_dump(&p);
			nl = sched_instance_list(s, 0, &l);
			for (i = 0; i < nl; i++)
				printf("  after: svc %lld #%d on %s mt %d "
				    "st %d\n", (long long)l[i].service_id,
				    l[i].instance_no, l[i].node_id,
				    l[i].move_target, l[i].state);
			free(l);
		}
		n_rounds++;
		check_steps(&g, &p);
		mirror(&g, &p);
		check_capacity(&g, s);
		check_daemons(&g, s, &p);
		check_pins(&g, s, pins, &npins);
		check_inflight(&g, s);
		sched_plan_clear(&p);
		if (pr(&g, 4) != 0)
			ts_all_running(s);
	}

	/* Converge: loads calm, time passes, everything reports running. */
	for (k = 0; k < g.nn; k++) {
		if (g.n[k].alive)
			sched_node_load(s, g.n[k].id, 50, 0);
	}
	now += 3600000;
	for (r = 0; r < 40; r++) {
		ts_all_running(s);
		ts_round(s, now, seed, &p);
		mirror(&g, &p);
		check_steps(&g, &p);
		check_capacity(&g, s);
		check_pins(&g, s, pins, &npins);
		k = (int)sched_plan_nactions(&p);
		sched_plan_clear(&p);
		if (k == 0)
			break;
		now += 1000;
	}
	CHECK(r < 40);
	ts_all_running(s);
	sched_plan(s, now + 1000, seed + 99, NULL, &p);
	TS_CHECK_STATE(s);
	CHECK_INT(sched_plan_nactions(&p), 0);
	check_counts(&g, s, &p);
	sched_plan_clear(&p);
	if (getenv("PROPS_DEBUG") != NULL) {
		struct sched_instance_info *l;
		size_t nl, i;

		nl = sched_instance_list(s, 0, &l);
		for (i = 0; i < nl; i++)
			printf("  rec svc %lld #%d on %s mt %d\n",
			    (long long)l[i].service_id, l[i].instance_no,
			    l[i].node_id, l[i].move_target);
		free(l);
	}
	if (test_failed_now && !fail_before)
		printf("  (seed %llu)\n", (unsigned long long)seed);
	sched_free(s);
}

static void
test_props_random_grids(void)
{
	uint64_t seed;

	const char *only = getenv("PROPS_SEED");

	if (only != NULL) {
		one_seed(strtoull(only, NULL, 10));
		return;
	}
	for (seed = 1; seed <= 400; seed++)
		one_seed(seed);
	fprintf(stderr, "  %d seeds, %d perturbed rounds, %d placements, "
	    "%d moves\n", n_seeds, n_rounds, n_places, n_moves);
}

int
main(void)
{
	TEST_RUN(test_props_random_grids);
	return TEST_DONE();
}
