/*
 * main.c - berth-master start-up, signals and shutdown (the main thread).
 *
 * Order: options; data dir; TLS (or the plain-text policy); master key;
 * store and migrations; first-start secrets (operator token, grid
 * "default"); then the API, the hub and the scheduling loop threads. The
 * main thread then waits in sigwait() for SIGINT/SIGTERM and stops the
 * threads in reverse order.
 *
 * A clustered master (--cluster-address) starts its dqlite node instead
 * of opening a file, and every thread as a standby; the leadership
 * watcher (role.c) runs the migrations and the first-start secrets
 * (main_lead) when its node leads, and turns the API, the hub and the
 * scheduler on and off with the lead. A leader's SIGTERM hands the lead
 * over first.
 */
#include "master/api.h"
#include "master/cluster.h"
#include "master/cluster_tls.h"
#include "master/dq_client.h"
#include "master/exec_relay.h"
#include "master/loadring.h"
#include "master/grid.h"
#include "master/hub.h"
#include "master/join.h"
#include "master/logstore.h"
#include "master/master.h"
#include "master/provider_worker.h"
#include "master/role.h"
#include "master/webhook.h"
#include "master/sched_loop.h"
#include "master/vault.h"

#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

static void
store_key_free(void *p)
{
	store_close(p);
}

/*
 * Create the data dir (0700) and make sure it is writable and has room:
 * the probe writes and syncs what the store needs to open (its shared
 * memory file and a first WAL frame), so a read-only or full disk is
 * named here, before anything in the dir is touched.
 */
#define MAIN_PROBE_BYTES	(64 * 1024)
static void
main_data_dir(const char *dir)
{
	static const char zero[4096];
	char *probe;
	size_t done;
	ssize_t n;
	int fd, err = 0;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		fatalx("cannot create data dir %s: %s", dir, strerror(errno));
	xasprintf(&probe, "%s/.probe.%d", dir, (int)getpid());
	if ((fd = open(probe, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0)
		fatalx("data dir %s is not writable: %s", dir, strerror(errno));
	for (done = 0; done < MAIN_PROBE_BYTES; done += (size_t)n) {
		if ((n = write(fd, zero, sizeof zero)) <= 0) {
			err = n < 0 ? errno : ENOSPC;
			break;
		}
	}
	if (err == 0 && fsync(fd) != 0)
		err = errno;
	close(fd);
	unlink(probe);
	free(probe);
	if (err != 0)
		fatalx("data dir %s has no room for the store (%d KiB could "
		    "not be written): %s", dir, MAIN_PROBE_BYTES / 1024,
		    strerror(err));
}

/*
 * Raise the open-file limit toward MAIN_NOFILE_WANT (as far as the hard
 * limit allows). The API may hold 4096 connections and the hub one per
 * agent plus 256 pending per address: under a common soft limit of 1024,
 * four addresses trickling API requests would hold every descriptor and
 * no agent could connect. Before the hub starts: lws sizes its tables
 * from this limit.
 */
#define MAIN_NOFILE_WANT	65536
#define MAIN_NOFILE_WARN	16384
static void
main_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < MAIN_NOFILE_WANT && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max < MAIN_NOFILE_WANT ? rl.rlim_max :
		    MAIN_NOFILE_WANT;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < MAIN_NOFILE_WARN)
		log_warn("open-file limit is %llu (hard limit %llu): a flood "
		    "of connections can starve agents; raise it to %d or more",
		    (unsigned long long)rl.rlim_cur,
		    (unsigned long long)rl.rlim_max, MAIN_NOFILE_WANT);
}

/*
 * First start: mint the operator token; later starts: use its hash.
 * -1 with *cause on a store error (a clustered master's watcher tries
 * again; a single master stops).
 */
