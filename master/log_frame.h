/*
 * log_frame.h - check an agent's "logs" frame and turn it into a batch.
 *
 * The hub (ws thread) hands every "logs" frame to log_frame_parse(),
 * which checks every field docs/protocol.md gives and copies what the
 * frame carries into one struct log_batch: plain C, no jansson, so it may
 * cross to the log store's thread. Pure: no I/O, no clock, no store, so
 * tests/fuzz/fuzz_log_frame.c runs it on arbitrary input.
 */
#ifndef BERTH_LOG_FRAME_H
#define BERTH_LOG_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define LOG_CONTAINER_ID_LEN	64	/* lowercase hex */
#define LOG_NAME_MAX		255	/* a Docker container name */
#define LOG_INSTANCE_MAX	1000000

/* What an entry is. */
enum log_kind {
	LOG_KIND_STDOUT = 1,	/* "o" */
	LOG_KIND_STDERR = 2,	/* "e" */
	LOG_KIND_DROPPED = 3,	/* "d": lines the agent could not keep */
};

/* One entry of a stream. */
struct log_entry {
	int64_t		 seq;		/* the container's line number (for a
					   marker: the last line it covers) */
	int64_t		 ts;		/* Docker's time, ns since the epoch */
	enum log_kind	 kind;		/* stdout, stderr or a drop marker */
	int		 partial;	/* a piece: more of the line follows */
	int64_t		 dropped;	/* marker: lines seq-dropped+1 .. seq */
	const char	*text;		/* the line (UTF-8, may hold NULs),
					   into the batch's blob; "" for a
					   marker */
	size_t		 len;		/* its bytes */
};

/* One container's entries in a frame. */
struct log_stream_in {
	char		 container_id[LOG_CONTAINER_ID_LEN + 1];
	char		 name[LOG_NAME_MAX + 1];	/* container name */
	char		 stack[64];	/* berth.stack, "" if none */
	char		 service[64];	/* berth.service, "" if none */
	char		 job[64];	/* berth.job, "" if none */
	int		 instance;	/* berth.instance, 0 if none */
	struct log_entry *e;		/* entries, seq increasing */
	size_t		 n;
};

/*
 * A checked frame on its way to the store, with who sent it. The hub
 * fills the sender's fields; log_frame_parse() the rest.
 */
struct log_batch {
	struct log_batch *next;		/* the store's queue */
	char		 node_id[33];	/* sender */
	char		 node_name[64];	/* its name */
	int64_t		 grid_id;	/* its grid */
	uint64_t	 session;	/* the hub's session serial */
	int64_t		 seq;		/* frame sequence number */
	int		 resend;	/* first frame after a retry */
	struct log_stream_in *streams;
	size_t		 nstreams;
	size_t		 nentries;	/* over all streams */
	size_t		 bytes;		/* memory it holds (for the bound) */
	char		*blob;		/* every text, one allocation */
};

/*
 * Check frame f (an object whose "type" is "logs") and build *out. 0, or
 * -1 with *cause (caller frees) naming the field as docs/protocol.md does
 * ("logs.streams[0].lines[3][0]: ..."); *out is then untouched.
 */
int	 log_frame_parse(json_t *f, struct log_batch **out, char **cause);
void	 log_batch_free(struct log_batch *b);	/* NULL is a no-op */

/* "o", "e", "d" for a kind; the API's "stdout", "stderr", "dropped". */
const char *log_kind_name(enum log_kind k);

#endif
