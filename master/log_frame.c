/*
 * log_frame.c - check a "logs" frame and copy it into a batch (see
 * log_frame.h and docs/protocol.md).
 *
 * Two passes over the parsed frame: the first checks every field and
 * counts the entries and the text bytes, the second copies into one
 * allocation of exactly that size. Nothing from the frame is trusted
 * beyond what the first pass proved: ids are lowercase hex, names use the
 * characters Docker and berth allow, sequence numbers rise within a
 * container, a drop marker never reaches back past the entry before it,
 * and a line's text is at most PROTO_LOG_LINE_MAX bytes (jansson has
 * already refused text that is not UTF-8, and the hub's websocket refuses
 * it before that). Runs on the ws thread and in the fuzzer.
 */
#include "master/log_frame.h"

#include "common/proto.h"
#include "common/util.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

const char *
log_kind_name(enum log_kind k)
{
	switch (k) {
	case LOG_KIND_STDOUT:
		return "stdout";
	case LOG_KIND_STDERR:
		return "stderr";
	case LOG_KIND_DROPPED:
		return "dropped";
	}
	return "?";
}

void
log_batch_free(struct log_batch *b)
{
	if (b == NULL)
		return;
	free(b->streams);	/* entries live in the same allocation */
	free(b->blob);
	free(b);
}

/* A string without NULs (only a line's text may hold them), or NULL. */
static const char *
frame_str(json_t *v)
{
	const char *s = json_string_value(v);

	if (s == NULL || strlen(s) != json_string_length(v))
		return NULL;
	return s;
}

/* [A-Za-z0-9_.-], 1..max characters; "" too when empty_ok. */
static int
frame_name_ok(const char *s, size_t max, int empty_ok)
{
	size_t n = 0;

	if (*s == '\0')
		return empty_ok;
	for (; s[n] != '\0'; n++) {
		char c = s[n];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
			return 0;
	}
	return n <= max;
}

