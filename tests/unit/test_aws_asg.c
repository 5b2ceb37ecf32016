/*
 * test_aws_asg.c - the pure parts of the aws-asg client (master/aws_asg.c):
 * form encoding as SigV4 and the Query protocol want it, the XML replies
 * (groups, activities, errors; hostile and broken ones), the credentials
 * file, and the client's refusal of bad settings. The network half is
 * tests/integration/aws_asg.sh, against the signature-checking fake.
 */
#include <stdlib.h>
#include <unistd.h>

#include "common/util.h"
#include "common/xmalloc.h"
#include "master/aws_asg.h"
#include "master/provider_aws.h"
#include "tests/unit/test.h"

static char tmpdir[] = "/tmp/berth-aws-unit.XXXXXX";

static void
test_form_encoding(void)
{
	struct buf f = { 0 };

	aws_form_add(&f, "Action", "SetInstanceProtection");
	aws_form_add(&f, "InstanceIds.member.1", "i-0123456789abcdef0");
	aws_form_add(&f, "AutoScalingGroupName", "my asg/é+&=~_-.");
	CHECK_STR(f.data, "Action=SetInstanceProtection"
	    "&InstanceIds.member.1=i-0123456789abcdef0"
	    "&AutoScalingGroupName=my%20asg%2F%C3%A9%2B%26%3D~_-.");
	buf_free(&f);
	aws_form_add(&f, "Empty", "");
	CHECK_STR(f.data, "Empty=");
	buf_free(&f);
}

static const char groups_xml[] =
    "<?xml version=\"1.0\"?>\n"
    "<DescribeAutoScalingGroupsResponse xmlns=\"http://autoscaling.amazonaws.com/doc/2011-01-01/\">\n"
    "  <DescribeAutoScalingGroupsResult>\n"
    "    <AutoScalingGroups>\n"
    "      <member><AutoScalingGroupName>other</AutoScalingGroupName>"
    "<MinSize>0</MinSize><MaxSize>1</MaxSize><DesiredCapacity>0</DesiredCapacity></member>\n"
    "      <member>\n"
    "        <AutoScalingGroupName>web</AutoScalingGroupName>\n"
    "        <MinSize>1</MinSize><MaxSize>10</MaxSize>\n"
    "        <DesiredCapacity>3</DesiredCapacity>\n"
    "        <NewInstancesProtectedFromScaleIn>true</NewInstancesProtectedFromScaleIn>\n"
    "        <SuspendedProcesses><member><ProcessName>Terminate</ProcessName>"
    "<SuspensionReason>User suspended</SuspensionReason></member></SuspendedProcesses>\n"
    "        <Instances>\n"
    "          <member><InstanceId>i-0123456789abcdef0</InstanceId>"
    "<AvailabilityZone>eu-west-1a</AvailabilityZone>"
    "<LifecycleState>InService</LifecycleState><HealthStatus>Healthy</HealthStatus>"
    "<ProtectedFromScaleIn>true</ProtectedFromScaleIn></member>\n"
    "          <member><InstanceId>i-12345678</InstanceId>"
    "<AvailabilityZone>eu-west-1b</AvailabilityZone>"
    "<LifecycleState>Pending</LifecycleState><HealthStatus>Healthy</HealthStatus>"
    "<ProtectedFromScaleIn>false</ProtectedFromScaleIn></member>\n"
    "        </Instances>\n"
    "      </member>\n"
    "    </AutoScalingGroups>\n"
    "  </DescribeAutoScalingGroupsResult>\n"
    "  <ResponseMetadata><RequestId>x</RequestId></ResponseMetadata>\n"
    "</DescribeAutoScalingGroupsResponse>\n";

static void
test_xml_groups(void)
{
	struct aws_asg_group g;
	char *cause = NULL;

	CHECK_INT(aws_xml_groups(groups_xml, sizeof groups_xml - 1, "web", &g,
	    &cause), 0);
	CHECK_STR(g.name, "web");
	CHECK_INT(g.min, 1);
	CHECK_INT(g.max, 10);
	CHECK_INT(g.desired, 3);
	CHECK_INT(g.new_protected, 1);
	CHECK_INT(g.terminate_suspended, 1);
	CHECK_INT(g.launch_suspended, 0);
	CHECK_INT(g.n_instances, 2);
	CHECK_STR(g.instances[0].id, "i-0123456789abcdef0");
	CHECK_STR(g.instances[0].az, "eu-west-1a");
	CHECK_STR(g.instances[0].lifecycle, "InService");
	CHECK_INT(g.instances[0].protected_, 1);
	CHECK_STR(g.instances[1].id, "i-12345678");
	CHECK_STR(g.instances[1].lifecycle, "Pending");
	CHECK_INT(g.instances[1].protected_, 0);
	aws_asg_group_clear(&g);

	CHECK_INT(aws_xml_groups(groups_xml, sizeof groups_xml - 1, "other",
	    &g, &cause), 0);
	CHECK_INT(g.n_instances, 0);
	CHECK_INT(g.max, 1);
	aws_asg_group_clear(&g);

	CHECK_INT(aws_xml_groups(groups_xml, sizeof groups_xml - 1, "nope",
	    &g, &cause), -1);
	CHECK_STR(cause, "auto scaling group nope not found");
	free(cause);
}

