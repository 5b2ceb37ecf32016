/*
 * ident.h - the node's identity on disk: node id and node token.
 *
 * $BERTH_DATA_DIR/node-id holds 32 lowercase hex characters, generated once;
 * $BERTH_DATA_DIR/node-token the per-node token the master minted. Both are
 * written atomically with mode 0600. The token is a secret: never logged.
 */
#ifndef BERTH_AGENT_IDENT_H
#define BERTH_AGENT_IDENT_H

#include "common/proto.h"

/* Make the data dir (0700) if needed and load or create the node id. */
int	 ident_load_id(const char *data_dir, char id[PROTO_NODE_ID_LEN + 1],
	    char **cause);
/* The stored node token, or NULL when there is none (or it is unusable). */
char	*ident_load_token(const char *data_dir);
int	 ident_save_token(const char *data_dir, const char *token,
	    char **cause);
/* Forget the stored token (remove the file); 0 also when it was absent. */
int	 ident_forget_token(const char *data_dir, char **cause);
/* 1 if s is exactly 32 lowercase hex characters. */
int	 ident_id_valid(const char *s);
/*
 * Make a new node id and store it in place of the old one (the old id is
 * another machine's: docs/protocol.md, 4011). 0, or -1 with *cause.
 */
int	 ident_new_id(const char *data_dir, char id[PROTO_NODE_ID_LEN + 1],
	    char **cause);
/*
 * Hold $data_dir/lock (flock) for the life of the process, so that two
 * agents never run with one data dir (one node id) on one host. 0, or -1
 * with *cause when another process holds it.
 */
int	 ident_lock(const char *data_dir, char **cause);

#endif
