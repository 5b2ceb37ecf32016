/*
 * dns_names.c - the grid's names: a `names` frame checked and indexed
 * (see dns.h, docs/dns.md).
 *
 * The frame comes from the master, so it is outside input: every field is
 * checked and the first fault refuses the whole frame with its path.
 * Names are kept in their DNS form (lower case, '_' made '-', as
 * stacks/stack_value.c's stack_dns_name()), so a lookup is one hash probe
 * of the name relative to the domain:
 *   "svc.stack"	every instance of the service
 *   "svc-N.stack"	instance N (added only where no service has that name)
 *   "stack"		the stack's exposed service
 * plus a stack set (for the relative "svc.stack") and the askers: each
 * instance address to its service, whose links give the aliases.
 *
 * A table is built once and never changed, so any number of threads may
 * read it; dns.c swaps whole tables.
 */
#include "agent/dns.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/netaddr.h"
#include "common/xmalloc.h"

#define DNS_NAME_MAX	253	/* a domain name in text, no trailing dot */
#define DNS_LABEL_MAX	63

/* A set of addresses a name stands for. */
struct dns_rrset {
	const uint32_t	*addrs;		/* into a service's addrs */
	size_t		 n;
};

/* A link of a service: alias -> another service ("svc.stack" key). */
struct dns_link {
	char		*alias;		/* DNS form */
	char		*target;	/* "service.stack", DNS form */
};

struct dns_svc {
	char		*stack;		/* DNS form */
	char		*name;		/* DNS form */
	int		 exposed;	/* the stack's expose */
	struct dns_link	*links;
	size_t		 nlinks;
	uint32_t	*addrs;		/* its running instances, host order */
	int64_t		*ns;		/* their instance numbers */
	size_t		 n;
};

/* Open addressing, string keys, linear probing; never removed from. */
struct dns_map {
	char		**keys;		/* NULL: empty slot */
	size_t		*vals;
	size_t		 cap;		/* a power of two, > 2 * used */
	size_t		 used;
};

struct dns_table {
	char		*domain;	/* the frame's domain */
	char		*kontena;	/* GRID.kontena.local */
	struct dns_svc	*svcs;
	size_t		 nsvcs;
	struct dns_rrset *sets;		/* values of names */
	size_t		 nsets;
	struct dns_map	 names;		/* relative name -> sets index */
	struct dns_map	 stacks;	/* stack -> 0 */
	struct dns_map	 askers;	/* "a.b.c.d" -> svcs index */
};

static uint64_t
dns_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s != '\0')
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

static void
dns_map_init(struct dns_map *m, size_t want)
{
	m->cap = 16;
	while (m->cap < want * 2 + 1)
		m->cap *= 2;
	m->keys = xcalloc(m->cap, sizeof *m->keys);
	m->vals = xcalloc(m->cap, sizeof *m->vals);
	m->used = 0;
}

static void
dns_map_free(struct dns_map *m)
{
	size_t i;

	for (i = 0; i < m->cap; i++)
		free(m->keys[i]);
	free(m->keys);
	free(m->vals);
}

/* Find key: 1 and *val, or 0. */
static int
dns_map_get(const struct dns_map *m, const char *key, size_t *val)
{
	size_t i;

	if (m->cap == 0)
		return 0;
	for (i = dns_hash(key) & (m->cap - 1); m->keys[i] != NULL;
	    i = (i + 1) & (m->cap - 1)) {
		if (strcmp(m->keys[i], key) == 0) {
			*val = m->vals[i];
			return 1;
		}
	}
	return 0;
}

/* Add key (copied) unless present: 1 if added, 0 if it was there. */
static int
dns_map_add(struct dns_map *m, const char *key, size_t val)
{
	struct dns_map old;
	size_t i, v;

	if (dns_map_get(m, key, &v))
		return 0;
	if ((m->used + 1) * 2 >= m->cap) {
		old = *m;
		dns_map_init(m, old.used + 1);
		for (i = 0; i < old.cap; i++) {
			if (old.keys[i] != NULL)
				dns_map_add(m, old.keys[i], old.vals[i]);
		}
		dns_map_free(&old);
	}
	for (i = dns_hash(key) & (m->cap - 1); m->keys[i] != NULL;
	    i = (i + 1) & (m->cap - 1))
		;
	m->keys[i] = xstrdup(key);
	m->vals[i] = val;
	m->used++;
	return 1;
}

