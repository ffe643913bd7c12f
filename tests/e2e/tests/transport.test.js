// The WebSocket transport: server pings and the no-pong close, bad input from raw clients
// (each gets the right close code while a well-behaved client keeps receiving), the origin
// check, Protobuf selection (subprotocol and query parameters) with JSON and Protobuf
// clients on one channel, the slow-client disconnect, keep-alive HTTP connections (moved
// off the event loops after their first request: pipelined requests, then a WebSocket
// upgrade on the same socket) and graceful shutdown (also with a client that never
// answers the close frame).
import assert from 'node:assert/strict';
import { describe, test, useServer, FORMATS } from '../lib/test.js';
import { connToken } from '../lib/tokens.js';
import { connected, dec, enc, recordingWebSocket, subscribed } from '../lib/sdk.js';
import { RawClient, pbSplit, pbFrame, pbCommand } from '../lib/rawws.js';
import { api, metrics, metricValue } from '../lib/api.js';
import { startServer, HOST } from '../lib/server.js';
import net from 'node:net';
import crypto from 'node:crypto';
import { nextEvent, record, sleep, waitFor, SCALE } from '../lib/wait.js';

const ALLOW = { allow_subscribe_for_client: true, allow_publish_for_subscriber: true };

describe('server pings', () => {
  const h = useServer({
    name: 'pings',
    config: { client: { ping_interval: '2s', pong_timeout: '1s' }, channel: { without_namespace: ALLOW } },
  });
  for (const format of FORMATS) {
    test(`[${format}] the SDK answers pings and stays connected across several`, async (t) => {
      const log = [];
      const c = await connected(format, h.wsUrl, { token: connToken('pinged'), websocket: recordingWebSocket(log) }, t);
      const rc = record(c, ['disconnected', 'connecting']);
      const isPing = (f) => f.dir === 'in' && (format === 'json' ? f.data.toString().trim() === '{}' : f.data.length === 1 && f.data[0] === 0);
      await waitFor(() => log.filter(isPing).length >= 3, { timeout: 12000 * SCALE, label: '3 pings' });
      const pongs = log.filter((f) => f.dir === 'out' && (format === 'json' ? f.data.toString().trim() === '{}' : f.data.length === 1 && f.data[0] === 0));
      assert.ok(pongs.length >= 3, `pongs sent: ${pongs.length}`);
      assert.equal(rc.events.length, 0, JSON.stringify(rc.events));
      assert.equal(c.state, 'connected');
    });
    test(`[${format}] a raw client that never answers pings is closed with 3012`, async (t) => {
      const r = new RawClient(h.wsUrl, { format, autoPong: false });
      t.defer(() => r.close());
      const rep = await r.connect(connToken('silent'));
      assert.equal(rep.connect.ping, 2);
      assert.equal(rep.connect.pong, true);
      const closed = await r.waitClose(8000 * SCALE);
      assert.equal(closed.code, 3012);
      assert.ok(r.pings >= 1);
    });
  }
});

