/*
 * hub_admit.c - admission to the agent hub: who may open a session.
 *
 * Runs on the ws thread. A new connection is first counted against its
 * address (at most HUB_PENDING_MAX upgrades pending per address). When it
 * is upgraded, hub_admit_begin() reads its headers (lws keeps them only
 * that long), refuses bad ones at once, and queues the session with its
 * token's hash. hub_admit_run(), called from the hub's work turn
 * (hub.c), then admits the queue in batches of HUB_ADMIT_BATCH: node
 * tokens (a token bound to the node id) in one query, grid tokens (a
 * first join, which mints a node token) once per distinct token, every
 * join in one transaction, the desired sets in one query per
 * HUB_DESIRED_BATCH and one notification to the scheduler. A burst of
 * reconnects thus costs a few transactions, not one per agent, and the
 * loop serves pings between batches.
 *
 * When the queue holds more than HUB_SHED_WAIT_MS of work (by the
 * measured cost of an admission, or the age of its oldest session), a new
 * session is closed at once with 4012 and a retry-after delay spread over
 * the time the queue needs: agents come back when the master can take
 * them instead of waiting past their deadlines and retrying all at once.
 *
 * A node id that a live session already holds gets its claim verdict
 * (hub_claim.h) inside the batch, after its token was checked and before
 * anything is written: the holder's own newer attempt takes over, a stale
 * attempt is closed (4007), and another agent process (a cloned data dir)
 * is parked while the holder is probed (hub_claim.c: 4011 if it answers).
 * Two sessions of one node id never share a batch: the later one waits
 * for the next, so that its verdict sees the earlier one's outcome.
 *
 * A refusal closes with the typed code of docs/protocol.md, counts against
 * the peer's failure window (HUB_FAIL_MAX per minute, then 4009) and
 * writes nothing to the store. Tokens are hashed as soon as they are read,
 * wiped from the stack and never logged.
 */
#include "master/hub_int.h"
#include "master/asg_join.h"
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

