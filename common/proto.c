/*
 * proto.c - the close-code policy of the agent <-> master protocol.
 *
 * One row per close code: its name, what it means, and what an agent does
 * when the master closes with it. agent/conn.c and the load simulator
 * (tests/bench/agentsim.c) both act on proto_close_action(), so the real
 * agent and the 10,000 simulated ones cannot disagree; docs/protocol.md
 * prints the same rows and test_opt holds it to them. Pure data and
 * lookups, safe on any thread.
 */
#include "common/proto.h"

#include <stddef.h>
#include <string.h>

const struct proto_close_rule proto_close_rules[] = {
	{ PROTO_CLOSE_SHUTDOWN, "shutdown", "master shutting down",
	  PROTO_CLOSE_DO_RESTART },
	{ PROTO_CLOSE_BAD_HEADERS, "bad_headers",
	  "missing or invalid headers", PROTO_CLOSE_DO_MAX_DELAY },
	{ PROTO_CLOSE_BAD_GRID_TOKEN, "bad_grid_token", "bad grid token",
	  PROTO_CLOSE_DO_MAX_DELAY },
	{ PROTO_CLOSE_BAD_NODE_TOKEN, "bad_node_token", "bad node token",
	  PROTO_CLOSE_DO_REJOIN },
	{ PROTO_CLOSE_TOKEN_OTHER_NODE, "token_other_node",
	  "node token belongs to another node id", PROTO_CLOSE_DO_REJOIN },
	{ PROTO_CLOSE_VERSION, "version", "protocol version mismatch",
	  PROTO_CLOSE_DO_MAX_DELAY },
	{ PROTO_CLOSE_PING_TIMEOUT, "ping_timeout", "ping timeout",
	  PROTO_CLOSE_DO_BACKOFF },
	{ PROTO_CLOSE_NODE_REMOVED, "node_removed",
	  "node removed from the grid", PROTO_CLOSE_DO_REMOVED },
	{ PROTO_CLOSE_DUPLICATE, "duplicate", "duplicate connection: a newer "
	  "session of the same node id took over", PROTO_CLOSE_DO_MAX_DELAY },
	{ PROTO_CLOSE_TOKEN_RESET, "token_reset",
	  "node token reset by an operator", PROTO_CLOSE_DO_REJOIN },
	{ PROTO_CLOSE_RATE_LIMITED, "rate_limited",
	  "too many failed attempts from this address",
	  PROTO_CLOSE_DO_MAX_DELAY },
	{ PROTO_CLOSE_BAD_FRAME, "bad_frame", "malformed frame",
	  PROTO_CLOSE_DO_BACKOFF },
	{ PROTO_CLOSE_NODE_ID_IN_USE, "node_id_in_use", "node id in use by "
	  "another live agent (a cloned data dir)", PROTO_CLOSE_DO_NEW_NODE },
	{ PROTO_CLOSE_RETRY_LATER, "retry_later", "master busy: the reason "
	  "says \"retry after N ms\"", PROTO_CLOSE_DO_RETRY_AFTER },
	{ PROTO_CLOSE_NOT_LEADER, "not_leader", "a standby master: the "
	  "reason says \"leader at URL\" (the leader's agent URL)",
	  PROTO_CLOSE_DO_RESTART },
};

const size_t proto_close_nrules =
    sizeof proto_close_rules / sizeof proto_close_rules[0];

const struct proto_close_rule *
proto_close_rule(int code)
{
	size_t i;

	for (i = 0; i < proto_close_nrules; i++) {
		if (proto_close_rules[i].code == code)
			return &proto_close_rules[i];
	}
	return NULL;
}

enum proto_close_action
proto_close_action(int code)
{
	const struct proto_close_rule *r = proto_close_rule(code);

	/* 1000, 1006 (no close frame) and the like: the network's doing. */
	return r != NULL ? r->action : PROTO_CLOSE_DO_BACKOFF;
}

const char *
proto_close_action_text(enum proto_close_action action)
{
	switch (action) {
	case PROTO_CLOSE_DO_BACKOFF:
		return "reconnect with backoff";
	case PROTO_CLOSE_DO_MAX_DELAY:
		return "reconnect with backoff (max delay)";
	case PROTO_CLOSE_DO_REJOIN:
		return "forget the stored node token; rejoin with the grid "
		    "token";
	case PROTO_CLOSE_DO_RETRY_AFTER:
		return "reconnect after N ms plus up to a quarter of it; the "
		    "backoff does not grow";
	case PROTO_CLOSE_DO_REMOVED:
		return "forget the stored node token; rejoin with the grid "
		    "token; not admitted again within the retire grace: stop "
		    "and remove the node's containers";
	case PROTO_CLOSE_DO_RESTART:
		return "reconnect every 0.5-1.5 s for a minute (the master is "
		    "most likely restarting), then with backoff";
	case PROTO_CLOSE_DO_NEW_NODE:
		return "remove the node's containers from this engine; "
		    "rejoin as a new node with the grid token, or stop "
		    "without one";
	}
	return "reconnect with backoff";
}

long long
proto_retry_after_ms(const char *reason, size_t len)
{
	static const char key[] = "retry after ";
	const size_t klen = sizeof key - 1;
	long long v = 0;
	size_t i, j;
	int digits = 0;

	if (reason == NULL)
		return -1;
	for (i = 0; i + klen <= len; i++) {
		if (memcmp(reason + i, key, klen) != 0)
			continue;
		for (j = i + klen; j < len && reason[j] >= '0' &&
		    reason[j] <= '9' && digits < 12; j++, digits++)
			v = v * 10 + (reason[j] - '0');
		if (digits == 0 || j + 3 > len ||
		    memcmp(reason + j, " ms", 3) != 0)
			return -1;
		if (v < PROTO_RETRY_AFTER_MIN_MS)
			v = PROTO_RETRY_AFTER_MIN_MS;
		if (v > PROTO_RETRY_AFTER_MAX_MS)
			v = PROTO_RETRY_AFTER_MAX_MS;
		return v;
	}
	return -1;
}

long long
proto_retry_after_jitter_ms(long long delay, unsigned rnd)
{
	if (delay <= 0)
		return 0;
	return delay + (long long)(rnd % (unsigned)(delay / 4 + 1));
}

int
proto_leader_url(const char *reason, size_t len, char *out, size_t outlen)
{
	static const char key[] = PROTO_LEADER_AT;
	const size_t klen = sizeof key - 1;
	size_t i, j;

	if (reason == NULL || outlen == 0)
		return -1;
	for (i = 0; i + klen <= len; i++) {
		if (memcmp(reason + i, key, klen) != 0)
			continue;
		i += klen;
		for (j = i; j < len && reason[j] != ' ' && reason[j] != '\0';
		    j++)
			;
		if (j == i || j - i >= outlen)
			return -1;
		memcpy(out, reason + i, j - i);
		out[j - i] = '\0';
		return 0;
	}
	return -1;
}
