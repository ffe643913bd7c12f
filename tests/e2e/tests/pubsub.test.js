// Client commands with the real SDKs (JSON and Protobuf): subscribe, unsubscribe, publish,
// presence, presence_stats, history, rpc, send, batching, namespaces, user-limited and
// private channels, channel name rules, and each namespace option that a client can observe
// through permission refusals (102, 103, 105, 106, 107, 108) or pushes (join/leave).
import assert from 'node:assert/strict';
import { describe, test, useServer, FORMATS } from '../lib/test.js';
import { connToken, subToken, nowS } from '../lib/tokens.js';
import { connected, dec, enc, newClient, connect, recordingWebSocket, settle, subscribed, subscribeError } from '../lib/sdk.js';
import { RawClient, pbSplit } from '../lib/rawws.js';
import { api } from '../lib/api.js';
import { nextEvent, record, sleep, waitFor, SCALE } from '../lib/wait.js';

const ns = (name, opts) => ({ name, ...opts });
const SUBSCRIBER = {
  allow_subscribe_for_client: true,
  allow_publish_for_subscriber: true,
  allow_presence_for_subscriber: true,
  allow_history_for_subscriber: true,
};

const config = {
  client: { allow_anonymous_connect_without_token: true, channel_limit: 6 },
  channel: {
    without_namespace: { allow_subscribe_for_client: true, allow_publish_for_client: true },
    namespaces: [
      ns('chat', { ...SUBSCRIBER, presence: true, join_leave: true, history_size: 10, history_ttl: '300s' }),
      ns('forced', { ...SUBSCRIBER, presence: true, join_leave: true, force_push_join_leave: true }),
      ns('pubclient', { allow_subscribe_for_client: true, allow_publish_for_client: true }),
      ns('readonly', { allow_subscribe_for_client: true }),
      ns('pres', { allow_subscribe_for_client: true, presence: true }),
      ns('presclient', { presence: true, allow_presence_for_client: true }),
      ns('histclient', { history_size: 5, history_ttl: '300s', allow_history_for_client: true, allow_publish_for_client: true }),
      ns('short', { ...SUBSCRIBER, history_size: 3, history_ttl: '1s' }),
      ns('anon', {
        allow_subscribe_for_client: true, allow_subscribe_for_anonymous: true,
        allow_publish_for_client: true, allow_publish_for_anonymous: true,
        presence: true, allow_presence_for_client: true, allow_presence_for_anonymous: true,
        history_size: 5, history_ttl: '300s', allow_history_for_client: true, allow_history_for_anonymous: true,
      }),
      ns('anonno', {
        allow_subscribe_for_client: true, allow_publish_for_client: true,
        presence: true, allow_presence_for_client: true,
        history_size: 5, history_ttl: '300s', allow_history_for_client: true,
      }),
      ns('anonsub', {
        allow_subscribe_for_client: true, allow_subscribe_for_anonymous: true,
        allow_publish_for_subscriber: true, allow_publish_for_anonymous: true,
        presence: true, allow_presence_for_subscriber: true, allow_presence_for_anonymous: true,
      }),
      ns('ul', { allow_user_limited_channels: true, presence: true, allow_presence_for_subscriber: true }),
      ns('noul', { allow_subscribe_for_client: true }),
      ns('secret', { presence: true, join_leave: true }),
      ns('rx', { allow_subscribe_for_client: true, channel_regex: '^[a-z0-9_]+$' }),
    ],
  },
};

const tok = (u) => connToken(u);

