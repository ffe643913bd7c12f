// The admin web UI and endpoints (docs/admin.md) on a two-node Gyre cluster on Redis, in
// headless Chromium (lib/browser.js): log in (a wrong password refused), the status page
// lists both nodes, a publish from the actions page reaches a real SDK client, a channel's
// presence and history, the live view of a channel, tokens that a real SDK client connects
// with, Swagger UI; no console errors on any page. The admin endpoints' bad input: 401
// without or with a wrong token (body never read), 400 for malformed JSON, 405, the
// `reload` action without a hook. Then single servers: the admin on the internal listener
// (or the external one with admin.external), handler_prefix, admin.web_path and
// admin.insecure. Set GYRE_ADMIN_SCREENSHOTS=../../docs/admin to refresh
// the screenshots in the docs.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, before, after } from 'node:test';
import { test } from '../lib/test.js';
import { useNodes } from '../lib/nodes.js';
import { GyreServer, freePort, startServer, tempDir } from '../lib/server.js';
import { startRedis } from '../lib/redis.js';
import { api } from '../lib/api.js';
import { connected, subscribed } from '../lib/sdk.js';
import { connToken } from '../lib/tokens.js';
import { nextEvent, waitFor, SCALE } from '../lib/wait.js';
import { launchBrowser, newPage, screenshot } from '../lib/browser.js';

const PASSWORD = 'e2e-admin-password';
const SECRET = 'e2e-admin-secret';
const T = 10000 * SCALE;

function adminConfig(redisUrl) {
  return {
    engine: { type: 'redis', redis: { address: [redisUrl] } },
    admin: { enabled: true, password: PASSWORD, secret: SECRET },
    swagger: { enabled: true },
    // The live view's WebSocket comes from the admin page's origin (docs/admin.md).
    client: { allowed_origins: ['http://127.0.0.1:*'] },
    channel: {
      namespaces: [{
        name: 'chat', presence: true, join_leave: true, history_size: 20, history_ttl: '300s',
        allow_subscribe_for_client: true, allow_presence_for_subscriber: true, allow_history_for_subscriber: true,
      }],
    },
  };
}

async function adminFetch(srv, path, { method = 'GET', token, body, headers = {} } = {}) {
  const h = { ...headers };
  if (token) h.Authorization = `token ${token}`;
  const r = await fetch(`${srv.url}${path}`, { method, headers: h, body, signal: AbortSignal.timeout(T) });
  const text = await r.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: r.status, text, json, headers: r.headers };
}

async function adminToken(srv) {
  const r = await adminFetch(srv, '/admin/auth', {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: `password=${encodeURIComponent(PASSWORD)}`,
  });
  assert.equal(r.status, 200, r.text);
  return r.json.token;
}

async function login(page, srv) {
  await page.goto(`${srv.url}/`);
  await page.fill('#password', PASSWORD);
  await page.keyboard.press('Enter');
  await page.waitForSelector('#nodes', { timeout: T });
}

function assertNoProblems(page) {
  assert.deepEqual(page.problems, [], 'console errors, exceptions or failed requests in the page');
}

