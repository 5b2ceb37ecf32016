/*
 * sched_filter.c - the placement filters of docs/scheduler.md and the cached
 * per-service set of nodes that pass the static ones.
 *
 * Called by the scheduler's other files on the scheduling thread. Filters
 * come in three tiers, cheapest first:
 *  - static: hard node==/label== rules and "stateful never on ephemeral";
 *    they depend only on the node's name and labels and the service's
 *    rules, so each service caches them as a bitmap over node slots, built
 *    on first use and patched per node on node changes (sched_elig_update);
 *  - dynamic: hard service==/container== rules; they depend on what else
 *    runs on the node, so they are evaluated when a node is considered;
 *  - capacity: online, cpu, memory and host ports (sched_filter_fits); a
 *    node whose agent reports its Docker Engine down counts as offline
 *    for new records (placements and move targets), not for the ones
 *    it has.
 * Soft rules ("~") never exclude: sched_filter_soft() counts how many a
 * node breaks and placement prefers the fewest.
 */
#include "scheduler/sched_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "common/xmalloc.h"

static int
sched_label_match(const struct sched_node *n, const char *value)
{
	size_t i, klen;
	int has_eq = strchr(value, '=') != NULL;

	klen = strlen(value);
	for (i = 0; i < n->nlabels; i++) {
		if (has_eq) {
			if (strcmp(n->labels[i], value) == 0)
				return 1;
		} else if (strncmp(n->labels[i], value, klen) == 0 &&
		    (n->labels[i][klen] == '\0' || n->labels[i][klen] == '='))
			return 1;
	}
	return 0;
}

/* value names svc: "name" or "stack/name". */
static int
sched_service_match(const struct sched_service *svc, const char *value)
{
	return strcmp(svc->name, value) == 0 || strcmp(svc->dm.full, value) == 0;
}

/*
 * value names record i's container: "<stack>.<service>-<n>" or
 * "<service>-<n>" (the name agents give containers; docs/api.md).
 */
static int
sched_container_match(const struct sched_inst *i, const char *value)
{
	const struct sched_service *svc = i->svc;
	size_t len;
	char num[16];

	if (svc->stack[0] != '\0') {
		len = strlen(svc->stack);
		if (strncmp(value, svc->stack, len) == 0 && value[len] == '.')
			value += len + 1;
	}
	len = strlen(svc->name);
	if (strncmp(value, svc->name, len) != 0 || value[len] != '-')
		return 0;
	snprintf(num, sizeof num, "%d", i->no);
	return strcmp(value + len + 1, num) == 0;
}

/* 1 if node n satisfies rule a (negation applied; soft ignored). */
int
sched_filter_rule(const struct affinity *a, const struct sched_node *n)
{
	const struct sched_inst *i;
	size_t k;
	int hit = 0;

	switch (a->kind) {
	case AFFINITY_NODE:
		hit = strcmp(n->name, a->value) == 0 ||
		    strcmp(n->id, a->value) == 0;
		break;
	case AFFINITY_LABEL:
		hit = sched_label_match(n, a->value);
		break;
	case AFFINITY_SERVICE:
	case AFFINITY_CONTAINER:
		for (k = 0; k < n->ninst && !hit; k++) {
			i = n->inst[k];
			if (i->doomed)
				continue;
			if (a->kind == AFFINITY_SERVICE)
				hit = sched_service_match(i->svc, a->value);
			else
				hit = sched_container_match(i, a->value);
		}
		break;
	}
	return a->negate ? !hit : hit;
}

int
sched_filter_static(const struct sched_demand *d, const struct sched_node *n)
{
	const struct affinity *a;
	size_t k;

	if (d->stateful && n->ephemeral)
		return 0;
	for (k = 0; k < d->nrules; k++) {
		a = &d->rules[k];
		if (a->soft || a->kind == AFFINITY_SERVICE ||
		    a->kind == AFFINITY_CONTAINER)
			continue;
		if (!sched_filter_rule(a, n))
			return 0;
	}
	return 1;
}

int
sched_filter_dynamic(const struct sched_demand *d, const struct sched_node *n)
{
	const struct affinity *a;
	size_t k;

	if (!d->has_dynamic)
		return 1;
	for (k = 0; k < d->nrules; k++) {
		a = &d->rules[k];
		if (a->soft || (a->kind != AFFINITY_SERVICE &&
		    a->kind != AFFINITY_CONTAINER))
			continue;
		if (!sched_filter_rule(a, n))
			return 0;
	}
	return 1;
}

/* Soft rules n breaks. */
int
sched_filter_soft(const struct sched_demand *d, const struct sched_node *n)
{
	size_t k;
	int bad = 0;

	if (d->nsoft == 0)
		return 0;
	for (k = 0; k < d->nrules; k++) {
		if (d->rules[k].soft &&
		    !sched_filter_rule(&d->rules[k], n))
			bad++;
	}
	return bad;
}

