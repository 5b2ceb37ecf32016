/*
 * affinity.c - parse "<kind><op>[~]<value>" affinity rules.
 *
 * Pure; any thread. See affinity.h for the syntax.
 */
#include "affinity.h"
#include "util.h"
#include "xmalloc.h"

#include <stdlib.h>
#include <string.h>

static const char *affinity_kinds[] = {
	[AFFINITY_NODE] = "node",
	[AFFINITY_LABEL] = "label",
	[AFFINITY_SERVICE] = "service",
	[AFFINITY_CONTAINER] = "container",
};

const char *
affinity_kind_name(enum affinity_kind kind)
{
	return affinity_kinds[kind];
}

int
affinity_parse(const char *s, struct affinity *out, char **cause)
{
	const char *op, *value;
	size_t i, klen;

	memset(out, 0, sizeof *out);
	op = strstr(s, "==");
	if (op == NULL || (strstr(s, "!=") != NULL && strstr(s, "!=") < op))
		op = strstr(s, "!=");
	if (op == NULL) {
		xasprintf(cause, "affinity \"%s\" has no == or != operator", s);
		return -1;
	}
	klen = (size_t)(op - s);
	for (i = 0; i < sizeof affinity_kinds / sizeof affinity_kinds[0]; i++) {
		if (strlen(affinity_kinds[i]) == klen &&
		    strncmp(s, affinity_kinds[i], klen) == 0)
			break;
	}
	if (i == sizeof affinity_kinds / sizeof affinity_kinds[0]) {
		xasprintf(cause, "affinity \"%s\": unknown kind \"%.*s\" "
		    "(expected node, label, service or container)", s,
		    (int)klen, s);
		return -1;
	}
	out->kind = (enum affinity_kind)i;
	out->negate = op[0] == '!';
	value = op + 2;
	if (*value == '~') {
		out->soft = 1;
		value++;
	}
	if (*value == '\0') {
		xasprintf(cause, "affinity \"%s\" has an empty value", s);
		return -1;
	}
	for (i = 0; value[i] != '\0'; i++) {
		if ((unsigned char)value[i] <= 0x20 ||
		    (unsigned char)value[i] >= 0x7f) {
			xasprintf(cause, "affinity \"%s\": value has a space "
			    "or a non-ASCII byte", s);
			return -1;
		}
	}
	if (out->kind == AFFINITY_LABEL && strchr(value, '=') != NULL &&
	    !util_label_valid(value)) {
		xasprintf(cause, "affinity \"%s\": \"%s\" is not a valid "
		    "key=value label", s, value);
		return -1;
	}
	out->value = xstrdup(value);
	return 0;
}

void
affinity_clear(struct affinity *a)
{
	free(a->value);
	a->value = NULL;
}
