/*
 * config.h - berth-master's options: one table drives flags, env, --help.
 *
 * Every option is a flag (--data-dir) and an environment variable
 * (BERTH_DATA_DIR); a flag wins over the environment, which wins over the
 * default. The rows live in config.c, the engine in common/opt.c.
 * config_parse() runs once in main() before any thread starts; the result
 * is read-only afterwards.
 */
#ifndef BERTH_MASTER_CONFIG_H
#define BERTH_MASTER_CONFIG_H

#include <stdio.h>

#include "common/opt.h"

struct master_config {
	char	*data_dir;	/* holds berth.db, master.key, token files */
	char	*api_listen;	/* host:port of the REST API */
	char	*agent_listen;	/* host:port of the agent websocket */
	char	*log_level;	/* error, warn, info, debug */
	char	*public_url;	/* API URL agents and cloud-configs use */
	char	*agent_url;	/* websocket URL put in cloud-configs */
	char	*agent_binary;	/* path of the berth-agent binary to serve */
	int	 tick_ms;	/* scheduler tick */
	int	 api_threads;	/* libmicrohttpd thread pool size */
	int	 deploy_timeout_s; /* a deploy not done by then fails */
	char	*tls_cert;	/* PEM certificate (chain) to serve, or NULL */
	char	*tls_key;	/* PEM private key of tls_cert, or NULL */
	int	 tls_self_signed; /* make/reuse <data-dir>/tls.{crt,key} */
	char	*tls_san;	/* SANs of a new self-signed cert, or NULL */
	int	 insecure_plain; /* plain http/ws allowed off loopback */
	char	*cluster_address; /* dqlite node's IPv4:port, or NULL */
	char	*join;		/* a member's cluster address, or NULL */
	char	*join_token;	/* for --join (join.h) */
	int	 cluster_latency_ms; /* dqlite's network latency option */
	int	 leader_poll_ms;	/* the leadership watcher's poll */
	int	 cluster_timeout_ms;	/* a store call's bound, retries in */
	char	*dump;		/* --dump FILE: write the store, exit */
	int	 dump_overwrite; /* --dump may replace FILE */
	int	 cluster_recover; /* make the node the only voter, exit */
};

/*
 * Fill cfg from argv and the environment. Returns 0 to run, 1 when --help
 * or --version was printed, -1 with *cause on a bad flag or value.
 */
int	 config_parse(struct master_config *cfg, int argc, char **argv,
	    char **cause);
/* The same with the environment read through get and --help sent to out. */
int	 config_load(struct master_config *cfg, int argc, char **argv,
	    opt_getenv_fn get, void *arg, FILE *out, char **cause);
void	 config_free(struct master_config *cfg);
/* The option table (tests print and check it). */
extern const struct opt_table master_config_table;

/* Split "host:port" (IPv4, [IPv6] or a name). 0, or -1 with *cause. */
int	 config_split_listen(const char *listen, char **host, int *port,
	    char **cause);

#endif
