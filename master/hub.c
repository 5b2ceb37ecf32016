/*
 * hub.c - the agent websocket hub (see hub.h and docs/protocol.md).
 *
 * DESIGN. One libwebsockets context, created at start-up and then serviced
 * by one thread (the "ws thread"), owns every agent session; nothing else
 * touches an lws object. Other threads talk to it through the inbox: a
 * mutex-protected list plus lws_cancel_service(), drained in
 * LWS_CALLBACK_EVENT_WAIT_CANCELLED. Frames to an agent wait in its
 * session's out queue (hub_outq.h: at most one pending desired frame, a
 * newer set replaces it); the ws thread asks for WRITEABLE and writes one
 * frame per callback. Every close, refusal or kick goes through the same
 * path: mark the session closing with a code, ask for WRITEABLE, and there
 * set the close reason and return -1.
 *
 * Sessions are found by node id in a small hash table. A newer session of
 * the same node id replaces the older one (which is closed with 4007). A
 * tick every 250 ms sends the pings that are due (each grid's
 * heartbeat_interval_s), closes sessions silent for offline_after_s,
 * re-sends desired sets a minute old, and every 2 s writes the last-seen
 * times and loads of the sessions in transactions of at most
 * HUB_SEEN_ROWS, one a tick (hub_flush_seen()).
 *
 * WORK QUEUES. What costs store queries is queued and done in bounded
 * turns, so that a burst never keeps the loop from reading pongs: new
 * sessions wait in admitq (hub_admit.c admits them in batches) and
 * sessions whose desired set must be rebuilt in dirtyq (a session is in
 * it once however many "node changed" messages arrive: placing 2,000
 * instances on a node rebuilds its set once, not 2,000 times). hub_work()
 * runs on the next loop turn after work is queued, works for HUB_WORK_MS
 * and, if work is left, runs again on the turn after, once the loop has
 * served the sockets that are ready.
 *
 * LIVENESS tolerates a slow loop: silence is measured on hub_clock(),
 * which stops while the loop stalls (a tick more than HUB_LAG_MS late),
 * and a session whose socket holds unread bytes is not silent, only not
 * read yet. A busy master therefore never takes its own delay for dead
 * agents.
 *
 * The ws thread has its own store connection; refused connections never
 * write to it. Admission (headers, tokens, per-address limits) lives in
 * hub_admit.c; hub_int.h holds what the two share.
 */
#include "master/hub.h"
#include "master/hub_int.h"
#include "master/hub_claim.h"
#include "master/hub_desired.h"
#include "master/hub_frame.h"
#include "master/logstore.h"
#include "master/loadring.h"

#include "common/log.h"
#include "common/proto.h"
#include "common/util.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <ev.h>
#include <libwebsockets.h>
#include <openssl/crypto.h>

/*
 * A close frame through lws_write(): lws 4.1 takes the close opcode as 4
 * (LWS_WRITE_CLOSE in its private header; the public one points to
 * lws_close_reason(), whose handshake the shutdown avoids, see
 * hub_begin_stop()).
 */
#define HUB_WRITE_CLOSE		((enum lws_write_protocol)4)

size_t
hub_hash(const char *id)
{
	size_t h = 5381;

	while (*id != '\0')
		h = h * 33 + (unsigned char)*id++;
	return h & (HUB_BUCKETS - 1);
}

struct hub_sess *
hub_find(struct hub *h, const char *id)
{
	struct hub_sess *s;

	for (s = h->by_id[hub_hash(id)]; s != NULL; s = s->hnext)
		if (strcmp(s->node_id, id) == 0)
			return s;
	return NULL;
}

void
hub_unindex(struct hub *h, struct hub_sess *s)
{
	struct hub_sess **pp;

	for (pp = &h->by_id[hub_hash(s->node_id)]; *pp != NULL;
	    pp = &(*pp)->hnext) {
		if (*pp == s) {
			*pp = s->hnext;
			s->hnext = NULL;
			return;
		}
	}
}

/* ---- sending ------------------------------------------------------------ */

void
hub_queue_raw(struct hub_sess *s, enum hub_out_kind kind, const void *data,
    size_t len)
{
	if (hub_outq_push(&s->outq, kind, data, len) == 1)
		log_debug("hub: node %s: newer desired set replaces the one "
		    "not yet sent", s->name);
	lws_callback_on_writable(s->wsi);
}

/* Queue a frame many sessions share (a reference, not a copy). */
void
hub_queue_shared(struct hub_sess *s, struct hub_shared *sh)
{
	hub_outq_push_shared(&s->outq, sh);
	lws_callback_on_writable(s->wsi);
}

static void
hub_queue(struct hub_sess *s, enum hub_out_kind kind, const char *text)
{
	hub_queue_raw(s, kind, text, strlen(text));
}

/* Queue frame (the caller's reference is taken) after those queued. */
void
hub_queue_json(struct hub_sess *s, json_t *frame)
{
	char *text = json_dumps(frame, JSON_COMPACT);

	if (text != NULL)
		hub_queue(s, HUB_OUT_FRAME, text);
	free(text);
	json_decref(frame);
}

/* Close s with code once it is writable; nothing else is sent first. */
void
hub_close(struct hub_sess *s, int code, const char *why)
{
	if (s->close_code != 0)
		return;
	s->close_code = code;
	snprintf(s->close_why, sizeof s->close_why, "%s", why);
	lws_callback_on_writable(s->wsi);
	/*
	 * A peer that stopped reading must not hold the socket open. Not
	 * while stopping: the shutdown's own deadline ends every socket, and
	 * lws keeps timeouts in one sorted list, so ten thousand of them at
	 * once would cost a walk past all the others each.
	 */
	if (!s->h->stopping)
		lws_set_timeout(s->wsi, PENDING_TIMEOUT_CLOSE_SEND, 5);
}

/*
 * A set too big for one frame (docs/protocol.md, "desired_part"): its
 * containers in parts of at most PROTO_MAX_FRAME bytes, all typed
 * "desired_part", which an agent assembles before it acts (and an agent
 * that does not know the type ignores, rather than taking a part for the
 * whole). A container that alone does not fit is not sent at all.
 */
