// A raw WebSocket client speaking the client protocol by hand (JSON, or Protobuf through a
// tiny wire codec below), for what the SDK never sends: malformed frames, protocol
// violations, silence to pings, not reading at all. Every wait is bounded.
import WebSocket from 'ws';
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
