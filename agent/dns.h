/*
 * dns.h - the agent's DNS server: the grid's names for its containers
 * (docs/dns.md).
 *
 * Containers on the grid network use the server the agent runs on its
 * bridge's gateway address. It answers A queries for the names of the
 * master's `names` frame (docs/protocol.md): svc.stack.D, svc-N.stack.D,
 * stack.D (the exposed service), link aliases, and the relative forms a
 * resolver sends as typed; D is the frame's domain (GRID.berth.local) or
 * GRID.kontena.local. Every other name goes to the node's own resolvers
 * (the nameservers of resolv.conf). Packets are parsed and built with
 * ldns.
 *
 * Three layers, each usable alone:
 *  - the table (dns_names.c): a validated names frame, looked up by name
 *    and asker. Immutable once built; safe to read from any thread.
 *  - the answer (dns_answer.c): one query packet in, a reply packet or
 *    "forward" out. Pure (no I/O, no clock, no lock): the unit test, the
 *    fuzzer and the bench drive it directly.
 *  - the server (dns.c): UDP and TCP on one address, its own thread with
 *    one poll loop, forwarding with a deadline and a bound on queries in
 *    flight.
 */
#ifndef BERTH_AGENT_DNS_H
#define BERTH_AGENT_DNS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define DNS_TTL			1	/* seconds, every answer of ours */
#define DNS_UDP_MIN		512	/* a client without EDNS0 */
#define DNS_UDP_MAX		4096	/* the most we send over UDP */
#define DNS_FWD_TIMEOUT_MS	2000	/* then SERVFAIL to the client */
#define DNS_FWD_MAX		1024	/* forwarded queries in flight */
#define DNS_TCP_MAX		64	/* client TCP connections at once */
#define DNS_TCP_IDLE_MS		10000	/* an idle TCP client is closed */
#define DNS_LOG_EVERY_MS	60000	/* one upstream failure log a minute */
#define DNS_RESOLV_CHECK_MS	5000	/* resolv.conf changes seen within */

/* ---- the table (dns_names.c) ---------------------------------------------- */

struct dns_table;

/*
 * Build a table from a `names` frame (borrowed). Every field is checked;
 * a bad frame gives NULL and *cause (malloc'd) naming the field, e.g.
 * "names.services[3].instances[0].address: not an IPv4 address".
 */
struct dns_table *dns_table_new(json_t *frame, char **cause);
void	 dns_table_free(struct dns_table *t);	/* NULL: no-op */
/* The frame's domain ("default.berth.local"). */
const char *dns_table_domain(const struct dns_table *t);

enum dns_where {
	DNS_OUTSIDE = 0,	/* not a grid name: forward it */
	DNS_NXDOMAIN,		/* under the grid's domain, no such name */
	DNS_FOUND,		/* a grid name (*n may be 0: no address) */
};

/*
 * Look a name up (any case; a trailing dot or not) as asked by the
 * container at asker (host order; 0: unknown). DNS_FOUND sets *addrs
 * (host order, borrowed from t) and *n; *zone (may be NULL) gets the
 * domain the name is under, for the SOA of a negative answer.
 */
enum dns_where dns_table_lookup(const struct dns_table *t, const char *name,
	    uint32_t asker, const uint32_t **addrs, size_t *n,
	    const char **zone);

/* ---- the answer (dns_answer.c) -------------------------------------------- */

enum dns_verdict {
	DNS_DROP = 0,		/* send nothing (a reply sent to us, garbage) */
	DNS_REPLY,		/* send *out */
	DNS_FORWARD,		/* a name of the outside: ask the upstreams */
};

/*
 * Answer one query packet from src (IPv4, host order) under table t (NULL:
 * no names yet, everything is forwarded). limit is the most the reply may
 * be: 0 for UDP (the client's EDNS0 size, else 512, at most DNS_UDP_MAX;
 * a bigger answer is sent empty with TC), or the TCP limit 65535.
 * DNS_REPLY sets *out (malloc'd; the caller frees) and *outlen. Malformed
 * packets get FORMERR, opcodes other than QUERY NOTIMP, replies (QR) and
 * packets shorter than a header nothing.
 */
enum dns_verdict dns_answer(const struct dns_table *t, const uint8_t *q,
	    size_t qlen, uint32_t src, size_t limit, uint8_t **out,
	    size_t *outlen);

/*
 * A reply to q with only its header and question (if it has one) and
 * rcode, e.g. SERVFAIL when no upstream answered; NULL if q is no query.
 */
uint8_t	*dns_reply_rcode(const uint8_t *q, size_t qlen, int rcode,
	    size_t *outlen);

/* ---- the server (dns.c) --------------------------------------------------- */

struct dns;

struct dns *dns_new(void);
/* Stops the server if it runs; NULL: no-op. */
void	 dns_free(struct dns *d);
/*
 * Replace the names with those of a `names` frame (borrowed; parsed on
 * the calling thread). Any thread. A bad frame gives -1 and *cause
 * (malloc'd) and keeps the previous names.
 */
int	 dns_set_names(struct dns *d, json_t *frame, char **cause);
/*
 * Port the upstreams of resolv.conf are asked on: 53 unless a test says
 * otherwise. Before dns_start().
 */
void	 dns_set_upstream_port(struct dns *d, uint16_t port);
/*
 * Serve UDP and TCP on addr:port (IPv4) on a thread of its own; forward
 * to the nameservers of resolv_conf (re-read when it changes), never to
 * addr:port itself nor to 127.0.0.11. -1 and *cause when a socket cannot
 * be had (the address is not on this host, the port is taken).
 */
int	 dns_start(struct dns *d, const char *addr, uint16_t port,
	    const char *resolv_conf, char **cause);
/* Stop serving and join the thread (within a poll slice). Idempotent. */
void	 dns_stop(struct dns *d);

/* What the server did, for logs and tests. Any thread. */
struct dns_stats {
	uint64_t	queries;	/* packets taken as queries */
	uint64_t	answered;	/* answered from the names */
	uint64_t	forwarded;	/* sent to an upstream */
	uint64_t	servfail;	/* no upstream answered in time, or
					   none, or too many in flight */
	uint64_t	refused;	/* FORMERR/NOTIMP, or dropped */
};
void	 dns_get_stats(struct dns *d, struct dns_stats *st);

#endif