static int
frame_hex_id(const char *s)
{
	size_t n;

	for (n = 0; s[n] != '\0'; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
			return 0;
	return n == LOG_CONTAINER_ID_LEN;
}

/* An optional string field of a stream: NULL and absent read as "". */
static int
frame_opt_name(json_t *st, const char *key, size_t max, size_t si,
    const char **out, char **cause)
{
	json_t *v = json_object_get(st, key);

	*out = "";
	if (v == NULL || json_is_null(v))
		return 0;
	if (frame_str(v) == NULL || !frame_name_ok(json_string_value(v), max,
	    1)) {
		xasprintf(cause, "logs.streams[%zu].%s: expected up to %zu of "
		    "[A-Za-z0-9_.-]", si, key, max);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

/* One entry; *prev is the seq of the entry before (0 for none). */
static int
frame_check_entry(json_t *e, size_t si, size_t li, int64_t *prev,
    size_t *text, char **cause)
{
	json_t *v;
	const char *k;
	int64_t seq, ts, n;
	size_t len;

	if (!json_is_array(e) || json_array_size(e) < 4 ||
	    json_array_size(e) > 5) {
		xasprintf(cause, "logs.streams[%zu].lines[%zu]: expected [seq, "
		    "ts, stream, text] or [seq, ts, \"d\", count]", si, li);
		return -1;
	}
	v = json_array_get(e, 0);
	if (!json_is_integer(v) || (seq = json_integer_value(v)) < 1 ||
	    seq <= *prev) {
		xasprintf(cause, "logs.streams[%zu].lines[%zu][0]: seq must be "
		    "a whole number above the previous one", si, li);
		return -1;
	}
	v = json_array_get(e, 1);
	if (!json_is_integer(v) || (ts = json_integer_value(v)) < 0) {
		xasprintf(cause, "logs.streams[%zu].lines[%zu][1]: ts must be "
		    "nanoseconds since the epoch", si, li);
		return -1;
	}
	v = json_array_get(e, 2);
	k = frame_str(v);
	if (k == NULL || (strcmp(k, "o") != 0 && strcmp(k, "e") != 0 &&
	    strcmp(k, "d") != 0)) {
		xasprintf(cause, "logs.streams[%zu].lines[%zu][2]: stream must "
		    "be \"o\", \"e\" or \"d\"", si, li);
		return -1;
	}
	v = json_array_get(e, 3);
	if (k[0] == 'd') {
		if (json_array_size(e) != 4 || !json_is_integer(v) ||
		    (n = json_integer_value(v)) < 1 || seq - n < *prev) {
			xasprintf(cause, "logs.streams[%zu].lines[%zu][3]: a "
			    "drop marker counts 1 or more lines after the "
			    "previous entry", si, li);
			return -1;
		}
	} else {
		if (!json_is_string(v) ||
		    (len = json_string_length(v)) > PROTO_LOG_LINE_MAX) {
			xasprintf(cause, "logs.streams[%zu].lines[%zu][3]: text "
			    "must be a string of at most %d bytes", si, li,
			    PROTO_LOG_LINE_MAX);
			return -1;
		}
		*text += len + 1;
		if (json_array_size(e) == 5) {
			v = json_array_get(e, 4);
			if (!json_is_integer(v) || json_integer_value(v) < 0 ||
			    json_integer_value(v) > 1) {
				xasprintf(cause, "logs.streams[%zu].lines[%zu]"
				    "[4]: partial must be 0 or 1", si, li);
				return -1;
			}
		}
	}
	*prev = seq;
	return 0;
}

/* One stream: its fields and entries. Counts into *nent and *text. */
static int
frame_check_stream(json_t *st, size_t si, size_t *nent, size_t *text,
    char **cause)
{
	const char *s;
	json_t *v, *lines, *e;
	int64_t prev = 0;
	size_t li;

	if (!json_is_object(st)) {
		xasprintf(cause, "logs.streams[%zu]: expected an object", si);
		return -1;
	}
	s = frame_str(json_object_get(st, "container_id"));
	if (s == NULL || !frame_hex_id(s)) {
		xasprintf(cause, "logs.streams[%zu].container_id: expected %d "
		    "lowercase hex characters", si, LOG_CONTAINER_ID_LEN);
		return -1;
	}
	s = frame_str(json_object_get(st, "name"));
	if (s == NULL || !frame_name_ok(s, LOG_NAME_MAX, 0)) {
		xasprintf(cause, "logs.streams[%zu].name: expected 1 to %d of "
		    "[A-Za-z0-9_.-]", si, LOG_NAME_MAX);
		return -1;
	}
	if (frame_opt_name(st, "stack", 63, si, &s, cause) != 0 ||
	    frame_opt_name(st, "service", 63, si, &s, cause) != 0 ||
	    frame_opt_name(st, "job", 63, si, &s, cause) != 0)
		return -1;
	v = json_object_get(st, "instance");
	if (v != NULL && !json_is_null(v) && (!json_is_integer(v) ||
	    json_integer_value(v) < 0 ||
	    json_integer_value(v) > LOG_INSTANCE_MAX)) {
		xasprintf(cause, "logs.streams[%zu].instance: expected a whole "
		    "number from 0 to %d", si, LOG_INSTANCE_MAX);
		return -1;
	}
	lines = json_object_get(st, "lines");
	if (!json_is_array(lines) || json_array_size(lines) == 0) {
		xasprintf(cause, "logs.streams[%zu].lines: expected a non-empty "
		    "array", si);
		return -1;
	}
	json_array_foreach(lines, li, e) {
		if (*nent >= PROTO_LOG_FRAME_LINES) {
			xasprintf(cause, "logs.streams[%zu].lines: more than %d "
			    "entries in the frame", si, PROTO_LOG_FRAME_LINES);
			return -1;
		}
		if (frame_check_entry(e, si, li, &prev, text, cause) != 0)
			return -1;
		(*nent)++;
	}
	return 0;
}

/* Second pass: copy stream st (checked) into *in. */
static void
frame_copy_stream(json_t *st, struct log_stream_in *in, struct log_entry *ent,
    char **blob)
{
	json_t *lines = json_object_get(st, "lines"), *e, *v;
	const char *k;
	size_t li, len;

#define COPY_NAME(field, key) do {					\
	v = json_object_get(st, key);					\
	snprintf(in->field, sizeof in->field, "%s",			\
	    json_is_string(v) ? json_string_value(v) : "");		\
} while (0)
	COPY_NAME(container_id, "container_id");
	COPY_NAME(name, "name");
	COPY_NAME(stack, "stack");
	COPY_NAME(service, "service");
	COPY_NAME(job, "job");
#undef COPY_NAME
	v = json_object_get(st, "instance");
	in->instance = json_is_integer(v) ? (int)json_integer_value(v) : 0;
	in->e = ent;
	in->n = 0;
	json_array_foreach(lines, li, e) {
		struct log_entry *x = &ent[in->n++];

		memset(x, 0, sizeof *x);
		x->seq = json_integer_value(json_array_get(e, 0));
		x->ts = json_integer_value(json_array_get(e, 1));
		k = json_string_value(json_array_get(e, 2));
		v = json_array_get(e, 3);
		if (k[0] == 'd') {
			x->kind = LOG_KIND_DROPPED;
			x->dropped = json_integer_value(v);
			x->text = "";
			continue;
		}
		x->kind = k[0] == 'o' ? LOG_KIND_STDOUT : LOG_KIND_STDERR;
		x->partial = json_array_size(e) == 5 &&
		    json_integer_value(json_array_get(e, 4)) == 1;
		len = json_string_length(v);
		memcpy(*blob, json_string_value(v), len);
		(*blob)[len] = '\0';
		x->text = *blob;
		x->len = len;
		*blob += len + 1;
	}
}

int
log_frame_parse(json_t *f, struct log_batch **out, char **cause)
{
	struct log_batch *b;
	struct log_entry *ent;
	json_t *v, *streams, *st;
	size_t si, sj, nent = 0, text = 0;
	char *p;

	v = json_object_get(f, "seq");
	if (!json_is_integer(v) || json_integer_value(v) < 1) {
		xasprintf(cause, "logs.seq: expected a whole number from 1");
		return -1;
	}
	v = json_object_get(f, "resend");
	if (v != NULL && !json_is_boolean(v)) {
		xasprintf(cause, "logs.resend: expected true or false");
		return -1;
	}
	streams = json_object_get(f, "streams");
	if (!json_is_array(streams) || json_array_size(streams) == 0 ||
	    json_array_size(streams) > PROTO_LOG_FRAME_STREAMS) {
		xasprintf(cause, "logs.streams: expected an array of 1 to %d "
		    "containers", PROTO_LOG_FRAME_STREAMS);
		return -1;
	}
	json_array_foreach(streams, si, st) {
		if (frame_check_stream(st, si, &nent, &text, cause) != 0)
			return -1;
		/* One container once per frame: its seq order is then plain. */
		for (sj = 0; sj < si; sj++) {
			if (strcmp(json_string_value(json_object_get(st,
			    "container_id")), json_string_value(
			    json_object_get(json_array_get(streams, sj),
			    "container_id"))) == 0) {
				xasprintf(cause, "logs.streams[%zu].container_id:"
				    " the same container as streams[%zu]", si,
				    sj);
				return -1;
			}
		}
	}

	b = xcalloc(1, sizeof *b);
	b->seq = json_integer_value(json_object_get(f, "seq"));
	b->resend = json_is_true(json_object_get(f, "resend"));
	b->nstreams = json_array_size(streams);
	b->nentries = nent;
	/* Streams, then their entries, in one allocation. */
	b->streams = xmalloc(b->nstreams * sizeof *b->streams +
	    nent * sizeof *ent);
	ent = (struct log_entry *)(b->streams + b->nstreams);
	b->blob = p = xmalloc(text + 1);
	json_array_foreach(streams, si, st) {
		frame_copy_stream(st, &b->streams[si], ent, &p);
		ent += b->streams[si].n;
	}
	b->bytes = sizeof *b + b->nstreams * sizeof *b->streams +
	    nent * sizeof *ent + text + 1;
	*out = b;
	return 0;
}
