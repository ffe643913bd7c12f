// Proxy configuration (docs/proxy.md): invalid proxy settings are refused naming the key,
// a GRPC or https:// endpoint is warned about, and a reload moves calls to a new endpoint
// without a restart.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before } from 'node:test';
import { describe, test, useServer } from '../lib/test.js';
import { merge, runGyre, tempDir } from '../lib/server.js';
import { connected, newClient } from '../lib/sdk.js';
import { Backend } from '../lib/backend.js';
import { nextEvent, waitFor } from '../lib/wait.js';

describe('proxy configuration', () => {
  test('invalid proxy settings are refused with the key named', () => {
    const dir = tempDir();
    let n = 0;
    const check = (cfg) => {
      const f = path.join(dir, `c${n++}.json`);
      fs.writeFileSync(f, JSON.stringify(cfg));
      const r = runGyre(['checkconfig', '-c', f]);
      return { code: r.code, out: r.stdout + r.stderr };
    };
    const cases = [
      [{ client: { proxy: { connect: { enabled: true } } } }, /client\.proxy\.connect/],
      [{ client: { proxy: { refresh: { enabled: true, endpoint: 'http://127.0.0.1:1/', timeout: '-1s' } } } }, /client\.proxy\.refresh\.timeout/],
      [{ channel: { namespaces: [{ name: 'ns', subscribe_proxy_enabled: true }] } }, /subscribe_proxy_name.*channel\.proxy\.subscribe/],
      [{ channel: { namespaces: [{ name: 'ns', publish_proxy_enabled: true, publish_proxy_name: 'ghost' }] } }, /publish_proxy_name.*ghost/],
      [{ proxies: [{ name: 'default', endpoint: 'http://127.0.0.1:1/' }] }, /proxies\[0\]\.name/],
      [{ proxies: [{ name: 'a b', endpoint: 'http://127.0.0.1:1/' }] }, /proxies\[0\]\.name/],
      [{ rpc: { without_namespace: { proxy_enabled: true } } }, /rpc\.without_namespace\.proxy_name/],
      [{ rpc: { proxy: { endpoint: 'http://127.0.0.1:1/', http: { status_to_code_transforms: [{ status_code: 404 }] } } } }, /status_to_code_transforms/],
    ];
    for (const [cfg, re] of cases) {
      const r = check(cfg);
      assert.equal(r.code, 1, `${JSON.stringify(cfg)}: ${r.out}`);
      assert.match(r.out, re, JSON.stringify(cfg));
    }
    const ok = check({ client: { proxy: { connect: { enabled: true, endpoint: 'http://127.0.0.1:1/c' } } }, proxies: [{ name: 'p1', endpoint: 'http://127.0.0.1:1/p' }], channel: { namespaces: [{ name: 'ns', subscribe_proxy_enabled: true, subscribe_proxy_name: 'p1' }] } });
    assert.equal(ok.code, 0, ok.out);
  });

  describe('reload and unsupported endpoints', () => {
    const backend = new Backend();
    before(async () => {
      await backend.start();
      backend.on('/one', () => ({ body: { result: { user: 'one' } } }));
      backend.on('/two', () => ({ body: { result: { user: 'two' } } }));
    });
    after(() => backend.stop());
    const h = useServer(async () => ({
      name: 'proxy-reload',
      portInFile: true,
      config: {
        client: { proxy: { connect: { enabled: true, endpoint: `${backend.url}/one`, timeout: '1s' } } },
        proxies: [{ name: 'grpc-one', endpoint: 'grpc://127.0.0.1:1' }, { name: 'tls-one', endpoint: 'https://127.0.0.1:1/' }],
        channel: { namespaces: [{ name: 'gg', subscribe_proxy_enabled: true, subscribe_proxy_name: 'grpc-one' }] },
      },
    }));

    test('https endpoints: a warning at start; an unreachable GRPC backend: calls fail with 100', async (t) => {
      const log = h.srv.logText();
      assert.doesNotMatch(log, /proxies\[0\]\.endpoint/);
      assert.match(log, /proxies\[1\]\.endpoint: https:\/\/ proxy endpoints are not supported/);
      const c = await connected('json', h.wsUrl, {}, t);
      const sub = c.newSubscription('gg:x');
      const err = nextEvent(sub, 'error');
      sub.subscribe();
      assert.equal((await err).error.code, 100);
    });

    test('a reload moves connect calls to the new endpoint', async (t) => {
      const c1 = await connected('json', h.wsUrl, {}, t);
      assert.ok(c1);
      assert.equal(backend.calls('/one').length >= 1, true);
      const before = h.srv.logText().split('\n').filter((l) => l.includes('config reload:')).length;
      const next = merge(h.srv.config, { client: { proxy: { connect: { endpoint: `${backend.url}/two` } } } });
      fs.writeFileSync(h.srv.configPath, JSON.stringify(next));
      h.srv.proc.kill('SIGHUP');
      await waitFor(() => h.srv.logText().split('\n').filter((l) => l.includes('config reload:')).length > before, { label: 'reload log line' });
      assert.match(h.srv.logText(), /config reload: reloaded: .*client\.proxy\.connect\.endpoint/);
      const c2 = newClient('json', h.wsUrl);
      t.defer(() => c2.disconnect());
      const ok = nextEvent(c2, 'connected');
      c2.connect();
      await ok;
      assert.equal(backend.calls('/two').length, 1);
      assert.equal(c1.state, 'connected');
    });
  });
});