static void
hub_send_parts(struct hub_sess *s, unsigned long long gen, const char *text)
{
	json_t *set = json_loads(text, 0, NULL);
	json_t *arr = json_object_get(set, "containers");
	size_t i, n = json_array_size(arr), nparts, used, part, rlen = 0;
	size_t budget = PROTO_MAX_FRAME - 256;	/* the frame around them */
	size_t *len = xcalloc(n + 1, sizeof *len);
	size_t *first = xcalloc(n + 2, sizeof *first);
	char **ct = xcalloc(n + 1, sizeof *ct), esc[96], *rest = NULL;
	struct buf b = { NULL, 0, 0 };
	json_t *other;

	/* The set's other members (jobs, jobs_done) go in the first part. */
	other = json_deep_copy(set);
	json_object_del(other, "containers");
	if (json_object_size(other) > 0 &&
	    (rest = json_dumps(other, JSON_COMPACT)) != NULL) {
		rlen = strlen(rest) - 2;	/* without its braces */
		rest[rlen + 1] = '\0';
	}
	json_decref(other);
	if (rlen + 1 > budget) {
		log_error("hub: node %s: its jobs are %zu bytes, over the %d "
		    "bytes a frame may carry: its desired set is not sent",
		    s->name, rlen, PROTO_MAX_FRAME);
		goto out;
	}
	for (i = 0; i < n; i++) {
		ct[i] = json_dumps(json_array_get(arr, i), JSON_COMPACT);
		len[i] = ct[i] != NULL ? strlen(ct[i]) : 0;
		if (ct[i] == NULL || len[i] > budget) {
			log_error("hub: node %s: container %s is %zu bytes, "
			    "over the %d bytes a frame may carry: its desired "
			    "set is not sent", s->name, log_escape(esc,
			    sizeof esc, json_string_value(json_object_get(
			    json_array_get(arr, i), "name"))), len[i],
			    PROTO_MAX_FRAME);
			goto out;
		}
	}
	/*
	 * Pack the containers in order: first[p] is the first container of
	 * part p + 1 (the first part also holds the other members).
	 */
	nparts = 1;
	first[0] = 0;
	used = rlen + 1;
	for (i = 0; i < n; i++) {
		if (i > first[nparts - 1] && used + len[i] + 1 > budget) {
			first[nparts++] = i;
			used = 0;
		} else if (i == first[nparts - 1] && used + len[i] + 1 >
		    budget) {
			/* Part 1's jobs leave no room: containers start 2. */
			first[nparts++] = i;
			used = 0;
		}
		used += len[i] + 1;
	}
	first[nparts] = n;
	if (nparts > PROTO_MAX_DESIRED_PARTS) {
		log_error("hub: node %s: its desired set is %zu bytes, over "
		    "the %d parts of %d bytes an agent takes: not sent",
		    s->name, strlen(text), PROTO_MAX_DESIRED_PARTS,
		    PROTO_MAX_FRAME);
		goto out;
	}
	log_info("hub: node %s: desired set of %zu bytes sent in %zu parts",
	    s->name, strlen(text), nparts);
	for (part = 1; part <= nparts; part++) {
		buf_printf(&b, "{\"type\":\"" PROTO_T_DESIRED_PART "\","
		    "\"generation\":%llu,\"part\":%zu,\"parts\":%zu,"
		    "\"containers\":[", gen, part, nparts);
		for (i = first[part - 1]; i < first[part]; i++) {
			if (i > first[part - 1])
				buf_append(&b, ",", 1);
			buf_append(&b, ct[i], len[i]);
		}
		buf_append(&b, "]", 1);
		if (part == 1 && rlen > 0) {
			buf_append(&b, ",", 1);
			buf_append(&b, rest + 1, rlen);
		}
		buf_append(&b, "}", 1);
		/* The first part replaces a pending set; the rest follow. */
		if (hub_outq_push(&s->outq, part == 1 ? HUB_OUT_DESIRED :
		    HUB_OUT_DESIRED_PART, b.data, b.len) == 1)
			log_debug("hub: node %s: newer desired set replaces "
			    "the one not yet sent", s->name);
		buf_free(&b);
	}
	lws_callback_on_writable(s->wsi);
out:
	for (i = 0; i < n; i++)
		free(ct[i]);
	free(ct);
	free(len);
	free(first);
	free(rest);
	json_decref(set);
}

/*
 * Queue the desired sets of n sessions (one query per HUB_DESIRED_BATCH):
 * each if it differs from the last one queued, or always if the session
 * asked for it (desired_force). That one is what the agent has or is about
 * to get: a desired frame not yet written is replaced by the newer
 * (hub_outq.h), so last_desired always names the set the agent converges
 * to.
 */
void
hub_send_desired(struct hub *h, struct hub_sess **v_in, size_t n)
{
	struct hub_sess **v = v_in;
	const char *ids[HUB_DESIRED_BATCH];
	char *texts[HUB_DESIRED_BATCH], *frame;
	struct hub_sess *s, **all = v_in;
	size_t base, k, i, m;
	int64_t now = util_mono_ms();
	int rc, flen;

	/*
	 * A pending node (docs/nodes.md) gets no desired set at all until it
	 * is approved; the store says when it is (the approval's
	 * master_changed_node() marks the session dirty).
	 */
	for (i = 0; i < n && !v[i]->pending; i++)
		;
	if (i < n) {
		all = xcalloc(n, sizeof *all);
		for (i = 0, m = 0; i < n; i++) {
			s = v[i];
			if (s->pending && (rc = store_node_pending(h->st,
			    s->node_id)) != 0) {
				if (rc < 0)
					log_error("hub: node %s: %s", s->name,
					    store_errmsg(h->st));
				continue;
			}
			if (s->pending) {
				s->pending = 0;
				log_info("hub: node %s approved: sending its "
				    "desired set", s->name);
			}
			all[m++] = s;
		}
		n = m;
	}
	v = all;

	for (base = 0; base < n; base += k) {
		k = n - base < HUB_DESIRED_BATCH ? n - base : HUB_DESIRED_BATCH;
		for (i = 0; i < k; i++)
			ids[i] = v[base + i]->node_id;
		if (desired_texts(h->st, h->m->key, h->dcache, ids, k, texts) != 0) {
			log_error("hub: desired sets: %s", store_errmsg(h->st));
			continue;
		}
		for (i = 0; i < k; i++) {
			s = v[base + i];
			if (!s->desired_force && s->last_desired != NULL &&
			    strcmp(s->last_desired, texts[i]) == 0) {
				free(texts[i]);
				continue;
			}
			s->desired_force = 0;
			free(s->last_desired);
			s->last_desired = texts[i];
			s->last_desired_at = now;
			/* Rows changed: record the next report. */
			free(s->last_state);
			s->last_state = NULL;
			free(s->last_state_raw);
			s->last_state_raw = NULL;
			/* texts[i] is {"containers":...}: its members follow. */
			flen = xasprintf(&frame, "{\"type\":\"" PROTO_T_DESIRED
			    "\",\"generation\":%llu,%s",
			    (unsigned long long)++h->generation, texts[i] + 1);
			log_debug("hub: node %s: desired frame of %d bytes",
			    s->name, flen);
			if ((size_t)flen <= PROTO_MAX_FRAME)
				hub_queue(s, HUB_OUT_DESIRED, frame);
			else
				hub_send_parts(s, h->generation, texts[i]);
			free(frame);
		}
	}
	if (all != v_in)
		free(all);
}

/* ---- work queues ---------------------------------------------------------- */

#define HUB_LINK(s, off)	((struct hub_link *)((char *)(s) + (off)))

void
hub_list_push(struct hub_list *l, struct hub_sess *s, size_t off)
{
	struct hub_link *k = HUB_LINK(s, off);

	if (k->on)
		return;
	k->on = 1;
	k->next = NULL;
	k->prev = l->tail;
	if (l->tail != NULL)
		HUB_LINK(l->tail, off)->next = s;
	else
		l->head = s;
	l->tail = s;
	l->n++;
}

