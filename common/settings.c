/*
 * settings.c - the engine behind every settings table (see settings.h).
 *
 * Validation works on a copy of the caller's struct: a body with one bad
 * key changes nothing, and the table's cross-field rule sees the settings
 * as they would be. Messages name the key the way the API reports fields
 * ("settings.<key>" is the caller's prefix; here only the key).
 */
#include "common/settings.h"

#include "common/units.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SETTING_INT_FIELD(base, s) \
	((int64_t *)((char *)(base) + (s)->off))
#define SETTING_BOOL_FIELD(base, s) \
	((int *)((char *)(base) + (s)->off))
#define SETTING_STR_FIELD(base, s) \
	((char *)(base) + (s)->off)

static const struct setting_sealer *settings_sealer;

void
settings_set_sealer(const struct setting_sealer *s)
{
	settings_sealer = s;
}

int
settings_is_sealed(const char *v)
{
	return strncmp(v, SETTING_SEALED_PREFIX,
	    sizeof SETTING_SEALED_PREFIX - 1) == 0;
}

const char *
settings_shown(const char *v, char *buf, size_t len)
{
	const char *sp;

	if (settings_is_sealed(v)) {
		sp = strchr(v, ' ');
		snprintf(buf, len, "%s", sp != NULL ? sp + 1 : "***");
		return buf;
	}
	return settings_redact_url(v, buf, len);
}

/* "grid.webhook_url": what a sealed value is bound to. */
static void
settings_what(const struct setting_table *t, const struct setting *s,
    char *buf, size_t len)
{
	snprintf(buf, len, "setting:%s.%s", t->what, s->name);
}

/* Seal str as the envelope into field (SETTING_SEALED_SIZE(s->size)). */
static int
settings_seal(const struct setting_table *t, const struct setting *s,
    const char *str, char *field, char **cause)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char *sealed = NULL;
	size_t slen = 0, i, o, size = SETTING_SEALED_SIZE(s->size);
	char what[128], shown[SETTING_SHOWN_MAX];

	if (str[0] == '\0') {
		field[0] = '\0';
		return 0;
	}
	settings_what(t, s, what, sizeof what);
	if (settings_sealer == NULL || settings_sealer->seal(
	    settings_sealer->arg, what, str, strlen(str), &sealed,
	    &slen) != 0) {
		xasprintf(cause, "%s cannot be sealed (a secret is never "
		    "stored in clear)", s->name);
		return -1;
	}
	o = sizeof SETTING_SEALED_PREFIX - 1;
	if (slen > strlen(str) + SETTING_SEAL_OVERHEAD) {
		free(sealed);
		xasprintf(cause, "%s cannot be sealed", s->name);
		return -1;
	}
	memcpy(field, SETTING_SEALED_PREFIX, o);
	for (i = 0; i < slen; i++) {
		field[o++] = hex[sealed[i] >> 4];
		field[o++] = hex[sealed[i] & 0xf];
	}
	free(sealed);
	settings_redact_url(str, shown, sizeof shown);
	snprintf(field + o, size - o, " %s", shown);
	return 0;
}

static int
settings_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
settings_unseal(const struct setting_table *t, const struct setting *s,
    const char *v, char **out, char **cause)
{
	const char *p, *end;
	unsigned char *bytes;
	size_t n, i, len;
	char what[128];
	int hi, lo, rc;

	*out = NULL;
	if (v[0] == '\0') {
		*out = xstrdup("");
		return 0;
	}
	if (!settings_is_sealed(v)) {
		xasprintf(cause, "%s is not sealed (set it again)", s->name);
		return -1;
	}
	p = v + sizeof SETTING_SEALED_PREFIX - 1;
	end = p + strcspn(p, " ");
	if ((end - p) % 2 != 0 || end == p) {
		xasprintf(cause, "%s: its sealed value is damaged (set it "
		    "again)", s->name);
		return -1;
	}
	n = (size_t)(end - p) / 2;
	bytes = xmalloc(n);
	for (i = 0; i < n; i++) {
		if ((hi = settings_hexval(p[2 * i])) < 0 ||
		    (lo = settings_hexval(p[2 * i + 1])) < 0) {
			free(bytes);
			xasprintf(cause, "%s: its sealed value is damaged "
			    "(set it again)", s->name);
			return -1;
		}
		bytes[i] = (unsigned char)(hi << 4 | lo);
	}
	settings_what(t, s, what, sizeof what);
	rc = settings_sealer != NULL ? settings_sealer->unseal(
	    settings_sealer->arg, what, bytes, n, out, &len) : -1;
	free(bytes);
	if (rc != 0) {
		*out = NULL;
		xasprintf(cause, "%s cannot be unsealed with this master's key "
		    "(was master.key replaced? set it again)", s->name);
		return -1;
	}
	return 0;
}