static void
test_xml_broken(void)
{
	static const char *const bad[] = {
	    "",
	    "not xml at all",
	    "<DescribeAutoScalingGroupsResponse><DescribeAutoScalingGroupsResult>",
	    "<X><DescribeAutoScalingGroupsResult/></X>",
	    /* sizes missing or not numbers */
	    "<R><DescribeAutoScalingGroupsResult><AutoScalingGroups><member>"
	    "<AutoScalingGroupName>web</AutoScalingGroupName><MinSize>1</MinSize>"
	    "<MaxSize>ten</MaxSize><DesiredCapacity>1</DesiredCapacity>"
	    "</member></AutoScalingGroups></DescribeAutoScalingGroupsResult></R>",
	    /* an external entity: never fetched, never expanded */
	    "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM "
	    "\"file:///etc/passwd\">]><R><DescribeAutoScalingGroupsResult>"
	    "<AutoScalingGroups><member><AutoScalingGroupName>&x;"
	    "</AutoScalingGroupName></member></AutoScalingGroups>"
	    "</DescribeAutoScalingGroupsResult></R>",
	    /* billion laughs: libxml2's amplification guard refuses it */
	    "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY a \"aaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\">"
#define L8(x) x x x x x x x x
#define L16(x) L8(x) L8(x)
	    "<!ENTITY b \"" L16("&a;") "\"><!ENTITY c \"" L16("&b;") "\">"
	    "<!ENTITY d \"" L16("&c;") "\"><!ENTITY e \"" L16("&d;") "\">"
	    "<!ENTITY f \"" L16("&e;") "\"><!ENTITY h \"" L16("&f;") "\">]>"
	    "<R><DescribeAutoScalingGroupsResult><AutoScalingGroups><member>"
	    "<AutoScalingGroupName>&h;</AutoScalingGroupName><MinSize>0"
	    "</MinSize><MaxSize>1</MaxSize><DesiredCapacity>0</DesiredCapacity>"
	    "</member></AutoScalingGroups></DescribeAutoScalingGroupsResult></R>",
	};
	struct aws_asg_group g;
	char *cause;
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cause = NULL;
		CHECK_INT(aws_xml_groups(bad[i], strlen(bad[i]), "web", &g,
		    &cause), -1);
		CHECK(cause != NULL);
		CHECK(cause == NULL || strstr(cause, "root:") == NULL);
		CHECK_INT(g.n_instances, 0);
		free(cause);
	}
}

static void
test_xml_error(void)
{
	static const char err[] =
	    "<ErrorResponse xmlns=\"http://autoscaling.amazonaws.com/doc/2011-01-01/\">"
	    "<Error><Type>Sender</Type><Code>Throttling</Code>"
	    "<Message>Rate\nexceeded</Message></Error>"
	    "<RequestId>1</RequestId></ErrorResponse>";
	char code[64], msg[128];

	CHECK_INT(aws_xml_error(err, sizeof err - 1, code, sizeof code, msg,
	    sizeof msg), 0);
	CHECK_STR(code, "Throttling");
	CHECK_STR(msg, "Rate exceeded");	/* control characters cleaned */
	CHECK_INT(aws_error_retryable(code), 1);
	CHECK_INT(aws_error_retryable("ResourceContention"), 1);
	CHECK_INT(aws_error_retryable("ValidationError"), 0);
	CHECK_INT(aws_error_retryable("SignatureDoesNotMatch"), 0);
	CHECK_INT(aws_xml_error(groups_xml, sizeof groups_xml - 1, code,
	    sizeof code, msg, sizeof msg), -1);
	CHECK_INT(aws_xml_error("<html>502</html>", 16, code, sizeof code,
	    msg, sizeof msg), -1);
}

