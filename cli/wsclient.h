/*
 * wsclient.h - a websocket client for the CLI's exec sessions: the
 * opening handshake over a connection libcurl opened and secured
 * (CURLOPT_CONNECT_ONLY, with client_tls(): the same trust and plain-text
 * policy as every other request), then RFC 6455 frames (common/wsframe.h)
 * over curl_easy_send()/curl_easy_recv(). Single-threaded; the caller
 * polls wsc_fd().
 */
#ifndef BERTH_CLI_WSCLIENT_H
#define BERTH_CLI_WSCLIENT_H

#include <stddef.h>

struct wsc;

/*
 * Open path (with its query) on the master as a websocket, sending the
 * operator token. 0 and *w; or -1 with *cause: the master's own error
 * when it refused the upgrade (*status its HTTP status), else why it
 * could not be reached (*status 0).
 */
int	 wsc_open(const char *path, struct wsc **w, long *status,
	    char **cause);
/* The socket, for poll(). */
int	 wsc_fd(struct wsc *w);
/* Queue a frame (masked, as a client's must be). */
void	 wsc_send(struct wsc *w, int opcode, const void *data, size_t len);
/* Bytes queued and not yet written. */
size_t	 wsc_pending(struct wsc *w);
/* Write what is queued as far as the socket takes it. 0, or -1 + cause. */
int	 wsc_flush(struct wsc *w, char **cause);

/* Called for each whole message (text or binary) read. */
typedef void wsc_msg_fn(void *arg, int opcode, const unsigned char *data,
    size_t len);
/*
 * Read what arrived and hand each message to fn; pings are answered.
 * 0 while the session goes on; 1 once the server closed it (its close
 * answered) or the connection ended; -1 with *cause on a broken frame
 * or a failed read.
 */
int	 wsc_read(struct wsc *w, wsc_msg_fn *fn, void *arg, char **cause);
/* The close code the server sent (0 if none). */
int	 wsc_close_code(struct wsc *w);
void	 wsc_free(struct wsc *w);	/* NULL is a no-op */

#endif
