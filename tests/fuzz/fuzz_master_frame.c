/*
 * fuzz_master_frame.c - libFuzzer target for every frame the master
 * accepts from an agent.
 *
 * The input is one websocket message. It goes where hub_frame() sends it:
 * json_loadb() with the hub's flags, frame_check(), then for a "state"
 * frame desired_apply_state() and for "node_info" store_node_info(), on
 * the seeded store of tests/lib/master_fixture.h (the node owns instances
 * 1 and 2 of service "web", rev 1, so reports can match). Afterwards the
 * rows the frame touched are read back the way the API and the hub read
 * them.
 *
 * Must hold: frame_check() gives a cause exactly when it refuses;
 * desired_apply_state() refuses exactly the containers lists frame_check()
 * refuses and never fails on the store; what was stored reads back.
 */
#include "tests/lib/master_fixture.h"

#include "master/hub_desired.h"
#include "master/hub_frame.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_dump(json_t *v)
{
	char *text;

	if (v == NULL)
		abort();
	text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	if (text == NULL)
		abort();
	free(text);
	json_decref(v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct master_fixture *fx;
	enum frame_type type;
	json_error_t jerr;
	json_t *f, *containers, *jobs, *o;
	char *cause = NULL, *cause2 = NULL, *text;
	int64_t *ids = NULL;
	size_t nids = 0;
	int rc, rc2, changed;

	fx = master_fixture_once();
	f = json_loadb((const char *)data, size, JSON_ALLOW_NUL, &jerr);
	if (f == NULL)
		return 0;
	rc = frame_check(f, &type, &cause);
	if ((rc == 0) != (cause == NULL))
		abort();
	if (rc != 0 && cause[0] == '\0')
		abort();
	free(cause);
	cause = NULL;

	/* Any "containers", whatever the type: both checks must agree. */
	containers = json_object_get(f, "containers");
	if (containers != NULL) {
		rc2 = frame_state_containers(containers, &cause2);
		rc = desired_apply_state(fx->st, MASTER_FIXTURE_NODE_ID,
		    containers, &changed, &cause);
		if ((rc == 0) != (rc2 == 0)) {
			fprintf(stderr, "fuzz: desired_apply_state %d (%s), "
			    "check %d\n", rc, cause ? cause : "", rc2);
			abort();
		}
		if (rc == 0 && (changed != 0 && changed != 1))
			abort();
		free(cause);
		free(cause2);
		cause = NULL;
		if (rc == 0) {
			static const unsigned char key[TOKEN_KEY_LEN];

			fuzz_dump(desired_build(fx->st, key,
			    MASTER_FIXTURE_NODE_ID));
			fuzz_dump(store_service_containers_json(fx->st,
			    fx->web_id));
		}
	}
	/* Any "jobs": the check and the store's apply agree likewise. */
	jobs = json_object_get(f, "jobs");
	if (jobs != NULL) {
		cause = cause2 = NULL;
		rc2 = frame_state_jobs(jobs, &cause2);
		rc = desired_apply_jobs(fx->st, MASTER_FIXTURE_NODE_ID, jobs,
		    &ids, &nids, &changed, &cause);
		if ((rc == 0) != (rc2 == 0)) {
			fprintf(stderr, "fuzz: desired_apply_jobs %d (%s), "
			    "check %d\n", rc, cause ? cause : "", rc2);
			abort();
		}
		free(ids);
		free(cause);
		free(cause2);
		cause = NULL;
		cause2 = NULL;
	}
	if (frame_check(f, &type, &cause) == 0 && type == FRAME_NODE_INFO) {
		if (store_node_info(fx->st, MASTER_FIXTURE_NODE_ID, f) < 0)
			master_fixture_die(fx, "store_node_info");
		if (store_node_get_json(fx->st, fx->grid_id,
		    MASTER_FIXTURE_NODE_ID, &o) != 1)
			master_fixture_die(fx, "store_node_get_json");
		fuzz_dump(o);
		/* The node list the API serves is SQLite-built JSON text:
		 * whatever node_info stored must still come out parseable. */
		text = store_node_list_text(fx->st, fx->grid_id);
		if (text == NULL)
			master_fixture_die(fx, "store_node_list_text");
		fuzz_dump(json_loads(text, 0, NULL));
		free(text);
	}
	free(cause);
	json_decref(f);
	return 0;
}
