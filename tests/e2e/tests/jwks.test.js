// JWKS (docs/tokens.md, "JWKS"): connection and subscription tokens signed here with node's
// crypto (RSA and EC P-256/384/521) are verified with the keys a local HTTP server serves
// as a JSON Web Key Set, chosen by kid. The set rotates during the test and a real SDK
// client with a token of the new key connects (the first attempt gets the temporary error
// while the set is refreshed); a kid the fresh set lacks is an invalid token (3500). A slow,
// oversized, failing or garbage endpoint never blocks the server: tokens of unknown keys get
// the temporary error, known keys keep working, and the endpoint recovering is picked up.
// A reload switches the endpoint. A {{placeholder}} in the endpoint's host is refused at start.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { describe, before, after } from 'node:test';
import { test, useServer } from '../lib/test.js';
import path from 'node:path';
import { merge, runGyre, tempDir } from '../lib/server.js';
import { rawClient } from '../lib/rawws.js';
import { connected } from '../lib/sdk.js';
import { sign, nowS } from '../lib/tokens.js';
import { waitFor, SCALE } from '../lib/wait.js';

const T = 10000 * SCALE;

// Key pairs and their JWKs.
function keyPair(kind, kid) {
  const { privateKey, publicKey } =
    kind === 'rsa'
      ? crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })
      : crypto.generateKeyPairSync('ec', { namedCurve: kind });
  const alg = kind === 'rsa' ? 'RS256' : { 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512' }[kind];
  return { kid, alg, privateKey, jwk: { ...publicKey.export({ format: 'jwk' }), use: 'sig', kid } };
}

function token(key, claims) {
  return sign({ exp: nowS() + 3600, ...claims }, { alg: key.alg, key: key.privateKey, header: { kid: key.kid } });
}

