// Recovery right after a broker outage: two Gyre nodes on one Redis with an append-only
// file (appendfsync always). Node B reaches Redis through a proxy that the test holds shut
// while Redis restarts, so that B's PUB/SUB connection comes back only after node A has
// published into a channel that then stays quiet. Repeated three times.
//
// What must hold (docs/design/resubscribe-position-check.md):
// - once B's subscriptions are back, B reads the stream position of every channel it
//   serves and unsubscribes the subscribers that are behind (2500, insufficient state); the
//   SDK resubscribes and recovers the publications it missed, in order, exactly once,
//   without waiting for a later publication or for the periodic position check
//   (client.channel_position_check_delay, set to 300 s here so that it cannot help);
// - subscribers of a channel that missed nothing (an idle channel) are left alone;
// - clients never disconnect.
// Before this check existed the quiet channel's publications did not arrive at all (only
// 300 s later), in every round.
import assert from 'node:assert/strict';
import { describe, test, after, before } from '../lib/test.js';
import { apiRaw } from '../lib/api.js';
import { startBalancer } from '../lib/balancer.js';
import { health, stopNodes, waitForHealth, waitForMesh } from '../lib/nodes.js';
import { startRedis } from '../lib/redis.js';
import { connected, dec, subscribed } from '../lib/sdk.js';
import { startServer } from '../lib/server.js';
import { connToken } from '../lib/tokens.js';
import { record, sleep, waitFor, SCALE } from '../lib/wait.js';

const ROUNDS = 3;

describe('scale-out: a node whose Redis PUB/SUB comes back late recovers its quiet channels at once', () => {
  const h = { redis: null, proxy: null, nodes: [] };
  before(async () => {
    h.redis = await startRedis({ name: 'redis-restore', aof: true });
    h.proxy = await startBalancer({ name: 'redis-proxy-b', upstreams: [h.redis.port] });
    const common = {
      client: { channel_position_check_delay: '300s' },
      channel: {
        namespaces: [{
          name: 'room', allow_subscribe_for_client: true, history_size: 1000, history_ttl: '600s', force_recovery: true,
        }],
      },
    };
    const redisAt = (url) => ({ ...common, engine: { type: 'redis', redis: { address: [url] } } });
    h.nodes.push(await startServer({ name: 'restore-a', config: redisAt(h.redis.url) }));
    h.nodes.push(await startServer({ name: 'restore-b', config: redisAt(h.proxy.url) }));
    await waitForMesh(h.nodes);
  }, { timeout: 60000 * SCALE });
  after(async () => {
    try {
      await stopNodes(h.nodes);
    } finally {
      await h.proxy?.stop();
      await h.redis?.stop();
    }
  }, { timeout: 60000 * SCALE });

  test(`${ROUNDS} Redis restarts: publications made before B resubscribes reach B's quiet subscribers at once`, { timeout: 120000 * SCALE }, async (t) => {
    const [A, B] = h.nodes;
    const { redis, proxy } = h;
    const QUIET = 'room:quiet';
    const IDLE = 'room:idle';

    const clients = [];
    for (const format of ['json', 'protobuf']) {
      const c = await connected(format, B.wsUrl, { token: connToken(`restore-${format}`) }, t);
      const cev = record(c, ['disconnected', 'connecting']);
      const quiet = await subscribed(c, QUIET);
      const idle = await subscribed(c, IDLE);
      clients.push({
        name: `${format} on B`,
        format,
        c,
        cev,
        quiet: record(quiet, ['publication', 'subscribed', 'subscribing', 'unsubscribed']),
        idle: record(idle, ['publication', 'subscribed', 'subscribing', 'unsubscribed']),
      });
    }
    const received = (cl) => cl.quiet.of('publication').map((p) => ({ i: dec(cl.format, p.data).i, offset: p.offset }));

    // Publishes through A until acknowledged (A's own connection to Redis may still be
    // reconnecting: 100 meanwhile). Bounded in attempts and time.
    const publishAcked = async (i) => {
      let last;
      for (let k = 0; k < 1000; k++) {
        try {
          last = await apiRaw(A, 'publish', { channel: QUIET, data: { i } });
          if (last.json?.result) return last.json.result;
        } catch (e) {
          last = { error: e.message };
        }
        await sleep(20);
      }
      throw new Error(`publish ${i} through A never acknowledged: ${JSON.stringify(last?.json ?? last)}`);
    };

    const acked = [];
    const report = [];
    let n = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      // A publication before the outage, delivered live.
      acked.push({ i: ++n, ...(await publishAcked(n)) });
      for (const cl of clients) {
        await waitFor(() => received(cl).some((p) => p.i === n), { label: `${cl.name}: live publication ${n}` });
      }

      // Redis goes away; B's way to Redis stays shut until A has published twice.
      proxy.block({ drop: true });
      await redis.kill('SIGKILL');
      await waitForHealth([A, B], 500);
      await redis.start();
      await waitFor(async () => (await health(A)).status === 200, { timeout: 15000 * SCALE, label: 'A healthy after the restart' });
      const gap = [];
      for (let k = 0; k < 2; k++) gap.push({ i: ++n, ...(await publishAcked(n)) });
      acked.push(...gap);
      proxy.unblock();
      const reopened = Date.now();
      await waitForHealth([B], 200);

      // The channel stays quiet: B's subscribers get the two publications through recovery.
      for (const cl of clients) {
        await waitFor(() => gap.every((g) => received(cl).some((p) => p.i === g.i)), {
          timeout: 10000 * SCALE,
          label: `${cl.name}: publications ${gap.map((g) => `${g.i}@${g.offset}`).join(', ')} made while B was cut off (round ${round}); ` +
            `received ${JSON.stringify(received(cl).slice(-3))}, events ${cl.quiet.events.filter((e) => e.event !== 'publication').map((e) => e.event).join(' ')}`,
        });
      }
      report.push(`round ${round}: ${Date.now() - reopened} ms from B's reconnect to both clients recovered`);
    }
    await sleep(200);

    assert.equal(new Set(acked.map((a) => a.epoch)).size, 1, 'the AOF kept one epoch');
    for (const cl of clients) {
      const got = received(cl);
      assert.deepEqual(got.map((p) => p.i), acked.map((a) => a.i), `${cl.name}: every publication once, in order`);
      assert.deepEqual(got.map((p) => p.offset), acked.map((a) => a.offset), `${cl.name}: offsets`);
      // One resubscribe per round, each for insufficient state and recovered.
      const subscribing = cl.quiet.of('subscribing');
      assert.equal(subscribing.length, ROUNDS, `${cl.name}: resubscribes of the quiet channel`);
      for (const s of subscribing) assert.equal(s.code, 2500);
      for (const s of cl.quiet.of('subscribed')) assert.equal(s.recovered, true, `${cl.name}: recovered`);
      assert.deepEqual(cl.quiet.of('unsubscribed'), []);
      // The idle channel missed nothing: left alone.
      assert.deepEqual(cl.idle.events, [], `${cl.name}: events of the idle channel`);
      assert.deepEqual(cl.cev.events, [], `${cl.name}: connection events`);
    }
    t.diagnostic(report.join('; '));
  });
});
