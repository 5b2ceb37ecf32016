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
 * times and loads of all sessions in one transaction.
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
#include <sys/socket.h>
#include <netinet/in.h>

#include <ev.h>
#include <libwebsockets.h>
#include <openssl/crypto.h>

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
	/* A peer that stopped reading must not hold the socket open. */
	lws_set_timeout(s->wsi, PENDING_TIMEOUT_CLOSE_SEND, 5);
}

/*
 * Queue the node's desired set if it differs from the last one queued (or
 * always, with force). That one is what the agent has or is about to get:
 * a desired frame not yet written is replaced by the newer (hub_outq.h),
 * so last_desired always names the set the agent converges to.
 */
void
hub_send_desired(struct hub *h, struct hub_sess *s, int force)
{
	json_t *arr = desired_build(h->st, h->m->key, s->node_id), *f;
	char *text, *frame;

	if (arr == NULL) {
		log_error("hub: desired set of %s: %s", s->name,
		    store_errmsg(h->st));
		return;
	}
	text = json_dumps(arr, JSON_COMPACT | JSON_SORT_KEYS);
	if (!force && s->last_desired != NULL &&
	    strcmp(s->last_desired, text) == 0) {
		free(text);
		json_decref(arr);
		return;
	}
	free(s->last_desired);
	s->last_desired = text;
	s->last_desired_at = util_mono_ms();
	free(s->last_state);		/* rows changed: record the next report */
	s->last_state = NULL;
	f = json_pack("{s:s, s:I}", "type", PROTO_T_DESIRED,
	    "generation", (json_int_t)++h->generation);
	json_object_update(f, arr);	/* containers, jobs, jobs_done */
	json_decref(arr);
	frame = json_dumps(f, JSON_COMPACT);
	if (frame != NULL)
		hub_queue(s, HUB_OUT_DESIRED, frame);
	free(frame);
	json_decref(f);
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
		xasprintf(cause, "state.%s", c);
		free(c);
		return -1;
	}
	for (i = 0; i < n; i++)
		master_changed_job(h->m, changed[i]);
	free(changed);
	/* A job started or ended: its entry moves on (run -> started -> done). */
	if (desired)
		hub_send_desired(h, s, 0);
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
		if (desired_apply_state(h->st, s->node_id,
		    json_object_get(f, "containers"), &changed, &cause) != 0) {
			free(s->last_state);
			s->last_state = NULL;
			char *c2;

			xasprintf(&c2, "state.%s", cause);
			free(cause);
			cause = c2;
			goto bad;
		}
		if (changed)
			master_changed_node(h->m, s->node_id);
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
		if (store_node_info(h->st, s->node_id, f) != 0)
			log_error("hub: store: %s", store_errmsg(h->st));
		master_changed_node(h->m, s->node_id);
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
	hub_outq_clear(&s->outq);
	buf_free(&s->rx);
	free(s->last_desired);
	free(s->last_state);
	free(s->engine_error);
	if (s->lprev != NULL)
		s->lprev->lnext = s->lnext;
	else if (h->all == s)
		h->all = s->lnext;
	if (s->lnext != NULL)
		s->lnext->lprev = s->lprev;
}

