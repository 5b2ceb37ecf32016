/*
 * provider_exec.c - the exec provider: an operator's program makes and
 * removes machines (docs/autoscaling.md, "The exec provider", is the
 * contract).
 *
 * The program is run as `PROGRAM OP` (OP: create, delete, list) with one
 * JSON object on its stdin and answers with one JSON object on its stdout;
 * exit status 0 is success. It runs in its own session (setsid), so a
 * timeout kills its whole process group (SIGKILL), and its stdout is read
 * up to a cap (PROVIDER_EXEC_CAP): more is a failure, and the program is
 * killed. Everything it prints is checked: an answer that is not what the
 * contract says is a failure naming what was wrong, never trusted.
 *
 * Calls run on the provider threads (provider_worker.c), never in a
 * scheduling round. The join token travels on stdin only: never in argv
 * or the environment, which other users may read in /proc.
 */
#include "master/provider.h"

#include "common/util.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PROVIDER_EXEC_CAP	(64 * 1024)	/* stdout bytes at most */
#define PROVIDER_EXEC_ERRTAIL	1024		/* stderr kept (its end) */

extern char **environ;

/* Last non-empty line of text, cleaned of control bytes, into buf. */
static void
pe_last_line(const char *text, size_t n, char *buf, size_t len)
{
	size_t end = n, start, i, o = 0;

	while (end > 0 && (text[end - 1] == '\n' || text[end - 1] == '\r' ||
	    text[end - 1] == ' '))
		end--;
	start = end;
	while (start > 0 && text[start - 1] != '\n')
		start--;
	for (i = start; i < end && o + 1 < len; i++)
		buf[o++] = (unsigned char)text[i] < 0x20 ? ' ' : text[i];
	buf[o] = '\0';
}

/* The environment of the program: the master's without BERTH_*. */
static char **
pe_env(const char *op)
{
	char **env = NULL, **e;
	size_t n = 0;

	for (e = environ; *e != NULL; e++) {
		if (strncmp(*e, "BERTH_", 6) == 0)
			continue;
		env = xreallocarray(env, n + 2, sizeof *env);
		env[n++] = xstrdup(*e);
	}
	env = xreallocarray(env, n + 2, sizeof *env);
	xasprintf(&env[n++], "BERTH_PROVIDER_OP=%s", op);
	env[n] = NULL;
	return env;
}

static void
pe_env_free(char **env)
{
	size_t i;

	for (i = 0; env[i] != NULL; i++)
		free(env[i]);
	free(env);
}

int
provider_exec_run(const char *program, const char *op, const char *input,
    int64_t timeout_ms, size_t cap, char **out, char *cause, size_t causelen,
    int *killed)
{
	char *argv[3] = { (char *)program, (char *)op, NULL };

	return provider_run_argv(argv, op, input, timeout_ms, cap, out, cause,
	    causelen, killed);
}

