/*
 * dns.c - the DNS server's sockets, thread and forwarding (see dns.h).
 *
 * DESIGN: one thread, one poll() loop, no thread per query. It owns every
 * socket: UDP and a TCP listener on the serving address, the TCP clients
 * (at most DNS_TCP_MAX; messages length-prefixed, RFC 1035 4.2.2), and
 * one unconnected UDP socket toward the upstreams. A query is answered by
 * dns_answer() under the table lock (microseconds), or forwarded: the
 * packet goes to the first upstream under a fresh random id, to the next
 * one (round robin) at each DNS_FWD_TIMEOUT_MS / max(2, upstreams), and
 * the client gets SERVFAIL at DNS_FWD_TIMEOUT_MS if no upstream answered.
 * An upstream's reply is matched by id and source address and goes back
 * with the client's id. At most DNS_FWD_MAX forwards are in flight; beyond
 * that, and with no upstream at all, SERVFAIL at once: never a hang.
 *
 * The upstreams are resolv.conf's IPv4 nameservers, re-read when the file
 * changes (checked every DNS_RESOLV_CHECK_MS), leaving out the server's own
 * address and 127.0.0.11 (Docker's embedded DNS in a container: a loop).
 *
 * Threads: dns_set_names() runs on the caller's thread (the frame is
 * parsed there, so jansson never crosses threads) and swaps the table
 * under d->lock, which the server thread holds while it answers one query.
 * dns_stop() sets d->stop and writes the wake pipe; the loop sees it at
 * once and the thread is joined.
 */
#include "agent/dns.h"

#include <errno.h>
#include <fcntl.h>
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
#include <sys/stat.h>

#include <ldns/ldns.h>

#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"

#define DNS_UPSTREAM_MAX	8	/* nameservers taken from resolv.conf */
#define DNS_MSG_MAX		65535	/* a DNS message, UDP or TCP */
#define DNS_TCP_OUT_MAX		(256 * 1024) /* a client that never reads */
#define DNS_LOOP_MS		1000	/* poll slice without timers */
#define DNS_UDP_BATCH		64	/* datagrams read per wake-up */

struct dns_upstream {
	struct sockaddr_in sa;		/* its address, port */
	int64_t		 logged;	/* mono ms of its last failure log */
};

/* A forwarded query waiting for an upstream. */
struct dns_fwd {
	int		 used;
	uint16_t	 id;		/* the id upstreams see */
	uint16_t	 client_id;	/* the client's id */
	uint8_t		*q;		/* the query (with id) */
	size_t		 qlen;
	struct sockaddr_in client;	/* UDP client, or ... */
	int		 tcp;		/* ... TCP client slot, -1 for UDP */
	uint64_t	 tcp_gen;	/* that slot's generation */
	int		 tries;		/* sends so far */
	int64_t		 next;		/* mono ms of the next send */
	int64_t		 deadline;	/* mono ms: SERVFAIL */
	uint32_t	 asked;		/* bit i: upstream i was asked */
};

/* A TCP client. */
struct dns_tcp {
	int		 fd;		/* -1: free slot */
	uint64_t	 gen;		/* bumped at each accept */
	uint32_t	 ip;		/* peer, host order */
	uint8_t		*in;		/* 2 + DNS_MSG_MAX bytes */
	size_t		 inlen;
	struct buf	 out;		/* replies not yet written */
	size_t		 outoff;	/* written of out */
	int64_t		 last;		/* mono ms of the last activity */
};

struct dns {
	pthread_mutex_t	 lock;		/* guards table and stats */
	struct dns_table *table;	/* NULL until the first frame */
	struct dns_stats stats;

	/* Set before dns_start(), read-only after. */
	uint16_t	 upstream_port;
	char		*resolv_conf;
	struct sockaddr_in self;	/* serving address */

