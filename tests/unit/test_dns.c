/*
 * test_dns.c - the agent's DNS server (agent/dns.h, docs/dns.md).
 *
 * The pure part with ldns-built packets: every name form of the grid
 * (svc.stack.D, svc-N, stack.D for expose, link aliases from a known
 * asker and not from a stranger, the relative forms, the Kontena domain),
 * case and trailing dots, NXDOMAIN vs NODATA with the SOA, TC when a big
 * set does not fit the client's UDP size, FORMERR/NOTIMP/silence for bad
 * packets, and bad frames refused naming their field. Then the live
 * server on loopback: UDP and TCP, a bad frame keeping the old names,
 * forwarding to a fake upstream on another loopback port (the client's id
 * restored), SERVFAIL when the upstream never answers or there is none,
 * and resolv.conf's entry for the server itself left out (no loop).
 */
#include <errno.h>
#include <poll.h>
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
#include "test.h"

#define D		"default.berth.local"
#define WP1		0x0a510103	/* 10.81.1.3: wordpress-1 */
#define DB1		0x0a510005	/* 10.81.0.5: mariadb-1 */
#define STRANGER	0x0a51ff09	/* 10.81.255.9: no instance */

static const char *frame_text =
    "{\"type\": \"names\", \"grid\": \"default\", \"domain\": \"" D "\","
    " \"services\": ["
    "  {\"stack\": \"wordpress\", \"service\": \"mariadb\", \"exposed\": false,"
    "   \"links\": [], \"instances\": [{\"n\": 1, \"address\": \"10.81.0.5\"}]},"
    "  {\"stack\": \"wordpress\", \"service\": \"wordpress\", \"exposed\": true,"
    "   \"links\": [{\"alias\": \"db\", \"stack\": \"wordpress\","
    "                \"service\": \"mariadb\"},"
    "               {\"alias\": \"cache\", \"stack\": \"infra\","
    "                \"service\": \"Redis_Main\"}],"
    "   \"instances\": [{\"n\": 1, \"address\": \"10.81.1.3\"},"
    "                   {\"n\": 2, \"address\": \"10.81.2.7\"}]},"
    "  {\"stack\": \"infra\", \"service\": \"Redis_Main\", \"exposed\": false,"
    "   \"links\": [], \"instances\": [{\"n\": 3, \"address\": \"10.81.3.9\"}]},"
    "  {\"stack\": \"infra\", \"service\": \"web\", \"exposed\": false,"
    "   \"links\": [], \"instances\": [{\"n\": 1, \"address\": \"10.81.3.10\"},"
    "     {\"n\": 2, \"address\": \"10.81.3.11\"}]},"
    "  {\"stack\": \"infra\", \"service\": \"web-2\", \"exposed\": false,"
    "   \"links\": [], \"instances\": [{\"n\": 1, \"address\": \"10.81.3.12\"}]},"
    "  {\"stack\": \"infra\", \"service\": \"idle\", \"exposed\": false,"
    "   \"links\": [], \"instances\": []}"
    " ]}";

static json_t *
frame(void)
{
	json_t *f = json_loads(frame_text, 0, NULL);

	if (f == NULL)
		abort();
	return f;
}

static struct dns_table *
table(void)
{
	json_t *f = frame();
	char *cause = NULL;
	struct dns_table *t = dns_table_new(f, &cause);

	if (t == NULL) {
		printf("  frame refused: %s\n", cause);
		abort();
	}
	json_decref(f);
	return t;
}

/* A query packet; edns > 0 adds an OPT with that UDP size. */
static uint8_t *
query(const char *name, ldns_rr_type type, uint16_t id, int edns,
    size_t *len)
{
	ldns_pkt *p = NULL;
	uint8_t *w = NULL, *out;

	if (ldns_pkt_query_new_frm_str(&p, name, type, LDNS_RR_CLASS_IN,
	    LDNS_RD) != LDNS_STATUS_OK)
		abort();
	ldns_pkt_set_id(p, id);
	if (edns > 0)
		ldns_pkt_set_edns_udp_size(p, (uint16_t)edns);
	if (ldns_pkt2wire(&w, p, len) != LDNS_STATUS_OK)
		abort();
	out = xmalloc(*len);
	memcpy(out, w, *len);
	LDNS_FREE(w);
	ldns_pkt_free(p);
	return out;
}

