// Strict HTTP/1.1 on a raw socket (docs/design/http-server.md): every request whose body
// length is ambiguous (a transfer coding other than a single final chunked, Transfer-
// Encoding with Content-Length, duplicate or invalid Content-Length, obs-fold, bare LF) is
// refused and its connection closed, so that a publish hidden in its body is never run as
// a second request. Also: the API key is checked before the body is read (401 at once,
// and 20 concurrent wrong-key bodies of 16 MB do not grow the server), 413 and
// `Expect: 100-continue`, and the refusals are logged.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { describe, test, useServer } from '../lib/test.js';
import { api, apiRaw } from '../lib/api.js';
import { HOST } from '../lib/server.js';
import { waitFor, SCALE } from '../lib/wait.js';

// A raw connection that records everything the server sends and whether it closed.
class RawConn {
  constructor(port) {
    this.sock = net.connect(port, HOST);
    this.buf = Buffer.alloc(0);
    this.ended = false;
    this.sock.on('data', (d) => { this.buf = Buffer.concat([this.buf, d]); });
    this.sock.on('end', () => { this.ended = true; });
    this.sock.on('close', () => { this.ended = true; });
    this.sock.on('error', () => {});
  }
  opened() {
    return new Promise((resolve, reject) => { this.sock.once('connect', resolve); this.sock.once('error', reject); });
  }
  send(data) { this.sock.write(data); }
  text() { return this.buf.toString('latin1'); }
  statuses() { return [...this.text().matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1])); }
  async closedByServer(timeout = 5000 * SCALE) {
    await waitFor(() => this.ended, { timeout, label: 'the server to close the connection' });
  }
  async waitFor(pattern, timeout = 5000 * SCALE) {
    await waitFor(() => pattern.test(this.text()), { timeout, label: `${pattern} from the server` });
  }
  close() { this.sock.destroy(); }
}

// The number of publications in a channel's history (0 when it has none).
async function historyCount(srv, channel) {
  const r = await api(srv, 'history', { channel, limit: -1 });
  return (r.publications ?? []).length;
}

// Resident set size of a process: current and peak, in bytes (Linux).
function rss(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)[1]) * 1024;
  return { now: kb('VmRSS'), peak: kb('VmHWM') };
}

