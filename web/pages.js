// pages.js - the dashboard's pages. Each page is {title, mount(root, ctx)}
// and mount returns {refresh, dispose}: app.js calls refresh every couple
// of seconds while the tab is visible. Pages read only the REST API
// (docs/api.md); one whose routes this master lacks (404) renders empty.
import { h, setText, setClass, syncRows, clear, fmtBytes, fmtPct, fmtAgo,
  fmtTime, spark, badge, tone } from './dom.js';
import { enc } from './api.js';

// ---- shared pieces -------------------------------------------------------------

function table(caption, cols, tbody, cls) {
  return h('div.scroll', h('table' + (cls || ''),
    h('caption.sr', caption),
    h('thead', h('tr', cols.map((c) => h('th', { scope: 'col' }, c)))),
    tbody));
}

// cells(tr, n): make n <td>s in tr and return them
function cells(tr, n) {
  const out = [];
  for (let i = 0; i < n; i++) out.push(tr.appendChild(h('td')));
  return out;
}

function setBadge(td, state) {
  let b = td.firstChild;
  if (!b || b.nodeName !== 'SPAN') { clear(td); b = td.appendChild(h('span')); }
  setClass(b, 'badge', tone(state));
  setText(b, state ?? '–');
}

// A page's line for what its buttons did: role=status, so it is read out.
function notice() {
  const el = h('p.notice', { role: 'status', 'aria-live': 'polite' });
  el.say = (text, bad) => {
    el.textContent = text;
    el.className = 'notice' + (bad ? ' bad' : ' good');
  };
  return el;
}

async function act(note, what, fn, after) {
  try {
    await fn();
    note.say(what + ': done.');
    if (after) after();
  } catch (e) {
    note.say(what + ' failed: ' + e.message, true);
  }
}

function empty(tbody, cols, text) {
  if (tbody._rows && tbody._rows.size) return;
  if (!tbody.querySelector('.empty'))
    tbody.append(h('tr.empty', h('td', { colspan: cols }, text)));
}

function unempty(tbody) {
  const e = tbody.querySelector('.empty');
  if (e) e.remove();
}

function events(tbody, list) {
  unempty(tbody);
  syncRows(tbody, list, (e) => e.id, (e) => {
    const tr = h('tr');
    const [t, ty, s, m] = cells(tr, 4);
    t.textContent = fmtTime(e.at);
    t.title = e.at;
    ty.append(h('code', e.type));
    s.textContent = e.subject ?? '';
    m.textContent = e.message;
    return tr;
  }, () => {});
}

// uPlot, loaded on the first page that draws a chart (it is not in the
// first load's bytes). The CSP allows it: same origin, no inline code.
let uplotP = null;
function uplot() {
  if (!uplotP) {
    uplotP = new Promise((resolve, reject) => {
      document.head.append(h('link', { rel: 'stylesheet',
        href: 'vendor/uPlot.min.css' }));
      const s = h('script', { src: 'vendor/uPlot.iife.min.js' });
      s.onload = () => resolve(window.uPlot);
      s.onerror = () => { uplotP = null; reject(new Error('cannot load uPlot')); };
      document.head.append(s);
    });
  }
  return uplotP;
}

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

// chart(el, series, yLabel): a uPlot line chart filling el's width;
// returns {set(data), destroy()}.
function chart(el, series, yLabel, yRange) {
  let u = null, pending = null, gone = false;
  const ro = new ResizeObserver(() => {
    if (u) u.setSize({ width: Math.max(el.clientWidth - 16, 200), height: 220 });
  });
  uplot().then((UPlot) => {
    if (gone) return;
    const fg = cssVar('--fg'), grid = cssVar('--line');
    const axis = { stroke: fg, grid: { stroke: grid }, ticks: { stroke: grid } };
    u = new UPlot({
      width: Math.max(el.clientWidth - 16, 200), height: 220,
      scales: { x: { time: true }, y: yRange ? { range: yRange } : {} },
      axes: [axis, { ...axis, label: yLabel }],
      series: [{}, ...series.map((s, i) => ({ label: s,
        stroke: cssVar('--c' + i), width: 2 }))],
    }, pending || [[], ...series.map(() => [])], el);
    ro.observe(el);
  }).catch((e) => { el.textContent = e.message; });
  return {
    set(data) { if (u) u.setData(data); else pending = data; },
    destroy() { gone = true; ro.disconnect(); if (u) u.destroy(); },
  };
}

// ---- overview -------------------------------------------------------------------

