/*
 * table.c - collect rows of strings, then print them in aligned columns
 * separated by two spaces (the last column is not padded).
 */
#include "cli/table.h"

#include "common/xmalloc.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct table {
	size_t	 ncols;		/* columns */
	size_t	 nrows;		/* rows, the header included */
	char	**cells;	/* nrows * ncols strings (owned) */
	size_t	*width;		/* widest cell of each column */
};

static void
table_add(struct table *t, const char *first, va_list ap)
{
	const char *cell = first;
	size_t i, w;

	t->cells = xreallocarray(t->cells, (t->nrows + 1) * t->ncols,
	    sizeof *t->cells);
	for (i = 0; i < t->ncols; i++) {
		if (cell == NULL)
			cell = "";
		t->cells[t->nrows * t->ncols + i] = xstrdup(cell);
		w = strlen(cell);
		if (w > t->width[i])
			t->width[i] = w;
		cell = i + 1 < t->ncols ? va_arg(ap, const char *) : NULL;
	}
	t->nrows++;
}

struct table *
table_new(const char *first, ...)
{
	struct table *t = xcalloc(1, sizeof *t);
	va_list ap;

	va_start(ap, first);
	for (t->ncols = 1; va_arg(ap, const char *) != NULL; t->ncols++)
		;
	va_end(ap);
	t->width = xcalloc(t->ncols, sizeof *t->width);
	va_start(ap, first);
	table_add(t, first, ap);
	va_end(ap);
	return t;
}

void
table_row(struct table *t, const char *first, ...)
{
	va_list ap;

	va_start(ap, first);
	table_add(t, first, ap);
	va_end(ap);
}

void
table_print(struct table *t, FILE *f)
{
	size_t r, c;
	const char *cell;

	for (r = 0; r < t->nrows; r++) {
		for (c = 0; c < t->ncols; c++) {
			cell = t->cells[r * t->ncols + c];
			if (c + 1 == t->ncols)
				fprintf(f, "%s\n", cell);
			else
				fprintf(f, "%-*s  ", (int)t->width[c], cell);
		}
	}
}

void
table_free(struct table *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->width);
	free(t);
}
