/*
 * config.c - parse berth-master's flags and environment from one table.
 *
 * The table below is the single list of options; the engine in
 * common/opt.c drives parsing, the environment names, validation, the
 * defaults and --help from it (the Redis config.c idea). An empty
 * variable counts as unset here, as it always has for the master. Runs on
 * the main thread at start-up only.
 */
#include "master/config.h"

#include "common/opt.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OFF(f) offsetof(struct master_config, f)

static const struct opt config_opts[] = {
	{ .flag = "data-dir", .env = { "BERTH_DATA_DIR" }, .type = OPT_PATH,
	  .def = "./data", .offset = OFF(data_dir),
	  .help = "directory of berth.db, master.key and the token files" },
	{ .flag = "api-listen", .env = { "BERTH_API_LISTEN" },
	  .type = OPT_STRING, .arg = "HOST:PORT", .def = "0.0.0.0:9292",
	  .offset = OFF(api_listen), .help = "address of the REST API" },
	{ .flag = "agent-listen", .env = { "BERTH_AGENT_LISTEN" },
	  .type = OPT_STRING, .arg = "HOST:PORT", .def = "0.0.0.0:9293",
	  .offset = OFF(agent_listen),
	  .help = "address of the agent websocket" },
	{ .flag = "log-level", .env = { "BERTH_LOG_LEVEL" }, .type = OPT_ENUM,
	  .arg = "LEVEL", .choices = "error|warn|info|debug", .def = "info",
	  .offset = OFF(log_level), .help = "how much to log" },
	{ .flag = "public-url", .env = { "BERTH_PUBLIC_URL" },
	  .type = OPT_STRING, .arg = "URL", .def_help = "from the request",
	  .offset = OFF(public_url),
	  .help = "API URL that cloud-configs fetch from" },
	{ .flag = "agent-url", .env = { "BERTH_AGENT_URL" }, .type = OPT_STRING,
	  .arg = "URL", .def_help = "ws://<api host>:<agent port>",
	  .offset = OFF(agent_url), .help = "websocket URL that agents join" },
	{ .flag = "agent-binary", .env = { "BERTH_AGENT_BINARY" },
	  .type = OPT_PATH, .def_help = "berth-agent beside berth-master",
	  .offset = OFF(agent_binary),
	  .help = "berth-agent binary served to installers" },
	{ .flag = "tick-ms", .env = { "BERTH_TICK_MS" }, .type = OPT_INT,
	  .arg = "MS", .min = 10, .max = 60000, .unit = "ms", .def = "1000",
	  .offset = OFF(tick_ms),
	  .help = "scheduler tick between event wake-ups" },
	{ .flag = "deploy-timeout-s", .env = { "BERTH_DEPLOY_TIMEOUT_S" },
	  .type = OPT_INT, .arg = "S", .min = 1, .max = 86400, .unit = "s",
	  .def = "600", .offset = OFF(deploy_timeout_s),
	  .help = "a deploy that has not finished by then ends in error" },
	{ .flag = "api-threads", .env = { "BERTH_API_THREADS" },
	  .type = OPT_INT, .min = 1, .max = 64, .def = "4",
	  .offset = OFF(api_threads), .help = "REST API worker threads" },
	{ .flag = "tls-cert", .env = { "BERTH_TLS_CERT" }, .type = OPT_PATH,
	  .offset = OFF(tls_cert),
	  .help = "PEM certificate (chain): serve the API and agents over TLS" },
	{ .flag = "tls-key", .env = { "BERTH_TLS_KEY" }, .type = OPT_PATH,
	  .offset = OFF(tls_key), .help = "PEM private key of --tls-cert" },
	{ .flag = "tls-self-signed", .env = { "BERTH_TLS_SELF_SIGNED" },
	  .type = OPT_BOOL, .offset = OFF(tls_self_signed),
	  .help = "serve TLS with <data-dir>/tls.crt + tls.key, made on first "
	  "start" },
	{ .flag = "tls-san", .env = { "BERTH_TLS_SAN" }, .type = OPT_STRING,
	  .arg = "NAMES", .def_help = "localhost, 127.0.0.1, ::1, hostname, "
	  "listen addresses", .offset = OFF(tls_san),
	  .help = "names/IPs of a new self-signed cert, comma-separated" },
	{ .flag = "insecure-plain", .env = { "BERTH_INSECURE_PLAIN" },
	  .type = OPT_BOOL, .offset = OFF(insecure_plain),
	  .help = "allow plain http/ws on a non-loopback address (tokens in "
	  "clear)" },
	{ .flag = "cluster-address", .env = { "BERTH_CLUSTER_ADDRESS" },
	  .type = OPT_STRING, .arg = "IPV4:PORT",
	  .offset = OFF(cluster_address),
	  .help = "run a dqlite node here and keep the store on it "
	  "(docs/ha.md)" },
	{ .flag = "join", .env = { "BERTH_JOIN" }, .type = OPT_STRING,
	  .arg = "HOST:PORT", .offset = OFF(join),
	  .help = "at the first start, join the cluster of that master's "
	  "--cluster-address" },
	{ .flag = "join-token", .env = { "BERTH_JOIN_TOKEN" },
	  .type = OPT_STRING, .arg = "T", .flags = OPT_SECRET,
	  .offset = OFF(join_token),
	  .help = "join token for --join (berth master join-token prints "
	  "one)" },
	{ .flag = "cluster-latency-ms", .env = { "BERTH_CLUSTER_LATENCY_MS" },
	  .type = OPT_INT, .arg = "MS", .min = 1, .max = 10000, .unit = "ms",
	  .def = "50", .offset = OFF(cluster_latency_ms),
	  .help = "network latency between masters: heartbeat 1.5x, "
	  "election 15x" },
	{ .flag = "leader-poll-ms", .env = { "BERTH_LEADER_POLL_MS" },
	  .type = OPT_INT, .arg = "MS", .min = 10, .max = 5000, .unit = "ms",
	  .def = "100", .offset = OFF(leader_poll_ms),
	  .help = "how often a clustered master asks its node who leads "
	  "(roles flip within it)" },
	{ .flag = "cluster-timeout-ms", .env = { "BERTH_CLUSTER_TIMEOUT_MS" },
	  .type = OPT_INT, .arg = "MS", .min = 100, .max = 600000,
	  .unit = "ms", .def = "5000", .offset = OFF(cluster_timeout_ms),
	  .help = "bound on one store call on dqlite, its retries included" },
	{ .flag = "dump", .type = OPT_PATH, .arg = "FILE",
	  .offset = OFF(dump),
	  .help = "write the store as a plain SQLite file a single master "
	  "starts on, then exit (with --cluster-address: through the "
	  "cluster)" },
	{ .flag = "dump-overwrite", .type = OPT_BOOL,
	  .offset = OFF(dump_overwrite),
	  .help = "let --dump replace an existing FILE" },
	{ .flag = "cluster-recover", .type = OPT_BOOL,
	  .offset = OFF(cluster_recover),
	  .help = "quorum lost for good: make this stopped master's node the "
	  "only voter of its cluster, then exit (docs/ha.md)" },
};

