// A real nats-server for the scale-out tests: started on a free 127.0.0.1 port with its log
// in a temp dir, stopped (by pid) and restarted on the same port. Ready means the server
// sent its INFO line to a fresh TCP connection. A missing nats-server throws (tests fail,
// not skip: scripts/deps.sh installs it).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { requireBinaries } from './redis.js';
import { HOST, freePort, tempDir } from './server.js';
import { SCALE, waitFor } from './wait.js';

const live = new Set();

// Resolves true when a connection to port gets a NATS INFO line within `timeout`.
function natsAnswers(port, timeout = 500 * SCALE) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: HOST, port });
    const done = (ok) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeout);
    sock.on('error', () => done(false));
    sock.on('data', (d) => done(d.toString('utf8').startsWith('INFO ')));
  });
}

export class NatsServer {
  constructor({ name = 'nats', args = [] } = {}) {
    requireBinaries('nats-server');
    this.name = name;
    this.extraArgs = args;
    this.dir = tempDir(`gyre-e2e-${name}-`);
    this.logPath = path.join(this.dir, 'nats.log');
    this.port = 0;
    this.proc = null;
    this.exit = null;
  }

  get url() {
    return `nats://${HOST}:${this.port}`;
  }

  // Starts the server (on the same port when it ran before) and waits until it answers.
  async start() {
    if (this.proc && !this.exit) return this;
    if (!this.port) this.port = await freePort();
    const log = fs.openSync(this.logPath, 'a');
    this.exit = null;
    const proc = spawn('nats-server', ['-a', HOST, '-p', String(this.port), ...this.extraArgs], {
      cwd: this.dir,
      stdio: ['ignore', log, log],
    });
    fs.closeSync(log);
    this.proc = proc;
    proc.on('exit', (code, signal) => {
      if (this.proc === proc) this.exit = { code, signal };
    });
    live.add(this);
    try {
      await waitFor(async () => {
        if (this.exit) throw Object.assign(new Error(`${this.name} exited: ${JSON.stringify(this.exit)}`), { fatal: true });
        return natsAnswers(this.port);
      }, { timeout: 10000 * SCALE, label: `${this.name} on port ${this.port}` });
    } catch (e) {
      await this.kill('SIGKILL');
      throw new Error(`${e.message}\n${this.logTail()}`);
    }
    return this;
  }

  // Signals the process; resolves once it exited (SIGKILL after `timeout` if it did not).
  async kill(signal = 'SIGTERM', timeout = 10000 * SCALE) {
    if (!this.proc || this.exit) return this.exit;
    this.proc.kill(signal);
    try {
      await waitFor(() => this.exit !== null, { timeout, label: `${this.name} to exit after ${signal}` });
    } catch {
      this.proc.kill('SIGKILL');
      await waitFor(() => this.exit !== null, { timeout: 5000 * SCALE, label: `${this.name} to exit after SIGKILL` });
    }
    return this.exit;
  }

  async stop() {
    await this.kill('SIGTERM');
    live.delete(this);
    if (!process.env.GYRE_E2E_KEEP_LOGS) fs.rmSync(this.dir, { recursive: true, force: true });
  }

  logTail(lines = 20) {
    let text = '';
    try {
      text = fs.readFileSync(this.logPath, 'utf8');
    } catch {}
    return `--- ${this.name} log (${this.logPath}) ---\n${text.trimEnd().split('\n').slice(-lines).join('\n')}`;
  }
}

export async function startNats(opts) {
  return new NatsServer(opts).start();
}

process.on('exit', () => {
  for (const s of live) {
    try {
      if (s.proc && !s.exit) s.proc.kill('SIGKILL');
    } catch {}
  }
});