static int
main_operator_token(struct master *m, struct store *st, char **cause)
{
	unsigned char hash[TOKEN_HASH_LEN];
	char token[TOKEN_LEN + 1], *path, *text;
	int rc;

	xasprintf(&path, "%s/operator.token", m->cfg.data_dir);
	rc = store_operator_hash(st, hash, TOKEN_HASH_LEN);
	if (rc < 0) {
		xasprintf(cause, "store: %s", store_errmsg(st));
		free(path);
		return -1;
	}
	if (rc == 1) {
		memcpy(m->operator_hash, hash, sizeof hash);
		if (access(path, F_OK) != 0)
			log_warn("%s is missing; the operator token in the "
			    "store still works for whoever has it", path);
		free(path);
		return 0;
	}
	token_new(token);
	xasprintf(&text, "%s\n", token);
	if (util_write_file(path, text, strlen(text), 0600) != 0)
		fatalx("cannot write %s: %s", path, strerror(errno));
	token_hash(token, hash);
	OPENSSL_cleanse(token, sizeof token);
	OPENSSL_cleanse(text, strlen(text));
	free(text);
	if (store_operator_set(st, hash) != 0) {
		xasprintf(cause, "store: %s", store_errmsg(st));
		free(path);
		return -1;
	}
	memcpy(m->operator_hash, hash, sizeof hash);
	log_info("operator token written to %s", path);
	free(path);
	return 0;
}

static int
main_default_grid(struct master *m, struct store *st, char **cause)
{
	struct grid_settings gs;
	struct grid g;
	char token[TOKEN_LEN + 1], *path;
	int rc;

	/* First start (no grid at all): create "default" and its token file. */
	if ((rc = store_grid_count(st)) < 0) {
		xasprintf(cause, "store: %s", store_errmsg(st));
		return -1;
	}
	if (rc > 0)
		return 0;
	grid_settings_default(&gs);
	if (grid_create(m, st, "default", &gs, &g, token) != 0) {
		xasprintf(cause, "cannot create grid default: %s",
		    store_errmsg(st));
		return -1;
	}
	if (grid_token_file_write(m, "default", token) != 0)
		fatalx("cannot write the grid token file");
	OPENSSL_cleanse(token, sizeof token);
	xasprintf(&path, "%s/grid-default.token", m->cfg.data_dir);
	log_info("grid default created; its token is in %s", path);
	free(path);
	return 0;
}

/*
 * What a master does before it serves: the migrations, the first start's
 * secrets (operator token, grid "default"), sealing secret settings. At
 * start for a single master; each time a clustered master takes the lead
 * (role.c), on the store of the watcher's thread.
 */
static int
main_lead(struct master *m, struct store *st, char **cause)
{
	/* On dqlite the migrations run on the leader, in one EXEC each. */
	if (store_migrate(st, cause) != 0 ||
	    main_operator_token(m, st, cause) != 0 ||
	    main_default_grid(m, st, cause) != 0)
		return -1;
	if (grid_seal_secrets(st) != 0) {
		xasprintf(cause, "cannot seal secret settings: %s",
		    store_errmsg(st));
		return -1;
	}
	return 0;
}

/* The shutdown's step k took since the last: took[k]. */
#define STOP_STEP(k) do {				\
	int64_t now_ = util_mono_ms();			\
	took[(k)] = now_ - t;				\
	t = now_;					\
} while (0)

/* Dial a peer's node over TLS (dq_dial_fn and cluster_dial_fn). */
static int
main_dial(void *arg, const char *address, int timeout_ms, int *fd,
    char **cause)
{
	return cluster_tls_dial(arg, address, timeout_ms, fd, cause);
}

/* The leader's API URL, for a joiner (cluster_tls_leader_fn). */
static void
main_leader_api(void *arg, char *url, size_t len)
{
	master_leader_urls(arg, url, len, NULL, 0);
}

/*
 * A TLS master listens on its --cluster-address itself (its peers' dqlite
 * traffic, cluster_tls.h): a port of its own, not the API's or the
 * agents' (a clearer word than "address in use").
 */
static int
main_port(const char *listen)
{
	char *host = NULL, *cause = NULL;
	int port;

	if (config_split_listen(listen, &host, &port, &cause) != 0)
		port = -1;
	free(host);
	free(cause);
	return port;
}

static void
main_cluster_tls_check(struct master *m, const char *address)
{
	int port = main_port(address);

	if (port == main_port(m->cfg.api_listen) ||
	    port == main_port(m->cfg.agent_listen))
		fatalx("--cluster-address %s: with TLS this master serves the "
		    "other masters' dqlite traffic on that port itself: give "
		    "it a port of its own, not --api-listen's or "
		    "--agent-listen's (%d)", address, port);
}

