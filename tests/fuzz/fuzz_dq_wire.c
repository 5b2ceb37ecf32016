/*
 * fuzz_dq_wire.c - libFuzzer target for the dqlite reply decoders
 * (master/dq_wire.c): any bytes are a stream of messages (8-byte header,
 * body) as a node would send them; each is handed to every decoder, and
 * ROWS messages accumulate into one result set as the client does across
 * batches. Besides "no crash, no leak, no read past the body": a decoded
 * result set has ncols names and nrows * ncols values whose text is
 * NUL-terminated at its length; a request encoded from decoded values
 * (the params of a row) has a whole number of words.
 */
#include "master/dq_wire.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_rows(const struct dq_rows *rows)
{
	size_t i, n = rows->nrows * (size_t)rows->ncols;
	struct buf b = { 0 };
	char *cause = NULL;

	for (i = 0; i < n; i++) {
		const struct dq_value *v = &rows->vals[i];

		if ((v->type == DQ_TEXT || v->type == DQ_ISO8601) &&
		    (v->s == NULL || strlen(v->s) != v->len))
			abort();
		if (v->type == DQ_BLOB && v->s == NULL)
			abort();
	}
	/* Send the first row back as parameters (UNIXTIME is rows-only). */
	if (rows->nrows > 0 && rows->ncols <= DQ_PARAMS_MAX) {
		struct dq_value p[DQ_PARAMS_MAX];
		int c;

		for (c = 0; c < rows->ncols; c++) {
			p[c] = rows->vals[c];
			if (p[c].type == DQ_UNIXTIME)
				p[c].type = DQ_INTEGER;
		}
		if (dq_enc_sql(&b, DQ_REQ_QUERY_SQL, 0, "SELECT ?", p,
		    rows->ncols, &cause) == 0 && b.len % 8 != 0)
			abort();
		free(cause);
		buf_free(&b);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dq_rows rows = { 0 };
	size_t off = 0, len;
	int more, rows_ok = 1;

	while (size - off >= DQ_WORD) {
		struct dq_msg m;
		struct dq_server *servers;
		const char *s;
		uint64_t a, b;
		uint32_t x, y;
		size_t n;
		char *cause = NULL;

		if (dq_dec_header(data + off, &m, &len, &cause) == -1) {
			free(cause);
			break;
		}
		off += DQ_WORD;
		if (len > size - off)
			len = size - off;	/* a short read: still bounded */
		len &= ~(size_t)7;
		/* A private copy of exactly the body, so ASan sees any
		 * read past it. */
		m.body = malloc(len ? len : 1);
		memcpy((void *)m.body, data + off, len);
		m.len = len;
		off += len;

#define TRY(call) do { cause = NULL; (void)(call); free(cause); } while (0)
		TRY(dq_dec_failure(&m, &a, &s, &cause));
		TRY(dq_dec_expect(&m, m.type, &a, &cause));
		TRY(dq_dec_expect(&m, DQ_RESP_RESULT, &a, &cause));
		TRY(dq_dec_server(&m, &a, &s, &cause));
		TRY(dq_dec_welcome(&m, &a, &cause));
		TRY(dq_dec_db(&m, &x, &cause));
		TRY(dq_dec_stmt(&m, &x, &y, &a, &cause));
		TRY(dq_dec_result(&m, &a, &b, &cause));
		TRY(dq_dec_empty(&m, &cause));
		cause = NULL;
		if (dq_dec_servers(&m, &servers, &n, &cause) == 0) {
			size_t i;

			for (i = 0; i < n; i++)
				if (servers[i].address == NULL ||
				    servers[i].role < 0 ||
				    servers[i].role > DQ_SPARE)
					abort();
			dq_servers_free(servers, n);
		}
		free(cause);
		if (rows_ok && m.type == DQ_RESP_ROWS) {
			cause = NULL;
			if (dq_dec_rows(&m, &rows, &more, &cause) == -1)
				rows_ok = 0;
			else
				check_rows(&rows);
			free(cause);
		}
		free((void *)m.body);
	}
	dq_rows_free(&rows);
	return 0;
}
