// Admin compatibility with Centrifugo (docs/admin.md): the admin token is Centrifugo's
// (gorilla/securecookie, name "token", value "authorized", HMAC-SHA256 with admin.secret),
// so a token computed here the way Centrifugo computes it opens /admin/api and the token
// /admin/auth issues has that format; tokens from another secret, expired, issued in the
// future, without padding or far too long are refused with 401.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, test, useServer } from '../lib/test.js';
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
