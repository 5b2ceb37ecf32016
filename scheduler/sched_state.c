/*
 * sched_state.c - the scheduler's in-memory view of one grid: nodes,
 * services and instance records, kept in step by the master's upserts.
 *
 * Called from the master's scheduling thread only (one struct sched per
 * grid, used by one thread at a time). Each change marks only what it
 * affects: a service that needs a placement pass goes on s->dirty; a change
 * of capacity or of the node set bumps s->epoch so cached "balanced"
 * verdicts are re-checked. Invariants: node->used_* and node->ports are the
 * sums over node->inst; svc->nmoving counts svc->inst with move_target;
 * every real (non-tentative) record is in s->inst_hash exactly once, under
 * its (service, number, node slot), and in both owners' arrays at the index
 * it keeps. sched_check() (sched_check.c) checks them and the others of
 * sched_int.h; make check builds run it after every plan and apply.
 */
#include "scheduler/sched_int.h"

#include <assert.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/grid_settings.h"
#include "common/xmalloc.h"

/* Set *cause (if the caller wants one) to a formatted reason. */
static void __attribute__((format(printf, 2, 3)))
sched_cause(char **cause, const char *fmt, ...)
{
	va_list ap;

	if (cause == NULL)
		return;
	va_start(ap, fmt);
	xvasprintf(cause, fmt, ap);
	va_end(ap);
}

/*
 * The grid's settings are the single source of the timings (their table,
 * common/grid_settings.c, holds the defaults); the scheduler takes them in
 * milliseconds. The rest are the library's own tunables.
 */
void
sched_settings_from_grid(const struct grid_settings *gs,
    struct sched_settings *out)
{
	assert(gs != NULL && out != NULL);
	out->ha_grace_ms = gs->ha_grace_s * 1000;
	out->random_grace_ms = gs->random_grace_s * 1000;
	out->offline_after_ms = gs->offline_after_s * 1000;
	out->ephemeral_removal_ms = gs->ephemeral_removal_s * 1000;
	out->settle_ms = gs->rebalance_settle_s * 1000;
	out->move_cooldown_ms = gs->move_cooldown_s * 1000;
	out->job_lost_ms = gs->job_lost_grace_s * 1000;
	out->max_moves_per_service = 1;
	out->max_moves_per_round = 10;
	out->load_high = 80;
	out->load_low = 20;
}

void
sched_settings_default(struct sched_settings *out)
{
	struct grid_settings gs;

	grid_settings_default(&gs);
	sched_settings_from_grid(&gs, out);
}

struct sched *
sched_new(void)
{
	struct sched *s;

	s = xcalloc(1, sizeof *s);
	sched_settings_default(&s->set);
	sched_htab_init(&s->node_hash);
	sched_htab_init(&s->svc_hash);
	sched_htab_init(&s->inst_hash);
	sched_htab_init(&s->job_hash);
	s->queue_sorted = 1;
	s->azs = xcalloc(1, sizeof *s->azs);
	s->azs[0] = xstrdup("");
	s->naz = 1;
	s->gen = 1;
	s->epoch = 1;
	return s;
}

static void
sched_service_free(struct sched_service *svc)
{
	size_t i;

	for (i = 0; i < svc->dm.nrules; i++)
		affinity_clear(&svc->dm.rules[i]);
	free(svc->dm.rules);
	free(svc->stack);
	free(svc->name);
	free(svc->dm.full);
	free(svc->dm.ports);
	free(svc->inst);
	free(svc->elig);
	free(svc->elig_az);
	free(svc);
}

static void
sched_node_free(struct sched_node *n)
{
	size_t i;

	for (i = 0; i < n->nlabels; i++)
		free(n->labels[i]);
	free(n->labels);
	free(n->id);
	free(n->name);
	free(n->inst);
	free(n->ports);
	free(n->jobs);
	free(n);
}

