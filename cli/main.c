/*
 * main.c - `berth`, the operator CLI: option parsing and dispatch.
 *
 * Options may appear anywhere after the command; the first word picks the
 * command group (grid, node, stack, service), which gets the rest.
 */
#include "cli/cli.h"

#include "common/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

static const char cli_usage_text[] =
"usage: berth <command> [options]\n"
"\n"
"Drives a berth master over its REST API.\n"
"\n"
"Grids:\n"
"  grid ls                          list grids\n"
"  grid show G                      show a grid and its settings\n"
"  grid create G                    create a grid (prints its token)\n"
"  grid set G key=value ...         change settings (heartbeat_interval_s,\n"
"                                   offline_after_s, ephemeral_removal_s,\n"
"                                   ha_grace_s, random_grace_s, dry_run)\n"
"  grid rm G                        remove an empty grid\n"
"  grid token G [--rotate]          print (or rotate) the grid token\n"
"  grid cloud-config G [--label k=v ...]   print a #cloud-config for nodes\n"
"  grid events G [--follow]         show the event log\n"
"Nodes:\n"
"  node ls                          list nodes of the grid\n"
"  node show N                      show a node\n"
"  node label N k=v ... [k-]        set (or with k- remove) labels\n"
"  node rm N                        remove a node from the grid\n"
"Stacks:\n"
"  stack install FILE [--name S]    install a stack file and deploy it\n"
"  stack upgrade S FILE             upgrade a stack and deploy it\n"
"  stack ls                         list stacks\n"
"  stack show S                     show a stack and its services\n"
"  stack rm [--force] S             remove a stack and its containers\n"
"Services:\n"
"  service ls                       list services\n"
"  service show STACK/SVC           show a service\n"
"  service scale STACK/SVC N        set the number of instances\n"
"  service containers STACK/SVC     list a service's containers\n"
"\n"
"Options:\n"
"  --grid G     the grid (default: default)\n"
"  --json       print JSON instead of a table\n"
"  --help       this text\n"
"\n"
"Environment: BERTH_MASTER (default http://127.0.0.1:9292), BERTH_TOKEN\n"
"(operator token; default: the contents of ./data/operator.token).\n";

static int
cli_usage(FILE *f, int status)
{
	fputs(cli_usage_text, f);
	return status;
}

int
main(int argc, char **argv)
{
	static const struct {
		const char	*name;		/* command group */
		int		(*fn)(struct cli *);
	} groups[] = {
		{ "grid", cmd_grid }, { "grids", cmd_grid },
		{ "node", cmd_node }, { "nodes", cmd_node },
		{ "stack", cmd_stack }, { "stacks", cmd_stack },
		{ "service", cmd_service }, { "services", cmd_service },
	};
	struct cli c;
	const char *a, *env;
	size_t i;
	int k, rc;

	memset(&c, 0, sizeof c);
	c.grid = "default";
	if ((env = getenv("BERTH_GRID")) != NULL && *env != '\0')
		c.grid = env;
	c.args = xcalloc((size_t)argc + 1, sizeof *c.args);
	c.labels = xcalloc((size_t)argc + 1, sizeof *c.labels);
	rc = -1;
	for (k = 1; k < argc && rc < 0; k++) {
		a = argv[k];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0 ||
		    strcmp(a, "help") == 0)
			rc = cli_usage(stdout, 0);
		else if (strcmp(a, "--version") == 0) {
			printf("berth 0.1.0\n");
			rc = 0;
		} else if (strcmp(a, "--json") == 0)
			c.json = 1;
		else if (strcmp(a, "--force") == 0 || strcmp(a, "-f") == 0)
			c.force = 1;
		else if (strcmp(a, "--follow") == 0)
			c.follow = 1;
		else if (strcmp(a, "--rotate") == 0)
			c.rotate = 1;
		else if (strcmp(a, "--grid") == 0 || strcmp(a, "--name") == 0 ||
		    strcmp(a, "--label") == 0) {
			if (k + 1 >= argc)
				rc = cli_fail("%s needs a value", a);
			else if (a[2] == 'g')
				c.grid = argv[++k];
			else if (a[2] == 'n')
				c.name = argv[++k];
			else
				c.labels[c.n_labels++] = argv[++k];
		} else if (strncmp(a, "--grid=", 7) == 0)
			c.grid = a + 7;
		else if (strncmp(a, "--name=", 7) == 0)
			c.name = a + 7;
		else if (strncmp(a, "--label=", 8) == 0)
			c.labels[c.n_labels++] = a + 8;
		else if (a[0] == '-' && a[1] != '\0')
			rc = cli_fail("unknown option %s (see berth --help)", a);
		else
			c.args[c.nargs++] = argv[k];
	}
	if (rc >= 0)
		goto out;
	if (c.nargs == 0) {
		rc = cli_usage(stderr, 2);
		goto out;
	}
	for (i = 0; i < sizeof groups / sizeof groups[0]; i++) {
		if (strcmp(groups[i].name, c.args[0]) == 0)
			break;
	}
	if (i == sizeof groups / sizeof groups[0]) {
		rc = cli_fail("unknown command \"%s\" (see berth --help)",
		    c.args[0]);
		goto out;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	c.args++;
	c.nargs--;
	rc = groups[i].fn(&c);
	c.args--;
	curl_global_cleanup();
out:
	free(c.args);
	free(c.labels);
	return rc;
}