const overview = {
  title: 'Overview',
  mount(root, ctx) {
    const stats = {};
    const dl = h('dl.cards');
    for (const [k, label] of [['online', 'Nodes online'],
      ['offline', 'Nodes offline'], ['services', 'Services'],
      ['running', 'Instances running'], ['pending', 'Instances not running'],
      ['jobs', 'Jobs queued / running']]) {
      stats[k] = h('dd', '…');
      dl.append(h('div.card.' + k, h('dt', label), stats[k]));
    }
    const evBody = h('tbody');
    root.append(h('h1', 'Overview'), dl,
      h('h2', 'Recent events'),
      table('Recent events', ['Time', 'Type', 'Subject', 'Message'], evBody),
      h('p', h('a', { href: '#/events' }, 'All events')));
    return {
      async refresh() {
        const g = ctx.g;
        const [nodes, svcs, evs, jp, jr] = await Promise.all([
          ctx.api.get(`/v1/grids/${g}/nodes`),
          ctx.api.get(`/v1/grids/${g}/services`),
          ctx.api.get(`/v1/grids/${g}/events?limit=10`),
          ctx.api.get404(`/v1/grids/${g}/jobs?state=pending`),
          ctx.api.get404(`/v1/grids/${g}/jobs?state=running`)]);
        const on = nodes.filter((n) => n.status === 'online').length;
        setText(stats.online, on);
        setText(stats.offline, nodes.length - on);
        stats.offline.className = nodes.length - on > 0 ? 'bad' : '';
        setText(stats.services, svcs.length);
        const run = svcs.reduce((a, s) => a + s.running, 0);
        const placed = svcs.reduce((a, s) => a + s.placed, 0);
        setText(stats.running, run);
        setText(stats.pending, Math.max(placed - run, 0));
        setText(stats.jobs, jp == null ? '–' :
          jp.length + ' / ' + (jr ? jr.length : 0));
        events(evBody, evs.slice().reverse());
        empty(evBody, 4, 'No events yet.');
      },
    };
  },
};

// ---- nodes --------------------------------------------------------------------------

const cpuHistory = new Map();	// node id -> last 30 cpu_pct samples
const HIST = 30;

function label(l) {
  const i = l.indexOf('=');
  return h('span.chip', { title: l }, i > 0 ? [h('b', l.slice(0, i)), '=', l.slice(i + 1)] : l);
}

// A node's operations (docs/nodes.md) as words for its State cell:
// "cordoned", "draining (left N)", "drained", "protected".
function opsOf(n) {
  const out = [];
  if (n.drain && n.drain.state === 'draining') {
    const l = n.drain.left || {};
    out.push(`draining (left ${(l.instances || 0) + (l.daemons || 0) +
      (l.stateful || 0) + (l.jobs || 0)})`);
  } else if (n.drain) out.push(n.drain.state);
  else if (n.cordoned) out.push('cordoned');
  if (n.protected) out.push('protected');
  return out;
}

// badges(td, words): one badge per word, rewritten only when they change
function badges(td, words) {
  const key = words.join('|');
  if (td._b === key) return;
  td._b = key;
  clear(td);
  words.forEach((w, i) => td.append(i ? ' ' : '', badge(w)));
}

// nodeOps(ctx, note, cur): the Cordon/Uncordon, Drain and Protect buttons
// of the node cur() returns (a row's or the node page's); made once,
// update(n) relabels them so a focused button keeps its focus.
function nodeOps(ctx, note, cur) {
  const cord = h('button', { type: 'button' });
  const drain = h('button.danger', { type: 'button' }, 'Drain');
  const prot = h('button', { type: 'button' });
  const approve = h('button', { type: 'button' }, 'Approve');
  const post = (n, op, body) => ctx.api.request('POST',
    `/v1/nodes/${ctx.g}/${enc(n.id)}/${op}`, body);
  cord.addEventListener('click', () => {
    const n = cur();
    if (n.cordoned)
      act(note, `Uncordon ${n.name}`, () => post(n, 'uncordon'), ctx.refreshNow);
    else
      act(note, `Cordon ${n.name}`, () => post(n, 'cordon'), ctx.refreshNow);
  });
  drain.addEventListener('click', () => {
    const n = cur();
    if (!confirm(`Drain node ${n.name}?\n\nIt takes no new work; its instances are started on other nodes before they stop here, running jobs finish, and whatever is still on it stops at the drain deadline. Uncordon cancels the drain.`))
      return;
    act(note, `Drain ${n.name}`, () => post(n, 'drain'), ctx.refreshNow);
  });
  approve.addEventListener('click', () => {
    const n = cur();
    act(note, `Approve ${n.name}`, () => post(n, 'approve'), ctx.refreshNow);
  });
  prot.addEventListener('click', () => {
    const n = cur();
    act(note, `${n.protected ? 'Unprotect' : 'Protect'} ${n.name}`,
      () => post(n, 'protect', { protected: !n.protected }), ctx.refreshNow);
  });
  const label = (b, text, aria, title) => {
    setText(b, text);
    if (b.getAttribute('aria-label') !== aria) b.setAttribute('aria-label', aria);
    if ((b.getAttribute('title') || '') !== (title || '')) {
      if (title) b.setAttribute('title', title); else b.removeAttribute('title');
    }
  };
  return {
    els: [approve, cord, ' ', drain, ' ', prot],
    update(n) {
      // A pending node (docs/nodes.md) waits for approval: nothing else.
      const pending = n.status === 'pending';
      label(approve, 'Approve', `Approve node ${n.name}`,
        n.pending_reason ? 'Pending: ' + n.pending_reason : 'Let this node join the grid');
      approve.hidden = !pending;
      cord.hidden = pending;
      const draining = n.drain && n.drain.state === 'draining';
      label(cord, n.cordoned ? 'Uncordon' : 'Cordon',
        `${n.cordoned ? 'Uncordon' : 'Cordon'} node ${n.name}`,
        draining ? 'Uncordon cancels the drain' :
          n.cordoned ? 'Let new work go to this node again' : 'No new work goes to this node');
      label(drain, 'Drain', `Drain node ${n.name}`, 'Move its work elsewhere, then stop what is left');
      drain.hidden = !!n.drain || pending;
      label(prot, n.protected ? 'Unprotect' : 'Protect',
        `${n.protected ? 'Unprotect' : 'Protect'} node ${n.name}`,
        'Node groups\' scale-in never picks a protected node');
      prot.hidden = !n.group || pending;
    },
  };
}

