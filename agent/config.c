/*
 * config.c - the agent's settings from the environment and the command line.
 *
 * Called once by main() before any thread starts; the result is read-only
 * afterwards. One table (config_opts) declares every setting: its flag, the
 * env names that set it (BERTH_* first, Kontena aliases after), its type,
 * default and help line; the engine in common/opt.c drives parsing,
 * validation and --help from it, and docs/agent.md follows it (test_opt
 * checks). What a type cannot say is a row's callback: the labels parse
 * into a list, and the URL, node name, Docker host, CA file and pin are
 * checked and turned into derived fields once every source was read; the
 * one rule across rows (a pin or CA needs wss://) is in config_finish().
 * Every error is one line naming the variable or flag the operator set, so
 * a cloud-config can be fixed without reading source. Unlike the master,
 * an empty variable is a value (BERTH_LABELS= means no labels). The grid
 * token is a secret: never printed, zeroed when freed.
 */
#include "agent/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "agent/workers.h"
#include "common/netaddr.h"
#include "common/opt.h"
#include "common/proto.h"
#include "common/tlsutil.h"
#include "common/util.h"
#include "common/version.h"
#include "common/xmalloc.h"

/* Every number of seconds: at least 1, at most a day. */
#define CONFIG_S_MAX	86400

#define OFF(f) offsetof(struct agent_config, f)

static int	config_set_labels(void *, const char *, const char *, char **);
static int	config_check_url(void *, const char *, char **);
static int	config_check_token(void *, const char *, char **);
static int	config_check_node_name(void *, const char *, char **);
static int	config_check_provider_id(void *, const char *, char **);
static int	config_check_data_dir(void *, const char *, char **);
static int	config_check_docker_host(void *, const char *, char **);
static int	config_check_ca_cert(void *, const char *, char **);
static int	config_check_master_pin(void *, const char *, char **);

static int	config_check_peer_address(void *, const char *, char **);