void
sched_free(struct sched *s)
{
	size_t i, j;
	int k;

	if (s == NULL)
		return;
	sched_job_free_all(s);
	for (i = 0; i < s->nsvcs; i++) {
		for (j = 0; j < s->svcs[i]->ninst; j++)
			free(s->svcs[i]->inst[j]);
		sched_service_free(s->svcs[i]);
	}
	for (i = 0; i < s->nslots; i++) {
		if (s->nodes[i] != NULL)
			sched_node_free(s->nodes[i]);
	}
	for (k = 0; k < s->naz; k++)
		free(s->azs[k]);
	free(s->azs);
	free(s->svcs);
	free(s->nodes);
	free(s->free_slots);
	free(s->dirty);
	free(s->cnt);
	free(s->azcnt);
	free(s->tent);
	free(s->marked);
	sched_htab_free(&s->node_hash);
	sched_htab_free(&s->svc_hash);
	sched_htab_free(&s->inst_hash);
	free(s);
}

void
sched_settings_set(struct sched *s, const struct sched_settings *set)
{
	size_t i;

	assert(s != NULL && set != NULL);
	s->set = *set;
	if (s->set.max_moves_per_service < 0)
		s->set.max_moves_per_service = 0;
	if (s->set.max_moves_per_round < 0)
		s->set.max_moves_per_round = 0;
	/* Graces and budgets change what every service may do. */
	s->epoch++;
	for (i = 0; i < s->nsvcs; i++)
		sched_service_dirty(s, s->svcs[i]);
}

void
sched_settings_get(const struct sched *s, struct sched_settings *out)
{
	assert(s != NULL && out != NULL);
	*out = s->set;
}

size_t
sched_node_count(const struct sched *s)
{
	assert(s != NULL);
	return s->nnodes;
}

void
sched_service_dirty(struct sched *s, struct sched_service *svc)
{
	svc->dirty_gen = s->gen;
	if (svc->dirty)
		return;
	if (s->ndirty == s->dirty_cap) {
		s->dirty_cap = s->dirty_cap ? s->dirty_cap * 2 : 16;
		s->dirty = xreallocarray(s->dirty, s->dirty_cap,
		    sizeof *s->dirty);
	}
	s->dirty[s->ndirty++] = svc;
	svc->dirty = 1;
}

static void
sched_daemons_dirty(struct sched *s)
{
	size_t i;

	for (i = 0; i < s->nsvcs; i++) {
		if (s->svcs[i]->strategy == SCHED_DAEMON)
			sched_service_dirty(s, s->svcs[i]);
	}
}

/* Lookups. */

struct sched_node *
sched_node_find(const struct sched *s, const char *id)
{
	struct sched_hent *e;
	uint64_t h = sched_hash_str(id);

	for (e = sched_htab_first(&s->node_hash, h); e != NULL; e = e->next) {
		if (e->h == h && strcmp(((struct sched_node *)e)->id, id) == 0)
			return (struct sched_node *)e;
	}
	return NULL;
}

int
sched_node_measured(const struct sched *s, const char *id)
{
	const struct sched_node *n = sched_node_find(s, id);

	return n != NULL && !n->unmeasured;
}

struct sched_service *
sched_service_find(const struct sched *s, int64_t id)
{
	struct sched_hent *e;
	uint64_t h = sched_hash_u64((uint64_t)id);

	for (e = sched_htab_first(&s->svc_hash, h); e != NULL; e = e->next) {
		if (e->h == h && ((struct sched_service *)e)->id == id)
			return (struct sched_service *)e;
	}
	return NULL;
}

struct sched_inst *
sched_inst_find(const struct sched *s, const struct sched_service *svc,
    int no, const struct sched_node *node)
{
	struct sched_hent *e;
	struct sched_inst *i;
	uint64_t h = sched_hash_inst(svc->id, no, node->slot);

	for (e = sched_htab_first(&s->inst_hash, h); e != NULL; e = e->next) {
		i = (struct sched_inst *)e;
		if (e->h == h && i->svc == svc && i->no == no &&
		    i->node == node)
			return i;
	}
	return NULL;
}

/*
 * Resource accounting of one placement of d on node n (a service record,
 * a job task); sign is +1 or -1.
 */