	/* The server thread's own. */
	pthread_t	 thread;
	int		 running;	/* the thread was started */
	atomic_int	 stop;
	int		 wake[2];	/* dns_stop() -> loop */
	int		 udp, listener, up;
	struct dns_upstream ups[DNS_UPSTREAM_MAX];
	int		 nups;
	int		 next_up;	/* round robin start */
	struct stat	 resolv_st;	/* resolv.conf when last read */
	int		 resolv_seen;	/* it was looked at once */
	int64_t		 resolv_checked; /* mono ms of that look */
	struct dns_fwd	 fwd[DNS_FWD_MAX];
	int		 nfwd;
	int16_t		*idmap;		/* upstream id -> fwd slot, -1 */
	struct dns_tcp	 tcp[DNS_TCP_MAX];
	int		 ntcp;
	uint8_t		*buf;		/* DNS_MSG_MAX receive buffer */
};

struct dns *
dns_new(void)
{
	struct dns *d = xcalloc(1, sizeof *d);
	int i;

	pthread_mutex_init(&d->lock, NULL);
	d->upstream_port = 53;
	d->wake[0] = d->wake[1] = d->udp = d->listener = d->up = -1;
	for (i = 0; i < DNS_TCP_MAX; i++)
		d->tcp[i].fd = -1;
	return d;
}

void
dns_free(struct dns *d)
{
	if (d == NULL)
		return;
	dns_stop(d);
	dns_table_free(d->table);
	pthread_mutex_destroy(&d->lock);
	free(d->resolv_conf);
	free(d);
}

int
dns_set_names(struct dns *d, json_t *frame, char **cause)
{
	struct dns_table *t, *old;

	if ((t = dns_table_new(frame, cause)) == NULL)
		return -1;
	pthread_mutex_lock(&d->lock);
	old = d->table;
	d->table = t;
	pthread_mutex_unlock(&d->lock);
	dns_table_free(old);
	return 0;
}

void
dns_set_upstream_port(struct dns *d, uint16_t port)
{
	d->upstream_port = port;
}

void
dns_get_stats(struct dns *d, struct dns_stats *st)
{
	pthread_mutex_lock(&d->lock);
	*st = d->stats;
	pthread_mutex_unlock(&d->lock);
}

static void
dns_count(struct dns *d, uint64_t *field)
{
	pthread_mutex_lock(&d->lock);
	(*field)++;
	pthread_mutex_unlock(&d->lock);
}

/* ---- upstreams ------------------------------------------------------------ */

/* Read resolv.conf's nameservers if the file changed (or on first use). */
static void
dns_resolv_load(struct dns *d, int64_t now)
{
	struct stat st;
	char *text = NULL, *line, *save = NULL, ip[64];
	size_t len;
	struct in_addr in;
	int n = 0, first = !d->resolv_seen;

	d->resolv_checked = now;
	if (stat(d->resolv_conf, &st) != 0)
		memset(&st, 0, sizeof st);
	else if (!first && st.st_mtim.tv_sec == d->resolv_st.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == d->resolv_st.st_mtim.tv_nsec &&
	    st.st_ino == d->resolv_st.st_ino &&
	    st.st_size == d->resolv_st.st_size)
		return;
	d->resolv_st = st;
	d->resolv_seen = 1;
	if (util_read_file(d->resolv_conf, 64 * 1024, &text, &len) != 0) {
		if (d->nups > 0 || first)
			log_warn("dns: %s: %s: names outside the grid get "
			    "SERVFAIL", d->resolv_conf, strerror(errno));
		d->nups = 0;
		return;
	}
	for (line = strtok_r(text, "\n", &save); line != NULL &&
	    n < DNS_UPSTREAM_MAX; line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, " nameserver %63s", ip) != 1 ||
		    inet_pton(AF_INET, ip, &in) != 1)
			continue;	/* comments, IPv6, other keywords */
		if (strcmp(ip, "127.0.0.11") == 0 ||
		    (in.s_addr == d->self.sin_addr.s_addr &&
		    d->upstream_port == ntohs(d->self.sin_port)))
			continue;	/* a loop */
		memset(&d->ups[n], 0, sizeof d->ups[n]);
		d->ups[n].sa.sin_family = AF_INET;
		d->ups[n].sa.sin_addr = in;
		d->ups[n].sa.sin_port = htons(d->upstream_port);
		n++;
	}
	free(text);
	if (n != d->nups || first)
		log_info("dns: %d upstream resolver%s from %s", n,
		    n == 1 ? "" : "s", d->resolv_conf);
	d->nups = n;
	d->next_up = 0;
}