static void
hub_flush_seen(struct hub *h)
{
	struct node_seen *v = NULL;
	struct hub_sess *s;
	size_t n = 0;

	for (s = h->all; s != NULL; s = s->lnext) {
		if (!s->authed || !s->seen_dirty || s->offline_done)
			continue;
		v = xreallocarray(v, n + 1, sizeof *v);
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
}

static void
hub_tick(lws_sorted_usec_list_t *sul)
{
	struct hub *h = lws_container_of(sul, struct hub, tick);
	const struct hub_grid *gs;
	struct hub_sess *s;
	int64_t now = util_mono_ms();
	char why[96];

	for (s = h->all; s != NULL; s = s->lnext) {
		if (!s->authed || s->close_code != 0)
			continue;
		gs = hub_grid_settings(h, s->grid_id);
		if (now - s->last_rx > gs->offline_ms) {
			snprintf(why, sizeof why, "no answer for %llds (ping "
			    "timeout)", (long long)(now - s->last_rx) / 1000);
			hub_mark_offline(h, s, why);
			hub_close(s, PROTO_CLOSE_PING_TIMEOUT, "ping timeout");
			continue;
		}
		if (now - s->last_ping >= gs->heartbeat_ms) {
			s->ping_due = 1;
			s->last_ping = now;
			lws_callback_on_writable(s->wsi);
		}
		if (now - s->last_desired_at >= HUB_RESEND_MS)
			hub_send_desired(h, s, 1);
	}
	if (h->n_claims > 0)
		hub_claim_tick(h, now);
	if (now - h->seen_flushed >= HUB_SEEN_FLUSH_MS) {
		hub_flush_seen(h);
		h->seen_flushed = now;
	}
	lws_sul_schedule(h->ctx, 0, &h->tick, hub_tick, LWS_US_PER_SEC / 4);
}

/* The shutdown grace is over: leave the loop. */
static void
hub_final(lws_sorted_usec_list_t *sul)
{
	struct hub *h = lws_container_of(sul, struct hub, final);

	h->done = 1;
	if (h->loop != NULL)
		ev_break(h->loop, EVBREAK_ALL);
}

/*
 * Shutdown, on the ws thread: write the last-seen batch, tell every agent
 * the master is going away (1001) and leave the loop half a second later,
 * or as soon as every session has closed.
 */
static void
hub_begin_stop(struct hub *h)
{
	struct hub_sess *s;

	h->stopping = 1;
	hub_flush_seen(h);
	for (s = h->all; s != NULL; s = s->lnext)
		hub_close(s, PROTO_CLOSE_SHUTDOWN, "master shutting down");
	lws_sul_schedule(h->ctx, 0, &h->final, hub_final,
	    h->all != NULL ? LWS_US_PER_SEC / 2 : 1);
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

static void
hub_drain(struct hub *h)
{
	struct hub_msg *msg, *next;
	struct hub_sess *s, **due = NULL;
	size_t ndue = 0, i;

	if (atomic_load(&h->stop) && !h->stopping)
		hub_begin_stop(h);

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
				 * posts ten of these: build its set once.
				 */
				if (!s->desired_due) {
					s->desired_due = 1;
					due = xreallocarray(due, ndue + 1,
					    sizeof *due);
					due[ndue++] = s;
				}
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
	for (i = 0; i < ndue; i++) {
		due[i]->desired_due = 0;
		if (due[i]->close_code == 0)
			hub_send_desired(h, due[i], 0);
	}
	free(due);
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
		s->last_rx = s->last_ping = util_mono_ms();
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
		hub_admit(h, s);
		break;
	case LWS_CALLBACK_RECEIVE:
		if (s->close_code != 0 || !s->authed)
			break;
		s->last_rx = util_mono_ms();
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
		s->last_rx = util_mono_ms();
		s->seen_at = util_now_ms();
		s->seen_dirty = 1;
		if (s->probe_at != 0)	/* a second claimant waits on this */
			hub_claim_holder_alive(h, s);
		break;
	case LWS_CALLBACK_SERVER_WRITEABLE:
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
	/*
	 * Joins, liveness and state reports are re-sent by every agent when
	 * it reconnects: no fsync per join on the thread every agent waits on.
	 */
	store_set_sync_normal(h->st);
	if (store_node_reset_connected(h->st) != 0)
		log_error("hub: store: %s", store_errmsg(h->st));
	lws_sul_schedule(h->ctx, 0, &h->tick, hub_tick, LWS_US_PER_SEC / 4);
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
			log_warn("hub: no libev event loop (package "
			    "libwebsockets-evlib-ev?); using poll()");
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

void
hub_stop(struct hub *h)
{
	struct hub_msg *msg;

	if (h == NULL)
		return;
	atomic_store(&h->stop, 1);
	lws_cancel_service(h->ctx);
	pthread_join(h->thread, NULL);
	lws_context_destroy(h->ctx);
	if (h->loop != NULL)
		ev_loop_destroy(h->loop);
	while ((msg = h->inbox) != NULL) {
		h->inbox = msg->next;
		free(msg->data);
		free(msg);
	}
	pthread_mutex_destroy(&h->lock);
	free(h->grids);
	free(h);
}
