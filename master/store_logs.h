/*
 * store_logs.h - the log store: <data-dir>/logs.db, apart from berth.db.
 *
 * Container logs are many small writes that must never hold the state
 * store's write lock, so they live in their own SQLite file (WAL,
 * synchronous=NORMAL: a commit survives a crash of the master; the agents
 * resend what was not acknowledged). The log store's thread
 * (master/logstore.c) is its only writer; API threads read it on their
 * own connections. Its schema has its own version (PRAGMA user_version of
 * logs.db) and migrations, append-only like berth.db's.
 *
 * A stream is one container's output, keyed by its Docker id and
 * labelled with what a reader asks by: grid, stack, service, instance,
 * container name and job. None of that names the node as the key, so the
 * logs of a node that is gone stay readable. A line is one entry of a
 * stream in the order the container wrote it (seq), with Docker's time.
 */
#ifndef BERTH_STORE_LOGS_H
#define BERTH_STORE_LOGS_H

#include "master/log_frame.h"
#include "master/store.h"

#include <stdint.h>

#define STORE_LOGS_SCHEMA_VERSION	1
/* What a stored line costs beyond its text (the row, the index). */
#define STORE_LOGS_ROW_OVERHEAD		48

/* One stream (container). */
struct log_stream_row {
	int64_t	 id;			/* row id */
	int64_t	 grid_id;		/* berth.db grid id */
	char	 container_id[LOG_CONTAINER_ID_LEN + 1];
	char	 node_id[33];		/* the node that sent it */
	char	 node_name[64];		/* that node's name then */
	char	 name[LOG_NAME_MAX + 1]; /* container name */
	char	 stack[64];		/* "" if none */
	char	 service[64];		/* "" if none */
	char	 job[64];		/* "" if none */
	int	 instance;		/* 0 if none */
	int64_t	 max_seq;		/* highest seq stored or dropped */
	int64_t	 first_ts;		/* oldest line kept, ns; 0: none */
	int64_t	 last_ts;		/* newest line, ns */
	int64_t	 lines;			/* lines kept */
	int64_t	 bytes;			/* their cost (text + overhead) */
	int64_t	 created_at;		/* epoch ms */
};

/* Which streams a reader wants. */
enum log_sel_kind {
	LOG_SEL_SERVICE,	/* grid, stack, service */
	LOG_SEL_STACK,		/* grid, stack */
	LOG_SEL_CONTAINER,	/* grid, container name or id prefix (>= 12) */
	LOG_SEL_JOB,		/* grid, job */
};

struct log_sel {
	enum log_sel_kind kind;
	int64_t		 grid_id;
	char		 stack[64];
	char		 service[64];
	char		 name[LOG_NAME_MAX + 1];	/* container name or id */
	char		 job[64];
};

/* A line read back; text is valid during the callback only. */
struct log_row {
	int64_t		 id;		/* global order of arrival */
	int64_t		 stream;	/* its stream's row id */
	int64_t		 seq;
	int64_t		 ts;		/* ns */
	enum log_kind	 kind;
	int		 partial;
	int64_t		 dropped;	/* marker: lines it stands for */
	const char	*text;		/* NULL when not asked for */
	size_t		 len;
};

/* Row callbacks return 0 to go on, 1 to stop early. */
typedef int store_log_row_fn(void *arg, const struct log_row *r);
typedef int store_log_stream_fn(void *arg, const struct log_stream_row *s);

/* Open logs.db at path (synchronous=NORMAL); NULL with *cause. */
struct store	*store_logs_open(const char *path, char **cause);
/* Bring its schema to STORE_LOGS_SCHEMA_VERSION: 0, or -1 with *cause. */
int		 store_logs_migrate(struct store *st, char **cause);

/* ---- the writer (the log store's thread) ---- */

/* The stream of a container: 1 found, 0 not, -1 error. */
int	 store_logs_stream_get(struct store *st, const char *container_id,
	    struct log_stream_row *out);
/* Insert r (its id is set). 0 or -1. */
int	 store_logs_stream_insert(struct store *st, struct log_stream_row *r);
/* Write r's counters (max_seq, first/last_ts, lines, bytes). */
int	 store_logs_stream_save(struct store *st, const struct log_stream_row *r);
int	 store_logs_line_insert(struct store *st, int64_t stream,
	    const struct log_entry *e);
/* Each grid's use: cb(arg, grid_id, bytes, lines). 0 or -1. */
int	 store_logs_grid_bytes(struct store *st,
	    void (*cb)(void *, int64_t, int64_t, int64_t), void *arg);
/*
 * Every stream of grid_id whose oldest line is older than before_ts or
 * whose lines cost more than max_bytes, as rows: the retention's work.
 */
int	 store_logs_streams_over(struct store *st, int64_t grid_id,
	    int64_t before_ts, int64_t max_bytes, store_log_stream_fn *cb,
	    void *arg);
/*
 * Delete a stream's oldest n lines (n > 0), or those older than before_ts
 * (n == 0); *rows and *bytes say what went. Then the stream's first_ts
 * is what remains' oldest (0 when none).
 */
int	 store_logs_trim_stream(struct store *st, int64_t stream, int64_t n,
	    int64_t before_ts, int64_t *rows, int64_t *bytes, int64_t *first_ts);
/*
 * Delete grid_id's n oldest lines by arrival; cb(arg, stream, rows,
 * bytes) once per stream touched.
 */
int	 store_logs_trim_grid(struct store *st, int64_t grid_id, int64_t n,
	    void (*cb)(void *, int64_t, int64_t, int64_t), void *arg);
/*
 * Forget grid_id's streams without lines whose last line is older than
 * before_ts (ns): their containers are long gone. How many, or -1.
 */
int	 store_logs_forget_streams(struct store *st, int64_t grid_id,
	    int64_t before_ts);
/* Drop every stream and line of a grid that no longer exists. */
int	 store_logs_drop_grid(struct store *st, int64_t grid_id);

/* ---- readers (API threads) ---- */

/* The streams sel names, oldest first. 0 or -1. */
int	 store_logs_streams(struct store *st, const struct log_sel *sel,
	    store_log_stream_fn *cb, void *arg);
/* A stream by row id: 1, 0, -1. */
int	 store_logs_stream_by_id(struct store *st, int64_t id,
	    struct log_stream_row *out);
/* The id of the newest line (0 if none). 0 or -1. */
int	 store_logs_last_id(struct store *st, int64_t *id);
/*
 * A page of one stream's lines with id <= max_id, at most limit.
 * Ascending (desc 0): from (ts, seq) inclusive, text included. Descending
 * (desc 1): before (ts, seq) exclusive and at or after since, without
 * text. 0 or -1.
 */
int	 store_logs_page(struct store *st, int64_t stream, int desc,
	    int64_t ts, int64_t seq, int64_t since, int64_t max_id, int limit,
	    store_log_row_fn *cb, void *arg);
/*
 * Lines of sel's streams with after_id < id (and id <= max_id unless it is
 * 0), in arrival order, at most limit. 0 or -1.
 */
int	 store_logs_after(struct store *st, const struct log_sel *sel,
	    int64_t after_id, int64_t max_id, int limit, store_log_row_fn *cb,
	    void *arg);

#endif
