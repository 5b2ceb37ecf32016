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

/*
 * A frame many sessions send, the same bytes for each (a grid's network
 * and names frames): queued by reference, not copied per session. 10,000
 * copies of a 30 KB peer list were 300 MB of short-lived allocations
 * interleaved with the sessions' own, which the heap kept as RSS.
 * lws_write() writes its header into the LWS_PRE headroom and sends or
 * keeps a copy at once, so sharing one buffer on the ws thread is safe.
 */
struct hub_shared {
	unsigned	 refs;		/* the owner's and each queue's */
	size_t		 len;		/* payload bytes after LWS_PRE */
	unsigned char	 buf[];		/* LWS_PRE headroom + payload + NUL */
};

/* A frame waiting to be written. */
struct hub_out {
	struct hub_out		*next;	/* queue order */
	enum hub_out_kind	 kind;	/* how it queues */
	size_t			 len;	/* payload bytes after LWS_PRE */
	unsigned char		*buf;	/* LWS_PRE headroom + payload */
	struct hub_shared	*shared; /* buf's owner when shared, or NULL */
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
/* A shared frame of len bytes of text (copied), one reference held. */
struct hub_shared *hub_shared_new(const char *text, size_t len);
/* Its text, NUL-terminated. */
#define HUB_SHARED_TEXT(sh)	((const char *)(sh)->buf + LWS_PRE)
/* Drop a reference; the last one frees it. NULL is a no-op. */
void	 hub_shared_unref(struct hub_shared *sh);
/* Append sh as a HUB_OUT_FRAME (a reference is taken, nothing copied). */
void	 hub_outq_push_shared(struct hub_outq *q, struct hub_shared *sh);

/* The payload of o, for lws_write(). */
#define HUB_OUT_PAYLOAD(o)	((o)->buf + LWS_PRE)
/* Drop the head (it has been written). An empty queue is a no-op. */
void	 hub_outq_pop(struct hub_outq *q);
/* Drop every frame; the queue is empty and reusable afterwards. */
void	 hub_outq_clear(struct hub_outq *q);

#endif
