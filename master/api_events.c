/*
 * api_events.c - GET /v1/grids/{g}/events and the open /healthz, /metrics.
 *
 * Runs on the API threads. Events filter by type (exact, or a prefix
 * ending in '.'), time (since/until: ISO-8601 or epoch seconds), after
 * (an event id, for following) and limit.
 */
#include "master/api.h"
#include "master/logstore.h"
#include "master/hub.h"
#include "master/group_stats.h"
#include "master/sched_loop.h"
#include "master/webhook.h"

#include "common/util.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

void
api_event_list(struct api_ctx *ctx)
{
	struct event_filter f;
	struct grid g;
	const char *v;
	char *end;
	json_t *arr;
	long long n;

	if (api_grid(ctx, ctx->cap[0], &g) != 0)
		return;
	memset(&f, 0, sizeof f);
	f.type = api_query(ctx, "type");
	if ((v = api_query(ctx, "since")) != NULL &&
	    (f.since_ms = util_parse_time(v)) < 0) {
		api_error(ctx, 422, "since", "since must be ISO-8601 "
		    "(2026-11-22T10:00:00Z) or epoch seconds");
		return;
	}
	if ((v = api_query(ctx, "until")) != NULL &&
	    (f.until_ms = util_parse_time(v)) < 0) {
		api_error(ctx, 422, "until", "until must be ISO-8601 "
		    "(2026-11-22T10:00:00Z) or epoch seconds");
		return;
	}
	if ((v = api_query(ctx, "after")) != NULL) {
		n = strtoll(v, &end, 10);
		if (*v == '\0' || *end != '\0' || n < 0) {
			api_error(ctx, 422, "after", "after must be an event id");
			return;
		}
		f.after_id = n;
	}
	if ((v = api_query(ctx, "limit")) != NULL) {
		n = strtoll(v, &end, 10);
		if (*v == '\0' || *end != '\0' || n < 1 || n > 10000) {
			api_error(ctx, 422, "limit", "limit must be 1 to 10000");
			return;
		}
		f.limit = (int)n;
	}
	if ((arr = store_event_list_json(ctx->st, g.id, &f)) == NULL)
		api_store_error(ctx);
	else
		api_reply(ctx, 200, arr);
}

/*
 * Local on every master (docs/ha.md): "role" is single, leader or
 * standby; a standby names the leader's API URL it redirects to ("" while
 * it knows none).
 */
void
api_healthz(struct api_ctx *ctx)
{
	json_t *o = json_pack("{s:s, s:s, s:s}", "status", "ok", "version",
	    MASTER_VERSION, "role", master_role_name(ctx->m));
	char leader[256];

	if (ctx->m->cluster != NULL) {
		master_leader_urls(ctx->m, leader, sizeof leader, NULL, 0);
		json_object_set_new(o, "leader", json_string(leader));
	}
	api_reply(ctx, 200, o);
}

/* The role as metrics: berth_master_leader 1 when this master serves. */
static void
metric_role(struct api_ctx *ctx, struct buf *b)
{
	buf_printf(b, "# HELP berth_master_leader 1 when this master serves "
	    "the API, agents and scheduling (a single master, or the "
	    "cluster's leader), 0 on a standby.\n"
	    "# TYPE berth_master_leader gauge\nberth_master_leader %d\n",
	    master_leads(ctx->m) ? 1 : 0);
}

