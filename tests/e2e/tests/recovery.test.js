// Recovery after a dropped connection with the real SDKs: publications made while the
// client is away arrive after it reconnects, in order, exactly once, with `recovered: true`;
// when history was trimmed meanwhile the SDK is told `recovered: false`. Also the
// positioning options, cache recovery mode and the SDK's `since` option.
import assert from 'node:assert/strict';
import { describe, test, useServer, FORMATS } from '../lib/test.js';
import { connToken } from '../lib/tokens.js';
import { connected, dec, enc, newClient, connect, recordingWebSocket, subscribed, settle } from '../lib/sdk.js';
import { api } from '../lib/api.js';
import { nextEvent, record, sleep, waitFor, SCALE } from '../lib/wait.js';

const SUB = { allow_subscribe_for_client: true, allow_history_for_subscriber: true, allow_publish_for_subscriber: true };
const config = {
  channel: {
    namespaces: [
      { name: 'rec', ...SUB, history_size: 100, history_ttl: '300s', force_recovery: true },
      { name: 'optin', ...SUB, history_size: 100, history_ttl: '300s', allow_recovery: true },
      { name: 'nohist', ...SUB, allow_recovery: true, allow_positioning: true },
      { name: 'fpnohist', ...SUB, force_positioning: true },
      { name: 'tiny', ...SUB, history_size: 3, history_ttl: '300s', force_recovery: true },
      { name: 'pos', ...SUB, history_size: 100, history_ttl: '300s', force_positioning: true },
      { name: 'allowpos', allow_subscribe_for_client: true, history_size: 100, history_ttl: '300s', allow_positioning: true },
      { name: 'cache', ...SUB, history_size: 10, history_ttl: '300s', force_recovery: true, force_recovery_mode: 'cache' },
      {
        name: 'autocache', ...SUB, history_size: 10, history_ttl: '300s', force_recovery: true,
        force_recovery_mode: 'cache', auto_cache_recover: true,
      },
    ],
  },
};

// Reconnect delay long enough to publish while the client is away.
const AWAY = 1500 * SCALE;

