// Secrets in engine addresses never reach the log or /health: a node on a NATS server that
// requires a user and password logs its engine line and, when NATS goes away, reports the
// URL in /health with the password replaced by *** (core/redact.hpp is the one helper).
import assert from 'node:assert/strict';
import { describe, test } from '../lib/test.js';
import { startNats } from '../lib/nats.js';
import { HOST, startServer } from '../lib/server.js';
import { health, waitForHealth } from '../lib/nodes.js';

const PASSWORD = 's3cret-nats-pw';

describe('redaction of engine credentials', () => {
  test('the NATS password is hidden in the start-up log and in /health', async (t) => {
    const nats = await startNats({ name: 'redact-nats', args: ['--user', 'alice', '--pass', PASSWORD] });
    t.defer(() => nats.stop());
    const url = `nats://alice:${PASSWORD}@${HOST}:${nats.port}`;
    const shown = `nats://alice:***@${HOST}:${nats.port}`;
    const srv = await startServer({
      name: 'redact',
      config: { broker: { enabled: true, type: 'nats', nats: { url } } },
    });
    t.defer(() => srv.stop({ check: false }));

    const started = srv.logText();
    assert.ok(/Gyre started/.test(started), `the server started:\n${started}`);
    assert.ok(started.includes(shown), `the engine line names ${shown}:\n${started}`);

    await nats.kill('SIGKILL');
    await waitForHealth([srv], 500);
    const h = await health(srv);
    assert.ok(h.text.includes(shown), `/health names ${shown}: ${h.text}`);
    assert.ok(!h.text.includes(PASSWORD), `/health hides the password: ${h.text}`);
    const log = srv.logText();
    assert.ok(!log.includes(PASSWORD), `the log hides the password:\n${log}`);
  });
});
