// History details where Centrifugo's memory engine is the reference (the server runs with
// the memory engine; the Redis engine's own behaviour is covered by the shared engine suite
// in tests/unit/broker):
// - `reverse` with `since` more than one past the top returns no publications (client
//   history with both SDKs, and the server API); since = top + 1 returns the newest.
import assert from 'node:assert/strict';
import { describe, test, useServer, FORMATS } from '../lib/test.js';
import { connToken } from '../lib/tokens.js';
import { connected, dec } from '../lib/sdk.js';
import { api } from '../lib/api.js';

const HIST = {
  allow_subscribe_for_client: true,
  allow_history_for_client: true,
  history_size: 20,
  history_ttl: '300s',
};
const config = {
  channel: {
    namespaces: [
      { name: 'hist', ...HIST },
      { name: 'rec', ...HIST, force_recovery: true },
    ],
  },
};

async function publishN(h, channel, n) {
  let top;
  for (let i = 1; i <= n; i++) top = await api(h.srv, 'publish', { channel, data: { n: i } });
  return top; // {offset, epoch}
}

describe('history conformance (memory engine)', () => {
  const h = useServer({ name: 'history_conformance', config });

  for (const format of FORMATS) {
    test(`[${format}] SDK history: reverse since past the top is empty, top + 1 reads the newest`, async (t) => {
      const ch = `hist:rev-${format}`;
      const top = await publishN(h, ch, 3);
      const c = await connected(format, h.wsUrl, { token: connToken('hist') }, t);
      const hist = (offset) => c.history(ch, { limit: 10, reverse: true, since: { offset, epoch: top.epoch } });
      for (const offset of [5, 100]) {
        const r = await hist(offset);
        assert.deepEqual(r.publications, [], `since ${offset}`);
        assert.equal(r.offset, 3);
      }
      const newest = await hist(4);
      assert.deepEqual(newest.publications.map((p) => p.offset), [3, 2, 1]);
      assert.deepEqual(newest.publications.map((p) => dec(format, p.data)), [{ n: 3 }, { n: 2 }, { n: 1 }]);
    });
  }

  test('server API history: reverse since past the top is empty', async () => {
    const ch = 'hist:rev-api';
    const top = await publishN(h, ch, 3);
    const r = await api(h.srv, 'history', { channel: ch, limit: 10, reverse: true, since: { offset: 9, epoch: top.epoch } });
    assert.deepEqual(r.publications ?? [], []);
    assert.equal(r.offset, 3);
    const n = await api(h.srv, 'history', { channel: ch, limit: 10, reverse: true, since: { offset: 4, epoch: top.epoch } });
    assert.deepEqual(n.publications.map((p) => p.offset), [3, 2, 1]);
  });
});
