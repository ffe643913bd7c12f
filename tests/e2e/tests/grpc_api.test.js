// The GRPC server API (docs/grpc-api.md) through @grpc/grpc-js with the project's own
// api.proto: every method, the key check (UNAUTHENTICATED), errors in the response and in
// transport error mode (status + Error detail), bytes that are not JSON, a batch, methods
// the .proto does not declare (UNIMPLEMENTED), max_receive_message_size, reflection, TLS,
// metrics with protocol="grpc", the Redis engine's later answers, the pacing by the
// fan-out, config validation and the refused reload of grpc_api.*. Effects are observed
// with real SDK clients.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test, useServer } from '../lib/test.js';
import { connToken } from '../lib/tokens.js';
import { connected, subscribed, newClient, connect } from '../lib/sdk.js';
import { metrics, metricValue } from '../lib/api.js';
import { freePort, merge, runGyre, tempDir } from '../lib/server.js';
import { grpc, grpcClient, errorDetail, SERVICE } from '../lib/grpc_api.js';
import { nextEvent, record, sleep, waitFor, SCALE } from '../lib/wait.js';
import { startRedis } from '../lib/redis.js';
import { requireBinaries } from '../lib/daemon.js';
import { OtlpReceiver } from '../lib/otlp_receiver.js';
import { GyreServer } from '../lib/server.js';
import { before } from 'node:test';
import WebSocket from 'ws';

const KEY = 'grpc-e2e-key';
const J = (v) => Buffer.from(JSON.stringify(v));
const channels = {
  without_namespace: { allow_subscribe_for_client: true },
  namespaces: [
    { name: 'news', allow_subscribe_for_client: true, presence: true, history_size: 10, history_ttl: '300s', join_leave: true },
    { name: 'strict', allow_subscribe_for_client: true, publication_data_format: 'json' },
  ],
};

async function grpcServerConfig(extra = {}) {
  return merge({ channel: channels, grpc_api: { enabled: true, port: await freePort(), key: KEY } }, extra);
}