void
sched_node_account(struct sched_node *n, const struct sched_demand *d,
    int sign)
{
	size_t i, j;

	n->used_mcpus += sign * d->mcpus;
	n->used_mem += sign * d->mem_limit;
	for (i = 0; i < d->nports; i++) {
		for (j = 0; j < n->nports; j++) {
			if (n->ports[j].port == d->ports[i].port &&
			    n->ports[j].udp == d->ports[i].udp)
				break;
		}
		if (sign > 0) {
			if (j == n->nports) {
				if (n->nports == n->ports_cap) {
					n->ports_cap = n->ports_cap ?
					    n->ports_cap * 2 : 4;
					n->ports = xreallocarray(n->ports,
					    n->ports_cap, sizeof *n->ports);
				}
				n->ports[j].port = d->ports[i].port;
				n->ports[j].udp = d->ports[i].udp;
				n->ports[j].count = 0;
				n->nports++;
			}
			n->ports[j].count++;
		} else if (j < n->nports && --n->ports[j].count == 0)
			n->ports[j] = n->ports[--n->nports];
	}
}

struct sched_inst *
sched_inst_link(struct sched *s, struct sched_service *svc,
    struct sched_node *node, int no, int tentative)
{
	struct sched_inst *i;

	assert(no >= 1 && s->nodes[node->slot] == node);
	i = xcalloc(1, sizeof *i);
	i->svc = svc;
	i->node = node;
	i->no = no;
	i->tentative = tentative;
	if (svc->ninst == svc->inst_cap) {
		svc->inst_cap = svc->inst_cap ? svc->inst_cap * 2 : 8;
		svc->inst = xreallocarray(svc->inst, svc->inst_cap,
		    sizeof *svc->inst);
	}
	i->svc_idx = svc->ninst;
	svc->inst[svc->ninst++] = i;
	if (node->ninst == node->inst_cap) {
		node->inst_cap = node->inst_cap ? node->inst_cap * 2 : 8;
		node->inst = xreallocarray(node->inst, node->inst_cap,
		    sizeof *node->inst);
	}
	i->node_idx = node->ninst;
	node->inst[node->ninst++] = i;
	sched_node_account(node, &svc->dm, 1);
	if (tentative) {
		if (s->ntent == s->tent_cap) {
			s->tent_cap = s->tent_cap ? s->tent_cap * 2 : 64;
			s->tent = xreallocarray(s->tent, s->tent_cap,
			    sizeof *s->tent);
		}
		s->tent[s->ntent++] = i;
	} else {
		sched_htab_add(&s->inst_hash, &i->hent,
		    sched_hash_inst(svc->id, no, node->slot));
		s->ninst++;
	}
	return i;
}

/*
 * The original of a move is gone (however): its replacement now simply is
 * instance no, no longer a move target.
 */
static void
sched_inst_promote(struct sched_service *svc, int no)
{
	size_t k;

	for (k = 0; k < svc->ninst; k++) {
		if (svc->inst[k]->no == no && svc->inst[k]->move_target &&
		    !svc->inst[k]->tentative) {
			svc->inst[k]->move_target = 0;
			svc->nmoving--;
			return;
		}
	}
}

void
sched_inst_unlink(struct sched *s, struct sched_inst *i)
{
	struct sched_service *svc = i->svc;
	struct sched_node *node = i->node;

	assert(svc->inst[i->svc_idx] == i && node->inst[i->node_idx] == i);
	svc->inst[i->svc_idx] = svc->inst[--svc->ninst];
	svc->inst[i->svc_idx]->svc_idx = i->svc_idx;
	node->inst[i->node_idx] = node->inst[--node->ninst];
	node->inst[i->node_idx]->node_idx = i->node_idx;
	sched_node_account(node, &svc->dm, -1);
	if (i->move_target)
		svc->nmoving--;
	else if (!i->tentative && svc->nmoving > 0)
		sched_inst_promote(svc, i->no);
	if (!i->tentative) {
		sched_htab_del(&s->inst_hash, &i->hent);
		s->ninst--;
	}
	free(i);
}

/* Nodes. */

static int
sched_az_intern(struct sched *s, const char *value)
{
	int k;

	for (k = 0; k < s->naz; k++) {
		if (strcmp(s->azs[k], value) == 0)
			return k;
	}
	s->azs = xreallocarray(s->azs, (size_t)s->naz + 1, sizeof *s->azs);
	s->azs[s->naz] = xstrdup(value);
	return s->naz++;
}