static const struct opt config_opts[] = {
	{ .flag = "url", .env = { "BERTH_URL", "KONTENA_URI", "KONTENA_URL" },
	  .type = OPT_STRING, .arg = "URL", .offset = OFF(url),
	  .check = config_check_url,
	  .help = "master agent endpoint, ws://host:9293 or wss://...; "
	  "with several masters every one, comma-separated" },
	{ .flag = "token", .env = { "BERTH_TOKEN", "KONTENA_TOKEN" },
	  .type = OPT_STRING, .arg = "TOKEN", .flags = OPT_SECRET,
	  .offset = OFF(grid_token), .check = config_check_token,
	  .help = "grid token, used to join (prefer the env: flags show in "
	  "ps)" },
	{ .flag = "labels", .env = { "BERTH_LABELS", "KONTENA_NODE_LABELS" },
	  .type = OPT_CUSTOM, .arg = "K=V,...", .def = "", .def_help = "none",
	  .offset = OFF(labels), .set = config_set_labels,
	  .help = "node labels, k=v separated by commas or spaces" },
	{ .flag = "provider-id", .env = { "BERTH_PROVIDER_ID" },
	  .type = OPT_STRING, .arg = "ID", .offset = OFF(provider_id),
	  .check = config_check_provider_id,
	  .help = "this machine's instance id at its node group's provider "
	  "(aws-asg: the EC2 instance id), sent with the token to join" },
	{ .flag = "node-name", .env = { "BERTH_NODE_NAME" },
	  .type = OPT_STRING, .arg = "NAME", .def_help = "the hostname, "
	  "lowercased", .offset = OFF(node_name),
	  .check = config_check_node_name,
	  .help = "node name [a-z0-9][a-z0-9-]{0,62}" },
	{ .flag = "data-dir", .env = { "BERTH_DATA_DIR" }, .type = OPT_PATH,
	  .def = CONFIG_DEFAULT_DATA_DIR, .offset = OFF(data_dir),
	  .check = config_check_data_dir,
	  .help = "keeps node-id and node-token (mode 0600)" },
	{ .flag = "docker-host", .env = { "DOCKER_HOST" }, .type = OPT_STRING,
	  .arg = "URL", .def = CONFIG_DEFAULT_DOCKER,
	  .offset = OFF(docker_host), .check = config_check_docker_host,
	  .help = "Docker Engine socket, unix:///path only" },
	{ .flag = "log-level", .env = { "BERTH_LOG_LEVEL" }, .type = OPT_ENUM,
	  .arg = "LEVEL", .choices = "error|warn|info|debug", .def = "info",
	  .offset = OFF(log_level), .help = "how much to log" },
	{ .flag = "stats-interval", .env = { "BERTH_STATS_INTERVAL_S" },
	  .type = OPT_INT, .arg = "S", .min = 1, .max = CONFIG_S_MAX,
	  .unit = "s", .def = "5", .offset = OFF(stats_interval_s),
	  .help = "seconds between stats frames" },
	{ .flag = "resync-interval", .env = { "BERTH_RESYNC_INTERVAL_S" },
	  .type = OPT_INT, .arg = "S", .min = 1, .max = CONFIG_S_MAX,
	  .unit = "s", .def = "10", .offset = OFF(resync_interval_s),
	  .help = "seconds between full state reports" },
	{ .flag = "backoff-max", .env = { "BERTH_BACKOFF_MAX_S" },
	  .type = OPT_INT, .arg = "S", .min = 1, .max = CONFIG_S_MAX,
	  .unit = "s", .def = "30", .offset = OFF(backoff_max_s),
	  .help = "reconnect backoff cap in seconds" },
	{ .flag = "connect-timeout", .env = { "BERTH_CONNECT_TIMEOUT_S" },
	  .type = OPT_INT, .arg = "S", .min = 1, .max = 3600, .unit = "s",
	  .def = "15", .offset = OFF(connect_timeout_s),
	  .help = "deadline of each step of a connection attempt (TCP, TLS, "
	  "upgrade, welcome)" },
	{ .flag = "retire-grace", .env = { "BERTH_RETIRE_GRACE_S" },
	  .type = OPT_INT, .arg = "S", .min = 1, .max = CONFIG_S_MAX,
	  .unit = "s", .def = "60", .offset = OFF(retire_grace_s),
	  .help = "a node removed from the grid that is not admitted again "
	  "in this time stops and removes its containers" },
	{ .flag = "docker-concurrency", .env = { "BERTH_DOCKER_CONCURRENCY" },
	  .type = OPT_INT, .min = 1, .max = WORKERS_MAX, .def = "8",
	  .offset = OFF(docker_concurrency),
	  .help = "Docker actions (create, start, stop+remove) run at once" },
	{ .flag = "cpus", .env = { "BERTH_CPUS" }, .type = OPT_INT,
	  .min = 0, .max = 4096, .def = "0", .def_help = "the machine's",
	  .offset = OFF(cpus),
	  .help = "cpus offered to the scheduler (0: the machine's)" },
	{ .flag = "ca-cert", .env = { "BERTH_CA_CERT" }, .type = OPT_PATH,
	  .offset = OFF(ca_cert), .check = config_check_ca_cert,
	  .help = "wss: trust only this PEM CA (or the master's self-signed "
	  "cert)" },
	{ .flag = "master-pin", .env = { "BERTH_MASTER_PIN" },
	  .type = OPT_STRING, .arg = "PIN", .offset = OFF(master_pin),
	  .check = config_check_master_pin,
	  .help = "wss: the master's public-key pin, sha256//<base64> or "
	  "sha256:<hex>" },
	{ .flag = "insecure-plain", .env = { "BERTH_INSECURE_PLAIN" },
	  .type = OPT_BOOL, .offset = OFF(insecure_plain),
	  .help = "allow ws:// to a non-loopback master (tokens in clear)" },
	{ .flag = "log-buffer-lines", .env = { "BERTH_LOG_BUFFER_LINES" },
	  .type = OPT_INT, .arg = "N", .min = 100, .max = 10000000,
	  .def = "10000", .offset = OFF(log_buffer_lines),
	  .help = "log lines a container keeps for the master; more are "
	  "dropped and counted" },
	{ .flag = "log-buffer-bytes", .env = { "BERTH_LOG_BUFFER_BYTES" },
	  .type = OPT_INT, .arg = "BYTES", .min = 65536, .max = 1073741824,
	  .def = "4194304", .offset = OFF(log_buffer_bytes),
	  .help = "bytes of log lines a container keeps for the master" },
	{ .flag = "log-buffer-total", .env = { "BERTH_LOG_BUFFER_TOTAL" },
	  .type = OPT_INT, .arg = "BYTES", .min = 1048576, .max = 2147483647,
	  .def = "67108864", .offset = OFF(log_buffer_total),
	  .help = "bytes of log lines all containers keep for the master" },
	{ .flag = "peer-address", .env = { "BERTH_PEER_ADDRESS" },
	  .type = OPT_STRING, .arg = "IP", .offset = OFF(peer_address),
	  .def_help = "the address the master connection leaves from",
	  .check = config_check_peer_address,
	  .help = "this node's underlay IPv4 address: other nodes send its "
	  "containers' traffic there (docs/network.md)" },
	{ .flag = "network", .env = { "BERTH_NETWORK" }, .type = OPT_ENUM,
	  .arg = "on|off", .choices = "on|off", .def = "on",
	  .offset = OFF(network),
	  .help = "the grid network's data plane (bridge, VXLAN, DNS); off: "
	  "containers stay on Docker's default bridge (agents sharing one "
	  "engine)" },
	{ .flag = "network-recheck", .env = { "BERTH_NETWORK_RECHECK_S" },
	  .type = OPT_INT, .arg = "S", .min = 1, .max = CONFIG_S_MAX,
	  .unit = "s", .def = "30", .offset = OFF(network_recheck_s),
	  .help = "seconds between checks of the grid network's data plane "
	  "(routes, devices, a refused subnet) without a new peer list" },
	{ .flag = "resolv-conf", .env = { "BERTH_RESOLV_CONF" },
	  .type = OPT_STRING, .arg = "FILE", .def = "/etc/resolv.conf",
	  .offset = OFF(resolv_conf),
	  .help = "the node's own resolvers: the grid's DNS server forwards "
	  "names outside the grid to its nameservers (docs/dns.md)" },
};

