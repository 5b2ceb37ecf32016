/*
 * sched_check.c - sched_check(): every invariant of struct sched that the
 * other files state in prose (sched_state.c, sched_int.h, sched_hash.c,
 * sched_plan.c, sched_emit.c), checked one by one, so that a broken one is
 * named the moment it breaks instead of surfacing rounds later as a wrong
 * plan.
 *
 * Called between the library's calls, never inside sched_plan(): by the
 * property test after every round, by the unit tests' round helper, and by
 * sched_plan() and sched_apply() themselves in builds with BERTH_CHECK
 * defined (make check's SAN=1 builds), which abort on a broken invariant.
 * Release builds never call it. It reads only; it costs O(records + nodes
 * x services), a test tool rather than something for the master's rounds.
 *
 * Each failure's cause starts with the invariant as sched_int.h words it,
 * then the record, node or service that breaks it.
 */
#include "scheduler/sched_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"

/* Set *cause (if wanted) and return -1. */
static int __attribute__((format(printf, 2, 3)))
sched_check_fail(char **cause, const char *fmt, ...)
{
	va_list ap;

	if (cause != NULL) {
		va_start(ap, fmt);
		xvasprintf(cause, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int
sched_check_settings(const struct sched *s, char **cause)
{
	if (s->set.max_moves_per_service < 0 || s->set.max_moves_per_round < 0)
		return sched_check_fail(cause, "move budgets are >= 0: "
		    "per service %d, per round %d",
		    s->set.max_moves_per_service, s->set.max_moves_per_round);
	return 0;
}

static int
sched_check_azs(const struct sched *s, char **cause)
{
	int a, b;

	if (s->naz < 1 || s->azs == NULL || strcmp(s->azs[0], "") != 0)
		return sched_check_fail(cause, "azs[0] is the empty az \"\": "
		    "naz %d", s->naz);
	for (a = 1; a < s->naz; a++) {
		for (b = 0; b < a; b++) {
			if (strcmp(s->azs[a], s->azs[b]) == 0)
				return sched_check_fail(cause, "az values are "
				    "interned once: \"%s\" at %d and %d",
				    s->azs[a], b, a);
		}
	}
	return 0;
}

/*
 * A chained table: nb a power of two, n <= nb (sched_hash.c), every entry
 * in the bucket its hash names, n entries in all (and no chain loops).
 */
static int
sched_check_htab(const struct sched_htab *t, const char *name, char **cause)
{
	const struct sched_hent *e;
	size_t b, n = 0;

	if (t->nb == 0 || (t->nb & (t->nb - 1)) != 0 || t->n > t->nb ||
	    t->b == NULL)
		return sched_check_fail(cause, "%s: buckets are a power of two "
		    "and n <= nb: nb %zu, n %zu", name, t->nb, t->n);
	for (b = 0; b < t->nb; b++) {
		for (e = t->b[b]; e != NULL; e = e->next) {
			if ((e->h & (t->nb - 1)) != b)
				return sched_check_fail(cause, "%s: an entry "
				    "sits in the bucket of its hash: bucket "
				    "%zu holds one of bucket %zu", name, b,
				    (size_t)(e->h & (t->nb - 1)));
			if (++n > t->n)
				return sched_check_fail(cause, "%s: n counts "
				    "its entries: more than %zu (a chain "
				    "loops?)", name, t->n);
		}
	}
	if (n != t->n)
		return sched_check_fail(cause, "%s: n counts its entries: n "
		    "%zu, found %zu", name, t->n, n);
	return 0;
}

/* The az and ephemeral flag sched_node_set_labels() derives from labels. */
static int
sched_check_node_labels(const struct sched *s, const struct sched_node *n,
    char **cause)
{
	size_t i;
	int k, az = 0, eph = 0;

	for (i = 0; i < n->nlabels; i++) {
		if (strncmp(n->labels[i], "az=", 3) == 0) {
			for (k = 0; k < s->naz; k++) {
				if (strcmp(s->azs[k], n->labels[i] + 3) == 0)
					break;
			}
			az = k;
		}
		if (strcmp(n->labels[i], "ephemeral") == 0 ||
		    strncmp(n->labels[i], "ephemeral=", 10) == 0)
			eph = 1;
	}
	if (n->az != az)
		return sched_check_fail(cause, "node->az is its az label's "
		    "index in azs: node %s has %d, its labels say %d",
		    sched_node_label(n), n->az, az);
	if (n->ephemeral != eph)
		return sched_check_fail(cause, "node->ephemeral is 1 iff it has "
		    "a label with key ephemeral: node %s has %d",
		    sched_node_label(n), n->ephemeral);
	return 0;
}

/*
 * used_mcpus and used_mem are the sums over node->inst and node->jobs;
 * ports the sum over node->inst (tasks bind none).
 */
static int
sched_check_node_use(const struct sched_node *n, char **cause)
{
	const struct sched_service *svc;
	int64_t mcpus = 0, mem = 0;
	size_t k, j, p, want, total = 0, bound = 0;

	for (k = 0; k < n->ninst; k++) {
		mcpus += n->inst[k]->svc->dm.mcpus;
		mem += n->inst[k]->svc->dm.mem_limit;
		bound += n->inst[k]->svc->dm.nports;
	}
	for (k = 0; k < n->njobs; k++) {
		mcpus += n->jobs[k]->dm.mcpus;
		mem += n->jobs[k]->dm.mem_limit;
		if (n->jobs[k]->dm.nports != 0)
			return sched_check_fail(cause, "a job task binds no "
			    "port: job %s#%d", n->jobs[k]->name,
			    n->jobs[k]->index);
	}
	if (n->used_mcpus != mcpus)
		return sched_check_fail(cause, "node->used_mcpus is the sum "
		    "over node->inst and node->jobs: node %s has %lld, its "
		    "records and tasks %lld",
		    sched_node_label(n), (long long)n->used_mcpus,
		    (long long)mcpus);
	if (n->used_mem != mem)
		return sched_check_fail(cause, "node->used_mem is the sum "
		    "over node->inst and node->jobs: node %s has %lld, its "
		    "records and tasks %lld",
		    sched_node_label(n), (long long)n->used_mem,
		    (long long)mem);
	if (n->nports > n->ports_cap)
		return sched_check_fail(cause, "node->nports <= ports_cap: "
		    "node %s", sched_node_label(n));
	for (p = 0; p < n->nports; p++) {
		for (j = 0; j < p; j++) {
			if (n->ports[j].port == n->ports[p].port &&
			    n->ports[j].udp == n->ports[p].udp)
				return sched_check_fail(cause, "node->ports "
				    "holds a port once: node %s has %d/%s "
				    "twice", sched_node_label(n),
				    n->ports[p].port,
				    n->ports[p].udp ? "udp" : "tcp");
		}
		want = 0;
		for (k = 0; k < n->ninst; k++) {
			svc = n->inst[k]->svc;
			for (j = 0; j < svc->dm.nports; j++)
				want += svc->dm.ports[j].port ==
				    n->ports[p].port &&
				    svc->dm.ports[j].udp == n->ports[p].udp;
		}
		if (want == 0 || (size_t)n->ports[p].count != want)
			return sched_check_fail(cause, "node->ports is the "
			    "sum over node->inst: node %s counts %d use(s) "
			    "of %d/%s, its records %zu", sched_node_label(n),
			    n->ports[p].count, n->ports[p].port,
			    n->ports[p].udp ? "udp" : "tcp", want);
		total += want;
	}
	if (total != bound)
		return sched_check_fail(cause, "node->ports is the sum over "
		    "node->inst: node %s lists %zu bindings, its records "
		    "have %zu", sched_node_label(n), total, bound);
	return 0;
}

/* One node, in its slot: hash, labels, use, and its records' back links. */
static int
sched_check_node(const struct sched *s, const struct sched_node *n,
    char **cause)
{
	const struct sched_inst *i;
	size_t k;

	if (n->id == NULL || n->id[0] == '\0' || n->name == NULL)
		return sched_check_fail(cause, "a node has an id and a name");
	if (sched_node_find(s, n->id) != n ||
	    n->hent.h != sched_hash_str(n->id))
		return sched_check_fail(cause, "every node is in node_hash "
		    "under its id: node %s", sched_node_label(n));
	if (n->az < 0 || n->az >= s->naz)
		return sched_check_fail(cause, "node->az indexes azs: node %s "
		    "has %d of %d", sched_node_label(n), n->az, s->naz);
	if (sched_check_node_labels(s, n, cause) != 0)
		return -1;
	if (n->online && n->offline_since_ms != 0)
		return sched_check_fail(cause, "offline_since_ms is 0 while "
		    "online: node %s has %lld", sched_node_label(n),
		    (long long)n->offline_since_ms);
	if (n->doomed)
		return sched_check_fail(cause, "round flags are undone when "
		    "sched_plan returns: node %s is doomed",
		    sched_node_label(n));
	if (n->ninst > n->inst_cap)
		return sched_check_fail(cause, "node->ninst <= inst_cap: node "
		    "%s", sched_node_label(n));
	for (k = 0; k < n->ninst; k++) {
		i = n->inst[k];
		if (i->node != n || i->node_idx != k)
			return sched_check_fail(cause, "a record knows its index "
			    "in node->inst: node %s slot %zu holds a record "
			    "saying node %s index %zu", sched_node_label(n), k,
			    sched_node_label(i->node), i->node_idx);
		if (i->svc_idx >= i->svc->ninst ||
		    i->svc->inst[i->svc_idx] != i)
			return sched_check_fail(cause, "a record knows its index "
			    "in svc->inst: %s#%d on %s says %zu",
			    i->svc->dm.full, i->no, sched_node_label(n),
			    i->svc_idx);
	}
	return sched_check_node_use(n, cause);
}

/* The slot array, the free-slot stack, node_hash and every node. */
static int
sched_check_nodes(const struct sched *s, char **cause)
{
	unsigned char *freed;
	uint32_t slot, f;
	size_t live = 0, k;
	int rc = -1;

	if (s->nslots > s->slot_cap || s->nfree > s->nslots)
		return sched_check_fail(cause, "nfree <= nslots <= slot_cap: "
		    "%u, %u, %u", s->nfree, s->nslots, s->slot_cap);
	freed = xcalloc((size_t)s->nslots + 1, 1);
	for (k = 0; k < s->nfree; k++) {
		f = s->free_slots[k];
		if (f >= s->nslots || s->nodes[f] != NULL || freed[f]) {
			sched_check_fail(cause, "free_slots holds each empty "
			    "slot once: slot %u", f);
			goto out;
		}
		freed[f] = 1;
	}
	for (slot = 0; slot < s->slot_cap; slot++) {
		if (s->cnt[slot] != 0) {
			sched_check_fail(cause, "s->cnt is all zero outside a "
			    "service's count: slot %u has %d", slot,
			    s->cnt[slot]);
			goto out;
		}
		if (s->nodes[slot] == NULL) {
			if (slot < s->nslots && !freed[slot]) {
				sched_check_fail(cause, "free_slots holds each "
				    "empty slot once: slot %u is missing",
				    slot);
				goto out;
			}
			continue;
		}
		if (slot >= s->nslots || s->nodes[slot]->slot != slot) {
			sched_check_fail(cause, "a node knows its slot: slot %u "
			    "holds node %s of slot %u (nslots %u)", slot,
			    sched_node_label(s->nodes[slot]),
			    s->nodes[slot]->slot, s->nslots);
			goto out;
		}
		if (sched_check_node(s, s->nodes[slot], cause) != 0)
			goto out;
		live++;
	}
	if (live != s->nnodes || s->nfree + live != s->nslots) {
		sched_check_fail(cause, "nnodes counts the live slots: nnodes "
		    "%zu, live %zu, free %u, slots %u", s->nnodes, live,
		    s->nfree, s->nslots);
		goto out;
	}
	if (s->node_hash.n != s->nnodes) {
		sched_check_fail(cause, "node_hash holds every node once: %zu "
		    "entries, %zu nodes", s->node_hash.n, s->nnodes);
		goto out;
	}
	rc = 0;
out:
	free(freed);
	return rc;
}

/* The static-filter bitmap and its per-az counts, when built. */
static int
sched_check_elig(const struct sched *s, const struct sched_service *svc,
    char **cause)
{
	const struct sched_node *n;
	uint32_t slot, nelig = 0;
	size_t nw = (s->nslots + 63) / 64;
	int *perz, az, has, want, rc = -1;

	if (svc->elig_valid != (svc->elig != NULL))
		return sched_check_fail(cause, "elig is built iff elig_valid: "
		    "service %s", svc->dm.full);
	if (!svc->elig_valid)
		return 0;
	if (svc->elig_az_cap > s->naz)
		return sched_check_fail(cause, "elig_az has at most naz "
		    "entries: service %s has %d of %d", svc->dm.full,
		    svc->elig_az_cap, s->naz);
	perz = xcalloc((size_t)s->naz, sizeof *perz);
	for (slot = 0; slot < nw * 64; slot++) {
		has = sched_elig_has(svc, slot);
		n = slot < s->nslots ? s->nodes[slot] : NULL;
		want = n != NULL && sched_filter_static(&svc->dm, n);
		if (has != want) {
			sched_check_fail(cause, "elig holds exactly the nodes "
			    "passing the static filters: service %s, slot %u "
			    "(node %s) has bit %d", svc->dm.full, slot,
			    n != NULL ? sched_node_label(n) : "-", has);
			goto out;
		}
		if (has) {
			nelig++;
			perz[n->az]++;
		}
	}
	if (nelig != svc->nelig) {
		sched_check_fail(cause, "nelig counts the bits in elig: service "
		    "%s has %u, bits %u", svc->dm.full, svc->nelig, nelig);
		goto out;
	}
	for (az = 0; az < s->naz; az++) {
		if (perz[az] != (az < svc->elig_az_cap ? svc->elig_az[az] : 0)) {
			sched_check_fail(cause, "elig_az counts eligible nodes "
			    "per az: service %s, az \"%s\": %d, nodes %d",
			    svc->dm.full, s->azs[az], az < svc->elig_az_cap ?
			    svc->elig_az[az] : 0, perz[az]);
			goto out;
		}
	}
	rc = 0;
out:
	free(perz);
	return rc;
}

/* A record of svc: back links, key, and exactly one place in inst_hash. */
static int
sched_check_inst(const struct sched *s, const struct sched_service *svc,
    size_t k, char **cause)
{
	const struct sched_inst *i = svc->inst[k];
	const struct sched_hent *e;
	const struct sched_inst *o;
	int self = 0, same = 0;

	if (i->svc != svc || i->svc_idx != k)
		return sched_check_fail(cause, "a record knows its index in "
		    "svc->inst: service %s index %zu", svc->dm.full, k);
	if (i->node->slot >= s->nslots || s->nodes[i->node->slot] != i->node)
		return sched_check_fail(cause, "a record's node is live: "
		    "%s#%d", svc->dm.full, i->no);
	if (i->node_idx >= i->node->ninst ||
	    i->node->inst[i->node_idx] != i)
		return sched_check_fail(cause, "a record knows its index in "
		    "node->inst: %s#%d on %s says %zu", svc->dm.full, i->no,
		    sched_node_label(i->node), i->node_idx);
	if (i->no < 1)
		return sched_check_fail(cause, "instance numbers start at 1: "
		    "%s#%d on %s", svc->dm.full, i->no,
		    sched_node_label(i->node));
	if (i->tentative || i->doomed || i->moving)
		return sched_check_fail(cause, "round flags are undone when "
		    "sched_plan returns: %s#%d on %s is%s%s%s", svc->dm.full,
		    i->no, sched_node_label(i->node),
		    i->tentative ? " tentative" : "",
		    i->doomed ? " doomed" : "", i->moving ? " moving" : "");
	if (i->hent.h != sched_hash_inst(svc->id, i->no, i->node->slot))
		return sched_check_fail(cause, "every real record is in "
		    "inst_hash under (service, number, node slot): %s#%d on "
		    "%s has a stale hash", svc->dm.full, i->no,
		    sched_node_label(i->node));
	for (e = sched_htab_first(&s->inst_hash, i->hent.h); e != NULL;
	    e = e->next) {
		o = (const struct sched_inst *)e;
		if (o == i)
			self++;
		else if (e->h == i->hent.h && o->svc == svc &&
		    o->no == i->no && o->node == i->node)
			same++;
	}
	if (self != 1 || same != 0)
		return sched_check_fail(cause, "every real record is in "
		    "inst_hash exactly once: %s#%d on %s is there %d times, "
		    "with %d other records of the same key", svc->dm.full, i->no,
		    sched_node_label(i->node), self, same);
	return 0;
}

/* One service: hash, derived fields, records, nmoving, elig, flags. */
static int
sched_check_service(const struct sched *s, const struct sched_service *svc,
    char **cause)
{
	size_t k, rlen = strlen(svc->stack);
	int nsoft = 0, dyn = 0, nmoving = 0;

	if (svc->id <= 0 || sched_service_find(s, svc->id) != svc ||
	    svc->hent.h != sched_hash_u64((uint64_t)svc->id))
		return sched_check_fail(cause, "every service is in svc_hash "
		    "under its id > 0: service %lld", (long long)svc->id);
	if (strncmp(svc->dm.full, svc->stack, rlen) != 0 || (rlen > 0 &&
	    svc->dm.full[rlen++] != '/') || strcmp(svc->dm.full + rlen,
	    svc->name) != 0)
		return sched_check_fail(cause, "svc->dm.full is \"stack/name\" "
		    "(or name): service %lld has \"%s\"", (long long)svc->id,
		    svc->dm.full);
	for (k = 0; k < svc->dm.nrules; k++) {
		if (svc->dm.rules[k].soft)
			nsoft++;
		else if (svc->dm.rules[k].kind == AFFINITY_SERVICE ||
		    svc->dm.rules[k].kind == AFFINITY_CONTAINER)
			dyn = 1;
	}
	if (svc->dm.nsoft != nsoft || svc->dm.has_dynamic != dyn)
		return sched_check_fail(cause, "nsoft and has_dynamic describe "
		    "the rules: service %s has %d and %d, rules say %d and %d",
		    svc->dm.full, svc->dm.nsoft, svc->dm.has_dynamic, nsoft, dyn);
	if (svc->ninst > svc->inst_cap)
		return sched_check_fail(cause, "svc->ninst <= inst_cap: "
		    "service %s", svc->dm.full);
	for (k = 0; k < svc->ninst; k++) {
		if (sched_check_inst(s, svc, k, cause) != 0)
			return -1;
		nmoving += svc->inst[k]->move_target != 0;
	}
	if (svc->nmoving != nmoving)
		return sched_check_fail(cause, "svc->nmoving counts the records "
		    "with move_target: service %s has %d, records %d",
		    svc->dm.full, svc->nmoving, nmoving);
	if (svc->dirty_gen > s->gen)
		return sched_check_fail(cause, "dirty_gen <= s->gen: service "
		    "%s", svc->dm.full);
	if (svc->pass != SCHED_PASS_NONE || svc->started != 0 ||
	    svc->unplaced != 0)
		return sched_check_fail(cause, "round flags are undone when "
		    "sched_plan returns: service %s has pass %d, started %d, "
		    "unplaced %d", svc->dm.full, (int)svc->pass, svc->started,
		    svc->unplaced);
	return sched_check_elig(s, svc, cause);
}

static int
sched_id_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* The sorted array, svc_hash, the record totals and the dirty list. */
static int
sched_check_services(const struct sched *s, char **cause)
{
	const struct sched_service *svc;
	int64_t *ids;
	size_t k, ninst = 0, nnode = 0, ndirty = 0;
	uint32_t slot;

	if (s->nsvcs > s->svcs_cap || s->ndirty > s->dirty_cap)
		return sched_check_fail(cause, "arrays fit their allocation: "
		    "nsvcs %zu of %zu, ndirty %zu of %zu", s->nsvcs,
		    s->svcs_cap, s->ndirty, s->dirty_cap);
	for (k = 0; k < s->nsvcs; k++) {
		svc = s->svcs[k];
		if (k > 0 && s->svcs[k - 1]->id >= svc->id)
			return sched_check_fail(cause, "svcs is sorted by id: "
			    "%lld before %lld", (long long)s->svcs[k - 1]->id,
			    (long long)svc->id);
		if (sched_check_service(s, svc, cause) != 0)
			return -1;
		ninst += svc->ninst;
		ndirty += svc->dirty != 0;
	}
	if (s->svc_hash.n != s->nsvcs)
		return sched_check_fail(cause, "svc_hash holds every service "
		    "once: %zu entries, %zu services", s->svc_hash.n,
		    s->nsvcs);
	for (slot = 0; slot < s->nslots; slot++) {
		if (s->nodes[slot] != NULL)
			nnode += s->nodes[slot]->ninst;
	}
	if (ninst != s->ninst || nnode != s->ninst ||
	    s->inst_hash.n != s->ninst)
		return sched_check_fail(cause, "s->ninst counts the real "
		    "records, each in inst_hash and in both owners' arrays: "
		    "ninst %zu, in services %zu, on nodes %zu, in inst_hash "
		    "%zu", s->ninst, ninst, nnode, s->inst_hash.n);
	/* Each dirty service listed once, and nothing else listed. */
	ids = xcalloc(s->ndirty + 1, sizeof *ids);
	for (k = 0; k < s->ndirty; k++) {
		svc = s->dirty[k];
		ids[k] = svc->id;
		if (sched_service_find(s, svc->id) != svc || !svc->dirty) {
			free(ids);
			return sched_check_fail(cause, "s->dirty lists live "
			    "services flagged dirty: entry %zu", k);
		}
	}
	qsort(ids, s->ndirty, sizeof *ids, sched_id_cmp);
	for (k = 1; k < s->ndirty && ids[k - 1] != ids[k]; k++)
		;
	free(ids);
	if (k < s->ndirty || ndirty != s->ndirty)
		return sched_check_fail(cause, "svc->dirty is 1 iff the service "
		    "is in s->dirty, once: %zu flagged, %zu listed", ndirty,
		    s->ndirty);
	return 0;
}

/*
 * Job tasks (sched_job.c): each in job_hash once under (id, index); a
 * queued one in s->queue at its qidx with no node, an assigned one in its
 * node's jobs at its node_idx; njobs counts them; the queue, if flagged
 * sorted, is in queue order.
 */
static int
sched_check_jobs(const struct sched *s, char **cause)
{
	const struct sched_job *j, *p;
	const struct sched_node *n;
	size_t k, nassigned = 0, nholes;
	uint32_t slot;

	if (s->nqueue > s->queue_cap)
		return sched_check_fail(cause, "arrays fit their allocation: "
		    "nqueue %zu of %zu", s->nqueue, s->queue_cap);
	p = NULL;
	nholes = 0;
	for (k = 0; k < s->nqueue; k++) {
		if ((j = s->queue[k]) == NULL) {
			nholes++;
			continue;
		}
		if (j->node != NULL || j->qidx != k)
			return sched_check_fail(cause, "a queued task has no "
			    "node and knows its place in s->queue: job %s#%d "
			    "at %zu says %zu", j->name, j->index, k, j->qidx);
		if (sched_job_find(s, j->id, j->index) != j)
			return sched_check_fail(cause, "every task is in "
			    "job_hash under (id, index): job %s#%d", j->name,
			    j->index);
		if (j->tentative || j->doomed)
			return sched_check_fail(cause, "round flags are undone "
			    "when sched_plan returns: job %s#%d", j->name,
			    j->index);
		if (s->queue_sorted && p != NULL &&
		    (p->priority < j->priority ||
		    (p->priority == j->priority &&
		    p->queued_at_ms > j->queued_at_ms)))
			return sched_check_fail(cause, "a sorted queue is in "
			    "priority, then arrival order: job %s#%d before "
			    "job %s#%d", p->name, p->index, j->name, j->index);
		p = j;
	}
	if (nholes != s->nholes)
		return sched_check_fail(cause, "s->nholes counts the holes of "
		    "the queue: %zu, counted %zu", s->nholes, nholes);
	for (slot = 0; slot < s->nslots; slot++) {
		if ((n = s->nodes[slot]) == NULL)
			continue;
		if (n->njobs > n->jobs_cap)
			return sched_check_fail(cause, "node->njobs <= "
			    "jobs_cap: node %s", sched_node_label(n));
		for (k = 0; k < n->njobs; k++) {
			j = n->jobs[k];
			if (j->node != n || j->node_idx != k ||
			    j->qidx != (size_t)-1)
				return sched_check_fail(cause, "an assigned "
				    "task is in its node's jobs at node_idx and "
				    "not queued: job %s#%d on %s", j->name,
				    j->index, sched_node_label(n));
			if (sched_job_find(s, j->id, j->index) != j)
				return sched_check_fail(cause, "every task is "
				    "in job_hash under (id, index): job %s#%d",
				    j->name, j->index);
			if (j->tentative || j->doomed)
				return sched_check_fail(cause, "round flags "
				    "are undone when sched_plan returns: job "
				    "%s#%d", j->name, j->index);
			nassigned++;
		}
	}
	if (s->nqueue - s->nholes + nassigned != s->njobs ||
	    s->job_hash.n != s->njobs)
		return sched_check_fail(cause, "s->njobs counts the tasks, each "
		    "queued or on one node and in job_hash: njobs %zu, queued "
		    "%zu, assigned %zu, in job_hash %zu", s->njobs,
		    s->nqueue - s->nholes, nassigned, s->job_hash.n);
	return 0;
}

int
sched_check(const struct sched *s, char **cause)
{
	if (cause != NULL)
		*cause = NULL;
	if (s == NULL)
		return sched_check_fail(cause, "no state");
	if (s->ntent != 0 || s->nmarked != 0 || s->njtent != 0)
		return sched_check_fail(cause, "round flags are undone when "
		    "sched_plan returns: %zu tentative, %zu marked records, "
		    "%zu marked tasks", s->ntent, s->nmarked, s->njtent);
	if (sched_check_settings(s, cause) != 0 ||
	    sched_check_azs(s, cause) != 0 ||
	    sched_check_htab(&s->node_hash, "node_hash", cause) != 0 ||
	    sched_check_htab(&s->svc_hash, "svc_hash", cause) != 0 ||
	    sched_check_htab(&s->inst_hash, "inst_hash", cause) != 0 ||
	    sched_check_htab(&s->job_hash, "job_hash", cause) != 0 ||
	    sched_check_nodes(s, cause) != 0 ||
	    sched_check_services(s, cause) != 0 ||
	    sched_check_jobs(s, cause) != 0)
		return -1;
	return 0;
}

void
sched_check_abort(const struct sched *s, const char *after)
{
	char *why = NULL;

	if (sched_check(s, &why) == 0)
		return;
	fprintf(stderr, "scheduler: invariant broken after %s: %s\n", after,
	    why);
	abort();
}

/*
 * A plan adds records only on nodes that are not cordoned (as the state
 * is before sched_apply()): nothing new on a cordoned or draining node. A
 * draining node is cordoned too.
 */
int
sched_check_plan(const struct sched *s, const struct sched_plan *plan,
    char **cause)
{
	const struct sched_step *st;
	const struct sched_node *n;
	uint32_t slot;
	size_t k;

	for (slot = 0; slot < s->nslots; slot++) {
		n = s->nodes[slot];
		if (n != NULL && n->draining && !n->cordoned)
			return sched_check_fail(cause, "a draining node is "
			    "cordoned: node %s is not", sched_node_label(n));
		if (n != NULL && !n->draining && n->drain_deadline_ms != 0)
			return sched_check_fail(cause, "only a draining node "
			    "has a drain deadline: node %s has one",
			    sched_node_label(n));
	}
	for (k = 0; k < plan->nsteps; k++) {
		st = &plan->steps[k];
		if (st->kind != SCHED_STEP_PLACE && st->kind != SCHED_STEP_MOVE &&
		    st->kind != SCHED_STEP_MOVE_START &&
		    st->kind != SCHED_STEP_JOB_ASSIGN)
			continue;
		if (st->node_id == NULL ||
		    (n = sched_node_find(s, st->node_id)) == NULL)
			return sched_check_fail(cause, "a plan adds records on "
			    "known nodes: step %zu (%s) names node %s", k,
			    sched_step_kind_name(st->kind), st->node_id ?
			    st->node_id : "(none)");
		if (n->cordoned)
			return sched_check_fail(cause, "nothing new on a "
			    "cordoned node: step %zu (%s: %s) adds a record on "
			    "%s", k, sched_step_kind_name(st->kind), st->reason,
			    sched_node_label(n));
	}
	return 0;
}

void
sched_check_plan_abort(const struct sched *s, const struct sched_plan *plan)
{
	char *why = NULL;

	if (sched_check_plan(s, plan, &why) == 0)
		return;
	fprintf(stderr, "scheduler: invariant broken by a plan: %s\n", why);
	abort();
}