/* Berth-Provider-Id into id ("" when absent); -1 when malformed. */
static int
hub_provider_id(struct hub_sess *s, char id[PROTO_PROVIDER_ID_MAX + 1])
{
	id[0] = '\0';
	if (hub_header(s->wsi, PROTO_HDR_PROVIDER_ID, id,
	    PROTO_PROVIDER_ID_MAX + 1) != 0)
		return lws_hdr_custom_length(s->wsi, PROTO_HDR_PROVIDER_ID,
		    (int)strlen(PROTO_HDR_PROVIDER_ID)) > 0 ? -1 : 0;
	if (id[0] == '\0' || strspn(id, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:/-") != strlen(id)) {
		id[0] = '\0';
		return -1;
	}
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
	if (claim->az[0] != '\0') {
		/* The provider's zone, over whatever the agent says. */
		char az[96];

		snprintf(az, sizeof az, "az=%s", claim->az);
		json_array_append_new(out, json_string(az));
	}
	json_array_foreach(group, i, v) {
		if (!json_is_string(v))
			continue;
		for (k = 0; k < 2; k++)
			if (util_label_same_key(json_string_value(v),
			    forced[k]))
				break;
		if (k == 2 && (claim->az[0] == '\0' ||
		    !util_label_same_key(json_string_value(v), "az=x")))
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
hub_hello_free(struct hub_hello *hello)
{
	if (hello == NULL)
		return;
	free(hello->labels);
	OPENSSL_cleanse(hello, sizeof *hello);
	free(hello);
}

/* ---- shedding ------------------------------------------------------------- */

static uint32_t
hub_rand(struct hub *h)
{
	uint64_t x = h->rnd;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	h->rnd = x;
	return (uint32_t)(x >> 32);
}

/*
 * How long a session queued now would wait for admission (ms): the
 * queue's length at the measured cost of an admission, or the time its
 * oldest session has waited, whichever is longer.
 */
static int64_t
hub_admit_wait_ms(struct hub *h)
{
	int64_t by_cost, oldest = 0;

	by_cost = (int64_t)((double)h->admitq.n * h->admit_us / 1000.0);
	if (h->admitq.head != NULL)
		oldest = util_mono_ms() - h->admitq.head->queued_at;
	return by_cost > oldest ? by_cost : oldest;
}

/*
 * Too much queued: close with the retry-after code instead of letting the
 * session wait (and its agent's welcome deadline run out, and all of them
 * retry at once). The delay is spread over [wait, 3 x wait] so that the
 * sessions shed in one burst come back over a span as long as the burst
 * takes to admit; the agent adds its own jitter (docs/protocol.md).
 */
static int
hub_shed(struct hub *h, struct hub_sess *s)
{
	int64_t wait = hub_admit_wait_ms(h), delay;
	char why[96];

	if (wait < HUB_SHED_WAIT_MS)
		return 0;
	if (wait < HUB_RETRY_MIN_MS)
		wait = HUB_RETRY_MIN_MS;
	delay = wait + (int64_t)(hub_rand(h) % (uint32_t)(2 * wait + 1));
	if (delay > HUB_RETRY_MAX_MS)
		delay = HUB_RETRY_MAX_MS - (int64_t)(hub_rand(h) %
		    (HUB_RETRY_MAX_MS / 4));
	snprintf(why, sizeof why, "master busy; " PROTO_RETRY_AFTER_FMT,
	    (long long)delay);
	if (atomic_fetch_add(&h->n_shed, 1) % 1000 == 0)
		log_info("hub: %zu sessions waiting for admission (%lld ms): "
		    "telling new ones to come back later (%lld so far)",
		    h->admitq.n, (long long)hub_admit_wait_ms(h),
		    (long long)atomic_load(&h->n_shed));
	hub_close(s, PROTO_CLOSE_RETRY_LATER, why);
	return 1;
}

/* ---- admission ------------------------------------------------------------ */

/*
 * A new session (ESTABLISHED): read its headers while lws still has them,
 * refuse it at once if they are wrong, and queue it for hub_admit_run().
 * Nothing is written here.
 */
void
hub_admit_begin(struct hub *h, struct hub_sess *s)
{
	char proto[16], id[64], name[128], version[64];
	char labels_in[PROTO_MAX_LABELS_HDR + 1];
	char provider_id[PROTO_PROVIDER_ID_MAX + 1];
	char token[TOKEN_LEN + 8];
	struct hub_hello *hello;
	char *labels = NULL;
	int grid_token;

	if (h->stopping) {
		hub_close(s, PROTO_CLOSE_SHUTDOWN, "master shutting down");
		return;
	}
	if (!h->led) {	/* a standby (docs/ha.md): nothing is written */
		char why[sizeof s->close_why];

		hub_leader_why(h, why, sizeof why);
		hub_close(s, PROTO_CLOSE_NOT_LEADER, why);
		return;
	}
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
	if (hub_provider_id(s, provider_id) != 0) {
		free(labels);
		hub_refuse(h, s, PROTO_CLOSE_BAD_HEADERS, "invalid "
		    "Berth-Provider-Id: 1 to 255 of [A-Za-z0-9._:/-]");
		return;
	}
	if (hub_header(s->wsi, PROTO_HDR_NODE_TOKEN, token, sizeof token) == 0)
		grid_token = 0;
	else if (hub_header(s->wsi, PROTO_HDR_GRID_TOKEN, token,
	    sizeof token) == 0)
		grid_token = 1;
	else {
		free(labels);
		hub_refuse(h, s, PROTO_CLOSE_BAD_HEADERS, "missing "
		    "Berth-Node-Token or Berth-Grid-Token header");
		return;
	}
	if (hub_shed(h, s)) {
		free(labels);
		OPENSSL_cleanse(token, sizeof token);
		return;
	}
	hello = xcalloc(1, sizeof *hello);
	/* Checked above: 32 hex digits and a name of at most 63. */
	memcpy(hello->id, id, NODE_ID_LEN);
	hello->id[NODE_ID_LEN] = '\0';
	memcpy(hello->name, name, strlen(name) + 1);
	snprintf(hello->version, sizeof hello->version, "%s", version);
	hello->labels = labels;
	hello->grid_token = grid_token;
	memcpy(hello->provider_id, provider_id, sizeof hello->provider_id);
	token_hash(token, hello->hash);
	OPENSSL_cleanse(token, sizeof token);
	s->hello = hello;
	s->queued_at = util_mono_ms();
	hub_list_push(&h->admitq, s, HUB_ADMITQ);
	hub_admitq_changed(h);
	hub_work_arm(h);
}

/* A grid token seen in this batch, and what it opens. */
struct hub_grid_tok {
	unsigned char	 hash[TOKEN_HASH_LEN];
	int		 rc;		/* store_grid_by_token(): 1, 0, -1 */
	int64_t		 grid_id;
};

/* What one session of the batch gets. */
struct hub_admit_one {
	struct hub_sess	*sess;			/* the session */
	struct hub_sess	*s;			/* it, NULL once refused,
						   closed or parked */
	struct hub_join	 j;			/* what it joins as (labels
						   borrowed from its hello) */
	char		 name[64];		/* the name it got */
	char		 unmatched[200];	/* a group's agent no machine
						   matches: why (it waits as
						   pending) */
};

/*
 * The peer ran out of failed attempts while its session waited (the
 * batch counts each refusal as it goes, in order): refused outright, its
 * token not looked at, as hub_admit_begin() does.
 */
static int
hub_admit_limited(struct hub *h, struct hub_admit_one *a)
{
	if (!hub_rate_limited(h, a->s->peer))
		return 0;
	hub_close(a->s, PROTO_CLOSE_RATE_LIMITED,
	    "too many failed attempts; wait a minute");
	a->s = NULL;
	return 1;
}

static void
hub_store_error(struct hub *h, struct hub_sess *s)
{
	log_error("hub: store: %s", store_errmsg(h->st));
	hub_close(s, PROTO_CLOSE_SHUTDOWN, "master store error; retry");
}

/*
 * A node id an operator removed joins no more, even with the grid token
 * (a machine joins again as a new node): refused, 1; 0 if it may join.
 */
static int
hub_admit_revoked(struct hub *h, struct hub_admit_one *a)
{
	int rc = store_node_revoked(h->st, a->s->hello->id);

	if (rc == 0)
		return 0;
	if (rc < 0)
		hub_store_error(h, a->s);
	else
		hub_refuse(h, a->s, PROTO_CLOSE_NODE_REMOVED, "this node id "
		    "was removed by an operator; a machine joins again as a "
		    "new node (empty the agent's data dir)");
	a->s = NULL;
	return 1;
}

/*
 * An agent with a node group's join token (aws-asg) and an instance id no
 * machine of the group is bound to yet: THE place where such an agent is
 * judged "unmatched" (docs/autoscaling.md, "Joining"). The check is an
 * Auto Scaling call, made on a provider thread (master/asg_join.h): the
 * first time, the id is queued for it and the agent told to come back
 * (4012, retry after); once the check bound the id to a launching machine
 * the agent is admitted as that machine (hub_admit_machine). An id the
 * provider does not know (none of the group's instances) joins the grid
 * as a pending node, for an operator to approve (hub_admit_approval):
 * 0, with a->j's grid and a->unmatched set. An id the check refused
 * otherwise (a live instance, but no launching machine left to claim it:
 * an orphan, terminated at the provision timeout) is closed with the
 * reason; so is one still being checked (to come back): 1, a->s cleared.
 */
static int
hub_admit_unmatched(struct hub *h, struct hub_admit_one *a, int64_t grid_id,
    int64_t group_id)
{
	struct hub_hello *hl = a->s->hello;
	char why[320], msg[400];
	enum asg_join_verdict v;

	v = asg_join_note(grid_id, group_id, hl->provider_id, why, sizeof why);
	if (v == ASG_JOIN_PENDING) {
		snprintf(a->unmatched, sizeof a->unmatched, "instance %.64s: "
		    "%.120s", hl->provider_id, why);
		a->j.grid_id = grid_id;
		return 0;
	}
	if (v == ASG_JOIN_WAIT) {
		master_changed_grid(h->m, grid_id);
		/* Short: a close reason holds 123 bytes, the delay last. */
		snprintf(msg, sizeof msg, "instance %.32s: being checked "
		    "with its provider; " PROTO_RETRY_AFTER_FMT,
		    hl->provider_id, (long long)ASG_JOIN_RETRY_MS);
		hub_close(a->s, PROTO_CLOSE_RETRY_LATER, msg);
	} else {
		snprintf(msg, sizeof msg, "not admitted: %s", why);
		hub_refuse(h, a->s, PROTO_CLOSE_BAD_GRID_TOKEN, msg);
	}
	a->s = NULL;
	return 1;
}

/*
 * A token that is no grid's may be a machine's single-use join token
 * (docs/autoscaling.md): a launching machine's, giving the grid, the
 * node's name and its group's labels. 0 if it is one (a->j filled), 1 if
 * a was refused.
 */
static int
hub_admit_machine(struct hub *h, struct hub_admit_one *a)
{
	struct hub_hello *hl = a->s->hello;
	struct machine_claim claim;
	int rc;

	unsigned char hash[TOKEN_HASH_LEN];
	int64_t group_id = 0, grid_id = 0;

	memset(&claim, 0, sizeof claim);
	memcpy(hash, hl->hash, TOKEN_HASH_LEN);
	rc = store_machine_by_token(h->st, hash, &claim);
	if (rc == 0 && hl->provider_id[0] != '\0') {
		/* A group's token and an instance id: a bound machine's. */
		asg_join_hash(hl->hash, hl->provider_id, hash);
		rc = store_machine_by_token(h->st, hash, &claim);
		if (rc == 0 && (rc = store_nodegroup_by_token(h->st, hl->hash,
		    &group_id, &grid_id)) == 1)
			return hub_admit_unmatched(h, a, grid_id, group_id);
	}
	if (rc <= 0) {
		if (rc < 0)
			hub_store_error(h, a->s);
		else
			hub_refuse(h, a->s, PROTO_CLOSE_BAD_GRID_TOKEN,
			    "invalid grid token");
		a->s = NULL;
		return 1;
	}
	a->j.machine_id = claim.machine_id;
	memcpy(a->j.join_hash, hash, TOKEN_HASH_LEN);
	snprintf(hl->name, sizeof hl->name, "%s", claim.name);
	hub_group_labels(&claim, &hl->labels);
	a->j.grid_id = claim.grid_id;
	return 0;
}

/*
 * The join-approval decision (docs/nodes.md, "Pending nodes"), in one
 * place: does the node a joins as wait as pending? Only a new node id
 * can (a node that was admitted once stays admitted; a pending one stays
 * pending across reconnects, the store keeps it). A machine that proved
 * itself with its single-use join token is never pending: berth launched
 * it. unmatched, when not NULL, is why an agent that claims to be a
 * group's machine could not be matched to one (a group token whose
 * instance id is not in the provider's list): it waits, whatever the
 * grid's join_approval. Otherwise the grid's join_approval decides
 * ("manual": every new node waits). Read from the store, not the hub's
 * settings cache: a grid switched to manual holds the very next join.
 * Sets a->j.pending and .pending_why; 0, or -1 on a store error.
 */
static int
hub_admit_approval(struct hub *h, struct hub_admit_one *a,
    const char *unmatched)
{
	int manual;

	a->j.pending = 0;
	a->j.pending_why[0] = '\0';
	if (!a->j.is_new || a->j.machine_id != 0)
		return 0;
	if (unmatched != NULL) {
		a->j.pending = 1;
		snprintf(a->j.pending_why, sizeof a->j.pending_why,
		    "not matched to a machine of a node group: %s", unmatched);
		return 0;
	}
	if ((manual = store_grid_join_manual(h->st, a->j.grid_id)) < 0)
		return -1;
	if (manual) {
		a->j.pending = 1;
		snprintf(a->j.pending_why, sizeof a->j.pending_why,
		    "the grid's join_approval is manual");
	}
	return 0;
}

/*
 * The tokens of the batch: node tokens in one query, grid tokens once per
 * distinct token, and the grids of the node ids that join with a grid
 * token in one more. Sessions refused here are closed and taken out of v
 * (by clearing .s); nothing is written.
 */
static void
hub_admit_tokens(struct hub *h, struct hub_admit_one *v, size_t n)
{
	struct node_auth *auth = xcalloc(n, sizeof *auth);
	struct node_grid *ng = xcalloc(n, sizeof *ng);
	struct hub_grid_tok gt[8];
	struct machine_claim claim;
	size_t i, k, na = 0, nng = 0, ngt = 0;
	struct hub_hello *hl;
	int64_t grid_id;
	int rc;

	for (i = 0; i < n; i++)
		if (!v[i].s->hello->grid_token)
			memcpy(auth[na++].hash, v[i].s->hello->hash,
			    TOKEN_HASH_LEN);
	if (store_node_auth_batch(h->st, auth, na) != 0) {
		for (i = 0; i < n; i++)
			if (!v[i].s->hello->grid_token) {
				hub_store_error(h, v[i].s);
				v[i].s = NULL;
			}
		na = 0;
	}
	for (i = 0, k = 0; i < n; i++) {
		if (v[i].s == NULL || (hl = v[i].s->hello)->grid_token)
			continue;
		if (hub_admit_limited(h, &v[i])) {
			k++;
			continue;
		}
		if (!auth[k].found)
			hub_refuse(h, v[i].s, PROTO_CLOSE_BAD_NODE_TOKEN,
			    "unknown node token; rejoin with the grid token");
		else if (strcmp(auth[k].id, hl->id) != 0)
			hub_refuse(h, v[i].s, PROTO_CLOSE_TOKEN_OTHER_NODE,
			    "node token belongs to another node id");
		else {
			v[i].j.grid_id = auth[k].grid_id;
			k++;
			/* A group's node keeps its group's labels. */
			memset(&claim, 0, sizeof claim);
			rc = store_machine_by_node(h->st, hl->id, &claim);
			if (rc == 1)
				hub_group_labels(&claim, &hl->labels);
			else if (rc < 0) {
				hub_store_error(h, v[i].s);
				v[i].s = NULL;
			}
			continue;
		}
		v[i].s = NULL;
		k++;
	}

	/* Grid tokens: a batch holds one or a few distinct ones. */
	for (i = 0; i < n; i++) {
		if (v[i].s == NULL || !(hl = v[i].s->hello)->grid_token ||
		    hub_admit_limited(h, &v[i]))
			continue;
		for (k = 0; k < ngt; k++)
			if (memcmp(gt[k].hash, hl->hash, TOKEN_HASH_LEN) == 0)
				break;
		if (k < ngt) {
			rc = gt[k].rc;
			grid_id = gt[k].grid_id;
		} else {
			struct grid g = { 0 };

			rc = store_grid_by_token(h->st, hl->hash, &g);
			grid_id = g.id;
			/* Many grids at once: the rest looked up each. */
			if (ngt < sizeof gt / sizeof gt[0]) {
				memcpy(gt[ngt].hash, hl->hash, TOKEN_HASH_LEN);
				gt[ngt].rc = rc;
				gt[ngt].grid_id = grid_id;
				ngt++;
			}
		}
		if (rc < 0) {
			hub_store_error(h, v[i].s);
			v[i].s = NULL;
			continue;
		}
		if (rc == 0) {
			if (hub_admit_machine(h, &v[i]) != 0)
				continue;
		} else
			v[i].j.grid_id = grid_id;
		if (!hub_admit_revoked(h, &v[i]))
			ng[nng++].id = hl->id;
	}
	/* A node id already in another grid may not join this one. */
	rc = store_node_grid_batch(h->st, ng, nng);
	for (i = 0, k = 0; i < n && nng > 0; i++) {
		if (v[i].s == NULL || !v[i].s->hello->grid_token)
			continue;
		if (rc != 0)
			hub_store_error(h, v[i].s);
		else if (ng[k].found && ng[k].grid_id != v[i].j.grid_id)
			hub_refuse(h, v[i].s, PROTO_CLOSE_TOKEN_OTHER_NODE,
			    "this node id belongs to another grid");
		else if ((v[i].j.is_new = !ng[k].found) &&
		    hub_admit_approval(h, &v[i], v[i].unmatched[0] != '\0' ?
		    v[i].unmatched : NULL) != 0)
			hub_store_error(h, v[i].s);
		else {
			token_new(v[i].j.new_token);
			token_hash(v[i].j.new_token, v[i].j.hash);
			v[i].j.minted = 1;
			k++;
			continue;
		}
		v[i].s = NULL;
		k++;
	}
	free(auth);
	free(ng);
}

/*
 * The claim verdict of each session left in the batch (hub_claim.h),
 * against the live session that holds its node id, before anything is
 * written: a stale attempt of the holder's own agent is closed (4007); a
 * session of another agent process is parked while the holder is probed
 * (hub_claim.c decides later: 4011 if the holder answers, admitted if
 * not). Both are taken out of v; the others are admitted by the batch.
 */
static void
hub_admit_claims(struct hub *h, struct hub_admit_one *v, size_t n)
{
	struct hub_hello *hl;
	struct hub_sess *s, *old;
	size_t i;

	for (i = 0; i < n; i++) {
		if ((s = v[i].s) == NULL)
			continue;
		hl = s->hello;
		memcpy(v[i].j.id, hl->id, NODE_ID_LEN + 1);
		snprintf(v[i].j.name, sizeof v[i].j.name, "%s", hl->name);
		snprintf(v[i].j.version, sizeof v[i].j.version, "%s",
		    hl->version);
		v[i].j.labels = hl->labels;
		old = hub_find(h, hl->id);
		switch (hub_claim_verdict(old != NULL && old->close_code == 0,
		    old != NULL ? old->instance : NULL,
		    old != NULL ? old->attempt : 0, s->instance, s->attempt)) {
		case HUB_CLAIM_STALE:
			/* The master was frozen and drains its queue: an
			 * attempt this agent gave up long ago. */
			log_info("hub: node %s: a stale connection (attempt "
			    "%ld) of the agent holding it (attempt %ld): "
			    "closed", old->name, s->attempt, old->attempt);
			hub_close(s, PROTO_CLOSE_DUPLICATE, "a newer connection "
			    "of this agent holds the node");
			v[i].s = NULL;
			break;
		case HUB_CLAIM_PROBE:
			hub_claim_park(h, s, old, &v[i].j);
			v[i].s = NULL;
			break;
		case HUB_CLAIM_ADMIT:
		case HUB_CLAIM_TAKEOVER:
			break;
		}
	}
}

static void
hub_node_join_of(struct node_join *nj, const struct hub_join *j,
    const struct hub_sess *s)
{
	memset(nj, 0, sizeof *nj);
	nj->id = j->id;
	nj->grid_id = j->grid_id;
	nj->name = j->name;
	nj->labels = j->labels;
	nj->agent_version = j->version;
	nj->token_hash = j->minted ? j->hash : NULL;
	nj->peer = s->peer;
	nj->machine_id = j->machine_id;
	nj->join_hash = j->join_hash;
	nj->pending = j->pending;
	nj->pending_why = j->pending_why;
}

/* Record one join on its own; 0, or s closed and -1. */
static int
hub_admit_store_one(struct hub *h, struct hub_sess *s,
    const struct node_join *nj, char name[64])
{
	int rc = store_node_join(h->st, nj, name);

	if (rc == 0)
		return 0;
	if (rc < 0)
		hub_store_error(h, s);
	else	/* a machine's join token spent meanwhile: nothing written */
		hub_refuse(h, s, PROTO_CLOSE_BAD_GRID_TOKEN,
		    "invalid grid token");
	return -1;
}

/*
 * Record the joins of v in one transaction, one by one if that fails. A
 * machine's join (its single-use token spent in it) goes on its own.
 */
static void
hub_admit_store(struct hub *h, struct hub_admit_one *v, size_t n)
{
	struct node_join *j = xcalloc(n, sizeof *j);
	char (*names)[64] = xcalloc(n, sizeof *names);
	size_t i, k = 0;

	for (i = 0; i < n; i++) {
		if (v[i].s == NULL || v[i].j.machine_id != 0)
			continue;
		hub_node_join_of(&j[k], &v[i].j, v[i].s);
		j[k++].pending_out = &v[i].j.pending_now;
	}
	if (store_node_join_batch(h->st, j, k, names) == 0) {
		for (i = 0, k = 0; i < n; i++)
			if (v[i].s != NULL && v[i].j.machine_id == 0)
				memcpy(v[i].name, names[k++], 64);
	} else {
		/* Find the one that fails; the others go in on their own. */
		log_warn("hub: a batch of %zu joins failed (%s): one by one",
		    k, store_errmsg(h->st));
		for (i = 0, k = 0; i < n; i++) {
			if (v[i].s == NULL || v[i].j.machine_id != 0)
				continue;
			if (hub_admit_store_one(h, v[i].s, &j[k],
			    v[i].name) != 0)
				v[i].s = NULL;
			k++;
		}
	}
	for (i = 0; i < n; i++) {
		if (v[i].s == NULL || v[i].j.machine_id == 0)
			continue;
		hub_node_join_of(&j[0], &v[i].j, v[i].s);
		j[0].pending_out = &v[i].j.pending_now;
		if (hub_admit_store_one(h, v[i].s, &j[0], v[i].name) != 0)
			v[i].s = NULL;
	}
	free(j);
	free(names);
}

/* Admitted as j, named name: take over from an older session, welcome. */
static void
hub_admit_welcome(struct hub *h, struct hub_sess *s, const struct hub_join *j,
    const char *name, int pending)
{
	const struct hub_grid *gs = hub_grid_settings(h, j->grid_id);
	struct hub_sess *old;
	json_t *welcome;

	if ((old = hub_find(h, j->id)) != NULL) {
		hub_unindex(h, old);
		old->offline_done = 1;
		hub_close(old, PROTO_CLOSE_DUPLICATE, "a newer connection of "
		    "this node took over");
	} else
		atomic_fetch_add(&h->n_connected, 1);
	memcpy(s->node_id, j->id, NODE_ID_LEN);
	s->node_id[NODE_ID_LEN] = '\0';
	snprintf(s->name, sizeof s->name, "%s", name);
	s->grid_id = j->grid_id;
	s->authed = 1;
	s->pending = pending;
	s->last_rx = s->last_ping = hub_clock(h);
	s->hnext = h->by_id[hub_hash(j->id)];
	h->by_id[hub_hash(j->id)] = s;

	welcome = json_pack("{s:s, s:i, s:s, s:s, s:I}", "type",
	    PROTO_T_WELCOME, "protocol", PROTO_VERSION, "node_id", j->id,
	    "name", name, "heartbeat_interval_s",
	    (json_int_t)(gs->heartbeat_ms / 1000));
	if (gs->name[0] != '\0')
		json_object_set_new(welcome, "grid", json_string(gs->name));
	if (j->minted)
		json_object_set_new(welcome, "node_token",
		    json_string(j->new_token));
	if (pending)	/* no desired set until approved (docs/protocol.md) */
		json_object_set_new(welcome, "pending", json_true());
	hub_queue_json(s, welcome);
	hub_network_touch(h);	/* its network frame, and maybe a new peer */
	log_info("hub: node %s (%s) online from %s%s", name, j->id, s->peer,
	    pending ? ", pending: waits for berth node approve" : "");
}

void
hub_admit_join(struct hub *h, struct hub_sess *s, const struct hub_join *j)
{
	struct node_join nj;
	const char *id;
	char name[64];

	int pending = 0;

	hub_node_join_of(&nj, j, s);
	nj.pending_out = &pending;
	if (hub_admit_store_one(h, s, &nj, name) != 0)
		return;
	hub_admit_welcome(h, s, j, name, pending);
	hub_send_desired(h, &s, 1);
	id = s->node_id;
	master_changed_nodes(h->m, &id, 1);
	atomic_fetch_add(&h->n_admitted, 1);
}

/* 1 if a session of s's node id is among the n of v already. */
static int
hub_admit_dup(const struct hub_admit_one *v, size_t n, const struct hub_sess *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i].sess->hello->id, s->hello->id) == 0)
			return 1;
	return 0;
}

