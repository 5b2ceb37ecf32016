/*
 * config.c - parse berth-master's flags and environment from one table.
 *
 * The table below is the single list of options: parsing, the environment
 * names, the defaults and --help are all driven from it (the Redis
 * config.c idea). Runs on the main thread at start-up only.
 */
#include "master/config.h"

#include "common/xmalloc.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BERTH_VERSION	"0.1.0"

enum config_type {
	CONFIG_STRING,		/* --flag VALUE */
	CONFIG_INT,		/* --flag N, within min..max */
	CONFIG_BOOL,		/* --flag alone; env 1/0, true/false, yes/no */
};

struct config_option {
	const char		*flag;		/* without the leading "--" */
	const char		*env;		/* environment variable */
	enum config_type	 type;		/* how the value parses */
	const char		*def;		/* default, as text (or NULL) */
	size_t			 offset;	/* into struct master_config */
	int			 min, max;	/* bounds for CONFIG_INT */
	const char		*help;		/* one line for --help */
};

#define OPT(f) offsetof(struct master_config, f)

static const struct config_option config_options[] = {
	{ "data-dir", "BERTH_DATA_DIR", CONFIG_STRING, "./data",
	  OPT(data_dir), 0, 0,
	  "directory of berth.db, master.key and the token files" },
	{ "api-listen", "BERTH_API_LISTEN", CONFIG_STRING, "0.0.0.0:9292",
	  OPT(api_listen), 0, 0, "address of the REST API" },
	{ "agent-listen", "BERTH_AGENT_LISTEN", CONFIG_STRING, "0.0.0.0:9293",
	  OPT(agent_listen), 0, 0, "address of the agent websocket" },
	{ "log-level", "BERTH_LOG_LEVEL", CONFIG_STRING, "info",
	  OPT(log_level), 0, 0, "error, warn, info or debug" },
	{ "public-url", "BERTH_PUBLIC_URL", CONFIG_STRING, NULL,
	  OPT(public_url), 0, 0,
	  "API URL that cloud-configs fetch from (default: from the request)" },
	{ "agent-url", "BERTH_AGENT_URL", CONFIG_STRING, NULL,
	  OPT(agent_url), 0, 0,
	  "websocket URL that agents join (default: ws://<api host>:<agent port>)" },
	{ "agent-binary", "BERTH_AGENT_BINARY", CONFIG_STRING, NULL,
	  OPT(agent_binary), 0, 0,
	  "berth-agent binary served to installers (default: beside berth-master)" },
	{ "tick-ms", "BERTH_TICK_MS", CONFIG_INT, "1000",
	  OPT(tick_ms), 10, 60000, "scheduler tick between event wake-ups" },
	{ "deploy-timeout-s", "BERTH_DEPLOY_TIMEOUT_S", CONFIG_INT, "600",
	  OPT(deploy_timeout_s), 1, 86400,
	  "a deploy that has not finished by then ends in error" },
	{ "api-threads", "BERTH_API_THREADS", CONFIG_INT, "4",
	  OPT(api_threads), 1, 64, "REST API worker threads" },
	{ "tls-cert", "BERTH_TLS_CERT", CONFIG_STRING, NULL,
	  OPT(tls_cert), 0, 0,
	  "PEM certificate (chain): serve the API and agents over TLS" },
	{ "tls-key", "BERTH_TLS_KEY", CONFIG_STRING, NULL,
	  OPT(tls_key), 0, 0, "PEM private key of --tls-cert" },
	{ "tls-self-signed", "BERTH_TLS_SELF_SIGNED", CONFIG_BOOL, NULL,
	  OPT(tls_self_signed), 0, 0,
	  "serve TLS with <data-dir>/tls.crt + tls.key, made on first start" },
	{ "tls-san", "BERTH_TLS_SAN", CONFIG_STRING, NULL,
	  OPT(tls_san), 0, 0,
	  "names/IPs of a new self-signed cert, comma-separated (default: "
	  "localhost, 127.0.0.1, ::1, hostname, listen addresses)" },
	{ "insecure-plain", "BERTH_INSECURE_PLAIN", CONFIG_BOOL, NULL,
	  OPT(insecure_plain), 0, 0,
	  "allow plain http/ws on a non-loopback address (tokens in clear)" },
};

#define CONFIG_N (sizeof config_options / sizeof config_options[0])