describe('GRPC API', () => {
  const h = useServer(async () => ({ name: 'grpc-api', config: await grpcServerConfig() }));
  let g;
  const gport = () => h.srv.config.grpc_api.port;
  const call = (...a) => {
    g ??= grpcClient(gport(), { key: KEY });
    return g.call(...a);
  };
  after(() => g?.close());

  test('publish: offset and epoch with history, an SDK client receives it (JSON and Protobuf)', async (t) => {
    const cj = await connected('json', h.wsUrl, { token: connToken('gj') }, t);
    const cp = await connected('protobuf', h.wsUrl, { token: connToken('gp') }, t);
    const rj = record(await subscribed(cj, 'news:a'), ['publication']);
    const rp = record(await subscribed(cp, 'news:a'), ['publication']);
    const res = await call('Publish', { channel: 'news:a', data: J({ text: 'hi' }), tags: { k: 'v' } });
    assert.equal(res.error, undefined);
    assert.equal(res.result.offset, 1);
    assert.ok(res.result.epoch);
    await rj.waitCount('publication', 1);
    await rp.waitCount('publication', 1);
    assert.deepEqual(rj.of('publication')[0].data, { text: 'hi' });
    assert.deepEqual(rj.of('publication')[0].tags, { k: 'v' });
    assert.equal(Buffer.from(rp.of('publication')[0].data).toString(), '{"text":"hi"}');
    // Without history: an empty result; b64data wins over data.
    const plain = await call('Publish', { channel: 'plain', data: J(1) });
    assert.equal(plain.error, undefined);
    assert.ok(!plain.result.offset);
    await call('Publish', { channel: 'news:a', data: J({ no: 1 }), b64data: Buffer.from('{"yes":1}').toString('base64') });
    await rj.waitCount('publication', 2);
    assert.deepEqual(rj.of('publication')[1].data, { yes: 1 });
  });

  test('a wrong or missing key gets UNAUTHENTICATED and runs nothing', async () => {
    for (const key of ['wrong', null, `${KEY} `]) {
      const bad = grpcClient(gport(), { key });
      await assert.rejects(bad.call('Publish', { channel: 'news:nokey', data: J(1) }), (e) => e.code === grpc.status.UNAUTHENTICATED && e.details === 'unauthenticated');
      bad.close();
    }
    const hist = await call('History', { channel: 'news:nokey', limit: -1 });
    assert.equal(hist.result.publications, undefined);
  });

  test('errors: in the response by default; as the status with the Error detail in transport mode', async () => {
    const r = await call('Publish', { channel: 'nope:x', data: J(1) });
    assert.deepEqual(r.error, { code: 102, message: 'unknown channel' });
    assert.equal(r.result, undefined);
    const noChannel = await call('Publish', { data: J(1) });
    assert.equal(noChannel.error.code, 107);
    await assert.rejects(call('Publish', { channel: 'nope:x', data: J(1) }, { metadata: { 'x-centrifugo-error-mode': 'transport' } }), (e) => {
      assert.equal(e.code, grpc.status.NOT_FOUND);
      assert.equal(e.details, 'unknown channel');
      assert.deepEqual(errorDetail(e), { statusCode: grpc.status.NOT_FOUND, typeUrl: 'type.googleapis.com/centrifugal.centrifugo.api.Error', code: 102, message: 'unknown channel' });
      return true;
    });
    await assert.rejects(call('Presence', { channel: 'plain' }, { metadata: { 'x-centrifugo-error-mode': 'transport' } }), (e) => e.code === grpc.status.INVALID_ARGUMENT && errorDetail(e).code === 108);
    // Success is unchanged in transport mode.
    const ok = await call('Info', {}, { metadata: { 'x-centrifugo-error-mode': 'transport' } });
    assert.equal(ok.result.nodes.length, 1);
  });

  test('data that is not JSON: carried as bytes; refused (107) where publication_data_format is json; empty data is 107', async (t) => {
    const cp = await connected('protobuf', h.wsUrl, { token: connToken('bin') }, t);
    const rp = record(await subscribed(cp, 'news:bin'), ['publication']);
    const raw = Buffer.from([0x7b, 0x6e, 0x6f, 0x74, 0x20, 0xff, 0x00, 0x01]); // "{not " + binary
    const r = await call('Publish', { channel: 'news:bin', data: raw });
    assert.equal(r.error, undefined);
    await rp.waitCount('publication', 1);
    assert.deepEqual(Buffer.from(rp.of('publication')[0].data), raw);
    const strict = await call('Publish', { channel: 'strict:x', data: Buffer.from('{"a":') });
    assert.deepEqual(strict.error, { code: 107, message: 'bad request' });
    const strictOk = await call('Publish', { channel: 'strict:x', data: J({ a: 1 }) });
    assert.equal(strictOk.error, undefined);
    const empty = await call('Publish', { channel: 'plain' });
    assert.equal(empty.error.code, 107);
    // A bytes field that has no base64 sibling must be JSON: refresh's info.
    const ref = await call('Refresh', { user: 'x', info: Buffer.from('{oops') });
    assert.equal(ref.error.code, 107);
    // History of a publication whose data is not JSON cannot be put in a JSON result.
    const hist = await call('History', { channel: 'news:bin', limit: -1 });
    assert.equal(hist.error.code, 100);
  });

  test('broadcast: one response per channel, errors per item', async (t) => {
    const c = await connected('json', h.wsUrl, { token: connToken('bc') }, t);
    const r1 = record(await subscribed(c, 'news:b1'), ['publication']);
    const r2 = record(await subscribed(c, 'b2'), ['publication']);
    const res = await call('Broadcast', { channels: ['news:b1', 'b2', 'nope:b3'], data: J({ all: true }) });
    assert.equal(res.error, undefined);
    assert.equal(res.result.responses.length, 3);
    assert.equal(res.result.responses[0].result.offset, 1);
    assert.deepEqual(res.result.responses[2].error, { code: 102, message: 'unknown channel' });
    await r1.waitCount('publication', 1);
    await r2.waitCount('publication', 1);
    const none = await call('Broadcast', { data: J(1) });
    assert.equal(none.error.code, 107);
  });

  test('subscribe, unsubscribe, refresh and disconnect act on connected SDK clients', async (t) => {
    const c = await connected('json', h.wsUrl, { token: connToken('ops') }, t);
    const subscribedEv = nextEvent(c, 'subscribed', { pred: (ctx) => ctx.channel === 'news:srv' });
    const sub = await call('Subscribe', { channel: 'news:srv', user: 'ops', data: J({ hello: 1 }) });
    assert.equal(sub.error, undefined);
    assert.deepEqual(sub.result, {});
    const ctx = await subscribedEv;
    assert.deepEqual(ctx.data, { hello: 1 });
    const pubs = record(c, ['publication']);
    await call('Publish', { channel: 'news:srv', data: J({ n: 1 }) });
    await pubs.waitCount('publication', 1);
    const unsubscribedEv = nextEvent(c, 'unsubscribed', { pred: (x) => x.channel === 'news:srv' });
    assert.equal((await call('Unsubscribe', { channel: 'news:srv', user: 'ops' })).error, undefined);
    await unsubscribedEv;
    assert.equal((await call('Unsubscribe', { channel: 'nope:x', user: 'ops' })).error.code, 102);
    assert.equal((await call('Subscribe', { channel: 'nope:x', user: 'ops' })).error.code, 102);
    assert.equal((await call('Refresh', { user: 'ops', expire_at: Math.floor(Date.now() / 1000) + 3600, info: J({ r: 1 }) })).error, undefined);
    const gone = nextEvent(c, 'disconnected');
    assert.equal((await call('Disconnect', { user: 'ops', disconnect: { code: 4500, reason: 'bye' } })).error, undefined);
    const d = await gone;
    assert.equal(d.code, 4500);
    assert.equal(d.reason, 'bye');
  });

  test('presence, presence_stats, history (since, reverse), history_remove, channels, info', async (t) => {
    const c = await connected('json', h.wsUrl, { token: connToken('pr', { info: { n: 1 } }) }, t);
    await subscribed(c, 'news:p');
    for (let i = 0; i < 3; i++) await call('Publish', { channel: 'news:p', data: J({ i }) });
    const pr = await call('Presence', { channel: 'news:p' });
    const entries = Object.values(pr.result.presence);
    assert.equal(entries.length, 1);
    assert.equal(entries[0].user, 'pr');
    assert.deepEqual(JSON.parse(entries[0].conn_info), { n: 1 });
    assert.deepEqual((await call('PresenceStats', { channel: 'news:p' })).result, { num_clients: 1, num_users: 1 });
    assert.equal((await call('Presence', { channel: 'plain' })).error.code, 108);
    const h1 = await call('History', { channel: 'news:p', limit: -1 });
    assert.deepEqual(h1.result.publications.map((p) => JSON.parse(p.data)), [{ i: 0 }, { i: 1 }, { i: 2 }]);
    assert.equal(h1.result.offset, 3);
    const since = await call('History', { channel: 'news:p', limit: 10, since: { offset: 1, epoch: h1.result.epoch } });
    assert.deepEqual(since.result.publications.map((p) => p.offset), [2, 3]);
    const rev = await call('History', { channel: 'news:p', limit: 2, reverse: true });
    assert.deepEqual(rev.result.publications.map((p) => p.offset), [3, 2]);
    assert.equal((await call('History', { channel: 'plain', limit: 1 })).error.code, 108);
    assert.equal((await call('HistoryRemove', { channel: 'news:p' })).error, undefined);
    const h2 = await call('History', { channel: 'news:p', limit: -1 });
    assert.equal(h2.result.publications, undefined);
    assert.equal(h2.result.offset, 3);
    const ch = await call('Channels', { pattern: 'news:*' });
    assert.deepEqual(ch.result.channels['news:p'], { num_clients: 1 });
    assert.equal(ch.result.channels.plain, undefined);
    const info = await call('Info', {});
    assert.equal(info.result.nodes.length, 1);
    assert.ok(info.result.nodes[0].uid);
    assert.ok(info.result.nodes[0].num_clients >= 1);
  });

  test('rpc answers 104 (no server RPC methods); map and shared-poll methods 107', async () => {
    assert.equal((await call('RPC', { method: 'anything', params: J({ a: 1 }) })).error.code, 104);
    assert.equal((await call('RPC', {})).error.code, 107);
    assert.equal((await call('MapPublish', { channel: 'news:m', key: 'k', data: J(1) })).error.code, 107);
    assert.equal((await call('MapRemove', { channel: 'news:m', key: 'k' })).error.code, 107);
    assert.equal((await call('MapReadState', { channel: 'news:m' })).error.code, 107);
    assert.equal((await call('MapReadStream', { channel: 'news:m' })).error.code, 107);
    assert.equal((await call('MapStats', { channel: 'news:m' })).error.code, 107);
    assert.equal((await call('MapClear', { channel: 'news:m' })).error.code, 107);
    assert.equal((await call('SharedPollPublish', { channel: 'news:m', key: 'k', version: 1, data: J(1) })).error.code, 107);
  });

  test('batch: sequential and parallel replies in order, an empty command is 104, transport mode ignored', async (t) => {
    const c = await connected('json', h.wsUrl, { token: connToken('bt') }, t);
    const r = record(await subscribed(c, 'news:batch'), ['publication']);
    for (const parallel of [false, true]) {
      const res = await call('Batch', {
        parallel,
        commands: [
          { publish: { channel: 'news:batch', data: J({ parallel }) } },
          { presence_stats: { channel: 'news:batch' } },
          { publish: { channel: 'nope:x', data: J(1) } },
          {},
          { history: { channel: 'news:batch', limit: 1, reverse: true } },
        ],
      }, { metadata: { 'x-centrifugo-error-mode': 'transport' } });
      assert.equal(res.replies.length, 5);
      assert.ok(res.replies[0].publish.offset >= 1);
      assert.deepEqual(res.replies[1].presence_stats, { num_clients: 1, num_users: 1 });
      assert.deepEqual(res.replies[2].error, { code: 102, message: 'unknown channel' });
      assert.equal(res.replies[3].error.code, 104);
      assert.equal(res.replies[4].history.publications.length, 1);
    }
    await r.waitCount('publication', 2);
    assert.deepEqual((await call('Batch', {})).replies, undefined);
  });

  test('methods the .proto does not declare (Centrifugo PRO) get UNIMPLEMENTED', async () => {
    g ??= grpcClient(gport(), { key: KEY });
    await assert.rejects(g.raw(`/${SERVICE}/Connections`, Buffer.alloc(0)), (e) => e.code === grpc.status.UNIMPLEMENTED);
    await assert.rejects(g.raw(`/${SERVICE}/NoSuchMethod`, Buffer.alloc(0)), (e) => e.code === grpc.status.UNIMPLEMENTED);
  });

  test('garbage instead of a message gets a status, and the server keeps serving', async () => {
    g ??= grpcClient(gport(), { key: KEY });
    await assert.rejects(g.raw(`/${SERVICE}/Publish`, Buffer.from([0xff, 0xff, 0xff])), (e) => e.code !== grpc.status.OK);
    assert.equal((await call('Info', {})).result.nodes.length, 1);
  });

  test('metrics: command durations and errors with protocol="grpc"', async () => {
    await call('Publish', { channel: 'nope:metrics', data: J(1) });
    const m = (await metrics(h.srv)).text;
    assert.ok(metricValue(m, 'centrifugo_api_command_duration_seconds_histogram_count', { protocol: 'grpc', method: 'publish' }) >= 1);
    assert.ok(metricValue(m, 'centrifugo_api_command_errors_total', { protocol: 'grpc', method: 'publish', error: '102' }) >= 1);
    assert.ok(metricValue(m, 'centrifugo_api_command_duration_seconds_count', { protocol: 'grpc', method: 'batch' }) >= 1);
  });
});

