/*
 * asgctl.c - drive master/aws_asg.c from the command line, for
 * tests/integration/aws_asg.sh (against tests/peers/fake_asg.py) and for a
 * manual smoke test against a real account.
 *
 *   asgctl [options] describe GROUP
 *   asgctl [options] set-desired GROUP N
 *   asgctl [options] protect GROUP ID... | unprotect GROUP ID...
 *   asgctl [options] terminate ID
 *   asgctl [options] activities GROUP [MAX]
 *
 * and the provider's calls (master/provider_aws.c):
 *   asgctl [options] grow-to GROUP TOTAL | launch GROUP N
 *   asgctl [options] join GROUP ID | delete GROUP ID
 *   asgctl [options] failed-since GROUP EPOCH_MS
 *
 * options: --region R (default eu-west-1), --endpoint URL,
 *   --credentials-file F, --profile P, --timeout-ms MS, --retries N,
 *   --retry-base-ms MS, --deadline-ms MS, --stats (print "stats calls=N requests=N
 *   retries=N" last).
 *
 * Exits 0, or 1 with "asgctl: <cause>" on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "master/aws_asg.h"
#include "master/provider_aws.h"

static void
usage(void)
{
	fprintf(stderr, "usage: asgctl [--region R] [--endpoint URL] "
	    "[--credentials-file F] [--profile P] [--timeout-ms MS] "
	    "[--retries N] [--retry-base-ms MS] [--deadline-ms MS] [--stats] COMMAND ARGS...\n"
	    "commands: describe G | set-desired G N | protect G ID... | "
	    "unprotect G ID... | terminate ID | activities G [MAX] |\n"
	    "  grow-to G TOTAL | launch G N | join G ID | delete G ID | "
	    "failed-since G MS\n");
	exit(2);
}

static void
print_stats(struct aws_asg *a)
{
	struct aws_asg_stats st;

	aws_asg_get_stats(a, &st);
	printf("stats calls=%llu requests=%llu retries=%llu\n",
	    (unsigned long long)st.calls, (unsigned long long)st.requests,
	    (unsigned long long)st.retries);
}

static int
provider_cmd(const struct aws_asg_config *ac, const char *cmd, int argc,
    char **argv, int stats)
{
	struct provider_aws_config pc = { 0 };
	struct provider_aws *p;
	char *cause = NULL, *end, buf[512];
	long long n = 0;
	int64_t added;
	int rc;

	if (argc != 2)
		usage();
	if (strcmp(cmd, "join") != 0 && strcmp(cmd, "delete") != 0) {
		n = strtoll(argv[1], &end, 10);
		if (*end != '\0')
			usage();
	}
	pc.asg_name = argv[0];
	pc.region = ac->region;
	pc.endpoint = ac->endpoint;
	pc.credentials_file = ac->credentials_file;
	pc.profile = ac->profile;
	pc.timeout_ms = ac->timeout_ms;
	pc.max_retries = ac->max_retries;
	pc.retry_base_ms = ac->retry_base_ms;
	pc.deadline_ms = ac->deadline_ms;
	if ((p = provider_aws_new(&pc, &cause)) == NULL) {
		fprintf(stderr, "asgctl: %s\n", cause);
		free(cause);
		return 1;
	}
	if (strcmp(cmd, "grow-to") == 0) {
		if ((rc = provider_aws_grow_to(p, n, &added, &cause)) == 0)
			printf("grown to %lld, %lld added\n", n,
			    (long long)added);
	} else if (strcmp(cmd, "launch") == 0) {
		if ((rc = provider_aws_launch(p, n, &cause)) == 0)
			printf("launched %lld\n", n);
	} else if (strcmp(cmd, "join") == 0) {
		if ((rc = provider_aws_join(p, argv[1], buf, sizeof buf,
		    &cause)) == 0)
			printf("joined %s az=%s\n", argv[1], buf);
	} else if (strcmp(cmd, "delete") == 0) {
		if ((rc = provider_aws_delete(p, argv[1], &cause)) == 0)
			printf("deleted %s\n", argv[1]);
	} else {
		rc = provider_aws_failed_since(p, n, buf, sizeof buf, &cause);
		if (rc == 1)
			printf("failed: %s\n", buf);
		else if (rc == 0)
			printf("no failed launch\n");
		rc = rc == -1 ? -1 : 0;
	}
	if (rc != 0) {
		fprintf(stderr, "asgctl: %s\n", cause);
		free(cause);
	}
	if (stats)
		print_stats(provider_aws_client(p));
	provider_aws_free(p);
	return rc == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	struct aws_asg_config cfg = { .region = "eu-west-1" };
	struct aws_asg *a;
	char *cause = NULL, *end;
	const char *cmd;
	int i, rc = -1, stats = 0;
	size_t j;

	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		const char *o = argv[i];

		if (strcmp(o, "--stats") == 0) {
			stats = 1;
			continue;
		}
		if (i + 1 >= argc)
			usage();
		if (strcmp(o, "--region") == 0)
			cfg.region = argv[++i];
		else if (strcmp(o, "--endpoint") == 0)
			cfg.endpoint = argv[++i];
		else if (strcmp(o, "--credentials-file") == 0)
			cfg.credentials_file = argv[++i];
		else if (strcmp(o, "--profile") == 0)
			cfg.profile = argv[++i];
		else if (strcmp(o, "--timeout-ms") == 0)
			cfg.timeout_ms = atol(argv[++i]);
		else if (strcmp(o, "--retries") == 0)
			cfg.max_retries = atoi(argv[++i]);
		else if (strcmp(o, "--retry-base-ms") == 0)
			cfg.retry_base_ms = atol(argv[++i]);
		else if (strcmp(o, "--deadline-ms") == 0)
			cfg.deadline_ms = atol(argv[++i]);
		else
			usage();
	}
	if (i >= argc)
		usage();
	cmd = argv[i++];
	if (strcmp(cmd, "grow-to") == 0 || strcmp(cmd, "launch") == 0 ||
	    strcmp(cmd, "join") == 0 || strcmp(cmd, "delete") == 0 ||
	    strcmp(cmd, "failed-since") == 0)
		return provider_cmd(&cfg, cmd, argc - i, argv + i, stats);
	if ((a = aws_asg_new(&cfg, &cause)) == NULL) {
		fprintf(stderr, "asgctl: %s\n", cause);
		free(cause);
		return 1;
	}
	if (strcmp(cmd, "describe") == 0 && i + 1 == argc) {
		struct aws_asg_group g;

		if ((rc = aws_asg_describe(a, argv[i], &g, &cause)) == 0) {
			printf("group %s min %lld max %lld desired %lld "
			    "instances %zu\n", g.name, (long long)g.min,
			    (long long)g.max, (long long)g.desired,
			    g.n_instances);
			for (j = 0; j < g.n_instances; j++)
				printf("instance %s %s %s %s %s\n",
				    g.instances[j].id, g.instances[j].az,
				    g.instances[j].lifecycle,
				    g.instances[j].health,
				    g.instances[j].protected_ ? "protected" :
				    "unprotected");
			aws_asg_group_clear(&g);
		}
	} else if (strcmp(cmd, "set-desired") == 0 && i + 2 == argc) {
		long long n = strtoll(argv[i + 1], &end, 10);

		if (*end != '\0')
			usage();
		if ((rc = aws_asg_set_desired(a, argv[i], n, &cause)) == 0)
			printf("desired %s %lld\n", argv[i], n);
	} else if ((strcmp(cmd, "protect") == 0 ||
	    strcmp(cmd, "unprotect") == 0) && i + 2 <= argc) {
		rc = aws_asg_protect(a, argv[i],
		    (const char *const *)&argv[i + 1], (size_t)(argc - i - 1),
		    cmd[0] == 'p', &cause);
		if (rc == 0)
			printf("%sed %d\n", cmd, argc - i - 1);
	} else if (strcmp(cmd, "terminate") == 0 && i + 1 == argc) {
		if ((rc = aws_asg_terminate(a, argv[i], &cause)) == 0)
			printf("terminated %s\n", argv[i]);
	} else if (strcmp(cmd, "activities") == 0 &&
	    (i + 1 == argc || i + 2 == argc)) {
		struct aws_asg_activity *v;
		size_t n;

		rc = aws_asg_activities(a, argv[i], i + 2 == argc ?
		    atoi(argv[i + 1]) : 20, &v, &n, &cause);
		if (rc == 0) {
			for (j = 0; j < n; j++)
				printf("activity %s %s %s%s%s\n", v[j].id,
				    v[j].status, v[j].description,
				    v[j].message[0] ? " | " : "",
				    v[j].message);
			aws_asg_activities_free(v, n);
		}
	} else
		usage();
	if (rc != 0) {
		fprintf(stderr, "asgctl: %s\n", cause);
		free(cause);
	}
	if (stats)
		print_stats(a);
	aws_asg_free(a);
	return rc == 0 ? 0 : 1;
}
