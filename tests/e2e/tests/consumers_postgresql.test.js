// The postgresql async consumer (docs/consumers.md) against a private PostgreSQL server
// (lib/postgres.js): rows inserted into the outbox table reach a subscribed SDK client in
// id order per partition, in both command modes, with jsonb and bytea payloads; bad rows
// are skipped, counted and deleted like the good ones; a NOTIFY on
// partition_notification_channel wakes the consumer (the poll interval is an hour, so
// nothing else could); with use_try_lock a partition whose advisory lock (Centrifugo's key)
// another session holds is skipped, the others go on; an internal error is retried in
// order, deleting nothing it did not run; a bad configuration is refused naming the key; and at least once:
// SIGKILL of Gyre in the middle of 1,000 rows, restart, and with idempotency keys every
// publication arrives exactly once.
import assert from 'node:assert/strict';
import { describe, test } from '../lib/test.js';
import { GyreServer, runGyre, startServer, tempDir } from '../lib/server.js';
import { startPostgres } from '../lib/postgres.js';
import { startRedis } from '../lib/redis.js';
import { connToken } from '../lib/tokens.js';
import { connected, subscribed } from '../lib/sdk.js';
import { api, metrics, metricValue } from '../lib/api.js';
import { waitFor, SCALE } from '../lib/wait.js';
import fs from 'node:fs';
import path from 'node:path';

const ALLOW = { allow_subscribe_for_client: true };

function consumer(name, pg, table, extra = {}) {
  return {
    name,
    enabled: true,
    type: 'postgresql',
    postgresql: { dsn: pg.url, outbox_table_name: table, partition_poll_interval: '100ms', ...extra },
  };
}

function createTable(name, payloadType = 'JSONB') {
  return `CREATE TABLE ${name} (
    id BIGSERIAL PRIMARY KEY,
    method TEXT NOT NULL DEFAULT '',
    payload ${payloadType},
    partition INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW() NOT NULL);`;
}

// A SQL string literal.
const lit = (s) => `'${String(s).replace(/'/g, "''")}'`;

function insert(table, rows) {
  const values = rows.map(({ method = '', payload, partition = 0, bytea = false }) => {
    const p = payload === null ? 'NULL' : bytea ? `convert_to(${lit(payload)}, 'UTF8')` : lit(payload);
    return `(${lit(method)}, ${p}, ${partition})`;
  });
  return `INSERT INTO ${table} (method, payload, partition) VALUES ${values.join(', ')};`;
}