void
dns_table_free(struct dns_table *t)
{
	size_t i, j;

	if (t == NULL)
		return;
	for (i = 0; i < t->nsvcs; i++) {
		struct dns_svc *s = &t->svcs[i];

		free(s->stack);
		free(s->name);
		for (j = 0; j < s->nlinks; j++) {
			free(s->links[j].alias);
			free(s->links[j].target);
		}
		free(s->links);
		free(s->addrs);
		free(s->ns);
	}
	free(t->svcs);
	free(t->sets);
	dns_map_free(&t->names);
	dns_map_free(&t->stacks);
	dns_map_free(&t->askers);
	free(t->domain);
	free(t->kontena);
	free(t);
}

const char *
dns_table_domain(const struct dns_table *t)
{
	return t->domain;
}

/* ---- the frame ------------------------------------------------------------ */

/*
 * A stack, service or alias name as stacks/ allows them ([A-Za-z0-9_-],
 * 1 to 63, the first a letter or digit) into its DNS form; -1 if not one.
 */
static int
dns_name_form(const char *s, char *out)
{
	size_t i;

	if (!isalnum((unsigned char)s[0]))
		return -1;
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= DNS_LABEL_MAX || !(isalnum((unsigned char)s[i]) ||
		    s[i] == '_' || s[i] == '-') || (s[i] & 0x80))
			return -1;
		out[i] = s[i] == '_' ? '-' : (char)tolower((unsigned char)s[i]);
	}
	out[i] = '\0';
	return 0;
}

/* A domain: dot-separated labels of [a-z0-9-], no trailing dot. */
static int
dns_domain_valid(const char *s)
{
	size_t len = 0, i;

	if (strlen(s) > DNS_NAME_MAX)
		return 0;
	for (i = 0;; i++) {
		if (s[i] == '.' || s[i] == '\0') {
			if (len == 0 || s[i - 1] == '-' || s[i - len] == '-')
				return 0;
			if (s[i] == '\0')
				return 1;
			len = 0;
			continue;
		}
		if (!(islower((unsigned char)s[i]) ||
		    isdigit((unsigned char)s[i]) || s[i] == '-') ||
		    ++len > DNS_LABEL_MAX)
			return 0;
	}
}

/* The sticky first error of a frame. */
static int
dns_fail(char **cause, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
dns_fail(char **cause, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	xvasprintf(cause, fmt, ap);
	va_end(ap);
	return -1;
}

/* A required string member in its DNS form. */
static int
dns_get_name(json_t *o, const char *key, const char *path, char *out,
    char **cause)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL)
		return dns_fail(cause, "%s.%s: missing", path, key);
	if (!json_is_string(v))
		return dns_fail(cause, "%s.%s: not a string", path, key);
	if (dns_name_form(json_string_value(v), out) != 0)
		return dns_fail(cause, "%s.%s: not a name ([A-Za-z0-9_-], 1 "
		    "to 63 characters, beginning with a letter or digit)",
		    path, key);
	return 0;
}

