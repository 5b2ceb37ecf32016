/*
 * table.h - aligned text tables for the CLI's list commands.
 *
 *	struct table *t = table_new("NAME", "STATUS", NULL);
 *	table_row(t, "node-1", "online", NULL);
 *	table_print(t, stdout);
 *	table_free(t);
 */
#ifndef BERTH_CLI_TABLE_H
#define BERTH_CLI_TABLE_H

#include <stdio.h>

struct table;

struct table	*table_new(const char *first, ...);	/* NULL-ended */
void		 table_row(struct table *t, const char *first, ...);
void		 table_print(struct table *t, FILE *f);
void		 table_free(struct table *t);		/* NULL is a no-op */

#endif
