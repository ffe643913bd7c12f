// Centrifugo-compatible Prometheus exposition (docs/metrics.md): after a workload (SDK
// clients connect and subscribe, API publishes, a history call, a recovery, client and API
// errors, a server disconnect) the scrape passes `promtool check metrics` (apart from the
// naming lints Centrifugo's own names trip), every series the committed Grafana dashboard
// (deploy/grafana/gyre-dashboard.json) queries is exported, and the key Centrifugo series
// have Centrifugo's types and label names and move with the workload.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, test, useServer } from '../lib/test.js';
import { E2E_DIR } from '../lib/server.js';
import { connToken } from '../lib/tokens.js';
import { connected, enc, settle, subscribed } from '../lib/sdk.js';
import { api, apiRaw, metrics, metricValue } from '../lib/api.js';
import { record, waitFor } from '../lib/wait.js';

const DASHBOARD = path.resolve(E2E_DIR, '../../deploy/grafana/gyre-dashboard.json');
const HAVE_PROMTOOL = spawnSync('sh', ['-c', 'command -v promtool']).status === 0;

// Centrifugo's names that promtool's naming lints flag (counters without _total, a
// _count suffix on a counter, "histogram" in a histogram's name). They stay as Centrifugo has them so that its dashboards and
// alert rules work; a lint finding about any other name fails the test.
const CENTRIFUGO_LINT_EXCEPTIONS = new Set([
  'centrifugo_node_messages_sent_count',
  'centrifugo_node_messages_received_count',
  'centrifugo_node_action_count',
  'centrifugo_client_num_reply_errors',
  'centrifugo_client_num_server_disconnects',
  'centrifugo_client_num_server_unsubscribes',
  'centrifugo_client_subscriptions_accepted',
  'centrifugo_client_connections_accepted',
  'centrifugo_client_recover',
  'centrifugo_client_command_duration_seconds_histogram',
  'centrifugo_api_command_duration_seconds_histogram',
  'centrifugo_transport_messages_sent',
  'centrifugo_transport_messages_sent_size',
  'centrifugo_transport_messages_received',
  'centrifugo_transport_messages_received_size',
  'centrifugo_transport_outgoing_close_count',
]);

const SUB = { allow_subscribe_for_client: true, allow_history_for_subscriber: true };
const config = {
  prometheus: { enabled: true, instrument_http_handlers: true, recovered_publications_histogram: true },
  channel: {
    without_namespace: { allow_subscribe_for_client: true },
    namespaces: [{ name: 'mc', ...SUB, history_size: 10, history_ttl: '300s', force_recovery: true }],
  },
};

