// Bidirectional emulation (docs/transports.md): the real SDK (npm `centrifuge`) over
// http_stream (JSON and Protobuf) and sse (JSON, with npm `eventsource`), commands through
// POST /emulation: connect, subscribe, publications, client publish, presence, history,
// pings answered through /emulation. The fallback from a refused WebSocket to http_stream
// through the SDK's transports list. Bad input on /emulation and the stream endpoints:
// undecodable bodies (400), sessions that are not ours (400), another node (404), oversized
// (413), wrong methods (405), the CORS preflight (204), sse without cf_connect (400).
import assert from 'node:assert/strict';
import http from 'node:http';
import { EventSource } from 'eventsource';
import { describe, test, useServer } from '../lib/test.js';
import { connToken } from '../lib/tokens.js';
import { connected, dec, enc, subscribed } from '../lib/sdk.js';
import { api } from '../lib/api.js';
import { HOST } from '../lib/server.js';
import { nextEvent, record, waitFor, withTimeout, T, SCALE } from '../lib/wait.js';

const NS = { allow_subscribe_for_client: true, allow_publish_for_subscriber: true, allow_presence_for_subscriber: true, allow_history_for_subscriber: true, presence: true, history_size: 10, history_ttl: '60s' };

function request(port, path, { method = 'POST', body, headers = {} } = {}) {
  return withTimeout(
    new Promise((resolve, reject) => {
      const req = http.request({ host: HOST, port, path, method, headers }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text }));
      });
      req.on('error', reject);
      if (body !== undefined) req.write(body);
      req.end();
    }),
    T,
    `${method} ${path}`,
  );
}

describe('bidirectional emulation', () => {
  const h = useServer({
    name: 'emulation',
    config: {
      client: { ping_interval: '2s', pong_timeout: '1s' },
      channel: { without_namespace: NS },
      http_stream: { enabled: true },
      sse: { enabled: true },
    },
  });

  const cases = [
    ['http_stream', 'json'],
    ['http_stream', 'protobuf'],
    ['sse', 'json'],
  ];
  for (const [transport, format] of cases) {
    test(`[${transport} ${format}] the SDK connects, subscribes, publishes, reads presence and history, answers pings`, async (t) => {
      const endpoints = [{ transport, endpoint: `${h.url}/connection/${transport}` }];
      const opts = { emulationEndpoint: `${h.url}/emulation`, eventsource: EventSource };
      const user = `emu-${transport}-${format}`;
      const c = await connected(format, endpoints, { ...opts, token: connToken(user) }, t);
      assert.equal(c._transport.name(), transport);
      assert.ok(c._session, 'connect result carries a session');
      assert.ok(c._node, 'connect result carries a node');
      const channel = `emu-${transport}-${format}`;
      const sub = await subscribed(c, channel);
      const pubs = record(sub, ['publication']);
      await api(h.srv, 'publish', { channel, data: { from: 'api' } });
      await waitFor(() => pubs.events.length >= 1, { label: 'api publication' });
      assert.deepEqual(dec(format, pubs.events[0].arg.data), { from: 'api' });
      await sub.publish(enc(format, { from: 'client' }));
      await waitFor(() => pubs.events.length >= 2, { label: 'client publication' });
      assert.deepEqual(dec(format, pubs.events[1].arg.data), { from: 'client' });
      const presence = await sub.presence();
      assert.ok(Object.values(presence.clients).some((ci) => ci.user === user), JSON.stringify(presence));
      const hist = await sub.history({ limit: 10 });
      assert.equal(hist.publications.length, 2);
      // Pings arrive on the stream and the SDK answers through /emulation: still connected
      // after more than two ping intervals plus the pong timeout.
      const rc = record(c, ['disconnected', 'connecting']);
      await new Promise((r) => setTimeout(r, 6500 * SCALE));
      assert.equal(rc.events.length, 0, JSON.stringify(rc.events));
      assert.equal(c.state, 'connected');
    });
  }

  test('[http_stream] a server disconnect ends the stream with the Disconnect push; the SDK obeys it', async (t) => {
    const endpoints = [{ transport: 'http_stream', endpoint: `${h.url}/connection/http_stream` }];
    const c = await connected('json', endpoints, { emulationEndpoint: `${h.url}/emulation`, token: connToken('emu-gone') }, t);
    const gone = nextEvent(c, 'disconnected');
    await api(h.srv, 'disconnect', { user: 'emu-gone', disconnect: { code: 4501, reason: 'banned' } });
    const ctx = await gone;
    assert.equal(ctx.code, 4501);
    assert.equal(ctx.reason, 'banned');
  });

  test('bad input on /emulation and the stream endpoints', async () => {
    const post = (body, headers = { 'Content-Type': 'application/json' }) => request(h.port, '/emulation', { body, headers });
    assert.equal((await post('nonsense')).status, 400);
    assert.equal((await post('{"session":5,"node":"x","data":"{}"}')).status, 400);
    assert.equal((await post('{"session":"s.0","node":"x"}')).status, 400, 'no data');
    assert.equal((await post(JSON.stringify({ session: 'not-ours', node: '', data: '{}' }))).status, 400, 'session not ours');
    assert.equal((await post(JSON.stringify({ session: 'abc.0', node: 'another-node', data: '{}' }))).status, 404);
    assert.equal((await post(Buffer.from([0x0a, 0xff]), { 'Content-Type': 'application/octet-stream' })).status, 400, 'truncated protobuf');
    const gone = await post(JSON.stringify({ session: 'f00d.0', node: '', data: '{"id":1,"presence":{"channel":"x"}}' }));
    assert.equal(gone.status, 204, 'a session gone from this node: 204, as Centrifugo');
    assert.equal((await post(JSON.stringify({ session: 'a.0', node: '', data: 'x'.repeat(70000) }))).status, 413);
    assert.equal((await request(h.port, '/emulation', { method: 'GET' })).status, 405);
    const pre = await request(h.port, '/emulation', { method: 'OPTIONS', headers: { Origin: 'http://x.example', 'Access-Control-Request-Headers': 'content-type' } });
    assert.equal(pre.status, 403, 'an Origin not in client.allowed_origins');
    assert.equal((await request(h.port, '/connection/sse', { method: 'GET' })).status, 400, 'sse without cf_connect');
    assert.equal((await request(h.port, '/connection/http_stream', { method: 'GET' })).status, 405);
    assert.equal((await request(h.port, '/connection/http_stream', { body: '' })).status, 400, 'no connect command');
    await h.srv.assertServing();
  });
});

