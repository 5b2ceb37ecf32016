/*
 * stack_warn.c - keys of a stack file that berth keeps but does not act on.
 *
 * The parser accepts Kontena's whole vocabulary so that real stack files
 * install, but some keys do nothing yet: a file that counts on them must
 * not be told it got them. One table lists them with what is missing; the
 * master adds the warnings to the stack it returns on install and upgrade
 * (and on show), and the CLI prints them. When a key starts to act, its
 * row goes. Pure: called on the API threads with a normalized spec.
 */
#include "stacks/stack.h"

#include <stdio.h>
#include <string.h>

#include "common/util.h"

/* One inert key: where it is in the normalized spec, and what it lacks. */
static const struct stack_inert {
	const char	*key;		/* under a service ("deploy.interval"),
					   or the stack's own with top set */
	int		 top;		/* a key of the stack, not a service */
	const char	*why;		/* what berth does not do (yet) */
} stack_inert[] = {
	{ "expose", 1, "no stack DNS or load balancer reads it" },
};

/* The value at a dotted path under o, or NULL. */
static json_t *
stack_warn_get(json_t *o, const char *path)
{
	char head[64];
	const char *dot = strchr(path, '.');

	if (dot == NULL)
		return json_object_get(o, path);
	snprintf(head, sizeof head, "%.*s", (int)(dot - path), path);
	return stack_warn_get(json_object_get(o, head), dot + 1);
}

static void
stack_warn_add(json_t *out, const char *field, const char *why)
{
	struct buf b = { 0 };

	buf_printf(&b, "%s: accepted but not acted on: %s", field, why);
	json_array_append_new(out, json_string(b.data));
	buf_free(&b);
}

json_t *
stack_warnings(json_t *spec)
{
	json_t *out = json_array(), *svc, *v;
	const struct stack_inert *k;
	struct buf field = { 0 };
	size_t i, j;

	for (j = 0; j < sizeof stack_inert / sizeof stack_inert[0]; j++) {
		k = &stack_inert[j];
		if (!k->top)
			continue;
		v = stack_warn_get(spec, k->key);
		if (v != NULL && !json_is_null(v))
			stack_warn_add(out, k->key, k->why);
	}
	json_array_foreach(json_object_get(spec, "services"), i, svc) {
		for (j = 0; j < sizeof stack_inert / sizeof stack_inert[0];
		    j++) {
			k = &stack_inert[j];
			v = k->top ? NULL : stack_warn_get(svc, k->key);
			if (v == NULL || json_is_null(v))
				continue;
			buf_free(&field);
			buf_printf(&field, "services.%s.%s", json_string_value(
			    json_object_get(svc, "name")), k->key);
			stack_warn_add(out, field.data, k->why);
		}
	}
	buf_free(&field);
	return out;
}
