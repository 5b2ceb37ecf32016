/*
 * hub_admit.c - admission to the agent hub: who may open a session.
 *
 * Runs on the ws thread. A new connection is first counted against its
 * address (at most HUB_PENDING_MAX upgrades pending per address), then its
 * upgrade headers and token are checked: a node token bound to the node
 * id, or the grid token for a first join (which mints a node token). A
 * refusal closes with the typed code of docs/protocol.md, counts against
 * the peer's failure window (HUB_FAIL_MAX per minute, then 4009) and
 * writes nothing to the store. Tokens are wiped from the stack after use
 * and never logged.
 */
#include "master/hub_int.h"
#include "master/hub_claim.h"
#include "master/hub_frame.h"

#include "common/log.h"
#include "common/proto.h"
#include "common/util.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include <openssl/crypto.h>

/* ---- authentication --------------------------------------------------- */

static struct hub_fail *
hub_fail_slot(struct hub *h, const char *peer, int create)
{
	struct hub_fail *f, *oldest = &h->fails[0];
	size_t i;

	for (i = 0; i < HUB_FAIL_SLOTS; i++) {
		f = &h->fails[i];
		if (strcmp(f->peer, peer) == 0)
			return f;
		if (f->window_start < oldest->window_start)
			oldest = f;
	}
	if (!create)
		return NULL;
	snprintf(oldest->peer, sizeof oldest->peer, "%s", peer);
	oldest->count = 0;
	oldest->window_start = util_mono_ms();
	return oldest;
}

static int
hub_rate_limited(struct hub *h, const char *peer)
{
	struct hub_fail *f = hub_fail_slot(h, peer, 0);

	if (f == NULL)
		return 0;
	if (util_mono_ms() - f->window_start > HUB_FAIL_WINDOW_MS) {
		f->count = 0;
		f->window_start = util_mono_ms();
	}
	return f->count >= HUB_FAIL_MAX;
}

/*
 * Refuse s: count the failure against its peer and close with code. A
 * stale node token (4002) is not counted: after a reset or a lost store
 * every agent's first attempt is one, and it then rejoins with the grid
 * token; a 256-bit token is not guessed by retrying.
 */
static void
hub_refuse(struct hub *h, struct hub_sess *s, int code, const char *why)
{
	struct hub_fail *f;
	char esc[128];

	if (code != PROTO_CLOSE_BAD_NODE_TOKEN) {
		f = hub_fail_slot(h, s->peer, 1);
		if (util_mono_ms() - f->window_start > HUB_FAIL_WINDOW_MS) {
			f->count = 0;
			f->window_start = util_mono_ms();
		}
		f->count++;
	}
	log_info("hub: refused agent from %s: %d %s", s->peer, code,
	    log_escape(esc, sizeof esc, why));
	hub_close(s, code, why);
}

/* ---- connections not yet upgraded ---------------------------------------- */

/* The address of ss as 16 bytes (IPv4 mapped into IPv6); -1 if neither. */
static int
hub_addr_key(const struct sockaddr_storage *ss, unsigned char key[16])
{
	const struct sockaddr_in *v4 = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)ss;

	if (ss->ss_family == AF_INET6) {
		memcpy(key, &v6->sin6_addr, 16);
		return 0;
	}
	if (ss->ss_family != AF_INET)
		return -1;
	memset(key, 0, 10);
	key[10] = key[11] = 0xff;
	memcpy(key + 12, &v4->sin_addr, 4);
	return 0;
}

static struct hub_pending *
hub_pending_find(struct hub *h, const unsigned char key[16], int create)
{
	struct hub_pending *p, *free_slot = NULL;
	size_t i;

	for (i = 0; i < HUB_PENDING_SLOTS; i++) {
		p = &h->pending[i];
		if (p->n > 0 && memcmp(p->addr, key, 16) == 0)
			return p;
		if (p->n == 0 && free_slot == NULL)
			free_slot = p;
	}
	if (!create || free_slot == NULL)
		return NULL;	/* over 1024 addresses at once: not capped */
	memcpy(free_slot->addr, key, 16);
	return free_slot;
}

