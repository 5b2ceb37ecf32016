/*
 * nodeinfo.c - machine facts (node_info) and load figures (stats).
 *
 * nodeinfo_frame() is called on the websocket thread right after a welcome
 * and on the converge thread when it first learns the Docker version; the
 * stats functions run on the websocket thread's stats timer. All of it reads
 * small /proc files or makes non-blocking syscalls, so it never stalls the
 * socket. Parsers take text and are pure (unit tested).
 */
#include "agent/nodeinfo.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <jansson.h>

#include "common/proto.h"
#include "common/util.h"
#include "common/xmalloc.h"

int
nodeinfo_parse_stat(const char *text, struct cpu_sample *s)
{
	unsigned long long v[8] = { 0 };
	int n;

	if (strncmp(text, "cpu ", 4) != 0)
		return -1;
	n = sscanf(text + 4, "%llu %llu %llu %llu %llu %llu %llu %llu",
	    &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
	if (n < 4)
		return -1;
	/* user nice system idle iowait irq softirq steal */
	s->busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
	s->total = s->busy + v[3] + v[4];
	return 0;
}

double
nodeinfo_cpu_pct(const struct cpu_sample *prev, const struct cpu_sample *cur)
{
	uint64_t dt, db;
	double pct;

	if (cur->total <= prev->total || cur->busy < prev->busy)
		return 0.0;
	dt = cur->total - prev->total;
	db = cur->busy - prev->busy;
	pct = 100.0 * (double)db / (double)dt;
	return pct > 100.0 ? 100.0 : pct;
}

/* The value in kB of "key:" in meminfo text, or -1. */
static int
nodeinfo_meminfo_kb(const char *text, const char *key, uint64_t *kb)
{
	const char *p = text;
	size_t klen = strlen(key);
	unsigned long long v;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, key, klen) == 0 && p[klen] == ':') {
			if (sscanf(p + klen + 1, "%llu", &v) != 1)
				return -1;
			*kb = v;
			return 0;
		}
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return -1;
}

int
nodeinfo_parse_meminfo(const char *text, uint64_t *total, uint64_t *used)
{
	uint64_t t, avail;

	if (nodeinfo_meminfo_kb(text, "MemTotal", &t) != 0)
		return -1;
	if (nodeinfo_meminfo_kb(text, "MemAvailable", &avail) != 0 &&
	    nodeinfo_meminfo_kb(text, "MemFree", &avail) != 0)
		return -1;
	if (avail > t)
		avail = t;
	*total = t * 1024;
	*used = (t - avail) * 1024;
	return 0;
}

char *
nodeinfo_parse_os_release(const char *text)
{
	const char *p = text, *v, *e;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, "PRETTY_NAME=", 12) == 0) {
			v = p + 12;
			e = strchr(v, '\n');
			if (e == NULL)
				e = v + strlen(v);
			if (e > v && (*v == '"' || *v == '\'')) {
				v++;
				if (e > v && (e[-1] == '"' || e[-1] == '\''))
					e--;
			}
			return xstrndup(v, (size_t)(e - v));
		}
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return NULL;
}

int
nodeinfo_cpu_read(struct cpu_sample *s)
{
	char *text;
	int rc;

	if (util_read_file("/proc/stat", 1 << 20, &text, NULL) != 0)
		return -1;
	rc = nodeinfo_parse_stat(text, s);
	free(text);
	return rc;
}

int
nodeinfo_mem_read(uint64_t *total, uint64_t *used)
{
	char *text;
	int rc;

	if (util_read_file("/proc/meminfo", 1 << 20, &text, NULL) != 0)
		return -1;
	rc = nodeinfo_parse_meminfo(text, total, used);
	free(text);
	return rc;
}

/* Non-loopback, non-link-local addresses of interfaces that are up. */
static json_t *
nodeinfo_addresses(void)
{
	struct ifaddrs *ifa, *i;
	json_t *arr = json_array();
	char s[INET6_ADDRSTRLEN];
	const void *a;

	if (getifaddrs(&ifa) != 0)
		return arr;
	for (i = ifa; i != NULL; i = i->ifa_next) {
		if (i->ifa_addr == NULL || (i->ifa_flags & IFF_LOOPBACK) ||
		    !(i->ifa_flags & IFF_UP))
			continue;
		if (i->ifa_addr->sa_family == AF_INET)
			a = &((struct sockaddr_in *)i->ifa_addr)->sin_addr;
		else if (i->ifa_addr->sa_family == AF_INET6) {
			const struct in6_addr *a6 =
			    &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
			if (IN6_IS_ADDR_LINKLOCAL(a6) || IN6_IS_ADDR_LOOPBACK(a6))
				continue;
			a = a6;
		} else
			continue;
		if (inet_ntop(i->ifa_addr->sa_family, a, s, sizeof s) != NULL)
			json_array_append_new(arr, json_string(s));
	}
	freeifaddrs(ifa);
	return arr;
}

char *
nodeinfo_frame(const char *docker_version, int cpus_set,
    const char *peer_address)
{
	struct utsname u;
	char host[256], *os = NULL, *text, *out;
	uint64_t total = 0, used = 0;
	long cpus;
	json_t *o;

	if (gethostname(host, sizeof host) != 0)
		host[0] = '\0';
	host[sizeof host - 1] = '\0';
	/* BERTH_CPUS: the capacity to offer, when not the machine's. */
	cpus = cpus_set > 0 ? cpus_set : sysconf(_SC_NPROCESSORS_ONLN);
	(void)nodeinfo_mem_read(&total, &used);
	if (util_read_file("/etc/os-release", 1 << 16, &text, NULL) == 0) {
		os = nodeinfo_parse_os_release(text);
		free(text);
	}
	if (uname(&u) != 0)
		u.release[0] = '\0';

	o = json_pack("{s:s, s:s, s:I, s:I, s:o, s:s?, s:s?, s:s}",
	    "type", PROTO_T_NODE_INFO, "hostname", host,
	    "cpus", (json_int_t)(cpus > 0 ? cpus : 1),
	    "memory", (json_int_t)total, "addresses", nodeinfo_addresses(),
	    "docker_version", docker_version, "os", os, "kernel", u.release);
	if (peer_address != NULL && *peer_address != '\0')
		json_object_set_new(o, "peer_address",
		    json_string(peer_address));
	out = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	free(os);
	return out;
}

char *
nodeinfo_stats_frame(double cpu_pct, uint64_t mem_used, uint64_t mem_total,
    int containers)
{
	char *out;

	/* One decimal is all a scheduler needs; keep the frame small. An
	 * unknown count (the engine is down) is null: the master keeps the
	 * last one. */
	if (containers < 0)
		xasprintf(&out, "{\"type\":\"%s\",\"cpu_pct\":%.1f,"
		    "\"mem_used\":%" PRIu64 ",\"mem_total\":%" PRIu64
		    ",\"containers\":null}", PROTO_T_STATS, cpu_pct, mem_used,
		    mem_total);
	else
		xasprintf(&out, "{\"type\":\"%s\",\"cpu_pct\":%.1f,"
		    "\"mem_used\":%" PRIu64 ",\"mem_total\":%" PRIu64
		    ",\"containers\":%d}", PROTO_T_STATS, cpu_pct, mem_used,
		    mem_total, containers);
	return out;
}
