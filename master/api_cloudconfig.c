/*
 * api_cloudconfig.c - boot by cloud-config: the rendered #cloud-config,
 * the installer it runs and the agent binary the installer fetches.
 *
 *	GET /v1/grids/{g}/cloud-config	(operator token: it holds the grid
 *					 token) ?label=k=v ...&name=N
 *					 &group=G: a node group's nodes (its
 *					 labels and its own join token; for
 *					 aws-asg the instance id from EC2)
 *	GET /install/agent.sh		(open) the installer, text below
 *	GET /install/berth-agent	(open) cfg.agent_binary, else
 *					 <self_dir>/berth-agent
 *
 * Runs on the API threads; reads only the store and the read-only config.
 * The cloud-config writes /etc/berth-agent.env (0600) and runs the
 * installer, which downloads the binary and starts berth-agent.service
 * (docs/cloud-config.md).
 *
 * The installer's text lives in this file so that a master needs nothing
 * from the source tree at run time. scripts/install-agent.sh is the copy
 * people read and edit; after an edit regenerate the string with
 *	sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/\t/\\t/g' \
 *	    -e 's/^/\t"/' -e 's/$/\\n"/' scripts/install-agent.sh
 * tests/integration/cloud_config.sh fails when the two differ.
 *
 * Every value put into the YAML, the env file or the runcmd shell line is
 * checked against a narrow character set first: the Host header is the
 * client's, a label value may be any printable character, and the env file
 * is read both by systemd (EnvironmentFile=) and by the installer, which
 * parse quotes and backslashes differently. Nothing needs quoting then.
 */
#include "master/api.h"
#include "master/cluster.h"
#include "master/grid.h"
#include "master/provider.h"
#include "master/store.h"

#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>
#include <openssl/crypto.h>

#define CC_MAX_LABELS	64		/* label= arguments per request */
#define CC_ENV_FILE	"/etc/berth-agent.env"
#define CC_DATA_DIR	"/var/lib/berth-agent"

