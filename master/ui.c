/*
 * ui.c - serve the dashboard's built-in files under /ui/.
 *
 * The set is fixed at build time (ui_assets[], scripts/ui-embed.sh): a
 * request names one of its URLs exactly or gets 404, so "..", "%2e%2e",
 * doubled slashes or absolute paths reach nothing (there is no file system
 * behind this). Each reply carries the strict CSP, an ETag (If-None-Match
 * gets 304) and, when the client takes gzip, the precomputed gzip bytes.
 * Nothing here reads a token: the page logs in against the REST API.
 */
#include "master/ui.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <microhttpd.h>

const struct ui_asset *
ui_find(const char *url)
{
	size_t i;

	for (i = 0; i < ui_n_assets; i++)
		if (strcmp(ui_assets[i].url, url) == 0)
			return &ui_assets[i];
	return NULL;
}

int
ui_takes_gzip(const char *ae)
{
	const char *p = ae, *end, *semi;
	size_t n;

	while (ae != NULL && *p != '\0') {
		p += strspn(p, " \t,");
		end = p + strcspn(p, ",");
		semi = memchr(p, ';', (size_t)(end - p));
		n = (size_t)((semi != NULL ? semi : end) - p);
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if ((n == 4 && strncasecmp(p, "gzip", 4) == 0) ||
		    (n == 1 && *p == '*')) {
			if (semi == NULL)
				return 1;
			semi += 1 + strspn(semi + 1, " \t");
			if (strncasecmp(semi, "q=", 2) == 0 &&
			    strtod(semi + 2, NULL) <= 0.0)
				return 0;	/* "gzip;q=0": refused */
			return 1;
		}
		p = end;
	}
	return 0;
}

/* 1 when an If-None-Match value names etag (or is "*"). */
static int
ui_etag_matches(const char *inm, const char *etag)
{
	size_t n = strlen(etag);
	const char *p = inm;

	if (inm == NULL)
		return 0;
	for (;;) {
		p += strspn(p, " \t,");
		if (*p == '\0')
			return 0;
		if (*p == '*')
			return 1;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		if (strncmp(p, etag, n) == 0 && (p[n] == '\0' ||
		    p[n] == ',' || p[n] == ' ' || p[n] == '\t'))
			return 1;
		p += strcspn(p, ",");
	}
}

static void
ui_headers(struct MHD_Response *r)
{
	MHD_add_response_header(r, "Content-Security-Policy", UI_CSP);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	MHD_add_response_header(r, "Cross-Origin-Opener-Policy",
	    "same-origin");
}

static int
ui_queue(struct MHD_Connection *conn, int status, struct MHD_Response *r)
{
	ui_headers(r);
	MHD_queue_response(conn, (unsigned int)status, r);
	MHD_destroy_response(r);
	return status;
}

static int
ui_text(struct MHD_Connection *conn, int status, const char *json)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(json),
	    (void *)(uintptr_t)json, MHD_RESPMEM_PERSISTENT);

	MHD_add_response_header(r, "Content-Type", "application/json");
	return ui_queue(conn, status, r);
}

static int
ui_redirect(struct MHD_Connection *conn, int status, const char *to)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(0, NULL,
	    MHD_RESPMEM_PERSISTENT);

	MHD_add_response_header(r, "Location", to);
	return ui_queue(conn, status, r);
}

int
ui_serve(struct MHD_Connection *conn, const char *method, const char *url)
{
	const struct ui_asset *a;
	struct MHD_Response *r;
	const char *inm, *ae;
	int gz;

	if (strcmp(url, "/") != 0 && strcmp(url, "/ui") != 0 &&
	    strncmp(url, "/ui/", 4) != 0)
		return 0;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		r = MHD_create_response_from_buffer(0, NULL,
		    MHD_RESPMEM_PERSISTENT);
		MHD_add_response_header(r, "Allow", "GET, HEAD");
		return ui_queue(conn, 405, r);
	}
	if (strcmp(url, "/") == 0)
		return ui_redirect(conn, 302, "/ui/");
	if (strcmp(url, "/ui") == 0)
		return ui_redirect(conn, 301, "/ui/");
	if ((a = ui_find(url)) == NULL)
		return ui_text(conn, 404, "{\"error\":\"no such dashboard "
		    "file\"}");
	inm = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_IF_NONE_MATCH);
	if (ui_etag_matches(inm, a->etag)) {
		r = MHD_create_response_from_buffer(0, NULL,
		    MHD_RESPMEM_PERSISTENT);
		MHD_add_response_header(r, "ETag", a->etag);
		MHD_add_response_header(r, "Cache-Control", "no-cache");
		MHD_add_response_header(r, "Vary", "Accept-Encoding");
		return ui_queue(conn, 304, r);
	}
	ae = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_ACCEPT_ENCODING);
	gz = a->gz != NULL && ui_takes_gzip(ae);
	r = MHD_create_response_from_buffer(gz ? a->gzlen : a->len,
	    (void *)(uintptr_t)(gz ? a->gz : a->data), MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(r, "Content-Type", a->type);
	MHD_add_response_header(r, "ETag", a->etag);
	/* Revalidate every time: one 304 per file, and a new master's
	 * files are never mixed with an old one's. */
	MHD_add_response_header(r, "Cache-Control", "no-cache");
	MHD_add_response_header(r, "Vary", "Accept-Encoding");
	if (gz)
		MHD_add_response_header(r, "Content-Encoding", "gzip");
	return ui_queue(conn, 200, r);
}
