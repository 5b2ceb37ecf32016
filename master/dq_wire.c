/*
 * dq_wire.c - encode dqlite 1.11 requests, decode its replies (see
 * dq_wire.h). Little endian on the wire whatever the host.
 */
#include "master/dq_wire.h"

#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

#define PAD8(n)	(((n) + 7) & ~(size_t)7)

/* Values */

struct dq_value
dq_int(int64_t v)
{
	return (struct dq_value){ .type = DQ_INTEGER, .i = v };
}

struct dq_value
dq_float(double v)
{
	return (struct dq_value){ .type = DQ_FLOAT, .f = v };
}

struct dq_value
dq_text(const char *s)
{
	return (struct dq_value){ .type = DQ_TEXT, .s = s,
	    .len = s ? strlen(s) : 0 };
}

struct dq_value
dq_blob(const void *p, size_t len)
{
	return (struct dq_value){ .type = DQ_BLOB, .s = p, .len = len };
}

struct dq_value
dq_null(void)
{
	return (struct dq_value){ .type = DQ_NULL };
}

struct dq_value
dq_bool(int v)
{
	return (struct dq_value){ .type = DQ_BOOLEAN, .i = v != 0 };
}

struct dq_value
dq_iso8601(const char *s)
{
	return (struct dq_value){ .type = DQ_ISO8601, .s = s,
	    .len = s ? strlen(s) : 0 };
}

const char *
dq_type_name(int type)
{
	switch (type) {
	case DQ_INTEGER:	return "INTEGER";
	case DQ_FLOAT:		return "FLOAT";
	case DQ_TEXT:		return "TEXT";
	case DQ_BLOB:		return "BLOB";
	case DQ_NULL:		return "NULL";
	case DQ_UNIXTIME:	return "UNIXTIME";
	case DQ_ISO8601:	return "ISO8601";
	case DQ_BOOLEAN:	return "BOOLEAN";
	}
	return "?";
}

void
dq_servers_free(struct dq_server *s, size_t n)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < n; i++)
		free(s[i].address);
	free(s);
}

void
dq_rows_free(struct dq_rows *rows)
{
	size_t i, n;
	int c;

	n = rows->nrows * (size_t)rows->ncols;
	for (i = 0; i < n; i++) {
		switch (rows->vals[i].type) {
		case DQ_TEXT: case DQ_ISO8601: case DQ_BLOB:
			free((char *)rows->vals[i].s);
		}
	}
	for (c = 0; c < rows->ncols; c++)
		free(rows->names[c]);
	free(rows->names);
	free(rows->vals);
	memset(rows, 0, sizeof *rows);
}

/* Encoding */

static void
put_u64(struct buf *b, uint64_t v)
{
	uint8_t w[8];
	int i;

	for (i = 0; i < 8; i++)
		w[i] = (uint8_t)(v >> (8 * i));
	buf_append(b, w, 8);
}

static void
put_u32pair(struct buf *b, uint32_t lo, uint32_t hi)
{
	put_u64(b, (uint64_t)lo | (uint64_t)hi << 32);
}

static void
put_zeros(struct buf *b, size_t n)
{
	static const uint8_t z[8];

	while (n > 0) {
		size_t k = n > 8 ? 8 : n;
		buf_append(b, z, k);
		n -= k;
	}
}

/* NUL-terminated, zero-padded to a word (at least one word). */
static void
put_bytes_text(struct buf *b, const char *s, size_t len)
{
	buf_append(b, s, len);
	put_zeros(b, PAD8(len + 1) - len);
}

static void
put_text(struct buf *b, const char *s)
{
	put_bytes_text(b, s ? s : "", s ? strlen(s) : 0);
}

/* Start a message: its header goes at the returned offset. */
static size_t
msg_begin(struct buf *b, int type)
{
	size_t at = b->len;
	uint8_t h[8] = { 0 };

	h[4] = (uint8_t)type;
	buf_append(b, h, 8);
	return at;
}

