/*
 * wsclient.c - the CLI's websocket client (see wsclient.h).
 *
 * libcurl connects (CURLOPT_CONNECT_ONLY) and, for https://, does the TLS
 * handshake with the CLI's own policy (client_tls(): BERTH_CA_CERT,
 * BERTH_MASTER_PIN, plain text only to loopback); from there the bytes
 * are ours: the upgrade request, the 101 (its Sec-WebSocket-Accept is
 * checked), then frames. curl_easy_recv() may hold decrypted bytes a
 * poll() on the socket cannot see, so a read drains it until it says
 * CURLE_AGAIN.
 */
#include "cli/wsclient.h"
#include "cli/client.h"

#include "common/util.h"
#include "common/version.h"
#include "common/wsframe.h"
#include "common/xmalloc.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#define WSC_MSG_MAX	(1024 * 1024)	/* largest message from the master */
#define WSC_HDR_MAX	16384		/* the 101's header */
#define WSC_WAIT_MS	30000		/* for the handshake's answer */

struct wsc {
	CURL		*curl;		/* the connection */
	int		 fd;		/* its socket */
	struct buf	 in;		/* bytes read, not yet parsed */
	struct buf	 out;		/* frames queued */
	size_t		 out_off;	/* of them written */
	struct ws_reader rd;		/* a message's fragments */
	int		 close_code;	/* the server's, or 0 */
	int		 closed;	/* the server closed (answered) */
};

/* Wait for fd to be ready for events, up to ms. 0, or -1 on a timeout. */
static int
wsc_wait(int fd, short events, int ms)
{
	struct pollfd p = { fd, events, 0 };

	return poll(&p, 1, ms) > 0 ? 0 : -1;
}

/* Send all of data during the handshake. 0, or -1 + cause. */
static int
wsc_send_all(struct wsc *w, const char *data, size_t len, char **cause)
{
	size_t off = 0, n;
	CURLcode rc;

	while (off < len) {
		rc = curl_easy_send(w->curl, data + off, len - off, &n);
		if (rc == CURLE_AGAIN) {
			if (wsc_wait(w->fd, POLLOUT, WSC_WAIT_MS) != 0)
				goto fail;
			continue;
		}
		if (rc != CURLE_OK)
			goto fail;
		off += n;
	}
	return 0;
fail:
	xasprintf(cause, "cannot send to the master");
	return -1;
}

/* Read more bytes into w->in, waiting up to ms. 1, 0 at EOF, -1 timeout. */
static int
wsc_recv_some(struct wsc *w, int ms)
{
	char chunk[16384];
	size_t n;
	CURLcode rc;

	for (;;) {
		rc = curl_easy_recv(w->curl, chunk, sizeof chunk, &n);
		if (rc == CURLE_AGAIN) {
			if (wsc_wait(w->fd, POLLIN, ms) != 0)
				return -1;
			continue;
		}
		if (rc != CURLE_OK || n == 0)
			return 0;
		buf_append(&w->in, chunk, n);
		return 1;
	}
}

/* The value of header name in the response head hdr (copied), or NULL. */
static char *
wsc_header(const char *hdr, const char *name)
{
	const char *p = hdr;
	size_t n = strlen(name), len;

	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			p += n + 1;
			p += strspn(p, " \t");
			len = strcspn(p, "\r\n");
			while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
				len--;
			return xstrndup(p, len);
		}
	}
	return NULL;
}

/* The master refused the upgrade: its {"error"} (or the status) as cause. */
static void
wsc_refusal(struct wsc *w, const char *hdr, size_t hlen, long status,
    char **cause)
{
	char *cl = wsc_header(hdr, "Content-Length");
	size_t want = cl != NULL ? strtoul(cl, NULL, 10) : 0;
	json_t *o, *e;

	free(cl);
	if (want > WSC_HDR_MAX)
		want = WSC_HDR_MAX;
	while (w->in.len - hlen < want && wsc_recv_some(w, WSC_WAIT_MS) == 1)
		;
	o = json_loadb(w->in.data + hlen, w->in.len - hlen, 0, NULL);
	e = json_object_get(o, "error");
	if (json_is_string(e))
		xasprintf(cause, "%s", json_string_value(e));
	else if (status == 401 || status == 403)
		xasprintf(cause, "not authorized (HTTP %ld): set BERTH_TOKEN "
		    "to the operator token", status);
	else
		xasprintf(cause, "the master answered HTTP %ld", status);
	json_decref(o);
}

/* One try at the master client_base() names. *refused: no connection;
 * *location: a standby's 307 target; *busy: a standby without a leader. */