describe('bad input from raw clients', () => {
  const h = useServer({
    name: 'bad-input',
    config: { websocket: { message_size_limit: 4096 }, channel: { without_namespace: ALLOW } },
  });

  // Each case: [name, format, steps(r) → expected close code].
  const cases = [
    ['malformed JSON', 'json', async (r) => { await r.connect(connToken('x')); r.sendRaw('{"id":2,"subscribe":'); }, 3501],
    ['malformed JSON before connect', 'json', async (r) => { await r.opened(); r.sendRaw('nonsense'); }, 3501],
    ['empty line inside a batch', 'json', async (r) => { await r.connect(connToken('x')); r.sendRaw('{"id":2,"subscribe":{"channel":"a"}}\n\n{"id":3,"subscribe":{"channel":"b"}}'); }, 3501],
    ['unknown command', 'json', async (r) => { await r.connect(connToken('x')); r.sendRaw('{"id":2,"frobnicate":{}}'); }, 3501],
    ['binary garbage on JSON', 'json', async (r) => { await r.connect(connToken('x')); r.sendRaw(Buffer.from([0xff, 0x00, 0xfe, 0x13, 0x37]), { binary: true }); }, 3501],
    ['binary garbage on Protobuf', 'protobuf', async (r) => { await r.connect(connToken('x')); r.sendRaw(Buffer.from([0x05, 0xff, 0xff, 0xff, 0xff, 0xff]), { binary: true }); }, 3501],
    ['truncated varint on Protobuf', 'protobuf', async (r) => { await r.connect(connToken('x')); r.sendRaw(Buffer.from([0x80]), { binary: true }); }, 3501],
    ['frame above message_size_limit', 'json', async (r) => { await r.connect(connToken('x')); r.sendRaw(JSON.stringify({ id: 2, publish: { channel: 'a', data: { big: 'x'.repeat(5000) } } })); }, 1009],
    ['frame above message_size_limit (Protobuf)', 'protobuf', async (r) => { await r.connect(connToken('x')); r.send({ id: 2, publish: { channel: 'a', data: { big: 'x'.repeat(5000) } } }); }, 1009],
    ['command before connect', 'json', async (r) => { await r.opened(); r.send({ id: 1, subscribe: { channel: 'a' } }); }, 3501],
    ['command before connect (Protobuf)', 'protobuf', async (r) => { await r.opened(); r.send({ id: 1, subscribe: { channel: 'a' } }); }, 3501],
    ['second connect', 'json', async (r) => { await r.connect(connToken('x')); r.send({ id: 2, connect: { token: connToken('x') } }); }, 3501],
    ['second connect (Protobuf)', 'protobuf', async (r) => { await r.connect(connToken('x')); r.send({ id: 2, connect: { token: connToken('x') } }); }, 3501],
    ['pong without ping', 'json', async (r) => { await r.connect(connToken('x')); r.sendRaw('{}'); }, 3501],
    ['pong without ping (Protobuf)', 'protobuf', async (r) => { await r.connect(connToken('x')); r.sendRaw(Buffer.from([0]), { binary: true }); }, 3501],
    ['command with id 0', 'json', async (r) => { await r.connect(connToken('x')); r.sendRaw('{"subscribe":{"channel":"a"}}'); }, 3501],
    ['subscribe with an empty channel', 'json', async (r) => { await r.connect(connToken('x')); r.send({ id: 2, subscribe: { channel: '' } }); }, 3501],
    ['unknown delta type', 'json', async (r) => { await r.connect(connToken('x')); r.send({ id: 2, subscribe: { channel: 'a', delta: 'zstd' } }); }, 3501],
  ];

  for (const format of FORMATS) {
    test(`[${format}] every bad client gets its close code; a good client keeps receiving`, async (t) => {
      const good = await connected(format, h.wsUrl, { token: connToken('good') }, t);
      const s = await subscribed(good, 'steady');
      const r = record(s, ['publication']);
      const rc = record(good, ['disconnected', 'connecting']);
      let n = 0;
      for (const [name, fmt, steps, code] of cases) {
        const raw = new RawClient(h.wsUrl, { format: fmt });
        t.defer(() => raw.close());
        await steps(raw);
        const closed = await raw.waitClose();
        assert.equal(closed.code, code, `${name}: ${JSON.stringify(closed)}`);
        n++;
        await api(h.srv, 'publish', { channel: 'steady', data: { n } });
        await r.waitCount('publication', n);
      }
      assert.deepEqual(r.of('publication').map((p) => dec(format, p.data).n), Array.from({ length: n }, (_, i) => i + 1));
      assert.equal(rc.events.length, 0);
      await h.srv.assertServing();
    });
  }

  test('a frame just under the limit is fine', async (t) => {
    const r = new RawClient(h.wsUrl);
    t.defer(() => r.close());
    await r.connect(connToken('x'));
    r.send({ id: 2, subscribe: { channel: 'near' } });
    await r.reply(2);
    r.send({ id: 3, publish: { channel: 'near', data: { big: 'y'.repeat(3900) } } });
    const rep = await r.reply(3);
    assert.ok(rep.publish, JSON.stringify(rep));
  });
});