/* What a reply says: rcode, flags, the A records sorted, joined by ','. */
struct reply {
	int		 verdict;
	int		 rcode;
	int		 aa, tc;
	uint16_t	 id;
	int		 ttl;		/* of the first answer, -1 none */
	int		 soa;		/* an SOA in authority */
	char		 addrs[2048];
	size_t		 nanswers;
};

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
reply_read(const uint8_t *r, size_t len, struct reply *out)
{
	ldns_pkt *p = NULL;
	ldns_rr_list *an;
	char *list[4096];
	size_t i, n = 0;

	out->rcode = -1;
	out->ttl = -1;
	out->addrs[0] = '\0';
	if (ldns_wire2pkt(&p, r, len) != LDNS_STATUS_OK)
		return;
	out->rcode = ldns_pkt_get_rcode(p);
	out->aa = ldns_pkt_aa(p);
	out->tc = ldns_pkt_tc(p);
	out->id = ldns_pkt_id(p);
	an = ldns_pkt_answer(p);
	out->nanswers = ldns_rr_list_rr_count(an);
	for (i = 0; i < out->nanswers && n < 4096; i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i);

		if (i == 0)
			out->ttl = (int)ldns_rr_ttl(rr);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_A)
			list[n++] = ldns_rdf2str(ldns_rr_rdf(rr, 0));
	}
	qsort(list, n, sizeof *list, cmp_str);
	for (i = 0; i < n; i++) {
		if (i < 16) {
			if (i > 0)
				strcat(out->addrs, ",");
			strcat(out->addrs, list[i]);
		}
		free(list[i]);
	}
	out->soa = ldns_rr_list_rr_count(ldns_pkt_authority(p)) == 1 &&
	    ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_authority(p), 0)) ==
	    LDNS_RR_TYPE_SOA;
	ldns_pkt_free(p);
}

/* Ask t about name (type A) as src; limit as dns_answer(). */
static struct reply
ask_type(const struct dns_table *t, const char *name, ldns_rr_type type,
    uint32_t src, int edns, size_t limit)
{
	struct reply r;
	uint8_t *q, *out = NULL;
	size_t qlen, outlen = 0;

	memset(&r, 0, sizeof r);
	q = query(name, type, 4242, edns, &qlen);
	r.verdict = dns_answer(t, q, qlen, src, limit, &out, &outlen);
	if (r.verdict == DNS_REPLY)
		reply_read(out, outlen, &r);
	free(out);
	free(q);
	return r;
}

static struct reply
ask(const struct dns_table *t, const char *name, uint32_t src)
{
	return ask_type(t, name, LDNS_RR_TYPE_A, src, 0, 0);
}

#define CHECK_A(t, name, src, want) do {				\
	struct reply r_ = ask(t, name, src);				\
	CHECK_INT(r_.verdict, DNS_REPLY);				\
	CHECK_INT(r_.rcode, LDNS_RCODE_NOERROR);			\
	CHECK_STR(r_.addrs, want);					\
} while (0)

#define CHECK_NX(t, name, src) do {					\
	struct reply r_ = ask(t, name, src);				\
	CHECK_INT(r_.verdict, DNS_REPLY);				\
	CHECK_INT(r_.rcode, LDNS_RCODE_NXDOMAIN);			\
	CHECK(r_.soa);							\
	CHECK_INT(r_.nanswers, 0);					\
} while (0)

#define CHECK_FWD(t, name, src) \
	CHECK_INT(ask(t, name, src).verdict, DNS_FORWARD)