void
hub_list_remove(struct hub_list *l, struct hub_sess *s, size_t off)
{
	struct hub_link *k = HUB_LINK(s, off);

	if (!k->on)
		return;
	if (k->prev != NULL)
		HUB_LINK(k->prev, off)->next = k->next;
	else
		l->head = k->next;
	if (k->next != NULL)
		HUB_LINK(k->next, off)->prev = k->prev;
	else
		l->tail = k->prev;
	k->next = k->prev = NULL;
	k->on = 0;
	l->n--;
}

void
hub_admitq_changed(struct hub *h)
{
	int64_t now = util_mono_us();

	atomic_store(&h->n_waiting, (long long)h->admitq.n);
	if (h->admitq.n > 0 && h->admit_since == 0)
		h->admit_since = now;
	else if (h->admitq.n == 0 && h->admit_since != 0) {
		atomic_fetch_add(&h->admit_busy_us, now - h->admit_since);
		h->admit_since = 0;
	}
}

void
hub_stats(struct hub *h, struct hub_stats *out)
{
	memset(out, 0, sizeof *out);
	if (h == NULL)
		return;
	out->sessions = atomic_load(&h->n_connected);
	out->waiting = atomic_load(&h->n_waiting);
	out->admitted = atomic_load(&h->n_admitted);
	out->admit_busy_s = (double)atomic_load(&h->admit_busy_us) / 1e6;
	out->shed = atomic_load(&h->n_shed);
	out->stalled_s = (double)atomic_load(&h->lag_ms) / 1e3;
}

int64_t
hub_clock(struct hub *h)
{
	return util_mono_ms() - h->lag;
}

void
hub_mark_dirty(struct hub *h, struct hub_sess *s, int force)
{
	if (force)
		s->desired_force = 1;
	hub_list_push(&h->dirtyq, s, HUB_DIRTYQ);
	hub_work_arm(h);
}

/* Rebuild the sets of up to HUB_DESIRED_BATCH dirty sessions. */
static void
hub_desired_run(struct hub *h)
{
	struct hub_sess *v[HUB_DESIRED_BATCH], *s;
	size_t n = 0;

	while (n < HUB_DESIRED_BATCH && (s = h->dirtyq.head) != NULL) {
		hub_list_remove(&h->dirtyq, s, HUB_DIRTYQ);
		if (s->close_code == 0 && s->authed)
			v[n++] = s;
	}
	hub_send_desired(h, v, n);
}

/*
 * One turn of queued work; the rest on the next loop turn, after the
 * sockets that are ready. Admissions and desired sets each have
 * HUB_WORK_MS of the turn, taken a batch at a time in alternation:
 * admitted nodes wait for their first real set (the daemon placed on
 * them) as much as queued agents wait for a welcome. With admissions
 * first and desired sets only once that queue was empty, a steady
 * stream of joins (10,000 agents ramping in on a loaded host) kept
 * every set but the first, empty ones waiting until the whole fleet
 * was in (join -> desired 36 s at the median); with one shared budget,
 * the admission batch used most of it and sets were built 64 a loop
 * turn, slower than the scheduler placed the daemons.
 */
static void
hub_work(lws_sorted_usec_list_t *sul)
{
	struct hub *h = lws_container_of(sul, struct hub, work);
	int64_t t, admit_us = 0, desired_us = 0;
	const int64_t budget = HUB_WORK_MS * 1000;

	h->work_armed = 0;
	for (;;) {
		int admit = h->admitq.head != NULL && admit_us < budget;
		int desired = h->dirtyq.head != NULL && desired_us < budget;

		if (!admit && !desired)
			break;
		if (admit) {
			t = util_mono_us();
			hub_admit_run(h);
			admit_us += util_mono_us() - t;
		}
		if (desired) {
			t = util_mono_us();
			hub_desired_run(h);
			desired_us += util_mono_us() - t;
		}
	}
	if (h->admitq.head != NULL || h->dirtyq.head != NULL)
		hub_work_arm(h);
}

void
hub_work_arm(struct hub *h)
{
	if (h->work_armed || h->stopping)
		return;
	h->work_armed = 1;
	lws_sul_schedule(h->ctx, 0, &h->work, hub_work, 1);
}

/* ---- grid settings -------------------------------------------------------- */

const struct hub_grid *
hub_grid_settings(struct hub *h, int64_t grid_id)
{
	struct grid_timings *t;
	size_t i, n;
	int64_t now = util_mono_ms();

	if (h->grids == NULL || now - h->grids_at > HUB_SETTINGS_MS) {
		/* On a store error the cache keeps what it had. */
		if (store_grid_timings(h->st, &t, &n) == 0) {
			h->grids = xreallocarray(h->grids, n + 1,
			    sizeof *h->grids);
			for (i = 0; i < n; i++) {
				h->grids[i].id = t[i].id;
				memcpy(h->grids[i].name, t[i].name,
				    sizeof h->grids[i].name);
				h->grids[i].heartbeat_ms =
				    t[i].heartbeat_interval_s * 1000;
				h->grids[i].offline_ms =
				    t[i].offline_after_s * 1000;
			}
			h->n_grids = n;
			free(t);
		} else
			log_error("hub: grid settings: %s",
			    store_errmsg(h->st));
		h->grids_at = now;
	}
	for (i = 0; i < h->n_grids; i++)
		if (h->grids[i].id == grid_id)
			return &h->grids[i];
	return &h->grid_default;
}

/* ---- frames from agents ------------------------------------------------- */

/* A state frame's job reports: record them, then tell who must know. */
static int
hub_state_jobs(struct hub *h, struct hub_sess *s, json_t *jobs, char **cause)
{
	int64_t *changed = NULL;
	size_t n = 0, i;
	int desired = 0;
	char *c;

	if (desired_apply_jobs(h->st, s->node_id, jobs, &changed, &n, &desired,
	    &c) != 0) {
		free(s->last_state);
		s->last_state = NULL;
		free(s->last_state_raw);
		s->last_state_raw = NULL;
		xasprintf(cause, "state.%s", c);
		free(c);
		return -1;
	}
	for (i = 0; i < n; i++)
		master_changed_job(h->m, changed[i]);
	free(changed);
	/* A job started or ended: its entry moves on (run -> started -> done). */
	if (desired)
		hub_mark_dirty(h, s, 0);
	return 0;
}

static void
hub_logs_reply(struct hub_sess *s, int64_t seq, int retry)
{
	hub_queue_json(s, retry ? json_pack("{s:s, s:I, s:b}", "type",
	    PROTO_T_LOGS_ACK, "seq", (json_int_t)seq, "retry", 1) :
	    json_pack("{s:s, s:I}", "type", PROTO_T_LOGS_ACK, "seq",
	    (json_int_t)seq));
}

/*
 * A "logs" frame: checked and copied into a batch here, written by the
 * log store's thread, acknowledged once written (hub_logs_ack()). A full
 * queue refuses it at once: the agent sends again from its last
 * acknowledged line.
 */
