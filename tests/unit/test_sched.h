/*
 * test_sched.h - fixtures shared by the scheduler's unit and property tests
 * (test_sched.c, test_sched_props.c): build a grid with one call per node
 * or service, run plan+apply rounds, and look at the result.
 *
 * Everything is static: each test file includes this once, after
 * tests/unit/test.h. Times are plain milliseconds chosen by the test (the
 * scheduler never reads a clock). Every round through ts_round() ends with
 * sched_check(), so each test also checks the state's invariants.
 */
#ifndef BERTH_TEST_SCHED_H
#define BERTH_TEST_SCHED_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "scheduler/sched.h"
#include "tests/unit/test.h"

#define GIB (1024LL * 1024 * 1024)
#define MIB (1024LL * 1024)
#define T0 1000000000LL		/* a "now" far from 0 */

#define TS_UNUSED __attribute__((unused))

/* The state's invariants hold; a failure prints the one sched_check names. */
#define TS_CHECK_STATE(s) do {						\
	char *ts_why_ = NULL;						\
	if (sched_check((s), &ts_why_) != 0) {				\
		printf("  FAIL %s:%d: sched_check: %s\n", __FILE__,	\
		    __LINE__, ts_why_);					\
		test_failed_now = 1;					\
	}								\
	free(ts_why_);							\
} while (0)

/* Split "a,b,c" into a NULL-terminated array of strings (caller frees). */
static TS_UNUSED char **
ts_split(const char *list, size_t *n, char sep)
{
	char **v, *copy, *p, *tok;

	v = xcalloc(strlen(list) + 2, sizeof *v);
	*n = 0;
	copy = xstrdup(list);
	for (p = copy; (tok = strsep(&p, (char[]){ sep, '\0' })) != NULL;) {
		if (*tok != '\0')
			v[(*n)++] = xstrdup(tok);
	}
	free(copy);
	return v;
}

