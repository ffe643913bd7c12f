// channels: the active channels (the `channels` method, filtered by a pattern) and one
// channel's presence, presence stats and last publications, with a live view of the
// publications as they arrive (live.js).
import * as api from './api.js';
import { h, clear, notice, formatNumber } from './dom.js';
import { LiveChannel } from './live.js';

let lastFilter = '';

export function mount(main, channel, session) {
  return channel ? mountChannel(main, channel, session) : mountList(main);
}

function mountList(main) {
  const filter = h('input#channel-filter', {
    type: 'search', name: 'pattern', placeholder: 'pattern, e.g. chat:*', value: lastFilter,
  });
  const body = h('tbody');
  const message = h('div', { 'aria-live': 'polite' });
  const count = h('span.muted#channel-count');
  async function load() {
    lastFilter = filter.value.trim();
    try {
      const r = await api.call('channels', lastFilter ? { pattern: lastFilter } : {});
      const entries = Object.entries(r.channels || {}).sort(([a], [b]) => a.localeCompare(b));
      clear(message);
      clear(body);
      for (const [name, info] of entries) {
        body.append(h('tr',
          h('td', h('a', { href: `#/channels/${encodeURIComponent(name)}` }, name)),
          h('td.num', formatNumber(info.num_clients))));
      }
      if (!entries.length) body.append(h('tr', h('td.muted', { colspan: 2 }, 'No active channels.')));
      count.textContent = `${entries.length} channel${entries.length === 1 ? '' : 's'}`;
    } catch (err) {
      if (!(err instanceof api.Unauthorized)) clear(message).append(notice('error', err.message));
    }
  }
  const form = h('form.row.filter', { role: 'search', on: { submit: (e) => { e.preventDefault(); load(); } } },
    h('label', { for: 'channel-filter' }, 'Filter'), filter, h('button', { type: 'submit' }, 'Apply'));
  main.append(h('div.page-head', h('h1', 'Channels'), count), form, message,
    h('div.panel', h('table.list#channels',
      h('thead', h('tr', h('th', { scope: 'col' }, 'Channel'), h('th.num', { scope: 'col' }, 'Clients'))),
      body)));
  load();
  filter.focus();
  return null;
}

function mountChannel(main, channel, session) {
  const presence = h('div#presence');
  const stats = h('div#presence-stats');
  const history = h('div#history');
  const liveLog = h('ol.live-log#live-log', { 'aria-live': 'polite', 'aria-label': 'Live publications' });
  const liveState = h('div#live-state', { role: 'status' });
  const liveButton = h('button#live-toggle', { type: 'button' }, 'Watch live');
  const wsUrl = h('input#ws-url', { type: 'url', name: 'ws-url', value: defaultWebSocketUrl(session), size: 40 });
  let live = null;

  async function section(el, method, params, render) {
    try {
      const r = await api.call(method, params);
      clear(el).append(render(r));
    } catch (err) {
      if (!(err instanceof api.Unauthorized)) clear(el).append(notice('error', `${method}: ${err.message}`));
    }
  }

  function load() {
    section(stats, 'presence_stats', { channel }, (r) => h('dl.stats',
      h('dt', 'Clients'), h('dd#stat-clients', formatNumber(r.num_clients)),
      h('dt', 'Users'), h('dd#stat-users', formatNumber(r.num_users))));
    section(presence, 'presence', { channel }, (r) => {
      const rows = Object.values(r.presence || {});
      return h('table.list',
        h('thead', h('tr', h('th', { scope: 'col' }, 'User'), h('th', { scope: 'col' }, 'Client'),
          h('th', { scope: 'col' }, 'Connection info'))),
        h('tbody', rows.length ? rows.map((p) => h('tr', h('td', p.user || '(anonymous)'), h('td.mono', p.client),
          h('td.mono', p.conn_info ? JSON.stringify(p.conn_info) : ''))) : h('tr', h('td.muted', { colspan: 3 }, 'Nobody.'))));
    });
    section(history, 'history', { channel, limit: 10, reverse: true }, (r) => {
      const pubs = r.publications || [];
      return h('div',
        h('p.muted', `epoch ${r.epoch || '—'}, top offset ${r.offset ?? '—'}`),
        h('table.list',
          h('thead', h('tr', h('th.num', { scope: 'col' }, 'Offset'), h('th', { scope: 'col' }, 'Data'))),
          h('tbody', pubs.length ? pubs.map((p) => h('tr', h('td.num', p.offset ?? ''), h('td.mono', JSON.stringify(p.data))))
            : h('tr', h('td.muted', { colspan: 2 }, 'No publications in history.')))));
    });
  }

  async function toggleLive() {
    if (live) {
      live.stop();
      live = null;
      liveButton.textContent = 'Watch live';
      liveState.textContent = 'stopped';
      return;
    }
    liveButton.disabled = true;
    liveState.textContent = 'connecting…';
    try {
      const user = 'gyre-admin';
      const conn = await api.call('connection_token', { user, ttl: 3600 });
      const sub = await api.call('subscription_token', { user, channel, ttl: 3600 });
      live = new LiveChannel(wsUrl.value, {
        onPublication: (_ch, pub) => {
          liveLog.prepend(h('li', h('span.mono.muted', new Date().toLocaleTimeString('en-GB')), ' ',
            pub.offset ? h('span.muted', `#${pub.offset} `) : null, h('code', JSON.stringify(pub.data))));
          while (liveLog.children.length > 200) liveLog.lastChild.remove();
        },
        onState: (s) => { liveState.textContent = s; },
      });
      await live.start(conn.token, channel, sub.token);
      liveButton.textContent = 'Stop';
    } catch (err) {
      if (live) live.stop();
      live = null;
      liveState.textContent = '';
      liveState.append(notice('error', `Cannot watch live: ${err.message}`));
    } finally {
      liveButton.disabled = false;
    }
  }
  liveButton.addEventListener('click', toggleLive);

  const refresh = h('button.ghost#channel-refresh', { type: 'button', on: { click: load } }, 'Refresh');
  main.append(
    h('div.page-head', h('h1', h('a.back', { href: '#/channels', 'aria-label': 'Back to channels' }, 'Channels'), ' / ',
      h('span#channel-name', channel)), refresh),
    h('div.grid2',
      h('section.panel', { 'aria-labelledby': 'ps-title' }, h('h2#ps-title', 'Presence stats'), stats),
      h('section.panel', { 'aria-labelledby': 'live-title' }, h('h2#live-title', 'Live publications'),
        h('div.row', h('label', { for: 'ws-url' }, 'WebSocket'), wsUrl, liveButton), liveState, liveLog)),
    h('section.panel', { 'aria-labelledby': 'p-title' }, h('h2#p-title', 'Presence'), presence),
    h('section.panel', { 'aria-labelledby': 'h-title' }, h('h2#h-title', 'Last publications (history)'), history));
  load();
  refresh.focus();
  return () => { if (live) live.stop(); };
}

// The client WebSocket endpoint: this host, the external port the server reported.
function defaultWebSocketUrl(session) {
  const g = (session && session.gyre) || {};
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const port = g.websocket_port || location.port;
  return `${scheme}://${location.hostname}${port ? `:${port}` : ''}${g.websocket_path || '/connection/websocket'}`;
}

