/*
 * wsprobe.c - a websocket test peer: connect to the master's agent port
 * with the headers given, print what comes back, and report how the
 * session ended.
 *
 *	wsprobe --port P [--host H] [--bind ADDR] [-H "name: value"]...
 *	    [--stay SECONDS] [--send JSON]... [--send-file FILE]...
 *
 * --bind connects from source address ADDR (say 127.0.0.2), so a test can
 * be two peers to the master on one machine. --tls speaks wss (any
 * certificate is taken: the peer under test is ours).
 *
 * With --auto-state it answers every "desired" frame with a "state" frame
 * that reports each container running, as a healthy agent would; with
 * --auto-address PREFIX too, each at address PREFIX.<instance> on the
 * grid network (PREFIX the first three bytes, "10.81.0").
 *
 * With --exec MODE it answers an "exec_start" as an agent would, without
 * Docker: "exit3" says exec_started, sends "hello\n" on stdout and ends
 * with exit code 3; "flood" says exec_started and sends 256 output frames
 * of 32 KiB without waiting for an exec_ack: when the operator does not
 * read, that breaks the 256 KiB window (the master must close it with
 * 4010). Binary frames from the master are printed as "binary <bytes>".
 *
 * Output, one line each: "frame <text>" per message received, "close
 * <code> <reason>" when the master closes, "end" when the connection is
 * gone, "error <text>" when it could not connect. Each --send frame is
 * sent once after the first frame arrives; --send-file sends every line
 * of FILE as a frame, in order, after the --send frames before it. It exits after the connection
 * ends or --stay seconds (default 3). Used by the hub tests to check close
 * codes the real agent would only log.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <libwebsockets.h>

#define PROBE_MAX_HDRS	16
#define PROBE_MAX_OUT	300	/* exec frames queued */
#define PROBE_FLOOD	256	/* --exec flood: 8 MiB: more than the
				   kernel buffers between the master and
				   the operator take, so the window breaks */

/* An exec frame to send. */
struct probe_out {
	unsigned char	*data;		/* payload */
	size_t		 len;
	int		 binary;
};

struct probe {
	const char	*host;			/* master address */
	const char	*bind;			/* source address, or NULL */
	int		 port;			/* agent port */
	const char	*hdrs[PROBE_MAX_HDRS];	/* "name: value" */
	int		 nhdrs;
	char		**sends;		/* frames to send */
	int		 nsends, sent;
	int		 got_frame;		/* a frame arrived */
	int		 auto_state;		/* answer desired frames */
	const char	*auto_address;		/* their addresses' /24 */
	int		 tls;			/* wss */
	char		*state;			/* state frame to send */
	int		 done;			/* connection over */
	struct lws	*wsi;
	char		*rx;			/* frame being assembled */
	size_t		 rxlen;
	const char	*exec_mode;		/* --exec: "exit3", "flood" */
	struct probe_out out[PROBE_MAX_OUT];	/* exec frames to send */
	int		 nout, outsent;
};

static void
probe_queue(struct probe *p, const void *data, size_t len, int binary)
{
	if (p->nout == PROBE_MAX_OUT)
		return;
	p->out[p->nout].data = malloc(len);
	memcpy(p->out[p->nout].data, data, len);
	p->out[p->nout].len = len;
	p->out[p->nout++].binary = binary;
}

/* Answer an exec_start in p->rx as --exec says. */
static void
probe_exec(struct probe *p)
{
	json_t *f = json_loads(p->rx, 0, NULL);
	const char *type = json_string_value(json_object_get(f, "type"));
	unsigned char hdr[5 + 32768];
	json_int_t id;
	char text[128];
	int i;

	if (type == NULL || strcmp(type, "exec_start") != 0) {
		json_decref(f);
		return;
	}
	id = json_integer_value(json_object_get(f, "id"));
	json_decref(f);
	snprintf(text, sizeof text, "{\"type\":\"exec_started\",\"id\":%lld}",
	    (long long)id);
	probe_queue(p, text, strlen(text), 0);
	hdr[0] = 1;
	hdr[1] = (unsigned char)(id >> 24);
	hdr[2] = (unsigned char)(id >> 16);
	hdr[3] = (unsigned char)(id >> 8);
	hdr[4] = (unsigned char)id;
	if (strcmp(p->exec_mode, "flood") == 0) {
		memset(hdr + 5, 'x', sizeof hdr - 5);
		for (i = 0; i < PROBE_FLOOD; i++)
			probe_queue(p, hdr, sizeof hdr, 1);
		return;
	}
	memcpy(hdr + 5, "hello\n", 6);
	probe_queue(p, hdr, 11, 1);
	snprintf(text, sizeof text, "{\"type\":\"exec_end\",\"id\":%lld,"
	    "\"exit_code\":3}", (long long)id);
	probe_queue(p, text, strlen(text), 0);
}

