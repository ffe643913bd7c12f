// Floods from clients that never read, for the flow-control tests: a worker thread (so that
// the flood does not slow down the test's own event loop, which measures latency) opens
// `connections` raw WebSocket sockets and writes pings or pipelined `history` commands as
// fast as the server takes them, never reading a byte, for `durationMs`. Also: the
// server's resident memory (VmRSS of its process), read from /proc.
import fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { HOST } from './server.js';
import { withTimeout } from './wait.js';

// kind: 'pings' (WebSocket pings, no connect) | 'commands' (connect with `token`, then
// `commandsPerFrame` history commands for `channel` per message).
// Returns { started: Promise, done: Promise<[{written, closedByServer}]>, stop() }; stop()
// ends the flood at once (done then rejects).
export function startFlood(srv, { kind, connections = 4, durationMs = 4000, token, channel, commandsPerFrame = 20 }) {
  const worker = new Worker(new URL('./flood_worker.js', import.meta.url), {
    workerData: {
      host: HOST,
      port: srv.port,
      path: '/connection/websocket',
      kind,
      connections,
      durationMs,
      token,
      channel,
      commandsPerFrame,
    },
  });
  let resolveStarted, rejectStarted, resolveDone, rejectDone;
  const started = new Promise((resolve, reject) => {
    resolveStarted = resolve;
    rejectStarted = reject;
  });
  const done = new Promise((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });
  started.catch(() => {});
  done.catch(() => {});
  const fail = (e) => {
    rejectStarted(e);
    rejectDone(e);
  };
  worker.on('message', (m) => {
    if (m.type === 'started') resolveStarted();
    else if (m.type === 'done') resolveDone(m.results);
    else if (m.type === 'error') fail(new Error(`flood worker: ${m.message}`));
  });
  worker.on('error', fail);
  return {
    started: withTimeout(started, durationMs + 10000, 'flood sockets to open'),
    done: withTimeout(done, durationMs + 20000, 'flood to end'),
    stop: () => {
      fail(new Error('flood stopped'));
      return worker.terminate();
    },
  };
}

// The server's resident set in bytes.
export function rssBytes(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = status.match(/^VmRSS:\s+(\d+)\s+kB/m);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
