// The nats_jetstream async consumer (docs/consumers.md) against a real `nats-server -js`
// (file store in a temp dir): the durable consumer is created on the stream, messages
// published with a `centrifugo-method` header, as a {method, payload} envelope, or in
// publication data mode reach a subscribed SDK client in order; bad messages are skipped
// (acknowledged, counted); and SIGKILL of Gyre mid-stream followed by a restart delivers
// every publication exactly once thanks to idempotency keys.
import assert from 'node:assert/strict';
import { describe, test } from '../lib/test.js';
import { GyreServer, startServer, tempDir } from '../lib/server.js';
import { startNats } from '../lib/nats.js';
import { NatsClient } from '../lib/nats_client.js';
import { startRedis } from '../lib/redis.js';
import { connToken } from '../lib/tokens.js';
import { connected, subscribed } from '../lib/sdk.js';
import { api, metrics, metricValue } from '../lib/api.js';
import { waitFor, SCALE } from '../lib/wait.js';
import fs from 'node:fs';

const ALLOW = { allow_subscribe_for_client: true };

async function jetstream(t, name) {
  const store = tempDir(`gyre-e2e-js-${name}-`);
  const nats = await startNats({ name, args: ['-js', '-sd', store] });
  t.defer(async () => {
    await nats.stop();
    fs.rmSync(store, { recursive: true, force: true });
  });
  const nc = await new NatsClient(nats.port).connect();
  t.defer(() => nc.close());
  return { nats, nc };
}

async function createStream(nc, name, subjects) {
  const r = await nc.jsApi(`$JS.API.STREAM.CREATE.${name}`, { name, subjects, storage: 'file' });
  assert.ok(!r.error, JSON.stringify(r.error));
}

function consumer(name, nats, stream, extra = {}) {
  return {
    name,
    enabled: true,
    type: 'nats_jetstream',
    nats_jetstream: { url: nats.url, stream_name: stream, durable_consumer_name: `${name}_durable`, deliver_policy: 'all', ...extra },
  };
}

// Publishes and waits for JetStream's acknowledgement (stored).
async function jsPublish(nc, subject, payload, headers = {}) {
  const m = await nc.publish(subject, payload, headers, { reply: true });
  const ack = JSON.parse(m.body.toString('utf8'));
  assert.ok(!ack.error, JSON.stringify(ack));
}