/* The installer: a copy of scripts/install-agent.sh (see above). */
static const char cc_install_sh[] =
	"#!/bin/sh\n"
	"# install-agent.sh - install berth-agent and start it on this machine.\n"
	"#\n"
	"# berth-master serves this script at /install/agent.sh and the agent\n"
	"# binary at /install/berth-agent; a node's cloud-config runs\n"
	"#   curl -fsSL <master>/install/agent.sh | sh\n"
	"# after writing /etc/berth-agent.env. See docs/cloud-config.md.\n"
	"#\n"
	"# Settings come from the environment, else from the env file:\n"
	"#   BERTH_ENV_FILE     the env file (default /etc/berth-agent.env)\n"
	"#   BERTH_MASTER_API   master API URL the binary is fetched from (required)\n"
	"#   BERTH_URL, BERTH_TOKEN, BERTH_LABELS, BERTH_NODE_NAME, BERTH_DATA_DIR\n"
	"#                      passed to berth-agent (see docs/agent.md)\n"
	"#   BERTH_MASTER_PIN   sha256//<base64>: the master's public-key pin; the\n"
	"#                      download is checked against it (and so is the agent)\n"
	"#   BERTH_CA_CERT      a CA file that vouches for the master (ditto)\n"
	"#   BERTH_INSECURE_PLAIN=1  the agent may use ws:// off loopback\n"
	"#   BERTH_PROVIDER_ID  the machine's instance id at its node group's\n"
	"#                      provider, passed to berth-agent; with\n"
	"#                      BERTH_PROVIDER_ID_FROM=ec2 (an aws-asg group's\n"
	"#                      cloud-config) read from the instance metadata\n"
	"#                      (IMDSv2) at BERTH_EC2_METADATA (default\n"
	"#                      http://169.254.169.254) when not given\n"
	"#   BERTH_PREFIX       berth-agent goes to $BERTH_PREFIX/bin (default\n"
	"#                      /usr/local)\n"
	"#   BERTH_NO_SYSTEMD=1 start with nohup instead of a systemd unit; also\n"
	"#                      chosen when systemd is not running (BERTH_SYSTEMD=1\n"
	"#                      insists on systemd)\n"
	"#   BERTH_PIDFILE      nohup mode: pid file (default /run/berth-agent.pid)\n"
	"#   BERTH_LOGFILE      nohup mode: log (default /var/log/berth-agent.log)\n"
	"#   BERTH_UNIT_DIR     systemd mode: unit directory (/etc/systemd/system)\n"
	"# Running it again upgrades the binary and restarts the agent.\n"
	"set -eu\n"
	"\n"
	"say() { printf 'berth-install: %s\\n' \"$*\" >&2; }\n"
	"die() { say \"$*\"; exit 1; }\n"
	"# running PID: alive and not a zombie (kill -0 succeeds on an unreaped\n"
	"# child, and the agent we start is our child).\n"
	"running() {\n"
	"\tkill -0 \"$1\" 2>/dev/null || return 1\n"
	"\t[ -r \"/proc/$1/stat\" ] || return 0\n"
	"\tcase $(cut -d ')' -f 2 \"/proc/$1/stat\") in ' Z'*) return 1 ;; esac\n"
	"}\n"
	"\n"
	"ENV_FILE=${BERTH_ENV_FILE:-/etc/berth-agent.env}\n"
	"\n"
	"# Read KEY=VALUE lines of the env file; a variable already set wins. The\n"
	"# file is parsed, never sourced, so a value cannot run commands.\n"
	"if [ -r \"$ENV_FILE\" ]; then\n"
	"\twhile IFS= read -r line || [ -n \"$line\" ]; do\n"
	"\t\tcase $line in '' | '#'* | ';'*) continue ;; esac\n"
	"\t\tkey=${line%%=*}\n"
	"\t\tval=${line#*=}\n"
	"\t\t[ \"$key\" != \"$line\" ] || continue\n"
	"\t\tcase $key in\n"
	"\t\t'' | *[!A-Za-z0-9_]* | [0-9]*) continue ;;\n"
	"\t\tBERTH_* | KONTENA_* | DOCKER_HOST) ;;\n"
	"\t\t*) continue ;;\n"
	"\t\tesac\n"
	"\t\tcase $val in \\\"*\\\") val=${val#\\\"}; val=${val%\\\"} ;; esac\n"
	"\t\teval \"isset=\\${$key+x}\"\n"
	"\t\tif [ -z \"$isset\" ]; then\n"
	"\t\t\teval \"$key=\\$val\"\n"
	"\t\t\texport \"${key?}\"\n"
	"\t\tfi\n"
	"\tdone <\"$ENV_FILE\"\n"
	"fi\n"
	"\n"
	"[ -n \"${BERTH_MASTER_API:-}\" ] ||\n"
	"\tdie \"BERTH_MASTER_API is not set (in the env or $ENV_FILE)\"\n"
	"[ -n \"${BERTH_URL:-${KONTENA_URI:-${KONTENA_URL:-}}}\" ] ||\n"
	"\tdie \"BERTH_URL is not set (in the env or $ENV_FILE)\"\n"
	"command -v curl >/dev/null 2>&1 || die \"curl is needed\"\n"
	"\n"
	"# An aws-asg node joins with its EC2 instance id (docs/autoscaling.md).\n"
	"if [ \"${BERTH_PROVIDER_ID_FROM:-}\" = ec2 ] && [ -z \"${BERTH_PROVIDER_ID:-}\" ]; then\n"
	"\tmd=${BERTH_EC2_METADATA:-http://169.254.169.254}\n"
	"\tmd=${md%/}\n"
	"\timds=$(curl -fsS --retry 5 --retry-connrefused -X PUT \\\n"
	"\t\t-H 'X-aws-ec2-metadata-token-ttl-seconds: 300' \\\n"
	"\t\t\"$md/latest/api/token\") ||\n"
	"\t\tdie \"cannot get an instance metadata token from $md\"\n"
	"\tBERTH_PROVIDER_ID=$(curl -fsS --retry 5 --retry-connrefused \\\n"
	"\t\t-H \"X-aws-ec2-metadata-token: $imds\" \\\n"
	"\t\t\"$md/latest/meta-data/instance-id\") ||\n"
	"\t\tdie \"cannot read the instance id from $md\"\n"
	"\texport BERTH_PROVIDER_ID\n"
	"fi\n"
	"if [ -n \"${BERTH_PROVIDER_ID:-}\" ]; then\n"
	"\tcase $BERTH_PROVIDER_ID in\n"
	"\t*[!A-Za-z0-9._:/-]*) die \"BERTH_PROVIDER_ID: [A-Za-z0-9._:/-] only\" ;;\n"
	"\tesac\n"
	"\tsay \"instance id $BERTH_PROVIDER_ID\"\n"
	"fi\n"
	"\n"
	"PREFIX=${BERTH_PREFIX:-/usr/local}\n"
	"BIN=$PREFIX/bin/berth-agent\n"
	"API=${BERTH_MASTER_API%/}\n"
	"\n"
	"# Download beside the target, then rename: a running agent keeps its\n"
	"# old inode and a failed download leaves the old binary in place.\n"
	"mkdir -p \"$PREFIX/bin\"\n"
	"tmp=$BIN.new.$$\n"
	"trap 'rm -f \"$tmp\"' EXIT\n"
	"# TLS: a CA file, and/or the pin of the master's key, which then stands\n"
	"# in for a CA (a self-signed master): curl checks it before sending.\n"
	"set -- -fsSL --retry 5 --retry-delay 2 --retry-connrefused\n"
	"[ -z \"${BERTH_CA_CERT:-}\" ] || set -- \"$@\" --cacert \"$BERTH_CA_CERT\"\n"
	"if [ -n \"${BERTH_MASTER_PIN:-}\" ]; then\n"
	"\tcase $BERTH_MASTER_PIN in\n"
	"\tsha256//*) ;;\n"
	"\t*) die \"BERTH_MASTER_PIN: the installer needs the sha256//<base64> form\" ;;\n"
	"\tesac\n"
	"\t[ -n \"${BERTH_CA_CERT:-}\" ] || set -- \"$@\" --insecure\n"
	"\tset -- \"$@\" --pinnedpubkey \"$BERTH_MASTER_PIN\"\n"
	"fi\n"
	"say \"downloading $API/install/berth-agent\"\n"
	"curl \"$@\" -o \"$tmp\" \"$API/install/berth-agent\" ||\n"
	"\tdie \"cannot download $API/install/berth-agent\"\n"
	"chmod 0755 \"$tmp\"\n"
	"mv -f \"$tmp\" \"$BIN\"\n"
	"say \"installed $BIN\"\n"
	"\n"
	"# systemd when it runs this machine (or BERTH_SYSTEMD=1), else nohup.\n"
	"mode=systemd\n"
	"if [ \"${BERTH_NO_SYSTEMD:-0}\" = 1 ]; then\n"
	"\tmode='nohup'\n"
	"elif [ \"${BERTH_SYSTEMD:-0}\" != 1 ] &&\n"
	"\t{ ! command -v systemctl >/dev/null 2>&1 ||\n"
	"\t\t[ ! -d /run/systemd/system ]; }; then\n"
	"\tmode='nohup'\n"
	"fi\n"
	"\n"
	"if [ \"$mode\" = systemd ]; then\n"
	"\t# The unit reads the env file: write it from the environment when\n"
	"\t# the installer was given its settings that way.\n"
	"\tif [ ! -e \"$ENV_FILE\" ]; then\n"
	"\t\t(\n"
	"\t\t\tumask 077\n"
	"\t\t\tfor v in BERTH_MASTER_API BERTH_URL BERTH_TOKEN \\\n"
	"\t\t\t\tBERTH_LABELS BERTH_NODE_NAME BERTH_DATA_DIR \\\n"
	"\t\t\t\tBERTH_MASTER_PIN BERTH_CA_CERT \\\n"
	"\t\t\t\tBERTH_INSECURE_PLAIN BERTH_PROVIDER_ID; do\n"
	"\t\t\t\teval \"val=\\${$v:-}\"\n"
	"\t\t\t\t[ -z \"$val\" ] || echo \"$v=$val\"\n"
	"\t\t\tdone >\"$ENV_FILE\"\n"
	"\t\t)\n"
	"\t\tsay \"wrote $ENV_FILE\"\n"
	"\tfi\n"
	"\t# The instance id read above, for the unit (once).\n"
	"\tif [ -n \"${BERTH_PROVIDER_ID:-}\" ] &&\n"
	"\t\t! grep -q '^BERTH_PROVIDER_ID=' \"$ENV_FILE\"; then\n"
	"\t\techo \"BERTH_PROVIDER_ID=$BERTH_PROVIDER_ID\" >>\"$ENV_FILE\"\n"
	"\tfi\n"
	"\tUNIT_DIR=${BERTH_UNIT_DIR:-/etc/systemd/system}\n"
	"\tmkdir -p \"$UNIT_DIR\"\n"
	"\tcat >\"$UNIT_DIR/berth-agent.service\" <<EOF\n"
	"[Unit]\n"
	"Description=berth agent\n"
	"Documentation=$API/install/agent.sh\n"
	"Wants=network-online.target docker.service\n"
	"After=network-online.target docker.service\n"
	"\n"
	"[Service]\n"
	"EnvironmentFile=$ENV_FILE\n"
	"ExecStart=$BIN\n"
	"Restart=always\n"
	"RestartSec=5\n"
	"KillMode=process\n"
	"\n"
	"[Install]\n"
	"WantedBy=multi-user.target\n"
	"EOF\n"
	"\tsystemctl daemon-reload\n"
	"\tsystemctl enable berth-agent.service\n"
	"\tsystemctl restart berth-agent.service\n"
	"\tsay \"berth-agent.service started (journalctl -u berth-agent)\"\n"
	"\texit 0\n"
	"fi\n"
	"\n"
	"# No systemd: run it in the background, pid and log in files.\n"
	"PIDFILE=${BERTH_PIDFILE:-/run/berth-agent.pid}\n"
	"LOGFILE=${BERTH_LOGFILE:-/var/log/berth-agent.log}\n"
	"mkdir -p \"$(dirname \"$PIDFILE\")\" \"$(dirname \"$LOGFILE\")\"\n"
	"if [ -s \"$PIDFILE\" ]; then\n"
	"\told=$(cat \"$PIDFILE\")\n"
	"\tcase $old in\n"
	"\t'' | *[!0-9]*) ;;\n"
	"\t*)\n"
	"\t\t# Only a berth-agent: the pid may have been reused since.\n"
	"\t\tif running \"$old\" && { [ ! -r \"/proc/$old/comm\" ] ||\n"
	"\t\t\t[ \"$(cat \"/proc/$old/comm\")\" = berth-agent ]; }; then\n"
	"\t\t\tsay \"stopping the running agent (pid $old)\"\n"
	"\t\t\tkill \"$old\" 2>/dev/null || true\n"
	"\t\t\ti=0\n"
	"\t\t\twhile running \"$old\" && [ $i -lt 50 ]; do\n"
	"\t\t\t\tsleep 0.1\n"
	"\t\t\t\ti=$((i + 1))\n"
	"\t\t\tdone\n"
	"\t\t\tif running \"$old\"; then\n"
	"\t\t\t\tsay \"the agent did not stop in 5 s: SIGKILL\"\n"
	"\t\t\t\tkill -9 \"$old\" 2>/dev/null || true\n"
	"\t\t\t\t# SIGKILL is delivered, not waited for: wait.\n"
	"\t\t\t\ti=0\n"
	"\t\t\t\twhile running \"$old\" && [ $i -lt 100 ]; do\n"
	"\t\t\t\t\tsleep 0.1\n"
	"\t\t\t\t\ti=$((i + 1))\n"
	"\t\t\t\tdone\n"
	"\t\t\t\t! running \"$old\" ||\n"
	"\t\t\t\t\tdie \"the running agent (pid $old) does not stop\"\n"
	"\t\t\tfi\n"
	"\t\tfi\n"
	"\t\t;;\n"
	"\tesac\n"
	"fi\n"
	"nohup \"$BIN\" >>\"$LOGFILE\" 2>&1 </dev/null &\n"
	"pid=$!\n"
	"echo \"$pid\" >\"$PIDFILE\"\n"
	"sleep 1\n"
	"if ! running \"$pid\"; then\n"
	"\tsay \"berth-agent exited at once; the end of $LOGFILE:\"\n"
	"\ttail -n 20 \"$LOGFILE\" >&2\n"
	"\texit 1\n"
	"fi\n"
	"say \"berth-agent running without systemd (pid $pid, log $LOGFILE)\"\n";