/*
 * --cluster-address: this master's dqlite node, started before the store
 * opens on it (docs/ha.md). With TLS the masters' traffic goes over TLS
 * to berth's listener on each --cluster-address (cluster_tls.h), also
 * on loopback; without, it is
 * plain TCP (dqlite 1.11 has no TLS), so off loopback it needs
 * --insecure-plain, as plain http does.
 */
static void
main_cluster(struct master *m)
{
	struct cluster_conf cc = { .data_dir = m->cfg.data_dir,
	    .address = m->cfg.cluster_address, .join = m->cfg.join,
	    .latency_ms = m->cfg.cluster_latency_ms };
	unsigned char pin[TLSUTIL_PIN_LEN];
	char *cause = NULL;

	if (m->cfg.cluster_address == NULL) {
		if (m->cfg.join != NULL)
			fatalx("--join needs --cluster-address (this master's "
			    "own node)");
		return;
	}
	if (cluster_check_address(cc.address, &cause) != 0)
		fatalx("--cluster-address: %s", cause);
	if (m->tls.on) {
		main_cluster_tls_check(m, cc.address);
		if (tlsutil_pin_parse(m->tls.pin, pin) != 0)
			fatalx("cluster: this master's TLS pin is damaged");
		if ((m->ctls = cluster_tls_new(cc.address, m->cfg.data_dir,
		    pin, m->key, sizeof m->key, &cause)) == NULL)
			fatalx("cluster: %s", cause);
		if (cluster_tls_listen(m->ctls, cc.address, m->tls.cert_pem,
		    m->tls.key_pem, main_leader_api, m, &cause) != 0)
			fatalx("--cluster-address: %s", cause);
		cc.bind = cluster_tls_bind(m->ctls);
		cc.dial = main_dial;
		cc.dial_arg = m->ctls;
		dq_conn_set_dialer(main_dial, m->ctls);
	} else if (!tls_listen_loopback(cc.address) && !m->cfg.insecure_plain)
		fatalx("--cluster-address %s: traffic between masters is "
		    "plain TCP (dqlite 1.11 has no TLS) when they serve no "
		    "TLS: use a loopback address, TLS (--tls-self-signed or "
		    "--tls-cert: the traffic then goes over TLS), or "
		    "--insecure-plain on a private network", cc.address);
	if (m->cfg.join != NULL && cluster_check_address(m->cfg.join,
	    &cause) != 0)
		fatalx("--join: %s", cause);
	if ((m->cluster = cluster_start(&cc, &cause)) == NULL)
		fatalx("cluster: %s", cause);
}

/*
 * --dump FILE: the store as a plain SQLite file, then exit (docs/ha.md,
 * "Backups"). A clustered data dir (or --cluster-address) is read through
 * the cluster's leader, whichever master leads; else <data-dir>/berth.db.
 * Nothing is started; the data dir is not touched.
 */
/*
 * --dump of a TLS master's data dir (its TLS flags given): dial the
 * cluster as the masters do (cluster_tls.h), through their TLS
 * listeners (this data dir's master too). Loads only what
 * exists: a dump writes nothing into the data dir. 0, or -1 with *cause.
 */
static int
main_dump_tls(struct master *m, char **cause)
{
	unsigned char pin[TLSUTIL_PIN_LEN];
	char *path;
	int ok;

	if (m->cfg.tls_cert == NULL && !m->cfg.tls_self_signed)
		return 0;
	xasprintf(&path, "%s/master.key", m->cfg.data_dir);
	ok = access(path, R_OK) == 0;
	free(path);
	xasprintf(&path, "%s/tls.crt", m->cfg.data_dir);
	ok = ok && (m->cfg.tls_cert != NULL || access(path, R_OK) == 0);
	free(path);
	if (!ok) {
		xasprintf(cause, "%s has no master.key or TLS identity: not a "
		    "TLS master's data dir", m->cfg.data_dir);
		return -1;
	}
	if (tls_setup(&m->cfg, &m->tls, cause) != 0 ||
	    token_load_key(m->cfg.data_dir, m->key, cause) != 0)
		return -1;
	if (tlsutil_pin_parse(m->tls.pin, pin) != 0) {
		xasprintf(cause, "this master's TLS pin is damaged");
		return -1;
	}
	/* No node runs here, and the master's own takes unix connections
	 * from its process only: every node through its listener. */
	if ((m->ctls = cluster_tls_new(NULL, m->cfg.data_dir, pin, m->key,
	    sizeof m->key, cause)) == NULL)
		return -1;
	dq_conn_set_dialer(main_dial, m->ctls);
	return 0;
}

