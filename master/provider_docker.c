/*
 * provider_docker.c - the docker provider: each machine is berth-agent in
 * a container of the local Docker Engine (Kontena's and Kraken's
 * agent-in-Docker model), from an image built locally from the project's
 * own binary (scripts/agent-image.sh: no registry).
 *
 * The container runs with the host's network (it dials the master as a
 * local agent would), the Engine's socket (the agent drives the same
 * Engine: its workload containers are the container's siblings) and the
 * machine's data dir mounted at the same path (its node id and node token
 * outlive the container). Its environment comes from an env file of mode
 * 0600 in the data dir, removed once `docker run` has read it, so the
 * join token is never in an argv. (Docker keeps a container's environment
 * in its config: the token is single-use and spent at the join.)
 *
 * A machine's container carries the labels berth.provider.dir (the data
 * dir: unique per master and machine) and berth.provider.group
 * (<grid>/<group>); delete finds it by id or by that label, and removes
 * the containers its agent left (label berth.node=<its node id>) too.
 * Calls run the `docker` CLI on the provider threads, each with the
 * group's exec_timeout_s.
 */
#include "master/provider.h"

#include "common/util.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PD_CAP	(256 * 1024)	/* docker's stdout at most */

static int
pd_available(const char **why)
{
	*why = NULL;
	return 1;
}

/* Run docker with argv (NULL-terminated, argv[0] "docker"). */
static int
pd_run(const struct provider_req *req, char *const argv[], char **out,
    struct provider_res *res)
{
	int killed = 0;

	return provider_run_argv(argv, "docker", "", req->settings.
	    exec_timeout_s * 1000, PD_CAP, out, res->cause, sizeof res->cause,
	    &killed);
}

static void
pd_trim(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' ||
	    s[n - 1] == ' '))
		s[--n] = '\0';
}