/*
 * Admit up to HUB_ADMIT_BATCH queued sessions: their tokens in a query or
 * two, their claim verdicts, their joins in one transaction, their
 * desired sets in one query per HUB_DESIRED_BATCH, and one notification
 * to the scheduler. A session of a node id already in the batch stays
 * queued for the next one.
 */
void
hub_admit_run(struct hub *h)
{
	struct hub_admit_one v[HUB_ADMIT_BATCH];
	struct hub_sess *s, *next, *sent[HUB_ADMIT_BATCH];
	const char *ids[HUB_ADMIT_BATCH];
	int64_t t0 = util_mono_us();
	size_t i, n = 0, k = 0, walked = 0;

	memset(v, 0, sizeof v);
	for (s = h->admitq.head; s != NULL && n < HUB_ADMIT_BATCH &&
	    walked < 4 * HUB_ADMIT_BATCH; s = next, walked++) {
		next = s->admit.next;
		if (s->close_code == 0 && hub_admit_dup(v, n, s))
			continue;
		hub_list_remove(&h->admitq, s, HUB_ADMITQ);
		if (s->close_code != 0) {
			hub_hello_free(s->hello);
			s->hello = NULL;
			continue;
		}
		v[n].sess = v[n].s = s;
		n++;
	}
	if (n == 0) {
		hub_admitq_changed(h);
		return;
	}
	hub_admit_tokens(h, v, n);
	hub_admit_claims(h, v, n);
	hub_admit_store(h, v, n);
	for (i = 0; i < n; i++) {
		if (v[i].s != NULL) {
			hub_admit_welcome(h, v[i].s, &v[i].j, v[i].name,
			    v[i].j.pending_now);
			sent[k] = v[i].s;
			ids[k++] = v[i].s->node_id;
		}
		OPENSSL_cleanse(v[i].j.new_token, sizeof v[i].j.new_token);
	}
	hub_send_desired(h, sent, k);
	master_changed_nodes(h->m, ids, k);
	/* Admitted, parked (with a copy) or refused: none needs its hello. */
	for (i = 0; i < n; i++) {
		hub_hello_free(v[i].sess->hello);
		v[i].sess->hello = NULL;
	}
	atomic_fetch_add(&h->n_admitted, (long long)k);
	h->admit_us = h->admit_us * 0.7 + 0.3 *
	    (double)(util_mono_us() - t0) / (double)n;
	hub_admitq_changed(h);
}
