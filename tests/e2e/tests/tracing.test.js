// Tracing (opentelemetry.*, docs/tracing.md) against a local OTLP/HTTP receiver that decodes
// the protobuf requests (lib/otlp_receiver.js): server API spans (per-method route, batch,
// legacy endpoint) that join the trace of a W3C traceparent and answer with a
// traceresponse header; client command spans (subscribe, publish, history); a collector
// that is down (requests still answered, spans dropped and counted); tracing off (nothing
// sent); a bad OTEL_* variable (the server refuses to start, naming it).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from '../lib/test.js';
import { GyreServer, freePort, runGyre, tempDir, merge, baseConfig } from '../lib/server.js';
import { api, apiRaw, metrics, metricValue } from '../lib/api.js';
import { connected, enc, subscribed } from '../lib/sdk.js';
import { connToken } from '../lib/tokens.js';
import { OtlpReceiver } from '../lib/otlp_receiver.js';
import { waitFor } from '../lib/wait.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';
const channelConfig = {
  channel: {
    without_namespace: {
      allow_subscribe_for_client: true,
      allow_publish_for_client: true,
      allow_history_for_client: true,
      history_size: 10,
      history_ttl: '60s',
      force_recovery: true,
    },
  },
};
const tracingConfig = {
  ...channelConfig,
  opentelemetry: { enabled: true, api: true },
  gyre: { opentelemetry: { client_commands: true } },
};
const fastExport = (endpoint) => ({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_BSP_SCHEDULE_DELAY: '50' });

