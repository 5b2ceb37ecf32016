/*
 * dns_bench.c - the agent's DNS server under load (make bench, BENCH=dns).
 *
 * The live server (agent/dns.c) on 127.0.0.1 with a grid-sized table:
 * DNS_BENCH_SERVICES services (default 2,000, in stacks of 5, each
 * exposing one) with 5 instances each (10,000). DNS_BENCH_CLIENTS client
 * threads (default 4) each send UDP queries one after the other for
 * DNS_BENCH_SECONDS (default 5) with a mix of names: svc.stack.D (5
 * addresses), svc-N.stack.D, stack.D, svc.stack as typed, and NXDOMAIN.
 * The time from send to the whole reply, as each client sees it, is the
 * figure. Prints
 *	dns_answer_p50_us N us
 *	dns_answer_p99_us N us
 *	dns_answer_qps N qps
 * and, on stderr, the load average and what ran beside it: the clients
 * share the machine with the server, so a 2-core box measures both.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <ldns/ldns.h>

#include "agent/dns.h"
#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"

#define BENCH_MAX_SAMPLES	2000000

struct client {
	uint16_t	 port;
	int		 nsvcs;
	int64_t		 until;		/* mono ms */
	int64_t		*us;		/* round trips */
	size_t		 n;
	size_t		 cap;
	size_t		 errors;	/* lost or wrong replies */
	unsigned	 seed;
	pthread_t	 thread;
};

static int
env_int(const char *name, int def)
{
	const char *v = getenv(name);

	return v != NULL && atoi(v) > 0 ? atoi(v) : def;
}