/* On accept, before lws makes a wsi: 1 refuses the connection. */
int
hub_pending_refuse(struct hub *h, const struct lws_filter_network_conn_args *a)
{
	struct hub_pending *p;
	unsigned char key[16];
	int64_t now;

	if (hub_addr_key(&a->cli_addr, key) != 0 ||
	    (p = hub_pending_find(h, key, 0)) == NULL ||
	    p->n < HUB_PENDING_MAX)
		return 0;
	now = util_mono_ms();
	if (now - h->capped_logged >= 10000) {	/* a flood: one line per 10 s */
		h->capped_logged = now;
		log_warn("hub: refusing connections from an address with %d "
		    "upgrades pending", p->n);
	}
	return 1;
}

/* A new connection: count it against its address until it is upgraded. */
void
hub_pending_add(struct hub *h, struct lws *wsi)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	struct hub_pending *p;
	unsigned char key[16];

	if (getpeername(lws_get_socket_fd(wsi), (struct sockaddr *)&ss,
	    &sl) != 0 || hub_addr_key(&ss, key) != 0 ||
	    (p = hub_pending_find(h, key, 1)) == NULL)
		return;
	p->n++;
	lws_set_opaque_user_data(wsi, p);
}

/* Upgraded or gone: it no longer counts. */
void
hub_pending_done(struct lws *wsi)
{
	struct hub_pending *p = lws_get_opaque_user_data(wsi);

	if (p == NULL)
		return;
	p->n--;
	lws_set_opaque_user_data(wsi, NULL);
}

