/*
 * main.c - berth-agent: start-up, signals, orderly shutdown.
 *
 * The main thread parses the configuration, loads (or makes) the node id,
 * starts the websocket thread (conn.c), the converge thread (converge.c,
 * which starts the pull thread), then waits in sigwait() for SIGINT or
 * SIGTERM. On a signal it closes the socket politely (1001) and stops the
 * threads; containers are left running: they belong to the node, and the
 * next agent on this node adopts them by their labels. SIGUSR1 comes from
 * the websocket thread when the node id turned out to be another live
 * machine's and there is no grid token to join as a new node: the agent
 * has removed what it ran under that id and stops, with status 1.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "agent/config.h"
#include "agent/conn.h"
#include "agent/converge.h"
#include "agent/exec.h"
#include "agent/ident.h"
#include "agent/logs.h"
#include "common/log.h"
#include "common/proto.h"

int
main(int argc, char **argv)
{
	struct agent_config cfg;
	struct conn *conn;
	struct converge *conv;
	struct logs *logs;
	struct exec_mgr *exec;
	char node_id[PROTO_NODE_ID_LEN + 1], *cause = NULL, *token;
	sigset_t set;
	int rc, sig;

	log_set_prefix("agent");
	rc = agent_config_load(&cfg, argc, argv, NULL, NULL, stdout, &cause);
	if (rc != 0) {
		if (rc < 0) {
			fprintf(stderr, "berth-agent: %s\n", cause);
			free(cause);
		}
		agent_config_free(&cfg);
		return rc < 0 ? 1 : 0;
	}
	(void)log_set_level_name(cfg.log_level);
	if (agent_config_check_plain(&cfg, &cause) != 0) {
		fprintf(stderr, "berth-agent: %s\n", cause);
		free(cause);
		agent_config_free(&cfg);
		return 1;
	}
	if (ident_load_id(cfg.data_dir, node_id, &cause) != 0)
		fatalx("%s", cause);
	if (ident_lock(cfg.data_dir, &cause) != 0)
		fatalx("%s", cause);
	token = ident_load_token(cfg.data_dir);
	if (token == NULL && cfg.grid_token == NULL)
		fatalx("BERTH_TOKEN is not set and %s/node-token does not "
		    "exist: give the grid token to join", cfg.data_dir);

	/* Signals are taken by sigwait() below, never by the threads. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		fatalx("curl_global_init failed");

	log_info("berth-agent %s: node %s (%s), master %s, data %s, "
	    "docker %s, %s", agent_config_version(), cfg.node_name, node_id,
	    cfg.url, cfg.data_dir, cfg.docker_socket,
	    token != NULL ? "has a node token" : "joining with the grid token");

	conn = conn_new(&cfg, node_id, token);
	conv = converge_new(&cfg, node_id, conn);
	conn_set_converge(conn, conv);
	/* Container logs: a thread of their own, off the converge path. */
	logs = logs_new(&cfg, node_id, conn);
	conn_set_logs(conn, logs);
	exec = exec_new(&cfg, node_id, conn);
	conn_set_exec(conn, exec);
	converge_start(conv);
	logs_start(logs);
	if (conn_start(conn, &cause) != 0)
		fatalx("%s", cause);
	rc = 0;

	if (sigwait(&set, &sig) == 0 && sig == SIGUSR1) {
		log_error("stopping: the node id is another machine's and "
		    "there is no BERTH_TOKEN to join as a new node");
		rc = 1;
	} else
		log_info("%s: closing the session, leaving containers running",
		    strsignal(sig));
	conn_stop(conn);	/* no frame reaches converge any more */
	logs_free(logs);	/* writes the cursor of what was acknowledged */
	exec_free(exec);	/* kills what the sessions ran */
	converge_free(conv);	/* no thread calls conn_send() any more */
	conn_free(conn);
	curl_global_cleanup();
	agent_config_free(&cfg);
	log_info("stopped");
	return rc;
}
