/*
 * hub_outq.h - one agent session's frames waiting to be written.
 *
 * ws thread only: hub.c keeps one queue per session, pushes frames onto it
 * and pops one per LWS_CALLBACK_SERVER_WRITEABLE. The queue does no I/O
 * and calls nothing of libwebsockets (it only leaves LWS_PRE bytes of
 * headroom in front of each payload for lws_write()), so
 * tests/unit/test_hub_queue.c drives it directly.
 *
 * Frames leave in the order they were queued, with one exception: a
 * session holds at most one pending "desired" frame. Queuing a newer
 * desired set replaces the one not yet written, in its place: the newest
 * set is the truth and the agent converges to it, so an agent that stops
 * reading costs the master one desired frame, not one per change or per
 * minute's re-send (as Redis caps a client's output buffer). A set too
 * big for one frame goes as a "desired" part followed by "desired_part"
 * frames: a newer set replaces the first if it is still pending and drops
 * the others that are. Every other frame (the welcome) is appended.
 */
#ifndef BERTH_HUB_OUTQ_H
#define BERTH_HUB_OUTQ_H

#include <stddef.h>

#include <libwebsockets.h>

enum hub_out_kind {
	HUB_OUT_FRAME,		/* appended, sent once */
	HUB_OUT_DESIRED,	/* one pending at most; a newer replaces it */
	HUB_OUT_BINARY,		/* an exec data frame: appended, binary */
	HUB_OUT_DESIRED_PART,	/* the rest of a set sent in parts (its
				   first part is the HUB_OUT_DESIRED):
				   appended; dropped when a newer set is
				   queued */
};

/* A frame waiting to be written. */
struct hub_out {
	struct hub_out		*next;	/* queue order */
	enum hub_out_kind	 kind;	/* how it queues */
	size_t			 len;	/* payload bytes after LWS_PRE */
	unsigned char		*buf;	/* LWS_PRE headroom + payload */
};

/* A session's queue; all zero is an empty queue. */
struct hub_outq {
	struct hub_out	*head;		/* next to write, or NULL */
	struct hub_out	*tail;		/* last queued, or NULL */
	struct hub_out	*desired;	/* the pending desired frame, or NULL */
	size_t		 n;		/* frames queued */
};

/*
 * Queue len bytes of text (copied) as a frame of kind. 1 when it replaced
 * a pending desired frame, 0 when it was appended.
 */
int	 hub_outq_push(struct hub_outq *q, enum hub_out_kind kind,
	    const char *text, size_t len);
/* The payload of o, for lws_write(). */
#define HUB_OUT_PAYLOAD(o)	((o)->buf + LWS_PRE)
/* Drop the head (it has been written). An empty queue is a no-op. */
void	 hub_outq_pop(struct hub_outq *q);
/* Drop every frame; the queue is empty and reusable afterwards. */
void	 hub_outq_clear(struct hub_outq *q);

#endif
