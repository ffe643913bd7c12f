// Structured logs (docs/logging.md): with stderr piped the server writes one JSON object
// per line, each with level, time, message and the line's fields, and escapes what a peer
// sent (a WebSocket Origin with quotes, backslashes and non-UTF-8 bytes) so that every line
// still parses; `gyre.log_format: text` and a terminal give human-readable lines; an
// unknown format is refused naming the key.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, test } from '../lib/test.js';
import { baseConfig, cleanEnv, freePort, GYRE_BIN, HOST, merge, runGyre, tempDir } from '../lib/server.js';
import { SCALE, waitFor } from '../lib/wait.js';

const LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);
const RFC3339_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const HAVE_SCRIPT = spawnSync('sh', ['-c', 'command -v script']).status === 0;

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// Starts build/gyre with stderr (and stdout) piped; `out` and `err` collect what it writes.
// With viaTerminal, `script` runs it on a pseudo-terminal (what an operator's shell gives
// it); the server runs in a session of its own there, so it is stopped through its pid file.
async function startPiped(config, t, { viaTerminal = false } = {}) {
  const dir = tempDir('gyre-e2e-logs-');
  const cfg = path.join(dir, 'config.json');
  const pidFile = path.join(dir, 'gyre.pid');
  fs.writeFileSync(cfg, JSON.stringify(merge(baseConfig(), { pid_file: pidFile, ...config })));
  const port = await freePort();
  const args = ['-c', cfg, '-p', String(port), '-a', HOST];
  const proc = viaTerminal
    ? spawn('script', ['-qfec', ['exec', GYRE_BIN, ...args].join(' '), '/dev/null'], { env: cleanEnv(), stdio: ['pipe', 'pipe', 'pipe'] })
    : spawn(GYRE_BIN, args, { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  const s = { proc, port, pidFile, out: '', err: '', exited: false };
  proc.stdout.on('data', (d) => (s.out += d.toString('utf8')));
  proc.stderr.on('data', (d) => (s.err += d.toString('utf8')));
  proc.on('exit', () => (s.exited = true));
  t.defer(async () => {
    const pid = viaTerminal ? Number(fs.existsSync(pidFile) ? fs.readFileSync(pidFile, 'utf8') : 0) : proc.pid;
    if (pid && alive(pid)) {
      process.kill(pid, 'SIGTERM');
      await waitFor(() => !alive(pid), { timeout: 10000 * SCALE, label: 'server exit' }).catch(() => process.kill(pid, 'SIGKILL'));
    }
    if (!s.exited) proc.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return s;
}

// The complete lines of `text` parsed as JSON (throws on a line that is not an object).
function jsonLines(text) {
  return text
    .split('\n')
    .slice(0, -1)
    .map((l) => {
      const o = JSON.parse(l);
      assert.equal(typeof o, 'object', l);
      return o;
    });
}

// A raw WebSocket upgrade with `origin` (bytes as given), answered 403 when not allowed.
function upgradeWithOrigin(port, origin) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, HOST, () => {
      sock.write(
        Buffer.concat([
          Buffer.from(
            'GET /connection/websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
              'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: ',
          ),
          origin,
          Buffer.from('\r\n\r\n'),
        ]),
      );
    });
    let got = '';
    sock.on('data', (d) => (got += d.toString('latin1')));
    sock.on('error', reject);
    sock.on('close', () => resolve(got));
    sock.setTimeout(5000 * SCALE, () => sock.destroy());
  });
}

describe('logging', () => {
  test('stderr piped: JSON lines with level, time, message and fields; peer input escaped', async (t) => {
    const before = Date.now();
    const s = await startPiped({ client: { allowed_origins: ['http://ok.example'] } }, t);
    await waitFor(() => jsonLines(s.err).some((l) => l.message === 'Gyre started'), { label: 'the start line' });
    const start = jsonLines(s.err).find((l) => l.message === 'Gyre started');
    assert.equal(start.level, 'info');
    assert.equal(start.pid, s.proc.pid);
    assert.equal(start.event_loops, 2);
    assert.equal(typeof start.version, 'string');
    assert.equal(typeof start.node, 'string');
    assert.match(start.engine, /memory/);

    // An Origin with a quote, a backslash, a tab and a byte that is not UTF-8.
    const origin = Buffer.concat([Buffer.from('http://evil.example/"q"\\b\t'), Buffer.from([0xff])]);
    const reply = await upgradeWithOrigin(s.port, origin);
    assert.match(reply, /^HTTP\/1\.1 403/);
    await waitFor(() => /Origin is not allowed/.test(s.err), { label: 'the refusal line' });
    const lines = jsonLines(s.err);
    const refusal = lines.find((l) => l.message.startsWith('request Origin is not allowed'));
    assert.equal(refusal.message, 'request Origin is not allowed: http://evil.example/"q"\\b\t\ufffd');
    for (const l of lines) {
      assert.ok(LEVELS.has(l.level), JSON.stringify(l));
      assert.match(l.time, RFC3339_MS);
      const ms = Date.parse(l.time);
      assert.ok(ms >= before - 2000 && ms <= Date.now() + 2000, l.time);
      assert.equal(typeof l.message, 'string');
    }
    assert.equal(s.out, '', 'nothing on stdout');
  });

  test('gyre.log_format text: human-readable lines with fields after the message', async (t) => {
    const s = await startPiped({ gyre: { log_format: 'text' } }, t);
    await waitFor(() => /Gyre started/.test(s.err), { label: 'the start line' });
    const line = s.err.split('\n').find((l) => l.includes('Gyre started'));
    assert.match(line, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \[info\] Gyre started version="[^"]+" pid=\d+ event_loops=2 /);
    assert.throws(() => JSON.parse(line));
  });

  test('on a terminal (auto): human-readable lines', { skip: !HAVE_SCRIPT && 'no `script` command' }, async (t) => {
    const s = await startPiped({}, t, { viaTerminal: true });
    // The pseudo-terminal merges stderr into `script`'s stdout; colour codes around the level.
    const plain = () => s.out.replace(/\x1b\[[0-9;]*m/g, '');
    await waitFor(() => /Gyre started/.test(plain()) && fs.existsSync(s.pidFile), { timeout: 10000 * SCALE, label: 'the start line on the terminal' });
    const line = plain().split(/\r?\n/).find((l) => l.includes('Gyre started'));
    assert.match(line, /\d\d:\d\d:\d\d\.\d{3} \[info\] Gyre started version=/);
  });

  test('an unknown gyre.log_format is refused naming the key', () => {
    const dir = tempDir();
    const f = path.join(dir, 'c.json');
    fs.writeFileSync(f, JSON.stringify({ gyre: { log_format: 'xml' } }));
    const r = runGyre(['checkconfig', '-c', f]);
    assert.equal(r.code, 1);
    assert.match(r.stdout + r.stderr, /gyre\.log_format/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
