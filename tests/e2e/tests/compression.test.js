// permessage-deflate on the WebSocket transport (websocket.compression, docs/compression.md):
// the real SDKs over `ws` with compression (context takeover on and off, compressed commands
// and publications), the wire seen by a frame-level client (compressed frames above
// websocket.compression_min_size only, the same frame for every subscriber, replies plain),
// and bad input: a deflate bomb (1009), RSV1 on a ping or a continuation frame (1002),
// corrupt compressed data (1007), while a well-behaved client keeps receiving.
import assert from 'node:assert/strict';
import { describe, test, useServer, FORMATS } from '../lib/test.js';
import { connToken } from '../lib/tokens.js';
import { connected, dec, enc, subscribed, WebSocket } from '../lib/sdk.js';
import { FrameSocket, deflateMessage } from '../lib/rawws.js';
import { api } from '../lib/api.js';
import { nextEvent, waitFor } from '../lib/wait.js';

const ALLOW = { allow_subscribe_for_client: true, allow_publish_for_subscriber: true };
const MIN_SIZE = 200;
const config = {
  websocket: { compression: true, compression_min_size: MIN_SIZE, compression_level: 1, message_size_limit: 16384 },
  channel: { without_namespace: ALLOW },
};

// A ~1 KB JSON payload.
function bigPayload(n) {
  const items = [];
  for (let i = 0; i < 12; i++) items.push({ id: `${n}-${i}`, name: `item number ${i}`, price: 10 + i, tags: ['a', 'b'] });
  return { n, items };
}

// `ws` with permessage-deflate compressing every message it sends; records its sockets.
function deflatingWebSocket(sockets, clientNoContextTakeover) {
  return class DeflatingWebSocket extends WebSocket {
    constructor(url, protocols) {
      super(url, protocols, { perMessageDeflate: { threshold: 0, clientNoContextTakeover } });
      sockets.push(this);
    }
  };
}

// A frame-level client, connected (JSON) and subscribed to `channel`.
async function frameClient(h, t, channel, user = 'fs') {
  const s = new FrameSocket(h.wsUrl);
  t.defer(() => s.close());
  const ext = await s.opened();
  s.sendFrame({ op: 1, payload: JSON.stringify({ id: 1, connect: { token: connToken(user) } }) });
  if (channel) s.sendFrame({ op: 1, payload: JSON.stringify({ id: 2, subscribe: { channel } }) });
  await waitFor(() => s.messages().filter((m) => /"id":\d/.test(m.data.toString())).length >= (channel ? 2 : 1), { label: 'replies' });
  return { s, ext };
}

const pushesOf = (s) =>
  s.messages().flatMap((m) => m.data.toString().split('\n').filter((l) => l.includes('"push"')).map((l) => ({ rsv1: m.rsv1, push: JSON.parse(l).push })));

