/*
 * tlsutil.c - public-key pins (see tlsutil.h): parse, compute, format;
 * and the loopback test of the plain-text policy.
 *
 * Used by the master (to log and publish its pin), the agent (to check the
 * master during the TLS handshake) and the CLI (handed to libcurl).
 */
#include "common/tlsutil.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <strings.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#define TLSUTIL_PIN_B64	"sha256//"
#define TLSUTIL_PIN_HEX	"sha256:"

static int
tlspin_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
tlsutil_pin_parse(const char *s, unsigned char pin[TLSUTIL_PIN_LEN])
{
	unsigned char raw[48];
	size_t i;
	int hi, lo;

	if (strncmp(s, TLSUTIL_PIN_B64, strlen(TLSUTIL_PIN_B64)) == 0) {
		s += strlen(TLSUTIL_PIN_B64);
		/* 32 bytes are 43 base64 characters and one '='. */
		if (strlen(s) != 44 || s[43] != '=' || s[42] == '=')
			return -1;
		if (EVP_DecodeBlock(raw, (const unsigned char *)s, 44) != 33)
			return -1;
		memcpy(pin, raw, TLSUTIL_PIN_LEN);
		return 0;
	}
	if (strncmp(s, TLSUTIL_PIN_HEX, strlen(TLSUTIL_PIN_HEX)) == 0) {
		s += strlen(TLSUTIL_PIN_HEX);
		if (strlen(s) != 2 * TLSUTIL_PIN_LEN)
			return -1;
		for (i = 0; i < TLSUTIL_PIN_LEN; i++) {
			hi = tlspin_hexval((unsigned char)s[2 * i]);
			lo = tlspin_hexval((unsigned char)s[2 * i + 1]);
			if (hi < 0 || lo < 0)
				return -1;
			pin[i] = (unsigned char)(hi << 4 | lo);
		}
		return 0;
	}
	return -1;
}

int
tlsutil_pin_of_cert(X509 *x, unsigned char pin[TLSUTIL_PIN_LEN])
{
	unsigned char *der = NULL;
	int len;

	if (x == NULL)
		return -1;
	len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
	if (len <= 0)
		return -1;
	SHA256(der, (size_t)len, pin);
	OPENSSL_free(der);
	return 0;
}

void
tlsutil_pin_format(const unsigned char pin[TLSUTIL_PIN_LEN], char out[TLSUTIL_PIN_STRLEN])
{
	memcpy(out, TLSUTIL_PIN_B64, strlen(TLSUTIL_PIN_B64));
	EVP_EncodeBlock((unsigned char *)out + strlen(TLSUTIL_PIN_B64), pin,
	    TLSUTIL_PIN_LEN);
}

int
tlsutil_host_loopback(const char *host)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (strcasecmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return 0;
}
