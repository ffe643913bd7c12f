// Several build/gyre nodes sharing one engine configuration (Redis, NATS): started side by
// side, each on its own port, and "ready" once every node's `info` lists all of them (node
// heartbeats go out every 3 s, so this takes up to ~3 s after the last start).
import { after, before } from 'node:test';
import { api, metricValue, metrics } from './api.js';
import { startServer } from './server.js';
import { SCALE, waitFor } from './wait.js';

// Waits until `info` on every server lists exactly the uids of all of them.
export async function waitForMesh(servers, { timeout = 10000 * SCALE } = {}) {
  const uids = new Map();
  await waitFor(async () => {
    const lists = await Promise.all(servers.map((s) => api(s, 'info', {})));
    for (const [i, r] of lists.entries()) uids.set(servers[i], r.nodes[0].uid);
    return lists.every((r) => r.nodes.length === servers.length);
  }, { timeout, label: `info on each of ${servers.length} nodes to list all of them` });
  for (const s of servers) s.uid = uids.get(s);
  return servers;
}

// Starts `count` nodes named `${name}-a`, `-b`, … with the same config; waits for the mesh.
export async function startNodes(count, { name = 'node', config = {}, mesh = true } = {}) {
  const servers = [];
  try {
    for (let i = 0; i < count; i++) {
      servers.push(await startServer({ name: `${name}-${String.fromCharCode(97 + i)}`, config }));
    }
    if (mesh) await waitForMesh(servers);
  } catch (e) {
    await stopNodes(servers, { check: false });
    throw e;
  }
  return servers;
}

// Stops every node; rethrows the first failure (a node that crashed or did not exit 0).
export async function stopNodes(servers, { check = true } = {}) {
  const results = await Promise.allSettled(servers.map((s) => s.stop({ check })));
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}

// For a describe block: `setup()` starts the backing services and returns
// {config, teardown}; then `count` nodes start. h.nodes is the array once started.
export function useNodes(count, name, setup) {
  const h = { nodes: [], teardown: null, extra: null };
  before(async () => {
    const s = await setup();
    h.teardown = s.teardown;
    h.extra = s;
    try {
      h.nodes = await startNodes(count, { name, config: s.config });
    } catch (e) {
      if (h.teardown) await h.teardown();
      h.teardown = null;
      throw e;
    }
  }, { timeout: 60000 * SCALE });
  after(async () => {
    let err = null;
    try {
      await stopNodes(h.nodes);
    } catch (e) {
      err = e;
    }
    if (h.teardown) await h.teardown();
    if (err) throw err;
  }, { timeout: 60000 * SCALE });
  return h;
}

// GET /health → {status, body} (body parsed when JSON: {} or {"errors": [...]}).
export async function health(srv) {
  const r = await fetch(`${srv.url}/health`, { signal: AbortSignal.timeout(5000 * SCALE) });
  const text = await r.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: r.status, body, text };
}

// The gyre_engine_healthy gauge of a node (1 while every engine part is up, else 0).
export async function engineHealthy(srv) {
  return metricValue((await metrics(srv)).text, 'gyre_engine_healthy');
}

// Waits until every node's /health answers `status` and gyre_engine_healthy agrees.
export async function waitForHealth(servers, status, { timeout = 15000 * SCALE } = {}) {
  const want = status === 200 ? 1 : 0;
  await waitFor(async () => {
    for (const s of servers) {
      if ((await health(s)).status !== status || (await engineHealthy(s)) !== want) return false;
    }
    return true;
  }, { timeout, label: `/health ${status} and gyre_engine_healthy ${want} on ${servers.map((s) => s.name).join(', ')}` });
}
