// Async consumers end to end (docs/consumers.md): commands/s that Gyre executes from a
// Redis stream and from a NATS JetStream stream into a channel with one subscribed SDK
// client, and the latency from XADD / publish to receipt by that client (p50, p99) at a
// paced 1,000 commands/s. Also Gyre's CPU time per command (from /proc), which is steadier
// than rates on a shared machine. Starts its own redis-server, nats-server -js and gyre on
// loopback (the e2e test helpers). Run through bench/consumers.sh.
import fs from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { GyreServer, tempDir } from '../tests/e2e/lib/server.js';
import { startRedis, redisPipeline } from '../tests/e2e/lib/redis.js';
import { startNats } from '../tests/e2e/lib/nats.js';
import { NatsClient } from '../tests/e2e/lib/nats_client.js';
import { connToken } from '../tests/e2e/lib/tokens.js';
import { connected, subscribed } from '../tests/e2e/lib/sdk.js';
import { waitFor } from '../tests/e2e/lib/wait.js';

const N = Number(process.env.N || 50000); // burst size
const RATE = Number(process.env.RATE || 1000); // paced latency run, commands/s
const SECONDS = Number(process.env.SECONDS_PACED || 5);

function cpuMs(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime + stime, 100 Hz ticks
}
const pct = (a, p) => a[Math.min(a.length - 1, Math.floor((a.length * p) / 100))];

async function run(label, gyre, send) {
  const c = await connected('json', gyre.wsUrl, { token: connToken('bench') });
  const lat = [];
  let got = 0;
  (await subscribed(c, 'bench')).on('publication', (ctx) => {
    got++;
    if (ctx.data.t) lat.push(performance.now() - ctx.data.t);
  });
  // Burst: N commands as fast as the source takes them.
  const cpu0 = cpuMs(gyre.proc.pid);
  const t0 = performance.now();
  await send(0, N, false);
  await waitFor(() => got >= N, { timeout: 300000, interval: 50, label: `${label}: ${N} publications` });
  const secs = (performance.now() - t0) / 1000;
  const cpu = cpuMs(gyre.proc.pid) - cpu0;
  // Paced: RATE commands/s for SECONDS, each stamped with its send time.
  lat.length = 0;
  got = 0;
  const total = RATE * SECONDS;
  const start = performance.now();
  for (let i = 0; i < total; i += RATE / 100) {
    const due = start + (i / RATE) * 1000;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    await send(i, i + RATE / 100, true);
  }
  await waitFor(() => got >= total, { timeout: 60000, label: `${label}: paced publications` });
  lat.sort((a, b) => a - b);
  c.disconnect();
  const r = {
    label,
    commands_per_s: Math.round(N / secs),
    gyre_cpu_us_per_command: Number(((cpu * 1000) / N).toFixed(1)),
    paced_rate: RATE,
    latency_p50_ms: Number(pct(lat, 50).toFixed(2)),
    latency_p99_ms: Number(pct(lat, 99).toFixed(2)),
    loadavg: os.loadavg().map((x) => x.toFixed(2)).join(' '),
  };
  console.log(JSON.stringify(r));
  return r;
}

function payload(i, stamp) {
  return JSON.stringify({ channel: 'bench', data: stamp ? { i, t: performance.now() } : { i } });
}

const redis = await startRedis({ name: 'bench-redis' });
const store = tempDir('gyre-bench-js-');
const nats = await startNats({ name: 'bench-nats', args: ['-js', '-sd', store] });
const nc = await new NatsClient(nats.port).connect();
const created = await nc.jsApi('$JS.API.STREAM.CREATE.BENCH', { name: 'BENCH', subjects: ['bench.>'], storage: 'file' });
if (created.error) throw new Error(JSON.stringify(created.error));
const config = {
  log: { level: 'warn' },
  client: { insecure: true },
  channel: { without_namespace: { allow_subscribe_for_client: true } },
  consumers: [
    { name: 'rs', enabled: true, type: 'redis_stream', redis_stream: { address: [redis.url], streams: ['bench'], consumer_group: 'g' } },
    { name: 'js', enabled: true, type: 'nats_jetstream', nats_jetstream: { url: nats.url, stream_name: 'BENCH', durable_consumer_name: 'bench', max_ack_pending: 1000 } },
  ],
};
const gyre = await new GyreServer({ name: 'bench-consumers', config }).start();
try {
  await waitFor(async () => {
    try {
      return (await redis.command('XINFO', 'GROUPS', 'bench')).length > 0;
    } catch {
      return false;
    }
  }, { timeout: 10000, label: 'consumer group' });
  await run('redis_stream', gyre, async (from, to, stamp) => {
    const cmds = [];
    for (let i = from; i < to; i++) cmds.push(['XADD', 'bench', '*', 'method', 'publish', 'payload', payload(i, stamp)]);
    for (let k = 0; k < cmds.length; k += 5000) await redisPipeline(redis.port, cmds.slice(k, k + 5000), { timeout: 60000 });
  });
  await run('nats_jetstream', gyre, async (from, to, stamp) => {
    for (let k = from; k < to; k += 1000) {
      const acks = [];
      for (let i = k; i < Math.min(to, k + 1000); i++)
        acks.push(nc.publish('bench.x', payload(i, stamp), { 'centrifugo-method': 'publish' }, { reply: true, timeout: 60000 }));
      await Promise.all(acks);
    }
  });
} finally {
  await gyre.stop({ check: false });
  nc.close();
  await nats.stop();
  await redis.stop();
  fs.rmSync(store, { recursive: true, force: true });
}
