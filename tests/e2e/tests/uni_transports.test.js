// The unidirectional transports without any SDK (docs/transports.md): uni_sse with a plain
// EventSource (npm `eventsource`) and with a raw POST, uni_http_stream with Node's http
// client, uni_websocket with a bare WebSocket (ConnectRequest in cf_connect or as the first
// message, one Push per frame, join_push_messages). Each gets the Connect push, publications
// of its server-side subscriptions, pings (`{}`) and a Disconnect push at the end; connect
// errors become disconnects. Bad input: malformed ConnectRequest (400 / close 3501), wrong
// methods (405), preflight (204), oversized bodies (413), a disallowed Origin (403).
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { EventSource } from 'eventsource';
import WebSocket from 'ws';
import { describe, test, useServer } from '../lib/test.js';
import { connToken } from '../lib/tokens.js';
import { api, metrics, metricValue } from '../lib/api.js';
import { HOST } from '../lib/server.js';
import { waitFor, withTimeout, T, SCALE } from '../lib/wait.js';

const ALLOW = { allow_subscribe_for_client: true };

// A streaming HTTP request: collects the body as it arrives; `lines` are its non-empty lines.
function openStream(port, path, { method = 'POST', body, headers = {} } = {}) {
  const s = { status: 0, headers: {}, text: '', ended: false, error: null };
  s.req = http.request({ host: HOST, port, path, method, headers: { 'Content-Type': 'application/json', ...headers } }, (res) => {
    s.status = res.statusCode;
    s.headers = res.headers;
    res.setEncoding('utf8');
    res.on('data', (d) => (s.text += d));
    res.on('end', () => (s.ended = true));
    res.on('error', (e) => (s.error = e));
  });
  s.req.on('error', (e) => (s.error = e));
  if (body !== undefined) s.req.write(body);
  s.req.end();
  s.lines = () => s.text.split('\n').filter((l) => l.trim() !== '');
  s.events = () => s.text.split('\n\n').map((e) => e.trim()).filter((e) => e.startsWith('data: ')).map((e) => JSON.parse(e.slice(6)));
  s.close = () => s.req.destroy();
  return s;
}

// A complete short answer (refusals): status, headers and body.
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

const publish = (srv, channel, data) => api(srv, 'publish', { channel, data });

