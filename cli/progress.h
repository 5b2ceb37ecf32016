/*
 * progress.h - Kontena-style progress lines for long CLI operations.
 *
 * One "[done] <step>" (or "[fail] <step>: why") line per step; while a
 * step waits, a live "[ | ] <step>" spinner line when stdout is a
 * terminal (nothing otherwise, so logs and pipes get the final lines
 * only). Used by cmd_stack.c and cmd_lifecycle.c; single-threaded.
 */
#ifndef BERTH_CLI_PROGRESS_H
#define BERTH_CLI_PROGRESS_H

/*
 * Quiet (--json): no progress lines; a failed step still says why on
 * stderr, and the command prints one JSON document at the end.
 */
void	 progress_quiet(int on);
int	 progress_is_quiet(void);
/* A step begins. */
void	 step_start(const char *msg);
/* Still waiting: spinner frame n. */
void	 step_tick(const char *msg, int n);
/*
 * What a step waits for changed: a "[wait] <msg>" line where there is no
 * live line (not a terminal); a terminal's tick shows msg instead.
 */
void	 step_note(const char *msg);
/* The step ended: ok, or failed with why (may be NULL). */
void	 step_end(const char *msg, int ok, const char *why);
/* Sleep ms milliseconds between polls. */
void	 step_sleep_ms(long ms);

#endif
