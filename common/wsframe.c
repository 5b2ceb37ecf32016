/*
 * wsframe.c - RFC 6455 frames and handshake keys (see wsframe.h).
 *
 * Pure apart from ws_key_new() (getrandom); any thread. The parser never
 * reads past len and never trusts a length field: a 64-bit length with
 * the top bit set, a control frame over 125 bytes or fragmented, a frame
 * over max, reserved bits or opcodes, and a mask where none may be (or
 * none where one must be) are each an error naming the rule.
 */
#include "common/wsframe.h"

#include <string.h>

#include <openssl/evp.h>

#define WS_GUID	"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

void
ws_accept(const char *key, char out[WS_ACCEPT_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	struct buf b = { 0 };

	buf_printf(&b, "%s%s", key, WS_GUID);
	EVP_Digest(b.data, b.len, md, &mdlen, EVP_sha1(), NULL);
	buf_free(&b);
	EVP_EncodeBlock((unsigned char *)out, md, (int)mdlen);
	out[WS_ACCEPT_LEN] = '\0';
}

void
ws_key_new(char out[WS_KEY_LEN + 1])
{
	unsigned char raw[16];

	util_random(raw, sizeof raw);
	EVP_EncodeBlock((unsigned char *)out, raw, sizeof raw);
	out[WS_KEY_LEN] = '\0';
}

int
ws_key_valid(const char *key)
{
	size_t i;

	if (key == NULL || strlen(key) != WS_KEY_LEN || key[22] != '=' ||
	    key[23] != '=')
		return 0;
	for (i = 0; i < 22; i++) {
		char c = key[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '+' || c == '/'))
			return 0;
	}
	return 1;
}

void
ws_frame_append(struct buf *out, int opcode, int fin, const void *payload,
    size_t len, const unsigned char *mask)
{
	unsigned char h[WS_HEADER_MAX];
	const unsigned char *p = payload;
	size_t n = 0, i, at;
	int k;

	h[n++] = (unsigned char)((fin ? 0x80 : 0) | (opcode & 0x0f));
	if (len < 126)
		h[n++] = (unsigned char)((mask ? 0x80 : 0) | len);
	else if (len <= 0xffff) {
		h[n++] = (unsigned char)((mask ? 0x80 : 0) | 126);
		h[n++] = (unsigned char)(len >> 8);
		h[n++] = (unsigned char)len;
	} else {
		h[n++] = (unsigned char)((mask ? 0x80 : 0) | 127);
		for (k = 7; k >= 0; k--)
			h[n++] = (unsigned char)((uint64_t)len >> (k * 8));
	}
	if (mask != NULL) {
		memcpy(h + n, mask, 4);
		n += 4;
	}
	buf_append(out, h, n);
	if (len == 0)
		return;
	at = out->len;
	buf_append(out, p, len);
	if (mask != NULL)
		for (i = 0; i < len; i++)
			out->data[at + i] ^= (char)mask[i & 3];
}

void
ws_close_append(struct buf *out, int code, const char *reason,
    const unsigned char *mask)
{
	unsigned char p[WS_CONTROL_MAX];
	size_t n = reason != NULL ? strlen(reason) : 0;

	if (n > WS_CONTROL_MAX - 2)
		n = WS_CONTROL_MAX - 2;
	/* Cut at a character boundary: the reason must stay UTF-8. */
	while (n > 0 && reason[n] != '\0' &&
	    ((unsigned char)reason[n] & 0xc0) == 0x80)
		n--;
	p[0] = (unsigned char)(code >> 8);
	p[1] = (unsigned char)code;
	if (n > 0)
		memcpy(p + 2, reason, n);
	ws_frame_append(out, WS_OP_CLOSE, 1, p, n + 2, mask);
}

static int
ws_fail(int code, const char *why, int *close_code, const char **cause)
{
	*close_code = code;
	*cause = why;
	return -1;
}

ssize_t
ws_frame_parse(unsigned char *data, size_t len, int masked, size_t max,
    struct ws_frame *f, int *close_code, const char **cause)
{
	size_t need = 2, i;
	uint64_t plen;
	unsigned char *mask = NULL;
	int op, has_mask;

