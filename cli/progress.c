/*
 * progress.c - progress lines (see progress.h).
 */
#include "cli/progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

static int
step_tty(void)
{
	return isatty(STDOUT_FILENO);
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