static void
test_dns_full_names(void)
{
	struct dns_table *t = table();
	struct reply r;

	CHECK_STR(dns_table_domain(t), D);
	/* Every running instance; the answer is ours, TTL 1 s. */
	r = ask(t, "wordpress.wordpress." D, 0);
	CHECK_INT(r.rcode, LDNS_RCODE_NOERROR);
	CHECK_STR(r.addrs, "10.81.1.3,10.81.2.7");
	CHECK(r.aa);
	CHECK_INT(r.ttl, DNS_TTL);
	CHECK_INT(r.id, 4242);
	CHECK_A(t, "mariadb.wordpress." D, 0, "10.81.0.5");
	/* Case and the trailing dot do not matter. */
	CHECK_A(t, "MariaDB.WordPress.Default.Berth.Local.", 0, "10.81.0.5");
	CHECK_A(t, "mariadb.wordpress." D ".", 0, "10.81.0.5");
	/* One instance. */
	CHECK_A(t, "wordpress-2.wordpress." D, 0, "10.81.2.7");
	CHECK_A(t, "wordpress-1.wordpress." D, 0, "10.81.1.3");
	CHECK_NX(t, "wordpress-3.wordpress." D, 0);
	/* A service literally named web-2 wins over instance 2 of web. */
	CHECK_A(t, "web-2.infra." D, 0, "10.81.3.12");
	CHECK_A(t, "web-1.infra." D, 0, "10.81.3.10");
	CHECK_A(t, "web.infra." D, 0, "10.81.3.10,10.81.3.11");
	/* Names in their DNS form: Redis_Main is redis-main. */
	CHECK_A(t, "redis-main.infra." D, 0, "10.81.3.9");
	CHECK_A(t, "redis-main-3.infra." D, 0, "10.81.3.9");
	/* expose: the stack's name is its exposed service; none: NX. */
	CHECK_A(t, "wordpress." D, 0, "10.81.1.3,10.81.2.7");
	CHECK_NX(t, "infra." D, 0);
	/* Kontena's domain is the same grid. */
	CHECK_A(t, "mariadb.wordpress.default.kontena.local", 0, "10.81.0.5");
	CHECK_A(t, "wordpress.default.kontena.local.", 0,
	    "10.81.1.3,10.81.2.7");
	/* Under the domain but unknown: NXDOMAIN with the SOA. */
	CHECK_NX(t, "nosuch.wordpress." D, 0);
	CHECK_NX(t, "nosuch." D, 0);
	CHECK_NX(t, "a.mariadb.wordpress." D, 0);
	CHECK_NX(t, "x.nosuch.default.kontena.local", 0);
	CHECK_NX(t, "bad\\.label.wordpress." D, 0);
	/* Known name, other type: NODATA (NOERROR, nothing, the SOA). */
	r = ask_type(t, "mariadb.wordpress." D, LDNS_RR_TYPE_AAAA, 0, 0, 0);
	CHECK_INT(r.verdict, DNS_REPLY);
	CHECK_INT(r.rcode, LDNS_RCODE_NOERROR);
	CHECK_INT(r.nanswers, 0);
	CHECK(r.soa);
	r = ask_type(t, "mariadb.wordpress." D, LDNS_RR_TYPE_MX, 0, 0, 0);
	CHECK_INT(r.rcode, LDNS_RCODE_NOERROR);
	CHECK_INT(r.nanswers, 0);
	/* A service with no running instance: NODATA too. */
	r = ask(t, "idle.infra." D, 0);
	CHECK_INT(r.rcode, LDNS_RCODE_NOERROR);
	CHECK_INT(r.nanswers, 0);
	/* The domain itself: its SOA answers SOA, A is NODATA. */
	r = ask_type(t, D, LDNS_RR_TYPE_SOA, 0, 0, 0);
	CHECK_INT(r.rcode, LDNS_RCODE_NOERROR);
	CHECK_INT(r.nanswers, 1);
	r = ask(t, D, 0);
	CHECK_INT(r.rcode, LDNS_RCODE_NOERROR);
	CHECK_INT(r.nanswers, 0);
	/* Outside the grid: forwarded, also names close to ours. */
	CHECK_FWD(t, "example.com", 0);
	CHECK_FWD(t, "berth.local", 0);
	CHECK_FWD(t, "other.berth.local", 0);
	CHECK_FWD(t, "xdefault.berth.local", 0);
	CHECK_FWD(t, "mariadb.wordpress.other.berth.local", 0);
	/* No table yet: everything is forwarded. */
	CHECK_FWD(NULL, "mariadb.wordpress." D, 0);
	dns_table_free(t);
}

static void
test_dns_relative_and_links(void)
{
	struct dns_table *t = table();

	/* svc.stack as typed, from anyone. */
	CHECK_A(t, "mariadb.wordpress", 0, "10.81.0.5");
	CHECK_A(t, "MARIADB.wordpress.", STRANGER, "10.81.0.5");
	CHECK_A(t, "wordpress-2.wordpress", 0, "10.81.2.7");
	CHECK_NX(t, "nosuch.wordpress", 0);
	CHECK_FWD(t, "mariadb.nosuchstack", 0);
	/* A single label from a known asker: its alias, else its stack's. */
	CHECK_A(t, "db", WP1, "10.81.0.5");
	CHECK_A(t, "DB.", WP1, "10.81.0.5");
	CHECK_A(t, "cache", WP1, "10.81.3.9");	/* another stack's service */
	CHECK_A(t, "mariadb", WP1, "10.81.0.5");
	CHECK_A(t, "wordpress", DB1, "10.81.1.3,10.81.2.7");
	CHECK_A(t, "wordpress-2", DB1, "10.81.2.7");
	/* mariadb has no link "db"; a stranger has no stack: forwarded. */
	CHECK_FWD(t, "db", DB1);
	CHECK_FWD(t, "db", STRANGER);
	CHECK_FWD(t, "mariadb", 0);
	CHECK_FWD(t, "nosuch", WP1);
	/* alias.stack.D: the asker's link, in the asker's stack only. */
	CHECK_A(t, "db.wordpress." D, WP1, "10.81.0.5");
	CHECK_A(t, "db.wordpress", WP1, "10.81.0.5");
	CHECK_A(t, "cache.wordpress." D, WP1, "10.81.3.9");
	CHECK_NX(t, "db.wordpress." D, DB1);
	CHECK_NX(t, "db.wordpress." D, STRANGER);
	CHECK_NX(t, "db.infra." D, WP1);
	dns_table_free(t);
}