static int
hub_on_logs(struct hub *h, struct hub_sess *s, json_t *f, char **cause)
{
	struct log_batch *b;

	if (log_frame_parse(f, &b, cause) != 0)
		return -1;
	snprintf(b->node_id, sizeof b->node_id, "%s", s->node_id);
	snprintf(b->node_name, sizeof b->node_name, "%s", s->name);
	b->grid_id = s->grid_id;
	b->session = s->serial;
	if (h->m->logs == NULL) {
		log_batch_free(b);
		return 0;
	}
	if (logstore_submit(h->m->logs, b) == LOGSTORE_REFUSED)
		hub_logs_reply(s, json_integer_value(json_object_get(f, "seq")),
		    1);
	return 0;
}

/*
 * A state frame's word on the node's Docker Engine ("engine", checked by
 * frame_check()): recorded when it changed, and the scheduler told, since
 * a node without an engine takes no new instances. Returns 1 when the
 * engine is down: the frame then lists nothing the agent could see.
 */
static int
hub_engine(struct hub *h, struct hub_sess *s, json_t *f)
{
	const char *e = json_string_value(json_object_get(f, "engine"));
	const char *why = json_string_value(json_object_get(f,
	    "engine_error"));
	int down = e != NULL && strcmp(e, "down") == 0, rc;
	char esc[256];

	if (down && why == NULL)
		why = "the agent cannot reach its Docker Engine";
	if (s->engine == (down ? 2 : 1) && (!down ||
	    (s->engine_error != NULL && strcmp(s->engine_error, why) == 0)))
		return down;
	rc = store_node_engine(h->st, s->node_id, s->grid_id, s->name, down,
	    why);
	if (rc < 0) {
		log_error("hub: store: %s", store_errmsg(h->st));
		return down;
	}
	s->engine = down ? 2 : 1;
	free(s->engine_error);
	s->engine_error = down ? xstrdup(why) : NULL;
	if (rc == 1) {
		if (down)
			log_warn("hub: node %s: Docker Engine down: %s",
			    s->name, log_escape(esc, sizeof esc, why));
		else
			log_info("hub: node %s: Docker Engine answers",
			    s->name);
		master_changed_node(h->m, s->node_id);
	}
	return down;
}

/*
 * node_query: the agent found containers labelled with these node ids on
 * its engine. Answer what the master knows of each (docs/protocol.md):
 * the agent removes the containers of a node that is "gone" (removed
 * from this grid), and leaves every other node's alone.
 */
static void
hub_node_query(struct hub *h, struct hub_sess *s, json_t *f)
{
	json_t *ids = json_object_get(f, "node_ids"), *out, *v;
	const char *id, *st;
	size_t i;
	int rc;

	out = json_array();
	json_array_foreach(ids, i, v) {
		id = json_string_value(v);
		rc = store_node_status(h->st, s->grid_id, id);
		if (rc < 0) {
			log_error("hub: store: %s", store_errmsg(h->st));
			json_decref(out);
			return;		/* the agent asks again later */
		}
		st = rc == STORE_NODE_GONE ? PROTO_NODE_GONE :
		    rc == STORE_NODE_KNOWN ? PROTO_NODE_KNOWN : PROTO_NODE_UNKNOWN;
		json_array_append_new(out, json_pack("{s:s, s:s}", "id", id,
		    "status", st));
	}
	hub_queue_json(s, json_pack("{s:s, s:o}", "type", PROTO_T_NODE_STATUS,
	    "nodes", out));
}

static void
hub_on_frame(struct hub *h, struct hub_sess *s)
{
	json_error_t jerr;
	json_t *f, *v;
	enum frame_type type;
	char *cause = NULL, esc[160];
	int changed;

	/*
	 * Agents repeat their state report every few seconds; the same
	 * bytes as the last one recorded need no parsing and no write.
	 */
	if (s->last_state_raw != NULL && s->last_state != NULL &&
	    strlen(s->last_state_raw) == s->rx.len &&
	    memcmp(s->last_state_raw, s->rx.data, s->rx.len) == 0 &&
	    util_mono_ms() - s->last_desired_at < HUB_RESEND_MS)
		return;
	/* A container's log line may hold NULs (log_frame.c keeps them). */
	f = json_loadb(s->rx.data, s->rx.len, JSON_ALLOW_NUL, &jerr);
	if (f == NULL) {
		xasprintf(&cause, "malformed frame: %s", jerr.text);
		goto bad;
	}
	if (frame_check(f, &type, &cause) != 0)
		goto bad;
	if (type == FRAME_STATS) {
		s->cpu_pct = json_number_value(json_object_get(f, "cpu_pct"));
		v = json_object_get(f, "mem_used");
		s->mem_used = json_is_integer(v) ? json_integer_value(v) : -1;
		v = json_object_get(f, "mem_total");
		s->mem_total = json_is_integer(v) ? json_integer_value(v) : -1;
		v = json_object_get(f, "containers");
		s->containers = json_is_integer(v) ? json_integer_value(v) : -1;
		s->seen_dirty = 1;
		if (h->m->loads != NULL)	/* node show's last minutes */
			loadring_add(h->m->loads, s->node_id, util_now_ms(),
			    s->cpu_pct, s->mem_used, s->mem_total,
			    s->containers);
	} else if (type == FRAME_STATE) {
		if (hub_engine(h, s, f) != 0) {	/* engine down */
			/* The next report is not a repeat of the last one. */
			free(s->last_state_raw);
			s->last_state_raw = NULL;
			json_decref(f);
			return;
		}
		/* Agents repeat their report; only a change costs a write. */
		json_t *both = json_pack("[O, O?]", json_object_get(f,
		    "containers"), json_object_get(f, "jobs"));
		char *text = json_dumps(both, JSON_COMPACT | JSON_SORT_KEYS |
		    JSON_ENCODE_ANY);

		json_decref(both);

		if (text != NULL && s->last_state != NULL &&
		    strcmp(text, s->last_state) == 0 &&
		    util_mono_ms() - s->last_desired_at < HUB_RESEND_MS) {
			free(text);
			json_decref(f);
			return;
		}
		free(s->last_state);
		s->last_state = text;
		free(s->last_state_raw);
		s->last_state_raw = xmalloc(s->rx.len + 1);
		memcpy(s->last_state_raw, s->rx.data, s->rx.len);
		s->last_state_raw[s->rx.len] = '\0';
		if (desired_apply_state(h->st, s->node_id,
		    json_object_get(f, "containers"), &changed, &cause) != 0) {
			free(s->last_state);
			s->last_state = NULL;
			free(s->last_state_raw);
			s->last_state_raw = NULL;
			char *c2;

			xasprintf(&c2, "state.%s", cause);
			free(cause);
			cause = c2;
			goto bad;
		}
		if (changed) {
			master_changed_node(h->m, s->node_id);
			hub_network_touch(h);	/* names may have moved */
		}
		if (hub_state_jobs(h, s, json_object_get(f, "jobs"),
		    &cause) != 0)
			goto bad;
	} else if (type == FRAME_LOGS) {
		if (hub_on_logs(h, s, f, &cause) != 0)
			goto bad;
	} else if (type == FRAME_EXEC_STARTED || type == FRAME_EXEC_ACK ||
	    type == FRAME_EXEC_END) {
		hub_exec_from_agent(h, s, f, type);
	} else if (type == FRAME_NODE_QUERY) {
		hub_node_query(h, s, f);
	} else {
		int64_t gid;
		int rc, info_changed;

		/*
		 * A reconnecting agent's node_info is nearly always the
		 * stored one: then no write, no round and no network
		 * rebuild (the join's batch notified the scheduler).
		 */
		if ((info_changed = store_node_info(h->st, s->node_id,
		    f)) < 0)
			log_error("hub: store: %s", store_errmsg(h->st));
		/* A group's first node teaches it its template (the node's
		 * change below brings the round that reads it). */
		else if ((rc = store_nodegroup_learn(h->st, s->node_id,
		    &gid)) < 0)
			log_error("hub: store: %s", store_errmsg(h->st));
		else if (rc == 1) {
			log_info("hub: node %s taught its group its template",
			    s->name);
			info_changed = 1;
		}
		log_debug("hub: node %s: node_info%s", s->name,
		    info_changed > 0 ? ", changed" : "");
		if (info_changed != 0) {
			master_changed_node(h->m, s->node_id);
			hub_network_touch(h);	/* its peer address may be new */
		}
	}
	json_decref(f);
	return;
bad:
	log_warn("hub: node %s: %s", s->name, log_escape(esc, sizeof esc,
	    cause));
	hub_close(s, PROTO_CLOSE_BAD_FRAME, cause);
	free(cause);
	json_decref(f);
}

