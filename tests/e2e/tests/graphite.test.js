// Graphite export (graphite.*, docs/metrics.md): a TCP receiver on 127.0.0.1 parses the
// plaintext lines the server sends (`<path> <value> <unix seconds>`) — prefix and node
// name, Centrifugo's path layout, values that follow a workload, timestamps, tags mode —
// and goes away and comes back while the server keeps sending. Bad settings are refused
// naming the key.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, test } from '../lib/test.js';
import { freePort, HOST, runGyre, startServer, tempDir } from '../lib/server.js';
import { connToken } from '../lib/tokens.js';
import { connected } from '../lib/sdk.js';
import { apiRaw } from '../lib/api.js';
import { waitFor } from '../lib/wait.js';

const LINE = /^(\S+) (-?[0-9][0-9.e+-]*) ([0-9]+)$/;

// A Graphite plaintext receiver: every complete line received, parsed.
class Receiver {
  constructor(port) {
    this.port = port;
    this.lines = [];
    this.malformed = [];
    this.sockets = new Set();
    this.connections = 0;
  }

  listen() {
    this.server = net.createServer((s) => {
      this.connections++;
      this.sockets.add(s);
      let rest = '';
      s.setEncoding('utf8');
      s.on('data', (chunk) => {
        rest += chunk;
        const parts = rest.split('\n');
        rest = parts.pop();
        for (const l of parts) {
          const m = l.match(LINE);
          if (m) this.lines.push({ path: m[1], value: Number(m[2]), ts: Number(m[3]), at: Date.now() });
          else this.malformed.push(l);
        }
      });
      s.on('error', () => {});
      s.on('close', () => this.sockets.delete(s));
    });
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, HOST, resolve);
    });
  }

  // Stops listening and drops every connection (the receiver "goes away").
  close() {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  latest(p) {
    for (let i = this.lines.length - 1; i >= 0; i--) if (this.lines[i].path === p) return this.lines[i];
    return undefined;
  }
}

function graphiteConfig(port, extra = {}) {
  return {
    node: { name: 'e2e.node one' },
    graphite: { enabled: true, host: HOST, port, prefix: 'gyre-e2e.', interval: '100ms', ...extra },
  };
}

describe('graphite', () => {
  test('lines carry prefix, node, Centrifugo paths, live values and current timestamps; the receiver can go away and come back', async (t) => {
    const port = await freePort();
    const rx = new Receiver(port);
    await rx.listen();
    t.defer(() => rx.close());
    const started = Math.floor(Date.now() / 1000);
    const srv = await startServer({ name: 'graphite', config: graphiteConfig(port) });
    t.defer(() => srv.stop());
    // Prefix without its trailing dot, node name with dots and spaces cleaned.
    const base = 'gyre-e2e.e2e_node_one.';
    const clients = `${base}centrifugo.node.num_clients`;
    await waitFor(() => rx.latest(clients), { label: 'num_clients line' });
    assert.deepEqual(rx.malformed, []);
    for (const l of rx.lines) {
      assert.ok(l.path.startsWith(base), l.path);
      assert.ok(l.ts >= started - 1 && l.ts <= Math.ceil(Date.now() / 1000) + 1, `timestamp ${l.ts}`);
      assert.ok(Number.isFinite(l.value));
    }
    // Values follow the workload: a connection, API publishes, an API error with labels.
    await connected('json', srv.wsUrl, { token: connToken('g1') }, t);
    await waitFor(() => rx.latest(clients)?.value === 1, { label: 'num_clients = 1' });
    for (let i = 0; i < 3; i++) assert.equal((await apiRaw(srv, 'publish', { channel: 'g', data: { i } })).status, 200);
    await apiRaw(srv, 'publish', { channel: 'nope:x', data: {} });
    const publishes = `${base}centrifugo.api.command_duration_seconds_histogram_count.http.publish`;
    await waitFor(() => rx.latest(publishes)?.value === 4, { label: 'publish count = 4' });
    await waitFor(() => rx.latest(`${base}centrifugo.api.command_errors_total.http.publish.102`)?.value === 1, {
      label: 'API error line with label values as path components',
    });
    assert.ok(rx.lines.some((l) => l.path === `${base}process_open_fds`), 'process metrics kept whole');

    // The receiver goes away: the server notices, keeps serving, and sends again when it is back.
    const connectionsBefore = rx.connections;
    await rx.close();
    await waitFor(() => /graphite: no connection/.test(srv.logText()), { label: 'the lost connection logged' });
    await srv.assertServing();
    await apiRaw(srv, 'publish', { channel: 'g', data: { after: true } });
    const back = new Receiver(port);
    await back.listen();
    t.defer(() => back.close());
    await waitFor(() => back.latest(publishes)?.value === 5, { label: 'lines after the receiver came back' });
    assert.ok(back.connections >= 1 && connectionsBefore >= 1);
    assert.deepEqual(back.malformed, []);
    await waitFor(() => /graphite: connected to .* again/.test(srv.logText()), { label: 'reconnection logged' });
  });

  test('tags mode: labels become Graphite tags, empty values are left out', async (t) => {
    const port = await freePort();
    const rx = new Receiver(port);
    await rx.listen();
    t.defer(() => rx.close());
    const srv = await startServer({ name: 'graphite-tags', config: graphiteConfig(port, { tags: true, prefix: 'tagged' }) });
    t.defer(() => srv.stop());
    await apiRaw(srv, 'publish', { channel: 'nope:x', data: {} });
    const want = 'tagged.e2e_node_one.centrifugo.api.command_errors_total;protocol=http;method=publish;error=102';
    await waitFor(() => rx.latest(want)?.value === 1, { label: want });
    for (const l of rx.lines) assert.ok(!/=(;|$)/.test(l.path), `no empty tag value: ${l.path}`);
  });

  test('bad graphite settings are refused naming the key', () => {
    const dir = tempDir();
    const check = (graphite) => {
      const f = path.join(dir, 'c.json');
      fs.writeFileSync(f, JSON.stringify({ graphite: { enabled: true, ...graphite } }));
      return runGyre(['checkconfig', '-c', f]);
    };
    const badPort = check({ port: 70000 });
    assert.equal(badPort.code, 1);
    assert.match(badPort.stdout + badPort.stderr, /graphite\.port/);
    const badInterval = check({ interval: '-1s' });
    assert.equal(badInterval.code, 1);
    assert.match(badInterval.stdout + badInterval.stderr, /graphite\.interval/);
    assert.equal(check({ port: 2003 }).code, 0);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
