// Connect, subscribe and refresh where Gyre follows Centrifugo v6 on the wire: the channels
// a client asks for in connect.subs (server-side subscriptions, recovered on reconnect),
// was_recovering in every namespace, cache recovery at the top without an epoch, a
// subscription token for an unknown namespace (102), refresh and sub_refresh without
// expiry, and a subscription token whose b64data is not JSON (refused on JSON, the
// connection serving on). Raw clients where the SDK hides the wire, the SDKs where a user
// would see it.
import assert from 'node:assert/strict';
import { describe, test, useServer, FORMATS } from '../lib/test.js';
import { connToken, subToken, nowS } from '../lib/tokens.js';
import { connected, dec, newClient, connect, subscribed, subscribeError } from '../lib/sdk.js';
import { RawClient } from '../lib/rawws.js';
import { api } from '../lib/api.js';
import { nextEvent, record, sleep, SCALE } from '../lib/wait.js';

const OPEN = { allow_subscribe_for_client: true };
const config = {
  channel: {
    without_namespace: { ...OPEN },
    namespaces: [
      { name: 'hist', ...OPEN, history_size: 50, history_ttl: '300s', force_recovery: true },
      { name: 'cache', ...OPEN, history_size: 10, history_ttl: '300s', force_recovery: true, force_recovery_mode: 'cache' },
      { name: 'closed' },
      { name: 'users', allow_user_limited_channels: true },
    ],
  },
};

const AWAY = 1500 * SCALE;
const b64 = (s) => Buffer.from(s).toString('base64');