describe('GRPC API options', () => {
  const h = useServer(async () => ({
    name: 'grpc-api-options',
    config: await grpcServerConfig({ grpc_api: { key: '', error_mode: 'transport', reflection: true, max_receive_message_size: 2048 } }),
  }));
  let g;
  after(() => g?.close());
  const client = () => (g ??= grpcClient(h.srv.config.grpc_api.port));

  test('no key configured: calls without metadata are served; error_mode transport: errors are statuses', async () => {
    const ok = await client().call('Publish', { channel: 'news:o', data: J(1) });
    assert.equal(ok.result.offset, 1);
    await assert.rejects(client().call('Publish', { channel: 'nope:o', data: J(1) }), (e) => e.code === grpc.status.NOT_FOUND && errorDetail(e).code === 102);
  });

  test('max_receive_message_size: a larger request gets RESOURCE_EXHAUSTED', async () => {
    await assert.rejects(client().call('Publish', { channel: 'news:o', data: J('x'.repeat(4000)) }), (e) => e.code === grpc.status.RESOURCE_EXHAUSTED);
    assert.ok((await client().call('Publish', { channel: 'news:o', data: J('x'.repeat(1000)) })).result.offset >= 1);
  });

  test('reflection lists the service', async () => {
    // ServerReflectionRequest{list_services (7): ""}, encoded by hand.
    const req = Buffer.from([0x3a, 0x00]);
    const stream = client().stub.makeBidiStreamRequest('/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo', (b) => b, (b) => b);
    const got = new Promise((resolve, reject) => {
      stream.on('data', (b) => resolve(Buffer.from(b)));
      stream.on('error', reject);
    });
    stream.write(req);
    const resp = await Promise.race([got, sleep(10000 * SCALE).then(() => Buffer.alloc(0))]);
    stream.end();
    assert.ok(resp.toString('latin1').includes(SERVICE), `reflection answer: ${resp.toString('latin1')}`);
  });
});

