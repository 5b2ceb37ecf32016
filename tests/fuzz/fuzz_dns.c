/*
 * fuzz_dns.c - libFuzzer target for the agent's DNS server
 * (agent/dns_answer.c, agent/dns_names.c): the packets any container, or
 * anything that reaches the bridge's gateway, may send.
 *
 * The first byte picks the case, the rest is the input:
 *  - bit 7 clear: a query packet, asked over UDP (bit 0 clear) or TCP,
 *    from one of four sources (bits 1-2: an instance with links, one
 *    without, a stranger, none) against a fixed table of the grid's
 *    names (links, expose, a big service that overflows UDP);
 *  - bit 7 set: a `names` frame (JSON) for dns_table_new().
 * Must hold: no crash, leak or read past the input; a packet is dropped
 * only when shorter than a header or a reply (QR); forwarded only when it
 * parses with one question; every reply parses, carries the query's id
 * and QR, fits the transport (4096 on UDP, 65535 on TCP) and, when it
 * fits the client's UDP size, says so; a frame is refused with a cause
 * naming "names", or gives a table that answers its own names.
 */
#include "agent/dns.h"

#include "common/log.h"

#include <jansson.h>
#include <ldns/ldns.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *fuzz_frame =
    "{\"type\": \"names\", \"grid\": \"default\","
    " \"domain\": \"default.berth.local\", \"services\": ["
    "  {\"stack\": \"wordpress\", \"service\": \"mariadb\", \"exposed\": false,"
    "   \"links\": [], \"instances\": [{\"n\": 1, \"address\": \"10.81.0.5\"}]},"
    "  {\"stack\": \"wordpress\", \"service\": \"wordpress\", \"exposed\": true,"
    "   \"links\": [{\"alias\": \"db\", \"stack\": \"wordpress\","
    "                \"service\": \"mariadb\"},"
    "               {\"alias\": \"big\", \"stack\": \"s\","
    "                \"service\": \"big\"}],"
    "   \"instances\": [{\"n\": 1, \"address\": \"10.81.1.3\"},"
    "                   {\"n\": 2, \"address\": \"10.81.2.7\"}]},"
    "  {\"stack\": \"infra\", \"service\": \"web-2\", \"exposed\": true,"
    "   \"links\": [], \"instances\": [{\"n\": 1, \"address\": \"10.81.3.12\"}]},"
    "  {\"stack\": \"s\", \"service\": \"big\", \"instances\": []}"
    " ]}";

static const uint32_t fuzz_src[4] = {
	0x0a510103,	/* wordpress-1: links db, big */
	0x0a510005,	/* mariadb-1 */
	0x0a51ff09,	/* a stranger */
	0,		/* unknown */
};

static struct dns_table *
fuzz_table(void)
{
	json_t *f = json_loads(fuzz_frame, 0, NULL), *insts;
	struct dns_table *t;
	char ip[32], *cause = NULL;
	int i;

	insts = json_object_get(json_array_get(json_object_get(f, "services"),
	    3), "instances");
	for (i = 0; i < 300; i++) {
		snprintf(ip, sizeof ip, "10.82.%d.%d", i / 250, 1 + i % 250);
		json_array_append_new(insts, json_pack("{s:i, s:s}", "n", i + 1,
		    "address", ip));
	}
	if ((t = dns_table_new(f, &cause)) == NULL)
		abort();
	json_decref(f);
	return t;
}

static void
fuzz_query(const struct dns_table *t, const uint8_t *q, size_t len,
    unsigned mode)
{
	size_t limit = (mode & 1) ? 65535 : 0, outlen = 0;
	ldns_pkt *qp = NULL, *rp = NULL;
	ldns_status qs;
	uint8_t *out = NULL;
	enum dns_verdict v;

	v = dns_answer(t, q, len, fuzz_src[(mode >> 1) & 3], limit, &out,
	    &outlen);
	qs = len >= 12 ? ldns_wire2pkt(&qp, q, len) : LDNS_STATUS_ERR;
	switch (v) {
	case DNS_DROP:
		if (out != NULL || (len >= 12 && (q[2] & 0x80) == 0))
			abort();
		break;
	case DNS_FORWARD:
		if (out != NULL || qs != LDNS_STATUS_OK ||
		    ldns_pkt_qdcount(qp) != 1 || ldns_pkt_qr(qp))
			abort();
		break;
	case DNS_REPLY:
		if (out == NULL || outlen < 12 || outlen > (limit ? limit :
		    DNS_UDP_MAX) || out[0] != q[0] || out[1] != q[1] ||
		    (out[2] & 0x80) == 0)
			abort();
		if (ldns_wire2pkt(&rp, out, outlen) != LDNS_STATUS_OK)
			abort();
		/* Without EDNS0 a UDP reply fits 512 bytes. */
		if (limit == 0 && qs == LDNS_STATUS_OK && !ldns_pkt_edns(qp) &&
		    outlen > DNS_UDP_MIN)
			abort();
		ldns_pkt_free(rp);
		break;
	default:
		abort();
	}
	ldns_pkt_free(qp);
	free(out);

	out = dns_reply_rcode(q, len, LDNS_RCODE_SERVFAIL, &outlen);
	if (out != NULL && (outlen < 12 || ldns_wire2pkt(&rp, out, outlen) !=
	    LDNS_STATUS_OK))
		abort();
	if (out != NULL)
		ldns_pkt_free(rp);
	free(out);
}

static void
fuzz_names(const uint8_t *data, size_t size)
{
	json_t *f = json_loadb((const char *)data, size, 0, NULL);
	struct dns_table *t;
	const uint32_t *addrs;
	char *cause = NULL;
	size_t n;

	if (f == NULL)
		return;
	t = dns_table_new(f, &cause);
	if ((t == NULL) == (cause == NULL))
		abort();
	if (t == NULL) {
		if (strncmp(cause, "names", 5) != 0)
			abort();
	} else {
		/* The domain itself is always the table's own. */
		if (dns_table_lookup(t, dns_table_domain(t), 0, &addrs, &n,
		    NULL) != DNS_FOUND || n != 0)
			abort();
		(void)dns_table_lookup(t, "a.b", 0, &addrs, &n, NULL);
	}
	free(cause);
	dns_table_free(t);
	json_decref(f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dns_table *t;

	if (t == NULL) {
		log_set_level(LOG_LVL_ERROR);
		t = fuzz_table();
	}
	if (size < 1)
		return 0;
	if (data[0] & 0x80)
		fuzz_names(data + 1, size - 1);
	else
		fuzz_query(t, data + 1, size - 1, data[0]);	/* exact size */
	return 0;
}