describe('admin: endpoints and web UI on a two-node Redis cluster', () => {
  const h = useNodes(2, 'admin', async () => {
    const r = await startRedis({ name: 'redis-admin' });
    return { config: adminConfig(r.url), teardown: () => r.stop() };
  });
  let browser;
  before(async () => {
    browser = await launchBrowser();
  }, { timeout: 30000 * SCALE });
  after(async () => {
    if (browser) await browser.close();
  });

  test('bad input: 401 without or with a wrong token, 400 for malformed JSON and a wrong password, 405', async () => {
    const [a] = h.nodes;
    const cmd = JSON.stringify({ method: 'info', params: {} });
    assert.equal((await adminFetch(a, '/admin/api', { method: 'POST', body: cmd })).status, 401);
    assert.equal((await adminFetch(a, '/admin/api', { method: 'POST', body: cmd, token: 'v1.1.AAAA' })).status, 401);
    assert.equal((await adminFetch(a, '/admin/api', { method: 'POST', body: cmd, headers: { Authorization: 'apikey e2e-api-key' } })).status, 401);
    const token = await adminToken(a);
    const ok = await adminFetch(a, '/admin/api', { method: 'POST', body: cmd, headers: { Authorization: `TOKEN ${token}` } });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.result.nodes.length, 2);
    assert.equal((await adminFetch(a, '/admin/api', { method: 'POST', body: '{"method": "info", ', token })).status, 400);
    assert.equal((await adminFetch(a, '/admin/api', { method: 'POST', body: '', token })).status, 400);
    assert.equal((await adminFetch(a, '/admin/api', { method: 'POST', body: '{"method":"no_such"}', token })).status, 400);
    assert.equal((await adminFetch(a, '/admin/api', { token })).status, 405);
    assert.equal((await adminFetch(a, '/admin/auth')).status, 405);
    const wrong = await adminFetch(a, '/admin/auth', { method: 'POST', body: 'password=nope' });
    assert.equal(wrong.status, 400);
    assert.equal(wrong.json, undefined, 'no token for a wrong password');
    assert.deepEqual((await adminFetch(a, '/admin/init')).json, { insecure: false, edition: 'oss', authenticated: false });
    const init = await adminFetch(a, '/admin/init', { token });
    assert.equal(init.json.authenticated, true);
    assert.equal(init.json.gyre.websocket_path, '/connection/websocket');
    // A token from another secret is refused.
    const tampered = token.slice(0, -2) + (token.endsWith('AA') ? 'BB' : 'AA');
    assert.equal((await adminFetch(a, '/admin/api', { method: 'POST', body: cmd, token: tampered })).status, 401);
    // The reload action runs the same reload as SIGHUP (here: the file did not change).
    const reload = await adminFetch(a, '/admin/api', { method: 'POST', body: '{"id":3,"method":"reload"}', token });
    assert.deepEqual(reload.json, { id: 3, result: {} });
    await waitFor(() => /config reload: nothing changed/.test(a.logText()), { label: 'the reload logged' });
    // The API methods keep their legacy format through the admin API.
    const two = await adminFetch(a, '/admin/api', { method: 'POST', token, body: '{"id":1,"method":"info"}\n{"id":2,"method":"presence","params":{}}' });
    const lines = two.text.split('\n').map((l) => JSON.parse(l));
    assert.equal(lines[0].id, 1);
    assert.equal(lines[1].error.code, 107);
    // Unknown files are 404; the UI's files carry an ETag.
    assert.equal((await adminFetch(a, '/nope.js')).status, 404);
    const index = await adminFetch(a, '/');
    assert.equal(index.status, 200);
    assert.match(index.headers.get('content-type'), /text\/html/);
    const again = await adminFetch(a, '/', { headers: { 'If-None-Match': index.headers.get('etag') } });
    assert.equal(again.status, 304);
  });

  test('a wrong password is refused in the page; the right one logs in', async (t) => {
    const [a] = h.nodes;
    const page = await newPage(browser);
    t.defer(() => page.closeAll());
    await page.goto(`${a.url}/`);
    await page.waitForSelector('#password', { timeout: T });
    await screenshot(page, 'login');
    await page.fill('#password', 'wrong');
    await page.click('#login-submit');
    await page.waitForSelector('#login-error .notice.error', { timeout: T });
    assert.match(await page.textContent('#login-error'), /Wrong password/);
    assert.equal(await page.evaluate(() => localStorage.getItem('gyre-admin-token')), null);
    // The browser reports the refused request (HTTP 400) itself; nothing else may appear.
    const others = page.problems.filter((p) => !/status of 400/.test(p));
    assert.deepEqual(others, []);
    page.problems.length = 0;
    await page.fill('#password', PASSWORD);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#nodes', { timeout: T });
    assertNoProblems(page);
  });

  test('the status page lists both nodes and refreshes', async (t) => {
    const [a, b] = h.nodes;
    const page = await newPage(browser);
    t.defer(() => page.closeAll());
    const clients = [];
    t.defer(() => clients.forEach((c) => c.disconnect()));
    for (const [i, srv] of [a, b, b].entries()) {
      const c = await connected('json', srv.wsUrl, { token: connToken(`status-${i}`) });
      clients.push(c);
      await subscribed(c, `chat:status-${i}`);
    }
    const names = (await api(a, 'info')).nodes.map((n) => n.name);
    await login(page, a);
    for (const name of names) await page.waitForSelector(`#nodes tr[data-node="${name}"]`, { timeout: T });
    assert.equal(await page.locator('#nodes tbody tr').count(), 2);
    // A few refreshes so that the charts have points.
    await waitFor(async () => (await page.locator('#nodes tbody tr').first().locator('polyline').first().getAttribute('points'))?.split(' ').length >= 3,
      { timeout: 15000 * SCALE, label: 'three samples in the charts' });
    // Node b's counts reach node a with its next heartbeat.
    await waitFor(async () => (await page.textContent('.cards .card:nth-child(2) .card-value')) === '3',
      { timeout: 15000 * SCALE, label: 'the clients of both nodes in the total' });
    await screenshot(page, 'status');
    assertNoProblems(page);
  });

  test('a publish from the actions page reaches an SDK client on the other node', async (t) => {
    const [a, b] = h.nodes;
    const client = await connected('json', b.wsUrl, { token: connToken('reader') }, t);
    const sub = await subscribed(client, 'chat:actions');
    const page = await newPage(browser);
    t.defer(() => page.closeAll());
    await login(page, a);
    // Keyboard only: the navigation link opens the page with Enter, the method list has focus.
    await page.focus('nav a[data-page="actions"]');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#method:focus', { timeout: T });
    await page.selectOption('#method', 'publish');
    await page.fill('#params', JSON.stringify({ channel: 'chat:actions', data: { text: 'from the admin UI' } }, null, 2));
    const pub = nextEvent(sub, 'publication', { timeout: T });
    await page.click('#send');
    assert.deepEqual((await pub).data, { text: 'from the admin UI' });
    await page.waitForSelector('#reply-status .notice.ok', { timeout: T });
    assert.match(await page.textContent('#reply'), /"offset": 1/);
    // Malformed JSON is reported in the page, nothing is sent.
    await page.fill('#params', '{"channel": ');
    await page.keyboard.press('Control+Enter');
    await page.waitForSelector('#params-problem .notice.error', { timeout: T });
    await page.fill('#params', JSON.stringify({ channel: 'chat:actions', data: { text: 'from the admin UI' } }, null, 2));
    await page.click('#format');
    await screenshot(page, 'actions');
    assertNoProblems(page);
  });

  test('the channels page: filter, presence, history and live publications', async (t) => {
    const [a, b] = h.nodes;
    const ch = 'chat:lobby';
    const client = await connected('json', b.wsUrl, { token: connToken('alice', { info: { name: 'Alice' } }) }, t);
    await subscribed(client, ch);
    for (let i = 1; i <= 3; i++) await api(a, 'publish', { channel: ch, data: { n: i } });
    const page = await newPage(browser);
    t.defer(() => page.closeAll());
    await login(page, a);
    await page.click('nav a[data-page="channels"]');
    await page.fill('#channel-filter', 'chat:lob*');
    await page.keyboard.press('Enter');
    await page.waitForSelector(`#channels a:text-is("${ch}")`, { timeout: T });
    assert.equal(await page.locator('#channels tbody tr').count(), 1);
    await screenshot(page, 'channels');
    await page.click(`#channels a:text-is("${ch}")`);
    await page.waitForSelector('#stat-clients', { timeout: T });
    assert.equal(await page.textContent('#stat-clients'), '1');
    await page.waitForSelector('#presence td:text-is("alice")', { timeout: T });
    await page.waitForSelector('#history td:text-is("3")', { timeout: T });
    assert.match(await page.textContent('#history'), /\{"n":3\}/);
    // Live: the page connects to the client endpoint with tokens from the admin API.
    await page.click('#live-toggle');
    await page.waitForFunction(() => /subscribed/.test(document.querySelector('#live-state').textContent), null, { timeout: T });
    await api(b, 'publish', { channel: ch, data: { live: 'yes' } });
    await page.waitForSelector('#live-log li:has-text("{\\"live\\":\\"yes\\"}")', { timeout: T });
    await screenshot(page, 'channel');
    await page.click('#live-toggle');
    assertNoProblems(page);
  });

  test('the tokens page signs tokens an SDK client connects and subscribes with', async (t) => {
    const [a, b] = h.nodes;
    const page = await newPage(browser);
    t.defer(() => page.closeAll());
    await login(page, a);
    await page.click('nav a[data-page="tokens"]');
    await page.fill('#token-user', 'bob');
    await page.fill('#token-info', '{"name": "Bob"}');
    await page.click('#token-generate');
    await page.waitForFunction(() => document.querySelector('#token-output').value.split('.').length === 3, null, { timeout: T });
    const conn = await page.inputValue('#token-output');
    assert.match(await page.textContent('#token-claims'), /"sub": "bob"/);
    const client = await connected('json', b.wsUrl, { token: conn }, t);
    assert.equal(client.connectCtx.client.length > 0, true);
    await page.fill('#token-channel', 'chat:private');
    await page.fill('#token-info', '');
    await page.click('#token-generate');
    await page.waitForFunction((prev) => {
      const v = document.querySelector('#token-output').value;
      return v && v !== prev;
    }, conn, { timeout: T });
    const subTok = await page.inputValue('#token-output');
    await subscribed(client, 'chat:private', { token: subTok });
    await screenshot(page, 'tokens');
    assertNoProblems(page);
  });

  test('Swagger UI loads with the OpenAPI document', async (t) => {
    const [a] = h.nodes;
    const page = await newPage(browser);
    t.defer(() => page.closeAll());
    const redirect = await fetch(`${a.url}/swagger`, { redirect: 'manual' });
    assert.equal(redirect.status, 301);
    assert.equal(redirect.headers.get('location'), '/swagger/');
    const doc = await (await fetch(`${a.url}/swagger/openapi.json`)).json();
    assert.match(doc.openapi, /^3\./);
    await page.goto(`${a.url}/swagger/`);
    await page.waitForSelector('.swagger-ui .info .title', { timeout: T });
    assert.match(await page.textContent('.swagger-ui .info .title'), /Gyre/);
    await screenshot(page, 'swagger');
    assertNoProblems(page);
  });
});

