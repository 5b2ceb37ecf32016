/*
 * logbuf.h - one container's lines waiting for the master.
 *
 * The agent's log thread appends every line it reads from Docker; the
 * lines stay until the master acknowledges them. The buffer is bounded
 * (lines and bytes per container, bytes over all containers): a line that
 * does not fit is dropped and counted, and once there is room again a
 * marker entry "N lines dropped" takes the dropped lines' place, so the
 * numbering stays whole and the master shows exactly what was lost. The
 * lines kept are always the oldest unacknowledged ones: there is no gap
 * within the buffer.
 *
 * Entries are sent in order from the first unsent one; an acknowledgement
 * frees entries up to a sequence number; a rewind (new session, or the
 * master asked for a resend) makes every unacknowledged entry unsent
 * again. Pure: the log thread owns a buffer, tests drive one directly.
 */
#ifndef BERTH_AGENT_LOGBUF_H
#define BERTH_AGENT_LOGBUF_H

#include <stddef.h>
#include <stdint.h>

#include "agent/logread.h"
#include "common/util.h"

/* What an entry costs beyond its text. */
#define LOGBUF_ENTRY_COST	64

struct logbuf_entry {
	struct logbuf_entry	*next;
	int64_t			 seq;	/* line number (a marker: its last) */
	int64_t			 ts;	/* ns */
	struct logread_pos	 pos;	/* where Docker finds it again */
	int64_t			 dropped; /* a marker: lines it stands for */
	uint32_t		 len;	/* text bytes */
	char			 kind;	/* 'o', 'e', or 'd' for a marker */
	char			 partial; /* the line goes on */
	char			 text[];
};

/* The bounds; total is shared by all of an agent's buffers. */
struct logbuf_limits {
	size_t			 lines;	/* per container */
	size_t			 bytes;	/* per container */
	size_t			 total;	/* over all containers */
};

struct logbuf {
	struct logbuf_entry	*head;	/* oldest unacknowledged */
	struct logbuf_entry	*tail;	/* newest */
	struct logbuf_entry	*unsent; /* first not yet sent, or NULL */
	size_t			 nlines; /* entries held */
	size_t			 nbytes; /* their cost */
	/* Lines dropped since the last marker (drop_last 0: none). */
	int64_t			 drop_first, drop_last, drop_ts;
	struct logread_pos	 drop_pos; /* the last dropped line's */
	struct logread_pos	 acked;	/* the last acknowledged entry's */
	uint64_t		 dropped; /* lines dropped in all */
};

/*
 * Append a line read from Docker. 1 if kept, 0 if dropped (counted for
 * the next marker). *total is the agent's running total of bytes held.
 */
int	 logbuf_add(struct logbuf *b, const struct logbuf_limits *lim,
	    size_t *total, const struct logread_entry *e);
/* If lines were dropped and there is room now, append their marker. */
void	 logbuf_flush_drops(struct logbuf *b, const struct logbuf_limits *lim,
	    size_t *total);
/* Is there an entry to send? */
int	 logbuf_has_unsent(const struct logbuf *b);
/*
 * Append unsent entries to out as JSON array elements ("[...],[...]"),
 * comma-separated, stopping before out would pass max_bytes (one entry
 * always fits) or after max_entries. Marks them sent; *last is the seq of
 * the last. Returns how many.
 */
size_t	 logbuf_encode(struct logbuf *b, struct buf *out, size_t max_bytes,
	    size_t max_entries, int64_t *last);
/* The master stored everything up to seq: free it, note the position. */
void	 logbuf_ack(struct logbuf *b, int64_t seq, size_t *total);
/* Send everything unacknowledged again. */
void	 logbuf_rewind(struct logbuf *b);
/* Free every entry (the container is gone and nothing is owed). */
void	 logbuf_clear(struct logbuf *b, size_t *total);

#endif
