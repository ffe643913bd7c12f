// Floods from clients that never read (docs/design/flow-control.md). Everything runs on one
// event loop (gyre.num_event_loops: 1), so the flooders share it with a well-behaved SDK
// subscriber. Four raw sockets flood for a few seconds while the API publishes to the
// subscriber every 50 ms; the server's resident memory must stay within a few MB of what
// client.queue_max_size allows the flooders to hold, and the subscriber must keep
// receiving every publication promptly: the median latency within 100 ms (scaled for slow
// builds; the median, not a high percentile, because the test shares two cores with the
// flood and whatever else runs — before flow control it was seconds, not milliseconds).
//  - Ping flood: WebSocket pings, no connect: the server keeps one pong queued per
//    connection, not one per ping.
//  - Command flood: a connected client pipelining `history` (limit 100) commands: once its
//    queue is over the limit it is no longer read, and it is closed with 3008 after
//    websocket.write_timeout (1 s).
// GYRE_E2E_FLOOD_TRACE=1 adds every latency to the diagnostic line.
import assert from 'node:assert/strict';
import { describe, test, useServer } from '../lib/test.js';
import { connToken } from '../lib/tokens.js';
import { connected, subscribed } from '../lib/sdk.js';
import { api, metrics, metricValue } from '../lib/api.js';
import { percentile, rssBytes, startFlood } from '../lib/flood.js';
import { SCALE, sleep, waitFor } from '../lib/wait.js';

const QUEUE = 1 << 20; // client.queue_max_size
const FLOODERS = 4;
const FLOOD_MS = 4000;
// What the flooders may make the server hold beyond a quiet baseline: their queues (plus
// the reply that crossed the limit and one read buffer each), and a few MB for the
// allocator and the sanitizer's bookkeeping.
const SLACK = (SCALE > 1 ? 16 : 8) << 20;
const BOUND = FLOODERS * (QUEUE + (256 << 10)) + SLACK;
const LATENCY_MEDIAN_MS = 100 * SCALE;

const ALLOW = { allow_subscribe_for_client: true, allow_history_for_client: true };

// Publishes {t, n} to `channel` every 50 ms while `flood` runs, sampling the server's RSS;
// returns how many were published and the peak RSS. A server that grows past the bound
// ends the flood at once: the test fails without eating the machine's memory.
async function publishDuring(srv, channel, flood, base) {
  let ended = false;
  const end = () => {
    ended = true;
  };
  flood.done.then(end, end);
  let published = 0;
  let peak = rssBytes(srv.proc.pid);
  const deadline = Date.now() + FLOOD_MS + 5000 * SCALE;
  while (!ended && Date.now() < deadline) {
    await api(srv, 'publish', { channel, data: { t: Date.now(), n: published } });
    published++;
    peak = Math.max(peak, rssBytes(srv.proc.pid));
    if (peak - base > BOUND) {
      await flood.stop();
      break;
    }
    await sleep(50);
  }
  return { published, peak };
}

async function watcher(h, t) {
  const c = await connected('json', h.wsUrl, { token: connToken('watcher') }, t);
  const s = await subscribed(c, 'watch');
  const latencies = [];
  s.on('publication', (ctx) => latencies.push(Date.now() - ctx.data.t));
  // Warm up: the first publication allocates what every later one reuses.
  await api(h.srv, 'publish', { channel: 'watch', data: { t: Date.now(), n: -1 } });
  await waitFor(() => latencies.length === 1, { label: 'warm-up publication' });
  latencies.length = 0;
  return { client: c, latencies };
}

function report(kind, base, peak, latencies, results) {
  const written = results.reduce((a, r) => a + r.written, 0);
  return `${kind}: RSS ${(base / 1048576).toFixed(1)} MB -> peak ${(peak / 1048576).toFixed(1)} MB ` +
    `(+${((peak - base) / 1048576).toFixed(1)} MB, bound ${(BOUND / 1048576).toFixed(1)} MB); ` +
    `latency p50 ${percentile(latencies, 50)} p90 ${percentile(latencies, 90)} max ${Math.max(...latencies)} ms ` +
    `over ${latencies.length}; flooders wrote ${(written / 1048576).toFixed(1)} MB` + (process.env.GYRE_E2E_FLOOD_TRACE ? ` [${latencies.join(' ')}]` : '');
}

