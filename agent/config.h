/*
 * config.h - the agent's configuration: environment variables and flags.
 *
 * One table (config.c) declares every setting with its flag, its env names
 * (BERTH_* first, then the Kontena aliases), its type, default and help
 * line; the option engine (common/opt.c) drives parsing, validation and
 * --help from it, and docs/agent.md lists the same rows. Flags override
 * the environment.
 */
#ifndef BERTH_AGENT_CONFIG_H
#define BERTH_AGENT_CONFIG_H

#include <stdio.h>
#include <stddef.h>

#include "common/opt.h"

#define CONFIG_DEFAULT_DATA_DIR	"/var/lib/berth-agent"
#define CONFIG_DEFAULT_DOCKER	"unix:///var/run/docker.sock"

/* A parsed master address. */
struct config_url {
	int	 tls;		/* 1 for wss:// (or https://) */
	char	*host;		/* host name or address, without [] for IPv6 */
	int	 port;		/* explicit port, else 80 / 443 */
	char	*path;		/* request path, "/" when none was given */
};

#define AGENT_MAX_MASTERS	16

struct agent_config {
	char		*url;		/* BERTH_URL as given (for logs) */
	struct config_url master;	/* BERTH_URL's first master (a copy
					   of masters[0]: not freed itself) */
	struct config_url masters[AGENT_MAX_MASTERS]; /* BERTH_URL, a
					   comma-separated list with several
					   masters (docs/ha.md) */
	size_t		 nmasters;
	char		*grid_token;	/* BERTH_TOKEN, NULL if unset; secret */
	char	       **labels;	/* BERTH_LABELS split: "k=v" each */
	char		*provider_id;	/* BERTH_PROVIDER_ID: the instance id
					   at a node group's provider, or NULL */
	size_t		 nlabels;	/* entries in labels */
	char		*node_name;	/* BERTH_NODE_NAME or from hostname */
	char		*data_dir;	/* BERTH_DATA_DIR: node-id, node-token */
	char		*docker_host;	/* DOCKER_HOST as given */
	char		*docker_socket;	/* its unix socket path */
	char		*log_level;	/* BERTH_LOG_LEVEL: error..debug */
	int		 stats_interval_s;  /* BERTH_STATS_INTERVAL_S */
	int		 resync_interval_s; /* BERTH_RESYNC_INTERVAL_S */
	int		 backoff_max_s;	/* BERTH_BACKOFF_MAX_S: reconnect cap */
	int		 connect_timeout_s; /* BERTH_CONNECT_TIMEOUT_S: each
					   step of a connection attempt */
	int		 retire_grace_s; /* BERTH_RETIRE_GRACE_S: removed
					   node not readmitted: stop */
	int		 docker_concurrency; /* BERTH_DOCKER_CONCURRENCY: workers */
	int		 cpus;		/* BERTH_CPUS: capacity offered, 0:
					   the machine's */
	char		*ca_cert;	/* BERTH_CA_CERT: the only CA for wss */
	char		*master_pin;	/* BERTH_MASTER_PIN as given */
	unsigned char	 pin[32];	/* its 32 bytes, when has_pin */
	int		 has_pin;	/* verify the master's key by pin */
	int		 insecure_plain; /* BERTH_INSECURE_PLAIN: ws:// anywhere */
	int		 log_buffer_lines; /* BERTH_LOG_BUFFER_LINES, per container */
	int		 log_buffer_bytes; /* BERTH_LOG_BUFFER_BYTES, per container */
	int		 log_buffer_total; /* BERTH_LOG_BUFFER_TOTAL, all of them */
	char		*peer_address;	/* BERTH_PEER_ADDRESS, or NULL: the
					   address the master connection
					   leaves from */
	char		*network;	/* BERTH_NETWORK: "on" or "off" */
	int		 network_recheck_s; /* BERTH_NETWORK_RECHECK_S: the data
					   plane is checked this often */
	char		*resolv_conf;	/* BERTH_RESOLV_CONF: upstreams */
};

/* How agent_config_load() reads the environment (tests pass a fake). */
typedef opt_getenv_fn config_getenv_fn;

/* The option table (tests print and check it). */
extern const struct opt_table agent_config_table;

/*
 * Fill cfg from the environment (via get, or getenv(3) when NULL) and then
 * argv. Returns 0; 1 if --help or --version was asked (printed to out);
 * -1 with *cause (one line naming the variable or flag) on a bad value.
 * cfg must be freed with agent_config_free() in every case.
 */
int	 agent_config_load(struct agent_config *cfg, int argc, char **argv,
	    config_getenv_fn get, void *arg, FILE *out, char **cause);
void	 agent_config_free(struct agent_config *cfg);

/*
 * The plain-text policy: ws:// only to a loopback master or with
 * BERTH_INSECURE_PLAIN=1. 0, or -1 with *cause.
 */
int	 agent_config_check_plain(const struct agent_config *cfg, char **cause);

/* Print --help: the flags and variables of the table. */
void	 agent_config_usage(FILE *out);

/*
 * Pure parsers, exposed for tests. Each returns 0, or -1 with *cause
 * (prefixed with what, e.g. "BERTH_LABELS").
 */
int	 agent_config_parse_labels(const char *what, const char *s, char ***labels,
	    size_t *nlabels, char **cause);
int	 agent_config_parse_url(const char *what, const char *s, struct config_url *u,
	    char **cause);
int	 agent_config_parse_docker_host(const char *what, const char *s,
	    char **path, char **cause);
/*
 * The index in cfg->masters of the master at url (a 4013's leader: same
 * scheme, host and port), or -1 when BERTH_URL does not list it.
 */
int	 agent_config_find_master(const struct agent_config *cfg,
	    const char *url);
/* Hostname -> valid node name: lowercase, invalid characters become '-'. */
char	*agent_config_node_name_from_host(const char *host);
/* "k=v,k=v" of the labels (the Berth-Node-Labels header); caller frees. */
char	*agent_config_labels_join(char **labels, size_t nlabels);
/* The agent version string (Berth-Agent-Version). */
const char *agent_config_version(void);

#endif
