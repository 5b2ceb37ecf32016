/*
 * cmd_vault.c - `berth vault ...`: ls, write, update, read, rm.
 *
 * A secret's value is given on the command line or, with "-" or nothing,
 * on stdin: asked for without echo on a terminal, else read whole (one
 * trailing newline dropped, as `echo secret | berth vault write x` means).
 * Prefer stdin: a command line shows in ps. Only `read` prints a value.
 * Rows in cmd_table (cli/cmd.c).
 */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/table.h"

#include "common/util.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define VAULT_MAX_VALUE		(64 * 1024)

/* The value: args[1], or stdin. NULL after saying why. */
static char *
vault_value(struct cli *c, const char *name)
{
	struct termios old, raw;
	struct buf b = { NULL, 0, 0 };
	char chunk[4096];
	size_t n;
	int tty = 0;

	if (c->nargs > 1 && strcmp(c->args[1], "-") != 0)
		return xstrdup(c->args[1]);
	if (isatty(STDIN_FILENO)) {
		fprintf(stderr, "Value of secret %s: ", name);
		fflush(stderr);
		if (tcgetattr(STDIN_FILENO, &old) == 0) {
			raw = old;
			raw.c_lflag &= ~(tcflag_t)ECHO;
			tty = tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) == 0;
		}
		if (fgets(chunk, sizeof chunk, stdin) != NULL)
			buf_append(&b, chunk, strlen(chunk));
		if (tty)
			tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	} else {
		while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0) {
			buf_append(&b, chunk, n);
			if (b.len > VAULT_MAX_VALUE + 2)
				break;
		}
	}
	if (b.len > 0 && b.data[b.len - 1] == '\n')
		b.data[--b.len] = '\0';
	if (b.len > 0 && b.data[b.len - 1] == '\r')
		b.data[--b.len] = '\0';
	if (b.len == 0) {
		buf_free(&b);
		cli_fail("secret %s: no value given (on the command line or "
		    "stdin)", name);
		return NULL;
	}
	return b.data;
}

static void
vault_wipe(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

int
cmd_vault_ls(struct cli *c)
{
	char *path = cli_path("grids/%s/vault", c->grid), used[512], ver[16];
	struct table *t;
	json_t *arr, *v;
	size_t i;
	int rc;

	if ((rc = cli_get(c, path, &arr)) != 0)
		return rc < 0;
	t = table_new("NAME", "VERSION", "CREATED", "UPDATED", "USED BY", NULL);
	json_array_foreach(arr, i, v)
		table_row(t, cli_str(v, "name"), cli_int(v, "version", ver,
		    sizeof ver), cli_str(v, "created_at"), cli_str(v,
		    "updated_at"), cli_join(json_object_get(v, "services"),
		    ",", used, sizeof used), NULL);
	table_print(t, stdout);
	table_free(t);
	json_decref(arr);
	return 0;
}

static int
vault_send(struct cli *c, const char *method, char *path, json_t *body,
    const char *done)
{
	json_t *reply = NULL, *rolled;
	char *cause;
	int rc;

	rc = client_json(method, path, body, &reply, &cause);
	free(path);
	if (rc != 0)
		return cli_fail_cause(cause);
	if (c->json)
		cli_print_json(reply);
	else {
		rolled = json_object_get(reply, "services");
		printf("%s secret %s (version %lld)\n", done, cli_str(reply,
		    "name"), (long long)json_integer_value(json_object_get(
		    reply, "version")));
		if (strcmp(method, "PUT") == 0 && json_array_size(rolled) > 0)
			printf("%zu service(s) use it and take the new value "
			    "with their next deploy\n", json_array_size(rolled));
	}
	json_decref(reply);
	return 0;
}

int
cmd_vault_write(struct cli *c)
{
	char *value = vault_value(c, c->args[0]);
	json_t *body;
	int rc;

	if (value == NULL)
		return 1;
	body = json_pack("{s:s, s:s}", "name", c->args[0], "value", value);
	vault_wipe(value);
	if (body == NULL)
		return cli_fail("secret %s: the value is not UTF-8 text",
		    c->args[0]);
	rc = vault_send(c, "POST", cli_path("grids/%s/vault", c->grid), body,
	    "Wrote");
	json_decref(body);
	return rc;
}

int
cmd_vault_update(struct cli *c)
{
	char *value = vault_value(c, c->args[0]);
	json_t *body;
	int rc;

	if (value == NULL)
		return 1;
	body = json_pack("{s:s, s:b}", "value", value, "upsert",
	    cli_flag(c, CLI_OPT_UPSERT) > 0);
	vault_wipe(value);
	if (body == NULL)
		return cli_fail("secret %s: the value is not UTF-8 text",
		    c->args[0]);
	rc = vault_send(c, "PUT", cli_path("vault/%s/%s", c->grid,
	    c->args[0]), body, "Updated");
	json_decref(body);
	return rc;
}

int
cmd_vault_read(struct cli *c)
{
	char *path = cli_path("vault/%s/%s", c->grid, c->args[0]), *cause;
	json_t *v = NULL;
	int rc;

	rc = client_json("GET", path, NULL, &v, &cause);
	free(path);
	if (rc != 0)
		return cli_fail_cause(cause);
	if (c->json)
		cli_print_json(v);
	else
		printf("%s\n", cli_str(v, "value"));
	json_decref(v);
	return 0;
}

int
cmd_vault_rm(struct cli *c)
{
	char *path = cli_path("vault/%s/%s", c->grid, c->args[0]), *p2, *cause;
	int rc;

	if (cli_flag(c, CLI_OPT_FORCE)) {
		xasprintf(&p2, "%s?force=1", path);
		free(path);
		path = p2;
	}
	rc = client_json("DELETE", path, NULL, NULL, &cause);
	free(path);
	if (rc != 0)
		return cli_fail_cause(cause);
	if (!c->json)
		printf("Removed secret %s\n", c->args[0]);
	return 0;
}