describe('GRPC API with TLS', () => {
  const dir = tempDir('gyre-e2e-grpc-tls-');
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
  const h = useServer(async () => ({ name: 'grpc-api-tls', config: await grpcServerConfig({ grpc_api: { tls: { enabled: true, cert_pem: cert, key_pem: key } } }) }));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('a TLS client is served; a plaintext client is not', async () => {
    const tls = grpcClient(h.srv.config.grpc_api.port, { key: KEY, credentials: grpc.credentials.createSsl(fs.readFileSync(cert)), options: { 'grpc.ssl_target_name_override': 'localhost' } });
    try {
      assert.equal((await tls.call('Publish', { channel: 'news:tls', data: J(1) })).result.offset, 1);
    } finally {
      tls.close();
    }
    const plain = grpcClient(h.srv.config.grpc_api.port, { key: KEY });
    try {
      await assert.rejects(plain.call('Info', {}, { timeout: 3000 * SCALE }), (e) => e.code === grpc.status.UNAVAILABLE || e.code === grpc.status.DEADLINE_EXCEEDED);
    } finally {
      plain.close();
    }
  });
});

describe('GRPC API on the Redis engine', () => {
  let redis;
  const h = useServer(async () => {
    redis = await startRedis({ name: 'redis-grpc-api' });
    return { name: 'grpc-api-redis', config: await grpcServerConfig({ engine: { type: 'redis', redis: { address: [redis.url] } } }) };
  });
  after(async () => {
    if (redis) await redis.stop();
  });

  test('100 concurrent publishes on one channel: offsets 1..100 once, an SDK client gets them all', async (t) => {
    const c = await connected('json', h.wsUrl, { token: connToken('rg') }, t);
    const r = record(await subscribed(c, 'news:redis'), ['publication']);
    const g = grpcClient(h.srv.config.grpc_api.port, { key: KEY });
    t.defer(() => g.close());
    const res = await Promise.all([...Array(100).keys()].map((i) => g.call('Publish', { channel: 'news:redis', data: J({ i }) })));
    assert.deepEqual(res.map((x) => x.result.offset).sort((a, b) => a - b), [...Array(100).keys()].map((i) => i + 1));
    await r.waitCount('publication', 100);
    const hist = await g.call('History', { channel: 'news:redis', limit: -1 });
    assert.equal(hist.result.publications.length, 10);
    assert.equal((await g.call('PresenceStats', { channel: 'news:redis' })).result.num_clients, 1);
  });
});

