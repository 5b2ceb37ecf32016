/*
 * config.c - the agent's settings from the environment and the command line.
 *
 * Called once by main() before any thread starts; the result is read-only
 * afterwards. One table (config_opts) declares every setting: its flag, the
 * env names that set it (BERTH_* first, Kontena aliases after), its kind and
 * its help line; parsing, --help and the docs all follow it. Every error is
 * one line naming the variable or flag, so an operator can fix a
 * cloud-config without reading source. The grid token is never printed.
 */
#include "agent/config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/workers.h"
#include "common/proto.h"
#include "common/tlsutil.h"
#include "common/util.h"
#include "common/xmalloc.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "0.1.0"
#endif

enum config_kind {
	CONFIG_STR,		/* a string, stored as given */
	CONFIG_INT,		/* a positive number of seconds */
	CONFIG_BOOL,		/* 1/0, true/false, yes/no; a bare flag is 1 */
	CONFIG_COUNT,		/* a whole number 1-CONFIG_COUNT_MAX */
};

#define CONFIG_COUNT_MAX	WORKERS_MAX

/* One setting. */
struct config_opt {
	const char	*flag;		/* long flag without "--" */
	const char	*env[3];	/* env names, first found wins */
	enum config_kind kind;		/* how the value is parsed */
	size_t		 offset;	/* field in struct agent_config */
	const char	*defval;	/* default, NULL for none */
	const char	*help;		/* one line for --help */
};

#define OFF(f) offsetof(struct agent_config, f)

static const struct config_opt config_opts[] = {
	{ "url", { "BERTH_URL", "KONTENA_URI", "KONTENA_URL" }, CONFIG_STR,
	  OFF(url), NULL, "master agent endpoint, ws://host:9293 or wss://..." },
	{ "token", { "BERTH_TOKEN", "KONTENA_TOKEN", NULL }, CONFIG_STR,
	  OFF(grid_token), NULL, "grid token, used to join (prefer the env)" },
	{ "labels", { "BERTH_LABELS", "KONTENA_NODE_LABELS", NULL },
	  CONFIG_STR, OFF(url) /* unused: parsed apart */, "",
	  "node labels, k=v separated by commas or spaces" },
	{ "node-name", { "BERTH_NODE_NAME", NULL, NULL }, CONFIG_STR,
	  OFF(node_name), NULL, "node name [a-z0-9-]{1,63} (default: hostname)" },
	{ "data-dir", { "BERTH_DATA_DIR", NULL, NULL }, CONFIG_STR,
	  OFF(data_dir), CONFIG_DEFAULT_DATA_DIR,
	  "keeps node-id and node-token (mode 0600)" },
	{ "docker-host", { "DOCKER_HOST", NULL, NULL }, CONFIG_STR,
	  OFF(docker_host), CONFIG_DEFAULT_DOCKER,
	  "Docker Engine socket, unix:///path only" },
	{ "log-level", { "BERTH_LOG_LEVEL", NULL, NULL }, CONFIG_STR,
	  OFF(log_level), "info", "error, warn, info or debug" },
	{ "stats-interval", { "BERTH_STATS_INTERVAL_S", NULL, NULL },
	  CONFIG_INT, OFF(stats_interval_s), "5",
	  "seconds between stats frames" },
	{ "resync-interval", { "BERTH_RESYNC_INTERVAL_S", NULL, NULL },
	  CONFIG_INT, OFF(resync_interval_s), "10",
	  "seconds between full state reports" },
	{ "backoff-max", { "BERTH_BACKOFF_MAX_S", NULL, NULL }, CONFIG_INT,
	  OFF(backoff_max_s), "30", "reconnect backoff cap in seconds" },
	{ "docker-concurrency", { "BERTH_DOCKER_CONCURRENCY", NULL, NULL },
	  CONFIG_COUNT, OFF(docker_concurrency), "8",
	  "Docker actions (create, start, stop+remove) run at once, 1-64" },
	{ "ca-cert", { "BERTH_CA_CERT", NULL, NULL }, CONFIG_STR,
	  OFF(ca_cert), NULL,
	  "wss: trust only this PEM CA (or the master's self-signed cert)" },
	{ "master-pin", { "BERTH_MASTER_PIN", NULL, NULL }, CONFIG_STR,
	  OFF(master_pin), NULL,
	  "wss: the master's public-key pin, sha256//<base64> or sha256:<hex>" },
	{ "insecure-plain", { "BERTH_INSECURE_PLAIN", NULL, NULL }, CONFIG_BOOL,
	  OFF(insecure_plain), NULL,
	  "allow ws:// to a non-loopback master (tokens in clear)" },
};
#define CONFIG_NOPTS (sizeof config_opts / sizeof config_opts[0])
#define CONFIG_LABELS_IDX 2	/* the labels entry: not a plain field */

static const char *
config_real_getenv(const char *name, void *arg)
{
	(void)arg;
	return getenv(name);
}