// Under AddressSanitizer freed memory waits in a quarantine (256 MB by default) before it is
// reused, so the resident set would measure how much the server allocated, not how much it
// holds; a small quarantine keeps the check meaningful (still with use-after-free checks).
const asanOptions = [process.env.ASAN_OPTIONS, 'quarantine_size_mb=4', 'thread_local_quarantine_size_kb=256']
  .filter(Boolean)
  .join(':');

describe('floods from clients that never read', () => {
  const h = useServer({
    name: 'flood',
    env: { ASAN_OPTIONS: asanOptions },
    config: {
      gyre: { num_event_loops: 1 },
      client: { queue_max_size: QUEUE },
      websocket: { write_timeout: '1s' },
      channel: { without_namespace: { ...ALLOW, history_size: 100, history_ttl: '300s' } },
    },
  });

  test('a ping flood holds one pong per connection and does not delay other subscribers', async (t) => {
    const w = await watcher(h, t);
    const base = rssBytes(h.srv.proc.pid);
    const flood = startFlood(h.srv, { kind: 'pings', connections: FLOODERS, durationMs: FLOOD_MS });
    t.defer(() => flood.stop());
    await flood.started;
    const { published, peak } = await publishDuring(h.srv, 'watch', flood, base);
    const results = await flood.done.catch(() => []);
    await waitFor(() => w.latencies.length === published, {
      timeout: 10000 * SCALE,
      label: `every publication (${w.latencies.length}/${published})`,
    });
    const line = report('ping flood', base, peak, w.latencies, results);
    t.diagnostic(line);
    assert.ok(peak - base <= BOUND, line);
    assert.ok(results.reduce((a, r) => a + r.written, 0) > 16 << 20, `the flood must be a flood: ${line}`);
    assert.ok(percentile(w.latencies, 50) <= LATENCY_MEDIAN_MS, line);
    assert.equal(w.client.state, 'connected');
  });

  test('a command flood is held back, closed with 3008, and does not delay other subscribers', async (t) => {
    // 100 publications of ~200 bytes: every `history` reply is ~25 KB.
    const commands = Array.from({ length: 100 }, (_, i) => ({ publish: { channel: 'hist', data: { i, pad: 'p'.repeat(160) } } }));
    await api(h.srv, 'batch', { commands });
    const slowBefore = metricValue((await metrics(h.srv)).text, 'centrifugo_client_num_server_disconnects', { code: '3008' }) || 0;
    const w = await watcher(h, t);
    const base = rssBytes(h.srv.proc.pid);
    const flood = startFlood(h.srv, {
      kind: 'commands',
      connections: FLOODERS,
      durationMs: FLOOD_MS,
      token: connToken('flooder'),
      channel: 'hist',
    });
    t.defer(() => flood.stop());
    await flood.started;
    const { published, peak } = await publishDuring(h.srv, 'watch', flood, base);
    const results = await flood.done.catch(() => []);
    await waitFor(() => w.latencies.length === published, {
      timeout: 10000 * SCALE,
      label: `every publication (${w.latencies.length}/${published})`,
    });
    const line = report('command flood', base, peak, w.latencies, results);
    t.diagnostic(line);
    assert.ok(peak - base <= BOUND, line);
    assert.ok(percentile(w.latencies, 50) <= LATENCY_MEDIAN_MS, line);
    // Each flooder was held, then closed as slow once websocket.write_timeout had passed.
    const m = await waitFor(async () => {
      const text = (await metrics(h.srv)).text;
      const slow = (metricValue(text, 'centrifugo_client_num_server_disconnects', { code: '3008' }) || 0) - slowBefore;
      return slow >= FLOODERS ? text : null;
    }, { timeout: 10000 * SCALE, label: `${FLOODERS} slow disconnects` });
    assert.ok(metricValue(m, 'gyre_client_backpressure_total') >= FLOODERS);
    assert.equal(w.client.state, 'connected');
    assert.match(h.srv.logText(), /disconnected as slow \(3008\)/);
  });
});