/* 1 if one more placement of d fits n's cpu, memory and host ports. */
int
sched_filter_fits(const struct sched_demand *d, const struct sched_node *n)
{
	size_t i, j;

	if (n->unmeasured && (d->mcpus > 0 || d->mem_limit > 0))
		return 0;
	if (n->mcpus > 0 && d->mcpus > 0 &&
	    n->used_mcpus + d->mcpus > n->mcpus)
		return 0;
	if (n->memory > 0 && d->mem_limit > 0 &&
	    n->used_mem + d->mem_limit > n->memory)
		return 0;
	for (i = 0; i < d->nports; i++) {
		for (j = 0; j < n->nports; j++) {
			if (n->ports[j].port == d->ports[i].port &&
			    n->ports[j].udp == d->ports[i].udp)
				return 0;
		}
	}
	return 1;
}

/* The eligible-set bitmap. */

static size_t
sched_elig_words(uint32_t cap)
{
	return (cap + 63) / 64;
}

int
sched_elig_has(const struct sched_service *svc, uint32_t slot)
{
	return (svc->elig[slot / 64] >> (slot % 64)) & 1;
}

static void
sched_elig_az_add(struct sched *s, struct sched_service *svc, int az, int d)
{
	int old = svc->elig_az_cap;

	if (az >= svc->elig_az_cap) {
		svc->elig_az_cap = s->naz > az + 1 ? s->naz : az + 1;
		svc->elig_az = xreallocarray(svc->elig_az,
		    (size_t)svc->elig_az_cap, sizeof *svc->elig_az);
		memset(svc->elig_az + old, 0,
		    (size_t)(svc->elig_az_cap - old) * sizeof *svc->elig_az);
	}
	svc->elig_az[az] += d;
}

void
sched_elig_build(struct sched *s, struct sched_service *svc)
{
	struct sched_node *n;
	uint32_t slot;

	free(svc->elig);
	svc->elig = xcalloc(sched_elig_words(s->slot_cap) + 1,
	    sizeof *svc->elig);
	svc->nelig = 0;
	if (svc->elig_az != NULL)
		memset(svc->elig_az, 0,
		    (size_t)svc->elig_az_cap * sizeof *svc->elig_az);
	for (slot = 0; slot < s->nslots; slot++) {
		if ((n = s->nodes[slot]) == NULL || !sched_filter_static(&svc->dm, n))
			continue;
		svc->elig[slot / 64] |= 1ULL << (slot % 64);
		svc->nelig++;
		sched_elig_az_add(s, svc, n->az, 1);
	}
	svc->elig_valid = 1;
}

/* Re-test node n for every built set; removing takes it out of all. */
void
sched_elig_update(struct sched *s, struct sched_node *n, int removing)
{
	struct sched_service *svc;
	size_t i;
	int was, now;

	for (i = 0; i < s->nsvcs; i++) {
		svc = s->svcs[i];
		if (!svc->elig_valid)
			continue;
		was = sched_elig_has(svc, n->slot);
		now = !removing && sched_filter_static(&svc->dm, n);
		if (was == now)
			continue;
		svc->elig[n->slot / 64] ^= 1ULL << (n->slot % 64);
		svc->nelig += now ? 1 : -1;
		sched_elig_az_add(s, svc, n->az, now ? 1 : -1);
	}
}

/* The slot array grows to new_cap: widen every built bitmap. */
void
sched_elig_grow(struct sched *s, uint32_t new_cap)
{
	struct sched_service *svc;
	size_t i, ow = sched_elig_words(s->slot_cap) + 1;
	size_t nw = sched_elig_words(new_cap) + 1;

	for (i = 0; i < s->nsvcs; i++) {
		svc = s->svcs[i];
		if (svc->elig == NULL)
			continue;
		svc->elig = xreallocarray(svc->elig, nw, sizeof *svc->elig);
		memset(svc->elig + ow, 0, (nw - ow) * sizeof *svc->elig);
	}
}

/* Reasons. */

static void
sched_bytes(char *buf, size_t len, int64_t b)
{
	if (b >= (1LL << 30) && b % (1LL << 30) == 0)
		snprintf(buf, len, "%lld GiB", (long long)(b >> 30));
	else if (b >= (1LL << 20))
		snprintf(buf, len, "%lld MiB", (long long)(b >> 20));
	else
		snprintf(buf, len, "%lld bytes", (long long)b);
}

