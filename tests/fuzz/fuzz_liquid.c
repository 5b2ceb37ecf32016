/*
 * fuzz_liquid.c - libFuzzer target for liquid_render() (stacks/liquid.c).
 *
 * Feeds arbitrary bytes as a template (the engine runs on the raw text of
 * a stack file, before YAML) with variables of every type, as a stack's
 * resolved variables would be. Success and failure are both fine; a
 * crash, a leak, a sanitizer report, a hang or a render that ignores its
 * limits is not: the output must stay within LIQUID_MAX_OUTPUT and every
 * output line must map to a template line.
 *
 * Build with clang -fsanitize=fuzzer,address,undefined (make fuzz does);
 * run it on the seeds in tests/fuzz/corpus/liquid/.
 */
#include "stacks/liquid.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static json_t *vars;
	struct liquid_output out;
	struct liquid_error err;
	struct liquid_opts o = { 1517400000 };
	int lines = 1;
	size_t i;

	if (vars == NULL)
		vars = json_pack("{s:s, s:i, s:f, s:b, s:n, s:[s,s,i], "
		    "s:{s:s, s:[i,i]}, s:[], s:s, s:s}", "s", "str", "n", 3,
		    "f", 1.5, "t", 1, "z", "a", "x", "y", 2, "h", "k", "v",
		    "l", 1, 2, "e", "GRID", "default", "STACK", "app");
	if (liquid_render((const char *)data, size, vars, &o, &out, &err) ==
	    0) {
		if (out.len > LIQUID_MAX_OUTPUT || out.text[out.len] != '\0')
			abort();
		for (i = 0; i < out.len; i++)
			lines += out.text[i] == '\n';
		if (out.nlines < (size_t)lines - 1 || out.nlines == 0)
			abort();
		for (i = 0; i < out.nlines; i++) {
			if (out.lines[i] < 1)
				abort();
		}
		liquid_output_free(&out);
	} else {
		if (err.message == NULL)
			abort();
		liquid_error_clear(&err);
	}
	return 0;
}