async function machinesByNode(ctx) {
  const groups = await ctx.api.get404(`/v1/grids/${ctx.g}/nodegroups`);
  const map = new Map();
  if (!groups) return map;
  const lists = await Promise.all(groups.map((gr) =>
    ctx.api.get404(`/v1/nodegroups/${ctx.g}/${enc(gr.name)}/machines`)));
  for (const l of lists)
    for (const m of l || []) if (m.node_id) map.set(m.node_id, m);
  return map;
}

const nodes = {
  title: 'Nodes',
  mount(root, ctx) {
    const filter = h('input#node-filter', { type: 'search',
      placeholder: 'name, label, group or state', 'aria-label': 'Filter nodes' });
    const count = h('span.count');
    const note = notice();
    const tbody = h('tbody');
    // A page of rows at a time: a thousand rows of a dozen cells cost the
    // browser seconds of layout on a busy machine; the filter searches all.
    const size = h('select#node-size', { 'aria-label': 'Rows per page' },
      ['100', '250', '1000'].map((n) => h('option', { value: n }, n + ' a page')));
    const prev = h('button#node-prev', { type: 'button' }, '← Previous');
    const next = h('button#node-next', { type: 'button' }, 'Next →');
    const where = h('span#node-page.count', { 'aria-live': 'polite' });
    let last = [], machines = new Map(), marked = false, page = 0;
    root.append(h('h1', 'Nodes'),
      h('div.bar', h('label', { for: 'node-filter' }, 'Filter '), filter, count),
      note,
      table('Nodes', ['Name', 'State', 'Group', 'Labels', 'CPU', 'Memory',
        'Load (1 min)', 'Instances', 'Last seen', 'Actions'], tbody, '#nodes.nodes'),
      h('div.bar.pager', prev, where, next, size));
    size.value = sessionStorage.getItem('berth.nodes.per') || '100';
    prev.addEventListener('click', () => { page--; render(); });
    next.addEventListener('click', () => { page++; render(); });
    size.addEventListener('change', () => {
      sessionStorage.setItem('berth.nodes.per', size.value);
      page = 0;
      render();
    });

    const groupOf = (n) => {
      const l = n.labels.find((x) => x.startsWith('berth.group='));
      return l ? l.slice(12) : '';
    };
    const stateOf = (n) => {
      const m = machines.get(n.id);
      // A group's machine draining shows as the node's drain (with what is left).
      if (m && m.state === 'draining' && n.drain) return n.status;
      if (m && m.state !== 'joined') return m.state;
      if (n.status === 'online' && n.engine === 'down') return 'engine down';
      return n.status;
    };

    function render() {
      const q = filter.value.trim().toLowerCase();
      const all = q ? last.filter((n) => n.name.includes(q) ||
        stateOf(n).includes(q) || groupOf(n).includes(q) ||
        opsOf(n).some((o) => o.includes(q)) ||
        n.labels.some((l) => l.toLowerCase().includes(q))) : last;
      setText(count, q ? `${all.length} of ${last.length}` : `${last.length} nodes`);
      const per = Number(size.value), pages = Math.max(1, Math.ceil(all.length / per));
      page = Math.min(Math.max(page, 0), pages - 1);
      const list = all.slice(page * per, (page + 1) * per);
      setText(where, all.length ? `${page * per + 1}–${page * per + list.length} of ${all.length}` : '');
      prev.disabled = page === 0;
      next.disabled = page >= pages - 1;
      prev.parentElement.hidden = pages === 1;
      unempty(tbody);
      syncRows(tbody, list, (n) => n.id, (n) => {
        const tr = h('tr');
        tr.c = cells(tr, 10);
        tr.link = tr.c[0].appendChild(h('a'));
        tr.c[6].className = 'spark';
        const rm = h('button.danger', { type: 'button' }, 'Remove');
        rm.addEventListener('click', () => {
          const n2 = tr.node;
          const msg = `Remove node ${n2.name}?` + (n2.connected ?
            '\n\nIt is connected: its agent is told it was removed, and after its retire grace it stops and removes its containers. Its instances are placed elsewhere.' :
            '\n\nIts instances are placed elsewhere.');
          if (!confirm(msg)) return;
          act(note, `Remove ${n2.name}`, () => ctx.api.request('DELETE',
            `/v1/nodes/${ctx.g}/${n2.id}` + (n2.connected ? '?force=1' : '')),
          ctx.refreshNow);
        });
        tr.ops = nodeOps(ctx, note, () => tr.node);
        tr.c[9].append(...tr.ops.els, ' ', rm);
        rm.setAttribute('aria-label', 'Remove node ' + n.name);
        return tr;
      }, (tr, n) => {
        tr.node = n;
        const c = tr.c;
        setText(tr.link, n.name);
        const href = '#/node/' + enc(n.name);
        if (tr.link.getAttribute('href') !== href) tr.link.setAttribute('href', href);
        badges(c[1], [stateOf(n), ...opsOf(n)]);
        tr.ops.update(n);
        setText(c[2], groupOf(n));
        const labs = n.labels.filter((l) => !l.startsWith('berth.group=')).join(',');
        if (c[3]._l !== labs) {
          c[3]._l = labs;
          clear(c[3]);
          for (const l of n.labels) if (!l.startsWith('berth.group=')) c[3].append(label(l), ' ');
        }
        setText(c[4], fmtPct(n.cpu_pct) + (n.cpus ? ` of ${n.cpus}` : ''));
        setText(c[5], n.mem_used == null ? fmtBytes(n.memory) + ' total' :
          `${fmtBytes(n.mem_used)} / ${fmtBytes(n.mem_total || n.memory)}`);
        const hist = cpuHistory.get(n.id) || [];
        const s = spark(hist);
        if (c[6].textContent !== s) {
          c[6].textContent = s;
          c[6].setAttribute('aria-label', hist.length ?
            'CPU over the last minute: ' + hist.filter((v) => v != null).map((v) => Math.round(v) + '%').join(', ') : 'no samples');
        }
        setText(c[7], n.instances);
        setText(c[8], n.status === 'online' ? 'now' : fmtAgo(n.last_seen_at));
      });
      if (!list.length) empty(tbody, 10, last.length ? 'No node matches.' : 'No node has joined this grid yet.');
      // The first full table on screen (after the frame that paints
      // it): what the bench (tests/bench/dashboard.sh) times.
      if (list.length && !marked) {
        marked = true;
        requestAnimationFrame(() => setTimeout(() =>
          performance.mark('berth:nodes-rendered', { detail: all.length }), 0));
      }
    }
    filter.addEventListener('input', () => { page = 0; render(); });

    return {
      async refresh() {
        const [list, ms] = await Promise.all([
          ctx.api.get(`/v1/grids/${ctx.g}/nodes`), machinesByNode(ctx)]);
        machines = ms;
        for (const n of list) {
          const hist = cpuHistory.get(n.id) || [];
          hist.push(n.cpu_pct);
          if (hist.length > HIST) hist.shift();
          cpuHistory.set(n.id, hist);
        }
        last = list;
        render();
      },
    };
  },
};