describe('recovery', () => {
  const h = useServer({ name: 'recovery', config });

  for (const format of FORMATS) {
    const P = (v) => enc(format, v);
    const D = (v) => dec(format, v);
    const publishApi = async (channel, from, to) => {
      for (let i = from; i <= to; i++) await api(h.srv, 'publish', { channel, data: { i } });
    };

    describe(format, () => {
      for (const [how, drop] of [
        ['server API disconnect with a reconnect code', (c, user) => api(h.srv, 'disconnect', { user, disconnect: { code: 4001, reason: 'go away' } })],
        ['the socket closed abruptly', (c, user, sockets) => sockets.at(-1).terminate()],
      ]) {
        for (const [channel, opts] of [['rec:a', {}], ['optin:a', { recoverable: true }]]) {
          test(`${channel}: missed publications recovered in order, exactly once (${how})`, async (t) => {
            const sockets = [];
            const user = `rec-${format}-${channel}-${how.length}`;
            const c = await connected(format, h.wsUrl, {
              token: connToken(user),
              minReconnectDelay: AWAY,
              maxReconnectDelay: AWAY,
              websocket: recordingWebSocket([], sockets),
            }, t);
            const ch = `${channel}-${how.length}-${format}`;
            const s = await subscribed(c, ch, opts);
            assert.equal(s.subscribedCtx.recoverable, true);
            const r = record(s, ['publication', 'subscribed', 'subscribing']);
            await publishApi(ch, 1, 3);
            await r.waitCount('publication', 3);
            const away = nextEvent(c, 'connecting');
            await drop(c, user, sockets);
            await away;
            assert.equal(c.state, 'connecting');
            await publishApi(ch, 4, 8);
            await r.waitCount('subscribed', 1, { timeout: 10000 * SCALE });
            const ctx = r.of('subscribed')[0];
            assert.equal(ctx.wasRecovering, true);
            assert.equal(ctx.recovered, true);
            await r.waitCount('publication', 8);
            await publishApi(ch, 9, 9);
            await r.waitCount('publication', 9);
            await sleep(100);
            const pubs = r.of('publication');
            assert.deepEqual(pubs.map((p) => p.offset), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
            assert.deepEqual(pubs.map((p) => D(p.data).i), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
          });
        }
      }

      test('history trimmed while away → recovered: false, no stale publications', async (t) => {
        const user = `tiny-${format}`;
        const c = await connected(format, h.wsUrl, { token: connToken(user), minReconnectDelay: AWAY, maxReconnectDelay: AWAY }, t);
        const ch = `tiny:${format}`;
        const s = await subscribed(c, ch);
        const r = record(s, ['publication', 'subscribed']);
        await publishApi(ch, 1, 1);
        await r.waitCount('publication', 1);
        const away = nextEvent(c, 'connecting');
        await api(h.srv, 'disconnect', { user, disconnect: { code: 4002, reason: 'away' } });
        await away;
        await publishApi(ch, 2, 6); // history keeps 4..6: 2 and 3 are lost
        await r.waitCount('subscribed', 1, { timeout: 10000 * SCALE });
        const ctx = r.of('subscribed')[0];
        assert.equal(ctx.wasRecovering, true);
        assert.equal(ctx.recovered, false);
        assert.equal(ctx.streamPosition.offset, 6);
        await publishApi(ch, 7, 7);
        await r.waitCount('publication', 2);
        await sleep(100);
        assert.deepEqual(r.of('publication').map((p) => p.offset), [1, 7]);
      });

      test('no history → recovery and positioning still granted, on a stream with only its epoch', async (t) => {
        const c = await connected(format, h.wsUrl, { token: connToken('nohist') }, t);
        const s = await subscribed(c, `nohist:a-${format}`, { recoverable: true, positioned: true });
        assert.equal(s.subscribedCtx.recoverable, true);
        assert.equal(s.subscribedCtx.positioned, true);
        assert.ok(s.subscribedCtx.streamPosition.epoch);
        assert.equal(s.subscribedCtx.streamPosition.offset, 0);
        const got = nextEvent(s, 'publication');
        await api(h.srv, 'publish', { channel: `nohist:a-${format}`, data: { i: 1 } });
        assert.deepEqual(D((await got).data), { i: 1 });
        // force_positioning without history: the server started with it, subscriptions are positioned.
        const f = await subscribed(c, `fpnohist:${format}`);
        assert.equal(f.subscribedCtx.positioned, true);
        assert.equal(f.subscribedCtx.recoverable, false);
        assert.ok(f.subscribedCtx.streamPosition.epoch);
      });

      test('force_positioning / allow_positioning report the stream position', async (t) => {
        const c = await connected(format, h.wsUrl, { token: connToken('pos') }, t);
        await publishApi(`pos:${format}`, 1, 2);
        const s = await subscribed(c, `pos:${format}`);
        assert.equal(s.subscribedCtx.positioned, true);
        assert.equal(s.subscribedCtx.recoverable, false);
        assert.equal(s.subscribedCtx.streamPosition.offset, 2);
        assert.ok(s.subscribedCtx.streamPosition.epoch);
        const plain = await subscribed(c, `allowpos:${format}`);
        assert.equal(plain.subscribedCtx.positioned, false, 'not asked');
        const asked = await subscribed(c, `allowpos:${format}-2`, { positioned: true });
        assert.equal(asked.subscribedCtx.positioned, true);
        assert.equal(asked.subscribedCtx.recoverable, false);
      });

      test('positioned subscription: offsets arrive consecutively, no resubscribe', async (t) => {
        const c = await connected(format, h.wsUrl, { token: connToken('gap') }, t);
        const s = await subscribed(c, `pos:gap-${format}`);
        const r = record(s, ['publication', 'subscribing', 'subscribed']);
        await publishApi(`pos:gap-${format}`, 1, 20);
        await r.waitCount('publication', 20);
        assert.deepEqual(r.of('publication').map((p) => p.offset), Array.from({ length: 20 }, (_, i) => i + 1));
        assert.equal(r.of('subscribing').length, 0);
      });

      test('`since` option: recovers from a given position; a wrong epoch → recovered: false', async (t) => {
        const ch = `rec:since-${format}`;
        await publishApi(ch, 1, 5);
        const top = await api(h.srv, 'history', { channel: ch, limit: 0 });
        const c = await connected(format, h.wsUrl, { token: connToken('since') }, t);
        const s = c.newSubscription(ch, { since: { offset: 2, epoch: top.epoch } });
        const r = record(s, ['publication', 'subscribed']);
        s.subscribe();
        await r.waitCount('subscribed', 1);
        assert.equal(r.of('subscribed')[0].recovered, true);
        await r.waitCount('publication', 3);
        assert.deepEqual(r.of('publication').map((p) => D(p.data).i), [3, 4, 5]);
        const s2 = c.newSubscription(`${ch}-x`, { since: { offset: 1, epoch: 'wrong-epoch' } });
        await api(h.srv, 'publish', { channel: `${ch}-x`, data: { i: 1 } });
        const r2 = record(s2, ['publication', 'subscribed']);
        s2.subscribe();
        await r2.waitCount('subscribed', 1);
        assert.equal(r2.of('subscribed')[0].recovered, false);
        assert.equal(r2.of('subscribed')[0].wasRecovering, true);
        await sleep(100);
        assert.equal(r2.of('publication').length, 0);
      });

      test('getState: unrecoverable position (112) → the SDK calls getState and resubscribes', async (t) => {
        const ch = `rec:getstate-${format}`;
        await publishApi(ch, 1, 3);
        const top = await api(h.srv, 'history', { channel: ch, limit: 0 });
        const c = await connected(format, h.wsUrl, { token: connToken('gs') }, t);
        let calls = 0;
        const s = c.newSubscription(ch, {
          since: { offset: 1, epoch: 'stale-epoch' },
          getState: async () => {
            calls++;
            return { offset: top.offset, epoch: top.epoch };
          },
        });
        const r = record(s, ['publication', 'subscribed', 'error']);
        s.subscribe();
        await r.waitCount('subscribed', 1, { timeout: 10000 * SCALE });
        assert.equal(calls, 1, 'getState called after 112');
        await publishApi(ch, 4, 4);
        await r.waitCount('publication', 1);
        assert.equal(r.of('publication')[0].offset, 4);
      });

      test('cache recovery mode: the latest publication on resubscribe after missing some', async (t) => {
        const ch = `cache:${format}`;
        const user = `cache-${format}`;
        const c = await connected(format, h.wsUrl, { token: connToken(user), minReconnectDelay: AWAY, maxReconnectDelay: AWAY }, t);
        await publishApi(ch, 1, 2);
        const s = await subscribed(c, ch);
        const r = record(s, ['publication', 'subscribed']);
        await publishApi(ch, 3, 3);
        await r.waitCount('publication', 1);
        const away = nextEvent(c, 'connecting');
        await api(h.srv, 'disconnect', { user, disconnect: { code: 4003, reason: 'away' } });
        await away;
        await publishApi(ch, 4, 6);
        await r.waitCount('subscribed', 1, { timeout: 10000 * SCALE });
        assert.equal(r.of('subscribed')[0].recovered, true);
        await r.waitCount('publication', 2);
        await sleep(100);
        assert.deepEqual(r.of('publication').map((p) => D(p.data).i), [3, 6], 'only the latest missed one');
      });

      test('auto_cache_recover: the latest publication delivered on first subscribe', async (t) => {
        const ch = `autocache:${format}`;
        await publishApi(ch, 1, 4);
        const c = await connected(format, h.wsUrl, { token: connToken('ac') }, t);
        const s = c.newSubscription(ch);
        const r = record(s, ['publication', 'subscribed']);
        s.subscribe();
        await r.waitCount('publication', 1);
        await sleep(100);
        assert.deepEqual(r.of('publication').map((p) => D(p.data).i), [4]);
      });
    });
  }
});

// A stream whose meta expires while a positioned client is subscribed is recreated with a
// new epoch: the server detects the lost continuity (insufficient state), sends the 2500
// unsubscribe push and the SDK resubscribes by itself.
describe('insufficient state', () => {
  const h = useServer({
    name: 'recovery-gap',
    config: {
      client: { channel_position_check_delay: '1s' },
      channel: {
        namespaces: [{
          name: 'gap', ...SUB, history_size: 10, history_ttl: '1s', history_meta_ttl: '2s', force_recovery: true,
        }],
      },
    },
  });
  for (const format of FORMATS) {
    test(`[${format}] epoch change under a positioned subscriber → 2500 → SDK resubscribes`, async (t) => {
      const ch = `gap:${format}`;
      await api(h.srv, 'publish', { channel: ch, data: { i: 1 } });
      const c = await connected(format, h.wsUrl, { token: connToken('gap') }, t);
      const s = await subscribed(c, ch);
      const epoch1 = s.subscribedCtx.streamPosition.epoch;
      const r = record(s, ['publication', 'subscribing', 'subscribed']);
      await sleep(3200);
      await api(h.srv, 'publish', { channel: ch, data: { i: 2 } });
      await r.waitCount('subscribing', 1, { timeout: 10000 * SCALE });
      assert.equal(r.of('subscribing')[0].code, 2500);
      await r.waitCount('subscribed', 1, { timeout: 10000 * SCALE });
      const ctx = r.of('subscribed')[0];
      assert.notEqual(ctx.streamPosition.epoch, epoch1, 'a new stream epoch');
      assert.equal(ctx.recovered, false);
    });
  }
});