static int
main_dump(struct master *m)
{
	struct store_dump_stats ds;
	struct store *st;
	const char *addrs[3];
	char *known = NULL, *cause = NULL, *path = NULL, how[256];
	int n = 0, rc, ret = 1;

	if ((rc = cluster_known_address(m->cfg.data_dir, &known,
	    &cause)) < 0) {
		fprintf(stderr, "berth-master: --dump: %s\n", cause);
		goto out;
	}
	if (m->cfg.cluster_address != NULL)
		addrs[n++] = m->cfg.cluster_address;
	if (known != NULL && (n == 0 || strcmp(known, addrs[0]) != 0))
		addrs[n++] = known;
	if (m->cfg.join != NULL)
		addrs[n++] = m->cfg.join;
	if (n > 0 && main_dump_tls(m, &cause) != 0) {
		fprintf(stderr, "berth-master: --dump: %s\n", cause);
		goto out;
	}
	if (n > 0) {
		snprintf(how, sizeof how, "dqlite%s, through %s%s",
		    m->ctls != NULL ? " over TLS" : "", addrs[0],
		    n > 1 ? " and others" : "");
		st = store_open_dqlite(addrs, n, MASTER_DQLITE_DB, &cause);
	} else {
		xasprintf(&path, "%s/berth.db", m->cfg.data_dir);
		if (access(path, F_OK) != 0) {
			fprintf(stderr, "berth-master: --dump: no store in %s "
			    "(no berth.db, no dqlite/berth-node; a clustered "
			    "master's: give --cluster-address)\n",
			    m->cfg.data_dir);
			goto out;
		}
		snprintf(how, sizeof how, "SQLite %s", path);
		st = store_open(path, &cause);
	}
	if (st == NULL) {
		fprintf(stderr, "berth-master: --dump: cannot open the store "
		    "(%s): %s\n", how, cause);
		goto out;
	}
	fprintf(stderr, "dumping the store (%s) to %s\n", how, m->cfg.dump);
	rc = store_dump(st, m->cfg.dump, m->cfg.dump_overwrite, &ds, &cause);
	store_close(st);
	if (rc != 0) {
		fprintf(stderr, "berth-master: --dump: %s\n", cause);
		goto out;
	}
	printf("dumped %s: %d tables, %lld rows, %lld bytes, schema %d\n",
	    m->cfg.dump, ds.tables, ds.rows, ds.bytes, ds.version);
	ret = 0;
out:
	dq_conn_set_dialer(NULL, NULL);
	cluster_tls_free(m->ctls);
	m->ctls = NULL;
	tls_free(&m->tls);
	OPENSSL_cleanse(m->key, sizeof m->key);
	free(cause);
	free(known);
	free(path);
	return ret;
}

/*
 * --join at a master's first start: trade the join token for the
 * cluster's master key and TLS identity (join.c), before they are loaded
 * or made here. Once the node exists (dqlite/berth-node) the token is
 * not needed again: it served once. What would refuse this master's
 * start anyway is checked before the token is spent.
 */
