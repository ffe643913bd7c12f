// Admin compatibility with Centrifugo (docs/admin.md): the admin token is Centrifugo's
// (gorilla/securecookie, name "token", value "authorized", HMAC-SHA256 with admin.secret),
// so a token computed here the way Centrifugo computes it opens /admin/api and the token
// /admin/auth issues has that format; tokens from another secret, expired, issued in the
// future, without padding or far too long are refused with 401. admin.web_proxy_address:
// the UI's files come from a development server (a local node server here): status,
// Content-Type and body passed through, the query kept, other methods 405, an oversized
// response or a server that is down 502, the admin endpoints still served by Gyre; an
// address that is not an http(s) URL is refused at start.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { before, after } from 'node:test';
import { describe, test, useServer } from '../lib/test.js';
import { runGyre, tempDir } from '../lib/server.js';
import { SCALE } from '../lib/wait.js';

const PASSWORD = 'compat-admin-password';
const SECRET = 'compat-admin-secret';
const T = 10000 * SCALE;

// Go's base64.URLEncoding: URL alphabet, padded.
const goB64 = (b) => Buffer.from(b).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
// gob's encoding of the Go string "authorized".
const GOB_AUTHORIZED = Buffer.concat([Buffer.from([0x0d, 0x0c, 0x00, 0x0a]), Buffer.from('authorized')]);

// The token Centrifugo's /admin/auth returns, computed independently of Gyre.
function centrifugoToken(secret, issued) {
  const signed = `${issued}|${goB64(GOB_AUTHORIZED)}`;
  const mac = crypto.createHmac('sha256', secret).update(`token|${signed}`).digest();
  return goB64(Buffer.concat([Buffer.from(`${signed}|`), mac]));
}

async function call(srv, path, { method = 'POST', token, body } = {}) {
  const headers = {};
  if (token !== undefined) headers.Authorization = `token ${token}`;
  const r = await fetch(`${srv.url}${path}`, { method, headers, body, signal: AbortSignal.timeout(T) });
  const text = await r.text();
  return { status: r.status, text };
}

describe('admin: Centrifugo admin tokens', () => {
  const h = useServer({ name: 'admin-compat', config: { admin: { enabled: true, password: PASSWORD, secret: SECRET } } });
  const info = '{"method":"info","params":{}}';

  test('/admin/auth issues the securecookie format; a Centrifugo token works', async () => {
    const auth = await fetch(`${h.srv.url}/admin/auth`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: `password=${encodeURIComponent(PASSWORD)}`,
      signal: AbortSignal.timeout(T),
    });
    assert.equal(auth.status, 200);
    const { token } = await auth.json();
    // issued|value|mac, the value gob("authorized"), the MAC Centrifugo's.
    const raw = Buffer.from(token, 'base64url');
    const s = raw.toString('latin1');
    const [issued, value] = s.split('|');
    assert.match(issued, /^\d+$/);
    assert.ok(Math.abs(Number(issued) - Date.now() / 1000) < 3600, issued);
    assert.deepEqual(Buffer.from(value, 'base64url'), GOB_AUTHORIZED);
    assert.equal(token, centrifugoToken(SECRET, Number(issued)));
    assert.equal(token.length % 4, 0, 'padded as Go encodes it');

    const now = Math.floor(Date.now() / 1000);
    const ok = await call(h.srv, '/admin/api', { token: centrifugoToken(SECRET, now - 60), body: info });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(JSON.parse(ok.text).result.nodes.length, 1);
    const init = await fetch(`${h.srv.url}/admin/init`, { headers: { Authorization: `token ${centrifugoToken(SECRET, now - 60)}` } });
    assert.equal((await init.json()).authenticated, true);
  });

  test('bad tokens: another secret, expired, from the future, unpadded, oversized, garbage', async () => {
    const now = Math.floor(Date.now() / 1000);
    const good = centrifugoToken(SECRET, now);
    const bad = {
      otherSecret: centrifugoToken('another-secret', now),
      expired: centrifugoToken(SECRET, now - 31 * 24 * 3600),
      future: centrifugoToken(SECRET, now + 3600),
      unpadded: good.replace(/=+$/, ''),
      oversized: 'A'.repeat(5000),
      garbage: '%%%not-base64%%%',
      gyreV1: 'v1.1700000000.AAAA',
      empty: '',
    };
    for (const [what, token] of Object.entries(bad)) {
      if (what === 'unpadded' && token === good) continue; // no padding to strip
      const r = await call(h.srv, '/admin/api', { token, body: info });
      assert.equal(r.status, 401, `${what}: ${r.status} ${r.text}`);
    }
    assert.equal((await call(h.srv, '/admin/api', { token: good, body: info })).status, 200);
  });
});

