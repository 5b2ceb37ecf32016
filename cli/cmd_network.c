/*
 * cmd_network.c - berth network ls | show (docs/network.md).
 */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/table.h"

#include "common/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>

int
cmd_network_ls(struct cli *c)
{
	char *path = cli_path("grids/%s/networks", c->grid), vni[24], nodes[24];
	struct table *t;
	json_t *arr, *v;
	size_t i;
	int rc;

	if ((rc = cli_get(c, path, &arr)) != 0)
		return rc < 0;
	t = table_new("NAME", "CIDR", "NODE SUBNETS", "VNI", "DOMAIN", "NODES",
	    NULL);
	json_array_foreach(arr, i, v) {
		char pfx[24];

		snprintf(pfx, sizeof pfx, "/%lld", (long long)
		    json_integer_value(json_object_get(v, "node_prefix")));
		snprintf(nodes, sizeof nodes, "%zu", json_array_size(
		    json_object_get(v, "nodes")));
		table_row(t, cli_str(v, "name"), cli_str(v, "cidr"), pfx,
		    cli_int(v, "vni", vni, sizeof vni), cli_str(v, "domain"),
		    nodes, NULL);
	}
	table_print(t, stdout);
	table_free(t);
	json_decref(arr);
	return 0;
}

int
cmd_network_show(struct cli *c)
{
	char *path = cli_path("networks/%s/%s", c->grid, c->args[0]), buf[32];
	struct table *t;
	json_t *o, *p;
	size_t i;
	int rc;

	if ((rc = cli_get(c, path, &o)) != 0)
		return rc < 0;
	printf("name:         %s\n", cli_str(o, "name"));
	printf("grid:         %s\n", cli_str(o, "grid"));
	printf("cidr:         %s\n", cli_str(o, "cidr"));
	printf("node subnets: /%s\n", cli_int(o, "node_prefix", buf,
	    sizeof buf));
	printf("vxlan id:     %s\n", cli_int(o, "vni", buf, sizeof buf));
	printf("domain:       %s\n", cli_str(o, "domain"));
	printf("nodes:\n");
	t = table_new("  NODE", "ADDRESS", "SUBNET", NULL);
	json_array_foreach(json_object_get(o, "nodes"), i, p) {
		char name[80];

		snprintf(name, sizeof name, "  %s", cli_str(p, "name"));
		table_row(t, name, cli_str(p, "address"), cli_str(p, "subnet"),
		    NULL);
	}
	table_print(t, stdout);
	table_free(t);
	json_decref(o);
	return 0;
}