static void
test_xml_activities(void)
{
	static const char xml[] =
	    "<DescribeScalingActivitiesResponse><DescribeScalingActivitiesResult>"
	    "<Activities>"
	    "<member><ActivityId>a1</ActivityId><StatusCode>Failed</StatusCode>"
	    "<Description>Launching a new EC2 instance.  Status Reason: no "
	    "capacity</Description><StatusMessage>We currently do not have "
	    "sufficient capacity</StatusMessage>"
	    "<StartTime>2026-12-01T17:22:16.337Z</StartTime></member>"
	    "<member><ActivityId>a0</ActivityId><StatusCode>Successful</StatusCode>"
	    "<Description>Launching a new EC2 instance: i-12345678</Description>"
	    "<StartTime>2026-12-01T17:00:00Z</StartTime></member>"
	    "</Activities></DescribeScalingActivitiesResult>"
	    "</DescribeScalingActivitiesResponse>";
	struct aws_asg_activity *v;
	size_t n;
	char *cause = NULL;

	CHECK_INT(aws_xml_activities(xml, sizeof xml - 1, &v, &n, &cause), 0);
	CHECK_INT(n, 2);
	if (n == 2) {
		CHECK_STR(v[0].id, "a1");
		CHECK_STR(v[0].status, "Failed");
		CHECK_STR(v[0].message, "We currently do not have sufficient capacity");
		CHECK_INT(v[0].start_ms, 1796145736337LL);
		CHECK_STR(v[1].status, "Successful");
		CHECK_STR(v[1].message, "");
		CHECK_INT(v[1].start_ms, 1796144400000LL);
	}
	aws_asg_activities_free(v, n);
	CHECK_INT(aws_xml_activities("<x/>", 4, &v, &n, &cause), -1);
	CHECK_HAS(cause, "no Activities");
	free(cause);
}

/* The join check: a live instance of the group, by exact id. */
static void
test_provider_find(void)
{
	static const char xml[] =
	    "<R><DescribeAutoScalingGroupsResult><AutoScalingGroups><member>"
	    "<AutoScalingGroupName>web</AutoScalingGroupName><MinSize>0</MinSize>"
	    "<MaxSize>9</MaxSize><DesiredCapacity>4</DesiredCapacity><Instances>"
	    "<member><InstanceId>i-00000001</InstanceId><AvailabilityZone>a"
	    "</AvailabilityZone><LifecycleState>InService</LifecycleState></member>"
	    "<member><InstanceId>i-00000002</InstanceId><AvailabilityZone>b"
	    "</AvailabilityZone><LifecycleState>Pending:Wait</LifecycleState></member>"
	    "<member><InstanceId>i-00000003</InstanceId>"
	    "<LifecycleState>Terminating</LifecycleState></member>"
	    "<member><InstanceId>i-00000004</InstanceId>"
	    "<LifecycleState>Standby</LifecycleState></member>"
	    "</Instances></member></AutoScalingGroups>"
	    "</DescribeAutoScalingGroupsResult></R>";
	struct aws_asg_group g;
	const struct aws_asg_instance *in;
	char *cause = NULL;

	CHECK_INT(aws_xml_groups(xml, sizeof xml - 1, "web", &g, &cause), 0);
	in = provider_aws_find(&g, "i-00000001");
	CHECK(in != NULL && strcmp(in->az, "a") == 0);
	in = provider_aws_find(&g, "i-00000002");
	CHECK(in != NULL && strcmp(in->az, "b") == 0);
	CHECK(provider_aws_find(&g, "i-00000003") == NULL);
	CHECK(provider_aws_find(&g, "i-00000004") == NULL);
	CHECK(provider_aws_find(&g, "i-0000000") == NULL);
	CHECK(provider_aws_find(&g, "i-000000011") == NULL);
	CHECK(provider_aws_find(&g, "") == NULL);
	CHECK(provider_aws_find(&g, NULL) == NULL);
	aws_asg_group_clear(&g);
}

static void
test_endpoint_check(void)
{
	static const char *const good[] = {
	    "https://autoscaling.eu-west-1.amazonaws.com",
	    "https://autoscaling.eu-west-1.amazonaws.com/",
	    "https://vpce-1.autoscaling.eu-west-1.vpce.amazonaws.com:443",
	    "http://127.0.0.1:8080", "http://127.0.0.53/", "http://localhost:1",
	    "http://[::1]:9000", "https://[fd00::1]:443",
	};
	static const char *const bad[] = {
	    "", "ftp://x", "autoscaling.amazonaws.com", "https://",
	    "https://user:pw@host", "https://host/path", "https://host?x=1",
	    "https://host#f", "https://ho st", "https://host:", "https://host:123456",
	    "https://[::1", "http://10.0.0.1:80", "http://autoscaling.amazonaws.com",
	    "http://127.0.0.1.evil.example", "http://localhost.evil:1",
	};
	char *cause;
	size_t i;

	for (i = 0; i < sizeof good / sizeof good[0]; i++) {
		cause = NULL;
		if (aws_endpoint_check(good[i], &cause) != 0) {
			printf("  endpoint %s refused: %s\n", good[i], cause);
			test_failed_now = 1;
		}
		free(cause);
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cause = NULL;
		if (aws_endpoint_check(bad[i], &cause) != -1) {
			printf("  endpoint %s accepted\n", bad[i]);
			test_failed_now = 1;
		}
		CHECK_HAS(cause, "endpoint:");
		free(cause);
	}
	cause = NULL;
	aws_endpoint_check("http://10.1.2.3", &cause);
	CHECK_HAS(cause, "http:// only to a loopback test endpoint");
	free(cause);
}

