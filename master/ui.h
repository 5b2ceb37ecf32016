/*
 * ui.h - the web dashboard's files, built into berth-master.
 *
 * web/ (the dashboard: HTML, CSS, ES modules) and the vendored uPlot are
 * turned into C arrays at build time by scripts/ui-embed.sh, each with a
 * gzip variant and an ETag; ui.c serves exactly that set under /ui/ and
 * nothing else (no file system, so no path can reach outside it).
 * docs/dashboard.md has the design.
 */
#ifndef BERTH_UI_H
#define BERTH_UI_H

#include <stddef.h>

struct MHD_Connection;
struct master;

struct ui_asset {
	const char		*url;	/* "/ui/app.js" */
	const char		*type;	/* Content-Type */
	const char		*etag;	/* "\"<16 hex>\"" */
	const unsigned char	*data;	/* the bytes */
	size_t			 len;
	const unsigned char	*gz;	/* gzip -9 of them, or NULL */
	size_t			 gzlen;
};

extern const struct ui_asset	ui_assets[];	/* generated */
extern const size_t		ui_n_assets;

/* The Content-Security-Policy of every dashboard reply. */
#define UI_CSP	"default-src 'none'; script-src 'self'; style-src 'self'; " \
		"img-src 'self' data:; connect-src 'self'; font-src 'self'; " \
		"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/* 1 when an Accept-Encoding value (or NULL) takes gzip ("gzip;q=0" does
 * not). */
int	 ui_takes_gzip(const char *accept_encoding);
/* The asset at url, or NULL. */
const struct ui_asset	*ui_find(const char *url);
/*
 * If url is the dashboard's ("/", "/ui" or under "/ui/"), queue the reply
 * on conn (the file, 304, 302 to /ui/, 404 or 405) and return its status;
 * else return 0 and leave conn alone.
 */
int	 ui_serve(struct MHD_Connection *conn, const char *method,
	    const char *url);

#endif
