// Load and checks for the chaos scale-out tests: a paced publisher that records what the
// server API acknowledged, a fleet of SDK subscribers (JSON and Protobuf) that record what
// the application sees, and the check that each subscriber saw every acknowledged
// publication exactly once, in order, with nothing in between that was never published.
//
// What holds:
// - The publisher sends one publish at a time (each waits for the previous reply), at most
//   `max` of them, and stops when asked; a failure (HTTP error, error reply, a node that
//   went away) is recorded, never thrown.
// - A subscriber records, in arrival order, the publications its SDK subscription emits
//   (`i` decoded from the payload and the offset), and its connection and subscription
//   events; nothing is filtered or reordered.
// - Every wait is bounded (lib/wait.js).
import assert from 'node:assert/strict';
import { apiRaw } from './api.js';
import { dec, newClient } from './sdk.js';
import { connToken } from './tokens.js';
import { record, sleep, waitFor, withTimeout, SCALE } from './wait.js';

// Publishes {i} into `channel` through `target()` (a server, asked again for every call)
// every `interval` ms after the previous reply. `log` holds {i, ok, offset, epoch} or
// {i, ok: false, why}; the call in flight is there already, as {i, ok: false, pending: true}
// (a subscriber may see a publication before its publisher sees the reply).
export function startPublisher(target, channel, { interval = 10, max = 20000 } = {}) {
  const p = { log: [], stopped: false };
  p.acked = () => p.log.filter((e) => e.ok);
  p.done = (async () => {
    for (let i = 1; i <= max && !p.stopped; i++) {
      const entry = { i, ok: false, pending: true, at: Date.now() };
      p.log.push(entry);
      try {
        const r = await apiRaw(target(), 'publish', { channel, data: { i } });
        if (r.json?.result) Object.assign(entry, { ok: true, offset: r.json.result.offset, epoch: r.json.result.epoch });
        else entry.why = `HTTP ${r.status} ${r.json?.error ? JSON.stringify(r.json.error) : r.text.slice(0, 80)}`;
      } catch (e) {
        entry.why = e.message;
      }
      delete entry.pending;
      entry.took = Date.now() - entry.at;
      await sleep(entry.ok ? interval : Math.max(interval, 50));
    }
  })();
  p.stop = async () => {
    p.stopped = true;
    await withTimeout(p.done, 30000 * SCALE, 'the publisher to stop');
  };
  // The longest time between two acknowledged publications (ms): how long publishing
  // was interrupted (a measurement for the test's diagnostics, never asserted).
  p.longestGap = () => {
    const acked = p.acked();
    let gap = 0;
    for (let k = 1; k < acked.length; k++) gap = Math.max(gap, acked[k].at - acked[k - 1].at);
    return gap;
  };
  // The slowest calls, for diagnostics: "i:took ms:ok|why".
  p.slowest = (n = 3) => [...p.log].filter((e) => !e.pending).sort((a, b) => b.took - a.took).slice(0, n)
    .map((e) => `${e.i}:${e.took}ms:${e.ok ? 'ok' : e.why}`);
  // Resolves once `n` more publications than now have been acknowledged.
  p.waitAcked = (n, opts = {}) => {
    const target = p.acked().length + n;
    return waitFor(() => p.acked().length >= target, { timeout: 15000 * SCALE, label: `${n} more acknowledged publications`, ...opts });
  };
  return p;
}