describe('tracing to an OTLP receiver', () => {
  const rx = new OtlpReceiver();
  let srv;
  before(async () => {
    await rx.start();
    srv = await new GyreServer({ name: 'tracing', config: tracingConfig, env: fastExport(rx.endpoint) }).start();
  });
  after(async () => {
    if (srv) await srv.stop();
    await rx.stop();
  });

  test('an API publish with a traceparent is a child span of that trace', async () => {
    const r = await apiRaw(srv, 'publish', { channel: 'news', data: { a: 1 } }, {
      headers: { traceparent: `00-${TRACE}-${PARENT}-01`, tracestate: 'vendor=x' },
    });
    assert.equal(r.status, 200, r.text);
    const s = await rx.waitSpan((x) => x.name === '/api/publish' && x.traceId === TRACE, 'API publish span');
    assert.equal(s.parentSpanId, PARENT);
    assert.equal(s.traceState, 'vendor=x');
    assert.equal(s.kind, 2); // server
    assert.equal(s.attributes['centrifugo.method'], 'publish');
    assert.equal(s.attributes['centrifugo.channel'], 'news');
    assert.equal(s.attributes['http.request.method'], 'POST');
    assert.equal(s.attributes['http.response.status_code'], 200);
    assert.equal(s.status.code, 0);
    assert.ok(s.end >= s.start && s.start > 0n);
    assert.equal(s.resource['service.name'], 'centrifugo');
    assert.ok(s.resource['service.instance.id']);
    assert.equal(s.scope, 'gyre');
    // The response names the server span: the same trace, its own span id.
    assert.equal(r.headers.get('traceresponse'), `00-${TRACE}-${s.spanId}-01`);
    assert.equal(rx.heads.at(-1).url, '/v1/traces');
    assert.equal(rx.heads.at(-1).headers['content-type'], 'application/x-protobuf');
  });

  test('an API error sets the error status and code', async () => {
    const tid = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1';
    const r = await apiRaw(srv, 'publish', { channel: 'nope:x', data: {} }, {
      headers: { traceparent: `00-${tid}-${PARENT}-01` },
    });
    assert.equal(r.json.error.code, 102);
    const s = await rx.waitSpan((x) => x.traceId === tid, 'error span');
    assert.equal(s.status.code, 2);
    assert.equal(s.status.message, 'unknown channel');
    assert.equal(s.attributes['centrifugo.error.code'], 102);
  });

  test('a batch is a parent span with a child per command', async () => {
    const tid = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb2';
    const r = await apiRaw(srv, 'batch', {
      commands: [{ publish: { channel: 'b1', data: {} } }, { history: { channel: 'b1', limit: 1 } }, { publish: { channel: '', data: {} } }],
    }, { headers: { traceparent: `00-${tid}-${PARENT}-01` } });
    assert.equal(r.status, 200, r.text);
    const parent = await rx.waitSpan((x) => x.traceId === tid && x.name === '/api/batch', 'batch span');
    assert.equal(parent.parentSpanId, PARENT);
    assert.equal(parent.attributes['centrifugo.method'], 'batch');
    const children = await waitFor(() => {
      const c = rx.spans.filter((x) => x.traceId === tid && x.parentSpanId === parent.spanId);
      return c.length === 3 ? c : null;
    }, { label: 'three child spans' });
    assert.deepEqual(children.map((c) => c.name).sort(), ['history', 'publish', 'publish']);
    for (const c of children) assert.equal(c.kind, 1); // internal
    const failed = children.find((c) => c.status.code === 2);
    assert.equal(failed.attributes['centrifugo.error.code'], 107);
  });

  test('the legacy endpoint: a child span per command', async () => {
    const tid = 'ccccccccccccccccccccccccccccccc3';
    const body = '{"method":"publish","params":{"channel":"l1","data":{}}}\n{"method":"presence_stats","params":{"channel":"l1"}}';
    const r = await apiRaw(srv, '', body, { headers: { traceparent: `00-${tid}-${PARENT}-01` } });
    assert.equal(r.status, 200, r.text);
    const parent = await rx.waitSpan((x) => x.traceId === tid && x.name === '/api', 'legacy span');
    const children = await waitFor(() => {
      const c = rx.spans.filter((x) => x.traceId === tid && x.parentSpanId === parent.spanId);
      return c.length === 2 ? c : null;
    }, { label: 'two child spans' });
    assert.deepEqual(children.map((c) => c.name).sort(), ['presence_stats', 'publish']);
    assert.ok(children.every((c) => c.attributes['centrifugo.channel'] === 'l1'));
  });

  test('without a valid traceparent a request starts a new trace; unsampled parents are not recorded', async () => {
    const bad = ['00-00000000000000000000000000000000-00f067aa0ba902b7-01', 'garbage', `00-${TRACE.toUpperCase()}-${PARENT}-01`];
    for (const h of bad) {
      const r = await apiRaw(srv, 'publish', { channel: 'fresh', data: {} }, { headers: { traceparent: h } });
      assert.equal(r.status, 200);
      const [, tid, sid] = r.headers.get('traceresponse').split('-');
      const s = await rx.waitSpan((x) => x.traceId === tid && x.spanId === sid, `span of a request with traceparent ${h}`);
      assert.equal(s.parentSpanId, '');
    }
    const tid = 'ddddddddddddddddddddddddddddddd4';
    await api(srv, 'publish', { channel: 'fresh', data: {} }); // no header at all
    const r = await apiRaw(srv, 'publish', { channel: 'fresh', data: {} }, { headers: { traceparent: `00-${tid}-${PARENT}-00` } });
    assert.equal(r.status, 200);
    // A marker request after it: a span is queued before its response is written and the
    // queue is FIFO, so once the marker's span arrived the unsampled one would have too.
    const marker = 'eeeeeeeeeeeeeeeeeeeeeeeeeeeeeee5';
    await apiRaw(srv, 'info', {}, { headers: { traceparent: `00-${marker}-${PARENT}-01` } });
    await rx.waitSpan((x) => x.traceId === marker, 'marker span');
    assert.equal(rx.spans.filter((x) => x.traceId === tid).length, 0);
  });

  test('client commands that reach the broker get spans', async (t) => {
    const c = await connected('json', srv.wsUrl, { token: connToken('tracer-user') }, t);
    const sub = await subscribed(c, 'room');
    await sub.publish(enc('json', { hi: 1 }));
    await sub.history({ limit: 1 });
    const find = (name) => rx.waitSpan((x) => x.name === name && x.attributes['centrifugo.user'] === 'tracer-user', name);
    const s = await find('client.subscribe');
    const p = await find('client.publish');
    const h = await find('client.history');
    for (const x of [s, p, h]) {
      assert.equal(x.attributes['centrifugo.channel'], 'room');
      assert.ok(x.attributes['centrifugo.client']);
      assert.equal(x.parentSpanId, '');
      assert.equal(x.status.code, 0);
    }
    assert.equal(s.attributes['centrifugo.recover'], false);
    // A refused command: an error status with the code.
    await assert.rejects(c.publish('nope:x', enc('json', {})));
    const e = await rx.waitSpan((x) => x.name === 'client.publish' && x.attributes['centrifugo.channel'] === 'nope:x', 'refused publish');
    assert.equal(e.status.code, 2);
    assert.equal(e.attributes['centrifugo.error.code'], 102);
  });

  test('the exported counter', async () => {
    const m = await metrics(srv);
    assert.ok(metricValue(m.text, 'gyre_tracing_spans_exported_total') >= 5);
    assert.equal(metricValue(m.text, 'gyre_tracing_spans_dropped_total', { reason: 'queue_full' }), 0);
  });
});