/* ---- session end, tick, inbox -------------------------------------------- */

static void
hub_mark_offline(struct hub *h, struct hub_sess *s, const char *why)
{
	if (!s->authed || s->offline_done || atomic_load(&h->stop))
		return;
	s->offline_done = 1;
	if (store_node_offline(h->st, s->node_id, s->grid_id, s->name,
	    why) != 0)
		log_error("hub: store: %s", store_errmsg(h->st));
	log_info("hub: node %s offline: %s", s->name, why);
	master_changed_node(h->m, s->node_id);
}

static void
hub_sess_end(struct hub *h, struct hub_sess *s)
{
	hub_exec_sess_end(h, s);	/* its exec sessions are lost */
	if (s->authed && hub_find(h, s->node_id) == s) {
		hub_unindex(h, s);
		atomic_fetch_sub(&h->n_connected, 1);
		hub_mark_offline(h, s, "connection closed");
	}
	logstore_session_end(h->m->logs, s->serial);
	if (s->admit.on) {
		hub_list_remove(&h->admitq, s, HUB_ADMITQ);
		hub_admitq_changed(h);
	}
	hub_list_remove(&h->dirtyq, s, HUB_DIRTYQ);
	hub_hello_free(s->hello);
	s->hello = NULL;
	hub_outq_clear(&s->outq);
	buf_free(&s->rx);
	free(s->last_desired);
	free(s->last_state);
	free(s->engine_error);
	free(s->last_state_raw);
	if (s->lprev != NULL)
		s->lprev->lnext = s->lnext;
	else if (h->all == s)
		h->all = s->lnext;
	if (s->lnext != NULL)
		s->lnext->lprev = s->lprev;
}

/*
 * Write the last-seen times and loads of up to max unsaved sessions in
 * one transaction: 1 when some were left for the next tick. The cap
 * bounds how long the loop and the write lock are held: all of them at
 * once, every 2 s, took 30-60 ms at 10,000 agents, and right after a
 * restart (10,000 sessions admitted in 3 s, all unsaved) a flush held
 * the admissions behind it (a loop stall of 1.2 s in one run).
 */
static int
hub_flush_seen(struct hub *h, size_t max)
{
	struct node_seen *v = NULL;
	struct hub_sess *s;
	size_t n = 0, cap = 0;
	int more = 0;

	for (s = h->all; s != NULL; s = s->lnext) {
		if (!s->authed || !s->seen_dirty || s->offline_done)
			continue;
		if (n == max) {
			more = 1;
			break;
		}
		if (n == cap) {
			cap = cap == 0 ? 256 : cap * 2;
			v = xreallocarray(v, cap, sizeof *v);
		}
		snprintf(v[n].id, sizeof v[n].id, "%s", s->node_id);
		v[n].at = s->seen_at;
		v[n].cpu_pct = s->cpu_pct;
		v[n].mem_used = s->mem_used;
		v[n].mem_total = s->mem_total;
		v[n].containers = s->containers;
		n++;
		s->seen_dirty = 0;
	}
	if (store_node_seen_batch(h->st, v, n) != 0)
		log_error("hub: last-seen batch: %s", store_errmsg(h->st));
	if (n > 0)
		master_nodes_touched(h->m);
	free(v);
	return more;
}

int
hub_unread(struct hub_sess *s)
{
	int n = 0;

	if (ioctl(lws_get_socket_fd(s->wsi), FIONREAD, &n) != 0)
		return 0;
	return n;
}

static void
hub_tick(lws_sorted_usec_list_t *sul)
{
	struct hub *h = lws_container_of(sul, struct hub, tick);
	const struct hub_grid *gs = NULL;
	struct hub_sess *s;
	int64_t raw = util_mono_ms(), now, late;
	char why[96];

	/* A late tick means a stalled loop: that time is nobody's silence. */
	late = h->tick_at != 0 ? raw - h->tick_at - HUB_TICK_MS : 0;
	if (late > HUB_LAG_MS) {
		h->lag += late;
		atomic_store(&h->lag_ms, h->lag);
		if (late >= 1000)
			log_warn("hub: the loop stalled for %lld ms (%zu "
			    "sessions waiting for admission)", (long long)late,
			    h->admitq.n);
	}
	h->tick_at = raw;
	now = hub_clock(h);
	for (s = h->all; s != NULL; s = s->lnext) {
		if (!s->authed || s->close_code != 0)
			continue;
		if (gs == NULL || gs->id != s->grid_id)
			gs = hub_grid_settings(h, s->grid_id);
		if (now - s->last_rx > gs->offline_ms) {
			if (hub_unread(s) > 0)
				continue;	/* it spoke; we are behind */
			snprintf(why, sizeof why, "no answer for %llds (ping "
			    "timeout)", (long long)(now - s->last_rx) / 1000);
			hub_mark_offline(h, s, why);
			hub_close(s, PROTO_CLOSE_PING_TIMEOUT, "ping timeout");
			continue;
		}
		/*
		 * Ping a session silent for a heartbeat. An agent's stats
		 * (every 5 s) already say it is there: pinging it anyway
		 * cost 4,000 frames a second at 10,000 agents.
		 */
		if (now - s->last_rx >= gs->heartbeat_ms &&
		    now - s->last_ping >= gs->heartbeat_ms) {
			s->ping_due = 1;
			s->last_ping = now;
			lws_callback_on_writable(s->wsi);
		}
		if (raw - s->last_desired_at >= HUB_RESEND_MS &&
		    !s->dirty.on)
			hub_mark_dirty(h, s, 1);
	}
	if (h->n_claims > 0 && h->led)
		hub_claim_tick(h, raw);
	/* Every 2 s, and on each tick after while some were left. */
	if (h->led && (h->seen_more ||
	    raw - h->seen_flushed >= HUB_SEEN_FLUSH_MS)) {
		if (!h->seen_more)
			h->seen_flushed = raw;
		h->seen_more = hub_flush_seen(h, HUB_SEEN_ROWS);
	}
	if (h->led)
		hub_network_tick(h, raw);
	lws_sul_schedule(h->ctx, 0, &h->tick, hub_tick,
	    HUB_TICK_MS * LWS_US_PER_MS);
}