/* One metric's HELP and TYPE lines. */
static void
metric_head(struct buf *b, const char *name, const char *type,
    const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/*
 * Node groups, one series per group labelled {grid, group}; a metric's
 * series together, as the exposition format wants. Label values are
 * names ([a-z0-9-]), so nothing needs escaping.
 */
static int
api_metrics_groups(struct api_ctx *ctx, struct buf *b)
{
	static const struct {
		const char	*name, *type, *help;
	} rows[] = {
		{ "berth_nodegroup_nodes", "gauge",
		  "Node records of the group's machines." },
		{ "berth_nodegroup_nodes_online", "gauge",
		  "Of those, the nodes online." },
		{ "berth_nodegroup_machines", "gauge",
		  "The group's machines by state." },
		{ "berth_nodegroup_min", "gauge", "The group's min setting." },
		{ "berth_nodegroup_max", "gauge", "The group's max setting." },
		{ "berth_nodegroup_spare", "gauge",
		  "Warm idle nodes the group keeps beyond demand." },
		{ "berth_nodegroup_target", "gauge",
		  "Machines the group heads for (requested, launching or "
		  "joined)." },
		{ "berth_nodegroup_backoff", "gauge",
		  "1 while the group backs off after a failure." },
		{ "berth_nodegroup_launches_last_hour", "gauge",
		  "Machines the group launched in the last hour." },
		{ "berth_nodegroup_scale_ups_total", "counter",
		  "Scale-up decisions since the master started." },
		{ "berth_nodegroup_launched_total", "counter",
		  "Machines asked for by those decisions." },
		{ "berth_nodegroup_scale_downs_total", "counter",
		  "Nodes drained for scale-in since the master started." },
		{ "berth_nodegroup_failures_total", "counter",
		  "Machines that failed to launch or join since the master "
		  "started." },
	};
	struct metrics_group *v;
	const struct metrics_group *x;
	int64_t now = util_now_ms(), val;
	size_t n, i, r, k;
	int d;

	if (store_metrics_groups(ctx->st, now, &v, &n) != 0)
		return -1;
	for (r = 0; r < sizeof rows / sizeof rows[0]; r++) {
		metric_head(b, rows[r].name, rows[r].type, rows[r].help);
		for (i = 0; i < n; i++) {
			x = &v[i];
#define GROUP_LABELS	"grid=\"%s\",group=\"%s\""
			if (r == 2) {
				for (k = 0; k < METRICS_MACHINE_STATES; k++)
					buf_printf(b, "%s{" GROUP_LABELS
					    ",state=\"%s\"} %lld\n",
					    rows[r].name, x->grid, x->g.name,
					    metrics_machine_states[k],
					    (long long)x->machines[k]);
				continue;
			}
			switch (r) {
			case 0: val = x->nodes; break;
			case 1: val = x->nodes_online; break;
			case 3: val = x->g.settings.min; break;
			case 4: val = x->g.settings.max; break;
			case 5: val = x->g.settings.spare; break;
			case 6: val = x->machines[0] + x->machines[1] +
				    x->machines[2]; break;
			case 7: val = x->g.backoff_until > now; break;
			case 8: val = x->launches_hour; break;
			case 9: val = (int64_t)group_stats_get(x->g.id,
				    GROUP_STAT_SCALE_UP); break;
			case 10: val = (int64_t)group_stats_get(x->g.id,
				    GROUP_STAT_LAUNCH); break;
			case 11: val = (int64_t)group_stats_get(x->g.id,
				    GROUP_STAT_SCALE_DOWN); break;
			default: val = (int64_t)group_stats_get(x->g.id,
				    GROUP_STAT_FAILURE); break;
			}
			buf_printf(b, "%s{" GROUP_LABELS "} %lld\n",
			    rows[r].name, x->grid, x->g.name, (long long)val);
		}
	}
	/* Demand is the grid's: sizing shares it among the groups. */
	metric_head(b, "berth_nodegroup_pending_demand", "gauge",
	    "Instances and job tasks of the grid that waited for a node in "
	    "its last round (grids with node groups).");
	for (i = 0; i < n; i++) {
		if (i > 0 && v[i].g.grid_id == v[i - 1].g.grid_id)
			continue;
		if ((d = group_stats_demand_get(v[i].g.grid_id)) >= 0)
			buf_printf(b, "berth_nodegroup_pending_demand{grid="
			    "\"%s\"} %d\n", v[i].grid, d);
	}
	free(v);
	return 0;
}

void
api_metrics(struct api_ctx *ctx)
{
	struct webhook_stats ws;
	struct metrics_counts c;
	struct logstore_stats ls;
	struct hub_stats hs;
	struct sched_loop_stats ss;
	struct buf b = { 0 };
	long long lock_waits;
	double lock_s;
	uint64_t n;
	size_t j;
	int i;

	if (!master_leads(ctx->m)) {
		/* A standby reads no store (it is fenced): its own figures. */
		metric_role(ctx, &b);
		buf_printf(&b, "# HELP berth_uptime_seconds Seconds since "
		    "start.\n# TYPE berth_uptime_seconds gauge\n"
		    "berth_uptime_seconds %lld\n",
		    (long long)((util_now_ms() - ctx->m->started_ms) / 1000));
		api_reply_text(ctx, 200, "text/plain; version=0.0.4", b.data);
		buf_free(&b);
		return;
	}
	if (store_metrics_counts(ctx->st, &c) != 0) {
		api_store_error(ctx);
		return;
	}
	buf_printf(&b, "# HELP berth_nodes Nodes by state.\n"
	    "# TYPE berth_nodes gauge\n"
	    "berth_nodes{state=\"online\"} %lld\n"
	    "berth_nodes{state=\"offline\"} %lld\n",
	    (long long)c.nodes_online, (long long)c.nodes_offline);
	buf_printf(&b, "# HELP berth_grids Grids.\n"
	    "# TYPE berth_grids gauge\nberth_grids %lld\n"
	    "# HELP berth_stacks Stacks.\n"
	    "# TYPE berth_stacks gauge\nberth_stacks %lld\n"
	    "# HELP berth_services Services.\n"
	    "# TYPE berth_services gauge\nberth_services %lld\n",
	    (long long)c.grids, (long long)c.stacks, (long long)c.services);
	buf_printf(&b, "# HELP berth_instances Service instances by "
	    "reported state.\n# TYPE berth_instances gauge\n");
	for (j = 0; j < c.nstates; j++)
		buf_printf(&b, "berth_instances{state=\"%s\"} %lld\n",
		    c.states[j].state, (long long)c.states[j].n);

	buf_printf(&b, "# HELP berth_api_requests_total REST requests by "
	    "status.\n# TYPE berth_api_requests_total counter\n");
	for (i = 100; i < 600; i++) {
		/* Count this request too, as the status it is about to get. */
		n = atomic_load(&ctx->m->api_status[i]) + (i == 200);
		if (n > 0)
			buf_printf(&b, "berth_api_requests_total{status=\"%d\"} "
			    "%llu\n", i, (unsigned long long)n);
	}
	logstore_stats(ctx->m->logs, &ls);
	buf_printf(&b, "# HELP berth_log_lines_total Container log lines "
	    "stored.\n# TYPE berth_log_lines_total counter\n"
	    "berth_log_lines_total %llu\n"
	    "# HELP berth_log_duplicates_total Log lines agents sent again "
	    "that were already stored.\n"
	    "# TYPE berth_log_duplicates_total counter\n"
	    "berth_log_duplicates_total %llu\n"
	    "# HELP berth_log_frames_refused_total Logs frames refused while "
	    "the log store's queue was full.\n"
	    "# TYPE berth_log_frames_refused_total counter\n"
	    "berth_log_frames_refused_total %llu\n"
	    "# HELP berth_log_queue_bytes Log lines waiting to be written.\n"
	    "# TYPE berth_log_queue_bytes gauge\nberth_log_queue_bytes %llu\n",
	    (unsigned long long)ls.lines, (unsigned long long)ls.duplicates,
	    (unsigned long long)ls.refused, (unsigned long long)ls.queued_bytes);
	hub_stats(ctx->m->hub, &hs);
	buf_printf(&b, "# HELP berth_hub_sessions Agents connected.\n"
	    "# TYPE berth_hub_sessions gauge\nberth_hub_sessions %lld\n"
	    "# HELP berth_hub_admission_waiting Sessions waiting for "
	    "admission.\n"
	    "# TYPE berth_hub_admission_waiting gauge\n"
	    "berth_hub_admission_waiting %lld\n"
	    "# HELP berth_hub_admissions_total Sessions admitted.\n"
	    "# TYPE berth_hub_admissions_total counter\n"
	    "berth_hub_admissions_total %lld\n"
	    "# HELP berth_hub_admission_busy_seconds_total Seconds during "
	    "which sessions waited for admission.\n"
	    "# TYPE berth_hub_admission_busy_seconds_total counter\n"
	    "berth_hub_admission_busy_seconds_total %.3f\n"
	    "# HELP berth_hub_shed_total Sessions told to retry later "
	    "(close 4012).\n"
	    "# TYPE berth_hub_shed_total counter\n"
	    "berth_hub_shed_total %lld\n"
	    "# HELP berth_hub_stall_seconds_total Seconds the hub's loop "
	    "stalled (ticks late by more than 250 ms).\n"
	    "# TYPE berth_hub_stall_seconds_total counter\n"
	    "berth_hub_stall_seconds_total %.3f\n", hs.sessions, hs.waiting,
	    hs.admitted, hs.admit_busy_s, hs.shed, hs.stalled_s);
	sched_loop_stats(ctx->m->sched, &ss);
	buf_printf(&b, "# HELP berth_sched_rounds_total Scheduling rounds "
	    "run.\n"
	    "# TYPE berth_sched_rounds_total counter\n"
	    "berth_sched_rounds_total %lld\n"
	    "# HELP berth_sched_round_seconds_total Time spent in "
	    "scheduling rounds.\n"
	    "# TYPE berth_sched_round_seconds_total counter\n"
	    "berth_sched_round_seconds_total %.3f\n"
	    "# HELP berth_sched_round_max_seconds The longest round since "
	    "the master started.\n"
	    "# TYPE berth_sched_round_max_seconds gauge\n"
	    "berth_sched_round_max_seconds %.3f\n", ss.rounds, ss.busy_s,
	    ss.max_s);
	store_lock_waits(&lock_waits, &lock_s);
	buf_printf(&b, "# HELP berth_store_lock_waits_total Writes that waited "
	    "for the store's write lock (another thread held it).\n"
	    "# TYPE berth_store_lock_waits_total counter\n"
	    "berth_store_lock_waits_total %lld\n"
	    "# HELP berth_store_lock_wait_seconds_total Time those writes "
	    "waited.\n# TYPE berth_store_lock_wait_seconds_total counter\n"
	    "berth_store_lock_wait_seconds_total %.3f\n", lock_waits, lock_s);
	if (api_metrics_groups(ctx, &b) != 0) {
		buf_free(&b);
		api_store_error(ctx);
		return;
	}
	webhook_stats(ctx->m->webhook, &ws);
	buf_printf(&b, "# HELP berth_webhook_posts_total Events posted to "
	    "grids' webhooks.\n# TYPE berth_webhook_posts_total counter\n"
	    "berth_webhook_posts_total %llu\n"
	    "# HELP berth_webhook_failures_total Webhook POSTs that failed "
	    "(each retry counts).\n"
	    "# TYPE berth_webhook_failures_total counter\n"
	    "berth_webhook_failures_total %llu\n"
	    "# HELP berth_webhook_dropped_total Events given up: the queue "
	    "was full or the retries ran out.\n"
	    "# TYPE berth_webhook_dropped_total counter\n"
	    "berth_webhook_dropped_total %llu\n"
	    "# HELP berth_webhook_queued Events waiting for delivery.\n"
	    "# TYPE berth_webhook_queued gauge\nberth_webhook_queued %llu\n",
	    (unsigned long long)ws.sent, (unsigned long long)ws.failed,
	    (unsigned long long)ws.dropped, (unsigned long long)ws.queued);
	buf_printf(&b, "# HELP berth_uptime_seconds Seconds since start.\n"
	    "# TYPE berth_uptime_seconds gauge\nberth_uptime_seconds %lld\n",
	    (long long)((util_now_ms() - ctx->m->started_ms) / 1000));
	metric_role(ctx, &b);
	api_reply_text(ctx, 200, "text/plain; version=0.0.4", b.data);
	buf_free(&b);
}