describe('GRPC API configuration', () => {
  test('checkconfig names the key of a bad grpc_api value', () => {
    const dir = tempDir('gyre-e2e-grpc-cfg-');
    const write = (name, cfg) => {
      const f = path.join(dir, name);
      fs.writeFileSync(f, JSON.stringify(cfg));
      return f;
    };
    const size = runGyre(['checkconfig', '-c', write('a.json', { grpc_api: { max_receive_message_size: -1 } })]);
    assert.notEqual(size.code, 0);
    assert.match(size.stdout + size.stderr, /grpc_api\.max_receive_message_size/);
    const mode = runGyre(['checkconfig', '-c', write('b.json', { grpc_api: { error_mode: 'loud' } })]);
    assert.match(mode.stdout + mode.stderr, /grpc_api\.error_mode/);
    const tls = runGyre(['checkconfig', '-c', write('c.json', { grpc_api: { enabled: true, tls: { enabled: true } } })]);
    assert.match(tls.stdout + tls.stderr, /grpc_api\.tls\.cert_pem/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('reload', () => {
    const h = useServer(async () => ({ name: 'grpc-api-reload', config: await grpcServerConfig() }));
    test('a reload that changes grpc_api.port is refused; the GRPC API keeps serving', async () => {
      const countLines = () => h.srv.logText().split('\n').filter((l) => l.includes('config reload:')).length;
      const before = countLines();
      fs.writeFileSync(h.srv.configPath, JSON.stringify(merge(h.srv.config, { grpc_api: { port: h.srv.config.grpc_api.port + 1 } })));
      h.srv.proc.kill('SIGHUP');
      await waitFor(() => countLines() > before, { label: 'the reload log line' });
      assert.match(h.srv.logText(), /keeping the running configuration: these keys cannot change without a restart: grpc_api\.port/);
      const g = grpcClient(h.srv.config.grpc_api.port, { key: KEY });
      try {
        assert.equal((await g.call('Info', {})).result.nodes.length, 1);
      } finally {
        g.close();
      }
    });
  });
});

// GRPC publishers paced by the fan-out, as the HTTP API's (tests/api_pacing.test.js has the
// reasoning): one event loop with an inbox of 16 events, 4,000 plain subscribers of one
// channel, h2load publishing over GRPC from 8 connections, one call in flight each. While
// the inbox is half full calls wait on a 1 ms alarm; nothing is dropped, everyone gets all.
describe('GRPC API publishers are paced by the fan-out', () => {
  const SUBSCRIBERS = 4000;
  const EACH = 400;
  const h = useServer(async () => ({
    name: 'grpc-api-pacing',
    // No server pings during the run: 4,000 subscribers in this process answer them late
    // under a sanitizer build (3012), which is not what this test is about.
    config: await grpcServerConfig({ grpc_api: { key: '' }, gyre: { num_event_loops: 1, event_loop_inbox_size: 16 }, client: { ping_interval: '300s', pong_timeout: '60s' } }),
  }));

  function counter(url, token, channel) {
    return new Promise((resolve, reject) => {
      const c = { count: 0, closed: null, ws: new WebSocket(url) };
      const timer = setTimeout(() => reject(new Error('subscriber setup timed out')), 10000 * SCALE);
      c.ws.on('error', reject);
      c.ws.on('close', (code) => {
        c.closed = code;
      });
      c.ws.on('open', () => c.ws.send(`{"id":1,"connect":{"token":"${token}"}}\n{"id":2,"subscribe":{"channel":"${channel}"}}`));
      c.ws.on('message', (data) => {
        const text = data.toString();
        if (text === '{}') return c.ws.send('{}');
        if (text.includes('"id":2')) {
          clearTimeout(timer);
          resolve(c);
        }
        for (let at = text.indexOf('"pub"'); at !== -1; at = text.indexOf('"pub"', at + 1)) c.count++;
      });
    });
  }

  test('closed-loop GRPC publishers outrunning the loop lose nothing, the inbox drops nothing', { timeout: 120000 * SCALE }, async (t) => {
    requireBinaries('h2load');
    const subs = [];
    t.defer(() => subs.forEach((s) => s.ws.terminate()));
    for (let i = 0; i < SUBSCRIBERS; i += 200) {
      subs.push(...(await Promise.all(Array.from({ length: Math.min(200, SUBSCRIBERS - i) }, (_, k) => counter(h.wsUrl, connToken(`gs${i + k}`), 'gpaced')))));
    }
    // The GRPC frame of PublishRequest{channel: "gpaced", data: {"x":1}}.
    const msg = Buffer.concat([Buffer.from([0x0a, 6]), Buffer.from('gpaced'), Buffer.from([0x12, 7]), Buffer.from('{"x":1}')]);
    const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, msg.length]), msg]);
    const body = path.join(tempDir('gyre-e2e-grpc-pacing-'), 'publish.grpc');
    fs.writeFileSync(body, frame);
    const out = await new Promise((resolve, reject) => {
      execFile('h2load', ['-n', String(EACH), '-c', '8', '-m', '1', '-d', body, '-H', 'content-type: application/grpc', '-H', 'te: trailers',
        `http://127.0.0.1:${h.srv.config.grpc_api.port}/${SERVICE}/Publish`], { timeout: 60000 * SCALE }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
    });
    assert.match(out, new RegExp(`${EACH} succeeded, 0 failed`), out);
    await waitFor(() => subs.every((s) => s.count >= EACH || s.closed !== null), { timeout: 20000 * SCALE, label: 'every publication at every subscriber' }).catch(() => {});
    const text = (await metrics(h.srv)).text;
    const counts = subs.map((s) => s.count);
    t.diagnostic(`postponed ${metricValue(text, 'gyre_http_api_reads_postponed_total')} times; delivered ${Math.min(...counts)}..${Math.max(...counts)} of ${EACH}`);
    assert.equal(metricValue(text, 'gyre_event_loop_inbox_dropped_total'), 0, 'the inbox dropped events');
    assert.equal(metricValue(text, 'centrifugo_api_command_errors_total', { protocol: 'grpc' }) ?? 0, 0);
    assert.deepEqual(subs.filter((s) => s.closed !== null).map((s) => s.closed), [], 'subscribers closed');
    assert.equal(counts.filter((c) => c !== EACH).length, 0, 'subscribers that missed publications');
  });
});

