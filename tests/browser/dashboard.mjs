// tests/browser/dashboard.mjs - the dashboard in a real browser: Debian's
// chromium, headless, driven by playwright-core (web/node_modules, pinned
// by web/package-lock.json). Called by tests/e2e/dashboard.sh (real agents
// on Docker), tests/integration/dashboard.sh (over TLS) and
// tests/bench/dashboard.sh. Prints TAP lines ("ok - ..."); exits 1 if any
// check failed.
//
//   node dashboard.mjs MODE
//   MODE e2e    log in, three agents, a stack installed through the API,
//               its instances, logs, events, jobs, keyboard, phone width,
//               dark scheme, cordon/uncordon, drain, protect (a group's
//               node), remove a node, log out
//   MODE tls    log in and render over https (BERTH_CA: trust that cert)
//   MODE bench  print "name value unit" figures
//
// Env: BERTH_API (http://127.0.0.1:PORT), BERTH_TOKEN, BERTH_ARTIFACTS
// (screenshots), CHROMIUM (default /usr/bin/chromium).
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import fs from 'node:fs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const { chromium } = await import(path.join(root, 'web/node_modules/playwright-core/index.mjs'));

const MODE = process.argv[2] || 'e2e';
const API = process.env.BERTH_API;
const TOKEN = process.env.BERTH_TOKEN;
const ART = process.env.BERTH_ARTIFACTS || path.join(root, 'tests/artifacts/dashboard');
fs.mkdirSync(ART, { recursive: true });
let failed = 0;

function ok(name) { console.log('ok - ' + name); }
function notok(name, why) {
  failed++;
  console.log('not ok - ' + name + (why ? ' (' + String(why).split('\n')[0].slice(0, 300) + ')' : ''));
}
async function check(name, fn) {
  try {
    const r = await fn();
    if (r === false) notok(name); else ok(name);
  } catch (e) {
    notok(name, e.message);
  }
}

async function api(method, p, body, type) {
  const res = await fetch(API + p, { method,
    headers: { Authorization: 'Bearer ' + TOKEN,
      ...(body ? { 'Content-Type': type || 'application/json' } : {}) },
    body: body && typeof body !== 'string' ? JSON.stringify(body) : body });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  timeout: 60000,
});

// A page that records CSP violations (the securitypolicyviolation event,
// hooked in before the page's own scripts), console errors, page errors
// and every URL it asked for.
async function newPage(opt = {}) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 },
    colorScheme: 'light', ignoreHTTPSErrors: !!opt.insecure, ...opt.ctx });
  await ctx.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) =>
      window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
  });
  if (opt.token)
    await ctx.addInitScript((t) => sessionStorage.setItem('berth.token', t), opt.token);
  const page = await ctx.newPage();
  page.log = { console: [], errors: [], urls: [], failed: [] };
  page.on('console', (m) => { if (m.type() === 'error') page.log.console.push(m.text()); });
  page.on('pageerror', (e) => page.log.errors.push(e.message));
  page.on('request', (r) => page.log.urls.push(r.url()));
  page.setDefaultTimeout(MODE === 'bench' ? 90000 : 20000);
  // Chromium aborts what is in flight with ERR_NETWORK_CHANGED when any
  // of the host's addresses changes, and make test's other lanes add and
  // remove Docker veths and namespaces all the time. A navigation that
  // fails so, or whose page lost a script, style sheet or the document
  // itself so, is what a person would reload; the test does too, at most
  // three times, and says so. (The dashboard retries its own API GETs.)
  page.netLost = 0;
  page.on('requestfailed', (r) => {
    const why = (r.failure() && r.failure().errorText) || '';
    page.log.failed.push(`${r.resourceType()} ${r.url()} ${why}`);
    if (/ERR_NETWORK_CHANGED/.test(why) &&
        ['document', 'script', 'stylesheet'].includes(r.resourceType()))
      page.netLost++;
  });
  for (const m of ['goto', 'reload']) {
    const orig = page[m].bind(page);
    page[m] = async (...a) => {
      for (let i = 0; ; i++) {
        const lost = page.netLost;
        let res;
        try { res = await orig(...a); } catch (e) {
          if (i >= 3 || !/ERR_NETWORK_CHANGED/.test(e.message)) throw e;
          console.log(`# ${m}: the host's network changed (another test's veth); again`);
          await new Promise((r) => setTimeout(r, 300));
          continue;
        }
        await page.waitForLoadState('load').catch(() => {});
        if (page.netLost === lost || i >= 3) return res;
        console.log(`# ${m}: the page lost a file to a network change (another test's veth); again`);
        await new Promise((r) => setTimeout(r, 300));
      }
    };
  }
  return page;
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(ART, name + '.png') });
}

