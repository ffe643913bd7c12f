// The redis_stream async consumer (docs/consumers.md) against a real redis-server: what is
// XADDed reaches a subscribed SDK client, in stream order, in both command modes and in
// publication data mode; bad entries are skipped (and counted) without stopping the ones
// after them; an enabled consumer of a type Gyre does not run refuses the start; and at
// least once: SIGKILL of Gyre in the middle of 2,000 entries, restart, and with idempotency
// keys every publication arrives exactly once. Also: entries a dead consumer left pending
// are claimed (XAUTOCLAIM), several workers share a stream, and an internal error (the
// engine Redis down) is retried, in order, until it succeeds.
import assert from 'node:assert/strict';
import { describe, test } from '../lib/test.js';
import { GyreServer, runGyre, startServer, tempDir } from '../lib/server.js';
import { startRedis, redisPipeline } from '../lib/redis.js';
import { connToken } from '../lib/tokens.js';
import { connected, subscribed } from '../lib/sdk.js';
import { api, metrics, metricValue } from '../lib/api.js';
import { waitFor, SCALE } from '../lib/wait.js';
import fs from 'node:fs';
import path from 'node:path';

const ALLOW = { allow_subscribe_for_client: true };

function consumer(name, redis, streams, extra = {}) {
  return {
    name,
    enabled: true,
    type: 'redis_stream',
    redis_stream: { address: [redis.url], streams, consumer_group: 'gyre', visibility_timeout: '1s', ...extra },
  };
}

// Waits until the consumer group exists on every stream (the consumer creates it at `$`:
// entries added before that are not for it).
async function groupsReady(redis, streams) {
  for (const s of streams) {
    await waitFor(async () => {
      try {
        const groups = await redis.command('XINFO', 'GROUPS', s);
        return groups.some((g) => g[1] === 'gyre');
      } catch {
        return false;
      }
    }, { timeout: 10000 * SCALE, label: `consumer group on ${s}` });
  }
}

function xadd(stream, fields) {
  return ['XADD', stream, '*', ...Object.entries(fields).flat()];
}