/* Labels and errors gathered from the query by cc_query_arg(). */
struct cc_query {
	const char	*labels[CC_MAX_LABELS];	/* borrowed from MHD */
	int		 n_labels;
	const char	*bad;		/* first invalid label, or NULL */
	const char	*why;		/* why it is invalid */
};

/*
 * 1 if s is usable in a URL we print: the unreserved and reserved URL
 * characters minus quotes, '$', '(', ')', '*', '\' and '`', so it needs no
 * quoting in YAML, sh single quotes or an env file.
 */
static int
cc_url_safe(const char *s)
{
	size_t i;

	if (s == NULL || *s == '\0' || strlen(s) > 1024)
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!isalnum((unsigned char)s[i]) &&
		    strchr("-._~:/?#[]@!&+,;=%", s[i]) == NULL)
			return 0;
	return 1;
}

/* 1 if a Host header is a plain host[:port] ("[::1]:9292" included). */
static int
cc_host_safe(const char *s)
{
	size_t i;

	if (s == NULL || *s == '\0' || strlen(s) > 255)
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!isalnum((unsigned char)s[i]) && strchr(".-:[]", s[i]) == NULL)
			return 0;
	return 1;
}

const char *
api_cloud_config_label(const char *value, const char *const *prev, int nprev)
{
	const char *eq;
	int i;

	if (value == NULL || !util_label_valid(value))
		return "is not key=value (key [A-Za-z0-9._-], value printable, "
		    "no spaces or commas)";
	if (strpbrk(value, "\"'\\$`") != NULL)
		return "has a quote, '\\', '$' or '`', which an env file "
		    "cannot carry alike for systemd and sh";
	eq = strchr(value, '=');
	for (i = 0; i < nprev; i++)
		if (strncmp(prev[i], value, (size_t)(eq - value) + 1) == 0)
			return "repeats a key (the agent refuses duplicate keys)";
	if (nprev >= CC_MAX_LABELS)
		return "is one label too many (at most 64)";
	return NULL;
}