static void
collect_err(void *arg, const char *field, const char *msg)
{
	struct buf *b = arg;

	buf_printf(b, "%s%s", b->len ? " " : "", field);
	CHECK(strncmp(msg, field, strlen(field)) == 0);
}

/* Every bad aws-asg setting is named, in one pass (the API's 422). */
static void
test_provider_config_check(void)
{
	struct provider_aws_config c = { .asg_name = "web",
	    .region = "eu-west-1" };
	struct buf b = { 0 };
	char *cause = NULL;

	CHECK_INT(provider_aws_config_check(&c, collect_err, &b), 0);
	c.endpoint = "";		/* "" is AWS's own */
	c.credentials_file = "";
	c.profile = "";
	CHECK_INT(provider_aws_config_check(&c, collect_err, &b), 0);
	CHECK(b.len == 0);
	c.asg_name = "";
	c.region = "EU West";
	c.endpoint = "http://example.com";
	c.credentials_file = "relative/creds";
	c.profile = "a b";
	CHECK_INT(provider_aws_config_check(&c, collect_err, &b), 5);
	CHECK_STR(b.data, "asg_name region endpoint credentials_file profile");
	buf_free(&b);
	c.asg_name = "bad\nname";
	c.region = "eu-west-1";
	c.endpoint = c.credentials_file = c.profile = NULL;
	CHECK_INT(provider_aws_config_check(&c, collect_err, &b), 1);
	CHECK_STR(b.data, "asg_name");
	buf_free(&b);
	CHECK(provider_aws_new(&c, &cause) == NULL);
	CHECK_STR(cause, "asg_name: no control characters");
	free(cause);
}

static char *
write_tmp(const char *name, const char *text)
{
	char *path;

	xasprintf(&path, "%s/%s", tmpdir, name);
	CHECK_INT(util_write_file(path, text, strlen(text), 0600), 0);
	return path;
}

static void
test_credentials_file(void)
{
	struct aws_creds c;
	char *p, *cause = NULL;

	p = write_tmp("creds",
	    "# comment\n"
	    "[default]\n"
	    "aws_access_key_id = AKIDDEFAULT\n"
	    "aws_secret_access_key = defsecret\n"
	    "\n"
	    "; another comment\n"
	    "[profile ci]\r\n"
	    "  aws_access_key_id=AKIDCI  \r\n"
	    "aws_secret_access_key = ci/secret+x==\r\n"
	    "aws_session_token = tok\r\n"
	    "region = eu-west-1\n");
	CHECK_INT(aws_creds_load(p, NULL, &c, &cause), 0);
	CHECK_STR(c.akid, "AKIDDEFAULT");
	CHECK_STR(c.secret, "defsecret");
	CHECK(c.token == NULL);
	aws_creds_clear(&c);
	CHECK(c.secret == NULL);
	CHECK_INT(aws_creds_load(p, "ci", &c, &cause), 0);
	CHECK_STR(c.akid, "AKIDCI");
	CHECK_STR(c.secret, "ci/secret+x==");
	CHECK_STR(c.token, "tok");
	aws_creds_clear(&c);
	CHECK_INT(aws_creds_load(p, "prod", &c, &cause), -1);
	CHECK_HAS(cause, "no profile [prod]");
	free(cause);
	free(p);

	p = write_tmp("creds2", "[default]\naws_access_key_id = A\n");
	CHECK_INT(aws_creds_load(p, NULL, &c, &cause), -1);
	CHECK_HAS(cause, "profile [default] lacks aws_secret_access_key");
	free(cause);
	free(p);

	/* A broken line is named by number, never quoted (it may be a key). */
	p = write_tmp("creds3", "[default]\naws_access_key_id = A\n"
	    "TOPSECRETVALUE\n");
	CHECK_INT(aws_creds_load(p, NULL, &c, &cause), -1);
	CHECK_HAS(cause, "line 3: expected key = value");
	CHECK(strstr(cause, "TOPSECRET") == NULL);
	free(cause);
	free(p);

	p = write_tmp("creds4", "[default]\naws_access_key_id = A:B\n"
	    "aws_secret_access_key = s\n");
	CHECK_INT(aws_creds_load(p, NULL, &c, &cause), -1);
	CHECK_HAS(cause, "access key id");
	free(cause);
	free(p);

	CHECK_INT(aws_creds_load("/nonexistent/creds", NULL, &c, &cause), -1);
	CHECK_HAS(cause, "credentials file /nonexistent/creds: No such file");
	free(cause);
}