// A JWKS endpoint the test steers: per path, the keys it serves and how it misbehaves.
async function startJwksServer() {
  const st = { sets: {}, mode: 'ok', requests: [], sockets: new Set() };
  const server = http.createServer((req, res) => {
    st.requests.push(req.url);
    const keys = st.sets[req.url];
    if (st.mode === 'slow') {
      // Answers after the server's 1 s limit (the test ends the wait when it moves on).
      const t = setTimeout(() => res.end(JSON.stringify({ keys: keys || [] })), 3000);
      res.on('close', () => clearTimeout(t));
      return;
    }
    if (st.mode === 'big') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return res.end(`{"keys":[],"pad":"${'x'.repeat(2 << 20)}"}`);
    }
    if (st.mode === 'garbage') return res.end('<html>not a key set</html>');
    if (st.mode === '500' || !keys) {
      res.writeHead(keys ? 500 : 404);
      return res.end('no');
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ keys }));
  });
  server.on('connection', (s) => {
    st.sockets.add(s);
    s.on('close', () => st.sockets.delete(s));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  st.url = (p) => `http://127.0.0.1:${server.address().port}${p}`;
  st.count = (p) => st.requests.filter((u) => u === p).length;
  st.close = () => {
    for (const s of st.sockets) s.destroy();
    return new Promise((r) => server.close(r));
  };
  return st;
}

// One raw connect: {ok} with the reply, {error} with the error reply, or {close} code.
async function attempt(wsUrl, tok, subscribe) {
  const c = await rawClient(wsUrl);
  try {
    c.send({ id: 1, connect: { token: tok, name: 'raw' } });
    const r = await waitFor(() => c.replies.find((x) => x.id === 1) || (c.closed ? { closed: c.closed } : null), { timeout: T, label: 'connect outcome' });
    if (r.closed) return { close: r.closed.code };
    if (r.error) return { error: r.error.code, temporary: r.error.temporary };
    if (subscribe) {
      c.send({ id: 2, subscribe: { channel: subscribe.channel, token: subscribe.token } });
      const s = await waitFor(() => c.replies.find((x) => x.id === 2) || (c.closed ? { closed: c.closed } : null), { timeout: T, label: 'subscribe outcome' });
      return { ok: r, sub: s };
    }
    return { ok: r };
  } finally {
    c.close();
  }
}

// Retries an attempt that gets the temporary error (connect, or subscribe when `sub`)
// after the endpoint was asked again (bounded), and returns the first other outcome.
async function settled(jw, path, wsUrl, tok, sub) {
  for (let i = 0; i < 20; i++) {
    const before = jw.count(path);
    const r = await attempt(wsUrl, tok, sub);
    const code = sub ? r.sub?.error?.code : r.error;
    if (code !== 100) return r;
    await waitFor(() => jw.count(path) > before, { timeout: T, label: 'a JWKS fetch' });
    await new Promise((res) => setTimeout(res, 50)); // the fetch's answer reaches the cache
  }
  throw new Error('still the temporary error after 20 attempts');
}

const rsa1 = keyPair('rsa', 'rsa1');
const ec256 = keyPair('P-256', 'ec256');
const ec384 = keyPair('P-384', 'ec384');
const ec521 = keyPair('P-521', 'ec521');
const rsa2 = keyPair('rsa', 'rsa2');
const subKey = keyPair('P-256', 'sub1');
const other = keyPair('rsa', 'other');

describe('JWKS', () => {
  let jw;
  before(async () => {
    jw = await startJwksServer();
    jw.sets['/jwks.json'] = [rsa1.jwk, ec256.jwk, ec384.jwk, ec521.jwk];
    jw.sets['/sub.json'] = [subKey.jwk];
    jw.sets['/other.json'] = [other.jwk];
  });
  after(() => jw?.close());

  const h = useServer(() => ({
    name: 'jwks',
    portInFile: true,
    config: {
      client: {
        token: { jwks_public_endpoint: jw.url('/jwks.json') },
        subscription_token: { enabled: true, jwks_public_endpoint: jw.url('/sub.json') },
      },
    },
  }));

  test('keys by kid (RSA, P-256/384/521), subscription tokens, rotation picked up by an SDK client', async (t) => {
    await waitFor(() => jw.count('/jwks.json') >= 1 && jw.count('/sub.json') >= 1, { timeout: T, label: 'prefetch at start' });
    for (const key of [rsa1, ec256, ec384, ec521]) {
      const r = await settled(jw, '/jwks.json', h.wsUrl, token(key, { sub: `u-${key.kid}` }));
      assert.ok(r.ok, `${key.kid}: ${JSON.stringify(r)}`);
      assert.equal(r.ok.connect.client.length > 0, true);
    }
    // A subscription token from the other endpoint.
    const s = await attempt(h.wsUrl, token(rsa1, { sub: 'su' }), { channel: 'priv', token: token(subKey, { sub: 'su', channel: 'priv' }) });
    assert.ok(s.sub.subscribe, JSON.stringify(s));
    // A key of the connection set does not sign subscription tokens (kid unknown there).
    const wrongSet = await settled(jw, '/sub.json', h.wsUrl, token(rsa1, { sub: 'su' }), { channel: 'priv', token: token(rsa1, { sub: 'su', channel: 'priv' }) });
    assert.equal(wrongSet.sub.closed?.code, 3500, JSON.stringify(wrongSet));

    // Bad tokens: no kid, the right kid with another key, HS256 with the static secret.
    const noKid = sign({ sub: 'x', exp: nowS() + 60 }, { alg: 'RS256', key: rsa1.privateKey });
    assert.equal((await attempt(h.wsUrl, noKid)).close, 3500);
    const forged = sign({ sub: 'x', exp: nowS() + 60 }, { alg: 'RS256', key: rsa2.privateKey, header: { kid: 'rsa1' } });
    assert.equal((await attempt(h.wsUrl, forged)).close, 3500);
    const hs = sign({ sub: 'x', exp: nowS() + 60 }, { header: { kid: 'rsa1' } });
    assert.equal((await attempt(h.wsUrl, hs)).close, 3500);

    // Rotation: the endpoint now serves rsa2 only. A real SDK client with an rsa2 token
    // connects (its first attempt gets the temporary error and it retries).
    jw.sets['/jwks.json'] = [rsa2.jwk];
    const c = await connected('json', h.wsUrl, { token: token(rsa2, { sub: 'rotated' }) }, t);
    assert.equal(c.state, 'connected');
    // rsa1 is gone: once the set is fresh, its tokens are invalid.
    assert.equal((await settled(jw, '/jwks.json', h.wsUrl, token(rsa1, { sub: 'old' }))).close, 3500);
    // A made-up kid costs at most one fetch per second, whatever the number of attempts.
    const before = jw.count('/jwks.json');
    for (let i = 0; i < 20; i++) await attempt(h.wsUrl, token(rsa2, { sub: 'x' }).replace(/^[^.]+/, Buffer.from(JSON.stringify({ alg: 'RS256', kid: `bogus${i}` })).toString('base64url')));
    assert.ok(jw.count('/jwks.json') - before <= 10, `${jw.count('/jwks.json') - before} fetches for 20 made-up kids`);
  });

  test('a slow, oversized, failing or garbage endpoint: temporary errors, known keys keep working, recovery', async (t) => {
    const fresh = keyPair('P-256', 'fresh');
    t.defer(() => {
      jw.mode = 'ok';
    });
    for (const mode of ['slow', 'big', '500', 'garbage']) {
      jw.mode = mode;
      const before = jw.requests.length;
      const r = await attempt(h.wsUrl, token(fresh, { sub: 'f' }));
      // Unknown kid and no key set fetched since: the temporary error, a refresh queued.
      assert.equal(r.error, 100, `${mode}: ${JSON.stringify(r)}`);
      assert.equal(r.temporary, true, mode);
      await waitFor(() => jw.requests.length > before, { timeout: T, label: `${mode}: a fetch` });
      // The server is not blocked meanwhile, and the kept set still verifies rsa2.
      assert.equal((await fetch(`${h.srv.url}/health`)).status, 200);
      const known = await attempt(h.wsUrl, token(rsa2, { sub: 'k' }));
      assert.ok(known.ok, `${mode}: known key: ${JSON.stringify(known)}`);
    }
    jw.mode = 'ok';
    jw.sets['/jwks.json'] = [rsa2.jwk, fresh.jwk];
    const r = await settled(jw, '/jwks.json', h.wsUrl, token(fresh, { sub: 'f' }));
    assert.ok(r.ok, JSON.stringify(r));
  });

  test('reload switches the endpoint', async () => {
    const file = JSON.stringify(merge(h.srv.config, { client: { token: { jwks_public_endpoint: jw.url('/other.json') } } }), null, 2);
    const lines = () => h.srv.logText().split('\n').filter((l) => l.includes('config reload:')).length;
    const n = lines();
    fs.writeFileSync(h.srv.configPath, file);
    h.srv.proc.kill('SIGHUP');
    await waitFor(() => lines() > n, { timeout: T, label: 'reload logged' });
    assert.match(h.srv.logText().split('\n').filter((l) => l.includes('config reload:')).slice(n).join('\n'), /reloaded/);
    await waitFor(() => jw.count('/other.json') >= 1, { timeout: T, label: 'the new endpoint fetched' });
    const r = await settled(jw, '/other.json', h.wsUrl, token(other, { sub: 'o' }));
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal((await settled(jw, '/other.json', h.wsUrl, token(rsa2, { sub: 'o' }))).close, 3500);
  });
});

describe('JWKS: configuration', () => {
  test('a placeholder in the host is refused at start, naming the key', () => {
    const dir = tempDir('gyre-jwks-');
    const file = path.join(dir, 'config.json');
    fs.writeFileSync(file, JSON.stringify({
      client: {
        token: {
          issuer_regex: '^(?P<tenant>a|b)$',
          jwks_public_endpoint: 'http://{{tenant}}.keys.example/jwks.json',
        },
      },
    }));
    const r = runGyre(['-c', file, '-p', '0']);
    assert.notEqual(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /client\.token\.jwks_public_endpoint: placeholders are only allowed in the path/);
  });
});