describe('request smuggling', () => {
  const h = useServer({
    name: 'http-strict',
    config: { channel: { namespaces: [{ name: 'smug', history_size: 100, history_ttl: '300s' }] } },
  });

  // A complete publish request, hidden in the body of the request under test.
  const hidden = (key, channel) => {
    const b = JSON.stringify({ channel, data: { smuggled: true } });
    return `POST /api/publish HTTP/1.1\r\nHost: x\r\nX-API-Key: ${key}\r\nContent-Length: ${b.length}\r\n\r\n${b}`;
  };

  // Each case: [name, head lines before the blank line (given the hidden request's length), expected status].
  const cases = [
    ['Transfer-Encoding: identity', () => 'Transfer-Encoding: identity', 400],
    ['Transfer-Encoding: gzip', () => 'Transfer-Encoding: gzip', 400],
    ['Transfer-Encoding: chunked, identity', () => 'Transfer-Encoding: chunked, identity', 400],
    ['two Transfer-Encoding fields, identity last', () => 'Transfer-Encoding: chunked\r\nTransfer-Encoding: identity', 400],
    ['Transfer-Encoding: xchunked with Content-Length', (n) => `Transfer-Encoding: xchunked\r\nContent-Length: ${n}`, 400],
    ['Transfer-Encoding: chunked with Content-Length', (n) => `Transfer-Encoding: chunked\r\nContent-Length: ${n}`, 400],
    ['Content-Length then Transfer-Encoding: identity', (n) => `Content-Length: ${n}\r\nTransfer-Encoding: identity`, 400],
    ['Transfer-Encoding: gzip, chunked', () => 'Transfer-Encoding: gzip, chunked', 501],
    ['Transfer-Encoding folded (obs-fold) into chunked , identity', () => 'Transfer-Encoding: chunked\r\n , identity', 400],
    ['duplicate Content-Length', (n) => `Content-Length: ${n}\r\nContent-Length: ${n}`, 400],
    ['Content-Length list', (n) => `Content-Length: ${n}, ${n}`, 400],
    ['Content-Length: +N', (n) => `Content-Length: +${n}`, 400],
    ['Content-Length: 0 and Content-Length: N', (n) => `Content-Length: 0\r\nContent-Length: ${n}`, 400],
  ];

  for (const [name, fields, status] of cases) {
    test(`${name} → ${status}, connection closed, the hidden publish never runs`, async (t) => {
      const channel = `smug:${name.replace(/[^a-z0-9]/gi, '_')}`;
      const body = hidden(h.srv.apiKey, channel);
      const c = new RawConn(h.port);
      t.defer(() => c.close());
      await c.opened();
      c.send(`POST /api/publish HTTP/1.1\r\nHost: x\r\nX-API-Key: ${h.srv.apiKey}\r\n${fields(body.length)}\r\n\r\n${body}`);
      // Either the server closes the connection, or it answers the hidden request too.
      await waitFor(() => c.ended || c.statuses().length >= 2, { timeout: 5000 * SCALE, label: 'close or a second response' });
      assert.equal(await historyCount(h.srv, channel), 0, `the hidden publish ran:\n${c.text()}`);
      assert.deepEqual(c.statuses(), [status], c.text());
      assert.match(c.text(), /connection: close/i);
      await c.closedByServer();
    });
  }

  // The same on a keep-alive connection's second request, which a requests thread reads
  // (the first is read on the event loop that accepted the connection).
  for (const [name, fields, status] of cases) {
    test(`after a first request: ${name} → ${status}, connection closed, the hidden publish never runs`, async (t) => {
      const channel = `smug:second_${name.replace(/[^a-z0-9]/gi, '_')}`;
      const body = hidden(h.srv.apiKey, channel);
      const c = new RawConn(h.port);
      t.defer(() => c.close());
      await c.opened();
      c.send('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
      await waitFor(() => c.statuses().length === 1, { timeout: 5000 * SCALE, label: 'first response' });
      c.send(`POST /api/publish HTTP/1.1\r\nHost: x\r\nX-API-Key: ${h.srv.apiKey}\r\n${fields(body.length)}\r\n\r\n${body}`);
      await waitFor(() => c.ended || c.statuses().length >= 3, { timeout: 5000 * SCALE, label: 'close or a third response' });
      assert.equal(await historyCount(h.srv, channel), 0, `the hidden publish ran:\n${c.text()}`);
      assert.deepEqual(c.statuses(), [200, status], c.text());
      assert.match(c.text(), /connection: close/i);
      await c.closedByServer();
    });
  }

  test('HTTP/1.0 with Transfer-Encoding, and bare LF line endings → 400 and closed', async (t) => {
    const channel = 'smug:other';
    const body = hidden(h.srv.apiKey, channel);
    const heads = [
      `POST /api/publish HTTP/1.0\r\nX-API-Key: ${h.srv.apiKey}\r\nTransfer-Encoding: chunked\r\n\r\n`,
      `POST /api/publish HTTP/1.1\nHost: x\nX-API-Key: ${h.srv.apiKey}\nContent-Length: 2\n\n{}`,
      `POST /api/publish HTTP/1.1\r\nX-API-Key: ${h.srv.apiKey}\r\nContent-Length: 2\r\n\r\n{}`, // no Host
    ];
    for (const head of heads) {
      const c = new RawConn(h.port);
      t.defer(() => c.close());
      await c.opened();
      c.send(head + body);
      await c.closedByServer();
      assert.deepEqual(c.statuses(), [400], JSON.stringify(head) + '\n' + c.text());
    }
    assert.equal(await historyCount(h.srv, channel), 0);
  });

  test('an oversized head → 431 and closed', async (t) => {
    const c = new RawConn(h.port);
    t.defer(() => c.close());
    await c.opened();
    c.send(`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20000)}\r\n\r\n`);
    await c.closedByServer();
    assert.deepEqual(c.statuses(), [431], c.text().slice(0, 200));
  });

  test('a well-formed chunked publish works and the connection stays open for the next request', async (t) => {
    const c = new RawConn(h.port);
    t.defer(() => c.close());
    await c.opened();
    const b = JSON.stringify({ channel: 'smug:chunked', data: { n: 1 } });
    const half = Math.floor(b.length / 2);
    const chunk = (s) => `${s.length.toString(16)}\r\n${s}\r\n`;
    c.send(`POST /api/publish HTTP/1.1\r\nHost: x\r\nX-API-Key: ${h.srv.apiKey}\r\nTransfer-Encoding: chunked\r\n\r\n` +
      chunk(b.slice(0, half)) + chunk(b.slice(half)) + '0\r\n\r\n');
    await c.waitFor(/"offset":1/);
    c.send('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor(() => c.statuses().length === 2, { timeout: 5000 * SCALE, label: 'second response' });
    assert.deepEqual(c.statuses(), [200, 200]);
    assert.equal(c.ended, false);
    assert.equal(await historyCount(h.srv, 'smug:chunked'), 1);
  });

  test('refusals are logged', async () => {
    await waitFor(() => /refused with 400: .*Transfer-Encoding/.test(h.srv.logText()), { label: 'a log line' });
  });
});

describe('API bounds at the HTTP layer', () => {
  const h = useServer({ name: 'http-api-bounds', config: { gyre: { http_api: { max_request_body_size: 1000 } } } });

  test('a wrong key gets 401 from the head alone: the body is never waited for', async (t) => {
    const c = new RawConn(h.port);
    t.defer(() => c.close());
    await c.opened();
    c.send('POST /api/publish HTTP/1.1\r\nHost: x\r\nX-API-Key: wrong\r\nContent-Length: 16000000\r\n\r\n');
    await c.closedByServer();
    assert.deepEqual(c.statuses(), [401], c.text());
    await waitFor(() => /refused with 401: a wrong API key/.test(h.srv.logText()), { label: '401 log line' });
  });

  test('a body over gyre.http_api.max_request_body_size → 413 without reading it; logged', async (t) => {
    const c = new RawConn(h.port);
    t.defer(() => c.close());
    await c.opened();
    c.send(`POST /api/publish HTTP/1.1\r\nHost: x\r\nX-API-Key: ${h.srv.apiKey}\r\nContent-Length: 1001\r\n\r\n`);
    await c.closedByServer();
    assert.deepEqual(c.statuses(), [413], c.text());
    // A chunked body that outgrows the limit.
    const d = new RawConn(h.port);
    t.defer(() => d.close());
    await d.opened();
    d.send(`POST /api/publish HTTP/1.1\r\nHost: x\r\nX-API-Key: ${h.srv.apiKey}\r\nTransfer-Encoding: chunked\r\n\r\n` +
      `400\r\n${'x'.repeat(0x400)}\r\n`);
    await d.closedByServer();
    assert.deepEqual(d.statuses(), [413], d.text());
    await waitFor(() => /refused with 413/.test(h.srv.logText()), { label: '413 log line' });
    // Within the limit, through fetch: fine.
    const ok = await apiRaw(h.srv, 'publish', { channel: 'b', data: { pad: 'x'.repeat(900) } });
    assert.equal(ok.status, 200, ok.text);
  });

  test('Expect: 100-continue → 100 before the body is sent, then the reply', async (t) => {
    const c = new RawConn(h.port);
    t.defer(() => c.close());
    await c.opened();
    const b = JSON.stringify({ channel: 'cont', data: { n: 1 } });
    c.send(`POST /api/publish HTTP/1.1\r\nHost: x\r\nX-API-Key: ${h.srv.apiKey}\r\nExpect: 100-continue\r\nContent-Length: ${b.length}\r\n\r\n`);
    await c.waitFor(/HTTP\/1\.1 100 Continue\r\n\r\n/);
    c.send(b);
    await waitFor(() => c.statuses().length === 2, { timeout: 5000 * SCALE, label: 'the reply' });
    assert.deepEqual(c.statuses(), [100, 200]);
    // A wrong key with Expect gets its 401 instead of a 100.
    const d = new RawConn(h.port);
    t.defer(() => d.close());
    await d.opened();
    d.send(`POST /api/publish HTTP/1.1\r\nHost: x\r\nX-API-Key: no\r\nExpect: 100-continue\r\nContent-Length: ${b.length}\r\n\r\n`);
    await d.closedByServer();
    assert.deepEqual(d.statuses(), [401]);
  });
});

describe('wrong-key bodies are not buffered', () => {
  const h = useServer({ name: 'http-api-401-flood' });

  test('20 concurrent 16 MB bodies with a wrong key: 401 each, the server does not grow by their size', async (t) => {
    const size = 16 * 1000 * 1000;
    const before = rss(h.srv.proc.pid);
    const chunk = Buffer.alloc(1 << 20, 'x');
    const conns = [];
    for (let i = 0; i < 20; i++) {
      const c = new RawConn(h.port);
      t.defer(() => c.close());
      conns.push(c);
    }
    await Promise.all(conns.map((c) => c.opened()));
    for (const c of conns) {
      c.send(`POST /api/publish HTTP/1.1\r\nHost: x\r\nX-API-Key: wrong\r\nContent-Length: ${size}\r\n\r\n`);
      // Send the body as the server lets us (it discards it while lingering, then closes).
      let sent = 0;
      const pump = () => {
        while (sent < size && !c.ended) {
          sent += chunk.length;
          if (!c.sock.write(chunk)) return c.sock.once('drain', pump);
        }
      };
      pump();
    }
    await Promise.all(conns.map((c) => c.closedByServer(20000 * SCALE)));
    const after = rss(h.srv.proc.pid);
    const grown = after.peak - before.peak;
    t.diagnostic(`peak RSS grew by ${(grown / 1048576).toFixed(1)} MB`);
    // The old behaviour buffered every body: ~270 MB. Allow allocator noise, not bodies.
    assert.ok(grown < 48 * 1024 * 1024, `peak RSS grew by ${(grown / 1048576).toFixed(1)} MB`);
    for (const c of conns) assert.deepEqual(c.statuses(), [401]);
    await h.srv.assertServing();
  });
});