static int
config_parse_int(const char *what, const char *s, int *out, char **cause)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 1 || v > 86400) {
		xasprintf(cause, "%s: want whole seconds 1-86400, got \"%s\"",
		    what, s);
		return -1;
	}
	*out = (int)v;
	return 0;
}

static int
config_parse_count(const char *what, const char *s, int *out, char **cause)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 1 ||
	    v > CONFIG_COUNT_MAX) {
		xasprintf(cause, "%s: want a whole number 1-%d, got \"%s\"",
		    what, CONFIG_COUNT_MAX, s);
		return -1;
	}
	*out = (int)v;
	return 0;
}

/* Apply one value to its setting; what names its source for errors. */
static int
config_set(struct agent_config *cfg, size_t idx, const char *what,
    const char *value, char **cause)
{
	const struct config_opt *o = &config_opts[idx];
	char **sp;

	if (idx == CONFIG_LABELS_IDX) {
		size_t i;

		for (i = 0; i < cfg->nlabels; i++)
			free(cfg->labels[i]);
		free(cfg->labels);
		cfg->labels = NULL;
		cfg->nlabels = 0;
		return agent_config_parse_labels(what, value, &cfg->labels,
		    &cfg->nlabels, cause);
	}
	if (o->kind == CONFIG_COUNT)
		return config_parse_count(what, value,
		    (int *)((char *)cfg + o->offset), cause);
	if (o->kind == CONFIG_INT)
		return config_parse_int(what, value,
		    (int *)((char *)cfg + o->offset), cause);
	if (o->kind == CONFIG_BOOL) {
		int *bp = (int *)((char *)cfg + o->offset);

		if (value == NULL || strcmp(value, "1") == 0 ||
		    strcmp(value, "true") == 0 || strcmp(value, "yes") == 0)
			*bp = 1;
		else if (*value == '\0' || strcmp(value, "0") == 0 ||
		    strcmp(value, "false") == 0 || strcmp(value, "no") == 0)
			*bp = 0;
		else {
			xasprintf(cause, "%s: want 1 or 0, got \"%s\"", what,
			    value);
			return -1;
		}
		return 0;
	}
	sp = (char **)((char *)cfg + o->offset);
	free(*sp);
	*sp = xstrdup(value);
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
	return name;
}

void
agent_config_usage(FILE *out)
{
	size_t i;

	fprintf(out, "usage: berth-agent [flags]\n\n"
	    "Runs the containers the berth master wants on this node's "
	    "Docker Engine.\nEvery flag can also be given by environment "
	    "variable; flags win.\n\n");
	for (i = 0; i < CONFIG_NOPTS; i++) {
		const struct config_opt *o = &config_opts[i];

		fprintf(out, "  --%-18s %s", o->flag, o->env[0]);
		if (o->env[1] != NULL)
			fprintf(out, " (%s%s%s)", o->env[1],
			    o->env[2] ? ", " : "", o->env[2] ? o->env[2] : "");
		fprintf(out, "\n      %s", o->help);
		if (o->defval != NULL && *o->defval != '\0')
			fprintf(out, " [default %s]", o->defval);
		fprintf(out, "\n");
	}
	fprintf(out, "  --help, --version\n");
}

/* Everything derived from the raw values, after env and flags. */
static int
config_finish(struct agent_config *cfg, char **cause)
{
	char host[256], *name;

	if (cfg->url == NULL || *cfg->url == '\0') {
		xasprintf(cause, "BERTH_URL is not set (the master's agent "
		    "endpoint, e.g. ws://master:9293)");
		return -1;
	}
	if (agent_config_parse_url("BERTH_URL", cfg->url, &cfg->master, cause) != 0)
		return -1;
	if (cfg->master_pin != NULL && *cfg->master_pin != '\0') {
		if (tlsutil_pin_parse(cfg->master_pin, cfg->pin) != 0) {
			xasprintf(cause, "BERTH_MASTER_PIN: want sha256//<base64> "
			    "or sha256:<64 hex> (the master logs its pin)");
			return -1;
		}
		cfg->has_pin = 1;
	}
	if (cfg->ca_cert != NULL && *cfg->ca_cert == '\0') {
		free(cfg->ca_cert);
		cfg->ca_cert = NULL;
	}
	if (cfg->ca_cert != NULL && access(cfg->ca_cert, R_OK) != 0) {
		xasprintf(cause, "BERTH_CA_CERT: cannot read %s: %s",
		    cfg->ca_cert, strerror(errno));
		return -1;
	}
	if ((cfg->has_pin || cfg->ca_cert != NULL) && !cfg->master.tls) {
		xasprintf(cause, "BERTH_MASTER_PIN and BERTH_CA_CERT verify a "
		    "TLS master: BERTH_URL must be wss://");
		return -1;
	}
	if (cfg->grid_token != NULL && *cfg->grid_token == '\0') {
		free(cfg->grid_token);
		cfg->grid_token = NULL;
	}
	if (cfg->grid_token != NULL &&
	    strpbrk(cfg->grid_token, "\r\n\t ") != NULL) {
		xasprintf(cause, "BERTH_TOKEN: contains whitespace");
		return -1;
	}
	if (cfg->node_name == NULL || *cfg->node_name == '\0') {
		if (gethostname(host, sizeof host) != 0)
			strcpy(host, "node");
		host[sizeof host - 1] = '\0';
		name = agent_config_node_name_from_host(host);
		free(cfg->node_name);
		cfg->node_name = name;
	} else if (!util_name_valid(cfg->node_name)) {
		xasprintf(cause, "BERTH_NODE_NAME: want [a-z0-9-]{1,63}, got "
		    "\"%s\"", cfg->node_name);
		return -1;
	}
	if (*cfg->data_dir == '\0') {
		xasprintf(cause, "BERTH_DATA_DIR: is empty");
		return -1;
	}
	if (agent_config_parse_docker_host("DOCKER_HOST", cfg->docker_host,
	    &cfg->docker_socket, cause) != 0)
		return -1;
	if (strcmp(cfg->log_level, "error") != 0 &&
	    strcmp(cfg->log_level, "warn") != 0 &&
	    strcmp(cfg->log_level, "info") != 0 &&
	    strcmp(cfg->log_level, "debug") != 0) {
		xasprintf(cause, "BERTH_LOG_LEVEL: want error, warn, info or "
		    "debug, got \"%s\"", cfg->log_level);
		return -1;
	}
	return 0;
}

