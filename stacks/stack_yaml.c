/*
 * stack_yaml.c - YAML text to a tree of struct snode, with the limits.
 *
 * Called by stack_parse() only. Uses libyaml's event API and builds the tree
 * with an explicit stack (never recursion), so that nesting deeper than
 * STACK_MAX_DEPTH is an error at the offending node instead of a stack
 * overflow. Aliases share the anchored node; the node count includes every
 * expansion so that "billion laughs" documents stop at STACK_MAX_NODES.
 * An alias to a collection that is still open (a recursive alias) is an
 * error, so the tree is always acyclic. Duplicate keys are found once a
 * mapping is complete by sorting its keys.
 *
 * Every node is also kept in ctx->nodes so stack_yaml_free() can free them
 * without walking the (shared) tree.
 */
#include "stacks/stack_int.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#define STACK_MAX_ANCHORS	256	/* bounds the linear anchor search */

/* Check that buf is UTF-8; report the first bad byte with its position. */
int
stack_utf8_check(struct stack_ctx *ctx, const char *buf, size_t len)
{
	const unsigned char *p = (const unsigned char *)buf;
	size_t i = 0, n, k;
	int line = 1, col = 1;
	unsigned int c, min;

	while (i < len) {
		c = p[i];
		if (c < 0x80) {
			n = 1;
			min = 0;
		} else if ((c & 0xe0) == 0xc0) {
			n = 2;
			c &= 0x1f;
			min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			n = 3;
			c &= 0x0f;
			min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			n = 4;
			c &= 0x07;
			min = 0x10000;
		} else
			goto bad;
		if (len - i < n)
			goto bad;
		for (k = 1; k < n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				goto bad;
			c = (c << 6) | (p[i + k] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			goto bad;
		if (c == 0) {
			stack_err(ctx, line, col, "", "NUL byte in the input");
			return -1;
		}
		if (c == '\n') {
			line++;
			col = 1;
		} else
			col++;
		i += n;
	}
	return 0;
bad:
	stack_err(ctx, line, col, "", "invalid UTF-8 (byte 0x%02x); stack "
	    "files must be UTF-8", p[i]);
	return -1;
}

/*
 * When the YAML is the Liquid output, the rendered line i (0-based), to
 * show with a syntax error at the template's line: "(rendered: ...)".
 */
static char *
yaml_rendered_line(struct stack_ctx *ctx, size_t i)
{
	const char *p = ctx->rendered, *e;
	char *out;

	if (p == NULL)
		return NULL;
	while (i > 0 && (p = strchr(p, '\n')) != NULL) {
		p++;
		i--;
	}
	if (p == NULL)
		return NULL;
	e = strchr(p, '\n');
	xasprintf(&out, " (the line rendered: \"%.*s\")", e != NULL &&
	    e - p < 120 ? (int)(e - p) : 120, p);
	return out;
}

static struct snode *
yaml_node_new(struct stack_ctx *ctx, enum snode_type type,
    const yaml_mark_t *mark)
{
	struct snode *n;

	n = xcalloc(1, sizeof *n);
	n->type = type;
	n->line = (int)mark->line + 1;
	n->col = (int)mark->column + 1;
	n->size = 1;
	if (type != SNODE_SCALAR)
		n->str = xstrdup("");	/* so any key compares safely */
	if (ctx->nnodes == ctx->nodes_cap) {
		ctx->nodes_cap = ctx->nodes_cap ? ctx->nodes_cap * 2 : 64;
		ctx->nodes = xreallocarray(ctx->nodes, ctx->nodes_cap,
		    sizeof *ctx->nodes);
	}
	ctx->nodes[ctx->nnodes++] = n;
	return n;
}

static void
yaml_node_add(struct snode *parent, struct snode *kid)
{
	if (parent->n == parent->cap) {
		parent->cap = parent->cap ? parent->cap * 2 : 8;
		parent->kids = xreallocarray(parent->kids, parent->cap,
		    sizeof *parent->kids);
	}
	parent->kids[parent->n++] = kid;
}

static int
yaml_key_cmp(const void *a, const void *b)
{
	const struct snode *ka = *(struct snode *const *)a;
	const struct snode *kb = *(struct snode *const *)b;
	int r;

	if ((r = strcmp(ka->str, kb->str)) != 0)
		return r;
	if (ka->line != kb->line)
		return ka->line < kb->line ? -1 : 1;
	return ka->col < kb->col ? -1 : ka->col > kb->col;
}

static int
yaml_is_merge(const struct snode *k)
{
	return k->type == SNODE_SCALAR && !k->quoted && strcmp(k->str, "<<") == 0;
}

static int
yaml_has_key(struct snode **kids, size_t n, const char *key)
{
	size_t i;

	for (i = 0; i < n; i += 2) {
		if (kids[i]->type == SNODE_SCALAR && strcmp(kids[i]->str,
		    key) == 0)
			return 1;
	}
	return 0;
}

/*
 * YAML merge keys: `<<: *base` or `<<: [*a, *b]` put the entries of those
 * mappings here, where the << is, except keys the mapping has itself
 * (anywhere) or an earlier merged mapping gave. Kontena's parser (Psych)
 * read them so; Psych lets a merge also override explicit keys written
 * before it, berth follows the YAML spec there (explicit keys win).
 */
static void
yaml_map_merge(struct stack_ctx *ctx, struct snode *map)
{
	struct snode **out = NULL, *v, *src;
	size_t i, j, m, nsrc, n = 0, cap = 0;
	int any = 0;

	for (i = 0; i < map->n; i += 2)
		any |= yaml_is_merge(map->kids[i]);
	if (!any)
		return;
	for (i = 0; i + 1 < map->n; i += 2) {
		if (!yaml_is_merge(map->kids[i])) {
			if (n + 2 > cap) {
				cap = cap ? cap * 2 : 16;
				out = xreallocarray(out, cap, sizeof *out);
			}
			out[n++] = map->kids[i];
			out[n++] = map->kids[i + 1];
			continue;
		}
		v = map->kids[i + 1];
		nsrc = v->type == SNODE_SEQ ? v->n : 1;
		for (m = 0; m < nsrc; m++) {
			src = v->type == SNODE_SEQ ? v->kids[m] : v;
			if (src->type != SNODE_MAP) {
				stack_errn(ctx, src, "<<", "a merge key (<<) takes "
				    "a mapping or a list of mappings, not a %s",
				    stack_type_name(src));
				continue;
			}
			for (j = 0; j + 1 < src->n; j += 2) {
				if (src->kids[j]->type != SNODE_SCALAR ||
				    yaml_has_key(out, n, src->kids[j]->str) ||
				    yaml_has_key(map->kids, map->n,
				    src->kids[j]->str))
					continue;
				if (n + 2 > cap) {
					cap = cap ? cap * 2 : 16;
					out = xreallocarray(out, cap,
					    sizeof *out);
				}
				out[n++] = src->kids[j];
				out[n++] = src->kids[j + 1];
			}
		}
	}
	free(map->kids);
	map->kids = out;
	map->n = n;
	map->cap = cap;
}

/* A mapping is complete: report keys given twice (at the later one). */
static void
yaml_map_dups(struct stack_ctx *ctx, struct snode *map)
{
	struct snode **keys;
	size_t i, n = SNODE_NPAIRS(map), k = 0;

	if (n < 2 || ctx->lenient)
		return;
	keys = xreallocarray(NULL, n, sizeof *keys);
	for (i = 0; i < n; i++) {
		if (SNODE_KEY(map, i)->type == SNODE_SCALAR)
			keys[k++] = SNODE_KEY(map, i);
	}
	qsort(keys, k, sizeof *keys, yaml_key_cmp);
	for (i = 1; i < k; i++) {
		if (strcmp(keys[i]->str, keys[i - 1]->str) == 0) {
			stack_errn(ctx, keys[i], keys[i]->str,
			    "duplicate key (first at line %d, column %d)",
			    keys[i - 1]->line, keys[i - 1]->col);
		}
	}
	free(keys);
}

/*
 * Attach a finished node (or an alias target) to the open collection on
 * top of the stack, or make it the root.
 */
static void
yaml_attach(struct stack_ctx *ctx, struct snode **stack, size_t depth,
    struct snode **root, struct snode *n, const yaml_mark_t *mark)
{
	struct snode *top;

	if (depth == 0) {
		*root = n;
		return;
	}
	top = stack[depth - 1];
	/* The raw text of a Liquid template may have {{ x }} as a key. */
	if (top->type == SNODE_MAP && top->n % 2 == 0 &&
	    n->type != SNODE_SCALAR && !ctx->lenient) {
		stack_err(ctx, (int)mark->line + 1, (int)mark->column + 1, "",
		    "a mapping key must be a plain value, not a %s",
		    stack_type_name(n));
	}
	yaml_node_add(top, n);
}

static const char *
yaml_scalar_tag_ok(const yaml_event_t *ev, int *quoted)
{
	const char *tag = (const char *)ev->data.scalar.tag;

	*quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
	if (tag == NULL || strcmp(tag, "!") == 0)
		return NULL;
	if (strcmp(tag, YAML_STR_TAG) == 0) {
		*quoted = 1;
		return NULL;
	}
	if (strcmp(tag, YAML_INT_TAG) == 0 || strcmp(tag, YAML_BOOL_TAG) == 0 ||
	    strcmp(tag, YAML_FLOAT_TAG) == 0 || strcmp(tag, YAML_NULL_TAG) == 0)
		return NULL;
	return tag;
}

struct snode *
stack_yaml_load(struct stack_ctx *ctx, const char *buf, size_t len)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	struct snode *stack[STACK_MAX_DEPTH + 1], *root = NULL, *n, *a;
	struct snode *anchors[STACK_MAX_ANCHORS];
	size_t depth = 0, nanchors = 0, i;
	const char *anchor, *tag;
	int docs = 0, done = 0, failed = 0, quoted;

	if (!yaml_parser_initialize(&parser)) {
		stack_err(ctx, 1, 1, "", "cannot initialise the YAML parser");
		return NULL;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);
	while (!done && !failed) {
		if (!yaml_parser_parse(&parser, &ev)) {
			char *shown = yaml_rendered_line(ctx,
			    (size_t)parser.problem_mark.line);

			stack_err(ctx, (int)parser.problem_mark.line + 1,
			    (int)parser.problem_mark.column + 1, "",
			    "YAML syntax error: %s%s%s%s",
			    parser.problem ? parser.problem : "unknown",
			    parser.context ? " " : "",
			    parser.context ? parser.context : "",
			    shown != NULL ? shown : "");
			free(shown);
			failed = 1;
			break;
		}
		anchor = NULL;
		n = NULL;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1) {
				stack_err(ctx, (int)ev.start_mark.line + 1,
				    (int)ev.start_mark.column + 1, "",
				    "more than one YAML document in the file");
				failed = 1;
			}
			break;
		case YAML_ALIAS_EVENT:
			a = NULL;
			for (i = nanchors; i > 0; i--) {
				if (strcmp(anchors[i - 1]->anchor,
				    (char *)ev.data.alias.anchor) == 0) {
					a = anchors[i - 1];
					break;
				}
			}
			if (a == NULL || !a->complete) {
				stack_err(ctx, (int)ev.start_mark.line + 1,
				    (int)ev.start_mark.column + 1, "",
				    "%s alias *%s", a == NULL ? "unknown" :
				    "recursive", ev.data.alias.anchor);
				failed = 1;
				break;
			}
			ctx->expanded += a->size;
			if (ctx->expanded > STACK_MAX_NODES)
				goto too_many;
			if (depth > 0)
				stack[depth - 1]->size += a->size;
			yaml_attach(ctx, stack, depth, &root, a, &ev.start_mark);
			break;
		case YAML_SCALAR_EVENT:
			if (++ctx->expanded > STACK_MAX_NODES)
				goto too_many;
			n = yaml_node_new(ctx, SNODE_SCALAR, &ev.start_mark);
			n->str = xmalloc(ev.data.scalar.length + 1);
			memcpy(n->str, ev.data.scalar.value,
			    ev.data.scalar.length);
			n->str[ev.data.scalar.length] = '\0';
			n->len = ev.data.scalar.length;
			if (strlen(n->str) != n->len) {
				stack_errn(ctx, n, "", "NUL character in a "
				    "value");
			}
			if ((tag = yaml_scalar_tag_ok(&ev, &quoted)) != NULL) {
				stack_errn(ctx, n, "", "YAML tag %s is not "
				    "supported", tag);
			}
			n->quoted = quoted;
			n->complete = 1;
			anchor = (const char *)ev.data.scalar.anchor;
			if (depth > 0)
				stack[depth - 1]->size++;
			yaml_attach(ctx, stack, depth, &root, n,
			    &ev.start_mark);
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (++ctx->expanded > STACK_MAX_NODES)
				goto too_many;
			if (depth == STACK_MAX_DEPTH) {
				stack_err(ctx, (int)ev.start_mark.line + 1,
				    (int)ev.start_mark.column + 1, "",
				    "nesting deeper than %d levels",
				    STACK_MAX_DEPTH);
				failed = 1;
				break;
			}
			if (ev.type == YAML_SEQUENCE_START_EVENT) {
				n = yaml_node_new(ctx, SNODE_SEQ,
				    &ev.start_mark);
				anchor = (const char *)
				    ev.data.sequence_start.anchor;
				tag = (const char *)ev.data.sequence_start.tag;
			} else {
				n = yaml_node_new(ctx, SNODE_MAP,
				    &ev.start_mark);
				anchor = (const char *)
				    ev.data.mapping_start.anchor;
				tag = (const char *)ev.data.mapping_start.tag;
			}
			if (tag != NULL && strcmp(tag, YAML_SEQ_TAG) != 0 &&
			    strcmp(tag, YAML_MAP_TAG) != 0) {
				stack_errn(ctx, n, "", "YAML tag %s is not "
				    "supported", tag);
			}
			yaml_attach(ctx, stack, depth, &root, n,
			    &ev.start_mark);
			stack[depth++] = n;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			n = stack[--depth];
			n->complete = 1;
			if (n->type == SNODE_MAP) {
				yaml_map_dups(ctx, n);
				yaml_map_merge(ctx, n);
			}
			if (depth > 0)
				stack[depth - 1]->size += n->size;
			n = NULL;
			break;
		default:
			break;
		}
		if (anchor != NULL && n != NULL) {
			if (nanchors == STACK_MAX_ANCHORS) {
				stack_errn(ctx, n, "", "more than %d YAML "
				    "anchors", STACK_MAX_ANCHORS);
				failed = 1;
			} else {
				n->anchor = xstrdup(anchor);
				anchors[nanchors++] = n;
			}
		}
		yaml_event_delete(&ev);
		continue;
too_many:
		stack_err(ctx, (int)ev.start_mark.line + 1,
		    (int)ev.start_mark.column + 1, "", "more than %d YAML "
		    "nodes (aliases counted expanded)", STACK_MAX_NODES);
		yaml_event_delete(&ev);
		failed = 1;
	}
	yaml_parser_delete(&parser);
	if (failed)
		return NULL;
	if (root == NULL) {
		stack_err(ctx, 1, 1, "", "the stack file is empty");
		return NULL;
	}
	return root;
}

void
stack_yaml_free(struct stack_ctx *ctx)
{
	size_t i;

	for (i = 0; i < ctx->nnodes; i++) {
		free(ctx->nodes[i]->str);
		free(ctx->nodes[i]->kids);
		free(ctx->nodes[i]->anchor);
		free(ctx->nodes[i]);
	}
	free(ctx->nodes);
	ctx->nodes = NULL;
	ctx->nnodes = ctx->nodes_cap = 0;
}
