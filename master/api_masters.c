/*
 * api_masters.c - /v1/masters: the masters of a cluster (docs/ha.md).
 *
 *   GET    /v1/masters              members: id, address, URLs, role, online
 *   DELETE /v1/masters/{id|address} remove a member (the leader hands the
 *                                   lead over first)
 *   POST   /v1/masters/join-token   mint a join token (operator)
 *   POST   /v1/masters/join         open: a joining master trades a join
 *                                   token for master.key and the TLS
 *                                   identity (join.c is the other side)
 *
 * Runs on the API threads; only the leader answers (a standby 307s).
 * Membership requests go to the leader through a dqlite client of this
 * master's node.
 */
#include "master/api.h"
#include "master/cluster.h"
#include "master/dq_client.h"
#include "master/join.h"
#include "master/role.h"
#include "master/token.h"

#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define MASTERS_PROBE_MS	500	/* "online": a handshake within it */
#define JOIN_TTL_DEFAULT_S	3600
#define JOIN_TTL_MAX_S		(7 * 86400)

static struct dq_client *
masters_client(struct master *m)
{
	const char *addr = cluster_address(m->cluster);
	struct dq_conf conf = { .addrs = &addr, .naddrs = 1,
	    .timeout_ms = 2000, .retries = 5, .retry_ms = 50,
	    .deadline_ms = 5000 };

	return dq_client_new(&conf);
}

static int
masters_not_clustered(struct api_ctx *ctx)
{
	if (ctx->m->cluster != NULL)
		return 0;
	api_error(ctx, 409, NULL, "this master runs alone (no "
	    "--cluster-address): there are no other masters");
	return 1;
}

static int
masters_online(const char *address)
{
	struct dq_conn c = { .fd = -1 };
	char *why = NULL;
	int ok;

	ok = dq_conn_open(&c, address, MASTERS_PROBE_MS, &why) == 0;
	free(why);
	dq_conn_close(&c);
	return ok;
}

static const char *
masters_role_name(int role, int leads)
{
	if (leads)
		return "leader";
	switch (role) {
	case DQ_VOTER:
		return "voter";
	case DQ_STANDBY:
		return "standby";
	case DQ_SPARE:
		return "spare";
	}
	return "unknown";
}

/* The members, from the cluster's configuration and the masters table. */
static json_t *
masters_members(struct api_ctx *ctx, char **cause)
{
	struct dq_client *cl = masters_client(ctx->m);
	struct dq_server *sv = NULL;
	json_t *rows, *out, *row, *r;
	const char *leader;
	char idbuf[24];
	size_t n = 0, i, j;

	if (dq_client_cluster(cl, &sv, &n, cause) != 0) {
		dq_client_free(cl);
		return NULL;
	}
	leader = dq_client_leader(cl);
	if ((rows = store_master_list_json(ctx->st)) == NULL) {
		xasprintf(cause, "store: %s", store_errmsg(ctx->st));
		dq_servers_free(sv, n);
		dq_client_free(cl);
		return NULL;
	}
	out = json_array();
	for (i = 0; i < n; i++) {
		int leads = leader != NULL &&
		    strcmp(leader, sv[i].address) == 0;

		r = NULL;
		json_array_foreach(rows, j, row) {
			if (strcmp(json_string_value(json_object_get(row,
			    "address")), sv[i].address) == 0)
				r = row;
		}
		snprintf(idbuf, sizeof idbuf, "%" PRIu64, sv[i].id);
		json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:s, "
		    "s:s, s:b}", "id", idbuf,
		    "address", sv[i].address,
		    "api_url", r ? json_string_value(json_object_get(r,
		    "api_url")) : "",
		    "agent_url", r ? json_string_value(json_object_get(r,
		    "agent_url")) : "",
		    "role", masters_role_name(sv[i].role, leads),
		    "online", leads || masters_online(sv[i].address)));
	}
	json_decref(rows);
	dq_servers_free(sv, n);
	dq_client_free(cl);
	return out;
}

