// History details where Centrifugo's memory engine is the reference (the server runs with
// the memory engine; the Redis engine's own behaviour is covered by the shared engine suite
// in tests/unit/broker):
// - `reverse` with `since` more than one past the top returns no publications (client
//   history with both SDKs, and the server API); since = top + 1 returns the newest.
// - A publication without `version` resets the stored version: a later `version: 1` is
//   published, and the subscriber sees it.
import assert from 'node:assert/strict';
import { describe, test, useServer, FORMATS } from '../lib/test.js';
import { connToken } from '../lib/tokens.js';
import { connected, dec, subscribed } from '../lib/sdk.js';
import { api } from '../lib/api.js';
import { record, sleep } from '../lib/wait.js';

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

  for (const format of FORMATS) {
    test(`[${format}] a publication without version resets it: version 1 again reaches the subscriber`, async (t) => {
      const ch = `hist:version-${format}`;
      const c = await connected(format, h.wsUrl, { token: connToken('ver') }, t);
      const s = await subscribed(c, ch);
      const r = record(s, ['publication']);
      const a = await api(h.srv, 'publish', { channel: ch, data: { v: 'first' }, version: 1 });
      const dup = await api(h.srv, 'publish', { channel: ch, data: { v: 'dup' }, version: 1 });
      assert.equal(dup.offset, a.offset, 'same version: suppressed');
      await api(h.srv, 'publish', { channel: ch, data: { v: 'plain' } });
      const again = await api(h.srv, 'publish', { channel: ch, data: { v: 'again' }, version: 1 });
      assert.equal(again.offset, 3, 'published after the reset');
      await r.waitCount('publication', 3);
      await sleep(100);
      assert.deepEqual(r.of('publication').map((p) => dec(format, p.data).v), ['first', 'plain', 'again']);
    });
  }
});
