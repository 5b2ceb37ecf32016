/*
 * grid.h - grid life cycle shared by start-up and the API: create with a
 * fresh token, show the token, rotate it, keep the token files in step.
 */
#ifndef BERTH_GRID_H
#define BERTH_GRID_H

#include "master/master.h"

/*
 * Create grid name with a new token (copied to token_out). 0, 1 if the
 * name exists, -1 on a store error. Writes the grid.create event.
 */
int	 grid_create(struct master *m, struct store *st, const char *name,
	    const struct grid_settings *gs, struct grid *out,
	    char token_out[TOKEN_LEN + 1]);
/* The grid's current token. 0 or -1. */
int	 grid_token_get(struct master *m, struct store *st, int64_t grid_id,
	    char out[TOKEN_LEN + 1]);
/* Replace the grid's token; rewrite <data-dir>/grid-<name>.token if it
 * exists. 0 or -1. */
int	 grid_token_rotate(struct master *m, struct store *st,
	    const struct grid *g, char out[TOKEN_LEN + 1]);
/* Write <data-dir>/grid-<name>.token (0600). 0 or -1 (logged). */
int	 grid_token_file_write(struct master *m, const char *name,
	    const char *token);
void	 grid_token_file_remove(struct master *m, const char *name);
/*
 * A node group's join token (its nodes boot with it: `berth grid
 * cloud-config --group`), minted and sealed the first time it is asked
 * for. 0 or -1.
 */
int	 nodegroup_token_get(struct master *m, struct store *st,
	    int64_t group_id, char out[TOKEN_LEN + 1]);

/*
 * Start-up: seal every secret setting a store written before secrets
 * were sealed still holds in clear, with secure_delete on so the old
 * text is overwritten. 0, or -1 (a store error, logged).
 */
int	 grid_seal_secrets(struct store *st);

#endif