// opentelemetry.api: a span per GRPC call, a child of the call's traceparent metadata, with
// the method, the channel and the error; a batch's commands get child spans.
describe('GRPC API tracing', () => {
  const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
  const PARENT = '00f067aa0ba902b7';
  const rx = new OtlpReceiver();
  let srv;
  before(async () => {
    await rx.start();
    const config = merge(await grpcServerConfig(), { opentelemetry: { enabled: true, api: true } });
    srv = await new GyreServer({ name: 'grpc-api-tracing', config, env: { OTEL_EXPORTER_OTLP_ENDPOINT: rx.endpoint, OTEL_BSP_SCHEDULE_DELAY: '50' } }).start();
  });
  after(async () => {
    if (srv) await srv.stop();
    await rx.stop();
  });

  test('calls are spans joining the caller\'s trace; errors and batch commands are recorded', async (t) => {
    const g = grpcClient(srv.config.grpc_api.port, { key: KEY });
    t.defer(() => g.close());
    await g.call('Publish', { channel: 'news:t', data: J(1) }, { metadata: { traceparent: `00-${TRACE}-${PARENT}-01` } });
    const s = await rx.waitSpan((x) => x.name === `${SERVICE}/Publish` && x.traceId === TRACE, 'GRPC publish span');
    assert.equal(s.parentSpanId, PARENT);
    assert.equal(s.kind, 2); // server
    assert.equal(s.attributes['centrifugo.method'], 'publish');
    assert.equal(s.attributes['centrifugo.channel'], 'news:t');
    await g.call('Publish', { channel: 'nope:t', data: J(1) });
    const e = await rx.waitSpan((x) => x.name === `${SERVICE}/Publish` && x.attributes['centrifugo.channel'] === 'nope:t', 'GRPC error span');
    assert.equal(e.attributes['centrifugo.error.code'], 102);
    await g.call('Batch', { commands: [{ presence_stats: { channel: 'news:t' } }] });
    const b = await rx.waitSpan((x) => x.name === `${SERVICE}/Batch`, 'GRPC batch span');
    await rx.waitSpan((x) => x.name === 'presence_stats' && x.traceId === b.traceId && x.parentSpanId === b.spanId, 'batch command span');
  });
});