static int
dns_parse_links(struct dns_svc *s, json_t *links, const char *path,
    char **cause)
{
	char p[96], alias[DNS_LABEL_MAX + 1], stack[DNS_LABEL_MAX + 1];
	char svc[DNS_LABEL_MAX + 1];
	json_t *l;
	size_t i, j;

	if (!json_is_array(links))
		return dns_fail(cause, "%s.links: not an array", path);
	s->links = xcalloc(json_array_size(links) + 1, sizeof *s->links);
	json_array_foreach(links, i, l) {
		snprintf(p, sizeof p, "%s.links[%zu]", path, i);
		if (!json_is_object(l))
			return dns_fail(cause, "%s: not an object", p);
		if (dns_get_name(l, "alias", p, alias, cause) != 0 ||
		    dns_get_name(l, "stack", p, stack, cause) != 0 ||
		    dns_get_name(l, "service", p, svc, cause) != 0)
			return -1;
		for (j = 0; j < s->nlinks; j++) {
			if (strcmp(s->links[j].alias, alias) == 0)
				return dns_fail(cause, "%s.alias: \"%s\" "
				    "twice", p, alias);
		}
		s->links[s->nlinks].alias = xstrdup(alias);
		xasprintf(&s->links[s->nlinks].target, "%s.%s", svc, stack);
		s->nlinks++;
	}
	return 0;
}

static int
dns_parse_instances(struct dns_svc *s, json_t *insts, const char *path,
    char **cause)
{
	char p[96];
	json_t *o, *v;
	size_t i, j;
	uint32_t ip;

	if (!json_is_array(insts))
		return dns_fail(cause, "%s.instances: not an array", path);
	s->addrs = xcalloc(json_array_size(insts) + 1, sizeof *s->addrs);
	s->ns = xcalloc(json_array_size(insts) + 1, sizeof *s->ns);
	json_array_foreach(insts, i, o) {
		snprintf(p, sizeof p, "%s.instances[%zu]", path, i);
		if (!json_is_object(o))
			return dns_fail(cause, "%s: not an object", p);
		v = json_object_get(o, "n");
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > 1000000)
			return dns_fail(cause, "%s.n: not an instance number "
			    "(1 to 1000000)", p);
		for (j = 0; j < s->n; j++) {
			if (s->ns[j] == json_integer_value(v))
				return dns_fail(cause, "%s.n: instance %lld "
				    "twice", p, (long long)s->ns[j]);
		}
		s->ns[s->n] = json_integer_value(v);
		v = json_object_get(o, "address");
		if (!json_is_string(v) ||
		    netaddr_parse_ip(json_string_value(v), &ip) != 0)
			return dns_fail(cause, "%s.address: not an IPv4 "
			    "address", p);
		s->addrs[s->n++] = ip;
	}
	return 0;
}

static int
dns_parse_service(struct dns_table *t, json_t *o, size_t i, char **cause)
{
	struct dns_svc *s = &t->svcs[t->nsvcs];
	char p[64], key[2 * DNS_LABEL_MAX + 2];
	char stack[DNS_LABEL_MAX + 1], name[DNS_LABEL_MAX + 1];
	json_t *v;

	snprintf(p, sizeof p, "names.services[%zu]", i);
	if (!json_is_object(o))
		return dns_fail(cause, "%s: not an object", p);
	if (dns_get_name(o, "stack", p, stack, cause) != 0 ||
	    dns_get_name(o, "service", p, name, cause) != 0)
		return -1;
	t->nsvcs++;		/* from here on, dns_table_free() frees it */
	s->stack = xstrdup(stack);
	s->name = xstrdup(name);
	v = json_object_get(o, "exposed");
	if (v != NULL && !json_is_boolean(v))
		return dns_fail(cause, "%s.exposed: not a boolean", p);
	s->exposed = json_is_true(v);
	v = json_object_get(o, "links");
	if (v != NULL && dns_parse_links(s, v, p, cause) != 0)
		return -1;
	v = json_object_get(o, "instances");
	if (v == NULL)
		return dns_fail(cause, "%s.instances: missing", p);
	if (dns_parse_instances(s, v, p, cause) != 0)
		return -1;

	snprintf(key, sizeof key, "%s.%s", name, stack);
	t->sets[t->nsets].addrs = s->addrs;
	t->sets[t->nsets].n = s->n;
	if (!dns_map_add(&t->names, key, t->nsets))
		return dns_fail(cause, "%s.service: %s of stack %s twice", p,
		    name, stack);
	t->nsets++;
	dns_map_add(&t->stacks, stack, 0);
	if (s->exposed) {
		t->sets[t->nsets].addrs = s->addrs;
		t->sets[t->nsets].n = s->n;
		if (!dns_map_add(&t->names, stack, t->nsets))
			return dns_fail(cause, "%s.exposed: stack %s has "
			    "another exposed service", p, stack);
		t->nsets++;
	}
	return 0;
}