static void
test_credentials_env(void)
{
	struct aws_creds c;
	char *cause = NULL;

	setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
	setenv("AWS_SESSION_TOKEN", "envtok", 1);
	CHECK_INT(aws_creds_load(NULL, NULL, &c, &cause), 0);
	CHECK_STR(c.akid, "AKIDENV");
	CHECK_STR(c.secret, "envsecret");
	CHECK_STR(c.token, "envtok");
	aws_creds_clear(&c);
	unsetenv("AWS_SECRET_ACCESS_KEY");
	CHECK_INT(aws_creds_load(NULL, NULL, &c, &cause), -1);
	CHECK_STR(cause, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY "
	    "is not");
	free(cause);
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SESSION_TOKEN");
	/* No env keys: the shared file named by the environment. */
	free(write_tmp("shared", "[p2]\naws_access_key_id = AKIDSHARED\n"
	    "aws_secret_access_key = s2\n"));
	{
		char *path;

		xasprintf(&path, "%s/shared", tmpdir);
		setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);
		setenv("AWS_PROFILE", "p2", 1);
		free(path);
	}
	CHECK_INT(aws_creds_load(NULL, NULL, &c, &cause), 0);
	CHECK_STR(c.akid, "AKIDSHARED");
	aws_creds_clear(&c);
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");
	unsetenv("AWS_PROFILE");
}

static void
test_client_settings(void)
{
	struct aws_asg_config cfg = { .region = "eu-west-1" };
	struct aws_asg *a;
	char *cause = NULL;

	setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
	cfg.region = "eu west";
	CHECK(aws_asg_new(&cfg, &cause) == NULL);
	CHECK_HAS(cause, "region:");
	free(cause);
	cfg.region = "eu-west-1";
	cfg.endpoint = "ftp://x";
	CHECK(aws_asg_new(&cfg, &cause) == NULL);
	CHECK_HAS(cause, "endpoint:");
	free(cause);
	cfg.endpoint = NULL;
	a = aws_asg_new(&cfg, &cause);
	CHECK(a != NULL);
	aws_asg_free(a);
	aws_asg_free(NULL);
	/* Ids and names are checked before any request. */
	cfg.endpoint = "http://127.0.0.1:1";
	a = aws_asg_new(&cfg, &cause);
	CHECK_INT(aws_asg_terminate(a, "i-0123;rm", &cause), -1);
	CHECK_HAS(cause, "must be i- and 8 or 17 hex digits");
	free(cause);
	{
		const char *ids[] = { "i-12345678", "../etc" };

		CHECK_INT(aws_asg_protect(a, "web", ids, 2, 1, &cause), -1);
		CHECK_HAS(cause, "instance id ../etc");
		free(cause);
	}
	{
		struct aws_asg_stats st;

		aws_asg_get_stats(a, &st);
		CHECK_INT(st.requests, 0);
	}
	aws_asg_free(a);
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	setenv("HOME", tmpdir, 1);	/* no ~/.aws/credentials there */
	CHECK(aws_asg_new(&cfg, &cause) == NULL);
	CHECK_HAS(cause, "/.aws/credentials: No such file");
	free(cause);
}

int
main(void)
{
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	TEST_RUN(test_form_encoding);
	TEST_RUN(test_xml_groups);
	TEST_RUN(test_xml_broken);
	TEST_RUN(test_xml_error);
	TEST_RUN(test_xml_activities);
	TEST_RUN(test_provider_find);
	TEST_RUN(test_endpoint_check);
	TEST_RUN(test_provider_config_check);
	TEST_RUN(test_credentials_file);
	TEST_RUN(test_credentials_env);
	TEST_RUN(test_client_settings);
	{
		char *cmd;

		xasprintf(&cmd, "rm -rf %s", tmpdir);
		if (system(cmd) != 0)
			return 1;
		free(cmd);
	}
	return TEST_DONE();
}
