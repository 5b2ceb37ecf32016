/*
 * affinity.h - Kontena's affinity rule syntax, parsed once for everyone.
 *
 * A rule is "<kind><op><value>": kind is node, label, service or container;
 * op is "==" or "!="; a "~" right after the op makes the rule soft (a
 * preference the scheduler may break when nothing else fits). Examples:
 *
 *	node==node-1		label==ephemeral=true	label!=~az=b
 *	service!=db		container==web-1
 *
 * A label value is "key" (the node has the label, any value) or "key=value".
 * The stack validator uses affinity_parse() to reject bad rules with a
 * reason; the scheduler uses the parsed form.
 */
#ifndef BERTH_AFFINITY_H
#define BERTH_AFFINITY_H

enum affinity_kind {
	AFFINITY_NODE = 0,
	AFFINITY_LABEL,
	AFFINITY_SERVICE,
	AFFINITY_CONTAINER,
};

struct affinity {
	enum affinity_kind	 kind;		/* what the rule looks at */
	int			 negate;	/* 1 for "!=" */
	int			 soft;		/* 1 for "==~" / "!=~" */
	char			*value;		/* what it compares (owned) */
};

/* Parse s into *out. 0, or -1 with *cause (caller frees) naming the fault. */
int	 affinity_parse(const char *s, struct affinity *out, char **cause);
/* Free what affinity_parse() allocated; safe on a zeroed struct. */
void	 affinity_clear(struct affinity *a);
/* The kind's name as written in rules ("node", "label", ...). */
const char *affinity_kind_name(enum affinity_kind kind);

#endif
