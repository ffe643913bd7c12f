// The HTTP server API through cent.js (the real npm client) and raw HTTP: every OSS method
// cent.js exposes, batch, the legacy pipeline endpoint, API key checks, the error envelope,
// transport error mode and malformed bodies. Effects are observed with SDK clients. Also the
// bounds of docs/design/server-api.md: too many commands (106, nothing runs; 413 on the
// legacy endpoint) and replies within gyre.http_api.max_response_size (reads beyond it
// get 106, writes are always reported). Keep-alive publishers on the memory and Redis
// engines (on Redis each requests thread publishes on its own connection).
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, describe, test, useServer } from '../lib/test.js';
import { connToken } from '../lib/tokens.js';
import { connected, subscribed } from '../lib/sdk.js';
import { api, apiRaw, cent } from '../lib/api.js';
import { nextEvent, record, sleep, waitFor } from '../lib/wait.js';
import { startRedis } from '../lib/redis.js';

const config = {
  channel: {
    without_namespace: { allow_subscribe_for_client: true },
    namespaces: [
      { name: 'news', allow_subscribe_for_client: true, presence: true, history_size: 10, history_ttl: '300s', join_leave: true, force_push_join_leave: true },
      { name: 'plain', allow_subscribe_for_client: true },
    ],
  },
};

