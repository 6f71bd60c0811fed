// The upmesh dashboard: polls the router's config API (GET /status and
// GET /configuration/cluster, docs/rest-api.md) every second and renders
// it. Everything shown is built with DOM calls and textContent, never
// parsed as HTML: versions, metadata and reports come from outside.
// History ("the last minutes") is kept here, bounded, never in the router.
'use strict';

(function () {
  const POLL_MS = 1000;
  const HISTORY_SAMPLES = 300;  // 5 minutes at one sample a second
  const CONFIRM_MS = 4000;      // a second click within this long confirms an action
  const TOKEN_KEY = 'upmesh.apiToken';

  const history = new Map();       // uuid -> [{t, rate, errorRate, p50, p99, body}]
  const lastServed = new Map();    // uuid -> {t, served}
  const lastWorkerServed = new Map();  // worker id -> {t, served, rate}
  let pending = null;              // {action, uuid, until}: an action waiting for its confirming click
  let latest = null;               // {status, clusters}: the last poll's answers

  // el('td', {class: 'num'}, 'text', child...): an element; strings become text nodes.
  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, String(value));
    append(node, children);
    return node;
  }
  function append(node, children) {
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }
  function replaceChildren(node, ...children) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return append(node, children);
  }
  const $ = (id) => document.getElementById(id);

  function versionText(version) { return typeof version === 'string' ? version : JSON.stringify(version); }
  function fixed(value, digits) { return typeof value === 'number' && isFinite(value) ? value.toFixed(digits) : '–'; }
  function percent(value) { return typeof value === 'number' ? value.toFixed(1) + ' %' : '–'; }
  function ms(value) { return typeof value === 'number' ? value.toFixed(1) + ' ms' : '–'; }
  function bytes(value) {
    if (typeof value !== 'number') return '–';
    if (value >= 1048576) return (value / 1048576).toFixed(1) + ' MiB';
    if (value >= 1024) return (value / 1024).toFixed(1) + ' KiB';
    return value.toFixed(0) + ' B';
  }
  function clock(atMs) { return typeof atMs === 'number' ? new Date(atMs).toLocaleTimeString() : '–'; }
  function offset(atMs, fromMs) {
    if (typeof atMs !== 'number' || typeof fromMs !== 'number') return '';
    return ' (+' + (atMs - fromMs) + ' ms)';
  }

  function token() { return sessionStorage.getItem(TOKEN_KEY) || ''; }

  function say(text, isError) {
    const message = $('message');
    message.textContent = text;
    message.className = isError ? 'error' : '';
  }

  class Unauthorized extends Error {}

  async function api(method, path) {
    const headers = {};
    if (token()) headers.Authorization = 'Bearer ' + token();
    const response = await fetch(path, {method, headers, cache: 'no-store', credentials: 'omit'});
    if (response.status === 401) throw new Unauthorized(await response.text());
    return response;
  }

  async function getJson(path) {
    const response = await api('GET', path);
    if (!response.ok) throw new Error('GET ' + path + ': ' + response.status + ' ' + (await response.text()));
    return response.json();
  }

  function askForToken(reason) {
    $('token-form').hidden = false;
    $('forget-token').hidden = !token();
    setConnection('token needed', false);
    say(reason.trim(), true);
  }

  function setConnection(text, live) {
    const badge = $('connection');
    badge.textContent = text;
    badge.className = 'badge ' + (live ? 'live' : 'down');
  }

  // One sample per version: requests/s from requestsServed, the rest from the monitor's window.
  function record(clusters, nowMs) {
    const present = new Set();
    for (const {cluster, state} of clusters) {
      present.add(cluster.uuid);
      const served = state.requestsServed || 0;
      const before = lastServed.get(cluster.uuid);
      lastServed.set(cluster.uuid, {t: nowMs, served});
      const window = state.window || {};
      const rate = before && nowMs > before.t ? Math.max(0, (served - before.served) * 1000 / (nowMs - before.t)) : null;
      const samples = history.get(cluster.uuid) || [];
      samples.push({t: nowMs, rate, errorRate: window.errorRate, p50: window.p50Ms, p99: window.p99Ms,
                    body: window.medianBodyBytes});
      while (samples.length > HISTORY_SAMPLES) samples.shift();
      history.set(cluster.uuid, samples);
    }
    for (const uuid of [...history.keys()]) {
      if (!present.has(uuid)) { history.delete(uuid); lastServed.delete(uuid); }
    }
  }

  function lastRate(uuid) {
    const samples = history.get(uuid) || [];
    for (let i = samples.length - 1; i >= 0; --i) if (samples[i].rate !== null) return samples[i].rate;
    return null;
  }

  function actionButton(action, uuid, label) {
    const waiting = pending && pending.action === action && pending.uuid === uuid && pending.until > Date.now();
    const button = el('button', {type: 'button', class: waiting ? 'confirm' : 'danger',
                                 'data-action': action, 'data-uuid': uuid},
                      waiting ? 'confirm ' + label + '?' : label);
    button.addEventListener('click', () => onAction(action, uuid));
    return button;
  }

  async function onAction(action, uuid) {
    if (!(pending && pending.action === action && pending.uuid === uuid && pending.until > Date.now())) {
      pending = {action, uuid, until: Date.now() + CONFIRM_MS};
      render();
      return;
    }
    pending = null;
    const path = '/configuration/cluster/' + encodeURIComponent(uuid) + (action === 'rollback' ? '/rollback' : '');
    try {
      const response = await api(action === 'rollback' ? 'POST' : 'DELETE', path);
      const text = (await response.text()).trim();
      say((action === 'rollback' ? 'roll back ' : 'delete ') + uuid + ': ' + response.status +
          (text ? ' ' + text : ''), !response.ok);
    } catch (error) {
      if (error instanceof Unauthorized) askForToken(error.message); else say(String(error), true);
    }
    poll();
  }

  function renderVersions(status, clusters) {
    const byUuid = new Map(clusters.map((entry) => [entry.cluster.uuid, entry]));
    const rows = status.versions.map((version) => {
      const entry = byUuid.get(version.uuid);
      const window = entry && entry.state.window ? entry.state.window : {};
      const detail = entry ? entry.state.healthDetail : '';
      const actions = el('td', {});
      if (!version.rolledBack) append(actions, [actionButton('rollback', version.uuid, 'roll back'), ' ']);
      append(actions, [actionButton('delete', version.uuid, 'delete')]);
      return el('tr', {'data-uuid': version.uuid},
                el('td', {class: 'version'}, versionText(version.version), version.newest ? ' (newest)' : ''),
                el('td', {class: 'uuid'}, version.uuid),
                el('td', {}, version.mode),
                el('td', {class: 'num'}, percent(version.share.set)),
                el('td', {class: 'num'}, percent(version.share.actual)),
                el('td', {class: 'health-' + version.health, title: detail || ''}, version.health),
                el('td', {class: 'num'}, fixed(lastRate(version.uuid), 1)),
                el('td', {class: 'num'}, percent(window.errorRate)),
                el('td', {class: 'num'}, ms(window.p50Ms)),
                el('td', {class: 'num'}, ms(window.p99Ms)),
                el('td', {class: 'num'}, bytes(window.medianBodyBytes)),
                actions);
    });
    replaceChildren($('versions').tBodies[0], ...rows);
  }

  function sparkline(values) {
    const svgNs = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(svgNs, 'svg');
    svg.setAttribute('class', 'spark');
    svg.setAttribute('viewBox', '0 0 ' + HISTORY_SAMPLES + ' 100');
    svg.setAttribute('preserveAspectRatio', 'none');
    const numbers = values.filter((v) => typeof v === 'number' && isFinite(v));
    const top = Math.max(...numbers, 1e-9);
    const points = [];
    const start = HISTORY_SAMPLES - values.length;
    values.forEach((value, i) => {
      if (typeof value === 'number' && isFinite(value)) points.push((start + i) + ',' + (98 - 96 * value / top).toFixed(1));
    });
    const line = document.createElementNS(svgNs, 'polyline');
    line.setAttribute('points', points.join(' '));
    svg.appendChild(line);
    return svg;
  }

  function trend(label, samples, field, format) {
    const values = samples.map((sample) => sample[field]);
    const last = values.length ? values[values.length - 1] : null;
    return el('div', {class: 'trend'}, el('span', {class: 'label'}, label + ': ' + format(last)), sparkline(values));
  }

  function renderTrends(status) {
    const rows = status.versions.filter((version) => history.has(version.uuid)).map((version) => {
      const samples = history.get(version.uuid);
      return el('div', {class: 'trend-row'},
                el('h3', {}, 'version ' + versionText(version.version) + ' ', el('span', {class: 'uuid muted'}, version.uuid)),
                trend('requests/s', samples, 'rate', (v) => fixed(v, 1)),
                trend('error rate', samples, 'errorRate', percent),
                trend('p50', samples, 'p50', ms),
                trend('p99', samples, 'p99', ms),
                trend('median body', samples, 'body', bytes));
    });
    replaceChildren($('trends'), ...rows);
  }

  function renderGradual(status, clusters) {
    const newest = clusters.find((entry) => entry.state.newest && entry.cluster.upgradeTransition &&
                                           entry.cluster.upgradeTransition.mode === 'GRADUAL');
    $('gradual-section').hidden = !newest;
    if (!newest) return;
    const share = typeof newest.state.gradualShare === 'number' ? newest.state.gradualShare : status.gradualShare;
    const transition = newest.cluster.upgradeTransition;
    const how = transition.durationSeconds !== undefined
        ? 'over ' + transition.durationSeconds + ' s'
        : transition.percentageTransitionPerRequest + ' % per request' +
          (newest.state.rampRequests !== undefined ? ', ' + newest.state.rampRequests + ' ramp requests so far' : '');
    replaceChildren($('gradual'),
        el('p', {}, 'version ' + versionText(newest.cluster.version) + ': ' + percent(share) + ' of new requests (' + how + ')',
           newest.state.rampHeld ? ' — held by the monitor until the version is judged healthy' : ''),
        el('progress', {max: 100, value: share || 0, id: 'gradual-progress'}, percent(share)));
  }

  function describeReport(report) {
    const items = [];
    for (const [key, value] of Object.entries(report)) {
      if (key === 'worker' || key === 'atMs' || key === 'cluster') continue;
      if (Array.isArray(value)) {
        for (const item of value) items.push(el('li', {}, key + ': ' + (typeof item === 'string' ? item : JSON.stringify(item))));
      } else {
        items.push(el('li', {}, key + ': ' + (typeof value === 'string' ? value : JSON.stringify(value))));
      }
    }
    return el('ul', {class: 'diffs'}, ...items);
  }

  function renderMismatches(clusters) {
    const blocks = clusters.filter((entry) => entry.state.mismatches !== undefined).map(({cluster, state}) => {
      const window = state.window || {};
      const reports = (state.recentMismatches || []).map((report) =>
          el('li', {}, clock(report.atMs) + ' from ' + (report.worker || '?'), describeReport(report)));
      return el('div', {class: 'mismatch'},
                el('h3', {}, 'version ' + versionText(cluster.version) + ': ' + state.mismatches + ' mismatches',
                   ' (' + (window.mismatched || 0) + ' of ' + (window.compared || 0) + ' compared in the window)'),
                reports.length ? el('ol', {}, ...reports) : el('p', {class: 'muted'}, 'no mismatch reported'));
    });
    $('mismatch-section').hidden = blocks.length === 0;
    replaceChildren($('mismatches'), ...blocks);
  }

  function figuresRow(label, figures) {
    figures = figures || {};
    return el('tr', {}, el('td', {}, label),
              el('td', {class: 'num'}, figures.requests === undefined ? '–' : figures.requests),
              el('td', {class: 'num'}, percent(figures.errorRate)),
              el('td', {class: 'num'}, ms(figures.p50Ms)),
              el('td', {class: 'num'}, ms(figures.p99Ms)),
              el('td', {class: 'num'}, bytes(figures.medianBodyBytes)));
  }

  function renderRollbacks(clusters) {
    const blocks = clusters.filter((entry) => entry.state.rollback).map(({cluster, state}) => {
      const record = state.rollback;
      const window = record.window || {};
      const timeline = record.timeline || {};
      const from = typeof timeline.firstFailureAtMs === 'number' ? timeline.firstFailureAtMs : timeline.decidedAtMs;
      const steps = [];
      if (typeof timeline.firstFailureAtMs === 'number') steps.push(el('li', {}, clock(timeline.firstFailureAtMs) + ' first failure in the window'));
      if (typeof timeline.decidedAtMs === 'number') steps.push(el('li', {}, clock(timeline.decidedAtMs) + ' decided' + offset(timeline.decidedAtMs, from)));
      for (const applied of timeline.workersApplied || []) {
        steps.push(el('li', {}, clock(applied.atMs) + ' worker ' + applied.worker + ' applied it' + offset(applied.atMs, from)));
      }
      if (typeof timeline.allWorkersAppliedAtMs === 'number') {
        steps.push(el('li', {}, clock(timeline.allWorkersAppliedAtMs) + ' every worker applied it' + offset(timeline.allWorkersAppliedAtMs, from)));
      }
      if ((timeline.workersNotConfirmed || []).length) {
        steps.push(el('li', {}, 'not confirmed by: ' + timeline.workersNotConfirmed.join(', ')));
      }
      const samples = (record.samples || []).map((sample) => el('li', {},
          clock(sample.atMs) + ' ' + (sample.method || '') + ' ' + (sample.target || '') + ' → ' +
          (sample.status || '') + ' ' + (sample.error || '') + ' (' + (sample.worker || '') + ')'));
      const old = window.old || {};
      return el('div', {class: 'rollback', 'data-uuid': cluster.uuid},
                el('h3', {}, 'version ' + versionText(cluster.version) + ' rolled back at ' + clock(record.atMs) +
                   ' (seq ' + record.seq + '): ', el('span', {class: 'reason'}, record.reason)),
                el('p', {class: 'detail'}, record.detail || ''),
                el('table', {class: 'evidence'},
                   el('thead', {}, el('tr', {}, el('th', {}, 'window ' + (window.seconds || '?') + ' s'), el('th', {}, 'requests'),
                                      el('th', {}, 'errors'), el('th', {}, 'p50'), el('th', {}, 'p99'), el('th', {}, 'median body'))),
                   el('tbody', {}, figuresRow('this version', window.new),
                      figuresRow('compared with ' + (old.uuid || '–') + (old.from ? ' (' + old.from + ')' : ''), old))),
                el('p', {}, 'failures in a row at the decision: ' + (record.failureRun === undefined ? '–' : record.failureRun)),
                el('h3', {}, 'timeline'), el('ol', {class: 'timeline'}, ...steps),
                samples.length ? el('h3', {}, 'failed requests') : null,
                samples.length ? el('ul', {class: 'samples'}, ...samples) : null);
    });
    $('rollback-section').hidden = blocks.length === 0;
    replaceChildren($('rollbacks'), ...blocks);
  }

  function recordWorkers(workers, nowMs) {
    const present = new Set();
    for (const worker of workers) {
      present.add(worker.id);
      const before = lastWorkerServed.get(worker.id);
      let rate = before ? before.rate : null;
      if (before && nowMs > before.t) rate = Math.max(0, (worker.served - before.served) * 1000 / (nowMs - before.t));
      lastWorkerServed.set(worker.id, {t: nowMs, served: worker.served, rate});
    }
    for (const id of [...lastWorkerServed.keys()]) if (!present.has(id)) lastWorkerServed.delete(id);
  }

  function renderPeers(status) {
    replaceChildren($('workers').tBodies[0], ...status.workers.map((worker) => {
      const seen = lastWorkerServed.get(worker.id);
      return el('tr', {}, el('td', {}, worker.id), el('td', {class: 'num'}, worker.capacity),
                el('td', {class: 'num'}, worker.served), el('td', {class: 'num'}, fixed(seen ? seen.rate : null, 1)),
                el('td', {class: 'num'}, worker.heardMsAgo + ' ms ago'), el('td', {}, worker.draining ? 'draining' : 'serving'));
    }));
    replaceChildren($('frontends').tBodies[0], ...status.frontends.map((frontend) =>
        el('tr', {}, el('td', {}, frontend.id), el('td', {}, frontend.endpoint), el('td', {class: 'num'}, frontend.seq))));
  }

  function render() {
    if (!latest) return;
    const {status, clusters} = latest;
    renderVersions(status, clusters);
    renderGradual(status, clusters);
    renderTrends(status);
    renderMismatches(clusters);
    renderRollbacks(clusters);
    renderPeers(status);
    $('summary').textContent = status.versions.length + ' versions, ' + status.workers.length + ' workers, ' +
        status.frontends.length + ' frontends, table seq ' + status.seq;
  }

  let timer = null;
  async function poll() {
    clearTimeout(timer);
    try {
      const [status, clusters] = await Promise.all([getJson('/status'), getJson('/configuration/cluster')]);
      const now = Date.now();
      record(clusters, now);
      recordWorkers(status.workers, now);
      latest = {status, clusters};
      $('token-form').hidden = true;
      $('forget-token').hidden = !token();
      setConnection('live', true);
      render();
    } catch (error) {
      if (error instanceof Unauthorized) askForToken(error.message);
      else { setConnection('no answer', false); say(String(error.message || error), true); }
    }
    timer = setTimeout(poll, POLL_MS);
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('token-form').addEventListener('submit', (event) => {
      event.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, $('token-input').value.trim());
      $('token-input').value = '';
      say('', false);
      poll();
    });
    $('forget-token').addEventListener('click', () => {
      sessionStorage.removeItem(TOKEN_KEY);
      poll();
    });
    poll();
  });
})();