/* Log a failure of upstream i, at most once a DNS_LOG_EVERY_MS. */
static void
dns_up_fail(struct dns *d, int i, const char *what, int64_t now)
{
	char ip[INET_ADDRSTRLEN];

	if (i < 0 || i >= d->nups || (d->ups[i].logged != 0 &&
	    now - d->ups[i].logged < DNS_LOG_EVERY_MS))
		return;
	d->ups[i].logged = now;
	inet_ntop(AF_INET, &d->ups[i].sa.sin_addr, ip, sizeof ip);
	log_warn("dns: upstream %s:%u: %s (logged once a minute)", ip,
	    ntohs(d->ups[i].sa.sin_port), what);
}

/* ---- replies to clients --------------------------------------------------- */

static void
dns_tcp_close(struct dns *d, int i)
{
	struct dns_tcp *c = &d->tcp[i];

	if (c->fd < 0)
		return;
	close(c->fd);
	c->fd = -1;
	free(c->in);
	c->in = NULL;
	buf_free(&c->out);
	c->outoff = 0;
	d->ntcp--;
}

/* Queue a reply on TCP slot i, prefixed by its length; write what goes. */
static void
dns_tcp_send(struct dns *d, int i, const uint8_t *msg, size_t len)
{
	struct dns_tcp *c = &d->tcp[i];
	uint8_t pre[2] = { (uint8_t)(len >> 8), (uint8_t)len };
	ssize_t w;

	if (c->out.len - c->outoff + len > DNS_TCP_OUT_MAX) {
		dns_tcp_close(d, i);	/* it does not read its replies */
		return;
	}
	buf_append(&c->out, pre, 2);
	buf_append(&c->out, msg, len);
	while (c->outoff < c->out.len) {
		w = send(c->fd, c->out.data + c->outoff,
		    c->out.len - c->outoff, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;		/* POLLOUT goes on */
			dns_tcp_close(d, i);
			return;
		}
		c->outoff += (size_t)w;
	}
	buf_free(&c->out);
	c->outoff = 0;
}

static void
dns_reply(struct dns *d, const struct sockaddr_in *client, int tcp,
    const uint8_t *msg, size_t len)
{
	if (tcp >= 0)
		dns_tcp_send(d, tcp, msg, len);
	else
		(void)sendto(d->udp, msg, len, MSG_DONTWAIT,
		    (const struct sockaddr *)client, sizeof *client);
}

static void
dns_servfail(struct dns *d, const uint8_t *q, size_t qlen,
    const struct sockaddr_in *client, int tcp)
{
	uint8_t *r;
	size_t rlen;

	dns_count(d, &d->stats.servfail);
	if ((r = dns_reply_rcode(q, qlen, LDNS_RCODE_SERVFAIL, &rlen)) != NULL)
		dns_reply(d, client, tcp, r, rlen);
	free(r);
}

/* ---- forwarding ----------------------------------------------------------- */

static void
dns_fwd_send(struct dns *d, struct dns_fwd *f, int64_t now)
{
	int i = (d->next_up + f->tries) % d->nups;

	f->tries++;
	f->asked |= 1u << i;
	f->next = now + DNS_FWD_TIMEOUT_MS / (d->nups > 2 ? d->nups : 2);
	if (sendto(d->up, f->q, f->qlen, MSG_DONTWAIT,
	    (const struct sockaddr *)&d->ups[i].sa, sizeof d->ups[i].sa) < 0)
		dns_up_fail(d, i, strerror(errno), now);
}

static void
dns_fwd_done(struct dns *d, struct dns_fwd *f)
{
	d->idmap[f->id] = -1;
	free(f->q);
	f->q = NULL;
	f->used = 0;
	d->nfwd--;
}

