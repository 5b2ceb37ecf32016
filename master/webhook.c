/*
 * webhook.c - a grid's webhook (see webhook.h).
 *
 * The thread follows the event log by id (store_event_feed_json()), every
 * WEBHOOK_POLL_MS, on its own connection: the writers of events (API, hub,
 * scheduler) do nothing for it and cannot be held by it. Events go into a
 * ring of WEBHOOK_QUEUE_MAX; the head is posted with libcurl (one handle,
 * so a keep-alive connection is reused), in order. A failed POST waits
 * 1 s, doubling to 30 s, up to webhook_retries times, then is dropped;
 * an event that finds the ring full is dropped at once. Both are counted
 * (GET /metrics) and logged with the URL redacted.
 *
 * webhook_url is a secret, sealed under the master key in the store and
 * in the ring (settings.h); wh_post() opens it right before the POST and
 * wipes the clear copy right after. One that does not open (master.key
 * replaced) is dropped unposted, logged and told once as a
 * grid.webhook_unsealable event, all without the secret.
 */
#include "master/webhook.h"

#include "common/grid_settings.h"
#include "common/log.h"
#include "common/util.h"
#include "common/xmalloc.h"

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WEBHOOK_POLL_MS		200	/* the event log is read this often */
#define WEBHOOK_BATCH		200	/* events read at once */
#define WEBHOOK_BACKOFF_MS	1000	/* after a failed POST, doubling */
#define WEBHOOK_BACKOFF_MAX_MS	30000

struct wh_item {
	int64_t		 event_id;
	char		 grid[64];
	char		 type[64];
	char		*body;		/* the JSON posted */
	int64_t		 grid_id;
	/* sealed, as the store keeps it (settings.h); opened to post */
	char		 url[SETTING_SEALED_SIZE(GRID_WEBHOOK_URL_MAX)];
	int64_t		 timeout_s;
	int64_t		 retries;
	int		 attempts;	/* failed so far */
	int64_t		 next_ms;	/* monotonic: not before */
};

struct webhook {
	struct master		*m;
	pthread_t		 thread;
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	atomic_int		 stop;
	struct wh_item		*q;		/* ring, WEBHOOK_QUEUE_MAX */
	size_t			 head, n;
	int64_t			 cursor;	/* last event id read, -1 unset */
	CURL			*curl;
	/* a sealed URL that did not open, told once (event) */
	char			 unsealable[SETTING_SEALED_SIZE(
				    GRID_WEBHOOK_URL_MAX)];
	atomic_uint_fast64_t	 sent, failed, dropped, queued;
};

/* A grid as the feed needs it, cached for one read. */
struct wh_grid {
	int64_t			 id;
	int			 ok;		/* read from the store */
	char			 name[64];
	struct grid_settings	 gs;
};

static void
wh_item_clear(struct wh_item *it)
{
	free(it->body);
	explicit_bzero(it->url, sizeof it->url);
	memset(it, 0, sizeof *it);
}

static void
wh_drop(struct webhook *w, const struct wh_item *it, const char *why)
{
	char red[256];

	atomic_fetch_add(&w->dropped, 1);
	log_warn("webhook: grid %s: event %lld (%s) to %s dropped: %s",
	    it->grid, (long long)it->event_id, it->type,
	    settings_shown(it->url, red, sizeof red), why);
}

static struct wh_grid *
wh_grid(struct store *st, struct wh_grid **cache, size_t *n, int64_t id)
{
	struct grid g;
	size_t i;

	for (i = 0; i < *n; i++)
		if ((*cache)[i].id == id)
			return &(*cache)[i];
	*cache = xreallocarray(*cache, *n + 1, sizeof **cache);
	memset(&(*cache)[*n], 0, sizeof **cache);
	(*cache)[*n].id = id;
	if (store_grid_get_id(st, id, &g) == 1) {
		(*cache)[*n].ok = 1;
		snprintf((*cache)[*n].name, sizeof (*cache)[*n].name, "%s",
		    g.name);
		(*cache)[*n].gs = g.settings;
		explicit_bzero(&g.settings, sizeof g.settings);
	}
	return &(*cache)[(*n)++];
}

/* The POST's body: Slack's "text", then the event itself. */
static char *
wh_body(const char *grid, json_t *ev)
{
	const char *type = json_string_value(json_object_get(ev, "type"));
	const char *msg = json_string_value(json_object_get(ev, "message"));
	json_t *subject = json_object_get(ev, "subject"), *o;
	char at[32], *text, *out;

	util_iso8601(json_integer_value(json_object_get(ev, "at")), at,
	    sizeof at);
	xasprintf(&text, "[%s] %s: %s", grid, type, msg != NULL ? msg : "");
	o = json_pack("{s:s, s:s, s:s, s:O, s:s, s:s, s:I}", "text", text,
	    "type", type, "grid", grid, "subject", subject != NULL ? subject :
	    json_null(), "message", msg != NULL ? msg : "", "time", at, "id",
	    json_integer_value(json_object_get(ev, "id")));
	out = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	free(text);
	return out;
}