/* The shutdown grace is over: leave the loop. */
static void
hub_final(lws_sorted_usec_list_t *sul)
{
	struct hub *h = lws_container_of(sul, struct hub, final);
	struct hub_sess *s;
	size_t sent = 0, all = 0;

	for (s = h->all; s != NULL; s = s->lnext, all++)
		sent += s->close_sent;
	if (sent < all && util_mono_ms() - h->stop_at < HUB_STOP_GRACE_MS) {
		/* Close frames still to write: look again soon. */
		lws_sul_schedule(h->ctx, 0, &h->final, hub_final,
		    20 * LWS_US_PER_MS);
		return;
	}
	log_info("hub: told %zu of %zu agents the master is going away",
	    sent, all);
	h->done = 1;
	if (h->loop != NULL)
		ev_break(h->loop, EVBREAK_ALL);
}

/*
 * Shutdown, on the ws thread: write the last-seen batch, tell every agent
 * the master is going away (1001) and leave the loop once every close
 * frame is written, or after HUB_STOP_GRACE_MS. The close frames are
 * written by hand and the sockets left to lws_context_destroy(): lws's own
 * close handshake keeps a timeout per socket in its sorted timer list,
 * which for ten thousand sockets at once took seconds.
 */
static void
hub_begin_stop(struct hub *h)
{
	struct hub_sess *s;

	h->stopping = 1;
	h->stop_at = util_mono_ms();
	hub_flush_seen(h, SIZE_MAX);
	for (s = h->all; s != NULL; s = s->lnext)
		hub_close(s, PROTO_CLOSE_SHUTDOWN, "master shutting down");
	lws_sul_schedule(h->ctx, 0, &h->final, hub_final,
	    h->all != NULL ? 20 * LWS_US_PER_MS : 1);
}

/*
 * A node removed while its agent is connected: say on the master, before
 * the close, what the agent will do (docs/agent.md, "Removed nodes").
 */
static void
hub_retire_event(struct hub *h, struct hub_sess *s)
{
	if (store_event_add(h->st, s->grid_id, "node.retire", s->name,
	    "node %s removed while its agent (from %s) is connected: closing "
	    "its session (4006); unless it is admitted again (with the grid "
	    "token) within its retire grace, the agent stops and removes the "
	    "node's containers", s->name, s->peer) != 0)
		log_error("hub: store: %s", store_errmsg(h->st));
}

/*
 * The watcher changed this master's role (ws thread). Deposed: every
 * session is closed with 4013 and nothing more of them is written (the
 * store is fenced anyway: docs/ha.md); the new leader marks the nodes
 * offline from its own start. Made leader: the grid timings are read
 * again; agents come as they reconnect.
 */
static void
hub_apply_role(struct hub *h)
{
	struct hub_sess *s;
	char why[sizeof s->close_why];
	size_t n = 0;

	h->led = atomic_load(&h->want_lead);
	h->grids_at = 0;
	if (h->led) {
		log_info("hub: leading: agents are admitted");
		return;
	}
	hub_leader_why(h, why, sizeof why);
	for (s = h->all; s != NULL; s = s->lnext) {
		s->offline_done = 1;
		s->seen_dirty = 0;
		if (s->close_code == 0)
			n++;
		hub_close(s, PROTO_CLOSE_NOT_LEADER, why);
	}
	log_info("hub: standing by: %zu agent session%s closed with %d (%s)",
	    n, n == 1 ? "" : "s", PROTO_CLOSE_NOT_LEADER, why);
}

static void
hub_drain(struct hub *h)
{
	struct hub_msg *msg, *next;
	struct hub_sess *s;

	if (atomic_load(&h->stop) && !h->stopping)
		hub_begin_stop(h);
	if (atomic_load(&h->want_lead) != h->led)
		hub_apply_role(h);

	pthread_mutex_lock(&h->lock);
	msg = h->inbox;
	h->inbox = h->inbox_tail = NULL;
	pthread_mutex_unlock(&h->lock);
	for (; msg != NULL; msg = next) {
		next = msg->next;
		s = hub_find(h, msg->node_id);
		if (msg->type == HUB_MSG_EXEC) {
			/* Answered even when the node is not connected. */
			hub_exec_to_agent(h, s != NULL && s->close_code == 0 ?
			    s : NULL, msg);
			free(msg->data);
			free(msg);
			continue;
		}
		if (s != NULL && s->close_code == 0) {
			if (msg->type == HUB_MSG_LOGS_ACK) {
				if (s->serial == msg->session)
					hub_logs_reply(s, msg->seq, msg->code);
			} else if (msg->type == HUB_MSG_CHANGED) {
				/*
				 * A round that placed ten things on a node
				 * posts ten of these: its set is rebuilt
				 * once (the dirty queue holds it once).
				 */
				hub_mark_dirty(h, s, 0);
			} else {
				if (msg->code == PROTO_CLOSE_NODE_REMOVED)
					hub_retire_event(h, s);
				hub_mark_offline(h, s, msg->code ==
				    PROTO_CLOSE_NODE_REMOVED ? "node removed" :
				    "node token reset");
				hub_close(s, msg->code, msg->code ==
				    PROTO_CLOSE_NODE_REMOVED ? "node removed" :
				    "node token reset");
			}
		}
		free(msg);
	}
}

static void
hub_post_msg(struct hub *h, struct hub_msg *msg)
{
	pthread_mutex_lock(&h->lock);
	if (h->inbox_tail != NULL)
		h->inbox_tail->next = msg;
	else
		h->inbox = msg;
	h->inbox_tail = msg;
	pthread_mutex_unlock(&h->lock);
	lws_cancel_service(h->ctx);
}

static void
hub_post(struct hub *h, enum hub_msg_type type, const char *node_id, int code)
{
	struct hub_msg *msg = xcalloc(1, sizeof *msg);

	msg->type = type;
	msg->code = code;
	snprintf(msg->node_id, sizeof msg->node_id, "%s", node_id);
	hub_post_msg(h, msg);
}

void
hub_logs_ack(struct hub *h, const char *node_id, uint64_t session,
    int64_t seq, int retry)
{
	struct hub_msg *msg = xcalloc(1, sizeof *msg);

	msg->type = HUB_MSG_LOGS_ACK;
	msg->code = retry;
	msg->session = session;
	msg->seq = seq;
	snprintf(msg->node_id, sizeof msg->node_id, "%s", node_id);
	hub_post_msg(h, msg);
}