static void
main_join(struct master *m)
{
	char *known = NULL, *cause = NULL, secret[TOKEN_LEN + 1], pin[65];
	int rc, tls;

	if (m->cfg.join == NULL || m->cfg.cluster_address == NULL)
		return;
	if ((rc = cluster_known_address(m->cfg.data_dir, &known,
	    &cause)) < 0)
		fatalx("cluster: %s", cause);
	free(known);
	if (rc == 1)
		return;
	if (m->cfg.join_token == NULL || m->cfg.join_token[0] == '\0')
		fatalx("--join needs --join-token T (berth master join-token, "
		    "run against the cluster, prints one)");
	if (join_token_parse(m->cfg.join_token, secret, pin, &cause) != 0)
		fatalx("--join-token: %s", cause);
	OPENSSL_cleanse(secret, sizeof secret);
	/* Every master of a cluster runs TLS, or none does: their dqlite
	 * traffic goes over TLS to berth's listeners, or plain. */
	tls = m->cfg.tls_cert != NULL || m->cfg.tls_self_signed;
	if (pin[0] != '\0' && !tls)
		fatalx("--join: the cluster's masters run TLS (the join token "
		    "carries their pin): start this one with TLS too "
		    "(--tls-self-signed serves the identity the join brings)");
	if (pin[0] == '\0' && tls)
		fatalx("--join: the cluster's masters run without TLS (the "
		    "join token carries no pin): start this one without TLS "
		    "too, or run them all with TLS");
	if (tls) {
		if (cluster_check_address(m->cfg.cluster_address,
		    &cause) != 0)
			fatalx("--cluster-address: %s", cause);
		main_cluster_tls_check(m, m->cfg.cluster_address);
	}
	if (join_fetch(&m->cfg, &cause) != 0)
		fatalx("join %s: %s", m->cfg.join, cause);
}

