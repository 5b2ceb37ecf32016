/*
 * nodeinfo.h - what the agent tells the master about its machine.
 *
 * The node_info frame (cpus, memory, addresses, os, kernel, Docker version)
 * and the stats frame (cpu % from /proc/stat deltas, memory from
 * /proc/meminfo). The parsers are pure and exposed for tests.
 */
#ifndef BERTH_AGENT_NODEINFO_H
#define BERTH_AGENT_NODEINFO_H

#include <stdint.h>

/* Cumulative CPU jiffies from the "cpu " line of /proc/stat. */
struct cpu_sample {
	uint64_t	 busy;		/* user+nice+system+irq+softirq+steal */
	uint64_t	 total;		/* busy + idle + iowait */
};

int	 nodeinfo_parse_stat(const char *text, struct cpu_sample *s);
/* Use between two samples, 0-100 over all cores; 0 if no time passed. */
double	 nodeinfo_cpu_pct(const struct cpu_sample *prev,
	    const struct cpu_sample *cur);
/* MemTotal and MemTotal-MemAvailable in bytes from /proc/meminfo text. */
int	 nodeinfo_parse_meminfo(const char *text, uint64_t *total,
	    uint64_t *used);
/* PRETTY_NAME of /etc/os-release text, unquoted; caller frees, or NULL. */
char	*nodeinfo_parse_os_release(const char *text);

/* Read the live values (0 or -1). */
int	 nodeinfo_cpu_read(struct cpu_sample *s);
int	 nodeinfo_mem_read(uint64_t *total, uint64_t *used);

/*
 * The serialized node_info frame; docker_version may be NULL (unknown yet).
 * Caller frees.
 */
/* peer_address: the node's underlay address (docs/network.md), or NULL. */
char	*nodeinfo_frame(const char *docker_version, int cpus,
	    const char *peer_address);
/* The serialized stats frame. Caller frees. */
char	*nodeinfo_stats_frame(double cpu_pct, uint64_t mem_used,
	    uint64_t mem_total, int containers);

#endif
