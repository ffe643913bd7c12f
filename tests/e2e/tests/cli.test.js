// The command line: genconfig, checkconfig, gentoken/gensubtoken (tokens accepted by a
// running server), checktoken/checksubtoken, version; config files in YAML and TOML; and
// CENTRIFUGO_* environment variables overriding the file.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from '../lib/test.js';
import { GyreServer, runGyre, startServer, tempDir, HMAC_SECRET, API_KEY } from '../lib/server.js';
import { connToken } from '../lib/tokens.js';
import { connected, subscribed, newClient } from '../lib/sdk.js';
import { api, apiRaw } from '../lib/api.js';
import { nextEvent, waitFor } from '../lib/wait.js';

describe('CLI', () => {
  test('version', () => {
    const r = runGyre(['version']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /v\d+\.\d+\.\d+/);
  });

  test('genconfig: creates the file with mode 0600, refuses to overwrite; JSON, YAML, TOML', () => {
    const dir = tempDir();
    for (const name of ['config.json', 'config.yaml', 'config.toml']) {
      const file = path.join(dir, name);
      const r = runGyre(['genconfig', '-c', file], { cwd: dir });
      assert.equal(r.code, 0, r.stderr);
      assert.ok(fs.existsSync(file));
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);
      const text = fs.readFileSync(file, 'utf8');
      assert.match(text, /hmac_secret_key/);
      assert.match(text, /allowed_origins/);
      const again = runGyre(['genconfig', '-c', file], { cwd: dir });
      assert.equal(again.code, 1);
      assert.equal(fs.readFileSync(file, 'utf8'), text, 'untouched');
      const check = runGyre(['checkconfig', '-c', file]);
      assert.equal(check.code, 0, `${name}: ${check.stdout}${check.stderr}`);
    }
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    assert.ok(json.client.token.hmac_secret_key.length >= 64);
    assert.ok(json.http_api.key.length >= 64);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('checkconfig: ok, invalid value names the key (exit 1), unknown key warns, missing file', () => {
    const dir = tempDir();
    const write = (name, obj) => {
      const f = path.join(dir, name);
      fs.writeFileSync(f, JSON.stringify(obj));
      return f;
    };
    const ok = runGyre(['checkconfig', '-c', write('ok.json', { client: { token: { hmac_secret_key: 'x' } } })]);
    assert.equal(ok.code, 0, ok.stderr);
    const bad1 = runGyre(['checkconfig', '-c', write('bad1.json', { channel: { namespaces: [{ name: 'chat', history_size: 10 }] } })]);
    assert.equal(bad1.code, 1);
    assert.match(bad1.stdout + bad1.stderr, /history_ttl|history_size/);
    const bad2 = runGyre(['checkconfig', '-c', write('bad2.json', { client: { ping_interval: 'soon' } })]);
    assert.equal(bad2.code, 1);
    assert.match(bad2.stdout + bad2.stderr, /ping_interval/);
    const bad3 = runGyre(['checkconfig', '-c', write('bad3.json', { http_api: { error_mode: 'weird' } })]);
    assert.equal(bad3.code, 1);
    assert.match(bad3.stdout + bad3.stderr, /error_mode/);
    const unk = runGyre(['checkconfig', '-c', write('unk.json', { client: { no_such_option: 1 } })]);
    assert.equal(unk.code, 0);
    assert.match(unk.stdout + unk.stderr, /no_such_option/);
    const strict = runGyre(['checkconfig', '--strict', '-c', path.join(dir, 'unk.json')]);
    assert.equal(strict.code, 1);
    const missing = runGyre(['checkconfig', '-c', path.join(dir, 'nope.json')]);
    assert.equal(missing.code, 1);
    const broken = path.join(dir, 'broken.json');
    fs.writeFileSync(broken, '{"client": ');
    assert.equal(runGyre(['checkconfig', '-c', broken]).code, 1);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('gentoken / gensubtoken tokens are accepted by the running server; checktoken / checksubtoken', async (t) => {
    const srv = await startServer({
      name: 'cli-tokens',
      config: { channel: { namespaces: [{ name: 'priv', presence: true }] } },
    });
    t.defer(() => srv.stop());
    const tok = runGyre(['gentoken', '-c', srv.configPath, '-u', 'cli-user', '-t', '3600', '-q']);
    assert.equal(tok.code, 0, tok.stderr);
    const token = tok.stdout.trim();
    const sub = runGyre(['gensubtoken', '-c', srv.configPath, '-u', 'cli-user', '-s', '$priv:room', '-t', '3600', '-q']);
    assert.equal(sub.code, 0, sub.stderr);
    const subtoken = sub.stdout.trim();
    for (const format of ['json', 'protobuf']) {
      const c = await connected(format, srv.wsUrl, { token }, t);
      await subscribed(c, '$priv:room', { token: subtoken });
    }
    const p = await api(srv, 'presence', { channel: '$priv:room' });
    assert.deepEqual(Object.values(p.presence).map((x) => x.user), ['cli-user', 'cli-user']);
    const verbose = runGyre(['gentoken', '-c', srv.configPath, '-u', 'v']);
    assert.equal(verbose.code, 0);
    assert.match(verbose.stdout, /eyJ/);
    const ct = runGyre(['checktoken', '-c', srv.configPath, token]);
    assert.equal(ct.code, 0, ct.stderr);
    assert.match(ct.stdout, /cli-user/);
    const cst = runGyre(['checksubtoken', '-c', srv.configPath, subtoken]);
    assert.equal(cst.code, 0, cst.stderr);
    assert.match(cst.stdout, /cli-user/);
    const badt = runGyre(['checktoken', '-c', srv.configPath, connToken('x', { key: 'other-secret' })]);
    assert.equal(badt.code, 1);
    const noKey = tempDir();
    fs.writeFileSync(path.join(noKey, 'c.json'), '{}');
    assert.equal(runGyre(['gentoken', '-c', path.join(noKey, 'c.json'), '-u', 'x']).code, 1);
    const noChannel = runGyre(['gensubtoken', '-c', srv.configPath, '-u', 'x']);
    assert.equal(noChannel.code, 1, 'channel required');
    assert.match(noChannel.stderr + noChannel.stdout, /channel/);
    fs.rmSync(noKey, { recursive: true, force: true });
  });

  const yaml = `
health:
  enabled: true
http_api:
  key: ${API_KEY}
client:
  token:
    hmac_secret_key: ${HMAC_SECRET}
channel:
  namespaces:
    - name: chat
      allow_subscribe_for_client: true
      history_size: 5
      history_ttl: 60s
`;
  const toml = `
[health]
enabled = true
[http_api]
key = "${API_KEY}"
[client.token]
hmac_secret_key = "${HMAC_SECRET}"
[[channel.namespaces]]
name = "chat"
allow_subscribe_for_client = true
history_size = 5
history_ttl = "60s"
`;
  for (const [ext, text] of [['yaml', yaml], ['toml', toml]]) {
    test(`server runs from a ${ext.toUpperCase()} config`, async (t) => {
      const srv = new GyreServer({ name: `cli-${ext}`, configFile: `config.${ext}`, rawConfig: text });
      await srv.start();
      t.defer(() => srv.stop());
      const c = await connected('json', srv.wsUrl, { token: connToken('y') }, t);
      const s = await subscribed(c, 'chat:x');
      const got = nextEvent(s, 'publication');
      await api(srv, 'publish', { channel: 'chat:x', data: { a: 1 } });
      assert.deepEqual((await got).data, { a: 1 });
      const hist = await api(srv, 'history', { channel: 'chat:x', limit: 5 });
      assert.equal(hist.publications.length, 1, 'history from the namespace in the file');
    });
  }

  test('CENTRIFUGO_* environment variables override the file', async (t) => {
    const srv = await startServer({
      name: 'cli-env',
      config: { http_api: { key: 'from-file' }, channel: { namespaces: [{ name: 'chat', allow_subscribe_for_client: true }] } },
      env: {
        CENTRIFUGO_HTTP_API_KEY: 'from-env',
        CENTRIFUGO_CHANNEL_NAMESPACES_CHAT_HISTORY_SIZE: '3',
        CENTRIFUGO_CHANNEL_NAMESPACES_CHAT_HISTORY_TTL: '60s',
        CENTRIFUGO_CLIENT_ALLOW_ANONYMOUS_CONNECT_WITHOUT_TOKEN: 'true',
      },
    });
    srv.config.http_api.key = 'from-env'; // what the API helpers send
    t.defer(() => srv.stop());
    const info = await api(srv, 'info', {});
    assert.equal(info.nodes.length, 1);
    srv.config.http_api.key = 'from-file';
    await assert.rejects(api(srv, 'info', {}), /401/);
    srv.config.http_api.key = 'from-env';
    for (let i = 0; i < 5; i++) await api(srv, 'publish', { channel: 'chat:e', data: { i } });
    const h = await api(srv, 'history', { channel: 'chat:e', limit: -1 });
    assert.equal(h.publications.length, 3, 'history_size from env');
    const c = newClient('json', srv.wsUrl, {});
    t.defer(() => c.disconnect());
    const connectedEv = nextEvent(c, 'connected');
    c.connect();
    await connectedEv; // anonymous allowed by env
  });
});

describe('SIGHUP reload', () => {
  test('channel options and token keys change without a restart; a bad file keeps the old config', async (t) => {
    const srv = await startServer({ name: 'reload' });
    t.defer(() => srv.stop());
    // No "news" namespace yet.
    assert.equal((await apiRaw(srv, 'publish', { channel: 'news:1', data: 1 })).json.error?.code, 102);

    const next = JSON.parse(fs.readFileSync(srv.configPath, 'utf8'));
    next.channel = { namespaces: [{ name: 'news', history_size: 5, history_ttl: '60s' }] };
    next.client.token.hmac_secret_key = 'rotated-secret';
    fs.writeFileSync(srv.configPath, JSON.stringify(next));
    srv.proc.kill('SIGHUP');
    await waitFor(async () => (await apiRaw(srv, 'publish', { channel: 'news:1', data: 1 })).json.result?.offset === 1,
      { label: 'namespace added by reload' });
    // Tokens signed with the old secret are refused now; the new secret works.
    const stale = newClient('json', srv.wsUrl, { token: connToken('u1') });
    t.defer(() => stale.disconnect());
    const d = nextEvent(stale, 'disconnected');
    stale.connect();
    assert.equal((await d).code, 3500);

    // An invalid file is refused and the running config stays.
    fs.writeFileSync(srv.configPath, '{"channel": {"namespaces": [{"name": "x", "history_ttl": "oops"}]}}');
    srv.proc.kill('SIGHUP');
    await waitFor(() => /config reload: keeping the running configuration/.test(srv.logText()), { label: 'reload refused' });
    assert.equal((await api(srv, 'publish', { channel: 'news:1', data: 2 })).offset, 2);
  });
});