describe('client commands', () => {
  const h = useServer({ name: 'pubsub', config });

  for (const format of FORMATS) {
    const P = (v) => enc(format, v);
    const D = (v) => dec(format, v);

    describe(format, () => {
      test('connect and subscribes go in one frame; both answered', async (t) => {
        const log = [];
        const c = newClient(format, h.wsUrl, { token: tok('batch'), websocket: recordingWebSocket(log) });
        t.defer(() => c.disconnect());
        const s1 = c.newSubscription('chat:b1');
        const s2 = c.newSubscription('chat:b2');
        const both = Promise.all([nextEvent(s1, 'subscribed'), nextEvent(s2, 'subscribed')]);
        s1.subscribe();
        s2.subscribe();
        await connect(c);
        await both;
        const first = log.find((f) => f.dir === 'out');
        const n = format === 'protobuf' ? pbSplit(first.data).length : first.data.toString().split('\n').length;
        assert.equal(n, 3, 'connect + 2 subscribes in the first frame');
      });

      test('publish reaches subscribers (with publisher info), unsubscribe stops it', async (t) => {
        const a = await connected(format, h.wsUrl, { token: tok('pa') }, t);
        const b = await connected(format, h.wsUrl, { token: tok('pb') }, t);
        const sa = await subscribed(a, `chat:pub-${format}`);
        const sb = await subscribed(b, `chat:pub-${format}`);
        const rb = record(sb, ['publication']);
        const ra = record(sa, ['publication']);
        await sa.publish(P({ n: 1 }));
        await b.publish(`chat:pub-${format}`, P({ n: 2 }));
        await rb.waitCount('publication', 2);
        await ra.waitCount('publication', 2);
        assert.deepEqual(rb.of('publication').map((p) => D(p.data)), [{ n: 1 }, { n: 2 }]);
        assert.equal(rb.of('publication')[0].info.user, 'pa');
        assert.equal(rb.of('publication')[0].info.client, a.connectCtx.client);
        assert.equal(rb.of('publication')[0].offset, 1);
        // Unsubscribe: no more publications for b.
        sb.unsubscribe();
        await waitFor(() => sb.state === 'unsubscribed');
        await sleep(100);
        await sa.publish(P({ n: 3 }));
        await ra.waitCount('publication', 3);
        await sleep(200);
        assert.equal(rb.of('publication').length, 2);
        // The server no longer lists b in presence.
        const p = await sa.presence();
        assert.deepEqual(Object.values(p.clients).map((x) => x.user), ['pa']);
      });

      test('publish from the server API reaches the SDK with identical data', async (t) => {
        const c = await connected(format, h.wsUrl, { token: tok('api-sub') }, t);
        const s = await subscribed(c, `pubclient:from-api-${format}`);
        const r = record(s, ['publication']);
        const payloads = [{ a: 1 }, [1, 2, 3], 'text', 42, { nested: { u: 'Ünïcødé ✓ 😀' } }];
        for (const data of payloads) await api(h.srv, 'publish', { channel: `pubclient:from-api-${format}`, data });
        await r.waitCount('publication', payloads.length);
        assert.deepEqual(r.of('publication').map((p) => D(p.data)), payloads);
      });

      test('presence and presence_stats', async (t) => {
        const a = await connected(format, h.wsUrl, { token: tok('u1') }, t);
        const b = await connected(format, h.wsUrl, { token: tok('u1') }, t);
        const c = await connected(format, h.wsUrl, { token: tok('u2') }, t);
        for (const x of [a, b, c]) await subscribed(x, `chat:pres-${format}`);
        const sa = a.getSubscription(`chat:pres-${format}`);
        const p = await sa.presence();
        assert.deepEqual(Object.keys(p.clients).sort(), [a, b, c].map((x) => x.connectCtx.client).sort());
        const st = await sa.presenceStats();
        assert.equal(st.numClients, 3);
        assert.equal(st.numUsers, 2);
        c.getSubscription(`chat:pres-${format}`).unsubscribe();
        await waitFor(async () => (await sa.presenceStats()).numClients === 2);
      });

      test('join and leave: on request (join_leave) and forced (force_push_join_leave)', async (t) => {
        const a = await connected(format, h.wsUrl, { token: tok('ja') }, t);
        const b = await connected(format, h.wsUrl, { token: tok('jb') }, t);
        // Recorders attached before subscribing: the subscriber's own join may come with the
        // subscribe reply or later.
        const sa = a.newSubscription(`chat:jl-${format}`, { joinLeave: true });
        const ra = record(sa, ['join', 'leave']);
        sa.subscribe();
        await nextEvent(sa, 'subscribed');
        const fa = a.newSubscription(`forced:jl-${format}`); // not asked, forced by the namespace
        const rfa = record(fa, ['join', 'leave']);
        fa.subscribe();
        await nextEvent(fa, 'subscribed');
        const sb = await subscribed(b, `chat:jl-${format}`);
        const fb = await subscribed(b, `forced:jl-${format}`);
        const users = (r) => r.of('join').map((j) => j.info.user).sort();
        await waitFor(() => users(ra).includes('jb') && users(rfa).includes('jb'), { label: 'join of jb' });
        await sleep(100);
        assert.deepEqual(users(ra), ['ja', 'jb'], 'own join and the other one');
        assert.deepEqual(users(rfa), ['ja', 'jb']);
        sb.unsubscribe();
        fb.unsubscribe();
        await ra.waitCount('leave', 1);
        await rfa.waitCount('leave', 1);
        assert.equal(ra.of('leave')[0].info.client, b.connectCtx.client);
        // b asked nothing in chat: it got no join/leave.
        const sc = await subscribed(b, `chat:jl2-${format}`);
        const rc = record(sc, ['join']);
        const x = await connected(format, h.wsUrl, { token: tok('jx') }, t);
        await subscribed(x, `chat:jl2-${format}`);
        await sleep(300);
        assert.equal(rc.of('join').length, 0);
      });

      test('history: limit, since, reverse, and the stream position', async (t) => {
        const c = await connected(format, h.wsUrl, { token: tok('hist') }, t);
        const s = await subscribed(c, `chat:hist-${format}`);
        for (let i = 1; i <= 12; i++) await s.publish(P({ i }));
        const top = await s.history();
        assert.equal(top.publications.length, 0, 'limit 0 = position only');
        assert.equal(top.offset, 12);
        assert.ok(top.epoch);
        const all = await s.history({ limit: 100 });
        assert.deepEqual(all.publications.map((p) => D(p.data).i), [3, 4, 5, 6, 7, 8, 9, 10, 11, 12], 'history_size 10 keeps the newest 10');
        assert.deepEqual(all.publications.map((p) => p.offset), [3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        const first3 = await s.history({ limit: 3 });
        assert.deepEqual(first3.publications.map((p) => p.offset), [3, 4, 5]);
        const last3 = await s.history({ limit: 3, reverse: true });
        assert.deepEqual(last3.publications.map((p) => p.offset), [12, 11, 10]);
        const since = await s.history({ limit: 3, since: { offset: 6, epoch: top.epoch } });
        assert.deepEqual(since.publications.map((p) => p.offset), [7, 8, 9]);
        const sinceRev = await s.history({ limit: 2, since: { offset: 6, epoch: top.epoch }, reverse: true });
        assert.deepEqual(sinceRev.publications.map((p) => p.offset), [5, 4]);
        const atTop = await s.history({ limit: 5, since: { offset: 12, epoch: top.epoch } });
        assert.equal(atTop.publications.length, 0);
        const badEpoch = await settle(s.history({ limit: 5, since: { offset: 1, epoch: 'not-the-epoch' } }));
        assert.equal(badEpoch.code, 112);
        const noLimit = await s.history({ limit: -1 });
        assert.equal(noLimit.publications.length, 10);
        assert.equal(all.publications[0].info.user, 'hist');
      });

      test('history_ttl expires publications but keeps the position', async (t) => {
        const c = await connected(format, h.wsUrl, { token: tok('ttl') }, t);
        const s = await subscribed(c, `short:ttl-${format}`);
        for (let i = 1; i <= 5; i++) await s.publish(P({ i }));
        const h1 = await s.history({ limit: 10 });
        assert.deepEqual(h1.publications.map((p) => p.offset), [3, 4, 5], 'history_size 3');
        await waitFor(async () => (await s.history({ limit: 10 })).publications.length === 0, { timeout: 6000 * SCALE, label: 'history_ttl expiry' });
        const h2 = await s.history({ limit: 10 });
        assert.equal(h2.offset, 5);
        assert.equal(h2.epoch, h1.epoch);
      });

      test('rpc without an RPC handler → 108; send gets no reply and keeps the connection', async (t) => {
        const c = await connected(format, h.wsUrl, { token: tok('rpc') }, t);
        const r = await settle(c.rpc('anything', P({ x: 1 })));
        assert.equal(r.code, 108);
        await c.send(P({ hello: 'server' }));
        await sleep(200);
        assert.equal(c.state, 'connected');
        const r2 = await settle(c.rpc('again', P({})));
        assert.equal(r2.code, 108);
      });

      test('namespace permissions: publish, presence, history', async (t) => {
        const c = await connected(format, h.wsUrl, { token: tok('perm') }, t);
        // publish: for subscribers only in chat → 103 when not subscribed.
        assert.equal((await settle(c.publish(`chat:perm-${format}`, P({ a: 1 })))).code, 103);
        // allow_publish_for_client: no subscription needed.
        assert.equal((await settle(c.publish(`pubclient:perm-${format}`, P({ a: 1 })))).ok, true);
        // no publish permission at all.
        await subscribed(c, `readonly:perm-${format}`);
        assert.equal((await settle(c.publish(`readonly:perm-${format}`, P({ a: 1 })))).code, 103);
        // presence off → 108; presence on, not allowed → 103; allowed for client → ok.
        assert.equal((await settle(c.presence(`readonly:perm-${format}`))).code, 108);
        assert.equal((await settle(c.presenceStats(`readonly:perm-${format}`))).code, 108);
        await subscribed(c, `pres:perm-${format}`);
        assert.equal((await settle(c.presence(`pres:perm-${format}`))).code, 103);
        assert.equal((await settle(c.presenceStats(`pres:perm-${format}`))).code, 103);
        assert.equal((await settle(c.presence(`presclient:perm-${format}`))).ok, true);
        // history off → 108; subscriber-only → 103 unsubscribed; for client → ok.
        assert.equal((await settle(c.history(`readonly:perm-${format}`, { limit: 1 }))).code, 108);
        assert.equal((await settle(c.history(`chat:perm-${format}`, { limit: 1 }))).code, 103);
        await c.publish(`histclient:perm-${format}`, P({ a: 1 }));
        const hr = await c.history(`histclient:perm-${format}`, { limit: 5 });
        assert.equal(hr.publications.length, 1);
        // Unknown namespace everywhere → 102.
        assert.equal((await settle(c.publish('nope:x', P({ a: 1 })))).code, 102);
        assert.equal((await settle(c.presence('nope:x'))).code, 102);
        assert.equal((await settle(c.history('nope:x', { limit: 1 }))).code, 102);
        // Subscribe refusals: not allowed (103), unknown namespace (102).
        assert.equal((await subscribeError(c, 'presclient:s')).code, 103);
        assert.equal((await subscribeError(c, 'nope:s')).code, 102);
        assert.equal(c.state, 'connected');
      });

      test('anonymous: *_for_anonymous options', async (t) => {
        const c = await connected(format, h.wsUrl, {}, t);
        const s = await subscribed(c, `anon:a-${format}`);
        await s.publish(P({ a: 1 }));
        assert.equal((await s.history({ limit: 5 })).publications.length, 1);
        assert.equal(Object.keys((await s.presence()).clients).length, 1);
        // Same options without the anonymous flags → 103 everywhere.
        assert.equal((await subscribeError(c, `anonno:a-${format}`)).code, 103);
        assert.equal((await settle(c.publish(`anonno:a-${format}`, P({ a: 1 })))).code, 103);
        assert.equal((await settle(c.presence(`anonno:a-${format}`))).code, 103);
        assert.equal((await settle(c.history(`anonno:a-${format}`, { limit: 1 }))).code, 103);
        // Subscriber permissions extended to anonymous subscribers.
        assert.equal((await settle(c.publish(`anonsub:a-${format}`, P({ a: 1 })))).code, 103, 'not subscribed yet');
        const s2 = await subscribed(c, `anonsub:a-${format}`);
        assert.equal((await settle(s2.publish(P({ a: 1 })))).ok, true);
        assert.equal((await settle(s2.presence())).ok, true);
      });

      test('user-limited channels', async (t) => {
        const c = await connected(format, h.wsUrl, { token: tok('u7') }, t);
        await subscribed(c, 'ul:room#u7,u8');
        await subscribed(c, 'ul:room#u6,u7');
        assert.equal((await subscribeError(c, 'ul:room#u6,u8')).code, 103);
        // Namespace without allow_user_limited_channels: '#' is just a character.
        assert.equal((await subscribeError(c, 'presclient:room#u7')).code, 103);
        await subscribed(c, 'noul:room#u9');
      });

      test('private channels need a subscription token', async (t) => {
        const c = await connected(format, h.wsUrl, { token: tok('pv') }, t);
        assert.equal((await subscribeError(c, '$secret:a')).code, 103, 'no token');
        const s = await subscribed(c, '$secret:b', { token: subToken('pv', '$secret:b', { info: { role: 'reader' } }) });
        const p = await c.presence('$secret:b').catch((e) => e);
        // presence not allowed by namespace for this user, even with the token.
        assert.equal(p.code, 103);
        assert.equal(s.state, 'subscribed');
        // getToken flavour.
        let asked = 0;
        const s2 = await subscribed(c, '$secret:c', {
          getToken: async (ctx) => {
            asked++;
            assert.equal(ctx.channel, '$secret:c');
            return subToken('pv', '$secret:c');
          },
        });
        assert.equal(asked, 1);
        assert.equal(s2.state, 'subscribed');
      });

      test('subscription token for another user or channel → 3500, no reconnect', async (t) => {
        for (const token of [subToken('someone-else', '$secret:d'), subToken('pv2', '$secret:other')]) {
          const c = await connected(format, h.wsUrl, { token: tok('pv2') }, t);
          const d = nextEvent(c, 'disconnected');
          c.newSubscription('$secret:d', { token }).subscribe();
          assert.equal((await d).code, 3500);
        }
      });

      test('expired subscription token at subscribe → 109 → getToken', async (t) => {
        const c = await connected(format, h.wsUrl, { token: tok('pv3') }, t);
        let asked = 0;
        await subscribed(c, '$secret:e', {
          token: subToken('pv3', '$secret:e', { exp: nowS() - 5 }),
          getToken: async () => {
            asked++;
            return subToken('pv3', '$secret:e');
          },
        });
        assert.equal(asked, 1);
      });

      test('channel name rules: length, ASCII, channel_regex', async (t) => {
        const c = await connected(format, h.wsUrl, { token: tok('names') }, t);
        const max = 'x'.repeat(255);
        const s = await subscribed(c, max);
        s.unsubscribe();
        c.removeSubscription(s);
        assert.equal((await subscribeError(c, 'x'.repeat(256))).code, 107);
        assert.equal((await subscribeError(c, 'cañón')).code, 107, 'non-ASCII without regex');
        await subscribed(c, 'rx:abc_1');
        assert.equal((await subscribeError(c, 'rx:ABC')).code, 107);
        assert.equal(c.state, 'connected');
      });

      test('channel limit → 106', async (t) => {
        const c = await connected(format, h.wsUrl, { token: tok('limit') }, t);
        for (let i = 0; i < 6; i++) await subscribed(c, `lim${i}`);
        assert.equal((await subscribeError(c, 'lim6')).code, 106);
      });
    });
  }

  for (const format of FORMATS) {
    test(`[${format}] already subscribed → 105 (raw client)`, async (t) => {
      const r = new RawClient(h.wsUrl, { format });
      t.defer(() => r.close());
      await r.connect(tok('dup'));
      r.send({ id: 2, subscribe: { channel: 'chat:dup' } });
      assert.ok((await r.reply(2)).subscribe);
      r.send({ id: 3, subscribe: { channel: 'chat:dup' } });
      assert.equal((await r.reply(3)).error?.code, 105);
      // Unsubscribing an unknown channel is a success.
      r.send({ id: 4, unsubscribe: { channel: 'chat:never' } });
      const u = await r.reply(4);
      assert.ok(!u.error, JSON.stringify(u));
    });
  }
});
