/*
 * aws_asg.h - a client of the AWS Auto Scaling Query API (2011-01-01), for
 * the aws-asg node group provider (docs/autoscaling.md, "aws-asg
 * provider").
 *
 * Every call is a POST of a form body (Action, Version, Name.member.N
 * lists) signed with libcurl's CURLOPT_AWS_SIGV4 as
 * "aws:amz:<region>:autoscaling"; never a signed GET query string (curl
 * #9717 signs unsorted query strings wrongly). Replies are XML, read with
 * libxml2. An <ErrorResponse> becomes a cause "Code: Message"; Throttling
 * (and the other codes AWS documents as "not executed, try again":
 * RequestLimitExceeded, ResourceContention, ServiceUnavailable) is retried
 * with jittered exponential backoff (a random sleep between half and all
 * of base * 2^n), a bounded number of times.
 *
 * The calls are blocking, each HTTP exchange bounded by the timeout and a
 * call with its retries by the deadline (no retry sleeps past it), made
 * from one thread at a time per struct aws_asg (the provider's worker
 * thread): the client keeps one curl handle for keep-alive.
 *
 * Credentials come from the environment (AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN) or from a shared credentials
 * file (ini: [profile] aws_access_key_id / aws_secret_access_key /
 * aws_session_token), read again at every call so rotated keys are
 * picked up. The secret is never logged, never put in a cause, and wiped
 * from memory after each call; curl's verbose output is never turned on.
 *
 * Safety rules the client enforces itself, whoever calls it:
 *   - desired capacity only ever grows (aws_asg_set_desired refuses a
 *     lower value: lowering lets AWS pick the victims);
 *   - instances leave only by name, with ShouldDecrementDesiredCapacity
 *     (aws_asg_terminate).
 */
#ifndef BERTH_AWS_ASG_H
#define BERTH_AWS_ASG_H

#include <stddef.h>
#include <stdint.h>

#include "common/util.h"

#define AWS_ASG_VERSION		"2011-01-01"
#define AWS_ASG_PROTECT_BATCH	50	/* InstanceIds per SetInstanceProtection */
#define AWS_REPLY_MAX	(8 * 1024 * 1024) /* bytes of a reply, at most */

struct aws_asg_config {
	const char	*region;	/* e.g. "eu-west-1"; required */
	const char	*endpoint;	/* NULL: https://autoscaling.<region>.amazonaws.com */
	const char	*credentials_file; /* NULL: the environment, then
					   $AWS_SHARED_CREDENTIALS_FILE or
					   ~/.aws/credentials */
	const char	*profile;	/* NULL: $AWS_PROFILE or "default" */
	long		 timeout_ms;	/* one HTTP exchange; 0: 20000 */
	int		 max_retries;	/* retries on Throttling; <0: 0, 0: 5 */
	long		 retry_base_ms;	/* first backoff ceiling; 0: 200 */
	long		 retry_max_ms;	/* backoff ceiling cap; 0: 10000 */
	long		 deadline_ms;	/* one call, retries included; 0: 60000 */
};

/* Counters of one client, for tests and metrics. */
struct aws_asg_stats {
	uint64_t	 calls;		/* API calls made */
	uint64_t	 requests;	/* HTTP requests sent (calls + retries) */
	uint64_t	 retries;	/* requests repeated after a retryable error */
};

struct aws_asg_instance {
	char		 id[32];	/* i-0123456789abcdef0 */
	char		 az[32];	/* availability zone */
	char		 lifecycle[32];	/* Pending, InService, Terminating... */
	char		 health[16];	/* Healthy, Unhealthy */
	int		 protected_;	/* ProtectedFromScaleIn */
};

struct aws_asg_group {
	char		 name[256];
	int64_t		 min, max, desired;
	int		 new_protected;	/* NewInstancesProtectedFromScaleIn */
	int		 terminate_suspended; /* "Terminate" process suspended */
	int		 launch_suspended;    /* "Launch" process suspended */
	struct aws_asg_instance *instances;
	size_t		 n_instances;
};

