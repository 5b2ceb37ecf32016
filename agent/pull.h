/*
 * pull.h - image pulls on their own thread, with per-image backoff.
 *
 * The converge thread asks pull_want() whether an image can be had; it
 * never waits for a pull. Failed pulls are retried no sooner than 5 s,
 * then 10 s, 20 s, ... up to 5 min: a missing image never becomes a storm.
 */
#ifndef BERTH_AGENT_PULL_H
#define BERTH_AGENT_PULL_H

#include <stdatomic.h>
#include <stdint.h>

struct pull;

enum pull_status {
	PULL_PULLING,		/* queued or in progress */
	PULL_FAILED,		/* last pull failed; *error says why */
};

#define PULL_RETRY_BASE_MS	5000
#define PULL_RETRY_CAP_MS	300000

/*
 * done(arg) is called on the pull thread after each pull, to wake the
 * converge thread. stop aborts a pull in progress when it becomes non-zero.
 */
struct pull *pull_new(const char *docker_socket, const atomic_int *stop,
	    void (*done)(void *), void *arg);
void	 pull_start(struct pull *p);
/* Wake the thread so it sees *stop, join it, free everything. */
void	 pull_free(struct pull *p);

/*
 * The image is missing locally: queue a pull unless one is under way or
 * a failed one is still backing off. After a failure, PULL_FAILED and a
 * copy of the last reason in *error until a pull succeeds (retries go on
 * behind it). now_ms is monotonic.
 */
enum pull_status pull_want(struct pull *p, const char *image, int64_t now_ms,
	    char **error);

#endif
