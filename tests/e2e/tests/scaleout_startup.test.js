// Start-up against engines that are not there: like Centrifugo, a node does not start
// unhealthy — it exits with status 1 and one error line naming the config key and the
// address it could not reach (Redis: after connect_timeout + io_timeout, here shortened;
// NATS: at the first failed dial).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from '../lib/test.js';
import { startNats } from '../lib/nats.js';
import { startRedis } from '../lib/redis.js';
import { HOST, baseConfig, freePort, merge, runGyre, tempDir } from '../lib/server.js';
import { SCALE } from '../lib/wait.js';

// Redis waits connect_timeout + io_timeout for every shard before giving up.
const FAST = { connect_timeout: '300ms', io_timeout: '300ms' };

// Runs the server with `config`; returns {code, out, ms}. Bounded by runGyre's timeout.
async function startFails(config) {
  const dir = tempDir('gyre-e2e-startup-');
  try {
    const file = path.join(dir, 'config.json');
    fs.writeFileSync(file, JSON.stringify(merge(baseConfig(), config)));
    const port = await freePort();
    const t0 = Date.now();
    const r = runGyre(['-c', file, '-p', String(port), '-a', HOST], { cwd: dir, timeout: 15000 * SCALE });
    return { code: r.code, signal: r.signal, out: r.stdout + r.stderr, ms: Date.now() - t0 };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// The log's error lines (JSON lines: the server's stderr is not a terminal).
function errorLines(out) {
  return out.split('\n').filter((l) => l.includes('"level":"error"'));
}

function assertRefused(r, ...needles) {
  assert.equal(r.code, 1, `exit status 1 (got ${r.code ?? r.signal}):\n${r.out}`);
  assert.ok(!/Gyre started/.test(r.out), `the server must not start:\n${r.out}`);
  const errors = errorLines(r.out);
  assert.ok(errors.length >= 1, `an error line:\n${r.out}`);
  const line = errors.at(-1);
  for (const n of needles) assert.ok(line.includes(n), `"${n}" in the error line: ${line}`);
}

describe('scale-out: start-up with unreachable engines', () => {
  test('engine.redis: an unreachable address → exit 1 naming engine.redis and the address, within the timeouts', async () => {
    const port = await freePort();
    const r = await startFails({ engine: { type: 'redis', redis: { address: [`${HOST}:${port}`], ...FAST } } });
    assertRefused(r, 'engine.redis', `${HOST}:${port}`, 'cannot connect to Redis');
    assert.ok(r.ms < 5000 * SCALE, `gave up after ${r.ms} ms`);
  });

  test('engine.redis with two shards: the unreachable shard is the one named', async (t) => {
    const up = await startRedis({ name: 'redis-startup' });
    t.defer(() => up.stop());
    const port = await freePort();
    const r = await startFails({ engine: { type: 'redis', redis: { address: [up.url, `redis://${HOST}:${port}`], ...FAST } } });
    assertRefused(r, 'engine.redis', 'shard 1', `${HOST}:${port}`);
    assert.ok(!errorLines(r.out).at(-1).includes(`:${up.port}`));
  });

  test('engine.redis.cluster_address: unreachable seeds → exit 1 naming them', async () => {
    const port = await freePort();
    const r = await startFails({ engine: { type: 'redis', redis: { cluster_address: [`${HOST}:${port}`], ...FAST } } });
    assertRefused(r, 'engine.redis', `${HOST}:${port}`);
  });

  test('broker.nats.url: nothing listening → exit 1 naming broker.nats.url and the URL', async () => {
    const port = await freePort();
    const url = `nats://${HOST}:${port}`;
    const r = await startFails({ broker: { enabled: true, type: 'nats', nats: { url } } });
    assertRefused(r, 'broker.nats.url', url);
  });

  test('broker.nats.url with credentials: the error names the URL with the password hidden', async () => {
    const port = await freePort();
    const url = `nats://alice:s3cret-pw@${HOST}:${port}`;
    const r = await startFails({ broker: { enabled: true, type: 'nats', nats: { url } } });
    assertRefused(r, 'broker.nats.url', `nats://alice:***@${HOST}:${port}`);
    assert.ok(!r.out.includes('s3cret-pw'), `the password must not be printed:\n${r.out}`);
  });

  test('broker.nats.url: a malformed URL → exit 1 naming it', async () => {
    const url = 'nats://127.0.0.1:notaport';
    const r = await startFails({ broker: { enabled: true, type: 'nats', nats: { url } } });
    assertRefused(r, 'broker.nats.url', url, 'invalid port');
  });

  test('presence_manager.redis unreachable next to a working NATS broker → exit 1 naming presence_manager.redis', async (t) => {
    const nats = await startNats({ name: 'nats-startup' });
    t.defer(() => nats.stop());
    const port = await freePort();
    const r = await startFails({
      broker: { enabled: true, type: 'nats', nats: { url: nats.url } },
      presence_manager: { enabled: true, type: 'redis', redis: { address: [`${HOST}:${port}`], ...FAST } },
    });
    assertRefused(r, 'presence_manager.redis', `${HOST}:${port}`);
  });
});