static enum MHD_Result
cc_query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	struct cc_query *q = cls;

	(void)kind;
	if (strcmp(key, "label") != 0 || q->bad != NULL)
		return MHD_YES;
	q->why = api_cloud_config_label(value, q->labels, q->n_labels);
	if (q->why != NULL)
		q->bad = value ? value : "";
	else
		q->labels[q->n_labels++] = value;
	return MHD_YES;
}

/*
 * The API URL agents' installers fetch from: --public-url, else
 * "http(s)://" + the request's Host header. NULL after replying 4xx/5xx.
 */
static char *
cc_api_url(struct api_ctx *ctx)
{
	const char *pub = ctx->m->cfg.public_url, *host;
	char *url;
	size_t n;

	if (pub != NULL && *pub != '\0') {
		if (!cc_url_safe(pub) || (strncmp(pub, "http://", 7) != 0 &&
		    strncmp(pub, "https://", 8) != 0)) {
			log_error("api: --public-url has characters a "
			    "cloud-config cannot carry, or is not http(s)");
			api_error(ctx, 500, NULL, "the master's --public-url "
			    "is not a plain http(s) URL");
			return NULL;
		}
		url = xstrdup(pub);
	} else {
		host = MHD_lookup_connection_value(ctx->conn, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_HOST);
		if (!cc_host_safe(host)) {
			api_error(ctx, 400, NULL, "no usable Host header to "
			    "build the master's URL from; start the master "
			    "with --public-url");
			return NULL;
		}
		xasprintf(&url, "%s://%s", ctx->m->tls.on ? "https" : "http",
		    host);
	}
	n = strlen(url);
	while (n > 0 && url[n - 1] == '/')
		url[--n] = '\0';
	return url;
}

