// app.js - the dashboard's shell: login, the grid picker, the hash router
// (#/nodes, #/services/<stack>/<service>, ...) and the poll loop that keeps
// the current page live.
import * as api from './api.js';
import { h, clear } from './dom.js';
import { pages } from './pages.js';

const POLL_MS = 2000;	// a page's refresh period while the tab is visible
const main = document.getElementById('main');
const live = document.getElementById('live');
const gridSel = document.getElementById('grid');
let current = null;	// the mounted page: {refresh?, dispose?}
let timer = null;
let gen = 0;		// bumps on every navigation: stale refreshes are dropped
let grid = sessionStorage.getItem('berth.grid');

function parseRoute() {
  const m = /^#\/([a-z]+)((?:\/[^/]*)*)$/.exec(location.hash);
  if (!m) return { name: 'overview', args: [] };
  return { name: m[1], args: m[2].split('/').slice(1).map(decodeURIComponent) };
}

function status(text, bad) {
  live.textContent = text;
  live.className = bad ? 'bad' : '';
}

function unmount() {
  clearTimeout(timer);
  timer = null;
  gen++;
  if (current && current.dispose) current.dispose();
  current = null;
  clear(main);
}

// ---- login ------------------------------------------------------------------

function showLogin(message) {
  unmount();
  document.body.classList.add('out');
  status('');
  const input = h('input#token', { type: 'password', name: 'token',
    autocomplete: 'off', spellcheck: 'false', required: true,
    'aria-describedby': 'login-help' });
  const err = h('p#login-error.error', { role: 'alert' });
  if (message) err.textContent = message;
  const button = h('button', { type: 'submit' }, 'Log in');
  const form = h('form.login', { novalidate: true },
    h('h1', 'Log in to berth'),
    h('label', { for: 'token' }, 'Operator token'),
    input,
    h('p#login-help.help', 'The operator token is in the master\'s ',
      h('code', '<data-dir>/operator.token'),
      '. It is kept in this tab only, until you log out or close it.'),
    button, err);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const t = input.value.trim();
    if (!t) { err.textContent = 'Enter the operator token.'; return; }
    button.disabled = true;
    err.textContent = '';
    try {
      await api.get('/v1/grids', { token: t });
      api.setToken(t);
      input.value = '';
      await start();
    } catch (e) {
      err.textContent = e.status === 401 || e.status === 403 ?
        'Wrong token: the master refused it (' + e.message + ').' :
        'Cannot log in: ' + e.message;
      input.select();
    } finally {
      button.disabled = false;
    }
  });
  main.append(form);
  input.focus();
}

api.onRefused((e) => {
  api.clearToken();
  showLogin('The master refused the token (' + e.message + '): log in again.');
});

document.getElementById('logout').addEventListener('click', () => {
  api.clearToken();
  sessionStorage.removeItem('berth.grid');
  showLogin('Logged out.');
});

// ---- the app ------------------------------------------------------------------

async function loadGrids() {
  const grids = await api.get('/v1/grids');
  clear(gridSel);
  for (const g of grids) gridSel.append(h('option', { value: g.name }, g.name));
  if (!grids.some((g) => g.name === grid))
    grid = grids.some((g) => g.name === 'default') ? 'default' :
      (grids[0] ? grids[0].name : null);
  if (grid) gridSel.value = grid;
}

gridSel.addEventListener('change', () => {
  grid = gridSel.value;
  sessionStorage.setItem('berth.grid', grid);
  navigate();
});

async function start() {
  if (!api.token()) { showLogin(); return; }
  try {
    await loadGrids();
  } catch (e) {
    if (e.status === 401 || e.status === 403) return;	// onRefused did it
    showLogin('Cannot reach the master: ' + e.message);
    return;
  }
  document.body.classList.remove('out');
  navigate(true);
}

function navigate(first) {
  if (!api.token()) { showLogin(); return; }
  unmount();
  const r = parseRoute();
  const page = pages[r.name] || pages.overview;
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.getAttribute('href') === '#/' + (page.nav || r.name))
      a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = page.title + ' · berth';
  if (!grid) {
    main.append(h('h1', page.title), h('p', 'This master has no grid yet.'));
    return;
  }
  const ctx = { grid, g: encodeURIComponent(grid), args: r.args, api,
    gen, refreshNow: () => tick(ctx.gen) };
  current = page.mount(main, ctx) || {};
  if (!first) main.focus({ preventScroll: true });
  tick(ctx.gen);
}

async function tick(myGen) {
  if (myGen !== gen || !current) return;
  clearTimeout(timer);
  if (current.refresh) {
    try {
      await current.refresh();
      if (myGen !== gen) return;
      status('Live · ' + new Date().toLocaleTimeString([], { hour12: false }));
    } catch (e) {
      if (myGen !== gen) return;
      if (e.status === 401 || e.status === 403) return;
      status(e.status === 0 ? 'Master unreachable, retrying' :
        'Error: ' + e.message, true);
    }
  }
  if (myGen === gen && !document.hidden && current && current.refresh)
    timer = setTimeout(() => tick(myGen), POLL_MS);
}

document.addEventListener('visibilitychange', () => {
  if (!document.hidden && current) tick(gen);
});
window.addEventListener('hashchange', () => {
  if (location.hash === '#main') return;	// the skip link
  navigate();
});

start();
