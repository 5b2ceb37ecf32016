/*
 * provider_awsasg.c - the aws-asg provider's vtable (master/provider.h)
 * over master/provider_aws.c (docs/autoscaling.md, "The aws-asg
 * provider").
 *
 * Every call is blocking HTTPS to the Auto Scaling API: the provider is
 * `async`, its calls run on the provider threads, never on the scheduler
 * or ws thread. Each call builds its own client from the group's settings
 * copied into the request (credentials are read then, from the master's
 * environment or the group's credentials_file, and never kept).
 *
 *	create	grow the desired capacity to req->count, the number of
 *		machines the group should have (a target, not a delta: a
 *		repeated call launches nothing twice); never lowered. The
 *		instance id is learnt at join.
 *	delete	terminate the named instance with decrement; a machine
 *		whose instance was never learnt names none (an instance
 *		that booted for it is an orphan the list finds).
 *	list	the group's instances that are not already leaving, and,
 *		when asked (since_ms), a launch activity that failed since.
 *	join	the agent's instance id: a live member, protected, its AZ.
 */
#include "master/provider.h"
#include "master/provider_aws.h"

#include "common/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct provider_aws *
pa_open(const struct provider_req *req, struct provider_res *res)
{
	struct provider_aws_config c;
	struct provider_aws *p;
	char *cause = NULL;

	memset(&c, 0, sizeof c);
	c.asg_name = req->settings.asg_name;
	c.region = req->settings.region;
	c.endpoint = req->settings.endpoint;
	c.credentials_file = req->settings.credentials_file;
	c.profile = req->settings.profile;
	c.deadline_ms = (long)req->settings.exec_timeout_s * 1000;
	if ((p = provider_aws_new(&c, &cause)) == NULL) {
		snprintf(res->cause, sizeof res->cause, "%s",
		    cause != NULL ? cause : "cannot make the client");
		free(cause);
	}
	return p;
}

static void
pa_cause(struct provider_res *res, char *cause)
{
	snprintf(res->cause, sizeof res->cause, "%s",
	    cause != NULL ? cause : "unknown error");
	free(cause);
}

static int
pa_available(const char **why)
{
	*why = NULL;
	return 1;
}

static void
pa_create(const struct provider_req *req, struct provider_res *res)
{
	struct provider_aws *p;
	char *cause = NULL;
	int64_t added = 0;

	if ((p = pa_open(req, res)) == NULL) {
		res->nothing = 1;
		return;
	}
	if (provider_aws_grow_to(p, req->count, &added, &cause) != 0) {
		pa_cause(res, cause);
		res->nothing = 1;	/* the desired capacity is unchanged */
	} else
		res->ok = 1;
	provider_aws_free(p);
}

static void
pa_delete(const struct provider_req *req, struct provider_res *res)
{
	struct provider_aws *p;
	char *cause = NULL;

	if (req->provider_id[0] == '\0') {
		res->ok = 1;	/* no instance was ever bound to it */
		return;
	}
	if ((p = pa_open(req, res)) == NULL)
		return;
	if (provider_aws_delete(p, req->provider_id, &cause) != 0)
		pa_cause(res, cause);
	else
		res->ok = 1;
	provider_aws_free(p);
}

static void
pa_list(const struct provider_req *req, struct provider_res *res)
{
	struct provider_aws *p;
	struct aws_asg_group g;
	char *cause = NULL;
	size_t i;

	if ((p = pa_open(req, res)) == NULL)
		return;
	if (provider_aws_list(p, &g, &cause) != 0) {
		pa_cause(res, cause);
		provider_aws_free(p);
		return;
	}
	for (i = 0; i < g.n_instances; i++) {
		if (strncmp(g.instances[i].lifecycle, "Terminat", 8) == 0)
			continue;	/* already leaving */
		res->inst = xreallocarray(res->inst, res->ninst + 1,
		    sizeof *res->inst);
		memset(&res->inst[res->ninst], 0, sizeof *res->inst);
		snprintf(res->inst[res->ninst].id, sizeof res->inst->id, "%s",
		    g.instances[i].id);
		res->ninst++;
	}
	aws_asg_group_clear(&g);
	if (req->since_ms > 0 && provider_aws_failed_since(p, req->since_ms,
	    res->failed, sizeof res->failed, &cause) < 0) {
		/* The list is good; the activities are read next time. */
		free(cause);
		res->failed[0] = '\0';
	}
	res->ok = 1;
	provider_aws_free(p);
}

static void
pa_join(const struct provider_req *req, struct provider_res *res)
{
	struct provider_aws *p;
	char *cause = NULL;

	struct aws_asg_group g;
	int member;

	snprintf(res->id, sizeof res->id, "%s", req->provider_id);
	if ((p = pa_open(req, res)) == NULL)
		return;
	/* Not a live member: a verdict (nothing), not a failed call. */
	if (provider_aws_list(p, &g, &cause) != 0) {
		pa_cause(res, cause);
		provider_aws_free(p);
		return;
	}
	member = provider_aws_find(&g, req->provider_id) != NULL;
	aws_asg_group_clear(&g);
	if (!member) {
		snprintf(res->cause, sizeof res->cause, "instance %.32s is not "
		    "a live instance of auto scaling group %.200s",
		    req->provider_id, req->settings.asg_name);
		res->nothing = 1;
	} else if (provider_aws_join(p, req->provider_id, res->az, sizeof res->az,
	    &cause) != 0)
		pa_cause(res, cause);
	else
		res->ok = 1;
	provider_aws_free(p);
}

const struct provider provider_aws_asg = {
	.name = "aws-asg",
	.async = 1,
	.join = PROVIDER_JOIN_INSTANCE,
	.available = pa_available,
	.create = pa_create,
	.delete = pa_delete,
	.list = pa_list,
	.join_check = pa_join,
};
