/*
 * grid_settings.c - the one table of a grid's settings.
 *
 * Each row is the whole truth about a setting: its name (the JSON key,
 * the store column and the CLI's key), type and unit, bounds, shipped
 * default and help. The defaults are those of the product (DESIGN: a
 * heartbeat every 5 s, offline after 15 s, ephemeral nodes removed after
 * 20 minutes offline); tests shorten them through the API.
 */
#include "common/grid_settings.h"

#include "common/netaddr.h"
#include "common/xmalloc.h"

#include <stdlib.h>

#include <stddef.h>
#include <string.h>

#define GS_SECONDS(field, def_, min_, max_, help_) {			\
	.name = #field, .type = SETTING_INT, .unit = SETTING_UNIT_SECONDS,	\
	.off = offsetof(struct grid_settings, field), .def = (def_),	\
	.min = (min_), .max = (max_), .help = (help_) }

/* "", or http(s)://host... with no blank or control character. */
static int
gs_check_url(const char *v, char **cause)
{
	const char *host, *p;

	if (v[0] == '\0')
		return 0;
	if (strncmp(v, "http://", 7) == 0)
		host = v + 7;
	else if (strncmp(v, "https://", 8) == 0)
		host = v + 8;
	else {
		xasprintf(cause, "webhook_url must be an http:// or https:// "
		    "URL");
		return -1;
	}
	if (*host == '\0' || *host == '/' || *host == ':' || *host == '?') {
		xasprintf(cause, "webhook_url must name a host");
		return -1;
	}
	for (p = v; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f) {
			xasprintf(cause, "webhook_url must not hold blanks or "
			    "control characters");
			return -1;
		}
	return 0;
}

