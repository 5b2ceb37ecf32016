/*
 * sched_bench.c - scheduler benchmark: placement throughput from scratch
 * and the cost of one incremental round when a node joins.
 *
 * Grid: 10,000 nodes over three azs (a fifth of them ephemeral), 1,000 ha
 * services x 100 instances (a quarter with label==az=a, a quarter with
 * label!=ephemeral=true, cpu and memory reservations) and 3 daemon services
 * on the ephemeral nodes. Prints exactly two lines on stdout:
 *
 *	sched_placements_per_s <n> placements/s
 *	sched_incremental_round_ms <n> ms
 *
 * The first is placements / (sched_plan + sched_apply time) from scratch;
 * the second is the worst of 20 joins, each timed from sched_node_upsert
 * through sched_plan and sched_apply (the join's daemon placements
 * included). Details go to stderr.
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
#define DAEMONS		3
#define JOINS		20

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
	const char *labels[3];
	char id[40], az[8];
	size_t nl = 0;

	snprintf(id, sizeof id, "%032x", k * 2654435761u);
	snprintf(az, sizeof az, "az=%c", 'a' + k % 3);
	labels[nl++] = az;
	if (k % 5 == 0)
		labels[nl++] = "ephemeral=true";
	labels[nl++] = k % 2 ? "disk=ssd" : "disk=hdd";
	memset(&ni, 0, sizeof ni);
	ni.id = id;
	ni.name = id;
	ni.labels = labels;
	ni.nlabels = nl;
	ni.cpus = 16;
	ni.memory = 64LL << 30;
	ni.online = 1;
	ni.joined_at_ms = joined;
	ni.load_cpu = (double)(k % 50);
	sched_node_upsert(s, &ni, NULL);
}

static void
bench_services(struct sched *s)
{
	struct sched_service_info si;
	const char *aff_az[] = { "label==az=a" };
	const char *aff_noeph[] = { "label!=ephemeral=true" };
	const char *aff_daemon[] = { "label==ephemeral=true" };
	char name[32];
	int i;

	for (i = 0; i < SERVICES + DAEMONS; i++) {
		memset(&si, 0, sizeof si);
		snprintf(name, sizeof name, "svc%d", i);
		si.id = i + 1;
		si.stack = "bench";
		si.name = name;
		si.strategy = SCHED_HA;
		si.instances = PER_SERVICE;
		si.cpus = 0.05;
		si.mem_limit = 64LL << 20;
		if (i % 4 == 1) {
			si.affinity = aff_az;
			si.naffinity = 1;
		} else if (i % 4 == 2) {
			si.affinity = aff_noeph;
			si.naffinity = 1;
		}
		if (i >= SERVICES) {
			si.strategy = SCHED_DAEMON;
			si.instances = 1;
			si.affinity = aff_daemon;
			si.naffinity = 1;
		}
		sched_service_upsert(s, &si, NULL);
	}
}

static size_t
bench_count(const struct sched_plan *p, enum sched_step_kind kind)
{
	size_t i, n = 0;

	for (i = 0; i < p->nsteps; i++)
		n += p->steps[i].kind == kind;
	return n;
}

int
main(void)
{
	struct sched *s = sched_new();
	struct sched_plan p;
	struct sched_instance_info *l;
	int64_t now = 1700000000000LL;
	double t0, t1, t2, worst = 0, sum = 0, dt;
	size_t placed, n, i;
	int k;

	t0 = bench_now();
	for (k = 0; k < NODES; k++)
		bench_node(s, k, now - 3600000);
	bench_services(s);
	t1 = bench_now();
	fprintf(stderr, "setup: %d nodes, %d services in %.1f ms\n", NODES,
	    SERVICES + DAEMONS, (t1 - t0) * 1e3);

	t0 = bench_now();
	sched_plan(s, now, 1, NULL, &p);
	t1 = bench_now();
	sched_apply(s, &p, NULL);
	t2 = bench_now();
	placed = bench_count(&p, SCHED_STEP_PLACE);
	fprintf(stderr, "from scratch: %zu placements, %zu unplaceable; plan "
	    "%.1f ms, apply %.1f ms\n", placed, p.nunplaceable,
	    (t1 - t0) * 1e3, (t2 - t1) * 1e3);
	printf("sched_placements_per_s %.0f placements/s\n",
	    (double)placed / (t2 - t0));
	sched_plan_clear(&p);

	/* Agents converge: every record reports running. */
	n = sched_instance_list(s, 0, &l);
	for (i = 0; i < n; i++) {
		l[i].state = SCHED_RUNNING;
		sched_instance_upsert(s, &l[i], NULL);
	}
	free(l);
	now += 1000;
	t0 = bench_now();
	sched_plan(s, now, 2, NULL, &p);
	sched_apply(s, &p, NULL);
	t1 = bench_now();
	fprintf(stderr, "steady round (all reported running): %zu actions "
	    "in %.2f ms\n", sched_plan_nactions(&p), (t1 - t0) * 1e3);
	sched_plan_clear(&p);

	for (k = 0; k < JOINS; k++) {
		now += 1000;
		t0 = bench_now();
		bench_node(s, NODES + k * 5, now);	/* ephemeral */
		sched_plan(s, now, 3 + (uint64_t)k, NULL, &p);
		sched_apply(s, &p, NULL);
		t1 = bench_now();
		dt = (t1 - t0) * 1e3;
		sum += dt;
		if (dt > worst)
			worst = dt;
		if (k == 0)
			fprintf(stderr, "join: %zu actions (%zu daemon "
			    "placements) in %.2f ms\n",
			    sched_plan_nactions(&p),
			    bench_count(&p, SCHED_STEP_PLACE), dt);
		sched_plan_clear(&p);
	}
	fprintf(stderr, "joins: %d, mean %.2f ms, worst %.2f ms\n", JOINS,
	    sum / JOINS, worst);

	/* The joined nodes settle: every ha service is re-checked once. */
	now += 60000;
	t0 = bench_now();
	sched_plan(s, now, 99, NULL, &p);
	sched_apply(s, &p, NULL);
	t1 = bench_now();
	fprintf(stderr, "settle round: %zu actions (%d moves) in %.2f ms\n",
	    sched_plan_nactions(&p), p.nmoves, (t1 - t0) * 1e3);
	sched_plan_clear(&p);
	printf("sched_incremental_round_ms %.2f ms\n", worst);
	sched_free(s);
	return 0;
}
