/*
 * cmd_exec.c - `berth service exec [-it] STACK/SVC[/N] -- CMD...` and
 * `berth container exec [-it] NAME -- CMD...` (docs/exec.md).
 *
 * One websocket to the master (cli/wsclient.c), whose query names the
 * command (cmd=WORD per word) and the options; the master checks it all
 * before the upgrade, so a refusal is its usual one-line error. Then:
 * the command's stdout and stderr arrive as binary messages [stream]
 * [bytes] and go to our fd 1 and 2; with -i our stdin goes the other way
 * (its end as {"type":"eof"}); with -t the terminal is raw and each
 * SIGWINCH sends {"type":"resize"}. {"type":"exit","code":N} ends it and
 * N is our exit status; a failure to run the command at all (refused,
 * master or node gone) is 125, as for docker exec.
 *
 * Flow control is TCP's: while a write to our stdout blocks, the socket
 * is not read, the master stops acknowledging and the agent stops reading
 * the command's output, so nothing piles up anywhere.
 */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/wsclient.h"

#include "common/proto.h"
#include "common/util.h"
#include "common/wsframe.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <jansson.h>

#define EXEC_FAILED	125		/* berth could not run the command */
#define EXEC_STDIN_MAX	(64 * 1024)	/* stdin queued before we wait */

/* The session as the loop sees it. */
struct exec_cli {
	int		 exit_code;	/* the command's, or -1 */
	char		*error;		/* the master's reason, or NULL */
	int		 started;	/* the master said it runs */
};

static struct termios exec_saved_tio;
static int exec_raw;			/* the terminal is raw: restore it */
static int exec_winch_pipe[2] = { -1, -1 };

static void
exec_tty_restore(void)
{
	if (exec_raw) {
		tcsetattr(STDIN_FILENO, TCSADRAIN, &exec_saved_tio);
		exec_raw = 0;
	}
}

static void
exec_on_signal(int sig)
{
	exec_tty_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
exec_on_winch(int sig)
{
	int saved = errno;

	(void)sig;
	(void)!write(exec_winch_pipe[1], "w", 1);
	errno = saved;
}

static int
exec_tty_raw(void)
{
	struct termios t;

	if (tcgetattr(STDIN_FILENO, &exec_saved_tio) != 0)
		return -1;
	t = exec_saved_tio;
	cfmakeraw(&t);
	if (tcsetattr(STDIN_FILENO, TCSADRAIN, &t) != 0)
		return -1;
	exec_raw = 1;
	atexit(exec_tty_restore);
	signal(SIGTERM, exec_on_signal);
	signal(SIGHUP, exec_on_signal);
	return 0;
}

/* The terminal's size (stdout's, else stdin's), or 24x80. */
static void
exec_winsize(int *rows, int *cols)
{
	struct winsize ws;

	*rows = 24;
	*cols = 80;
	if ((ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 ||
	    ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0) && ws.ws_row > 0 &&
	    ws.ws_col > 0) {
		*rows = ws.ws_row > 1000 ? 1000 : ws.ws_row;
		*cols = ws.ws_col > 1000 ? 1000 : ws.ws_col;
	}
}

/* Write all of p to fd (blocking: that is the flow control). */
static void
exec_write_all(int fd, const unsigned char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;		/* our stdout went away: drop */
		p += n;
		len -= (size_t)n;
	}
}

static void
exec_message(void *arg, int op, const unsigned char *data, size_t len)
{
	struct exec_cli *x = arg;
	json_t *o;
	const char *type;

	if (op == WS_OP_BINARY) {
		if (len >= 1)
			exec_write_all(data[0] == PROTO_EXEC_STDERR ?
			    STDERR_FILENO : STDOUT_FILENO, data + 1, len - 1);
		return;
	}
	o = json_loadb((const char *)data, len, 0, NULL);
	type = json_string_value(json_object_get(o, "type"));
	if (type != NULL && strcmp(type, "exit") == 0)
		x->exit_code = (int)json_integer_value(json_object_get(o,
		    "code"));
	else if (type != NULL && strcmp(type, "error") == 0 && x->error == NULL)
		x->error = xstrdup(json_is_string(json_object_get(o, "error")) ?
		    json_string_value(json_object_get(o, "error")) : "error");
	else if (type != NULL && strcmp(type, "started") == 0)
		x->started = 1;
	json_decref(o);
}

