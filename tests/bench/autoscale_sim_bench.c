/*
 * autoscale_sim_bench.c - the cost of sizing a scale-up on a big grid:
 * sched_size() (scheduler/sched_size.c), the pure call the master makes in
 * every round that has demand, over 10,000 real nodes.
 *
 * Grid: 10,000 nodes over three azs (16 cpus, 64 GiB each), 1,000 ha
 * services x 100 instances placed and reported running (as sched_bench.c),
 * then the demand: 4 services pinned to `label==gpu=true` (which no real
 * node has), 250 instances of 1 cpu each, so 1,000 instances wait for a
 * node. Three node groups, by priority:
 *
 *	gpu-small	gpu=true, 4 cpus,  max 50	(takes 200)
 *	gpu-big		gpu=true, 16 cpus, max 100	(takes the 800 left)
 *	plain		no gpu label,      max 100	(serves nothing)
 *
 * with 10 machines of gpu-small already on their way. Prints one line on
 * stdout:
 *
 *	autoscale_simulation_ms_10k <n> ms
 *
 * the median of RUNS sizings (each on the same state: sched_size() leaves
 * it as it was); details (plans per sizing, launch counts, worst) go to
 * stderr. The launch counts are checked, so a figure is only printed for
 * a sizing that gave the right answer.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scheduler/sched.h"

#define NODES		10000
#define SERVICES	1000
#define PER_SERVICE	100
#define GPU_SERVICES	4
#define GPU_PER_SERVICE	250
#define RUNS		7

static double
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
bench_node(struct sched *s, int k, int64_t joined)
{
	struct sched_node_info ni;
	const char *labels[2];
	char id[40], az[8];

	snprintf(id, sizeof id, "%032x", k * 2654435761u);
	snprintf(az, sizeof az, "az=%c", 'a' + k % 3);
	labels[0] = az;
	labels[1] = k % 2 ? "disk=ssd" : "disk=hdd";
	memset(&ni, 0, sizeof ni);
	ni.id = id;
	ni.name = id;
	ni.labels = labels;
	ni.nlabels = 2;
	ni.cpus = 16;
	ni.memory = 64LL << 30;
	ni.online = 1;
	ni.joined_at_ms = joined;
	ni.load_cpu = (double)(k % 50);
	sched_node_upsert(s, &ni, NULL);
}

static void
bench_service(struct sched *s, int64_t id, const char *name, int instances,
    double cpus, const char *const *aff, size_t naff)
{
	struct sched_service_info si;

	memset(&si, 0, sizeof si);
	si.id = id;
	si.stack = "bench";
	si.name = name;
	si.strategy = SCHED_HA;
	si.instances = instances;
	si.cpus = cpus;
	si.mem_limit = 64LL << 20;
	si.affinity = aff;
	si.naffinity = naff;
	sched_service_upsert(s, &si, NULL);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(void)
{
	static const char *aff_gpu[] = { "label==gpu=true" };
	static const char *l_small[] = { "ephemeral=true",
	    "berth.group=gpu-small", "gpu=true" };
	static const char *l_big[] = { "ephemeral=true",
	    "berth.group=gpu-big", "gpu=true" };
	static const char *l_plain[] = { "ephemeral=true",
	    "berth.group=plain" };
	struct sched_size_group g[3];
	struct sched_size_result r;
	struct sched *s = sched_new();
	struct sched_plan p;
	struct sched_instance_info *l;
	int64_t now = 1700000000000LL;
	double t0, t1, ms[RUNS];
	char name[32], *cause = NULL;
	int launch[3], k, bad = 0;
	size_t n, i;

	t0 = bench_now();
	for (k = 0; k < NODES; k++)
		bench_node(s, k, now - 3600000);
	for (k = 0; k < SERVICES; k++) {
		snprintf(name, sizeof name, "svc%d", k);
		bench_service(s, k + 1, name, PER_SERVICE, 0.05, NULL, 0);
	}
	sched_plan_init(&p);
	sched_plan(s, now, 1, NULL, &p);
	sched_apply(s, &p, NULL);
	sched_plan_clear(&p);
	n = sched_instance_list(s, 0, &l);
	for (i = 0; i < n; i++) {
		l[i].state = SCHED_RUNNING;
		sched_instance_upsert(s, &l[i], NULL);
	}
	free(l);
	now += 1000;
	sched_plan(s, now, 2, NULL, &p);
	sched_apply(s, &p, NULL);
	sched_plan_clear(&p);
	/* The demand appears: a deploy of services no node can take. */
	for (k = 0; k < GPU_SERVICES; k++) {
		snprintf(name, sizeof name, "gpu%d", k);
		bench_service(s, SERVICES + k + 1, name, GPU_PER_SERVICE, 1,
		    aff_gpu, 1);
	}
	now += 1000;
	sched_plan(s, now, 3, NULL, &p);
	sched_apply(s, &p, NULL);
	t1 = bench_now();
	fprintf(stderr, "setup: %d nodes, %zu instances running, %zu "
	    "unplaceable, in %.0f ms\n", NODES, n, p.nunplaceable,
	    (t1 - t0) * 1e3);
	sched_plan_clear(&p);

	memset(g, 0, sizeof g);
	g[0].name = "gpu-small";
	g[0].labels = l_small;
	g[0].nlabels = 3;
	g[0].cpus = 4;
	g[0].memory = 16LL << 30;
	g[0].upcoming = 10;
	g[0].headroom = 40;
	g[1].name = "gpu-big";
	g[1].labels = l_big;
	g[1].nlabels = 3;
	g[1].cpus = 16;
	g[1].memory = 64LL << 30;
	g[1].headroom = 100;
	g[2].name = "plain";
	g[2].labels = l_plain;
	g[2].nlabels = 2;
	g[2].cpus = 16;
	g[2].memory = 64LL << 30;
	g[2].headroom = 100;

	for (k = 0; k < RUNS; k++) {
		memset(&r, 0, sizeof r);
		r.launch = launch;
		t0 = bench_now();
		if (sched_size(s, g, 3, now, 4, &r, &cause) != 0) {
			fprintf(stderr, "sched_size: %s\n", cause);
			return 1;
		}
		t1 = bench_now();
		ms[k] = (t1 - t0) * 1e3;
		if (k == 0)
			fprintf(stderr, "sizing: demand %d, served %d, %d "
			    "plans; launch gpu-small %d, gpu-big %d, plain "
			    "%d; %zu services wait; %.1f ms\n", r.demand,
			    r.served, r.plans, launch[0], launch[1],
			    launch[2], r.nservices, ms[k]);
		/* 10 upcoming + 40 new small take 200, 50 big the rest. */
		if (r.demand != GPU_SERVICES * GPU_PER_SERVICE ||
		    r.served != r.demand || launch[0] != 40 ||
		    launch[1] != 50 || launch[2] != 0)
			bad = 1;
		free(r.unserved);
		free(r.services);
	}
	if (sched_node_count(s) != NODES || sched_check(s, &cause) != 0) {
		fprintf(stderr, "sizing left the state changed: %s\n",
		    cause != NULL ? cause : "node count");
		return 1;
	}
	if (bad) {
		fprintf(stderr, "sizing gave a wrong answer (see above)\n");
		return 1;
	}
	qsort(ms, RUNS, sizeof ms[0], cmp_double);
	fprintf(stderr, "sizings: %d, median %.1f ms, best %.1f, worst "
	    "%.1f\n", RUNS, ms[RUNS / 2], ms[0], ms[RUNS - 1]);
	printf("autoscale_simulation_ms_10k %.1f ms\n", ms[RUNS / 2]);
	sched_free(s);
	return 0;
}
