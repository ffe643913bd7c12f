// Starts a fresh build/gyre for a test file (or group): config written to a temp dir, a
// free loopback port asked from the OS, readiness by polling /health, stdout+stderr into a
// log file whose tail is attached to failing tests (see lib/test.js), and a bounded stop:
// SIGTERM, then SIGKILL after a timeout.
//
// Env: GYRE_BIN — the server binary (default ../../build/gyre relative to tests/e2e);
//      GYRE_E2E_KEEP_LOGS=1 — keep temp dirs (logs, configs) after the run;
//      GYRE_E2E_TIMEOUT_SCALE — multiplier for every timeout (see lib/wait.js).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SCALE, sleep, waitFor } from './wait.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const E2E_DIR = path.resolve(here, '..');
export const GYRE_BIN = path.resolve(E2E_DIR, process.env.GYRE_BIN || '../../build/gyre');
export const HOST = '127.0.0.1';
export const API_KEY = 'e2e-api-key';
export const HMAC_SECRET = 'e2e-hmac-secret';

// Servers started by this process and not yet stopped: their logs go with failures.
export const liveServers = new Set();

export function tempDir(prefix = 'gyre-e2e-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

// Asks the OS for a free port on 127.0.0.1 (bind to port 0, read it, release it).
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, HOST, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function isObject(v) {
  return v && typeof v === 'object' && !Array.isArray(v);
}

// Deep merge of plain objects; arrays and scalars of `b` replace those of `a`.
export function merge(a, b) {
  const out = { ...a };
  for (const [k, v] of Object.entries(b || {})) out[k] = isObject(v) && isObject(out[k]) ? merge(out[k], v) : v;
  return out;
}

// The base every test config starts from: health + metrics on, an API key, an HMAC secret.
export function baseConfig() {
  return {
    log: { level: 'info' },
    health: { enabled: true },
    prometheus: { enabled: true },
    http_api: { key: API_KEY },
    client: { token: { hmac_secret_key: HMAC_SECRET } },
    gyre: { num_event_loops: 2 },
  };
}

export class GyreServer {
  constructor({ config = {}, name = 'gyre', env = {}, args = [], configFile, rawConfig, port, portInFile = false } = {}) {
    this.name = name;
    this.fixedPort = port; // listen on this port instead of a fresh free one (restart tests)
    // Address and port go into the config file (http_server.*) instead of -a/-p flags, so
    // that a test can rewrite them (reload tests).
    this.portInFile = portInFile;
    this.config = merge(baseConfig(), config);
    this.env = env;
    this.args = args;
    this.dir = tempDir(`gyre-e2e-${name.replace(/[^a-z0-9_-]/gi, '_')}-`);
    this.configPath = path.join(this.dir, configFile || 'config.json');
    this.rawConfig = rawConfig; // text written as is (YAML/TOML tests)
    this.logPath = path.join(this.dir, 'server.log');
    this.proc = null;
    this.exit = null; // {code, signal} once exited
  }

  get url() {
    return `http://${HOST}:${this.port}`;
  }
  get wsUrl() {
    return `ws://${HOST}:${this.port}/connection/websocket`;
  }
  get apiUrl() {
    return `${this.url}/api`;
  }
  get apiKey() {
    return this.config.http_api?.key ?? API_KEY;
  }

  async start() {
    this.port = this.fixedPort ?? (await freePort());
    if (this.portInFile) this.config = merge(this.config, { http_server: { address: HOST, port: this.port } });
    fs.writeFileSync(this.configPath, this.rawConfig ?? JSON.stringify(this.config, null, 2));
    if (!fs.existsSync(GYRE_BIN)) throw new Error(`server binary not found: ${GYRE_BIN} (build it or set GYRE_BIN)`);
    const log = fs.openSync(this.logPath, 'a');
    const listen = this.portInFile ? [] : ['-p', String(this.port), '-a', HOST];
    this.proc = spawn(GYRE_BIN, ['-c', this.configPath, ...listen, ...this.args], {
      cwd: this.dir,
      env: { ...cleanEnv(), ...this.env },
      stdio: ['ignore', log, log],
    });
    fs.closeSync(log);
    this.proc.on('exit', (code, signal) => {
      this.exit = { code, signal };
    });
    liveServers.add(this);
    try {
      await waitFor(async () => this.exit === null && (await this.healthy()), {
        timeout: 10000 * SCALE,
        label: `${this.name} /health on port ${this.port}`,
      });
    } catch (e) {
      const why = this.exit ? ` (exited: ${JSON.stringify(this.exit)})` : '';
      await this.stop({ check: false });
      throw new Error(`${e.message}${why}\n${this.logTail()}`);
    }
    return this;
  }

  async healthy() {
    try {
      const r = await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(1000 * SCALE) });
      await r.text();
      return r.status === 200;
    } catch {
      return false;
    }
  }

  // Throws unless the process is alive and /health answers.
  async assertServing() {
    if (this.exit) throw new Error(`${this.name} exited: ${JSON.stringify(this.exit)}\n${this.logTail()}`);
    const ok = await this.healthy();
    if (!ok) throw new Error(`${this.name} does not answer /health\n${this.logTail()}`);
  }

  logText() {
    try {
      return fs.readFileSync(this.logPath, 'utf8');
    } catch {
      return '';
    }
  }

  logTail(lines = 40) {
    const all = this.logText().trimEnd().split('\n');
    return `--- ${this.name} log (${this.logPath}), last ${Math.min(lines, all.length)} lines ---\n` +
      all.slice(-lines).join('\n');
  }

  // Sends a signal; resolves with {code, signal} once the process exited (or null on timeout).
  async kill(signal = 'SIGTERM', timeout = 5000 * SCALE) {
    if (!this.proc || this.exit) return this.exit;
    this.proc.kill(signal);
    try {
      await waitFor(() => this.exit !== null, { timeout, label: `${this.name} to exit after ${signal}` });
    } catch {
      return null;
    }
    return this.exit;
  }

  // Stops the server. With check (default), first asserts it is still serving: a test file
  // fails if its server crashed, even when every test passed.
  async stop({ check = true } = {}) {
    let err = null;
    if (check) {
      try {
        await this.assertServing();
      } catch (e) {
        err = e;
      }
    }
    if (this.proc && !this.exit) {
      const r = await this.kill('SIGTERM', 10000 * SCALE);
      if (!r) {
        await this.kill('SIGKILL', 5000 * SCALE);
        if (check && !err) err = new Error(`${this.name} did not exit within the timeout after SIGTERM\n${this.logTail()}`);
      } else if (check && !err && r.code !== 0) {
        // A clean shutdown exits 0; sanitizer builds exit non-zero on leaks or errors.
        err = new Error(`${this.name} exited with ${JSON.stringify(r)} after SIGTERM\n${this.logTail(60)}`);
      }
    }
    liveServers.delete(this);
    if (!process.env.GYRE_E2E_KEEP_LOGS && !err) fs.rmSync(this.dir, { recursive: true, force: true });
    if (err) throw err;
  }
}

// The environment for a server, without CENTRIFUGO_* variables of the caller's shell.
export function cleanEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('CENTRIFUGO_')) env[k] = v;
  return env;
}

export async function startServer(opts) {
  return new GyreServer(opts).start();
}

// Runs the gyre binary with arguments (CLI tests); bounded in time.
export function runGyre(args, { cwd, env = {}, timeout = 10000 * SCALE, input } = {}) {
  const r = spawnSync(GYRE_BIN, args, { cwd, env: { ...cleanEnv(), ...env }, timeout, encoding: 'utf8', input });
  return { code: r.status, signal: r.signal, stdout: r.stdout || '', stderr: r.stderr || '', error: r.error };
}

// Last resort: never leave a server behind if the test process exits abruptly.
process.on('exit', () => {
  for (const s of liveServers) {
    try {
      if (s.proc && !s.exit) s.proc.kill('SIGKILL');
    } catch {}
  }
});

export { sleep };
