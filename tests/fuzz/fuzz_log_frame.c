/*
 * fuzz_log_frame.c - libFuzzer target for the "logs" frames agents send.
 *
 * The input is one websocket message. It goes where the hub sends it:
 * json_loadb() with the hub's flags (JSON_ALLOW_NUL: a log line may hold
 * NULs), frame_check(), then for a "logs" frame log_frame_parse().
 *
 * Must hold: a cause exactly when it refuses, never an empty one; an
 * accepted batch keeps every promise log_frame.h makes (what the store
 * and the API then rely on without looking again): at most
 * PROTO_LOG_FRAME_STREAMS streams and PROTO_LOG_FRAME_LINES entries,
 * 64-hex container ids, names of [A-Za-z0-9_.-], sequence numbers that
 * rise, drop markers that do not reach back, texts of at most
 * PROTO_LOG_LINE_MAX bytes inside the batch's blob, and a byte count that
 * covers them.
 */
#include "master/hub_frame.h"
#include "master/log_frame.h"

#include "common/proto.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_name(const char *s, size_t max, int empty_ok)
{
	size_t n = strlen(s), i;

	if ((n == 0 && !empty_ok) || n > max)
		abort();
	for (i = 0; i < n; i++)
		if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789_.-", s[i]) == NULL)
			abort();
}

static void
fuzz_batch(const struct log_batch *b)
{
	const struct log_stream_in *s;
	const struct log_entry *e;
	size_t i, j, n = 0, text = 0;
	int64_t prev;

	if (b->nstreams == 0 || b->nstreams > PROTO_LOG_FRAME_STREAMS ||
	    b->seq < 1)
		abort();
	for (i = 0; i < b->nstreams; i++) {
		s = &b->streams[i];
		if (strlen(s->container_id) != LOG_CONTAINER_ID_LEN ||
		    strspn(s->container_id, "0123456789abcdef") !=
		    LOG_CONTAINER_ID_LEN)
			abort();
		fuzz_name(s->name, LOG_NAME_MAX, 0);
		fuzz_name(s->stack, 63, 1);
		fuzz_name(s->service, 63, 1);
		fuzz_name(s->job, 63, 1);
		if (s->instance < 0 || s->instance > LOG_INSTANCE_MAX ||
		    s->n == 0)
			abort();
		for (j = 0; j < i; j++)
			if (strcmp(b->streams[j].container_id,
			    s->container_id) == 0)
				abort();
		prev = 0;
		for (j = 0; j < s->n; j++) {
			e = &s->e[j];
			if (e->seq <= prev || e->ts < 0)
				abort();
			if (e->kind == LOG_KIND_DROPPED) {
				if (e->dropped < 1 || e->seq - e->dropped < prev ||
				    e->len != 0)
					abort();
			} else if (e->kind == LOG_KIND_STDOUT ||
			    e->kind == LOG_KIND_STDERR) {
				/* Texts lie in the blob one after another. */
				if (e->len > PROTO_LOG_LINE_MAX ||
				    e->text != b->blob + text ||
				    e->text[e->len] != '\0')
					abort();
				text += e->len + 1;
			} else
				abort();
			prev = e->seq;
			n++;
		}
	}
	if (n != b->nentries || n > PROTO_LOG_FRAME_LINES || b->bytes < text)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct log_batch *b = NULL;
	enum frame_type type;
	json_error_t jerr;
	json_t *f;
	char *cause = NULL;
	int rc;

	f = json_loadb((const char *)data, size, JSON_ALLOW_NUL, &jerr);
	if (f == NULL)
		return 0;
	if (frame_check(f, &type, &cause) != 0 || type != FRAME_LOGS) {
		free(cause);
		json_decref(f);
		return 0;
	}
	rc = log_frame_parse(f, &b, &cause);
	if ((rc == 0) != (cause == NULL) || (rc == 0) != (b != NULL))
		abort();
	if (rc != 0 && cause[0] == '\0')
		abort();
	if (rc == 0)
		fuzz_batch(b);
	log_batch_free(b);
	free(cause);
	json_decref(f);
	return 0;
}
