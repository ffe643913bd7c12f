// Connection and subscription expiry with the real SDKs: client-side refresh (getToken +
// `refresh`), subscription token refresh (`sub_refresh`), what happens without a refresh
// (3005, unsubscribe 2501), and the refresh server API (expire_at).
import assert from 'node:assert/strict';
import { describe, test, useServer, FORMATS } from '../lib/test.js';
import { connToken, nowS, subToken } from '../lib/tokens.js';
import { connected, dec, enc, recordingWebSocket, subscribed } from '../lib/sdk.js';
import { RawClient, pbDecode, pbSplit } from '../lib/rawws.js';
import { api } from '../lib/api.js';
import { nextEvent, record, sleep, waitFor, SCALE } from '../lib/wait.js';

const config = {
  client: { expired_close_delay: '1s', expired_sub_close_delay: '1s' },
  channel: { namespaces: [{ name: 'priv', presence: true }, { name: 'pubns', allow_subscribe_for_client: true, allow_publish_for_subscriber: true }] },
};

// The commands of the outgoing frames, as JSON-like objects (Protobuf: field numbers).
function sentCommands(format, log) {
  const out = [];
  for (const f of log.filter((x) => x.dir === 'out')) {
    if (format === 'json') {
      for (const line of f.data.toString().split('\n')) if (line.trim()) out.push(JSON.parse(line));
    } else {
      for (const m of pbSplit(f.data)) {
        const d = pbDecode(m);
        out.push({ refresh: d[14] ? {} : undefined, sub_refresh: d[15] ? {} : undefined });
      }
    }
  }
  return out;
}

describe('expiry and refresh', () => {
  const h = useServer({ name: 'refresh', config });

  for (const format of FORMATS) {
    describe(format, () => {
      test('connection token expires → getToken, refresh command, client stays connected', async (t) => {
        const log = [];
        let calls = 0;
        const exp = nowS() + 2;
        const c = await connected(format, h.wsUrl, {
          token: connToken('rf', { exp }),
          getToken: async () => {
            calls++;
            return connToken('rf', { ttl: 600 });
          },
          websocket: recordingWebSocket(log),
        }, t);
        const rc = record(c, ['disconnected', 'connecting', 'error']);
        await waitFor(() => calls >= 1, { timeout: 6000 * SCALE, label: 'getToken for refresh' });
        await waitFor(() => sentCommands(format, log).some((x) => x.refresh), { label: 'refresh command' });
        // Past the old expiry plus the server's close delay: still connected.
        await waitFor(() => nowS() > exp + 2, { timeout: 6000 * SCALE, label: 'time passing' });
        await sleep(200);
        assert.equal(c.state, 'connected');
        assert.deepEqual(rc.events, []);
        assert.equal(calls, 1);
      });

      test('subscription token expires → getToken, sub_refresh, stays subscribed', async (t) => {
        const log = [];
        let calls = 0;
        const exp = nowS() + 2;
        const c = await connected(format, h.wsUrl, { token: connToken('sr'), websocket: recordingWebSocket(log) }, t);
        const s = await subscribed(c, '$priv:sr', {
          token: subToken('sr', '$priv:sr', { exp }),
          getToken: async () => {
            calls++;
            return subToken('sr', '$priv:sr', { ttl: 600 });
          },
        });
        const rs = record(s, ['unsubscribed', 'subscribing', 'error']);
        await waitFor(() => calls >= 1, { timeout: 6000 * SCALE, label: 'sub getToken' });
        await waitFor(() => sentCommands(format, log).some((x) => x.sub_refresh), { label: 'sub_refresh command' });
        await waitFor(() => nowS() > exp + 2, { timeout: 6000 * SCALE, label: 'time passing' });
        await sleep(200);
        assert.equal(s.state, 'subscribed');
        assert.deepEqual(rs.events, []);
      });

      test('refresh API expire_at → connection expires (3005) and the SDK reconnects', async (t) => {
        const c = await connected(format, h.wsUrl, { token: connToken(`api-exp-${format}`, { ttl: null }) }, t);
        const conn = nextEvent(c, 'connecting', { timeout: 8000 * SCALE });
        await api(h.srv, 'refresh', { user: `api-exp-${format}`, expire_at: nowS() + 1 });
        const ctx = await conn;
        assert.equal(ctx.code, 3005);
        await nextEvent(c, 'connected');
      });

      test('refresh API info replaces the connection info carried by publications', async (t) => {
        const user = `info-${format}`;
        const ch = `pubns:info-${format}`;
        const c = await connected(format, h.wsUrl, { token: connToken(user, { info: { v: 1 } }) }, t);
        const s = await subscribed(c, ch);
        const r = record(s, ['publication']);
        await s.publish(enc(format, { n: 1 }));
        await r.waitCount('publication', 1);
        await api(h.srv, 'refresh', { user, info: { v: 2 } });
        await s.publish(enc(format, { n: 2 }));
        await r.waitCount('publication', 2);
        const infos = r.of('publication').map((p) => dec(format, p.info.connInfo));
        assert.deepEqual(infos, [{ v: 1 }, { v: 2 }]);
      });
    });
  }

  for (const format of FORMATS) {
    test(`[${format}] raw client that never refreshes is closed with 3005`, async (t) => {
      const r = new RawClient(h.wsUrl, { format });
      t.defer(() => r.close());
      const rep = await r.connect(connToken('norefresh', { exp: nowS() + 1 }));
      if (format === 'json') assert.equal(rep.connect.expires, true);
      const closed = await r.waitClose(8000 * SCALE);
      assert.equal(closed.code, 3005);
    });
  }

  test('raw client whose subscription token expires without sub_refresh → unsubscribe 2501', async (t) => {
    const r = new RawClient(h.wsUrl);
    t.defer(() => r.close());
    await r.connect(connToken('nosubrefresh'));
    r.send({ id: 2, subscribe: { channel: '$priv:x', token: subToken('nosubrefresh', '$priv:x', { exp: nowS() + 1 }) } });
    const rep = await r.reply(2);
    assert.equal(rep.subscribe.expires, true);
    const [u] = await r.waitPushes(1, (p) => p.unsubscribe, 8000 * SCALE);
    assert.equal(u.push.unsubscribe.code, 2501);
    assert.equal(u.push.channel, '$priv:x');
    assert.equal(r.closed, null, 'connection stays');
  });

  test('refresh with a token of another user → 3500; without a token → 3501; of a connection without expiry → accepted', async (t) => {
    const r = new RawClient(h.wsUrl);
    t.defer(() => r.close());
    await r.connect(connToken('ru', { ttl: 60 }));
    r.send({ id: 2, refresh: { token: connToken('other', { ttl: 60 }) } });
    assert.equal((await r.waitClose()).code, 3500);
    const r2 = new RawClient(h.wsUrl);
    t.defer(() => r2.close());
    await r2.connect(connToken('ru', { ttl: null }));
    // Centrifugo's refresh is client-side whenever no refresh proxy is set: accepted.
    r2.send({ id: 2, refresh: { token: connToken('ru', { ttl: 60 }) } });
    assert.equal((await r2.reply(2)).refresh.expires, true);
    r2.send({ id: 3, refresh: {} });
    assert.equal((await r2.waitClose()).code, 3501);
  });
});