/* New events into the ring. 0, or -1 (a store error: next time). */
static int
wh_read(struct webhook *w, struct store *st)
{
	struct wh_grid *cache = NULL, *g;
	struct wh_item *it, over;
	json_t *feed, *ev;
	const char *type;
	size_t ncache = 0, i, nfeed;
	int64_t id;

	if (w->cursor < 0) {
		if ((w->cursor = store_event_last_id(st)) < 0)
			return -1;
		return 0;
	}
	do {
		if ((feed = store_event_feed_json(st, w->cursor,
		    WEBHOOK_BATCH)) == NULL) {
			free(cache);
			return -1;
		}
		nfeed = json_array_size(feed);
		json_array_foreach(feed, i, ev) {
			id = json_integer_value(json_object_get(ev, "id"));
			w->cursor = id;
			type = json_string_value(json_object_get(ev, "type"));
			g = wh_grid(st, &cache, &ncache, json_integer_value(
			    json_object_get(ev, "grid_id")));
			if (!g->ok || g->gs.webhook_url[0] == '\0' ||
			    type == NULL || !grid_webhook_wants(
			    g->gs.webhook_events, type))
				continue;
			memset(&over, 0, sizeof over);
			it = w->n < WEBHOOK_QUEUE_MAX ? &w->q[(w->head + w->n) %
			    WEBHOOK_QUEUE_MAX] : &over;
			it->event_id = id;
			it->grid_id = g->id;
			snprintf(it->grid, sizeof it->grid, "%s", g->name);
			snprintf(it->type, sizeof it->type, "%s", type);
			snprintf(it->url, sizeof it->url, "%s",
			    g->gs.webhook_url);
			if (it == &over) {
				wh_drop(w, it, "the queue is full (the "
				    "receiver is slow or down)");
				wh_item_clear(it);
				continue;
			}
			it->body = wh_body(g->name, ev);
			it->timeout_s = g->gs.webhook_timeout_s;
			it->retries = g->gs.webhook_retries;
			it->next_ms = 0;
			w->n++;
		}
		json_decref(feed);
	} while (nfeed == WEBHOOK_BATCH && !atomic_load(&w->stop));
	for (i = 0; i < ncache; i++)
		explicit_bzero(&cache[i].gs, sizeof cache[i].gs);
	free(cache);
	atomic_store(&w->queued, w->n);
	return 0;
}

static size_t
wh_sink(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

/* Abort a POST in flight when the master stops. */
static int
wh_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c,
    curl_off_t d)
{
	struct webhook *w = arg;

	(void)a;
	(void)b;
	(void)c;
	(void)d;
	return atomic_load(&w->stop) ? 1 : 0;
}

/*
 * POST it: 0 delivered, -1 with why, -2 with why when the URL does not
 * open (not worth trying again). The URL is clear only in here.
 */