void
api_master_list(struct api_ctx *ctx)
{
	char api[256], agent[256], *cause = NULL;
	json_t *out;

	if (ctx->m->cluster == NULL) {
		role_own_urls(ctx->m, api, sizeof api, agent, sizeof agent);
		api_reply(ctx, 200, json_pack("[{s:s, s:s, s:s, s:s, s:s, "
		    "s:b}]", "id", "-", "address", "",
		    "api_url", api, "agent_url", agent, "role", "single",
		    "online", 1));
		return;
	}
	if ((out = masters_members(ctx, &cause)) == NULL) {
		api_error(ctx, 503, NULL, "cannot read the cluster's members: "
		    "%s", cause);
		free(cause);
		return;
	}
	api_reply(ctx, 200, out);
}

void
api_master_delete(struct api_ctx *ctx)
{
	struct master *m = ctx->m;
	struct dq_client *cl;
	struct dq_server *sv = NULL;
	const char *want = ctx->cap[0], *leader;
	char *cause = NULL, *end, addr[128], *newleader = NULL, want_id[24];
	uint64_t id = 0, byid;
	size_t n = 0, i, voters = 0;
	int leads = 0, found = 0;

	if (masters_not_clustered(ctx))
		return;
	byid = strtoull(want, &end, 10);
	if (*end != '\0')
		byid = 0;
	cl = masters_client(m);
	if (dq_client_cluster(cl, &sv, &n, &cause) != 0) {
		api_error(ctx, 503, NULL, "cannot read the cluster's members: "
		    "%s", cause);
		goto out;
	}
	leader = dq_client_leader(cl);
	for (i = 0; i < n; i++) {
		if (sv[i].role == DQ_VOTER)
			voters++;
		if ((byid != 0 && sv[i].id == byid) ||
		    strcmp(sv[i].address, want) == 0) {
			found = 1;
			id = sv[i].id;
			snprintf(addr, sizeof addr, "%s", sv[i].address);
			leads = leader != NULL &&
			    strcmp(leader, sv[i].address) == 0;
		}
	}
	if (!found) {
		api_error(ctx, 404, NULL, "no master \"%.100s\" in the cluster "
		    "(berth master ls lists them by id and address)", want);
		goto out;
	}
	if (n == 1) {
		api_error(ctx, 409, NULL, "master %" PRIu64 " (%s) is the "
		    "cluster's only member", id, addr);
		goto out;
	}
	if (leads && voters < 2) {
		api_error(ctx, 409, NULL, "master %" PRIu64 " (%s) leads and "
		    "no other voter can take over", id, addr);
		goto out;
	}
	/* Forget its URLs while this master still leads (fenced store). */
	if (store_master_delete(ctx->st, addr) != 0) {
		api_store_error(ctx);
		goto out;
	}
	if (leads) {
		/* The leader hands over first: TRANSFER to the voter raft
		 * picks; the REMOVE then goes to the new leader. This master
		 * (it leads: it serves the API) stands by at once, so that no
		 * request lands on it meanwhile and fails in the fence. */
		role_stand_by(m);
		if (dq_client_transfer(cl, 0, &cause) != 0) {
			api_error(ctx, 503, NULL, "master %" PRIu64 " (%s) leads "
			    "and could not hand the lead over: %s", id, addr,
			    cause);
			goto out;
		}
		dq_client_disconnect(cl);
		log_info("masters: node %" PRIu64 " handed the lead over before "
		    "its removal", id);
	}
	if (dq_client_remove(cl, id, &cause) != 0) {
		api_error(ctx, 503, NULL, "removing master %" PRIu64 " (%s): %s",
		    id, addr, cause);
		goto out;
	}
	if (dq_client_leader(cl) != NULL)
		newleader = xstrdup(dq_client_leader(cl));
	log_info("masters: node %" PRIu64 " (%s) removed from the cluster",
	    id, addr);
	snprintf(want_id, sizeof want_id, "%" PRIu64, id);
	api_reply(ctx, 200, json_pack("{s:s, s:s, s:b, s:s?}", "id",
	    want_id, "address", addr, "handed_over", leads,
	    "leader", newleader));
out:
	free(newleader);
	free(cause);
	dq_servers_free(sv, n);
	dq_client_free(cl);
}