static void
dns_fwd_start(struct dns *d, const uint8_t *q, size_t qlen,
    const struct sockaddr_in *client, int tcp, int64_t now)
{
	struct dns_fwd *f = NULL;
	uint16_t id;
	int i;

	if (now - d->resolv_checked >= DNS_RESOLV_CHECK_MS)
		dns_resolv_load(d, now);
	if (d->nups == 0 || d->nfwd >= DNS_FWD_MAX) {
		if (d->nups == 0)
			log_debug("dns: no upstream resolver: SERVFAIL");
		dns_servfail(d, q, qlen, client, tcp);
		return;
	}
	for (i = 0; i < DNS_FWD_MAX; i++) {
		if (!d->fwd[i].used) {
			f = &d->fwd[i];
			break;
		}
	}
	do
		util_random(&id, sizeof id);
	while (d->idmap[id] != -1);
	memset(f, 0, sizeof *f);
	f->used = 1;
	f->id = id;
	f->client_id = (uint16_t)(q[0] << 8 | q[1]);
	f->q = xmalloc(qlen);
	memcpy(f->q, q, qlen);
	f->q[0] = (uint8_t)(id >> 8);
	f->q[1] = (uint8_t)id;
	f->qlen = qlen;
	if (client != NULL)
		f->client = *client;
	f->tcp = tcp;
	f->tcp_gen = tcp >= 0 ? d->tcp[tcp].gen : 0;
	f->deadline = now + DNS_FWD_TIMEOUT_MS;
	d->idmap[id] = (int16_t)(f - d->fwd);
	d->nfwd++;
	dns_count(d, &d->stats.forwarded);
	dns_fwd_send(d, f, now);
}

/* A datagram on the upstream socket. */
static void
dns_fwd_reply(struct dns *d, uint8_t *r, size_t len,
    const struct sockaddr_in *from)
{
	struct dns_fwd *f;
	int slot, i, known = 0;

	if (len < 12 || (r[2] & 0x80) == 0)
		return;
	if ((slot = d->idmap[(uint16_t)(r[0] << 8 | r[1])]) < 0)
		return;
	f = &d->fwd[slot];
	for (i = 0; i < d->nups; i++) {
		if ((f->asked & (1u << i)) &&
		    d->ups[i].sa.sin_addr.s_addr == from->sin_addr.s_addr &&
		    d->ups[i].sa.sin_port == from->sin_port)
			known = 1;
	}
	if (!known)
		return;		/* not from an upstream this query went to */
	r[0] = (uint8_t)(f->client_id >> 8);
	r[1] = (uint8_t)f->client_id;
	if (f->tcp < 0)
		dns_reply(d, &f->client, -1, r, len);
	else if (d->tcp[f->tcp].fd >= 0 && d->tcp[f->tcp].gen == f->tcp_gen)
		dns_reply(d, NULL, f->tcp, r, len);
	dns_fwd_done(d, f);
}

/* Resend or give up the forwards that are due; the next due time. */
static int64_t
dns_fwd_timers(struct dns *d, int64_t now)
{
	int64_t next = now + DNS_LOOP_MS;
	struct dns_fwd *f;
	int i, j;

	for (i = 0; i < DNS_FWD_MAX && d->nfwd > 0; i++) {
		f = &d->fwd[i];
		if (!f->used)
			continue;
		if (now >= f->deadline || d->nups == 0) {
			for (j = 0; j < d->nups; j++) {
				if (f->asked & (1u << j))
					dns_up_fail(d, j, "no answer in "
					    "time", now);
			}
			f->q[0] = (uint8_t)(f->client_id >> 8);
			f->q[1] = (uint8_t)f->client_id;
			if (f->tcp < 0 || (d->tcp[f->tcp].fd >= 0 &&
			    d->tcp[f->tcp].gen == f->tcp_gen))
				dns_servfail(d, f->q, f->qlen, &f->client,
				    f->tcp);
			dns_fwd_done(d, f);
			continue;
		}
		if (now >= f->next)
			dns_fwd_send(d, f, now);
		if (f->next < next)
			next = f->next;
		if (f->deadline < next)
			next = f->deadline;
	}
	return next;
}

