/*
 * xmalloc.h - allocation that aborts instead of returning NULL.
 *
 * Every binary of berth uses these instead of malloc(3) and friends: an
 * allocation failure is not a condition any caller can handle usefully, so
 * it is fatal (the tmux convention). Functions here are thread-safe.
 */
#ifndef BERTH_XMALLOC_H
#define BERTH_XMALLOC_H

#include <stdarg.h>
#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
void *xreallocarray(void *ptr, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
int xasprintf(char **ret, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int xvasprintf(char **ret, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

#endif
