#!/usr/bin/env bash
# dashboard.sh - the dashboard's static routes on a real master, no Docker:
# "/" and "/ui" redirect, every built-in file with its content type, CSP,
# ETag/304 and gzip; nothing outside the asset set (path traversal in every
# spelling gets 404); no inline script or style and no token in any served
# byte; the API's auth unchanged; then the same over TLS, in chromium.
. "$(dirname "$0")/../lib.sh"

D=$TMP/data
master_start "$D" || exit 1
CSP="default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

# head_of URL [curl args...]: status line and headers, lower-cased names.
hdrs() { curl -s -o /dev/null -D - "$@" | tr -d '\r'; }
hval() { awk -v k="$1" 'BEGIN { IGNORECASE = 1 } tolower($0) ~ "^" k ":" { sub(/^[^:]*: */, ""); print; exit }'; }
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

# ---- redirects ---------------------------------------------------------------------
h=$(hdrs "$API/")
check_has "GET / redirects (302)" "$h" "HTTP/1.1 302"
check_eq "... to /ui/" "$(hval location <<<"$h")" "/ui/"
h=$(hdrs "$API/ui")
check_eq "GET /ui redirects to /ui/" "$(hval location <<<"$h")" "/ui/"

# ---- every built-in file --------------------------------------------------------------
declare -A TYPES=(
	[/ui/]="text/html; charset=utf-8"
	[/ui/app.js]="text/javascript; charset=utf-8"
	[/ui/api.js]="text/javascript; charset=utf-8"
	[/ui/dom.js]="text/javascript; charset=utf-8"
	[/ui/pages.js]="text/javascript; charset=utf-8"
	[/ui/app.css]="text/css; charset=utf-8"
	[/ui/favicon.svg]="image/svg+xml"
	[/ui/vendor/uPlot.iife.min.js]="text/javascript; charset=utf-8"
	[/ui/vendor/uPlot.min.css]="text/css; charset=utf-8"
)
bad=""
for u in "${!TYPES[@]}"; do
	h=$(hdrs "$API$u")
	st=$(head -1 <<<"$h")
	[ "$st" = "HTTP/1.1 200 OK" ] || bad="$bad $u:status=$st"
	[ "$(hval content-type <<<"$h")" = "${TYPES[$u]}" ] || bad="$bad $u:type=$(hval content-type <<<"$h")"
	[ "$(hval content-security-policy <<<"$h")" = "$CSP" ] || bad="$bad $u:csp"
	[ "$(hval x-content-type-options <<<"$h")" = nosniff ] || bad="$bad $u:nosniff"
	[ "$(hval x-frame-options <<<"$h")" = DENY ] || bad="$bad $u:frame"
	grep -Eq '^"[0-9a-f]{16}"$' <<<"$(hval etag <<<"$h")" || bad="$bad $u:etag"
	curl -s "$API$u" >"$TMP/asset"
	[ -s "$TMP/asset" ] || bad="$bad $u:empty"
	cat "$TMP/asset" >>"$TMP/all-assets"
done
check_eq "each of the ${#TYPES[@]} files: 200, its type, the CSP, nosniff, DENY, an ETag" "$bad" ""
check_has "the vendored uPlot is the pinned 1.6.32" \
    "$(jq -r '.packages["node_modules/uplot"].version' "$ROOT/web/package-lock.json")" "1.6.32"
check "uPlot is served byte for byte as npm installed it" \
    cmp -s <(curl -s "$API/ui/vendor/uPlot.iife.min.js") \
    "$ROOT/web/node_modules/uplot/dist/uPlot.iife.min.js"

# ---- caching and compression ------------------------------------------------------------
h=$(hdrs "$API/ui/app.js")
etag=$(hval etag <<<"$h")
check_eq "If-None-Match with the ETag: 304" "$(code -H "If-None-Match: $etag" "$API/ui/app.js")" 304
check_eq "If-None-Match with another ETag: 200" "$(code -H 'If-None-Match: "0000000000000000"' "$API/ui/app.js")" 200
check_eq "a changed-file check: no-cache, so the browser revalidates" "$(hval cache-control <<<"$h")" no-cache
h=$(hdrs -H 'Accept-Encoding: gzip, deflate' "$API/ui/app.js")
check_eq "Accept-Encoding gzip: the precomputed gzip" "$(hval content-encoding <<<"$h")" gzip
check_eq "... and Vary: Accept-Encoding" "$(hval vary <<<"$h")" Accept-Encoding
check "the gzip decompresses to the plain file" cmp -s \
    <(curl -s -H 'Accept-Encoding: gzip' "$API/ui/app.js" | gzip -dc) <(curl -s "$API/ui/app.js")
h=$(hdrs -H 'Accept-Encoding: gzip;q=0, identity' "$API/ui/app.js")
check_eq "gzip;q=0: plain bytes" "$(hval content-encoding <<<"$h")" ""
h=$(curl -s -I "$API/ui/app.css" | tr -d '\r')
check_has "HEAD: 200 with the headers" "$h" "HTTP/1.1 200"
check_eq "HEAD: no body" "$(curl -s -I -o /dev/null -w '%{size_download}' "$API/ui/app.css")" 0
check_eq "POST /ui/: 405" "$(code -X POST "$API/ui/")" 405
check_eq "... Allow: GET, HEAD" "$(hdrs -X POST "$API/ui/app.js" | hval allow)" "GET, HEAD"