void
settings_defaults(const struct setting_table *t, void *base)
{
	const struct setting *s;
	size_t i;

	for (i = 0; i < t->n; i++) {
		s = &t->rows[i];
		switch (s->type) {
		case SETTING_INT:
			*SETTING_INT_FIELD(base, s) = s->def;
			break;
		case SETTING_BOOL:
			*SETTING_BOOL_FIELD(base, s) = s->def != 0;
			break;
		case SETTING_STRING:
			snprintf(SETTING_STR_FIELD(base, s), s->size, "%s",
			    s->def_str != NULL ? s->def_str : "");
			break;
		}
	}
}

const struct setting *
settings_find(const struct setting_table *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (strcmp(t->rows[i].name, name) == 0)
			return &t->rows[i];
	return NULL;
}

static const char *
settings_unit_words(enum setting_unit u)
{
	switch (u) {
	case SETTING_UNIT_SECONDS:
		return "a whole number of seconds";
	case SETTING_UNIT_BYTES:
		return "a whole number of bytes";
	case SETTING_UNIT_NONE:
		break;
	}
	return "a whole number";
}

/* Is v one of s's choices (or are there none)? */
static int
settings_choice_ok(const struct setting *s, const char *v)
{
	const char *const *c;

	if (s->choices == NULL)
		return 1;
	for (c = s->choices; *c != NULL; c++)
		if (strcmp(*c, v) == 0)
			return 1;
	return 0;
}

static void
settings_choices_text(const struct setting *s, char *buf, size_t len)
{
	const char *const *c;
	size_t o = 0;

	buf[0] = '\0';
	for (c = s->choices; c != NULL && *c != NULL; c++)
		o += (size_t)snprintf(buf + o, o < len ? len - o : 0, "%s%s",
		    o ? ", " : "", *c);
}

/* Check and store one JSON value into base: 0, or -1 with *cause. */
static int
settings_apply_one(const struct setting_table *t, const struct setting *s,
    void *base, json_t *v, char **cause)
{
	char choices[256];
	const char *str;

	switch (s->type) {
	case SETTING_INT:
		if (!json_is_integer(v) || json_integer_value(v) < s->min ||
		    json_integer_value(v) > s->max) {
			xasprintf(cause, "%s must be %s from %lld to %lld",
			    s->name, settings_unit_words(s->unit),
			    (long long)s->min, (long long)s->max);
			return -1;
		}
		*SETTING_INT_FIELD(base, s) = json_integer_value(v);
		return 0;
	case SETTING_BOOL:
		if (!json_is_boolean(v)) {
			xasprintf(cause, "%s must be true or false", s->name);
			return -1;
		}
		*SETTING_BOOL_FIELD(base, s) = json_is_true(v);
		return 0;
	case SETTING_STRING:
		if (!json_is_string(v)) {
			xasprintf(cause, "%s must be a string", s->name);
			return -1;
		}
		str = json_string_value(v);
		if (strlen(str) >= s->size) {
			xasprintf(cause, "%s must be at most %zu bytes",
			    s->name, s->size - 1);
			return -1;
		}
		if (!settings_choice_ok(s, str)) {
			settings_choices_text(s, choices, sizeof choices);
			xasprintf(cause, "%s must be one of: %s", s->name,
			    choices);
			return -1;
		}
		if (s->secret && settings_is_sealed(str)) {
			xasprintf(cause, "%s must not begin with \"%s\"",
			    s->name, SETTING_SEALED_PREFIX);
			return -1;
		}
		if (s->check != NULL && s->check(str, cause) != 0)
			return -1;
		if (s->secret)
			return settings_seal(t, s, str, SETTING_STR_FIELD(base,
			    s), cause);
		snprintf(SETTING_STR_FIELD(base, s), s->size, "%s", str);
		return 0;
	}
	xasprintf(cause, "%s: unknown setting type", s->name);
	return -1;
}