static void
sched_node_set_labels(struct sched *s, struct sched_node *n,
    const struct sched_node_info *ni)
{
	size_t i;
	const char *l;

	for (i = 0; i < n->nlabels; i++)
		free(n->labels[i]);
	free(n->labels);
	n->labels = xcalloc(ni->nlabels + 1, sizeof *n->labels);
	n->nlabels = ni->nlabels;
	n->az = 0;
	n->ephemeral = 0;
	for (i = 0; i < ni->nlabels; i++) {
		l = ni->labels[i];
		n->labels[i] = xstrdup(l);
		if (strncmp(l, "az=", 3) == 0)
			n->az = sched_az_intern(s, l + 3);
		if (strcmp(l, "ephemeral") == 0 ||
		    strncmp(l, "ephemeral=", 10) == 0)
			n->ephemeral = 1;
	}
}

static int
sched_node_labels_same(const struct sched_node *n,
    const struct sched_node_info *ni)
{
	size_t i;

	if (n->nlabels != ni->nlabels)
		return 0;
	for (i = 0; i < n->nlabels; i++) {
		if (strcmp(n->labels[i], ni->labels[i]) != 0)
			return 0;
	}
	return 1;
}

static uint32_t
sched_slot_alloc(struct sched *s)
{
	uint32_t cap;

	if (s->nfree > 0)
		return s->free_slots[--s->nfree];
	if (s->nslots == s->slot_cap) {
		cap = s->slot_cap ? s->slot_cap * 2 : 64;
		s->nodes = xreallocarray(s->nodes, cap, sizeof *s->nodes);
		memset(s->nodes + s->slot_cap, 0,
		    (cap - s->slot_cap) * sizeof *s->nodes);
		s->free_slots = xreallocarray(s->free_slots, cap,
		    sizeof *s->free_slots);
		s->cnt = xreallocarray(s->cnt, cap, sizeof *s->cnt);
		memset(s->cnt, 0, cap * sizeof *s->cnt);
		sched_elig_grow(s, cap);
		s->slot_cap = cap;
	}
	return s->nslots++;
}

int
sched_node_upsert(struct sched *s, const struct sched_node_info *ni,
    char **cause)
{
	struct sched_node *n;
	int64_t mcpus = (int64_t)(ni->cpus * 1000 + 0.5);
	int changed = 0;
	size_t i;

	assert(s != NULL && ni != NULL);
	assert(ni->nlabels == 0 || ni->labels != NULL);
	if (ni->id == NULL || ni->id[0] == '\0') {
		sched_cause(cause, "node has no id");
		return -1;
	}
	n = sched_node_find(s, ni->id);
	if (n == NULL) {
		n = xcalloc(1, sizeof *n);
		n->id = xstrdup(ni->id);
		n->name = xstrdup(ni->name != NULL ? ni->name : "");
		sched_node_set_labels(s, n, ni);
		n->slot = sched_slot_alloc(s);
		s->nodes[n->slot] = n;
		s->nnodes++;
		sched_htab_add(&s->node_hash, &n->hent, sched_hash_str(n->id));
		changed = 1;
	} else if (strcmp(n->name, ni->name != NULL ? ni->name : "") != 0 ||
	    !sched_node_labels_same(n, ni)) {
		/* Take its bits out under the old labels (and az) first. */
		sched_elig_update(s, n, 1);
		free(n->name);
		n->name = xstrdup(ni->name != NULL ? ni->name : "");
		sched_node_set_labels(s, n, ni);
		changed = 1;
		/* Records here may no longer pass their service's rules. */
		for (i = 0; i < n->ninst; i++)
			sched_service_dirty(s, n->inst[i]->svc);
	}
	if (changed)
		sched_elig_update(s, n, 0);
	if (changed || n->online != (ni->online != 0) ||
	    n->engine_down != (ni->engine_down != 0) ||
	    n->mcpus != mcpus || n->memory != ni->memory ||
	    n->unmeasured != (ni->unmeasured != 0) ||
	    n->joined_at_ms != ni->joined_at_ms ||
	    n->offline_since_ms != ni->offline_since_ms) {
		n->online = ni->online != 0;
		n->engine_down = ni->engine_down != 0;
		n->mcpus = mcpus;
		n->memory = ni->memory;
		n->unmeasured = ni->unmeasured != 0;
		n->joined_at_ms = ni->joined_at_ms;
		n->offline_since_ms = ni->online ? 0 : ni->offline_since_ms;
		s->epoch++;
		sched_daemons_dirty(s);
	}
	sched_node_cordon(s, n->id, ni->cordoned, ni->draining,
	    ni->drain_deadline_ms);
	n->load_cpu = ni->load_cpu;
	n->load_mem = ni->load_mem;
	return 0;
}

