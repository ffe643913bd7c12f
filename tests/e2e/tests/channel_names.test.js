// The channel-name rule on every client command that names a channel, with the real SDKs
// (JSON and Protobuf): like subscribe, publish, presence, presence_stats and history answer
// 107 for a name that is not ASCII (namespace without channel_regex) or that the namespace's
// channel_regex does not match; an unknown namespace is still 102 and the name is checked
// before the feature (108). The server API applies no name rule, as in Centrifugo.
import assert from 'node:assert/strict';
import { describe, test, useServer, FORMATS } from '../lib/test.js';
import { connToken } from '../lib/tokens.js';
import { connected, enc, settle } from '../lib/sdk.js';
import { api } from '../lib/api.js';

const OPEN = {
  allow_publish_for_client: true,
  presence: true,
  allow_presence_for_client: true,
  history_size: 10,
  history_ttl: '300s',
  allow_history_for_client: true,
};

const config = {
  channel: {
    without_namespace: OPEN,
    namespaces: [
      { name: 'rx', ...OPEN, channel_regex: '^[a-z0-9_]+$' },
      { name: 'nopres', allow_publish_for_client: true },
    ],
  },
};

describe('channel name rule on every client command', () => {
  const h = useServer({ name: 'channel_names', config });

  for (const format of FORMATS) {
    describe(format, () => {
      const calls = (c, ch) => ({
        publish: () => c.publish(ch, enc(format, { a: 1 })),
        presence: () => c.presence(ch),
        presence_stats: () => c.presenceStats(ch),
        history: () => c.history(ch, { limit: 5 }),
      });

      for (const ch of ['cañón', 'emoji😀', 'rx:ABC', 'rx:a-b']) {
        test(`${ch}: publish, presence, presence_stats, history → 107`, async (t) => {
          const c = await connected(format, h.wsUrl, { token: connToken('names') }, t);
          for (const [name, call] of Object.entries(calls(c, ch))) {
            const r = await settle(call(), undefined, name);
            assert.equal(r.ok, false, `${name} succeeded`);
            assert.equal(r.code, 107, `${name}: ${r.code}`);
          }
          assert.equal(c.state, 'connected');
        });
      }

      test('accepted names work for every command', async (t) => {
        const c = await connected(format, h.wsUrl, { token: connToken('names-ok') }, t);
        for (const ch of ['plain_ascii', 'rx:abc_1']) {
          for (const [name, call] of Object.entries(calls(c, ch))) {
            const r = await settle(call(), undefined, name);
            assert.equal(r.ok, true, `${ch} ${name}: ${r.code}`);
          }
        }
      });

      test('unknown namespace is 102 first; a bad name comes before 108', async (t) => {
        const c = await connected(format, h.wsUrl, { token: connToken('names-order') }, t);
        assert.equal((await settle(c.publish('nope:ñ', enc(format, {})))).code, 102);
        assert.equal((await settle(c.presence('nopres:ñ'))).code, 107);
        assert.equal((await settle(c.presence('nopres:n'))).code, 108);
        assert.equal((await settle(c.history('nopres:ñ', { limit: 1 }))).code, 107);
        assert.equal((await settle(c.history('nopres:n', { limit: 1 }))).code, 108);
      });
    });
  }

  test('server API: no name rule (publish, history, presence of a non-ASCII name)', async () => {
    for (const channel of ['cañón', 'rx:ABC']) {
      await api(h.srv, 'publish', { channel, data: { a: 1 } });
      const hist = await api(h.srv, 'history', { channel, limit: 10 });
      assert.equal(hist.publications.length, 1);
      await api(h.srv, 'presence', { channel });
      await api(h.srv, 'presence_stats', { channel });
    }
  });
});
