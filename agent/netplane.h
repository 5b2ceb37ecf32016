/*
 * netplane.h - the grid network's data plane on this node (docs/network.md).
 *
 * The master's "network" frame names the grid's overlay prefix, its VXLAN
 * id and every node's subnet and underlay address. netplane_apply() makes
 * this node match it with the kernel's and Docker's own machinery:
 *
 *   - a Docker bridge network "berth-<grid>" whose IPAM subnet is this
 *     node's subnet (gateway .1, MTU the underlay's less 50);
 *   - a VXLAN device (one VNI per grid, UDP 4789, no learning) holding
 *     x.y.z.0/32 of this node's subnet, with, for every other node, a
 *     route to its subnet via its x.y.z.0 (onlink), a permanent neighbour
 *     entry giving that address the peer's VTEP MAC (made from its subnet)
 *     and a forwarding entry sending that MAC to the peer's underlay
 *     address. Entries of nodes no longer in the frame are deleted.
 *
 * Links, routes and neighbours are driven through ip(8) and bridge(8) with
 * their JSON output read back, so what is there is compared with what is
 * wanted rather than remembered. Converge thread only.
 */
#ifndef BERTH_AGENT_NETPLANE_H
#define BERTH_AGENT_NETPLANE_H

#include "agent/config.h"
#include "agent/docker.h"
#include "common/netaddr.h"

#include <jansson.h>
#include <stddef.h>

struct netplane;

struct netplane *netplane_new(const struct agent_config *cfg,
	    struct docker *docker);
void	 netplane_free(struct netplane *np);

/* The underlay address this session detected or was given ("" none). */
void	 netplane_set_address(struct netplane *np, const char *addr);
/*
 * A "network" frame (text), or NULL to check the last one again: bring the
 * node to it. node_id is ours. Errors are logged (once per change).
 */
void	 netplane_apply(struct netplane *np, const char *text,
	    const char *node_id);
/*
 * The Docker network service containers join, or NULL while there is none
 * (BERTH_NETWORK=off, no frame yet, or it failed).
 */
const char *netplane_network(const struct netplane *np);
/*
 * Why a container that joins the grid network must not be created yet, or
 * NULL when it may be. The network is on, but not in place: no frame has
 * come from the master, or the last attempt failed in a way the next may
 * not (the engine failed or timed out). Made now, such a container would
 * sit on Docker's default bridge until it is re-created. When the network
 * will not come for this frame (no subnet, a route conflict, the engine
 * refused it), containers go on the default bridge: NULL.
 */
const char *netplane_hold(const struct netplane *np);
/*
 * Whether a container create body joins the grid network (when it is on):
 * its NetworkMode is unset, "bridge" or "default".
 */
int	 netplane_joins(const char *body);
/* The network's gateway address (the node's DNS server): 0, or -1. */
int	 netplane_gateway(const struct netplane *np, char out[16]);
/* The grid's domain ("GRID.berth.local"), "" before the first frame. */
const char *netplane_domain(const struct netplane *np);

/*
 * A container create body with the grid network put in: NetworkMode set
 * when the spec left it unset or "bridge" (host, none, container:... and
 * named networks are left alone). A new string, or NULL when body stays.
 */
char	*netplane_attach(const struct netplane *np, const char *body);

/*
 * Whether a host route overlaps p (pure): routes is `ip -j -4 route show`
 * output (an array of objects with "dst" and "dev"; a "dst" without a
 * length is a /32). Routes "default" and those on own_bridge or own_vxlan
 * (this grid's bridge and VXLAN device, NULL for none) are not the
 * host's. 1 with the first such route as "DST dev DEV" in buf, else 0.
 */
int	 netplane_route_conflict(json_t *routes, const char *own_bridge,
	    const char *own_vxlan, const struct netaddr_prefix *p, char *buf,
	    size_t len);

/* The VTEP MAC of a subnet: 02:b5 and its four address bytes. */
void	 netplane_mac(uint32_t subnet_addr, char out[18]);

#endif