// One node: its facts and its last ten minutes as a chart.
const node = {
  title: 'Node',
  nav: 'nodes',
  mount(root, ctx) {
    const name = ctx.args[0] || '';
    const dl = h('dl.facts');
    const box = h('div.chart');
    const ch = chart(box, ['CPU %', 'Memory %'], '%', [0, 100]);
    const note = notice();
    let cur = null;
    const ops = nodeOps(ctx, note, () => cur);
    const bar = h('div.bar.ops', { hidden: true }, ...ops.els);
    root.append(h('p', h('a', { href: '#/nodes' }, '← Nodes')),
      h('h1', 'Node ', h('code', name)), bar, note, dl,
      h('h2', 'Load, last ten minutes'), box);
    return {
      async refresh() {
        const n = await ctx.api.get(`/v1/nodes/${ctx.g}/${enc(name)}`);
        cur = n;
        ops.update(n);
        bar.hidden = false;
        clear(dl);
        const st = [n.status, ...opsOf(n)];
        const facts = [['State', st.map((w, i) => [i ? ' ' : '', badge(w)])],
          ['Id', h('code', n.id)],
          ['Labels', n.labels.map((l) => [label(l), ' '])],
          ['CPUs', n.cpus], ['Memory', fmtBytes(n.memory)],
          ['CPU now', fmtPct(n.cpu_pct)],
          ['Load 1m / 5m / 10m', n.load_avg ? ['1m', '5m', '10m'].map((k) => fmtPct(n.load_avg[k])).join(' / ') : '–'],
          ['Instances', n.instances], ['Containers', n.containers ?? '–'],
          ['Engine', n.engine ?? '–'], ['Docker', n.docker_version ?? '–'],
          ['OS', n.os ?? '–'], ['Agent', n.agent_version ?? '–'],
          ['Addresses', n.addresses.join(', ')],
          ['Connected', fmtAgo(n.connected_at)]];
        if (n.group) facts.push(['Node group', `${n.group.name} (machine ${n.group.machine}, ${n.group.state})`]);
        if (n.drain) facts.push(['Drain', `${n.drain.state} (by ${n.drain.by}), started ${fmtAgo(n.drain.started_at)}` +
          (n.drain.done_at ? `, done ${fmtAgo(n.drain.done_at)}` + (n.drain.forced ? ' at its deadline' : '') :
            `, deadline ${fmtTime(n.drain.deadline_at)}`)]);
        for (const [k, v] of facts) dl.append(h('div', h('dt', k), h('dd', v)));
        const hist = n.load_history || [];
        ch.set([hist.map((p) => Date.parse(p.at) / 1000),
          hist.map((p) => p.cpu_pct),
          hist.map((p) => p.mem_total ? 100 * p.mem_used / p.mem_total : null)]);
      },
      dispose() { ch.destroy(); },
    };
  },
};

// ---- services and stacks -------------------------------------------------------