// `count` SDK clients (alternating JSON and Protobuf unless `formats` says otherwise)
// connected to `url` (e.g. a balancer's wsUrl) and subscribed to `channel`, with every
// connection and subscription event recorded. Resolves once all are subscribed.
export async function startSubscribers(url, channel, { count, prefix = 'sub', formats = ['json', 'protobuf'], t, clientOpts = {} }) {
  const subs = [];
  for (let k = 0; k < count; k++) {
    const format = formats[k % formats.length];
    const name = `${prefix}-${k}-${format}`;
    const c = newClient(format, url, { token: connToken(name), ...clientOpts });
    if (t) t.defer(() => c.disconnect());
    const s = c.newSubscription(channel);
    const cl = {
      name,
      format,
      c,
      s,
      conn: record(c, ['connected', 'disconnected', 'connecting']),
      ev: record(s, ['subscribed', 'subscribing', 'unsubscribed', 'error']),
      pubs: [],
      // Times the connection was lost and the SDK went connecting again (the first
      // 'connecting' is the initial connect()).
      reconnects() {
        return Math.max(0, this.conn.of('connecting').length - 1);
      },
    };
    s.on('publication', (ctx) => cl.pubs.push({ i: dec(format, ctx.data).i, offset: ctx.offset }));
    subs.push(cl);
    s.subscribe();
    c.connect();
  }
  await waitFor(() => subs.every((cl) => cl.s.state === 'subscribed'), {
    timeout: 20000 * SCALE, label: `${count} subscribers of ${channel}`,
  });
  return subs;
}

// Waits until every subscriber received every acknowledged publication from the first
// one it received on (the subscription starts at some point of the stream).
export async function waitAllReceived(subs, acked, { timeout = 20000 * SCALE, label = '' } = {}) {
  await waitFor(() => {
    for (const cl of subs) {
      const got = new Set(cl.pubs.map((p) => p.i));
      const from = cl.pubs.length ? cl.pubs[0].i : Infinity;
      const missing = acked.filter((a) => a.i >= from && !got.has(a.i));
      if (cl.pubs.length === 0 || missing.length) {
        throw new Error(`${cl.name} misses ${missing.length} (${missing.slice(0, 5).map((m) => `${m.i}@${m.offset}`).join(' ')}), ` +
          `has ${cl.pubs.length}, state ${cl.c.state}/${cl.s.state}`);
      }
    }
    return true;
  }, { timeout, label: `every subscriber to receive every acknowledged publication ${label}` });
}

// What the application of one subscriber saw: every acknowledged publication since its
// first exactly once and in order (offsets contiguous: no gap, no duplicate, no swap),
// each with the offset the API returned for it, and nothing that was never published.
// Returns a short description of the first problem, or null.
export function orderProblem(cl, log) {
  const attempted = new Map(log.map((e) => [e.i, e]));
  const got = cl.pubs;
  for (let k = 0; k < got.length; k++) {
    const p = got[k];
    const sent = attempted.get(p.i);
    if (!sent) return `${cl.name}: received ${p.i}@${p.offset}, never published`;
    if (sent.ok && sent.offset !== p.offset) return `${cl.name}: ${p.i} arrived with offset ${p.offset}, acknowledged as ${sent.offset}`;
    if (k > 0 && p.offset !== got[k - 1].offset + 1) {
      const around = got.slice(Math.max(0, k - 4), k + 3).map((q) => q.offset).join(', ');
      return `${cl.name}: offset ${p.offset} after ${got[k - 1].offset} (…${around}…; ${describeEvents(cl)})`;
    }
  }
  return null;
}

export function describeEvents(cl) {
  const sub = cl.ev.events.map((e) => `${e.event}(${e.arg?.code ?? (e.event === 'subscribed' ? `recovered=${e.arg.recovered}` : '')})`);
  return `subscription: ${sub.join(' ') || '-'}`;
}

// Asserts orderProblem() is null for every subscriber, and that every resubscription was
// a recovery that succeeded.
export function assertExactlyOnceInOrder(subs, log) {
  const problems = subs.map((cl) => orderProblem(cl, log)).filter(Boolean);
  assert.deepEqual(problems, [], `${problems.length} of ${subs.length} subscribers saw publications out of order, twice or with gaps`);
  for (const cl of subs) {
    const subscribed = cl.ev.of('subscribed');
    for (const s of subscribed.slice(1)) {
      assert.equal(s.wasRecovering, true, `${cl.name}: resubscribed without recovering (${describeEvents(cl)})`);
      assert.equal(s.recovered, true, `${cl.name}: recovery failed (${describeEvents(cl)})`);
    }
    assert.deepEqual(cl.ev.of('unsubscribed'), [], `${cl.name}: unsubscribed for good`);
  }
}