// A server with a separate internal listener: /health (readiness) is on the internal port.
class SplitServer extends GyreServer {
  constructor(opts, internalPort) {
    super({ ...opts, config: merge2(opts.config, { http_server: { internal_port: String(internalPort) } }) });
    this.internalUrl = `http://127.0.0.1:${internalPort}`;
  }
  async healthy() {
    try {
      const r = await fetch(`${this.internalUrl}/health`, { signal: AbortSignal.timeout(1000 * SCALE) });
      await r.text();
      return r.status === 200;
    } catch {
      return false;
    }
  }
}

function merge2(a, b) {
  return { ...a, ...b, http_server: { ...(a.http_server || {}), ...(b.http_server || {}) } };
}

describe('admin: listeners, handler_prefix, web_path, insecure', () => {
  test('on the internal listener unless admin.external', async (t) => {
    const admin = { enabled: true, password: PASSWORD, secret: SECRET };
    const internal = await freePort();
    const srv = await new SplitServer({ name: 'admin-internal', config: { admin } }, internal).start();
    t.defer(() => srv.stop());
    assert.equal((await fetch(`${srv.url}/admin/init`)).status, 404);
    const r = await fetch(`${srv.internalUrl}/admin/init`);
    assert.equal(r.status, 200);
    assert.equal((await r.json()).edition, 'oss');
    assert.equal((await fetch(`${srv.internalUrl}/`)).status, 200, 'the UI on the internal port');

    const ext = await new SplitServer({ name: 'admin-external', config: { admin: { ...admin, external: true } } }, await freePort()).start();
    t.defer(() => ext.stop());
    assert.equal((await fetch(`${ext.url}/admin/init`)).status, 200);
    assert.equal((await fetch(`${ext.internalUrl}/admin/init`)).status, 404);
    assert.equal((await fetch(`${ext.internalUrl}/health`)).status, 200, 'health stays internal');
  });

  test('handler_prefix, a web_path directory and admin.insecure', async (t) => {
    const dir = tempDir('gyre-admin-web-');
    fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>from disk</title>');
    fs.writeFileSync(path.join(dir, 'app.js'), 'console.log("disk");');
    const srv = await startServer({
      name: 'admin-prefix',
      config: { admin: { enabled: true, insecure: true, handler_prefix: '/ops', web_path: dir } },
    });
    t.defer(() => srv.stop());
    const redirect = await fetch(`${srv.url}/ops`, { redirect: 'manual' });
    assert.equal(redirect.status, 301);
    assert.equal(redirect.headers.get('location'), '/ops/');
    const index = await fetch(`${srv.url}/ops/`);
    assert.equal(index.status, 200);
    assert.match(await index.text(), /from disk/);
    const js = await fetch(`${srv.url}/ops/app.js`);
    assert.match(js.headers.get('content-type'), /javascript/);
    assert.equal((await fetch(`${srv.url}/ops/missing.js`)).status, 404);
    assert.equal((await fetch(`${srv.url}/admin/init`)).status, 404, 'nothing outside the prefix');
    // insecure: no token needed, and init says so.
    assert.deepEqual((await (await fetch(`${srv.url}/ops/admin/init`)).json()).insecure, true);
    const r = await fetch(`${srv.url}/ops/admin/api`, { method: 'POST', body: '{"method":"info"}' });
    assert.equal(r.status, 200);
    assert.equal((await r.json()).result.nodes.length, 1);
    // No password configured: login is refused with 400.
    assert.equal((await fetch(`${srv.url}/ops/admin/auth`, { method: 'POST', body: 'password=' })).status, 400);
    // The other endpoints are still served next to the prefix.
    assert.equal((await fetch(`${srv.url}/health`)).status, 200);
  });
});
