/*
 * test_netaddr.c - IPv4 prefixes of the grid network (common/netaddr.c),
 * the grid setting's check, and the agent's VTEP MACs and container
 * attachment (agent/netplane.c) without a kernel or an engine.
 */
#include "test.h"

#include "agent/config.h"
#include "agent/netplane.h"
#include "common/grid_settings.h"
#include "common/netaddr.h"

#include <stdlib.h>

#include <jansson.h>

static void
test_parse(void)
{
	struct netaddr_prefix p;
	char *why = NULL, buf[20];

	CHECK(netaddr_parse("10.81.0.0/16", &p, &why) == 0);
	CHECK(p.addr == 0x0a510000u && p.len == 16);
	netaddr_format(&p, buf);
	CHECK_STR(buf, "10.81.0.0/16");
	static const char *bad[] = { "10.81.0.1/16", "10.81.0.0", "10.81.0.0/",
	    "10.81.0.0/33", "10.81.0.0/-1", "10.81.0/16", "x/8", "", "/8",
	    "10.81.0.0/16x", "1.2.3.4.5/8",
	    "10.81.0.0/16aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL };
	for (int i = 0; bad[i] != NULL; i++) {
		why = NULL;
		if (netaddr_parse(bad[i], &p, &why) == 0)
			printf("  accepted %s\n", bad[i]);
		CHECK(why != NULL);
		free(why);
	}
	CHECK(netaddr_parse(NULL, &p, &why) == -1);
	free(why);
}

static void
test_subnets(void)
{
	struct netaddr_prefix p, s, t;
	char *why = NULL, buf[20];

	CHECK(netaddr_parse("10.81.0.0/16", &p, &why) == 0);
	CHECK(netaddr_subnet(&p, 24, 0, &s) == 0);
	netaddr_format(&s, buf);
	CHECK_STR(buf, "10.81.0.0/24");
	CHECK(netaddr_subnet(&p, 24, 255, &s) == 0);
	netaddr_format(&s, buf);
	CHECK_STR(buf, "10.81.255.0/24");
	CHECK(netaddr_subnet(&p, 24, 256, &s) == -1);
	CHECK(netaddr_subnet(&p, 8, 0, &s) == -1);
	CHECK(netaddr_subnet(&p, 24, 7, &s) == 0);
	CHECK(netaddr_overlap(&p, &s));
	CHECK(netaddr_parse("10.82.0.0/24", &t, &why) == 0);
	CHECK(!netaddr_overlap(&p, &t));
	CHECK(!netaddr_overlap(&s, &t));
}

static void
test_setting(void)
{
	struct grid_settings gs;
	char *field = NULL, *cause = NULL;
	json_t *o;

	grid_settings_default(&gs);
	CHECK_STR(gs.network_cidr, "10.81.0.0/16");
	CHECK(gs.network_node_prefix == 24);
	o = json_pack("{s:s}", "network_cidr", "8.8.0.0/16");
	CHECK(settings_apply_json(&grid_settings_table, &gs, o, &field,
	    &cause) == -1);
	CHECK_STR(field, "network_cidr");
	free(field);
	free(cause);
	json_decref(o);
	o = json_pack("{s:s, s:i}", "network_cidr", "172.20.0.0/20",
	    "network_node_prefix", 26);
	CHECK(settings_apply_json(&grid_settings_table, &gs, o, &field,
	    &cause) == 0);
	CHECK_STR(gs.network_cidr, "172.20.0.0/20");
	json_decref(o);
	o = json_pack("{s:i}", "network_node_prefix", 20);
	CHECK(settings_apply_json(&grid_settings_table, &gs, o, &field,
	    &cause) == -1);
	CHECK_STR(field, "network_node_prefix");
	free(field);
	free(cause);
	json_decref(o);
}

static void
test_mac(void)
{
	char mac[18];

	netplane_mac(0x0a510300u, mac);
	CHECK_STR(mac, "02:b5:0a:51:03:00");
}

/*
 * The overlap decision behind "subnet X overlaps the host's route Y dev
 * Z": on routes as `ip -j -4 route show` prints them.
 */
static int
conflict(const char *routes, const char *subnet, char *buf)
{
	struct netaddr_prefix p;
	json_t *r = json_loads(routes, 0, NULL);
	char *why = NULL;
	int rc;

	CHECK(r != NULL);
	CHECK(netaddr_parse(subnet, &p, &why) == 0);
	buf[0] = '\0';
	rc = netplane_route_conflict(r, "bbr810001", "bvx810001", &p, buf, 128);
	json_decref(r);
	return rc;
}

static void
test_route_conflict(void)
{
	char buf[128];
	/* A host as ip(8) shows it: a default route, its LAN, Docker's
	 * bridge, and this grid's own bridge and VXLAN routes. */
	const char *host = "["
	    "{\"dst\":\"default\",\"gateway\":\"192.168.1.1\",\"dev\":\"eth0\"},"
	    "{\"dst\":\"192.168.1.0/24\",\"dev\":\"eth0\"},"
	    "{\"dst\":\"172.17.0.0/16\",\"dev\":\"docker0\"},"
	    "{\"dst\":\"10.81.0.0/24\",\"dev\":\"bbr810001\"},"
	    "{\"dst\":\"10.81.1.0/24\",\"gateway\":\"10.81.1.0\",\"dev\":\"bvx810001\"}]";

	/* Its own bridge and VXLAN routes are not the host's. */
	CHECK_INT(conflict(host, "10.81.0.0/24", buf), 0);
	CHECK_INT(conflict(host, "10.81.1.0/24", buf), 0);
	CHECK_INT(conflict(host, "10.81.0.0/16", buf), 0);
	/* The default route overlaps everything and is never a conflict. */
	CHECK_INT(conflict(host, "10.99.0.0/24", buf), 0);
	/* A subnet inside, around or equal to a host route is. */
	CHECK_INT(conflict(host, "172.17.3.0/24", buf), 1);
	CHECK_STR(buf, "172.17.0.0/16 dev docker0");
	CHECK_INT(conflict(host, "192.168.0.0/16", buf), 1);
	CHECK_STR(buf, "192.168.1.0/24 dev eth0");
	CHECK_INT(conflict(host, "192.168.1.0/24", buf), 1);
	/* A host route without a length is one address. */
	CHECK_INT(conflict("[{\"dst\":\"10.82.0.7\",\"dev\":\"tun0\"}]",
	    "10.82.0.0/24", buf), 1);
	CHECK_STR(buf, "10.82.0.7 dev tun0");
	CHECK_INT(conflict("[{\"dst\":\"10.82.0.7\",\"dev\":\"tun0\"}]",
	    "10.82.1.0/24", buf), 0);
	/* Neighbouring prefixes do not overlap; a half of ours does. */
	CHECK_INT(conflict("[{\"dst\":\"10.82.1.0/24\",\"dev\":\"d\"}]",
	    "10.82.0.0/24", buf), 0);
	CHECK_INT(conflict("[{\"dst\":\"10.82.0.128/25\",\"dev\":\"dum0\"}]",
	    "10.82.0.0/24", buf), 1);
	CHECK_STR(buf, "10.82.0.128/25 dev dum0");
	/* The same route on a device of another grid's name is the host's. */
	CHECK_INT(conflict("[{\"dst\":\"10.82.0.0/24\",\"dev\":\"bbr810002\"}]",
	    "10.82.0.0/24", buf), 1);
	/* Entries ip(8) could print that are not IPv4 prefixes, and no
	 * routes at all, refuse nothing. */
	CHECK_INT(conflict("[{\"dst\":\"blackhole\"},{\"dev\":\"x\"},"
	    "{\"dst\":\"10.82.0.0/99\",\"dev\":\"x\"}]", "10.82.0.0/24", buf), 0);
	CHECK_INT(conflict("[]", "10.82.0.0/24", buf), 0);
	/* No device named: the text still says which route. */
	CHECK_INT(conflict("[{\"dst\":\"10.82.0.0/16\"}]", "10.82.0.0/24",
	    buf), 1);
	CHECK_STR(buf, "10.82.0.0/16 dev ?");
}

/* Which creations join the grid network, and so wait for it. */
static void
test_joins(void)
{
	struct agent_config on = { .network = "on" }, off = { .network = "off" };
	struct netplane *np;

	CHECK_INT(netplane_joins("{\"HostConfig\":{}}"), 1);
	CHECK_INT(netplane_joins("{\"HostConfig\":{\"NetworkMode\":\"bridge\"}}"),
	    1);
	CHECK_INT(netplane_joins("{\"HostConfig\":{\"NetworkMode\":\"default\"}}"),
	    1);
	CHECK_INT(netplane_joins("{\"HostConfig\":{\"NetworkMode\":\"host\"}}"),
	    0);
	CHECK_INT(netplane_joins("{\"HostConfig\":{\"NetworkMode\":"
	    "\"container:web\"}}"), 0);
	CHECK_INT(netplane_joins("{\"HostConfig\":{\"NetworkMode\":\"mine\"}}"),
	    0);
	CHECK_INT(netplane_joins("{}"), 0);
	CHECK_INT(netplane_joins("not json"), 0);
	/* On, before the master's first frame: wait, saying why. Off:
	 * never. */
	np = netplane_new(&on, NULL);
	CHECK_STR(netplane_hold(np), "no peer list from the master yet");
	CHECK(netplane_network(np) == NULL);
	netplane_free(np);
	np = netplane_new(&off, NULL);
	CHECK(netplane_hold(np) == NULL);
	netplane_free(np);
	CHECK(netplane_hold(NULL) == NULL);
}

int
main(void)
{
	TEST_RUN(test_parse);
	TEST_RUN(test_subnets);
	TEST_RUN(test_setting);
	TEST_RUN(test_mac);
	TEST_RUN(test_route_conflict);
	TEST_RUN(test_joins);
	return TEST_DONE();
}