static void
pd_create(const struct provider_req *req, struct provider_res *res)
{
	char envfile[600], lab_dir[700], lab_group[200], vol[1100], sock[600];
	char *argv[32], *out = NULL, *words, *w, *save = NULL, cpus[24];
	const char *socket = req->settings.docker_socket;
	size_t n = 0;
	FILE *f;
	int fd;

	if (req->data_dir[0] == '\0') {
		snprintf(res->cause, sizeof res->cause, "no data dir");
		res->nothing = 1;
		return;
	}
	if (mkdir(req->data_dir, 0700) != 0 && errno != EEXIST) {
		snprintf(res->cause, sizeof res->cause, "cannot make %.300s: %s",
		    req->data_dir, strerror(errno));
		res->nothing = 1;
		return;
	}
	snprintf(envfile, sizeof envfile, "%.500s/agent.env", req->data_dir);
	if ((fd = open(envfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) < 0 || (f = fdopen(fd, "w")) == NULL) {
		snprintf(res->cause, sizeof res->cause, "cannot write %.300s: %s",
		    envfile, strerror(errno));
		res->nothing = 1;
		return;
	}
	fprintf(f, "BERTH_URL=%s\nBERTH_TOKEN=%s\nBERTH_NODE_NAME=%s\n"
	    "BERTH_DATA_DIR=%s\n", req->url, req->token, req->machine,
	    req->data_dir);
	if (req->pin[0] != '\0')
		fprintf(f, "BERTH_MASTER_PIN=%s\n", req->pin);
	if (req->settings.cpus > 0) {
		snprintf(cpus, sizeof cpus, "%lld",
		    (long long)req->settings.cpus);
		fprintf(f, "BERTH_CPUS=%s\n", cpus);
	}
	/* The master's own BERTH_NETWORK (tests: off), unless agent_env
	 * says otherwise below. */
	if (getenv("BERTH_NETWORK") != NULL)
		fprintf(f, "BERTH_NETWORK=%s\n", getenv("BERTH_NETWORK"));
	words = xstrdup(req->settings.agent_env);
	for (w = strtok_r(words, " ", &save); w != NULL;
	    w = strtok_r(NULL, " ", &save))
		fprintf(f, "%s\n", w);
	free(words);
	fclose(f);

	snprintf(lab_dir, sizeof lab_dir, "berth.provider.dir=%s",
	    req->data_dir);
	snprintf(lab_group, sizeof lab_group, "berth.provider.group=%s/%s",
	    req->grid, req->group);
	snprintf(vol, sizeof vol, "%s:%s", req->data_dir, req->data_dir);
	snprintf(sock, sizeof sock, "%s:/var/run/docker.sock", socket);
	argv[n++] = "docker";
	argv[n++] = "run";
	argv[n++] = "-d";
	argv[n++] = "--network";
	argv[n++] = "host";
	argv[n++] = "--env-file";
	argv[n++] = envfile;
	argv[n++] = "--label";
	argv[n++] = lab_dir;
	argv[n++] = "--label";
	argv[n++] = lab_group;
	argv[n++] = "-v";
	argv[n++] = sock;
	argv[n++] = "-v";
	argv[n++] = vol;
	argv[n++] = "-w";
	argv[n++] = (char *)req->data_dir;
	argv[n++] = (char *)req->settings.docker_image;
	argv[n] = NULL;
	if (pd_run(req, argv, &out, res) != 0) {
		/* docker run that failed made nothing we keep; the delete
		 * by label is there if it did. */
		unlink(envfile);
		free(out);
		return;
	}
	unlink(envfile);
	pd_trim(out);
	if (strlen(out) < 12 || strlen(out) >= PROVIDER_ID_MAX ||
	    strspn(out, "0123456789abcdef") != strlen(out)) {
		snprintf(res->cause, sizeof res->cause, "docker run printed no "
		    "container id");
		free(out);
		return;
	}
	snprintf(res->id, sizeof res->id, "%.12s", out);
	res->ok = 1;
	free(out);
}

/* docker rm -f of every id in the lines of ids. 0 or -1 (res->cause). */
static int
pd_rm(const struct provider_req *req, char *ids, struct provider_res *res)
{
	char *argv[64], *w, *save = NULL, *out = NULL;
	size_t n = 0;
	int rc = 0;

	argv[n++] = "docker";
	argv[n++] = "rm";
	argv[n++] = "-f";
	for (w = strtok_r(ids, "\n ", &save); w != NULL && n < 62;
	    w = strtok_r(NULL, "\n ", &save))
		argv[n++] = w;
	argv[n] = NULL;
	if (n > 3)
		rc = pd_run(req, argv, &out, res);
	free(out);
	return rc;
}

/* Ids of the containers with label (lines, malloc'd), or NULL on error. */
static char *
pd_ps(const struct provider_req *req, const char *label,
    struct provider_res *res)
{
	char filter[800], *argv[8], *out = NULL;

	snprintf(filter, sizeof filter, "label=%s", label);
	argv[0] = "docker";
	argv[1] = "ps";
	argv[2] = "-aq";
	argv[3] = "--filter";
	argv[4] = filter;
	argv[5] = NULL;
	if (pd_run(req, argv, &out, res) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

static void
pd_delete(const struct provider_req *req, struct provider_res *res)
{
	char label[700], path[700], *ids, *node = NULL;

	/* The agent first (by label: the id may never have come back). */
	snprintf(label, sizeof label, "berth.provider.dir=%s", req->data_dir);
	if ((ids = pd_ps(req, label, res)) == NULL)
		return;
	/* And by the id given (an orphan's container has no dir known). */
	if (req->provider_id[0] != '\0' && strspn(req->provider_id,
	    "0123456789abcdef") == strlen(req->provider_id)) {
		ids = xreallocarray(ids, strlen(ids) + strlen(req->provider_id) +
		    2, 1);
		strcat(ids, "\n");
		strcat(ids, req->provider_id);
	}
	if (pd_rm(req, ids, res) != 0) {
		free(ids);
		return;
	}
	free(ids);
	/* Then what its agent left behind. */
	snprintf(path, sizeof path, "%.600s/node-id", req->data_dir);
	if (util_read_file(path, 128, &node, NULL) == 0) {
		pd_trim(node);
		snprintf(label, sizeof label, "berth.node=%s", node);
		free(node);
		if ((ids = pd_ps(req, label, res)) == NULL)
			return;
		if (pd_rm(req, ids, res) != 0) {
			free(ids);
			return;
		}
		free(ids);
	}
	if (provider_process_remove(req->data_dir) != 0) {
		snprintf(res->cause, sizeof res->cause, "cannot remove %.300s: "
		    "%s", req->data_dir, strerror(errno));
		return;
	}
	res->ok = 1;
}

static void
pd_list(const struct provider_req *req, struct provider_res *res)
{
	char filter[300], *argv[8], *out = NULL, *line, *save = NULL, *sp;

	snprintf(filter, sizeof filter, "label=berth.provider.group=%s/%s",
	    req->grid, req->group);
	argv[0] = "docker";
	argv[1] = "ps";
	argv[2] = "-a";
	argv[3] = "--filter";
	argv[4] = filter;
	argv[5] = "--format";
	argv[6] = "{{.ID}} {{.Label \"berth.provider.dir\"}}";
	argv[7] = NULL;
	if (pd_run(req, argv, &out, res) != 0) {
		free(out);
		return;
	}
	for (line = strtok_r(out, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		res->inst = xreallocarray(res->inst, res->ninst + 1,
		    sizeof *res->inst);
		memset(&res->inst[res->ninst], 0, sizeof *res->inst);
		if ((sp = strchr(line, ' ')) != NULL) {
			*sp = '\0';
			if (strrchr(sp + 1, '/') != NULL)
				snprintf(res->inst[res->ninst].machine,
				    sizeof res->inst->machine, "%.63s",
				    strrchr(sp + 1, '/') + 1);
		}
		snprintf(res->inst[res->ninst].id, sizeof res->inst->id,
		    "%.200s", line);
		res->ninst++;
	}
	free(out);
	res->ok = 1;
}

const struct provider provider_docker = {
	.name = "docker",
	.async = 1,
	.join = PROVIDER_JOIN_TOKEN,
	.available = pd_available,
	.create = pd_create,
	.delete = pd_delete,
	.list = pd_list,
};
