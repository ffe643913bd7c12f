// Conflation (namespace option gyre_conflation, docs/design/conflation.md). One event loop,
// client.queue_max_size 64 KiB. A raw WebSocket subscriber of three channels stops reading
// while the API publishes a burst many times larger than its queue limit:
//  - in a conflation namespace it is not disconnected, the server's RSS stays within a few
//    MB (it holds one publication per channel, not the backlog), and once it reads again it
//    gets the latest publication of each channel, with offsets that jump where it skipped;
//  - in a plain namespace the same reader is closed with 3008.
// An unchanged SDK subscriber (centrifuge 5.8.0) that falls behind takes the jump in offsets
// without an error or a resubscribe, can read what it skipped from history, and recovers
// after a reconnect. A wrongly typed option, or the option without history, stops the server
// with the key in the message.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { FORMATS, describe, test, useServer } from '../lib/test.js';
import { connToken } from '../lib/tokens.js';
import { RawClient } from '../lib/rawws.js';
import { WebSocket, connected, dec, subscribed } from '../lib/sdk.js';
import { api, metrics, metricValue } from '../lib/api.js';
import { rssBytes } from '../lib/flood.js';
import { runGyre, tempDir } from '../lib/server.js';
import { SCALE, nextEvent, waitFor } from '../lib/wait.js';

const QUEUE = 64 << 10; // client.queue_max_size
const PAYLOAD = 2000; // bytes of padding per publication
const PER_BATCH = 50; // publications per channel per API batch
// What the held-back subscriber may make the server hold beyond its baseline: its queue,
// one publication per channel, and a few MB for the allocator (API request buffers, the
// broker's history of 20 per channel) and the sanitizer's bookkeeping.
const SLACK = (SCALE > 1 ? 16 : 8) << 20;
const BOUND = QUEUE + 3 * PAYLOAD + SLACK;
// The burst goes on until this many publications were skipped: their bytes are several
// times the bound, so a server that queued them would fail the RSS check.
const SKIPPED_TARGET = Math.ceil((3 * BOUND) / PAYLOAD);

const NS = {
  allow_subscribe_for_client: true,
  allow_history_for_client: true,
  history_size: 20,
  history_ttl: '300s',
};

// Under AddressSanitizer freed memory waits in a quarantine before it is reused; a small
// one keeps the RSS check meaningful (see flood.test.js).
const asanOptions = [process.env.ASAN_OPTIONS, 'quarantine_size_mb=4', 'thread_local_quarantine_size_kb=256']
  .filter(Boolean)
  .join(':');

const counter = async (srv, name, labels) => metricValue((await metrics(srv)).text, name, labels) || 0;

// One API batch: PER_BATCH publications to each channel, numbered from `next[ch]`.
async function publishBatch(srv, channels, next) {
  const commands = [];
  for (let i = 0; i < PER_BATCH; i++)
    for (const ch of channels) commands.push({ publish: { channel: ch, data: { n: next[ch]++, pad: 'p'.repeat(PAYLOAD) } } });
  await api(srv, 'batch', { commands });
}

// Per channel, the publications a raw client received, in order: [{offset, n}].
function received(raw) {
  const per = {};
  for (const r of raw.pushes((p) => p.pub)) (per[r.push.channel] ||= []).push({ offset: r.push.pub.offset, n: r.push.pub.data.n });
  return per;
}

async function rawSubscriber(h, channels) {
  const raw = new RawClient(h.wsUrl);
  await raw.connect(connToken(`raw-${channels[0]}`));
  let id = 2;
  for (const ch of channels) {
    raw.send({ id, subscribe: { channel: ch } });
    const r = await raw.reply(id++);
    assert.ok(!r.error, JSON.stringify(r));
  }
  return raw;
}