/* The first hard filter n fails for d, as a phrase; NULL if none. */
static const char *
sched_filter_first(const struct sched_demand *d, const struct sched_node *n,
    char *buf, size_t len)
{
	const struct affinity *a;
	size_t k, j;

	if (n->doomed)
		return "are being removed";
	if (!n->online)
		return "are offline";
	if (n->engine_down)
		return "are without a working Docker Engine";
	if (n->draining)
		return "are draining";
	if (n->cordoned)
		return "are cordoned";
	if (d->stateful && n->ephemeral)
		return "are ephemeral (service is stateful)";
	for (k = 0; k < d->nrules; k++) {
		a = &d->rules[k];
		if (a->soft || sched_filter_rule(a, n))
			continue;
		snprintf(buf, len, "fail affinity %s%s%s",
		    affinity_kind_name(a->kind), a->negate ? "!=" : "==",
		    a->value);
		return buf;
	}
	if (n->unmeasured && (d->mcpus > 0 || d->mem_limit > 0))
		return "have not reported a capacity yet";
	if (n->mcpus > 0 && d->mcpus > 0 &&
	    n->used_mcpus + d->mcpus > n->mcpus) {
		snprintf(buf, len, "fail cpu (needs %.2f)",
		    (double)d->mcpus / 1000);
		return buf;
	}
	if (n->memory > 0 && d->mem_limit > 0 &&
	    n->used_mem + d->mem_limit > n->memory) {
		char b[32];

		sched_bytes(b, sizeof b, d->mem_limit);
		snprintf(buf, len, "fail memory (needs %s)", b);
		return buf;
	}
	for (k = 0; k < d->nports; k++) {
		for (j = 0; j < n->nports; j++) {
			if (n->ports[j].port == d->ports[k].port &&
			    n->ports[j].udp == d->ports[k].udp) {
				snprintf(buf, len, "have port %d/%s taken",
				    d->ports[k].port,
				    d->ports[k].udp ? "udp" : "tcp");
				return buf;
			}
		}
	}
	return NULL;
}

/* Append a plural phrase ("fail x", "are y", "have z"), singular if one. */
static void
sched_phrase(struct buf *b, const char *w, int one)
{
	if (one && strncmp(w, "fail ", 5) == 0)
		buf_printf(b, "fails %s", w + 5);
	else if (one && strncmp(w, "are ", 4) == 0)
		buf_printf(b, "is %s", w + 4);
	else if (one && strncmp(w, "have ", 5) == 0)
		buf_printf(b, "has %s", w + 5);
	else
		buf_printf(b, "%s", w);
}

/*
 * Why no node takes d: "no eligible node for web: 3 nodes fail affinity
 * label==ephemeral=true, 1 fails memory (needs 512 MiB)". A node that
 * passes every filter is tallied under pass(arg, node)'s phrase ("are held
 * for job x", for the job queue) or, without pass or when it says NULL,
 * "are full for it this round". O(nodes); only called when a placement
 * fails.
 */
char *
sched_filter_why(const struct sched *s, const struct sched_demand *d,
    const char *(*pass)(void *, const struct sched_node *), void *arg)
{
	struct {
		char	 what[160];
		int	 n;
	} *tally;
	struct sched_node *n;
	struct buf b = { 0 };
	const char *w;
	char tmp[160];
	size_t ntally = 0, k;
	uint32_t slot;

	tally = xcalloc(d->nrules + d->nports + 8, sizeof *tally);
	for (slot = 0; slot < s->nslots; slot++) {
		if ((n = s->nodes[slot]) == NULL)
			continue;
		if ((w = sched_filter_first(d, n, tmp, sizeof tmp)) ==
		    NULL && (pass == NULL || (w = pass(arg, n)) == NULL))
			w = "are full for it this round";
		for (k = 0; k < ntally; k++) {
			if (strcmp(tally[k].what, w) == 0)
				break;
		}
		if (k == ntally) {
			if (ntally == d->nrules + d->nports + 8)
				continue;
			snprintf(tally[k].what, sizeof tally[k].what, "%s", w);
			ntally++;
		}
		tally[k].n++;
	}
	buf_printf(&b, "no eligible node for %s", d->full);
	if (ntally == 0)
		buf_printf(&b, ": the grid has no nodes");
	for (k = 0; k < ntally; k++) {
		buf_printf(&b, "%s %d node%s ", k ? "," : ":", tally[k].n,
		    tally[k].n == 1 ? "" : "s");
		sched_phrase(&b, tally[k].what, tally[k].n == 1);
	}
	free(tally);
	return b.data;
}

/* Why node n does not take d (daemon placement), or NULL if it does. */
char *
sched_filter_why_node(const struct sched_demand *d, const struct sched_node *n)
{
	struct buf b = { 0 };
	char tmp[160];
	const char *w;

	if ((w = sched_filter_first(d, n, tmp, sizeof tmp)) == NULL)
		return NULL;
	buf_printf(&b, "node %s ", sched_node_label(n));
	sched_phrase(&b, w, 1);
	return b.data;
}