/* Build the state frame answering the desired frame in p->rx. */
static void
probe_state(struct probe *p)
{
	json_t *f = json_loads(p->rx, 0, NULL), *out, *c;
	size_t i;

	if (f == NULL || strcmp(json_string_value(json_object_get(f, "type")) ?
	    json_string_value(json_object_get(f, "type")) : "", "desired") != 0) {
		json_decref(f);
		return;
	}
	out = json_array();
	json_array_foreach(json_object_get(f, "containers"), i, c)
		json_array_append_new(out, json_pack("{s:O, s:O, s:O, s:O,"
		    " s:s, s:s}", "service_id", json_object_get(c, "service_id"),
		    "instance", json_object_get(c, "instance"),
		    "rev", json_object_get(c, "rev"),
		    "name", json_object_get(c, "name"),
		    "state", "running", "container_id", "simulated"));
	json_array_foreach(out, i, c) {
		char addr[32];

		if (p->auto_address == NULL)
			break;
		snprintf(addr, sizeof addr, "%s.%lld", p->auto_address,
		    (long long)json_integer_value(json_object_get(c,
		    "instance")));
		json_object_set_new(c, "address", json_string(addr));
	}
	free(p->state);
	c = json_pack("{s:s, s:O, s:o}", "type", "state", "generation",
	    json_object_get(f, "generation"), "containers", out);
	p->state = json_dumps(c, JSON_COMPACT);
	json_decref(c);
	json_decref(f);
}

