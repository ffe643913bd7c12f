// Connection authentication with the real SDKs: HS256/RS256/ES256 tokens, the claims a
// client or its peers can observe (sub, info, b64info, meta, exp, expire_at), expired and
// invalid tokens, anonymous access and client.insecure.
import assert from 'node:assert/strict';
import { describe, test, useServer, FORMATS } from '../lib/test.js';
import { connToken, ecKeys, nowS, rsaKeys, sign, tamper } from '../lib/tokens.js';
import { connect, connected, dec, newClient, recordingWebSocket, settle, subscribed } from '../lib/sdk.js';
import { RawClient } from '../lib/rawws.js';
import { nextEvent, sleep, waitFor, T } from '../lib/wait.js';

const rsa = rsaKeys();
const ec = ecKeys();
const rsaOther = rsaKeys();

const nsInfo = {
  name: 'room',
  presence: true,
  allow_subscribe_for_client: true,
  allow_presence_for_subscriber: true,
  allow_publish_for_subscriber: true,
};

// Waits for the SDK to end up disconnected; returns {code, reason} and whether it tried again.
async function expectTerminalDisconnect(client) {
  const states = [];
  client.on('state', (ctx) => states.push(ctx.newState));
  const d = nextEvent(client, 'disconnected');
  client.connect();
  const ctx = await d;
  await sleep(300);
  return { ...ctx, state: client.state, reconnected: states.filter((s) => s === 'connecting').length > 1 };
}

describe('connection tokens', () => {
  const h = useServer({
    name: 'auth',
    config: {
      client: { token: { rsa_public_key: rsa.publicPem, ecdsa_public_key: ec.publicPem } },
      channel: { namespaces: [nsInfo] },
    },
  });

  for (const format of FORMATS) {
    describe(format, () => {
      for (const alg of ['HS256', 'RS256', 'ES256']) {
        test(`${alg} token connects with the user from sub`, async (t) => {
          const key = alg === 'RS256' ? rsa.privateKey : alg === 'ES256' ? ec.privateKey : undefined;
          const token = connToken(`u-${alg}`, { alg, key });
          const c = await connected(format, h.wsUrl, { token }, t);
          assert.equal(c.state, 'connected');
          assert.ok(c.connectCtx.client, 'client id in connect reply');
          // The user shows in presence of a channel the client joins.
          await subscribed(c, `room:${alg}`);
          const p = await c.presence(`room:${alg}`);
          const entries = Object.values(p.clients);
          assert.equal(entries.length, 1);
          assert.equal(entries[0].user, `u-${alg}`);
          assert.equal(entries[0].client, c.connectCtx.client);
        });
      }

      test('info is visible to others, meta never reaches clients', async (t) => {
        const log = [];
        const token = connToken('alice', { info: { name: 'Alice' }, meta: { secret: 'meta-marker-xyz' } });
        const a = await connected(format, h.wsUrl, { token, websocket: recordingWebSocket(log) }, t);
        const b = await connected(format, h.wsUrl, { token: connToken('bob', { info: { name: 'Bob' } }) }, t);
        const sa = await subscribed(a, 'room:info');
        const sb = await subscribed(b, 'room:info');
        const got = new Promise((resolve) => sb.once('publication', resolve));
        await sa.publish(format === 'protobuf' ? new TextEncoder().encode('{"m":1}') : { m: 1 });
        const pub = await got;
        assert.equal(pub.info.user, 'alice');
        assert.deepEqual(dec(format, pub.info.connInfo ?? pub.info.conn_info), { name: 'Alice' });
        const p = await b.presence('room:info');
        const alice = Object.values(p.clients).find((x) => x.user === 'alice');
        assert.deepEqual(dec(format, alice.connInfo ?? alice.conn_info), { name: 'Alice' });
        const all = Buffer.concat(log.filter((f) => f.dir === 'in').map((f) => f.data)).toString('latin1');
        assert.ok(!all.includes('meta-marker-xyz'), 'meta must not be sent to clients');
        assert.ok(all.includes('Alice'), 'info was seen on the wire');
      });

      test('b64info becomes the connection info bytes', async (t) => {
        const token = connToken('carol', { b64info: Buffer.from('{"via":"b64"}').toString('base64'), info: { via: 'plain' } });
        const c = await connected(format, h.wsUrl, { token }, t);
        await subscribed(c, 'room:b64');
        const p = await c.presence('room:b64');
        const me = Object.values(p.clients)[0];
        assert.deepEqual(dec(format, me.connInfo ?? me.conn_info), { via: 'b64' });
      });

      test('expired token at connect: 109, the SDK gets a new token and connects', async (t) => {
        let calls = 0;
        const c = newClient(format, h.wsUrl, {
          token: connToken('dave', { exp: nowS() - 10 }),
          getToken: async () => {
            calls++;
            return connToken('dave');
          },
        });
        t.defer(() => c.disconnect());
        const errors = [];
        c.on('error', (ctx) => errors.push(ctx));
        await connect(c);
        assert.equal(calls, 1, 'getToken called once');
        assert.ok(errors.some((e) => e.error?.code === 109), `109 seen: ${JSON.stringify(errors)}`);
      });

      const bad = {
        'alg none': () => sign({ sub: 'x', exp: nowS() + 60 }, { alg: 'none' }),
        'bad HMAC signature': () => tamper(connToken('x')),
        'HMAC signature with another secret': () => connToken('x', { key: 'not-the-secret' }),
        'RS256 signed by an unknown key': () => connToken('x', { alg: 'RS256', key: rsaOther.privateKey }),
        'RS256 header with an HMAC signature (wrong alg for key)': () => {
          // alg says RS256 but the signature is an HMAC: must not verify with any key.
          const t = connToken('x');
          const [, p, s] = t.split('.');
          return `${Buffer.from(JSON.stringify({ typ: 'JWT', alg: 'RS256' })).toString('base64url')}.${p}.${s}`;
        },
        'ES256 token verified as HS256 (alg confusion)': () => {
          // Sign HS256 with the EC public key PEM as secret: must be rejected.
          return connToken('x', { key: ec.publicPem });
        },
        'garbage': () => 'not.a.jwt',
        'channel claim in a connection token': () => connToken('x', { channel: 'room:a' }),
      };
      for (const [name, make] of Object.entries(bad)) {
        test(`invalid token (${name}): disconnected 3500, no reconnect`, async (t) => {
          let calls = 0;
          const c = newClient(format, h.wsUrl, {
            token: make(),
            getToken: async () => {
              calls++;
              return connToken('x');
            },
          });
          t.defer(() => c.disconnect());
          const r = await expectTerminalDisconnect(c);
          assert.equal(r.code, 3500, JSON.stringify(r));
          assert.equal(r.state, 'disconnected');
          assert.equal(r.reconnected, false);
          assert.equal(calls, 0, 'getToken not called for an invalid token');
        });
      }

      test('no token and anonymous not allowed: disconnected (3501), no reconnect', async (t) => {
        const c = newClient(format, h.wsUrl, {});
        t.defer(() => c.disconnect());
        const r = await expectTerminalDisconnect(c);
        assert.equal(r.code, 3501);
        assert.equal(r.state, 'disconnected');
      });
    });
  }

  test('connect reply: exp gives expires+ttl, expire_at:0 disables expiry, expire_at overrides exp', async (t) => {
    const expectations = [
      [connToken('e1', { ttl: 600 }), (c) => c.expires === true && c.ttl > 590 && c.ttl <= 600],
      [connToken('e2', { ttl: 600, expire_at: 0 }), (c) => !c.expires && !c.ttl],
      [connToken('e3', { ttl: 600, expire_at: nowS() + 100 }), (c) => c.expires === true && c.ttl > 90 && c.ttl <= 100],
      [connToken('e4', { ttl: null }), (c) => !c.expires],
    ];
    for (const [token, check] of expectations) {
      const r = new RawClient(h.wsUrl);
      t.defer(() => r.close());
      const rep = await r.connect(token);
      assert.ok(check(rep.connect), `${JSON.stringify(rep.connect)} for ${token}`);
    }
    // expire_at in the past with a valid exp: error 110 (not 109, no token involved).
    const r = new RawClient(h.wsUrl);
    t.defer(() => r.close());
    await r.opened();
    r.send({ id: 1, connect: { token: connToken('e5', { expire_at: nowS() - 5 }) } });
    const rep = await r.reply(1);
    assert.equal(rep.error?.code, 110);
  });
});