static int
wsc_open_once(const char *path, struct wsc **wp, long *status,
    int *refused, char **location, int *busy, char **cause)
{
	const char *base = client_base();
	char key[WS_KEY_LEN + 1], accept[WS_ACCEPT_LEN + 1], errbuf[
	    CURL_ERROR_SIZE] = "", *token, *got = NULL, *host;
	struct buf req = { 0 };
	struct wsc *w;
	curl_socket_t s;
	const char *h, *end;
	size_t hlen;
	CURLcode rc;
	int r;

	*wp = NULL;
	*status = 0;
	w = xcalloc(1, sizeof *w);
	w->fd = -1;
	w->rd.max = WSC_MSG_MAX;
	if ((w->curl = curl_easy_init()) == NULL) {
		xasprintf(cause, "cannot initialise libcurl");
		goto fail;
	}
	if (client_tls(w->curl, base, cause) != 0)
		goto fail;
	curl_easy_setopt(w->curl, CURLOPT_URL, base);
	curl_easy_setopt(w->curl, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(w->curl, CURLOPT_HTTP_VERSION,
	    (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(w->curl, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(w->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(w->curl, CURLOPT_ERRORBUFFER, errbuf);
	if ((rc = curl_easy_perform(w->curl)) != CURLE_OK) {
		*refused = rc == CURLE_COULDNT_CONNECT;
		xasprintf(cause, "cannot reach the master at %s: %s", base,
		    errbuf[0] ? errbuf : curl_easy_strerror(rc));
		goto fail;
	}
	if (curl_easy_getinfo(w->curl, CURLINFO_ACTIVESOCKET, &s) !=
	    CURLE_OK || s == CURL_SOCKET_BAD) {
		xasprintf(cause, "no socket to the master");
		goto fail;
	}
	w->fd = (int)s;

	/* The Host header: the authority of BERTH_MASTER. */
	h = strstr(base, "://");
	h = h != NULL ? h + 3 : base;
	host = xstrndup(h, strcspn(h, "/?#"));
	ws_key_new(key);
	buf_printf(&req, "GET %s HTTP/1.1\r\nHost: %s\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
	    "User-Agent: berth-cli/" BERTH_VERSION "\r\n", path, host, key);
	free(host);
	if ((token = client_token()) != NULL) {
		buf_printf(&req, "Authorization: Bearer %s\r\n", token);
		explicit_bzero(token, strlen(token));
		free(token);
	}
	buf_append(&req, "\r\n", 2);
	r = wsc_send_all(w, req.data, req.len, cause);
	explicit_bzero(req.data, req.len);
	buf_free(&req);
	if (r != 0)
		goto fail;

	/* The answer's head. */
	while ((end = w->in.data != NULL ? strstr(w->in.data, "\r\n\r\n") :
	    NULL) == NULL) {
		if (w->in.len > WSC_HDR_MAX ||
		    (r = wsc_recv_some(w, WSC_WAIT_MS)) != 1) {
			xasprintf(cause, "the master at %s did not answer the "
			    "upgrade", base);
			goto fail;
		}
	}
	hlen = (size_t)(end - w->in.data) + 4;
	h = strchr(w->in.data, ' ');
	*status = h != NULL ? strtol(h + 1, NULL, 10) : 0;
	if (*status == 307) {
		*location = wsc_header(w->in.data, "Location");
		xasprintf(cause, "the master at %s is a standby and sends "
		    "exec to %s, which is not in BERTH_MASTER (list every "
		    "master there, comma-separated)", base,
		    *location ? *location : "no leader");
		goto fail;
	}
	if (*status != 101) {
		wsc_refusal(w, w->in.data, hlen, *status, cause);
		*busy = *status == 503 && *cause != NULL &&
		    strstr(*cause, "standby") != NULL;
		goto fail;
	}
	ws_accept(key, accept);
	got = wsc_header(w->in.data, "Sec-WebSocket-Accept");
	if (got == NULL || strcmp(got, accept) != 0) {
		xasprintf(cause, "the master's websocket answer is wrong "
		    "(Sec-WebSocket-Accept)");
		goto fail;
	}
	free(got);
	/* What came after the head is the first frames. */
	memmove(w->in.data, w->in.data + hlen, w->in.len - hlen);
	w->in.len -= hlen;
	*wp = w;
	return 0;
fail:
	free(got);
	wsc_free(w);
	return -1;
}

/*
 * As the CLI's requests do (client.c): a standby's 307 is followed to the
 * leader it names when that is a master of BERTH_MASTER, a master that
 * cannot be reached is skipped for the next, and a standby without a
 * leader yet is asked again, for up to WSC_FAILOVER_MS.
 */
#define WSC_FAILOVER_MS		20000
#define WSC_ROUND_WAIT_MS	300
#define WSC_MAX_HOPS		4

int
wsc_open(const char *path, struct wsc **wp, long *status, char **cause)
{
	int64_t until = util_mono_ms() + WSC_FAILOVER_MS;
	int refused, busy, hops = 0, tried = 0, n = client_nmasters();
	char *location, *why = NULL;

	for (;;) {
		refused = busy = 0;
		location = NULL;
		free(why);
		why = NULL;
		if (wsc_open_once(path, wp, status, &refused, &location,
		    &busy, &why) == 0) {
			free(why);
			return 0;
		}
		tried++;
		if (location != NULL && ++hops <= WSC_MAX_HOPS &&
		    client_follow(location) == 0) {
			free(location);
			continue;
		}
		free(location);
		if (!(refused && n > 1) && !busy)
			break;
		hops = 0;
		if (util_mono_ms() >= until)
			break;
		client_next();
		if (tried % n == 0 || n == 1) {
			struct timespec ts = { 0,
			    WSC_ROUND_WAIT_MS * 1000000L };

			nanosleep(&ts, NULL);
		}
	}
	*cause = why;
	return -1;
}

int
wsc_fd(struct wsc *w)
{
	return w->fd;
}

void
wsc_send(struct wsc *w, int opcode, const void *data, size_t len)
{
	unsigned char mask[4];

	util_random(mask, sizeof mask);
	ws_frame_append(&w->out, opcode, 1, data, len, mask);
}

size_t
wsc_pending(struct wsc *w)
{
	return w->out.len - w->out_off;
}

int
wsc_flush(struct wsc *w, char **cause)
{
	size_t n;
	CURLcode rc;

	while (w->out_off < w->out.len) {
		rc = curl_easy_send(w->curl, w->out.data + w->out_off,
		    w->out.len - w->out_off, &n);
		if (rc == CURLE_AGAIN)
			return 0;
		if (rc != CURLE_OK) {
			xasprintf(cause, "the connection to the master broke");
			return -1;
		}
		w->out_off += n;
	}
	buf_free(&w->out);
	w->out_off = 0;
	return 0;
}

/* Parse what is in w->in; 1 when the server closed. */
static int
wsc_parse(struct wsc *w, wsc_msg_fn *fn, void *arg, char **cause)
{
	struct ws_frame f;
	const char *why;
	size_t off = 0;
	ssize_t n;
	int code, op, rc, ended = 0;

	while (!ended && off < w->in.len) {
		n = ws_frame_parse((unsigned char *)w->in.data + off,
		    w->in.len - off, 0, WSC_MSG_MAX, &f, &code, &why);
		if (n == 0)
			break;
		if (n < 0) {
			xasprintf(cause, "broken frame from the master: %s",
			    why);
			return -1;
		}
		off += (size_t)n;
		switch (f.opcode) {
		case WS_OP_PING:
			wsc_send(w, WS_OP_PONG, f.payload, f.len);
			continue;
		case WS_OP_PONG:
			continue;
		case WS_OP_CLOSE:
			w->close_code = f.len >= 2 ? (f.payload[0] << 8) |
			    f.payload[1] : WS_CLOSE_NORMAL;
			/* Answer it: the close handshake. */
			ws_close_append(&w->out, WS_CLOSE_NORMAL, NULL,
			    (const unsigned char *)"\0\0\0\0");
			w->closed = 1;
			ended = 1;
			continue;
		}
		rc = ws_reader_feed(&w->rd, &f, &op, &code, &why);
		if (rc < 0) {
			xasprintf(cause, "broken message from the master: %s",
			    why);
			return -1;
		}
		if (rc == 1) {
			fn(arg, op, (unsigned char *)w->rd.msg.data,
			    w->rd.msg.len);
			buf_free(&w->rd.msg);
		}
	}
	if (off > 0) {
		memmove(w->in.data, w->in.data + off, w->in.len - off);
		w->in.len -= off;
	}
	return ended;
}

int
wsc_read(struct wsc *w, wsc_msg_fn *fn, void *arg, char **cause)
{
	char chunk[65536];
	size_t n;
	CURLcode rc;
	int r;

	/* What the handshake read past its head comes first. */
	if ((r = wsc_parse(w, fn, arg, cause)) != 0)
		return r;
	for (;;) {
		rc = curl_easy_recv(w->curl, chunk, sizeof chunk, &n);
		if (rc == CURLE_AGAIN)
			return 0;
		if (rc != CURLE_OK || n == 0)
			return 1;	/* the connection ended */
		buf_append(&w->in, chunk, n);
		if ((r = wsc_parse(w, fn, arg, cause)) != 0)
			return r;
	}
}

int
wsc_close_code(struct wsc *w)
{
	return w->close_code;
}

void
wsc_free(struct wsc *w)
{
	if (w == NULL)
		return;
	if (w->curl != NULL)
		curl_easy_cleanup(w->curl);
	buf_free(&w->in);
	buf_free(&w->out);
	ws_reader_free(&w->rd);
	free(w);
}