static int
probe_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	struct probe *p = lws_context_user(lws_get_context(wsi));
	unsigned char **pp, *end, buf[LWS_PRE + 65536];
	const unsigned char *u = in;
	char name[128];
	const char *colon;
	size_t n;
	int i;

	switch (reason) {
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
		pp = (unsigned char **)in;
		end = *pp + len;
		for (i = 0; i < p->nhdrs; i++) {
			colon = strchr(p->hdrs[i], ':');
			if (colon == NULL || (size_t)(colon - p->hdrs[i]) >=
			    sizeof name - 2)
				continue;
			snprintf(name, sizeof name, "%.*s:",
			    (int)(colon - p->hdrs[i]), p->hdrs[i]);
			for (n = 0; name[n] != '\0'; n++)
				if (name[n] >= 'A' && name[n] <= 'Z')
					name[n] = (char)(name[n] - 'A' + 'a');
			colon++;
			while (*colon == ' ')
				colon++;
			if (lws_add_http_header_by_name(wsi,
			    (unsigned char *)name, (const unsigned char *)colon,
			    (int)strlen(colon), pp, end) != 0)
				return -1;
		}
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		p->rx = realloc(p->rx, p->rxlen + len + 1);
		memcpy(p->rx + p->rxlen, in, len);
		p->rxlen += len;
		if (!lws_is_final_fragment(wsi) ||
		    lws_remaining_packet_payload(wsi) > 0)
			break;
		p->rx[p->rxlen] = '\0';
		if (lws_frame_is_binary(wsi))
			printf("binary %zu\n", p->rxlen);
		else
			printf("frame %s\n", p->rx);
		fflush(stdout);
		p->rxlen = 0;
		p->got_frame = 1;
		if (p->auto_state)
			probe_state(p);
		if (p->exec_mode != NULL && !lws_frame_is_binary(wsi))
			probe_exec(p);
		if (p->sent < p->nsends || p->state != NULL ||
		    p->outsent < p->nout)
			lws_callback_on_writable(wsi);
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (p->sent < p->nsends) {
			unsigned char *big;

			n = strlen(p->sends[p->sent]);
			if ((big = malloc(LWS_PRE + n + 1)) == NULL)
				return -1;
			memcpy(big + LWS_PRE, p->sends[p->sent], n);
			p->sent++;
			i = lws_write(wsi, big + LWS_PRE, n, LWS_WRITE_TEXT);
			free(big);
			if (i < 0)
				return -1;
			if (p->sent < p->nsends)
				lws_callback_on_writable(wsi);
		} else if (p->state != NULL) {
			n = strlen(p->state);
			if (n > sizeof buf - LWS_PRE)
				n = sizeof buf - LWS_PRE;
			memcpy(buf + LWS_PRE, p->state, n);
			free(p->state);
			p->state = NULL;
			if (lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_TEXT) < 0)
				return -1;
			if (p->outsent < p->nout)
				lws_callback_on_writable(wsi);
		} else if (p->outsent < p->nout) {
			struct probe_out *o = &p->out[p->outsent++];

			memcpy(buf + LWS_PRE, o->data, o->len);
			if (lws_write(wsi, buf + LWS_PRE, o->len, o->binary ?
			    LWS_WRITE_BINARY : LWS_WRITE_TEXT) < 0)
				return -1;
			if (p->outsent < p->nout)
				lws_callback_on_writable(wsi);
		}
		break;
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (len >= 2)
			printf("close %d %.*s\n", (u[0] << 8) | u[1],
			    (int)(len - 2), (const char *)u + 2);
		else
			printf("close 1005\n");
		fflush(stdout);
		break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		printf("error %s\n", in ? (const char *)in : "connect failed");
		p->done = 1;
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
		printf("end\n");
		p->done = 1;
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols probe_protocols[] = {
	{ "berth-agent", probe_cb, 0, 65536, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

int
main(int argc, char **argv)
{
	struct lws_context_creation_info info;
	struct lws_client_connect_info ci;
	struct lws_context *ctx;
	struct probe p;
	time_t deadline;
	int i, stay = 3;

	memset(&p, 0, sizeof p);
	p.host = "127.0.0.1";
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
			p.port = atoi(argv[++i]);
		else if (strcmp(argv[i], "--host") == 0 && i + 1 < argc)
			p.host = argv[++i];
		else if (strcmp(argv[i], "--bind") == 0 && i + 1 < argc)
			p.bind = argv[++i];
		else if (strcmp(argv[i], "-H") == 0 && i + 1 < argc &&
		    p.nhdrs < PROBE_MAX_HDRS)
			p.hdrs[p.nhdrs++] = argv[++i];
		else if (strcmp(argv[i], "--send") == 0 && i + 1 < argc) {
			p.sends = realloc(p.sends, (p.nsends + 1) *
			    sizeof *p.sends);
			p.sends[p.nsends++] = strdup(argv[++i]);
		} else if (strcmp(argv[i], "--send-file") == 0 && i + 1 < argc) {
			FILE *f = fopen(argv[++i], "r");
			char *line = NULL;
			size_t cap = 0;
			ssize_t got;

			if (f == NULL) {
				perror(argv[i]);
				return 2;
			}
			while ((got = getline(&line, &cap, f)) > 0) {
				if (line[got - 1] == '\n')
					line[--got] = '\0';
				if (got == 0)
					continue;
				p.sends = realloc(p.sends, (p.nsends + 1) *
				    sizeof *p.sends);
				p.sends[p.nsends++] = strdup(line);
			}
			free(line);
			fclose(f);
		}
		else if (strcmp(argv[i], "--auto-state") == 0)
			p.auto_state = 1;
		else if (strcmp(argv[i], "--auto-address") == 0 &&
		    i + 1 < argc)
			p.auto_address = argv[++i];
		else if (strcmp(argv[i], "--tls") == 0)
			p.tls = 1;
		else if (strcmp(argv[i], "--exec") == 0 && i + 1 < argc)
			p.exec_mode = argv[++i];
		else if (strcmp(argv[i], "--stay") == 0 && i + 1 < argc)
			stay = atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: wsprobe --port P [--host H] [--bind A] "
			    "[-H 'name: value']... [--send JSON]... "
			    "[--send-file FILE]... [--tls] "
			    "[--stay S] [--auto-state [--auto-address A.B.C]] "
			    "[--exec exit3|flood]\n");
			return 2;
		}
	}
	if (p.port <= 0) {
		fprintf(stderr, "wsprobe: --port is required\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	lws_set_log_level(0, NULL);
	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = probe_protocols;
	info.user = &p;
	if (p.tls)
		info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	if ((ctx = lws_create_context(&info)) == NULL)
		return 1;
	memset(&ci, 0, sizeof ci);
	ci.context = ctx;
	ci.address = p.host;
	ci.port = p.port;
	ci.path = "/";
	ci.host = p.host;
	ci.origin = p.host;
	ci.protocol = "berth-agent";
	ci.pwsi = &p.wsi;
	ci.iface = p.bind;	/* source address */
	if (p.tls)
		ci.ssl_connection = LCCSCF_USE_SSL | LCCSCF_ALLOW_SELFSIGNED |
		    LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK |
		    LCCSCF_ALLOW_INSECURE;
	if (lws_client_connect_via_info(&ci) == NULL) {
		printf("error cannot start the connection\n");
		lws_context_destroy(ctx);
		return 0;
	}
	deadline = time(NULL) + stay;
	while (!p.done && time(NULL) < deadline)
		lws_service(ctx, 100);
	if (!p.done)
		printf("open\n");
	lws_context_destroy(ctx);
	free(p.rx);
	for (i = 0; i < p.nsends; i++)
		free(p.sends[i]);
	free(p.sends);
	for (i = 0; i < p.nout; i++)
		free(p.out[i].data);
	return 0;
}
