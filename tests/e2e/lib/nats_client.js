// A minimal NATS protocol client for tests (no npm NATS client is a dependency): connect,
// publish with headers (HPUB) and request/reply, enough to create a JetStream stream
// through $JS.API and to publish into it with acknowledgements. Every wait is bounded.
import net from 'node:net';
import { HOST } from './server.js';
import { SCALE } from './wait.js';

export class NatsClient {
  constructor(port) {
    this.port = port;
    this.buf = Buffer.alloc(0);
    this.waiters = new Map(); // reply subject -> resolve
    this.seq = 0;
    this.inbox = `_INBOX.gyre_e2e_${process.pid}_${Math.random().toString(36).slice(2)}`;
  }

  async connect(timeout = 5000 * SCALE) {
    this.sock = net.connect({ host: HOST, port: this.port, noDelay: true });
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('NATS connect timeout')), timeout);
      this.sock.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      this.sock.once('data', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.sock.on('data', (d) => this.onData(d));
    this.sock.write(`CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true}\r\nSUB ${this.inbox}.* 1\r\n`);
    return this;
  }

  onData(d) {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      const eol = this.buf.indexOf('\r\n');
      if (eol < 0) return;
      const line = this.buf.toString('utf8', 0, eol);
      if (line.startsWith('PING')) {
        this.sock.write('PONG\r\n');
      } else if (line.startsWith('MSG') || line.startsWith('HMSG')) {
        const parts = line.split(' ');
        const total = Number(parts[parts.length - 1]);
        if (this.buf.length < eol + 2 + total + 2) return;
        const body = this.buf.subarray(eol + 2, eol + 2 + total);
        this.buf = this.buf.subarray(eol + 2 + total + 2);
        const resolve = this.waiters.get(parts[1]);
        if (resolve) {
          this.waiters.delete(parts[1]);
          resolve({ headers: line.startsWith('HMSG'), body });
        }
        continue;
      }
      this.buf = this.buf.subarray(eol + 2);
    }
  }

  // Publishes `payload` (string) with `headers` ({name: value}); with `reply`, resolves with
  // the answer (bounded), else at once.
  publish(subject, payload, headers = {}, { reply = false, timeout = 5000 * SCALE } = {}) {
    const body = Buffer.from(payload);
    let hdr = 'NATS/1.0\r\n';
    for (const [k, v] of Object.entries(headers)) hdr += `${k}: ${v}\r\n`;
    hdr += '\r\n';
    const hlen = Buffer.byteLength(hdr);
    let answer = null;
    let replyTo = '';
    if (reply) {
      replyTo = `${this.inbox}.${++this.seq}`;
      answer = new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          this.waiters.delete(replyTo);
          reject(new Error(`no reply on ${subject} within ${timeout} ms`));
        }, timeout);
        this.waiters.set(replyTo, (m) => {
          clearTimeout(timer);
          resolve(m);
        });
      });
    }
    this.sock.write(`HPUB ${[subject, replyTo, hlen, hlen + body.length].filter((x) => x !== '').join(' ')}\r\n${hdr}`);
    this.sock.write(body);
    this.sock.write('\r\n');
    return answer;
  }

  // A JetStream API request; resolves with the parsed JSON answer.
  async jsApi(subject, request) {
    const m = await this.publish(subject, JSON.stringify(request), {}, { reply: true });
    const text = m.body.toString('utf8');
    return JSON.parse(m.headers ? text.slice(text.indexOf('\r\n\r\n') + 4) : text);
  }

  close() {
    this.sock?.destroy();
  }
}