static TS_UNUSED void
ts_free_list(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* A node: labels "k=v,k=v"; online since joined; offline since off. */
static TS_UNUSED void
ts_node_full(struct sched *s, const char *id, const char *labels,
    double cpus, int64_t mem, int online, int64_t joined, int64_t off,
    double load)
{
	struct sched_node_info ni;
	char **l, *cause = NULL;
	size_t nl;

	l = ts_split(labels, &nl, ',');
	memset(&ni, 0, sizeof ni);
	ni.id = id;
	ni.name = id;
	ni.labels = (const char *const *)l;
	ni.nlabels = nl;
	ni.cpus = cpus;
	ni.memory = mem;
	ni.online = online;
	ni.joined_at_ms = joined;
	ni.offline_since_ms = online ? 0 : off;
	ni.load_cpu = load;
	if (sched_node_upsert(s, &ni, &cause) != 0) {
		printf("  node %s: %s\n", id, cause);
		free(cause);
	}
	ts_free_list(l, nl);
}

/* An online node joined long ago with plenty of room. */
static TS_UNUSED void
ts_node(struct sched *s, const char *id, const char *labels)
{
	ts_node_full(s, id, labels, 64, 256 * GIB, 1, 0, 0, 0);
}

static TS_UNUSED void
ts_offline(struct sched *s, const char *id, const char *labels,
    int64_t since)
{
	ts_node_full(s, id, labels, 64, 256 * GIB, 0, 0, since, 0);
}

struct ts_svc {
	int64_t			 id;
	const char		*stack;
	const char		*name;
	enum sched_strategy	 strategy;
	int			 instances;
	const char		*affinity;	/* "rule;rule" */
	double			 cpus;
	int64_t			 mem;
	int			 port;		/* tcp host port, 0 none */
	int			 stateful;
	double			 min_health;
};

static TS_UNUSED int
ts_svc_put(struct sched *s, const struct ts_svc *t)
{
	struct sched_service_info si;
	struct sched_port port;
	char **rules, *cause = NULL;
	size_t nr;
	int rc;

	rules = ts_split(t->affinity != NULL ? t->affinity : "", &nr, ';');
	memset(&si, 0, sizeof si);
	si.id = t->id;
	si.stack = t->stack != NULL ? t->stack : "st";
	si.name = t->name;
	si.strategy = t->strategy;
	si.instances = t->instances;
	si.affinity = (const char *const *)rules;
	si.naffinity = nr;
	si.cpus = t->cpus;
	si.mem_limit = t->mem;
	if (t->port != 0) {
		port.port = t->port;
		port.udp = 0;
		si.ports = &port;
		si.nports = 1;
	}
	si.stateful = t->stateful;
	si.min_health = t->min_health;
	rc = sched_service_upsert(s, &si, &cause);
	if (rc != 0) {
		printf("  service %s: %s\n", t->name, cause);
		free(cause);
	}
	ts_free_list(rules, nr);
	return rc;
}

/* Quick form: id, name, strategy, instances, affinity. */
static TS_UNUSED void
ts_svc(struct sched *s, int64_t id, const char *name,
    enum sched_strategy strategy, int instances, const char *affinity)
{
	struct ts_svc t = { .id = id, .name = name, .strategy = strategy,
	    .instances = instances, .affinity = affinity };

	ts_svc_put(s, &t);
}

static TS_UNUSED void
ts_inst(struct sched *s, int64_t svc, int no, const char *node,
    enum sched_state state, int64_t moved_at)
{
	struct sched_instance_info ii;
	char *cause = NULL;

	memset(&ii, 0, sizeof ii);
	ii.service_id = svc;
	ii.instance_no = no;
	ii.node_id = node;
	ii.state = state;
	ii.moved_at_ms = moved_at;
	if (sched_instance_upsert(s, &ii, &cause) != 0) {
		printf("  instance: %s\n", cause);
		free(cause);
	}
}

/* Set the reported state of one record, keeping its other fields. */
static TS_UNUSED void
ts_state(struct sched *s, int64_t svc, int no, const char *node,
    enum sched_state state)
{
	struct sched_instance_info *l;
	size_t n, i;

	n = sched_instance_list(s, svc, &l);
	for (i = 0; i < n; i++) {
		if (l[i].instance_no == no && strcmp(l[i].node_id, node) == 0) {
			l[i].state = state;
			sched_instance_upsert(s, &l[i], NULL);
		}
	}
	free(l);
}

/*
 * Plan at now with seed and apply; the plan is the caller's. The state's
 * invariants must hold after both.
 */
static TS_UNUSED void
ts_round(struct sched *s, int64_t now, uint64_t seed, struct sched_plan *p)
{
	char *cause = NULL;

	sched_plan(s, now, seed, NULL, p);
	TS_CHECK_STATE(s);
	if (sched_apply(s, p, &cause) != 0) {
		printf("  apply: %s\n", cause);
		free(cause);
	}
	TS_CHECK_STATE(s);
}

/* Plan+apply and throw the plan away; returns its action count. */
static TS_UNUSED size_t
ts_round1(struct sched *s, int64_t now, uint64_t seed)
{
	struct sched_plan p;
	size_t n;

	ts_round(s, now, seed, &p);
	n = sched_plan_nactions(&p);
	sched_plan_clear(&p);
	return n;
}

/* Every record reports running (as agents would after converging). */
static TS_UNUSED void
ts_all_running(struct sched *s)
{
	struct sched_instance_info *l;
	size_t n, i;

	n = sched_instance_list(s, 0, &l);
	for (i = 0; i < n; i++) {
		if (l[i].state == SCHED_RUNNING)
			continue;
		l[i].state = SCHED_RUNNING;
		sched_instance_upsert(s, &l[i], NULL);
	}
	free(l);
}

/* Records of svc (0: any) on node (NULL: any). */
static TS_UNUSED int
ts_count(const struct sched *s, int64_t svc, const char *node)
{
	struct sched_instance_info *l;
	size_t n, i;
	int c = 0;

	n = sched_instance_list(s, svc, &l);
	for (i = 0; i < n; i++) {
		if (node == NULL || strcmp(l[i].node_id, node) == 0)
			c++;
	}
	free(l);
	return c;
}

/* Steps of kind (-1: any) for svc (0: any) on node (NULL: any). */
static TS_UNUSED int
ts_steps(const struct sched_plan *p, int kind, int64_t svc, const char *node)
{
	size_t i;
	int c = 0;

	for (i = 0; i < p->nsteps; i++) {
		if ((kind < 0 || (int)p->steps[i].kind == kind) &&
		    (svc == 0 || p->steps[i].service_id == svc) &&
		    (node == NULL || (p->steps[i].node_id != NULL &&
		    strcmp(p->steps[i].node_id, node) == 0)))
			c++;
	}
	return c;
}

/* The reason of the first step of kind, or "". */
static TS_UNUSED const char *
ts_reason(const struct sched_plan *p, int kind)
{
	size_t i;

	for (i = 0; i < p->nsteps; i++) {
		if ((int)p->steps[i].kind == kind)
			return p->steps[i].reason;
	}
	return "";
}

static TS_UNUSED void
ts_dump(const struct sched_plan *p)
{
	size_t i;

	for (i = 0; i < p->nsteps; i++)
		printf("  # %s svc %lld #%d %s<-%s: %s\n",
		    sched_step_kind_name(p->steps[i].kind),
		    (long long)p->steps[i].service_id, p->steps[i].instance_no,
		    p->steps[i].node_id ? p->steps[i].node_id : "-",
		    p->steps[i].peer_node_id ? p->steps[i].peer_node_id : "-",
		    p->steps[i].reason);
	for (i = 0; i < p->nunplaceable; i++)
		printf("  # unplaceable svc %lld #%d: %s\n",
		    (long long)p->unplaceable[i].service_id,
		    p->unplaceable[i].instance_no, p->unplaceable[i].reason);
}

#endif
