/*
 * agentsim.c - hold N simulated agents against a real berth-master.
 *
 * A load generator for issue 7: every simulated agent opens its own
 * websocket to the master's agent port and speaks protocol v1 as
 * docs/protocol.md describes it (the Berth-* upgrade headers, node token
 * after the first join, node_info after welcome, a "running" state frame
 * for every desired set and every 10 s, stats every 5 s, the close-code
 * policy from common/proto.c and the real agent's reconnect backoff from
 * agent/backoff.c). It
 * runs no containers: the state it reports is made up. Job attempts in a
 * desired set (docs/jobs.md) are reported finished at once (exited 0), so
 * the master's job dispatch can be measured without Docker (--cpus sets
 * the capacity each agent offers).
 *
 * DESIGN. One process, one lws context, one thread: main() creates the
 * context and services it; every callback and the 20 ms tick (a lws
 * sorted-usec timer) run on that thread, so nothing is locked. The tick
 * starts connections at the --ramp rate, retries closed agents when their
 * backoff expires, asks for WRITEABLE when an agent owes the master a
 * stats or state frame, and drives the phases. At most --max-connecting
 * agents are between connect and welcome at once (256): lws 4.1 keeps
 * every handshake's deadline in one sorted list per context, so ten
 * thousand simultaneous handshakes in this one process cost a walk past
 * all the others each (most of agentsim's CPU after a master restart,
 * when it stalled for tens of seconds and measured itself). Real agents
 * are each their own process; an agent held back waits, and that wait
 * counts in the figures.
 *
 * Phases:
 *
 *   ramp    connect all N; an agent is "synced" once a desired frame
 *           arrived after its welcome (one with >= 1 container under
 *           --expect-containers). Prints the join figures.
 *   hold    stay connected for --duration seconds (--measure idle).
 *   restart (--measure reconnect) wait for the first dropped session,
 *           then until every agent is welcomed again and has its desired
 *           set on a session opened after that drop. Prints the time.
 *
 * --url takes one master or, as the agent's BERTH_URL, every master of
 * a cluster (docs/ha.md): each agent follows agent/conn.c's rules, a
 * standby's 4013 naming a listed leader sends it there in 50-250 ms, and
 * an attempt that ended without a welcome moves it to the next master.
 * The restart phase then measures a failover as well as a restart: a
 * session is "back" only once a master welcomed it, which only a leader
 * does.
 *
 * Figures go to stdout as "name value unit" lines, progress to stderr,
 * everything to --report as JSON. --phase-file tells a driver script
 * which phase is done. Every wait is bounded; SIGINT/SIGTERM end the run
 * with what was measured so far. Only loopback masters are accepted.
 */
#include "agent/backoff.h"
#include "common/proto.h"
#include "common/util.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>

#include <ev.h>
#include <jansson.h>
#include <libwebsockets.h>

#define SIM_VERSION		"agentsim/1"
#define SIM_TICK_US		20000		/* tick period */
#define SIM_STABLE_MS		30000		/* session resets backoff */
#define SIM_STATS_MS		5000		/* stats period */
#define SIM_STATE_MS		10000		/* state re-send period */
#define SIM_PROGRESS_MS		2000		/* stderr progress period */
#define SIM_STUCK_US		(45 * 1000000LL) /* an attempt this old is stuck */
#define SIM_PING_MS		20000		/* as agent/conn.c: ping after */
#define SIM_HANGUP_MS		40000		/* ... and hang up after */
#define SIM_MAX_LABELS		32
#define SIM_MEMORY		4294967296LL	/* 4 GiB reported */
#define SIM_NODES_FILE		"agentsim-nodes"
#define SIM_MAX_MASTERS		8		/* --url list */
#define SIM_LEADER_MIN_MS	50		/* as agent/conn.c: after a */
#define SIM_LEADER_JITTER_MS	200		/* 4013 naming a listed leader */

enum sim_conn { SIM_IDLE, SIM_WAIT, SIM_CONNECTING, SIM_OPEN };
enum sim_phase { SIM_P_RAMP, SIM_P_HOLD, SIM_P_WAIT_DOWN, SIM_P_WAIT_UP,
    SIM_P_DONE };

struct sim;

/* One master of --url's list. */
struct sim_master {
	char		 host[128];
	char		 path[256];
	int		 port;
};

#define SIM_LATE_US	30000	/* a tick this late is the tool's stall */
#define SIM_LATE_LOG	512	/* stalls kept for --join-trace */

/* One simulated agent. */
struct sim_agent {
	struct sim	*sim;		/* the run */
	struct lws	*wsi;		/* socket, NULL between sessions */
	enum sim_conn	 conn;		/* connection state */
	char		 name[64];	/* Berth-Node-Name */
	char		 node_id[PROTO_NODE_ID_LEN + 1]; /* Berth-Node-Id */
	char		*node_token;	/* from welcome; NULL before */
	struct backoff_reconnect backoff; /* the agent's reconnect policy */
	int		 close_code;	/* code of the master's close, or 0 */
	int		 cur;		/* s->m[cur] is tried next */
	int		 to_leader;	/* a 4013 named a listed leader */
	long long	 retry_after;	/* its "retry after N ms", or -1 */
	int64_t		 next_connect;	/* mono ms, when SIM_WAIT */
	int64_t		 conn_us;	/* this attempt started */
	int64_t		 open_ms;	/* mono ms of ESTABLISHED */
	int64_t		 welcome_us;	/* welcome of this session, or 0 */
	int		 synced;	/* desired seen on this session */
	int		 resynced;	/* synced after the restart drop */
	struct buf	 rx;		/* message being reassembled */
	char		*state;		/* state frame for the last desired */
	int		 ncontainers;	/* in the last desired */
	int		 want_info;	/* owes node_info */
	int		 want_state;	/* owes a state frame */
	int		 want_stats;	/* owes a stats frame */
	int		 want_ping;	/* owes a ping (idle policy) */
	int		 hangup;	/* no pong for SIM_HANGUP_MS: close */
	int		 rx_drop;	/* dropping an oversized message */
	json_t		*parts;		/* a desired set arriving in parts */
	json_int_t	 parts_gen;	/* ... its generation */
	json_int_t	 parts_next;	/* ... the part expected next */
	int64_t		 valid_ms;	/* mono ms of open or of the last pong */
	int64_t		 ping_ms;	/* mono ms of the last ping sent */
	int64_t		 state_at;	/* mono ms of last state queued */
	int64_t		 stats_at;	/* mono ms of next stats */
	/* First join only (microseconds from the first connect attempt). */
	int64_t		 join_start_us;	/* first connect attempt */
	int64_t		 j_welcome;	/* start -> welcome, -1 if none */
	int64_t		 j_first;	/* welcome -> first desired */
	int64_t		 j_full;	/* welcome -> desired with containers */
	int64_t		 j_conn_full;	/* start -> desired with containers */
	int64_t		 j_full_late;	/* j_full if >= 90% were online */
	/* After the master's restart (-1 if not resynced): */
	int64_t		 est_us;	/* this attempt's upgrade answered */
	int64_t		 r_upgrade;	/* the last attempt's connect -> 101 */
	int64_t		 r_welcome;	/* its 101 -> welcome */
	int64_t		 r_back;	/* first drop -> resynced */
	int64_t		 r_attempts;	/* attempts since the drop, in ms
					   units (x1000) for sim_pcts */
	int		 late;		/* joined with >= 90% of N online */
	int		 joined;	/* first welcome seen */
};

