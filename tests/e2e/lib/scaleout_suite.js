// The scale-out checks every multi-node topology must pass (Redis single, Redis shards,
// Redis Cluster, NATS broker + Redis presence), written once and run by each topology's
// test file against three nodes A, B, C that share one engine:
// - publications through the API of A reach SDK subscribers on B (JSON) and C (Protobuf),
//   and a client publication on C reaches B;
// - presence / presence_stats on any node count clients of every node; join/leave cross;
// - history from any node, and recovery of a client that reconnects to ANOTHER node
//   (exactly the missed publications, in order, once) — topologies with history only;
// - node-targeted API commands sent to A act on connections of B: subscribe, unsubscribe,
//   disconnect, refresh (info and expired);
// - `info` on every node lists every node with its counts; `channels` on A sees B and C.
import assert from 'node:assert/strict';
import { api } from './api.js';
import { connected, dec, enc, newClient, connect, subscribed, WebSocket } from './sdk.js';
import { describe, test } from './test.js';
import { connToken } from './tokens.js';
import { nextEvent, record, sleep, waitFor, SCALE } from './wait.js';

// Namespaces every topology config gets; `history` adds history and recovery to `room`.
export function scaleoutNamespaces({ history }) {
  const perms = {
    allow_subscribe_for_client: true,
    allow_publish_for_subscriber: true,
    allow_presence_for_subscriber: true,
    allow_history_for_subscriber: history,
  };
  return [
    {
      name: 'room', ...perms, presence: true, join_leave: true, force_push_join_leave: true,
      ...(history ? { history_size: 100, history_ttl: '300s', force_recovery: true } : {}),
    },
  ];
}

// A WebSocket class for the SDK that connects to urls[0] first, then urls[1], …, staying on
// the last one: the SDK's reconnect lands on another node. `sockets` collects them.
export function switchingWebSocket(urls, sockets = []) {
  let n = 0;
  return class SwitchingWebSocket extends WebSocket {
    constructor(_url, ...rest) {
      const url = urls[Math.min(n++, urls.length - 1)];
      super(url, ...rest);
      this.targetUrl = url;
      sockets.push(this);
    }
  };
}

