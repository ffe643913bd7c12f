// History details where Centrifugo's memory engine is the reference (the server runs with
// the memory engine; the Redis engine's own behaviour is covered by the shared engine suite
// in tests/unit/broker):
// - `reverse` with `since` more than one past the top returns no publications (client
//   history with both SDKs, and the server API); since = top + 1 returns the newest.
// - A publication without `version` resets the stored version: a later `version: 1` is
//   published, and the subscriber sees it.
// - The publication with offset 1 carries the stream epoch in a client history reply and in
//   recovered publications (raw JSON and Protobuf clients: the SDK does not expose it); no
//   other publication does.
import assert from 'node:assert/strict';
import { describe, test, useServer, FORMATS } from '../lib/test.js';
import { connToken } from '../lib/tokens.js';
import { connected, dec, subscribed } from '../lib/sdk.js';
import { RawClient, pbDecode, pbEncode, pbFrame, pbSplit } from '../lib/rawws.js';
import { api } from '../lib/api.js';
import { record, sleep, waitFor } from '../lib/wait.js';

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

// ---- raw commands (history and a recovering subscribe) in both encodings

function rawSend(r, cmd) {
  if (r.format === 'json') return r.send(cmd);
  const f = [[1, 'varint', cmd.id]];
  if (cmd.history) {
    const q = cmd.history;
    const since = q.since ? [[1, 'varint', q.since.offset], [2, 'bytes', q.since.epoch]] : undefined;
    f.push([10, 'msg', [[1, 'bytes', q.channel], [7, 'varint', q.limit], [8, 'msg', since], [9, 'varint', q.reverse ? 1 : undefined]]]);
  }
  if (cmd.subscribe) {
    const s = cmd.subscribe;
    f.push([5, 'msg', [[1, 'bytes', s.channel], [3, 'varint', s.recover ? 1 : undefined], [6, 'bytes', s.epoch], [7, 'varint', s.offset]]]);
  }
  r.sendRaw(pbFrame([pbEncode(f)]), { binary: true });
}

// The publications of reply `id` as [{offset, epoch}] (epoch undefined when absent).
async function rawPublications(r, id) {
  if (r.format === 'json') {
    const rep = await r.reply(id);
    assert.ok(!rep.error, JSON.stringify(rep));
    const res = rep.history || rep.subscribe;
    return (res.publications || []).map((p) => ({ offset: p.offset, epoch: p.epoch }));
  }
  const found = await waitFor(() => {
    for (const f of r.frames) {
      for (const m of pbSplit(f.data)) {
        const d = pbDecode(m);
        if (d[1]?.[0] === id) return d;
      }
    }
    return null;
  }, { label: `protobuf reply ${id}` });
  assert.ok(!found[2], 'error reply');
  const res = pbDecode((found[11] || found[6])[0]);
  const pubsField = found[11] ? 1 : 7;
  return (res[pubsField] || []).map((b) => {
    const p = pbDecode(b);
    return { offset: p[6]?.[0], epoch: p[14] ? p[14][0].toString() : undefined };
  });
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

  for (const format of FORMATS) {
    test(`[${format}] the offset-1 publication carries the epoch in history and recovery`, async (t) => {
      const top = await publishN(h, `rec:e-${format}`, 3);
      const r = new RawClient(h.wsUrl, { format });
      t.defer(() => r.close());
      await r.connect(connToken('epoch'));
      rawSend(r, { id: 2, history: { channel: `rec:e-${format}`, limit: 10 } });
      assert.deepEqual(await rawPublications(r, 2), [
        { offset: 1, epoch: top.epoch },
        { offset: 2, epoch: undefined },
        { offset: 3, epoch: undefined },
      ]);
      rawSend(r, { id: 3, history: { channel: `rec:e-${format}`, limit: 2, reverse: true } });
      assert.deepEqual(await rawPublications(r, 3), [
        { offset: 3, epoch: undefined },
        { offset: 2, epoch: undefined },
      ]);
      // A client that subscribed to the empty stream recovers from offset 0.
      rawSend(r, { id: 4, subscribe: { channel: `rec:e-${format}`, recover: true, epoch: top.epoch, offset: 0 } });
      assert.deepEqual(await rawPublications(r, 4), [
        { offset: 1, epoch: top.epoch },
        { offset: 2, epoch: undefined },
        { offset: 3, epoch: undefined },
      ]);
      // Recovery that does not start at offset 1: no epoch on any publication.
      const top2 = await publishN(h, `rec:e2-${format}`, 3);
      const r2 = new RawClient(h.wsUrl, { format });
      t.defer(() => r2.close());
      await r2.connect(connToken('epoch2'));
      rawSend(r2, { id: 2, subscribe: { channel: `rec:e2-${format}`, recover: true, epoch: top2.epoch, offset: 1 } });
      assert.deepEqual(await rawPublications(r2, 2), [
        { offset: 2, epoch: undefined },
        { offset: 3, epoch: undefined },
      ]);
    });
  }
});
