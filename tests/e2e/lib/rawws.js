// A raw WebSocket client speaking the client protocol by hand (JSON, or Protobuf through a
// tiny wire codec below), for what the SDK never sends: malformed frames, protocol
// violations, silence to pings, not reading at all. Every wait is bounded.
import WebSocket from 'ws';
import crypto from 'node:crypto';
import net from 'node:net';
import zlib from 'node:zlib';
import { T, waitFor, withTimeout } from './wait.js';

// ------------------------------------------------------------------ protobuf wire codec

export function varint(n) {
  const out = [];
  let v = BigInt(n);
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return Buffer.from(out);
}

function readVarint(buf, pos) {
  let result = 0n;
  let shift = 0n;
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) throw new Error('truncated varint');
    const b = buf[pos++];
    result |= BigInt(b & 0x7f) << shift;
    if (!(b & 0x80)) return [result, pos];
    shift += 7n;
  }
  throw new Error('varint too long');
}

// Encodes a message from a list of [field, kind, value]; kind: 'varint' | 'bytes' | 'msg'.
// 'bytes' takes a string or Buffer; 'msg' a nested list (an empty list still writes the field).
export function pbEncode(fields) {
  const parts = [];
  for (const [no, kind, value] of fields) {
    if (value === undefined || value === null) continue;
    if (kind === 'varint') {
      parts.push(varint((no << 3) | 0), varint(typeof value === 'boolean' ? Number(value) : value));
    } else {
      const body = kind === 'msg' ? pbEncode(value) : Buffer.from(value);
      parts.push(varint((no << 3) | 2), varint(body.length), body);
    }
  }
  return Buffer.concat(parts);
}

// Decodes to {field: [values]} with varints as Numbers and length-delimited as Buffers.
export function pbDecode(buf) {
  const out = {};
  let pos = 0;
  while (pos < buf.length) {
    let key;
    [key, pos] = readVarint(buf, pos);
    const no = Number(key >> 3n);
    const wt = Number(key & 7n);
    let v;
    if (wt === 0) {
      [v, pos] = readVarint(buf, pos);
      v = Number(v);
    } else if (wt === 2) {
      let len;
      [len, pos] = readVarint(buf, pos);
      v = buf.subarray(pos, pos + Number(len));
      pos += Number(len);
    } else if (wt === 1) {
      v = buf.subarray(pos, pos + 8);
      pos += 8;
    } else if (wt === 5) {
      v = buf.subarray(pos, pos + 4);
      pos += 4;
    } else {
      throw new Error(`bad wire type ${wt}`);
    }
    (out[no] ||= []).push(v);
  }
  return out;
}

// Splits a varint-length-prefixed batch.
export function pbSplit(buf) {
  const msgs = [];
  let pos = 0;
  while (pos < buf.length) {
    let len;
    [len, pos] = readVarint(buf, pos);
    msgs.push(buf.subarray(pos, pos + Number(len)));
    pos += Number(len);
  }
  return msgs;
}

export function pbFrame(messages) {
  return Buffer.concat(messages.flatMap((m) => [varint(m.length), m]));
}

const first = (m, no) => (m[no] ? m[no][0] : undefined);
const str = (m, no) => (m[no] ? m[no][0].toString('utf8') : undefined);

// A Protobuf Reply turned into the JSON shape (subset of fields the raw tests look at).
export function pbReplyToJson(buf) {
  const r = pbDecode(buf);
  const out = {};
  if (first(r, 1)) out.id = first(r, 1);
  if (r[2]) {
    const e = pbDecode(first(r, 2));
    out.error = { code: first(e, 1) || 0, message: str(e, 2) || '' };
  }
  if (r[4]) {
    const p = pbDecode(first(r, 4));
    const push = {};
    if (p[2]) push.channel = str(p, 2);
    if (p[4]) {
      const pub = pbDecode(first(p, 4));
      push.pub = { data: first(pub, 4) || Buffer.alloc(0) };
      if (pub[6]) push.pub.offset = first(pub, 6);
      if (pub[8]) push.pub.delta = !!first(pub, 8);
    }
    if (p[7]) {
      const u = pbDecode(first(p, 7));
      push.unsubscribe = { code: first(u, 2), reason: str(u, 3) };
    }
    if (p[8]) push.message = { data: first(pbDecode(first(p, 8)), 1) };
    out.push = push;
  }
  if (r[5]) {
    const c = pbDecode(first(r, 5));
    out.connect = { client: str(c, 1), ping: first(c, 7), pong: !!first(c, 8) };
  }
  if (r[6]) {
    const s = pbDecode(first(r, 6));
    out.subscribe = { delta: !!first(s, 13), offset: first(s, 9), epoch: str(s, 6) };
  }
  if (r[8]) out.publish = {};
  return out;
}