// Runs the suite on `h.nodes` (set by useNodes before the tests run).
export function scaleoutSuite(h, { history }) {
  const A = () => h.nodes[0];
  const B = () => h.nodes[1];
  const C = () => h.nodes[2];
  const uniq = (() => {
    let i = 0;
    return (s) => `${s}-${++i}`;
  })();

  test('a publication through the API of A reaches subscribers on B (JSON) and C (Protobuf); a client publication on C reaches B', async (t) => {
    const ch = uniq('room:pub');
    const cb = await connected('json', B().wsUrl, { token: connToken('pub-b') }, t);
    const cc = await connected('protobuf', C().wsUrl, { token: connToken('pub-c') }, t);
    const rb = record(await subscribed(cb, ch), ['publication']);
    const sc = await subscribed(cc, ch);
    const rc = record(sc, ['publication']);
    const results = [];
    for (let i = 1; i <= 3; i++) results.push(await api(A(), 'publish', { channel: ch, data: { i } }));
    await rb.waitCount('publication', 3);
    await rc.waitCount('publication', 3);
    assert.deepEqual(rb.of('publication').map((p) => p.data.i), [1, 2, 3]);
    assert.deepEqual(rc.of('publication').map((p) => dec('protobuf', p.data).i), [1, 2, 3]);
    if (history) {
      assert.deepEqual(results.map((r) => r.offset), [1, 2, 3]);
      assert.ok(results.every((r) => r.epoch && r.epoch === results[0].epoch));
      assert.deepEqual(rb.of('publication').map((p) => p.offset), [1, 2, 3]);
      assert.deepEqual(rc.of('publication').map((p) => p.offset), [1, 2, 3]);
    } else {
      assert.deepEqual(results, [{}, {}, {}]);
    }
    // The other direction: a client of C publishes, the subscriber on B gets it with its info.
    await sc.publish(enc('protobuf', { from: 'c' }));
    await rb.waitCount('publication', 4);
    const last = rb.of('publication')[3];
    assert.deepEqual(last.data, { from: 'c' });
    assert.equal(last.info.user, 'pub-c');
    await sleep(100);
    assert.equal(rb.of('publication').length, 4, 'nothing delivered twice');
    assert.equal(rc.of('publication').length, 4);
  });

  test('presence and presence_stats on any node show clients of every node; join/leave cross nodes', async (t) => {
    const ch = uniq('room:pres');
    const users = ['pres-a', 'pres-b', 'pres-c'];
    const clients = [];
    const recs = [];
    const subs = [];
    for (const [i, srv] of [A(), B(), C()].entries()) {
      const c = await connected(i === 2 ? 'protobuf' : 'json', srv.wsUrl, { token: connToken(users[i]) }, t);
      const s = c.newSubscription(ch);
      recs.push(record(s, ['join', 'leave']));
      const ok = nextEvent(s, 'subscribed');
      s.subscribe();
      await ok;
      clients.push(c);
      subs.push(s);
    }
    // A saw B and C join, B saw C join (join of a later subscriber crosses nodes).
    await waitFor(() => recs[0].of('join').filter((j) => j.info.user !== 'pres-a').length >= 2, { label: 'joins of B and C on A' });
    await waitFor(() => recs[1].of('join').some((j) => j.info.user === 'pres-c'), { label: 'join of C on B' });
    assert.deepEqual(recs[0].of('join').map((j) => j.info.user).filter((u) => u !== 'pres-a').sort(), ['pres-b', 'pres-c']);
    const clientIds = clients.map((c) => c.connectCtx.client).sort();
    for (const srv of [A(), B(), C()]) {
      const p = await api(srv, 'presence', { channel: ch });
      assert.deepEqual(Object.keys(p.presence).sort(), clientIds, `presence on ${srv.name}`);
      assert.deepEqual(Object.values(p.presence).map((i) => i.user).sort(), users);
      assert.deepEqual(await api(srv, 'presence_stats', { channel: ch }), { num_clients: 3, num_users: 3 });
    }
    // The SDK's own presence call, made on C, sees A and B too.
    const sdkPresence = await subs[2].presence();
    assert.deepEqual(Object.keys(sdkPresence.clients).sort(), clientIds);
    // C leaves: A and B get the leave; presence on A no longer lists it.
    subs[2].unsubscribe();
    for (const r of recs.slice(0, 2)) {
      await waitFor(() => r.of('leave').some((l) => l.info.user === 'pres-c'), { label: 'leave of C' });
    }
    await waitFor(async () => (await api(A(), 'presence_stats', { channel: ch })).num_clients === 2, { label: 'presence_stats 2 on A' });
    assert.deepEqual(Object.values((await api(B(), 'presence', { channel: ch })).presence).map((i) => i.user).sort(), ['pres-a', 'pres-b']);
  });

  if (history) {
    test('history of a channel is the same from every node, through the API and the SDK', async (t) => {
      const ch = uniq('room:hist');
      const pubs = [];
      for (let i = 1; i <= 5; i++) pubs.push(await api(A(), 'publish', { channel: ch, data: { i } }));
      const views = await Promise.all([A(), B(), C()].map((s) => api(s, 'history', { channel: ch, limit: -1 })));
      for (const v of views) {
        assert.equal(v.epoch, pubs[0].epoch);
        assert.equal(v.offset, 5);
        assert.deepEqual(v.publications.map((p) => [p.offset, p.data.i]), [[1, 1], [2, 2], [3, 3], [4, 4], [5, 5]]);
      }
      const rev = await api(C(), 'history', { channel: ch, limit: 2, reverse: true });
      assert.deepEqual(rev.publications.map((p) => p.offset), [5, 4]);
      const since = await api(B(), 'history', { channel: ch, limit: -1, since: { offset: 3, epoch: pubs[0].epoch } });
      assert.deepEqual(since.publications.map((p) => p.offset), [4, 5]);
      const c = await connected('protobuf', C().wsUrl, { token: connToken('hist-c') }, t);
      const s = await subscribed(c, ch);
      const sdk = await s.history({ limit: 10 });
      assert.deepEqual(sdk.publications.map((p) => dec('protobuf', p.data).i), [1, 2, 3, 4, 5]);
      assert.equal(sdk.epoch, pubs[0].epoch);
    });

    for (const format of ['json', 'protobuf']) {
      test(`[${format}] recovery on another node: a client dropped from B reconnects to C and gets exactly the missed publications, in order`, async (t) => {
        const ch = uniq(`room:rec-${format}`);
        const away = 500 * SCALE; // reconnect delay: long enough to publish 4..8 meanwhile
        const sockets = [];
        const c = newClient(format, B().wsUrl, {
          token: connToken(`rec-${format}`),
          websocket: switchingWebSocket([B().wsUrl, C().wsUrl], sockets),
          minReconnectDelay: away,
          maxReconnectDelay: away,
        });
        t.defer(() => c.disconnect());
        const conns = record(c, ['connected']);
        await connect(c);
        const s = await subscribed(c, ch);
        assert.equal(s.subscribedCtx.recoverable, true);
        const r = record(s, ['publication', 'subscribed']);
        const publish = async (from, to) => {
          for (let i = from; i <= to; i++) await api(A(), 'publish', { channel: ch, data: { i } });
        };
        await publish(1, 3);
        await r.waitCount('publication', 3);
        const gone = nextEvent(c, 'connecting');
        sockets[0].terminate();
        await gone;
        await publish(4, 8);
        assert.equal(r.of('subscribed').length, 0, '4..8 were published while the client was away');
        await r.waitCount('subscribed', 1, { timeout: 10000 * SCALE });
        assert.equal(sockets.length, 2);
        assert.equal(sockets[1].targetUrl, C().wsUrl, 'the reconnect went to node C');
        const ctx = r.of('subscribed')[0];
        assert.equal(ctx.wasRecovering, true);
        assert.equal(ctx.recovered, true);
        await r.waitCount('publication', 8);
        await publish(9, 9);
        await r.waitCount('publication', 9);
        await sleep(100);
        const got = r.of('publication');
        assert.deepEqual(got.map((p) => p.offset), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert.deepEqual(got.map((p) => dec(format, p.data).i), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
        // C really holds the connection now: its presence lists the client.
        const p = await api(C(), 'presence', { channel: ch });
        assert.equal(conns.of('connected').length, 2);
        assert.deepEqual(Object.keys(p.presence), [conns.of('connected')[1].client]);
      });
    }
  }

  describe('node-targeted API commands sent to A act on connections of B', () => {
    test('subscribe: a server-side subscription of a live connection on B, fed by a publication through C', async (t) => {
      const ch = uniq('room:srvsub');
      const c = newClient('json', B().wsUrl, { token: connToken('ctl-sub') });
      t.defer(() => c.disconnect());
      const rc = record(c, ['subscribed', 'publication']);
      await connect(c);
      await api(A(), 'subscribe', { user: 'ctl-sub', channel: ch, data: { from: 'A' } });
      await rc.waitCount('subscribed', 1);
      assert.equal(rc.of('subscribed')[0].channel, ch);
      assert.deepEqual(rc.of('subscribed')[0].data, { from: 'A' });
      // The subscription is live on B: a publication through C reaches it.
      await waitFor(async () => (await api(C(), 'presence_stats', { channel: ch })).num_clients === 1, { label: 'presence of the server-side sub' });
      await api(C(), 'publish', { channel: ch, data: { n: 1 } });
      await rc.waitCount('publication', 1);
      assert.equal(rc.of('publication')[0].channel, ch);
    });

    test('unsubscribe: the subscription on B is ended with code 2000', async (t) => {
      const ch = uniq('room:unsub');
      const c = await connected('protobuf', B().wsUrl, { token: connToken('ctl-unsub') }, t);
      const s = await subscribed(c, ch);
      const gone = nextEvent(s, 'unsubscribed');
      await api(A(), 'unsubscribe', { user: 'ctl-unsub', channel: ch });
      const ctx = await gone;
      assert.equal(ctx.code, 2000);
      assert.equal(c.state, 'connected', 'the connection stays');
    });

    test('disconnect: the connection on B is closed with the given code; whitelisted ones stay', async (t) => {
      const c1 = await connected('json', B().wsUrl, { token: connToken('ctl-disc') }, t);
      const c2 = await connected('json', C().wsUrl, { token: connToken('ctl-disc') }, t);
      const gone = nextEvent(c1, 'disconnected');
      await api(A(), 'disconnect', { user: 'ctl-disc', whitelist: [c2.connectCtx.client] });
      const ctx = await gone;
      assert.equal(ctx.code, 3503);
      await sleep(200);
      assert.equal(c2.state, 'connected');
    });

    test('refresh: new connection info on B shows in its publications; expired closes it with 3005', async (t) => {
      const ch = uniq('room:refresh');
      const c = await connected('json', B().wsUrl, { token: connToken('ctl-ref', { info: { v: 1 } }) }, t);
      const s = await subscribed(c, ch);
      const watcher = await connected('json', C().wsUrl, { token: connToken('ctl-watch') }, t);
      const rw = record(await subscribed(watcher, ch), ['publication']);
      await s.publish({ n: 1 });
      await rw.waitCount('publication', 1);
      await api(A(), 'refresh', { user: 'ctl-ref', info: { v: 2 } });
      // The refresh travels through the control channel: publish until the new info shows.
      await waitFor(async () => {
        await s.publish({ n: 2 });
        return rw.of('publication').some((p) => p.info?.connInfo?.v === 2);
      }, { interval: 100, label: 'publication with the refreshed info' });
      assert.deepEqual(rw.of('publication')[0].info.connInfo, { v: 1 });
      const closed = nextEvent(c, 'connecting');
      await api(A(), 'refresh', { user: 'ctl-ref', expired: true });
      assert.equal((await closed).code, 3005);
    });

    test('info on every node lists every node with its connection and subscription counts, uptime and version', async (t) => {
      // A: 1 client (1 sub); B: 2 clients (3 subs); C: none.
      const a = await connected('json', A().wsUrl, { token: connToken('info-a') }, t);
      await subscribed(a, uniq('room:info'));
      const b1 = await connected('json', B().wsUrl, { token: connToken('info-b') }, t);
      const b2 = await connected('protobuf', B().wsUrl, { token: connToken('info-b') }, t);
      await subscribed(b1, uniq('room:info'));
      await subscribed(b1, uniq('room:info'));
      await subscribed(b2, uniq('room:info'));
      const want = { [A().uid]: [1, 1, 1], [B().uid]: [2, 1, 3], [C().uid]: [0, 0, 0] };
      // Remote figures come with the heartbeat (every 3 s, sent from a 1 s tick): within
      // about 4 s every node shows the new counts of every other.
      for (const srv of [A(), B(), C()]) {
        const nodes = await waitFor(async () => {
          const r = await api(srv, 'info', {});
          const ok = r.nodes.length === 3 && r.nodes.every((n) => {
            const w = want[n.uid];
            return w && (n.num_clients ?? 0) === w[0] && (n.num_users ?? 0) === w[1] && (n.num_subs ?? 0) === w[2];
          });
          if (!ok) throw new Error(`have ${JSON.stringify(r.nodes.map(({ metrics, ...n }) => n))}`);
          return r.nodes;
        }, { timeout: 5000 * SCALE, label: `info on ${srv.name} with every node's counts` });
        assert.deepEqual(nodes.map((n) => n.uid).sort(), Object.keys(want).sort());
        assert.equal(nodes[0].uid, srv.uid, 'the asked node comes first');
        for (const n of nodes) {
          assert.match(n.version, /\S/);
          assert.match(n.name, /\S/);
          assert.ok((n.uptime ?? 0) >= 0);
        }
      }
      // Nodes have been up for a few seconds by now: uptime is reported.
      const r = await api(C(), 'info', {});
      assert.ok(r.nodes.every((n) => n.uptime >= 1), JSON.stringify(r.nodes));
      assert.equal(new Set(r.nodes.map((n) => n.name)).size, 3, 'distinct node names');
    });

    test('channels on A lists channels with subscribers on B and C, counts summed', async (t) => {
      const x = uniq('room:chans-x');
      const y = uniq('room:chans-y');
      for (const [srv, user, chans] of [[B(), 'ch-b1', [x]], [B(), 'ch-b2', [x]], [C(), 'ch-c', [x, y]]]) {
        const c = await connected('json', srv.wsUrl, { token: connToken(user) }, t);
        for (const ch of chans) await subscribed(c, ch);
      }
      const r = await api(A(), 'channels', { pattern: 'room:chans-*' });
      assert.deepEqual(r.channels, { [x]: { num_clients: 3 }, [y]: { num_clients: 1 } });
      const all = await api(B(), 'channels', {});
      assert.equal(all.channels[x].num_clients, 3);
    });
  });
}