/* Comma-separated prefixes of event types: [a-z0-9._-]+ or "*". */
static int
gs_check_events(const char *v, char **cause)
{
	const char *p = v;
	size_t n;

	while (*p != '\0') {
		n = strcspn(p, ",");
		if (n == 0 || (strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789"
		    "._-") < n && !(n == 1 && *p == '*'))) {
			xasprintf(cause, "webhook_events must be comma-separated "
			    "event types or prefixes ([a-z0-9._-], or *), such "
			    "as nodegroup.,machine.,node.drain");
			return -1;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

int
grid_webhook_wants(const char *events, const char *type)
{
	const char *p = events;
	size_t n;

	while (*p != '\0') {
		n = strcspn(p, ",");
		if ((n == 1 && *p == '*') || (n > 0 &&
		    strncmp(type, p, n) == 0))
			return 1;
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

/* network_cidr: an IPv4 prefix of /8 to /24, in the private ranges. */
static int
gs_check_cidr(const char *v, char **cause)
{
	struct netaddr_prefix p, priv[3] = {
		{ 0x0a000000u, 8 }, { 0xac100000u, 12 }, { 0xc0a80000u, 16 } };
	size_t i;

	if (netaddr_parse(v, &p, cause) != 0)
		return -1;
	if (p.len < 8 || p.len > 24) {
		xasprintf(cause, "the prefix length must be 8 to 24");
		return -1;
	}
	for (i = 0; i < 3; i++)
		if (netaddr_overlap(&p, &priv[i]) && p.len >= priv[i].len)
			return 0;
	xasprintf(cause, "%s is not inside a private range (10.0.0.0/8, "
	    "172.16.0.0/12, 192.168.0.0/16)", v);
	return -1;
}

static const char *const join_approval_choices[] = { "auto", "manual",
	NULL };

static const struct setting grid_setting_rows[] = {
	GS_SECONDS(heartbeat_interval_s, 5, 1, 3600,
	    "silence after which an agent is pinged"),
	GS_SECONDS(offline_after_s, 15, 1, 86400,
	    "silence after which a node is offline (>= heartbeat)"),
	GS_SECONDS(ephemeral_removal_s, 1200, 1, 86400 * 30,
	    "an ephemeral node offline this long is removed"),
	GS_SECONDS(ha_grace_s, 120, 0, 86400,
	    "ha instances of an offline node are replaced after"),
	GS_SECONDS(random_grace_s, 30, 0, 86400,
	    "random instances of an offline node are replaced after"),
	GS_SECONDS(rebalance_settle_s, 10, 0, 86400,
	    "a node that joined attracts rebalancing moves after"),
	GS_SECONDS(move_cooldown_s, 600, 0, 86400,
	    "an instance that moved is not moved again for"),
	GS_SECONDS(instance_settle_s, 5, 0, 3600,
	    "an instance counts as running once up this long"),
	{ .name = "dry_run", .type = SETTING_BOOL,
	  .off = offsetof(struct grid_settings, dry_run), .def = 0,
	  .help = "plan moves and removals but do not act (events say what)" },
	GS_SECONDS(job_lost_grace_s, 120, 0, 86400,
	    "a job running on an offline node counts as failed after"),
	GS_SECONDS(job_retention_s, 86400, 0, 86400 * 365,
	    "finished jobs (and their containers) are kept for"),
	{ .name = "job_retention_max", .type = SETTING_INT,
	  .unit = SETTING_UNIT_NONE,
	  .off = offsetof(struct grid_settings, job_retention_max),
	  .def = 10000, .min = 0, .max = 1000000,
	  .help = "finished jobs kept per grid at most (the oldest go first)" },
	/* Container logs (docs/logs.md): the log store's retention. */
	{ .name = "logs_max_bytes", .type = SETTING_INT,
	  .unit = SETTING_UNIT_BYTES,
	  .off = offsetof(struct grid_settings, logs_max_bytes),
	  .def = 1024LL * 1024 * 1024, .min = 1024 * 1024,
	  .max = 1024LL * 1024 * 1024 * 1024,
	  .help = "container logs kept for the grid; the oldest lines go first" },
	GS_SECONDS(logs_max_age_s, 7 * 86400, 60, 365 * 86400,
	    "container log lines older than this are deleted"),
	{ .name = "logs_container_pct", .type = SETTING_INT,
	  .off = offsetof(struct grid_settings, logs_container_pct),
	  .def = 10, .min = 1, .max = 100,
	  .help = "percent of logs_max_bytes one container may keep" },
	/* Drains (docs/nodes.md); a group's node takes its group's. */
	GS_SECONDS(drain_deadline_s, 600, 1, 7 * 86400,
	    "a drain (berth node drain) stops what is left after this"),
	/* Node groups' limits (docs/autoscaling.md); 0: no limit. */
	{ .name = "max_nodes_total", .type = SETTING_INT,
	  .off = offsetof(struct grid_settings, max_nodes_total),
	  .def = 0, .min = 0, .max = 1000000,
	  .help = "node groups launch nothing beyond this many nodes and "
	  "machines on their way (0: no limit)" },
	{ .name = "max_cost_per_hour", .type = SETTING_INT,
	  .off = offsetof(struct grid_settings, max_cost_per_hour),
	  .def = 0, .min = 0, .max = 1000000000000LL,
	  .help = "node groups launch nothing beyond this cost per hour, the "
	  "sum of their machines' cost_per_hour (0: no limit)" },
	{ .name = "max_launches_per_hour", .type = SETTING_INT,
	  .off = offsetof(struct grid_settings, max_launches_per_hour),
	  .def = 100, .min = 0, .max = 1000000,
	  .help = "node groups launch at most this many machines in any hour "
	  "(stops crash loops; 0: no limit)" },
	/* The webhook (docs/autoscaling.md, "Notifications"). */
	{ .name = "webhook_url", .type = SETTING_STRING,
	  .off = offsetof(struct grid_settings, webhook_url),
	  .size = GRID_WEBHOOK_URL_MAX, .def_str = "", .check = gs_check_url,
	  .secret = 1,
	  .help = "POST chosen events here as JSON with a Slack-compatible "
	  "\"text\" (http:// or https://; a secret: shown redacted; \"\": "
	  "none)" },
	{ .name = "webhook_events", .type = SETTING_STRING,
	  .off = offsetof(struct grid_settings, webhook_events),
	  .size = GRID_WEBHOOK_EVENTS_MAX,
	  .def_str = "nodegroup.,machine.,node.drain", .check = gs_check_events,
	  .help = "the events the webhook gets: comma-separated type prefixes "
	  "(\"machine.\", \"node.drain\"), \"*\" for all" },
	GS_SECONDS(webhook_timeout_s, 5, 1, 300,
	    "one webhook POST may take this long"),
	{ .name = "webhook_retries", .type = SETTING_INT,
	  .off = offsetof(struct grid_settings, webhook_retries),
	  .def = 3, .min = 0, .max = 20,
	  .help = "a failed webhook POST is tried again this many times "
	  "(backing off 1 s, doubling to 30 s), then dropped" },
	/* Pending nodes (docs/nodes.md). */
	{ .name = "join_approval", .type = SETTING_STRING,
	  .off = offsetof(struct grid_settings, join_approval),
	  .size = sizeof(((struct grid_settings *)0)->join_approval),
	  .def_str = "auto", .choices = join_approval_choices,
	  .help = "manual: a new node joining with the grid token waits as "
	  "pending until berth node approve (auto: it is admitted)" },
	/* The grid network (docs/network.md). */
	{ .name = "network_cidr", .type = SETTING_STRING,
	  .off = offsetof(struct grid_settings, network_cidr),
	  .size = GRID_NETWORK_CIDR_MAX, .def_str = "10.81.0.0/16",
	  .check = gs_check_cidr,
	  .help = "the overlay network's IPv4 prefix; each node takes a "
	  "subnet of it at its first join (nodes keep theirs on a change)" },
	{ .name = "network_node_prefix", .type = SETTING_INT,
	  .off = offsetof(struct grid_settings, network_node_prefix),
	  .def = 24, .min = 16, .max = 28,
	  .help = "the length of each node's subnet (24: a /24, 253 "
	  "containers per node)" },
};

/* Rules across settings: a node cannot be offline between two pings. */
static int
grid_settings_check(const void *base, const char **field, char **cause)
{
	const struct grid_settings *gs = base;
	struct netaddr_prefix p;
	char *why = NULL;

	if (netaddr_parse(gs->network_cidr, &p, &why) == 0 &&
	    gs->network_node_prefix <= p.len) {
		*field = "network_node_prefix";
		xasprintf(cause, "network_node_prefix (%lld) must be longer "
		    "than network_cidr's /%d", (long long)gs->network_node_prefix,
		    p.len);
		return -1;
	}
	free(why);
	if (gs->offline_after_s < gs->heartbeat_interval_s) {
		*field = "offline_after_s";
		xasprintf(cause, "offline_after_s (%lld) must be at least "
		    "heartbeat_interval_s (%lld)",
		    (long long)gs->offline_after_s,
		    (long long)gs->heartbeat_interval_s);
		return -1;
	}
	return 0;
}

const struct setting_table grid_settings_table = {
	.what = "grid",
	.rows = grid_setting_rows,
	.n = sizeof grid_setting_rows / sizeof grid_setting_rows[0],
	.size = sizeof(struct grid_settings),
	.check = grid_settings_check,
};

void
grid_settings_default(struct grid_settings *gs)
{
	settings_defaults(&grid_settings_table, gs);
}
