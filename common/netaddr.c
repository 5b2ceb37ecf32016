/*
 * netaddr.c - IPv4 prefixes for the grid network.
 */
#include "common/netaddr.h"

#include "common/xmalloc.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t
netaddr_mask(int len)
{
	return len == 0 ? 0 : 0xffffffffu << (32 - len);
}

int
netaddr_parse_ip(const char *text, uint32_t *ip)
{
	struct in_addr a;

	if (text == NULL || inet_pton(AF_INET, text, &a) != 1)
		return -1;
	*ip = ntohl(a.s_addr);
	return 0;
}

int
netaddr_parse(const char *text, struct netaddr_prefix *p, char **cause)
{
	char ip[16], *end;
	const char *slash;
	long len;
	uint32_t a;

	slash = text != NULL ? strchr(text, '/') : NULL;
	if (slash == NULL || (size_t)(slash - text) >= sizeof ip) {
		xasprintf(cause, "expected an IPv4 prefix such as 10.81.0.0/16");
		return -1;
	}
	memcpy(ip, text, slash - text);
	ip[slash - text] = '\0';
	if (netaddr_parse_ip(ip, &a) != 0) {
		xasprintf(cause, "%s is not an IPv4 address", ip);
		return -1;
	}
	len = strtol(slash + 1, &end, 10);
	if (slash[1] < '0' || slash[1] > '9' || *end != '\0' || len < 0 ||
	    len > 32) {
		xasprintf(cause, "the prefix length must be 0 to 32");
		return -1;
	}
	if ((a & ~netaddr_mask((int)len)) != 0) {
		xasprintf(cause, "%s has bits set past its /%ld", ip, len);
		return -1;
	}
	p->addr = a;
	p->len = (int)len;
	return 0;
}

void
netaddr_format_ip(uint32_t ip, char *buf)
{
	snprintf(buf, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255,
	    (ip >> 8) & 255, ip & 255);
}

void
netaddr_format(const struct netaddr_prefix *p, char *buf)
{
	char ip[16];

	netaddr_format_ip(p->addr, ip);
	snprintf(buf, 19, "%s/%d", ip, p->len);
}

int
netaddr_subnet(const struct netaddr_prefix *p, int sublen, uint32_t index,
    struct netaddr_prefix *out)
{
	int bits = sublen - p->len;

	if (sublen < p->len || sublen > 32 || bits > 31 ||
	    index >= (1u << bits))
		return -1;
	out->addr = p->addr | (sublen == 32 ? index : index << (32 - sublen));
	out->len = sublen;
	return 0;
}

int
netaddr_overlap(const struct netaddr_prefix *a, const struct netaddr_prefix *b)
{
	int len = a->len < b->len ? a->len : b->len;
	uint32_t m = netaddr_mask(len);

	return (a->addr & m) == (b->addr & m);
}