describe('unidirectional transports', () => {
  const h = useServer({
    name: 'uni',
    config: {
      client: { ping_interval: '2s', pong_timeout: '1s', allowed_origins: ['http://allowed.example'] },
      channel: { without_namespace: ALLOW },
      uni_sse: { enabled: true },
      uni_http_stream: { enabled: true },
      uni_websocket: { enabled: true },
    },
  });

  test('uni_sse: a plain EventSource gets the Connect push, publications and pings', async (t) => {
    const req = encodeURIComponent(JSON.stringify({ token: connToken('es-user'), subs: { 'uni-es': {} } }));
    const es = new EventSource(`${h.url}/connection/uni_sse?cf_connect=${req}`);
    t.defer(() => es.close());
    const got = [];
    es.onmessage = (e) => got.push(JSON.parse(e.data));
    await waitFor(() => got.length >= 1, { label: 'connect push' });
    assert.ok(got[0].connect, JSON.stringify(got[0]));
    assert.ok(got[0].connect.client);
    assert.ok(got[0].connect.session, 'the Connect push carries a session');
    assert.equal(got[0].connect.ping, 2);
    assert.equal(got[0].connect.pong, undefined, 'no pong for a unidirectional client');
    assert.ok('uni-es' in got[0].connect.subs, JSON.stringify(got[0]));
    await publish(h.srv, 'uni-es', { n: 1 });
    await waitFor(() => got.some((p) => p.pub), { label: 'publication push' });
    const pub = got.find((p) => p.pub);
    assert.equal(pub.channel, 'uni-es');
    assert.deepEqual(pub.pub.data, { n: 1 });
    assert.equal(pub.id, undefined);
    await waitFor(() => got.filter((p) => Object.keys(p).length === 0).length >= 1, { timeout: 8000 * SCALE, label: 'ping' });
  });

  test('uni_sse: POST with a JSON body, response headers and framing, Disconnect push at the end', async (t) => {
    const s = openStream(h.port, '/connection/uni_sse', { body: JSON.stringify({ token: connToken('sse-post'), subs: { 'uni-sp': {} } }) });
    t.defer(() => s.close());
    await waitFor(() => s.events().length >= 1, { label: 'connect event' });
    assert.equal(s.status, 200);
    assert.equal(s.headers['content-type'], 'text/event-stream; charset=utf-8');
    assert.equal(s.headers['cache-control'], 'private, no-cache, no-store, must-revalidate, max-age=0');
    assert.equal(s.headers['x-accel-buffering'], 'no');
    assert.ok(s.text.startsWith('\r\n'), JSON.stringify(s.text.slice(0, 10)));
    assert.ok(s.events()[0].connect);
    await api(h.srv, 'disconnect', { user: 'sse-post', disconnect: { code: 4001, reason: 'go away' } });
    await waitFor(() => s.ended, { label: 'end of stream' });
    const last = s.events().at(-1);
    assert.deepEqual(last, { disconnect: { code: 4001, reason: 'go away' } });
  });

  test('uni_http_stream: Node http gets one Push per line, pings, then the Disconnect push', async (t) => {
    const s = openStream(h.port, '/connection/uni_http_stream', { body: JSON.stringify({ token: connToken('hs-user'), subs: { 'uni-hs': {} } }) });
    t.defer(() => s.close());
    await waitFor(() => s.lines().length >= 1, { label: 'connect push' });
    assert.equal(s.status, 200);
    assert.equal(s.headers['content-type'], 'application/json');
    const first = JSON.parse(s.lines()[0]);
    assert.ok(first.connect && 'uni-hs' in first.connect.subs, s.text);
    await publish(h.srv, 'uni-hs', 'hello');
    await waitFor(() => s.lines().some((l) => l.includes('"pub"')), { label: 'publication' });
    assert.deepEqual(JSON.parse(s.lines().find((l) => l.includes('"pub"'))), { channel: 'uni-hs', pub: { data: 'hello' } });
    await waitFor(() => s.lines().includes('{}'), { timeout: 8000 * SCALE, label: 'ping' });
    await api(h.srv, 'disconnect', { user: 'hs-user', disconnect: { code: 4500, reason: 'bye' } });
    await waitFor(() => s.ended, { label: 'end of stream' });
    assert.deepEqual(JSON.parse(s.lines().at(-1)), { disconnect: { code: 4500, reason: 'bye' } });
  });

  test('uni_http_stream: connect errors become Disconnect pushes (invalid token 3500, expired token 3005)', async (t) => {
    const bad = openStream(h.port, '/connection/uni_http_stream', { body: JSON.stringify({ token: 'not.a.token' }) });
    t.defer(() => bad.close());
    await waitFor(() => bad.ended, { label: 'end of stream' });
    assert.equal(JSON.parse(bad.lines().at(-1)).disconnect.code, 3500);
    const expired = openStream(h.port, '/connection/uni_http_stream', { body: JSON.stringify({ token: connToken('old', { exp: Math.floor(Date.now() / 1000) - 60 }) }) });
    t.defer(() => expired.close());
    await waitFor(() => expired.ended, { label: 'end of stream' });
    assert.equal(JSON.parse(expired.lines().at(-1)).disconnect.code, 3005, expired.text);
  });

  test('bad input: malformed ConnectRequest 400, wrong method 405, preflight 204, oversized 413, Origin 403', async () => {
    for (const path of ['/connection/uni_http_stream', '/connection/uni_sse']) {
      const r = await request(h.port, path, { body: '{"token":', headers: { 'Content-Type': 'application/json' } });
      assert.equal(r.status, 400, `${path}: ${r.text}`);
      const arr = await request(h.port, path, { body: '[1,2]' });
      assert.equal(arr.status, 400, `${path}: ${arr.text}`);
      const big = await request(h.port, path, { body: JSON.stringify({ data: 'x'.repeat(70000) }) });
      assert.equal(big.status, 413, `${path}: ${big.text}`);
      const pre = await request(h.port, path, { method: 'OPTIONS', headers: { Origin: 'http://allowed.example', 'Access-Control-Request-Headers': 'content-type' } });
      assert.equal(pre.status, 204);
      assert.equal(pre.headers['access-control-max-age'], '300');
      assert.equal(pre.headers['access-control-allow-origin'], 'http://allowed.example');
      assert.equal(pre.headers['access-control-allow-credentials'], 'true');
      assert.equal(pre.headers['access-control-allow-headers'], 'content-type');
      const evil = await request(h.port, path, { body: '{}', headers: { Origin: 'http://evil.example' } });
      assert.equal(evil.status, 403);
      const put = await request(h.port, path, { method: 'PUT', body: '{}' });
      assert.equal(put.status, 405);
    }
    const get = await request(h.port, '/connection/uni_http_stream', { method: 'GET' });
    assert.equal(get.status, 405);
    const badGet = await request(h.port, `/connection/uni_sse?cf_connect=${encodeURIComponent('{nope')}`, { method: 'GET' });
    assert.equal(badGet.status, 400);
    await h.srv.assertServing();
  });

  test('uni_sse: an allowed Origin gets the CORS fields on the stream', async (t) => {
    const s = openStream(h.port, '/connection/uni_sse', { body: '{}', headers: { Origin: 'http://allowed.example' } });
    t.defer(() => s.close());
    await waitFor(() => s.events().length >= 1, { label: 'connect event' });
    assert.equal(s.headers['access-control-allow-origin'], 'http://allowed.example');
    assert.equal(s.headers['access-control-allow-credentials'], 'true');
  });

  test('uni_websocket: a bare WebSocket, ConnectRequest in cf_connect, one Push per frame, Disconnect push then close', async (t) => {
    const req = encodeURIComponent(JSON.stringify({ token: connToken('ws-uni'), subs: { 'uni-ws': {} } }));
    const ws = new WebSocket(`ws://${HOST}:${h.port}/connection/uni_websocket?cf_connect=${req}`);
    t.defer(() => ws.terminate());
    const frames = [];
    let closed = null;
    ws.on('message', (d, isBinary) => frames.push({ text: d.toString(), isBinary }));
    ws.on('close', (code, reason) => (closed = { code, reason: reason.toString() }));
    await waitFor(() => frames.length >= 1, { label: 'connect push' });
    assert.equal(frames[0].isBinary, false);
    assert.ok(JSON.parse(frames[0].text).connect.subs['uni-ws']);
    await publish(h.srv, 'uni-ws', { a: 1 });
    await publish(h.srv, 'uni-ws', { a: 2 });
    await waitFor(() => frames.filter((f) => f.text.includes('"pub"')).length >= 2, { label: 'publications' });
    for (const f of frames.filter((x) => x.text.includes('"pub"'))) assert.equal(f.text.trim().split('\n').length, 1, 'one Push per frame');
    ws.send('{"subscribe":{"channel":"ignored"},"id":5}'); // later messages are dropped
    await api(h.srv, 'disconnect', { user: 'ws-uni', disconnect: { code: 4002, reason: 'later' } });
    await waitFor(() => closed, { label: 'close' });
    assert.deepEqual(closed, { code: 4002, reason: 'later' });
    assert.deepEqual(JSON.parse(frames.at(-1).text), { disconnect: { code: 4002, reason: 'later' } });
    assert.ok(!frames.some((f) => f.text.includes('"id"')), 'no replies on a unidirectional connection');
  });

  test('uni_websocket: ConnectRequest as the first message; a malformed one closes with 3501', async (t) => {
    const ws = new WebSocket(`ws://${HOST}:${h.port}/connection/uni_websocket`);
    t.defer(() => ws.terminate());
    const frames = [];
    ws.on('message', (d) => frames.push(d.toString()));
    await withTimeout(new Promise((r) => ws.once('open', r)), T, 'open');
    ws.send(JSON.stringify({ token: connToken('ws-first') }));
    await waitFor(() => frames.length >= 1, { label: 'connect push' });
    assert.ok(JSON.parse(frames[0]).connect.client);

    const bad = new WebSocket(`ws://${HOST}:${h.port}/connection/uni_websocket`);
    t.defer(() => bad.terminate());
    let closed = null;
    bad.on('close', (code) => (closed = code));
    await withTimeout(new Promise((r) => bad.once('open', r)), T, 'open');
    bad.send('{"token": ');
    await waitFor(() => closed !== null, { label: 'close' });
    assert.equal(closed, 3501);
  });
});