/* A frame with one service of n instances 10.82.x.y. */
static struct dns_table *
big_table(int n)
{
	json_t *f = json_pack("{s:s, s:s, s:s, s:[{s:s, s:s, s:b, s:[], s:[]}]}",
	    "type", "names", "grid", "g", "domain", "g.berth.local",
	    "services", "stack", "s", "service", "big", "exposed", 0,
	    "links", "instances");
	json_t *insts = json_object_get(json_array_get(json_object_get(f,
	    "services"), 0), "instances");
	struct dns_table *t;
	char ip[32], *cause = NULL;
	int i;

	for (i = 0; i < n; i++) {
		snprintf(ip, sizeof ip, "10.82.%d.%d", i / 250, 1 + i % 250);
		json_array_append_new(insts, json_pack("{s:i, s:s}", "n",
		    i + 1, "address", ip));
	}
	t = dns_table_new(f, &cause);
	if (t == NULL)
		abort();
	json_decref(f);
	return t;
}

static void
test_dns_truncation(void)
{
	struct dns_table *t = big_table(100);
	struct reply r;

	/* 100 A records (~1.6 KB) do not fit 512: TC, no answers. */
	r = ask(t, "big.s.g.berth.local", 0);
	CHECK_INT(r.rcode, LDNS_RCODE_NOERROR);
	CHECK(r.tc);
	CHECK_INT(r.nanswers, 0);
	/* EDNS0 with 4096: all of them over UDP. */
	r = ask_type(t, "big.s.g.berth.local", LDNS_RR_TYPE_A, 0, 4096, 0);
	CHECK(!r.tc);
	CHECK_INT(r.nanswers, 100);
	/* EDNS0 that says 1024: still too small. */
	r = ask_type(t, "big.s.g.berth.local", LDNS_RR_TYPE_A, 0, 1024, 0);
	CHECK(r.tc);
	/* TCP: everything. One instance fits UDP. */
	r = ask_type(t, "big.s.g.berth.local", LDNS_RR_TYPE_A, 0, 0, 65535);
	CHECK(!r.tc);
	CHECK_INT(r.nanswers, 100);
	r = ask(t, "big-7.s.g.berth.local", 0);
	CHECK(!r.tc);
	CHECK_STR(r.addrs, "10.82.0.7");
	dns_table_free(t);

	/* 10,000 instances: TCP carries as many as fit 64 KiB. */
	t = big_table(10000);
	r = ask_type(t, "big.s.g.berth.local", LDNS_RR_TYPE_A, 0, 0, 65535);
	CHECK(!r.tc);
	CHECK(r.nanswers >= 3000);
	dns_table_free(t);
}

