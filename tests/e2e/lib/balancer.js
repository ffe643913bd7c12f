// A TCP balancer on 127.0.0.1 for the chaos tests: every accepted connection is piped to
// the next upstream in round-robin order (Gyre nodes behind one address, as a load
// balancer would put them), or to a single upstream as a proxy that the test can cut
// (Redis seen by one node only).
//
// What holds:
// - Listens on a port asked from the OS, on 127.0.0.1 only; upstreams are loopback ports.
// - Round robin: connection k goes to upstream k mod n; an upstream that refuses (a
//   SIGKILLed node) is skipped and the next one tried, at most n attempts per connection;
//   when none accepts, the client's socket is closed.
// - Bytes are piped both ways unchanged; when either side closes or fails, both are
//   destroyed (a node killed under a WebSocket makes its clients see the close at once).
// - block(): from then on accepted connections are closed at once (the peer sees the
//   server go away and retries); with {drop: true} the open ones are destroyed too.
//   unblock() lets connections through again.
// - stop() closes the listener and destroys every connection; bounded.
import net from 'node:net';
import { HOST } from './server.js';
import { SCALE, withTimeout } from './wait.js';

export class TcpBalancer {
  // upstreams: loopback ports (numbers) or {host, port}.
  constructor({ name = 'balancer', upstreams = [] } = {}) {
    this.name = name;
    this.setUpstreams(upstreams);
    this.server = null;
    this.port = 0;
    this.next = 0;
    this.blocked = false;
    this.pairs = new Set();
    // Per upstream "host:port": connections piped to it so far.
    this.routed = new Map();
    this.refused = 0;
  }

  setUpstreams(list) {
    this.upstreams = list.map((u) => (typeof u === 'number' ? { host: HOST, port: u } : u));
  }

  get address() {
    return `${HOST}:${this.port}`;
  }
  get url() {
    return `redis://${HOST}:${this.port}`;
  }
  get wsUrl() {
    return `ws://${HOST}:${this.port}/connection/websocket`;
  }

  async start() {
    this.server = net.createServer((sock) => this.accept(sock));
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, HOST, () => resolve());
    });
    this.port = this.server.address().port;
    return this;
  }

  accept(client) {
    client.on('error', () => {});
    if (this.blocked || this.upstreams.length === 0) {
      this.refused++;
      client.destroy();
      return;
    }
    client.pause();
    const pair = { client, upstream: null };
    this.pairs.add(pair);
    const close = () => {
      this.pairs.delete(pair);
      client.destroy();
      if (pair.upstream) pair.upstream.destroy();
    };
    client.once('close', close);
    const first = this.next++ % this.upstreams.length;
    const attempt = (k) => {
      if (client.destroyed) return;
      if (k >= this.upstreams.length || this.blocked) {
        this.refused++;
        close();
        return;
      }
      const target = this.upstreams[(first + k) % this.upstreams.length];
      const up = net.connect({ host: target.host, port: target.port });
      let connected = false;
      let failed = false;
      up.on('error', () => {
        if (connected) return close();
        if (failed) return;
        failed = true;
        attempt(k + 1);
      });
      up.once('connect', () => {
        connected = true;
        if (client.destroyed || this.blocked) {
          up.destroy();
          if (!client.destroyed) close();
          return;
        }
        pair.upstream = up;
        const key = `${target.host}:${target.port}`;
        this.routed.set(key, (this.routed.get(key) || 0) + 1);
        up.once('close', close);
        up.setNoDelay(true);
        client.setNoDelay(true);
        client.pipe(up);
        up.pipe(client);
        client.resume();
      });
    };
    attempt(0);
  }

  // Connections currently piped (client side open).
  get open() {
    return this.pairs.size;
  }

  block({ drop = false } = {}) {
    this.blocked = true;
    if (drop) this.dropAll();
  }

  unblock() {
    this.blocked = false;
  }

  dropAll() {
    for (const p of [...this.pairs]) {
      p.client.destroy();
      if (p.upstream) p.upstream.destroy();
      this.pairs.delete(p);
    }
  }

  async stop() {
    if (!this.server) return;
    this.blocked = true;
    this.dropAll();
    const s = this.server;
    this.server = null;
    await withTimeout(new Promise((resolve) => s.close(() => resolve())), 5000 * SCALE, `${this.name} to close`);
  }
}

export async function startBalancer(opts) {
  return new TcpBalancer(opts).start();
}
