// Gyre nodes fanning out through NATS (`broker.type: nats`, no history) with presence in
// Redis (`presence_manager.type: redis`): the common scale-out suite on three nodes, and a
// NATS restart on the same port while two nodes run — /health and gyre_engine_healthy go
// down, publishing fails with 100 while local clients stay connected, and once the server
// is back the nodes resubscribe: publications and control messages cross nodes again.
import assert from 'node:assert/strict';
import { describe, test } from '../lib/test.js';
import { api } from '../lib/api.js';
import { connected, subscribed } from '../lib/sdk.js';
import { connToken } from '../lib/tokens.js';
import { health, useNodes, waitForHealth } from '../lib/nodes.js';
import { startNats } from '../lib/nats.js';
import { startRedis } from '../lib/redis.js';
import { scaleoutNamespaces, scaleoutSuite } from '../lib/scaleout_suite.js';
import { nextEvent, record, sleep, waitFor, SCALE } from '../lib/wait.js';

async function natsTopology(name) {
  const nats = await startNats({ name: `${name}-nats` });
  const redis = await startRedis({ name: `${name}-redis` });
  return {
    nats,
    config: {
      broker: { enabled: true, type: 'nats', nats: { url: nats.url } },
      presence_manager: { enabled: true, type: 'redis', redis: { address: [redis.url] } },
      channel: { namespaces: scaleoutNamespaces({ history: false }) },
    },
    teardown: () => Promise.all([nats.stop(), redis.stop()]),
  };
}

describe('scale-out: NATS broker + Redis presence manager', () => {
  const h = useNodes(3, 'nats', () => natsTopology('nats'));
  scaleoutSuite(h, { history: false });

  test('history is not available with the NATS broker (108)', async () => {
    const r = await api(h.nodes[0], 'history', { channel: 'room:nohist', limit: -1 }).catch((e) => e);
    assert.equal(r.code, 108);
  });
});

describe('scale-out: NATS server restart', () => {
  const h = useNodes(2, 'natsrs', () => natsTopology('natsrs'));

  test('nodes survive a NATS restart on the same port and fan out again', async (t) => {
    const [A, B] = h.nodes;
    const nats = h.extra.nats;
    const ch = 'room:restart';
    const cb = await connected('json', B.wsUrl, { token: connToken('rs-b') }, t);
    const rb = record(await subscribed(cb, ch), ['publication']);
    const cbGone = record(cb, ['disconnected', 'connecting']);
    await api(A, 'publish', { channel: ch, data: { n: 'before' } });
    await rb.waitCount('publication', 1);

    await nats.kill('SIGKILL');
    await waitForHealth([A, B], 500);
    const hb = await health(B);
    assert.ok(hb.body.errors.some((e) => e.includes(nats.url)), `health names the NATS url: ${hb.text}`);
    const failed = await api(A, 'publish', { channel: ch, data: { n: 'during' } }).catch((e) => e);
    assert.equal(failed.code, 100, 'publish fails while NATS is down');
    assert.equal(cb.state, 'connected', 'local clients stay connected');

    await nats.start();
    await waitForHealth([A, B], 200);
    // At most once: publish until one gets through (the resubscription may still be on its
    // way right after the reconnect), then everything does.
    let n = 0;
    await waitFor(async () => {
      await api(A, 'publish', { channel: ch, data: { n: `after-${++n}` } });
      return rb.of('publication').length >= 2;
    }, { interval: 100, timeout: 10000 * SCALE, label: 'a publication through A after the restart to reach B' });
    await api(A, 'publish', { channel: ch, data: { n: 'last' } });
    await waitFor(() => rb.of('publication').some((p) => p.data.n === 'last'), { label: "'last' on B" });
    await sleep(100);
    // Once one got through, every later one arrives, in order, once.
    const got = rb.of('publication').map((p) => p.data.n);
    const first = Number(got[1].slice('after-'.length));
    const want = ['before'];
    for (let k = first; k <= n; k++) want.push(`after-${k}`);
    want.push('last');
    assert.deepEqual(got, want);
    assert.equal(cbGone.events.length, 0, 'the client on B was never disconnected');
    // Control messages cross again: a disconnect sent to A reaches the client on B.
    const gone = nextEvent(cb, 'disconnected');
    await api(A, 'disconnect', { user: 'rs-b' });
    assert.equal((await gone).code, 3503);
    await sleep(50);
  });
});
