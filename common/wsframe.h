/*
 * wsframe.h - the WebSocket protocol (RFC 6455) as a codec: the opening
 * handshake's key, frames in and out, and messages from fragments.
 *
 * The exec channel between the CLI and the master (docs/exec.md) is a
 * websocket that the master serves on a socket libmicrohttpd hands over
 * after "101 Switching Protocols", and that the CLI speaks over the
 * connection libcurl opened (and secured, with the CLI's TLS policy).
 * Neither side has a websocket library for that socket, so both use this
 * codec. It does no I/O and keeps no state beyond a struct ws_reader, so
 * tests/unit/test_wsframe.c and tests/fuzz/fuzz_wsframe.c drive it with
 * arbitrary bytes. No extensions (compression) are negotiated: every RSV
 * bit must be 0.
 */
#ifndef BERTH_WSFRAME_H
#define BERTH_WSFRAME_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/util.h"

/* Opcodes. */
#define WS_OP_CONT	0x0
#define WS_OP_TEXT	0x1
#define WS_OP_BINARY	0x2
#define WS_OP_CLOSE	0x8
#define WS_OP_PING	0x9
#define WS_OP_PONG	0xa

/* Close codes used here (RFC 6455, 7.4.1). */
#define WS_CLOSE_NORMAL		1000
#define WS_CLOSE_GOING_AWAY	1001
#define WS_CLOSE_PROTOCOL	1002	/* a frame broke the protocol */
#define WS_CLOSE_BAD_DATA	1007	/* a text message was not UTF-8 */
#define WS_CLOSE_POLICY		1008	/* a message we cannot accept */
#define WS_CLOSE_TOO_BIG	1009
#define WS_CLOSE_ERROR		1011	/* the server failed */

#define WS_CONTROL_MAX	125	/* a control frame's largest payload */
#define WS_ACCEPT_LEN	28	/* base64 of a SHA-1 */
#define WS_KEY_LEN	24	/* base64 of 16 random bytes */
#define WS_HEADER_MAX	14	/* 2 + 8 (length) + 4 (mask) */

/*
 * The Sec-WebSocket-Accept value for a client's Sec-WebSocket-Key:
 * base64(SHA-1(key + the RFC's GUID)), NUL-ended.
 */
void	 ws_accept(const char *key, char out[WS_ACCEPT_LEN + 1]);
/* A new Sec-WebSocket-Key: base64 of 16 bytes from getrandom. */
void	 ws_key_new(char out[WS_KEY_LEN + 1]);
/* 1 when key is a Sec-WebSocket-Key the RFC allows (24 base64 chars). */
int	 ws_key_valid(const char *key);

/*
 * Append one frame to out. mask: NULL for a server's frame, else the 4
 * bytes a client masks its payload with (a client must mask every frame).
 */
void	 ws_frame_append(struct buf *out, int opcode, int fin,
	    const void *payload, size_t len, const unsigned char *mask);
/* A close frame with code and a reason (cut to fit 125 bytes). */
void	 ws_close_append(struct buf *out, int code, const char *reason,
	    const unsigned char *mask);

/* A parsed frame; payload points into the buffer given to the parser. */
struct ws_frame {
	int		 opcode;	/* WS_OP_* */
	int		 fin;		/* last fragment of its message */
	unsigned char	*payload;	/* unmasked in place */
	size_t		 len;		/* payload bytes */
};

/*
 * Parse the frame at the start of data (len bytes), unmasking its payload
 * in place. masked: 1 when frames must be masked (a server reading a
 * client), 0 when they must not be. max: the largest payload accepted.
 * Returns the frame's size (> 0) with *f filled; 0 when data holds only
 * part of a frame; -1 on a frame that breaks the protocol, with
 * *close_code (WS_CLOSE_PROTOCOL or WS_CLOSE_TOO_BIG) and *cause (static).
 */
ssize_t	 ws_frame_parse(unsigned char *data, size_t len, int masked,
	    size_t max, struct ws_frame *f, int *close_code,
	    const char **cause);

/* Reassembles data messages from their fragments. All zero is ready. */
struct ws_reader {
	struct buf	 msg;		/* the message so far */
	int		 opcode;	/* its opcode; 0: none under way */
	size_t		 max;		/* largest message; 0 = no limit */
};

/*
 * Feed one data frame (text, binary or continuation; the caller answers
 * control frames, which may come between fragments). Returns 1 when a
 * message is complete: its opcode in *opcode, its bytes in r->msg (valid
 * until the next feed; the caller may take them with buf_free() after
 * use); 0 when more fragments must come; -1 on a broken sequence or an
 * oversized message, with *close_code and *cause (static).
 */
int	 ws_reader_feed(struct ws_reader *r, const struct ws_frame *f,
	    int *opcode, int *close_code, const char **cause);
void	 ws_reader_free(struct ws_reader *r);

/* 1 when s (len bytes) is valid UTF-8 (text messages must be). */
int	 ws_utf8_valid(const unsigned char *s, size_t len);

#endif