describe('origin check', () => {
  const h = useServer({ name: 'origin', config: { client: { allowed_origins: ['http://*.example.com', 'https://exact.org'] } } });
  test('disallowed Origin → HTTP 403; matching glob and no Origin connect', async (t) => {
    for (const origin of ['http://evil.com', 'https://app.example.com', 'http://example.com.evil.net']) {
      const r = new RawClient(h.wsUrl, { headers: { Origin: origin } });
      t.defer(() => r.close());
      await assert.rejects(r.opened(), /403/);
      assert.equal(r.httpStatus, 403, origin);
    }
    for (const origin of ['http://app.example.com', 'https://exact.org', 'HTTP://APP.EXAMPLE.COM', undefined]) {
      const r = new RawClient(h.wsUrl, { headers: origin ? { Origin: origin } : {} });
      t.defer(() => r.close());
      const rep = await r.connect(connToken('o'));
      assert.ok(rep.connect.client, origin);
    }
  });
});

describe('Protobuf selection and mixed encodings', () => {
  const h = useServer({ name: 'protobuf', config: { channel: { without_namespace: { ...ALLOW, history_size: 10, history_ttl: '60s' } } } });

  for (const [how, opts] of [
    ['subprotocol centrifuge-protobuf', { protocols: ['centrifuge-protobuf'] }],
    ['?format=protobuf', { query: 'format=protobuf' }],
    ['?cf_protocol=protobuf', { query: 'cf_protocol=protobuf' }],
  ]) {
    test(`raw client selects Protobuf by ${how}: binary frames both ways`, async (t) => {
      const r = new RawClient(h.wsUrl, { format: 'protobuf', ...opts });
      t.defer(() => r.close());
      const rep = await r.connect(connToken('pb'));
      assert.ok(rep.connect.client);
      assert.equal(r.frames[0].isBinary, true);
      if (opts.protocols) assert.equal(r.ws.protocol, 'centrifuge-protobuf');
      r.send({ id: 2, subscribe: { channel: 'pbsel' } }, { id: 3, publish: { channel: 'pbsel', data: { v: 1 } } });
      await r.reply(3);
      const [push] = await r.waitPushes(1);
      assert.deepEqual(JSON.parse(push.push.pub.data.toString()), { v: 1 });
    });
  }

  test('a raw JSON client gets text frames; subprotocol centrifuge-json is echoed', async (t) => {
    const r = new RawClient(h.wsUrl, { protocols: ['centrifuge-json'] });
    t.defer(() => r.close());
    await r.connect(connToken('js'));
    assert.equal(r.frames[0].isBinary, false);
    assert.equal(r.ws.protocol, 'centrifuge-json');
  });

  test('JSON and Protobuf SDK clients on one channel receive the same publications', async (t) => {
    const j = await connected('json', h.wsUrl, { token: connToken('j') }, t);
    const p = await connected('protobuf', h.wsUrl, { token: connToken('p') }, t);
    const sj = await subscribed(j, 'mixed');
    const sp = await subscribed(p, 'mixed');
    const rj = record(sj, ['publication']);
    const rp = record(sp, ['publication']);
    await sj.publish({ from: 'json', text: 'привет 👋' });
    await sp.publish(enc('protobuf', { from: 'protobuf', n: [1, 2] }));
    await api(h.srv, 'publish', { channel: 'mixed', data: { from: 'api' } });
    await rj.waitCount('publication', 3);
    await rp.waitCount('publication', 3);
    const pj = rj.of('publication').map((x) => [x.offset, x.data]);
    const pp = rp.of('publication').map((x) => [x.offset, dec('protobuf', x.data)]);
    assert.deepEqual(pj, pp);
    assert.deepEqual(pj.map((x) => x[1].from), ['json', 'protobuf', 'api']);
  });
});