int
main(int argc, char **argv)
{
	struct master m;
	struct store *st;
	sigset_t set;
	char *cause = NULL, self[PATH_MAX];
	ssize_t n;
	int sig, i;
	int64_t t0, t, took[6];

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--print-routes") == 0) {
			api_print_routes();
			return 0;
		}
	}
	memset(&m, 0, sizeof m);
	log_set_prefix("master");
	switch (config_parse(&m.cfg, argc, argv, &cause)) {
	case 1:
		config_free(&m.cfg);	/* clean under LeakSanitizer */
		return 0;
	case -1:
		fprintf(stderr, "berth-master: %s\n", cause);
		free(cause);
		config_free(&m.cfg);
		return 2;
	}
	if (log_set_level_name(m.cfg.log_level) != 0) {
		fprintf(stderr, "berth-master: --log-level: \"%s\" is not "
		    "error, warn, info or debug\n", m.cfg.log_level);
		return 2;
	}
	if (m.cfg.cluster_recover) {
		char *addr = NULL;

		umask(077);
		if (cluster_recover(m.cfg.data_dir, &addr, &cause) != 0) {
			fprintf(stderr, "berth-master: --cluster-recover: %s\n",
			    cause);
			free(cause);
			config_free(&m.cfg);
			return 1;
		}
		printf("recovered: the node of %s (%s) is the only voter of its "
		    "cluster now; start this master as usual, then join new "
		    "masters with join tokens (fresh data dirs)\n",
		    m.cfg.data_dir, addr);
		free(addr);
		config_free(&m.cfg);
		return 0;
	}
	if (m.cfg.dump != NULL) {
		signal(SIGPIPE, SIG_IGN);
		umask(077);
		i = main_dump(&m);
		config_free(&m.cfg);
		return i;
	}
	m.started_ms = util_now_ms();
	n = readlink("/proc/self/exe", self, sizeof self - 1);
	self[n > 0 ? n : 0] = '\0';
	m.self_dir = xstrdup(n > 0 ? dirname(self) : ".");

	/* Signals are taken by sigwait() below; threads inherit the mask. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	umask(077);	/* the store and key files are for this user only */
	main_nofile();
	main_data_dir(m.cfg.data_dir);
	main_join(&m);
	if (tls_setup(&m.cfg, &m.tls, &cause) != 0)
		fatalx("%s", cause);
	if (token_load_key(m.cfg.data_dir, m.key, &cause) != 0)
		fatalx("master key: %s", cause);
	vault_settings_sealer(m.key);	/* secret settings are sealed */
	xasprintf(&m.db_path, "%s/berth.db", m.cfg.data_dir);
	pthread_mutex_init(&m.leader_lock, NULL);
	main_cluster(&m);
	if (pthread_key_create(&m.store_key, store_key_free) != 0)
		fatalx("pthread_key_create failed");
	if (m.cluster == NULL) {
		atomic_init(&m.role, MASTER_SINGLE);
		st = master_store(&m);
		if (main_lead(&m, st, &cause) != 0)
			fatalx("store %s: %s", m.db_path, cause);
	} else
		atomic_init(&m.role, MASTER_STANDBY);	/* role.c decides */

	/* Before the hub, which hands it agents' logs frames. */
	if ((m.logs = logstore_start(&m, &cause)) == NULL)
		fatalx("log store: %s", cause);
	m.loads = loadring_new();
	/* Before any other thread uses libcurl (its global init). */
	if ((m.webhook = webhook_start(&m, &cause)) == NULL)
		fatalx("webhook: %s", cause);
	if ((m.exec = exec_relay_start(&m, &cause)) == NULL)
		fatalx("exec relay: %s", cause);
	if ((m.api = api_start(&m, &cause)) == NULL)
		fatalx("api: %s", cause);
	if ((m.hub = hub_start(&m, &cause)) == NULL)
		fatalx("agent hub: %s", cause);
	/* Before the scheduler, which queues provider calls to it. */
	if ((m.providers = provider_worker_start(&m, &cause)) == NULL)
		fatalx("provider threads: %s", cause);
	if ((m.sched = sched_loop_start(&m, &cause)) == NULL)
		fatalx("scheduler: %s", cause);
	/* Last: it turns the API, the hub and the scheduler on and off. */
	if (m.cluster != NULL &&
	    (m.watch = role_watch_start(&m, main_lead, &cause)) == NULL)
		fatalx("leadership watcher: %s", cause);
	log_info("berth-master %s: API on %s://%s, agents on %s://%s, data in "
	    "%s", MASTER_VERSION, m.tls.on ? "https" : "http",
	    m.cfg.api_listen, m.tls.on ? "wss" : "ws", m.cfg.agent_listen,
	    m.cfg.data_dir);

	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGINT || sig == SIGTERM)
			break;
	}
	log_info("shutting down (signal %d)", sig);
	t0 = util_mono_ms();
	/*
	 * Producers before consumers: the API notifies the scheduler and the
	 * hub, and the hub and the scheduler notify each other. So the API
	 * goes first, then the scheduler's thread, then the hub (which may
	 * still notify the stopped scheduler), and the scheduler is freed
	 * last. The log store writes what it holds before the hub stops.
	 */
	/* Upgraded exec sockets are closed before MHD stops. */
	t = util_mono_ms();
	role_watch_stop(m.watch);	/* roles stay as they are */
	role_hand_over(&m);	/* a leader hands over first (docs/ha.md) */
	exec_relay_shutdown(m.exec);
	cluster_tls_shutdown_served(m.ctls);	/* peers reach it no more */
	api_stop(m.api);
	STOP_STEP(0);
	sched_loop_stop(m.sched);
	STOP_STEP(1);
	/* Calls in flight end (each within its timeout); their results,
	 * never applied, are found again from the rows at the next start. */
	provider_worker_free(m.providers);
	/* A POST in flight is aborted; what waits is not posted. */
	webhook_free(m.webhook);
	STOP_STEP(2);
	/* Its last writes are acknowledged through the hub, still running. */
	logstore_stop(m.logs);
	STOP_STEP(3);
	hub_stop(m.hub);
	STOP_STEP(4);
	logstore_free(m.logs);
	sched_loop_free(m.sched);
	exec_relay_free(m.exec);	/* the hub's last frames to it */
	loadring_free(m.loads);
	if (m.cluster == NULL)
		store_close(pthread_getspecific(m.store_key));
	STOP_STEP(5);
	log_info("stopped in %lld ms: API %lld, scheduler %lld, providers "
	    "and webhooks %lld, log store %lld, agent hub %lld, the rest %lld",
	    (long long)(util_mono_ms() - t0), (long long)took[0],
	    (long long)took[1], (long long)took[2], (long long)took[3],
	    (long long)took[4], (long long)took[5]);
	pthread_setspecific(m.store_key, NULL);
	cluster_stop(m.cluster);
	cluster_tls_free(m.ctls);	/* after the node: its dials */
	pthread_mutex_destroy(&m.leader_lock);	/* last: every store is closed */
	OPENSSL_cleanse(m.key, sizeof m.key);
	free(m.db_path);
	free(m.self_dir);
	tls_free(&m.tls);
	config_free(&m.cfg);
	return 0;
}
