/*
 * spec.h - one wanted container, parsed from a desired frame.
 *
 * The desired frame comes from the network: spec_parse_desired() validates
 * every field at the edge and turns each entry into the Docker create body
 * it will need, so nothing deeper re-reads untrusted JSON.
 */
#ifndef BERTH_AGENT_SPEC_H
#define BERTH_AGENT_SPEC_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "agent/health.h"
#include "agent/hooks.h"

struct spec {
	char		*name;		/* Docker container name */
	int64_t		 service_id;	/* with instance: the identity */
	int64_t		 instance;	/* instance number, >= 1 */
	int64_t		 rev;		/* service revision; change = replace */
	char		*image;		/* image reference */
	int		 stop_grace;	/* seconds between SIGTERM and SIGKILL */
	int		 wait_for_port;	/* "running" once it answers; 0 none */
	int		 stopped;	/* the service is stopped: keep the
					   container, stopped (no create) */
	int		 settle_s;	/* "running" once up this long (the
					   grid's instance_settle_s); 0 at once */
	struct health_spec health;	/* health_check; port 0: none */
	struct hook	*hooks;		/* this instance's hooks (hooks.h) */
	size_t		 nhooks;
	char		*body;		/* POST /containers/create JSON */
};

/*
 * Parse a desired frame. On success *specs holds the valid entries (bad
 * ones are logged and skipped: one broken service must not stop the
 * others) and *generation the frame's generation. -1 with *cause when the
 * frame itself is unusable.
 */
int	 spec_parse_desired(const char *text, const char *node_id,
	    struct spec **specs, size_t *nspecs, int64_t *generation,
	    char **cause);
/* Parse one entry (a JSON object as text); for tests. */
int	 spec_parse_one(const char *text, const char *node_id, struct spec *s,
	    char **cause);
void	 spec_free_array(struct spec *specs, size_t n);
void	 spec_clear(struct spec *s);

/* Shared with the job runner (jobrun.c): the same checks for its entries. */
/* An image reference as the agent accepts one. */
int	 spec_image_valid(const char *s);
/* e[key]: a string array (or null/absent) copied into *out; -1 with *cause. */
int	 spec_strings(json_t *e, const char *key, json_t **out, char **cause);

#endif