int
provider_run_argv(char *const argv[], const char *op, const char *input,
    int64_t timeout_ms, size_t cap, char **out, char *cause, size_t causelen,
    int *killed)
{
	const char *program = argv[0];
	int in[2] = { -1, -1 }, so[2] = { -1, -1 }, se[2] = { -1, -1 };
	char **env, errbuf[PROVIDER_EXEC_ERRTAIL + 1], chunk[4096];
	char line[300];
	size_t outlen = 0, inlen = strlen(input), inoff = 0, errlen = 0;
	int64_t deadline = util_mono_ms() + timeout_ms, left;
	int status = 0, exited = 0, rc = -1, over = 0, timed = 0;
	struct pollfd pf[3];
	pid_t pid;
	ssize_t r;
	nfds_t nf;

	*out = xmalloc(cap + 1);
	(*out)[0] = '\0';
	*killed = 0;
	cause[0] = '\0';
	if (strchr(program, '/') != NULL && access(program, X_OK) != 0) {
		snprintf(cause, causelen, "cannot run %s: %s", program,
		    strerror(errno));
		return -1;
	}
	if (pipe2(in, O_CLOEXEC) != 0 || pipe2(so, O_CLOEXEC) != 0 ||
	    pipe2(se, O_CLOEXEC) != 0) {
		snprintf(cause, causelen, "pipe: %s", strerror(errno));
		goto close;
	}
	env = pe_env(op);
	pid = fork();
	if (pid < 0) {
		snprintf(cause, causelen, "fork: %s", strerror(errno));
		pe_env_free(env);
		goto close;
	}
	if (pid == 0) {
		struct sigaction sa;
		sigset_t none;
		int sig;

		setsid();
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = SIG_DFL;
		for (sig = 1; sig < NSIG; sig++)
			sigaction(sig, &sa, NULL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (dup2(in[0], 0) < 0 || dup2(so[1], 1) < 0 ||
		    dup2(se[1], 2) < 0)
			_exit(126);
		syscall(SYS_close_range, 3U, ~0U, 0U);
		if (strchr(program, '/') != NULL)
			execve(program, argv, env);
		else {
			environ = env;
			execvp(program, argv);
		}
		_exit(127);
	}
	pe_env_free(env);
	close(in[0]);
	close(so[1]);
	close(se[1]);
	in[0] = so[1] = se[1] = -1;
	fcntl(in[1], F_SETFL, O_NONBLOCK);
	if (inlen == 0) {
		close(in[1]);
		in[1] = -1;
	}
	for (;;) {
		nf = 0;
		if (so[0] >= 0)
			pf[nf++] = (struct pollfd){ so[0], POLLIN, 0 };
		if (se[0] >= 0)
			pf[nf++] = (struct pollfd){ se[0], POLLIN, 0 };
		if (in[1] >= 0)
			pf[nf++] = (struct pollfd){ in[1], POLLOUT, 0 };
		if (nf == 0 && exited)
			break;
		if ((left = deadline - util_mono_ms()) <= 0) {
			timed = 1;
			break;
		}
		/* Short sleeps: a program that exits while a child of its
		 * keeps stdout open is done all the same. */
		if (poll(pf, nf, left < 50 ? (int)left : 50) < 0 &&
		    errno != EINTR)
			break;
		if (!exited && waitpid(pid, &status, WNOHANG) == pid)
			exited = 1;
		for (nfds_t i = 0; i < nf; i++) {
			if (pf[i].revents == 0)
				continue;
			if (pf[i].fd == in[1]) {
				r = write(in[1], input + inoff, inlen - inoff);
				if (r > 0)
					inoff += (size_t)r;
				if (r < 0 && errno != EAGAIN) {
					close(in[1]);	/* it stopped reading */
					in[1] = -1;
				} else if (inoff == inlen) {
					close(in[1]);
					in[1] = -1;
				}
				continue;
			}
			r = read(pf[i].fd, chunk, sizeof chunk);
			if (r <= 0) {
				if (r < 0 && errno == EINTR)
					continue;
				if (pf[i].fd == so[0]) {
					close(so[0]);
					so[0] = -1;
				} else {
					close(se[0]);
					se[0] = -1;
				}
				continue;
			}
			if (pf[i].fd == so[0]) {
				if (outlen + (size_t)r > cap) {
					over = 1;
					break;
				}
				memcpy(*out + outlen, chunk, (size_t)r);
				outlen += (size_t)r;
			} else {
				/* Keep the end of stderr. */
				if ((size_t)r >= PROVIDER_EXEC_ERRTAIL) {
					memcpy(errbuf, chunk + r -
					    PROVIDER_EXEC_ERRTAIL,
					    PROVIDER_EXEC_ERRTAIL);
					errlen = PROVIDER_EXEC_ERRTAIL;
				} else {
					if (errlen + (size_t)r >
					    PROVIDER_EXEC_ERRTAIL) {
						size_t drop = errlen + (size_t)r -
						    PROVIDER_EXEC_ERRTAIL;
						memmove(errbuf, errbuf + drop,
						    errlen - drop);
						errlen -= drop;
					}
					memcpy(errbuf + errlen, chunk,
					    (size_t)r);
					errlen += (size_t)r;
				}
			}
		}
		if (over)
			break;
		/* Exited and its pipes drained for this turn: done, even if
		 * a child it left behind holds them open. */
		if (exited && (so[0] < 0 || !(nf > 0 && pf[0].revents)))
			break;
	}
	(*out)[outlen] = '\0';
	errbuf[errlen] = '\0';
	if (!exited && (timed || over)) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		*killed = 1;
	}
	if (!exited)
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	if (timed && !exited)
		snprintf(cause, causelen, "%s %s: timed out after %llds "
		    "(killed)", program, op, (long long)(timeout_ms / 1000));
	else if (over) {
		snprintf(cause, causelen, "%s %s: output over %zu bytes%s",
		    program, op, cap, *killed ? " (killed)" : "");
	} else if (WIFSIGNALED(status)) {
		pe_last_line(errbuf, errlen, line, sizeof line);
		snprintf(cause, causelen, "%s %s: killed by signal %d%s%s",
		    program, op, WTERMSIG(status), line[0] ? ": " : "", line);
	} else if (WEXITSTATUS(status) != 0) {
		pe_last_line(errbuf, errlen, line, sizeof line);
		snprintf(cause, causelen, "%s %s: exit status %d%s%s", program,
		    op, WEXITSTATUS(status), line[0] ? ": " : "", line);
		if (WEXITSTATUS(status) == 127 && line[0] == '\0')
			snprintf(cause, causelen, "%s %s: exit status 127 (could "
			    "not be executed)", program, op);
	} else
		rc = 0;
close:
	if (in[0] >= 0)
		close(in[0]);
	if (in[1] >= 0)
		close(in[1]);
	if (so[0] >= 0)
		close(so[0]);
	if (so[1] >= 0)
		close(so[1]);
	if (se[0] >= 0)
		close(se[0]);
	if (se[1] >= 0)
		close(se[1]);
	return rc;
}

