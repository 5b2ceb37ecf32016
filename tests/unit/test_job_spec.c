/*
 * test_job_spec.c - the job parser (stacks/job_spec.c): a full job in
 * YAML and in JSON, the normalized form read back as input, defaults,
 * values taken as written, and an error with its line and field for
 * every field that can be wrong.
 */
#include "tests/unit/test.h"

#include "stacks/job_spec.h"

#include <stdlib.h>
#include <string.h>

static json_t *
parse(const char *text, char **errs_text)
{
	struct stack_errors errs = { 0 };
	json_t *j;

	j = job_spec_parse(text, strlen(text), "job.yml", &errs);
	*errs_text = stack_errors_format(&errs);
	stack_errors_clear(&errs);
	return j;
}

static void
test_job_full_yaml(void)
{
	const char *yml =
	    "name: build-1\n"
	    "image: berth-test/busybox:latest\n"
	    "command: sh -c 'echo $HOME; exit 3'\n"
	    "env:\n"
	    "  A: b\n"
	    "  EMPTY:\n"
	    "cpus: 1.5\n"
	    "memory: 64M\n"
	    "affinity:\n"
	    "  - label==berth.group=ci\n"
	    "  - node!=~slow\n"
	    "timeout: 10m\n"
	    "retries: 2\n"
	    "backoff: 30s\n"
	    "parallel: 4\n"
	    "priority: -5\n"
	    "labels:\n"
	    "  team: core\n";
	char *e, *text;
	json_t *j, *again;

	j = parse(yml, &e);
	CHECK(j != NULL);
	CHECK_STR(e, "");
	free(e);
	if (j == NULL)
		return;
	CHECK_STR(json_string_value(json_object_get(j, "name")), "build-1");
	text = json_dumps(json_object_get(j, "command"), JSON_COMPACT);
	/* Values as written: $HOME stays for the container's shell. */
	CHECK_STR(text, "[\"sh\",\"-c\",\"echo $HOME; exit 3\"]");
	free(text);
	text = json_dumps(json_object_get(j, "env"), JSON_COMPACT);
	CHECK_STR(text, "[\"A=b\",\"EMPTY=\"]");
	free(text);
	CHECK(json_real_value(json_object_get(j, "cpus")) == 1.5);
	CHECK_INT(json_integer_value(json_object_get(j, "memory")),
	    64 * 1024 * 1024);
	CHECK_INT(json_integer_value(json_object_get(j, "timeout")), 600);
	CHECK_INT(json_integer_value(json_object_get(j, "retries")), 2);
	CHECK_INT(json_integer_value(json_object_get(j, "backoff")), 30);
	CHECK_INT(json_integer_value(json_object_get(j, "parallel")), 4);
	CHECK_INT(json_integer_value(json_object_get(j, "priority")), -5);
	CHECK_INT(json_array_size(json_object_get(j, "affinity")), 2);
	CHECK_STR(json_string_value(json_object_get(json_object_get(j,
	    "labels"), "team")), "core");
	/* The normalized form is itself valid input, and the same job. */
	text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	again = parse(text, &e);
	CHECK_STR(e, "");
	free(e);
	CHECK(again != NULL && json_equal(j, again));
	free(text);
	json_decref(again);
	json_decref(j);
}

static void
test_job_defaults_json(void)
{
	char *e;
	json_t *j = parse("{\"image\": \"alpine:3\"}", &e);

	CHECK(j != NULL);
	CHECK_STR(e, "");
	free(e);
	if (j == NULL)
		return;
	CHECK(json_is_null(json_object_get(j, "name")));
	CHECK(json_is_null(json_object_get(j, "command")));
	CHECK(json_is_null(json_object_get(j, "cpus")));
	CHECK(json_is_null(json_object_get(j, "memory")));
	CHECK_INT(json_integer_value(json_object_get(j, "timeout")), 0);
	CHECK_INT(json_integer_value(json_object_get(j, "retries")), 0);
	CHECK_INT(json_integer_value(json_object_get(j, "backoff")),
	    JOB_DEFAULT_BACKOFF_S);
	CHECK_INT(json_integer_value(json_object_get(j, "parallel")), 1);
	CHECK_INT(json_integer_value(json_object_get(j, "priority")), 0);
	CHECK_INT(json_array_size(json_object_get(j, "env")), 0);
	CHECK_INT(json_array_size(json_object_get(j, "affinity")), 0);
	CHECK(json_is_object(json_object_get(j, "labels")));
	json_decref(j);
}

