/*
 * netaddr.h - IPv4 prefixes for the grid network (docs/network.md).
 *
 * A grid's overlay is one IPv4 prefix (the grid setting network_cidr,
 * 10.81.0.0/16 by default); each node takes one /network_node_prefix of
 * it (a /24 by default) numbered from 0. Pure; safe on any thread.
 */
#ifndef BERTH_NETADDR_H
#define BERTH_NETADDR_H

#include <stdint.h>

#define NET_SUBNET_TEXT		20	/* "a.b.c.d/len" and NUL */
#define NET_GRID_NETWORK	"grid"	/* the grid network's name */
#define NET_DOMAIN_SUFFIX	"berth.local" /* names: svc.stack.GRID.this */
#define NET_VNI_BASE		0x810000 /* a grid's VXLAN id: this + id */
#define NET_VNI(grid_id)	(NET_VNI_BASE + (grid_id) % 0x7f0000)
#define NET_VXLAN_PORT		4789	/* IANA's VXLAN UDP port */
#define NET_VXLAN_OVERHEAD	50	/* outer IPv4 + UDP + VXLAN + Ethernet */

struct netaddr_prefix {
	uint32_t	addr;		/* host order, host bits zero */
	int		len;		/* 0..32 */
};

/*
 * Parse "a.b.c.d/len" (host bits must be zero). 0, or -1 with *cause
 * (malloc'd) saying what is wrong.
 */
int	 netaddr_parse(const char *text, struct netaddr_prefix *p,
	    char **cause);
/* Parse a plain dotted IPv4 address. 0 or -1. */
int	 netaddr_parse_ip(const char *text, uint32_t *ip);
/* "a.b.c.d/len" into buf (at least 19 bytes). */
void	 netaddr_format(const struct netaddr_prefix *p, char *buf);
/* "a.b.c.d" into buf (at least 16 bytes). */
void	 netaddr_format_ip(uint32_t ip, char *buf);
/* The index'th /sublen of p, or -1 when there is no such subnet. */
int	 netaddr_subnet(const struct netaddr_prefix *p, int sublen,
	    uint32_t index, struct netaddr_prefix *out);
/* Whether a and b share any address. */
int	 netaddr_overlap(const struct netaddr_prefix *a,
	    const struct netaddr_prefix *b);

#endif