/* Pad the body to a word and write its size into the header. */
static void
msg_end(struct buf *b, size_t at)
{
	size_t body = b->len - at - 8;
	uint32_t words;
	uint8_t *h;

	put_zeros(b, PAD8(body) - body);
	words = (uint32_t)(PAD8(body) / 8);
	h = (uint8_t *)b->data + at;
	h[0] = (uint8_t)words;
	h[1] = (uint8_t)(words >> 8);
	h[2] = (uint8_t)(words >> 16);
	h[3] = (uint8_t)(words >> 24);
}

void
dq_enc_handshake(struct buf *b)
{
	put_u64(b, DQ_PROTOCOL_VERSION);
}

static void
enc_u64_msg(struct buf *b, int type, uint64_t v)
{
	size_t at = msg_begin(b, type);

	put_u64(b, v);
	msg_end(b, at);
}

void
dq_enc_leader(struct buf *b)
{
	enc_u64_msg(b, DQ_REQ_LEADER, 0);
}

void
dq_enc_client(struct buf *b, uint64_t id)
{
	enc_u64_msg(b, DQ_REQ_CLIENT, id);
}

void
dq_enc_open(struct buf *b, const char *name)
{
	size_t at = msg_begin(b, DQ_REQ_OPEN);

	put_text(b, name);
	put_u64(b, 0);		/* flags: unused */
	put_text(b, "");	/* vfs: unused */
	msg_end(b, at);
}

void
dq_enc_prepare(struct buf *b, uint32_t db, const char *sql)
{
	size_t at = msg_begin(b, DQ_REQ_PREPARE);

	put_u64(b, db);
	put_text(b, sql);
	msg_end(b, at);
}

void
dq_enc_finalize(struct buf *b, uint32_t db, uint32_t stmt)
{
	size_t at = msg_begin(b, DQ_REQ_FINALIZE);

	put_u32pair(b, db, stmt);
	msg_end(b, at);
}

void
dq_enc_add(struct buf *b, uint64_t id, const char *address)
{
	size_t at = msg_begin(b, DQ_REQ_ADD);

	put_u64(b, id);
	put_text(b, address);
	msg_end(b, at);
}

void
dq_enc_assign(struct buf *b, uint64_t id, int role)
{
	size_t at = msg_begin(b, DQ_REQ_ASSIGN);

	put_u64(b, id);
	put_u64(b, (uint64_t)role);
	msg_end(b, at);
}

void
dq_enc_remove(struct buf *b, uint64_t id)
{
	enc_u64_msg(b, DQ_REQ_REMOVE, id);
}

void
dq_enc_dump(struct buf *b, const char *name)
{
	size_t at = msg_begin(b, DQ_REQ_DUMP);

	put_text(b, name);
	msg_end(b, at);
}

void
dq_enc_cluster(struct buf *b)
{
	enc_u64_msg(b, DQ_REQ_CLUSTER, 1);	/* format 1: with roles */
}

void
dq_enc_transfer(struct buf *b, uint64_t id)
{
	enc_u64_msg(b, DQ_REQ_TRANSFER, id);
}

void
dq_enc_interrupt(struct buf *b, uint32_t db)
{
	enc_u64_msg(b, DQ_REQ_INTERRUPT, db);
}

static int
params_check(const struct dq_value *p, int n, char **cause)
{
	int i;

	if (n < 0 || n > DQ_PARAMS_MAX) {
		xasprintf(cause, "%d parameters (dqlite 1.11 takes at most %d)",
		    n, DQ_PARAMS_MAX);
		return -1;
	}
	for (i = 0; i < n; i++) {
		switch (p[i].type) {
		case DQ_INTEGER: case DQ_FLOAT: case DQ_NULL: case DQ_BOOLEAN:
			break;
		case DQ_BLOB:
			if (p[i].len > 0 && p[i].s == NULL)
				goto bad;
			break;
		case DQ_TEXT: case DQ_ISO8601:
			if (p[i].s == NULL ||
			    memchr(p[i].s, '\0', p[i].len) != NULL) {
				xasprintf(cause, "parameter %d: %s holds a NUL "
				    "byte or is NULL (send a blob)", i + 1,
				    dq_type_name(p[i].type));
				return -1;
			}
			break;
		default:
			goto bad;
		}
	}
	return 0;
bad:
	xasprintf(cause, "parameter %d: type %d cannot be sent", i + 1,
	    p[i].type);
	return -1;
}

