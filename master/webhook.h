/*
 * webhook.h - a grid's webhook: chosen events POSTed as JSON with a
 * Slack-compatible "text" (docs/autoscaling.md, "Notifications").
 *
 * One thread of its own, on its own store connection, follows the event
 * log (only committed events: a change rolled back is never announced)
 * and posts each event whose grid has a webhook_url and whose type
 * webhook_events chooses. Delivery never holds any other thread: events
 * wait in a bounded queue, each POST has the grid's webhook_timeout_s, a
 * failure is tried again webhook_retries times backing off 1 s doubling
 * to 30 s, and what does not fit or gives up is dropped, counted and
 * logged (the URL only redacted: a Slack URL's path is its secret).
 * Events written before the master started are not posted.
 */
#ifndef BERTH_WEBHOOK_H
#define BERTH_WEBHOOK_H

#include "master/master.h"

#include <stdint.h>

#define WEBHOOK_QUEUE_MAX	256	/* events waiting for delivery */

struct webhook;

struct webhook_stats {
	uint64_t	 sent;		/* delivered (2xx) */
	uint64_t	 failed;	/* attempts that failed */
	uint64_t	 dropped;	/* given up: queue full or out of retries */
	uint64_t	 queued;	/* waiting now */
};

/* Start the thread. NULL with *cause on failure. */
struct webhook	*webhook_start(struct master *m, char **cause);
/* Stop the thread (a POST in flight ends within its timeout) and free. */
void		 webhook_free(struct webhook *w);
/* Counters, any thread; zeros for NULL. */
void		 webhook_stats(struct webhook *w, struct webhook_stats *s);

#endif
