// Fossil delta compression with the real SDKs: many consecutive publications with ASCII
// and non-ASCII (Cyrillic, emoji) payloads must come out of the SDK exactly as published,
// while the wire shows that patches were actually sent. Negotiation rules, the namespace
// `delta_publish` option and recovery on a delta subscription are covered too.
import assert from 'node:assert/strict';
import { describe, test, useServer, FORMATS } from '../lib/test.js';
import { connToken } from '../lib/tokens.js';
import { connected, dec, recordingWebSocket, subscribed } from '../lib/sdk.js';
import { pbReplyToJson, pbSplit } from '../lib/rawws.js';
import { api } from '../lib/api.js';
import { nextEvent, record, sleep, waitFor, SCALE } from '../lib/wait.js';

const SUB = { allow_subscribe_for_client: true };
const HIST = { history_size: 100, history_ttl: '300s', force_recovery: true };
const config = {
  channel: {
    namespaces: [
      { name: 'delta', ...SUB, ...HIST, allowed_delta_types: ['fossil'] },
      { name: 'deltapub', ...SUB, ...HIST, allowed_delta_types: ['fossil'], delta_publish: true },
      { name: 'nodelta', ...SUB, ...HIST },
      { name: 'deltanohist', ...SUB, allowed_delta_types: ['fossil'] },
    ],
  },
};

// Publication pushes seen on the wire: [{channel, delta, offset}].
function wirePubs(format, log) {
  const out = [];
  for (const f of log.filter((x) => x.dir === 'in')) {
    const msgs = format === 'json'
      ? f.data.toString().split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l))
      : pbSplit(f.data).map(pbReplyToJson);
    for (const m of msgs) if (m.push?.pub) out.push({ channel: m.push.channel, delta: !!m.push.pub.delta, offset: m.push.pub.offset });
  }
  return out;
}

// A document that changes a little each step: a good case for patches.
function doc(i, text) {
  return {
    title: `${text} — revision ${i}`,
    counter: i,
    items: Array.from({ length: 20 }, (_, k) => ({ id: k, label: `${text} item ${k}`, value: k === i % 20 ? i : k })),
    tail: `${text}`.repeat(3),
  };
}

const TEXTS = {
  ascii: 'The quick brown fox jumps over the lazy dog',
  cyrillic: 'Съешь же ещё этих мягких французских булок, да выпей чаю',
  emoji: 'emoji 😀🎉👍🏽 mixed with текст and ASCII ✓ — “quotes”',
};