struct dns_table *
dns_table_new(json_t *frame, char **cause)
{
	struct dns_table *t;
	json_t *v, *svcs;
	const char *domain, *grid;
	char key[2 * DNS_LABEL_MAX + 16], ipt[16], g[DNS_LABEL_MAX + 1];
	size_t i, j, ninst = 0;

	*cause = NULL;
	if (!json_is_object(frame)) {
		dns_fail(cause, "names: not an object");
		return NULL;
	}
	v = json_object_get(frame, "grid");
	if (!json_is_string(v) || dns_name_form(json_string_value(v), g) != 0 ||
	    strcmp(g, json_string_value(v)) != 0) {
		dns_fail(cause, "names.grid: not a grid name");
		return NULL;
	}
	grid = json_string_value(v);
	v = json_object_get(frame, "domain");
	if (!json_is_string(v) || !dns_domain_valid(json_string_value(v))) {
		dns_fail(cause, "names.domain: not a domain name (lower-case "
		    "labels of [a-z0-9-] joined by dots)");
		return NULL;
	}
	domain = json_string_value(v);
	svcs = json_object_get(frame, "services");
	if (!json_is_array(svcs)) {
		dns_fail(cause, "names.services: %s", svcs == NULL ?
		    "missing" : "not an array");
		return NULL;
	}
	json_array_foreach(svcs, i, v)
		ninst += json_array_size(json_object_get(v, "instances"));

	t = xcalloc(1, sizeof *t);
	t->domain = xstrdup(domain);
	xasprintf(&t->kontena, "%s.kontena.local", grid);
	t->svcs = xcalloc(json_array_size(svcs) + 1, sizeof *t->svcs);
	t->sets = xcalloc(2 * json_array_size(svcs) + ninst + 1,
	    sizeof *t->sets);
	dns_map_init(&t->names, 2 * json_array_size(svcs) + ninst);
	dns_map_init(&t->stacks, json_array_size(svcs));
	dns_map_init(&t->askers, ninst);
	json_array_foreach(svcs, i, v) {
		if (dns_parse_service(t, v, i, cause) != 0)
			goto fail;
	}
	/* Instance names after every service: a service named "web-2"
	 * wins over instance 2 of "web". Then the askers. */
	for (i = 0; i < t->nsvcs; i++) {
		struct dns_svc *s = &t->svcs[i];

		for (j = 0; j < s->n; j++) {
			snprintf(key, sizeof key, "%s-%lld.%s", s->name,
			    (long long)s->ns[j], s->stack);
			t->sets[t->nsets].addrs = &s->addrs[j];
			t->sets[t->nsets].n = 1;
			if (dns_map_add(&t->names, key, t->nsets))
				t->nsets++;
			netaddr_format_ip(s->addrs[j], ipt);
			dns_map_add(&t->askers, ipt, i);	/* first wins */
		}
	}
	return t;
fail:
	dns_table_free(t);
	return NULL;
}

/* ---- lookup --------------------------------------------------------------- */

/* If name ends in ".zone" (or is zone), its length before that; else -1. */
static long
dns_under(const char *name, size_t len, const char *zone)
{
	size_t zl = strlen(zone);

	if (len == zl && memcmp(name, zone, zl) == 0)
		return 0;
	if (len > zl + 1 && name[len - zl - 1] == '.' &&
	    memcmp(name + len - zl, zone, zl) == 0)
		return (long)(len - zl - 1);
	return -1;
}

static const struct dns_svc *
dns_asker(const struct dns_table *t, uint32_t asker)
{
	char ipt[16];
	size_t i;

	if (asker == 0)
		return NULL;
	netaddr_format_ip(asker, ipt);
	return dns_map_get(&t->askers, ipt, &i) ? &t->svcs[i] : NULL;
}