/* ---- the vtable -------------------------------------------------------- */

static int
pe_available(const char **why)
{
	*why = NULL;
	return 1;
}

/* An id: 1 to 255 printable ASCII bytes. */
static int
pe_id_valid(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n >= PROVIDER_ID_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

/* What the program printed, shown in a cause: its start, cleaned. */
static void
pe_shown(const char *out, char *buf, size_t len)
{
	size_t i, o = 0;

	for (i = 0; out[i] != '\0' && o + 1 < len && i < 60; i++)
		buf[o++] = (unsigned char)out[i] < 0x20 ||
		    (unsigned char)out[i] > 0x7e ? '?' : out[i];
	buf[o] = '\0';
}

/* Run op with in (taken); 0 and *answer (an object), or -1 with res set. */
static int
pe_call(const struct provider_req *req, const char *op, json_t *in,
    struct provider_res *res, json_t **answer)
{
	char *text = json_dumps(in, JSON_COMPACT), *out = NULL, shown[64];
	int killed = 0, rc;
	json_error_t jerr;

	json_decref(in);
	*answer = NULL;
	rc = provider_exec_run(req->settings.exec_program, op, text,
	    req->settings.exec_timeout_s * 1000, PROVIDER_EXEC_CAP, &out,
	    res->cause, sizeof res->cause, &killed);
	explicit_bzero(text, strlen(text));	/* it may hold a token */
	free(text);
	if (rc != 0) {
		/* A program that failed by itself made nothing (the
		 * contract); one that was killed may have. */
		res->nothing = !killed;
		free(out);
		return -1;
	}
	*answer = json_loads(out, 0, &jerr);
	if (*answer == NULL || !json_is_object(*answer)) {
		pe_shown(out, shown, sizeof shown);
		snprintf(res->cause, sizeof res->cause, "%.200s %s: exit status 0 "
		    "but its output is not a JSON object (%.120s%s%s)",
		    req->settings.exec_program, op, *answer == NULL ?
		    jerr.text : "another JSON type", shown[0] ? ": " : "",
		    shown);
		json_decref(*answer);
		*answer = NULL;
		free(out);
		return -1;
	}
	free(out);
	return 0;
}

/* The request's common part. */
static json_t *
pe_input(const struct provider_req *req, const char *op)
{
	return json_pack("{s:s, s:s, s:s}", "op", op, "grid", req->grid,
	    "group", req->group);
}

static void
pe_create(const struct provider_req *req, struct provider_res *res)
{
	json_t *in = pe_input(req, "create"), *ans, *labels, *env;
	char *words, *w, *save = NULL, *eq;
	const char *id;

	labels = json_loads(req->labels, 0, NULL);
	env = json_object();
	words = xstrdup(req->settings.agent_env);
	for (w = strtok_r(words, " ", &save); w != NULL;
	    w = strtok_r(NULL, " ", &save))
		if ((eq = strchr(w, '=')) != NULL) {
			*eq = '\0';
			json_object_set_new(env, w, json_string(eq + 1));
		}
	free(words);
	json_object_set_new(in, "machine", json_string(req->machine));
	json_object_set_new(in, "count", json_integer(req->count));
	json_object_set_new(in, "url", json_string(req->url));
	json_object_set_new(in, "token", json_string(req->token));
	if (req->pin[0] != '\0')
		json_object_set_new(in, "pin", json_string(req->pin));
	json_object_set_new(in, "labels", labels != NULL ? labels :
	    json_array());
	json_object_set_new(in, "cpus", json_integer(req->settings.cpus));
	json_object_set_new(in, "memory", json_integer(req->settings.memory));
	if (req->agent[0] != '\0')
		json_object_set_new(in, "agent", json_string(req->agent));
	json_object_set_new(in, "env", env);
	if (pe_call(req, "create", in, res, &ans) != 0)
		return;
	id = json_string_value(json_object_get(ans, "id"));
	if (id == NULL || !pe_id_valid(id)) {
		snprintf(res->cause, sizeof res->cause, "%.200s create: its answer "
		    "has no \"id\" (a string of 1 to 255 printable characters)",
		    req->settings.exec_program);
		json_decref(ans);
		return;		/* something may exist: deleted by name */
	}
	snprintf(res->id, sizeof res->id, "%s", id);
	res->ok = 1;
	json_decref(ans);
}

static void
pe_delete(const struct provider_req *req, struct provider_res *res)
{
	json_t *in = pe_input(req, "delete"), *ans;

	json_object_set_new(in, "machine", json_string(req->machine));
	json_object_set_new(in, "id", req->provider_id[0] != '\0' ?
	    json_string(req->provider_id) : json_null());
	if (pe_call(req, "delete", in, res, &ans) != 0) {
		res->nothing = 0;
		return;
	}
	json_decref(ans);
	res->ok = 1;
}

static void
pe_list(const struct provider_req *req, struct provider_res *res)
{
	json_t *ans, *arr, *v;
	const char *id, *mach;
	size_t i;

	if (pe_call(req, "list", pe_input(req, "list"), res, &ans) != 0)
		return;
	arr = json_object_get(ans, "instances");
	if (!json_is_array(arr)) {
		snprintf(res->cause, sizeof res->cause, "%.200s list: its answer "
		    "has no \"instances\" array", req->settings.exec_program);
		json_decref(ans);
		return;
	}
	res->inst = xcalloc(json_array_size(arr) + 1, sizeof *res->inst);
	json_array_foreach(arr, i, v) {
		id = json_string_value(json_object_get(v, "id"));
		mach = json_string_value(json_object_get(v, "machine"));
		if (id == NULL || !pe_id_valid(id) || (json_object_get(v,
		    "machine") != NULL && (mach == NULL || strlen(mach) >=
		    sizeof res->inst->machine))) {
			snprintf(res->cause, sizeof res->cause, "%.200s list: "
			    "instances[%zu] needs an \"id\" (1 to 255 printable "
			    "characters) and may have a \"machine\" name",
			    req->settings.exec_program, i);
			free(res->inst);
			res->inst = NULL;
			res->ninst = 0;
			json_decref(ans);
			return;
		}
		snprintf(res->inst[res->ninst].id, sizeof res->inst->id, "%s",
		    id);
		snprintf(res->inst[res->ninst].machine,
		    sizeof res->inst->machine, "%s", mach != NULL ? mach : "");
		res->ninst++;
	}
	json_decref(ans);
	res->ok = 1;
}

const struct provider provider_exec = {
	.name = "exec",
	.async = 1,
	.join = PROVIDER_JOIN_TOKEN,
	.available = pe_available,
	.create = pe_create,
	.delete = pe_delete,
	.list = pe_list,
};

/* ---- every provider ---------------------------------------------------- */

const struct provider *
provider_find(const char *name)
{
	static const struct provider *const all[] = { &provider_process,
	    &provider_exec, &provider_docker, &provider_aws_asg, NULL };
	size_t i;

	for (i = 0; all[i] != NULL; i++)
		if (strcmp(all[i]->name, name) == 0)
			return all[i];
	return NULL;
}

void
provider_call(const struct provider *p, const struct provider_req *req,
    struct provider_res *res)
{
	memset(res, 0, sizeof *res);
	res->op = req->op;
	res->grid_id = req->grid_id;
	res->group_id = req->group_id;
	res->machine_id = req->machine_id;
	snprintf(res->machine, sizeof res->machine, "%s", req->machine);
	switch (req->op) {
	case PROVIDER_CREATE:
		p->create(req, res);
		break;
	case PROVIDER_DELETE:
		p->delete(req, res);
		break;
	case PROVIDER_LIST:
		p->list(req, res);
		break;
	case PROVIDER_JOIN:
		if (p->join_check != NULL)
			p->join_check(req, res);
		else
			snprintf(res->cause, sizeof res->cause, "provider %s "
			    "has no instance join", p->name);
		break;
	}
}

void
provider_res_clear(struct provider_res *res)
{
	free(res->inst);
	res->inst = NULL;
	res->ninst = 0;
}