const struct opt_table agent_config_table = {
	.prog = "berth-agent",
	.about = "Runs the containers the berth master wants on this node's "
	    "Docker Engine.",
	.opts = config_opts,
	.nopts = sizeof config_opts / sizeof config_opts[0],
	.footer = "Kontena's names are accepted as aliases; the BERTH_ name "
	    "wins when both are set.\nWithout a grid token the agent needs "
	    "a node token from an earlier join in\n<data-dir>/node-token. "
	    "See docs/agent.md.\n",
};

/* BERTH_PEER_ADDRESS: an IPv4 address. */
static int
config_check_peer_address(void *v, const char *from, char **cause)
{
	struct agent_config *cfg = v;
	uint32_t ip;

	if (cfg->peer_address == NULL || *cfg->peer_address == '\0' ||
	    netaddr_parse_ip(cfg->peer_address, &ip) == 0)
		return 0;
	xasprintf(cause, "%s: expected an IPv4 address such as 10.0.0.5",
	    from);
	return -1;
}

/* BERTH_LABELS: the list replaces what an earlier source gave. */
static int
config_set_labels(void *v, const char *from, const char *value, char **cause)
{
	struct agent_config *cfg = v;
	size_t i;

	for (i = 0; i < cfg->nlabels; i++)
		free(cfg->labels[i]);
	free(cfg->labels);
	cfg->labels = NULL;
	cfg->nlabels = 0;
	return agent_config_parse_labels(from, value, &cfg->labels,
	    &cfg->nlabels, cause);
}

static void
config_masters_free(struct agent_config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->nmasters; i++) {
		free(cfg->masters[i].host);
		free(cfg->masters[i].path);
	}
	memset(cfg->masters, 0, sizeof cfg->masters);
	memset(&cfg->master, 0, sizeof cfg->master);
	cfg->nmasters = 0;
}

/*
 * BERTH_URL is required; it parses into cfg->masters (a comma-separated
 * list names every master of a cluster, one scheme for all), the first
 * also in cfg->master.
 */
