/*
 * job_spec.h - parse and validate a job: the body of POST
 * /v1/grids/{g}/jobs and the file of `berth job run -f job.yml`.
 *
 * One parser for both: a job is YAML (or its JSON form, which is valid
 * YAML), read into the stack parser's tree (stack_yaml.c) so that every
 * error carries its line, column and key, and every field is checked here
 * (docs/jobs.md lists them). Values are taken as written: no ${VAR}
 * interpolation (a job's command may well say $HOME). The result is the
 * normalized job, whose form is itself valid input (sizes in bytes,
 * durations in seconds), so the CLI can parse a file locally and send what
 * it got, and the master parses it again.
 *
 * Pure and stateless; any thread may call it.
 */
#ifndef BERTH_JOB_SPEC_H
#define BERTH_JOB_SPEC_H

#include <stddef.h>

#include <jansson.h>

#include "stacks/stack.h"

#define JOB_NAME_MAX		63	/* [a-z0-9][a-z0-9-]* */
#define JOB_MAX_PARALLEL	1000	/* tasks of one job */
#define JOB_MAX_RETRIES		100
#define JOB_MAX_PRIORITY	1000	/* priorities are -1000..1000 */
#define JOB_MAX_TIMEOUT_S	(30 * 86400)
#define JOB_MAX_BACKOFF_S	3600
#define JOB_DEFAULT_BACKOFF_S	10
#define JOB_MIN_MEMORY		(6 * 1024 * 1024) /* Docker's own floor */
#define JOB_MAX_LIST		1000	/* command words, env entries */
#define JOB_MAX_LABELS		64
#define JOB_MAX_AFFINITY	64

/*
 * Parse len bytes of buf (need not be NUL-terminated); file names it in
 * errors. The normalized job, a new object (caller's reference):
 *
 *	{"name": "build" | null, "image": "...", "command": [...] | null,
 *	 "env": ["K=V", ...], "cpus": 1.5 | null, "memory": bytes | null,
 *	 "affinity": ["label==x=y", ...], "timeout": seconds (0: none),
 *	 "retries": n, "backoff": seconds, "parallel": n, "priority": n,
 *	 "labels": {"k": "v", ...}}
 *
 * or NULL with every problem in errs (which must be empty on entry).
 */
json_t	*job_spec_parse(const char *buf, size_t len, const char *file,
	    struct stack_errors *errs);

/* A job name is [a-z0-9][a-z0-9-]{0,62}. */
int	 job_name_valid(const char *name);

#endif