static uint8_t *
bench_query(const char *name, uint16_t id, size_t *len)
{
	ldns_pkt *p = NULL;
	uint8_t *w = NULL, *out;

	if (ldns_pkt_query_new_frm_str(&p, name, LDNS_RR_TYPE_A,
	    LDNS_RR_CLASS_IN, LDNS_RD) != LDNS_STATUS_OK)
		abort();
	ldns_pkt_set_id(p, id);
	if (ldns_pkt2wire(&w, p, len) != LDNS_STATUS_OK)
		abort();
	out = xmalloc(*len);
	memcpy(out, w, *len);
	LDNS_FREE(w);
	ldns_pkt_free(p);
	return out;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static void *
client_main(void *arg)
{
	struct client *c = arg;
	struct sockaddr_in sin;
	struct timeval tv = { 1, 0 };
	uint8_t buf[4096], *q;
	char name[256];
	size_t qlen;
	int64_t t0;
	ssize_t n;
	int fd, svc, stack, kind;
	uint16_t id = 0;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons(c->port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	connect(fd, (struct sockaddr *)&sin, sizeof sin);
	while (util_mono_ms() < c->until) {
		svc = (int)(rand_r(&c->seed) % (unsigned)c->nsvcs);
		stack = svc / 5;
		kind = (int)(rand_r(&c->seed) % 10);
		if (kind < 4)
			snprintf(name, sizeof name, "svc%d.stack%d.bench."
			    "berth.local", svc, stack);
		else if (kind < 6)
			snprintf(name, sizeof name, "svc%d-%d.stack%d.bench."
			    "berth.local", svc, 1 + kind % 5, stack);
		else if (kind < 8)
			snprintf(name, sizeof name, "stack%d.bench."
			    "berth.local.", stack);
		else if (kind < 9)
			snprintf(name, sizeof name, "SVC%d.stack%d", svc,
			    stack);
		else
			snprintf(name, sizeof name, "nosuch%d.stack%d.bench."
			    "berth.local", svc, stack);
		q = bench_query(name, ++id, &qlen);
		t0 = util_mono_us();
		if (send(fd, q, qlen, 0) != (ssize_t)qlen) {
			c->errors++;
			free(q);
			continue;
		}
		do
			n = recv(fd, buf, sizeof buf, 0);
		while (n >= 2 && (buf[0] << 8 | buf[1]) != id);
		if (n < 12) {
			c->errors++;
		} else if (c->n < c->cap) {
			c->us[c->n++] = util_mono_us() - t0;
		}
		free(q);
	}
	close(fd);
	return NULL;
}

int
main(void)
{
	int nsvcs = env_int("DNS_BENCH_SERVICES", 2000);
	int nclients = env_int("DNS_BENCH_CLIENTS", 4);
	int secs = env_int("DNS_BENCH_SECONDS", 5);
	struct client *cl = xcalloc((size_t)nclients, sizeof *cl);
	json_t *frame, *svcs;
	struct dns *d;
	struct sockaddr_in sin;
	socklen_t slen = sizeof sin;
	int64_t *all, t0;
	size_t total = 0, errors = 0, i;
	char *cause = NULL, ip[32], load[64] = "?";
	uint16_t port;
	FILE *fp;
	int s, k, fd, tries;

	log_set_level(LOG_LVL_ERROR);
	frame = json_pack("{s:s, s:s, s:s, s:[]}", "type", "names", "grid",
	    "bench", "domain", "bench.berth.local", "services");
	svcs = json_object_get(frame, "services");
	for (s = 0; s < nsvcs; s++) {
		json_t *insts = json_array(), *o;
		char sn[32], st[32];

		for (k = 0; k < 5; k++) {
			int a = s * 5 + k;

			snprintf(ip, sizeof ip, "10.81.%d.%d", a / 250,
			    1 + a % 250);
			json_array_append_new(insts, json_pack("{s:i, s:s}",
			    "n", k + 1, "address", ip));
		}
		snprintf(sn, sizeof sn, "svc%d", s);
		snprintf(st, sizeof st, "stack%d", s / 5);
		o = json_pack("{s:s, s:s, s:b, s:[], s:o}", "stack", st,
		    "service", sn, "exposed", s % 5 == 0, "links",
		    "instances", insts);
		json_array_append_new(svcs, o);
	}
	d = dns_new();
	t0 = util_mono_us();
	if (dns_set_names(d, frame, &cause) != 0) {
		fprintf(stderr, "dns_bench: %s\n", cause);
		return 1;
	}
	fprintf(stderr, "dns_bench: table of %d services, %d instances "
	    "built in %lld us\n", nsvcs, nsvcs * 5,
	    (long long)(util_mono_us() - t0));
	json_decref(frame);
	for (tries = 0;; tries++) {
		fd = socket(AF_INET, SOCK_DGRAM, 0);
		memset(&sin, 0, sizeof sin);
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		bind(fd, (struct sockaddr *)&sin, sizeof sin);
		getsockname(fd, (struct sockaddr *)&sin, &slen);
		port = ntohs(sin.sin_port);
		close(fd);
		if (dns_start(d, "127.0.0.1", port, "/dev/null", &cause) == 0)
			break;
		free(cause);
		if (tries > 20) {
			fprintf(stderr, "dns_bench: no port\n");
			return 1;
		}
	}
	for (i = 0; i < (size_t)nclients; i++) {
		cl[i].port = port;
		cl[i].nsvcs = nsvcs;
		cl[i].until = util_mono_ms() + secs * 1000;
		cl[i].cap = BENCH_MAX_SAMPLES / (size_t)nclients;
		cl[i].us = xcalloc(cl[i].cap, sizeof *cl[i].us);
		cl[i].seed = (unsigned)(i + 1);
		pthread_create(&cl[i].thread, NULL, client_main, &cl[i]);
	}
	for (i = 0; i < (size_t)nclients; i++) {
		pthread_join(cl[i].thread, NULL);
		total += cl[i].n;
		errors += cl[i].errors;
	}
	all = xcalloc(total + 1, sizeof *all);
	for (total = 0, i = 0; i < (size_t)nclients; i++) {
		memcpy(all + total, cl[i].us, cl[i].n * sizeof *all);
		total += cl[i].n;
		free(cl[i].us);
	}
	dns_free(d);
	if (total == 0) {
		fprintf(stderr, "dns_bench: no answers\n");
		return 1;
	}
	qsort(all, total, sizeof *all, cmp_i64);
	if ((fp = fopen("/proc/loadavg", "r")) != NULL) {
		if (fgets(load, sizeof load, fp) != NULL)
			load[strcspn(load, "\n")] = '\0';
		fclose(fp);
	}
	fprintf(stderr, "dns_bench: %zu queries, %zu lost, %d client threads "
	    "for %d s on %ld CPUs beside the server thread; load average "
	    "%s (others' builds and tests ran on this machine)\n", total,
	    errors, nclients, secs, sysconf(_SC_NPROCESSORS_ONLN), load);
	printf("dns_answer_p50_us %lld us\n", (long long)all[total / 2]);
	printf("dns_answer_p99_us %lld us\n",
	    (long long)all[total * 99 / 100]);
	printf("dns_answer_qps %lld qps\n", (long long)(total / (size_t)secs));
	free(all);
	free(cl);
	return 0;
}
