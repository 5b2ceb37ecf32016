/*
 * hub_outq.c - a session's out queue with one pending desired frame (see
 * hub_outq.h).
 *
 * ws thread only; the queue belongs to one struct hub_sess. A frame's
 * buffer is allocated apart from its entry so that a newer desired set can
 * take the pending one's place without relinking the list.
 */
#include "master/hub_outq.h"

#include "common/xmalloc.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static unsigned char *
hub_outq_buf(const char *text, size_t len)
{
	unsigned char *buf = xmalloc(LWS_PRE + len);

	memcpy(buf + LWS_PRE, text, len);
	return buf;
}

/* Free o and its buffer (or its reference to a shared one). */
static void
hub_out_free(struct hub_out *o)
{
	if (o->shared != NULL)
		hub_shared_unref(o->shared);
	else
		free(o->buf);
	free(o);
}

static void
hub_outq_append(struct hub_outq *q, struct hub_out *o)
{
	if (q->tail != NULL)
		q->tail->next = o;
	else
		q->head = o;
	q->tail = o;
	q->n++;
}

struct hub_shared *
hub_shared_new(const char *text, size_t len)
{
	struct hub_shared *sh = xmalloc(sizeof *sh + LWS_PRE + len + 1);

	sh->refs = 1;
	sh->len = len;
	memcpy(sh->buf + LWS_PRE, text, len);
	sh->buf[LWS_PRE + len] = '\0';
	return sh;
}

void
hub_shared_unref(struct hub_shared *sh)
{
	if (sh == NULL)
		return;
	assert(sh->refs > 0);
	if (--sh->refs == 0)
		free(sh);
}

void
hub_outq_push_shared(struct hub_outq *q, struct hub_shared *sh)
{
	struct hub_out *o = xcalloc(1, sizeof *o);

	o->kind = HUB_OUT_FRAME;
	o->len = sh->len;
	o->buf = sh->buf;
	o->shared = sh;
	sh->refs++;
	hub_outq_append(q, o);
}

int
hub_outq_push(struct hub_outq *q, enum hub_out_kind kind, const char *text,
    size_t len)
{
	struct hub_out *o, **pp;

	/* A new set: the pending parts of the one it replaces go. */
	if (kind == HUB_OUT_DESIRED) {
		q->tail = NULL;
		for (pp = &q->head; (o = *pp) != NULL; ) {
			if (o->kind != HUB_OUT_DESIRED_PART) {
				q->tail = o;
				pp = &o->next;
				continue;
			}
			*pp = o->next;
			q->n--;
			hub_out_free(o);
		}
	}
	if (kind == HUB_OUT_DESIRED && q->desired != NULL) {
		o = q->desired;
		free(o->buf);
		o->buf = hub_outq_buf(text, len);
		o->len = len;
		return 1;
	}
	o = xcalloc(1, sizeof *o);
	o->kind = kind;
	o->len = len;
	o->buf = hub_outq_buf(text, len);
	hub_outq_append(q, o);
	if (kind == HUB_OUT_DESIRED)
		q->desired = o;
	return 0;
}

void
hub_outq_pop(struct hub_outq *q)
{
	struct hub_out *o = q->head;

	if (o == NULL)
		return;
	q->head = o->next;
	if (q->head == NULL)
		q->tail = NULL;
	if (q->desired == o)
		q->desired = NULL;	/* written: the next one queues anew */
	assert(q->n > 0);
	q->n--;
	hub_out_free(o);
}

void
hub_outq_clear(struct hub_outq *q)
{
	while (q->head != NULL)
		hub_outq_pop(q);
	assert(q->n == 0 && q->tail == NULL && q->desired == NULL);
}