static void
test_dns_bad_packets(void)
{
	struct dns_table *t = table();
	uint8_t *q, *out = NULL, buf[512];
	size_t qlen, outlen;
	struct reply r;

	q = query("mariadb.wordpress." D, LDNS_RR_TYPE_A, 7, 0, &qlen);
	/* Shorter than a header: nothing. */
	CHECK_INT(dns_answer(t, q, 11, 0, 0, &out, &outlen), DNS_DROP);
	CHECK(out == NULL);
	/* Cut in the question: FORMERR with the id. */
	CHECK_INT(dns_answer(t, q, qlen - 3, 0, 0, &out, &outlen), DNS_REPLY);
	reply_read(out, outlen, &r);
	CHECK_INT(r.rcode, LDNS_RCODE_FORMERR);
	CHECK_INT(r.id, 7);
	free(out);
	/* A reply sent to us (QR): dropped, never answered (no loops). */
	memcpy(buf, q, qlen);
	buf[2] |= 0x80;
	CHECK_INT(dns_answer(t, buf, qlen, 0, 0, &out, &outlen), DNS_DROP);
	/* NOTIFY (opcode 4): NOTIMP. */
	memcpy(buf, q, qlen);
	buf[2] = (uint8_t)((buf[2] & 0x87) | (4 << 3));
	CHECK_INT(dns_answer(t, buf, qlen, 0, 0, &out, &outlen), DNS_REPLY);
	CHECK_INT(out[3] & 0x0f, LDNS_RCODE_NOTIMPL);
	CHECK(out[2] & 0x80);
	free(out);
	/* Two questions: FORMERR. The same question twice makes one. */
	memcpy(buf, q, qlen);
	memcpy(buf + qlen, q + 12, qlen - 12);
	buf[5] = 2;
	CHECK_INT(dns_answer(t, buf, qlen * 2 - 12, 0, 0, &out, &outlen),
	    DNS_REPLY);
	CHECK_INT(out[3] & 0x0f, LDNS_RCODE_FORMERR);
	free(out);
	/* No question: FORMERR. */
	memcpy(buf, q, 12);
	buf[5] = 0;
	CHECK_INT(dns_answer(t, buf, 12, 0, 0, &out, &outlen), DNS_REPLY);
	CHECK_INT(out[3] & 0x0f, LDNS_RCODE_FORMERR);
	free(out);
	/* A compression pointer to itself: FORMERR, no hang. */
	memcpy(buf, q, 12);
	buf[12] = 0xc0;
	buf[13] = 12;
	buf[14] = 0;
	buf[15] = 1;
	buf[16] = 0;
	buf[17] = 1;
	CHECK_INT(dns_answer(t, buf, 18, 0, 0, &out, &outlen), DNS_REPLY);
	CHECK_INT(out[3] & 0x0f, LDNS_RCODE_FORMERR);
	free(out);
	/* Counts that promise records the packet lacks: FORMERR. */
	memcpy(buf, q, qlen);
	buf[7] = 200;
	CHECK_INT(dns_answer(t, buf, qlen, 0, 0, &out, &outlen), DNS_REPLY);
	CHECK_INT(out[3] & 0x0f, LDNS_RCODE_FORMERR);
	free(out);
	/* Class CHAOS: not ours, forwarded as is. */
	memcpy(buf, q, qlen);
	buf[qlen - 1] = 3;
	CHECK_INT(dns_answer(t, buf, qlen, 0, 0, &out, &outlen), DNS_FORWARD);
	/* SERVFAIL for a forward that failed keeps the question and id. */
	out = dns_reply_rcode(q, qlen, LDNS_RCODE_SERVFAIL, &outlen);
	reply_read(out, outlen, &r);
	CHECK_INT(r.rcode, LDNS_RCODE_SERVFAIL);
	CHECK_INT(r.id, 7);
	free(out);
	free(q);
	dns_table_free(t);
}

/* Mutate the good frame at a path, expect the cause. */
static void
bad_frame(const char *set, const char *cause_want)
{
	json_t *f = frame(), *patch = json_loads(set, 0, NULL), *v;
	const char *k;
	char *cause = NULL;

	/* patch: {"svc": index, "key": ..., "value": ...} or top-level. */
	if (json_object_get(patch, "svc") != NULL) {
		json_t *svc = json_array_get(json_object_get(f, "services"),
		    (size_t)json_integer_value(json_object_get(patch, "svc")));

		json_object_set(svc, json_string_value(json_object_get(patch,
		    "key")), json_object_get(patch, "value"));
	} else {
		json_object_foreach(patch, k, v)
			json_object_set(f, k, v);
	}
	CHECK(dns_table_new(f, &cause) == NULL);
	CHECK_STR(cause, cause_want);
	free(cause);
	json_decref(patch);
	json_decref(f);
}