/*
 * The params tuple: a count byte, one type byte per value, zeros to a
 * word, then the values. No tuple at all for no parameters: 1.11's
 * decoder reads parameters only when the body has bytes left.
 */
static void
put_params(struct buf *b, const struct dq_value *p, int n)
{
	uint8_t head[1 + DQ_PARAMS_MAX];
	int i;

	if (n == 0)
		return;
	head[0] = (uint8_t)n;
	for (i = 0; i < n; i++)
		head[1 + i] = (uint8_t)p[i].type;
	buf_append(b, head, (size_t)n + 1);
	put_zeros(b, PAD8((size_t)n + 1) - ((size_t)n + 1));
	for (i = 0; i < n; i++) {
		switch (p[i].type) {
		case DQ_INTEGER:
		case DQ_BOOLEAN:
			put_u64(b, (uint64_t)p[i].i);
			break;
		case DQ_FLOAT: {
			uint64_t u;
			memcpy(&u, &p[i].f, 8);
			put_u64(b, u);
			break;
		}
		case DQ_NULL:
			put_u64(b, 0);
			break;
		case DQ_TEXT:
		case DQ_ISO8601:
			put_bytes_text(b, p[i].s, p[i].len);
			break;
		case DQ_BLOB:
			put_u64(b, p[i].len);
			if (p[i].len > 0)
				buf_append(b, p[i].s, p[i].len);
			put_zeros(b, PAD8(p[i].len) - p[i].len);
			break;
		}
	}
}

int
dq_enc_stmt(struct buf *b, int type, uint32_t db, uint32_t stmt,
    const struct dq_value *params, int n, char **cause)
{
	size_t at;

	if (params_check(params, n, cause) == -1)
		return -1;
	at = msg_begin(b, type);
	put_u32pair(b, db, stmt);
	put_params(b, params, n);
	msg_end(b, at);
	return 0;
}

int
dq_enc_sql(struct buf *b, int type, uint32_t db, const char *sql,
    const struct dq_value *params, int n, char **cause)
{
	size_t at;

	if (params_check(params, n, cause) == -1)
		return -1;
	at = msg_begin(b, type);
	put_u64(b, db);
	put_text(b, sql);
	put_params(b, params, n);
	msg_end(b, at);
	return 0;
}

/* Decoding */

/* A cursor over one message body. */
struct rd {
	const uint8_t	*p;
	size_t		 left;
};

static uint64_t
le64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static int
get_u64(struct rd *r, uint64_t *v, const char *what, char **cause)
{
	if (r->left < 8) {
		xasprintf(cause, "truncated message: no room for %s", what);
		return -1;
	}
	*v = le64(r->p);
	r->p += 8;
	r->left -= 8;
	return 0;
}

/* A NUL-terminated, word-padded string; *s points into the body. */
static int
get_text(struct rd *r, const char **s, size_t *len, const char *what,
    char **cause)
{
	const uint8_t *nul;
	size_t n;

	nul = r->left > 0 ? memchr(r->p, '\0', r->left) : NULL;
	if (nul == NULL) {
		xasprintf(cause, "truncated message: %s has no end", what);
		return -1;
	}
	n = (size_t)(nul - r->p);
	if (PAD8(n + 1) > r->left) {
		xasprintf(cause, "truncated message: %s's padding", what);
		return -1;
	}
	*s = (const char *)r->p;
	if (len != NULL)
		*len = n;
	r->p += PAD8(n + 1);
	r->left -= PAD8(n + 1);
	return 0;
}

