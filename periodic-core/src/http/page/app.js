// The operator's page of `periodic`: services and their periodic tasks, live.
//
// Plain JavaScript, no framework, no build step; embedded in the binary. Every text that
// comes from the store goes into the page as text (textContent, Text nodes, attributes
// set one by one), never as markup. The API token is typed once, kept in this tab's
// sessionStorage and sent as X-Auth-Token; no cookie is ever used.
'use strict';

(() => {
  const TOKEN_KEY = 'periodic.api-token';
  const SERVICES_EVERY_MS = 1000; // one request a second while visible
  const DETAIL_EVERY_MS = 2000; // two requests (service and fleet tasks) every two seconds
  const SVG = 'http://www.w3.org/2000/svg';
  const OUTCOME_COLOURS = {
    succeeded: '#2e7d32', failed: '#c62828', panicked: '#6a1b9a', timed_out: '#ef6c00',
  };

  const $ = (id) => document.getElementById(id);
  const view = {
    host: '', binary: '', state: '', offset: 0, limit: 50,
    selected: null, // {uuid, host, binary}
    firstRows: false,
    // A link to the page may name a service to open: /#service=ID.
    wanted: (/^#service=(\d+)$/.exec(window.location.hash) || [])[1] || null,
  };

  // ---- building DOM from data, as text only -------------------------------------
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (key === 'class') node.className = value;
      else if (key.startsWith('data-')) node.setAttribute(key, String(value));
      else node[key] = value;
    }
    node.append(...children.filter((c) => c !== null && c !== undefined).map((c) => (typeof c === 'string' || typeof c === 'number' ? String(c) : c)));
    return node;
  }

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
    node.append(...children);
    return node;
  }

  function seconds(value) {
    if (value === null || value === undefined) return '–';
    const abs = Math.abs(value);
    if (abs < 1) return `${(value * 1000).toFixed(0)} ms`;
    if (abs < 120) return `${value.toFixed(1)} s`;
    if (abs < 7200) return `${(value / 60).toFixed(1)} min`;
    return `${(value / 3600).toFixed(1)} h`;
  }

  function signed(value) {
    if (value === null || value === undefined) return '–';
    return (value > 0 ? '+' : '') + seconds(value);
  }

  function say(text, kind) {
    const message = $('message');
    message.textContent = text;
    message.className = `message ${kind || ''}`;
  }

  // ---- HTTP ------------------------------------------------------------------------
  function faultText(status, body) {
    const fault = body && typeof body === 'object' ? Object.values(body)[0] : null;
    return fault && fault.message ? `${status}: ${fault.message}` : `HTTP ${status}`;
  }

  async function getJson(url) {
    const response = await fetch(url, {
      headers: { Accept: 'application/json' }, credentials: 'omit', cache: 'no-store',
    });
    const body = await response.json().catch(() => null);
    if (!response.ok) {
      const error = new Error(faultText(response.status, body));
      error.status = response.status;
      throw error;
    }
    return body;
  }

  async function write(method, url, body) {
    const headers = { Accept: 'application/json', 'Content-Type': 'application/json' };
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) headers['X-Auth-Token'] = token;
    if (url.startsWith('/os-services')) headers['OpenStack-API-Version'] = 'compute 2.53';
    const response = await fetch(url, {
      method, headers, body: JSON.stringify(body), credentials: 'omit', cache: 'no-store',
    });
    const answer = await response.json().catch(() => null);
    if (!response.ok) throw new Error(faultText(response.status, answer));
    return answer;
  }

  // ---- polling: one loop per panel, paused while the tab is hidden -----------------
  function poller(every, tick) {
    let timer = null;
    let running = false;
    async function run() {
      timer = null;
      if (document.hidden) return; // visibilitychange starts it again
      running = true;
      try { await tick(); } finally { running = false; }
      if (!timer && !document.hidden) timer = setTimeout(run, every);
    }
    document.addEventListener('visibilitychange', () => {
      $('live').classList.toggle('paused', document.hidden);
      if (!document.hidden && !timer && !running) run();
    });
    return {
      now() {
        if (timer) { clearTimeout(timer); timer = null; }
        if (!running) run();
        else timer = setTimeout(run, 0);
      },
    };
  }

  // ---- services --------------------------------------------------------------------
  function servicesUrl() {
    const query = new URLSearchParams();
    if (view.host) query.set('host', view.host);
    if (view.binary) query.set('binary', view.binary);
    if (view.state) query.set('state', view.state);
    query.set('offset', String(view.offset));
    query.set('limit', String(view.limit));
    return `/ui/services?${query}`;
  }

  function stateCell(s) {
    const cell = el('td', { class: s.state === 'up' ? 'state-up' : 'state-down' }, s.state);
    if (s.down_reason) cell.append(' ', el('span', { class: 'reason' }, `(${s.down_reason})`));
    return cell;
  }

  function serviceRow(s) {
    const row = el('tr', { 'data-id': s.id, 'data-uuid': s.uuid, 'data-state': s.state },
      el('td', { class: 'num' }, s.id),
      el('td', { class: 'text host' }, s.host),
      el('td', { class: 'text binary' }, s.binary),
      el('td', { class: 'text' }, s.zone),
      stateCell(s),
      el('td', { class: 'text status' }, s.status,
        s.disabled_reason ? el('span', { class: 'reason' }, ` (${s.disabled_reason})`) : null),
      el('td', { class: 'forced' }, s.forced_down ? 'yes' : 'no'),
      el('td', { class: 'num' }, seconds(s.heartbeat_age)),
      el('td', { class: 'num' }, signed(s.clock_skew)),
      el('td', {}, s.updated_at ? s.updated_at.slice(0, 19).replace('T', ' ') : '–'));
    if (view.selected && view.selected.uuid === s.uuid) row.classList.add('selected');
    row.addEventListener('click', () => select(s));
    return row;
  }

  async function refreshServices() {
    let page;
    try {
      page = await getJson(servicesUrl());
    } catch (error) {
      $('live').classList.add('stale');
      $('live').textContent = 'store unreachable';
      say(`Cannot list the services: ${error.message}`, 'error');
      return;
    }
    $('live').classList.remove('stale');
    $('live').textContent = `live ${new Date().toISOString().slice(11, 19)}`;
    const t = page.totals;
    $('totals').textContent = `${t.services} services: ${t.up} up, ${t.down} down`;
    $('service-rows').replaceChildren(...page.services.map(serviceRow));
    const first = page.matched === 0 ? 0 : page.offset + 1;
    const last = page.offset + page.services.length;
    $('page-range').textContent = `${first}–${last} of ${page.matched}`;
    $('page-prev').disabled = page.offset === 0;
    $('page-next').disabled = last >= page.matched;
    if (view.selected) {
      const current = page.services.find((s) => s.uuid === view.selected.uuid);
      if (current) showFacts(current);
    }
    if (view.wanted !== null) {
      const wanted = page.services.find((s) => String(s.id) === view.wanted);
      view.wanted = null;
      if (wanted) select(wanted);
    }
    if (!view.firstRows) {
      view.firstRows = true;
      performance.mark('periodic-first-rows');
    }
  }

  // ---- the selected service --------------------------------------------------------
  function showFacts(s) {
    view.selected = { uuid: s.uuid, host: s.host, binary: s.binary };
    $('detail-title').textContent = `${s.host} / ${s.binary}`;
    const facts = [`id ${s.id}`, `uuid ${s.uuid}`, `topic ${s.topic}`, `state ${s.state}`];
    if (s.down_reason) facts.push(`down: ${s.down_reason}`);
    facts.push(s.status === 'disabled' ? `disabled${s.disabled_reason ? `: ${s.disabled_reason}` : ''}` : 'enabled');
    if (s.forced_down) facts.push('forced down');
    facts.push(`service_down_time ${seconds(s.service_down_time)}`);
    $('detail-facts').textContent = facts.join(' · ');
  }

  function select(s) {
    showFacts(s);
    window.history.replaceState(null, '', `#service=${encodeURIComponent(s.id)}`);
    $('detail').hidden = false;
    for (const row of $('service-rows').children) {
      row.classList.toggle('selected', row.getAttribute('data-uuid') === s.uuid);
    }
    $('service-tasks').tBodies[0].replaceChildren();
    $('fleet-tasks').tBodies[0].replaceChildren();
    detail.now();
  }

  // The last runs, oldest on the left, on a time axis: a bar from start to finish in the
  // outcome's colour, and the lateness as a grey bar ending at the start.
  function timeline(runs) {
    const width = 240;
    const height = 18;
    const chart = svg('svg', {
      width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', class: 'timeline',
    });
    const spans = (runs || []).map((r) => {
      const start = Date.parse(r.started);
      const duration = (r.duration || 0) * 1000;
      return { r, start, end: start + duration, late: (r.lateness || 0) * 1000 };
    }).filter((x) => !Number.isNaN(x.start));
    const label = svg('title', {});
    label.textContent = spans.length ? `${spans.length} runs` : 'no runs yet';
    chart.append(label);
    chart.append(svg('line', { x1: 0, y1: height - 1, x2: width, y2: height - 1, stroke: '#d9dde5' }));
    if (!spans.length) return chart;
    const from = Math.min(...spans.map((x) => x.start - x.late));
    const to = Math.max(...spans.map((x) => x.end));
    const scale = (width - 4) / Math.max(to - from, 1);
    for (const x of spans.reverse()) {
      const left = 2 + (x.start - from) * scale;
      if (x.late > 0) {
        chart.append(svg('rect', {
          x: left - x.late * scale, y: 7, width: Math.max(x.late * scale, 0.5), height: 3, fill: '#90a4ae',
        }));
      }
      const bar = svg('rect', {
        x: left, y: 2, width: Math.max((x.end - x.start) * scale, 2), height: height - 5,
        fill: OUTCOME_COLOURS[x.r.outcome] || '#9e9e9e', 'data-outcome': x.r.outcome || 'running',
      });
      const tip = svg('title', {});
      tip.textContent = `${x.r.started}: ${x.r.outcome || 'running'}, ${seconds(x.r.duration)}, `
        + `${seconds(x.r.lateness)} late, holder ${x.r.holder || '–'}, token ${x.r.token ?? '–'}`;
      bar.append(tip);
      chart.append(bar);
    }
    return chart;
  }

  function nextDue(entry, storeNow) {
    if (!entry.next_due) return '–';
    const due = (Date.parse(entry.next_due) - Date.parse(storeNow)) / 1000;
    if (Number.isNaN(due)) return entry.next_due;
    return due >= 0 ? `in ${seconds(due)}` : `overdue ${seconds(-due)}`;
  }

  function taskButton(text, action, entry) {
    return el('button', {
      type: 'button', class: `task-${action}`, textContent: text,
      onclick: () => control(action, entry),
    });
  }

  function taskRow(entry, storeNow) {
    const flags = el('td', { class: 'text' });
    if (entry.paused) flags.append(el('span', { class: 'flag paused' }, entry.paused_reason ? `paused: ${entry.paused_reason}` : 'paused'));
    if (entry.run_requested) flags.append(el('span', { class: 'flag requested' }, 'run requested'));
    if (entry.running) flags.append(el('span', { class: 'flag running' }, 'running'));
    if (!flags.childNodes.length) flags.append(entry.outcome ? `last ${entry.outcome}` : '–');
    return el('tr', { 'data-task': entry.task, 'data-scope': entry.scope, 'data-paused': !!entry.paused },
      el('td', { class: 'text task' }, entry.fleet ? `${entry.task} (${entry.fleet})` : entry.task),
      el('td', { class: 'num' }, entry.spacing === null || entry.spacing === undefined ? '–' : seconds(entry.spacing)),
      el('td', {}, nextDue(entry, storeNow)),
      el('td', {}, timeline(entry.recent_runs)),
      el('td', { class: 'num' }, `${entry.runs ?? 0} / ${entry.failures ?? 0}`),
      el('td', { class: 'text' }, entry.holder ?? '–'),
      el('td', { class: 'num' }, entry.token ?? '–'),
      flags,
      el('td', {},
        taskButton('Run now', 'run', entry),
        entry.paused ? taskButton('Resume', 'resume', entry) : taskButton('Pause', 'pause', entry)));
  }

  async function fillTasks(tableId, noteId, url, empty) {
    const body = $(tableId).tBodies[0];
    try {
      const answer = await getJson(url);
      body.replaceChildren(...answer.tasks.map((e) => taskRow(e, answer.store_now)));
      $(noteId).textContent = answer.tasks.length ? '' : empty;
    } catch (error) {
      body.replaceChildren();
      $(noteId).textContent = error.status === 404
        ? `No task ledger on this server (${error.message}).`
        : `Cannot read the task ledger: ${error.message}`;
    }
  }

  async function refreshDetail() {
    if (!view.selected) return;
    const scope = `service/${view.selected.host}/${view.selected.binary}`;
    await Promise.all([
      fillTasks('service-tasks', 'service-tasks-note',
        `/task-ledger?${new URLSearchParams({ scope, runs: '20' })}`,
        'This service has no periodic tasks in the task ledger.'),
      fillTasks('fleet-tasks', 'fleet-tasks-note', '/task-ledger?kind=fleet&runs=20',
        'No fleet tasks in the task ledger.'),
    ]);
  }

  // ---- controls --------------------------------------------------------------------
  function reason() {
    const text = $('disable-reason').value.trim();
    return text === '' ? undefined : text;
  }

  async function act(what, call) {
    try {
      await call();
      say(`${what}: done.`, 'ok');
    } catch (error) {
      say(`${what} failed: ${error.message}`, 'error');
    }
    services.now();
    detail.now();
  }

  function updateService(body, what) {
    if (!view.selected) return;
    const s = view.selected;
    act(`${what} ${s.host} / ${s.binary}`,
      () => write('PUT', `/os-services/${encodeURIComponent(s.uuid)}`, body));
  }

  function control(action, entry) {
    const body = { scope: entry.scope, task: entry.task };
    if (action === 'pause' && reason()) body.reason = reason();
    const names = { run: 'Run now', pause: 'Pause', resume: 'Resume' };
    act(`${names[action]} ${entry.task}`, () => write('POST', `/task-ledger/${action}`, body));
  }

  // ---- wiring ----------------------------------------------------------------------
  const services = poller(SERVICES_EVERY_MS, refreshServices);
  const detail = poller(DETAIL_EVERY_MS, refreshDetail);

  function showToken() {
    $('token-state').textContent = sessionStorage.getItem(TOKEN_KEY) ? 'token set for this tab' : 'no token: read only';
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('token-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const token = $('token').value.trim();
      if (token) sessionStorage.setItem(TOKEN_KEY, token);
      $('token').value = '';
      showToken();
    });
    $('token-forget').addEventListener('click', () => { sessionStorage.removeItem(TOKEN_KEY); showToken(); });
    showToken();

    let typing = null;
    const filtersChanged = () => {
      clearTimeout(typing);
      typing = setTimeout(() => {
        view.host = $('filter-host').value.trim();
        view.binary = $('filter-binary').value.trim();
        view.state = $('filter-state').value;
        view.offset = 0;
        services.now();
      }, 250);
    };
    $('filters').addEventListener('submit', (event) => event.preventDefault());
    $('service-controls').addEventListener('submit', (event) => event.preventDefault());
    $('filter-host').addEventListener('input', filtersChanged);
    $('filter-binary').addEventListener('input', filtersChanged);
    $('filter-state').addEventListener('change', filtersChanged);
    $('page-prev').addEventListener('click', () => { view.offset = Math.max(0, view.offset - view.limit); services.now(); });
    $('page-next').addEventListener('click', () => { view.offset += view.limit; services.now(); });
    $('page-size').addEventListener('change', () => { view.limit = Number($('page-size').value); view.offset = 0; services.now(); });

    $('do-disable').addEventListener('click', () => updateService(
      reason() ? { status: 'disabled', disabled_reason: reason() } : { status: 'disabled' }, 'Disable'));
    $('do-enable').addEventListener('click', () => updateService({ status: 'enabled' }, 'Enable'));
    $('do-force-down').addEventListener('click', () => updateService({ forced_down: true }, 'Force down'));
    $('do-unset-force-down').addEventListener('click', () => updateService({ forced_down: false }, 'Unset force down'));

    services.now();
  });
})();
