/*
 * dq_wire.h - the dqlite 1.11 wire protocol, encode and decode only.
 *
 * Pure: no sockets, no clock, no locks; safe on any thread. The client
 * (master/dq_client.c) frames requests with these encoders and reads the
 * server's replies with these decoders; the fuzzer (tests/fuzz/
 * fuzz_dq_wire.c) feeds the decoders any bytes.
 *
 * A message is an 8-byte header (body size in 8-byte words, uint32 LE;
 * type byte; schema byte; 2 unused bytes) and a body padded to 8 bytes.
 * The protocol reference is canonical/dqlite-docs reference/
 * wire-protocol.md; where dqlite 1.11 differs from it, 1.11 wins (see
 * docs/ha.md "Wire protocol notes"): the params tuple's count is one byte,
 * every ROWS batch repeats the column names, WELCOME carries the
 * heartbeat timeout.
 *
 * Decoders take a whole message (struct dq_msg) and never read outside
 * it: they return 0, or -1 with a malloc'd *cause naming what is wrong.
 * Strings they return point into the message body (checked to end in a
 * NUL inside it) unless they say they copy.
 */
#ifndef BERTH_DQ_WIRE_H
#define BERTH_DQ_WIRE_H

#include "common/util.h"

#include <stddef.h>
#include <stdint.h>

#define DQ_PROTOCOL_VERSION	1
#define DQ_WORD			8
#define DQ_MSG_MAX		(64u << 20)	/* largest body accepted */
#define DQ_PARAMS_MAX		255		/* one count byte in 1.11 */

/* Request types (client to server). */
enum dq_req {
	DQ_REQ_LEADER		= 0,
	DQ_REQ_CLIENT		= 1,
	DQ_REQ_OPEN		= 3,
	DQ_REQ_PREPARE		= 4,
	DQ_REQ_EXEC		= 5,
	DQ_REQ_QUERY		= 6,
	DQ_REQ_FINALIZE		= 7,
	DQ_REQ_EXEC_SQL		= 8,
	DQ_REQ_QUERY_SQL	= 9,
	DQ_REQ_INTERRUPT	= 10,
	DQ_REQ_ADD		= 12,
	DQ_REQ_ASSIGN		= 13,
	DQ_REQ_REMOVE		= 14,
	DQ_REQ_DUMP		= 15,
	DQ_REQ_CLUSTER		= 16,
	DQ_REQ_TRANSFER		= 17,
};

/* Response types (server to client). */
enum dq_resp {
	DQ_RESP_FAILURE		= 0,
	DQ_RESP_SERVER		= 1,
	DQ_RESP_WELCOME		= 2,
	DQ_RESP_SERVERS		= 3,
	DQ_RESP_DB		= 4,
	DQ_RESP_STMT		= 5,
	DQ_RESP_RESULT		= 6,
	DQ_RESP_ROWS		= 7,
	DQ_RESP_EMPTY		= 8,
	DQ_RESP_FILES		= 9,
};

/* Value types, in params (8 bits) and rows (4 bits). */
enum dq_type {
	DQ_INTEGER		= 1,
	DQ_FLOAT		= 2,
	DQ_TEXT			= 3,
	DQ_BLOB			= 4,
	DQ_NULL			= 5,
	DQ_UNIXTIME		= 9,	/* rows only: INTEGER in a DATETIME column */
	DQ_ISO8601		= 10,
	DQ_BOOLEAN		= 11,
};

/* Node roles (ASSIGN, SERVERS). */
enum dq_role {
	DQ_VOTER		= 0,
	DQ_STANDBY		= 1,
	DQ_SPARE		= 2,
};

/* ROWS end markers. */
#define DQ_ROWS_DONE		0xffffffffffffffffULL
#define DQ_ROWS_PART		0xeeeeeeeeeeeeeeeeULL

/* Failure codes the client acts on (SQLite extended codes). */
#define DQ_CODE_BUSY		5	/* also its extended forms (& 0xff) */
#define DQ_CODE_LOCKED		6
#define DQ_CODE_NOT_LEADER	10250	/* SQLITE_IOERR | 40 << 8 */
#define DQ_CODE_LEADERSHIP_LOST	10506	/* SQLITE_IOERR | 41 << 8 */

/* One value: a parameter to send or a column of a decoded row. */
struct dq_value {
	int		 type;	/* enum dq_type */
	int64_t		 i;	/* INTEGER, UNIXTIME, BOOLEAN (0/1) */
	double		 f;	/* FLOAT */
	const char	*s;	/* TEXT, ISO8601 (NUL-terminated), BLOB */
	size_t		 len;	/* bytes of s (TEXT: without the NUL) */
};