/*
 * The websocket URL agents join: --agent-url, else ws(s)://<host of
 * api_url>:<port of --agent-listen>. NULL after replying 500.
 */
static char *
cc_agent_url(struct api_ctx *ctx, const char *api_url)
{
	const char *au = ctx->m->cfg.agent_url, *h, *end;
	char *url, *lhost, *cause;
	size_t n;
	int port;

	if (au != NULL && *au != '\0') {
		if (!cc_url_safe(au)) {
			log_error("api: --agent-url has characters a "
			    "cloud-config cannot carry");
			api_error(ctx, 500, NULL, "the master's --agent-url "
			    "is not a plain URL");
			return NULL;
		}
		return xstrdup(au);
	}
	if (config_split_listen(ctx->m->cfg.agent_listen, &lhost, &port,
	    &cause) != 0) {
		api_error(ctx, 500, NULL, "%s", cause);
		free(cause);
		return NULL;
	}
	free(lhost);
	h = strstr(api_url, "://");
	h = h != NULL ? h + 3 : api_url;
	n = strcspn(h, "/?#");
	end = memchr(h, '@', n);	/* drop user:password@ */
	if (end != NULL) {
		n -= (size_t)(end + 1 - h);
		h = end + 1;
	}
	if (*h == '[') {		/* [v6]:port */
		end = memchr(h, ']', n);
		n = end != NULL ? (size_t)(end + 1 - h) : n;
	} else
		n = strcspn(h, ":/?#");
	xasprintf(&url, "%s://%.*s:%d", ctx->m->tls.on ? "wss" : "ws", (int)n,
	    h, port);
	return url;
}

