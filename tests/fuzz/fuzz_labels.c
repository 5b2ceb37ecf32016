/*
 * fuzz_labels.c - libFuzzer target for labels, names and affinity rules,
 * wherever they come in from outside:
 *
 *	util_label_valid, util_name_valid	(common/util.c: every edge)
 *	affinity_parse				(common/affinity.c: stack files)
 *	frame_labels				(master: Berth-Node-Labels header)
 *	agent_config_parse_labels, _join	(agent: BERTH_LABELS)
 *	api_cloud_config_label			(master: cloud-config ?label=)
 *
 * The input is one string; for the cloud-config it is split at '&' into
 * label= arguments. Besides "no crash, no leak", the chain a user meets
 * must hold together: labels a cloud-config accepts are labels the agent
 * accepts from BERTH_LABELS, and the header the agent then sends is one
 * the master accepts with the same labels.
 */
#include "master/api.h"
#include "master/hub_frame.h"

#include "agent/config.h"

#include "common/affinity.h"
#include "common/proto.h"
#include "common/util.h"
#include "common/xmalloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CC_MAX	80	/* label= arguments tried, over the limit */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The master's reading of the header the agent sends for labels. */
static void
fuzz_agent_to_master(char **labels, size_t n)
{
	char *hdr = agent_config_labels_join(labels, n), *text;
	json_t *arr;
	size_t i;

	/* hub_admit() reads at most PROTO_MAX_LABELS_HDR bytes of it. */
	if (strlen(hdr) > PROTO_MAX_LABELS_HDR) {
		fprintf(stderr, "fuzz: the agent's labels header is %zu "
		    "bytes\n", strlen(hdr));
		abort();
	}
	text = frame_labels(hdr);
	if (text == NULL) {
		fprintf(stderr, "fuzz: the master refuses the agent's labels "
		    "header \"%s\"\n", hdr);
		abort();
	}
	arr = json_loads(text, 0, NULL);
	if (!json_is_array(arr) || json_array_size(arr) != n)
		abort();
	for (i = 0; i < n; i++)
		if (strcmp(json_string_value(json_array_get(arr, i)),
		    labels[i]) != 0)
			abort();
	json_decref(arr);
	free(text);
	free(hdr);
}

static void
fuzz_free_labels(char **labels, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(labels[i]);
	free(labels);
}

static void
fuzz_cloud_config(const char *s)
{
	const char *prev[FUZZ_CC_MAX];
	char *copy = xstrdup(s), *p, *save = NULL, **labels = NULL, *cause = NULL;
	struct buf env = { NULL, 0, 0 };
	size_t n;
	int np = 0;

	buf_append(&env, "", 0);
	for (p = strtok_r(copy, "&", &save); p != NULL && np < FUZZ_CC_MAX;
	    p = strtok_r(NULL, "&", &save)) {
		if (api_cloud_config_label(p, prev, np) != NULL)
			continue;
		if (!util_label_valid(p) || strpbrk(p, "\"'\\$`") != NULL)
			abort();
		buf_printf(&env, "%s%s", np ? "," : "", p);
		prev[np++] = p;
	}
	if (np > 64)
		abort();
	/* BERTH_LABELS=<env.data> in the env file; the agent reads it. */
	if (agent_config_parse_labels("BERTH_LABELS", env.data, &labels, &n,
	    &cause) != 0) {
		fprintf(stderr, "fuzz: the agent refuses the cloud-config's "
		    "BERTH_LABELS=%s: %s\n", env.data, cause);
		abort();
	}
	if (n != (size_t)np)
		abort();
	fuzz_agent_to_master(labels, n);
	fuzz_free_labels(labels, n);
	buf_free(&env);
	free(copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct affinity a;
	char *s, *cause = NULL, *text, **labels = NULL, *eq;
	size_t n;
	int rc;

	s = xmalloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';

	if (util_label_valid(s)) {
		eq = strchr(s, '=');
		if (eq == NULL || eq == s || eq - s > 63 || strlen(eq + 1) > 255 ||
		    strpbrk(s, ", \t\r\n") != NULL)
			abort();
	}
	if (util_name_valid(s) && (strlen(s) == 0 || strlen(s) > 63 ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(s) ||
	    s[0] == '-'))
		abort();

	rc = affinity_parse(s, &a, &cause);
	if ((rc == 0) != (cause == NULL))
		abort();
	if (rc == 0) {
		if (a.value == NULL || a.value[0] == '\0' ||
		    affinity_kind_name(a.kind) == NULL)
			abort();
		affinity_clear(&a);
	}
	free(cause);
	cause = NULL;

	if ((text = frame_labels(s)) != NULL) {
		json_t *arr = json_loads(text, 0, NULL), *v;
		size_t i, j;

		if (!json_is_array(arr))
			abort();
		json_array_foreach(arr, i, v) {
			if (!util_label_valid(json_string_value(v)))
				abort();
			for (j = 0; j < i; j++)
				if (util_label_same_key(json_string_value(v),
				    json_string_value(json_array_get(arr, j))))
					abort();
		}
		json_decref(arr);
		free(text);
	}

	if (agent_config_parse_labels("BERTH_LABELS", s, &labels, &n,
	    &cause) == 0) {
		fuzz_agent_to_master(labels, n);
		fuzz_free_labels(labels, n);
	} else if (cause == NULL)
		abort();
	free(cause);

	fuzz_cloud_config(s);
	free(s);
	return 0;
}
