// Configuration reload on SIGHUP (docs/design/config-reload.md) under 1,000 connected
// clients: the file is rewritten (a namespace added, an option changed, the HMAC secret
// rotated, a limit lowered, log.level raised) and the server reloads it without dropping a
// single connection, while new connections and new operations follow the new rules. A file
// that does not parse or validate, and a file that changes the port, keep the running
// configuration and say why in the log.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after } from 'node:test';
import { describe, test, useServer } from '../lib/test.js';
import { apiRaw } from '../lib/api.js';
import { RawClient } from '../lib/rawws.js';
import { HMAC_SECRET, merge } from '../lib/server.js';
import { sign } from '../lib/tokens.js';
import { SCALE, T, waitFor } from '../lib/wait.js';

const CLIENTS = 1000;
const BATCH = 100; // clients connecting at a time
const ROOMS = 10;
const NEW_SECRET = 'e2e-rotated-hmac-secret';

const v1 = {
  client: { channel_limit: 3 },
  channel: { namespaces: [{ name: 'room', allow_subscribe_for_client: true }] },
};
// Everything a reload may change at once.
const v2 = {
  log: { level: 'debug' },
  client: { token: { hmac_secret_key: NEW_SECRET }, channel_limit: 1 },
  channel: {
    namespaces: [
      { name: 'room', allow_subscribe_for_client: true, allow_publish_for_subscriber: true },
      { name: 'extra', allow_subscribe_for_client: true },
    ],
  },
};

function tokenFor(user, key = HMAC_SECRET) {
  return sign({ sub: user }, { key });
}

// Connects and subscribes in one frame; resolves with the client once both replies came.
async function connectAndSubscribe(url, user, channel, key) {
  const c = new RawClient(url);
  await c.opened(T * 2);
  c.send({ id: 1, connect: { token: tokenFor(user, key), name: 'raw' } }, { id: 2, subscribe: { channel } });
  const r = await c.reply(2, T * 2);
  if (r.error) throw new Error(`subscribe ${channel}: ${JSON.stringify(r.error)}`);
  return c;
}

// A fresh client that connects with `key` and runs `cmds` (ids from 2); returns the client.
async function fresh(url, user, key, ...cmds) {
  const c = new RawClient(url);
  await c.opened();
  c.send({ id: 1, connect: { token: tokenFor(user, key), name: 'raw' } }, ...cmds);
  return c;
}

function countLines(srv, needle) {
  return srv.logText().split('\n').filter((l) => l.includes(needle)).length;
}

// Rewrites the config file with `text` and sends SIGHUP; waits for the reload's log line.
async function reloadWith(h, text) {
  const before = countLines(h.srv, 'config reload:');
  fs.writeFileSync(h.srv.configPath, text);
  h.srv.proc.kill('SIGHUP');
  await waitFor(() => countLines(h.srv, 'config reload:') > before, { label: 'the reload log line' });
  return h.srv.logText().split('\n').filter((l) => l.includes('config reload:')).slice(before).join('\n');
}