/*
 * A clustered master's BERTH_URL lists every master (docs/ha.md): this
 * one's URL first, then each other member's agent URL from the masters
 * table, so that an agent booted while one master is down joins through
 * another, and follows the leader from there (close 4013). A URL a
 * cloud-config cannot carry, or one on a wildcard address, is left out
 * and logged. Takes and returns the list (xmalloc'd).
 */
static char *
cc_agent_urls(struct api_ctx *ctx, char *ws_url)
{
	json_t *list, *row;
	const char *u, *h, *a, *me;
	char *out, *self;
	size_t i;

	if (ctx->m->cluster == NULL)
		return ws_url;
	if ((list = store_master_list_json(ctx->st)) == NULL) {
		log_warn("api: cloud-config lists only this master: the "
		    "masters table could not be read: %s",
		    store_errmsg(ctx->st));
		return ws_url;
	}
	self = xstrdup(ws_url);	/* ws_url grows below */
	me = cluster_address(ctx->m->cluster);
	json_array_foreach(list, i, row) {
		u = json_string_value(json_object_get(row, "agent_url"));
		a = json_string_value(json_object_get(row, "address"));
		/* This master's own row, whatever host its URL names (the
		 * request's Host may be a name, the row an address). */
		if (u == NULL || *u == '\0' || strcmp(u, self) == 0 ||
		    (a != NULL && strcmp(a, me) == 0))
			continue;
		h = strstr(u, "://");
		h = h != NULL ? h + 3 : u;
		if (!cc_url_safe(u) || strchr(u, ',') != NULL ||
		    strncmp(h, "0.0.0.0", 7) == 0 ||
		    strncmp(h, "[::]", 4) == 0) {
			log_warn("api: cloud-config leaves out master %s's "
			    "agent URL (a wildcard address, or characters a "
			    "cloud-config cannot carry): give it --agent-url",
			    a != NULL ? a : "?");
			continue;
		}
		xasprintf(&out, "%s,%s", ws_url, u);
		free(ws_url);
		ws_url = out;
	}
	json_decref(list);
	free(self);
	return ws_url;
}