async function go(page, hash) {
  await page.evaluate((h) => { location.hash = h; }, hash);
}

// ---- e2e ---------------------------------------------------------------------------

async function e2e() {
  const page = await newPage();
  const first = await page.goto(API + '/');
  await check('/ redirects to /ui/ and the login page shows', async () =>
    page.url() === API + '/ui/' && first.status() === 200 &&
    await page.locator('#token').isVisible());
  await check('the page is served with the strict CSP', async () => {
    const csp = first.headers()['content-security-policy'] || '';
    if (!csp.includes("script-src 'self'") || csp.includes('unsafe'))
      throw new Error('CSP: ' + csp);
  });
  await shot(page, 'login');

  // A wrong token: a clear error, nothing kept.
  await page.fill('#token', 'not-the-token');
  await page.click('form.login button[type=submit]');
  await check('a wrong token shows a clear error', async () => {
    await page.waitForFunction(() => /Wrong token/.test(document.querySelector('#login-error').textContent));
    return page.evaluate(() => sessionStorage.getItem('berth.token') === null);
  });
  await shot(page, 'login-wrong-token');

  await page.fill('#token', TOKEN);
  await page.click('form.login button[type=submit]');
  await check('log in: the overview shows three real agents online', async () => {
    await page.waitForFunction(() => {
      const el = document.querySelector('.card.online dd');
      return el && el.textContent === '3';
    }, null, { timeout: 30000 });
  });
  await check('the token is in the tab\'s session storage, not in the page', async () => {
    const t = await page.evaluate(() => sessionStorage.getItem('berth.token'));
    const html = await page.content();
    if (t !== TOKEN) throw new Error('session storage holds ' + (t ? 'another value' : 'nothing'));
    if (html.includes(TOKEN)) throw new Error('the HTML holds the token');
  });
  await shot(page, 'overview');

  await go(page, '#/nodes');
  await check('nodes: a row per agent, online, with its labels and resources', async () => {
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll('#nodes tbody tr')];
      const on = rows.filter((r) => r.cells[0].textContent !== 'a4');
      return rows.length === 4 && on.every((r) => r.cells[1].textContent === 'online' &&
        /GiB|MiB/.test(r.cells[5].textContent));
    });
    const text = await page.locator('#nodes').innerText();
    for (const n of ['a1', 'a2', 'a3', 'role=web']) if (!text.includes(n)) throw new Error('no ' + n);
  });
  await check('nodes: the load sparkline fills from the agents\' stats', async () => {
    await page.waitForFunction(() => [...document.querySelectorAll('#nodes td.spark')]
      .some((td) => td.textContent.trim().length >= 2), null, { timeout: 20000 });
  });
  await check('nodes: the filter narrows the table', async () => {
    await page.fill('#node-filter', 'a2');
    await page.waitForFunction(() => document.querySelectorAll('#nodes tbody tr').length === 1);
    await page.fill('#node-filter', '');
    await page.waitForFunction(() => document.querySelectorAll('#nodes tbody tr').length === 4);
  });

  // Node operations from the row: cordon a2, then uncordon it.
  const stateCell = (name) => page.evaluate((n) => {
    const r = [...document.querySelectorAll('#nodes tbody tr')].find((x) => x.cells[0].textContent === n);
    return r ? r.cells[1].textContent : null;
  }, name);
  const nodeApi = async (name) => (await api('GET', '/v1/grids/default/nodes')).find((n) => n.name === name);
  await check('nodes: Cordon a2 from its row: the API has it cordoned, the row says "cordoned"', async () => {
    await page.click('#nodes button[aria-label="Cordon node a2"]');
    await page.waitForSelector('#nodes button[aria-label="Uncordon node a2"]');
    await page.waitForFunction(() => [...document.querySelectorAll('#nodes tbody tr')]
      .some((r) => r.cells[0].textContent === 'a2' && /\bcordoned\b/.test(r.cells[1].textContent)));
    const n = await nodeApi('a2');
    if (!n.cordoned) throw new Error('the API says cordoned=' + n.cordoned);
    await page.fill('#node-filter', 'cordoned');
    await page.waitForFunction(() => document.querySelectorAll('#nodes tbody tr').length === 1);
    await page.fill('#node-filter', '');
  });
  await shot(page, 'nodes');
  await check('nodes: Uncordon a2 reverses it (API and row)', async () => {
    await page.click('#nodes button[aria-label="Uncordon node a2"]');
    await page.waitForSelector('#nodes button[aria-label="Cordon node a2"]');
    const n = await nodeApi('a2');
    if (n.cordoned) throw new Error('the API still has a2 cordoned');
    await page.waitForFunction(() => [...document.querySelectorAll('#nodes tbody tr')]
      .some((r) => r.cells[0].textContent === 'a2' && r.cells[1].textContent === 'online'));
  });

  // A pending node (join_approval manual): only Approve is offered.
  await check('nodes: a pending node says so, and Approve (only) is offered', async () => {
    await page.waitForFunction(() => [...document.querySelectorAll('#nodes tbody tr')]
      .some((r) => r.cells[0].textContent === 'a4' && r.cells[1].textContent === 'pending'));
    if (!await page.isVisible('#nodes button[aria-label="Approve node a4"]'))
      throw new Error('no Approve button on a4');
    if (await page.isVisible('#nodes button[aria-label="Drain node a4"]') ||
        await page.isVisible('#nodes button[aria-label="Cordon node a4"]'))
      throw new Error('Drain or Cordon offered on a pending node');
    if (await page.isVisible('#nodes button[aria-label="Approve node a1"]'))
      throw new Error('Approve offered on an online node');
  });
  await check('nodes: Approve a4 admits it (API and row)', async () => {
    await page.click('#nodes button[aria-label="Approve node a4"]');
    await page.waitForFunction(() => [...document.querySelectorAll('#nodes tbody tr')]
      .some((r) => r.cells[0].textContent === 'a4' && r.cells[1].textContent === 'online'),
    null, { timeout: 30000 });
    const n = await nodeApi('a4');
    if (n.status !== 'online') throw new Error('the API says ' + n.status);
    if (await page.isVisible('#nodes button[aria-label="Approve node a4"]'))
      throw new Error('Approve still offered');
  });

  // Keyboard: Tab from the top reaches the nav, Enter follows a link.
  await check('keyboard: Tab reaches the navigation and Enter opens a page', async () => {
    // From the top of the page: the skip link is the first stop.
    await page.evaluate(() => document.querySelector('a.skip').focus());
    if (!await page.evaluate(() => document.activeElement.textContent === 'Skip to content'))
      throw new Error('the skip link takes no focus');
    for (let i = 0; i < 8; i++) {
      await page.keyboard.press('Tab');
      if (await page.evaluate(() => document.activeElement.textContent === 'Services')) break;
    }
    if (!await page.evaluate(() => document.activeElement.textContent === 'Services'))
      throw new Error('Tab never reached the Services link');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => location.hash === '#/services' &&
      document.activeElement === document.querySelector('main'));
  });

  // A stack installed through the API: its instances appear.
  const yml = fs.readFileSync(process.env.STACK_FILE, 'utf8');
  await check('install a stack through the API', async () => {
    await api('POST', '/v1/grids/default/stacks', yml, 'application/yaml');
    await api('POST', '/v1/stacks/default/web/deploy');
  });
  await check('services: the stack\'s instances appear as they start (2/2)', async () => {
    if (await page.evaluate(() => location.hash) !== '#/services') await go(page, '#/services');
    await page.waitForFunction(() => [...document.querySelectorAll('#services tbody tr')]
      .some((r) => r.cells[0].textContent === 'web/web' && /^2\/2$/.test(r.cells[3].querySelector('.ratio').textContent)),
    null, { timeout: 60000 });
    await page.waitForFunction(() => [...document.querySelectorAll('#stacks tbody tr')]
      .some((r) => r.cells[0].textContent === 'web' && r.cells[3].textContent === 'running'),
    null, { timeout: 30000 });
  });
  await page.click('#services a:text-is("web/web")');
  await check('services: the instances of web/web, per node', async () => {
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll('#containers tbody tr')];
      return rows.length === 2 && rows.every((r) => r.cells[2].textContent === 'running') &&
        new Set(rows.map((r) => r.cells[1].textContent)).size === 2;
    });
    const per = await page.locator('.pernode').innerText();
    if (!/running/.test(per)) throw new Error('per-node summary: ' + per);
  });
  await shot(page, 'services');
  await check('services: scale to 3 from the page', async () => {
    await page.fill('#scale-web-web', '3');
    await page.click('#services form.inline button');
    await page.waitForFunction(() => [...document.querySelectorAll('#services tbody tr')]
      .some((r) => r.cells[0].textContent === 'web/web' && /^3\/3$/.test(r.cells[3].querySelector('.ratio').textContent)),
    null, { timeout: 60000 });
    const s = await api('GET', '/v1/services/default/web/web');
    if (s.instances !== 3) throw new Error('the API says ' + s.instances);
  });

  await go(page, '#/logs/web/web');
  await check('logs: following web/web shows its lines live', async () => {
    await page.waitForFunction(() => /tick \d+/.test(document.querySelector('#log-out').textContent),
      null, { timeout: 30000 });
    const n0 = await page.evaluate(() => document.querySelectorAll('#log-out .line').length);
    await page.waitForFunction((n) => document.querySelectorAll('#log-out .line').length > n,
      n0, { timeout: 20000 });
  });
  await check('logs: the follow request carries no token in its URL', async () => {
    const logUrls = page.log.urls.filter((u) => u.includes('/logs'));
    if (!logUrls.length) throw new Error('no logs request seen');
    if (page.log.urls.some((u) => u.includes(TOKEN))) throw new Error('a URL holds the token');
  });
  await shot(page, 'logs');
  await page.click('#log-follow');	// stop

  await go(page, '#/events');
  await check('events: the deploy and placement events, filterable by type', async () => {
    await page.waitForFunction(() => document.querySelectorAll('#events tbody tr').length > 5);
    await page.fill('#ev-type', 'deploy.');
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll('#events tbody tr:not(.empty)')];
      return rows.length > 0 && rows.every((r) => r.cells[1].textContent.startsWith('deploy.'));
    });
  });
  await shot(page, 'events');

  await check('jobs: a job run through the API shows succeeded with exit 0', async () => {
    await api('POST', '/v1/grids/default/jobs', { name: 'hello', image: 'berth-test/busybox:latest',
      command: 'echo hi' });
    await go(page, '#/jobs');
    await page.waitForFunction(() => [...document.querySelectorAll('#jobs tbody tr')]
      .some((r) => r.cells[0].textContent === 'hello' && r.cells[1].textContent === 'succeeded' &&
        r.cells[6].textContent === '0'), null, { timeout: 60000 });
  });
  await shot(page, 'jobs');

  await go(page, '#/groups');
  await check('node groups: the page renders its empty state', async () => {
    await page.waitForFunction(() => /No node group|no node groups/.test(document.querySelector('main').textContent));
  });

  await go(page, '#/node/a1');
  await check('node page: a1\'s load chart (uPlot) draws', async () => {
    await page.waitForSelector('.chart canvas');
    await page.waitForFunction(() => /Load 1m/.test(document.querySelector('.facts').textContent));
  });
  await check('node page: Cordon and Uncordon from the node page', async () => {
    await page.click('.ops button[aria-label="Cordon node a1"]');
    await page.waitForSelector('.ops button[aria-label="Uncordon node a1"]');
    const st = () => page.evaluate(() => [...document.querySelectorAll('.facts div')]
      .filter((d) => d.querySelector('dt').textContent === 'State').map((d) => d.querySelector('dd').textContent).join());
    for (let i = 0; i < 40 && !/\bcordoned\b/.test(await st()); i++) await page.waitForTimeout(250);
    if (!/\bcordoned\b/.test(await st())) throw new Error('the State fact says ' + JSON.stringify(await st()));
    if (!(await nodeApi('a1')).cordoned) throw new Error('the API does not have a1 cordoned');
    await page.click('.ops button[aria-label="Uncordon node a1"]');
    await page.waitForSelector('.ops button[aria-label="Cordon node a1"]');
    if ((await nodeApi('a1')).cordoned) throw new Error('the API still has a1 cordoned');
  });
  await shot(page, 'node');

  // Phone width and the dark scheme.
  await page.setViewportSize({ width: 390, height: 844 });
  await go(page, '#/services');
  await check('phone width: no page-wide horizontal scroll', async () => {
    await page.waitForSelector('#services tbody tr');
    const w = await page.evaluate(() => document.documentElement.scrollWidth);
    if (w > 400) throw new Error('scrollWidth ' + w + ': ' + await page.evaluate(() =>
      [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > 392 &&
        (!e.closest('.scroll, nav') || ['absolute', 'fixed'].includes(getComputedStyle(e).position))).map((e) =>
        e.tagName + '.' + e.className + '#' + e.id + ':' + Math.round(e.getBoundingClientRect().right) +
        ':' + (e.textContent || '').slice(0, 20)).slice(0, 6).join(' ')));
  });
  await shot(page, 'services-phone');
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.emulateMedia({ colorScheme: 'dark' });
  await go(page, '#/nodes');
  await check('dark scheme follows the system', async () => {
    await page.waitForSelector('#nodes tbody tr');
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    if (bg !== 'rgb(13, 17, 23)') throw new Error('background ' + bg);
  });
  await shot(page, 'nodes-dark');
  await page.emulateMedia({ colorScheme: 'light' });

  // Drain a3 from its row (confirmed): the API has a drain on it and
  // the row shows it draining (with what is left) or drained.
  await check('nodes: Drain (confirmed) a3: the API shows the drain, the row "draining (left N)" or "drained"', async () => {
    let asked = '';
    page.once('dialog', (d) => { asked = d.message(); d.accept(); });
    await page.click('#nodes button[aria-label="Drain node a3"]');
    if (!asked.includes('Drain node a3')) throw new Error('confirmation said: ' + asked);
    await page.waitForFunction(() => [...document.querySelectorAll('#nodes tbody tr')]
      .some((r) => r.cells[0].textContent === 'a3' &&
        /(draining \(left \d+\)|drained)/.test(r.cells[1].textContent)));
    const n = await nodeApi('a3');
    if (!n.drain || !n.cordoned) throw new Error('the API says ' + JSON.stringify({ drain: n.drain, cordoned: n.cordoned }));
    if (await page.isVisible('#nodes button[aria-label="Drain node a3"]'))
      throw new Error('Drain is still offered on a node under a drain');
  });

  // Remove a node from its row (with confirmation).
  await check('nodes: Remove (confirmed) removes a3', async () => {
    let asked = '';
    page.once('dialog', (d) => { asked = d.message(); d.accept(); });
    await page.click('#nodes button[aria-label="Remove node a3"]');
    await page.waitForFunction(() => document.querySelectorAll('#nodes tbody tr').length === 3);
    if (!asked.includes('a3')) throw new Error('confirmation said: ' + asked);
    const nodes = await api('GET', '/v1/grids/default/nodes');
    if (nodes.some((n) => n.name === 'a3')) throw new Error('the API still lists a3');
  });

  // A node group with min 1: the process provider launches a real agent
  // (a scale-up from 0); the page charts the size and lists the machine.
  if (process.env.GROUP_ENV !== undefined) {
    await check('node groups: a scale-up shows in the chart, the machines and the decisions', async () => {
      await api('POST', '/v1/grids/default/nodegroups', { name: 'burst', provider: 'process',
        min: 1, max: 2, settings: { provision_timeout_s: 90, delay_after_add_s: 0,
          agent_env: process.env.GROUP_ENV } });
      await go(page, '#/groups');
      await page.waitForFunction(() => {
        const row = [...document.querySelectorAll('#groups tbody tr')]
          .find((r) => r.cells[0].textContent === 'burst');
        return row && row.cells[2].textContent === '1';
      }, null, { timeout: 90000 });
      await page.waitForFunction(() => [...document.querySelectorAll('section.group tbody tr')]
        .some((r) => r.cells[1] && r.cells[1].textContent === 'joined'), null, { timeout: 90000 });
      await page.waitForSelector('section.group .chart canvas');
      const sizes = await page.evaluate(() => JSON.parse(sessionStorage.getItem('berth.sizes')));
      const hist = new Map(sizes).get('default/burst');
      if (!hist || !hist.size.includes(1) || !hist.max.includes(2))
        throw new Error('the chart\'s samples: ' + JSON.stringify(hist));
      await page.waitForFunction(() => /machine\.|nodegroup\./.test(
        document.querySelector('section.group').textContent));
    });
    await check('node groups: Plan shows the next round\'s decisions, and launches nothing', async () => {
      const before = (await api('GET', '/v1/nodegroups/default/burst/machines')).length;
      await page.click('button[aria-label="Plan for node group burst"]');
      await page.waitForFunction(() => /decision\(s\), no provider called|Plan failed/.test(
        document.querySelector('section.group').textContent), null, { timeout: 30000 });
      const text = await page.evaluate(() => document.querySelector('section.group').textContent);
      if (/Plan failed/.test(text)) throw new Error('the page says: ' + text.match(/Plan failed[^\n]*/)[0]);
      const rows = await page.evaluate(() => {
        const t = [...document.querySelectorAll('section.group table')]
          .find((x) => x.caption && x.caption.textContent === 'Plan for burst');
        return t ? t.tBodies[0].rows.length : -1;
      });
      if (rows < 1) throw new Error('the plan table is empty (not even its empty-state row)');
      const after = (await api('GET', '/v1/nodegroups/default/burst/machines')).length;
      if (after !== before) throw new Error(`machines ${before} -> ${after} after a plan`);
    });
    await shot(page, 'groups');
    // Protect the group's node from the nodes page (only group nodes offer it).
    await check('nodes: Protect the group\'s node: the API has it protected, the row says "protected"', async () => {
      const gn = (await api('GET', '/v1/grids/default/nodes')).find((n) => n.group && n.group.name === 'burst');
      if (!gn) throw new Error('no node of group burst in the API');
      await go(page, '#/nodes');
      await page.waitForSelector(`#nodes button[aria-label="Cordon node ${gn.name}"]`);
      if (await page.isVisible('#nodes button[aria-label="Protect node a1"]'))
        throw new Error('Protect is offered on a1, which is in no group');
      await page.click(`#nodes button[aria-label="Protect node ${gn.name}"]`);
      await page.waitForSelector(`#nodes button[aria-label="Unprotect node ${gn.name}"]`);
      if (!(await nodeApi(gn.name)).protected) throw new Error('the API does not have it protected');
      const st = await stateCell(gn.name);
      if (!/\bprotected\b/.test(st)) throw new Error('the row says ' + st);
    });
  }

  await check('no CSP violation and no script error on any page', async () => {
    const csp = await page.evaluate(() => window.__csp);
    const cons = page.log.console.filter((m) => /Content Security Policy|Refused to/.test(m));
    if (csp.length || cons.length || page.log.errors.length)
      throw new Error(JSON.stringify({ csp, cons, errors: page.log.errors }));
  });
  await check('no request URL carried the token', async () =>
    !page.log.urls.some((u) => u.includes(TOKEN)));

  await page.click('#logout');
  await check('log out: back to the login page, the token gone from the tab', async () => {
    await page.waitForSelector('#token');
    const t = await page.evaluate(() => sessionStorage.getItem('berth.token'));
    if (t !== null) throw new Error('session storage still holds it');
  });
  await check('after log out, a reload stays logged out', async () => {
    await page.reload();
    await page.waitForSelector('#token');
  });
}