// A JSON-shaped command to Protobuf bytes (connect, subscribe, publish, unsubscribe, pong).
export function pbCommand(cmd) {
  const f = [];
  if (cmd.id) f.push([1, 'varint', cmd.id]);
  if (cmd.connect) {
    const c = cmd.connect;
    f.push([4, 'msg', [[1, 'bytes', c.token], [4, 'bytes', c.name]]]);
  }
  if (cmd.subscribe) {
    const s = cmd.subscribe;
    f.push([5, 'msg', [[1, 'bytes', s.channel], [12, 'bytes', s.delta], [14, 'varint', s.flag]]]);
  }
  if (cmd.unsubscribe) f.push([6, 'msg', [[1, 'bytes', cmd.unsubscribe.channel]]]);
  if (cmd.publish) {
    const p = cmd.publish;
    const data = typeof p.data === 'string' || Buffer.isBuffer(p.data) ? p.data : JSON.stringify(p.data);
    f.push([7, 'msg', [[1, 'bytes', p.channel], [2, 'bytes', data]]]);
  }
  return pbEncode(f);
}

// ------------------------------------------------------------------ raw client

export class RawClient {
  // format: 'json' | 'protobuf'; protocols: WS subprotocols; query: appended to the URL.
  constructor(url, { format = 'json', protocols, query = '', headers, autoPong = true } = {}) {
    this.format = format;
    this.autoPong = autoPong;
    this.replies = []; // decoded replies and pushes, in order
    this.frames = []; // raw incoming frames {data, isBinary}
    this.closed = null; // {code, reason}
    this.pings = 0;
    // A Protobuf client without a subprotocol or query of its own selects it by query.
    if (format === 'protobuf' && !protocols && !query) query = 'cf_protocol=protobuf';
    const full = query ? `${url}${url.includes('?') ? '&' : '?'}${query}` : url;
    this.ws = new WebSocket(full, protocols, { headers, maxPayload: 1 << 26 });
    this.ws.on('message', (data, isBinary) => this._onMessage(Buffer.from(data), isBinary));
    this.ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
    });
    this.ws.on('error', (e) => {
      this.error = e;
    });
    this.ws.on('unexpected-response', (req, res) => {
      this.httpStatus = res.statusCode;
      res.resume();
      this.closed = { code: -1, reason: `HTTP ${res.statusCode}` };
    });
  }

  opened(timeout = T) {
    return withTimeout(
      new Promise((resolve, reject) => {
        if (this.ws.readyState === WebSocket.OPEN) return resolve(this);
        this.ws.once('open', () => resolve(this));
        this.ws.once('error', reject);
        this.ws.once('unexpected-response', (req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      }),
      timeout,
      'raw websocket open',
    );
  }

  _onMessage(data, isBinary) {
    this.frames.push({ data, isBinary });
    let msgs;
    if (this.format === 'protobuf') {
      msgs = pbSplit(data).map(pbReplyToJson);
    } else {
      msgs = data
        .toString('utf8')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l));
    }
    for (const m of msgs) {
      const isPing = !m.id && !m.push && !m.error && Object.keys(m).length === 0;
      if (isPing) {
        this.pings++;
        if (this.autoPong) this.sendRaw(this.format === 'protobuf' ? Buffer.from([0]) : '{}');
        continue;
      }
      this.replies.push(m);
    }
  }

  sendRaw(data, opts) {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(data, opts);
  }

  // Sends commands (JSON-shaped objects) in one frame, encoded for this client's format.
  send(...cmds) {
    if (this.format === 'protobuf') this.sendRaw(pbFrame(cmds.map(pbCommand)), { binary: true });
    else this.sendRaw(cmds.map((c) => JSON.stringify(c)).join('\n'));
  }

  reply(id, timeout = T) {
    return waitFor(() => {
      const r = this.replies.find((x) => x.id === id);
      if (r) return r;
      if (this.closed) throw Object.assign(new Error(`closed ${JSON.stringify(this.closed)} before reply ${id}`), { fatal: true });
      return null;
    }, {
      timeout,
      label: `reply ${id}`,
    });
  }

  pushes(pred = () => true) {
    return this.replies.filter((r) => r.push && pred(r.push));
  }

  waitPushes(n, pred = () => true, timeout = T) {
    return waitFor(() => {
      const p = this.pushes(pred);
      return p.length >= n ? p : null;
    }, { timeout, label: `${n} pushes (have ${this.pushes(pred).length})` });
  }

  waitClose(timeout = T) {
    return waitFor(() => this.closed, { timeout, label: 'close' });
  }

  // connect (id 1) and wait for its reply.
  async connect(token, timeout = T) {
    await this.opened(timeout);
    this.send({ id: 1, connect: token ? { token, name: 'raw' } : { name: 'raw' } });
    const r = await this.reply(1, timeout);
    if (r.error) throw new Error(`connect error ${JSON.stringify(r.error)}`);
    return r;
  }

  close() {
    try {
      this.ws.terminate();
    } catch {}
  }
}

export async function rawClient(url, opts) {
  const c = new RawClient(url, opts);
  await c.opened();
  return c;
}

// ------------------------------------------------------------------ frame-level client

