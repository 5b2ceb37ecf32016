/*
 * fuzz_job.c - libFuzzer target for the two parsers of jobs that take
 * outside input: job_spec_parse() (the API's body and `berth job run -f`'s
 * file) and the agent's jobrun_parse_desired() (a desired frame's "jobs"
 * and "jobs_done").
 *
 * Properties beyond "no crash, no leak, no sanitizer report": a job is
 * either parsed with no error or refused with at least one; a parsed job's
 * normalized form is valid input that parses to the same job; every job
 * entry the agent takes has a create body that is JSON with the attempt's
 * label. Run on the seeds in tests/fuzz/corpus/job/.
 */
#include "agent/jobrun.h"
#include "stacks/job_spec.h"
#include "common/proto.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define FUZZ_NODE_ID	"0123456789abcdef0123456789abcdef"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_job_spec(const uint8_t *data, size_t size)
{
	struct stack_errors errs = { NULL, 0 }, errs2 = { NULL, 0 };
	json_t *job, *again;
	char *text;

	job = job_spec_parse((const char *)data, size, "fuzz.yml", &errs);
	if ((job == NULL) != (errs.n > 0))
		abort();
	if (job == NULL) {
		text = stack_errors_format(&errs);
		free(text);
		stack_errors_clear(&errs);
		return;
	}
	text = json_dumps(job, JSON_COMPACT | JSON_SORT_KEYS);
	if (text == NULL)
		abort();
	again = job_spec_parse(text, strlen(text), "again.json", &errs2);
	if (again == NULL || !json_equal(job, again))
		abort();
	free(text);
	json_decref(again);
	json_decref(job);
}

static void
fuzz_job_desired(const uint8_t *data, size_t size)
{
	struct jobrun_spec *specs;
	int64_t *done;
	size_t n, nd, i;
	char *text, *cause = NULL;
	json_t *body;

	text = malloc(size + 1);
	if (text == NULL)
		return;
	memcpy(text, data, size);
	text[size] = '\0';
	if (jobrun_parse_desired(text, FUZZ_NODE_ID, &specs, &n, &done, &nd,
	    &cause) != 0) {
		if (cause == NULL)
			abort();
		free(cause);
		free(text);
		return;
	}
	for (i = 0; i < n; i++) {
		body = json_loads(specs[i].body, 0, NULL);
		if (body == NULL || specs[i].attempt < 1 ||
		    !json_is_string(json_object_get(json_object_get(body,
		    "Labels"), PROTO_LABEL_ATTEMPT)))
			abort();
		json_decref(body);
	}
	for (i = 0; i < nd; i++)
		if (done[i] < 1)
			abort();
	jobrun_spec_free(specs, n);
	free(done);
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_job_spec(data, size);
	fuzz_job_desired(data, size);
	return 0;
}