describe('postgresql consumer', () => {
  test('rows reach a subscriber in id order; bad rows are skipped and deleted; NOTIFY wakes the consumer', async (t) => {
    const pg = await startPostgres({ name: 'consumers-pg' });
    t.defer(() => pg.stop());
    await pg.sql(createTable('outbox') + createTable('outbox_bin', 'BYTEA'));
    const srv = await startServer({
      name: 'consumers-pg',
      config: {
        channel: { without_namespace: ALLOW },
        consumers: [
          consumer('pgjson', pg, 'outbox', { num_partitions: 2, partition_poll_interval: '1h', partition_notification_channel: 'outbox_wake' }),
          consumer('pgbin', pg, 'public.outbox_bin', { partition_select_limit: 2 }),
        ],
      },
    });
    t.defer(() => srv.stop());
    const c = await connected('json', srv.wsUrl, { token: connToken('u1') }, t);
    const got = { a: [], b: [], c: [] };
    for (const ch of ['a', 'b', 'c']) (await subscribed(c, ch)).on('publication', (ctx) => got[ch].push(ctx.data.n));
    // The consumer LISTENs before its first pass; wait for the LISTEN to be registered.
    await waitFor(async () => (await pg.sql("SELECT count(*) FROM pg_stat_activity WHERE query ILIKE 'LISTEN%'")) === '1', { label: 'LISTEN' });
    const pub = (ch, n) => JSON.stringify({ channel: ch, data: { n } });
    await pg.sql(`BEGIN; ${insert('outbox', [
      { method: 'publish', payload: pub('a', 1) },
      { method: 'publish', payload: pub('b', 10), partition: 1 },
      { payload: JSON.stringify({ method: 'publish', payload: { channel: 'a', data: { n: 2 } } }) },
      { payload: JSON.stringify({ method: 'publish', payload: pub('a', 3) }) }, // payload as a JSON string
      { method: 'history', payload: '{"channel":"a"}' }, // bad: unsupported method
      { method: 'publish', payload: null }, // bad: NULL payload
      { method: 'publish', payload: '{"data":{}}' }, // bad: no channel
      { payload: '{"method":"nope","payload":{}}' }, // bad: unknown method
      { method: 'publish', payload: pub('b', 11), partition: 1 },
      { method: 'broadcast', payload: JSON.stringify({ channels: ['a', 'b'], data: { n: 4 } }) },
    ])} ${insert('outbox_bin', [1, 2, 3, 4, 5].map((n) => ({ method: 'publish', payload: pub('c', n), bytea: true })))}
    NOTIFY outbox_wake, '0'; COMMIT;`);
    await waitFor(() => got.a.length >= 4 && got.b.length >= 3 && got.c.length >= 5, { timeout: 10000 * SCALE, label: 'publications' });
    assert.deepEqual(got.a, [1, 2, 3, 4]);
    assert.deepEqual(got.b.filter((n) => n !== 4), [10, 11]);
    assert.deepEqual(got.c, [1, 2, 3, 4, 5]);
    // Every row, good or bad, was deleted in the transaction that processed it.
    await waitFor(async () => (await pg.sql('SELECT (SELECT count(*) FROM outbox) + (SELECT count(*) FROM outbox_bin)')) === '0', { label: 'rows deleted' });
    const m = (await metrics(srv)).text;
    assert.equal(metricValue(m, 'centrifugo_consumers_messages_processed_total', { consumer_name: 'pgjson' }), 10);
    assert.equal(metricValue(m, 'centrifugo_consumers_errors_total', { consumer_name: 'pgjson' }), 4);
    assert.equal(metricValue(m, 'centrifugo_consumers_messages_processed_total', { consumer_name: 'pgbin' }), 5);
    assert.match(srv.logText(), /bad message skipped.*"?consumer"?[=:]"pgjson".*outbox\/0\//);

    // The poll interval is an hour: a second batch arrives only through the NOTIFY.
    await pg.sql(`BEGIN; ${insert('outbox', [{ method: 'publish', payload: pub('a', 5) }])} SELECT pg_notify('outbox_wake', '0'); COMMIT;`);
    await waitFor(() => got.a.length >= 5, { timeout: 10000 * SCALE, label: 'the notified publication' });
    assert.deepEqual(got.a, [1, 2, 3, 4, 5]);
  });

  test('use_try_lock: a partition locked elsewhere (Centrifugo\'s lock key) is skipped until released', async (t) => {
    const pg = await startPostgres({ name: 'consumers-pg-lock' });
    t.defer(() => pg.stop());
    await pg.sql(createTable('lock_outbox'));
    // Another "node" holds partition 0's lock in a transaction that sleeps until terminated.
    const holder = pg.sql("BEGIN; SELECT pg_advisory_xact_lock(hashtext('centrifugo_partition_lock_pglock0')); SELECT pg_sleep(600); COMMIT;", { timeout: 120000 * SCALE })
      .catch((e) => e);
    await waitFor(async () => (await pg.sql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted")) === '1', { label: 'lock held' });
    const srv = await startServer({
      name: 'consumers-pg-lock',
      config: { channel: { without_namespace: ALLOW }, consumers: [consumer('pglock', pg, 'lock_outbox', { num_partitions: 2, use_try_lock: true })] },
    });
    t.defer(() => srv.stop());
    const c = await connected('json', srv.wsUrl, { token: connToken('u4') }, t);
    const got = [];
    (await subscribed(c, 'l')).on('publication', (ctx) => got.push(ctx.data.n));
    const pub = (n) => JSON.stringify({ channel: 'l', data: { n } });
    await pg.sql(insert('lock_outbox', [{ method: 'publish', payload: pub(0), partition: 0 }, { method: 'publish', payload: pub(1), partition: 1 }]));
    // Partition 0 comes first in every pass: once partition 1's row is out, partition 0 was skipped.
    await waitFor(() => got.length >= 1, { timeout: 10000 * SCALE, label: 'partition 1' });
    assert.deepEqual(got, [1]);
    assert.equal(await pg.sql('SELECT count(*) FROM lock_outbox WHERE partition = 0'), '1');
    await pg.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(600)%' AND pid <> pg_backend_pid()");
    await holder;
    await waitFor(() => got.length >= 2, { timeout: 10000 * SCALE, label: 'partition 0 after the release' });
    assert.deepEqual(got, [1, 0]);
  });

  test('an internal error (the engine Redis is down) is retried until it succeeds, in order', async (t) => {
    const pg = await startPostgres({ name: 'consumers-pg-retry' });
    t.defer(() => pg.stop());
    const engineRedis = await startRedis({ name: 'consumers-pg-retry-engine' });
    t.defer(() => engineRedis.stop());
    await pg.sql(createTable('retry_outbox'));
    const srv = await startServer({
      name: 'consumers-pg-retry',
      config: {
        engine: { type: 'redis', redis: { address: [engineRedis.url] } },
        channel: { namespaces: [{ name: 'rt', ...ALLOW, history_size: 100, history_ttl: '300s' }] },
        consumers: [consumer('pgrt', pg, 'retry_outbox')],
      },
    });
    t.defer(() => srv.stop({ check: false }));
    await engineRedis.kill('SIGTERM'); // down, not removed: started again below
    await pg.sql(insert('retry_outbox', [0, 1, 2, 3, 4].map((n) => ({ method: 'publish', payload: JSON.stringify({ channel: 'rt:x', data: { n } }) }))));
    // The first row fails with an internal error and is retried (blocking the rows after
    // it); nothing is deleted.
    await waitFor(async () => metricValue((await metrics(srv)).text, 'centrifugo_consumers_errors_total', { consumer_name: 'pgrt' }) >= 2,
      { timeout: 15000 * SCALE, label: 'retried attempts' });
    assert.equal(await pg.sql('SELECT count(*) FROM retry_outbox'), '5');
    await engineRedis.start();
    await waitFor(async () => {
      const r = await api(srv, 'history', { channel: 'rt:x', limit: 100 }).catch(() => null);
      return r?.publications?.length === 5;
    }, { timeout: 20000 * SCALE, interval: 100, label: 'the 5 publications after Redis came back' });
    const h = await api(srv, 'history', { channel: 'rt:x', limit: 100 });
    assert.deepEqual(h.publications.map((p) => p.data.n), [0, 1, 2, 3, 4]);
    await waitFor(async () => (await pg.sql('SELECT count(*) FROM retry_outbox')) === '0', { label: 'all deleted' });
    assert.match(srv.logText(), /internal error, message will be retried/);
  });

  test('SIGKILL in the middle of 1,000 rows, restart: every publication once (idempotency keys)', async (t) => {
    const pg = await startPostgres({ name: 'consumers-pg-kill' });
    t.defer(() => pg.stop());
    const redis = await startRedis({ name: 'consumers-pg-kill-redis', aof: true });
    t.defer(() => redis.stop());
    await pg.sql(createTable('kill_outbox'));
    const N = 1000;
    const config = {
      engine: { type: 'redis', redis: { address: [redis.url] } },
      client: { recovery_max_publication_limit: 5000 },
      channel: { namespaces: [{ name: 'kk', ...ALLOW, history_size: 5000, history_ttl: '600s', force_recovery: true }] },
      consumers: [consumer('pgkill', pg, 'kill_outbox', { partition_select_limit: 50 })],
    };
    const first = await startServer({ name: 'consumers-pg-kill-1', config });
    t.defer(() => first.stop({ check: false }));
    const c = await connected('json', first.wsUrl, { token: connToken('u3'), minReconnectDelay: 50, maxReconnectDelay: 200 }, t);
    const got = [];
    (await subscribed(c, 'kk:kill')).on('publication', (ctx) => got.push(ctx.data.n));
    const rows = [];
    for (let n = 0; n < N; n++) {
      rows.push({ method: 'publish', payload: JSON.stringify({ channel: 'kk:kill', data: { n }, idempotency_key: `kill-${n}` }) });
    }
    await pg.sql(insert('kill_outbox', rows.slice(0, N / 2)));
    await waitFor(() => got.length >= 50, { timeout: 20000 * SCALE, label: 'the first publications' });
    await first.kill('SIGKILL');
    const killedAt = got.length;
    await pg.sql(insert('kill_outbox', rows.slice(N / 2)));

    const second = new GyreServer({ name: 'consumers-pg-kill-2', port: first.port, config });
    t.defer(() => second.stop({ check: false }));
    await second.start();
    await waitFor(async () => (await pg.sql('SELECT count(*) FROM kill_outbox')) === '0' &&
      (await api(second, 'history', { channel: 'kk:kill', limit: 5000 })).publications?.length >= N,
    { timeout: 30000 * SCALE, label: 'all rows processed and deleted' });
    const history = (await api(second, 'history', { channel: 'kk:kill', limit: 5000 })).publications;
    assert.equal(history.length, N, 'each row published once');
    assert.deepEqual(history.map((p) => p.data.n), [...Array(N).keys()], 'in id order');
    await waitFor(() => got.length >= N, { timeout: 20000 * SCALE, label: `${N} publications at the subscriber (killed at ${killedAt})` });
    assert.equal(got.length, N);
    assert.equal(new Set(got).size, N);
    await second.stop();
  });

  test('bad configuration: the error names the key', async () => {
    const dir = tempDir('gyre-e2e-consumers-pg-cfg-');
    const run = (name, pgBlock) => {
      const p = path.join(dir, name);
      fs.writeFileSync(p, JSON.stringify({ consumers: [{ name: 'pg', enabled: true, type: 'postgresql', postgresql: pgBlock }] }));
      return runGyre(['-c', p, '-a', '127.0.0.1', '-p', '0']);
    };
    const r1 = run('a.json', { dsn: 'postgres://127.0.0.1:1/x', outbox_table_name: 'outbox; DROP TABLE x' });
    assert.equal(r1.code, 1);
    assert.match(r1.stdout + r1.stderr, /consumers\[0\]\.postgresql\.outbox_table_name: /);
    const r2 = run('b.json', { dsn: 'nosuchoption=1', outbox_table_name: 'outbox' });
    assert.equal(r2.code, 1);
    assert.match(r2.stdout + r2.stderr, /consumers\[0\]\.postgresql\.dsn: .*nosuchoption/);
    const r3 = run('c.json', { dsn: 'postgres://127.0.0.1:1/x', outbox_table_name: 'outbox', tls: { enabled: true } });
    assert.equal(r3.code, 1);
    assert.match(r3.stdout + r3.stderr, /consumers\[0\]\.postgresql\.tls: not supported/);
    const r4 = runGyre(['checkconfig', '-c', (() => {
      const p = path.join(dir, 'd.json');
      fs.writeFileSync(p, JSON.stringify({ consumers: [{ name: 'pg', enabled: true, type: 'postgresql', postgresql: { partition_select_limit: -1 } }] }));
      return p;
    })()]);
    assert.notEqual(r4.code, 0);
    assert.match(r4.stdout + r4.stderr, /consumers\[0\]\.postgresql\.dsn/);
    assert.match(r4.stdout + r4.stderr, /consumers\[0\]\.postgresql\.partition_select_limit/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