describe('delta compression', () => {
  const h = useServer({ name: 'delta', config });

  for (const format of FORMATS) {
    const D = (v) => dec(format, v);
    describe(format, () => {
      for (const [kind, text] of Object.entries(TEXTS)) {
        test(`${kind}: 40 publications reproduced exactly, patches on the wire`, async (t) => {
          const log = [];
          const ch = `delta:${kind}-${format}`;
          const c = await connected(format, h.wsUrl, { token: connToken('d'), websocket: recordingWebSocket(log) }, t);
          const s = await subscribed(c, ch, { delta: 'fossil' });
          const r = record(s, ['publication', 'subscribing', 'error']);
          const sent = [];
          for (let i = 0; i < 40; i++) {
            const data = doc(i, text);
            sent.push(data);
            await api(h.srv, 'publish', { channel: ch, data, delta: true });
          }
          await r.waitCount('publication', 40);
          assert.deepEqual(r.of('publication').map((p) => D(p.data)), sent);
          assert.equal(r.of('subscribing').length, 0);
          assert.equal(r.of('error').length, 0);
          const wire = wirePubs(format, log).filter((p) => p.channel === ch);
          assert.equal(wire.length, 40);
          assert.equal(wire[0].delta, false, 'first publication full');
          const patches = wire.filter((p) => p.delta).length;
          assert.ok(patches >= 30, `patches sent: ${patches}/40`);
          assert.equal(c.state, 'connected');
        });
      }

      test('without delta: true on publish nothing is patched; delta_publish forces it', async (t) => {
        const log = [];
        const c = await connected(format, h.wsUrl, { token: connToken('d2'), websocket: recordingWebSocket(log) }, t);
        const s1 = await subscribed(c, `delta:plain-${format}`, { delta: 'fossil' });
        const s2 = await subscribed(c, `deltapub:x-${format}`, { delta: 'fossil' });
        const r1 = record(s1, ['publication']);
        const r2 = record(s2, ['publication']);
        for (let i = 0; i < 10; i++) {
          await api(h.srv, 'publish', { channel: `delta:plain-${format}`, data: doc(i, 'p') });
          await api(h.srv, 'publish', { channel: `deltapub:x-${format}`, data: doc(i, 'q') });
        }
        await r1.waitCount('publication', 10);
        await r2.waitCount('publication', 10);
        assert.deepEqual(r2.of('publication').map((p) => D(p.data)), Array.from({ length: 10 }, (_, i) => doc(i, 'q')));
        const wire = wirePubs(format, log);
        assert.equal(wire.filter((p) => p.channel === `delta:plain-${format}` && p.delta).length, 0);
        assert.ok(wire.filter((p) => p.channel === `deltapub:x-${format}` && p.delta).length >= 8);
      });

      test('namespace without allowed_delta_types: not negotiated, full payloads', async (t) => {
        const log = [];
        const c = await connected(format, h.wsUrl, { token: connToken('d3'), websocket: recordingWebSocket(log) }, t);
        const s = await subscribed(c, `nodelta:x-${format}`, { delta: 'fossil' });
        const r = record(s, ['publication']);
        for (let i = 0; i < 5; i++) await api(h.srv, 'publish', { channel: `nodelta:x-${format}`, data: doc(i, 'n'), delta: true });
        await r.waitCount('publication', 5);
        assert.deepEqual(r.of('publication').map((p) => D(p.data)), Array.from({ length: 5 }, (_, i) => doc(i, 'n')));
        assert.equal(wirePubs(format, log).filter((p) => p.delta).length, 0);
      });

      // Centrifugo sends the whole payload with delta false whenever it has no previous
      // publication to diff against; an empty patch would be dropped by the JSON SDK.
      test('delta namespace without history: every publication arrives whole', async (t) => {
        const log = [];
        const ch = `deltanohist:x-${format}`;
        const c = await connected(format, h.wsUrl, { token: connToken('d4'), websocket: recordingWebSocket(log) }, t);
        const s = await subscribed(c, ch, { delta: 'fossil' });
        const r = record(s, ['publication', 'error']);
        const sent = [0, 1, 2].map((i) => doc(i, 'h'));
        for (const data of sent) await api(h.srv, 'publish', { channel: ch, data, delta: true });
        await r.waitCount('publication', 3);
        assert.deepEqual(r.of('publication').map((p) => D(p.data)), sent);
        assert.equal(r.of('error').length, 0);
        const wire = wirePubs(format, log).filter((p) => p.channel === ch);
        assert.deepEqual(wire.map((p) => p.delta), [false, false, false]);
      });

      test('after history_remove the next publication arrives whole, later ones as patches', async (t) => {
        const log = [];
        const ch = `delta:removed-${format}`;
        const c = await connected(format, h.wsUrl, { token: connToken('d5'), websocket: recordingWebSocket(log) }, t);
        const s = await subscribed(c, ch, { delta: 'fossil' });
        const r = record(s, ['publication', 'subscribing', 'error']);
        const sent = [0, 1, 2, 3].map((i) => doc(i, 'r'));
        for (const data of sent.slice(0, 2)) await api(h.srv, 'publish', { channel: ch, data, delta: true });
        await r.waitCount('publication', 2);
        await api(h.srv, 'history_remove', { channel: ch });
        for (const data of sent.slice(2)) await api(h.srv, 'publish', { channel: ch, data, delta: true });
        await r.waitCount('publication', 4);
        assert.deepEqual(r.of('publication').map((p) => D(p.data)), sent);
        assert.equal(r.of('subscribing').length, 0);
        const wire = wirePubs(format, log).filter((p) => p.channel === ch);
        assert.deepEqual(wire.map((p) => p.delta), [false, true, false, true]);
      });

      test('recovery on a delta subscription: missed publications reproduced exactly', async (t) => {
        const user = `drec-${format}`;
        const ch = `delta:rec-${format}`;
        const c = await connected(format, h.wsUrl, { token: connToken(user), minReconnectDelay: 1500 * SCALE, maxReconnectDelay: 1500 * SCALE }, t);
        const s = await subscribed(c, ch, { delta: 'fossil' });
        const r = record(s, ['publication', 'subscribed']);
        const sent = [];
        const pub = async (i) => {
          const data = doc(i, TEXTS.emoji);
          sent.push(data);
          await api(h.srv, 'publish', { channel: ch, data, delta: true });
        };
        for (let i = 0; i < 5; i++) await pub(i);
        await r.waitCount('publication', 5);
        const away = nextEvent(c, 'connecting');
        await api(h.srv, 'disconnect', { user, disconnect: { code: 4010, reason: 'away' } });
        await away;
        for (let i = 5; i < 12; i++) await pub(i);
        await r.waitCount('subscribed', 1, { timeout: 10000 * SCALE });
        assert.equal(r.of('subscribed')[0].recovered, true);
        for (let i = 12; i < 16; i++) await pub(i);
        await r.waitCount('publication', 16);
        await sleep(100);
        assert.deepEqual(r.of('publication').map((p) => D(p.data)), sent);
        assert.deepEqual(r.of('publication').map((p) => p.offset), Array.from({ length: 16 }, (_, i) => i + 1));
      });
    });
  }
});