describe('nats_jetstream consumer', () => {
  test('commands, envelopes and publication data reach a subscriber; bad messages are skipped', async (t) => {
    const { nats, nc } = await jetstream(t, 'js-basic');
    await createStream(nc, 'CMDS', ['cmds.>']);
    await createStream(nc, 'DATA', ['data.>']);
    const srv = await startServer({
      name: 'consumers-js',
      config: {
        channel: { without_namespace: ALLOW },
        consumers: [
          consumer('jcmd', nats, 'CMDS', { subjects: ['cmds.>'] }),
          consumer('jdata', nats, 'DATA', { publication_data_mode: { enabled: true } }),
        ],
      },
    });
    t.defer(() => srv.stop());
    const c = await connected('json', srv.wsUrl, { token: connToken('j1') }, t);
    const got = { a: [], b: [] };
    for (const ch of ['a', 'b']) (await subscribed(c, ch)).on('publication', (ctx) => got[ch].push(ctx.data.n));
    const M = { 'centrifugo-method': 'publish' };
    await jsPublish(nc, 'cmds.x', JSON.stringify({ channel: 'a', data: { n: 1 } }), M);
    await jsPublish(nc, 'cmds.x', JSON.stringify({ method: 'publish', payload: { channel: 'a', data: { n: 2 } } }));
    await jsPublish(nc, 'cmds.x', JSON.stringify({ method: 'publish', payload: JSON.stringify({ channel: 'a', data: { n: 3 } }) }));
    await jsPublish(nc, 'cmds.x', 'not json', M); // bad
    await jsPublish(nc, 'cmds.x', '{"channel":"a"}', { 'centrifugo-method': 'presence' }); // bad: unsupported
    await jsPublish(nc, 'cmds.x', '{"data":{}}', M); // bad: validation
    await jsPublish(nc, 'cmds.x', JSON.stringify({ channel: 'a', data: { n: 4 } }), M);
    await jsPublish(nc, 'data.y', '{"n":5}', { 'centrifugo-channels': 'b', 'centrifugo-tag-x': '1' });
    await jsPublish(nc, 'data.y', '{"n":6}'); // bad: no channels
    await jsPublish(nc, 'data.y', '{"n":7}', { 'centrifugo-channels': 'b', 'centrifugo-version': 'x' }); // bad version
    await jsPublish(nc, 'data.y', '{"n":8}', { 'centrifugo-channels': 'b' });
    await waitFor(() => got.a.length >= 4 && got.b.length >= 2, { timeout: 15000 * SCALE, label: 'publications' });
    assert.deepEqual(got.a, [1, 2, 3, 4]);
    assert.deepEqual(got.b, [5, 8]);
    await waitFor(async () => {
      const m = (await metrics(srv)).text;
      return metricValue(m, 'centrifugo_consumers_messages_processed_total', { consumer_name: 'jcmd' }) === 7 &&
        metricValue(m, 'centrifugo_consumers_messages_processed_total', { consumer_name: 'jdata' }) === 4;
    }, { label: 'processed counters' });
    const m = (await metrics(srv)).text;
    assert.equal(metricValue(m, 'centrifugo_consumers_errors_total', { consumer_name: 'jcmd' }), 3);
    assert.equal(metricValue(m, 'centrifugo_consumers_errors_total', { consumer_name: 'jdata' }), 2);
    // Everything acknowledged: the durable consumer has nothing pending.
    await waitFor(async () => {
      const info = await nc.jsApi('$JS.API.CONSUMER.INFO.CMDS.jcmd_durable', {});
      return info.num_ack_pending === 0 && info.num_pending === 0;
    }, { label: 'nothing pending on the durable consumer' });
  });

  test('SIGKILL in the middle of 2,000 messages, restart: every publication once (idempotency keys)', { timeout: 120000 * SCALE }, async (t) => {
    const { nats, nc } = await jetstream(t, 'js-kill');
    await createStream(nc, 'KILL', ['kill.>']);
    const redis = await startRedis({ name: 'consumers-js-redis', aof: true });
    t.defer(() => redis.stop());
    const N = 2000;
    const config = {
      engine: { type: 'redis', redis: { address: [redis.url] } },
      client: { recovery_max_publication_limit: 5000 },
      channel: { namespaces: [{ name: 'kk', ...ALLOW, history_size: 5000, history_ttl: '600s', force_recovery: true }] },
      consumers: [consumer('jkill', nats, 'KILL', { max_ack_pending: 200 })],
    };
    const first = await startServer({ name: 'consumers-js-kill-1', config });
    t.defer(() => first.stop({ check: false }));
    const c = await connected('json', first.wsUrl, { token: connToken('j2'), minReconnectDelay: 50, maxReconnectDelay: 200 }, t);
    const got = [];
    (await subscribed(c, 'kk:kill')).on('publication', (ctx) => got.push(ctx.data.n));
    const send = async (from, to) => {
      const acks = [];
      for (let n = from; n < to; n++) {
        const payload = JSON.stringify({ channel: 'kk:kill', data: { n }, idempotency_key: `jkill-${n}` });
        acks.push(nc.publish('kill.x', payload, { 'centrifugo-method': 'publish' }, { reply: true, timeout: 20000 * SCALE }));
      }
      await Promise.all(acks);
    };
    await send(0, N / 2);
    await waitFor(() => got.length >= 100, { timeout: 20000 * SCALE, label: 'the first publications' });
    await first.kill('SIGKILL');
    const killedAt = got.length;
    await send(N / 2, N);
    // AckWait is 30 s: what the killed node fetched but did not acknowledge comes back then.
    const second = new GyreServer({ name: 'consumers-js-kill-2', port: first.port, config });
    t.defer(() => second.stop({ check: false }));
    await second.start();
    await waitFor(async () => (await api(second, 'history', { channel: 'kk:kill', limit: 5000 })).publications?.length >= N,
      { timeout: 60000 * SCALE, interval: 200, label: `all ${N} messages published (killed at ${killedAt})` });
    const history = (await api(second, 'history', { channel: 'kk:kill', limit: 5000 })).publications;
    assert.equal(history.length, N);
    assert.equal(new Set(history.map((p) => p.data.n)).size, N);
    await waitFor(() => got.length >= N, { timeout: 20000 * SCALE, label: `${N} publications at the subscriber` });
    assert.equal(got.length, N);
    assert.equal(new Set(got).size, N);
    await second.stop();
  });
});