/* ---- queries -------------------------------------------------------------- */

static void
dns_query(struct dns *d, const uint8_t *q, size_t qlen,
    const struct sockaddr_in *client, uint32_t ip, int tcp, int64_t now)
{
	enum dns_verdict v;
	uint8_t *out = NULL;
	size_t outlen = 0;

	pthread_mutex_lock(&d->lock);
	d->stats.queries++;
	v = dns_answer(d->table, q, qlen, ip, tcp >= 0 ? DNS_MSG_MAX : 0,
	    &out, &outlen);
	if (v == DNS_REPLY && (out[3] & 0x0f) != LDNS_RCODE_FORMERR &&
	    (out[3] & 0x0f) != LDNS_RCODE_NOTIMPL)
		d->stats.answered++;
	else if (v != DNS_FORWARD)
		d->stats.refused++;
	pthread_mutex_unlock(&d->lock);

	if (log_get_level() >= LOG_LVL_DEBUG) {
		char ipt[INET_ADDRSTRLEN], name[256] = "?";
		ldns_pkt *p = NULL;
		struct in_addr in = { htonl(ip) };

		if (ldns_wire2pkt(&p, q, qlen) == LDNS_STATUS_OK &&
		    ldns_pkt_question(p) != NULL &&
		    ldns_rr_list_rr_count(ldns_pkt_question(p)) > 0) {
			char *s = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(
			    ldns_pkt_question(p), 0)));

			if (s != NULL)
				log_escape(name, sizeof name, s);
			free(s);
		}
		ldns_pkt_free(p);
		inet_ntop(AF_INET, &in, ipt, sizeof ipt);
		log_debug("dns: %s from %s%s: %s", name, ipt,
		    tcp >= 0 ? " (tcp)" : "", v == DNS_FORWARD ? "forward" :
		    v == DNS_DROP ? "dropped" : outlen > 3 &&
		    (out[3] & 0x0f) == LDNS_RCODE_NXDOMAIN ? "NXDOMAIN" :
		    "answered");
	}
	if (v == DNS_REPLY)
		dns_reply(d, client, tcp, out, outlen);
	else if (v == DNS_FORWARD)
		dns_fwd_start(d, q, qlen, client, tcp, now);
	free(out);
}

static void
dns_udp_read(struct dns *d, int64_t now)
{
	struct sockaddr_in from;
	socklen_t flen;
	ssize_t n;
	int i;

	for (i = 0; i < DNS_UDP_BATCH; i++) {
		flen = sizeof from;
		n = recvfrom(d->udp, d->buf, DNS_MSG_MAX, MSG_DONTWAIT,
		    (struct sockaddr *)&from, &flen);
		if (n < 0)
			return;
		if (from.sin_family != AF_INET)
			continue;
		dns_query(d, d->buf, (size_t)n, &from,
		    ntohl(from.sin_addr.s_addr), -1, now);
	}
}

static void
dns_up_read(struct dns *d)
{
	struct sockaddr_in from;
	socklen_t flen;
	ssize_t n;
	int i;

	for (i = 0; i < DNS_UDP_BATCH; i++) {
		flen = sizeof from;
		n = recvfrom(d->up, d->buf, DNS_MSG_MAX, MSG_DONTWAIT,
		    (struct sockaddr *)&from, &flen);
		if (n < 0)
			return;
		dns_fwd_reply(d, d->buf, (size_t)n, &from);
	}
}

