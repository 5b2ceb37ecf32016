/*
 * logbuf.c - a container's unacknowledged lines (see logbuf.h).
 */
#include "agent/logbuf.h"

#include "common/logfmt.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

static int
logbuf_room(const struct logbuf *b, const struct logbuf_limits *lim,
    size_t total, size_t cost)
{
	return b->nlines + 1 <= lim->lines && b->nbytes + cost <= lim->bytes &&
	    total + cost <= lim->total;
}

static void
logbuf_push(struct logbuf *b, size_t *total, struct logbuf_entry *x)
{
	size_t cost = x->len + LOGBUF_ENTRY_COST;

	x->next = NULL;
	if (b->tail != NULL)
		b->tail->next = x;
	else
		b->head = x;
	b->tail = x;
	if (b->unsent == NULL)
		b->unsent = x;
	b->nlines++;
	b->nbytes += cost;
	*total += cost;
}

/* The marker for the lines dropped so far. */
static void
logbuf_push_marker(struct logbuf *b, size_t *total)
{
	struct logbuf_entry *x = xcalloc(1, sizeof *x);

	x->seq = b->drop_last;
	x->ts = b->drop_ts;
	x->pos = b->drop_pos;
	x->dropped = b->drop_last - b->drop_first + 1;
	x->kind = 'd';
	logbuf_push(b, total, x);
	b->drop_first = b->drop_last = 0;
}

int
logbuf_add(struct logbuf *b, const struct logbuf_limits *lim, size_t *total,
    const struct logread_entry *e)
{
	struct logbuf_entry *x;
	size_t cost = e->len + LOGBUF_ENTRY_COST;

	if (b->drop_last != 0)
		cost += LOGBUF_ENTRY_COST;	/* the marker goes first */
	if (!logbuf_room(b, lim, *total, cost) ||
	    (b->drop_last != 0 && b->nlines + 2 > lim->lines)) {
		if (b->drop_last == 0) {
			b->drop_first = e->seq;
			b->drop_ts = e->ts;
		}
		b->drop_last = e->seq;
		b->drop_pos.seq = e->seq;
		b->drop_pos.ts = e->ts;
		b->drop_pos.n = e->n;
		b->dropped++;
		return 0;
	}
	if (b->drop_last != 0)
		logbuf_push_marker(b, total);
	x = xmalloc(sizeof *x + e->len);
	x->seq = e->seq;
	x->ts = e->ts;
	x->pos.seq = e->seq;
	x->pos.ts = e->ts;
	x->pos.n = e->n;
	x->dropped = 0;
	x->len = (uint32_t)e->len;
	x->kind = e->stream == 2 ? 'e' : 'o';
	x->partial = (char)e->partial;
	memcpy(x->text, e->text, e->len);
	logbuf_push(b, total, x);
	return 1;
}

void
logbuf_flush_drops(struct logbuf *b, const struct logbuf_limits *lim,
    size_t *total)
{
	if (b->drop_last != 0 &&
	    logbuf_room(b, lim, *total, LOGBUF_ENTRY_COST))
		logbuf_push_marker(b, total);
}

int
logbuf_has_unsent(const struct logbuf *b)
{
	return b->unsent != NULL;
}

size_t
logbuf_encode(struct logbuf *b, struct buf *out, size_t max_bytes,
    size_t max_entries, int64_t *last)
{
	struct logbuf_entry *x;
	size_t n = 0, before;

	for (x = b->unsent; x != NULL && n < max_entries; x = x->next) {
		before = out->len;
		if (n > 0)
			buf_append(out, ",", 1);
		if (x->kind == 'd')
			buf_printf(out, "[%lld,%lld,\"d\",%lld]",
			    (long long)x->seq, (long long)x->ts,
			    (long long)x->dropped);
		else {
			buf_printf(out, "[%lld,%lld,\"%c\",\"",
			    (long long)x->seq, (long long)x->ts, x->kind);
			logfmt_json_escape(out, x->text, x->len);
			buf_append(out, x->partial ? "\",1]" : "\"]",
			    x->partial ? 4 : 2);
		}
		if (n > 0 && out->len > max_bytes) {
			out->len = before;	/* it goes in the next frame */
			out->data[out->len] = '\0';
			break;
		}
		*last = x->seq;
		n++;
	}
	b->unsent = x;
	return n;
}

static void
logbuf_free_head(struct logbuf *b, size_t *total)
{
	struct logbuf_entry *x = b->head;
	size_t cost = x->len + LOGBUF_ENTRY_COST;

	b->head = x->next;
	if (b->head == NULL)
		b->tail = NULL;
	if (b->unsent == x)
		b->unsent = b->head;
	b->nlines--;
	b->nbytes -= cost;
	*total -= cost;
	free(x);
}

void
logbuf_ack(struct logbuf *b, int64_t seq, size_t *total)
{
	while (b->head != NULL && b->head->seq <= seq) {
		b->acked = b->head->pos;
		logbuf_free_head(b, total);
	}
}

void
logbuf_rewind(struct logbuf *b)
{
	b->unsent = b->head;
}

void
logbuf_clear(struct logbuf *b, size_t *total)
{
	while (b->head != NULL)
		logbuf_free_head(b, total);
	b->unsent = NULL;
	b->drop_first = b->drop_last = 0;
}
