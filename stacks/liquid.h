/*
 * liquid.h - Shopify Liquid templates, as Kontena rendered stack files.
 *
 * Kontena ran the whole text of a stack file through Liquid (the Ruby gem
 * 4.0.x, in strict mode, with strict_variables and strict_filters) before
 * it read the result as YAML, with the resolved stack variables as the
 * template's variables. liquid_render() does the same: the language as
 * Liquid 4.0 defines it (output {{ }} with filters and every standard
 * filter; if/elsif/else, unless, case/when, for with limit, offset,
 * reversed, else and forloop, break/continue, assign, capture, raw,
 * comment, cycle, increment/decrement, ifchanged, tablerow; and/or,
 * comparisons, contains, ranges, .size/.first/.last), with every error
 * carrying the template line. An undefined variable or filter is an error,
 * as Kontena made it. Values are jansson values (null, booleans, integers,
 * reals, strings, arrays, objects); a variable whose value is null is
 * defined (Kontena's LiquidNull).
 *
 * Pure: no I/O, no clock (the date filter's "now" comes from the caller),
 * no globals, so any thread may call it. Hostile templates are bounded:
 * nesting, render steps, output and memory have limits, each an error.
 * docs/stack-file.md ("Liquid") lists where it departs from the gem.
 */
#ifndef BERTH_LIQUID_H
#define BERTH_LIQUID_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define LIQUID_MAX_DEPTH	100		/* nested blocks (the gem's) */
#define LIQUID_MAX_STEPS	1000000		/* nodes and loop iterations */
#define LIQUID_MAX_OUTPUT	(4 * 1024 * 1024) /* bytes rendered */
#define LIQUID_MAX_MEMORY	(64 * 1024 * 1024) /* bytes made by filters,
						   assign and capture */

struct liquid_error {
	int	 line;		/* 1-based template line, 0 if none */
	int	 col;		/* 1-based column of the tag, 0 if none */
	char	*message;	/* "Liquid syntax error: ..." (malloc'd) */
};

struct liquid_output {
	char	*text;		/* the rendered text, NUL-terminated */
	size_t	 len;		/* its length */
	int	*lines;		/* lines[i]: the template line that output
				   line i + 1 comes from */
	size_t	 nlines;	/* entries in lines */
};

struct liquid_opts {
	int64_t	 now;		/* epoch seconds for date's "now", or 0:
				   then "now" is an error */
};

/*
 * Render the template src (len bytes, UTF-8) with vars (an object; may be
 * NULL). 0 and *out filled (release with liquid_output_free()), or -1 and
 * *err filled (release with liquid_error_clear()). opts may be NULL.
 */
int	 liquid_render(const char *src, size_t len, json_t *vars,
	    const struct liquid_opts *opts, struct liquid_output *out,
	    struct liquid_error *err);
void	 liquid_output_free(struct liquid_output *out);
void	 liquid_error_clear(struct liquid_error *err);

/* 1 if src has a Liquid tag ({% or {{) anywhere. */
int	 liquid_has_tags(const char *src, size_t len);

/* Ruby's Float#to_s of d into buf (at least 32 bytes): "0.5", "1.0e+20". */
void	 liquid_float_str(double d, char *buf, size_t len);

#endif