static void
test_dns_bad_frames(void)
{
	char *cause = NULL;

	CHECK(dns_table_new(json_null(), &cause) == NULL);
	CHECK_STR(cause, "names: not an object");
	free(cause);
	bad_frame("{\"domain\": \"Default.berth.local\"}",
	    "names.domain: not a domain name (lower-case labels of [a-z0-9-] "
	    "joined by dots)");
	bad_frame("{\"domain\": \"a..b\"}", "names.domain: not a domain name "
	    "(lower-case labels of [a-z0-9-] joined by dots)");
	bad_frame("{\"grid\": \"a b\"}", "names.grid: not a grid name");
	bad_frame("{\"services\": {}}", "names.services: not an array");
	bad_frame("{\"svc\": 1, \"key\": \"instances\", \"value\": "
	    "[{\"n\": 1, \"address\": \"10.81.1.300\"}]}",
	    "names.services[1].instances[0].address: not an IPv4 address");
	bad_frame("{\"svc\": 3, \"key\": \"instances\", \"value\": "
	    "[{\"n\": 1, \"address\": \"10.81.1.3\"}, {\"n\": 2}]}",
	    "names.services[3].instances[1].address: not an IPv4 address");
	bad_frame("{\"svc\": 0, \"key\": \"instances\", \"value\": "
	    "[{\"n\": 0, \"address\": \"10.81.1.3\"}]}",
	    "names.services[0].instances[0].n: not an instance number "
	    "(1 to 1000000)");
	bad_frame("{\"svc\": 0, \"key\": \"instances\", \"value\": "
	    "[{\"n\": 1, \"address\": \"10.81.1.3\"}, "
	    "{\"n\": 1, \"address\": \"10.81.1.4\"}]}",
	    "names.services[0].instances[1].n: instance 1 twice");
	bad_frame("{\"svc\": 0, \"key\": \"instances\", \"value\": 5}",
	    "names.services[0].instances: not an array");
	bad_frame("{\"svc\": 2, \"key\": \"service\", \"value\": \"a.b\"}",
	    "names.services[2].service: not a name ([A-Za-z0-9_-], 1 to 63 "
	    "characters, beginning with a letter or digit)");
	bad_frame("{\"svc\": 2, \"key\": \"stack\", \"value\": 3}",
	    "names.services[2].stack: not a string");
	bad_frame("{\"svc\": 1, \"key\": \"exposed\", \"value\": \"yes\"}",
	    "names.services[1].exposed: not a boolean");
	bad_frame("{\"svc\": 0, \"key\": \"exposed\", \"value\": true}",
	    "names.services[1].exposed: stack wordpress has another exposed "
	    "service");
	bad_frame("{\"svc\": 1, \"key\": \"links\", \"value\": "
	    "[{\"alias\": \"-x\", \"stack\": \"a\", \"service\": \"b\"}]}",
	    "names.services[1].links[0].alias: not a name ([A-Za-z0-9_-], 1 "
	    "to 63 characters, beginning with a letter or digit)");
	bad_frame("{\"svc\": 1, \"key\": \"links\", \"value\": "
	    "[{\"alias\": \"db\", \"stack\": \"a\"}]}",
	    "names.services[1].links[0].service: missing");
	bad_frame("{\"svc\": 1, \"key\": \"service\", \"value\": \"MariaDB\"}",
	    "names.services[1].service: mariadb of stack wordpress twice");
}

/* ---- the live server ------------------------------------------------------ */

/* A fake upstream: answers example.test with 192.0.2.1, never slow.test. */
struct upstream {
	int		 fd;
	uint16_t	 port;
	atomic_int	 stop;
	atomic_int	 seen;		/* queries received */
	pthread_t	 thread;
};

static void *
upstream_main(void *arg)
{
	struct upstream *u = arg;
	struct sockaddr_in from;
	socklen_t flen;
	uint8_t buf[4096], *w = NULL;
	struct pollfd pfd = { u->fd, POLLIN, 0 };
	ldns_pkt *q, *r;
	ldns_rr *rr;
	char *name;
	size_t wlen;
	ssize_t n;

	while (!atomic_load(&u->stop)) {
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		flen = sizeof from;
		n = recvfrom(u->fd, buf, sizeof buf, 0,
		    (struct sockaddr *)&from, &flen);
		q = NULL;
		if (n <= 0 || ldns_wire2pkt(&q, buf, (size_t)n) !=
		    LDNS_STATUS_OK)
			continue;
		atomic_fetch_add(&u->seen, 1);
		name = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(
		    ldns_pkt_question(q), 0)));
		if (strcmp(name, "example.test.") == 0) {
			r = ldns_pkt_new();
			ldns_pkt_set_id(r, ldns_pkt_id(q));
			ldns_pkt_set_qr(r, true);
			ldns_pkt_push_rr(r, LDNS_SECTION_QUESTION, ldns_rr_clone(
			    ldns_rr_list_rr(ldns_pkt_question(q), 0)));
			rr = NULL;
			ldns_rr_new_frm_str(&rr, "example.test. 60 IN A "
			    "192.0.2.1", 0, NULL, NULL);
			ldns_pkt_push_rr(r, LDNS_SECTION_ANSWER, rr);
			if (ldns_pkt2wire(&w, r, &wlen) == LDNS_STATUS_OK)
				sendto(u->fd, w, wlen, 0,
				    (struct sockaddr *)&from, flen);
			LDNS_FREE(w);
			ldns_pkt_free(r);
		}
		free(name);
		ldns_pkt_free(q);
	}
	return NULL;
}

static int
udp_bound(uint16_t *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof sin;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof sin) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) != 0)
		abort();
	*port = ntohs(sin.sin_port);
	return fd;
}