static void
config_usage(void)
{
	size_t i;

	printf("usage: berth-master [options]\n\n"
	    "The berth master: keeps grid state in SQLite, serves the REST API,\n"
	    "accepts agent websockets and runs the scheduling loop.\n\n"
	    "Options (each also an environment variable; flags win):\n");
	for (i = 0; i < CONFIG_N; i++) {
		const struct config_option *o = &config_options[i];
		char left[64];

		snprintf(left, sizeof left, "--%s%s", o->flag,
		    o->type == CONFIG_INT ? " N" : o->type == CONFIG_BOOL ?
		    "" : " VALUE");
		printf("  %-24s %s\n  %-24s env %s%s%s\n", left, o->help, "",
		    o->env, o->def ? ", default " : "", o->def ? o->def : "");
	}
	printf("  %-24s %s\n  %-24s %s\n  %-24s %s\n", "--print-routes",
	    "print the REST routes and exit", "--help", "this text",
	    "--version", "print the version");
	printf("\nOn first start it creates grid \"default\" and writes\n"
	    "<data-dir>/operator.token and <data-dir>/grid-default.token "
	    "(mode 0600).\n");
	printf("\nTLS: with --tls-cert/--tls-key or --tls-self-signed both the "
	    "API (https)\nand the agent websocket (wss) use TLS. The master "
	    "logs its public-key pin,\nsha256//<base64> (curl's "
	    "--pinnedpubkey form), and cloud-configs carry it as\n"
	    "BERTH_MASTER_PIN; agents and the CLI verify the master by that pin "
	    "or by\nBERTH_CA_CERT. Without TLS the master serves plain "
	    "http/ws only when both\nlisten addresses are loopback, or with "
	    "--insecure-plain. See docs/security.md.\n");
}

static int
config_set(struct master_config *cfg, const struct config_option *o,
    const char *value, const char *from, char **cause)
{
	char *end;
	long v;

	if (o->type == CONFIG_STRING) {
		char **slot = (char **)((char *)cfg + o->offset);

		if (*value == '\0') {
			xasprintf(cause, "%s: empty value", from);
			return -1;
		}
		free(*slot);
		*slot = xstrdup(value);
		return 0;
	}
	if (o->type == CONFIG_BOOL) {
		if (strcmp(value, "1") == 0 || strcmp(value, "true") == 0 ||
		    strcmp(value, "yes") == 0)
			v = 1;
		else if (strcmp(value, "0") == 0 ||
		    strcmp(value, "false") == 0 || strcmp(value, "no") == 0)
			v = 0;
		else {
			xasprintf(cause, "%s: \"%s\" is not 1/0, true/false "
			    "or yes/no", from, value);
			return -1;
		}
		*(int *)((char *)cfg + o->offset) = (int)v;
		return 0;
	}
	errno = 0;
	v = strtol(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0' || v < o->min ||
	    v > o->max) {
		xasprintf(cause, "%s: \"%s\" is not a whole number from %d "
		    "to %d", from, value, o->min, o->max);
		return -1;
	}
	*(int *)((char *)cfg + o->offset) = (int)v;
	return 0;
}

int
config_parse(struct master_config *cfg, int argc, char **argv, char **cause)
{
	const struct config_option *o;
	const char *arg, *value, *env;
	char from[128];
	size_t i, n;
	int k;

	memset(cfg, 0, sizeof *cfg);
	for (i = 0; i < CONFIG_N; i++) {
		o = &config_options[i];
		if ((env = getenv(o->env)) != NULL && *env != '\0') {
			snprintf(from, sizeof from, "%s", o->env);
			if (config_set(cfg, o, env, from, cause) != 0)
				return -1;
		} else if (o->def != NULL &&
		    config_set(cfg, o, o->def, "default", cause) != 0)
			return -1;
	}
	for (k = 1; k < argc; k++) {
		arg = argv[k];
		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			config_usage();
			return 1;
		}
		if (strcmp(arg, "--version") == 0) {
			printf("berth-master %s\n", BERTH_VERSION);
			return 1;
		}
		if (strncmp(arg, "--", 2) != 0) {
			xasprintf(cause, "unexpected argument \"%s\" (see --help)",
			    arg);
			return -1;
		}
		arg += 2;
		for (i = 0; i < CONFIG_N; i++) {
			n = strlen(config_options[i].flag);
			if (strncmp(arg, config_options[i].flag, n) == 0 &&
			    (arg[n] == '\0' || arg[n] == '='))
				break;
		}
		if (i == CONFIG_N) {
			xasprintf(cause, "unknown option --%s (see --help)", arg);
			return -1;
		}
		o = &config_options[i];
		if (arg[n] == '=')
			value = arg + n + 1;
		else if (o->type == CONFIG_BOOL)
			value = "1";
		else if (k + 1 < argc)
			value = argv[++k];
		else {
			xasprintf(cause, "--%s needs a value", o->flag);
			return -1;
		}
		snprintf(from, sizeof from, "--%s", o->flag);
		if (config_set(cfg, o, value, from, cause) != 0)
			return -1;
	}
	return 0;
}

void
config_free(struct master_config *cfg)
{
	size_t i;

	for (i = 0; i < CONFIG_N; i++) {
		if (config_options[i].type == CONFIG_STRING)
			free(*(char **)((char *)cfg + config_options[i].offset));
	}
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
