/*
 * settings.h - one table declares every setting of a kind of object.
 *
 * As Redis's config.c and tmux's options-table.c: each row names a setting
 * and gives its type, unit, bounds, default, the field that holds it and a
 * line of help. The table then drives everything that used to repeat
 * those facts: the defaults, validation of API bodies (errors name
 * "settings.<key>"), the JSON form, the store's columns (master/
 * store_settings.c), the CLI's reading of "key=value" words and its help.
 *
 * A table describes a plain struct (struct grid_settings, later a node
 * group's settings); `size` is that struct's size, so a change can be
 * validated on a copy and applied only when every key and the table's own
 * cross-field rule passed. Adding a setting: a field in the struct and a
 * row in its table; code that acts on it reads the field.
 *
 * A row marked secret is sealed the moment a value is applied: the
 * field then holds an envelope (SETTING_SEALED_PREFIX, the sealed bytes in
 * hex, a blank, the value as it may be shown) that the store keeps and the
 * API shows only as its shown part. The sealing itself is a hook that the
 * master registers at start-up (settings_set_sealer(): AES-256-GCM under
 * the master key, master/vault.c); only the code that uses the value opens
 * it (settings_unseal()) and wipes it after use.
 *
 * Stateless apart from that hook, set once before any thread starts;
 * safe on any thread. The tables are read-only.
 */
#ifndef BERTH_SETTINGS_H
#define BERTH_SETTINGS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

enum setting_type {
	SETTING_INT = 0,	/* int64_t field, within [min, max] */
	SETTING_BOOL,		/* int field, 0 or 1; JSON true/false */
	SETTING_STRING,		/* char[size] field; choices and/or check */
};

enum setting_unit {
	SETTING_UNIT_NONE = 0,	/* a count */
	SETTING_UNIT_SECONDS,	/* whole seconds; the CLI takes "10m" */
	SETTING_UNIT_BYTES,	/* bytes; the CLI takes "1GiB" */
};

struct setting_table;

struct setting {
	const char		 *name;	/* JSON key, store column, CLI key */
	enum setting_type	  type;
	enum setting_unit	  unit;	/* INT only */
	size_t			  off;	/* offsetof() the field in the struct */
	size_t			  size;	/* STRING: the char array's size */
	int64_t			  def;	/* INT, BOOL: the default */
	int64_t			  min;	/* INT: smallest allowed */
	int64_t			  max;	/* INT: largest allowed */
	const char		 *def_str; /* STRING: the default */
	const char *const	 *choices; /* STRING: allowed values (NULL-
					      terminated), or NULL for any */
	/* STRING: extra validation of a value, 0 or -1 with *cause. */
	int			(*check)(const char *v, char **cause);
	const char		 *help;	/* one line: what it does */
	/*
	 * STRING: a secret (a webhook URL with its token in the path): sealed
	 * when applied (the field then holds an envelope), shown only as
	 * settings_redact_url() made it. `size` is then the clear value's
	 * buffer; the field must be SETTING_SEALED_SIZE(size) bytes.
	 */
	int			  secret;
};

/*
 * A secret's envelope: "sealed:v1:" HEX " " SHOWN, where HEX is the sealed
 * bytes (the hook's: 1 + 12 nonce + value + 16 tag at most
 * SETTING_SEAL_OVERHEAD more than the value) and SHOWN the redacted form
 * (at most SETTING_SHOWN_MAX - 1 bytes).
 */
#define SETTING_SEALED_PREFIX	"sealed:v1:"
#define SETTING_SEAL_OVERHEAD	64
#define SETTING_SHOWN_MAX	128
#define SETTING_SEALED_SIZE(n) \
	(sizeof SETTING_SEALED_PREFIX - 1 + 2 * ((n) + SETTING_SEAL_OVERHEAD) + \
	    1 + SETTING_SHOWN_MAX + 1)

/*
 * The seal hook. seal: value (len bytes) into *out (malloc'd), *outlen,
 * with what ("grid.webhook_url") bound to it; 0 or -1. unseal: the
 * reverse into *out (malloc'd, NUL-ended; the caller wipes and frees it);
 * 0, or -1 when it does not open (another key, tampered).
 */
