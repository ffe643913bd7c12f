// A helper server process of the scale-out tests (redis-server, nats-server): spawned in a
// temp dir with its log there, ready when a probe says so, restartable on the same port
// and dir, stopped by pid (SIGTERM, SIGKILL after a timeout), or paused and resumed
// (SIGSTOP / SIGCONT through signal()). Every daemon still running
// when the test process exits is SIGKILLed. Subclasses give the command line and the probe.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from './server.js';
import { SCALE, waitFor } from './wait.js';

const live = new Set();

// Throws unless every named binary is on PATH (tests fail, not skip: scripts/deps.sh
// installs them).
export function requireBinaries(...names) {
  const missing = names.filter((n) => spawnSync('sh', ['-c', `command -v ${n}`]).status !== 0);
  if (missing.length) {
    throw new Error(`missing ${missing.join(', ')} on PATH: run scripts/deps.sh (apt-get install redis-server nats-server)`);
  }
}

export class Daemon {
  constructor({ name, binary, logFile }) {
    requireBinaries(binary);
    this.name = name;
    this.binary = binary;
    this.dir = tempDir(`gyre-e2e-${name}-`);
    this.logPath = path.join(this.dir, logFile);
    this.port = 0;
    this.proc = null;
    this.exit = null;
  }

  // Spawns `binary args` and waits until `ready()` resolves true (bounded); on failure the
  // process is killed and the error carries its log tail.
  async spawnAndWait(args, ready, label) {
    const log = fs.openSync(this.logPath, 'a');
    this.exit = null;
    const proc = spawn(this.binary, args, { cwd: this.dir, stdio: ['ignore', log, log] });
    fs.closeSync(log);
    this.proc = proc;
    proc.on('exit', (code, signal) => {
      if (this.proc === proc) this.exit = { code, signal };
    });
    live.add(this);
    try {
      await waitFor(async () => {
        if (this.exit) throw Object.assign(new Error(`${this.name} exited: ${JSON.stringify(this.exit)}`), { fatal: true });
        return ready();
      }, { timeout: 10000 * SCALE, label });
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

  // Sends a signal without waiting for an exit (SIGSTOP / SIGCONT).
  signal(sig) {
    if (this.proc && !this.exit) this.proc.kill(sig);
  }

  // Stops the server for good and removes its dir (kept with GYRE_E2E_KEEP_LOGS).
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
    const all = text.trimEnd().split('\n');
    return `--- ${this.name} log (${this.logPath}) ---\n${all.slice(-lines).join('\n')}`;
  }
}

// Never leave a daemon behind when the test process exits abruptly.
process.on('exit', () => {
  for (const d of live) {
    try {
      if (d.proc && !d.exit) d.proc.kill('SIGKILL');
    } catch {}
  }
});
