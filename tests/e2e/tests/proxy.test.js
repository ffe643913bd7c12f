// Backend proxies over HTTP (docs/proxy.md) with the real SDKs against a Node backend on
// 127.0.0.1: connect, refresh, subscribe, publish, sub_refresh and rpc proxies, each
// allowed and refused; data rewritten; error and disconnect objects mapped; a backend that
// is down, slow past the timeout or answers garbage; forwarded headers; the proxy metrics.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { describe, test, useServer, FORMATS } from '../lib/test.js';
import { connected, dec, enc, newClient, settle, subscribed, subscribeError, WebSocket } from '../lib/sdk.js';
import { Backend } from '../lib/backend.js';
import { metrics, metricValue } from '../lib/api.js';
import { nextEvent, waitFor, SCALE } from '../lib/wait.js';

const nowS = () => Math.floor(Date.now() / 1000);

// The backend's answers, chosen by the request's data (`do`) or the channel / method.
function connectAnswer(body) {
  const d = body.data || (body.b64data ? JSON.parse(Buffer.from(body.b64data, 'base64')) : {});
  switch (d.do) {
    case 'error':
      return { body: { error: { code: 1000, message: 'not welcome', temporary: false } } };
    case 'disconnect':
      return { body: { disconnect: { code: 4501, reason: 'go away' } } };
    case 'garbage':
      return { body: 'this is not json' };
    case 'status':
      return { status: 500, body: 'oops' };
    case 'slow':
      return { delay: 2500 * SCALE, body: { result: { user: 'late' } } };
    case 'teapot':
      return { status: 418, body: 'teapot' };
    case 'subs':
      return { body: { result: { user: 'with-subs', channels: ['px:srv-a'], subs: { 'px:Srv-B': { data: { s: 'b' } } } } } };
    case 'nothing':
      return { body: {} };
    case 'expiring':
      return { body: { result: { user: d.user, expire_at: nowS() + 1 } } };
    default:
      return { body: { result: { user: d.user || 'alice', info: { role: 'tester' }, data: { welcome: d.user || 'alice' }, meta: { m: 1 } } } };
  }
}

function channelAnswer(body) {
  const ch = body.channel || '';
  if (ch.endsWith('refused')) return { body: { error: { code: 1003, message: 'not for you' } } };
  if (ch.endsWith('kick')) return { body: { disconnect: { code: 4502, reason: 'kicked' } } };
  if (ch.endsWith('slow')) return { delay: 2500 * SCALE, body: { result: {} } };
  if (ch.endsWith('down')) return { destroy: true };
  return null;
}