/* One bad field per line: each error names its line and field. */
static void
test_job_errors_name_line_and_field(void)
{
	static const struct {
		const char	*line;		/* the bad line (line 2) */
		const char	*want;		/* in the error */
	} bad[] = {
		{ "name: Build", "job.yml:2:7: name: \"Build\" is not a job name" },
		{ "name: -x", "2:7: name:" },
		{ "command: \"sh -c 'x\"", "2:10: command: unterminated ' quote" },
		{ "command: []", "2:10: command: must not be empty" },
		{ "env: [FOO]", "2:7: env[0]: \"FOO\" is not KEY=VALUE" },
		{ "env: {1A: x}", "2:7: env.1A: \"1A\" is not an environment" },
		{ "env: {BERTH_JOB_INDEX: 3}", "env.BERTH_JOB_INDEX: "
		  "\"BERTH_JOB_INDEX\" is set by berth" },
		{ "env: 3", "2:6: env: must be a mapping or a list" },
		{ "cpus: 0", "2:7: cpus: 0 is out of range" },
		{ "cpus: lots", "2:7: cpus: must be a number" },
		{ "memory: 1k", "2:9: memory: 1024 bytes is below Docker's "
		  "floor" },
		{ "memory: ten", "2:9: memory:" },
		{ "affinity: [label=x]", "2:12: affinity[0]:" },
		{ "affinity: label==x", "2:11: affinity: must be a list" },
		{ "timeout: forever", "2:10: timeout:" },
		{ "timeout: 31d", "2:10: timeout: 31d is out of range" },
		{ "retries: -1", "2:10: retries: -1 is out of range (0 to 100)" },
		{ "retries: 2.5", "2:10: retries: must be an integer" },
		{ "backoff: 0", "2:10: backoff: 0 is out of range" },
		{ "parallel: 0", "2:11: parallel: 0 is out of range (1 to 1000)" },
		{ "parallel: 1001", "parallel: 1001 is out of range" },
		{ "priority: 5000", "2:11: priority: 5000 is out of range "
		  "(-1000 to 1000)" },
		{ "labels: [a]", "2:9: labels: must be a mapping" },
		{ "labels: {berth.job: x}", "labels.berth.job: \"berth.job\" is "
		  "berth's own" },
		{ "labels: {Team: x}", "labels.Team: \"Team\" is not a label key" },
		{ "restart: always", "2:1: restart: unknown key \"restart\" in a "
		  "job" },
		{ "image: \"bad image\"", "2:8: image: \"bad image\" is not an "
		  "image reference" },
	};
	char text[256], *e;
	json_t *j;
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (strncmp(bad[i].line, "image:", 6) == 0)
			snprintf(text, sizeof text, "name: ok\n%s\n",
			    bad[i].line);
		else
			snprintf(text, sizeof text, "image: busybox\n%s\n",
			    bad[i].line);
		j = parse(text, &e);
		if (j != NULL || strstr(e, bad[i].want) == NULL)
			printf("  %s -> %s\n", bad[i].line, e);
		CHECK(j == NULL);
		CHECK_HAS(e, bad[i].want);
		free(e);
		json_decref(j);
	}
	/* Several errors: all of them, each at its line. */
	j = parse("image: busybox\nparallel: 0\nretries: x\n", &e);
	CHECK(j == NULL);
	CHECK_HAS(e, "2:11: parallel");
	CHECK_HAS(e, "3:10: retries");
	free(e);
	j = parse("name: x\n", &e);
	CHECK(j == NULL);
	CHECK_HAS(e, "image: image is required");
	free(e);
	j = parse("- a\n- b\n", &e);
	CHECK(j == NULL);
	CHECK_HAS(e, "must be a mapping");
	free(e);
	j = parse("image: [unclosed\n", &e);
	CHECK(j == NULL);
	CHECK_HAS(e, "job.yml:");
	free(e);
	CHECK(job_name_valid("a-1") && !job_name_valid("") &&
	    !job_name_valid("a_b") && !job_name_valid(
	    "a234567890123456789012345678901234567890123456789012345678901234"));
}

int
main(void)
{
	TEST_RUN(test_job_full_yaml);
	TEST_RUN(test_job_defaults_json);
	TEST_RUN(test_job_errors_name_line_and_field);
	return TEST_DONE();
}