int
agent_config_load(struct agent_config *cfg, int argc, char **argv,
    config_getenv_fn get, void *arg, FILE *out, char **cause)
{
	struct option lopts[CONFIG_NOPTS + 3];
	const char *v;
	char what[64];
	size_t i, j;
	int c, idx;

	memset(cfg, 0, sizeof *cfg);
	if (get == NULL)
		get = config_real_getenv;

	/* Defaults, then the environment. */
	for (i = 0; i < CONFIG_NOPTS; i++) {
		if (config_opts[i].defval != NULL &&
		    config_set(cfg, i, config_opts[i].flag,
		    config_opts[i].defval, cause) != 0)
			return -1;
		for (j = 0; j < 3 && config_opts[i].env[j] != NULL; j++) {
			v = get(config_opts[i].env[j], arg);
			if (v == NULL)
				continue;
			if (config_set(cfg, i, config_opts[i].env[j], v,
			    cause) != 0)
				return -1;
			break;
		}
	}

	/* Then flags. */
	for (i = 0; i < CONFIG_NOPTS; i++) {
		lopts[i].name = config_opts[i].flag;
		lopts[i].has_arg = config_opts[i].kind == CONFIG_BOOL ?
		    optional_argument : required_argument;
		lopts[i].flag = NULL;
		lopts[i].val = 1000 + (int)i;
	}
	lopts[i] = (struct option){ "help", no_argument, NULL, 'h' };
	lopts[i + 1] = (struct option){ "version", no_argument, NULL, 'V' };
	lopts[i + 2] = (struct option){ NULL, 0, NULL, 0 };
	optind = 0;		/* GNU: full re-initialisation (tests) */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "hV", lopts, &idx)) != -1) {
		if (c == 'h') {
			agent_config_usage(out);
			return 1;
		}
		if (c == 'V') {
			fprintf(out, "berth-agent %s\n", BERTH_VERSION);
			return 1;
		}
		if (c < 1000) {
			xasprintf(cause, "unknown flag or missing value: %s "
			    "(see --help)", argv[optind - 1]);
			return -1;
		}
		i = (size_t)(c - 1000);
		snprintf(what, sizeof what, "--%s", config_opts[i].flag);
		if (config_set(cfg, i, what, optarg, cause) != 0)
			return -1;
	}
	if (optind < argc) {
		xasprintf(cause, "unexpected argument: %s", argv[optind]);
		return -1;
	}
	return config_finish(cfg, cause);
}

void
agent_config_free(struct agent_config *cfg)
{
	size_t i;

	free(cfg->url);
	free(cfg->master.host);
	free(cfg->master.path);
	if (cfg->grid_token != NULL)
		explicit_bzero(cfg->grid_token, strlen(cfg->grid_token));
	free(cfg->grid_token);
	for (i = 0; i < cfg->nlabels; i++)
		free(cfg->labels[i]);
	free(cfg->labels);
	free(cfg->node_name);
	free(cfg->data_dir);
	free(cfg->docker_host);
	free(cfg->docker_socket);
	free(cfg->log_level);
	free(cfg->ca_cert);
	free(cfg->master_pin);
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
	if (cfg->master.tls || cfg->insecure_plain ||
	    tlsutil_host_loopback(cfg->master.host))
		return 0;
	xasprintf(cause, "BERTH_URL: %s is plain ws:// to a non-loopback "
	    "master, which would send the tokens in clear: use wss:// (with "
	    "BERTH_MASTER_PIN or BERTH_CA_CERT for a self-signed master) or "
	    "set BERTH_INSECURE_PLAIN=1", cfg->url);
	return -1;
}