describe('server API', () => {
  const h = useServer({ name: 'server-api', config });

  test('publish: result has offset/epoch with history, {} without; subscribers receive data and tags', async (t) => {
    const c = await connected('json', h.wsUrl, { token: connToken('p1') }, t);
    const s = await subscribed(c, 'news:pub');
    const r = record(s, ['publication']);
    const res = await cent(h.srv).publish({ channel: 'news:pub', data: { text: 'hi' }, tags: { k: 'v' } });
    assert.equal(res.offset, 1);
    assert.ok(res.epoch);
    const res2 = await cent(h.srv).publish({ channel: 'plain:pub', data: { text: 'hi' } });
    assert.deepEqual(res2, {});
    await r.waitCount('publication', 1);
    assert.deepEqual(r.of('publication')[0].data, { text: 'hi' });
    assert.deepEqual(r.of('publication')[0].tags, { k: 'v' });
    // b64data overrides data.
    await cent(h.srv).publish({ channel: 'news:pub', data: { no: 1 }, b64data: Buffer.from('{"yes":1}').toString('base64') });
    await r.waitCount('publication', 2);
    assert.deepEqual(r.of('publication')[1].data, { yes: 1 });
    // idempotency_key: the duplicate is not delivered again and returns the same position.
    const i1 = await api(h.srv, 'publish', { channel: 'news:pub', data: { n: 'once' }, idempotency_key: 'k1' });
    const i2 = await api(h.srv, 'publish', { channel: 'news:pub', data: { n: 'once' }, idempotency_key: 'k1' });
    assert.equal(i1.offset, i2.offset);
    await r.waitCount('publication', 3);
    await sleep(200);
    assert.equal(r.of('publication').length, 3);
    // skip_history: delivered, not stored.
    await api(h.srv, 'publish', { channel: 'news:pub', data: { n: 'skip' }, skip_history: true });
    await r.waitCount('publication', 4);
    const hist = await api(h.srv, 'history', { channel: 'news:pub', limit: -1 });
    assert.ok(!hist.publications.some((p) => p.data?.n === 'skip'));
  });

  test('broadcast: one response per channel, per-item errors', async (t) => {
    const c = await connected('json', h.wsUrl, { token: connToken('b1') }, t);
    const s1 = await subscribed(c, 'news:b1');
    const s2 = await subscribed(c, 'plain:b2');
    const r1 = record(s1, ['publication']);
    const r2 = record(s2, ['publication']);
    const res = await cent(h.srv).broadcast({ channels: ['news:b1', 'plain:b2', 'unknown:x'], data: { all: true } });
    assert.equal(res.responses.length, 3);
    assert.equal(res.responses[0].result.offset, 1);
    assert.deepEqual(res.responses[1].result ?? {}, {});
    assert.equal(res.responses[2].error.code, 102);
    await r1.waitCount('publication', 1);
    await r2.waitCount('publication', 1);
    const empty = await apiRaw(h.srv, 'broadcast', { channels: [], data: {} });
    assert.equal(empty.json.error.code, 107);
  });

  test('subscribe / unsubscribe: server-side subscription of a live connection, unsubscribe push 2000', async (t) => {
    const c = await connected('json', h.wsUrl, { token: connToken('ss1') }, t);
    const rc = record(c, ['subscribed', 'unsubscribed', 'publication']);
    await cent(h.srv).subscribe({ user: 'ss1', channel: 'news:ss', data: { welcome: 1 } });
    await rc.waitCount('subscribed', 1);
    assert.equal(rc.of('subscribed')[0].channel, 'news:ss');
    assert.deepEqual(rc.of('subscribed')[0].data, { welcome: 1 });
    await cent(h.srv).publish({ channel: 'news:ss', data: { x: 1 } });
    await rc.waitCount('publication', 1);
    assert.equal(rc.of('publication')[0].channel, 'news:ss');
    // Client-side subscription removed by the API: unsubscribe push with code 2000.
    const s = await subscribed(c, 'plain:u');
    const un = nextEvent(s, 'unsubscribed');
    await cent(h.srv).unsubscribe({ user: 'ss1', channel: 'plain:u' });
    const ctx = await un;
    assert.equal(ctx.code, 2000);
    assert.equal(s.state, 'unsubscribed');
    await cent(h.srv).unsubscribe({ user: 'ss1', channel: 'news:ss' });
    await rc.waitCount('unsubscribed', 1);
    assert.equal(rc.of('unsubscribed')[0].channel, 'news:ss');
    const unk = await apiRaw(h.srv, 'unsubscribe', { user: 'ss1', channel: 'unknown:x' });
    assert.equal(unk.json.error.code, 102);
  });

  test('disconnect: default 3503 (no reconnect); custom code; whitelist', async (t) => {
    const a = await connected('json', h.wsUrl, { token: connToken('d1') }, t);
    const b = await connected('json', h.wsUrl, { token: connToken('d1') }, t);
    const da = nextEvent(a, 'disconnected');
    await cent(h.srv).disconnect({ user: 'd1', whitelist: [b.connectCtx.client] });
    const ctx = await da;
    assert.equal(ctx.code, 3503);
    assert.equal(a.state, 'disconnected');
    await sleep(200);
    assert.equal(b.state, 'connected', 'whitelisted client stays');
    const cb = nextEvent(b, 'connecting');
    await cent(h.srv).disconnect({ user: 'd1', client: b.connectCtx.client, disconnect: { code: 4100, reason: 'custom' } });
    const ctx2 = await cb;
    assert.equal(ctx2.code, 4100);
    assert.equal(ctx2.reason, 'custom');
    await nextEvent(b, 'connected'); // reconnects (4000-4499)
  });

  test('refresh: expired → 3005 and reconnect; expire_at sets the expiry', async (t) => {
    const c = await connected('json', h.wsUrl, { token: connToken('rf1', { ttl: null }) }, t);
    const conn = nextEvent(c, 'connecting');
    await cent(h.srv).refresh({ user: 'rf1', expired: true });
    assert.equal((await conn).code, 3005);
    await nextEvent(c, 'connected');
  });

  test('presence, presence_stats, history, history_remove, channels, info', async (t) => {
    const a = await connected('json', h.wsUrl, { token: connToken('q1', { info: { n: 1 } }) }, t);
    const b = await connected('json', h.wsUrl, { token: connToken('q2') }, t);
    await subscribed(a, 'news:q');
    await subscribed(b, 'news:q');
    const pres = await cent(h.srv).getPresence({ channel: 'news:q' });
    assert.equal(Object.keys(pres.presence).length, 2);
    assert.deepEqual(pres.presence[a.connectCtx.client], { user: 'q1', client: a.connectCtx.client, conn_info: { n: 1 } });
    const st = await cent(h.srv).getPresenceStats({ channel: 'news:q' });
    assert.deepEqual(st, { num_clients: 2, num_users: 2 });
    for (let i = 1; i <= 4; i++) await cent(h.srv).publish({ channel: 'news:q', data: { i } });
    const hi = await cent(h.srv).getHistory({ channel: 'news:q', limit: 2, reverse: true });
    assert.deepEqual(hi.publications.map((p) => p.data.i), [4, 3]);
    assert.equal(hi.offset, 4);
    const hs = await cent(h.srv).getHistory({ channel: 'news:q', limit: 10, since: { offset: 2, epoch: hi.epoch } });
    assert.deepEqual(hs.publications.map((p) => p.offset), [3, 4]);
    const h0 = await cent(h.srv).getHistory({ channel: 'news:q' });
    assert.deepEqual(h0.publications, []);
    assert.equal(h0.offset, 4);
    const bad = await apiRaw(h.srv, 'history', { channel: 'news:q', limit: 1, since: { offset: 1, epoch: 'nope' } });
    assert.equal(bad.json.error.code, 112);
    await cent(h.srv).removeHistory({ channel: 'news:q' });
    const hr = await cent(h.srv).getHistory({ channel: 'news:q', limit: 10 });
    assert.deepEqual(hr.publications, []);
    assert.equal(hr.offset, 4, 'top offset kept');
    assert.equal(hr.epoch, hi.epoch, 'epoch kept');
    const ch = await cent(h.srv).getChannels({ pattern: 'news:*' });
    assert.equal(ch.channels['news:q'].num_clients, 2);
    const info = await cent(h.srv).getInfo();
    assert.equal(info.nodes.length, 1);
    const node = info.nodes[0];
    for (const k of ['uid', 'name', 'version', 'num_clients', 'num_users', 'num_subs', 'num_channels']) assert.ok(k in node, k);
    assert.ok(node.num_clients >= 2);
    // 108 for presence/history where the namespace has none.
    assert.equal((await apiRaw(h.srv, 'presence', { channel: 'plain:x' })).json.error.code, 108);
    assert.equal((await apiRaw(h.srv, 'presence_stats', { channel: 'plain:x' })).json.error.code, 108);
    assert.equal((await apiRaw(h.srv, 'history', { channel: 'plain:x' })).json.error.code, 108);
    assert.equal((await apiRaw(h.srv, 'history_remove', { channel: 'plain:x' })).json.error.code, 108);
  });

  test('rpc: no server-API RPC extensions → 104; missing method → 107', async () => {
    assert.equal((await apiRaw(h.srv, 'rpc', { method: 'x', params: {} })).json.error.code, 104);
    assert.equal((await apiRaw(h.srv, 'rpc', { params: {} })).json.error.code, 107);
  });

  test('batch: replies in order, unknown command 104, parallel', async () => {
    for (const parallel of [false, true]) {
      const r = await apiRaw(h.srv, 'batch', {
        parallel,
        commands: [
          { publish: { channel: 'news:batch', data: { a: 1 } } },
          { presence_stats: { channel: 'plain:batch' } },
          { history: { channel: 'news:batch', limit: 1, reverse: true } },
          { nosuch: {} },
          { info: {} },
        ],
      });
      assert.equal(r.status, 200);
      const rep = r.json.replies;
      assert.equal(rep.length, 5);
      assert.ok(rep[0].publish.offset >= 1);
      assert.equal(rep[1].error.code, 108);
      if (!parallel) assert.deepEqual(rep[2].history.publications.map((p) => p.data), [{ a: 1 }]);
      assert.equal(rep[3].error.code, 104);
      assert.equal(rep[4].info.nodes.length, 1);
    }
    const empty = await apiRaw(h.srv, 'batch', { commands: [] });
    assert.deepEqual(empty.json, {});
  });

  test('legacy pipeline (cent.js) → POST /api with newline-delimited commands', async (t) => {
    const c = await connected('json', h.wsUrl, { token: connToken('pl') }, t);
    const s = await subscribed(c, 'news:pipe');
    const r = record(s, ['publication']);
    const res = await cent(h.srv).pipeline([
      { method: 'publish', params: { channel: 'news:pipe', data: { n: 1 } } },
      { method: 'publish', params: { channel: 'news:pipe', data: { n: 2 } } },
      { method: 'presence_stats', params: { channel: 'news:pipe' } },
    ]);
    assert.equal(res.length, 3);
    assert.equal(res[0].offset, 1);
    assert.equal(res[1].offset, 2);
    assert.deepEqual(res[2], { num_clients: 1, num_users: 1 });
    await r.waitCount('publication', 2);
    // Raw: ids echoed, errors per line, unknown method string → 400.
    const raw = await apiRaw(h.srv, '', '{"id":7,"method":"presence","params":{"channel":"plain:x"}}\n{"id":8,"method":"info","params":{}}');
    const lines = raw.text.split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines[0], { id: 7, error: { code: 108, message: 'not available' } });
    assert.equal(lines[1].id, 8);
    assert.equal(lines[1].result.nodes.length, 1);
    const unk = await apiRaw(h.srv, '', '{"method":"whatever","params":{}}');
    assert.equal(unk.status, 400);
  });

  test('API key: X-API-Key, Authorization: apikey, 401 without or with a wrong key', async () => {
    assert.equal((await apiRaw(h.srv, 'info', {}, { key: null })).status, 401);
    assert.equal((await apiRaw(h.srv, 'info', {}, { key: 'wrong' })).status, 401);
    const ok = await apiRaw(h.srv, 'info', {}, { key: null, headers: { Authorization: `apikey ${h.srv.apiKey}` } });
    assert.equal(ok.status, 200);
    assert.ok(ok.json.result.nodes);
    const ok2 = await apiRaw(h.srv, 'info', {}, { key: null, headers: { Authorization: `APIKEY ${h.srv.apiKey}` } });
    assert.equal(ok2.status, 200);
    assert.equal((await apiRaw(h.srv, 'info', {}, { key: null, headers: { Authorization: 'apikey wrong' } })).status, 401);
    assert.equal((await apiRaw(h.srv, 'info', {}, { key: null, headers: { Authorization: `Bearer ${h.srv.apiKey}` } })).status, 401);
    // Other verbs → 405.
    assert.equal((await apiRaw(h.srv, 'info', {}, { httpMethod: 'GET' })).status, 405);
  });

  test('error envelope and codes; transport error mode', async () => {
    const e = await apiRaw(h.srv, 'publish', { channel: 'unknown:x', data: {} });
    assert.equal(e.status, 200);
    assert.deepEqual(e.json, { error: { code: 102, message: 'unknown channel' } });
    const e2 = await apiRaw(h.srv, 'publish', { data: {} });
    assert.equal(e2.json.error.code, 107);
    const tm = { headers: { 'X-Centrifugo-Error-Mode': 'transport' } };
    const t1 = await apiRaw(h.srv, 'publish', { channel: 'unknown:x', data: {} }, tm);
    assert.equal(t1.status, 404);
    assert.deepEqual(t1.json, { code: 102, message: 'unknown channel' });
    const t2 = await apiRaw(h.srv, 'publish', { data: {} }, tm);
    assert.equal(t2.status, 400);
    assert.equal(t2.json.code, 107);
    const t3 = await apiRaw(h.srv, 'presence', { channel: 'plain:x' }, tm);
    assert.equal(t3.status, 400);
    assert.equal(t3.json.code, 108);
    const t4 = await apiRaw(h.srv, 'history', { channel: 'news:x', limit: 1, since: { offset: 1, epoch: 'bad' } }, tm);
    assert.equal(t4.status, 416);
    const ok = await apiRaw(h.srv, 'publish', { channel: 'plain:x', data: {} }, tm);
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.json, { result: {} });
    // batch ignores transport mode.
    const b = await apiRaw(h.srv, 'batch', { commands: [{ publish: { channel: 'unknown:x', data: {} } }] }, tm);
    assert.equal(b.status, 200);
    assert.equal(b.json.replies[0].error.code, 102);
  });

  test('malformed bodies → HTTP 400 with a message', async () => {
    for (const body of ['{not json', '', '[1,2]', '{"channel": 5}']) {
      const r = await apiRaw(h.srv, 'publish', body);
      assert.equal(r.status, 400, `body ${JSON.stringify(body)} → ${r.status} ${r.text}`);
      assert.ok(r.text.trim().length > 0, 'a message in the body');
    }
    const r = await apiRaw(h.srv, 'batch', '{"commands": 1}');
    assert.equal(r.status, 400);
    const info = await apiRaw(h.srv, 'info', '');
    assert.equal(info.status, 400, 'info needs {}');
    const unknown = await apiRaw(h.srv, 'nosuchmethod', {});
    assert.equal(unknown.status, 404);
  });
});