describe('slow client', () => {
  const h = useServer({ name: 'slow', config: { client: { queue_max_size: 65536 }, channel: { without_namespace: ALLOW } } });
  test('a client that stops reading is disconnected with 3008; others are fine', async (t) => {
    const good = await connected('json', h.wsUrl, { token: connToken('fast') }, t);
    const s = await subscribed(good, 'flood');
    let got = 0;
    s.on('publication', () => got++);
    const slow = new RawClient(h.wsUrl);
    t.defer(() => slow.close());
    await slow.connect(connToken('slow'));
    slow.send({ id: 2, subscribe: { channel: 'flood' } });
    await slow.reply(2);
    slow.ws.pause(); // stop reading: the kernel buffers fill, then the server queue
    const payload = 'z'.repeat(16000);
    let sent = 0;
    // The server's decision shows in its metrics at once; the socket closes only after
    // the close handshake, which needs the client to read again.
    const slowCount = async () => metricValue((await metrics(h.srv)).text, 'centrifugo_client_num_server_disconnects', { code: '3008' }) || 0;
    for (let round = 0; round < 60 && (await slowCount()) === 0; round++) {
      const commands = Array.from({ length: 50 }, () => ({ publish: { channel: 'flood', data: { payload } } }));
      await api(h.srv, 'batch', { commands });
      sent += 50;
    }
    assert.equal(await slowCount(), 1, 'one slow disconnect');
    slow.ws.resume();
    const closed = await slow.waitClose(10000 * SCALE);
    assert.equal(closed.code, 3008, JSON.stringify({ closed, error: slow.error?.message, frames: slow.frames.length }));
    await waitFor(() => got === sent, { timeout: 20000 * SCALE, label: `good client got ${got}/${sent}` });
    assert.equal(good.state, 'connected');
  });
});

// A raw TCP connection that reads HTTP responses (Content-Length bodies) and, after a
// 101, WebSocket frames from the server (unmasked, short).
class RawHttp {
  constructor(port) {
    this.sock = net.connect(port, HOST);
    this.buf = Buffer.alloc(0);
    this.sock.on('data', (d) => { this.buf = Buffer.concat([this.buf, d]); });
    this.sock.on('error', () => {});
  }
  opened() {
    return new Promise((resolve, reject) => { this.sock.once('connect', resolve); this.sock.once('error', reject); });
  }
  send(text) { this.sock.write(text); }
  async response() {
    let out = null;
    await waitFor(() => {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return false;
      const head = this.buf.subarray(0, end).toString();
      const len = Number((/content-length: *(\d+)/i.exec(head) || [0, 0])[1]);
      if (this.buf.length < end + 4 + len) return false;
      out = { status: Number(head.split(' ')[1]), head, body: this.buf.subarray(end + 4, end + 4 + len).toString() };
      this.buf = this.buf.subarray(end + 4 + len);
      return true;
    }, { timeout: 5000 * SCALE, label: 'an HTTP response' });
    return out;
  }
  async frame() {
    let out = null;
    await waitFor(() => {
      if (this.buf.length < 2) return false;
      let len = this.buf[1] & 0x7f, off = 2;
      if (len === 126) { if (this.buf.length < 4) return false; len = this.buf.readUInt16BE(2); off = 4; }
      if (this.buf.length < off + len) return false;
      out = this.buf.subarray(off, off + len).toString();
      this.buf = this.buf.subarray(off + len);
      return true;
    }, { timeout: 5000 * SCALE, label: 'a WebSocket frame' });
    return out;
  }
  sendText(text) {
    const payload = Buffer.from(text);
    const mask = crypto.randomBytes(4);
    const head = payload.length < 126 ? Buffer.from([0x81, 0x80 | payload.length])
      : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
    const body = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]));
    this.sock.write(Buffer.concat([head, mask, body]));
  }
  close() { this.sock.destroy(); }
}