	if (len < 2)
		return 0;
	op = data[0] & 0x0f;
	if (data[0] & 0x70)
		return ws_fail(WS_CLOSE_PROTOCOL, "reserved bits set (no "
		    "extension was negotiated)", close_code, cause);
	if (op != WS_OP_CONT && op != WS_OP_TEXT && op != WS_OP_BINARY &&
	    op != WS_OP_CLOSE && op != WS_OP_PING && op != WS_OP_PONG)
		return ws_fail(WS_CLOSE_PROTOCOL, "unknown opcode", close_code,
		    cause);
	has_mask = (data[1] & 0x80) != 0;
	if (has_mask != masked)
		return ws_fail(WS_CLOSE_PROTOCOL, masked ? "a client frame "
		    "must be masked" : "a server frame must not be masked",
		    close_code, cause);
	plen = data[1] & 0x7f;
	if (plen == 126) {
		need += 2;
		if (len < need)
			return 0;
		plen = ((uint64_t)data[2] << 8) | data[3];
		if (plen < 126)
			return ws_fail(WS_CLOSE_PROTOCOL, "length not in its "
			    "shortest form", close_code, cause);
	} else if (plen == 127) {
		need += 8;
		if (len < need)
			return 0;
		if (data[2] & 0x80)
			return ws_fail(WS_CLOSE_PROTOCOL, "64-bit length with "
			    "its top bit set", close_code, cause);
		for (plen = 0, i = 2; i < 10; i++)
			plen = (plen << 8) | data[i];
		if (plen <= 0xffff)
			return ws_fail(WS_CLOSE_PROTOCOL, "length not in its "
			    "shortest form", close_code, cause);
	}
	if (op >= WS_OP_CLOSE) {
		if (!(data[0] & 0x80))
			return ws_fail(WS_CLOSE_PROTOCOL, "fragmented control "
			    "frame", close_code, cause);
		if (plen > WS_CONTROL_MAX)
			return ws_fail(WS_CLOSE_PROTOCOL, "control frame over "
			    "125 bytes", close_code, cause);
	}
	if (plen > max)
		return ws_fail(WS_CLOSE_TOO_BIG, "frame too large", close_code,
		    cause);
	if (has_mask) {
		mask = data + need;
		need += 4;
	}
	if (len < need || len - need < plen)
		return 0;
	f->opcode = op;
	f->fin = (data[0] & 0x80) != 0;
	f->payload = data + need;
	f->len = (size_t)plen;
	if (mask != NULL)
		for (i = 0; i < f->len; i++)
			f->payload[i] ^= mask[i & 3];
	return (ssize_t)(need + f->len);
}

int
ws_reader_feed(struct ws_reader *r, const struct ws_frame *f, int *opcode,
    int *close_code, const char **cause)
{
	if (f->opcode == WS_OP_CONT) {
		if (r->opcode == 0)
			return ws_fail(WS_CLOSE_PROTOCOL, "continuation without "
			    "a message", close_code, cause);
	} else {
		if (r->opcode != 0)
			return ws_fail(WS_CLOSE_PROTOCOL, "new message before "
			    "the last one ended", close_code, cause);
		buf_free(&r->msg);
		r->opcode = f->opcode;
	}
	if (r->max != 0 && (r->msg.len + f->len > r->max))
		return ws_fail(WS_CLOSE_TOO_BIG, "message too large",
		    close_code, cause);
	buf_append(&r->msg, f->payload, f->len);
	if (!f->fin)
		return 0;
	*opcode = r->opcode;
	r->opcode = 0;
	if (*opcode == WS_OP_TEXT && !ws_utf8_valid((unsigned char *)
	    r->msg.data, r->msg.len))
		return ws_fail(WS_CLOSE_BAD_DATA, "text message is not UTF-8",
		    close_code, cause);
	return 1;
}

void
ws_reader_free(struct ws_reader *r)
{
	buf_free(&r->msg);
	r->opcode = 0;
}

int
ws_utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0, n, k;
	uint32_t cp;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			n = 1;
			cp = s[i] & 0x1f;
		} else if ((s[i] & 0xf0) == 0xe0) {
			n = 2;
			cp = s[i] & 0x0f;
		} else if ((s[i] & 0xf8) == 0xf0) {
			n = 3;
			cp = s[i] & 0x07;
		} else
			return 0;
		if (len - i <= n)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		/* Overlong forms, surrogates and beyond U+10FFFF. */
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}