describe('tracing with the collector down', () => {
  let srv;
  before(async () => {
    const port = await freePort(); // nobody listens there
    srv = await new GyreServer({ name: 'tracing-down', config: tracingConfig, env: fastExport(`http://127.0.0.1:${port}`) }).start();
  });
  after(async () => {
    if (srv) await srv.stop();
  });

  test('requests are still answered; the spans are dropped and counted', async () => {
    for (let i = 0; i < 20; i++) {
      const r = await apiRaw(srv, 'publish', { channel: 'down', data: { i } });
      assert.equal(r.status, 200);
      assert.ok(r.json.result);
    }
    const dropped = await waitFor(async () => {
      const v = metricValue((await metrics(srv)).text, 'gyre_tracing_spans_dropped_total', { reason: 'export_failed' });
      return v >= 20 ? v : null;
    }, { label: 'export_failed >= 20' });
    assert.ok(dropped >= 20);
    assert.equal(metricValue((await metrics(srv)).text, 'gyre_tracing_spans_exported_total'), 0);
  });

  test('a receiver that fails requests: spans dropped, server fine', async () => {
    const rx = new OtlpReceiver();
    await rx.start();
    rx.fail = true;
    const s2 = await new GyreServer({ name: 'tracing-503', config: tracingConfig, env: fastExport(rx.endpoint) }).start();
    try {
      for (let i = 0; i < 5; i++) assert.equal((await apiRaw(s2, 'publish', { channel: 'x', data: {} })).status, 200);
      await waitFor(async () => (metricValue((await metrics(s2)).text, 'gyre_tracing_spans_dropped_total', { reason: 'export_failed' }) >= 5) || null, { label: 'export_failed >= 5' });
      assert.ok(rx.requests >= 1);
    } finally {
      await s2.stop();
      await rx.stop();
    }
  });
});

describe('tracing off', () => {
  test('nothing is sent, no traceresponse, no tracing metrics', async (t) => {
    const rx = new OtlpReceiver();
    await rx.start();
    const srv = await new GyreServer({ name: 'tracing-off', config: { ...channelConfig, opentelemetry: { enabled: false, api: true }, gyre: { opentelemetry: { client_commands: true } } }, env: fastExport(rx.endpoint) }).start();
    try {
      const r = await apiRaw(srv, 'publish', { channel: 'off', data: {} }, { headers: { traceparent: `00-${TRACE}-${PARENT}-01` } });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('traceresponse'), null);
      const c = await connected('json', srv.wsUrl, { token: connToken('u') }, t);
      const sub = await subscribed(c, 'off');
      await sub.publish(enc('json', {}));
      c.disconnect();
      const m = await metrics(srv);
      assert.equal(metricValue(m.text, 'gyre_tracing_spans_exported_total'), undefined);
    } finally {
      // A server with tracing sends what it queued when it stops: after the stop, nothing
      // can still be on the way.
      await srv.stop();
    }
    assert.equal(rx.requests, 0);
    await rx.stop();
  });
});

describe('tracing configuration errors', () => {
  test('an unsupported OTEL_EXPORTER_OTLP_PROTOCOL refuses to start, naming the variable', () => {
    const dir = tempDir();
    const file = path.join(dir, 'config.json');
    fs.writeFileSync(file, JSON.stringify(merge(baseConfig(), { opentelemetry: { enabled: true, api: true } })));
    const r = runGyre(['-c', file, '-p', '0', '-a', '127.0.0.1'], { env: { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' } });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /OTEL_EXPORTER_OTLP_PROTOCOL=\\"grpc\\"/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
