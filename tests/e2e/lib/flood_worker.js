// A worker thread that floods a Gyre server from raw TCP sockets that never read what the
// server sends (see lib/flood.js). It speaks just enough WebSocket for that: the upgrade
// request, masked client frames, and, for the command flood, reading the connect reply
// before it stops reading for good. Every wait is bounded by `durationMs`.
import net from 'node:net';
import crypto from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';

const { host, port, path, kind, connections, durationMs, token, channel, commandsPerFrame } = workerData;

// A masked client frame.
function frame(opcode, payload) {
  const body = Buffer.from(payload);
  const n = body.length;
  const head = n < 126 ? Buffer.from([0x80 | opcode, 0x80 | n]) : n < 65536
    ? Buffer.from([0x80 | opcode, 0x80 | 126, n >> 8, n & 0xff])
    : Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | 127]), (() => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(n)); return b; })()]);
  const mask = crypto.randomBytes(4);
  const masked = Buffer.alloc(n);
  for (let i = 0; i < n; i++) masked[i] = body[i] ^ mask[i & 3];
  return Buffer.concat([head, mask, masked]);
}

// What one socket writes, over and over.
function floodChunk() {
  if (kind === 'pings') {
    const ping = frame(0x9, '');
    return Buffer.concat(Array.from({ length: 16384 }, () => ping)); // 96 KiB of pings
  }
  const lines = [];
  for (let i = 0; i < commandsPerFrame; i++) lines.push(JSON.stringify({ id: 2 + i, history: { channel, limit: 100 } }));
  const one = frame(0x1, lines.join('\n'));
  return Buffer.concat(Array.from({ length: Math.max(1, Math.floor(65536 / one.length)) }, () => one));
}

function opened(deadline) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, host);
    let buf = Buffer.alloc(0);
    let upgraded = false;
    const timer = setTimeout(() => reject(new Error('flood socket: no upgrade / connect reply in time')), Math.max(1, deadline - Date.now()));
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.on('connect', () => {
      const key = crypto.randomBytes(16).toString('base64');
      sock.write(`GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    });
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (!upgraded) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        if (!buf.subarray(0, 12).toString().includes('101')) return reject(new Error(`upgrade refused: ${buf.toString().slice(0, 80)}`));
        upgraded = true;
        buf = buf.subarray(end + 4);
        if (kind !== 'commands') return done();
        sock.write(frame(0x1, JSON.stringify({ id: 1, connect: { token, name: 'flooder' } })));
      }
      if (kind === 'commands' && buf.includes('"connect":')) done();
    });
    function done() {
      clearTimeout(timer);
      sock.removeAllListeners('data');
      sock.pause(); // never read again
      resolve(sock);
    }
  });
}

async function flood(sock, chunk, deadline) {
  let written = 0;
  let closed = false;
  sock.on('close', () => {
    closed = true;
  });
  sock.on('error', () => {
    closed = true;
  });
  while (!closed && Date.now() < deadline) {
    const ok = sock.write(chunk);
    written += chunk.length;
    if (!ok) {
      // The server stopped reading (or reads slower): wait for room, or the end.
      await new Promise((resolve) => {
        const finish = () => {
          clearTimeout(t);
          sock.off('drain', finish);
          sock.off('close', finish);
          resolve();
        };
        const t = setTimeout(finish, Math.max(1, deadline - Date.now()));
        sock.on('drain', finish);
        sock.on('close', finish);
      });
    } else {
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  return { written, closedByServer: closed };
}

const deadline = Date.now() + durationMs;
try {
  const socks = await Promise.all(Array.from({ length: connections }, () => opened(deadline)));
  parentPort.postMessage({ type: 'started' });
  const chunk = floodChunk();
  const results = await Promise.all(socks.map((s) => flood(s, chunk, deadline)));
  for (const s of socks) s.destroy();
  parentPort.postMessage({ type: 'done', results });
} catch (e) {
  parentPort.postMessage({ type: 'error', message: e.message });
}
