/*
 * fuzz_agent_frame.c - libFuzzer target for the frames the agent accepts
 * from the master.
 *
 * conn.c's dispatch only reads "type"; a welcome's one effect is storing
 * the node token (file I/O), and a desired frame goes as text to the
 * converge thread, which calls spec_parse_desired() and then decides with
 * plan_compute(). Those two pure steps are what this target runs: the
 * input is the frame's text; the containers this node "has" are made up
 * from the parsed specs and a hash of the input (matching ones at the
 * same or another rev, in every Docker state, unlabelled ones, strangers).
 *
 * Must hold: every spec accepted is well formed (a name, an image, ids in
 * range, a create body that is a JSON object carrying the berth.* labels
 * of its identity) and no two share an identity or a name; the plan keeps,
 * starts or creates each wanted instance consistently with the container
 * it matched, never removes a container it kept, never touches one Docker
 * is removing, and removes every other container nobody wants.
 */
#include "agent/plan.h"
#include "agent/spec.h"

#include "common/log.h"
#include "common/proto.h"
#include "common/xmalloc.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_NODE_ID	"0123456789abcdef0123456789abcdef"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t
fuzz_hash(const uint8_t *data, size_t size)
{
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; i < size; i++)
		h = (h ^ data[i]) * 1099511628211ULL;
	return h;
}

static unsigned
fuzz_next(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return (unsigned)(*x >> 32);
}

static void
fuzz_check_label(json_t *labels, const char *key, long long want)
{
	const char *v = json_string_value(json_object_get(labels, key));
	char num[32];

	snprintf(num, sizeof num, "%lld", want);
	if (v == NULL || strcmp(v, num) != 0)
		abort();
}

static void
fuzz_check_spec(const struct spec *s)
{
	json_t *b, *labels;
	const char *v;

	if (s->name == NULL || s->name[0] == '\0' || s->image == NULL ||
	    s->image[0] == '\0' || s->service_id < 1 || s->instance < 1 ||
	    s->rev < 0 || s->stop_grace < 0 || s->stop_grace > 3600)
		abort();
	if ((b = json_loads(s->body, 0, NULL)) == NULL || !json_is_object(b))
		abort();
	v = json_string_value(json_object_get(b, "Image"));
	if (v == NULL || strcmp(v, s->image) != 0)
		abort();
	labels = json_object_get(b, "Labels");
	v = json_string_value(json_object_get(labels, PROTO_LABEL_NODE));
	if (v == NULL || strcmp(v, FUZZ_NODE_ID) != 0)
		abort();
	fuzz_check_label(labels, PROTO_LABEL_SERVICE_ID, s->service_id);
	fuzz_check_label(labels, PROTO_LABEL_INSTANCE, s->instance);
	fuzz_check_label(labels, PROTO_LABEL_REV, s->rev);
	json_decref(b);
}

static void
fuzz_plan(const struct spec *specs, size_t n, uint64_t seed)
{
	struct plan_want *want = xcalloc(n + 1, sizeof *want);
	struct plan_actual *act;
	struct plan p;
	size_t na, i, j, k;
	long m;

	for (i = 0; i < n; i++) {
		want[i].service_id = specs[i].service_id;
		want[i].instance = specs[i].instance;
		want[i].rev = specs[i].rev;
	}
	na = n * 2 + fuzz_next(&seed) % 4;
	act = xcalloc(na + 1, sizeof *act);
	for (j = 0; j < na; j++) {
		unsigned r = fuzz_next(&seed);

		act[j].state = (enum plan_state)(r % 7);	/* ..REMOVING */
		act[j].labelled = (r >> 3) % 8 != 0;
		if (n > 0 && (r >> 6) % 4 != 0) {
			k = (r >> 8) % n;
			act[j].service_id = want[k].service_id;
			act[j].instance = want[k].instance;
			act[j].rev = want[k].rev + ((r >> 16) % 4 == 0);
		} else {
			act[j].service_id = (r >> 8) % 3;
			act[j].instance = (r >> 12) % 3;
			act[j].rev = 0;
		}
	}
	p.act = xcalloc(n + 1, sizeof *p.act);
	p.match = xcalloc(n + 1, sizeof *p.match);
	p.remove = xcalloc(na + 1, sizeof *p.remove);
	plan_compute(want, n, act, na, &p);

	for (i = 0; i < n; i++) {
		m = p.match[i];
		if (m < 0) {
			if (p.act[i] != PLAN_CREATE)
				abort();
			continue;
		}
		if ((size_t)m >= na || p.remove[m] || !act[m].labelled ||
		    act[m].service_id != want[i].service_id ||
		    act[m].instance != want[i].instance ||
		    act[m].rev != want[i].rev)
			abort();
		switch (act[m].state) {
		case PLAN_ST_RUNNING:
		case PLAN_ST_PAUSED:
		case PLAN_ST_RESTARTING:
			if (p.act[i] != PLAN_KEEP)
				abort();
			break;
		case PLAN_ST_CREATED:
		case PLAN_ST_EXITED:
			if (p.act[i] != PLAN_START)
				abort();
			break;
		default:
			abort();	/* dead or removing: never kept */
		}
		for (k = 0; k < i; k++)
			if (p.match[k] == m)
				abort();
	}
	for (j = 0; j < na; j++) {
		int kept = 0, wanted = 0;

		for (i = 0; i < n; i++) {
			if (p.match[i] == (long)j)
				kept = 1;
			if (act[j].labelled &&
			    act[j].service_id == want[i].service_id &&
			    act[j].instance == want[i].instance)
				wanted = 1;
		}
		if (act[j].state == PLAN_ST_REMOVING) {
			if (p.remove[j])
				abort();
		} else if (!wanted && !p.remove[j])
			abort();
		else if (wanted && !kept && !p.remove[j])
			abort();	/* a duplicate or stale one stays */
	}
	free(p.act);
	free(p.match);
	free(p.remove);
	free(act);
	free(want);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	struct spec *specs = NULL;
	size_t n = 0, i, j;
	int64_t gen;
	char *text, *cause = NULL;
	json_t *o;
	int rc;

	if (!init) {
		log_set_level(LOG_LVL_ERROR);	/* skipped entries warn */
		init = 1;
	}
	text = xmalloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';

	/* conn_dispatch(): the whole message, then its type. */
	o = json_loadb(text, size, 0, NULL);
	if (o != NULL && json_is_object(o))
		(void)json_string_value(json_object_get(o, "type"));
	json_decref(o);

	/* converge_apply_desired(): the text as the converge thread gets it. */
	rc = spec_parse_desired(text, FUZZ_NODE_ID, &specs, &n, &gen, &cause);
	if ((rc == 0) != (cause == NULL))
		abort();
	if (rc == 0) {
		for (i = 0; i < n; i++) {
			fuzz_check_spec(&specs[i]);
			for (j = 0; j < i; j++) {
				if ((specs[j].service_id == specs[i].service_id &&
				    specs[j].instance == specs[i].instance) ||
				    strcmp(specs[j].name, specs[i].name) == 0)
					abort();
			}
		}
		fuzz_plan(specs, n, fuzz_hash(data, size));
		spec_free_array(specs, n);
	}
	free(cause);
	free(text);
	return 0;
}