describe('config reload on SIGHUP', () => {
  const h = useServer({ name: 'reload', portInFile: true, config: v1 });
  const clients = [];
  const fileOf = (extra) => JSON.stringify(merge(h.srv.config, extra), null, 2);

  after(() => clients.forEach((c) => c.close()));

  test('1,000 clients stay connected through a reload that changes namespaces, the secret and limits', { timeout: 240000 * SCALE }, async (t) => {
    for (let i = 0; i < CLIENTS; i += BATCH) {
      const batch = [];
      for (let j = i; j < Math.min(CLIENTS, i + BATCH); j++) batch.push(connectAndSubscribe(h.srv.wsUrl, `u${j}`, `room:r${j % ROOMS}`));
      clients.push(...(await Promise.all(batch)));
    }
    assert.equal(clients.length, CLIENTS);

    // Before: "extra" is unknown (102), a subscriber may not publish in "room" (103).
    const pre = await fresh(h.srv.wsUrl, 'pre', HMAC_SECRET, { id: 2, subscribe: { channel: 'extra:x' } });
    t.defer(() => pre.close());
    assert.equal((await pre.reply(2)).error?.code, 102);
    clients[0].send({ id: 10, publish: { channel: 'room:r0', data: { n: 0 } } });
    assert.equal((await clients[0].reply(10)).error?.code, 103);

    const log = await reloadWith(h, fileOf(v2));
    assert.match(log, /reloaded: .*log\.level/);
    assert.match(log, /client\.token\.hmac_secret_key/);
    assert.match(log, /channel\.namespaces\[room\]/);
    assert.match(log, /channel\.namespaces\[extra\]/);
    assert.match(log, /client\.channel_limit/);
    assert.doesNotMatch(log, new RegExp(NEW_SECRET)); // key names only, never values

    // Zero disconnects, and the existing subscriptions still deliver.
    assert.deepEqual(clients.filter((c) => c.closed).length, 0);
    const pub = await apiRaw(h.srv, 'publish', { channel: 'room:r3', data: { after: 'reload' } });
    assert.equal(pub.status, 200, pub.text);
    const inRoom3 = clients.filter((_, i) => i % ROOMS === 3);
    await Promise.all(inRoom3.map((c) => c.waitPushes(1, (p) => p.channel === 'room:r3' && p.pub?.data?.after === 'reload')));

    // New operations follow the new rules, on old connections too: a subscriber may publish
    // now, and the lowered channel limit (1) refuses a second subscription.
    clients[0].send({ id: 11, publish: { channel: 'room:r0', data: { n: 1 } } });
    assert.equal((await clients[0].reply(11)).error, undefined);
    clients[1].send({ id: 12, subscribe: { channel: 'room:other' } });
    assert.equal((await clients[1].reply(12)).error?.code, 106);

    // New connections: the rotated secret signs, the old one does not; "extra" exists.
    const a = await fresh(h.srv.wsUrl, 'new', NEW_SECRET, { id: 2, subscribe: { channel: 'extra:x' } });
    t.defer(() => a.close());
    assert.equal((await a.reply(1)).error, undefined);
    assert.equal((await a.reply(2)).error, undefined);
    const b = await fresh(h.srv.wsUrl, 'old', HMAC_SECRET);
    t.defer(() => b.close());
    assert.equal((await b.waitClose()).code, 3500);

    // log.level is debug now: a connect.subs channel of an unknown namespace is logged.
    const dbg = new RawClient(h.srv.wsUrl);
    t.defer(() => dbg.close());
    await dbg.opened();
    dbg.send({ id: 1, connect: { token: tokenFor('dbg', NEW_SECRET), subs: { 'nope:x': {} } } });
    await dbg.waitClose();
    await waitFor(() => h.srv.logText().includes('has an unknown namespace'), { label: 'a debug line' });

    assert.deepEqual(clients.filter((c) => c.closed).length, 0);
  });

  test('a file that does not parse or validate keeps the running configuration', { timeout: 60000 * SCALE }, async (t) => {
    let log = await reloadWith(h, '{"client": {"token": ');
    assert.match(log, /keeping the running configuration/);
    log = await reloadWith(h, fileOf(merge(v2, { channel: { namespaces: [{ name: 'a b' }] } })));
    assert.match(log, /keeping the running configuration: .*channel\.namespaces\[0\]\.name/);
    // Still the v2 configuration: the rotated secret connects, "extra" exists.
    const c = await fresh(h.srv.wsUrl, 'after-bad', NEW_SECRET, { id: 2, subscribe: { channel: 'extra:y' } });
    t.defer(() => c.close());
    assert.equal((await c.reply(2)).error, undefined);
    assert.equal(clients.filter((x) => x.closed).length, 0);
  });

  test('changing the port is refused with a line naming the key', { timeout: 60000 * SCALE }, async (t) => {
    const log = await reloadWith(h, fileOf(merge(v2, { http_server: { port: h.srv.port + 1 }, client: { channel_limit: 5 } })));
    assert.match(log, /keeping the running configuration: these keys cannot change without a restart: http_server\.port/);
    assert.doesNotMatch(log, /client\.channel_limit/); // only the refused keys are named
    await h.srv.assertServing();
    // The limit of the refused file did not apply: still 1.
    const c = await fresh(h.srv.wsUrl, 'after-port', NEW_SECRET, { id: 2, subscribe: { channel: 'extra:a' } }, { id: 3, subscribe: { channel: 'extra:b' } });
    t.defer(() => c.close());
    assert.equal((await c.reply(2)).error, undefined);
    assert.equal((await c.reply(3)).error?.code, 106);
    assert.equal(clients.filter((x) => x.closed).length, 0);
  });
});
