// Server-side subscriptions with the real SDKs: from the connection token (`channels`,
// `subs` with data and overrides), from the subscribe API on a live connection (subscribe
// push), the user's personal channel, join/leave for them, and recovery on reconnect
// (the SDK sends connect.subs with recover).
import assert from 'node:assert/strict';
import { describe, test, useServer, FORMATS } from '../lib/test.js';
import { connToken } from '../lib/tokens.js';
import { connected, dec, newClient, connect } from '../lib/sdk.js';
import { api } from '../lib/api.js';
import { nextEvent, record, sleep, waitFor, SCALE } from '../lib/wait.js';

const config = {
  client: {
    subscribe_to_user_personal_channel: { enabled: true, personal_channel_namespace: 'personal' },
  },
  channel: {
    namespaces: [
      { name: 'news', presence: true, join_leave: true, force_push_join_leave: true, history_size: 50, history_ttl: '300s', force_recovery: true },
      { name: 'plain', presence: true },
      { name: 'personal', presence: true, history_size: 10, history_ttl: '300s', force_recovery: true },
    ],
  },
};

const AWAY = 1500 * SCALE;

describe('server-side subscriptions', () => {
  const h = useServer({ name: 'server-subs', config });

  for (const format of FORMATS) {
    const D = (v) => dec(format, v);
    describe(format, () => {
      test('token channels: subscribed at connect, publications delivered', async (t) => {
        const user = `tc-${format}`;
        const c = newClient(format, h.wsUrl, { token: connToken(user, { channels: [`news:a-${format}`, `plain:b-${format}`] }) });
        t.defer(() => c.disconnect());
        const rc = record(c, ['subscribed', 'publication']);
        await connect(c);
        await rc.waitCount('subscribed', 3); // + personal channel
        const chans = rc.of('subscribed').map((x) => x.channel).sort();
        assert.deepEqual(chans, [`news:a-${format}`, `personal:#${user}`, `plain:b-${format}`].sort());
        const news = rc.of('subscribed').find((x) => x.channel === `news:a-${format}`);
        assert.equal(news.recoverable, true);
        await api(h.srv, 'publish', { channel: `news:a-${format}`, data: { n: 1 } });
        await api(h.srv, 'publish', { channel: `plain:b-${format}`, data: { n: 2 } });
        await api(h.srv, 'publish', { channel: `personal:#${user}`, data: { n: 3 } });
        await rc.waitCount('publication', 3);
        const pubs = rc.of('publication').map((p) => [p.channel, D(p.data).n]).sort((a, b) => a[1] - b[1]);
        assert.deepEqual(pubs, [[`news:a-${format}`, 1], [`plain:b-${format}`, 2], [`personal:#${user}`, 3]]);
      });

      test('token subs: data in the subscribed event, override of presence, channels ignored', async (t) => {
        const user = `ts-${format}`;
        const c = newClient(format, h.wsUrl, {
          token: connToken(user, {
            channels: [`plain:ignored-${format}`],
            subs: {
              [`plain:s1-${format}`]: { data: { hello: 'sub' }, info: { role: 'x' } },
              [`plain:s2-${format}`]: { override: { presence: { value: false } } },
            },
          }),
        });
        t.defer(() => c.disconnect());
        const rc = record(c, ['subscribed']);
        await connect(c);
        await rc.waitCount('subscribed', 3);
        const chans = rc.of('subscribed').map((x) => x.channel).sort();
        assert.deepEqual(chans, [`personal:#${user}`, `plain:s1-${format}`, `plain:s2-${format}`].sort());
        const s1 = rc.of('subscribed').find((x) => x.channel === `plain:s1-${format}`);
        assert.deepEqual(D(s1.data), { hello: 'sub' });
        const p1 = await api(h.srv, 'presence', { channel: `plain:s1-${format}` });
        assert.deepEqual(Object.values(p1.presence)[0].chan_info, { role: 'x' });
        const p2 = await api(h.srv, 'presence', { channel: `plain:s2-${format}` });
        assert.deepEqual(p2.presence, {}, 'presence overridden off');
      });

      test('token channel in an unknown namespace → connect error 102, no reconnect', async (t) => {
        const c = newClient(format, h.wsUrl, { token: connToken('bad-ns', { channels: ['nope:x'] }) });
        t.defer(() => c.disconnect());
        const d = nextEvent(c, 'disconnected');
        c.connect();
        assert.equal((await d).code, 102);
      });

      test('subscribe API: subscribe push to a live connection, then publications; unsubscribe API', async (t) => {
        const user = `sa-${format}`;
        const c = newClient(format, h.wsUrl, { token: connToken(user) });
        t.defer(() => c.disconnect());
        const rc = record(c, ['subscribed', 'unsubscribed', 'publication']);
        await connect(c);
        await rc.waitCount('subscribed', 1); // personal
        await api(h.srv, 'subscribe', { user, channel: `news:live-${format}`, data: { from: 'api' } });
        await rc.waitCount('subscribed', 2);
        const ctx = rc.of('subscribed')[1];
        assert.equal(ctx.channel, `news:live-${format}`);
        assert.deepEqual(D(ctx.data), { from: 'api' });
        assert.equal(ctx.recoverable, true);
        await api(h.srv, 'publish', { channel: `news:live-${format}`, data: { n: 1 } });
        await rc.waitCount('publication', 1);
        assert.equal(rc.of('publication')[0].channel, `news:live-${format}`);
        await api(h.srv, 'unsubscribe', { user, channel: `news:live-${format}` });
        await rc.waitCount('unsubscribed', 1);
        assert.equal(rc.of('unsubscribed')[0].channel, `news:live-${format}`);
        await api(h.srv, 'publish', { channel: `news:live-${format}`, data: { n: 2 } });
        await sleep(200);
        assert.equal(rc.of('publication').length, 1);
      });

      test('join/leave pushes for server-side subscriptions (force_push_join_leave)', async (t) => {
        const ch = `news:jl-${format}`;
        const a = newClient(format, h.wsUrl, { token: connToken(`jla-${format}`, { channels: [ch] }) });
        t.defer(() => a.disconnect());
        const ra = record(a, ['join', 'leave', 'subscribed']);
        await connect(a);
        await ra.waitCount('subscribed', 2);
        const b = newClient(format, h.wsUrl, { token: connToken(`jlb-${format}`, { channels: [ch] }) });
        await connect(b);
        await waitFor(() => ra.of('join').some((j) => j.info.user === `jlb-${format}`), { label: 'join of b' });
        assert.equal(ra.of('join').find((j) => j.info.user === `jlb-${format}`).channel, ch);
        b.disconnect();
        await waitFor(() => ra.of('leave').some((j) => j.info.user === `jlb-${format}`), { label: 'leave of b' });
      });

      test('recovery of server-side subscriptions on reconnect (connect.subs with recover)', async (t) => {
        const user = `ssr-${format}`;
        const ch = `news:rec-${format}`;
        const c = newClient(format, h.wsUrl, { token: connToken(user, { channels: [ch] }), minReconnectDelay: AWAY, maxReconnectDelay: AWAY });
        t.defer(() => c.disconnect());
        const rc = record(c, ['subscribed', 'publication', 'unsubscribed']);
        await connect(c);
        await rc.waitCount('subscribed', 2);
        for (let i = 1; i <= 3; i++) await api(h.srv, 'publish', { channel: ch, data: { i } });
        await waitFor(() => rc.of('publication').filter((p) => p.channel === ch).length === 3, { label: '3 pubs' });
        const away = nextEvent(c, 'connecting');
        await api(h.srv, 'disconnect', { user, disconnect: { code: 4005, reason: 'bye' } });
        await away;
        for (let i = 4; i <= 7; i++) await api(h.srv, 'publish', { channel: ch, data: { i } });
        await waitFor(() => rc.of('subscribed').filter((x) => x.channel === ch).length === 2, { timeout: 10000 * SCALE, label: 'resubscribed' });
        const again = rc.of('subscribed').filter((x) => x.channel === ch)[1];
        assert.equal(again.wasRecovering, true);
        assert.equal(again.recovered, true);
        await api(h.srv, 'publish', { channel: ch, data: { i: 8 } });
        await waitFor(() => rc.of('publication').filter((p) => p.channel === ch).length >= 8, { label: '8 pubs' });
        await sleep(100);
        const pubs = rc.of('publication').filter((p) => p.channel === ch);
        assert.deepEqual(pubs.map((p) => p.offset), [1, 2, 3, 4, 5, 6, 7, 8]);
        assert.deepEqual(pubs.map((p) => D(p.data).i), [1, 2, 3, 4, 5, 6, 7, 8]);
        assert.equal(rc.of('unsubscribed').length, 0);
      });
    });
  }
});