/* Options and the whole run's state. */
struct sim {
	/* options */
	char		*url;		/* --url, as given */
	struct sim_master m[SIM_MAX_MASTERS]; /* parsed from url */
	int		 nm;		/* masters in m */
	char		*grid_token;	/* --token */
	int		 n;		/* --agents */
	double		 ramp;		/* --ramp, connects per second */
	char		*labels;	/* --label, joined with "," */
	char		*prefix;	/* --name-prefix */
	int		 duration_s;	/* --duration: hold time */
	char		*data_dir;	/* --data-dir */
	char		*report;	/* --report */
	char		*trace;		/* --join-trace */
	char		*phase_file;	/* --phase-file */
	int		 m_join, m_idle, m_reconnect; /* --measure */
	int		 expect_containers; /* --expect-containers */
	int		 join_timeout_s; /* --join-timeout */
	int		 restart_timeout_s; /* --restart-timeout */
	int		 backoff_max_s;	/* --backoff-max */
	int		 source_ips;	/* --source-ips: 127.0.0.1..K */
	int		 max_connecting; /* --max-connecting */
	int		 cpus;		/* --cpus: reported in node_info */

	/* run state (service thread only) */
	struct lws_context *ctx;	/* the one context */
	struct ev_loop	*loop;		/* its libev (epoll) loop, or NULL */
	void		*foreign[1];	/* loop, as lws wants it */
	struct sim_agent *a;		/* n agents */
	lws_sorted_usec_list_t tick;	/* 20 ms tick */
	enum sim_phase	 phase;		/* see the top comment */
	int64_t		 t0;		/* mono ms of start */
	int64_t		 phase_at;	/* mono ms the phase began */
	int64_t		 down_us;	/* first drop of the restart */
	int64_t		 progress_at;	/* last progress line */
	int		 started;	/* agents whose first connect began */
	int		 n_open;	/* welcomed sessions now */
	int		 n_synced;	/* agents synced now */
	int		 n_resynced;	/* agents resynced after the drop */
	int		 n_joined;	/* agents ever welcomed */
	long		 n_drops;	/* welcomed sessions that ended */
	long		 n_conn_err;	/* attempts that never opened */
	long		 n_pre_upgrade;	/* ... of which closed awaiting the 101 */
	long		 sets_in_parts;	/* desired sets that came in parts */
	long		 n_to_leader;	/* 4013s that named a listed leader */
	long		 n_next_master;	/* attempts moved to the next master */
	long		 n_closes[16];	/* 4000..4015 closes seen */
	long		 hold_drops;	/* drops during hold */
	long		 frames_tx;	/* frames written */
	long		 frames_rx;	/* frames received */
	long		 frames_skipped;	/* ... of them network/names, unparsed */
	long		 lws_errs;	/* lws error log lines */
	int		 done;		/* leave the service loop */
	uint64_t	 rnd;		/* xorshift state for jitter */
	json_t		*out;		/* figures for --report */
	int64_t		 wall_off_us;	/* realtime - monotonic, at start */
	int64_t		 tick_due_us;	/* when the next tick should run */
	int64_t		 late_max_us;	/* the latest tick, over the run */
	int64_t		 late_at[SIM_LATE_LOG]; /* mono us of ticks late ... */
	int64_t		 late_us[SIM_LATE_LOG]; /* ... by over SIM_LATE_US */
	int		 n_late;	/* entries in late_at */
	int		 nodes_dirty;	/* tokens changed since saved */
};

static volatile sig_atomic_t sim_signalled;

static void sim_connect(struct sim_agent *);

static int64_t
sim_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static uint32_t
sim_rand(struct sim *s)
{
	uint64_t x = s->rnd;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	s->rnd = x;
	return (uint32_t)(x >> 32);
}

/* One figure: a "name value unit" line on stdout and a report entry. */
static void
sim_figure(struct sim *s, const char *name, double v, const char *unit)
{
	if (v == (double)(long long)v)
		printf("%s %lld %s\n", name, (long long)v, unit);
	else
		printf("%s %.2f %s\n", name, v, unit);
	fflush(stdout);
	json_object_set_new(s->out, name, json_real(v));
}

static void
sim_phase_note(struct sim *s, const char *what)
{
	char *tmp;
	FILE *f;

	fprintf(stderr, "agentsim: phase %s (%.1f s)\n", what,
	    (double)(util_mono_ms() - s->t0) / 1000.0);
	if (s->phase_file == NULL)
		return;
	xasprintf(&tmp, "%s.tmp", s->phase_file);
	if ((f = fopen(tmp, "w")) != NULL) {
		fprintf(f, "%s\n", what);
		fclose(f);
		rename(tmp, s->phase_file);
	}
	free(tmp);
}

/* ---- node ids and tokens (--data-dir) ----------------------------------- */

/* Read "<name> <id> <token|->" lines; agents found keep their identity. */
static void
sim_nodes_load(struct sim *s)
{
	char *path, line[512], name[128], id[128], token[256];
	FILE *f;
	int i, loaded = 0;

	for (i = 0; i < s->n; i++) {
		unsigned char raw[16];

		util_random(raw, sizeof raw);
		util_hex(raw, sizeof raw, s->a[i].node_id);
	}
	if (s->data_dir == NULL)
		return;
	xasprintf(&path, "%s/%s", s->data_dir, SIM_NODES_FILE);
	if ((f = fopen(path, "r")) != NULL) {
		while (fgets(line, sizeof line, f) != NULL) {
			if (sscanf(line, "%127s %127s %255s", name, id,
			    token) != 3 || strlen(id) != PROTO_NODE_ID_LEN)
				continue;
			for (i = 0; i < s->n; i++) {	/* names are ordered */
				if (strcmp(s->a[i].name, name) != 0)
					continue;
				memcpy(s->a[i].node_id, id, sizeof
				    s->a[i].node_id);
				if (strcmp(token, "-") != 0)
					s->a[i].node_token = xstrdup(token);
				loaded++;
				break;
			}
		}
		fclose(f);
	}
	fprintf(stderr, "agentsim: %d of %d node identities from %s\n",
	    loaded, s->n, path);
	free(path);
}

static void
sim_nodes_save(struct sim *s)
{
	struct buf b = { NULL, 0, 0 };
	char *path;
	int i;

	if (s->data_dir == NULL || !s->nodes_dirty)
		return;
	for (i = 0; i < s->n; i++)
		buf_printf(&b, "%s %s %s\n", s->a[i].name, s->a[i].node_id,
		    s->a[i].node_token ? s->a[i].node_token : "-");
	xasprintf(&path, "%s/%s", s->data_dir, SIM_NODES_FILE);
	if (util_write_file(path, b.data, b.len, 0600) != 0)
		fprintf(stderr, "agentsim: cannot write %s: %s\n", path,
		    strerror(errno));
	else
		s->nodes_dirty = 0;
	free(path);
	buf_free(&b);
}

/* ---- frames ------------------------------------------------------------- */

static char *
sim_node_info(struct sim_agent *a)
{
	json_t *o = json_pack("{s:s, s:s, s:i, s:I, s:[s], s:s, s:s, s:s}",
	    "type", PROTO_T_NODE_INFO, "hostname", a->name, "cpus",
	    a->sim->cpus,
	    "memory", (json_int_t)SIM_MEMORY, "addresses", "127.0.0.1",
	    "docker_version", "0.0.0-agentsim", "os", "agentsim",
	    "kernel", "agentsim");
	char *text = json_dumps(o, JSON_COMPACT);

	json_decref(o);
	return text;
}

