// A private PostgreSQL server for the tests (the postgresql consumer): initdb into a temp
// dir, `postgres` on a loopback port with its socket in that dir, trust authentication
// for the user `gyre`, SQL run with the `psql` binary. When the tests run as root the
// server runs as the `postgres` system user (PostgreSQL refuses root).
//
// What holds:
// - Binaries from /usr/lib/postgresql/<version>/bin (the newest; scripts/deps.sh installs
//   the `postgresql` package); missing ones throw, so the test fails instead of skipping.
// - Listens on 127.0.0.1 only, on a port asked from the OS; fsync off (test data).
// - Signalled through its pid, never by name; SIGKILLed if the test process exits first.
// - Every wait and every psql run is bounded.
import { execFile, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { HOST, freePort, tempDir } from './server.js';
import { SCALE, waitFor } from './wait.js';

const live = new Set();
process.on('exit', () => {
  for (const pg of live) pg.proc?.kill('SIGKILL');
});

function binDir() {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root)
    ? fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, 'bin', 'postgres'))).sort((a, b) => Number(b) - Number(a))
    : [];
  if (!versions.length) throw new Error(`no ${root}/<version>/bin/postgres: run scripts/deps.sh (apt-get install postgresql)`);
  return path.join(root, versions[0], 'bin');
}

// uid/gid to run the server as: ours, or the `postgres` user's when we are root.
function runAs() {
  if (process.getuid() !== 0) return {};
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { uid, gid };
}

export class PostgresServer {
  constructor({ name = 'pg' } = {}) {
    this.name = name;
    this.bin = binDir();
    this.dir = tempDir(`gyre-e2e-${name}-`);
    this.data = path.join(this.dir, 'data');
    this.logPath = path.join(this.dir, 'postgres.log');
    this.user = runAs();
    if (this.user.uid !== undefined) fs.chownSync(this.dir, this.user.uid, this.user.gid);
    this.port = 0;
    this.proc = null;
  }

  get url() {
    return `postgres://gyre@${HOST}:${this.port}/postgres?sslmode=disable`;
  }

  async start() {
    execFileSync(path.join(this.bin, 'initdb'), ['-D', this.data, '-U', 'gyre', '--auth=trust', '-E', 'UTF8', '--no-sync'], {
      ...this.user,
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 60000 * SCALE,
    });
    this.port = await freePort();
    const log = fs.openSync(this.logPath, 'a');
    if (this.user.uid !== undefined) fs.fchownSync(log, this.user.uid, this.user.gid);
    this.exited = null;
    const proc = spawn(
      path.join(this.bin, 'postgres'),
      ['-D', this.data, '-k', this.dir, '-p', String(this.port), '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off'],
      { ...this.user, stdio: ['ignore', log, log] },
    );
    fs.closeSync(log);
    this.proc = proc;
    live.add(this);
    proc.on('exit', (code, signal) => {
      this.exited = { code, signal };
    });
    try {
      await waitFor(async () => {
        if (this.exited) throw Object.assign(new Error(`postgres exited: ${JSON.stringify(this.exited)}`), { fatal: true });
        try {
          return (await this.sql('SELECT 1')) === '1';
        } catch {
          return false;
        }
      }, { timeout: 20000 * SCALE, label: `${this.name} ready` });
    } catch (e) {
      await this.stop();
      throw new Error(`${e.message}\n${this.logTail()}`);
    }
    return this;
  }

  // Runs `text` (one or more statements) with psql; resolves with the unaligned, tuples-only
  // output, trimmed; rejects with psql's error.
  sql(text, { timeout = 10000 * SCALE } = {}) {
    return new Promise((resolve, reject) => {
      execFile(
        path.join(this.bin, 'psql'),
        ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', HOST, '-p', String(this.port), '-U', 'gyre', '-d', 'postgres', '-c', text],
        { timeout, maxBuffer: 16 << 20 },
        (err, stdout, stderr) => (err ? reject(new Error(`psql: ${stderr || err.message}`)) : resolve(stdout.trim())),
      );
    });
  }

  logTail() {
    try {
      return fs.readFileSync(this.logPath, 'utf8').split('\n').slice(-20).join('\n');
    } catch {
      return '';
    }
  }

  // Fast shutdown (SIGINT), SIGKILL if it did not exit in time; removes the dir.
  async stop() {
    const proc = this.proc;
    if (proc && !this.exited) {
      const gone = new Promise((resolve) => proc.once('exit', resolve));
      proc.kill('SIGINT');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10000 * SCALE);
      await gone;
      clearTimeout(timer);
    }
    live.delete(this);
    this.proc = null;
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function startPostgres(opts) {
  return new PostgresServer(opts).start();
}