const services = {
  title: 'Services',
  mount(root, ctx) {
    const [selStack, selSvc] = ctx.args;
    const note = notice();
    const stBody = h('tbody'), svBody = h('tbody');
    const inst = h('section.instances');
    root.append(h('h1', 'Services and stacks'), note,
      h('h2', 'Stacks'),
      table('Stacks', ['Stack', 'File', 'Rev', 'State', 'Last deploy', 'Services', 'Actions'], stBody, '#stacks'),
      h('h2', 'Services'),
      table('Services', ['Service', 'Strategy', 'Image', 'Running', 'Scale', 'Actions'], svBody, '#services'),
      inst);

    function stackRow(s) {
      const tr = h('tr');
      tr.c = cells(tr, 7);
      const dep = h('button', { type: 'button' }, 'Deploy');
      const rs = h('button', { type: 'button' }, 'Restart');
      dep.setAttribute('aria-label', 'Deploy stack ' + s.name);
      rs.setAttribute('aria-label', 'Restart stack ' + s.name);
      dep.addEventListener('click', () => act(note, `Deploy ${s.name}`,
        () => ctx.api.request('POST', `/v1/stacks/${ctx.g}/${enc(s.name)}/deploy`), ctx.refreshNow));
      rs.addEventListener('click', () => {
        if (confirm(`Restart every container of stack ${s.name}?`))
          act(note, `Restart ${s.name}`, () => ctx.api.request('POST',
            `/v1/stacks/${ctx.g}/${enc(s.name)}/restart`), ctx.refreshNow);
      });
      tr.c[6].append(dep, ' ', rs, ' ', h('a', { href: '#/logs/' + enc(s.name) }, 'Logs'));
      return tr;
    }

    function svcRow(s) {
      const tr = h('tr');
      tr.c = cells(tr, 6);
      tr.c[0].append(tr.name = h('a'));
      tr.prog = h('progress', { max: 1, value: 0 });
      tr.ptext = h('span.ratio');
      tr.c[3].append(tr.prog, ' ', tr.ptext);
      const id = `scale-${s.stack}-${s.name}`;
      const input = h('input', { type: 'number', min: 0, max: 10000, id,
        'aria-label': `Instances of ${s.stack}/${s.name}`, value: s.instances });
      const form = h('form.inline', h('label.sr', { for: id }, 'Instances'), input,
        h('button', { type: 'submit' }, 'Scale'));
      form.addEventListener('submit', (ev) => {
        ev.preventDefault();
        const n = Number(input.value);
        act(note, `Scale ${s.stack}/${s.name} to ${n}`, () => ctx.api.request('POST',
          `/v1/services/${ctx.g}/${enc(s.stack)}/${enc(s.name)}/scale`, { instances: n }),
        ctx.refreshNow);
        input.dataset.dirty = '';
      });
      input.addEventListener('input', () => { input.dataset.dirty = '1'; });
      tr.input = input;
      tr.c[4].append(form);
      const rs = h('button', { type: 'button', 'aria-label': `Restart ${s.stack}/${s.name}` }, 'Restart');
      rs.addEventListener('click', () => {
        if (confirm(`Restart every container of ${s.stack}/${s.name}?`))
          act(note, `Restart ${s.stack}/${s.name}`, () => ctx.api.request('POST',
            `/v1/services/${ctx.g}/${enc(s.stack)}/${enc(s.name)}/restart`), ctx.refreshNow);
      });
      tr.c[5].append(rs, ' ', h('a', { href: `#/logs/${enc(s.stack)}/${enc(s.name)}` }, 'Logs'));
      return tr;
    }

    const ctBody = h('tbody'), perNode = h('ul.pernode');
    if (selSvc) {
      inst.append(h('h2', 'Instances of ', h('code', `${selStack}/${selSvc}`)),
        perNode,
        table('Instances', ['#', 'Node', 'State', 'Rev', 'Restarts', 'Container', 'Why'], ctBody, '#containers'));
    }

    return {
      async refresh() {
        const [stacks, svcs, cts] = await Promise.all([
          ctx.api.get(`/v1/grids/${ctx.g}/stacks`),
          ctx.api.get(`/v1/grids/${ctx.g}/services`),
          selSvc ? ctx.api.get404(`/v1/services/${ctx.g}/${enc(selStack)}/${enc(selSvc)}/containers`) : null]);
        unempty(stBody);
        syncRows(stBody, stacks, (s) => s.name, stackRow, (tr, s) => {
          const c = tr.c;
          setText(c[0], s.name);
          setText(c[1], s.stack + (s.version ? ':' + s.version : ''));
          setText(c[2], s.rev);
          setBadge(c[3], s.state || '–');
          setBadge(c[4], s.deploy_state || 'none');
          c[4].title = s.deploy_error || '';
          setText(c[5], s.services);
        });
        empty(stBody, 7, 'No stack installed. Install one with berth stack install FILE.');
        unempty(svBody);
        syncRows(svBody, svcs, (s) => s.stack + '/' + s.name, svcRow, (tr, s) => {
          const c = tr.c;
          setText(tr.name, s.stack + '/' + s.name);
          const href = `#/services/${enc(s.stack)}/${enc(s.name)}`;
          if (tr.name.getAttribute('href') !== href) tr.name.setAttribute('href', href);
          if (s.stack === selStack && s.name === selSvc) tr.name.setAttribute('aria-current', 'true');
          setText(c[1], s.strategy + (s.stateful ? ', stateful' : ''));
          setText(c[2], s.image);
          const want = s.strategy === 'daemon' ? Math.max(s.placed, s.running) : s.instances;
          tr.prog.max = Math.max(want, 1);
          tr.prog.value = Math.min(s.running, Math.max(want, 1));
          setText(tr.ptext, `${s.running}/${want}` + (s.placed > s.running ? ` (${s.placed - s.running} not running)` : ''));
          tr.prog.setAttribute('aria-label', `${s.running} of ${want} running`);
          if (!tr.input.dataset.dirty && document.activeElement !== tr.input &&
              tr.input.value !== String(s.instances))
            tr.input.value = s.instances;
        });
        empty(svBody, 6, 'No services.');
        if (selSvc) {
          if (cts == null) { clear(perNode); perNode.append(h('li', 'No such service.')); return; }
          const by = new Map();
          for (const ct of cts) {
            const m = by.get(ct.node) || {};
            m[ct.state] = (m[ct.state] || 0) + 1;
            by.set(ct.node, m);
          }
          clear(perNode);
          for (const [nd, m] of by)
            perNode.append(h('li', h('b', nd || '(no node)'), ': ',
              Object.entries(m).map(([st, k]) => `${k} ${st}`).join(', ')));
          unempty(ctBody);
          syncRows(ctBody, cts, (ct) => ct.name, () => {
            const tr = h('tr'); tr.c = cells(tr, 7); return tr;
          }, (tr, ct) => {
            const c = tr.c;
            setText(c[0], ct.instance);
            setText(c[1], ct.node);
            setBadge(c[2], ct.state);
            setText(c[3], ct.rev);
            setText(c[4], ct.restarts);
            setText(c[5], ct.name);
            setText(c[6], ct.error || (ct.exit_code != null ? 'exit ' + ct.exit_code : ''));
          });
          empty(ctBody, 7, 'No instance placed yet.');
        }
      },
    };
  },
};

