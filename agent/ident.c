/*
 * ident.c - node id and node token files in the agent's data dir.
 *
 * ident_load_id() runs once at start-up on the main thread;
 * ident_save_token()/ident_forget_token() run on the websocket thread when a
 * welcome carries a token or a close code says the token is dead. Files are
 * replaced atomically (util_write_file) with mode 0600; a half-written
 * token can never be read back.
 */
#include "agent/ident.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "common/xmalloc.h"

#define IDENT_TOKEN_MAX	4096	/* larger token files are not ours */

int
ident_id_valid(const char *s)
{
	size_t i;

	for (i = 0; i < PROTO_NODE_ID_LEN; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	}
	return s[i] == '\0';
}

/* mkdir -p with mode 0700 for what we create. */
static int
ident_mkdirs(const char *dir, char **cause)
{
	char *p, *path = xstrdup(dir);
	int last;

	for (p = path + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		last = (*p == '\0');
		*p = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST) {
			xasprintf(cause, "BERTH_DATA_DIR: mkdir %s: %s", path,
			    strerror(errno));
			free(path);
			return -1;
		}
		if (last)
			break;
		*p = '/';
	}
	free(path);
	return 0;
}

/* Read a small file and strip trailing whitespace; NULL if absent. */
static char *
ident_read_trimmed(const char *path, int *err)
{
	char *data;
	size_t len;

	*err = 0;
	if (util_read_file(path, IDENT_TOKEN_MAX, &data, &len) != 0) {
		*err = errno;
		return NULL;
	}
	while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r' ||
	    data[len - 1] == ' ' || data[len - 1] == '\t'))
		data[--len] = '\0';
	return data;
}

/* A new random id into id, written to path. */
static int
ident_make_id(const char *path, char id[PROTO_NODE_ID_LEN + 1], char **cause)
{
	unsigned char raw[PROTO_NODE_ID_LEN / 2];
	char line[PROTO_NODE_ID_LEN + 2];

	util_random(raw, sizeof raw);
	util_hex(raw, sizeof raw, id);
	snprintf(line, sizeof line, "%s\n", id);
	if (util_write_file(path, line, strlen(line), 0600) != 0) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int
ident_new_id(const char *data_dir, char id[PROTO_NODE_ID_LEN + 1],
    char **cause)
{
	char *path;
	int rc;

	xasprintf(&path, "%s/node-id", data_dir);
	rc = ident_make_id(path, id, cause);
	free(path);
	return rc;
}

int
ident_lock(const char *data_dir, char **cause)
{
	char *path;
	int fd;

	xasprintf(&path, "%s/lock", data_dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EWOULDBLOCK)
			xasprintf(cause, "another berth-agent runs with the "
			    "data dir %s (it holds %s): one node id, one agent",
			    data_dir, path);
		else
			xasprintf(cause, "%s: flock: %s", path,
			    strerror(errno));
		close(fd);
		free(path);
		return -1;
	}
	free(path);
	return 0;	/* fd stays open: the lock lasts as long as we do */
}

int
ident_load_id(const char *data_dir, char id[PROTO_NODE_ID_LEN + 1],
    char **cause)
{
	char *path, *data;
	int err;

	if (ident_mkdirs(data_dir, cause) != 0)
		return -1;
	xasprintf(&path, "%s/node-id", data_dir);
	data = ident_read_trimmed(path, &err);
	if (data != NULL) {
		if (!ident_id_valid(data)) {
			xasprintf(cause, "%s: not a node id (want 32 lowercase "
			    "hex characters); remove it to make a new one",
			    path);
			free(data);
			free(path);
			return -1;
		}
		memcpy(id, data, PROTO_NODE_ID_LEN + 1);
		free(data);
		free(path);
		return 0;
	}
	if (err != ENOENT) {
		xasprintf(cause, "%s: %s", path, strerror(err));
		free(path);
		return -1;
	}
	if (ident_make_id(path, id, cause) != 0) {
		free(path);
		return -1;
	}
	free(path);
	return 0;
}

char *
ident_load_token(const char *data_dir)
{
	char *path, *data;
	int err;

	xasprintf(&path, "%s/node-token", data_dir);
	data = ident_read_trimmed(path, &err);
	free(path);
	if (data != NULL && (*data == '\0' || strpbrk(data, "\r\n\t ") != NULL)) {
		free(data);
		return NULL;
	}
	return data;
}

int
ident_save_token(const char *data_dir, const char *token, char **cause)
{
	char *path;
	int rc = 0;

	xasprintf(&path, "%s/node-token", data_dir);
	if (util_write_file(path, token, strlen(token), 0600) != 0) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		rc = -1;
	}
	free(path);
	return rc;
}

int
ident_forget_token(const char *data_dir, char **cause)
{
	char *path;
	int rc = 0;

	xasprintf(&path, "%s/node-token", data_dir);
	if (unlink(path) != 0 && errno != ENOENT) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		rc = -1;
	}
	free(path);
	return rc;
}