void
hub_exec_send(struct hub *h, const char *node_id, uint32_t id,
    enum hub_exec_op op, const void *data, size_t len, int64_t num)
{
	struct hub_msg *msg = xcalloc(1, sizeof *msg);

	msg->type = HUB_MSG_EXEC;
	msg->exec_op = op;
	msg->exec_id = id;
	msg->num = num;
	if (len > 0) {
		msg->data = xmalloc(len);
		memcpy(msg->data, data, len);
		msg->len = len;
	}
	snprintf(msg->node_id, sizeof msg->node_id, "%s", node_id);
	pthread_mutex_lock(&h->lock);
	if (h->inbox_tail != NULL)
		h->inbox_tail->next = msg;
	else
		h->inbox = msg;
	h->inbox_tail = msg;
	pthread_mutex_unlock(&h->lock);
	lws_cancel_service(h->ctx);
}

void
hub_leader_why(struct hub *h, char *out, size_t len)
{
	pthread_mutex_lock(&h->lock);
	snprintf(out, len, "%s", h->leader_why);
	pthread_mutex_unlock(&h->lock);
}

void
hub_set_leader(struct hub *h, int lead, const char *url)
{
	if (h == NULL)
		return;
	pthread_mutex_lock(&h->lock);
	if (url != NULL && *url != '\0' && strlen(url) + 20 <
	    sizeof h->leader_why)
		snprintf(h->leader_why, sizeof h->leader_why,
		    "standby; " PROTO_LEADER_AT "%s", url);
	else
		snprintf(h->leader_why, sizeof h->leader_why,
		    "standby; no leader known");
	pthread_mutex_unlock(&h->lock);
	if (atomic_exchange(&h->want_lead, lead ? 1 : 0) != (lead ? 1 : 0))
		lws_cancel_service(h->ctx);
}

void
hub_node_changed(struct hub *h, const char *node_id)
{
	hub_post(h, HUB_MSG_CHANGED, node_id, 0);
}

void
hub_kick(struct hub *h, const char *node_id, int close_code)
{
	hub_post(h, HUB_MSG_KICK, node_id, close_code);
}

int
hub_connected(struct hub *h)
{
	return atomic_load(&h->n_connected);
}

/* ---- the lws callback ---------------------------------------------------- */

/* The connection's peer has closed or reset it already. */
static int
hub_peer_gone(struct lws *wsi)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	int fd = (int)lws_get_socket_fd(wsi);

	return fd >= 0 && getpeername(fd, (struct sockaddr *)&ss, &sl) != 0 &&
	    errno == ENOTCONN;
}

