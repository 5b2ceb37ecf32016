/*
 * sched_hash.c - the scheduler's hash functions, its chained hash table of
 * intrusive entries, and its PRNG.
 *
 * Used by the other scheduler files only. The table never owns entries:
 * callers embed a struct sched_hent in their object, add it with its hash,
 * and walk a bucket comparing the full hash and then their own key.
 * Invariant: nb is a power of two and n <= nb (grown by doubling).
 */
#include "scheduler/sched_int.h"

#include <stdlib.h>

#include "common/xmalloc.h"

/* FNV-1a, then a splitmix finaliser to spread the low bits. */
uint64_t
sched_hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return sched_hash_u64(h);
}

/* The splitmix64 finaliser: a bijective mix of all 64 bits. */
uint64_t
sched_hash_u64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

/* An instance record's key: (service id, instance number, node slot). */
uint64_t
sched_hash_inst(int64_t svc_id, int no, uint32_t slot)
{
	return sched_hash_u64((uint64_t)svc_id * 0x9e3779b97f4a7c15ULL ^
	    ((uint64_t)(uint32_t)no << 32) ^ slot);
}

/* splitmix64: small, fast, and good enough for tie-breaks and "random". */
uint64_t
sched_rand_next(uint64_t *state)
{
	*state += 0x9e3779b97f4a7c15ULL;
	return sched_hash_u64(*state);
}

void
sched_htab_init(struct sched_htab *t)
{
	t->nb = 64;
	t->b = xcalloc(t->nb, sizeof *t->b);
	t->n = 0;
}

void
sched_htab_free(struct sched_htab *t)
{
	free(t->b);
	t->b = NULL;
	t->nb = t->n = 0;
}

static void
sched_htab_grow(struct sched_htab *t)
{
	struct sched_hent **nb, *e, *next;
	size_t i, size = t->nb * 2;

	nb = xcalloc(size, sizeof *nb);
	for (i = 0; i < t->nb; i++) {
		for (e = t->b[i]; e != NULL; e = next) {
			next = e->next;
			e->next = nb[e->h & (size - 1)];
			nb[e->h & (size - 1)] = e;
		}
	}
	free(t->b);
	t->b = nb;
	t->nb = size;
}

void
sched_htab_add(struct sched_htab *t, struct sched_hent *e, uint64_t h)
{
	if (t->n >= t->nb)
		sched_htab_grow(t);
	e->h = h;
	e->next = t->b[h & (t->nb - 1)];
	t->b[h & (t->nb - 1)] = e;
	t->n++;
}

void
sched_htab_del(struct sched_htab *t, struct sched_hent *e)
{
	struct sched_hent **pp;

	for (pp = &t->b[e->h & (t->nb - 1)]; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			e->next = NULL;
			t->n--;
			return;
		}
	}
}

struct sched_hent *
sched_htab_first(const struct sched_htab *t, uint64_t h)
{
	return t->b[h & (t->nb - 1)];
}