int
settings_apply_json(const struct setting_table *t, void *base, json_t *obj,
    char **field, char **cause)
{
	const struct setting *s;
	const char *key, *bad;
	void *copy;
	json_t *v;

	*field = NULL;
	if (!json_is_object(obj)) {
		xasprintf(cause, "settings must be an object");
		return -1;
	}
	copy = xmalloc(t->size);
	memcpy(copy, base, t->size);
	json_object_foreach(obj, key, v) {
		if ((s = settings_find(t, key)) == NULL) {
			*field = xstrdup(key);
			xasprintf(cause, "unknown setting \"%.64s\"", key);
			goto fail;
		}
		if (settings_apply_one(t, s, copy, v, cause) != 0) {
			*field = xstrdup(key);
			goto fail;
		}
	}
	if (t->check != NULL && t->check(copy, &bad, cause) != 0) {
		*field = xstrdup(bad);
		goto fail;
	}
	memcpy(base, copy, t->size);
	free(copy);
	return 0;
fail:
	free(copy);
	return -1;
}

json_t *
settings_errors_json(const struct setting_table *t, const void *base,
    json_t *obj, const char *prefix)
{
	const struct setting *s;
	const char *key, *bad;
	json_t *errs = json_array(), *v;
	char *cause = NULL, *field;
	void *copy;

	if (!json_is_object(obj)) {
		json_array_append_new(errs, json_pack("{s:s, s:s}", "field",
		    prefix[0] != '\0' ? prefix : "settings", "error",
		    "settings must be an object"));
		return errs;
	}
	copy = xmalloc(t->size);
	memcpy(copy, base, t->size);
	json_object_foreach(obj, key, v) {
		xasprintf(&field, "%s%s", prefix, key);
		if ((s = settings_find(t, key)) == NULL)
			xasprintf(&cause, "unknown setting \"%.64s\"", key);
		else
			settings_apply_one(t, s, copy, v, &cause);
		if (cause != NULL) {
			json_array_append_new(errs, json_pack("{s:s, s:s}",
			    "field", field, "error", cause));
			free(cause);
			cause = NULL;
		}
		free(field);
	}
	if (json_array_size(errs) == 0 && t->check != NULL &&
	    t->check(copy, &bad, &cause) != 0) {
		xasprintf(&field, "%s%s", prefix, bad);
		json_array_append_new(errs, json_pack("{s:s, s:s}", "field",
		    field, "error", cause));
		free(field);
		free(cause);
	}
	free(copy);
	return errs;
}

json_t *
settings_to_json(const struct setting_table *t, const void *base)
{
	const struct setting *s;
	json_t *o = json_object();
	size_t i;

	for (i = 0; i < t->n; i++) {
		s = &t->rows[i];
		switch (s->type) {
		case SETTING_INT:
			json_object_set_new(o, s->name, json_integer(
			    *SETTING_INT_FIELD(base, s)));
			break;
		case SETTING_BOOL:
			json_object_set_new(o, s->name, json_boolean(
			    *SETTING_BOOL_FIELD(base, s)));
			break;
		case SETTING_STRING:
			if (s->secret) {
				char red[256];

				json_object_set_new(o, s->name, json_string(
				    settings_shown(SETTING_STR_FIELD(base, s),
				    red, sizeof red)));
			} else
				json_object_set_new(o, s->name, json_string(
				    SETTING_STR_FIELD(base, s)));
			break;
		}
	}
	return o;
}

const char *
settings_redact_url(const char *url, char *buf, size_t len)
{
	const char *host, *end, *at;

	if (url[0] == '\0') {
		snprintf(buf, len, "%s", "");
		return buf;
	}
	host = strstr(url, "://");
	if (host == NULL) {
		snprintf(buf, len, "***");
		return buf;
	}
	host += 3;
	end = host + strcspn(host, "/?#");
	/* user:password@ goes too */
	for (at = host; at < end; at++)
		if (*at == '@')
			host = at + 1;
	snprintf(buf, len, "%.*s%.*s%s", (int)(strstr(url, "://") + 3 - url),
	    url, (int)(end - host), host, *end != '\0' ? "/***" : "");
	return buf;
}

int
settings_value_from_text(const struct setting *s, const char *text,
    json_t **out, char **cause)
{
	static const char *const yes[] = { "true", "yes", "on", "1", NULL };
	static const char *const no[] = { "false", "no", "off", "0", NULL };
	long long v;
	char *end, *why = NULL;
	size_t i;

	switch (s->type) {
	case SETTING_BOOL:
		for (i = 0; yes[i] != NULL; i++) {
			if (strcmp(text, yes[i]) == 0) {
				*out = json_true();
				return 0;
			}
			if (strcmp(text, no[i]) == 0) {
				*out = json_false();
				return 0;
			}
		}
		xasprintf(cause, "%s: \"%s\" is not true or false", s->name,
		    text);
		return -1;
	case SETTING_STRING:
		*out = json_string(text);
		return 0;
	case SETTING_INT:
		break;
	}
	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno == 0 && end != text && *end == '\0') {
		*out = json_integer(v);
		return 0;
	}
	if (s->unit == SETTING_UNIT_SECONDS &&
	    units_parse_duration(text, &v, &why) == 0) {
		*out = json_integer(v);
		return 0;
	}
	if (s->unit == SETTING_UNIT_BYTES &&
	    units_parse_bytes(text, &v, &why) == 0) {
		*out = json_integer(v);
		return 0;
	}
	if (why != NULL) {
		xasprintf(cause, "%s: %s", s->name, why);
		free(why);
	} else
		xasprintf(cause, "%s: \"%s\" is not a number", s->name, text);
	return -1;
}