describe('emulation: CORS and the WebSocket fallback', () => {
  const h = useServer({
    name: 'emulation-fallback',
    config: {
      client: { allowed_origins: ['http://app.example'] },
      channel: { without_namespace: NS },
      websocket: { disabled: true },
      http_stream: { enabled: true },
    },
  });

  test('the SDK falls back from a refused WebSocket to http_stream (transports list)', async (t) => {
    const endpoints = [
      { transport: 'websocket', endpoint: `ws://${HOST}:${h.port}/connection/websocket` },
      { transport: 'http_stream', endpoint: `${h.url}/connection/http_stream` },
    ];
    const c = await connected('json', endpoints, { emulationEndpoint: `${h.url}/emulation`, token: connToken('fallback') }, t);
    assert.equal(c._transport.name(), 'http_stream');
    const sub = await subscribed(c, 'fallback-ch');
    const pubs = record(sub, ['publication']);
    await api(h.srv, 'publish', { channel: 'fallback-ch', data: { ok: true } });
    await waitFor(() => pubs.events.length >= 1, { label: 'publication' });
  });

  test('CORS: preflight and responses echo an allowed Origin', async () => {
    const pre = await request(h.port, '/emulation', { method: 'OPTIONS', headers: { Origin: 'http://app.example', 'Access-Control-Request-Headers': 'content-type' } });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers['access-control-allow-origin'], 'http://app.example');
    assert.equal(pre.headers['access-control-allow-methods'], 'POST, OPTIONS');
    assert.equal(pre.headers['access-control-max-age'], '300');
    const bad = await request(h.port, '/emulation', { body: 'x', headers: { Origin: 'http://app.example' } });
    assert.equal(bad.status, 400);
    assert.equal(bad.headers['access-control-allow-origin'], 'http://app.example');
    const pre2 = await request(h.port, '/connection/http_stream', { method: 'OPTIONS', headers: { Origin: 'http://app.example' } });
    assert.equal(pre2.status, 204);
    assert.equal(pre2.headers['access-control-allow-methods'], 'POST, OPTIONS');
  });
});