// A WebSocket client on a bare TCP socket, for what even `ws` refuses to send: frames with
// RSV1 set anywhere, hand-made compressed (permessage-deflate) messages, deflate bombs.
// `extensions` is the Sec-WebSocket-Extensions offer. Incoming frames are recorded as
// {fin, rsv1, op, payload}; `closeCode` is set from the server's close frame.
export class FrameSocket {
  constructor(url, { extensions = 'permessage-deflate', protocol } = {}) {
    const u = new URL(url);
    this.frames = [];
    this.closeCode = null;
    this.ended = false;
    this.response = null; // the 101 response head
    this._buf = Buffer.alloc(0);
    this._sock = net.connect(Number(u.port), u.hostname);
    this._sock.on('error', (e) => {
      this.error = e;
    });
    this._sock.on('close', () => {
      this.ended = true;
    });
    const key = crypto.randomBytes(16).toString('base64');
    const head = [
      `GET ${u.pathname}${u.search} HTTP/1.1`,
      `Host: ${u.host}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Key: ${key}`,
      'Sec-WebSocket-Version: 13',
    ];
    if (extensions) head.push(`Sec-WebSocket-Extensions: ${extensions}`);
    if (protocol) head.push(`Sec-WebSocket-Protocol: ${protocol}`);
    this._sock.on('connect', () => this._sock.write(head.join('\r\n') + '\r\n\r\n'));
    this._sock.on('data', (d) => this._onData(d));
  }

  // Waits for the 101 response; returns the negotiated Sec-WebSocket-Extensions ('' if none).
  async opened(timeout = T) {
    await waitFor(() => this.response || this.ended, { timeout, label: 'upgrade response' });
    if (!this.response || !this.response.startsWith('HTTP/1.1 101')) throw new Error(`no upgrade: ${this.response}`);
    const m = /\r\nSec-WebSocket-Extensions: ([^\r]*)/i.exec(this.response);
    return m ? m[1] : '';
  }

  _onData(d) {
    this._buf = Buffer.concat([this._buf, d]);
    if (!this.response) {
      const end = this._buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      this.response = this._buf.subarray(0, end).toString('latin1');
      this._buf = this._buf.subarray(end + 4);
    }
    for (;;) {
      const b = this._buf;
      if (b.length < 2) return;
      let len = b[1] & 0x7f;
      let pos = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        pos = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        len = Number(b.readBigUInt64BE(2));
        pos = 10;
      }
      if (b.length < pos + len) return;
      const f = { fin: !!(b[0] & 0x80), rsv1: !!(b[0] & 0x40), op: b[0] & 0x0f, payload: b.subarray(pos, pos + len) };
      this._buf = b.subarray(pos + len);
      if (f.op === 8 && this.closeCode === null) this.closeCode = len >= 2 ? f.payload.readUInt16BE(0) : 1005;
      this.frames.push(f);
    }
  }

  // Sends one masked frame. op: 1 text, 2 binary, 0 continuation, 8 close, 9 ping, 10 pong.
  sendFrame({ op = 1, payload = Buffer.alloc(0), fin = true, rsv1 = false }) {
    const data = Buffer.from(payload);
    const len = data.length;
    const head = [((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | op)];
    if (len < 126) head.push(0x80 | len);
    else if (len <= 0xffff) head.push(0x80 | 126, len >> 8, len & 0xff);
    else {
      head.push(0x80 | 127);
      const l = Buffer.alloc(8);
      l.writeBigUInt64BE(BigInt(len));
      head.push(...l);
    }
    const mask = crypto.randomBytes(4);
    const masked = Buffer.alloc(len);
    for (let i = 0; i < len; i++) masked[i] = data[i] ^ mask[i & 3];
    this._sock.write(Buffer.concat([Buffer.from(head), mask, masked]));
  }

  // Whole data messages received so far (fragments joined, compressed ones inflated with a
  // fresh context each: the server never uses context takeover), as {rsv1, data}.
  messages() {
    const out = [];
    let cur = null;
    for (const f of this.frames) {
      if (f.op === 1 || f.op === 2) cur = { rsv1: f.rsv1, parts: [f.payload] };
      else if (f.op === 0 && cur) cur.parts.push(f.payload);
      else continue;
      if (f.fin) {
        const body = Buffer.concat(cur.parts);
        out.push({ rsv1: cur.rsv1, data: cur.rsv1 ? inflateMessage(body) : body });
        cur = null;
      }
    }
    return out;
  }

  waitClose(timeout = T) {
    return waitFor(() => (this.closeCode !== null ? this.closeCode : this.ended ? 1006 : null), { timeout, label: 'close frame' });
  }

  close() {
    this._sock.destroy();
  }
}

// permessage-deflate bodies: raw deflate, sync-flushed, without the 00 00 ff ff tail.
export function deflateMessage(data) {
  const out = zlib.deflateRawSync(Buffer.from(data), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  return out.subarray(0, out.length - 4);
}
export function inflateMessage(body) {
  return zlib.inflateRawSync(Buffer.concat([body, Buffer.from([0, 0, 0xff, 0xff])]), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
}
