// /metrics (Prometheus text: connections, subscriptions, messages, client commands incl.
// send, API calls by method and the API command latency histogram) and the built-in RPC
// ping method (rpc.ping), with the real SDKs.
import assert from 'node:assert/strict';
import { describe, test, useServer, FORMATS } from '../lib/test.js';
import { connToken } from '../lib/tokens.js';
import { connected, enc, settle, subscribed } from '../lib/sdk.js';
import { api, apiRaw, metrics, metricValue } from '../lib/api.js';
import { record, waitFor } from '../lib/wait.js';

describe('metrics', () => {
  const h = useServer({ name: 'metrics', config: { channel: { without_namespace: { allow_subscribe_for_client: true } } } });

  test('Prometheus text with connection, subscription, message, command and API metrics', async (t) => {
    const before = (await metrics(h.srv)).text;
    const sendsBefore = metricValue(before, 'centrifugo_client_messages_sent_by_clients_total') || 0;
    const c = await connected('json', h.wsUrl, { token: connToken('m1') }, t);
    const p = await connected('protobuf', h.wsUrl, { token: connToken('m2') }, t);
    const s = await subscribed(c, 'm');
    await subscribed(p, 'm');
    const r = record(s, ['publication']);
    for (let i = 0; i < 3; i++) await api(h.srv, 'publish', { channel: 'm', data: { i } });
    await apiRaw(h.srv, 'publish', { channel: '', data: {} }); // an API error
    await r.waitCount('publication', 3);
    await c.send({ hello: 1 });
    await p.send(enc('protobuf', { hello: 2 }));

    const m = await waitFor(async () => {
      const x = await metrics(h.srv);
      return (metricValue(x.text, 'centrifugo_client_messages_sent_by_clients_total') || 0) >= sendsBefore + 2 ? x : null;
    }, { label: 'send counted' });
    assert.equal(m.status, 200);
    assert.match(m.type, /text\/plain/);
    const v = (name, labels) => metricValue(m.text, name, labels);
    assert.ok(v('centrifugo_node_num_clients') >= 2);
    assert.ok(v('centrifugo_node_num_subscriptions') >= 2);
    assert.ok(v('centrifugo_node_num_channels') >= 1);
    assert.ok(v('centrifugo_client_connections_accepted', { accept_protocol: 'json' }) >= 1);
    assert.ok(v('centrifugo_client_connections_accepted', { accept_protocol: 'protobuf' }) >= 1);
    // Node to broker and back (Centrifugo's meaning), by type.
    assert.ok(v('centrifugo_node_messages_sent_count', { type: 'publication' }) >= 3);
    assert.ok(v('centrifugo_node_messages_received_count', { type: 'publication' }) >= 3);
    // Gyre's own totals of the delivery path.
    assert.ok(v('gyre_client_messages_queued_total') >= 6);
    assert.ok(v('gyre_client_commands_received_total') >= 4);
    assert.ok(v('centrifugo_client_commands_total', { method: 'subscribe' }) >= 2);
    assert.ok(v('centrifugo_client_commands_total', { method: 'connect' }) >= 2);
    assert.ok(v('centrifugo_client_commands_total', { method: 'send' }) >= 2);
    // API: latency histogram by method, errors by method and code.
    assert.ok(v('centrifugo_api_command_duration_seconds_histogram_count', { method: 'publish' }) >= 4);
    assert.ok(v('centrifugo_api_command_duration_seconds_histogram_bucket', { method: 'publish', le: '+Inf' }) >= 4);
    assert.match(m.text, /# TYPE centrifugo_api_command_duration_seconds_histogram histogram/);
    assert.ok(v('centrifugo_api_command_errors_total', { method: 'publish' }) >= 1);
    assert.ok(v('centrifugo_node_build') === 1);
    // Every sample line is well-formed exposition text.
    for (const line of m.text.split('\n')) {
      if (!line || line.startsWith('#')) continue;
      assert.match(line, /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? -?[0-9.e+Inf-]+$|^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? NaN$/, line);
    }
  });

  test('client command latency histogram by method', async () => {
    const m = await metrics(h.srv);
    const v = (name, labels) => metricValue(m.text, name, labels);
    assert.match(m.text, /# TYPE centrifugo_client_command_duration_seconds_histogram histogram/);
    assert.ok(v('centrifugo_client_command_duration_seconds_histogram_count', { method: 'connect' }) >= 2);
    assert.ok(v('centrifugo_client_command_duration_seconds_histogram_bucket', { method: 'subscribe', le: '+Inf' }) >= 2);
  });
});

describe('rpc ping', () => {
  const h = useServer({ name: 'rpc-ping', config: { rpc: { ping: { enabled: true } } } });
  for (const format of FORMATS) {
    test(`[${format}] the ping method returns empty data; other methods → 104`, async (t) => {
      const c = await connected(format, h.wsUrl, { token: connToken('rp') }, t);
      const r = await c.rpc('ping', enc(format, {}));
      assert.ok(r.data === undefined || r.data === null || r.data.length === 0, JSON.stringify(r));
      assert.equal((await settle(c.rpc('other', enc(format, {})))).code, 104);
      assert.equal(c.state, 'connected');
    });
  }
});