describe('a streaming client that does not read', () => {
  const h = useServer({
    name: 'uni-slow',
    config: { client: { insecure: true, queue_max_size: 65536 }, channel: { without_namespace: ALLOW }, uni_http_stream: { enabled: true }, http_stream: { enabled: true } },
  });

  for (const kind of ['uni_http_stream', 'http_stream']) {
    test(`[${kind}] its queue is bounded: it is disconnected with 3008 (slow) and the server goes on`, async (t) => {
      const before = metricValue((await metrics(h.srv)).text, 'centrifugo_client_num_server_disconnects', { code: '3008' }) || 0;
      const channel = `slow-${kind}`;
      const body = kind === 'http_stream' ? JSON.stringify({ id: 1, connect: { subs: { [channel]: {} } } }) : JSON.stringify({ subs: { [channel]: {} } });
      const sock = net.connect(h.port, HOST);
      t.defer(() => sock.destroy());
      await withTimeout(new Promise((r) => sock.once('connect', r)), T, 'connect');
      sock.write(`POST /connection/${kind} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      let head = '';
      await new Promise((resolve) => {
        sock.on('data', function first(d) {
          head += d.toString();
          if (head.includes('connect')) {
            sock.off('data', first);
            resolve();
          }
        });
      });
      sock.pause(); // reads nothing more: the kernel buffers fill, then the server's queue
      const data = 'x'.repeat(30000);
      for (let i = 0; i < 400; i++) {
        await api(h.srv, 'publish', { channel, data });
        const now = metricValue((await metrics(h.srv)).text, 'centrifugo_client_num_server_disconnects', { code: '3008' }) || 0;
        if (now > before) break;
      }
      await waitFor(async () => (metricValue((await metrics(h.srv)).text, 'centrifugo_client_num_server_disconnects', { code: '3008' }) || 0) > before, { label: '3008 disconnect' });
      await h.srv.assertServing();
    });
  }
});

describe('uni_websocket.join_push_messages', () => {
  const h = useServer({
    name: 'uni-join',
    config: { client: { insecure: true }, channel: { without_namespace: ALLOW }, uni_websocket: { enabled: true, join_push_messages: true } },
  });

  test('several Pushes may share a frame, newline-joined', async (t) => {
    const req = encodeURIComponent(JSON.stringify({ subs: { joined: {} } }));
    const ws = new WebSocket(`ws://${HOST}:${h.port}/connection/uni_websocket?cf_connect=${req}`);
    t.defer(() => ws.terminate());
    const frames = [];
    ws.on('message', (d) => frames.push(d.toString()));
    await waitFor(() => frames.length >= 1, { label: 'connect push' });
    await api(h.srv, 'batch', { commands: Array.from({ length: 20 }, (_, i) => ({ publish: { channel: 'joined', data: { i } } })) });
    const pubs = () => frames.flatMap((f) => f.split('\n').filter((l) => l.trim() !== '')).map((l) => JSON.parse(l)).filter((p) => p.pub);
    await waitFor(() => pubs().length >= 20, { label: '20 publications' });
    assert.deepEqual(pubs().map((p) => p.pub.data.i), Array.from({ length: 20 }, (_, i) => i));
  });
});
