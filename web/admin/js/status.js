// status: every node of the cluster (the `info` API method) refreshed every few seconds,
// with charts of clients, subscriptions and channels over the last samples.
import * as api from './api.js';
import { h, clear, notice, formatUptime, formatNumber } from './dom.js';
import { sparkline } from './chart.js';

const INTERVAL_MS = 2000;
const KEEP = 60; // samples per node (two minutes)
const series = new Map(); // node uid -> {clients: [], subs: [], channels: []}; kept across visits

export function mount(main) {
  const cards = h('div.cards');
  const body = h('tbody');
  const message = h('div', { 'aria-live': 'polite' });
  const updated = h('span.muted#status-updated');
  const table = h('table.nodes#nodes',
    h('caption.sr-only', 'Nodes of the cluster'),
    h('thead', h('tr',
      h('th', { scope: 'col' }, 'Node'), h('th', { scope: 'col' }, 'Version'),
      h('th', { scope: 'col' }, 'Uptime'), h('th.num', { scope: 'col' }, 'Clients'),
      h('th.num', { scope: 'col' }, 'Users'), h('th.num', { scope: 'col' }, 'Subscriptions'),
      h('th.num', { scope: 'col' }, 'Channels'), h('th', { scope: 'col' }, 'Clients over time'),
      h('th', { scope: 'col' }, 'Subscriptions over time'))),
    body);
  main.append(
    h('div.page-head', h('h1', 'Status'), updated),
    cards, message, h('div.panel', table));

  let timer = null;
  let stopped = false;
  async function refresh() {
    try {
      const result = await api.call('info');
      if (stopped) return;
      render(result.nodes || []);
      clear(message);
      updated.textContent = `Updated ${new Date().toLocaleTimeString('en-GB')}`;
    } catch (err) {
      if (stopped || err instanceof api.Unauthorized) return;
      clear(message).append(notice('error', `info failed: ${err.message}`));
    }
    if (!stopped) timer = setTimeout(refresh, INTERVAL_MS);
  }

  function render(nodes) {
    nodes.sort((a, b) => String(a.name).localeCompare(String(b.name)));
    const sum = (k) => nodes.reduce((s, n) => s + (n[k] || 0), 0);
    clear(cards).append(
      card('Nodes', nodes.length), card('Clients', sum('num_clients')),
      card('Users', sum('num_users')), card('Subscriptions', sum('num_subs')),
      card('Channels', Math.max(0, ...nodes.map((n) => n.num_channels || 0)), 'largest per node'));
    clear(body);
    for (const n of nodes) {
      let s = series.get(n.uid);
      if (!s) series.set(n.uid, (s = { clients: [], subs: [], channels: [] }));
      push(s.clients, n.num_clients || 0);
      push(s.subs, n.num_subs || 0);
      push(s.channels, n.num_channels || 0);
      body.append(h('tr', { 'data-node': n.name },
        h('th', { scope: 'row' }, h('span.dot'), n.name),
        h('td', n.version || '—'), h('td', formatUptime(n.uptime)),
        h('td.num', formatNumber(n.num_clients)), h('td.num', formatNumber(n.num_users)),
        h('td.num', formatNumber(n.num_subs)), h('td.num', formatNumber(n.num_channels)),
        h('td', sparkline(s.clients, { label: `${n.name} clients` })),
        h('td', sparkline(s.subs, { label: `${n.name} subscriptions` }))));
    }
  }

  refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

function push(arr, v) {
  arr.push(v);
  if (arr.length > KEEP) arr.shift();
}

function card(title, value, hint) {
  return h('div.card', h('div.card-title', title), h('div.card-value', formatNumber(value)),
    hint ? h('div.card-hint', hint) : null);
}