static char *
sim_stats(struct sim_agent *a)
{
	json_t *o = json_pack("{s:s, s:f, s:I, s:I, s:i}", "type",
	    PROTO_T_STATS, "cpu_pct", 1.5, "mem_used",
	    (json_int_t)(SIM_MEMORY / 8), "mem_total", (json_int_t)SIM_MEMORY,
	    "containers", a->ncontainers);
	char *text = json_dumps(o, JSON_COMPACT);

	json_decref(o);
	return text;
}

/* Turn a desired frame into the state frame that says all of it runs. */
static void
sim_desired(struct sim_agent *a, json_t *f)
{
	json_t *list = json_object_get(f, "containers"), *c, *st, *arr;
	json_int_t gen = json_integer_value(json_object_get(f, "generation"));
	const char *name;
	char cid[65], tmp[128];
	size_t i;

	arr = json_array();
	json_array_foreach(list, i, c) {
		name = json_string_value(json_object_get(c, "name"));
		/* A fake but stable 64-hex container id from the name. */
		snprintf(tmp, sizeof tmp, "%s", name ? name : "?");
		snprintf(cid, sizeof cid, "%08x%s", (unsigned)i, a->node_id);
		memset(cid + strlen(cid), 'a', 64 - strlen(cid));
		cid[64] = '\0';
		json_array_append_new(arr, json_pack("{s:O, s:O, s:O, s:s, "
		    "s:s, s:s, s:n, s:n, s:i}",
		    "service_id", json_object_get(c, "service_id"),
		    "instance", json_object_get(c, "instance"),
		    "rev", json_object_get(c, "rev"), "name", tmp,
		    "container_id", cid, "state", "running",
		    "exit_code", "error", "restarts", 0));
	}
	st = json_pack("{s:s, s:I, s:o}", "type", PROTO_T_STATE,
	    "generation", gen, "containers", arr);
	/* Jobs: every attempt the master wants here ran, and exited 0. */
	arr = json_array();
	json_array_foreach(json_object_get(f, "jobs"), i, c) {
		snprintf(cid, sizeof cid, "%016llx%s", (unsigned long long)
		    json_integer_value(json_object_get(c, "attempt")),
		    a->node_id);
		memset(cid + strlen(cid), 'b', 64 - strlen(cid));
		cid[64] = '\0';
		json_array_append_new(arr, json_pack("{s:O, s:s, s:i, s:s}",
		    "attempt", json_object_get(c, "attempt"), "state",
		    "exited", "exit_code", 0, "container_id", cid));
	}
	json_object_set_new(st, "jobs", arr);
	free(a->state);
	a->state = json_dumps(st, JSON_COMPACT);
	json_decref(st);
	a->ncontainers = (int)json_array_size(list);
	a->want_state = 1;
	a->state_at = util_mono_ms();
}

static void
sim_welcome(struct sim_agent *a, json_t *f)
{
	struct sim *s = a->sim;
	const char *token = json_string_value(json_object_get(f, "node_token"));
	int64_t now = sim_now_us();

	if (a->welcome_us != 0)
		return;		/* a second welcome: ignored, as the agent */
	if (token != NULL && *token != '\0') {
		free(a->node_token);
		a->node_token = xstrdup(token);
		s->nodes_dirty = 1;
	}
	a->welcome_us = now;
	backoff_reconnect_welcomed(&a->backoff);
	a->want_info = 1;
	a->stats_at = util_mono_ms() + (int64_t)(sim_rand(s) % SIM_STATS_MS);
	s->n_open++;
	if (!a->joined) {
		a->joined = 1;
		s->n_joined++;
		a->j_welcome = now - a->join_start_us;
	}
	lws_callback_on_writable(a->wsi);
}

/* A whole message from the master. */
static void
sim_frame(struct sim_agent *a)
{
	struct sim *s = a->sim;
	const char *type;
	json_t *f;
	int64_t now;
	int full;

	s->frames_rx++;
	/*
	 * The grid's network and names frames (tens of KiB each: every
	 * node's subnet) are not the simulation's business; parsing them
	 * cost agentsim a third of its CPU during a join, on the master's
	 * machine. The master sorts their keys, so "type" is near the end.
	 */
	if (a->rx.len > 256 && (memmem(a->rx.data + a->rx.len - 256, 256,
	    "\"type\":\"" PROTO_T_NETWORK "\"", strlen("\"type\":\""
	    PROTO_T_NETWORK "\"")) != NULL || memmem(a->rx.data + a->rx.len -
	    256, 256, "\"type\":\"" PROTO_T_NAMES "\"", strlen("\"type\":\""
	    PROTO_T_NAMES "\"")) != NULL)) {
		s->frames_skipped++;
		return;
	}
	f = json_loadb(a->rx.data, a->rx.len, 0, NULL);
	if (f == NULL || (type = json_string_value(json_object_get(f,
	    "type"))) == NULL) {
		json_decref(f);
		return;
	}
	if (strcmp(type, PROTO_T_DESIRED_PART) == 0 && a->welcome_us != 0) {
		/* As agent/conn.c: gather parts 1..n, then act on the set. */
		json_int_t g = json_integer_value(json_object_get(f,
		    "generation"));
		json_int_t p = json_integer_value(json_object_get(f, "part"));
		json_int_t n = json_integer_value(json_object_get(f, "parts"));

		if (p == 1) {
			json_decref(a->parts);
			a->parts = json_array();
			a->parts_gen = g;
			a->parts_next = 1;
		}
		if (a->parts == NULL || g != a->parts_gen ||
		    p != a->parts_next) {
			json_decref(a->parts);
			a->parts = NULL;
			json_decref(f);
			return;
		}
		json_array_extend(a->parts, json_object_get(f, "containers"));
		a->parts_next++;
		if (p < n) {
			json_decref(f);
			return;
		}
		json_decref(f);
		f = json_pack("{s:s, s:I, s:o}", "type", PROTO_T_DESIRED,
		    "generation", g, "containers", a->parts);
		a->parts = NULL;
		type = PROTO_T_DESIRED;
		s->sets_in_parts++;
	}
	if (strcmp(type, PROTO_T_WELCOME) == 0)
		sim_welcome(a, f);
	else if (strcmp(type, PROTO_T_DESIRED) == 0 && a->welcome_us != 0) {
		now = sim_now_us();
		sim_desired(a, f);
		full = a->ncontainers > 0;
		if (a->j_first < 0 && a->joined)
			a->j_first = now - a->welcome_us;
		if (full && a->j_full < 0) {
			a->j_full = now - a->welcome_us;
			a->j_conn_full = now - a->join_start_us;
			if (a->late)
				a->j_full_late = a->j_full;
		}
		if (!a->synced && (full || !s->expect_containers)) {
			a->synced = 1;
			s->n_synced++;
			if (s->down_us != 0 && a->welcome_us > s->down_us &&
			    !a->resynced) {
				a->resynced = 1;
				s->n_resynced++;
				a->r_upgrade = a->est_us - a->conn_us;
				a->r_welcome = a->welcome_us - a->est_us;
				a->r_back = now - s->down_us;
			}
		}
		lws_callback_on_writable(a->wsi);
	}
	json_decref(f);
}