describe('keep-alive HTTP connections', () => {
  const h = useServer({ name: 'keep-alive', config: { channel: { without_namespace: ALLOW } } });

  test('pipelined requests, more requests, then a WebSocket upgrade on the same socket', async (t) => {
    const sub = await connected('json', h.wsUrl, { token: connToken('ka-sub') }, t);
    const s = await subscribed(sub, 'ka');
    const pubs = record(s, ['publication']);
    const c = new RawHttp(h.port);
    t.defer(() => c.close());
    await c.opened();
    const post = (method, body) => {
      const b = JSON.stringify(body);
      return `POST /api/${method} HTTP/1.1\r\nHost: x\r\nX-API-Key: ${h.srv.apiKey}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(b)}\r\n\r\n${b}`;
    };
    // Two requests in one write: the second is already buffered when the connection moves
    // off its loop after the first response.
    c.send(`GET /health HTTP/1.1\r\nHost: x\r\n\r\n${post('publish', { channel: 'ka', data: { n: 1 } })}`);
    assert.equal((await c.response()).status, 200);
    const first = await c.response();
    assert.equal(first.status, 200, first.body);
    assert.ok(JSON.parse(first.body).result, first.body);
    for (let n = 2; n <= 5; n++) {
      c.send(post('publish', { channel: 'ka', data: { n } }));
      const r = await c.response();
      assert.equal(r.status, 200, r.body);
    }
    await pubs.waitCount('publication', 5, { timeout: 5000 * SCALE });
    assert.deepEqual(pubs.of('publication').map((p) => p.data.n), [1, 2, 3, 4, 5]);
    // The same socket becomes a WebSocket client connection.
    c.send(`GET /connection/websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}\r\n\r\n`);
    const up = await c.response();
    assert.equal(up.status, 101, up.head);
    c.sendText(JSON.stringify({ id: 1, connect: { token: connToken('ka-ws') } }));
    const reply = JSON.parse(await c.frame());
    assert.equal(reply.id, 1);
    assert.ok(reply.connect?.client, JSON.stringify(reply));
    c.sendText(JSON.stringify({ id: 2, subscribe: { channel: 'ka' } }));
    assert.equal(JSON.parse(await c.frame()).id, 2);
    await api(h.srv, 'publish', { channel: 'ka', data: { n: 6 } });
    const push = JSON.parse(await c.frame());
    assert.deepEqual(push.push?.pub?.data, { n: 6 });
  });
});

describe('graceful shutdown', () => {
  test('SIGTERM → clients closed with 3001 and the SDK goes to connecting', async (t) => {
    const srv = await startServer({ name: 'shutdown', config: { channel: { without_namespace: ALLOW } } });
    t.defer(() => srv.stop({ check: false }));
    const clients = [];
    for (const format of FORMATS) {
      const c = await connected(format, srv.wsUrl, { token: connToken(`sd-${format}`), minReconnectDelay: 60000, maxReconnectDelay: 60000 }, t);
      await subscribed(c, 'bye');
      clients.push(c);
    }
    const raw = new RawClient(srv.wsUrl);
    t.defer(() => raw.close());
    await raw.connect(connToken('sd-raw'));
    const events = clients.map((c) => nextEvent(c, 'connecting', { timeout: 10000 * SCALE }));
    srv.proc.kill('SIGTERM');
    const ctxs = await Promise.all(events);
    for (const ctx of ctxs) {
      assert.equal(ctx.code, 3001);
      assert.equal(ctx.reason, 'shutdown');
    }
    assert.equal((await raw.waitClose()).code, 3001);
    await waitFor(() => srv.exit, { timeout: 15000 * SCALE, label: 'server exit' });
    assert.equal(srv.exit.code, 0, JSON.stringify(srv.exit));
    for (const c of clients) assert.equal(c.state, 'connecting');
  });

  test('a client that never answers the close frame does not keep the server from exiting cleanly', async (t) => {
    const srv = await startServer({ name: 'shutdown-silent', config: { channel: { without_namespace: ALLOW } } });
    t.defer(() => srv.stop({ check: false }));
    const raw = new RawClient(srv.wsUrl);
    t.defer(() => raw.close());
    await raw.connect(connToken('sd-silent'));
    raw.ws._socket.pause(); // reads nothing more: the server's close frame stays unanswered
    srv.proc.kill('SIGTERM');
    await waitFor(() => srv.exit, { timeout: 15000 * SCALE, label: 'server exit' });
    // Sanitizer builds exit 1 when the abandoned connection leaks.
    assert.equal(srv.exit.code, 0, `${JSON.stringify(srv.exit)}\n${srv.logTail(20)}`);
  });
});