describe('conflation', () => {
  const h = useServer({
    name: 'conflation',
    env: { ASAN_OPTIONS: asanOptions },
    config: {
      gyre: { num_event_loops: 1 },
      client: { queue_max_size: QUEUE },
      websocket: { write_timeout: '1s' },
      channel: {
        namespaces: [
          { name: 'conf', ...NS, gyre_conflation: true },
          { name: 'plain', ...NS },
          // The SDK test reads what it skipped from history: keep all of it.
          { name: 'sdk', ...NS, history_size: 20000, force_recovery: true, gyre_conflation: true },
        ],
      },
    },
  });

  test('a reader that stops reading is kept, holds one publication per channel, then gets the latest of each', async (t) => {
    const channels = ['conf:a', 'conf:b', 'conf:c'];
    const raw = await rawSubscriber(h, channels);
    t.defer(() => raw.close());
    const slowBefore = await counter(h.srv, 'centrifugo_client_num_server_disconnects', { code: '3008' });
    const skippedBefore = await counter(h.srv, 'gyre_client_conflated_total');
    raw.ws.pause(); // stop reading: the kernel buffers fill, then the server's queue

    const base = rssBytes(h.srv.proc.pid);
    let peak = base;
    const next = Object.fromEntries(channels.map((ch) => [ch, 1]));
    let skipped = 0;
    for (let round = 0; round < 400 && skipped < SKIPPED_TARGET; round++) {
      await publishBatch(h.srv, channels, next);
      peak = Math.max(peak, rssBytes(h.srv.proc.pid));
      if (peak - base > BOUND) break; // fail below without eating the machine's memory
      skipped = (await counter(h.srv, 'gyre_client_conflated_total')) - skippedBefore;
    }
    const published = channels.reduce((a, ch) => a + next[ch] - 1, 0);
    const line = `published ${published} (${((published * PAYLOAD) / 1048576).toFixed(1)} MB), skipped ${skipped}; ` +
      `RSS ${(base / 1048576).toFixed(1)} MB -> peak ${(peak / 1048576).toFixed(1)} MB ` +
      `(+${((peak - base) / 1048576).toFixed(1)} MB, bound ${(BOUND / 1048576).toFixed(1)} MB)`;
    t.diagnostic(line);
    assert.ok(peak - base <= BOUND, line);
    assert.ok(skipped >= SKIPPED_TARGET, `the burst must be conflated: ${line}`);
    assert.equal(await counter(h.srv, 'gyre_client_conflating'), 1, 'one connection behind');
    assert.equal(await counter(h.srv, 'centrifugo_client_num_server_disconnects', { code: '3008' }), slowBefore, 'not slow');
    assert.equal(raw.closed, null);

    raw.ws.resume();
    const tops = Object.fromEntries(channels.map((ch) => [ch, next[ch] - 1]));
    await waitFor(() => channels.every((ch) => received(raw)[ch]?.at(-1)?.offset === tops[ch]), {
      timeout: 20000 * SCALE,
      label: 'the latest publication of every channel',
    });
    const per = received(raw);
    let total = 0;
    for (const ch of channels) {
      const seen = per[ch];
      total += seen.length;
      let jumps = 0;
      for (let i = 0; i < seen.length; i++) {
        assert.equal(seen[i].n, seen[i].offset, `${ch}: data and offset`);
        if (i > 0) {
          assert.ok(seen[i].offset > seen[i - 1].offset, `${ch}: offsets in order at ${i}`);
          if (seen[i].offset > seen[i - 1].offset + 1) jumps++;
        }
      }
      assert.ok(jumps >= 1, `${ch}: the offsets must show the skip`);
    }
    // The counter read during the burst may predate its last deliveries: read it again.
    const skippedAll = (await counter(h.srv, 'gyre_client_conflated_total')) - skippedBefore;
    assert.equal(total + skippedAll, published, 'every publication was sent or skipped');
    // Caught up: no longer behind, and new publications arrive one by one.
    await waitFor(async () => (await counter(h.srv, 'gyre_client_conflating')) === 0, { label: 'caught up' });
    await api(h.srv, 'publish', { channel: 'conf:a', data: { n: tops['conf:a'] + 1 } });
    await waitFor(() => received(raw)['conf:a'].at(-1).offset === tops['conf:a'] + 1, { label: 'a live publication' });
    assert.equal(raw.closed, null);
  });

  test('the same reader in a plain namespace is disconnected with 3008', async (t) => {
    const channels = ['plain:a', 'plain:b', 'plain:c'];
    const raw = await rawSubscriber(h, channels);
    t.defer(() => raw.close());
    const slowCount = () => counter(h.srv, 'centrifugo_client_num_server_disconnects', { code: '3008' });
    const slowBefore = await slowCount();
    raw.ws.pause();
    const next = Object.fromEntries(channels.map((ch) => [ch, 1]));
    for (let round = 0; round < 400 && (await slowCount()) === slowBefore; round++) await publishBatch(h.srv, channels, next);
    assert.equal(await slowCount(), slowBefore + 1, 'one slow disconnect');
    raw.ws.resume();
    const closed = await raw.waitClose(10000 * SCALE);
    assert.equal(closed.code, 3008);
  });

  for (const format of FORMATS) {
    test(`an unchanged SDK subscriber takes the jump, reads what it skipped from history, and recovers [${format}]`, async (t) => {
      const channel = `sdk:${format}`;
      const sockets = [];
      class TrackedWebSocket extends WebSocket {
        constructor(...args) {
          super(...args);
          sockets.push(this);
        }
      }
      const client = await connected(format, h.wsUrl, { token: connToken(`sdk-${format}`), websocket: TrackedWebSocket }, t);
      const errors = [];
      client.on('error', (ctx) => errors.push(`client: ${ctx.error?.message}`));
      const sub = await subscribed(client, channel);
      const pubs = [];
      const states = [];
      sub.on('publication', (ctx) => pubs.push({ offset: ctx.offset, n: dec(format, ctx.data).n }));
      sub.on('error', (ctx) => errors.push(`sub: ${ctx.error?.message}`));
      sub.on('subscribing', (ctx) => states.push(`subscribing ${ctx.code}`));
      sub.on('unsubscribed', (ctx) => states.push(`unsubscribed ${ctx.code}`));

      const skippedBefore = await counter(h.srv, 'gyre_client_conflated_total');
      sockets.at(-1).pause();
      const next = { [channel]: 1 };
      let skipped = 0;
      for (let round = 0; round < 200 && skipped < 100; round++) {
        await publishBatch(h.srv, [channel], next);
        skipped = (await counter(h.srv, 'gyre_client_conflated_total')) - skippedBefore;
      }
      assert.ok(skipped >= 100, `skipped ${skipped}`);
      const top = next[channel] - 1;
      sockets.at(-1).resume();
      await waitFor(() => pubs.at(-1)?.offset === top, { timeout: 20000 * SCALE, label: `offset ${top} (have ${pubs.at(-1)?.offset})` });
      assert.deepEqual(errors, []);
      assert.deepEqual(states, [], 'no resubscribe');
      assert.equal(sub.state, 'subscribed');
      assert.equal(client.state, 'connected');
      const gap = pubs.findIndex((p, i) => i > 0 && p.offset > pubs[i - 1].offset + 1);
      assert.ok(gap > 0, 'the offsets jump');
      for (const p of pubs) assert.equal(p.n, p.offset);

      // What it skipped is in history, from the offset before the jump.
      const before = pubs[gap - 1].offset;
      const missing = pubs[gap].offset - before - 1;
      const epoch = sub.subscribedCtx.streamPosition.epoch;
      const hist = await sub.history({ since: { offset: before, epoch }, limit: Math.min(missing, 100) });
      assert.equal(hist.publications.length, Math.min(missing, 100));
      hist.publications.forEach((p, i) => {
        assert.equal(Number(p.offset), before + 1 + i);
        assert.equal(dec(format, p.data).n, before + 1 + i);
      });

      // After a dropped connection the SDK recovers from the last offset it received.
      const resubscribed = nextEvent(sub, 'subscribed', { timeout: 10000 * SCALE });
      sockets.at(-1).terminate();
      await api(h.srv, 'publish', { channel, data: { n: top + 1 } });
      const ctx = await resubscribed;
      assert.equal(ctx.wasRecovering, true);
      assert.equal(ctx.recovered, true);
      await waitFor(() => pubs.at(-1)?.offset === top + 1, { label: 'the recovered publication' });
      assert.deepEqual(errors, []);
    });
  }

  test('a wrongly typed option or one without history stops the server, naming the key', (t) => {
    const dir = tempDir();
    t.defer(() => fs.rmSync(dir, { recursive: true, force: true }));
    const cases = [
      [{ channel: { namespaces: [{ name: 'feed', ...NS, gyre_conflation: 'sometimes' }] } },
        /channel\.namespaces\[0\]\.gyre_conflation: invalid boolean \\?"sometimes\\?"/],
      [{ channel: { without_namespace: { gyre_conflation: { on: true } } } },
        /channel\.without_namespace\.gyre_conflation: expected a boolean, got an object/],
      [{ channel: { namespaces: [{ name: 'feed', gyre_conflation: true }] } },
        /channel\.namespaces\[0\]\.gyre_conflation: requires history/],
    ];
    for (const [i, [config, re]] of cases.entries()) {
      const file = path.join(dir, `bad${i}.json`);
      fs.writeFileSync(file, JSON.stringify(config));
      const check = runGyre(['checkconfig', '-c', file]);
      assert.equal(check.code, 1, check.stdout + check.stderr);
      assert.match(check.stdout + check.stderr, re);
      const serve = runGyre(['-c', file, '-a', '127.0.0.1', '-p', '0']);
      assert.notEqual(serve.code, 0, serve.stdout + serve.stderr);
      assert.match(serve.stdout + serve.stderr, re);
    }
  });
});