/* Write one owed frame. -1 closes. */
static int
sim_write(struct sim_agent *a)
{
	char *text = NULL;
	unsigned char *b;
	size_t len;
	int n;

	if (a->hangup)
		return -1;
	if (a->want_ping) {
		unsigned char ping[LWS_PRE + 3];

		a->want_ping = 0;
		a->ping_ms = util_mono_ms();
		memcpy(ping + LWS_PRE, "sim", 3);
		if (lws_write(a->wsi, ping + LWS_PRE, 3, LWS_WRITE_PING) < 0)
			return -1;
		if (a->welcome_us != 0 && (a->want_info ||
		    (a->want_state && a->state) || a->want_stats))
			lws_callback_on_writable(a->wsi);
		return 0;
	}
	if (a->welcome_us == 0)
		return 0;
	if (a->want_info) {
		a->want_info = 0;
		text = sim_node_info(a);
	} else if (a->want_state && a->state != NULL) {
		a->want_state = 0;
		text = xstrdup(a->state);
	} else if (a->want_stats) {
		a->want_stats = 0;
		text = sim_stats(a);
	}
	if (text == NULL)
		return 0;
	len = strlen(text);
	b = xmalloc(LWS_PRE + len);
	memcpy(b + LWS_PRE, text, len);
	free(text);
	n = lws_write(a->wsi, b + LWS_PRE, len, LWS_WRITE_TEXT);
	free(b);
	if (n < (int)len)
		return -1;
	a->sim->frames_tx++;
	if (a->want_info || (a->want_state && a->state) || a->want_stats)
		lws_callback_on_writable(a->wsi);
	return 0;
}

/* ---- connections -------------------------------------------------------- */

/* The session ended or never opened: schedule the next attempt. */
static void
sim_ended(struct sim_agent *a)
{
	struct sim *s = a->sim;
	int64_t now = util_mono_ms(), delay;
	int code = a->close_code;
	enum proto_close_action act = proto_close_action(code);
	int64_t cap = (int64_t)s->backoff_max_s * 1000;

	if (a->conn != SIM_CONNECTING && a->conn != SIM_OPEN)
		return;		/* already handled */
	/*
	 * As agent/conn.c: an attempt that ended without a welcome, and not
	 * sent to the leader by a standby, moves on to the next master of
	 * the list (one that is down or stopping).
	 */
	if (a->welcome_us == 0 && !a->to_leader &&
	    code != PROTO_CLOSE_NOT_LEADER && s->nm > 1) {
		a->cur = (a->cur + 1) % s->nm;
		s->n_next_master++;
	}
	if (a->welcome_us != 0) {
		s->n_open--;
		s->n_drops++;
		if (s->phase == SIM_P_HOLD)
			s->hold_drops++;
		if (s->phase == SIM_P_WAIT_DOWN && s->down_us == 0) {
			s->down_us = sim_now_us();
			fprintf(stderr, "agentsim: first drop after hold "
			    "(close %d)\n", code);
		}
	} else
		s->n_conn_err++;
	if (a->synced) {
		a->synced = 0;
		s->n_synced--;
	}
	if (a->open_ms != 0 && now - a->open_ms >= SIM_STABLE_MS)
		a->backoff.attempt = 0;
	if (code >= 4000 && code < 4016)
		s->n_closes[code - 4000]++;
	/* The real agent's policy: the protocol's table (common/proto.c). */
	switch (act) {
	case PROTO_CLOSE_DO_NEW_NODE: {
		/* Another live agent holds the id: become a new node (a
		 * simulated agent has no containers to remove). */
		unsigned char raw[PROTO_NODE_ID_LEN / 2];

		util_random(raw, sizeof raw);
		util_hex(raw, sizeof raw, a->node_id);
	}
		/* FALLTHROUGH */
	case PROTO_CLOSE_DO_REJOIN:
	case PROTO_CLOSE_DO_REMOVED:
		free(a->node_token);
		a->node_token = NULL;
		s->nodes_dirty = 1;
		break;
	default:	/* the delay is backoff_reconnect_ms()'s */
		break;
	}
	delay = backoff_reconnect_ms(&a->backoff, act, a->retry_after, 0, cap,
	    now, sim_rand(s));
	if (a->to_leader) {	/* a standby named the leader: it serves */
		a->to_leader = 0;
		delay = SIM_LEADER_MIN_MS + (int64_t)(sim_rand(s) %
		    SIM_LEADER_JITTER_MS);
	}
	a->retry_after = -1;
	a->wsi = NULL;
	a->conn = SIM_WAIT;
	a->next_connect = now + delay;
	a->close_code = 0;
	a->open_ms = 0;
	a->welcome_us = 0;
	a->want_info = a->want_state = a->want_stats = 0;
	a->want_ping = a->hangup = a->rx_drop = 0;
	json_decref(a->parts);
	a->parts = NULL;
	buf_free(&a->rx);
}

static void
sim_connect(struct sim_agent *a)
{
	struct sim *s = a->sim;
	const struct sim_master *m = &s->m[a->cur];
	struct lws_client_connect_info i;
	char src[24];
	/*
	 * The real agent's idle policy (agent/conn.c: lws pings after 20 s
	 * without a pong and hangs up after 40) is kept by sim_idle() in the
	 * tick: lws would keep one timer per connection in a sorted list
	 * and re-insert it on every pong, a walk past all the others (most
	 * of agentsim's CPU at 10,000 agents).
	 */
	static const lws_retry_bo_t retry = {
		.secs_since_valid_ping = 0,
		.secs_since_valid_hangup = 0,
	};

	memset(&i, 0, sizeof i);
	i.context = s->ctx;
	i.address = m->host;
	i.port = m->port;
	i.path = m->path;
	i.host = m->host;
	i.origin = m->host;
	i.protocol = PROTO_WS_PROTOCOL;
	i.local_protocol_name = PROTO_WS_PROTOCOL;
	i.opaque_user_data = a;
	i.retry_and_idle_policy = &retry;
	i.pwsi = &a->wsi;
	if (s->source_ips > 1) {	/* lws copies it before returning */
		snprintf(src, sizeof src, "127.0.0.%d",
		    1 + (int)(a - s->a) % s->source_ips);
		i.iface = src;
	}
	a->conn = SIM_CONNECTING;
	a->conn_us = sim_now_us();
	if (s->down_us != 0 && !a->resynced)
		a->r_attempts += 1000;
	if (a->join_start_us == 0) {
		a->join_start_us = a->conn_us;
		a->late = (int64_t)s->n_open * 10 >= (int64_t)s->n * 9;
	}
	if (lws_client_connect_via_info(&i) == NULL)
		sim_ended(a);	/* no-op if the error callback did it */
}

static int
sim_headers(struct sim_agent *a, struct lws *wsi, unsigned char **p,
    unsigned char *end)
{
	struct sim *s = a->sim;
	const char *tok_hdr = a->node_token ? PROTO_HDR_NODE_TOKEN :
	    PROTO_HDR_GRID_TOKEN;
	const char *tok = a->node_token ? a->node_token : s->grid_token;
	const char *h[][2] = {
		{ PROTO_HDR_PROTOCOL, PROTO_VERSION_STR },
		{ PROTO_HDR_NODE_ID, a->node_id },
		{ PROTO_HDR_NODE_NAME, a->name },
		{ PROTO_HDR_LABELS, s->labels },
		{ PROTO_HDR_VERSION, SIM_VERSION },
		{ tok_hdr, tok },
	};
	size_t k;

	for (k = 0; k < sizeof h / sizeof h[0]; k++)
		if (lws_add_http_header_by_name(wsi,
		    (const unsigned char *)h[k][0],
		    (const unsigned char *)h[k][1], (int)strlen(h[k][1]), p,
		    end) != 0)
			return -1;
	return 0;
}