void
api_master_join_token(struct api_ctx *ctx)
{
	static const char *const allowed[] = { "ttl_s", NULL };
	unsigned char hash[TOKEN_HASH_LEN];
	char secret[TOKEN_LEN + 1], *token;
	json_t *body = NULL, *ttl;
	json_int_t ttl_s = JOIN_TTL_DEFAULT_S;
	int64_t expires;

	if (masters_not_clustered(ctx))
		return;
	if (ctx->body_len > 0) {
		if ((body = api_body_object(ctx)) == NULL)
			return;
		if (api_only_keys(ctx, body, "", allowed) != 0)
			goto out;
		ttl = json_object_get(body, "ttl_s");
		if (ttl != NULL) {
			if (!json_is_integer(ttl) ||
			    json_integer_value(ttl) < 1 ||
			    json_integer_value(ttl) > JOIN_TTL_MAX_S) {
				api_error(ctx, 422, "ttl_s", "ttl_s: an integer "
				    "of seconds from 1 to %d", JOIN_TTL_MAX_S);
				goto out;
			}
			ttl_s = json_integer_value(ttl);
		}
	}
	token_new(secret);
	token_hash(secret, hash);
	expires = util_now_ms() + (int64_t)ttl_s * 1000;
	if (store_master_join_token_add(ctx->st, hash, expires) != 0) {
		OPENSSL_cleanse(secret, sizeof secret);
		api_store_error(ctx);
		goto out;
	}
	token = join_token_format(secret, ctx->m->tls.on ? ctx->m->tls.pin :
	    NULL);
	OPENSSL_cleanse(secret, sizeof secret);
	api_reply(ctx, 201, json_pack("{s:s, s:I, s:I}", "token", token,
	    "expires_at", (json_int_t)expires, "ttl_s", ttl_s));
	OPENSSL_cleanse(token, strlen(token));
	free(token);
	log_info("masters: a join token was minted (valid %lld s, once)",
	    (long long)ttl_s);
out:
	json_decref(body);
}

/* The joiner's side is join.c; this answers only with a valid token. */
void
api_master_join(struct api_ctx *ctx)
{
	static const char *const allowed[] = { "token", "address", NULL };
	struct master *m = ctx->m;
	unsigned char hash[TOKEN_HASH_LEN];
	char secret[TOKEN_LEN + 1], keyhex[TOKEN_KEY_LEN * 2 + 1], *cause = NULL;
	json_t *body, *tok, *addr, *out;
	int rc;

	if (masters_not_clustered(ctx))
		return;
	if ((body = api_body_object(ctx)) == NULL)
		return;
	if (api_only_keys(ctx, body, "", allowed) != 0)
		goto out;
	tok = json_object_get(body, "token");
	addr = json_object_get(body, "address");
	if (!json_is_string(addr) || cluster_check_address(
	    json_string_value(addr), &cause) != 0) {
		api_error(ctx, 422, "address", "address: the joining master's "
		    "--cluster-address%s%s", cause ? ": " : "",
		    cause ? cause : "");
		goto out;
	}
	if (!json_is_string(tok) || join_token_parse(json_string_value(tok),
	    secret, NULL, &cause) != 0) {
		api_error(ctx, 422, "token", "token: %s", cause ? cause :
		    "a string (berth master join-token prints one)");
		goto out;
	}
	token_hash(secret, hash);
	OPENSSL_cleanse(secret, sizeof secret);
	rc = store_master_join_token_use(ctx->st, hash, json_string_value(addr));
	if (rc < 0) {
		api_store_error(ctx);
		goto out;
	}
	if (rc == 0) {
		log_warn("masters: a join from %s was refused: unknown, used "
		    "or expired token", json_string_value(addr));
		api_error(ctx, 403, "token", "join token refused: unknown, "
		    "already used or expired (berth master join-token mints "
		    "another)");
		goto out;
	}
	util_hex(m->key, TOKEN_KEY_LEN, keyhex);
	out = json_pack("{s:s}", "master_key", keyhex);
	OPENSSL_cleanse(keyhex, sizeof keyhex);
	if (m->tls.on) {
		json_object_set_new(out, "tls_cert", json_string(
		    m->tls.cert_pem));
		json_object_set_new(out, "tls_key", json_string(
		    m->tls.key_pem));
	}
	log_info("masters: %s used a join token; master key and TLS identity "
	    "sent", json_string_value(addr));
	api_reply(ctx, 200, out);
out:
	free(cause);
	json_decref(body);
}