/* Handled by main() before config_parse(); listed here for --help. */
static const struct opt_extra config_extra[] = {
	{ "--print-routes", "print the REST routes and exit" },
	{ NULL, NULL },
};

const struct opt_table master_config_table = {
	.prog = "berth-master",
	.about = "The berth master: keeps grid state in SQLite, serves the REST "
	    "API,\naccepts agent websockets and runs the scheduling loop.",
	.opts = config_opts,
	.nopts = sizeof config_opts / sizeof config_opts[0],
	.extra = config_extra,
	.footer = "On first start it creates grid \"default\" and writes\n"
	    "<data-dir>/operator.token and <data-dir>/grid-default.token "
	    "(mode 0600).\n"
	    "\nTLS: with --tls-cert/--tls-key or --tls-self-signed both the "
	    "API (https)\nand the agent websocket (wss) use TLS. The master "
	    "logs its public-key pin,\nsha256//<base64> (curl's "
	    "--pinnedpubkey form), and cloud-configs carry it as\n"
	    "BERTH_MASTER_PIN; agents and the CLI verify the master by that pin "
	    "or by\nBERTH_CA_CERT. Without TLS the master serves plain "
	    "http/ws only when both\nlisten addresses are loopback, or with "
	    "--insecure-plain. See docs/security.md.\n",
	/* An empty variable is one left blank in a unit file: unset. */
	.flags = OPT_EMPTY_IS_UNSET,
};

int
config_load(struct master_config *cfg, int argc, char **argv,
    opt_getenv_fn get, void *arg, FILE *out, char **cause)
{
	memset(cfg, 0, sizeof *cfg);
	return opt_parse(&master_config_table, cfg, argc, argv, get, arg, out,
	    cause);
}

int
config_parse(struct master_config *cfg, int argc, char **argv, char **cause)
{
	return config_load(cfg, argc, argv, NULL, NULL, stdout, cause);
}

void
config_free(struct master_config *cfg)
{
	opt_free(&master_config_table, cfg);
	memset(cfg, 0, sizeof *cfg);
}

int
config_split_listen(const char *listen, char **host, int *port, char **cause)
{
	const char *colon;
	char *end;
	long p;

	if (listen[0] == '[') {
		colon = strstr(listen, "]:");
		if (colon == NULL)
			goto bad;
		*host = xstrndup(listen + 1, (size_t)(colon - listen - 1));
		colon++;
	} else {
		colon = strrchr(listen, ':');
		if (colon == NULL)
			goto bad;
		*host = xstrndup(listen, (size_t)(colon - listen));
	}
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || end == colon + 1 || p < 0 ||
	    p > 65535) {
		free(*host);
		*host = NULL;
		goto bad;
	}
	*port = (int)p;
	return 0;
bad:
	xasprintf(cause, "\"%s\" is not host:port", listen);
	return -1;
}