describe('proxies', () => {
  const backend = new Backend();
  before(async () => {
    await backend.start();
    backend.on('/connect', connectAnswer);
    backend.on('/refresh', (b) => ({ body: { result: b.user === 'stay' ? { expire_at: nowS() + 600, info: { refreshed: true } } : { expired: true } } }));
    backend.on('/subscribe', (b) => channelAnswer(b) || { body: { result: { info: { chan: b.channel }, data: { hello: b.channel }, ...(b.channel.endsWith('exp') ? { expire_at: nowS() + 1 } : {}) } } });
    backend.on('/sub_refresh', (b) => ({ body: { result: { expire_at: nowS() + 600 } } }));
    backend.on('/publish', (b) => channelAnswer(b) || { body: { result: { data: { rewritten: b.data } } } });
    backend.on('/rpc', (b) => {
      if (b.method === 'fail') return { body: { error: { code: 1500, message: 'rpc refused' } } };
      if (b.method === 'bye') return { body: { disconnect: { code: 4503, reason: 'rpc bye' } } };
      return { body: { result: { data: { method: b.method, got: b.data } } } };
    });
    backend.on('/named', (b) => ({ body: { result: { b64data: Buffer.from(JSON.stringify({ named: true, got: JSON.parse(Buffer.from(b.b64data, 'base64')) })).toString('base64') } } }));
  });

  const h = useServer(async () => ({
    name: 'proxy',
    config: {
      client: {
        token: { hmac_secret_key: 'x' },
        proxy: {
          connect: {
            enabled: true,
            endpoint: `${backend.url}/connect`,
            timeout: '1s',
            http_headers: ['X-Custom'],
            emulated_headers: ['x-emulated'],
            http: {
              static_headers: { 'x-static': 'static-value', 'x-custom': 'overridden' },
              status_to_code_transforms: [{ status_code: 418, to_disconnect: { code: 4518, reason: 'teapot' } }],
            },
          },
          refresh: { enabled: true, endpoint: `${backend.url}/refresh`, timeout: '1s' },
        },
      },
      channel: {
        proxy: {
          subscribe: { endpoint: `${backend.url}/subscribe`, timeout: '1s', include_connection_meta: true },
          publish: { endpoint: `${backend.url}/publish`, timeout: '1s' },
          sub_refresh: { endpoint: `${backend.url}/sub_refresh`, timeout: '1s' },
        },
        namespaces: [
          { name: 'px', subscribe_proxy_enabled: true, publish_proxy_enabled: true, sub_refresh_proxy_enabled: true },
          { name: 'nr', subscribe_proxy_enabled: true, subscribe_proxy_name: 'nowhere' },
        ],
      },
      rpc: {
        proxy: { endpoint: `${backend.url}/rpc`, timeout: '1s' },
        without_namespace: { proxy_enabled: true },
        namespaces: [{ name: 'bin', proxy_enabled: true, proxy_name: 'named' }, { name: 'off' }],
      },
      proxies: [
        { name: 'named', endpoint: `${backend.url}/named`, timeout: '1s', binary_encoding: true },
        { name: 'nowhere', endpoint: 'http://127.0.0.1:1/', timeout: '1s' },
      ],
    },
  }));

  // After the server's stop (registered by useServer), which must exit cleanly with live
  // pooled connections to the backend.
  after(() => backend.stop());

  for (const format of FORMATS) {
    describe(format, () => {
      test('connect proxy: the backend names the user, info and data; headers are forwarded', async (t) => {
        class WithHeaders extends WebSocket {
          constructor(url, protocols) {
            super(url, protocols, { headers: { 'X-Custom': 'from-client', 'X-Other': 'not-forwarded' } });
          }
        }
        const c = await connected(format, h.wsUrl, { data: enc(format, { user: `u-${format}` }), websocket: WithHeaders, headers: { 'X-Emulated': 'emu' } }, t);
        assert.deepEqual(dec(format, c.connectCtx.data), { welcome: `u-${format}` });
        const req = backend.calls('/connect').find((r) => r.body.data?.user === `u-${format}`);
        assert.ok(req, 'the backend saw the connect');
        assert.equal(req.body.transport, 'websocket');
        assert.equal(req.body.protocol, format);
        assert.equal(req.body.encoding, 'json');
        assert.equal(req.body.client, c.connectCtx.client);
        assert.equal(req.headers['x-custom'], 'from-client');
        assert.equal(req.headers['x-static'], 'static-value');
        assert.equal(req.headers['x-other'], undefined);
        assert.equal(req.headers['content-type'], 'application/json');
        // The user the backend named is the connection's user (presence of a proxied sub).
        const sub = await subscribed(c, `px:ok-${format}`);
        assert.deepEqual(dec(format, sub.subscribedCtx.data), { hello: `px:ok-${format}` });
        const sreq = backend.calls('/subscribe').find((r) => r.body.channel === `px:ok-${format}`);
        assert.equal(sreq.body.user, `u-${format}`);
        assert.deepEqual(sreq.body.meta, { m: 1 }, 'include_connection_meta');
      });

      test('connect proxy: emulated headers are forwarded when listed', async (t) => {
        const c = await connected(format, h.wsUrl, { data: enc(format, { user: `em-${format}` }), headers: { 'X-Emulated': 'emu' } }, t);
        assert.ok(c);
        const req = backend.calls('/connect').find((r) => r.body.data?.user === `em-${format}`);
        assert.equal(req.headers['x-emulated'], 'emu');
      });

      for (const [what, expectCode] of [['error', 1000], ['disconnect', 4501], ['nothing', 3501], ['teapot', 4518]]) {
        test(`connect proxy: ${what} → the client is refused with ${expectCode}`, async (t) => {
          const c = newClient(format, h.wsUrl, { data: enc(format, { do: what }) });
          t.defer(() => c.disconnect());
          const d = nextEvent(c, 'disconnected');
          c.connect();
          const ctx = await d;
          assert.equal(ctx.code, expectCode);
        });
      }

      for (const what of ['garbage', 'status', 'slow']) {
        test(`connect proxy: ${what} → temporary error 100, the client retries; others unaffected`, async (t) => {
          const c = newClient(format, h.wsUrl, { data: enc(format, { do: what }) });
          t.defer(() => c.disconnect());
          const e = nextEvent(c, 'error', { timeout: 5000 * SCALE });
          c.connect();
          const ctx = await e;
          assert.equal(ctx.error.code, 100);
          assert.equal(c.state, 'connecting');
          const other = await connected(format, h.wsUrl, { data: enc(format, { user: 'bystander' }) }, t);
          assert.equal(other.state, 'connected');
        });
      }

      test('connect proxy: channels and subs become server-side subscriptions', async (t) => {
        const c = newClient(format, h.wsUrl, { data: enc(format, { do: 'subs' }) });
        t.defer(() => c.disconnect());
        const seen = new Map();
        c.on('subscribed', (ctx) => seen.set(ctx.channel, ctx));
        const ok = nextEvent(c, 'connected');
        c.connect();
        await ok;
        await waitFor(() => seen.size === 2, { label: 'two server-side subscriptions' });
        assert.ok(seen.has('px:srv-a'));
        assert.deepEqual(dec(format, seen.get('px:Srv-B').data), { s: 'b' });
      });

      test('subscribe proxy: refused with the backend error, disconnect mapped, failure → 100', async (t) => {
        const c = await connected(format, h.wsUrl, { data: enc(format, { user: 'sub-user' }) }, t);
        const refused = await subscribeError(c, `px:refused`);
        assert.equal(refused.code, 1003);
        const down = await subscribeError(c, `px:down`);
        assert.equal(down.code, 100);
        const slow = await subscribeError(c, `px:slow`, {}, 8000 * SCALE);
        assert.equal(slow.code, 100);
        const unreachable = await subscribeError(c, `nr:chan`);
        assert.equal(unreachable.code, 100);
        assert.equal(c.state, 'connected');
        const d = nextEvent(c, 'disconnected');
        c.newSubscription('px:kick').subscribe();
        assert.equal((await d).code, 4502);
      });

      test('publish proxy: data rewritten by the backend, refusal mapped', async (t) => {
        const ch = `px:pub-${format}`;
        const c = await connected(format, h.wsUrl, { data: enc(format, { user: 'publisher' }) }, t);
        const sub = await subscribed(c, ch);
        const got = nextEvent(sub, 'publication');
        const r = await settle(c.publish(ch, enc(format, { n: 1 })));
        assert.equal(r.ok, true);
        assert.deepEqual(dec(format, (await got).data), { rewritten: { n: 1 } });
        const pubReq = backend.calls('/publish').find((x) => x.body.channel === ch);
        assert.equal(pubReq.body.user, 'publisher');
        const refused = await settle(c.publish('px:refused', enc(format, { n: 2 })));
        assert.equal(refused.code, 1003);
        const down = await settle(c.publish('px:down', enc(format, { n: 3 })));
        assert.equal(down.code, 100);
      });

      test('rpc proxy: result, error, named proxy with binary encoding, unknown namespace, off', async (t) => {
        const c = await connected(format, h.wsUrl, { data: enc(format, { user: 'rpc-user' }) }, t);
        const r = await settle(c.rpc('echo', enc(format, { x: 1 })));
        assert.equal(r.ok, true);
        assert.deepEqual(dec(format, r.value.data), { method: 'echo', got: { x: 1 } });
        const failed = await settle(c.rpc('fail', enc(format, {})));
        assert.equal(failed.code, 1500);
        const named = await settle(c.rpc('bin:m', enc(format, { y: 2 })));
        assert.deepEqual(dec(format, named.value.data), { named: true, got: { y: 2 } });
        const namedReq = backend.calls('/named').at(-1);
        assert.equal(namedReq.body.encoding, 'binary');
        assert.equal(namedReq.body.method, 'bin:m');
        assert.equal((await settle(c.rpc('nope:m', enc(format, {})))).code, 104);
        assert.equal((await settle(c.rpc('off:m', enc(format, {})))).code, 108);
        const d = nextEvent(c, 'disconnected');
        c.rpc('bye', enc(format, {})).catch(() => {});
        assert.equal((await d).code, 4503);
      });
    });
  }

  test('clients that leave during a slow proxy call: the server carries on', async (t) => {
    const before = backend.requests.length;
    const c1 = newClient('json', h.wsUrl, { data: { do: 'slow' } });
    c1.connect();
    const c2 = await connected('json', h.wsUrl, { data: { user: 'leaver' } }, t);
    c2.newSubscription('px:slow').subscribe();
    await waitFor(() => backend.requests.length >= before + 3, { label: 'the slow calls reached the backend' });
    c1.disconnect();
    c2.disconnect();
    // Both answers arrive after their connections are gone; a new client is served.
    const c3 = await connected('protobuf', h.wsUrl, { data: enc('protobuf', { user: 'after' }) }, t);
    assert.equal(c3.state, 'connected');
  });

  test('refresh proxy: an expiring connection is extended by the backend, or closed as expired', async (t) => {
    const stay = await connected('json', h.wsUrl, { data: { do: 'expiring', user: 'stay' } }, t);
    const go = newClient('json', h.wsUrl, { data: { do: 'expiring', user: 'go' } });
    t.defer(() => go.disconnect());
    // 3005 is a reconnect code: the SDK goes back to `connecting`.
    const gone = nextEvent(go, 'connecting', { timeout: 8000 * SCALE, pred: (ctx) => ctx.code === 3005 });
    go.connect();
    assert.equal((await gone).code, 3005);
    await waitFor(() => backend.calls('/refresh').some((r) => r.body.user === 'stay'), { timeout: 8000 * SCALE, label: 'refresh of stay' });
    const req = backend.calls('/refresh').find((r) => r.body.user === 'stay');
    assert.equal(req.body.client, stay.connectCtx.client);
    assert.equal(stay.state, 'connected');
  });

  test('sub_refresh proxy: an expiring proxied subscription is extended by the backend', async (t) => {
    const c = await connected('json', h.wsUrl, { data: { user: 'subexp' } }, t);
    const sub = await subscribed(c, 'px:exp');
    await waitFor(() => backend.calls('/sub_refresh').some((r) => r.body.channel === 'px:exp'), { timeout: 8000 * SCALE, label: 'sub_refresh' });
    const req = backend.calls('/sub_refresh').find((r) => r.body.channel === 'px:exp');
    assert.equal(req.body.user, 'subexp');
    assert.equal(sub.state, 'subscribed');
  });

  test('metrics: proxy durations, errors and in-flight requests by protocol, type and name', async () => {
    const m = await metrics(h.srv);
    assert.ok(metricValue(m.text, 'centrifugo_proxy_duration_seconds_histogram_count', { protocol: 'http', type: 'connect', name: 'default' }) > 0);
    assert.ok(metricValue(m.text, 'centrifugo_proxy_errors', { protocol: 'http', type: 'connect', name: 'default' }) > 0);
    assert.ok(metricValue(m.text, 'centrifugo_proxy_errors', { protocol: 'http', type: 'subscribe', name: 'nowhere' }) > 0);
    assert.equal(metricValue(m.text, 'centrifugo_proxy_inflight_requests', { protocol: 'http', type: 'rpc', name: 'named' }), 0);
    assert.ok(metricValue(m.text, 'centrifugo_proxy_duration_seconds_count', { type: 'rpc' }) > 0);
  });
});
