// A Redis Cluster master killed under load: three masters with one replica each
// (cluster-node-timeout 1 s: the cluster itself fails the master over to its replica),
// three Gyre nodes on it, SDK subscribers (JSON and Protobuf) on every node for three
// channels (one per master), and a publisher per channel posting to node A every ~10 ms.
// The master that is killed owns the first channel's slot and is the first seed, which is
// where every node's PUB/SUB connection starts.
//
// What must hold:
// - publishing into the first channel resumes after the failover (through the promoted
//   replica), and into the other channels it goes on; a publication that was waiting for
//   the killed master is sent to the promoted replica, not failed at io_timeout (10 s here)
//   — before, it always was, and publishing stalled for that long;
// - the history of every channel still holds every acknowledged publication, with its
//   offset, in one epoch (the replica had them);
// - every subscriber sees every acknowledged publication once, in order (live, or
//   recovered after its node's PUB/SUB connection came back); clients stay connected.
import assert from 'node:assert/strict';
import { describe, test } from '../lib/test.js';
import { api } from '../lib/api.js';
import { assertExactlyOnceInOrder, startPublisher, startSubscribers, waitAllReceived } from '../lib/chaos.js';
import { useNodes, waitForHealth } from '../lib/nodes.js';
import { startRedisCluster } from '../lib/redis.js';
import { sleep, waitFor, SCALE } from '../lib/wait.js';

describe('scale-out chaos: a Redis Cluster master killed (3 masters, 1 replica each)', () => {
  const h = useNodes(3, 'cfail', async () => {
    const cluster = await startRedisCluster({ name: 'rc-failover', replicas: 1, nodeTimeout: 1000 });
    return {
      cluster,
      config: {
        // A long io_timeout: a command queued for the killed master must not wait for it
        // (and fail) but go to the promoted replica as soon as the cluster made it master.
        engine: { type: 'redis', redis: { cluster_address: [cluster.addresses.join(',')], io_timeout: '10s' } },
        client: { recovery_max_publication_limit: 2000 },
        channel: {
          namespaces: [{
            name: 'feed', allow_subscribe_for_client: true, history_size: 20000, history_ttl: '600s', force_recovery: true,
          }],
        },
      },
      teardown: () => cluster.stop(),
    };
  });

  test('publishing resumes after the failover, acknowledged history is intact, subscribers see everything once in order', { timeout: 180000 * SCALE }, async (t) => {
    const { cluster } = h.extra;
    const [A] = h.nodes;
    const [m0, m1] = cluster.masters;
    // One channel per master, the first on the master to be killed.
    const channels = [];
    for (const m of cluster.masters) {
      for (let k = 0; k < 1000; k++) {
        const ch = `feed:cf-${k}`;
        if (channels.includes(ch)) continue;
        if ((await cluster.masterOf(`{${ch}}`, m1)) === m) {
          channels.push(ch);
          break;
        }
      }
    }
    assert.equal(channels.length, 3);

    const subs = [];
    const pubs = [];
    for (const [k, ch] of channels.entries()) {
      for (const srv of h.nodes) subs.push({ ch, list: await startSubscribers(srv.wsUrl, ch, { count: 2, prefix: `cf${k}-${srv.name}`, t }) });
      pubs.push(startPublisher(() => A, ch));
    }
    t.defer(() => Promise.all(pubs.map((p) => p.stop())));
    for (const p of pubs) await p.waitAcked(30);

    const replica = cluster.replicas.find((r) => cluster.replicaOf.get(r) === m0);
    await m0.kill('SIGKILL');
    await waitFor(async () => (await cluster.masterOf(`{${channels[0]}}`, m1)) === replica, {
      timeout: 30000 * SCALE, label: `${replica.name} promoted in place of ${m0.name}`,
    });
    await waitForHealth(h.nodes, 200, { timeout: 30000 * SCALE });
    for (const p of pubs) await p.waitAcked(50, { timeout: 30000 * SCALE });
    await Promise.all(pubs.map((p) => p.stop()));

    // Nothing waited for the dead master until io_timeout (node A made every publication).
    const stuck = A.logText().split('\n').filter((l) => l.includes('within io_timeout'));
    assert.deepEqual(stuck, [], 'commands that waited for the killed master until io_timeout');
    for (const [k, ch] of channels.entries()) {
      const acked = pubs[k].acked();
      assert.equal(new Set(acked.map((a) => a.epoch)).size, 1, `${ch}: one epoch across the failover`);
      // The history (from a node that did not publish) holds every acknowledged publication.
      const hist = await api(h.nodes[1], 'history', { channel: ch, limit: 20000 });
      assert.equal(hist.epoch, acked[0].epoch, `${ch}: epoch of the history`);
      const stored = new Map(hist.publications.map((p) => [Number(p.offset), p.data.i]));
      const lost = acked.filter((a) => stored.get(a.offset) !== a.i);
      assert.deepEqual(lost.map((a) => `${a.i}@${a.offset}`), [], `${ch}: acknowledged publications missing from the history`);
    }
    for (const [k, ch] of channels.entries()) {
      const list = subs.filter((s) => s.ch === ch).flatMap((s) => s.list);
      await waitAllReceived(list, pubs[k].acked(), { label: `of ${ch}` });
      await sleep(100);
      assertExactlyOnceInOrder(list, pubs[k].log);
      for (const cl of list) assert.equal(cl.reconnects(), 0, `${cl.name} stays connected`);
    }
    const failed = pubs.map((p) => p.log.length - p.acked().length);
    const resubscribed = subs.flatMap((s) => s.list).filter((cl) => cl.ev.of('subscribing').length > 0).length;
    t.diagnostic(`acknowledged ${pubs.map((p) => p.acked().length).join('/')} (failed ${failed.join('/')}); ` +
      `longest interruption ${pubs.map((p) => p.longestGap()).join('/')} ms (slowest calls: ${pubs[0].slowest().join(', ')}); ` +
      `${resubscribed} subscribers resubscribed and recovered`);
  });
});
