// publication_data_format on client publishes with the real SDKs: `json` needs valid JSON
// (the Protobuf SDK can send any bytes: `{"a":` → 107), `json_object` a JSON object with
// whitespace allowed around it (` {"a":1}` accepted and delivered byte for byte; invalid
// JSON starting with `{` → 107), `binary` anything. The server API applies the same rule
// to `b64data`.
import assert from 'node:assert/strict';
import { describe, test, useServer } from '../lib/test.js';
import { connToken } from '../lib/tokens.js';
import { connected, settle, subscribed } from '../lib/sdk.js';
import { apiRaw } from '../lib/api.js';
import { record } from '../lib/wait.js';

const PUB = { allow_subscribe_for_client: true, allow_publish_for_client: true };
const config = {
  channel: {
    namespaces: [
      { name: 'js', ...PUB, publication_data_format: 'json' },
      { name: 'jo', ...PUB, publication_data_format: 'json_object' },
      { name: 'bin', ...PUB, publication_data_format: 'binary' },
      { name: 'any', ...PUB },
    ],
  },
};

const bytes = (s) => new TextEncoder().encode(s);
const text = (b) => new TextDecoder().decode(b);

describe('publication_data_format', () => {
  const h = useServer({ name: 'data_format', config });

  test('[protobuf] json and json_object validate the bytes as JSON', async (t) => {
    const c = await connected('protobuf', h.wsUrl, { token: connToken('df') }, t);
    const cases = [
      ['js:a', '{"a":', 107],
      ['js:a', 'plain text', 107],
      ['js:a', '{"a":1} trailing', 107],
      ['js:a', ' [1,"x"] ', 0],
      ['jo:a', '{"a":', 107],
      ['jo:a', '{"a":1}}', 107],
      ['jo:a', '[1]', 107],
      ['jo:a', ' {"a":1}', 0],
      ['jo:a', '\n\t{"a":1}\r\n', 0],
      ['bin:a', '{"a":', 0],
      ['any:a', '{"a":', 0],
    ];
    for (const [ch, data, code] of cases) {
      const r = await settle(c.publish(ch, bytes(data)));
      assert.equal(r.ok ? 0 : r.code, code, `${ch} ${JSON.stringify(data)}`);
    }
    // Invalid UTF-8 is not JSON.
    const bad = await settle(c.publish('js:a', new Uint8Array([0x22, 0xff, 0x22])));
    assert.equal(bad.code, 107);
    assert.equal(c.state, 'connected');
  });

  test('[protobuf] a json_object with leading whitespace reaches subscribers unchanged', async (t) => {
    const c = await connected('protobuf', h.wsUrl, { token: connToken('df2') }, t);
    const s = await subscribed(c, 'jo:ws');
    const r = record(s, ['publication']);
    const data = '  {"a": [1, 2]}\n';
    await c.publish('jo:ws', bytes(data));
    await r.waitCount('publication', 1);
    assert.equal(text(r.of('publication')[0].data), data);
  });

  test('[json] json_object refuses non-objects, accepts objects', async (t) => {
    const c = await connected('json', h.wsUrl, { token: connToken('df3') }, t);
    assert.equal((await settle(c.publish('jo:a', [1]))).code, 107);
    assert.equal((await settle(c.publish('jo:a', '{"a":1}'))).code, 107, 'a JSON string');
    assert.equal((await settle(c.publish('jo:a', { a: 1 }))).ok, true);
    assert.equal((await settle(c.publish('js:a', 'text'))).ok, true);
  });

  test('server API: the same rule for b64data', async () => {
    const b64 = (s) => Buffer.from(s).toString('base64');
    const call = async (channel, s) => (await apiRaw(h.srv, 'publish', { channel, b64data: b64(s) })).json;
    assert.equal((await call('js:a', '{"a":')).error?.code, 107);
    assert.equal((await call('jo:a', '{"a":')).error?.code, 107);
    assert.ok((await call('jo:a', ' {"a":1}')).result, 'leading whitespace');
    assert.ok((await call('bin:a', '{"a":')).result);
  });
});
