/*
 * dns_answer.c - one query packet in, a reply packet (or "forward it")
 * out (see dns.h, docs/dns.md).
 *
 * Pure: no I/O, no clock, no lock; called by the server thread for every
 * query, and by the unit test, the fuzzer and the bench. Parsing and
 * building are ldns's (ldns_wire2pkt, ldns_pkt2wire), which refuses
 * truncated packets, compression loops and counts beyond the data. What
 * this file decides:
 *  - shorter than a header, or a reply (QR=1): nothing (a reply answered
 *    would make a loop between two servers);
 *  - an opcode other than QUERY: NOTIMP; unparsable or not exactly one
 *    question: FORMERR;
 *  - class IN whose name the table knows: A records (TTL DNS_TTL), NODATA
 *    for another type, NXDOMAIN under the domain; both negatives carry the
 *    zone's SOA so resolvers cache them for DNS_TTL only;
 *  - anything else: DNS_FORWARD.
 * A reply bigger than the client's limit goes without its answers and
 * with TC, so the client asks again over TCP.
 */
#include "agent/dns.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>
#include <ldns/ldns.h>

#include "common/xmalloc.h"

#define DNS_HEADER	12
#define DNS_TCP_LIMIT	65535
#define DNS_ANSWER_MAX	4000	/* A records in one reply (fits TCP) */

/*
 * The question's name as text for the table: labels joined by '.', a byte
 * no grid name has ('.', controls, non-ASCII...) made '?', so a label can
 * never pose as two. -1 if it does not fit.
 */
static int
dns_qname_text(const ldns_rdf *qname, char *out, size_t len)
{
	const uint8_t *p = ldns_rdf_data(qname);
	size_t size = ldns_rdf_size(qname), i = 0, o = 0, l, k;

	while (i < size && p[i] != 0) {
		l = p[i++];
		if (i + l > size || o + l + 2 > len)
			return -1;
		if (o > 0)
			out[o++] = '.';
		for (k = 0; k < l; k++) {
			uint8_t c = p[i + k];

			out[o++] = (isalnum(c) || c == '-' || c == '_') &&
			    c < 0x80 ? (char)c : '?';
		}
		i += l;
	}
	out[o] = '\0';
	return 0;
}

/* A header-only reply: the query's id, opcode and RD; no question. */
static uint8_t *
dns_reply_header(const uint8_t *q, int rcode, size_t *outlen)
{
	uint8_t *r = xcalloc(1, DNS_HEADER);

	r[0] = q[0];
	r[1] = q[1];
	r[2] = 0x80 | (q[2] & 0x79);	/* QR, opcode, RD */
	r[3] = (uint8_t)(rcode & 0x0f);
	*outlen = DNS_HEADER;
	return r;
}

/* The reply's frame: id, flags, the question as asked, EDNS0 if asked. */
static ldns_pkt *
dns_reply_new(const ldns_pkt *q, int rcode, int aa)
{
	ldns_pkt *r = ldns_pkt_new();
	ldns_rr *qr = ldns_rr_list_rr(ldns_pkt_question(q), 0);

	ldns_pkt_set_id(r, ldns_pkt_id(q));
	ldns_pkt_set_qr(r, true);
	ldns_pkt_set_opcode(r, LDNS_PACKET_QUERY);
	ldns_pkt_set_rd(r, ldns_pkt_rd(q));
	ldns_pkt_set_cd(r, ldns_pkt_cd(q));
	ldns_pkt_set_ra(r, true);
	ldns_pkt_set_aa(r, aa);
	ldns_pkt_set_rcode(r, (uint8_t)rcode);
	if (qr != NULL)
		ldns_pkt_push_rr(r, LDNS_SECTION_QUESTION, ldns_rr_clone(qr));
	if (ldns_pkt_edns(q))
		ldns_pkt_set_edns_udp_size(r, DNS_UDP_MAX);
	return r;
}

/* The zone's SOA (TTLs of DNS_TTL: negatives are cached that long). */
static ldns_rr *
dns_soa(const char *zone)
{
	char text[1024];
	ldns_rr *rr = NULL;

	snprintf(text, sizeof text, "%s. %d IN SOA ns.%s. hostmaster.%s. "
	    "1 %d %d %d %d", zone, DNS_TTL, zone, zone, DNS_TTL, DNS_TTL,
	    DNS_TTL, DNS_TTL);
	if (ldns_rr_new_frm_str(&rr, text, 0, NULL, NULL) != LDNS_STATUS_OK)
		return NULL;
	return rr;
}

static ldns_rr *
dns_a(const ldns_rdf *owner, uint32_t addr)
{
	ldns_rr *rr = ldns_rr_new();
	uint32_t be = htonl(addr);

	ldns_rr_set_owner(rr, ldns_rdf_clone(owner));
	ldns_rr_set_type(rr, LDNS_RR_TYPE_A);
	ldns_rr_set_class(rr, LDNS_RR_CLASS_IN);
	ldns_rr_set_ttl(rr, DNS_TTL);
	ldns_rr_push_rdf(rr, ldns_rdf_new_frm_data(LDNS_RDF_TYPE_A, 4, &be));
	return rr;
}

/* pkt to wire into a malloc'd buffer (ours, not ldns's); -1 on failure. */
static int
dns_wire(const ldns_pkt *p, uint8_t **out, size_t *outlen)
{
	uint8_t *w = NULL;
	size_t len = 0;

	if (ldns_pkt2wire(&w, p, &len) != LDNS_STATUS_OK || w == NULL)
		return -1;
	*out = xmalloc(len);
	memcpy(*out, w, len);
	*outlen = len;
	LDNS_FREE(w);
	return 0;
}