/* The index in --url's list of a ws://HOST:PORT URL, or -1. */
static int
sim_find_master(struct sim *s, const char *url)
{
	char *copy = xstrdup(url);
	const char *proto, *addr, *path;
	int port, i, found = -1;

	if (lws_parse_uri(copy, &proto, &addr, &port, &path) == 0 &&
	    strcmp(proto, "ws") == 0)
		for (i = 0; i < s->nm && found < 0; i++)
			if (s->m[i].port == port &&
			    strcasecmp(s->m[i].host, addr) == 0)
				found = i;
	free(copy);
	return found;
}

/*
 * A standby closed with 4013 (docs/ha.md): as agent/conn.c, go to the
 * leader its reason names at once when the list has it, else to the next
 * master of the list.
 */
static void
sim_not_leader(struct sim_agent *a, const char *reason, size_t len)
{
	struct sim *s = a->sim;
	char url[256];
	int i;

	if (proto_leader_url(reason, len, url, sizeof url) == 0 &&
	    (i = sim_find_master(s, url)) >= 0) {
		a->cur = i;
		a->to_leader = 1;
		s->n_to_leader++;
		return;
	}
	if (s->nm > 1) {
		a->cur = (a->cur + 1) % s->nm;
		s->n_next_master++;
	}
}