describe('admin: web_proxy_address', () => {
  let dev;
  const seen = [];
  before(async () => {
    dev = http.createServer((req, res) => {
      seen.push(req.url);
      if (req.url === '/' || req.url === '/index.html') {
        res.writeHead(200, { 'Content-Type': 'text/html' });
        return res.end('<!doctype html><title>from the dev server</title>');
      }
      if (req.url.startsWith('/app.js')) {
        res.writeHead(200, { 'Content-Type': 'text/javascript' });
        return res.end('console.log("dev");');
      }
      if (req.url === '/big') {
        res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
        return res.end(Buffer.alloc(17 << 20, 120));
      }
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('dev: not found');
    });
    await new Promise((r) => dev.listen(0, '127.0.0.1', r));
  });
  after(() => new Promise((r) => (dev ? dev.close(r) : r())));

  const h = useServer(() => ({
    name: 'admin-proxy',
    config: { admin: { enabled: true, insecure: true, handler_prefix: '/ops', web_proxy_address: `http://127.0.0.1:${dev.address().port}` } },
  }));

  test('files from the dev server; status and content type passed through; bad input', async () => {
    const index = await fetch(`${h.srv.url}/ops/`, { signal: AbortSignal.timeout(T) });
    assert.equal(index.status, 200);
    assert.match(await index.text(), /from the dev server/);
    const js = await fetch(`${h.srv.url}/ops/app.js?v=1`, { signal: AbortSignal.timeout(T) });
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type'), /javascript/);
    assert.ok(seen.includes('/app.js?v=1'), JSON.stringify(seen));
    const missing = await fetch(`${h.srv.url}/ops/missing.css`, { signal: AbortSignal.timeout(T) });
    assert.equal(missing.status, 404);
    assert.equal(await missing.text(), 'dev: not found');
    assert.equal((await fetch(`${h.srv.url}/ops/`, { method: 'POST', body: 'x' })).status, 405);
    const big = await fetch(`${h.srv.url}/ops/big`, { signal: AbortSignal.timeout(T) });
    assert.equal(big.status, 502);
    assert.match(await big.text(), /larger than/);
    // The admin endpoints are Gyre's own, not proxied.
    const init = await (await fetch(`${h.srv.url}/ops/admin/init`)).json();
    assert.equal(init.insecure, true);
    assert.ok(!seen.some((u) => u.includes('admin')), JSON.stringify(seen));
    // The dev server down: 502, Gyre serves on.
    await new Promise((r) => dev.close(r));
    dev = null;
    const down = await fetch(`${h.srv.url}/ops/`, { signal: AbortSignal.timeout(T) });
    assert.equal(down.status, 502);
    assert.equal((await fetch(`${h.srv.url}/health`)).status, 200);
  });

  test('an address that is not an http(s) URL is refused at start', () => {
    const dir = tempDir('gyre-admin-proxy-');
    const file = path.join(dir, 'config.json');
    fs.writeFileSync(file, JSON.stringify({ admin: { enabled: true, insecure: true, web_proxy_address: 'file:///etc/passwd' } }));
    const r = runGyre(['-c', file, '-p', '0']);
    assert.notEqual(r.code, 0);
    assert.match(r.stdout + r.stderr, /admin\.web_proxy_address: must be an http/);
  });
});