// ---- node groups ------------------------------------------------------------------

const SIZE_KEEP = 900;	// samples per group: 30 minutes at one per 2 s
const sizeHist = new Map(JSON.parse(sessionStorage.getItem('berth.sizes') || '[]'));

function sampleGroup(key, gr) {
  const h0 = sizeHist.get(key) || { t: [], size: [], min: [], max: [] };
  h0.t.push(Date.now() / 1000);
  h0.size.push(gr.size);
  h0.min.push(gr.min);
  h0.max.push(gr.max);
  if (h0.t.length > SIZE_KEEP) for (const k of ['t', 'size', 'min', 'max']) h0[k].shift();
  sizeHist.set(key, h0);
  return h0;
}

const groups = {
  title: 'Node groups',
  mount(root, ctx) {
    const body = h('div');
    const gBody = h('tbody');
    const none = h('p');
    root.append(h('h1', 'Node groups'), none,
      table('Node groups', ['Group', 'Provider', 'Size', 'Min', 'Max', 'Labels', 'Back-off until'], gBody, '#groups'),
      body);
    const views = new Map();	// group name -> {sec, chart, mBody, eBody}

    function view(gr) {
      let v = views.get(gr.name);
      if (v) return v;
      const box = h('div.chart');
      v = { mBody: h('tbody'), eBody: h('tbody'), pBody: h('tbody'), box };
      // The plan is what the next round would decide, computed by the
      // scheduler without a write or a provider call: asked for on
      // demand, never polled (each answer costs the scheduler a pass).
      const note = notice();
      const planBtn = h('button.plan', { type: 'button',
        'aria-label': 'Plan for node group ' + gr.name }, 'Plan');
      planBtn.addEventListener('click', async () => {
        planBtn.disabled = true;
        try {
          const plan = await ctx.api.get(`/v1/nodegroups/${ctx.g}/${enc(gr.name)}/plan`);
          const ds = (plan.decisions || []).map((d, i) => ({ ...d, i }));
          clear(v.pBody); v.pBody._rows = null;
          syncRows(v.pBody, ds, (d) => d.i, () => {
            const tr = h('tr'); tr.c = cells(tr, 3); return tr;
          }, (tr, d) => {
            setText(tr.c[0], d.action);
            setText(tr.c[1], d.count != null ? d.count + ' machine(s)' : (d.machine || ''));
            setText(tr.c[2], d.reason || '');
          });
          empty(v.pBody, 3, 'Nothing to do: the next round would launch or stop nothing.');
          note.say(`Plan at ${fmtTime(plan.at)}: ${ds.length} decision(s), no provider called.`);
        } catch (e) {
          note.say('Plan failed: ' + e.message, true);
        } finally {
          planBtn.disabled = false;
        }
      });
      v.sec = h('section.group', h('h2', 'Group ', h('code', gr.name)),
        h('h3', 'Size against min and max'), box,
        h('h3', 'Machines'),
        table('Machines of ' + gr.name, ['Machine', 'State', 'Since', 'Node', 'Why'], v.mBody),
        h('h3', 'Last decisions'),
        table('Decisions for ' + gr.name, ['Time', 'Type', 'Subject', 'Message'], v.eBody),
        h('h3', 'Dry-run plan'),
        h('div.bar', planBtn), note,
        table('Plan for ' + gr.name, ['Action', 'What', 'Why'], v.pBody));
      body.append(v.sec);
      v.chart = chart(box, ['size', 'min', 'max'], 'machines');
      views.set(gr.name, v);
      return v;
    }

    return {
      async refresh() {
        const list = await ctx.api.get404(`/v1/grids/${ctx.g}/nodegroups`);
        if (list == null) {
          none.textContent = 'This master has no node groups (its API answers 404).';
          return;
        }
        none.textContent = list.length ? '' : 'No node group in this grid. Create one with berth nodegroup create.';
        syncRows(gBody, list, (g) => g.name, () => {
          const tr = h('tr'); tr.c = cells(tr, 7); return tr;
        }, (tr, g) => {
          const c = tr.c;
          setText(c[0], g.name); setText(c[1], g.provider);
          setText(c[2], g.size); setText(c[3], g.min); setText(c[4], g.max);
          setText(c[5], (g.labels || []).join(', '));
          setText(c[6], g.backoff_until ? fmtTime(g.backoff_until) : '–');
        });
        const [ms, ev1, ev2] = await Promise.all([
          Promise.all(list.map((g) => ctx.api.get404(`/v1/nodegroups/${ctx.g}/${enc(g.name)}/machines`))),
          ctx.api.get(`/v1/grids/${ctx.g}/events?type=nodegroup.&limit=200`),
          ctx.api.get(`/v1/grids/${ctx.g}/events?type=machine.&limit=200`)]);
        const evs = ev1.concat(ev2).sort((a, b) => b.id - a.id);
        list.forEach((g, i) => {
          const v = view(g);
          const hist = sampleGroup(ctx.grid + '/' + g.name, g);
          v.chart.set([hist.t, hist.size, hist.min, hist.max]);
          const machines = ms[i] || [];
          const names = new Set(machines.map((m) => m.name));
          unempty(v.mBody);
          syncRows(v.mBody, machines, (m) => m.id, () => {
            const tr = h('tr'); tr.c = cells(tr, 5); return tr;
          }, (tr, m) => {
            setText(tr.c[0], m.name); setBadge(tr.c[1], m.state);
            setText(tr.c[2], fmtAgo(m.state_at)); setText(tr.c[3], m.node_id ? m.node_id.slice(0, 8) : '–');
            setText(tr.c[4], m.reason || '');
          });
          empty(v.mBody, 5, 'No machines.');
          events(v.eBody, evs.filter((e) => e.subject === g.name ||
            names.has(e.subject) || (e.message || '').includes(g.name)).slice(0, 15));
          empty(v.eBody, 4, 'No decision yet.');
        });
        for (const [name, v] of views) {
          if (!list.some((g) => g.name === name)) {
            v.chart.destroy(); v.sec.remove(); views.delete(name);
          }
        }
        sessionStorage.setItem('berth.sizes', JSON.stringify([...sizeHist]));
      },
      dispose() { for (const v of views.values()) v.chart.destroy(); },
    };
  },
};

