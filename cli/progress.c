/*
 * progress.c - progress lines (see progress.h).
 */
#include "cli/progress.h"
#include "cli/cli.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

/* --json: no progress lines, one JSON document at the end. */
static int step_quiet;

void
progress_quiet(int on)
{
	step_quiet = on;
}

int
progress_is_quiet(void)
{
	return step_quiet;
}

static int
step_tty(void)
{
	return !step_quiet && isatty(STDOUT_FILENO);
}

void
step_note(const char *msg)
{
	if (!step_quiet && !isatty(STDOUT_FILENO)) {
		printf("[wait] %s\n", msg);
		fflush(stdout);
	}
}

void
step_start(const char *msg)
{
	if (step_tty()) {
		printf("\r\033[K[....] %s", msg);
		fflush(stdout);
	}
}

void
step_tick(const char *msg, int n)
{
	static const char spin[] = "|/-\\";

	if (step_tty()) {
		printf("\r\033[K[ %c  ] %s", spin[n % 4], msg);
		fflush(stdout);
	}
}

void
step_end(const char *msg, int ok, const char *why)
{
	if (step_quiet) {
		if (!ok && why != NULL)
			cli_fail("%s: %s", msg, why);
		return;
	}
	printf("%s[%s] %s%s%s\n", step_tty() ? "\r\033[K" : "",
	    ok ? "done" : "fail", msg, why ? ": " : "", why ? why : "");
	fflush(stdout);
}

void
step_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}