describe('permessage-deflate', () => {
  const h = useServer({ name: 'compression', config });

  for (const format of FORMATS) {
    for (const noTakeover of [false, true]) {
      test(`[${format}] the SDK over a compressing WebSocket (client_no_context_takeover ${noTakeover})`, async (t) => {
        const sockets = [];
        const ch = `deflate-sdk-${format}-${noTakeover}`;
        const c = await connected(format, h.wsUrl, { token: connToken('sdk'), websocket: deflatingWebSocket(sockets, noTakeover) }, t);
        assert.match(sockets[0].extensions, /permessage-deflate/);
        const s = await subscribed(c, ch);
        const got = [];
        s.on('publication', (ctx) => got.push(dec(format, ctx.data)));
        const sent = [bigPayload(1), { small: 1 }, bigPayload(2)];
        for (const data of sent) await api(h.srv, 'publish', { channel: ch, data });
        // Compressed commands from the client, the context kept between them unless told.
        for (let i = 0; i < 3; i++) await s.publish(enc(format, bigPayload(10 + i)));
        await waitFor(() => got.length >= 6, { label: `6 publications (have ${got.length})` });
        assert.deepEqual(got, [...sent, bigPayload(10), bigPayload(11), bigPayload(12)]);
        assert.equal(c.state, 'connected');
      });
    }
  }

  test('the wire: publications above compression_min_size compressed, the same frame for every subscriber, replies plain', async (t) => {
    const ch = 'deflate-wire';
    const a = await frameClient(h, t, ch, 'a');
    const b = await frameClient(h, t, ch, 'b');
    assert.equal(a.ext, 'permessage-deflate; server_no_context_takeover');
    // Replies (connect, subscribe) are small and go plain.
    assert.ok(a.s.messages().every((m) => !m.rsv1));
    await api(h.srv, 'publish', { channel: ch, data: bigPayload(1) });
    await api(h.srv, 'publish', { channel: ch, data: { tiny: true } });
    for (const c of [a, b]) await waitFor(() => pushesOf(c.s).length >= 2, { label: 'two pushes' });
    for (const c of [a, b]) {
      const p = pushesOf(c.s);
      assert.equal(p[0].rsv1, true, 'the 1 KB publication is compressed');
      assert.deepEqual(p[0].push.pub.data, bigPayload(1));
      assert.equal(p[1].rsv1, false, 'below compression_min_size: plain');
      assert.deepEqual(p[1].push.pub.data, { tiny: true });
    }
    const frameOf = (c) => c.s.frames.find((f) => f.rsv1).payload;
    assert.ok(frameOf(a).length < JSON.stringify(bigPayload(1)).length / 2, `compressed size ${frameOf(a).length}`);
    assert.deepEqual(frameOf(a), frameOf(b), 'one compressed frame shared by both subscribers');
  });

  test('negotiation: offers with client_no_context_takeover, server_max_window_bits, malformed ones', async (t) => {
    const offer = async (extensions) => {
      const s = new FrameSocket(h.wsUrl, { extensions });
      t.defer(() => s.close());
      return s.opened();
    };
    assert.equal(await offer('permessage-deflate; client_no_context_takeover; client_max_window_bits'),
      'permessage-deflate; server_no_context_takeover; client_no_context_takeover');
    assert.equal(await offer('permessage-deflate; server_max_window_bits=15'),
      'permessage-deflate; server_no_context_takeover; server_max_window_bits=15');
    assert.equal(await offer('permessage-deflate; server_max_window_bits=9, permessage-deflate'),
      'permessage-deflate; server_no_context_takeover');
    for (const bad of ['permessage-deflate; bogus', 'permessage-deflate; client_max_window_bits=99', 'x-other'])
      assert.equal(await offer(bad), '', bad);
    // Declined: the connection works uncompressed.
    const s = new FrameSocket(h.wsUrl, { extensions: 'permessage-deflate; bogus' });
    t.defer(() => s.close());
    await s.opened();
    s.sendFrame({ op: 1, payload: JSON.stringify({ id: 1, connect: { token: connToken('plain') } }) });
    await waitFor(() => s.messages().length >= 1, { label: 'connect reply' });
    assert.match(s.messages()[0].data.toString(), /"connect"/);
    // RSV1 without the extension: 1002.
    s.sendFrame({ op: 1, payload: deflateMessage('{}'), rsv1: true });
    assert.equal(await s.waitClose(), 1002);
  });

  test('a fragmented compressed command', async (t) => {
    const s = new FrameSocket(h.wsUrl);
    t.defer(() => s.close());
    await s.opened();
    const body = deflateMessage(JSON.stringify({ id: 1, connect: { token: connToken('frag'), name: 'x'.repeat(300) } }));
    const cut1 = 5, cut2 = Math.floor(body.length / 2);
    s.sendFrame({ op: 1, payload: body.subarray(0, cut1), fin: false, rsv1: true });
    s.sendFrame({ op: 9, payload: 'ping between fragments' });
    s.sendFrame({ op: 0, payload: body.subarray(cut1, cut2), fin: false });
    s.sendFrame({ op: 0, payload: body.subarray(cut2), fin: true });
    await waitFor(() => s.messages().length >= 1, { label: 'connect reply' });
    assert.match(s.messages()[0].data.toString(), /"connect":\{"client"/);
    assert.ok(s.frames.some((f) => f.op === 10), 'pong');
  });

  test('bad input: deflate bomb 1009, RSV1 on ping / continuation 1002, corrupt data 1007; others unaffected', async (t) => {
    const ch = 'deflate-bad';
    const sockets = [];
    const good = await connected('json', h.wsUrl, { token: connToken('good'), websocket: deflatingWebSocket(sockets, false) }, t);
    const sub = await subscribed(good, ch);
    const cases = [
      // 16 MB of zeros deflate to ~16 KB: under message_size_limit compressed, far over
      // the decompressed limit (10 × message_size_limit).
      ['deflate bomb', (s) => s.sendFrame({ op: 1, payload: deflateMessage(Buffer.alloc(16 << 20, 0x20)).subarray(0, 16000), rsv1: true }), 1009],
      ['RSV1 on a ping', (s) => s.sendFrame({ op: 9, payload: 'x', rsv1: true }), 1002],
      ['RSV1 on a continuation', (s) => {
        const body = deflateMessage('{"id":5,"rpc":{}}');
        s.sendFrame({ op: 1, payload: body.subarray(0, 3), fin: false, rsv1: true });
        s.sendFrame({ op: 0, payload: body.subarray(3), fin: true, rsv1: true });
      }, 1002],
      ['corrupt compressed data', (s) => s.sendFrame({ op: 1, payload: Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff]), rsv1: true }), 1007],
      ['compressed invalid UTF-8 text', (s) => s.sendFrame({ op: 1, payload: deflateMessage(Buffer.from([0xc3, 0x28])), rsv1: true }), 1007],
    ];
    for (const [name, send, code] of cases) {
      const { s } = await frameClient(h, t, null, 'bad');
      send(s);
      assert.equal(await s.waitClose(), code, name);
    }
    const p = nextEvent(sub, 'publication');
    await api(h.srv, 'publish', { channel: ch, data: bigPayload(7) });
    assert.deepEqual((await p).data, bigPayload(7));
    assert.equal(good.state, 'connected');
  });
});

describe('websocket.compression off', () => {
  const h = useServer({ name: 'no-compression', config: { channel: { without_namespace: ALLOW } } });
  test('the offer is not answered and RSV1 is a protocol error', async (t) => {
    const s = new FrameSocket(h.wsUrl);
    t.defer(() => s.close());
    assert.equal(await s.opened(), '');
    s.sendFrame({ op: 1, payload: deflateMessage('{}'), rsv1: true });
    assert.equal(await s.waitClose(), 1002);
  });
});
