/*
 * util.c - clocks, name and label validation, randomness, buffers, files.
 *
 * Pure helpers, safe on any thread. util_write_file() is the one way berth
 * writes a small file it must not lose half of (tokens, node ids).
 */
#include "util.h"
#include "xmalloc.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int64_t
util_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
util_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
util_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
util_iso8601(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

int64_t
util_parse_time(const char *s)
{
	struct tm tm;
	const char *p;
	char *end;
	long long v;
	int ms = 0;

	if (s == NULL || *s == '\0')
		return -1;
	if (isdigit((unsigned char)s[0]) && strchr(s, '-') == NULL) {
		errno = 0;
		v = strtoll(s, &end, 10);
		if (errno != 0 || *end != '\0' || v < 0 || v > 1LL << 40)
			return -1;
		return (int64_t)v * 1000;
	}
	memset(&tm, 0, sizeof tm);
	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (p == NULL)
		return -1;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		ms = (int)strtol(p, &end, 10);
		while (end - p > 3) {
			ms /= 10;
			p++;
		}
		while (end - p < 3) {
			ms *= 10;
			p--;
		}
		p = end;
	}
	if (*p == 'Z')
		p++;
	if (*p != '\0')
		return -1;
	return (int64_t)timegm(&tm) * 1000 + ms;
}

int
util_name_valid(const char *s)
{
	size_t n;

	if (s == NULL)
		return 0;
	if (s[0] == '-')
		return 0;
	for (n = 0; s[n] != '\0'; n++) {
		if (n >= UTIL_NAME_MAX)
			return 0;
		if (!((s[n] >= 'a' && s[n] <= 'z') ||
		    (s[n] >= '0' && s[n] <= '9') || s[n] == '-'))
			return 0;
	}
	return n > 0;
}

int
util_label_valid(const char *s)
{
	const char *eq;
	size_t i, klen;

	if (s == NULL || (eq = strchr(s, '=')) == NULL)
		return 0;
	klen = (size_t)(eq - s);
	if (klen == 0 || klen > 63)
		return 0;
	for (i = 0; i < klen; i++) {
		if (!(isalnum((unsigned char)s[i]) || s[i] == '.' ||
		    s[i] == '_' || s[i] == '-'))
			return 0;
	}
	for (i = 0, eq++; eq[i] != '\0'; i++) {
		if (i >= 255)
			return 0;
		if ((unsigned char)eq[i] <= 0x20 || (unsigned char)eq[i] >= 0x7f ||
		    eq[i] == ',')
			return 0;
	}
	return 1;
}

int
util_label_same_key(const char *a, const char *b)
{
	size_t ka = strcspn(a, "="), kb = strcspn(b, "=");

	return ka == kb && strncmp(a, b, ka) == 0;
}

void
util_random(void *buf, size_t len)
{
	unsigned char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = getrandom(p, len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			abort();
		}
		p += n;
		len -= (size_t)n;
	}
}

void
util_hex(const void *buf, size_t len, char *out)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = hex[p[i] >> 4];
		out[2 * i + 1] = hex[p[i] & 0xf];
	}
	out[2 * len] = '\0';
}

static void
buf_reserve(struct buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;

	if (need <= b->cap)
		return;
	if (b->cap == 0)
		b->cap = 256;
	while (b->cap < need)
		b->cap *= 2;
	b->data = xrealloc(b->data, b->cap);
}

void
buf_append(struct buf *b, const void *data, size_t len)
{
	buf_reserve(b, len);
	if (len > 0)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	buf_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void
buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

int
util_read_file(const char *path, size_t max, char **out, size_t *len)
{
	struct buf b = { 0 };
	char chunk[8192];
	ssize_t n;
	int fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	for (;;) {
		n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (b.len + (size_t)n > max) {
			n = -1;
			errno = EFBIG;
			break;
		}
		buf_append(&b, chunk, (size_t)n);
	}
	saved = errno;
	close(fd);
	if (n < 0) {
		buf_free(&b);
		errno = saved;
		return -1;
	}
	if (b.data == NULL)
		buf_append(&b, "", 0);
	*out = b.data;
	if (len != NULL)
		*len = b.len;
	return 0;
}

int
util_write_file(const char *path, const void *data, size_t len, int mode)
{
	char *tmp;
	const char *p = data;
	ssize_t n;
	int fd, saved;

	xasprintf(&tmp, "%s.tmp.%d", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		goto fail;
	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail_fd;
		p += n;
		len -= (size_t)n;
	}
	if (fchmod(fd, (mode_t)mode) != 0 || fsync(fd) != 0)
		goto fail_fd;
	if (close(fd) != 0) {
		fd = -1;
		goto fail_unlink;
	}
	if (rename(tmp, path) != 0)
		goto fail_unlink;
	free(tmp);
	return 0;

fail_fd:
	saved = errno;
	close(fd);
	errno = saved;
fail_unlink:
	saved = errno;
	unlink(tmp);
	errno = saved;
fail:
	saved = errno;
	free(tmp);
	errno = saved;
	return -1;
}

int
util_wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int64_t left;
	int rc;

	for (;;) {
		if ((left = deadline - util_mono_ms()) <= 0)
			return 0;
		rc = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (rc > 0)
			return 1;
		if (rc < 0 && errno != EINTR)
			return -1;
	}
}