static int
sim_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	struct sim_agent *a = lws_get_opaque_user_data(wsi);
	const unsigned char *u = in;

	switch (reason) {
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
		if (a == NULL || sim_headers(a, wsi, (unsigned char **)in,
		    *(unsigned char **)in + len) != 0)
			return -1;
		break;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		if (a == NULL)
			return -1;
		a->est_us = sim_now_us();
		a->wsi = wsi;
		a->conn = SIM_OPEN;
		a->open_ms = a->valid_ms = util_mono_ms();
		a->close_code = 0;
		buf_free(&a->rx);
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (a == NULL)
			break;
		/* Over the cap: drop it to its end, hang up when writable
		 * (-1 from here is unsafe in lws 4.1, as agent/conn.c says). */
		if (a->rx_drop || a->rx.len + len > PROTO_MAX_FRAME) {
			if (!a->rx_drop) {
				a->rx_drop = a->hangup = 1;
				buf_free(&a->rx);
				lws_callback_on_writable(wsi);
			}
			if (lws_is_final_fragment(wsi) &&
			    lws_remaining_packet_payload(wsi) == 0)
				a->rx_drop = 0;
			break;
		}
		buf_append(&a->rx, in, len);
		if (!lws_is_final_fragment(wsi) ||
		    lws_remaining_packet_payload(wsi) > 0)
			break;
		if (a->rx.data != NULL)
			sim_frame(a);
		buf_free(&a->rx);
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (a == NULL || a->sim->done)
			return -1;
		return sim_write(a);
	case LWS_CALLBACK_CLIENT_RECEIVE_PONG:
		if (a != NULL)
			a->valid_ms = util_mono_ms();
		break;
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (a != NULL && len >= 2) {
			a->close_code = (u[0] << 8) | u[1];
			a->retry_after = proto_retry_after_ms(
			    (const char *)u + 2, len - 2);
			if (a->close_code == PROTO_CLOSE_NOT_LEADER)
				sim_not_leader(a, (const char *)u + 2,
				    len - 2);
		}
		break;
	case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
		/*
		 * lws 4.1 reports a connection that ends while it waits for
		 * the answer to its upgrade request (its handshake timeout
		 * on a master too busy to answer, or stopping with
		 * connections in its backlog) here, and neither as
		 * CONNECTION_ERROR nor as CLIENT_CLOSED: without this the
		 * agent would wait for ever (agent/conn.c has the same).
		 */
		if (a != NULL && a->conn == SIM_CONNECTING)
			a->sim->n_pre_upgrade++;
		/* FALLTHROUGH */
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
	case LWS_CALLBACK_CLIENT_CLOSED:
		if (a != NULL)
			sim_ended(a);	/* once per attempt: it checks */
		break;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols sim_protocols[] = {
	/* The agent's receive buffer (agent/conn.c): with lws's default
	 * 4 KB a grid's 27 KB peer list took seven loop turns to read, and
	 * the desired set queued behind it waited for all seven. */
	{ PROTO_WS_PROTOCOL, sim_callback, 0, 65536, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

/* ---- figures ------------------------------------------------------------ */

static int
sim_cmp64(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;

	return (a > b) - (a < b);
}

/* p50 and p99 (nearest rank, ms) of one per-agent join field. */
static int
sim_pcts(struct sim *s, size_t off, double *p50, double *p99)
{
	int64_t *v = xcalloc((size_t)s->n, sizeof *v), x;
	size_t k = 0, r;
	int i;

	for (i = 0; i < s->n; i++) {
		memcpy(&x, (char *)&s->a[i] + off, sizeof x);
		if (x >= 0)
			v[k++] = x;
	}
	if (k > 0) {
		qsort(v, k, sizeof *v, sim_cmp64);
		r = (k * 50 + 99) / 100;
		*p50 = (double)v[r > 0 ? r - 1 : 0] / 1000.0;
		r = (k * 99 + 99) / 100;
		*p99 = (double)v[r > 0 ? r - 1 : 0] / 1000.0;
	}
	free(v);
	return (int)k;
}

static void
sim_pct_figures(struct sim *s, const char *name, size_t off)
{
	char n50[96], n99[96];
	double p50 = 0, p99 = 0;

	if (sim_pcts(s, off, &p50, &p99) == 0)
		return;
	snprintf(n50, sizeof n50, "%s_p50_ms", name);
	snprintf(n99, sizeof n99, "%s_p99_ms", name);
	sim_figure(s, n50, p50, "ms");
	sim_figure(s, n99, p99, "ms");
}

/*
 * Where the restart's time goes, per agent: attempts since the drop, the
 * last attempt's upgrade (connect -> 101: TCP and the master's accept
 * and upgrade), 101 -> welcome (admission), drop -> resynced.
 */
static void
sim_resync_figures(struct sim *s)
{
	sim_pct_figures(s, "resync_attempts_x1000",
	    offsetof(struct sim_agent, r_attempts));
	sim_pct_figures(s, "resync_upgrade",
	    offsetof(struct sim_agent, r_upgrade));
	sim_pct_figures(s, "resync_welcome",
	    offsetof(struct sim_agent, r_welcome));
	sim_pct_figures(s, "resync_back",
	    offsetof(struct sim_agent, r_back));
}

static void
sim_join_figures(struct sim *s)
{
	int i, full = 0;

	for (i = 0; i < s->n; i++)
		if (s->a[i].j_full >= 0)
			full++;
	sim_figure(s, "agents_connected", s->n_open, "agents");
	sim_figure(s, "agents_synced", s->n_synced, "agents");
	sim_figure(s, "agents_with_containers", full, "agents");
	sim_figure(s, "ramp_s", (double)(util_mono_ms() - s->phase_at) /
	    1000.0, "s");
	/* The tool's own worst stall while the agents joined: the figures
	 * below include it. */
	sim_figure(s, "join_sim_stall_max_ms", (double)s->late_max_us / 1000.0,
	    "ms");
	if (!s->m_join)
		return;
	sim_pct_figures(s, "join_connect_to_welcome",
	    offsetof(struct sim_agent, j_welcome));
	sim_pct_figures(s, "join_welcome_to_first_desired",
	    offsetof(struct sim_agent, j_first));
	/* The issue-7 figure: welcome -> desired set with the daemon. */
	sim_pct_figures(s, "join_to_desired",
	    offsetof(struct sim_agent, j_full));
	sim_pct_figures(s, "join_connect_to_desired",
	    offsetof(struct sim_agent, j_conn_full));
	/* Only joins that began with >= 90% of the N already online. */
	sim_pct_figures(s, "join_to_desired_late",
	    offsetof(struct sim_agent, j_full_late));
}

/* --join-trace: each agent's first welcome (wall clock) and its wait. */
static void
sim_trace(struct sim *s)
{
	FILE *f;
	int i;

	if ((f = fopen(s->trace, "w")) == NULL) {
		fprintf(stderr, "agentsim: cannot write %s\n", s->trace);
		return;
	}
	for (i = 0; i < s->n_late; i++)
		fprintf(f, "# stall %lld %.3f\n", (long long)((s->wall_off_us +
		    s->late_at[i] - s->late_us[i]) / 1000),
		    (double)s->late_us[i] / 1000.0);
	for (i = 0; i < s->n; i++) {
		const struct sim_agent *a = &s->a[i];

		if (a->j_welcome < 0)
			continue;
		fprintf(f, "%lld %.3f %s\n", (long long)((s->wall_off_us +
		    a->join_start_us + a->j_welcome) / 1000),
		    a->j_full < 0 ? -1.0 : (double)a->j_full / 1000.0,
		    a->name);
	}
	if (fclose(f) != 0)
		fprintf(stderr, "agentsim: cannot write %s\n", s->trace);
}

static void
sim_report(struct sim *s)
{
	json_t *closes = json_object();
	char k[16];
	int i;

	for (i = 0; i < 16; i++) {
		if (s->n_closes[i] == 0)
			continue;
		snprintf(k, sizeof k, "%d", 4000 + i);
		json_object_set_new(closes, k, json_integer(s->n_closes[i]));
	}
	json_object_set_new(s->out, "closes", closes);
	json_object_set_new(s->out, "options", json_pack("{s:s, s:i, s:f, "
	    "s:s, s:i, s:b, s:b, s:b, s:b}", "url", s->url, "agents", s->n,
	    "ramp", s->ramp, "labels", s->labels, "duration_s", s->duration_s,
	    "join", s->m_join, "idle", s->m_idle, "reconnect", s->m_reconnect,
	    "expect_containers", s->expect_containers));
	json_object_set_new(s->out, "counters", json_pack("{s:I, s:I, s:I, "
	    "s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:i}", "drops", (json_int_t)s->n_drops,
	    "connect_errors", (json_int_t)s->n_conn_err,
	    "closed_before_upgrade", (json_int_t)s->n_pre_upgrade,
	    "sets_in_parts", (json_int_t)s->sets_in_parts,
	    "sent_to_leader", (json_int_t)s->n_to_leader,
	    "next_master", (json_int_t)s->n_next_master,
	    "frames_tx", (json_int_t)s->frames_tx,
	    "frames_rx", (json_int_t)s->frames_rx,
	    "frames_skipped", (json_int_t)s->frames_skipped,
	    "lws_errors", (json_int_t)s->lws_errs, "joined", s->n_joined));
	if (s->report != NULL && json_dump_file(s->out, s->report,
	    JSON_INDENT(2)) != 0)
		fprintf(stderr, "agentsim: cannot write %s\n", s->report);
	if (s->trace != NULL)
		sim_trace(s);
}

/* ---- the tick ----------------------------------------------------------- */

static void
sim_set_phase(struct sim *s, enum sim_phase p)
{
	s->phase = p;
	s->phase_at = util_mono_ms();
}

static void
sim_phases(struct sim *s, int64_t now)
{
	int i;

	switch (s->phase) {
	case SIM_P_RAMP:
		if (s->n_synced < s->n && now - s->phase_at <
		    (int64_t)s->join_timeout_s * 1000)
			return;
		if (s->n_synced < s->n)
			fprintf(stderr, "agentsim: join timeout: %d of %d "
			    "synced\n", s->n_synced, s->n);
		sim_join_figures(s);
		sim_nodes_save(s);
		sim_phase_note(s, "synced");
		sim_set_phase(s, SIM_P_HOLD);
		return;
	case SIM_P_HOLD:
		if (now - s->phase_at < (int64_t)s->duration_s * 1000)
			return;
		if (s->m_idle) {
			sim_figure(s, "idle_hold_s", s->duration_s, "s");
			sim_figure(s, "idle_drops", (double)s->hold_drops,
			    "sessions");
			sim_figure(s, "agents_connected_after_hold", s->n_open,
			    "agents");
		}
		sim_phase_note(s, "held");
		sim_set_phase(s, s->m_reconnect ? SIM_P_WAIT_DOWN :
		    SIM_P_DONE);
		return;
	case SIM_P_WAIT_DOWN:
		if (s->down_us != 0) {
			for (i = 0; i < s->n; i++) {
				s->a[i].resynced = 0;
				s->a[i].r_attempts = 0;
			}
			s->n_resynced = 0;
			sim_set_phase(s, SIM_P_WAIT_UP);
			return;
		}
		if (now - s->phase_at >= (int64_t)s->restart_timeout_s * 1000) {
			fprintf(stderr, "agentsim: the master never went away\n");
			sim_set_phase(s, SIM_P_DONE);
		}
		return;
	case SIM_P_WAIT_UP:
		if (s->n_resynced >= s->n) {
			sim_figure(s, "reconnect_all_s",
			    (double)(sim_now_us() - s->down_us) / 1e6, "s");
			sim_figure(s, "agents_resynced", s->n_resynced,
			    "agents");
			sim_resync_figures(s);
			sim_phase_note(s, "resynced");
			sim_set_phase(s, SIM_P_DONE);
		} else if (now - s->phase_at >=
		    (int64_t)s->restart_timeout_s * 1000) {
			fprintf(stderr, "agentsim: reconnect timeout: %d of %d "
			    "resynced\n", s->n_resynced, s->n);
			sim_figure(s, "agents_resynced", s->n_resynced,
			    "agents");
			sim_phase_note(s, "resync-timeout");
			sim_set_phase(s, SIM_P_DONE);
		}
		return;
	case SIM_P_DONE:
		return;
	}
}

static void
sim_tick(lws_sorted_usec_list_t *sul)
{
	struct sim *s = lws_container_of(sul, struct sim, tick);
	struct sim_agent *a;
	int64_t now = util_mono_ms(), due, now_us = sim_now_us(), late;
	int i, stuck = 0, connecting = 0;

	/* This process's own stalls: every agent's frames wait for them. */
	late = s->tick_due_us != 0 ? now_us - s->tick_due_us : 0;
	if (late > s->late_max_us)
		s->late_max_us = late;
	if (late > SIM_LATE_US && s->n_late < SIM_LATE_LOG) {
		s->late_at[s->n_late] = now_us;
		s->late_us[s->n_late++] = late;
	}

	for (i = 0; i < s->started; i++)
		connecting += s->a[i].conn == SIM_CONNECTING;
	/*
	 * Agents come due at the ramp rate; their join is timed from then,
	 * so a wait for a handshake slot counts against the master's figures,
	 * never for them.
	 */
	due = (int64_t)((double)(now - s->t0) * s->ramp / 1000.0) + 1;
	while (s->started < s->n && s->started < due) {
		a = &s->a[s->started++];
		a->join_start_us = now_us;
		a->late = (int64_t)s->n_open * 10 >= (int64_t)s->n * 9;
		a->conn = SIM_WAIT;
		a->next_connect = now;
	}

	for (i = 0; i < s->started; i++) {
		a = &s->a[i];
		if (a->conn == SIM_WAIT && now >= a->next_connect) {
			if (connecting < s->max_connecting) {
				sim_connect(a);
				connecting++;
			}
		} else if (a->conn == SIM_CONNECTING &&
		    now_us - a->conn_us > SIM_STUCK_US)
			stuck++;	/* lws's own deadlines are 30 s */
		else if (a->conn == SIM_OPEN && a->wsi != NULL &&
		    now - a->valid_ms >= SIM_PING_MS) {
			/* As lws: ping 20 s after the last pong (and every
			 * 20 s), hang up 40 s after it. */
			if (now - a->valid_ms >= SIM_HANGUP_MS) {
				a->hangup = 1;
				lws_callback_on_writable(a->wsi);
			} else if (now - a->ping_ms >= SIM_PING_MS) {
				a->want_ping = 1;
				lws_callback_on_writable(a->wsi);
			}
		}
		if (a->conn == SIM_OPEN && a->welcome_us != 0) {
			if (now >= a->stats_at) {
				a->want_stats = 1;
				a->stats_at = now + SIM_STATS_MS;
				lws_callback_on_writable(a->wsi);
			}
			if (a->state != NULL &&
			    now - a->state_at >= SIM_STATE_MS) {
				a->want_state = 1;
				a->state_at = now;
				lws_callback_on_writable(a->wsi);
			}
		}
	}
	if (now - s->progress_at >= SIM_PROGRESS_MS) {
		s->progress_at = now;
		fprintf(stderr, "agentsim: %.0fs started %d open %d synced %d "
		    "resynced %d drops %ld conn-errors %ld (%ld before the "
		    "upgrade's answer) connecting for over %ds %d\n",
		    (double)(now - s->t0) / 1000.0, s->started, s->n_open,
		    s->n_synced, s->n_resynced, s->n_drops, s->n_conn_err,
		    s->n_pre_upgrade, (int)(SIM_STUCK_US / 1000000), stuck);
	}
	sim_phases(s, now);
	if (s->phase == SIM_P_DONE || sim_signalled) {
		s->done = 1;
		if (s->loop != NULL)
			ev_break(s->loop, EVBREAK_ALL);
	} else {
		s->tick_due_us = sim_now_us() + SIM_TICK_US;
		lws_sul_schedule(s->ctx, 0, &s->tick, sim_tick, SIM_TICK_US);
	}
}

/* ---- start-up ----------------------------------------------------------- */

static struct sim *sim_log_target;	/* for the lws log hook only */

static void
sim_lws_log(int level, const char *line)
{
	(void)level;
	if (sim_log_target != NULL && sim_log_target->lws_errs++ >= 20)
		return;
	fprintf(stderr, "agentsim: lws: %s", line);
}

static void
sim_on_signal(int sig)
{
	(void)sig;
	sim_signalled = 1;
}

static void
sim_usage(void)
{
	fprintf(stderr,
"usage: agentsim --url ws://127.0.0.1:PORT[,ws://...] --token GRIDTOKEN "
"[options]\n"
"  --url LIST            the master, or every master (comma-separated, as\n"
"                        BERTH_URL): a 4013 naming a listed leader goes\n"
"                        there, an attempt without a welcome to the next\n"
"  --agents N            simulated agents (1000)\n"
"  --ramp R              first connections per second (500)\n"
"  --label k=v           node label, repeatable\n"
"  --cpus N              cpus each agent reports (default 2)\n"
"  --name-prefix P       node names P-<i> (sim)\n"
"  --measure join|idle|reconnect   repeatable (join)\n"
"  --duration S          hold time after all are synced (0; idle: 30)\n"
"  --expect-containers   synced means a desired set with >= 1 container\n"
"  --join-timeout S      bound on the ramp phase (N/R + 60)\n"
"  --restart-timeout S   bound on each restart wait (180)\n"
"  --backoff-max S       reconnect backoff cap (30, as the agent)\n"
"  --source-ips K        spread agents over source 127.0.0.1..127.0.0.K (1)\n"
"  --max-connecting N    handshakes in flight at once (256)\n"
"  --data-dir D          keep node ids and node tokens in D/agentsim-nodes\n"
"  --report FILE         write every figure as JSON\n"
"  --join-trace FILE     a line per agent: wall-clock ms of its first\n"
"                        welcome, welcome -> desired ms, name (to line the\n"
"                        slow joins up with the master's log)\n"
"  --phase-file FILE     write the name of each finished phase\n");
	exit(2);
}

/*
 * Accept ws://HOST:PORT[/path] with a loopback HOST only, or a
 * comma-separated list of them (every master, as the agent's BERTH_URL).
 */
static void
sim_parse_url(struct sim *s)
{
	char *list = xstrdup(s->url), *one, *save = NULL, *copy;
	const char *proto, *addr, *path;
	int port;

	for (one = strtok_r(list, ",", &save); one != NULL;
	    one = strtok_r(NULL, ",", &save)) {
		copy = xstrdup(one);
		if (s->nm >= SIM_MAX_MASTERS) {
			fprintf(stderr, "agentsim: --url: at most %d masters\n",
			    SIM_MAX_MASTERS);
			exit(2);
		}
		if (lws_parse_uri(copy, &proto, &addr, &port, &path) != 0 ||
		    strcmp(proto, "ws") != 0 || port <= 0 || port > 65535) {
			fprintf(stderr, "agentsim: --url: expected "
			    "ws://127.0.0.1:PORT[,ws://...], not %s\n", one);
			exit(2);
		}
		if (strncmp(addr, "127.", 4) != 0 &&
		    strcmp(addr, "localhost") != 0) {
			fprintf(stderr, "agentsim: --url: loopback masters "
			    "only\n");
			exit(2);
		}
		snprintf(s->m[s->nm].host, sizeof s->m[s->nm].host, "%s",
		    addr);
		snprintf(s->m[s->nm].path, sizeof s->m[s->nm].path, "/%s",
		    path);
		s->m[s->nm].port = port;
		s->nm++;
		free(copy);
	}
	free(list);
	if (s->nm == 0) {
		fprintf(stderr, "agentsim: --url: no master\n");
		exit(2);
	}
}

static void
sim_options(struct sim *s, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "token", required_argument, NULL, 't' },
		{ "agents", required_argument, NULL, 'n' },
		{ "ramp", required_argument, NULL, 'r' },
		{ "label", required_argument, NULL, 'l' },
		{ "name-prefix", required_argument, NULL, 'p' },
		{ "measure", required_argument, NULL, 'm' },
		{ "duration", required_argument, NULL, 'd' },
		{ "expect-containers", no_argument, NULL, 'e' },
		{ "join-timeout", required_argument, NULL, 'J' },
		{ "restart-timeout", required_argument, NULL, 'R' },
		{ "backoff-max", required_argument, NULL, 'B' },
		{ "source-ips", required_argument, NULL, 'S' },
		{ "max-connecting", required_argument, NULL, 'M' },
		{ "cpus", required_argument, NULL, 'C' },
		{ "data-dir", required_argument, NULL, 'D' },
		{ "report", required_argument, NULL, 'o' },
		{ "join-trace", required_argument, NULL, 'T' },
		{ "phase-file", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct buf labels = { NULL, 0, 0 };
	int c, nlabels = 0, duration = -1;

	s->n = 1000;
	s->ramp = 500;
	s->cpus = 2;
	s->prefix = "sim";
	s->join_timeout_s = -1;
	s->restart_timeout_s = 180;
	s->backoff_max_s = 30;
	s->max_connecting = 256;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'u': s->url = optarg; break;
		case 't': s->grid_token = optarg; break;
		case 'n': s->n = atoi(optarg); break;
		case 'r': s->ramp = atof(optarg); break;
		case 'l':
			if (!util_label_valid(optarg) ||
			    ++nlabels > SIM_MAX_LABELS) {
				fprintf(stderr, "agentsim: bad --label %s\n",
				    optarg);
				exit(2);
			}
			buf_printf(&labels, "%s%s", labels.len ? "," : "",
			    optarg);
			break;
		case 'p': s->prefix = optarg; break;
		case 'm':
			if (strcmp(optarg, "join") == 0)
				s->m_join = 1;
			else if (strcmp(optarg, "idle") == 0)
				s->m_idle = 1;
			else if (strcmp(optarg, "reconnect") == 0)
				s->m_reconnect = 1;
			else
				sim_usage();
			break;
		case 'd': duration = atoi(optarg); break;
		case 'e': s->expect_containers = 1; break;
		case 'J': s->join_timeout_s = atoi(optarg); break;
		case 'R': s->restart_timeout_s = atoi(optarg); break;
		case 'B': s->backoff_max_s = atoi(optarg); break;
		case 'S': s->source_ips = atoi(optarg); break;
		case 'M': s->max_connecting = atoi(optarg); break;
		case 'C': s->cpus = atoi(optarg); break;
		case 'D': s->data_dir = optarg; break;
		case 'o': s->report = optarg; break;
		case 'T': s->trace = optarg; break;
		case 'P': s->phase_file = optarg; break;
		default: sim_usage();
		}
	}
	if (s->url == NULL || s->grid_token == NULL || s->n <= 0 ||
	    s->n > 1000000 || s->ramp <= 0 || s->backoff_max_s <= 0 ||
	    s->restart_timeout_s <= 0 || s->source_ips < 0 ||
	    s->source_ips > 254 || s->max_connecting <= 0 || optind != argc)
		sim_usage();
	if (!s->m_join && !s->m_idle && !s->m_reconnect)
		s->m_join = 1;
	s->duration_s = duration >= 0 ? duration : s->m_idle ? 30 : 0;
	if (s->join_timeout_s < 0)
		s->join_timeout_s = (int)((double)s->n / s->ramp) + 60;
	s->labels = labels.data ? labels.data : xstrdup("");
	sim_parse_url(s);
}

/* Raise RLIMIT_NOFILE to what N sockets need (the hard limit at most). */
static void
sim_nofile(struct sim *s)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)s->n + 256;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < want) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ?
		    want : rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want) {
		fprintf(stderr, "agentsim: RLIMIT_NOFILE is %llu, %d agents "
		    "need %llu (raise the hard limit)\n",
		    (unsigned long long)rl.rlim_cur, s->n,
		    (unsigned long long)want);
		exit(1);
	}
}

