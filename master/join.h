/*
 * join.h - a new master joining a cluster with a join token (docs/ha.md,
 * "Setting up three masters").
 *
 * A join token is "bj1.<64 hex secret>" and, when the masters serve TLS,
 * ".<64 hex pin>" (the SHA-256 of the leader's public key): minted by
 * `berth master join-token` (POST /v1/masters/join-token, the operator
 * only), stored as the secret's SHA-256 only, valid once and for a TTL
 * (1 h by default).
 *
 * At its first start with --join HOST:PORT --join-token T, a master finds
 * the leader's API URL (the leader named by the node at HOST:PORT, its
 * row of the masters table), then POSTs the token to the leader's
 * /v1/masters/join over TLS checked against the token's pin (plain http
 * only to a loopback URL, as for the API), and gets back master.key and
 * the leader's TLS certificate and key, which it writes into its data dir
 * (tls.crt and tls.key serve with --tls-self-signed). Only then does its
 * node start and join (cluster.c). A refused token stops the start with
 * the leader's reason; the cluster is not touched.
 */
#ifndef BERTH_JOIN_H
#define BERTH_JOIN_H

#include "master/token.h"

struct master_config;

/* "bj1.<secret>[.<pin hex>]" from a pin "sha256//..." or NULL; malloc'd. */
char	*join_token_format(const char *secret, const char *pin);
/* Split a token: secret (TOKEN_LEN + 1), pin hex (65 bytes, "" for none;
 * pinhex may be NULL). 0, or -1 with *cause. */
int	 join_token_parse(const char *token, char *secret, char *pinhex,
	    char **cause);
/*
 * The joiner's side, before the master key and TLS are set up: trade the
 * token for the key and identity and write them into cfg->data_dir.
 * 0, or -1 with *cause (nothing written).
 */
int	 join_fetch(const struct master_config *cfg, char **cause);

#endif /* BERTH_JOIN_H */