struct setting_sealer {
	int	(*seal)(void *arg, const char *what, const char *value,
		    size_t len, unsigned char **out, size_t *outlen);
	int	(*unseal)(void *arg, const char *what, const unsigned char *in,
		    size_t len, char **out, size_t *outlen);
	void	 *arg;
};

/* Register the hook (NULL: none; a secret then cannot be applied). */
void	 settings_set_sealer(const struct setting_sealer *s);

/* 1 if v is a sealed envelope. */
int	 settings_is_sealed(const char *v);

/*
 * A secret's value as it may be shown: an envelope's shown part, or a
 * clear value redacted. "" stays "".
 */
const char *settings_shown(const char *v, char *buf, size_t len);

/*
 * Open v, the value of table t's secret row s (as its field holds it): 0
 * with *out (malloc'd,
 * NUL-ended: the caller wipes it with OPENSSL_cleanse and frees it), or
 * -1 with *cause (naming no secret) when it is not sealed or does not
 * open with the registered key. "" opens to "".
 */
int	 settings_unseal(const struct setting_table *t,
	    const struct setting *s, const char *v, char **out,
	    char **cause);

struct setting_table {
	const char		 *what;	/* "grid", in messages */
	const struct setting	 *rows;
	size_t			  n;	/* rows */
	size_t			  size;	/* sizeof the struct described */
	/*
	 * Rules across settings, run after a change is applied to a copy:
	 * 0, or -1 with *field (a row's name, borrowed) and *cause.
	 */
	int			(*check)(const void *base, const char **field,
				    char **cause);
};

/* Fill every field of base with its default. */
void	 settings_defaults(const struct setting_table *t, void *base);

/* The row called name, or NULL. */
const struct setting *settings_find(const struct setting_table *t,
	    const char *name);

/*
 * Apply obj ({"key": value, ...}) onto base. Every key must be a row and
 * every value of its type and within its bounds, then the table's check
 * must pass (a secret is sealed, and refused if no sealer is registered); otherwise base is untouched and -1 returns with *field (the
 * offending key, malloc'd, caller frees) and *cause.
 */
int	 settings_apply_json(const struct setting_table *t, void *base,
	    json_t *obj, char **field, char **cause);

/*
 * Every problem of obj as base would take it: an array of {"field":
 * prefix + key, "error": cause}, one per bad key (unknown, wrong type, out
 * of bounds), then the table's cross-field rule when the keys are fine.
 * Empty when settings_apply_json() would succeed. base is not changed.
 */
json_t	*settings_errors_json(const struct setting_table *t, const void *base,
	    json_t *obj, const char *prefix);

/* Every setting of base as a JSON object, in table order. */
json_t	*settings_to_json(const struct setting_table *t, const void *base);

/*
 * The JSON value for a setting typed as text on a command line: numbers,
 * with the row's unit ("10m", "1GiB"), true/false/yes/no/on/off, or the
 * string itself. 0 with *out (caller decrefs), or -1 with *cause.
 */
int	 settings_value_from_text(const struct setting *s, const char *text,
	    json_t **out, char **cause);

/*
 * A URL as it may be shown: scheme and host only ("https://hooks.slack.com/
 * ***"); user info, path and query, where secrets live, are replaced.
 * "" stays "".
 */
const char *settings_redact_url(const char *url, char *buf, size_t len);

/* One setting's value in base as text, the way help and events show it. */
const char *settings_format(const struct setting *s, const void *base,
	    char *buf, size_t len);

/*
 * What changed between old and new as "name old -> new, ..." (malloc'd),
 * or NULL when nothing did.
 */
char	*settings_diff(const struct setting_table *t, const void *old,
	    const void *new);

/*
 * Help: one block per row (name, default, range or choices, help) with
 * each line prefixed by indent.
 */
void	 settings_usage(const struct setting_table *t, FILE *f,
	    const char *indent);

#endif
