/*
 * provider_aws.c - the aws-asg provider (see provider_aws.h).
 *
 * Provider worker thread only: every function is one or a few blocking
 * Auto Scaling calls through master/aws_asg.c, which itself refuses to
 * lower a desired capacity and terminates only by name with a decrement.
 * What is added here is the provider's view: targets instead of deltas
 * (crash-safe launches), the join check (live member of the group, then
 * protected, its AZ returned), deletes that treat "already gone" as done,
 * and reading Failed launch activities for the group's backoff.
 */
#include "master/provider_aws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"

struct provider_aws {
	struct aws_asg	*asg;
	char		*name;		/* the Auto Scaling group */
};

static const char *
provider_aws_opt(const char *s)
{
	return s != NULL && *s != '\0' ? s : NULL;
}

/* An err callback for provider_aws_config_check: keep the first. */
static void
provider_aws_first_err(void *arg, const char *field, const char *msg)
{
	char **cause = arg;

	if (*cause == NULL)
		*cause = xstrdup(msg);
}

int
provider_aws_config_check(const struct provider_aws_config *cfg,
    void (*err)(void *arg, const char *field, const char *msg), void *arg)
{
	const char *s;
	char *cause = NULL;
	int n = 0;

	s = cfg->asg_name;
	if (s == NULL || *s == '\0' || strlen(s) > 255) {
		err(arg, "asg_name", "asg_name: the Auto Scaling group's "
		    "name, 1 to 255 characters");
		n++;
	} else {
		for (; *s != '\0'; s++)
			if ((unsigned char)*s < 0x20 || *s == 0x7f)
				break;
		if (*s != '\0') {
			err(arg, "asg_name", "asg_name: no control characters");
			n++;
		}
	}
	s = cfg->region;
	if (s == NULL || *s == '\0' || strlen(s) > 32 ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(s)) {
		err(arg, "region", "region: an AWS region such as eu-west-1");
		n++;
	}
	if ((s = provider_aws_opt(cfg->endpoint)) != NULL &&
	    aws_endpoint_check(s, &cause) == -1) {
		err(arg, "endpoint", cause);
		free(cause);
		n++;
	}
	if ((s = provider_aws_opt(cfg->credentials_file)) != NULL &&
	    (s[0] != '/' || strlen(s) > 4096)) {
		err(arg, "credentials_file", "credentials_file: an absolute "
		    "path (the secret itself is never a setting)");
		n++;
	}
	if ((s = provider_aws_opt(cfg->profile)) != NULL && (strlen(s) > 64 ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._-") != strlen(s))) {
		err(arg, "profile", "profile: 1 to 64 of [A-Za-z0-9._-]");
		n++;
	}
	return n;
}

struct provider_aws *
provider_aws_new(const struct provider_aws_config *cfg, char **cause)
{
	struct aws_asg_config ac = { 0 };
	struct provider_aws *p;
	struct aws_asg *a;

	*cause = NULL;
	if (provider_aws_config_check(cfg, provider_aws_first_err,
	    cause) > 0)
		return NULL;
	ac.region = cfg->region;
	ac.endpoint = provider_aws_opt(cfg->endpoint);
	ac.credentials_file = provider_aws_opt(cfg->credentials_file);
	ac.profile = provider_aws_opt(cfg->profile);
	ac.timeout_ms = cfg->timeout_ms;
	ac.max_retries = cfg->max_retries;
	ac.retry_base_ms = cfg->retry_base_ms;
	ac.deadline_ms = cfg->deadline_ms;
	if ((a = aws_asg_new(&ac, cause)) == NULL)
		return NULL;
	p = xcalloc(1, sizeof *p);
	p->asg = a;
	p->name = xstrdup(cfg->asg_name);
	return p;
}

void
provider_aws_free(struct provider_aws *p)
{
	if (p == NULL)
		return;
	aws_asg_free(p->asg);
	free(p->name);
	free(p);
}

struct aws_asg *
provider_aws_client(struct provider_aws *p)
{
	return p->asg;
}

int
provider_aws_grow_to(struct provider_aws *p, int64_t total, int64_t *added,
    char **cause)
{
	struct aws_asg_group g;

	*added = 0;
	if (aws_asg_describe(p->asg, p->name, &g, cause) == -1)
		return -1;
	if (g.launch_suspended) {
		xasprintf(cause, "auto scaling group %s has its Launch process "
		    "suspended", p->name);
		aws_asg_group_clear(&g);
		return -1;
	}
	if (total <= g.desired) {
		aws_asg_group_clear(&g);
		return 0;
	}
	*added = total - g.desired;
	aws_asg_group_clear(&g);
	/* Reads the group again: refuses lowering should it have grown. */
	if (aws_asg_set_desired(p->asg, p->name, total, cause) == -1) {
		*added = 0;
		return -1;
	}
	return 0;
}

int
provider_aws_launch(struct provider_aws *p, int64_t n, char **cause)
{
	struct aws_asg_group g;
	int64_t target, added;

	if (n < 1) {
		xasprintf(cause, "launch: %lld machines", (long long)n);
		return -1;
	}
	if (aws_asg_describe(p->asg, p->name, &g, cause) == -1)
		return -1;
	target = g.desired + n;
	aws_asg_group_clear(&g);
	return provider_aws_grow_to(p, target, &added, cause);
}

int
provider_aws_list(struct provider_aws *p, struct aws_asg_group *out,
    char **cause)
{
	return aws_asg_describe(p->asg, p->name, out, cause);
}

const struct aws_asg_instance *
provider_aws_find(const struct aws_asg_group *g, const char *id)
{
	size_t i;

	if (id == NULL || *id == '\0')
		return NULL;
	for (i = 0; i < g->n_instances; i++) {
		const struct aws_asg_instance *in = &g->instances[i];

		if (strcmp(in->id, id) != 0)
			continue;
		/* Pending:Wait and InService:... too; not Terminating,
		   Detaching, Standby or Warmed. */
		if (strncmp(in->lifecycle, "Pending", 7) == 0 ||
		    strncmp(in->lifecycle, "InService", 9) == 0)
			return in;
		return NULL;
	}
	return NULL;
}

int
provider_aws_join(struct provider_aws *p, const char *id, char *az,
    size_t azlen, char **cause)
{
	struct aws_asg_group g;
	const struct aws_asg_instance *in;
	const char *ids[1];

	if (aws_asg_describe(p->asg, p->name, &g, cause) == -1)
		return -1;
	if ((in = provider_aws_find(&g, id)) == NULL) {
		xasprintf(cause, "instance %.32s is not a live instance of auto "
		    "scaling group %s", id != NULL ? id : "", p->name);
		aws_asg_group_clear(&g);
		return -1;
	}
	snprintf(az, azlen, "%s", in->az);
	ids[0] = in->id;
	if (!in->protected_ &&
	    aws_asg_protect(p->asg, p->name, ids, 1, 1, cause) == -1) {
		aws_asg_group_clear(&g);
		return -1;
	}
	aws_asg_group_clear(&g);
	return 0;
}

int
provider_aws_delete(struct provider_aws *p, const char *id, char **cause)
{
	struct aws_asg_group g;
	size_t i;
	int member = 0;

	if (aws_asg_describe(p->asg, p->name, &g, cause) == -1)
		return -1;
	for (i = 0; i < g.n_instances; i++)
		if (strcmp(g.instances[i].id, id) == 0) {
			/* Already on its way out: nothing to ask twice. */
			member = strncmp(g.instances[i].lifecycle,
			    "Terminat", 8) != 0;
			break;
		}
	aws_asg_group_clear(&g);
	if (!member)
		return 0;
	return aws_asg_terminate(p->asg, id, cause);
}

int
provider_aws_failed_since(struct provider_aws *p, int64_t since_ms,
    char *why, size_t whylen, char **cause)
{
	struct aws_asg_activity *v;
	size_t n, i;
	int found = 0;

	why[0] = '\0';
	if (aws_asg_activities(p->asg, p->name, 20, &v, &n, cause) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (v[i].start_ms != 0 && v[i].start_ms < since_ms)
			continue;
		if (strncmp(v[i].description, "Launching", 9) != 0)
			continue;
		if (strcmp(v[i].status, "Failed") == 0 ||
		    strcmp(v[i].status, "Cancelled") == 0) {
			snprintf(why, whylen, "%s", v[i].message[0] != '\0' ?
			    v[i].message : v[i].description);
			found = 1;
			break;
		}
	}
	aws_asg_activities_free(v, n);
	return found;
}
