/*
 * cmd.h - the CLI's tables (every option, every group, every command) and
 * the engine that reads them: cmd.c holds the tables and their lookups,
 * args.c parses a command line against them, help.c prints --help from
 * them. main() is the only caller; single-threaded.
 *
 * The model is tmux's struct cmd_entry (name, alias, argument template and
 * bounds, usage, flags, exec): one row per command drives dispatch, the
 * argument checks and --help, so a new command is one row in cmd_table
 * plus its function, and a new option one row in cmd_options plus its id
 * in enum cli_opt.
 *
 * Long option names are unique across the table, so a long option is
 * understood anywhere on the line. A short letter is unique only within a
 * command (-f is --force for `stack rm`, --follow for `grid events`), so
 * a short option is read against the command's own set, which means it
 * must come after the command's words; before them only the global -h is
 * known. cmd_check() enforces the tables' rules at every start.
 */
#ifndef BERTH_CLI_CMD_H
#define BERTH_CLI_CMD_H

#include "cli/cli.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Option o's bit in a command's accepted set (CMD_OPT(FORCE)). */
#define CMD_OPT(o)	((uint64_t)1 << CLI_OPT_##o)
/* The options every command takes. */
#define CMD_OPTS_GLOBAL	(CMD_OPT(GRID) | CMD_OPT(JSON) | CMD_OPT(HELP) | \
			 CMD_OPT(VERSION))

#define CMD_OPTION_REPEAT	0x1	/* may be given again: every value
					   is kept, in order (--label);
					   otherwise the last one counts */

struct cmd_option {
	const char	*name;		/* long name, without "--" */
	char		 letter;	/* short -x, or 0; two options may share
					   one if no command takes both */
	const char	*value;		/* the value's name in help ("G");
					   NULL: a flag, which takes none */
	int		 flags;		/* CMD_OPTION_* */
	const char	*help;		/* one line, for every command */
};

struct cmd_group {
	const char	*name;		/* the word: "grid" */
	const char	*alias;		/* another word for it ("grids"), or NULL */
	const char	*title;		/* its heading in `berth --help` */
	const char	*dflt;		/* verb run when none is given, or NULL
					   (then the group's help, exit 2) */
};

struct cmd_entry {
	const char	*group;		/* a cmd_groups name; or, with verb NULL,
					   a command of one word ("version") */
	const char	*verb;		/* "ls", or NULL (see group) */
	const char	*alias;		/* another verb for it ("list"), or NULL */
	const char	*usage;		/* what follows "berth GROUP VERB" */
	const char	*help;		/* one line for the listings */
	int		 lower;		/* positional words: at least lower, */
	int		 upper;		/*   at most upper (-1: no limit) */
	int		 stop;		/* options end after this many positional
					   words, the rest being the command's
					   own (`job run IMAGE CMD...`: 1);
					   0: options anywhere. "--" always
					   ends them */
	uint64_t	 opts;		/* CMD_OPT() bits beyond CMD_OPTS_GLOBAL */
	const char	*opt_help[CLI_OPT__COUNT]; /* this command's help line
					   for an option, when the shared one
					   says too little (--name) */
	int		(*exec)(struct cli *);	/* runs it; the exit status */
	void		(*help_more)(FILE *);	/* prints more --help after the
					   options (grid set's settings), or
					   NULL */
};

/* cmd.c: the tables. cmd_options is indexed by enum cli_opt. */
extern const struct cmd_option	cmd_options[CLI_OPT__COUNT];
extern const struct cmd_group	cmd_groups[];
extern const size_t		cmd_ngroups;
extern const struct cmd_entry	cmd_table[];
extern const size_t		cmd_ntable;

/* The group a word names (by name or alias), or NULL. */
const struct cmd_group *cmd_find_group(const char *word);
/* The command of one word (verb NULL), or NULL. */
const struct cmd_entry *cmd_find_word(const char *word);
/* Group g's command verb (by verb or alias), or NULL. */
const struct cmd_entry *cmd_find_verb(const struct cmd_group *g,
	    const char *verb);
/* The options e takes: CMD_OPTS_GLOBAL and its own. */
uint64_t cmd_accepts(const struct cmd_entry *e);
/* "grid ls" or "version" into buf. */
const char *cmd_name(const struct cmd_entry *e, char *buf, size_t len);
/* Abort with a message if a table breaks its rules (see cmd.c). */
void	 cmd_check(void);

/*
 * args.c: parse argv into c. 0, or -1 with *cause; when the words named a
 * group but no verb of it, *show is that group, whose help should follow
 * the reason. After 0, c->cmd is the command to run, or NULL when only a
 * group (c->group) or nothing was named: then it is help that was asked
 * for, or missing. args_free() frees what c holds (not c).
 */
int	 args_parse(struct cli *c, int argc, char **argv,
	    const struct cmd_group **show, char **cause);
void	 args_free(struct cli *c);

/* help.c: --help from the tables. */
void	 help_all(FILE *f);
void	 help_group(FILE *f, const struct cmd_group *g);
void	 help_command(FILE *f, const struct cmd_entry *e);
/*
 * "  LEFT  text" with LEFT padded to width and text wrapped under itself:
 * for help_more hooks, so that their lines look like the options'.
 */
void	 help_item(FILE *f, int width, const char *left, const char *text);

#endif
