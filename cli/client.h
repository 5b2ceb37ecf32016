/*
 * client.h - the CLI's HTTP client for the master's REST API (libcurl).
 *
 * The master URL comes from BERTH_MASTER (default http://127.0.0.1:9292),
 * the operator token from BERTH_TOKEN or else ./data/operator.token (then
 * $BERTH_DATA_DIR/operator.token). One request at a time; the CLI is
 * single-threaded.
 */
#ifndef BERTH_CLI_CLIENT_H
#define BERTH_CLI_CLIENT_H

#include <jansson.h>
#include <stddef.h>

struct client_reply {
	long	 status;	/* HTTP status, 0 if no answer */
	char	*body;		/* response body (NUL-terminated) */
	size_t	 len;		/* its length */
	json_t	*json;		/* parsed body when it is JSON, else NULL */
};

/*
 * Send a request; body may be NULL. 0 when an HTTP answer came back (of
 * any status), -1 with *cause when none did (master down, bad URL).
 */
int	 client_call(const char *method, const char *path,
	    const char *content_type, const char *body, size_t len,
	    struct client_reply *r, char **cause);
void	 client_reply_free(struct client_reply *r);
/* A one-line reason from a refusal's body ("no grid \"x\" (line 3)"). */
char	*client_reason(const struct client_reply *r);

/*
 * Send and require a 2xx: 0 with the reply, or -1 with *cause a one-line
 * reason built from the error body ("no grid \"x\" (field name)").
 */
int	 client_do(const char *method, const char *path, const char *ctype,
	    const char *body, size_t len, struct client_reply *r, char **cause);
/* client_do() with a JSON body (may be NULL); returns the JSON reply. */
int	 client_json(const char *method, const char *path, json_t *body,
	    json_t **out, char **cause);

/*
 * GET path and hand the body to fn (ptr, len, arg) as it arrives, with no
 * total timeout (a follow lasts until interrupted); fn returns 0 to go
 * on. *stop (may be NULL) becoming non-zero ends the transfer within a
 * second. Returns 0 when the answer came to its end (*status set; a
 * non-2xx body is collected in *errbody instead of going to fn, which may
 * be NULL then), 1 when stopped by *stop or by fn, -1 with *cause when
 * no answer came or the connection was cut.
 */
int	 client_stream(const char *path, int (*fn)(const char *, size_t, void *),
	    void *arg, const volatile int *stop, long *status,
	    struct client_reply *errbody, char **cause);

/* Percent-encode s for a path segment or query value (caller frees). */
char	*client_escape(const char *s);

/* The master's base URL: BERTH_MASTER or http://127.0.0.1:9292. */
const char *client_base(void);
/*
 * For callers that make their own connection (exec's websocket): how many
 * masters BERTH_MASTER lists; make the master a 307's location is on the
 * one to try (0, or -1 when it is not in the list: never followed); try
 * the next master of the list.
 */
int	 client_nmasters(void);
int	 client_follow(const char *location);
void	 client_next(void);
/* The operator token (caller frees; a secret), or NULL if none. */
char	*client_token(void);
/*
 * Set c up for url the way every CLI request is: TLS trust (BERTH_CA_CERT,
 * BERTH_MASTER_PIN) and the plain-text policy. 0, or -1 with *cause.
 */
int	 client_tls(void *curl, const char *url, char **cause);

#endif