struct aws_asg_activity {
	char		 id[64];
	char		 status[32];	/* StatusCode: Successful, Failed... */
	char		*description;
	char		*message;	/* StatusMessage, or "" */
	int64_t		 start_ms;	/* StartTime (epoch ms), 0 if absent */
};

struct aws_asg;

/* A client; NULL with *cause on a bad config (no credentials, ...). */
struct aws_asg	*aws_asg_new(const struct aws_asg_config *cfg, char **cause);
void		 aws_asg_free(struct aws_asg *a);	/* NULL: no-op */
void		 aws_asg_get_stats(const struct aws_asg *a,
		    struct aws_asg_stats *out);

/*
 * The AWS error code of the last call that failed with one ("Throttling",
 * "ValidationError"...), or "" (success, or a failure of the transport
 * or of the client's own checks).
 */
const char	*aws_asg_last_code(const struct aws_asg *a);

/* The group's sizes and instances. 0, or -1 with *cause. */
int	 aws_asg_describe(struct aws_asg *a, const char *group,
	    struct aws_asg_group *out, char **cause);
void	 aws_asg_group_clear(struct aws_asg_group *g);

/*
 * Raise the group's desired capacity to desired (HonorCooldown=false).
 * Reads the group first: a value below the current desired capacity is
 * refused here, without a call; equal is a no-op (0); above max is
 * refused naming max. 0, or -1 with *cause.
 */
int	 aws_asg_set_desired(struct aws_asg *a, const char *group,
	    int64_t desired, char **cause);

/* Protect (or unprotect) instances from scale-in, 50 per call. */
int	 aws_asg_protect(struct aws_asg *a, const char *group,
	    const char *const *ids, size_t n, int protect, char **cause);

/*
 * Terminate one named instance and decrement the desired capacity, so
 * that AWS neither replaces it nor picks another victim.
 */
int	 aws_asg_terminate(struct aws_asg *a, const char *instance_id,
	    char **cause);

/* The group's most recent activities (newest first), at most max. */
int	 aws_asg_activities(struct aws_asg *a, const char *group, int max,
	    struct aws_asg_activity **out, size_t *n, char **cause);
void	 aws_asg_activities_free(struct aws_asg_activity *v, size_t n);

/* ---- the pieces below are exposed for the unit tests ---- */

/* Append "&key=value" (or "key=value" first), RFC 3986 percent-encoded. */
void	 aws_form_add(struct buf *form, const char *key, const char *value);

/* Parse an <ErrorResponse>: 0 with code and message, -1 if not one. */
int	 aws_xml_error(const char *xml, size_t len, char *code, size_t codelen,
	    char *msg, size_t msglen);
/* Parse a DescribeAutoScalingGroups reply for the named group. */
int	 aws_xml_groups(const char *xml, size_t len, const char *group,
	    struct aws_asg_group *out, char **cause);
/* Parse a DescribeScalingActivities reply. */
int	 aws_xml_activities(const char *xml, size_t len,
	    struct aws_asg_activity **out, size_t *n, char **cause);

/* Credentials, as the client reads them; the secret is wiped by _clear. */
struct aws_creds {
	char	*akid;
	char	*secret;
	char	*token;		/* NULL without a session token */
};
int	 aws_creds_load(const char *file, const char *profile,
	    struct aws_creds *out, char **cause);
void	 aws_creds_clear(struct aws_creds *c);

/*
 * 0 if url is an endpoint the client may sign requests for: https://HOST
 * [:PORT][/], or http:// to a loopback host only (127.0.0.0/8, localhost,
 * [::1]: the test fake), since a signature over plain HTTP elsewhere could
 * be read and replayed; no user info, path, query or fragment. -1 with
 * *cause otherwise.
 */
int	 aws_endpoint_check(const char *url, char **cause);

/* 1 if an AWS error code means "not executed, retry with backoff". */
int	 aws_error_retryable(const char *code);

#endif