int
dq_dec_header(const uint8_t hdr[DQ_WORD], struct dq_msg *m,
    size_t *body_len, char **cause)
{
	uint32_t words;

	words = (uint32_t)hdr[0] | (uint32_t)hdr[1] << 8 |
	    (uint32_t)hdr[2] << 16 | (uint32_t)hdr[3] << 24;
	if ((uint64_t)words * 8 > DQ_MSG_MAX) {
		xasprintf(cause, "message of %llu bytes (limit %u)",
		    (unsigned long long)words * 8, DQ_MSG_MAX);
		return -1;
	}
	m->type = hdr[4];
	m->schema = hdr[5];
	m->body = NULL;
	m->len = 0;
	*body_len = (size_t)words * 8;
	return 0;
}

static const char *
resp_name(int type)
{
	static const char *names[] = { "FAILURE", "SERVER", "WELCOME",
	    "SERVERS", "DB", "STMT", "RESULT", "ROWS", "EMPTY", "FILES" };

	if (type >= 0 && type < (int)(sizeof names / sizeof names[0]))
		return names[type];
	return "unknown";
}

int
dq_dec_failure(const struct dq_msg *m, uint64_t *code, const char **message,
    char **cause)
{
	struct rd r = { m->body, m->len };

	if (m->type != DQ_RESP_FAILURE) {
		xasprintf(cause, "expected FAILURE, got %s (%d)",
		    resp_name(m->type), m->type);
		return -1;
	}
	if (get_u64(&r, code, "the failure code", cause) == -1 ||
	    get_text(&r, message, NULL, "the failure message", cause) == -1)
		return -1;
	return 0;
}

int
dq_dec_expect(const struct dq_msg *m, int type, uint64_t *code,
    char **cause)
{
	const char *msg;
	char *why = NULL;

	*code = 0;
	if (m->type == type)
		return 0;
	if (m->type != DQ_RESP_FAILURE) {
		xasprintf(cause, "expected %s, got %s (%d)", resp_name(type),
		    resp_name(m->type), m->type);
		return -1;
	}
	if (dq_dec_failure(m, code, &msg, &why) == -1) {
		xasprintf(cause, "bad FAILURE: %s", why);
		free(why);
		*code = 0;
		return -1;
	}
	xasprintf(cause, "%s (code %llu)", msg[0] ? msg : "failure",
	    (unsigned long long)*code);
	return -1;
}

static int
want(const struct dq_msg *m, int type, char **cause)
{
	uint64_t code;

	return dq_dec_expect(m, type, &code, cause);
}

int
dq_dec_server(const struct dq_msg *m, uint64_t *id, const char **address,
    char **cause)
{
	struct rd r = { m->body, m->len };

	if (want(m, DQ_RESP_SERVER, cause) == -1 ||
	    get_u64(&r, id, "the node id", cause) == -1 ||
	    get_text(&r, address, NULL, "the node address", cause) == -1)
		return -1;
	return 0;
}

int
dq_dec_welcome(const struct dq_msg *m, uint64_t *heartbeat, char **cause)
{
	struct rd r = { m->body, m->len };

	if (want(m, DQ_RESP_WELCOME, cause) == -1 ||
	    get_u64(&r, heartbeat, "the heartbeat timeout", cause) == -1)
		return -1;
	return 0;
}