int
main(int argc, char **argv)
{
	struct lws_context_creation_info info;
	struct sim s;
	int i, rc = 0;

	memset(&s, 0, sizeof s);
	sim_options(&s, argc, argv);
	sim_nofile(&s);
	util_random(&s.rnd, sizeof s.rnd);
	s.rnd |= 1;
	{
		struct timespec rt;

		clock_gettime(CLOCK_REALTIME, &rt);
		s.wall_off_us = (int64_t)rt.tv_sec * 1000000 +
		    rt.tv_nsec / 1000 - sim_now_us();
	}
	s.out = json_object();
	s.a = xcalloc((size_t)s.n, sizeof *s.a);
	for (i = 0; i < s.n; i++) {
		s.a[i].sim = &s;
		snprintf(s.a[i].name, sizeof s.a[i].name, "%s-%d", s.prefix, i);
		s.a[i].j_welcome = s.a[i].j_first = s.a[i].j_full =
		    s.a[i].j_conn_full = s.a[i].j_full_late =
		    s.a[i].r_upgrade = s.a[i].r_welcome = s.a[i].r_back = -1;
		if (!util_name_valid(s.a[i].name)) {
			fprintf(stderr, "agentsim: bad node name %s\n",
			    s.a[i].name);
			return 2;
		}
	}
	sim_nodes_load(&s);
	s.nodes_dirty = 1;

	signal(SIGINT, sim_on_signal);
	signal(SIGTERM, sim_on_signal);
	signal(SIGPIPE, SIG_IGN);
	sim_log_target = &s;
	lws_set_log_level(LLL_ERR, sim_lws_log);

	memset(&info, 0, sizeof info);
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = sim_protocols;
	info.user = &s;
	/*
	 * No fd_limit_per_thread: with it lws 4.1 finds a wsi by scanning
	 * its whole fd table; sized from RLIMIT_NOFILE it indexes directly.
	 */
	info.timeout_secs = 30;
	/*
	 * An epoll loop (libev, as the master's hub): lws's own poll() walks
	 * every socket on each wake-up, which at 10,000 agents made the load
	 * generator slower than the master it measures.
	 */
	s.loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOENV);
	if (s.loop != NULL) {
		s.foreign[0] = s.loop;
		info.foreign_loops = s.foreign;
		info.options |= LWS_SERVER_OPTION_LIBEV;
		if ((s.ctx = lws_create_context(&info)) == NULL) {
			fprintf(stderr, "agentsim: no libev loop for lws; "
			    "using poll()\n");
			ev_loop_destroy(s.loop);
			s.loop = NULL;
		}
	}
	if (s.loop == NULL) {
		info.foreign_loops = NULL;
		info.options &= ~(uint64_t)LWS_SERVER_OPTION_LIBEV;
		s.ctx = lws_create_context(&info);
	}
	if (s.ctx == NULL) {
		fprintf(stderr, "agentsim: cannot create the lws context\n");
		return 1;
	}
	fprintf(stderr, "agentsim: %d agents -> %s at %.0f/s, labels \"%s\"\n",
	    s.n, s.url, s.ramp, s.labels);
	s.t0 = s.progress_at = util_mono_ms();
	sim_set_phase(&s, SIM_P_RAMP);
	lws_sul_schedule(s.ctx, 0, &s.tick, sim_tick, 1);
	if (s.loop != NULL)
		ev_run(s.loop, 0);	/* until sim_tick() breaks it */
	else {
		while (!s.done)
			if (lws_service(s.ctx, 0) < 0)
				break;
	}
	if (sim_signalled) {
		fprintf(stderr, "agentsim: interrupted\n");
		if (s.phase == SIM_P_RAMP)
			sim_join_figures(&s);
		rc = 1;
	}
	sim_nodes_save(&s);
	sim_report(&s);
	lws_context_destroy(s.ctx);
	if (s.loop != NULL)
		ev_loop_destroy(s.loop);
	for (i = 0; i < s.n; i++) {
		free(s.a[i].node_token);
		free(s.a[i].state);
		json_decref(s.a[i].parts);
		buf_free(&s.a[i].rx);
	}
	free(s.a);
	free(s.labels);
	json_decref(s.out);
	return rc;
}
