/*
 * fuzz_stack.c - libFuzzer target for stack_parse().
 *
 * Feeds arbitrary bytes to the stack parser with an environment and a file
 * reader that answer every name, so the variable and env_file paths run
 * too. Success and failure are both fine; crashes, leaks, sanitizer
 * reports and hangs are not. Errors are formatted to exercise that code.
 *
 * Build with clang -fsanitize=fuzzer,address,undefined from this file,
 * every .c of stacks/ and common/, and pkg-config's yaml-0.1, jansson and
 * libcrypto; run it on the seeds in tests/fuzz/corpus/stack/.
 */
#include "stacks/stack.h"
#include "common/xmalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int
fuzz_getenv(void *arg, const char *name, char **value)
{
	(void)arg;
	if (name[0] == 'X')
		return 0;
	if (name[0] == 'N')
		return STACK_NEED;
	*value = xstrdup("fuzz-value");
	return 1;
}

static int
fuzz_read_file(void *arg, const char *path, enum stack_file_base base,
    char **data, size_t *len, char **cause)
{
	(void)arg;
	(void)base;
	if (path[0] == 'x') {
		*cause = xstrdup("no such file");
		return -1;
	}
	*data = xstrdup("A=1\nB=2\n# c\n");
	*len = strlen(*data);
	return 0;
}

static int
fuzz_service_find(void *arg, const char *stack, const char *service,
    json_t **info)
{
	(void)arg;
	(void)service;
	if (stack[0] == 'x')
		return -1;
	*info = json_pack("{s:s, s:i}", "image", "img", "instances", 2);
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stack_host host = { .getenv = fuzz_getenv,
	    .read_file = fuzz_read_file, .service_find = fuzz_service_find };
	struct stack_opts opts = { .grid = "fuzz", .host = &host };
	struct stack_result res = { NULL, NULL, NULL };
	struct stack_errors errs = { NULL, 0 };
	json_t *st;
	char *s;

	st = stack_parse_ex((const char *)data, size, "fuzz.yml", &opts, &errs,
	    &res);
	if (res.needs != NULL) {
		if (st != NULL || errs.n != 0)
			abort();
	} else if (st != NULL) {
		if (errs.n != 0)
			abort();
		s = json_dumps(st, JSON_COMPACT);
		free(s);
		json_decref(st);
	} else {
		if (errs.n == 0)
			abort();
		s = stack_errors_format(&errs);
		free(s);
	}
	stack_errors_clear(&errs);
	stack_result_clear(&res);
	return 0;
}