/*
 * A group's labels, first in BERTH_LABELS: ephemeral=true,
 * berth.group=<name>, then the group's own (a label= of the request with
 * the same key is left out: the group's win, as at join). -1 when one
 * has a character an env file cannot carry.
 */
static int
cc_group_labels(struct buf *b, const struct nodegroup *ng, struct cc_query *q)
{
	json_t *arr = json_loads(ng->labels, 0, NULL), *v;
	const char *l;
	size_t i;
	int k, n;

	buf_printf(b, "ephemeral=true,berth.group=%s", ng->name);
	json_array_foreach(arr, i, v) {
		if ((l = json_string_value(v)) == NULL)
			continue;
		if (api_cloud_config_label(l, NULL, 0) != NULL) {
			json_decref(arr);
			return -1;
		}
		buf_printf(b, ",%s", l);
	}
	/* The request's labels go after; drop those the group sets. */
	for (k = 0, n = 0; k < q->n_labels; k++) {
		int dup = util_label_same_key(q->labels[k], "ephemeral=x") ||
		    util_label_same_key(q->labels[k], "berth.group=x");

		json_array_foreach(arr, i, v)
			if (json_is_string(v) && util_label_same_key(
			    q->labels[k], json_string_value(v)))
				dup = 1;
		if (!dup)
			q->labels[n++] = q->labels[k];
	}
	q->n_labels = n;
	json_decref(arr);
	return 0;
}

