/*
 * main.c - `berth`, the operator CLI: parse the words against the command
 * table (args.c, cmd.c), then print help or run the command.
 *
 * Exit status: the command's (0 on success, 1 with a one-line reason on
 * stderr); 1 for a command line the table refuses; 2 when no command was
 * named (the help goes to stderr then); 0 for --help and --version.
 */
#include "cli/cmd.h"

#include <stdio.h>

#include <curl/curl.h>

int
main(int argc, char **argv)
{
	const struct cmd_group *show;
	struct cli c;
	char *cause;
	int rc;

	cmd_check();
	if (args_parse(&c, argc, argv, &show, &cause) != 0) {
		rc = cli_fail_cause(cause);
		if (show != NULL) {	/* an unknown verb: say what there is */
			fputc('\n', stderr);
			help_group(stderr, show);
		}
	} else if (cli_flag(&c, CLI_OPT_VERSION))
		rc = cmd_version(&c);
	else if (cli_flag(&c, CLI_OPT_HELP)) {
		if (c.cmd != NULL)
			help_command(stdout, c.cmd);
		else if (c.group != NULL)
			help_group(stdout, c.group);
		else
			help_all(stdout);
		rc = 0;
	} else if (c.cmd == NULL) {
		if (c.group != NULL)
			help_group(stderr, c.group);
		else
			help_all(stderr);
		rc = 2;
	} else {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		rc = c.cmd->exec(&c);
		curl_global_cleanup();
	}
	args_free(&c);
	return rc;
}