// Families of a scrape: name -> { type, samples: [{ name, labels, value }] }. Samples of a
// histogram or summary (_bucket, _sum, _count) go to their family.
function parseExposition(text) {
  const families = new Map();
  for (const line of text.split('\n')) {
    const t = line.match(/^# TYPE (\S+) (\S+)$/);
    if (t) families.set(t[1], { type: t[2], samples: [] });
  }
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? (\S+)$/);
    assert.ok(m, `malformed sample line: ${line}`);
    const labels = {};
    for (const p of (m[2] || '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[p[1]] = p[2];
    let fam = families.get(m[1]);
    if (!fam) {
      const base = m[1].replace(/_(bucket|sum|count)$/, '');
      fam = families.get(base);
      assert.ok(fam && ['histogram', 'summary'].includes(fam.type), `sample without a family: ${line}`);
    }
    fam.samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return families;
}

// Label names of a family's samples, without the le/quantile a histogram/summary adds.
function labelNames(fam) {
  const names = new Set();
  for (const s of fam.samples) for (const k of Object.keys(s.labels)) if (k !== 'le' && k !== 'quantile') names.add(k);
  return [...names].sort();
}

// Metric names a PromQL expression refers to (identifiers followed by { or [ or ), or
// standing alone), keeping only Gyre's prefixes.
function queriedNames(expr) {
  const out = new Set();
  for (const m of expr.matchAll(/\b((?:centrifugo|gyre|process)_[a-zA-Z0-9_]+)/g)) out.add(m[1]);
  return out;
}

function dashboardExprs(dash) {
  const exprs = [];
  const walk = (panels) => {
    for (const p of panels || []) {
      for (const t of p.targets || []) if (t.expr) exprs.push(t.expr);
      walk(p.panels);
    }
  };
  walk(dash.panels);
  for (const v of dash.templating?.list || []) {
    const q = typeof v.query === 'string' ? v.query : v.query?.query;
    if (q && v.type === 'query') exprs.push(q);
  }
  return exprs;
}

describe('metrics: Centrifugo compatibility', () => {
  const h = useServer({ name: 'metrics-compat', config });

  test('workload moves the Centrifugo series; types and labels as Centrifugo; promtool and dashboard', async (t) => {
    const before = (await metrics(h.srv)).text;
    const b = (name, labels) => metricValue(before, name, labels) || 0;

    const c = await connected('json', h.wsUrl, { token: connToken('mc1') }, t);
    const p = await connected('protobuf', h.wsUrl, { token: connToken('mc2') }, t);
    const s = await subscribed(c, 'mc:a');
    await subscribed(p, 'mc:a');
    const r = record(s, ['publication']);
    for (let i = 0; i < 3; i++) await api(h.srv, 'publish', { channel: 'mc:a', data: { i } });
    await r.waitCount('publication', 3);
    // A history call and a recovery that brings two publications.
    const hist = await s.history({ limit: 10 });
    assert.equal(hist.publications.length, 3);
    const top = await api(h.srv, 'history', { channel: 'mc:a', limit: 0 });
    const q = await connected('json', h.wsUrl, { token: connToken('mc3') }, t);
    const qs = q.newSubscription('mc:a', { since: { offset: 1, epoch: top.epoch } });
    const qr = record(qs, ['subscribed', 'publication']);
    qs.subscribe();
    await qr.waitCount('subscribed', 1);
    assert.equal(qr.of('subscribed')[0].recovered, true);
    await qr.waitCount('publication', 2);
    // Client error (publish to an unknown namespace) and API error (empty channel).
    const perr = await settle(c.publish('nope:x', enc('json', { x: 1 })));
    assert.ok(perr && perr.code, JSON.stringify(perr));
    const apiErr = await apiRaw(h.srv, 'publish', { channel: '', data: {} });
    assert.ok(apiErr.json?.error || apiErr.status !== 200, apiErr.text);
    // A server unsubscribe (API) and a server disconnect with a known code.
    const unsub = record(qs, ['unsubscribed']);
    await api(h.srv, 'unsubscribe', { user: 'mc3', channel: 'mc:a' });
    await unsub.waitCount('unsubscribed', 1);
    const gone = await connected('json', h.wsUrl, { token: connToken('mc-gone') }, t);
    gone.on('error', () => {});
    await api(h.srv, 'disconnect', { user: 'mc-gone', disconnect: { code: 4501, reason: 'test' } });

    const m = await waitFor(async () => {
      const x = await metrics(h.srv);
      return (metricValue(x.text, 'centrifugo_client_num_server_disconnects', { code: '4501' }) || 0) >= 1 ? x : null;
    }, { label: 'disconnect counted' });
    const text = m.text;
    const v = (name, labels) => metricValue(text, name, labels) || 0;
    const families = parseExposition(text);

    // --- promtool: no format error; lint findings only about Centrifugo's own names.
    if (!HAVE_PROMTOOL) {
      t.diagnostic('promtool not installed: `promtool check metrics` skipped (scripts/deps.sh installs it)');
    } else {
      const pt = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 20000 });
      const out = `${pt.stdout}${pt.stderr}`;
      assert.ok(pt.status === 0 || pt.status === 3, `promtool exit ${pt.status}: ${out}`);
      assert.doesNotMatch(out, /error while linting|parsing error/, out);
      for (const line of out.split('\n').filter(Boolean)) {
        const name = line.split(' ')[0];
        assert.ok(CENTRIFUGO_LINT_EXCEPTIONS.has(name), `promtool finding outside Centrifugo's names: ${line}`);
      }
    }

    // --- every series the dashboard queries is exported.
    const dash = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8'));
    const exprs = dashboardExprs(dash);
    assert.ok(exprs.length >= 20, `dashboard has ${exprs.length} queries`);
    const sampleNames = new Set();
    for (const f of families.values()) for (const s of f.samples) sampleNames.add(s.name);
    for (const e of exprs)
      for (const name of queriedNames(e)) assert.ok(sampleNames.has(name), `dashboard queries ${name}, not exported: ${e}`);

    // --- types and label names as Centrifugo exports them.
    const expect = {
      centrifugo_node_num_clients: ['gauge', []],
      centrifugo_node_num_users: ['gauge', []],
      centrifugo_node_num_subscriptions: ['gauge', []],
      centrifugo_node_num_channels: ['gauge', []],
      centrifugo_node_num_nodes: ['gauge', []],
      centrifugo_node_build: ['gauge', ['version']],
      centrifugo_node_messages_sent_count: ['counter', ['channel_namespace', 'type']],
      centrifugo_node_messages_received_count: ['counter', ['channel_namespace', 'type']],
      centrifugo_node_action_count: ['counter', ['action', 'channel_namespace']],
      centrifugo_client_connections_accepted: ['counter', ['accept_protocol', 'client_name', 'client_version', 'transport']],
      centrifugo_client_command_duration_seconds: ['summary', ['channel_namespace', 'method']],
      centrifugo_client_command_duration_seconds_histogram: ['histogram', ['channel_namespace', 'method']],
      centrifugo_client_num_reply_errors: ['counter', ['channel_namespace', 'code', 'method']],
      centrifugo_client_num_server_disconnects: ['counter', ['code']],
      centrifugo_client_subscriptions_accepted: ['counter', ['channel_namespace', 'client_name']],
      centrifugo_client_connections_inflight: ['gauge', ['accept_protocol', 'client_name', 'client_version', 'transport']],
      centrifugo_client_subscriptions_inflight: ['gauge', ['channel_namespace', 'client_name']],
      centrifugo_client_num_server_unsubscribes: ['counter', ['channel_namespace', 'code']],
      centrifugo_client_recover: ['counter', ['channel_namespace', 'has_recovered_publications', 'recovered']],
      centrifugo_client_recovered_publications: ['histogram', ['channel_namespace']],
      centrifugo_api_command_duration_seconds: ['summary', ['method', 'protocol']],
      centrifugo_api_command_duration_seconds_histogram: ['histogram', ['method', 'protocol']],
      centrifugo_api_command_errors_total: ['counter', ['error', 'method', 'protocol']],
      centrifugo_node_incoming_http_requests_total: ['counter', ['method', 'path', 'status']],
      centrifugo_transport_messages_sent: ['counter', ['channel_namespace', 'frame_type', 'transport']],
      centrifugo_transport_messages_sent_size: ['counter', ['channel_namespace', 'frame_type', 'transport']],
      centrifugo_transport_messages_received: ['counter', ['channel_namespace', 'frame_type', 'transport']],
      centrifugo_transport_messages_received_size: ['counter', ['channel_namespace', 'frame_type', 'transport']],
      centrifugo_transport_outgoing_close_count: ['counter', ['code', 'transport']],
      process_cpu_seconds_total: ['counter', []],
      process_resident_memory_bytes: ['gauge', []],
      process_virtual_memory_bytes: ['gauge', []],
      process_open_fds: ['gauge', []],
      process_max_fds: ['gauge', []],
      process_start_time_seconds: ['gauge', []],
    };
    for (const [name, [type, labels]] of Object.entries(expect)) {
      const f = families.get(name);
      assert.ok(f, `${name} missing`);
      assert.equal(f.type, type, name);
      assert.ok(f.samples.length > 0, `${name} has no samples`);
      assert.deepEqual(labelNames(f), labels, name);
    }
    for (const s of families.get('centrifugo_client_command_duration_seconds').samples)
      if (s.name === 'centrifugo_client_command_duration_seconds')
        assert.ok(['0.5', '0.99', '0.999'].includes(s.labels.quantile), JSON.stringify(s));
    // channel_namespace is "" as in Centrifugo's default.
    for (const s of families.get('centrifugo_client_num_reply_errors').samples) assert.equal(s.labels.channel_namespace, '');

    // --- the series move with the workload.
    assert.ok(v('centrifugo_node_num_clients') >= 3, 'num_clients');
    assert.ok(v('centrifugo_node_num_subscriptions') >= 2, 'num_subscriptions'); // mc3 was unsubscribed
    const moved = (name, labels, n) =>
      assert.ok(v(name, labels) - b(name, labels) >= n, `${name}${JSON.stringify(labels)}: ${b(name, labels)} -> ${v(name, labels)}, want +${n}`);
    moved('centrifugo_client_connections_accepted', { transport: 'websocket', accept_protocol: 'json' }, 3);
    moved('centrifugo_client_connections_accepted', { transport: 'websocket', accept_protocol: 'protobuf' }, 1);
    moved('centrifugo_client_subscriptions_accepted', {}, 3);
    // c, p and q are still connected (gone was disconnected).
    assert.ok(v('centrifugo_client_connections_inflight', { transport: 'websocket', accept_protocol: 'json' }) >= 2);
    assert.ok(v('centrifugo_client_connections_inflight', { transport: 'websocket', accept_protocol: 'protobuf' }) >= 1);
    assert.ok(v('centrifugo_client_connections_inflight') <= v('centrifugo_node_num_clients'));
    assert.ok(v('centrifugo_client_subscriptions_inflight') >= 2);
    moved('centrifugo_node_messages_sent_count', { type: 'publication' }, 3);
    moved('centrifugo_node_messages_received_count', { type: 'publication' }, 3);
    moved('centrifugo_node_action_count', { action: 'publish' }, 3);
    moved('centrifugo_node_action_count', { action: 'history' }, 2); // client history + recovery read
    moved('centrifugo_client_command_duration_seconds_histogram_count', { method: 'subscribe' }, 3);
    moved('centrifugo_client_command_duration_seconds_histogram_count', { method: 'history' }, 1);
    moved('centrifugo_client_command_duration_seconds_count', { method: 'connect' }, 4);
    assert.equal(
      v('centrifugo_client_command_duration_seconds_count', { method: 'subscribe' }),
      v('centrifugo_client_command_duration_seconds_histogram_count', { method: 'subscribe' }),
    );
    moved('centrifugo_client_num_reply_errors', { method: 'publish', code: String(perr.code) }, 1);
    moved('centrifugo_client_num_server_disconnects', { code: '4501' }, 1);
    moved('centrifugo_client_num_server_unsubscribes', { code: '2000' }, 1);
    moved('centrifugo_client_recover', { recovered: 'yes', has_recovered_publications: 'yes' }, 1);
    moved('centrifugo_client_recovered_publications_count', {}, 1);
    moved('centrifugo_client_recovered_publications_sum', {}, 2);
    moved('centrifugo_api_command_duration_seconds_histogram_count', { protocol: 'http', method: 'publish' }, 4);
    moved('centrifugo_api_command_duration_seconds_count', { protocol: 'http', method: 'publish' }, 4);
    moved('centrifugo_api_command_errors_total', { protocol: 'http', method: 'publish' }, 1);
    moved('centrifugo_node_incoming_http_requests_total', { path: '/api', method: 'POST', status: '200' }, 6);
    assert.ok(v('centrifugo_node_incoming_http_requests_total', { path: '/metrics', method: 'GET', status: '200' }) >= 1);
    // Frames by transport and type: 3 publications to 2 subscribers, the replies to 4
    // connects and 3 subscribes, the commands that asked for them, the close frame of the
    // disconnect (Centrifugo's frame type names).
    const ws = (frame_type) => ({ transport: 'websocket', frame_type });
    moved('centrifugo_transport_messages_sent', ws('push_publication'), 6);
    moved('centrifugo_transport_messages_sent', ws('connect'), 4);
    moved('centrifugo_transport_messages_sent', ws('subscribe'), 3);
    moved('centrifugo_transport_messages_sent', ws('history'), 1);
    moved('centrifugo_transport_messages_sent', ws('publish'), 1); // the error reply
    moved('centrifugo_transport_messages_sent', ws('push_unsubscribe'), 1);
    moved('centrifugo_transport_messages_sent_size', ws('push_publication'), 6 * 8);
    moved('centrifugo_transport_messages_received', ws('connect'), 4);
    moved('centrifugo_transport_messages_received', ws('subscribe'), 3);
    moved('centrifugo_transport_messages_received', ws('publish'), 1);
    moved('centrifugo_transport_messages_received_size', ws('connect'), 4 * 10);
    for (const s of families.get('centrifugo_transport_messages_sent').samples) assert.equal(s.labels.channel_namespace, '');
    moved('centrifugo_transport_outgoing_close_count', { transport: 'websocket', code: '4501' }, 1);
    assert.ok(v('process_resident_memory_bytes') > 0);
    assert.ok(v('process_open_fds') > 0 && v('process_open_fds') <= v('process_max_fds'));
    assert.ok(Math.abs(v('process_start_time_seconds') - Date.now() / 1000) < 3600, 'start time');
    // Both options are supported now: no "not supported" warning at start.
    assert.doesNotMatch(h.srv.logTail(200), /instrument_http_handlers|recovered_publications_histogram/);
  });
});

describe('metrics: defaults', () => {
  const h = useServer({ name: 'metrics-defaults' });
  test('without instrument_http_handlers and recovered_publications_histogram their series are absent', async () => {
    const m = await metrics(h.srv);
    assert.doesNotMatch(m.text, /centrifugo_node_incoming_http_requests_total/);
    assert.doesNotMatch(m.text, /centrifugo_client_recovered_publications/);
    assert.match(m.text, /# TYPE process_cpu_seconds_total counter/);
  });
});

describe('metrics: prometheus.native_histograms', () => {
  const h = useServer({ name: 'metrics-native', config: { prometheus: { enabled: true, native_histograms: true } } });
  test('accepted with a warning naming the key; histograms keep their classic buckets', async () => {
    const m = await metrics(h.srv);
    assert.match(m.text, /# TYPE centrifugo_client_command_duration_seconds_histogram histogram/);
    assert.match(m.text, /centrifugo_client_command_duration_seconds_histogram_bucket\{[^}]*le="\+Inf"\}/);
    await waitFor(() => /prometheus\.native_histograms: native histograms \(they need the protobuf exposition/.test(h.srv.logTail(200)), {
      label: 'native_histograms warning',
    });
  });
});
