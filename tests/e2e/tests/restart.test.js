// Restarts on the same port (docs/design/http-server.md): a server stopped while clients
// were connected leaves the connections it closed in TIME_WAIT on its port; the next
// server must bind that port at once. A second server on a port another one listens on is
// still refused, and the error names the address and the cause.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from '../lib/test.js';
import { GyreServer, HOST, runGyre, startServer, tempDir, baseConfig } from '../lib/server.js';
import { connToken } from '../lib/tokens.js';
import { connected, subscribed } from '../lib/sdk.js';
import { api } from '../lib/api.js';
import { waitFor, SCALE } from '../lib/wait.js';

const ALLOW = { allow_subscribe_for_client: true };

// Sockets in TIME_WAIT whose local port is `port` (Linux /proc/net/tcp{,6}; state 06).
function timeWaitOn(port) {
  let n = 0;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 4) continue;
      const local = parseInt(f[1].split(':')[1], 16);
      if (local === port && f[3] === '06') n++;
    }
  }
  return n;
}

describe('restarts', () => {
  test('stopped with clients connected, the server starts again on the same port at once', async (t) => {
    const config = { channel: { without_namespace: ALLOW } };
    const first = await startServer({ name: 'restart-1', config });
    t.defer(() => first.stop({ check: false }));
    const port = first.port;
    for (let i = 0; i < 5; i++) {
      // No reconnect during the test: the connections stay closed once the server closes them.
      const c = await connected('json', first.wsUrl, { token: connToken(`r${i}`), minReconnectDelay: 60000, maxReconnectDelay: 60000 }, t);
      await subscribed(c, 'restart');
    }
    await api(first, 'info', {}); // a keep-alive API connection too
    await first.stop();
    // The precondition: connections the server closed linger in TIME_WAIT on its port.
    await waitFor(() => timeWaitOn(port) > 0, { timeout: 5000 * SCALE, label: `TIME_WAIT sockets on port ${port}` });

    const second = new GyreServer({ name: 'restart-2', port, config });
    t.defer(() => second.stop({ check: false }));
    await second.start(); // throws with the server's log when it cannot bind
    assert.ok(timeWaitOn(port) > 0, 'the TIME_WAIT sockets were still there');
    const c = await connected('json', second.wsUrl, { token: connToken('after') }, t);
    await subscribed(c, 'restart');
    assert.ok((await api(second, 'info', {})).nodes.length === 1);
    await second.stop();
  });

  test('a second server on a port another one listens on is refused, naming the address and why', async (t) => {
    const owner = await startServer({ name: 'restart-owner' });
    t.defer(() => owner.stop({ check: false }));
    const dir = tempDir('gyre-e2e-restart-second-');
    t.defer(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'config.json');
    fs.writeFileSync(file, JSON.stringify(baseConfig()));
    const r = runGyre(['-c', file, '-p', String(owner.port), '-a', HOST], { cwd: dir, timeout: 15000 * SCALE });
    assert.equal(r.code, 1, `exit ${r.code} ${r.signal ?? ''}\n${r.stdout}${r.stderr}`);
    assert.match(r.stdout + r.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${owner.port}: address already in use`));
    await owner.stop();
  });
});
