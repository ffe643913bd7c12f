// Redis goes away under load and comes back: two Gyre nodes on one Redis with an
// append-only file fsynced on every write (appendfsync always), three SDK clients (JSON and
// Protobuf, on both nodes) subscribed with recovery, and a publisher calling the publish API
// of node A in a bounded loop. Mid-stream Redis is SIGKILLed, then restarted on the same
// port and directory.
//
// What must hold:
// - while Redis is down: /health is 500 naming the Redis address and gyre_engine_healthy
//   is 0 on both nodes; the publish API returns errors; clients stay connected;
// - once it is back: /health is 200 again; the stream keeps its epoch (the AOF kept it);
// - every publication the API acknowledged reaches every client exactly once, in order
//   (offsets contiguous), live or through recovery; publications a client missed while a
//   node's PUB/SUB connection was down come back through the server's insufficient-state
//   unsubscribe (2500) and the SDK's resubscribe with recovery, never by a disconnect.
import assert from 'node:assert/strict';
import { describe, test } from '../lib/test.js';
import { apiRaw } from '../lib/api.js';
import { connected, dec, subscribed } from '../lib/sdk.js';
import { connToken } from '../lib/tokens.js';
import { health, useNodes, waitForHealth } from '../lib/nodes.js';
import { startRedis } from '../lib/redis.js';
import { record, sleep, waitFor, SCALE } from '../lib/wait.js';

const CHANNEL = 'room:fault';