# ---- nothing outside the asset set -----------------------------------------------------
bad=""
for p in /ui/../v1/grids /ui/../../etc/passwd /ui/%2e%2e/%2e%2e/etc/passwd \
    /ui/%2e%2e%2f%2e%2e%2fetc%2fpasswd /ui/..%2f..%2fetc%2fpasswd /ui//etc/passwd \
    /ui/%2fetc%2fpasswd /ui/./app.js /ui/app.js/ /ui/vendor/ /ui/vendor \
    /ui/index.html /ui/web/app.js /ui/node_modules/uplot/package.json \
    /ui/package.json /ui/%00 /ui/app.js%00.png /ui/APP.JS /ui/app.js.gz \
    '/ui/..\..\etc\passwd' /ui/%c0%ae%c0%ae/etc/passwd /ui/...; do
	c=$(curl -s --path-as-is -o "$TMP/out" -w '%{http_code}' "$API$p")
	[ "$c" = 404 ] || bad="$bad $p=$c"
	grep -q 'root:' "$TMP/out" && bad="$bad $p:passwd!"
done
check_eq "traversal, encoded dots, absolute and unknown paths: 404, no file leaks" "$bad" ""
c=$(curl -s --path-as-is -o "$TMP/out" -w '%{http_code}' "$API/ui/../v1/grids")
check_eq "/ui/../v1/grids reaches no API data" "$(grep -c '"name"' "$TMP/out")" 0

# ---- no inline code, no outside URL, no token ------------------------------------------
idx=$(curl -s "$API/ui/")
n_all=$(grep -o '<script' <<<"$idx" | wc -l)
n_src=$(grep -Eo '<script [^>]*src="[^"]+"[^>]*></script>' <<<"$idx" | wc -l)
check "index.html has no inline script (each of its $n_all <script>s has src and no body)" \
    test "$n_all" -ge 1 -a "$n_all" = "$n_src"
check "no inline style or event-handler attributes in index.html" \
    bash -c '! grep -Eiq "<style| style=| on[a-z]+=" <<<"$1"' _ "$idx"
check "no URL to another site (no CDN) in the page or its files (uPlot's licence line aside)" \
    bash -c '! grep -Eq "(src|href)=\"(https?:)?//" <<<"$1" && ! cat "$2" | grep -Eo "https?://[^\"'"'"' )]*" | grep -Ev "^http://www.w3.org/|^https://github.com/leeoniya/uPlot\$" | grep -q .' _ "$idx" "$TMP/all-assets"
check "the JS never writes HTML (no innerHTML, no eval)" \
    bash -c '! curl -s "$1/ui/app.js" "$1/ui/api.js" "$1/ui/dom.js" "$1/ui/pages.js" | grep -Eq "innerHTML|outerHTML|insertAdjacentHTML|eval\\(|new Function"' _ "$API"
GT=$(cat "$D/grid-default.token")
if grep -qF -e "$TOKEN" -e "$GT" "$TMP/all-assets"; then
	notok "no token in any served byte"
else
	ok "no token in any served byte"
fi

# ---- the API is unchanged ------------------------------------------------------------------
api_noauth GET /v1/grids
check_eq "the API still needs the token (401)" "$STATUS" 401
api_noauth GET /v1/grids "Authorization: Bearer nope"
check_eq "... and refuses a wrong one (403)" "$STATUS" 403
check_eq "an unknown non-/ui path is still the API's 404" "$(code "$API/uix")" 404
check_has "... with the API's error" "$(curl -s "$API/uix")" '"no route /uix"'
if grep -qF "$TOKEN" "$D/master.log"; then notok "no token in the master's log"; else ok "no token in the master's log"; fi
master_stop

# ---- over TLS, in a real browser --------------------------------------------------------------
D2=$TMP/tls
mkdir -p "$D2"
AP=$(free_port)
"$BIN/berth-master" --data-dir "$D2" --api-listen "127.0.0.1:$AP" \
    --agent-listen "127.0.0.1:$(free_port)" --tls-self-signed \
    >>"$D2/master.log" 2>&1 &
MASTER_PID=$!
MASTER_PIDS="$MASTER_PIDS $MASTER_PID"
MASTER_LOG=$D2/master.log
API=https://127.0.0.1:$AP
wait_for 20 curl -sfk "$API/healthz" || { notok "the TLS master starts"; sed 's/^/# /' "$D2/master.log"; exit 1; }
TOKEN=$(cat "$D2/operator.token")
check_eq "https: /ui/ answers with the self-signed cert trusted" \
    "$(code --cacert "$D2/tls.crt" "$API/ui/")" 200
check_eq "https: / redirects" "$(code --cacert "$D2/tls.crt" "$API/")" 302
if [ -x /usr/bin/chromium ] && [ -d "$ROOT/web/node_modules/playwright-core" ]; then
	BERTH_API=$API BERTH_TOKEN=$TOKEN BERTH_ARTIFACTS=$TMP/shots \
	    timeout 90 node "$ROOT/tests/browser/dashboard.mjs" tls
	rc=$?
	[ "$rc" -le 1 ] || notok "the browser run ended (exit $rc)"
else
	notok "chromium and playwright-core are installed (run make deps)"
fi
master_stop