static int
wh_post(struct webhook *w, const struct wh_item *it, char *why, size_t len)
{
	struct curl_slist *hdr = NULL;
	char *url = NULL, *cause = NULL;
	long status = 0;
	CURLcode rc;

	if (w->curl == NULL && (w->curl = curl_easy_init()) == NULL) {
		snprintf(why, len, "cannot make an HTTP client");
		return -1;
	}
	if (settings_unseal(&grid_settings_table, settings_find(
	    &grid_settings_table, "webhook_url"), it->url, &url,
	    &cause) != 0) {
		snprintf(why, len, "%s", cause);
		free(cause);
		return -2;
	}
	curl_easy_reset(w->curl);
	hdr = curl_slist_append(hdr, "Content-Type: application/json");
	hdr = curl_slist_append(hdr, "User-Agent: berth-master/"
	    MASTER_VERSION);
	curl_easy_setopt(w->curl, CURLOPT_URL, url);
	curl_easy_setopt(w->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(w->curl, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(w->curl, CURLOPT_POSTFIELDS, it->body);
	curl_easy_setopt(w->curl, CURLOPT_TIMEOUT_MS,
	    (long)it->timeout_s * 1000L);
	curl_easy_setopt(w->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(w->curl, CURLOPT_WRITEFUNCTION, wh_sink);
	curl_easy_setopt(w->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(w->curl, CURLOPT_XFERINFOFUNCTION, wh_progress);
	curl_easy_setopt(w->curl, CURLOPT_XFERINFODATA, w);
	rc = curl_easy_perform(w->curl);
	curl_slist_free_all(hdr);
	OPENSSL_cleanse(url, strlen(url));
	free(url);
	if (rc != CURLE_OK) {
		/* curl's words name no URL. */
		snprintf(why, len, "%s", curl_easy_strerror(rc));
		return -1;
	}
	curl_easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299) {
		snprintf(why, len, "the receiver answered HTTP %ld", status);
		return -1;
	}
	return 0;
}

/* The head, if due: posted, tried again later, or dropped. */
static void
wh_deliver(struct webhook *w)
{
	struct wh_item *it = &w->q[w->head];
	char why[256], red[256], more[320];
	int64_t wait;
	int rc;

	if (w->n == 0 || it->next_ms > util_mono_ms())
		return;
	if ((rc = wh_post(w, it, why, sizeof why)) == -2) {
		wh_drop(w, it, why);
		/* Told once per sealed value: its event is not re-told. */
		if (strcmp(w->unsealable, it->url) != 0) {
			snprintf(w->unsealable, sizeof w->unsealable, "%s",
			    it->url);
			if (store_event_add(master_store(w->m), it->grid_id,
			    "grid.webhook_unsealable", it->grid, "webhook: "
			    "events are not posted to %s: %s", settings_shown(
			    it->url, red, sizeof red), why) != 0)
				log_warn("webhook: cannot record an event: %s",
				    store_errmsg(master_store(w->m)));
		}
	} else if (rc == 0) {
		atomic_fetch_add(&w->sent, 1);
		log_debug("webhook: grid %s: event %lld (%s) posted",
		    it->grid, (long long)it->event_id, it->type);
	} else {
		atomic_fetch_add(&w->failed, 1);
		if (atomic_load(&w->stop))
			return;
		if (it->attempts < it->retries) {
			wait = (int64_t)WEBHOOK_BACKOFF_MS << it->attempts;
			if (wait > WEBHOOK_BACKOFF_MAX_MS)
				wait = WEBHOOK_BACKOFF_MAX_MS;
			it->attempts++;
			it->next_ms = util_mono_ms() + wait;
			log_warn("webhook: grid %s: POST to %s of event %lld "
			    "(%s) failed: %s; again in %llds (%d of %lld)",
			    it->grid, settings_shown(it->url, red,
			    sizeof red), (long long)it->event_id, it->type,
			    why, (long long)(wait / 1000), it->attempts,
			    (long long)it->retries);
			return;
		}
		snprintf(more, sizeof more, "%s, after %d attempt(s)", why,
		    it->attempts + 1);
		wh_drop(w, it, more);
	}
	wh_item_clear(it);
	w->head = (w->head + 1) % WEBHOOK_QUEUE_MAX;
	w->n--;
	atomic_store(&w->queued, w->n);
}

static void *
wh_main(void *arg)
{
	struct webhook *w = arg;
	struct store *st = master_store(w->m);
	struct timespec ts;
	int64_t last_read = 0, now;

	pthread_mutex_lock(&w->lock);
	while (!atomic_load(&w->stop)) {
		pthread_mutex_unlock(&w->lock);
		now = util_mono_ms();
		/* A standby posts nothing: the leader's webhook does. */
		if (now - last_read >= WEBHOOK_POLL_MS &&
		    master_leads(w->m)) {
			last_read = now;
			if (wh_read(w, st) != 0)
				log_warn("webhook: reading events: %s",
				    store_errmsg(st));
		}
		wh_deliver(w);
		pthread_mutex_lock(&w->lock);
		if (atomic_load(&w->stop))
			break;
		/* Sleep unless the head is due now. */
		if (w->n > 0 && w->q[w->head].next_ms <= util_mono_ms())
			continue;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += WEBHOOK_POLL_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&w->cond, &w->lock, &ts);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

struct webhook *
webhook_start(struct master *m, char **cause)
{
	struct webhook *w = xcalloc(1, sizeof *w);

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		xasprintf(cause, "curl_global_init failed");
		free(w);
		return NULL;
	}
	w->m = m;
	w->cursor = -1;
	w->q = xcalloc(WEBHOOK_QUEUE_MAX, sizeof *w->q);
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	if (pthread_create(&w->thread, NULL, wh_main, w) != 0) {
		xasprintf(cause, "pthread_create failed");
		pthread_mutex_destroy(&w->lock);
		pthread_cond_destroy(&w->cond);
		free(w->q);
		free(w);
		return NULL;
	}
	return w;
}

void
webhook_free(struct webhook *w)
{
	size_t i;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	atomic_store(&w->stop, 1);
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	for (i = 0; i < WEBHOOK_QUEUE_MAX; i++)
		if (w->q[i].body != NULL)
			wh_item_clear(&w->q[i]);
	if (w->curl != NULL)
		curl_easy_cleanup(w->curl);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	free(w->q);
	free(w);
}

void
webhook_stats(struct webhook *w, struct webhook_stats *s)
{
	memset(s, 0, sizeof *s);
	if (w == NULL)
		return;
	s->sent = atomic_load(&w->sent);
	s->failed = atomic_load(&w->failed);
	s->dropped = atomic_load(&w->dropped);
	s->queued = atomic_load(&w->queued);
}