describe('audience and issuer', () => {
  const h = useServer({ name: 'auth-aud', config: { client: { token: { audience: 'gyre-aud', issuer: 'gyre-iss' } } } });
  for (const format of FORMATS) {
    test(`[${format}] matching aud/iss connect; wrong aud or iss → 3500`, async (t) => {
      await connected(format, h.wsUrl, { token: connToken('u', { aud: 'gyre-aud', iss: 'gyre-iss' }) }, t);
      await connected(format, h.wsUrl, { token: connToken('u', { aud: ['x', 'gyre-aud'], iss: 'gyre-iss' }) }, t);
      for (const claims of [{ aud: 'other', iss: 'gyre-iss' }, { aud: 'gyre-aud', iss: 'other' }, { iss: 'gyre-iss' }]) {
        const c = newClient(format, h.wsUrl, { token: connToken('u', claims) });
        t.defer(() => c.disconnect());
        const r = await expectTerminalDisconnect(c);
        assert.equal(r.code, 3500, JSON.stringify(claims));
      }
    });
  }
});

describe('anonymous connections', () => {
  const h = useServer({
    name: 'auth-anon',
    config: {
      client: { allow_anonymous_connect_without_token: true },
      channel: {
        namespaces: [
          { name: 'pub', allow_subscribe_for_client: true, allow_subscribe_for_anonymous: true },
          { name: 'priv', allow_subscribe_for_client: true },
        ],
      },
    },
  });
  for (const format of FORMATS) {
    test(`[${format}] anonymous connect allowed; anonymous subscribe only where allowed`, async (t) => {
      const c = await connected(format, h.wsUrl, {}, t);
      await subscribed(c, 'pub:a');
      const sub = c.newSubscription('priv:a');
      const un = nextEvent(sub, 'unsubscribed');
      sub.subscribe();
      assert.equal((await un).code, 103);
    });
  }
});

describe('client.insecure', () => {
  const h = useServer({
    name: 'auth-insecure',
    config: { client: { insecure: true }, channel: { namespaces: [{ name: 'any', history_size: 10, history_ttl: '60s', presence: true }] } },
  });
  for (const format of FORMATS) {
    test(`[${format}] no token needed, no permission checks`, async (t) => {
      const c = await connected(format, h.wsUrl, {}, t);
      const s = await subscribed(c, `any:${format}`);
      await s.publish(format === 'protobuf' ? new TextEncoder().encode('{"a":1}') : { a: 1 });
      const hist = await s.history({ limit: 10 });
      assert.equal(hist.publications.length, 1);
      const p = await s.presence();
      assert.equal(Object.keys(p.clients).length, 1);
      // Even a token with an invalid signature is refused (insecure skips permission checks, not tokens).
      const bad = newClient(format, h.wsUrl, { token: tamper(connToken('x')) });
      t.defer(() => bad.disconnect());
      const r = await settle(connect(bad), T);
      assert.equal(r.ok, false);
    });
  }
});