/* The most the reply may be for this query. */
static size_t
dns_limit(const ldns_pkt *q, size_t limit)
{
	size_t e;

	if (limit > 0)
		return limit > DNS_TCP_LIMIT ? DNS_TCP_LIMIT : limit;
	if (!ldns_pkt_edns(q))
		return DNS_UDP_MIN;
	e = ldns_pkt_edns_udp_size(q);
	if (e < DNS_UDP_MIN)
		return DNS_UDP_MIN;
	return e > DNS_UDP_MAX ? DNS_UDP_MAX : e;
}

/* Our own answer to q (its name is the table's). */
static enum dns_verdict
dns_answer_own(const ldns_pkt *q, const ldns_rr *question,
    const char *name, enum dns_where w, const uint32_t *addrs, size_t n,
    const char *zone, size_t limit, uint8_t **out, size_t *outlen)
{
	ldns_rr_type type = ldns_rr_get_type(question);
	const ldns_rdf *owner = ldns_rr_owner(question);
	ldns_pkt *r;
	ldns_rr *soa;
	size_t i, max = dns_limit(q, limit);
	int a = type == LDNS_RR_TYPE_A || type == LDNS_RR_TYPE_ANY;
	int apex = w == DNS_FOUND && strcasecmp(name, zone) == 0;
	int rc;

	r = dns_reply_new(q, w == DNS_NXDOMAIN ? LDNS_RCODE_NXDOMAIN :
	    LDNS_RCODE_NOERROR, 1);
	if (w == DNS_FOUND && a && n > 0) {
		for (i = 0; i < n && i < DNS_ANSWER_MAX; i++)
			ldns_pkt_push_rr(r, LDNS_SECTION_ANSWER,
			    dns_a(owner, addrs[i]));
	} else if ((soa = dns_soa(zone)) != NULL) {
		/* The zone's own SOA is an answer; else it says "negative". */
		ldns_pkt_push_rr(r, apex && (type == LDNS_RR_TYPE_SOA ||
		    type == LDNS_RR_TYPE_ANY) ? LDNS_SECTION_ANSWER :
		    LDNS_SECTION_AUTHORITY, soa);
	}
	rc = dns_wire(r, out, outlen);
	if (rc == 0 && *outlen > max) {
		/* Too big for the client: no answers, TC; it asks on TCP. */
		free(*out);
		ldns_pkt_free(r);
		r = dns_reply_new(q, LDNS_RCODE_NOERROR, 1);
		ldns_pkt_set_tc(r, true);
		rc = dns_wire(r, out, outlen);
	}
	ldns_pkt_free(r);
	return rc == 0 ? DNS_REPLY : DNS_DROP;
}

enum dns_verdict
dns_answer(const struct dns_table *t, const uint8_t *q, size_t qlen,
    uint32_t src, size_t limit, uint8_t **out, size_t *outlen)
{
	ldns_pkt *p = NULL;
	ldns_rr *question;
	const uint32_t *addrs;
	const char *zone;
	char name[512];
	enum dns_where w;
	enum dns_verdict v;
	size_t n;

	*out = NULL;
	*outlen = 0;
	if (qlen < DNS_HEADER || (q[2] & 0x80) != 0)
		return DNS_DROP;
	if (((q[2] >> 3) & 0x0f) != LDNS_PACKET_QUERY) {
		*out = dns_reply_header(q, LDNS_RCODE_NOTIMPL, outlen);
		return DNS_REPLY;
	}
	if (ldns_wire2pkt(&p, q, qlen) != LDNS_STATUS_OK ||
	    ldns_pkt_qdcount(p) != 1 ||
	    ldns_rr_list_rr_count(ldns_pkt_question(p)) != 1) {
		ldns_pkt_free(p);
		*out = dns_reply_header(q, LDNS_RCODE_FORMERR, outlen);
		return DNS_REPLY;
	}
	question = ldns_rr_list_rr(ldns_pkt_question(p), 0);
	if (t == NULL || ldns_rr_get_class(question) != LDNS_RR_CLASS_IN ||
	    dns_qname_text(ldns_rr_owner(question), name, sizeof name) != 0) {
		ldns_pkt_free(p);
		return DNS_FORWARD;
	}
	w = dns_table_lookup(t, name, src, &addrs, &n, &zone);
	if (w == DNS_OUTSIDE)
		v = DNS_FORWARD;
	else
		v = dns_answer_own(p, question, name, w, addrs, n, zone,
		    limit, out, outlen);
	ldns_pkt_free(p);
	return v;
}

uint8_t *
dns_reply_rcode(const uint8_t *q, size_t qlen, int rcode, size_t *outlen)
{
	ldns_pkt *p = NULL, *r;
	uint8_t *out = NULL;

	*outlen = 0;
	if (qlen < DNS_HEADER || (q[2] & 0x80) != 0)
		return NULL;
	if (ldns_wire2pkt(&p, q, qlen) != LDNS_STATUS_OK) {
		ldns_pkt_free(p);
		return dns_reply_header(q, rcode, outlen);
	}
	r = dns_reply_new(p, rcode, 0);
	if (dns_wire(r, &out, outlen) != 0)
		out = dns_reply_header(q, rcode, outlen);
	ldns_pkt_free(r);
	ldns_pkt_free(p);
	return out;
}
