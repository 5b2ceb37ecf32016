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
