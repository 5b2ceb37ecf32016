/*
 * test.h - the unit test harness: a handful of macros, no framework.
 *
 * A test file defines functions and lists them in main() with TEST_RUN().
 * Each check that fails prints "  FAIL file:line: expr" and marks the
 * current test failed; each test prints one "ok - name" or "not ok - name"
 * line, which tests/run.sh counts. main() returns TEST_DONE().
 *
 *	static void test_parse_ok(void) { CHECK(x == 1); CHECK_STR(a, "b"); }
 *	int main(void) { TEST_RUN(test_parse_ok); return TEST_DONE(); }
 */
#ifndef BERTH_TEST_H
#define BERTH_TEST_H

#include <stdio.h>
#include <string.h>

static int test_failed_now;	/* the running test has failed a check */
static int test_n_pass, test_n_fail;

#define CHECK(expr) do {						\
	if (!(expr)) {							\
		printf("  FAIL %s:%d: %s\n", __FILE__, __LINE__, #expr);\
		test_failed_now = 1;					\
	}								\
} while (0)

#define CHECK_STR(a, b) do {						\
	const char *check_a_ = (a), *check_b_ = (b);			\
	if (check_a_ == NULL || check_b_ == NULL ||			\
	    strcmp(check_a_, check_b_) != 0) {				\
		printf("  FAIL %s:%d: %s == %s (\"%s\" vs \"%s\")\n",	\
		    __FILE__, __LINE__, #a, #b,				\
		    check_a_ ? check_a_ : "(null)",			\
		    check_b_ ? check_b_ : "(null)");			\
		test_failed_now = 1;					\
	}								\
} while (0)

#define CHECK_INT(a, b) do {						\
	long long check_a_ = (long long)(a), check_b_ = (long long)(b);	\
	if (check_a_ != check_b_) {					\
		printf("  FAIL %s:%d: %s == %s (%lld vs %lld)\n",	\
		    __FILE__, __LINE__, #a, #b, check_a_, check_b_);	\
		test_failed_now = 1;					\
	}								\
} while (0)

/* Substring check: haystack contains needle. */
#define CHECK_HAS(hay, needle) do {					\
	const char *check_h_ = (hay), *check_n_ = (needle);		\
	if (check_h_ == NULL || strstr(check_h_, check_n_) == NULL) {	\
		printf("  FAIL %s:%d: \"%s\" does not contain \"%s\"\n",\
		    __FILE__, __LINE__, check_h_ ? check_h_ : "(null)",	\
		    check_n_);						\
		test_failed_now = 1;					\
	}								\
} while (0)

#define TEST_RUN(fn) do {						\
	test_failed_now = 0;						\
	fn();								\
	if (test_failed_now) {						\
		test_n_fail++;						\
		printf("not ok - %s\n", #fn);				\
	} else {							\
		test_n_pass++;						\
		printf("ok - %s\n", #fn);				\
	}								\
	fflush(stdout);							\
} while (0)

#define TEST_DONE() (test_n_fail == 0 ? 0 : 1)

#endif