static void
dns_tcp_accept(struct dns *d, int64_t now)
{
	struct sockaddr_in from;
	socklen_t flen = sizeof from;
	struct dns_tcp *c = NULL;
	int fd, i;

	fd = accept4(d->listener, (struct sockaddr *)&from, &flen,
	    SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	for (i = 0; i < DNS_TCP_MAX; i++) {
		if (d->tcp[i].fd < 0) {
			c = &d->tcp[i];
			break;
		}
	}
	if (c == NULL) {
		close(fd);	/* the listener is not polled when full */
		return;
	}
	c->fd = fd;
	c->gen++;
	c->ip = ntohl(from.sin_addr.s_addr);
	c->in = xmalloc(2 + DNS_MSG_MAX);
	c->inlen = 0;
	c->last = now;
	d->ntcp++;
}

/* Read what TCP client i sent; answer each whole message. */
static void
dns_tcp_read(struct dns *d, int i, int64_t now)
{
	struct dns_tcp *c = &d->tcp[i];
	struct sockaddr_in peer;
	size_t mlen;
	ssize_t n;
	uint64_t gen = c->gen;

	n = recv(c->fd, c->in + c->inlen, 2 + DNS_MSG_MAX - c->inlen,
	    MSG_DONTWAIT);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		dns_tcp_close(d, i);
		return;
	}
	if (n < 0)
		return;
	c->inlen += (size_t)n;
	c->last = now;
	memset(&peer, 0, sizeof peer);
	while (c->fd >= 0 && c->gen == gen && c->inlen >= 2) {
		mlen = (size_t)c->in[0] << 8 | c->in[1];
		if (c->inlen < 2 + mlen)
			break;
		dns_query(d, c->in + 2, mlen, &peer, c->ip, i, now);
		if (c->fd < 0 || c->gen != gen)
			break;		/* closed while answering */
		memmove(c->in, c->in + 2 + mlen, c->inlen - 2 - mlen);
		c->inlen -= 2 + mlen;
	}
}

static void
dns_tcp_write(struct dns *d, int i)
{
	struct dns_tcp *c = &d->tcp[i];
	ssize_t w;

	while (c->outoff < c->out.len) {
		w = send(c->fd, c->out.data + c->outoff,
		    c->out.len - c->outoff, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				dns_tcp_close(d, i);
			return;
		}
		c->outoff += (size_t)w;
	}
	buf_free(&c->out);
	c->outoff = 0;
}

/* ---- the thread ----------------------------------------------------------- */

static void *
dns_main(void *arg)
{
	struct dns *d = arg;
	struct pollfd pfd[4 + DNS_TCP_MAX];
	int slot[4 + DNS_TCP_MAX];
	int64_t now, next;
	int n, i, timeout;
	char drain[64];

	while (!atomic_load(&d->stop)) {
		now = util_mono_ms();
		next = dns_fwd_timers(d, now);
		for (i = 0; i < DNS_TCP_MAX; i++) {
			if (d->tcp[i].fd >= 0 &&
			    now - d->tcp[i].last >= DNS_TCP_IDLE_MS)
				dns_tcp_close(d, i);
		}
		if (now - d->resolv_checked >= DNS_RESOLV_CHECK_MS)
			dns_resolv_load(d, now);

		n = 0;
		pfd[n].fd = d->wake[0];
		pfd[n++].events = POLLIN;
		pfd[n].fd = d->udp;
		pfd[n++].events = POLLIN;
		pfd[n].fd = d->up;
		pfd[n++].events = POLLIN;
		pfd[n].fd = d->ntcp < DNS_TCP_MAX ? d->listener : -1;
		pfd[n++].events = POLLIN;
		for (i = 0; i < DNS_TCP_MAX; i++) {
			if (d->tcp[i].fd < 0)
				continue;
			slot[n] = i;
			pfd[n].fd = d->tcp[i].fd;
			pfd[n++].events = (short)(POLLIN |
			    (d->tcp[i].out.len > d->tcp[i].outoff ?
			    POLLOUT : 0));
		}
		timeout = (int)(next - now);
		if (timeout < 0)
			timeout = 0;
		if (timeout > DNS_LOOP_MS)
			timeout = DNS_LOOP_MS;
		if (poll(pfd, (nfds_t)n, timeout) < 0) {
			if (errno != EINTR)
				log_warn("dns: poll: %s", strerror(errno));
			continue;
		}
		now = util_mono_ms();
		if (pfd[0].revents)
			while (read(d->wake[0], drain, sizeof drain) > 0)
				;
		if (pfd[1].revents)
			dns_udp_read(d, now);
		if (pfd[2].revents)
			dns_up_read(d);
		if (pfd[3].revents)
			dns_tcp_accept(d, now);
		for (i = 4; i < n; i++) {
			if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
				dns_tcp_read(d, slot[i], now);
			if ((pfd[i].revents & POLLOUT) &&
			    d->tcp[slot[i]].fd == pfd[i].fd)
				dns_tcp_write(d, slot[i]);
		}
	}
	return NULL;
}

