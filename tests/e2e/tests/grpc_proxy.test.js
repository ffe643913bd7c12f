// Backend proxies over GRPC (docs/proxy.md): a Node backend implementing
// centrifugal.centrifugo.proxy.CentrifugoProxy from the project's proxy.proto. Connect
// allowed and refused, subscribe allowed and refused, publish with data rewritten, rpc
// result and error, refresh and sub_refresh, metadata forwarded (with gzip) (http_headers, grpc.static_metadata,
// grpc.credentials_key), a backend that is down, too slow or answers garbage, the metrics.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { describe, test, useServer, FORMATS } from '../lib/test.js';
import { connected, dec, enc, newClient, settle, subscribed, subscribeError, WebSocket } from '../lib/sdk.js';
import { GrpcProxyBackend, startGarbageBackend } from '../lib/grpc_proxy_backend.js';
import { metrics, metricValue } from '../lib/api.js';
import { nextEvent, waitFor, SCALE } from '../lib/wait.js';

const json = (buf) => (buf && buf.length ? JSON.parse(Buffer.from(buf).toString()) : undefined);
const nowS = () => Math.floor(Date.now() / 1000);
const bytes = (v) => Buffer.from(JSON.stringify(v));

describe('GRPC proxies', () => {
  const backend = new GrpcProxyBackend();
  let garbage;
  before(async () => {
    await backend.start();
    garbage = await startGarbageBackend();
    backend.on('Connect', (r) => {
      const d = json(r.data) || {};
      if (d.do === 'error') return { error: { code: 1000, message: 'not welcome' } };
      if (d.do === 'disconnect') return { disconnect: { code: 4501, reason: 'go away' } };
      if (d.do === 'expiring') return { result: { user: d.user, expire_at: nowS() + 1 } };
      return { result: { user: d.user || 'alice', info: bytes({ role: 'tester' }), data: bytes({ welcome: d.user || 'alice' }) } };
    });
    backend.on('Refresh', (r) => ({ result: r.user === 'stay' ? { expire_at: nowS() + 600 } : { expired: true } }));
    backend.on('SubRefresh', () => ({ result: { expire_at: nowS() + 600 } }));
    backend.on('Subscribe', (r) => {
      if (r.channel.endsWith('exp')) return { result: { expire_at: nowS() + 1 } };
      if (r.channel.endsWith('refused')) return { error: { code: 1003, message: 'not for you' } };
      return { result: { data: bytes({ hello: r.channel }) } };
    });
    backend.on('Publish', (r) => ({ result: { data: bytes({ rewritten: json(r.data), by: r.user }) } }));
    backend.on('RPC', (r) => {
      if (r.method === 'fail') return { error: { code: 1500, message: 'rpc refused' } };
      if (r.method === 'slow') return { delay: 2500 * SCALE, response: { result: {} } };
      return { result: { data: bytes({ method: r.method, got: json(r.data), encoding: r.encoding }) } };
    });
  });

  const h = useServer(async () => {
    const ep = `grpc://127.0.0.1:${backend.port}`;
    return {
      name: 'grpc-proxy',
      config: {
        client: {
          token: { hmac_secret_key: 'x' },
          proxy: {
            connect: {
              enabled: true,
              endpoint: ep,
              timeout: '1s',
              http_headers: ['X-Custom'],
              grpc: {
                compression: true,
                static_metadata: { 'x-static': 'static-value', 'x-custom': 'overridden' },
                credentials_key: 'authorization',
                credentials_value: 'Bearer backend-key',
              },
            },
            refresh: { enabled: true, endpoint: ep, timeout: '1s' },
          },
        },
        channel: {
          proxy: {
            subscribe: { endpoint: ep, timeout: '1s' },
            publish: { endpoint: ep, timeout: '1s' },
            sub_refresh: { endpoint: ep, timeout: '1s' },
          },
          namespaces: [{ name: 'gp', subscribe_proxy_enabled: true, publish_proxy_enabled: true, sub_refresh_proxy_enabled: true }],
        },
        rpc: {
          // Without a scheme: `host:port` is a GRPC endpoint too.
          proxy: { endpoint: `127.0.0.1:${backend.port}`, timeout: '1s' },
          without_namespace: { proxy_enabled: true },
          namespaces: [
            { name: 'down', proxy_enabled: true, proxy_name: 'down' },
            { name: 'garbage', proxy_enabled: true, proxy_name: 'garbage' },
          ],
        },
        proxies: [
          { name: 'down', endpoint: 'grpc://127.0.0.1:1', timeout: '1s' },
          { name: 'garbage', endpoint: `grpc://127.0.0.1:${garbage.port}`, timeout: '1s' },
        ],
      },
    };
  });

  after(() => {
    backend.stop();
    garbage.stop();
  });

  for (const format of FORMATS) {
    describe(format, () => {
      test('connect: the backend names the user and data; headers and metadata are forwarded', async (t) => {
        class WithHeaders extends WebSocket {
          constructor(url, protocols) {
            super(url, protocols, { headers: { 'X-Custom': 'from-client', 'X-Other': 'not-forwarded' } });
          }
        }
        const c = await connected(format, h.wsUrl, { data: enc(format, { user: `g-${format}` }), websocket: WithHeaders }, t);
        assert.deepEqual(dec(format, c.connectCtx.data), { welcome: `g-${format}` });
        const call = backend.callsOf('Connect').find((x) => json(x.request.data)?.user === `g-${format}`);
        assert.ok(call, 'the backend saw the connect');
        assert.equal(call.request.client, c.connectCtx.client);
        assert.equal(call.request.transport, 'websocket');
        assert.equal(call.request.protocol, format);
        assert.equal(call.request.encoding, 'json');
        assert.equal(call.metadata['x-custom'], 'from-client');
        assert.equal(call.metadata['x-static'], 'static-value');
        assert.equal(call.metadata.authorization, 'Bearer backend-key');
        assert.equal(call.metadata['x-other'], undefined);
      });

      test('connect: error and disconnect answers refuse the client', async (t) => {
        for (const [what, code] of [['error', 1000], ['disconnect', 4501]]) {
          const c = newClient(format, h.wsUrl, { data: enc(format, { do: what }) });
          t.defer(() => c.disconnect());
          const d = nextEvent(c, 'disconnected');
          c.connect();
          assert.equal((await d).code, code, what);
        }
      });

      test('subscribe: allowed with data, refused with the backend error', async (t) => {
        const c = await connected(format, h.wsUrl, { data: enc(format, { user: 'sub-user' }) }, t);
        const sub = await subscribed(c, `gp:ok-${format}`);
        assert.deepEqual(dec(format, sub.subscribedCtx.data), { hello: `gp:ok-${format}` });
        const call = backend.callsOf('Subscribe').find((x) => x.request.channel === `gp:ok-${format}`);
        assert.equal(call.request.user, 'sub-user');
        assert.equal((await subscribeError(c, 'gp:refused')).code, 1003);
        assert.equal(c.state, 'connected');
      });

      test('publish: the backend rewrites the data', async (t) => {
        const ch = `gp:pub-${format}`;
        const c = await connected(format, h.wsUrl, { data: enc(format, { user: 'publisher' }) }, t);
        const sub = await subscribed(c, ch);
        const got = nextEvent(sub, 'publication');
        const r = await settle(c.publish(ch, enc(format, { n: 1 })));
        assert.equal(r.ok, true);
        assert.deepEqual(dec(format, (await got).data), { rewritten: { n: 1 }, by: 'publisher' });
      });

      test('rpc: result and error; down, slow and garbage backends → error 100', async (t) => {
        const c = await connected(format, h.wsUrl, { data: enc(format, { user: 'rpc-user' }) }, t);
        const r = await settle(c.rpc('echo', enc(format, { x: 1 })));
        assert.equal(r.ok, true);
        assert.deepEqual(dec(format, r.value.data), { method: 'echo', got: { x: 1 }, encoding: 'json' });
        assert.equal((await settle(c.rpc('fail', enc(format, {})))).code, 1500);
        assert.equal((await settle(c.rpc('down:m', enc(format, {})))).code, 100);
        assert.equal((await settle(c.rpc('garbage:m', enc(format, {})))).code, 100);
        assert.equal((await settle(c.rpc('slow', enc(format, {})), 8000 * SCALE)).code, 100);
        assert.equal(c.state, 'connected');
      });
    });
  }

  test('refresh: an expiring connection is extended by the backend, or closed as expired', async (t) => {
    const stay = await connected('json', h.wsUrl, { data: { do: 'expiring', user: 'stay' } }, t);
    const go = newClient('json', h.wsUrl, { data: { do: 'expiring', user: 'go' } });
    t.defer(() => go.disconnect());
    // 3005 is a reconnect code: the SDK goes back to `connecting`.
    const gone = nextEvent(go, 'connecting', { timeout: 8000 * SCALE, pred: (ctx) => ctx.code === 3005 });
    go.connect();
    assert.equal((await gone).code, 3005);
    await waitFor(() => backend.callsOf('Refresh').some((x) => x.request.user === 'stay'), { timeout: 8000 * SCALE, label: 'refresh of stay' });
    assert.equal(backend.callsOf('Refresh').find((x) => x.request.user === 'stay').request.client, stay.connectCtx.client);
    assert.equal(stay.state, 'connected');
  });

  test('sub_refresh: an expiring proxied subscription is extended by the backend', async (t) => {
    const c = await connected('json', h.wsUrl, { data: { user: 'subexp' } }, t);
    const sub = await subscribed(c, 'gp:exp');
    await waitFor(() => backend.callsOf('SubRefresh').some((x) => x.request.channel === 'gp:exp'), { timeout: 8000 * SCALE, label: 'sub_refresh' });
    assert.equal(backend.callsOf('SubRefresh').find((x) => x.request.channel === 'gp:exp').request.user, 'subexp');
    assert.equal(sub.state, 'subscribed');
  });

  test('metrics: GRPC calls are labelled protocol="grpc"', async () => {
    const m = await metrics(h.srv);
    assert.ok(metricValue(m.text, 'centrifugo_proxy_duration_seconds_histogram_count', { protocol: 'grpc', type: 'connect', name: 'default' }) > 0);
    assert.ok(metricValue(m.text, 'centrifugo_proxy_errors', { protocol: 'grpc', type: 'rpc', name: 'down' }) > 0);
    assert.ok(metricValue(m.text, 'centrifugo_proxy_errors', { protocol: 'grpc', type: 'rpc', name: 'garbage' }) > 0);
    assert.equal(metricValue(m.text, 'centrifugo_proxy_inflight_requests', { protocol: 'grpc', type: 'publish', name: 'default' }), 0);
  });

  // Last: the server stops (useServer's after hook, before the backend's) while this call
  // waits for the slow backend; it must exit cleanly.
  test('a call in flight at shutdown', async (t) => {
    const c = await connected('json', h.wsUrl, { data: { user: 'last' } }, t);
    const before = backend.callsOf('RPC').length;
    c.rpc('slow', {}).catch(() => {});
    await waitFor(() => backend.callsOf('RPC').length > before, { label: 'the slow call reached the backend' });
  });
});
