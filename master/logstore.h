/*
 * logstore.h - the master's log store: a thread that writes container logs
 * to <data-dir>/logs.db, acknowledges them to agents, keeps each grid's
 * retention, and wakes the API's followers.
 *
 * The hub (ws thread) submits every checked "logs" frame as a struct
 * log_batch; the store's thread writes the queued batches in one
 * transaction on its own connection to logs.db (never berth.db's write
 * lock), then has the hub acknowledge each frame by its sequence number.
 * The queue is bounded: past LOGSTORE_QUEUE_MAX bytes a frame is refused
 * and the agent told to send again from its last acknowledged line
 * (docs/protocol.md, "logs_ack"), so neither a flood nor a slow disk grows
 * the master. Followers (API threads) register a waiter and sleep; a
 * commit that touched their streams wakes them.
 */
#ifndef BERTH_LOGSTORE_H
#define BERTH_LOGSTORE_H

#include "master/log_frame.h"
#include "master/master.h"
#include "master/store_logs.h"

#include <stdint.h>

#define LOGSTORE_QUEUE_MAX	(64 * 1024 * 1024)	/* bytes queued */
#define LOGSTORE_HEARTBEAT_MS	15000	/* wake an idle follower this often */

struct logstore;

/* Open (and migrate) <data-dir>/logs.db, start the thread. NULL, *cause. */
struct logstore	*logstore_start(struct master *m, char **cause);
/*
 * Write what is queued (acknowledging it through the hub, which must still
 * run) and stop the thread; later frames are refused. Then, once the hub
 * has stopped too, logstore_free(). Both: NULL is a no-op.
 */
void		 logstore_stop(struct logstore *ls);
void		 logstore_free(struct logstore *ls);

/* What logstore_submit() did with a batch. */
enum logstore_submit {
	LOGSTORE_QUEUED,	/* will be written, then acknowledged */
	LOGSTORE_REFUSED,	/* queue full: answer the agent with a retry */
	LOGSTORE_IGNORED,	/* the session is being told to resend:
				   frames sent before the resend are dropped */
};

/* ws thread: hand over a checked batch (always taken). */
enum logstore_submit logstore_submit(struct logstore *ls, struct log_batch *b);
/* ws thread: the hub's session ended; forget its refusal state. */
void		 logstore_session_end(struct logstore *ls, uint64_t session);

/* This thread's logs.db reader connection (API threads). */
struct store	*logstore_reader(struct logstore *ls);

/*
 * A follower waiting for new lines of the streams sel names. The API
 * thread fills sel, wake and arg, then adds it; the store's thread (or
 * shutdown, or the heartbeat) calls wake(arg) with the waiter lock held,
 * only for a waiter that went to sleep through logstore_wait().
 */
struct logstore_waiter {
	struct logstore_waiter	*next, *prev;	/* the store's list */
	struct log_sel		 sel;		/* what it follows */
	void			(*wake)(void *arg); /* resume it */
	void			*arg;
	int			 sleeping;	/* suspended, wake() due */
	int			 pending;	/* woken while awake */
	int64_t			 slept_at;	/* mono ms it went to sleep */
};

void	 logstore_waiter_add(struct logstore *ls, struct logstore_waiter *w);
void	 logstore_waiter_remove(struct logstore *ls,
	    struct logstore_waiter *w);
/*
 * Go to sleep unless a wake-up came since the last call or the store is
 * stopping: 1 after calling sleep(arg) under the waiter lock (so no
 * wake-up is lost between the decision and the sleep), 0 when the caller
 * should look for lines now. *stopping is 1 once the API is shutting down.
 */
int	 logstore_wait(struct logstore *ls, struct logstore_waiter *w,
	    void (*sleep)(void *), void *arg, int *stopping);
/* Wake every follower for good: the API is about to stop. */
void	 logstore_waiters_shutdown(struct logstore *ls);

/*
 * For tests: bound the queue to bytes (0: LOGSTORE_QUEUE_MAX again), and
 * run the periodic retention pass at the thread's next turn.
 */
void	 logstore_set_queue_max(struct logstore *ls, size_t bytes);
void	 logstore_retention_soon(struct logstore *ls);

/* Counters for /metrics and tests (any thread). */
struct logstore_stats {
	uint64_t	 lines;		/* lines stored */
	uint64_t	 duplicates;	/* lines skipped as already stored */
	uint64_t	 refused;	/* frames refused (queue full) */
	uint64_t	 queued_bytes;	/* bytes waiting now */
};
void	 logstore_stats(struct logstore *ls, struct logstore_stats *out);

#endif