// POSTs `body` on a keep-alive agent; resolves with {status, json}.
function keepAlivePost(srv, agent, method, body) {
  const data = JSON.stringify(body);
  const url = new URL(`${srv.apiUrl}/${method}`);
  return new Promise((resolve, reject) => {
    const req = http.request({
      agent, host: url.hostname, port: url.port, path: url.pathname, method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-API-Key': srv.apiKey, 'Content-Length': Buffer.byteLength(data) },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, json: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

describe('server API on keep-alive connections', () => {
  const h = useServer({ name: 'server-api-keepalive', config });

  // After its first response a keep-alive connection is served by one of the requests
  // threads (one per event loop, docs/design/api-threading.md): publishes from many
  // connections at once run on several threads and still share one channel's offsets.
  test('8 connections × 25 publishes: every offset 1..200 once, the subscriber gets them in order', async (t) => {
    const c = await connected('json', h.wsUrl, { token: connToken('ka1') }, t);
    const s = await subscribed(c, 'news:keepalive');
    const r = record(s, ['publication']);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    t.after(() => agent.destroy());
    const offsets = [];
    await Promise.all([...Array(8).keys()].map(async (conn) => {
      for (let i = 0; i < 25; i++) {
        const res = await keepAlivePost(h.srv, agent, 'publish', { channel: 'news:keepalive', data: { conn, i } });
        assert.equal(res.status, 200);
        offsets.push(res.json.result.offset);
      }
    }));
    assert.deepEqual([...offsets].sort((a, b) => a - b), [...Array(200).keys()].map((i) => i + 1));
    await r.waitCount('publication', 200);
    const got = r.of('publication').map((p) => p.offset);
    assert.deepEqual(got, [...Array(200).keys()].map((i) => i + 1));
    // Per connection, the publications arrive in the order that connection sent them.
    for (let conn = 0; conn < 8; conn++) {
      const mine = r.of('publication').filter((p) => p.data.conn === conn).map((p) => p.data.i);
      assert.deepEqual(mine, [...Array(25).keys()]);
    }
  });
});

// On the Redis engine a requests thread publishes on its own Redis connection
// (docs/design/api-threading.md §5): publishes from keep-alive connections on both requests
// threads still share one channel's offsets, each connection's publications are stored in
// the order it sent them, and a bad request on such a connection fails alone.
describe('server API on keep-alive connections, Redis engine', () => {
  let redis;
  const h = useServer(async () => {
    redis = await startRedis({ name: 'redis-server-api' });
    return {
      name: 'server-api-keepalive-redis',
      config: {
        engine: { type: 'redis', redis: { address: [redis.url] } },
        channel: {
          without_namespace: { allow_subscribe_for_client: true },
          namespaces: [{ name: 'rk', allow_subscribe_for_client: true, history_size: 1000, history_ttl: '300s' }],
        },
      },
    };
  });
  after(async () => {
    if (redis) await redis.stop();
  });

  test('8 connections × 25 publishes: offsets 1..200 once, stored in each connection\'s order', async (t) => {
    const c = await connected('json', h.wsUrl, { token: connToken('rk1') }, t);
    const s = await subscribed(c, 'rk:ka');
    const r = record(s, ['publication']);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    t.after(() => agent.destroy());
    const offsets = [];
    await Promise.all([...Array(8).keys()].map(async (conn) => {
      for (let i = 0; i < 25; i++) {
        const res = await keepAlivePost(h.srv, agent, 'publish', { channel: 'rk:ka', data: { conn, i } });
        assert.equal(res.status, 200);
        assert.equal(res.json.error, undefined);
        offsets.push(res.json.result.offset);
      }
      // Bad input on the same connection: an error for it alone, the connection goes on.
      const bad = await keepAlivePost(h.srv, agent, 'publish', { channel: '', data: { conn } });
      assert.equal(bad.status, 200);
      assert.ok(bad.json.error, JSON.stringify(bad.json));
    }));
    assert.deepEqual([...offsets].sort((a, b) => a - b), [...Array(200).keys()].map((i) => i + 1));
    const hist = await api(h.srv, 'history', { channel: 'rk:ka', limit: -1 });
    assert.equal(hist.publications.length, 200);
    assert.deepEqual(hist.publications.map((p) => p.offset), [...Array(200).keys()].map((i) => i + 1));
    for (let conn = 0; conn < 8; conn++) {
      const mine = hist.publications.filter((p) => p.data.conn === conn).map((p) => p.data.i);
      assert.deepEqual(mine, [...Array(25).keys()]);
    }
    await r.waitCount('publication', 200);
    assert.deepEqual(r.of('publication').map((p) => p.offset), [...Array(200).keys()].map((i) => i + 1));
  });
});

// Concurrent publishes are sent to Redis in runs (docs/design/api-threading.md §5.2: one
// trimming XADD per channel and call): what Redis holds is Centrifugo's layout, the stream
// trimmed to history_size exactly; a publish with an idempotency key among them keeps its
// place, and a bad one fails alone.
describe('server API on keep-alive connections, Redis engine, a short history', () => {
  let redis;
  const h = useServer(async () => {
    redis = await startRedis({ name: 'redis-server-api-runs' });
    return {
      name: 'server-api-keepalive-redis-runs',
      config: {
        engine: { type: 'redis', redis: { address: [redis.url] } },
        channel: { namespaces: [{ name: 'rs', history_size: 5, history_ttl: '300s' }] },
      },
    };
  });
  after(async () => {
    if (redis) await redis.stop();
  });

  test('8 connections × 20 publishes to a channel keeping 5: offsets 1..160, the stream holds the last 5', async (t) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    t.after(() => agent.destroy());
    const offsets = [];
    let idempotent;
    await Promise.all([...Array(8).keys()].map(async (conn) => {
      for (let i = 0; i < 20; i++) {
        const body = { channel: 'rs:trim', data: { conn, i } };
        if (conn === 3 && i === 10) body.idempotency_key = 'once';
        const res = await keepAlivePost(h.srv, agent, 'publish', body);
        assert.equal(res.status, 200);
        assert.equal(res.json.error, undefined, JSON.stringify(res.json));
        offsets.push(res.json.result.offset);
        if (body.idempotency_key) idempotent = res.json.result.offset;
        if (i === 5) {
          // Bad input among the others: its own error, nothing stored.
          const bad = await keepAlivePost(h.srv, agent, 'publish', { channel: '', data: { conn } });
          assert.equal(bad.status, 200);
          assert.ok(bad.json.error, JSON.stringify(bad.json));
        }
      }
    }));
    assert.deepEqual([...offsets].sort((a, b) => a - b), [...Array(160).keys()].map((i) => i + 1));
    // The same idempotency key again: the first result, nothing new stored.
    const again = await keepAlivePost(h.srv, agent, 'publish', { channel: 'rs:trim', data: { x: 1 }, idempotency_key: 'once' });
    assert.equal(again.json.result.offset, idempotent);
    const hist = await api(h.srv, 'history', { channel: 'rs:trim', limit: -1 });
    assert.deepEqual(hist.publications.map((p) => p.offset), [156, 157, 158, 159, 160]);
    // Centrifugo's keys: the stream keeps exactly 5 entries with ids <offset>-0, the meta
    // hash the top and the epoch the API answered.
    assert.equal(await redis.command('XLEN', 'centrifugo.stream.rs:trim'), 5);
    const entries = await redis.command('XRANGE', 'centrifugo.stream.rs:trim', '-', '+');
    assert.deepEqual(entries.map((e) => e[0]), ['156-0', '157-0', '158-0', '159-0', '160-0']);
    assert.equal(await redis.command('HGET', 'centrifugo.stream.meta.rs:trim', 's'), '160');
    assert.equal(await redis.command('HGET', 'centrifugo.stream.meta.rs:trim', 'e'), hist.epoch);
    const ttl = await redis.command('TTL', 'centrifugo.stream.rs:trim');
    assert.ok(ttl > 250 && ttl <= 300, `stream TTL ${ttl}`);
  });
});

describe('server API bounds', () => {
  const h = useServer({
    name: 'server-api-bounds',
    config: {
      ...config,
      gyre: { http_api: { max_response_size: 100000, max_batch_commands: 5000 } },
    },
  });

  test('a batch of 100,000 history commands is refused with 106 before anything runs; /health stays up', async () => {
    await api(h.srv, 'publish', { channel: 'news:big', data: { n: 0 } });
    const commands = Array.from({ length: 100000 }, () => ({ history: { channel: 'news:big', limit: 10 } }));
    commands.push({ publish: { channel: 'news:big', data: { n: 1 } } });
    const r = await apiRaw(h.srv, 'batch', { commands });
    assert.equal(r.status, 200);
    assert.equal(r.json.error?.code, 106, r.text.slice(0, 300));
    assert.match(r.json.error.message, /100001 commands.*max_batch_commands/);
    assert.equal((await api(h.srv, 'history', { channel: 'news:big', limit: -1 })).publications.length, 1, 'nothing ran');
    const health = await fetch(`${h.srv.url}/health`);
    assert.equal(health.status, 200);
    await waitFor(() => /refused with 106: limit exceeded: a batch of 100001 commands/.test(h.srv.logText()), { label: 'log line' });
  });

  test('a broadcast to more channels than max_batch_commands publishes nothing', async () => {
    const channels = Array.from({ length: 5001 }, (_, i) => `news:b${i}`);
    const r = await apiRaw(h.srv, 'broadcast', { channels, data: {} });
    assert.equal(r.json.error?.code, 106, r.text.slice(0, 300));
    assert.equal((await api(h.srv, 'history', { channel: 'news:b0', limit: -1 })).publications.length, 0);
  });

  test('batch replies stay within max_response_size: reads beyond it get 106, every publish is reported', async () => {
    for (let i = 0; i < 10; i++) await api(h.srv, 'publish', { channel: 'news:fill', data: { pad: 'x'.repeat(1000) } });
    for (const parallel of [false, true]) {
      const commands = [];
      for (let i = 0; i < 300; i++) {
        commands.push(i % 30 === 15 ? { publish: { channel: 'news:w', data: { i } } } : { history: { channel: 'news:fill', limit: 10 } });
      }
      const before = (await api(h.srv, 'history', { channel: 'news:w', limit: 0 })).offset ?? 0;
      const r = await apiRaw(h.srv, 'batch', { commands, parallel });
      assert.equal(r.status, 200);
      assert.ok(r.text.length < 100000 + 300 * 150, `reply of ${r.text.length} bytes`);
      const replies = r.json.replies;
      assert.equal(replies.length, 300);
      const reads = replies.filter((x) => x.history).length;
      const refused = replies.filter((x) => x.error?.code === 106).length;
      const published = replies.filter((x) => x.publish).length;
      assert.equal(published, 10, 'every publish is reported');
      assert.ok(reads > 0 && reads < 290, `reads ${reads}`);
      assert.equal(reads + refused, 290);
      assert.match(replies.find((x) => x.error)?.error.message, /max_response_size/);
      const after = (await api(h.srv, 'history', { channel: 'news:w', limit: 0 })).offset;
      assert.equal(after - before, 10);
    }
  });

  test('one history reply over max_response_size → 106 (HTTP 500 in transport error mode)', async () => {
    for (let i = 0; i < 10; i++) await api(h.srv, 'publish', { channel: 'news:huge', data: { pad: 'y'.repeat(15000) } });
    const r = await apiRaw(h.srv, 'history', { channel: 'news:huge', limit: 10 });
    assert.equal(r.status, 200);
    assert.equal(r.json.error?.code, 106, r.text.slice(0, 200));
    const t = await apiRaw(h.srv, 'history', { channel: 'news:huge', limit: 10 }, { headers: { 'X-Centrifugo-Error-Mode': 'transport' } });
    assert.equal(t.status, 500);
    assert.equal(t.json.code, 106);
    const small = await apiRaw(h.srv, 'history', { channel: 'news:huge', limit: 2 });
    assert.equal(small.json.result.publications.length, 2);
  });

  test('the legacy endpoint: more commands than max_batch_commands → 413', async () => {
    const line = JSON.stringify({ method: 'info', params: {} });
    const r = await apiRaw(h.srv, '', Array.from({ length: 5001 }, () => line).join('\n'));
    assert.equal(r.status, 413);
    assert.match(r.text, /max_batch_commands/);
    const ok = await apiRaw(h.srv, '', Array.from({ length: 3 }, () => line).join('\n'));
    assert.equal(ok.status, 200);
  });
});