describe('session conformance', () => {
  const h = useServer({ name: 'session-conformance', config });

  const raw = async (t, token) => {
    const r = new RawClient(h.wsUrl);
    t.defer(() => r.close());
    await r.connect(token);
    return r;
  };

  // ---- connect.subs ----

  test('raw: connect.subs become server-side subscriptions where the client may subscribe', async (t) => {
    const r = new RawClient(h.wsUrl);
    t.defer(() => r.close());
    await r.opened();
    r.send({
      id: 1,
      connect: {
        token: connToken('cs1'),
        subs: { 'cs-plain': {}, 'hist:cs': {}, 'closed:cs': {}, '$cs': {}, 'users:#cs1': {}, 'users:#other': {} },
      },
    });
    const rep = await r.reply(1);
    assert.equal(rep.error, undefined, JSON.stringify(rep));
    assert.deepEqual(Object.keys(rep.connect.subs).sort(), ['cs-plain', 'hist:cs', 'users:#cs1']);
    assert.equal(rep.connect.subs['hist:cs'].recoverable, true);
    assert.ok(rep.connect.subs['hist:cs'].epoch);
    await api(h.srv, 'publish', { channel: 'cs-plain', data: { n: 1 } });
    const [p] = await r.waitPushes(1, (x) => x.pub);
    assert.equal(p.push.channel, 'cs-plain');
    assert.deepEqual(p.push.pub.data, { n: 1 });
  });

  test('raw: a connect.subs channel in an unknown namespace → 3501', async (t) => {
    const r = new RawClient(h.wsUrl);
    t.defer(() => r.close());
    await r.opened();
    r.send({ id: 1, connect: { token: connToken('cs2'), subs: { 'cs-plain': {}, 'nope:x': {} } } });
    assert.equal((await r.waitClose()).code, 3501);
  });

  test('raw: connect.subs recover from the position the client sends', async (t) => {
    const first = await api(h.srv, 'publish', { channel: 'hist:csr', data: { i: 1 } });
    await api(h.srv, 'publish', { channel: 'hist:csr', data: { i: 2 } });
    await api(h.srv, 'publish', { channel: 'hist:csr', data: { i: 3 } });
    const r = new RawClient(h.wsUrl);
    t.defer(() => r.close());
    await r.opened();
    r.send({ id: 1, connect: { token: connToken('cs3'), subs: { 'hist:csr': { recover: true, offset: 1, epoch: first.epoch } } } });
    const sub = (await r.reply(1)).connect.subs['hist:csr'];
    assert.equal(sub.recovered, true);
    assert.equal(sub.was_recovering, true);
    assert.deepEqual(sub.publications.map((p) => p.data.i), [2, 3]);
  });

  for (const format of FORMATS) {
    test(`[${format}] SDK: a server-side subscription made by the API is recovered after a reconnect`, async (t) => {
      const user = `csapi-${format}`;
      const ch = `hist:csapi-${format}`;
      const c = await connected(format, h.wsUrl, { token: connToken(user), minReconnectDelay: AWAY, maxReconnectDelay: AWAY }, t);
      const rc = record(c, ['subscribed', 'publication']);
      await api(h.srv, 'subscribe', { user, channel: ch });
      await rc.waitCount('subscribed', 1);
      await api(h.srv, 'publish', { channel: ch, data: { i: 1 } });
      await rc.waitCount('publication', 1);
      const away = nextEvent(c, 'connecting');
      await api(h.srv, 'disconnect', { user, disconnect: { code: 4003, reason: 'away' } });
      await away;
      await api(h.srv, 'publish', { channel: ch, data: { i: 2 } });
      await api(h.srv, 'publish', { channel: ch, data: { i: 3 } });
      // The SDK asks for the channel in connect.subs with its position: subscribed again,
      // the missed publications recovered.
      await rc.waitCount('subscribed', 2, { timeout: 10000 * SCALE });
      const again = rc.of('subscribed')[1];
      assert.equal(again.channel, ch);
      assert.equal(again.recovered, true);
      await rc.waitCount('publication', 3);
      await sleep(100);
      assert.deepEqual(rc.of('publication').map((p) => dec(format, p.data).i), [1, 2, 3]);
    });
  }

  // ---- was_recovering ----

  test('raw: was_recovering echoes recover in a namespace without recovery', async (t) => {
    const r = await raw(t, connToken('wr'));
    r.send({ id: 2, subscribe: { channel: 'wr-plain', recover: true, offset: 5, epoch: 'x' } });
    const rep = await r.reply(2);
    assert.deepEqual(rep.subscribe, { was_recovering: true });
  });

  // ---- cache recovery at the top ----

  test('raw: cache recovery at the top offset without an epoch returns the newest publication', async (t) => {
    await api(h.srv, 'publish', { channel: 'cache:top', data: { i: 1 } });
    const top = await api(h.srv, 'publish', { channel: 'cache:top', data: { i: 2 } });
    const r = await raw(t, connToken('ct'));
    r.send({ id: 2, subscribe: { channel: 'cache:top', recover: true, offset: top.offset } });
    const rep = (await r.reply(2)).subscribe;
    assert.equal(rep.recovered, true);
    assert.deepEqual(rep.publications.map((p) => p.data.i), [2]);
    r.send({ id: 3, unsubscribe: { channel: 'cache:top' } });
    await r.reply(3);
    r.send({ id: 4, subscribe: { channel: 'cache:top', recover: true, offset: top.offset, epoch: top.epoch } });
    const same = (await r.reply(4)).subscribe;
    assert.equal(same.recovered, true);
    assert.equal(same.publications, undefined, 'the client holds the newest already');
  });

  // ---- subscription token for an unknown namespace ----

  test('raw: a subscription token for a channel in an unknown namespace → error 102, connection stays', async (t) => {
    const r = await raw(t, connToken('un'));
    r.send({ id: 2, subscribe: { channel: 'nope:x', token: subToken('un', 'nope:x') } });
    assert.deepEqual((await r.reply(2)).error, { code: 102, message: 'unknown channel' });
    r.send({ id: 3, subscribe: { channel: 'un-plain' } });
    assert.equal((await r.reply(3)).error, undefined);
    assert.equal(r.closed, null);
  });

  for (const format of FORMATS) {
    test(`[${format}] SDK: subscription token for an unknown namespace → 102`, async (t) => {
      const c = await connected(format, h.wsUrl, { token: connToken(`un-${format}`) }, t);
      const res = await subscribeError(c, 'nope:y', { token: subToken(`un-${format}`, 'nope:y') });
      assert.equal(res.code, 102);
      assert.equal(c.state, 'connected');
    });
  }

  // ---- refresh and sub_refresh without expiry ----

  test('raw: refresh of a connection without expiry takes a valid token', async (t) => {
    const r = await raw(t, connToken('rf', { ttl: null }));
    r.send({ id: 2, refresh: { token: connToken('rf', { ttl: 60 }) } });
    const rep = (await r.reply(2)).refresh;
    assert.equal(rep.expires, true);
    assert.ok(rep.ttl > 0 && rep.ttl <= 60, JSON.stringify(rep));
    assert.equal(r.closed, null);
  });

  test('raw: sub_refresh of a subscription without expiry takes a valid token', async (t) => {
    const r = await raw(t, connToken('srf'));
    r.send({ id: 2, subscribe: { channel: 'srf-plain' } });
    assert.equal((await r.reply(2)).error, undefined);
    r.send({ id: 3, sub_refresh: { channel: 'srf-plain', token: subToken('srf', 'srf-plain', { exp: nowS() + 120 }) } });
    const rep = (await r.reply(3)).sub_refresh;
    assert.equal(rep.expires, true);
    assert.ok(rep.ttl > 0 && rep.ttl <= 120, JSON.stringify(rep));
    assert.equal(r.closed, null);
  });

  // ---- b64data that is not JSON ----

  const notJson = Buffer.from([0xff, 0x01, 0x6e, 0x6f]).toString('base64');

  test('raw: subscription token b64data that is not JSON → 103 on JSON, later commands answered', async (t) => {
    const r = await raw(t, connToken('bd'));
    r.send(
      { id: 2, subscribe: { channel: 'closed:bd', token: subToken('bd', 'closed:bd', { b64data: notJson }) } },
      { id: 3, subscribe: { channel: 'bd-plain' } },
    );
    assert.deepEqual((await r.reply(2)).error, { code: 103, message: 'permission denied' });
    assert.equal((await r.reply(3)).error, undefined);
    r.send({ id: 4, subscribe: { channel: 'closed:bd', token: subToken('bd', 'closed:bd', { b64data: b64('{"ok":1}') }) } });
    assert.deepEqual((await r.reply(4)).subscribe.data, { ok: 1 });
    assert.equal(r.closed, null);
  });

  test('[json] SDK: subscription token b64data that is not JSON → 103, the client goes on', async (t) => {
    const c = await connected('json', h.wsUrl, { token: connToken('bdj') }, t);
    const res = await subscribeError(c, 'closed:bdj', { token: subToken('bdj', 'closed:bdj', { b64data: notJson }) });
    assert.equal(res.code, 103);
    const s = await subscribed(c, 'bdj-plain');
    const got = nextEvent(s, 'publication');
    await api(h.srv, 'publish', { channel: 'bdj-plain', data: { n: 1 } });
    assert.deepEqual((await got).data, { n: 1 });
  });

  test('[protobuf] SDK: the same token gives the bytes as subscription data', async (t) => {
    const c = await connected('protobuf', h.wsUrl, { token: connToken('bdp') }, t);
    const s = await subscribed(c, 'closed:bdp', { token: subToken('bdp', 'closed:bdp', { b64data: notJson }) });
    assert.deepEqual(Buffer.from(s.subscribedCtx.data), Buffer.from(notJson, 'base64'));
  });
});