static int
dns_socket(int type, const struct sockaddr_in *sa, char **cause)
{
	int fd, one = 1;
	char ip[INET_ADDRSTRLEN];

	fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		xasprintf(cause, "socket: %s", strerror(errno));
		return -1;
	}
	if (type == SOCK_STREAM)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (const struct sockaddr *)sa, sizeof *sa) != 0 ||
	    (type == SOCK_STREAM && listen(fd, 64) != 0)) {
		inet_ntop(AF_INET, &sa->sin_addr, ip, sizeof ip);
		xasprintf(cause, "%s %s:%u: %s", type == SOCK_STREAM ?
		    "tcp" : "udp", ip, ntohs(sa->sin_port), strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void
dns_close_all(struct dns *d)
{
	int i;

	for (i = 0; i < DNS_TCP_MAX; i++)
		dns_tcp_close(d, i);
	for (i = 0; i < DNS_FWD_MAX; i++) {
		if (d->fwd[i].used)
			dns_fwd_done(d, &d->fwd[i]);
	}
	if (d->udp >= 0)
		close(d->udp);
	if (d->listener >= 0)
		close(d->listener);
	if (d->up >= 0)
		close(d->up);
	if (d->wake[0] >= 0) {
		close(d->wake[0]);
		close(d->wake[1]);
	}
	d->wake[0] = d->wake[1] = d->udp = d->listener = d->up = -1;
	free(d->idmap);
	d->idmap = NULL;
	free(d->buf);
	d->buf = NULL;
}

int
dns_start(struct dns *d, const char *addr, uint16_t port,
    const char *resolv_conf, char **cause)
{
	struct sockaddr_in any;

	*cause = NULL;
	if (d->running) {
		xasprintf(cause, "already serving");
		return -1;
	}
	memset(&d->self, 0, sizeof d->self);
	d->self.sin_family = AF_INET;
	d->self.sin_port = htons(port);
	if (inet_pton(AF_INET, addr, &d->self.sin_addr) != 1) {
		xasprintf(cause, "%s: not an IPv4 address", addr);
		return -1;
	}
	memset(&any, 0, sizeof any);
	any.sin_family = AF_INET;
	if (pipe2(d->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		xasprintf(cause, "pipe: %s", strerror(errno));
		return -1;
	}
	if ((d->udp = dns_socket(SOCK_DGRAM, &d->self, cause)) < 0 ||
	    (d->listener = dns_socket(SOCK_STREAM, &d->self, cause)) < 0 ||
	    (d->up = dns_socket(SOCK_DGRAM, &any, cause)) < 0) {
		dns_close_all(d);
		return -1;
	}
	free(d->resolv_conf);
	d->resolv_conf = xstrdup(resolv_conf);
	d->idmap = xmalloc(65536 * sizeof *d->idmap);
	memset(d->idmap, 0xff, 65536 * sizeof *d->idmap);	/* -1 */
	d->buf = xmalloc(DNS_MSG_MAX);
	d->nups = 0;
	d->resolv_seen = 0;
	dns_resolv_load(d, util_mono_ms());
	atomic_store(&d->stop, 0);
	if (pthread_create(&d->thread, NULL, dns_main, d) != 0) {
		xasprintf(cause, "pthread_create failed");
		dns_close_all(d);
		return -1;
	}
	d->running = 1;
	log_info("dns: serving %s:%u (udp, tcp)", addr, port);
	return 0;
}

void
dns_stop(struct dns *d)
{
	if (d == NULL || !d->running)
		return;
	atomic_store(&d->stop, 1);
	if (write(d->wake[1], "x", 1) < 0)
		log_debug("dns: wake: %s", strerror(errno));
	pthread_join(d->thread, NULL);
	d->running = 0;
	dns_close_all(d);
}
