/*
 * store_master.c - the masters table of a cluster (docs/ha.md, "Roles"):
 * each master's node address and the URLs it serves, so that a standby
 * names the leader's API URL in its 307s and its agent URL in its
 * closes.
 */
#include "master/store.h"

#include "common/util.h"

#include <stdio.h>
#include <string.h>

int
store_master_set(struct store *st, const char *address, uint64_t node_id,
    const char *api_url, const char *agent_url)
{
	struct store_stmt *s = store_stmt(st,
	    "INSERT INTO masters (address, node_id, api_url, agent_url,"
	    " updated_at) VALUES (?1, ?2, ?3, ?4, ?5)"
	    " ON CONFLICT (address) DO UPDATE SET node_id = excluded.node_id,"
	    " api_url = excluded.api_url, agent_url = excluded.agent_url,"
	    " updated_at = excluded.updated_at");

	stmt_bind_text(s, 1, address);
	stmt_bind_int64(s, 2, (int64_t)node_id);
	stmt_bind_text(s, 3, api_url);
	stmt_bind_text(s, 4, agent_url);
	stmt_bind_int64(s, 5, util_now_ms());
	return store_done(s);
}

int
store_master_urls(struct store *st, const char *address, char *api_url,
    size_t api_len, char *agent_url, size_t agent_len)
{
	struct store_stmt *s = store_stmt(st,
	    "SELECT api_url, agent_url FROM masters WHERE address = ?1");
	int rc;

	stmt_bind_text(s, 1, address);
	rc = stmt_step(s);
	if (rc == STORE_ROW) {
		snprintf(api_url, api_len, "%s", stmt_col_text(s, 0) ?
		    stmt_col_text(s, 0) : "");
		snprintf(agent_url, agent_len, "%s", stmt_col_text(s, 1) ?
		    stmt_col_text(s, 1) : "");
		stmt_reset(s);
		return 1;
	}
	stmt_reset(s);
	return rc == STORE_DONE ? 0 : -1;
}

static json_t *
master_row_json(struct store_stmt *s)
{
	return json_pack("{s:s, s:I, s:s, s:s, s:I}",
	    "address", stmt_col_text(s, 0) ? stmt_col_text(s, 0) : "",
	    "node_id", (json_int_t)stmt_col_int64(s, 1),
	    "api_url", stmt_col_text(s, 2) ? stmt_col_text(s, 2) : "",
	    "agent_url", stmt_col_text(s, 3) ? stmt_col_text(s, 3) : "",
	    "updated_at", (json_int_t)stmt_col_int64(s, 4));
}

json_t *
store_master_list_json(struct store *st)
{
	struct store_stmt *s = store_stmt(st,
	    "SELECT address, node_id, api_url, agent_url, updated_at"
	    " FROM masters ORDER BY node_id");

	return store_rows_json(s, json_array(), master_row_json);
}

int
store_master_delete(struct store *st, const char *address)
{
	struct store_stmt *s = store_stmt(st,
	    "DELETE FROM masters WHERE address = ?1");

	stmt_bind_text(s, 1, address);
	return store_done(s);
}

int
store_master_join_token_add(struct store *st, const unsigned char *hash,
    int64_t expires_at)
{
	struct store_stmt *s = store_stmt(st,
	    "INSERT INTO master_join_tokens (hash, created_at, expires_at)"
	    " VALUES (?1, ?2, ?3)");

	stmt_bind_blob(s, 1, hash, 32);
	stmt_bind_int64(s, 2, util_now_ms());
	stmt_bind_int64(s, 3, expires_at);
	return store_done(s);
}

int
store_master_join_token_use(struct store *st, const unsigned char *hash,
    const char *by)
{
	struct store_stmt *s = store_stmt(st,
	    "UPDATE master_join_tokens SET used_at = ?2, used_by = ?3"
	    " WHERE hash = ?1 AND used_at IS NULL AND expires_at > ?2");
	int64_t now = util_now_ms();

	stmt_bind_blob(s, 1, hash, 32);
	stmt_bind_int64(s, 2, now);
	stmt_bind_text(s, 3, by);
	if (store_done(s) != 0)
		return -1;
	return store_changes(st) == 1 ? 1 : 0;
}