/* The asker's link alias in stack (NULL: any stack); its target, or NULL. */
static const char *
dns_alias(const struct dns_svc *a, const char *alias, size_t alen,
    const char *stack)
{
	size_t i;

	if (a == NULL || (stack != NULL && strcmp(a->stack, stack) != 0))
		return NULL;
	for (i = 0; i < a->nlinks; i++) {
		if (strlen(a->links[i].alias) == alen &&
		    memcmp(a->links[i].alias, alias, alen) == 0)
			return a->links[i].target;
	}
	return NULL;
}

static enum dns_where
dns_found(const struct dns_table *t, const char *key, const uint32_t **addrs,
    size_t *n)
{
	size_t i;

	if (!dns_map_get(&t->names, key, &i))
		return DNS_NXDOMAIN;
	*addrs = t->sets[i].addrs;
	*n = t->sets[i].n;
	return DNS_FOUND;
}

/* A target of a link: found, or a name with no address for now. */
static enum dns_where
dns_link_found(const struct dns_table *t, const char *target,
    const uint32_t **addrs, size_t *n)
{
	if (dns_found(t, target, addrs, n) != DNS_FOUND) {
		*addrs = NULL;
		*n = 0;
	}
	return DNS_FOUND;
}

/* rel: the part of a name under the domain ("svc.stack", "stack"). */
static enum dns_where
dns_lookup_rel(const struct dns_table *t, const char *rel,
    const struct dns_svc *a, const uint32_t **addrs, size_t *n)
{
	const char *dot = strchr(rel, '.'), *target;

	if (dot != NULL && strchr(dot + 1, '.') != NULL)
		return DNS_NXDOMAIN;	/* no name is three deep */
	if (dot != NULL &&
	    (target = dns_alias(a, rel, (size_t)(dot - rel), dot + 1)) != NULL)
		return dns_link_found(t, target, addrs, n);
	return dns_found(t, rel, addrs, n);
}

enum dns_where
dns_table_lookup(const struct dns_table *t, const char *name, uint32_t asker,
    const uint32_t **addrs, size_t *n, const char **zone)
{
	char buf[DNS_NAME_MAX + 2], key[DNS_NAME_MAX + DNS_LABEL_MAX + 4];
	const struct dns_svc *a;
	const char *target, *dot;
	size_t len, i, v;
	long rl;

	*addrs = NULL;
	*n = 0;
	if (zone != NULL)
		*zone = t->domain;
	len = strlen(name);
	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > DNS_NAME_MAX)
		return DNS_OUTSIDE;
	for (i = 0; i < len; i++)
		buf[i] = (char)tolower((unsigned char)name[i]);
	buf[len] = '\0';
	a = dns_asker(t, asker);

	if ((rl = dns_under(buf, len, t->domain)) < 0 &&
	    (rl = dns_under(buf, len, t->kontena)) >= 0 && zone != NULL)
		*zone = t->kontena;
	if (rl == 0)
		return DNS_FOUND;	/* the domain itself: no address */
	if (rl > 0) {
		buf[rl] = '\0';
		return dns_lookup_rel(t, buf, a, addrs, n);
	}

	/* Relative forms, as a resolver sends them when typed. */
	dot = strchr(buf, '.');
	if (dot != NULL && strchr(dot + 1, '.') == NULL &&
	    dns_map_get(&t->stacks, dot + 1, &v))
		return dns_lookup_rel(t, buf, a, addrs, n);	/* svc.stack */
	if (dot == NULL && a != NULL) {
		if ((target = dns_alias(a, buf, len, NULL)) != NULL)
			return dns_link_found(t, target, addrs, n);
		if (len <= DNS_LABEL_MAX) {
			snprintf(key, sizeof key, "%s.%s", buf, a->stack);
			if (dns_found(t, key, addrs, n) == DNS_FOUND)
				return DNS_FOUND;
		}
	}
	return DNS_OUTSIDE;
}