// ---- jobs ----------------------------------------------------------------------------

const JOB_STATES = ['pending', 'assigned', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled'];

const jobs = {
  title: 'Jobs',
  mount(root, ctx) {
    const sel = h('select#job-state', h('option', { value: '' }, 'all'),
      JOB_STATES.map((s) => h('option', { value: s }, s)));
    const note = notice();
    const tbody = h('tbody');
    root.append(h('h1', 'Jobs'),
      h('div.bar', h('label', { for: 'job-state' }, 'State '), sel), note,
      table('Jobs', ['Job', 'State', 'Image', 'Command', 'Node', 'Tasks', 'Exit', 'Why', 'Created', 'Finished', 'Actions'], tbody, '#jobs'));
    sel.addEventListener('change', () => { clear(tbody); tbody._rows = null; ctx.refreshNow(); });
    return {
      async refresh() {
        const q = sel.value ? '?state=' + sel.value : '';
        const list = await ctx.api.get404(`/v1/grids/${ctx.g}/jobs${q}`);
        if (list == null) { empty(tbody, 11, 'This master has no jobs API.'); return; }
        unempty(tbody);
        syncRows(tbody, list, (j) => j.id, (j) => {
          const tr = h('tr'); tr.c = cells(tr, 11);
          const cancel = h('button', { type: 'button', 'aria-label': 'Cancel job ' + j.name }, 'Cancel');
          cancel.addEventListener('click', () => {
            if (confirm(`Cancel job ${j.name}?`))
              act(note, `Cancel ${j.name}`, () => ctx.api.request('POST',
                `/v1/jobs/${ctx.g}/${j.id}/cancel`), ctx.refreshNow);
          });
          tr.cancel = cancel;
          tr.c[10].append(cancel);
          return tr;
        }, (tr, j) => {
          const c = tr.c;
          setText(c[0], j.name); setBadge(c[1], j.state); setText(c[2], j.image);
          setText(c[3], (j.command || []).join(' '));
          setText(c[4], j.node || '–');
          setText(c[5], `${j.tasks_done}/${j.parallel}`);
          setText(c[6], j.exit_status == null ? '–' : j.exit_code != null && j.exit_code !== j.exit_status ? `${j.exit_status} (code ${j.exit_code})` : j.exit_status);
          setText(c[7], j.reason || '');
          setText(c[8], fmtAgo(j.created_at)); setText(c[9], fmtAgo(j.finished_at));
          tr.cancel.hidden = !['pending', 'assigned', 'running'].includes(j.state);
        });
        empty(tbody, 11, sel.value ? 'No job in that state.' : 'No jobs. Run one with berth job run IMAGE CMD.');
      },
    };
  },
};

// ---- events ----------------------------------------------------------------------------

const EVENT_KEEP = 1000;

const eventsPage = {
  title: 'Events',
  mount(root, ctx) {
    const type = h('input#ev-type', { type: 'search', placeholder: 'node. or deploy.success',
      'aria-describedby': 'ev-help' });
    const text = h('input#ev-text', { type: 'search', placeholder: 'subject or message' });
    const tbody = h('tbody');
    let list = [], lastId = 0, shownType = null;
    root.append(h('h1', 'Events'),
      h('div.bar', h('label', { for: 'ev-type' }, 'Type '), type,
        h('label', { for: 'ev-text' }, ' Text '), text),
      h('p#ev-help.help', 'A type (node.join) or a prefix ending in a dot (sched.). Newest first; new events appear as they happen.'),
      table('Events', ['Time', 'Type', 'Subject', 'Message'], tbody, '#events'));

    function render() {
      const q = text.value.trim().toLowerCase();
      const shown = q ? list.filter((e) => (e.subject || '').toLowerCase().includes(q) ||
        e.message.toLowerCase().includes(q)) : list;
      events(tbody, shown);
      if (!shown.length) empty(tbody, 4, 'No event matches.');
    }
    let debounce = null;
    type.addEventListener('input', () => {
      clearTimeout(debounce);
      debounce = setTimeout(ctx.refreshNow, 300);
    });
    text.addEventListener('input', render);

    return {
      async refresh() {
        const t = type.value.trim();
        if (t !== shownType) { list = []; lastId = 0; shownType = t; }
        const q = (t ? '&type=' + enc(t) : '') + (lastId ? '&after=' + lastId : '');
        let got;
        try {
          got = await ctx.api.get(`/v1/grids/${ctx.g}/events?limit=${lastId ? 1000 : 200}${q}`);
        } catch (e) {
          if (e.status === 422) { list = []; render(); throw e; }
          throw e;
        }
        if (t !== type.value.trim()) return;
        if (got.length) {
          lastId = got[got.length - 1].id;
          list = got.reverse().concat(list).slice(0, EVENT_KEEP);
        }
        render();
      },
      dispose() { clearTimeout(debounce); },
    };
  },
};

// ---- logs --------------------------------------------------------------------------------

const LOG_KEEP = 5000;

const logs = {
  title: 'Logs',
  mount(root, ctx) {
    const [stack, svc] = ctx.args;
    const sel = h('select#log-src');
    const tail = h('select#log-tail', ['100', '1000', '10000'].map((n) => h('option', { value: n }, n)));
    const btn = h('button#log-follow', { type: 'button' }, 'Follow');
    const state = h('span#log-state', { role: 'status' });
    const out = h('div#log-out.logs', { tabindex: 0, role: 'log', 'aria-label': 'Log lines' });
    let ctl = null, n = 0, stick = true;
    root.append(h('h1', 'Logs'),
      h('div.bar', h('label', { for: 'log-src' }, 'Service '), sel,
        h('label', { for: 'log-tail' }, ' Last '), tail, ' ', btn, ' ', state),
      out);
    out.addEventListener('scroll', () => {
      stick = out.scrollTop + out.clientHeight >= out.scrollHeight - 8;
    });

    function stop(why) {
      if (ctl) ctl.abort();
      ctl = null;
      btn.textContent = 'Follow';
      state.textContent = why || 'Stopped.';
    }

    function line(l) {
      const row = h('div.line.' + (l.stream === 'stderr' ? 'err' : l.stream === 'dropped' ? 'drop' : 'out'),
        h('time', { datetime: l.ts }, fmtTime(l.ts)), ' ',
        h('span.src', `${l.node || '?'} #${l.instance ?? ''}`), ' ',
        l.stream === 'dropped' ? `… ${l.dropped} lines dropped …` : l.line);
      out.append(row);
      if (++n > LOG_KEEP) { out.firstChild.remove(); n--; }
      if (stick) out.scrollTop = out.scrollHeight;
    }

    async function start() {
      stop();
      clear(out); n = 0; stick = true;
      const v = sel.value;
      if (!v) return;
      const [st, sv] = v.split('/');
      const path = sv ? `/v1/services/${ctx.g}/${enc(st)}/${enc(sv)}/logs` :
        `/v1/stacks/${ctx.g}/${enc(st)}/logs`;
      const c = new AbortController();
      ctl = c;
      btn.textContent = 'Stop';
      state.textContent = 'Following ' + v + '…';
      try {
        await ctx.api.follow(`${path}?tail=${tail.value}&follow=1`, line, c.signal);
        if (ctl === c) stop('The master ended the stream.');
      } catch (e) {
        if (e.name === 'AbortError') return;
        if (ctl === c) stop('Stopped: ' + e.message);
      }
    }
    btn.addEventListener('click', () => (ctl ? stop() : start()));
    sel.addEventListener('change', () => {
      location.hash = '#/logs/' + sel.value.split('/').map(enc).join('/');
    });
    tail.addEventListener('change', () => { if (ctl) start(); });

    let filled = false;
    return {
      async refresh() {
        const svcs = await ctx.api.get(`/v1/grids/${ctx.g}/services`);
        const want = svcs.map((s) => s.stack + '/' + s.name);
        const stacks = [...new Set(svcs.map((s) => s.stack))];
        const opts = [''].concat(stacks.flatMap((s) => [s, ...want.filter((w) => w.startsWith(s + '/'))]));
        const cur = filled ? sel.value : [stack, svc].filter(Boolean).join('/');
        const have = [...sel.options].map((o) => o.value).join('\n');
        if (have !== opts.join('\n')) {
          clear(sel);
          for (const o of opts)
            sel.append(h('option', { value: o }, o === '' ? '— pick a service —' :
              o.includes('/') ? '  ' + o : o + ' (whole stack)'));
        }
        sel.value = opts.includes(cur) ? cur : '';
        if (!filled) {
          filled = true;
          if (sel.value) start();
        }
      },
      dispose() { stop(); },
    };
  },
};

export const pages = { overview, nodes, node, services, groups, jobs,
  events: eventsPage, logs };