static int
hub_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	struct lws_context *ctx = lws_get_context(wsi);
	struct hub *h = lws_context_user(ctx);
	struct hub_sess *s = user;
	struct hub_out *o;
	int n;

	switch (reason) {
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		hub_drain(h);
		break;
	case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
		return hub_pending_refuse(h, user);
	case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED:
		hub_pending_add(h, wsi);
		break;
	case LWS_CALLBACK_WSI_DESTROY:
		hub_pending_done(wsi);
		break;
	case LWS_CALLBACK_ESTABLISHED:
		hub_pending_done(wsi);
		/*
		 * A peer that is gone already (an attempt the agent gave up
		 * while the master could not answer, still in the listen
		 * queue) is not admitted: its join would only be an offline
		 * a moment later, and would take the node from its live
		 * session.
		 */
		if (hub_peer_gone(wsi))
			return -1;
		s->h = h;
		s->wsi = wsi;
		s->serial = ++h->serials;
		s->last_rx = s->last_ping = hub_clock(h);
		s->seen_at = util_now_ms();
		s->cpu_pct = -1;
		s->mem_used = -1;
		s->mem_total = -1;
		s->containers = -1;
		lws_get_peer_simple(wsi, s->peer, sizeof s->peer);
		s->lnext = h->all;
		if (h->all != NULL)
			h->all->lprev = s;
		h->all = s;
		hub_admit_begin(h, s);
		break;
	case LWS_CALLBACK_RECEIVE:
		if (s->close_code != 0 || !s->authed)
			break;
		s->last_rx = hub_clock(h);
		s->seen_at = util_now_ms();
		s->seen_dirty = 1;
		if (s->probe_at != 0)
			hub_claim_holder_alive(h, s);
		if (s->rx.len + len > PROTO_MAX_FRAME) {
			hub_close(s, PROTO_CLOSE_BAD_FRAME, "frame too large");
			buf_free(&s->rx);
			break;
		}
		if (s->rx.len == 0)
			s->rx_binary = lws_frame_is_binary(wsi);
		buf_append(&s->rx, in, len);
		if (lws_is_final_fragment(wsi) &&
		    lws_remaining_packet_payload(wsi) == 0) {
			if (s->rx_binary)	/* exec data */
				hub_exec_data_from_agent(h, s,
				    (unsigned char *)s->rx.data, s->rx.len);
			else
				hub_on_frame(h, s);
			buf_free(&s->rx);
		}
		break;
	case LWS_CALLBACK_RECEIVE_PONG:
		s->last_rx = hub_clock(h);
		s->seen_at = util_now_ms();
		s->seen_dirty = 1;
		if (s->probe_at != 0)	/* a second claimant waits on this */
			hub_claim_holder_alive(h, s);
		break;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (s->close_code != 0 && h->stopping) {
			/*
			 * Shutdown: the close frame by hand, then nothing
			 * more read or written; lws_context_destroy() ends
			 * the socket (see hub_begin_stop()).
			 */
			unsigned char cf[LWS_PRE + 2 + sizeof s->close_why];
			size_t wlen = strlen(s->close_why);

			if (s->close_sent)
				break;
			cf[LWS_PRE] = (unsigned char)(s->close_code >> 8);
			cf[LWS_PRE + 1] = (unsigned char)s->close_code;
			memcpy(cf + LWS_PRE + 2, s->close_why, wlen);
			s->close_sent = 1;
			lws_rx_flow_control(wsi, 0);
			if (lws_write(wsi, cf + LWS_PRE, 2 + wlen,
			    HUB_WRITE_CLOSE) < 0)
				return -1;
			break;
		}
		if (s->close_code != 0) {
			lws_close_reason(wsi, (enum lws_close_status)s->close_code,
			    (unsigned char *)s->close_why, strlen(s->close_why));
			return -1;
		}
		if (s->ping_due) {
			/*
			 * A ping with a payload: lws delivers RECEIVE_PONG
			 * only for pongs that carry one.
			 */
			unsigned char ping[LWS_PRE + 8];

			memcpy(ping + LWS_PRE, "berth-hb", 8);
			s->ping_due = 0;
			if (lws_write(wsi, ping + LWS_PRE, 8, LWS_WRITE_PING) < 0)
				return -1;
		} else if ((o = s->outq.head) != NULL) {
			n = lws_write(wsi, HUB_OUT_PAYLOAD(o), o->len,
			    o->kind == HUB_OUT_BINARY ? LWS_WRITE_BINARY :
			    LWS_WRITE_TEXT);
			hub_outq_pop(&s->outq);
			if (n < 0)
				return -1;
		}
		if (s->outq.head != NULL || s->ping_due)
			lws_callback_on_writable(wsi);
		break;
	case LWS_CALLBACK_CLOSED:
		hub_claim_ended(h, s);
		hub_sess_end(h, s);
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols hub_protocols[] = {
	{ PROTO_WS_PROTOCOL, hub_callback, sizeof(struct hub_sess), 65536,
	  0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

/*
 * hub_tick() does liveness itself; a policy without lws's own validity
 * ping and hangup keeps lws from re-sorting a timer on every pong (its
 * timer list is linear: 37% of idle CPU at 10,000 agents).
 */
static const lws_retry_bo_t hub_idle_policy = {
	.secs_since_valid_ping = 0,
	.secs_since_valid_hangup = 0,
};

static void
hub_lws_log(int level, const char *line)
{
	char buf[256];
	size_t n;

	snprintf(buf, sizeof buf, "%s", line);
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	if (level & LLL_ERR)
		log_warn("hub: lws: %s", buf);
	else
		log_debug("hub: lws: %s", buf);
}

static void *
hub_main(void *arg)
{
	struct hub *h = arg;

	h->st = master_store(h->m);
	h->dcache = desired_cache_new();
	/*
	 * Joins, liveness and state reports are re-sent by every agent when
	 * it reconnects: no fsync per join on the thread every agent waits on.
	 */
	store_set_sync_normal(h->st);
	store_set_mmap(h->st);
	/* A clustered master's watcher does this when it takes the lead. */
	if (h->m->cluster == NULL &&
	    store_node_reset_connected(h->st) != 0)
		log_error("hub: store: %s", store_errmsg(h->st));
	h->tick_at = util_mono_ms();
	lws_sul_schedule(h->ctx, 0, &h->tick, hub_tick,
	    HUB_TICK_MS * LWS_US_PER_MS);
	if (h->loop != NULL)
		ev_run(h->loop, 0);	/* until hub_final() */
	else {
		while (!h->done)
			if (lws_service(h->ctx, 0) < 0)
				break;
	}
	return NULL;
}

struct hub *
hub_start(struct master *m, char **cause)
{
	struct lws_context_creation_info info;
	struct grid_settings gs;
	struct hub *h;
	char *host = NULL;
	int port;

	if (config_split_listen(m->cfg.agent_listen, &host, &port, cause) != 0)
		return NULL;
	lws_set_log_level(LLL_ERR | LLL_WARN, hub_lws_log);
	h = xcalloc(1, sizeof *h);
	h->m = m;
	grid_settings_default(&gs);
	h->grid_default.heartbeat_ms = gs.heartbeat_interval_s * 1000;
	h->grid_default.offline_ms = gs.offline_after_s * 1000;
	h->generation = (uint64_t)util_now_ms();
	/* A single master leads; a clustered one waits for its watcher. */
	h->led = m->cluster == NULL;
	atomic_init(&h->want_lead, h->led);
	snprintf(h->leader_why, sizeof h->leader_why,
	    "standby; no leader known");
	util_random(&h->rnd, sizeof h->rnd);
	h->rnd |= 1;
	pthread_mutex_init(&h->lock, NULL);

	memset(&info, 0, sizeof info);
	info.port = port;
	info.iface = (host[0] == '\0' || strcmp(host, "0.0.0.0") == 0) ? NULL :
	    host;
	info.protocols = hub_protocols;
	info.user = h;
	info.options = LWS_SERVER_OPTION_VALIDATE_UTF8 |
	    LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS;
	if (m->tls.on) {	/* wss: the same pair the API serves */
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.ssl_cert_filepath = m->tls.cert_file;
		info.ssl_private_key_filepath = m->tls.key_file;
	}
	info.retry_and_idle_policy = &hub_idle_policy;
	info.timeout_secs = 10;
	info.ka_time = 60;
	info.ka_probes = 3;
	info.ka_interval = 10;
	/*
	 * An epoll loop (libev), so that a wake-up costs the sockets that
	 * are ready, not a poll() over all of them: at 10,000 agents poll()
	 * was half the hub's idle CPU. Without lws's libev plugin, poll.
	 */
	h->loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOENV);
	if (h->loop != NULL) {
		h->foreign[0] = h->loop;
		info.foreign_loops = h->foreign;
		info.options |= LWS_SERVER_OPTION_LIBEV;
		h->ctx = lws_create_context(&info);
		if (h->ctx == NULL) {
			/* lws says no more: a missing plugin or, as
			 * often, a taken port (the poll() try then fails
			 * too, with the error that names it). */
			log_warn("hub: no libev event loop (the package "
			    "libwebsockets-evlib-ev, or the agent port in "
			    "use?); trying poll()");
			ev_loop_destroy(h->loop);
			h->loop = NULL;
		}
	}
	if (h->loop == NULL) {
		info.foreign_loops = NULL;
		info.options &= ~(uint64_t)LWS_SERVER_OPTION_LIBEV;
		h->ctx = lws_create_context(&info);
	}
	free(host);
	if (h->ctx == NULL) {
		xasprintf(cause, "cannot listen for agents on %s (address in "
		    "use?)", m->cfg.agent_listen);
		pthread_mutex_destroy(&h->lock);
		free(h);
		return NULL;
	}
	if (pthread_create(&h->thread, NULL, hub_main, h) != 0)
		fatalx("hub: cannot start its thread");
	return h;
}

/*
 * A context left to the process's exit (hub_stop()): reachable from here,
 * so leak checkers do not count it.
 */
static struct {
	struct lws_context	*ctx;
	struct ev_loop		*loop;
} hub_left;

void
hub_stop(struct hub *h)
{
	struct hub_msg *msg;
	struct hub_sess *s;
	int sockets;

	if (h == NULL)
		return;
	atomic_store(&h->stop, 1);
	lws_cancel_service(h->ctx);
	pthread_join(h->thread, NULL);
	/*
	 * lws 4.1 makes sure, at each socket's close, that no slot of its
	 * fd table still holds the fd: a walk over the table that reads
	 * every live connection, so closing N sockets at once costs N^2/2
	 * reads. With 10,000 agents that was 1.2 s of a quiet master's
	 * stop and 5 to 13 s of a busy one's (46 % of its samples in that
	 * walk). Every agent has had its 1001 by now, and the master exits
	 * next: with many sockets the kernel closes them at the exit.
	 */
	sockets = 0;
	for (s = h->all; s != NULL; s = s->lnext)
		sockets++;
	if (sockets < HUB_STOP_DESTROY_MAX) {
		lws_context_destroy(h->ctx);
		if (h->loop != NULL)
			ev_loop_destroy(h->loop);
	} else {
		log_info("hub: %d agent sockets left for the exit to close",
		    sockets);
		hub_left.ctx = h->ctx;
		hub_left.loop = h->loop;
	}
	while ((msg = h->inbox) != NULL) {
		h->inbox = msg->next;
		free(msg->data);
		free(msg);
	}
	pthread_mutex_destroy(&h->lock);
	desired_cache_free(h->dcache);
	hub_network_free(h);
	free(h->grids);
	free(h);
}