/* Start a server on 127.0.0.1 at a free port (UDP and TCP). */
static struct dns *
server_start(const char *resolv, uint16_t up_port, uint16_t *port)
{
	struct dns *d = dns_new();
	char *cause = NULL;
	int tries, fd;

	dns_set_upstream_port(d, up_port);
	for (tries = 0; tries < 20; tries++) {
		fd = udp_bound(port);	/* a port free for UDP now */
		close(fd);
		if (dns_start(d, "127.0.0.1", *port, resolv, &cause) == 0)
			return d;
		free(cause);
	}
	abort();
}

/* One query over UDP (or TCP); the reply, waiting up to 10 s. */
static struct reply
live_ask(uint16_t port, const char *name, int tcp, int edns)
{
	struct sockaddr_in sin;
	struct reply r;
	uint8_t *q, buf[65538];
	size_t qlen, got = 0, need = 0;
	struct timeval tv = { 10, 0 };
	ssize_t n;
	int fd;

	memset(&r, 0, sizeof r);
	r.rcode = -1;
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	q = query(name, LDNS_RR_TYPE_A, 0x5151, edns, &qlen);
	fd = socket(AF_INET, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (tcp) {
		uint8_t pre[2] = { (uint8_t)(qlen >> 8), (uint8_t)qlen };

		if (connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0 ||
		    send(fd, pre, 2, 0) != 2 ||
		    send(fd, q, qlen, 0) != (ssize_t)qlen)
			goto out;
		while (got < 2 || got < 2 + need) {
			n = recv(fd, buf + got, sizeof buf - got, 0);
			if (n <= 0)
				goto out;
			got += (size_t)n;
			if (got >= 2)
				need = (size_t)buf[0] << 8 | buf[1];
		}
		reply_read(buf + 2, need, &r);
	} else {
		sendto(fd, q, qlen, 0, (struct sockaddr *)&sin, sizeof sin);
		n = recv(fd, buf, sizeof buf, 0);
		if (n > 0)
			reply_read(buf, (size_t)n, &r);
	}
out:
	close(fd);
	free(q);
	return r;
}

static char *
resolv_file(char *dir, const char *text)
{
	char *path;
	FILE *fp;

	xasprintf(&path, "%s/resolv.conf", dir);
	if ((fp = fopen(path, "w")) == NULL)
		abort();
	fputs(text, fp);
	fclose(fp);
	return path;
}

static void
test_dns_live(void)
{
	char dir[] = "/tmp/berth-dns.XXXXXX", *resolv, *cause = NULL;
	struct upstream u;
	struct dns *d;
	struct dns_stats st;
	struct reply r;
	json_t *f;
	uint16_t port;
	int64_t t0;

	if (mkdtemp(dir) == NULL)
		abort();
	memset(&u, 0, sizeof u);
	u.fd = udp_bound(&u.port);
	pthread_create(&u.thread, NULL, upstream_main, &u);
	/* The comment, the IPv6 one and Docker's 127.0.0.11 are skipped. */
	resolv = resolv_file(dir, "# test\nsearch example\nnameserver ::1\n"
	    "nameserver 127.0.0.11\nnameserver 127.0.0.1\n");
	d = server_start(resolv, u.port, &port);

	/* No names yet: forwarded. */
	r = live_ask(port, "mariadb.wordpress." D, 0, 0);
	CHECK_INT(r.rcode, LDNS_RCODE_SERVFAIL);
	f = frame();
	CHECK_INT(dns_set_names(d, f, &cause), 0);
	json_decref(f);
	r = live_ask(port, "mariadb.wordpress." D, 0, 0);
	CHECK_INT(r.rcode, LDNS_RCODE_NOERROR);
	CHECK_STR(r.addrs, "10.81.0.5");
	CHECK_INT(r.id, 0x5151);
	r = live_ask(port, "wordpress.wordpress." D, 1, 0);
	CHECK_STR(r.addrs, "10.81.1.3,10.81.2.7");
	/* From 127.0.0.1, an unknown asker: a single label goes out. */
	r = live_ask(port, "mariadb", 0, 0);
	CHECK_INT(r.rcode, LDNS_RCODE_SERVFAIL);

	/* A bad frame is refused and the names stay. */
	f = json_loads("{\"type\":\"names\",\"grid\":\"default\",\"domain\":"
	    "\"" D "\",\"services\":[{\"stack\":\"s\",\"service\":\"x\","
	    "\"instances\":[{\"n\":1,\"address\":\"nope\"}]}]}", 0, NULL);
	CHECK_INT(dns_set_names(d, f, &cause), -1);
	CHECK_STR(cause, "names.services[0].instances[0].address: not an "
	    "IPv4 address");
	free(cause);
	json_decref(f);
	r = live_ask(port, "mariadb.wordpress." D, 1, 0);
	CHECK_STR(r.addrs, "10.81.0.5");

	/* Forwarded to the fake upstream; the client's id comes back. */
	r = live_ask(port, "example.test", 0, 0);
	CHECK_INT(r.rcode, LDNS_RCODE_NOERROR);
	CHECK_STR(r.addrs, "192.0.2.1");
	CHECK_INT(r.id, 0x5151);
	r = live_ask(port, "example.test", 1, 0);
	CHECK_STR(r.addrs, "192.0.2.1");
	/* An upstream that never answers: SERVFAIL, in bounded time. */
	t0 = util_mono_ms();
	r = live_ask(port, "slow.test", 0, 0);
	CHECK_INT(r.rcode, LDNS_RCODE_SERVFAIL);
	CHECK_INT(r.id, 0x5151);
	CHECK(util_mono_ms() - t0 < 10000);
	CHECK(atomic_load(&u.seen) >= 3);	/* it was asked, again */
	dns_get_stats(d, &st);
	CHECK(st.forwarded >= 5);
	CHECK(st.servfail >= 3);
	CHECK_INT(st.answered, 3);

	/* A big set: TC over UDP, all of it over TCP. */
	dns_stop(d);
	dns_free(d);
	atomic_store(&u.stop, 1);
	pthread_join(u.thread, NULL);
	close(u.fd);
	{
		json_t *big = json_pack("{s:s, s:s, s:s, s:[{s:s, s:s, s:[]}]}",
		    "type", "names", "grid", "g", "domain", "g.berth.local",
		    "services", "stack", "s", "service", "big", "instances");
		json_t *insts = json_object_get(json_array_get(
		    json_object_get(big, "services"), 0), "instances");
		char ip[32];
		int i;

		for (i = 0; i < 300; i++) {
			snprintf(ip, sizeof ip, "10.82.%d.%d", i / 250,
			    1 + i % 250);
			json_array_append_new(insts, json_pack("{s:i, s:s}",
			    "n", i + 1, "address", ip));
		}
		/* No resolvers at all: outside names get SERVFAIL. */
		free(resolv);
		resolv = resolv_file(dir, "# nothing\n");
		d = server_start(resolv, 53, &port);
		CHECK_INT(dns_set_names(d, big, &cause), 0);
		json_decref(big);
	}
	r = live_ask(port, "big.s.g.berth.local", 0, 0);
	CHECK(r.tc);
	CHECK_INT(r.nanswers, 0);
	r = live_ask(port, "big.s.g.berth.local", 1, 0);
	CHECK(!r.tc);
	CHECK_INT(r.nanswers, 300);
	r = live_ask(port, "example.test", 0, 0);
	CHECK_INT(r.rcode, LDNS_RCODE_SERVFAIL);
	dns_free(d);

	/* resolv.conf naming the server itself: left out, never a loop. */
	d = dns_new();
	{
		uint16_t p2;
		int fd, tries, rc = -1;
		char text[64];

		free(resolv);
		snprintf(text, sizeof text, "nameserver 127.0.0.1\n");
		resolv = resolv_file(dir, text);
		/* A port free for UDP may be taken for TCP: try another. */
		for (tries = 0; rc != 0 && tries < 20; tries++) {
			fd = udp_bound(&p2);
			close(fd);
			dns_set_upstream_port(d, p2);
			free(cause);
			cause = NULL;
			rc = dns_start(d, "127.0.0.1", p2, resolv, &cause);
		}
		CHECK_INT(rc, 0);
		r = live_ask(p2, "example.test", 0, 0);
		CHECK_INT(r.rcode, LDNS_RCODE_SERVFAIL);
		dns_get_stats(d, &st);
		CHECK_INT(st.queries, 1);	/* not its own query again */
		CHECK_INT(st.forwarded, 0);
	}
	dns_free(d);
	unlink(resolv);
	free(resolv);
	rmdir(dir);
}

int
main(void)
{
	log_set_level(LOG_LVL_ERROR);
	TEST_RUN(test_dns_full_names);
	TEST_RUN(test_dns_relative_and_links);
	TEST_RUN(test_dns_truncation);
	TEST_RUN(test_dns_bad_packets);
	TEST_RUN(test_dns_bad_frames);
	TEST_RUN(test_dns_live);
	return TEST_DONE();
}