/* The session's loop, once the websocket is open. */
static int
exec_loop(struct wsc *w, int want_stdin, int tty, struct exec_cli *x)
{
	struct pollfd p[3];
	unsigned char buf[PROTO_EXEC_CHUNK + 1];
	char *cause = NULL, js[96], c;
	int stdin_open = want_stdin, rows, cols, r;
	ssize_t n;

	for (;;) {
		p[0].fd = wsc_fd(w);
		p[0].events = (short)(POLLIN | (wsc_pending(w) > 0 ? POLLOUT :
		    0));
		p[1].fd = stdin_open && wsc_pending(w) < EXEC_STDIN_MAX ?
		    STDIN_FILENO : -1;
		p[1].events = POLLIN;
		p[2].fd = exec_winch_pipe[0];
		p[2].events = POLLIN;
		p[0].revents = p[1].revents = p[2].revents = 0;
		if (poll(p, 3, -1) < 0 && errno != EINTR) {
			xasprintf(&cause, "poll: %s", strerror(errno));
			break;
		}
		if (p[2].revents & POLLIN) {
			while (read(exec_winch_pipe[0], &c, 1) == 1)
				;
			if (tty) {
				exec_winsize(&rows, &cols);
				snprintf(js, sizeof js, "{\"type\":\"resize\","
				    "\"cols\":%d,\"rows\":%d}", cols, rows);
				wsc_send(w, WS_OP_TEXT, js, strlen(js));
			}
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			buf[0] = PROTO_EXEC_STDIN;
			n = read(STDIN_FILENO, buf + 1, sizeof buf - 1);
			if (n > 0)
				wsc_send(w, WS_OP_BINARY, buf, (size_t)n + 1);
			else if (n == 0 || (errno != EINTR &&
			    errno != EAGAIN)) {
				stdin_open = 0;
				wsc_send(w, WS_OP_TEXT, "{\"type\":\"eof\"}",
				    14);
			}
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			r = wsc_read(w, exec_message, x, &cause);
			if (r != 0) {
				(void)wsc_flush(w, &cause);	/* our close */
				break;
			}
		}
		if (wsc_pending(w) > 0 && wsc_flush(w, &cause) != 0)
			break;
	}
	if (cause != NULL && x->exit_code < 0 && x->error == NULL)
		x->error = cause;
	else
		free(cause);
	return 0;
}

/* Build the query, open the websocket, run the session. */
static int
exec_run(struct cli *c, const char *path_base, const char *instance)
{
	struct exec_cli x = { -1, NULL, 0 };
	struct buf path = { 0 };
	struct wsc *w = NULL;
	char *cause = NULL, *e;
	int want_stdin = cli_flag(c, CLI_OPT_INTERACTIVE) > 0;
	int tty = cli_flag(c, CLI_OPT_TTY) > 0, i, rows, cols, first;
	long status;

	/* The command: every word after the target (options ended there),
	 * past a "--". */
	first = 1;
	if (first < c->nargs && strcmp(c->args[first], "--") == 0)
		first++;
	if (first >= c->nargs) {
		cli_fail("no command: give it after the target and \"--\"");
		return EXEC_FAILED;
	}
	if (tty && !isatty(STDIN_FILENO)) {
		cli_fail("-t needs a terminal on stdin (use -i alone to pipe "
		    "input)");
		return EXEC_FAILED;
	}
	buf_printf(&path, "%s?", path_base);
	for (i = first; i < c->nargs; i++) {
		e = client_escape(c->args[i]);
		buf_printf(&path, "%scmd=%s", i > first ? "&" : "", e);
		free(e);
	}
	if (tty) {
		exec_winsize(&rows, &cols);
		buf_printf(&path, "&tty=1&rows=%d&cols=%d", rows, cols);
	}
	if (want_stdin)
		buf_printf(&path, "&stdin=1");
	if (instance != NULL)
		buf_printf(&path, "&instance=%s", instance);
	if (wsc_open(path.data, &w, &status, &cause) != 0) {
		buf_free(&path);
		cli_fail_cause(cause);
		return EXEC_FAILED;
	}
	buf_free(&path);
	if (pipe2(exec_winch_pipe, O_CLOEXEC | O_NONBLOCK) == 0 && tty)
		signal(SIGWINCH, exec_on_winch);
	if (tty && exec_tty_raw() != 0) {
		wsc_free(w);
		cli_fail("cannot put the terminal in raw mode: %s",
		    strerror(errno));
		return EXEC_FAILED;
	}
	exec_loop(w, want_stdin, tty, &x);
	exec_tty_restore();
	wsc_free(w);
	if (x.exit_code >= 0) {
		free(x.error);
		return x.exit_code;
	}
	if (x.error != NULL) {
		cli_fail("%s", x.error);
		free(x.error);
	} else
		cli_fail("the master ended the session without an exit code");
	return EXEC_FAILED;
}

int
cmd_service_exec(struct cli *c)
{
	char buf[256], *stack, *svc, *inst = NULL, *slash, *path;
	int rc;

	snprintf(buf, sizeof buf, "%s", c->args[0]);
	/* STACK/SVC[/N] */
	if ((slash = strchr(buf, '/')) != NULL &&
	    (slash = strchr(slash + 1, '/')) != NULL) {
		inst = slash + 1;
		*slash = '\0';
		if (*inst == '\0' || strspn(inst, "0123456789") !=
		    strlen(inst)) {
			cli_fail("\"%s\" is not STACK/SERVICE/INSTANCE",
			    c->args[0]);
			return EXEC_FAILED;
		}
	}
	{
		char name[256];

		if (service_split(buf, name, sizeof name, &stack, &svc) != 0)
			return EXEC_FAILED;
		path = cli_path("services/%s/%s/%s/exec", c->grid, stack, svc);
	}
	rc = exec_run(c, path, inst);
	free(path);
	return rc;
}

int
cmd_container_exec(struct cli *c)
{
	char *path = cli_path("containers/%s/%s/exec", c->grid, c->args[0]);
	int rc = exec_run(c, path, NULL);

	free(path);
	return rc;
}
