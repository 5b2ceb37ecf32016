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
 * options: --region R (default eu-west-1), --endpoint URL,
 *   --credentials-file F, --profile P, --timeout-ms MS, --retries N,
 *   --retry-base-ms MS, --stats (print "stats calls=N requests=N
 *   retries=N" last).
 *
 * Exits 0, or 1 with "asgctl: <cause>" on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "master/aws_asg.h"

static void
usage(void)
{
	fprintf(stderr, "usage: asgctl [--region R] [--endpoint URL] "
	    "[--credentials-file F] [--profile P] [--timeout-ms MS] "
	    "[--retries N] [--retry-base-ms MS] [--stats] COMMAND ARGS...\n"
	    "commands: describe G | set-desired G N | protect G ID... | "
	    "unprotect G ID... | terminate ID | activities G [MAX]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct aws_asg_config cfg = { .region = "eu-west-1" };
	struct aws_asg *a;
	struct aws_asg_stats st;
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
		else
			usage();
	}
	if (i >= argc)
		usage();
	cmd = argv[i++];
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
	if (stats) {
		aws_asg_get_stats(a, &st);
		printf("stats calls=%llu requests=%llu retries=%llu\n",
		    (unsigned long long)st.calls,
		    (unsigned long long)st.requests,
		    (unsigned long long)st.retries);
	}
	aws_asg_free(a);
	return rc == 0 ? 0 : 1;
}
