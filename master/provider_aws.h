/*
 * provider_aws.h - the aws-asg machine provider of node groups, on top of
 * the Auto Scaling client (master/aws_asg.h); docs/autoscaling.md, "The
 * aws-asg provider".
 *
 * A node group maps to one Auto Scaling group (one per AZ is best: a
 * decrement then never makes AWS rebalance, and the AZ is the group's).
 * Each call is blocking network I/O: the provider worker thread makes
 * them, never the scheduler thread, and one struct provider_aws is used by
 * one thread at a time.
 *
 * How the wiring uses it (the rules that keep AWS from choosing victims
 * and make a master crash harmless):
 *   - launch: provider_aws_grow_to(total) with the number of machines the
 *     group should have (rows requested, launching, joined, draining):
 *     setting an absolute target twice is harmless, so a master killed
 *     between the call and its commit launches nothing twice. It never
 *     lowers the desired capacity.
 *   - join: an agent presents the group token and its instance id
 *     (BERTH_PROVIDER_ID); provider_aws_join() checks the id is an
 *     instance of the group, live (Pending or InService), protects it
 *     from scale-in and returns its AZ (the node's `az` label).
 *     provider_aws_find() is the same check on a list already read.
 *   - delete: provider_aws_delete(id) terminates exactly that instance
 *     and decrements the desired capacity; an instance already gone is
 *     success (the call may be repeated after a restart).
 *   - list: provider_aws_list(); instances no machine row claims, not
 *     joined within the provision timeout, are orphans to delete by name.
 *   - backoff: provider_aws_failed_since(launch time) says whether AWS
 *     recorded a Failed (or Cancelled) launch since: the group backs off.
 */
#ifndef BERTH_PROVIDER_AWS_H
#define BERTH_PROVIDER_AWS_H

#include <stddef.h>
#include <stdint.h>

#include "master/aws_asg.h"

/* A group's aws-asg settings; the secret is never one of them. */
struct provider_aws_config {
	const char	*asg_name;	/* the Auto Scaling group */
	const char	*region;	/* its region */
	const char	*endpoint;	/* NULL or "": AWS's; http://127.0.0.1:N
					   for the test fake */
	const char	*credentials_file; /* NULL or "": the master's
					   environment (AWS_ACCESS_KEY_ID...) */
	const char	*profile;	/* NULL or "": AWS_PROFILE or default */
	long		 timeout_ms;	/* per HTTP exchange, 0: 20 s */
	int		 max_retries;	/* on Throttling, 0: 5 */
	long		 retry_base_ms;	/* 0: 200 ms */
	long		 deadline_ms;	/* a call with its retries, 0: 60 s */
};

struct provider_aws;

/*
 * Check a group's aws-asg settings without a call (the API's 422): err
 * is called once per bad field (asg_name, region, endpoint,
 * credentials_file, profile) with a message; returns how many.
 */
int	 provider_aws_config_check(const struct provider_aws_config *cfg,
	    void (*err)(void *arg, const char *field, const char *msg),
	    void *arg);

struct provider_aws *provider_aws_new(const struct provider_aws_config *cfg,
		    char **cause);
void		 provider_aws_free(struct provider_aws *p);
/* The client underneath (stats, last AWS code). */
struct aws_asg	*provider_aws_client(struct provider_aws *p);

/*
 * Raise the desired capacity to total (never lower it): 0 with *added the
 * instances asked for now (0 when it already was there or above), or -1
 * with *cause (above MaxSize names it, Launch suspended...).
 */
int	 provider_aws_grow_to(struct provider_aws *p, int64_t total,
	    int64_t *added, char **cause);
/* Launch n more: grow the desired capacity by n (not crash-idempotent). */
int	 provider_aws_launch(struct provider_aws *p, int64_t n, char **cause);

/* The group: sizes and instances. */
int	 provider_aws_list(struct provider_aws *p, struct aws_asg_group *out,
	    char **cause);

/* The live instance id in g, or NULL: the join check on a list. */
const struct aws_asg_instance *provider_aws_find(const struct aws_asg_group *g,
	    const char *id);

/*
 * A joining agent's instance id: 0 when it is a live instance of the
 * group, now protected from scale-in, with its AZ in az; -1 with *cause
 * when it is not one (the agent must then wait for approval) or a call
 * failed.
 */
int	 provider_aws_join(struct provider_aws *p, const char *id, char *az,
	    size_t azlen, char **cause);

/* Terminate the named instance with decrement; 0 also when already gone. */
int	 provider_aws_delete(struct provider_aws *p, const char *id,
	    char **cause);

/*
 * 1 when a launch activity started at or after since_ms failed (or was
 * cancelled), with AWS's reason in why; 0 when none did; -1 with *cause.
 */
int	 provider_aws_failed_since(struct provider_aws *p, int64_t since_ms,
	    char *why, size_t whylen, char **cause);

#endif
