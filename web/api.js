// api.js - the dashboard's only way to the master: the REST API with the
// operator token in an Authorization header. The token lives in this tab's
// sessionStorage (never in a URL, a cookie or the page's HTML) and logout
// removes it.
const KEY = 'berth.token';

export class ApiError extends Error {
  constructor(status, message, field) {
    super(message);
    this.status = status;
    this.field = field || null;
  }
}

export function token() { return sessionStorage.getItem(KEY); }
export function setToken(t) { sessionStorage.setItem(KEY, t); }
export function clearToken() { sessionStorage.removeItem(KEY); }

// Listeners told when the master refuses the token (401/403).
const refused = [];
export function onRefused(fn) { refused.push(fn); }

function headers(extra, tok) {
  const h = { Accept: 'application/json', ...extra };
  const t = tok ?? token();
  if (t) h.Authorization = 'Bearer ' + t;
  return h;
}

// Why a reply failed, in words a person can act on.
async function failure(res) {
  let msg = res.statusText || 'HTTP ' + res.status, field = null;
  try {
    const j = await res.json();
    if (j && j.error) { msg = j.error; field = j.field; }
  } catch (_) { /* not JSON */ }
  return new ApiError(res.status, msg, field);
}

// request(method, path[, body[, {token, signal, raw}]]): the parsed JSON
// reply (null for 204), or throws ApiError (status 0: no answer).
export async function request(method, path, body, opt = {}) {
  const init = { method, headers: headers({}, opt.token), signal: opt.signal,
    cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer' };
  if (body !== undefined) {
    if (typeof body === 'string') {
      init.body = body;
      init.headers['Content-Type'] = opt.type || 'application/yaml';
    } else {
      init.body = JSON.stringify(body);
      init.headers['Content-Type'] = 'application/json';
    }
  }
  let res;
  for (let attempt = 0; ; attempt++) {
    try {
      res = await fetch(path, init);
      break;
    } catch (e) {
      if (e.name === 'AbortError') throw e;
      // A GET is safe to repeat: one more try after a moment rides out a
      // blip (the browser drops requests in flight when the host's
      // network changes). Anything else is the caller's to repeat.
      if (method !== 'GET' || attempt >= 1)
        throw new ApiError(0, 'cannot reach the master (' + e.message + ')');
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  if (!res.ok) {
    const err = await failure(res);
    if ((res.status === 401 || res.status === 403) && opt.token === undefined)
      refused.forEach((fn) => fn(err));
    throw err;
  }
  if (opt.raw) return res;
  if (res.status === 204) return null;
  return res.json();
}

export const get = (path, opt) => request('GET', path, undefined, opt);

// get404(path): like get, but a route or object that does not exist (404)
// is null: pages of features this master lacks render empty, not broken.
export async function get404(path, opt) {
  try {
    return await get(path, opt);
  } catch (e) {
    if (e.status === 404) return null;
    throw e;
  }
}

// follow(path, onLine, signal): read an NDJSON stream (the logs routes
// with follow=1), calling onLine(object) per line until the stream ends
// or signal aborts.
export async function follow(path, onLine, signal) {
  const res = await request('GET', path, undefined, { raw: true, signal });
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.trim() === '') continue;	// the master's keep-alive
      try { onLine(JSON.parse(line)); } catch (_) { /* torn line */ }
    }
  }
}

export const enc = encodeURIComponent;