int
dq_dec_servers(const struct dq_msg *m, struct dq_server **out, size_t *n,
    char **cause)
{
	struct rd r = { m->body, m->len };
	struct dq_server *s = NULL;
	uint64_t count, role;
	const char *addr;
	size_t i = 0;

	*out = NULL;
	*n = 0;
	if (want(m, DQ_RESP_SERVERS, cause) == -1 ||
	    get_u64(&r, &count, "the node count", cause) == -1)
		return -1;
	/* Each node takes at least 3 words: no allocation beyond the body. */
	if (count > r.left / 24) {
		xasprintf(cause, "truncated message: %llu nodes announced",
		    (unsigned long long)count);
		return -1;
	}
	s = xcalloc(count ? count : 1, sizeof *s);
	for (i = 0; i < count; i++) {
		if (get_u64(&r, &s[i].id, "a node id", cause) == -1 ||
		    get_text(&r, &addr, NULL, "a node address", cause) == -1 ||
		    get_u64(&r, &role, "a node role", cause) == -1)
			goto fail;
		if (role > DQ_SPARE) {
			xasprintf(cause, "node %llu: unknown role %llu",
			    (unsigned long long)s[i].id,
			    (unsigned long long)role);
			goto fail;
		}
		s[i].address = xstrdup(addr);
		s[i].role = (int)role;
	}
	*out = s;
	*n = (size_t)count;
	return 0;
fail:
	dq_servers_free(s, i);
	return -1;
}

int
dq_dec_db(const struct dq_msg *m, uint32_t *db, char **cause)
{
	struct rd r = { m->body, m->len };
	uint64_t w;

	if (want(m, DQ_RESP_DB, cause) == -1 ||
	    get_u64(&r, &w, "the database id", cause) == -1)
		return -1;
	*db = (uint32_t)w;
	return 0;
}

int
dq_dec_stmt(const struct dq_msg *m, uint32_t *db, uint32_t *stmt,
    uint64_t *nparams, char **cause)
{
	struct rd r = { m->body, m->len };
	uint64_t w;

	if (want(m, DQ_RESP_STMT, cause) == -1 ||
	    get_u64(&r, &w, "the statement id", cause) == -1 ||
	    get_u64(&r, nparams, "the parameter count", cause) == -1)
		return -1;
	*db = (uint32_t)w;
	*stmt = (uint32_t)(w >> 32);
	return 0;
}

int
dq_dec_result(const struct dq_msg *m, uint64_t *last_id, uint64_t *changes,
    char **cause)
{
	struct rd r = { m->body, m->len };

	if (want(m, DQ_RESP_RESULT, cause) == -1 ||
	    get_u64(&r, last_id, "the last insert id", cause) == -1 ||
	    get_u64(&r, changes, "the changes count", cause) == -1)
		return -1;
	return 0;
}

int
dq_dec_empty(const struct dq_msg *m, char **cause)
{
	return want(m, DQ_RESP_EMPTY, cause);
}

/* Decode one value of type t into v, copying text and blobs. */
static int
get_value(struct rd *r, int t, struct dq_value *v, char **cause)
{
	const char *s;
	uint64_t w;
	size_t len;
	char *copy;

	memset(v, 0, sizeof *v);
	v->type = t;
	switch (t) {
	case DQ_INTEGER:
	case DQ_UNIXTIME:
	case DQ_BOOLEAN:
		if (get_u64(r, &w, dq_type_name(t), cause) == -1)
			return -1;
		v->i = (int64_t)w;
		if (t == DQ_BOOLEAN && w > 1) {
			xasprintf(cause, "boolean value %llu",
			    (unsigned long long)w);
			return -1;
		}
		return 0;
	case DQ_FLOAT:
		if (get_u64(r, &w, "a float", cause) == -1)
			return -1;
		memcpy(&v->f, &w, 8);
		return 0;
	case DQ_NULL:
		return get_u64(r, &w, "a null", cause);
	case DQ_TEXT:
	case DQ_ISO8601:
		if (get_text(r, &s, &len, dq_type_name(t), cause) == -1)
			return -1;
		copy = xmalloc(len + 1);
		memcpy(copy, s, len + 1);
		v->s = copy;
		v->len = len;
		return 0;
	case DQ_BLOB:
		if (get_u64(r, &w, "a blob's length", cause) == -1)
			return -1;
		if (w > r->left || PAD8((size_t)w) > r->left) {
			xasprintf(cause, "truncated message: blob of %llu "
			    "bytes", (unsigned long long)w);
			return -1;
		}
		len = (size_t)w;
		copy = xmalloc(len ? len : 1);
		memcpy(copy, r->p, len);
		v->s = copy;
		v->len = len;
		r->p += PAD8(len);
		r->left -= PAD8(len);
		return 0;
	}
	xasprintf(cause, "unknown value type %d", t);
	return -1;
}

