// Factories for the real SDK clients (npm `centrifuge` 5.8.0): the JSON build and the
// Protobuf build, with `ws` as the WebSocket, plus small bounded helpers to connect,
// subscribe and decode publication payloads the same way for both builds.
import { Centrifuge as CentrifugeJson } from 'centrifuge';
import { Centrifuge as CentrifugeProtobuf } from 'centrifuge/build/protobuf';
import WebSocket from 'ws';
import { SCALE, T, nextEvent, withTimeout } from './wait.js';

export { WebSocket };

// A WebSocket class that records every frame it receives and sends (to check the wire),
// and every socket it opens in `sockets` (to drop a connection from the client side).
export function recordingWebSocket(log = [], sockets = []) {
  return class RecordingWebSocket extends WebSocket {
    constructor(...args) {
      super(...args);
      sockets.push(this);
      this.on('message', (data, isBinary) => log.push({ dir: 'in', data: Buffer.from(data), isBinary }));
    }
    send(data, ...rest) {
      log.push({ dir: 'out', data: Buffer.from(typeof data === 'string' ? data : new Uint8Array(data)) });
      return super.send(data, ...rest);
    }
  };
}

const TEXT = new TextEncoder();
const UTF8 = new TextDecoder();

// Payloads: tests pass JS values; the Protobuf build carries bytes, so encode JSON text.
export function enc(format, value) {
  return format === 'protobuf' ? TEXT.encode(JSON.stringify(value)) : value;
}

// Decodes a received payload (publication data, rpc data…) to a JS value.
export function dec(format, data) {
  if (format === 'protobuf') {
    if (data === undefined || data === null) return data;
    const s = UTF8.decode(data);
    return s === '' ? undefined : JSON.parse(s);
  }
  return data;
}

// A new SDK client for `format` ('json' | 'protobuf'); `opts` go to the Centrifuge constructor.
export function newClient(format, url, opts = {}) {
  const Ctor = format === 'protobuf' ? CentrifugeProtobuf : CentrifugeJson;
  return new Ctor(url, {
    websocket: WebSocket,
    timeout: 5000 * SCALE,
    minReconnectDelay: 100,
    maxReconnectDelay: 500,
    ...opts,
  });
}

// Connects and waits for `connected` (rejects with the disconnect context otherwise).
export async function connect(client, timeout = T) {
  const connected = nextEvent(client, 'connected', { timeout });
  const disconnected = new Promise((_, reject) => {
    client.once('disconnected', (ctx) => reject(new Error(`disconnected: ${ctx.code} ${ctx.reason}`)));
  });
  client.connect();
  return withTimeout(Promise.race([connected, disconnected]), timeout, 'connected');
}

// newClient + connect; registers a disconnect with t.defer when `t` is given.
export async function connected(format, url, opts = {}, t) {
  const c = newClient(format, url, opts);
  if (t) t.defer(() => c.disconnect());
  const ctx = await connect(c);
  c.connectCtx = ctx;
  return c;
}

// Subscribes (client-side) and waits for `subscribed`; rejects on `unsubscribed`.
export async function subscribed(client, channel, opts = {}, timeout = T) {
  const sub = client.newSubscription(channel, opts);
  const ok = nextEvent(sub, 'subscribed', { timeout });
  const bad = new Promise((_, reject) => {
    sub.once('unsubscribed', (ctx) => reject(Object.assign(new Error(`unsubscribed: ${ctx.code} ${ctx.reason}`), ctx)));
  });
  sub.subscribe();
  const ctx = await withTimeout(Promise.race([ok, bad]), timeout, `subscribed to ${channel}`);
  sub.subscribedCtx = ctx;
  return sub;
}

// Subscribes and resolves with the first `error` or `unsubscribed` context (for refusals).
export async function subscribeError(client, channel, opts = {}, timeout = T) {
  const sub = client.newSubscription(channel, opts);
  const p = new Promise((resolve) => {
    sub.once('error', (ctx) => resolve({ kind: 'error', code: ctx.error?.code, ctx, sub }));
    sub.once('unsubscribed', (ctx) => resolve({ kind: 'unsubscribed', code: ctx.code, ctx, sub }));
    sub.once('subscribed', (ctx) => resolve({ kind: 'subscribed', ctx, sub }));
  });
  sub.subscribe();
  return withTimeout(p, timeout, `subscribe result of ${channel}`);
}

// Calls an SDK method returning a promise; resolves with {ok, value} or {ok:false, code, error}.
export async function settle(promise, timeout = T, label = 'SDK call') {
  try {
    return { ok: true, value: await withTimeout(promise, timeout, label) };
  } catch (e) {
    return { ok: false, code: e?.code, error: e };
  }
}