describe('redis_stream consumer', () => {
  test('commands in both modes and publication data mode reach a subscriber; bad entries are skipped', async (t) => {
    const redis = await startRedis({ name: 'consumers-redis' });
    t.defer(() => redis.stop());
    const srv = await startServer({
      name: 'consumers-rs',
      config: {
        channel: { without_namespace: ALLOW },
        consumers: [
          consumer('cmd', redis, ['cmd_stream']),
          consumer('data', redis, ['data_stream'], { publication_data_mode: { enabled: true } }),
        ],
      },
    });
    t.defer(() => srv.stop());
    await groupsReady(redis, ['cmd_stream', 'data_stream']);
    const c = await connected('json', srv.wsUrl, { token: connToken('u1') }, t);
    const got = { a: [], b: [] };
    for (const ch of ['a', 'b']) {
      const sub = await subscribed(c, ch);
      sub.on('publication', (ctx) => got[ch].push(ctx.data));
    }
    const pub = (n) => JSON.stringify({ channel: 'a', data: { n } });
    const replies = await redisPipeline(redis.port, [
      xadd('cmd_stream', { method: 'publish', payload: pub(1) }),
      xadd('cmd_stream', { payload: JSON.stringify({ method: 'publish', payload: { channel: 'a', data: { n: 2 } } }) }),
      xadd('cmd_stream', { payload: JSON.stringify({ method: 'publish', payload: pub(3) }) }), // payload as a JSON string
      xadd('cmd_stream', { method: 'publish', payload: 'not json' }), // bad: invalid JSON
      xadd('cmd_stream', { method: 'history', payload: '{"channel":"a"}' }), // bad: unsupported method
      xadd('cmd_stream', { method: 'publish', payload: '{"data":{}}' }), // bad: no channel
      xadd('cmd_stream', { method: 'publish', other: 'x' }), // bad: no payload field
      xadd('cmd_stream', { payload: '{"method":"nope","payload":{}}' }), // bad: unknown method
      xadd('cmd_stream', { method: 'broadcast', payload: JSON.stringify({ channels: ['a', 'b'], data: { n: 4 } }) }),
      xadd('data_stream', { payload: '{"n":5}', 'centrifugo-channels': 'b', 'centrifugo-tag-k': 'v' }),
      xadd('data_stream', { payload: '{"n":6}' }), // bad: no channels
      xadd('data_stream', { payload: '{"n":7}', 'centrifugo-channels': 'a,b', 'centrifugo-delta': 'maybe' }), // bad delta
      xadd('data_stream', { payload: '{"n":8}', 'centrifugo-channels': 'a,b' }),
    ]);
    assert.ok(replies.every((r) => typeof r === 'string'), JSON.stringify(replies));
    await waitFor(() => got.a.length >= 5 && got.b.length >= 3, { timeout: 10000 * SCALE, label: 'publications' });
    // Each consumer keeps its stream's order; the two streams interleave.
    assert.deepEqual(got.a.map((d) => d.n).filter((n) => n !== 8), [1, 2, 3, 4]);
    assert.ok(got.a.some((d) => d.n === 8));
    assert.deepEqual(got.b.map((d) => d.n).sort(), [4, 5, 8]);
    // Everything was acknowledged: nothing pending in either group.
    await waitFor(async () => {
      const p1 = await redis.command('XPENDING', 'cmd_stream', 'gyre');
      const p2 = await redis.command('XPENDING', 'data_stream', 'gyre');
      return p1[0] === 0 && p2[0] === 0;
    }, { label: 'no pending entries' });
    const m = (await metrics(srv)).text;
    assert.equal(metricValue(m, 'centrifugo_consumers_messages_processed_total', { consumer_name: 'cmd' }), 9);
    assert.equal(metricValue(m, 'centrifugo_consumers_errors_total', { consumer_name: 'cmd' }), 5);
    assert.equal(metricValue(m, 'centrifugo_consumers_messages_processed_total', { consumer_name: 'data' }), 4);
    assert.equal(metricValue(m, 'centrifugo_consumers_errors_total', { consumer_name: 'data' }), 2);
    // Run commands are timed like API calls, with protocol "consuming".
    assert.equal(metricValue(m, 'centrifugo_api_command_duration_seconds_histogram_count', { protocol: 'consuming', method: 'publish' }), 5);
    assert.equal(metricValue(m, 'centrifugo_api_command_duration_seconds_histogram_count', { protocol: 'consuming', method: 'broadcast' }), 2);
    assert.match(srv.logText(), /bad message skipped.*"?consumer"?[=:]"cmd".*cmd_stream\//);
  });

  test('one worker keeps stream order over 500 entries', async (t) => {
    const redis = await startRedis({ name: 'consumers-redis-order' });
    t.defer(() => redis.stop());
    const srv = await startServer({
      name: 'consumers-order',
      config: { channel: { without_namespace: ALLOW }, consumers: [consumer('ord', redis, ['s1', 's2'])] },
    });
    t.defer(() => srv.stop());
    await groupsReady(redis, ['s1', 's2']);
    const c = await connected('json', srv.wsUrl, { token: connToken('u2') }, t);
    const got = { o1: [], o2: [] };
    for (const ch of ['o1', 'o2']) (await subscribed(c, ch)).on('publication', (ctx) => got[ch].push(ctx.data.n));
    const cmds = [];
    for (let n = 0; n < 500; n++) {
      cmds.push(xadd('s1', { method: 'publish', payload: JSON.stringify({ channel: 'o1', data: { n } }) }));
      cmds.push(xadd('s2', { method: 'publish', payload: JSON.stringify({ channel: 'o2', data: { n } }) }));
    }
    await redisPipeline(redis.port, cmds);
    await waitFor(() => got.o1.length >= 500 && got.o2.length >= 500, { timeout: 20000 * SCALE, label: '1,000 publications' });
    const seq = [...Array(500).keys()];
    assert.deepEqual(got.o1, seq);
    assert.deepEqual(got.o2, seq);
  });

  test('entries left pending by a dead consumer are claimed; several workers share a stream', async (t) => {
    const redis = await startRedis({ name: 'consumers-redis-claim' });
    t.defer(() => redis.stop());
    // A consumer "dead" of the group read 3 entries and never acknowledged them.
    await redis.command('XGROUP', 'CREATE', 'claim_stream', 'gyre', '$', 'MKSTREAM');
    const cmds = [];
    for (let n = 0; n < 3; n++) cmds.push(xadd('claim_stream', { method: 'publish', payload: JSON.stringify({ channel: 'cl', data: { n } }) }));
    await redisPipeline(redis.port, cmds);
    const read = await redis.command('XREADGROUP', 'GROUP', 'gyre', 'dead', 'COUNT', '10', 'STREAMS', 'claim_stream', '>');
    assert.equal(read[0][1].length, 3);
    const srv = await startServer({
      name: 'consumers-claim',
      config: { channel: { without_namespace: { ...ALLOW, history_size: 1000, history_ttl: '300s' } }, consumers: [consumer('cl', redis, ['claim_stream'], { num_workers: 3 })] },
    });
    t.defer(() => srv.stop());
    const more = [];
    for (let n = 3; n < 303; n++) more.push(xadd('claim_stream', { method: 'publish', payload: JSON.stringify({ channel: 'cl', data: { n } }) }));
    await redisPipeline(redis.port, more);
    // visibility_timeout is 1 s: the dead consumer's entries are claimed and run.
    await waitFor(async () => (await api(srv, 'history', { channel: 'cl', limit: 1000 })).publications?.length >= 303,
      { timeout: 20000 * SCALE, label: '303 publications' });
    const ns = (await api(srv, 'history', { channel: 'cl', limit: 1000 })).publications.map((p) => p.data.n);
    assert.deepEqual([...new Set(ns)].sort((a, b) => a - b), [...Array(303).keys()]);
    await waitFor(async () => (await redis.command('XPENDING', 'claim_stream', 'gyre'))[0] === 0, { label: 'nothing pending' });
    // Three workers read the stream: the group has this node as a consumer next to "dead".
    const consumers = await redis.command('XINFO', 'CONSUMERS', 'claim_stream', 'gyre');
    assert.equal(consumers.length, 2);
  });

  test('an internal error (the engine Redis is down) is retried until it succeeds, in order', async (t) => {
    const streams = await startRedis({ name: 'consumers-redis-src' });
    t.defer(() => streams.stop());
    const engineRedis = await startRedis({ name: 'consumers-redis-engine' });
    t.defer(() => engineRedis.stop());
    const srv = await startServer({
      name: 'consumers-retry',
      config: {
        engine: { type: 'redis', redis: { address: [engineRedis.url] } },
        channel: { namespaces: [{ name: 'rt', ...ALLOW, history_size: 100, history_ttl: '300s' }] },
        consumers: [consumer('rt', streams, ['retry_stream'])],
      },
    });
    t.defer(() => srv.stop({ check: false }));
    await groupsReady(streams, ['retry_stream']);
    await engineRedis.kill('SIGTERM'); // down, not removed: started again below
    const cmds = [];
    for (let n = 0; n < 5; n++) cmds.push(xadd('retry_stream', { method: 'publish', payload: JSON.stringify({ channel: 'rt:x', data: { n } }) }));
    await redisPipeline(streams.port, cmds);
    // The first entry fails with an internal error and is retried (blocking the entries
    // after it); nothing is acknowledged.
    await waitFor(async () => metricValue((await metrics(srv)).text, 'centrifugo_consumers_errors_total', { consumer_name: 'rt' }) >= 2,
      { timeout: 15000 * SCALE, label: 'retried attempts' });
    assert.ok((await streams.command('XPENDING', 'retry_stream', 'gyre'))[0] >= 1);
    await engineRedis.start();
    await waitFor(async () => {
      const r = await api(srv, 'history', { channel: 'rt:x', limit: 100 }).catch(() => null);
      return r?.publications?.length === 5;
    }, { timeout: 20000 * SCALE, interval: 100, label: 'the 5 publications after Redis came back' });
    const h = await api(srv, 'history', { channel: 'rt:x', limit: 100 });
    assert.deepEqual(h.publications.map((p) => p.data.n), [0, 1, 2, 3, 4]);
    await waitFor(async () => (await streams.command('XPENDING', 'retry_stream', 'gyre'))[0] === 0, { label: 'all acknowledged' });
    assert.match(srv.logText(), /internal error, message will be retried/);
  });

  test('SIGKILL in the middle of 2,000 entries, restart: every publication once (idempotency keys)', async (t) => {
    const redis = await startRedis({ name: 'consumers-redis-kill', aof: true });
    t.defer(() => redis.stop());
    const N = 2000;
    const config = {
      engine: { type: 'redis', redis: { address: [redis.url] } },
      client: { recovery_max_publication_limit: 5000 },
      channel: {
        namespaces: [{ name: 'kk', ...ALLOW, history_size: 5000, history_ttl: '600s', force_recovery: true }],
      },
      consumers: [consumer('kill', redis, ['kill_stream'])],
    };
    const first = await startServer({ name: 'consumers-kill-1', config });
    t.defer(() => first.stop({ check: false }));
    await groupsReady(redis, ['kill_stream']);
    const c = await connected('json', first.wsUrl, { token: connToken('u3'), minReconnectDelay: 50, maxReconnectDelay: 200 }, t);
    const got = [];
    (await subscribed(c, 'kk:kill')).on('publication', (ctx) => got.push(ctx.data.n));
    const cmds = [];
    for (let n = 0; n < N; n++) {
      const payload = JSON.stringify({ channel: 'kk:kill', data: { n }, idempotency_key: `kill-${n}` });
      cmds.push(xadd('kill_stream', { method: 'publish', payload }));
    }
    // The first half while the node runs; SIGKILL once the subscriber saw some of it; the
    // second half while no node runs.
    await redisPipeline(redis.port, cmds.slice(0, N / 2));
    await waitFor(() => got.length >= 100, { timeout: 20000 * SCALE, label: 'the first publications' });
    await first.kill('SIGKILL');
    const killedAt = got.length;
    await redisPipeline(redis.port, cmds.slice(N / 2));

    const second = new GyreServer({ name: 'consumers-kill-2', port: first.port, config });
    t.defer(() => second.stop({ check: false }));
    await second.start();
    // Entries the killed node had read but not acknowledged are claimed after visibility_timeout.
    await waitFor(async () => (await redis.command('XPENDING', 'kill_stream', 'gyre'))[0] === 0 &&
      (await api(second, 'history', { channel: 'kk:kill', limit: 5000 })).publications?.length >= N,
      { timeout: 30000 * SCALE, label: 'all entries processed and acknowledged' });
    const history = (await api(second, 'history', { channel: 'kk:kill', limit: 5000 })).publications;
    assert.equal(history.length, N, 'each entry published once');
    assert.equal(new Set(history.map((p) => p.data.n)).size, N);
    await waitFor(() => got.length >= N, { timeout: 20000 * SCALE, label: `${N} publications at the subscriber (killed at ${killedAt})` });
    assert.equal(got.length, N);
    assert.equal(new Set(got).size, N);
    await second.stop();
  });

  test('bad configuration: the error names the key; an enabled type Gyre does not run refuses to start', async () => {
    const dir = tempDir('gyre-e2e-consumers-cfg-');
    const write = (name, cfg) => {
      const p = path.join(dir, name);
      fs.writeFileSync(p, JSON.stringify(cfg));
      return p;
    };
    const r1 = runGyre(['checkconfig', '-c', write('a.json', {
      consumers: [{ name: 'ok', type: 'kafka' }, { name: 'rs', enabled: true, type: 'redis_stream', redis_stream: { consumer_group: 'g' } }],
    })]);
    assert.notEqual(r1.code, 0);
    assert.match(r1.stdout + r1.stderr, /consumers\[1\]\.redis_stream\.streams/);
    const r2 = runGyre(['-c', write('b.json', {
      consumers: [{ name: 'sqs', enabled: true, type: 'aws_sqs', aws_sqs: { queues: ['q'] } }],
    }), '-a', '127.0.0.1', '-p', '0']);
    assert.equal(r2.code, 1);
    assert.match(r2.stdout + r2.stderr, /consumers\[0\]\.enabled: the aws_sqs consumer \(\\?"sqs\\?"\) is not implemented/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