describe('scale-out: Redis killed and restarted (AOF, appendfsync always)', () => {
  const h = useNodes(2, 'rfault', async () => {
    const redis = await startRedis({ name: 'redis-aof', aof: true });
    return {
      redis,
      config: {
        engine: { type: 'redis', redis: { address: [redis.url] } },
        // After the restart a node's PUB/SUB connection may come back up to the reconnect
        // backoff (2 s) after another node's data connection: what A publishes meanwhile
        // reaches B's clients only through recovery, which gives up (recovered: false)
        // beyond this many publications. Default 300; the publisher does <= 200/s.
        client: { recovery_max_publication_limit: 1000 },
        channel: {
          namespaces: [{
            name: 'room', allow_subscribe_for_client: true, history_size: 10000, history_ttl: '600s', force_recovery: true,
          }],
        },
      },
      teardown: () => redis.stop(),
    };
  });

  test('nothing the publish API acknowledged is lost or duplicated across a Redis crash', async (t) => {
    const [A, B] = h.nodes;
    const redis = h.extra.redis;

    // Subscribers: JSON on A, JSON and Protobuf on B.
    const clients = [];
    for (const [srv, format, user] of [[A, 'json', 'f-a'], [B, 'json', 'f-b1'], [B, 'protobuf', 'f-b2']]) {
      const c = await connected(format, srv.wsUrl, { token: connToken(user) }, t);
      const cev = record(c, ['disconnected', 'connecting']);
      const s = await subscribed(c, CHANNEL);
      assert.equal(s.subscribedCtx.recoverable, true);
      const sev = record(s, ['publication', 'subscribed', 'subscribing', 'unsubscribed']);
      clients.push({ name: `${user} on ${srv.name} (${format})`, format, c, cev, sev });
    }

    // The publisher: bounded in count, paced (<= 200/s), pauses a little after a failure.
    const log = [];
    let stop = false;
    const MAX = 3000;
    const publisher = (async () => {
      for (let i = 1; i <= MAX && !stop; i++) {
        let entry;
        try {
          const r = await apiRaw(A, 'publish', { channel: CHANNEL, data: { i } });
          entry = r.json?.result ? { i, ok: true, offset: r.json.result.offset, epoch: r.json.result.epoch }
            : { i, ok: false, status: r.status, code: r.json?.error?.code };
        } catch (e) {
          entry = { i, ok: false, error: e.message };
        }
        log.push(entry);
        await sleep(entry.ok ? 5 : 50);
      }
    })();
    t.defer(async () => {
      stop = true;
      await publisher;
    });
    const acked = () => log.filter((e) => e.ok);

    await waitFor(() => acked().length >= 50, { timeout: 10000 * SCALE, label: '50 acknowledged publications' });
    await redis.kill('SIGKILL');
    const killedAt = log.length;

    // Down: /health 500 naming Redis, metric 0, publish errors, clients still connected.
    await waitForHealth([A, B], 500);
    for (const srv of [A, B]) {
      const hb = await health(srv);
      assert.ok(hb.body.errors.some((e) => e.includes(redis.address)), `${srv.name} /health names Redis: ${hb.text}`);
    }
    await waitFor(() => log.slice(killedAt).some((e) => !e.ok), { timeout: 10000 * SCALE, label: 'a publish error while Redis is down' });
    const failure = log.slice(killedAt).find((e) => !e.ok);
    assert.equal(failure.code, 100, `publish error while Redis is down: ${JSON.stringify(failure)}`);
    for (const cl of clients) assert.equal(cl.c.state, 'connected', `${cl.name} stays connected`);

    // Back on the same port and dir.
    await redis.start();
    await waitForHealth([A, B], 200);
    const backAt = acked().length;
    await waitFor(() => acked().length >= backAt + 50, { timeout: 15000 * SCALE, label: '50 acknowledged publications after the restart' });
    stop = true;
    await publisher;

    const ok = acked();
    const failed = log.filter((e) => !e.ok);
    assert.ok(failed.length >= 1);
    // The AOF kept the stream: one epoch, offsets of acknowledged publications increase.
    assert.equal(new Set(ok.map((e) => e.epoch)).size, 1, 'one epoch across the restart');
    for (let k = 1; k < ok.length; k++) assert.ok(ok[k].offset > ok[k - 1].offset);

    // Every client gets every acknowledged publication (live or recovered).
    const received = (cl) => cl.sev.of('publication').map((p) => ({ i: dec(cl.format, p.data).i, offset: p.offset }));
    for (const cl of clients) {
      await waitFor(() => {
        const got = new Set(received(cl).map((p) => p.i));
        const missing = ok.filter((e) => !got.has(e.i)).map((e) => `${e.i}@${e.offset}`);
        if (missing.length === 0) return true;
        const events = cl.sev.events.filter((e) => e.event !== 'publication')
          .map((e) => `${e.event}(${e.arg.code ?? `recovered=${e.arg.recovered}`})`);
        throw new Error(`missing ${missing.length}: ${missing.slice(0, 10).join(' ')}; received ${got.size}, ` +
          `last ${JSON.stringify(received(cl).at(-1))}; subscription events: ${events.join(' ')}`);
      }, { timeout: 15000 * SCALE, label: `${cl.name} to receive all ${ok.length} acknowledged publications` });
    }
    await sleep(200);
    const attempted = new Map(log.map((e) => [e.i, e]));
    const offsetOf = new Map(ok.map((e) => [e.i, e.offset]));
    const report = [];
    for (const cl of clients) {
      const got = received(cl);
      // Exactly once, in order: offsets contiguous from the first one received.
      for (let k = 1; k < got.length; k++) {
        assert.equal(got[k].offset, got[k - 1].offset + 1, `${cl.name}: offset ${got[k].offset} after ${got[k - 1].offset}`);
        assert.ok(got[k].i > got[k - 1].i, `${cl.name}: publication ${got[k].i} after ${got[k - 1].i}`);
      }
      for (const p of got) {
        assert.ok(attempted.has(p.i), `${cl.name}: received ${p.i}, never published`);
        if (offsetOf.has(p.i)) assert.equal(p.offset, offsetOf.get(p.i), `${cl.name}: offset of ${p.i}`);
      }
      // Never disconnected; a subscription that lost publications was resubscribed by the
      // SDK after the server's insufficient-state unsubscribe and recovered what it missed.
      assert.deepEqual(cl.cev.events, [], `${cl.name}: connection events`);
      assert.deepEqual(cl.sev.of('unsubscribed'), [], `${cl.name}: unsubscribed for good`);
      for (const s of cl.sev.of('subscribing')) assert.equal(s.code, 2500, `${cl.name}: resubscribe reason`);
      for (const s of cl.sev.of('subscribed')) {
        assert.equal(s.wasRecovering, true);
        assert.equal(s.recovered, true, `${cl.name}: recovered after resubscribing`);
      }
      report.push(`${cl.name}: ${got.length} received, ${cl.sev.of('subscribing').length} resubscribe(s)`);
    }
    t.diagnostic(`${log.length} publish calls, ${ok.length} acknowledged, ${failed.length} failed; ${report.join('; ')}`);
  });
});