static int
config_check_url(void *v, const char *from, char **cause)
{
	struct agent_config *cfg = v;
	const char *p, *e;
	char *one;
	int rc;

	config_masters_free(cfg);
	if (cfg->url == NULL || *cfg->url == '\0') {
		xasprintf(cause, "%s is not set (the master's agent endpoint, "
		    "e.g. ws://master:9293)", from);
		return -1;
	}
	for (p = cfg->url; *p != '\0'; p = *e == ',' ? e + 1 : e) {
		while (*p == ' ')
			p++;
		e = p + strcspn(p, ",");
		if (e == p)
			continue;
		if (cfg->nmasters == AGENT_MAX_MASTERS) {
			xasprintf(cause, "%s: more than %d masters", from,
			    AGENT_MAX_MASTERS);
			config_masters_free(cfg);
			return -1;
		}
		one = xstrndup(p, (size_t)(e - p));
		while (*one != '\0' && one[strlen(one) - 1] == ' ')
			one[strlen(one) - 1] = '\0';
		rc = agent_config_parse_url(from, one,
		    &cfg->masters[cfg->nmasters], cause);
		free(one);
		if (rc != 0) {
			config_masters_free(cfg);
			return -1;
		}
		if (cfg->masters[cfg->nmasters].tls != cfg->masters[0].tls) {
			xasprintf(cause, "%s: every master must use the same "
			    "scheme (ws:// or wss://)", from);
			cfg->nmasters++;
			config_masters_free(cfg);
			return -1;
		}
		cfg->nmasters++;
	}
	if (cfg->nmasters == 0) {
		xasprintf(cause, "%s names no master", from);
		return -1;
	}
	cfg->master = cfg->masters[0];
	return 0;
}

int
agent_config_find_master(const struct agent_config *cfg, const char *url)
{
	struct config_url u;
	char *cause = NULL;
	size_t i;
	int found = -1;

	if (agent_config_parse_url("url", url, &u, &cause) != 0) {
		free(cause);
		return -1;
	}
	for (i = 0; i < cfg->nmasters && found < 0; i++)
		if (cfg->masters[i].tls == u.tls &&
		    cfg->masters[i].port == u.port &&
		    strcasecmp(cfg->masters[i].host, u.host) == 0)
			found = (int)i;
	free(u.host);
	free(u.path);
	return found;
}

/* An empty token is none; one with whitespace would break the header. */
static int
config_check_token(void *v, const char *from, char **cause)
{
	struct agent_config *cfg = v;

	if (cfg->grid_token != NULL && *cfg->grid_token == '\0') {
		free(cfg->grid_token);
		cfg->grid_token = NULL;
	}
	if (cfg->grid_token != NULL &&
	    strpbrk(cfg->grid_token, "\r\n\t ") != NULL) {
		xasprintf(cause, "%s: contains whitespace", from);
		return -1;
	}
	return 0;
}

/* Unset or empty: the hostname, made valid. Given: must be valid. */
static int
config_check_node_name(void *v, const char *from, char **cause)
{
	struct agent_config *cfg = v;
	char host[256];

	if (cfg->node_name == NULL || *cfg->node_name == '\0') {
		if (gethostname(host, sizeof host) != 0)
			strcpy(host, "node");
		host[sizeof host - 1] = '\0';
		free(cfg->node_name);
		cfg->node_name = agent_config_node_name_from_host(host);
	} else if (!util_name_valid(cfg->node_name)) {
		xasprintf(cause, "%s: want " UTIL_NAME_RULE ", got \"%s\"", from,
		    cfg->node_name);
		return -1;
	}
	return 0;
}

static int
config_check_data_dir(void *v, const char *from, char **cause)
{
	struct agent_config *cfg = v;

	if (*cfg->data_dir == '\0') {
		xasprintf(cause, "%s: is empty", from);
		return -1;
	}
	return 0;
}

static int
config_check_docker_host(void *v, const char *from, char **cause)
{
	struct agent_config *cfg = v;

	return agent_config_parse_docker_host(from, cfg->docker_host,
	    &cfg->docker_socket, cause);
}

/* Empty is none; a given file must be readable now, not at first connect. */
static int
config_check_ca_cert(void *v, const char *from, char **cause)
{
	struct agent_config *cfg = v;

	if (cfg->ca_cert != NULL && *cfg->ca_cert == '\0') {
		free(cfg->ca_cert);
		cfg->ca_cert = NULL;
	}
	if (cfg->ca_cert != NULL && access(cfg->ca_cert, R_OK) != 0) {
		xasprintf(cause, "%s: cannot read %s: %s", from, cfg->ca_cert,
		    strerror(errno));
		return -1;
	}
	return 0;
}