/* Copy custom header name into buf; 0 if present and fits, else -1. */
static int
hub_header(struct lws *wsi, const char *name, char *buf, size_t len)
{
	int n = lws_hdr_custom_length(wsi, name, (int)strlen(name));

	if (n <= 0 || (size_t)n >= len)
		return -1;
	if (lws_hdr_custom_copy(wsi, buf, (int)len, name,
	    (int)strlen(name)) < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

static int
hub_node_id_valid(const char *id)
{
	size_t i;

	for (i = 0; id[i] != '\0'; i++)
		if (!((id[i] >= '0' && id[i] <= '9') ||
		    (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	return i == PROTO_NODE_ID_LEN;
}

/* Berth-Agent-Instance and -Attempt into s (optional; bad ones refused). */
static int
hub_instance_headers(struct hub_sess *s)
{
	char inst[PROTO_INSTANCE_LEN + 8], att[24], *end;
	long n;

	s->instance[0] = '\0';
	s->attempt = 0;
	if (hub_header(s->wsi, PROTO_HDR_INSTANCE, inst, sizeof inst) != 0)
		return lws_hdr_custom_length(s->wsi, PROTO_HDR_INSTANCE,
		    (int)strlen(PROTO_HDR_INSTANCE)) > 0 ? -1 : 0;
	if (!hub_node_id_valid(inst))	/* the same form: 32 hex */
		return -1;
	if (hub_header(s->wsi, PROTO_HDR_ATTEMPT, att, sizeof att) != 0)
		return -1;
	n = strtol(att, &end, 10);
	if (end == att || *end != '\0' || n < 1 || n > 1000000000L)
		return -1;
	memcpy(s->instance, inst, PROTO_INSTANCE_LEN + 1);
	s->attempt = n;
	return 0;
}

/*
 * The labels of a group's node: the agent's (*labels, JSON) with the
 * group's put over them, ephemeral=true and berth.group=<name> always. At
 * every join, not only the first: a reconnecting agent reports only its
 * own labels, and the node must keep its group's.
 */
static void
hub_group_labels(const struct machine_claim *claim, char **labels)
{
	json_t *agent, *group, *out, *v;
	char forced[2][96];
	size_t i, k;

	agent = json_loads(*labels, 0, NULL);
	group = json_loads(claim->labels, 0, NULL);
	out = json_array();
	snprintf(forced[0], sizeof forced[0], "ephemeral=true");
	snprintf(forced[1], sizeof forced[1], "berth.group=%s", claim->group);
	for (k = 0; k < 2; k++)
		json_array_append_new(out, json_string(forced[k]));
	json_array_foreach(group, i, v) {
		if (!json_is_string(v))
			continue;
		for (k = 0; k < 2; k++)
			if (util_label_same_key(json_string_value(v),
			    forced[k]))
				break;
		if (k == 2)
			json_array_append(out, v);
	}
	json_array_foreach(agent, i, v) {
		size_t j;
		json_t *w;
		int dup = 0;

		json_array_foreach(out, j, w)
			if (util_label_same_key(json_string_value(v),
			    json_string_value(w)))
				dup = 1;
		if (!dup)
			json_array_append(out, v);
	}
	free(*labels);
	*labels = json_dumps(out, JSON_COMPACT);
	json_decref(agent);
	json_decref(group);
	json_decref(out);
}

void
hub_admit_join(struct hub *h, struct hub_sess *s, const struct hub_join *jn)
{
	char got_name[64];
	struct node_join j;
	struct hub_sess *old;
	struct grid g;
	json_t *welcome;
	int rc;

	memset(&j, 0, sizeof j);
	j.id = jn->id;
	j.grid_id = jn->grid_id;
	j.name = jn->name;
	j.labels = jn->labels;
	j.agent_version = jn->version;
	j.token_hash = jn->minted ? jn->hash : NULL;
	j.peer = s->peer;
	j.machine_id = jn->machine_id;
	j.join_hash = jn->join_hash;
	if ((rc = store_node_join(h->st, &j, got_name)) < 0) {
		log_error("hub: store: %s", store_errmsg(h->st));
		hub_close(s, PROTO_CLOSE_SHUTDOWN, "master store error; retry");
		return;
	}
	if (rc == 1) {
		/* A machine's join token spent meanwhile: nothing written. */
		hub_refuse(h, s, PROTO_CLOSE_BAD_GRID_TOKEN,
		    "invalid grid token");
		return;
	}
	/* Admitted: take over from an older session. */
	if ((old = hub_find(h, jn->id)) != NULL) {
		hub_unindex(h, old);
		old->offline_done = 1;
		hub_close(old, PROTO_CLOSE_DUPLICATE, "a newer connection of "
		    "this node took over");
	} else
		atomic_fetch_add(&h->n_connected, 1);
	memcpy(s->node_id, jn->id, NODE_ID_LEN);
	s->node_id[NODE_ID_LEN] = '\0';
	snprintf(s->name, sizeof s->name, "%s", got_name);
	s->grid_id = jn->grid_id;
	s->authed = 1;
	s->hnext = h->by_id[hub_hash(jn->id)];
	h->by_id[hub_hash(jn->id)] = s;

	welcome = json_pack("{s:s, s:i, s:s, s:s, s:I}", "type",
	    PROTO_T_WELCOME, "protocol", PROTO_VERSION, "node_id", jn->id,
	    "name", got_name, "heartbeat_interval_s",
	    (json_int_t)(hub_grid_settings(h, jn->grid_id)->heartbeat_ms /
	    1000));
	if (store_grid_get_id(h->st, jn->grid_id, &g) == 1)
		json_object_set_new(welcome, "grid", json_string(g.name));
	if (jn->minted)
		json_object_set_new(welcome, "node_token",
		    json_string(jn->new_token));
	hub_queue_json(s, welcome);
	log_info("hub: node %s (%s) online from %s", got_name, jn->id,
	    s->peer);
	hub_send_desired(h, s, 1);
	master_changed_node(h->m, jn->id);
}

/*
 * Check the upgrade headers and tokens of a new session; on success admit
 * it (hub_admit_join), or park it while the live holder of its node id is
 * asked (hub_claim.c). Every refusal writes nothing.
 */
void
hub_admit(struct hub *h, struct hub_sess *s)
{
	char proto[16], id[64], name[128], version[64];
	char labels_in[PROTO_MAX_LABELS_HDR + 1];
	char token[TOKEN_LEN + 8];
	char owner[NODE_ID_LEN + 1], *labels = NULL;
	unsigned char hash[TOKEN_HASH_LEN];
	struct hub_join jn;
	struct hub_sess *old;
	struct machine_claim claim;
	struct grid g;
	int64_t grid_id = 0;
	int rc;

	memset(&jn, 0, sizeof jn);
	memset(&claim, 0, sizeof claim);
	if (hub_rate_limited(h, s->peer)) {
		hub_close(s, PROTO_CLOSE_RATE_LIMITED,
		    "too many failed attempts; wait a minute");
		return;
	}
	if (hub_header(s->wsi, PROTO_HDR_PROTOCOL, proto, sizeof proto) != 0 ||
	    hub_header(s->wsi, PROTO_HDR_NODE_ID, id, sizeof id) != 0 ||
	    hub_header(s->wsi, PROTO_HDR_NODE_NAME, name, sizeof name) != 0) {
		hub_refuse(h, s, PROTO_CLOSE_BAD_HEADERS, "missing Berth-Protocol,"
		    " Berth-Node-Id or Berth-Node-Name header");
		return;
	}
	if (strcmp(proto, PROTO_VERSION_STR) != 0) {
		hub_refuse(h, s, PROTO_CLOSE_VERSION, "protocol version "
		    "mismatch: this master speaks " PROTO_VERSION_STR);
		return;
	}
	if (!hub_node_id_valid(id) || !util_name_valid(name)) {
		hub_refuse(h, s, PROTO_CLOSE_BAD_HEADERS, "invalid Berth-Node-Id "
		    "(32 hex) or Berth-Node-Name ([a-z0-9][a-z0-9-]{0,62})");
		return;
	}
	if (hub_instance_headers(s) != 0) {
		hub_refuse(h, s, PROTO_CLOSE_BAD_HEADERS, "invalid "
		    "Berth-Agent-Instance (32 hex) or Berth-Agent-Attempt "
		    "(1 or more)");
		return;
	}
	if (hub_header(s->wsi, PROTO_HDR_LABELS, labels_in,
	    sizeof labels_in) != 0) {
		/* Absent is no labels; too long is not "none". */
		if (lws_hdr_custom_length(s->wsi, PROTO_HDR_LABELS,
		    (int)strlen(PROTO_HDR_LABELS)) > 0) {
			hub_refuse(h, s, PROTO_CLOSE_BAD_HEADERS,
			    "Berth-Node-Labels over 3072 bytes");
			return;
		}
		labels_in[0] = '\0';
	}
	if ((labels = frame_labels(labels_in)) == NULL) {
		hub_refuse(h, s, PROTO_CLOSE_BAD_HEADERS, "invalid "
		    "Berth-Node-Labels: expected k=v,k=v");
		return;
	}
	if (hub_header(s->wsi, PROTO_HDR_VERSION, version, sizeof version) != 0)
		snprintf(version, sizeof version, "unknown");

	if (hub_header(s->wsi, PROTO_HDR_NODE_TOKEN, token, sizeof token) == 0) {
		token_hash(token, hash);
		rc = store_node_by_token(h->st, hash, owner, &grid_id);
		if (rc < 0)
			goto store_error;
		if (rc == 0) {
			hub_refuse(h, s, PROTO_CLOSE_BAD_NODE_TOKEN,
			    "unknown node token; rejoin with the grid token");
			goto out;
		}
		if (strcmp(owner, id) != 0) {
			hub_refuse(h, s, PROTO_CLOSE_TOKEN_OTHER_NODE,
			    "node token belongs to another node id");
			goto out;
		}
		/* A group's node keeps its group's labels. */
		if ((rc = store_machine_by_node(h->st, id, &claim)) < 0)
			goto store_error;
		if (rc == 1)
			hub_group_labels(&claim, &labels);
	} else if (hub_header(s->wsi, PROTO_HDR_GRID_TOKEN, token,
	    sizeof token) == 0) {
		token_hash(token, hash);
		rc = store_grid_by_token(h->st, hash, &g);
		if (rc < 0)
			goto store_error;
		/*
		 * A token that is no grid's may be a machine's single-use
		 * join token (docs/autoscaling.md): a launching machine's,
		 * giving the grid, the node's name and its group's labels.
		 */
		if (rc == 0 && (rc = store_machine_by_token(h->st, hash,
		    &claim)) < 0)
			goto store_error;
		if (rc == 0 || (claim.machine_id == 0 &&
		    !token_check(token, hash, sizeof hash))) {
			hub_refuse(h, s, PROTO_CLOSE_BAD_GRID_TOKEN,
			    "invalid grid token");
			goto out;
		}
		if (claim.machine_id != 0) {
			jn.machine_id = claim.machine_id;
			memcpy(jn.join_hash, hash, sizeof jn.join_hash);
			snprintf(name, sizeof name, "%s", claim.name);
			hub_group_labels(&claim, &labels);
			grid_id = claim.grid_id;
		} else
			grid_id = g.id;
		if ((rc = store_node_revoked(h->st, id)) < 0)
			goto store_error;
		if (rc == 1) {
			hub_refuse(h, s, PROTO_CLOSE_NODE_REMOVED, "this node id "
			    "was removed by an operator; a machine joins again "
			    "as a new node (empty the agent's data dir)");
			goto out;
		}
		rc = store_node_grid(h->st, id, &g.id);
		if (rc < 0)
			goto store_error;
		if (rc == 1 && g.id != grid_id) {
			hub_refuse(h, s, PROTO_CLOSE_TOKEN_OTHER_NODE,
			    "this node id belongs to another grid");
			goto out;
		}
		token_new(jn.new_token);
		token_hash(jn.new_token, jn.hash);
		jn.minted = 1;
	} else {
		hub_refuse(h, s, PROTO_CLOSE_BAD_HEADERS, "missing "
		    "Berth-Node-Token or Berth-Grid-Token header");
		goto out;
	}

	memcpy(jn.id, id, NODE_ID_LEN + 1);
	snprintf(jn.name, sizeof jn.name, "%.63s", name);
	snprintf(jn.version, sizeof jn.version, "%s", version);
	jn.labels = labels;
	jn.grid_id = grid_id;
	old = hub_find(h, id);
	switch (hub_claim_verdict(old != NULL && old->close_code == 0,
	    old != NULL ? old->instance : NULL, old != NULL ? old->attempt : 0,
	    s->instance, s->attempt)) {
	case HUB_CLAIM_STALE:
		/* The master was frozen and drains its queue: an attempt
		 * this agent gave up long ago. Nothing to record. */
		log_info("hub: node %s: a stale connection (attempt %ld) of "
		    "the agent holding it (attempt %ld): closed", old->name,
		    s->attempt, old->attempt);
		hub_close(s, PROTO_CLOSE_DUPLICATE, "a newer connection of this "
		    "agent holds the node");
		break;
	case HUB_CLAIM_PROBE:
		hub_claim_park(h, s, old, &jn);
		break;
	case HUB_CLAIM_ADMIT:
	case HUB_CLAIM_TAKEOVER:
		hub_admit_join(h, s, &jn);
		break;
	}
	goto out;

store_error:
	log_error("hub: store: %s", store_errmsg(h->st));
	hub_close(s, PROTO_CLOSE_SHUTDOWN, "master store error; retry");
out:
	OPENSSL_cleanse(token, sizeof token);
	OPENSSL_cleanse(jn.new_token, sizeof jn.new_token);
	free(labels);
}
