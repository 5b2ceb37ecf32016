/*
 * stack_input.h - the envelope `berth stack install|upgrade|validate`
 * send with a stack file, and the master's questions answered (see
 * stack_input.c).
 */
#ifndef BERTH_CLI_STACK_INPUT_H
#define BERTH_CLI_STACK_INPUT_H

#include "cli/cli.h"

#include <jansson.h>
#include <stddef.h>

struct stack_input {
	const char	*file;		/* the stack file, as given */
	char		*src;		/* its text */
	size_t		 len;
	json_t		*env;		/* NAME -> value or null */
	json_t		*files;		/* path -> content or {error} */
	json_t		*answers;	/* variable -> answer */
	json_t		*values;	/* -v and --values-from */
	int		 interactive;	/* stdin and stderr are terminals */
};

/* Read file and the -v / --values-from values. 0, or 1 after saying why. */
int	 stack_input_load(struct cli *c, const char *file,
	    struct stack_input *in);
void	 stack_input_free(struct stack_input *in);
/* The envelope as it stands (name: --name, or NULL). */
json_t	*stack_input_envelope(struct stack_input *in, const char *name);
/*
 * Send the envelope to METHOD path, answering what the master asks for
 * until it takes or refuses the stack: 0 and *reply (a 2xx's JSON);
 * 1 when the stack was refused (its errors printed, *cause the summary
 * line); -1 with *cause for any other failure.
 */
int	 stack_input_send(struct stack_input *in, const char *method,
	    const char *path, const char *name, json_t **reply, char **cause);
/* Print warnings (from a reply) on stderr as FILE:line:col: warning: ... */
void	 stack_input_warnings(struct stack_input *in, json_t *warnings);

#endif