static int
config_check_master_pin(void *v, const char *from, char **cause)
{
	struct agent_config *cfg = v;

	if (cfg->master_pin == NULL || *cfg->master_pin == '\0')
		return 0;
	if (tlsutil_pin_parse(cfg->master_pin, cfg->pin) != 0) {
		xasprintf(cause, "%s: want sha256//<base64> or sha256:<64 hex> "
		    "(the master logs its pin)", from);
		return -1;
	}
	cfg->has_pin = 1;
	return 0;
}

int
agent_config_parse_labels(const char *what, const char *s, char ***labels,
    size_t *nlabels, char **cause)
{
	const char *p = s, *start;
	char *label, **out = NULL;
	size_t n = 0, i, klen, hdr = 0;

	for (;;) {
		while (*p == ',' || isspace((unsigned char)*p))
			p++;
		if (*p == '\0')
			break;
		start = p;
		while (*p != '\0' && *p != ',' && !isspace((unsigned char)*p))
			p++;
		label = xstrndup(start, (size_t)(p - start));
		if (!util_label_valid(label)) {
			xasprintf(cause, "%s: invalid label \"%s\" (want key=value,"
			    " key of [A-Za-z0-9._-])", what, label);
			free(label);
			goto fail;
		}
		/* The master refuses a Berth-Node-Labels it cannot hold. */
		hdr += (n > 0) + strlen(label);
		if (n == PROTO_MAX_LABELS || hdr > PROTO_MAX_LABELS_HDR) {
			xasprintf(cause, "%s: more than %d labels or %d bytes",
			    what, PROTO_MAX_LABELS, PROTO_MAX_LABELS_HDR);
			free(label);
			goto fail;
		}
		klen = (size_t)(strchr(label, '=') - label);
		for (i = 0; i < n; i++) {
			if (strncmp(out[i], label, klen + 1) == 0) {
				xasprintf(cause, "%s: label key \"%.*s\" given "
				    "twice", what, (int)klen, label);
				free(label);
				goto fail;
			}
		}
		out = xreallocarray(out, n + 1, sizeof *out);
		out[n++] = label;
	}
	*labels = out;
	*nlabels = n;
	return 0;
fail:
	for (i = 0; i < n; i++)
		free(out[i]);
	free(out);
	return -1;
}

char *
agent_config_labels_join(char **labels, size_t nlabels)
{
	struct buf b = { NULL, 0, 0 };
	size_t i;

	buf_append(&b, "", 0);
	for (i = 0; i < nlabels; i++)
		buf_printf(&b, "%s%s", i ? "," : "", labels[i]);
	return b.data;
}

int
agent_config_parse_url(const char *what, const char *s, struct config_url *u,
    char **cause)
{
	const char *p, *host, *hend, *slash;
	char *end;
	long port;

	memset(u, 0, sizeof *u);
	if (strncmp(s, "ws://", 5) == 0 || strncmp(s, "http://", 7) == 0)
		u->tls = 0;
	else if (strncmp(s, "wss://", 6) == 0 || strncmp(s, "https://", 8) == 0)
		u->tls = 1;
	else {
		xasprintf(cause, "%s: want ws://host[:port] or wss://..., got "
		    "\"%s\"", what, s);
		return -1;
	}
	p = strstr(s, "://") + 3;
	slash = strchr(p, '/');
	if (slash == NULL)
		slash = p + strlen(p);
	if (*p == '[') {		/* [v6]:port */
		host = p + 1;
		hend = memchr(host, ']', (size_t)(slash - host));
		if (hend == NULL)
			goto bad;
		p = hend + 1;
	} else {
		host = p;
		hend = memchr(host, ':', (size_t)(slash - host));
		if (hend == NULL)
			hend = slash;
		p = hend;
	}
	if (hend == host)
		goto bad;
	u->port = u->tls ? 443 : 80;
	if (*p == ':') {
		port = strtol(p + 1, &end, 10);
		if (end == p + 1 || end != slash || port < 1 || port > 65535)
			goto bad;
		u->port = (int)port;
	} else if (p != slash)
		goto bad;
	u->host = xstrndup(host, (size_t)(hend - host));
	if (strpbrk(u->host, " \t@?#") != NULL) {
		free(u->host);
		u->host = NULL;
		goto bad;
	}
	u->path = xstrdup(*slash == '/' ? slash : "/");
	return 0;
bad:
	xasprintf(cause, "%s: cannot parse host and port of \"%s\"", what, s);
	return -1;
}

