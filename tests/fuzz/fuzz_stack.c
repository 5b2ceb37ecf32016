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

static const char *
fuzz_getenv(void *arg, const char *name)
{
	(void)arg;
	return name[0] == 'X' ? NULL : "fuzz-value";
}

static char *
fuzz_read_file(void *arg, const char *path, char **cause)
{
	(void)arg;
	if (path[0] == 'x') {
		*cause = xstrdup("no such file");
		return NULL;
	}
	return xstrdup("A=1\nB=2\n# c\n");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stack_opts opts = { "fuzz", NULL, fuzz_getenv, fuzz_read_file,
	    NULL };
	struct stack_errors errs = { NULL, 0 };
	json_t *st;
	char *s;

	st = stack_parse((const char *)data, size, "fuzz.yml", &opts, &errs);
	if (st != NULL) {
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
	return 0;
}