// ---- tls ------------------------------------------------------------------------------

async function tls() {
  const page = await newPage({ insecure: true });
  const res = await page.goto(API + '/ui/');
  await check('https: the dashboard loads over TLS with its CSP', async () =>
    res.status() === 200 && (res.headers()['content-security-policy'] || '').includes("default-src 'none'"));
  await page.fill('#token', TOKEN);
  await page.click('form.login button[type=submit]');
  await check('https: log in and see the overview', async () => {
    await page.waitForFunction(() => {
      const el = document.querySelector('.card.services dd');
      return el && el.textContent === '0';
    });
  });
  await go(page, '#/node/x');
  await go(page, '#/groups');
  await check('https: the pages render with no CSP violation or script error', async () => {
    await page.waitForSelector('#groups');
    const csp = await page.evaluate(() => window.__csp);
    if (csp.length || page.log.errors.length) throw new Error(JSON.stringify({ csp, e: page.log.errors }));
  });
}

// ---- bench ------------------------------------------------------------------------------

async function bench() {
  // First load: a logged-in tab opening the overview, every byte that
  // crossed the wire (compressed, headers included) until the network is
  // idle.
  {
    const page = await newPage({ token: TOKEN });
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    let bytes = 0;
    cdp.on('Network.loadingFinished', (e) => { bytes += e.encodedDataLength; });
    await page.goto(API + '/ui/', { waitUntil: 'networkidle' });
    await page.waitForSelector('.card.online dd:not(:empty)');
    console.log(`dashboard_first_load_kb ${(bytes / 1024).toFixed(1)} KB`);
    // The same tab again: everything revalidates to 304.
    bytes = 0;
    await page.reload({ waitUntil: 'networkidle' });
    console.log(`dashboard_reload_kb ${(bytes / 1024).toFixed(1)} KB`);
    await page.context().close();
  }
  // Time to a rendered table of every node, from navigation start.
  {
    const n = Number(process.env.BENCH_NODES || 1000);
    for (const per of [100, 1000]) {
    const runs = [];
    for (let i = 0; i < 3; i++) {
      const page = await newPage({ token: TOKEN });
      await page.context().addInitScript((p) => sessionStorage.setItem('berth.nodes.per', p), String(per));
      await page.goto(API + '/ui/#/nodes');
      // The page marks the frame after its first full table (pages.js).
      await page.waitForFunction(() => performance.getEntriesByName('berth:nodes-rendered').length,
        null, { timeout: 60000 });
      const [rows, of, at, dcl, api] = await page.evaluate(() => [
        document.querySelectorAll('#nodes tbody tr:not(.empty)').length,
        document.querySelector('#node-page').textContent,
        performance.getEntriesByName('berth:nodes-rendered')[0].startTime,
        performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd,
        // The first node list (the page polls it every 2 s).
        (performance.getEntriesByType('resource')
          .filter((e) => /\/v1\/grids\/[^/]+\/nodes(\?|$)/.test(e.name))
          .sort((a, b) => a.startTime - b.startTime)[0] || { responseEnd: 0 }).responseEnd]);
      if (rows !== Math.min(n, per) || !of.endsWith(' of ' + n))
        throw new Error(`the table has ${rows} rows (${of}), not the first ${per} of ${n}`);
      runs.push({ at, dcl, api });
      await page.context().close();
    }
    runs.sort((a, b) => a.at - b.at);
    const tag = `dashboard_nodes_${n}${per === 100 ? '' : '_all'}`;
    const mid = runs[1];
    console.log(`${tag}_ms ${mid.at.toFixed(0)} ms`);
    // Where that time went (the same median run): the page's own files
    // parsed and run (DOMContentLoaded), the node list received, and the
    // rest (JSON, the table's DOM, style and layout).
    console.log(`${tag}_dcl_ms ${mid.dcl.toFixed(0)} ms`);
    console.log(`${tag}_api_done_ms ${mid.api.toFixed(0)} ms`);
    }
  }
  // Dashboards left open on the nodes page (the master's CPU is measured
  // by the driver script while this holds them).
  const k = Number(process.env.BENCH_TABS || 0);
  if (k > 0) {
    const pages = [];
    for (let i = 0; i < k; i++) {
      const page = await newPage({ token: TOKEN });
      await page.goto(API + '/ui/#/nodes');
      pages.push(page);
    }
    for (const p of pages) await p.waitForSelector('#nodes tbody tr:not(.empty)', { timeout: 60000 });
    fs.writeFileSync(process.env.BENCH_READY, 'ready\n');
    await new Promise((r) => setTimeout(r, Number(process.env.BENCH_HOLD_S || 20) * 1000));
  }
}

try {
  if (MODE === 'e2e') await e2e();
  else if (MODE === 'tls') await tls();
  else if (MODE === 'bench') await bench();
  else throw new Error('unknown mode ' + MODE);
} catch (e) {
  notok('the browser run finished', e.message);
  for (const p of browser.contexts().flatMap((c) => c.pages()))
    for (const f of (p.log && p.log.failed) || []) console.log('# failed request: ' + f);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