int
sched_node_cordon(struct sched *s, const char *id, int cordoned,
    int draining, int64_t drain_deadline_ms)
{
	struct sched_node *n;
	size_t i;

	assert(s != NULL && id != NULL);
	if ((n = sched_node_find(s, id)) == NULL)
		return -1;
	/* A drain implies a cordon; only a drain has a deadline. */
	cordoned = cordoned != 0 || draining != 0;
	draining = draining != 0;
	if (!draining)
		drain_deadline_ms = 0;
	if (n->cordoned == cordoned && n->draining == draining &&
	    n->drain_deadline_ms == drain_deadline_ms)
		return 0;
	n->cordoned = cordoned;
	n->draining = draining;
	n->drain_deadline_ms = drain_deadline_ms;
	s->epoch++;
	s->jobs_gen++;
	sched_daemons_dirty(s);
	for (i = 0; i < n->ninst; i++)
		sched_service_dirty(s, n->inst[i]->svc);
	return 0;
}

int
sched_node_load(struct sched *s, const char *id, double load_cpu,
    int64_t load_mem)
{
	struct sched_node *n;

	assert(s != NULL && id != NULL);
	if ((n = sched_node_find(s, id)) == NULL)
		return -1;
	n->load_cpu = load_cpu;
	n->load_mem = load_mem;
	return 0;
}

/* Forget n and its records (they must all be real). */
void
sched_node_drop(struct sched *s, struct sched_node *n)
{
	assert(s->nodes[n->slot] == n && s->ntent == 0);
	sched_job_drop_node(s, n);
	while (n->ninst > 0) {
		sched_service_dirty(s, n->inst[n->ninst - 1]->svc);
		n->inst[n->ninst - 1]->svc->version++;
		sched_inst_unlink(s, n->inst[n->ninst - 1]);
	}
	sched_elig_update(s, n, 1);
	sched_htab_del(&s->node_hash, &n->hent);
	s->nodes[n->slot] = NULL;
	s->free_slots[s->nfree++] = n->slot;
	s->nnodes--;
	s->epoch++;
	sched_node_free(n);
}

int
sched_node_remove(struct sched *s, const char *id)
{
	struct sched_node *n;

	assert(s != NULL && id != NULL);
	if ((n = sched_node_find(s, id)) == NULL)
		return -1;
	sched_node_drop(s, n);
	return 0;
}

/* Services. */

static int
sched_rules_same(const struct sched_service *svc,
    const struct affinity *rules, size_t nrules)
{
	size_t i;

	if (svc->dm.nrules != nrules)
		return 0;
	for (i = 0; i < nrules; i++) {
		if (svc->dm.rules[i].kind != rules[i].kind ||
		    svc->dm.rules[i].negate != rules[i].negate ||
		    svc->dm.rules[i].soft != rules[i].soft ||
		    strcmp(svc->dm.rules[i].value, rules[i].value) != 0)
			return 0;
	}
	return 1;
}