void
api_grid_cloud_config(struct api_ctx *ctx)
{
	struct cc_query q;
	struct grid g;
	struct buf b = { 0 };
	char token[TOKEN_LEN + 1], *api_url = NULL, *ws_url = NULL;
	const char *name, *group;
	struct nodegroup *ng = NULL;
	int i, k, rc;

	memset(&q, 0, sizeof q);
	MHD_get_connection_values(ctx->conn, MHD_GET_ARGUMENT_KIND,
	    cc_query_arg, &q);
	if (q.bad != NULL) {
		api_error(ctx, 422, "label", "label \"%.300s\" %s", q.bad,
		    q.why);
		return;
	}
	name = api_query(ctx, "name");
	if (name != NULL && !util_name_valid(name)) {
		api_error(ctx, 422, "name", "name \"%.80s\" is invalid: use "
		    UTIL_NAME_RULE, name);
		return;
	}
	group = api_query(ctx, "group");
	if (group != NULL && !util_name_valid(group)) {
		api_error(ctx, 422, "group", "group \"%.80s\" is invalid: use "
		    UTIL_NAME_RULE, group);
		return;
	}
	if (api_grid(ctx, ctx->cap[0], &g) != 0)
		return;
	if (group != NULL) {
		ng = xcalloc(1, sizeof *ng);
		rc = store_nodegroup_get(ctx->st, g.id, group, ng);
		if (rc < 0) {
			api_store_error(ctx);
			goto out;
		}
		if (rc == 0) {
			api_error(ctx, 404, "group", "no node group \"%s\" in "
			    "grid %s", group, g.name);
			goto out;
		}
		if (provider_find(ng->provider) == NULL ||
		    provider_find(ng->provider)->join !=
		    PROVIDER_JOIN_INSTANCE) {
			api_error(ctx, 422, "group", "node group %s (%s) "
			    "launches its machines itself, each with its own "
			    "token; --group is for groups whose machines boot "
			    "from user data (aws-asg)", ng->name, ng->provider);
			goto out;
		}
		if (nodegroup_token_get(ctx->m, ctx->st, ng->id, token) != 0) {
			api_store_error(ctx);
			goto out;
		}
	} else if (grid_token_get(ctx->m, ctx->st, g.id, token) != 0) {
		api_store_error(ctx);
		return;
	}
	if ((api_url = cc_api_url(ctx)) == NULL ||
	    (ws_url = cc_agent_url(ctx, api_url)) == NULL)
		goto out;
	ws_url = cc_agent_urls(ctx, ws_url);

	buf_printf(&b,
	    "#cloud-config\n"
	    "# berth: boots a node into grid %s of the master at %s.\n"
	    "# It carries the %s token: treat it as a secret.\n"
	    "package_update: true\n"
	    "packages:\n"
	    "  - ca-certificates\n"
	    "  - curl\n"
	    "  - docker.io\n"
	    "write_files:\n"
	    "  - path: " CC_ENV_FILE "\n"
	    "    owner: root:root\n"
	    "    permissions: '0600'\n"
	    "    content: |\n"
	    "      BERTH_MASTER_API=%s\n"
	    "      BERTH_URL=%s\n"
	    "      BERTH_TOKEN=%s\n"
	    "      BERTH_LABELS=",
	    g.name, api_url, ng != NULL ? "node group's join" : "grid",
	    api_url, ws_url, token);
	i = 0;
	if (ng != NULL && cc_group_labels(&b, ng, &q) != 0) {
		api_error(ctx, 422, "group", "node group %s has a label that "
		    "cannot go into an env file", ng->name);
		goto out;
	}
	if (ng != NULL)
		i = 1;
	for (k = 0; k < q.n_labels; k++)
		buf_printf(&b, "%s%s", i++ ? "," : "", q.labels[k]);
	buf_printf(&b, "\n");
	if (ng != NULL && strcmp(ng->provider, "aws-asg") == 0)
		buf_printf(&b, "      BERTH_PROVIDER_ID_FROM=ec2\n");
	if (name != NULL)
		buf_printf(&b, "      BERTH_NODE_NAME=%s\n", name);
	buf_printf(&b, "      BERTH_DATA_DIR=" CC_DATA_DIR "\n");
	/* TLS: the pin identifies the master to the installer's curl and to
	 * the agent (its certificate need not name the host nodes use). */
	if (ctx->m->tls.on)
		buf_printf(&b, "      BERTH_MASTER_PIN=%s\n", ctx->m->tls.pin);
	if (strncmp(ws_url, "ws://", 5) == 0)	/* the master allows plain */
		buf_printf(&b, "      BERTH_INSECURE_PLAIN=1\n");
	buf_printf(&b,
	    "runcmd:\n"
	    "  - [systemctl, enable, --now, docker.service]\n");
	if (ctx->m->tls.on && strncmp(api_url, "https://", 8) == 0)
		buf_printf(&b,
		    "  # --insecure: the pinned key, not a CA, vouches for the "
		    "master\n"
		    "  - \"curl -fsSL --retry 5 --retry-connrefused --insecure "
		    "--pinnedpubkey '%s' '%s/install/agent.sh' | sh\"\n",
		    ctx->m->tls.pin, api_url);
	else
		buf_printf(&b,
		    "  - \"curl -fsSL --retry 5 --retry-connrefused "
		    "'%s/install/agent.sh' | sh\"\n",
		    api_url);
	api_reply_text(ctx, 200, "text/cloud-config; charset=utf-8", b.data);
out:
	OPENSSL_cleanse(token, sizeof token);
	if (b.data != NULL)
		OPENSSL_cleanse(b.data, b.len);
	buf_free(&b);
	free(api_url);
	free(ws_url);
	free(ng);
}

void
api_install_script(struct api_ctx *ctx)
{
	api_reply_text(ctx, 200, "text/x-shellscript; charset=utf-8",
	    cc_install_sh);
}

void
api_install_agent(struct api_ctx *ctx)
{
	const char *bin = ctx->m->cfg.agent_binary;
	char *path;

	if (bin != NULL && *bin != '\0')
		path = xstrdup(bin);
	else
		xasprintf(&path, "%s/berth-agent", ctx->m->self_dir);
	if (api_reply_file(ctx, 200, "application/octet-stream", path) != 0) {
		log_warn("api: cannot serve the agent binary %s: %s", path,
		    strerror(errno));
		api_error(ctx, 404, NULL, "this master has no berth-agent "
		    "binary to serve (set --agent-binary; see its log)");
	}
	free(path);
}