const char *
settings_format(const struct setting *s, const void *base, char *buf,
    size_t len)
{
	int64_t v;

	switch (s->type) {
	case SETTING_INT:
		v = *SETTING_INT_FIELD(base, s);
		snprintf(buf, len, "%lld", (long long)v);
		break;
	case SETTING_BOOL:
		snprintf(buf, len, "%s", *SETTING_BOOL_FIELD(base, s) ?
		    "true" : "false");
		break;
	case SETTING_STRING:
		if (s->secret)
			return settings_shown(SETTING_STR_FIELD(base, s), buf,
			    len);
		snprintf(buf, len, "%s", SETTING_STR_FIELD(base, s));
		break;
	}
	return buf;
}

char *
settings_diff(const struct setting_table *t, const void *old,
    const void *new)
{
	const struct setting *s;
	char a[256], b[256], *out = NULL, *more;
	size_t i;

	for (i = 0; i < t->n; i++) {
		s = &t->rows[i];
		settings_format(s, old, a, sizeof a);
		settings_format(s, new, b, sizeof b);
		if (s->secret && strcmp(SETTING_STR_FIELD(old, s),
		    SETTING_STR_FIELD(new, s)) != 0 && strcmp(a, b) == 0)
			snprintf(b, sizeof b, "%.200s (changed)", a);
		if (strcmp(a, b) == 0)
			continue;
		xasprintf(&more, "%s%s%s %s -> %s", out ? out : "",
		    out ? ", " : "", s->name, a, b);
		free(out);
		out = more;
	}
	return out;
}

/* The default of s in words, with the unit spelled out where it helps. */
static const char *
settings_default_text(const struct setting *s, char *buf, size_t len)
{
	char u[64];

	switch (s->type) {
	case SETTING_INT:
		if (s->unit == SETTING_UNIT_SECONDS && s->def >= 60)
			snprintf(buf, len, "%lld (%s)", (long long)s->def,
			    units_format_duration(s->def, u, sizeof u));
		else if (s->unit == SETTING_UNIT_BYTES && s->def >= 1024)
			snprintf(buf, len, "%lld (%s)", (long long)s->def,
			    units_format_bytes(s->def, u, sizeof u));
		else
			snprintf(buf, len, "%lld", (long long)s->def);
		break;
	case SETTING_BOOL:
		snprintf(buf, len, "%s", s->def ? "true" : "false");
		break;
	case SETTING_STRING:
		snprintf(buf, len, "\"%s\"", s->def_str ? s->def_str : "");
		break;
	}
	return buf;
}

void
settings_usage(const struct setting_table *t, FILE *f, const char *indent)
{
	static const char *const unit_names[] = {
		[SETTING_UNIT_NONE] = "",
		[SETTING_UNIT_SECONDS] = " seconds",
		[SETTING_UNIT_BYTES] = " bytes",
	};
	const struct setting *s;
	char def[96], range[256];
	size_t i, w = 0;

	for (i = 0; i < t->n; i++)
		if (strlen(t->rows[i].name) > w)
			w = strlen(t->rows[i].name);
	for (i = 0; i < t->n; i++) {
		s = &t->rows[i];
		switch (s->type) {
		case SETTING_INT:
			snprintf(range, sizeof range, "%lld..%lld%s",
			    (long long)s->min, (long long)s->max,
			    unit_names[s->unit]);
			break;
		case SETTING_BOOL:
			snprintf(range, sizeof range, "true or false");
			break;
		case SETTING_STRING:
			if (s->choices != NULL)
				settings_choices_text(s, range, sizeof range);
			else
				snprintf(range, sizeof range, "text");
			break;
		}
		fprintf(f, "%s%-*s  %s\n%s%-*s  default %s; %s\n", indent,
		    (int)w, s->name, s->help, indent, (int)w, "",
		    settings_default_text(s, def, sizeof def), range);
	}
}