int
agent_config_parse_docker_host(const char *what, const char *s, char **path,
    char **cause)
{
	if (*s == '\0')
		s = CONFIG_DEFAULT_DOCKER;
	if (strncmp(s, "unix://", 7) != 0) {
		xasprintf(cause, "%s: only unix:// sockets are supported, got "
		    "\"%s\"", what, s);
		return -1;
	}
	if (s[7] != '/') {
		xasprintf(cause, "%s: want an absolute socket path as in "
		    "unix:///var/run/docker.sock, got \"%s\"", what, s);
		return -1;
	}
	*path = xstrdup(s + 7);
	return 0;
}

char *
agent_config_node_name_from_host(const char *host)
{
	char *name, *p;
	size_t len = strlen(host);

	if (len > UTIL_NAME_MAX)
		len = UTIL_NAME_MAX;
	if (len == 0)
		return xstrdup("node");
	name = xstrndup(host, len);
	for (p = name; *p != '\0'; p++) {
		*p = (char)tolower((unsigned char)*p);
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
			*p = '-';
	}
	/* A name begins with a letter or digit ("_build" -> "build"). */
	for (p = name; *p == '-'; p++)
		;
	if (*p == '\0') {
		free(name);
		return xstrdup("node");
	}
	memmove(name, p, strlen(p) + 1);
	return name;
}

void
agent_config_usage(FILE *out)
{
	opt_usage(&agent_config_table, out);
}

/* The rule across rows, once every row was read and checked. */
static int
config_finish(struct agent_config *cfg, char **cause)
{
	if ((cfg->has_pin || cfg->ca_cert != NULL) && !cfg->master.tls) {
		xasprintf(cause, "BERTH_MASTER_PIN and BERTH_CA_CERT verify a "
		    "TLS master: BERTH_URL must be wss://");
		return -1;
	}
	return 0;
}

int
agent_config_load(struct agent_config *cfg, int argc, char **argv,
    config_getenv_fn get, void *arg, FILE *out, char **cause)
{
	int rc;

	memset(cfg, 0, sizeof *cfg);
	rc = opt_parse(&agent_config_table, cfg, argc, argv, get, arg, out,
	    cause);
	if (rc != 0)
		return rc;
	return config_finish(cfg, cause);
}

void
agent_config_free(struct agent_config *cfg)
{
	size_t i;

	opt_free(&agent_config_table, cfg);	/* zeroes the grid token */
	config_masters_free(cfg);	/* cfg->master is a copy of [0] */
	for (i = 0; i < cfg->nlabels; i++)
		free(cfg->labels[i]);
	free(cfg->labels);
	free(cfg->docker_socket);
	memset(cfg, 0, sizeof *cfg);
}

const char *
agent_config_version(void)
{
	return BERTH_VERSION;
}

int
agent_config_check_plain(const struct agent_config *cfg, char **cause)
{
	size_t i;

	for (i = 0; i < cfg->nmasters; i++)
		if (!cfg->masters[i].tls && !cfg->insecure_plain &&
		    !tlsutil_host_loopback(cfg->masters[i].host))
			break;
	if (i == cfg->nmasters && (cfg->nmasters > 0 || cfg->master.tls ||
	    cfg->insecure_plain || tlsutil_host_loopback(cfg->master.host)))
		return 0;
	xasprintf(cause, "BERTH_URL: %s is plain ws:// to a non-loopback "
	    "master, which would send the tokens in clear: use wss:// (with "
	    "BERTH_MASTER_PIN or BERTH_CA_CERT for a self-signed master) or "
	    "set BERTH_INSECURE_PLAIN=1", cfg->url);
	return -1;
}

/* An instance id: 1 to 255 of [A-Za-z0-9._:/-] (what the master takes). */
static int
config_check_provider_id(void *v, const char *from, char **cause)
{
	struct agent_config *cfg = v;
	const char *id = cfg->provider_id;

	if (id == NULL)
		return 0;
	if (*id == '\0') {
		free(cfg->provider_id);
		cfg->provider_id = NULL;
		return 0;
	}
	if (strlen(id) > PROTO_PROVIDER_ID_MAX || strspn(id,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._:/-") != strlen(id)) {
		xasprintf(cause, "%s: 1 to %d of [A-Za-z0-9._:/-]", from,
		    PROTO_PROVIDER_ID_MAX);
		return -1;
	}
	return 0;
}