static void
sched_service_insert(struct sched *s, struct sched_service *svc)
{
	size_t lo = 0, hi = s->nsvcs, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (s->svcs[mid]->id < svc->id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (s->nsvcs == s->svcs_cap) {
		s->svcs_cap = s->svcs_cap ? s->svcs_cap * 2 : 16;
		s->svcs = xreallocarray(s->svcs, s->svcs_cap,
		    sizeof *s->svcs);
	}
	memmove(s->svcs + lo + 1, s->svcs + lo,
	    (s->nsvcs - lo) * sizeof *s->svcs);
	s->svcs[lo] = svc;
	s->nsvcs++;
	sched_htab_add(&s->svc_hash, &svc->hent, sched_hash_u64(
	    (uint64_t)svc->id));
}

int
sched_service_upsert(struct sched *s, const struct sched_service_info *si,
    char **cause)
{
	struct sched_service *svc;
	struct affinity *rules;
	char *why = NULL;
	size_t i;
	int stateful = si->stateful != 0;

	assert(s != NULL && si != NULL);
	assert(si->strategy >= SCHED_HA && si->strategy <= SCHED_DAEMON);
	assert(si->naffinity == 0 || si->affinity != NULL);
	assert(si->nports == 0 || si->ports != NULL);
	if (si->id <= 0 || si->name == NULL || si->name[0] == '\0') {
		sched_cause(cause, "service needs an id > 0 and a name");
		return -1;
	}
	if (si->instances < 0) {
		sched_cause(cause, "service %s: instances < 0", si->name);
		return -1;
	}
	rules = xcalloc(si->naffinity + 1, sizeof *rules);
	for (i = 0; i < si->naffinity; i++) {
		if (affinity_parse(si->affinity[i], &rules[i], &why) != 0) {
			if (cause != NULL)
				*cause = why;
			else
				free(why);
			while (i-- > 0)
				affinity_clear(&rules[i]);
			free(rules);
			return -1;
		}
	}
	if ((svc = sched_service_find(s, si->id)) == NULL) {
		svc = xcalloc(1, sizeof *svc);
		svc->id = si->id;
		sched_service_insert(s, svc);
	} else {
		if (!sched_rules_same(svc, rules, si->naffinity) ||
		    svc->dm.stateful != stateful) {
			svc->elig_valid = 0;
			free(svc->elig);
			svc->elig = NULL;
		}
		for (i = 0; i < svc->dm.nrules; i++)
			affinity_clear(&svc->dm.rules[i]);
		free(svc->dm.rules);
		free(svc->stack);
		free(svc->name);
		free(svc->dm.full);
		/* Re-account the records with the new reservations. */
		for (i = 0; i < svc->ninst; i++)
			sched_node_account(svc->inst[i]->node, &svc->dm, -1);
		free(svc->dm.ports);
	}
	svc->dm.rules = rules;
	svc->dm.nrules = si->naffinity;
	svc->dm.nsoft = 0;
	svc->dm.has_dynamic = 0;
	for (i = 0; i < svc->dm.nrules; i++) {
		if (rules[i].soft)
			svc->dm.nsoft++;
		else if (rules[i].kind == AFFINITY_SERVICE ||
		    rules[i].kind == AFFINITY_CONTAINER)
			svc->dm.has_dynamic = 1;
	}
	svc->stack = xstrdup(si->stack != NULL ? si->stack : "");
	svc->name = xstrdup(si->name);
	if (svc->stack[0] != '\0')
		xasprintf(&svc->dm.full, "%s/%s", svc->stack, svc->name);
	else
		svc->dm.full = xstrdup(svc->name);
	svc->strategy = si->strategy;
	svc->instances = si->instances;
	svc->dm.mcpus = (int64_t)(si->cpus * 1000 + 0.5);
	svc->dm.mem_limit = si->mem_limit;
	svc->dm.ports = xcalloc(si->nports + 1, sizeof *svc->dm.ports);
	if (si->nports > 0)
		memcpy(svc->dm.ports, si->ports, si->nports * sizeof *si->ports);
	svc->dm.nports = si->nports;
	for (i = 0; i < svc->ninst; i++)
		sched_node_account(svc->inst[i]->node, &svc->dm, 1);
	svc->dm.stateful = stateful;
	svc->min_health = si->min_health;
	svc->rev = si->rev;
	svc->version++;
	s->epoch++;
	sched_service_dirty(s, svc);
	return 0;
}

int
sched_service_remove(struct sched *s, int64_t id)
{
	struct sched_service *svc;
	size_t i;

	assert(s != NULL);
	if ((svc = sched_service_find(s, id)) == NULL)
		return -1;
	while (svc->ninst > 0)
		sched_inst_unlink(s, svc->inst[svc->ninst - 1]);
	for (i = 0; i < s->nsvcs; i++) {
		if (s->svcs[i] == svc) {
			memmove(s->svcs + i, s->svcs + i + 1,
			    (s->nsvcs - i - 1) * sizeof *s->svcs);
			s->nsvcs--;
			break;
		}
	}
	for (i = 0; i < s->ndirty; i++) {
		if (s->dirty[i] == svc) {
			memmove(s->dirty + i, s->dirty + i + 1,
			    (s->ndirty - i - 1) * sizeof *s->dirty);
			s->ndirty--;
			break;
		}
	}
	sched_htab_del(&s->svc_hash, &svc->hent);
	s->epoch++;
	/* Other services' service==/container== rules may change. */
	for (i = 0; i < s->nsvcs; i++) {
		if (s->svcs[i]->dm.has_dynamic)
			sched_service_dirty(s, s->svcs[i]);
	}
	sched_service_free(svc);
	return 0;
}

/* Instances. */

int
sched_instance_upsert(struct sched *s, const struct sched_instance_info *ii,
    char **cause)
{
	struct sched_service *svc;
	struct sched_node *n;
	struct sched_inst *i;

	assert(s != NULL && ii != NULL);
	assert(ii->state >= SCHED_PENDING && ii->state <= SCHED_ERROR);
	if ((svc = sched_service_find(s, ii->service_id)) == NULL) {
		sched_cause(cause, "instance of unknown service %lld",
		    (long long)ii->service_id);
		return -1;
	}
	if (ii->node_id == NULL || (n = sched_node_find(s, ii->node_id)) ==
	    NULL) {
		sched_cause(cause, "instance %s#%d on unknown node %s", svc->name,
		    ii->instance_no, ii->node_id ? ii->node_id : "(null)");
		return -1;
	}
	if (ii->instance_no < 1) {
		sched_cause(cause, "instance %s#%d: numbers start at 1",
		    svc->name, ii->instance_no);
		return -1;
	}
	if ((i = sched_inst_find(s, svc, ii->instance_no, n)) == NULL)
		i = sched_inst_link(s, svc, n, ii->instance_no, 0);
	if (i->move_target != (ii->move_target != 0))
		svc->nmoving += ii->move_target ? 1 : -1;
	i->move_target = ii->move_target != 0;
	i->state = ii->state;
	i->created_at_ms = ii->created_at_ms;
	i->moved_at_ms = ii->moved_at_ms;
	svc->version++;
	sched_service_dirty(s, svc);
	return 0;
}

int
sched_instance_remove(struct sched *s, int64_t service_id, int instance_no,
    const char *node_id)
{
	struct sched_service *svc;
	struct sched_node *n;
	struct sched_inst *i;

	assert(s != NULL && node_id != NULL);
	if ((svc = sched_service_find(s, service_id)) == NULL ||
	    (n = sched_node_find(s, node_id)) == NULL ||
	    (i = sched_inst_find(s, svc, instance_no, n)) == NULL)
		return -1;
	sched_inst_unlink(s, i);
	svc->version++;
	s->epoch++;
	sched_service_dirty(s, svc);
	return 0;
}

size_t
sched_instance_list(const struct sched *s, int64_t service_id,
    struct sched_instance_info **out)
{
	struct sched_instance_info *l;
	struct sched_service *svc;
	struct sched_inst *i;
	size_t n = 0, k, j;

	assert(s != NULL && out != NULL);
	l = xcalloc(s->ninst + 1, sizeof *l);
	for (k = 0; k < s->nsvcs; k++) {
		svc = s->svcs[k];
		if (service_id != 0 && svc->id != service_id)
			continue;
		for (j = 0; j < svc->ninst; j++) {
			i = svc->inst[j];
			if (i->tentative)
				continue;
			l[n].service_id = svc->id;
			l[n].instance_no = i->no;
			l[n].node_id = i->node->id;
			l[n].state = i->state;
			l[n].created_at_ms = i->created_at_ms;
			l[n].moved_at_ms = i->moved_at_ms;
			l[n].move_target = i->move_target;
			n++;
		}
	}
	*out = l;
	return n;
}