/* Parameter constructors (s is borrowed until the request is encoded). */
struct dq_value	 dq_int(int64_t v);
struct dq_value	 dq_float(double v);
struct dq_value	 dq_text(const char *s);
struct dq_value	 dq_blob(const void *p, size_t len);
struct dq_value	 dq_null(void);
struct dq_value	 dq_bool(int v);
struct dq_value	 dq_iso8601(const char *s);

/* A received message: its header fields and body (8-aligned length). */
struct dq_msg {
	uint8_t		 type;	/* enum dq_resp */
	uint8_t		 schema;
	const uint8_t	*body;
	size_t		 len;	/* bytes */
};

/* A node as LEADER and CLUSTER name it. */
struct dq_server {
	uint64_t	 id;
	char		*address;	/* malloc'd */
	int		 role;		/* enum dq_role; LEADER: -1 */
};
void	 dq_servers_free(struct dq_server *s, size_t n);

/*
 * A decoded result set, filled by one or more ROWS messages. Text and
 * blob values are copied: the rows outlive the messages.
 */
struct dq_rows {
	int		 ncols;		/* 0 until the first batch */
	char		**names;	/* ncols column names */
	size_t		 nrows;
	struct dq_value	*vals;		/* nrows * ncols, row-major */
	size_t		 cap;		/* rows allocated */
	int		 batches;	/* ROWS messages decoded */
};
/* Row r, column c (no bounds check: r < nrows, c < ncols). */
#define DQ_ROW(rows, r, c)	(&(rows)->vals[(size_t)(r) * (rows)->ncols + (c)])
void	 dq_rows_free(struct dq_rows *rows);	/* leaves it empty */

/* Encoding: append to b. */
void	 dq_enc_handshake(struct buf *b);	/* the version word */
void	 dq_enc_leader(struct buf *b);
void	 dq_enc_client(struct buf *b, uint64_t id);
void	 dq_enc_open(struct buf *b, const char *name);
void	 dq_enc_prepare(struct buf *b, uint32_t db, const char *sql);
void	 dq_enc_finalize(struct buf *b, uint32_t db, uint32_t stmt);
void	 dq_enc_add(struct buf *b, uint64_t id, const char *address);
void	 dq_enc_assign(struct buf *b, uint64_t id, int role);
void	 dq_enc_remove(struct buf *b, uint64_t id);
void	 dq_enc_dump(struct buf *b, const char *name);
void	 dq_enc_cluster(struct buf *b);
void	 dq_enc_transfer(struct buf *b, uint64_t id);
void	 dq_enc_interrupt(struct buf *b, uint32_t db);
/* EXEC / QUERY (type DQ_REQ_EXEC or DQ_REQ_QUERY) of a prepared
 * statement, and EXEC_SQL / QUERY_SQL: -1 with *cause when a parameter
 * cannot be sent (more than DQ_PARAMS_MAX, an unknown type, TEXT with an
 * inner NUL); b is then unchanged. */
int	 dq_enc_stmt(struct buf *b, int type, uint32_t db, uint32_t stmt,
	    const struct dq_value *params, int n, char **cause);
int	 dq_enc_sql(struct buf *b, int type, uint32_t db, const char *sql,
	    const struct dq_value *params, int n, char **cause);

/* Decoding. dq_dec_header: the body length in bytes of a header. */
int	 dq_dec_header(const uint8_t hdr[DQ_WORD], struct dq_msg *m,
	    size_t *body_len, char **cause);
/* Any message that is not what was asked for: -1 with a cause (a
 * FAILURE's code into *code and its text in the cause, else *code 0). */
int	 dq_dec_expect(const struct dq_msg *m, int type, uint64_t *code,
	    char **cause);
int	 dq_dec_failure(const struct dq_msg *m, uint64_t *code,
	    const char **message, char **cause);
int	 dq_dec_server(const struct dq_msg *m, uint64_t *id,
	    const char **address, char **cause);
int	 dq_dec_welcome(const struct dq_msg *m, uint64_t *heartbeat,
	    char **cause);
int	 dq_dec_servers(const struct dq_msg *m, struct dq_server **out,
	    size_t *n, char **cause);
int	 dq_dec_db(const struct dq_msg *m, uint32_t *db, char **cause);
int	 dq_dec_stmt(const struct dq_msg *m, uint32_t *db, uint32_t *stmt,
	    uint64_t *nparams, char **cause);
int	 dq_dec_result(const struct dq_msg *m, uint64_t *last_id,
	    uint64_t *changes, char **cause);
int	 dq_dec_empty(const struct dq_msg *m, char **cause);
/* One ROWS batch appended to rows; *more is 1 when another batch
 * follows (PART), 0 at DONE. A later batch must name the same columns. */
int	 dq_dec_rows(const struct dq_msg *m, struct dq_rows *rows, int *more,
	    char **cause);

/* "INTEGER", "TEXT"... for messages; "?" for an unknown type. */
const char	*dq_type_name(int type);

#endif
