/*
 * units.h - the units people type: sizes ("512M") and durations ("1h30m").
 *
 * One home for both, used by the stack parser (mem_limit,
 * stop_grace_period), the CLI (setting values, and later --memory and
 * --timeout) and the settings engine (common/settings.h). Pure functions,
 * safe on any thread. Each returns 0, or -1 with *cause (caller frees).
 */
#ifndef BERTH_UNITS_H
#define BERTH_UNITS_H

#include <stddef.h>

/*
 * Bytes from "128M", "1g", "512k", "1.5G", "64mb", "2GiB" or "1048576":
 * k/m/g/t (with optional b or ib) are powers of 1024, case-insensitive; a
 * fraction needs a unit.
 */
int	 units_parse_bytes(const char *s, long long *bytes, char **cause);

/*
 * Whole seconds from "30s", "2m", "30min", "1h30m", "2d", "1.5s" or a bare
 * number of seconds ("90"); rounded to the nearest second.
 */
int	 units_parse_duration(const char *s, long long *seconds, char **cause);

/*
 * The shortest exact form of a duration in seconds: "0s", "45s", "10m",
 * "1h30m", "7d". Writes at most len bytes into buf and returns buf.
 */
const char *units_format_duration(long long seconds, char *buf, size_t len);

/* The shortest exact form of a size: "512", "64KiB", "1GiB", "1536MiB". */
const char *units_format_bytes(long long bytes, char *buf, size_t len);

#endif