static void
value_free(struct dq_value *v)
{
	if (v->type == DQ_TEXT || v->type == DQ_ISO8601 || v->type == DQ_BLOB)
		free((char *)v->s);
}

int
dq_dec_rows(const struct dq_msg *m, struct dq_rows *rows, int *more,
    char **cause)
{
	struct rd r = { m->body, m->len };
	const char *name;
	size_t hdr, k;
	uint64_t ncols, w;
	int c, t;

	*more = 0;
	if (want(m, DQ_RESP_ROWS, cause) == -1 ||
	    get_u64(&r, &ncols, "the column count", cause) == -1)
		return -1;
	/* A name takes at least a word: no column count beyond the body. */
	if (ncols == 0 || ncols > r.left / 8) {
		xasprintf(cause, "bad column count %llu",
		    (unsigned long long)ncols);
		return -1;
	}
	if (rows->batches > 0 && ncols != (uint64_t)rows->ncols) {
		xasprintf(cause, "batch %d has %llu columns, the first had %d",
		    rows->batches + 1, (unsigned long long)ncols, rows->ncols);
		return -1;
	}
	for (c = 0; c < (int)ncols; c++) {
		if (get_text(&r, &name, NULL, "a column name", cause) == -1)
			return -1;
		if (rows->batches > 0 && strcmp(name, rows->names[c]) != 0) {
			xasprintf(cause, "batch %d renames column %d",
			    rows->batches + 1, c + 1);
			return -1;
		}
	}
	if (rows->batches == 0) {
		struct rd again = { m->body + 8, m->len - 8 };

		rows->ncols = (int)ncols;
		rows->names = xcalloc(ncols, sizeof *rows->names);
		for (c = 0; c < (int)ncols; c++) {
			get_text(&again, &name, NULL, "a column name", cause);
			rows->names[c] = xstrdup(name);
		}
	}
	hdr = PAD8(((size_t)ncols + 1) / 2);
	for (;;) {
		const uint8_t *types;
		struct dq_value *row;

		if (get_u64(&r, &w, "the end marker", cause) == -1)
			return -1;
		if (w == DQ_ROWS_DONE || w == DQ_ROWS_PART) {
			if (r.left != 0) {
				xasprintf(cause, "%zu bytes after the end "
				    "marker", r.left);
				return -1;
			}
			*more = w == DQ_ROWS_PART;
			rows->batches++;
			return 0;
		}
		r.p -= 8;
		r.left += 8;
		if (hdr > r.left) {
			xasprintf(cause, "truncated message: row %zu's types",
			    rows->nrows + 1);
			return -1;
		}
		types = r.p;
		r.p += hdr;
		r.left -= hdr;
		if (rows->nrows == rows->cap) {
			rows->cap = rows->cap ? rows->cap * 2 : 16;
			rows->vals = xreallocarray(rows->vals,
			    rows->cap * ncols, sizeof *rows->vals);
		}
		row = &rows->vals[rows->nrows * ncols];
		for (c = 0; c < (int)ncols; c++) {
			t = (c % 2 == 0) ? types[c / 2] & 0x0f :
			    types[c / 2] >> 4;
			if (get_value(&r, t, &row[c], cause) == -1) {
				char *why = *cause;

				xasprintf(cause, "row %zu column %s: %s",
				    rows->nrows + 1, rows->names[c], why);
				free(why);
				for (k = 0; k < (size_t)c; k++)
					value_free(&row[k]);
				return -1;
			}
		}
		rows->nrows++;
	}
}
