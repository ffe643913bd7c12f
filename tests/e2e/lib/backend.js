// A proxy backend for tests: a Node `http` server on 127.0.0.1 whose handler per path is
// set by the test. It records every request (path, headers, parsed JSON body) and answers
// with what the handler returns: {status, body} (body: object → JSON, string → as is),
// {delay} to answer late, {destroy: true} to drop the socket.
import http from 'node:http';
import { HOST } from './server.js';
import { sleep } from './wait.js';

export class Backend {
  constructor() {
    this.requests = [];
    this.handlers = new Map(); // path → (body, req) => response
    this.server = http.createServer((req, res) => this.onRequest(req, res));
    this.sockets = new Set();
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  async start() {
    await new Promise((resolve) => this.server.listen(0, HOST, resolve));
    this.port = this.server.address().port;
    this.url = `http://${HOST}:${this.port}`;
    return this;
  }

  async stop() {
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.server.close(() => resolve()));
  }

  on(path, fn) {
    this.handlers.set(path, fn);
  }

  // Requests received on `path`.
  calls(path) {
    return this.requests.filter((r) => r.path === path);
  }

  onRequest(req, res) {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const text = Buffer.concat(chunks).toString();
      let body;
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
      const entry = { path: req.url, method: req.method, headers: req.headers, body };
      this.requests.push(entry);
      const fn = this.handlers.get(req.url);
      let out = fn ? await fn(body, req) : { status: 404, body: 'no handler' };
      out = out || { body: {} };
      if (out.delay) await sleep(out.delay);
      if (out.destroy) return req.socket.destroy();
      const payload = typeof out.body === 'string' ? out.body : JSON.stringify(out.body ?? {});
      res.writeHead(out.status || 200, { 'Content-Type': 'application/json' });
      res.end(payload);
    });
  }
}
