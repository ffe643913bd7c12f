// The OpenAPI document of the server API (web/swagger/openapi.json, docs/server-api.md):
// it passes an OpenAPI validator (@apidevtools/swagger-parser), it documents exactly the
// methods the server routes (the executor's method table, and probes), and it tells the
// truth: for every documented method a minimal valid body built from its request schema
// gets HTTP 200 with a reply that matches its response schema (ajv), every method again
// inside one batch, and the documented credentials, errors and statuses are what the
// server does.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import SwaggerParser from '@apidevtools/swagger-parser';
import { describe, test, useServer } from '../lib/test.js';
import { E2E_DIR } from '../lib/server.js';
import { apiRaw } from '../lib/api.js';
import { connected, subscribed } from '../lib/sdk.js';
import { connToken } from '../lib/tokens.js';

const DOC_PATH = path.resolve(E2E_DIR, '../../web/swagger/openapi.json');
const EXECUTOR = path.resolve(E2E_DIR, '../../src/api/executor.cpp');
const doc = JSON.parse(fs.readFileSync(DOC_PATH, 'utf8'));

// Methods whose every call fails in Gyre, and with which code: no RPC extensions (104),
// no map or shared-poll namespaces (107). The document says so in their descriptions.
const ALWAYS_ERROR = {
  rpc: 104,
  map_publish: 107,
  map_remove: 107,
  map_read_state: 107,
  map_read_stream: 107,
  map_stats: 107,
  map_clear: 107,
  shared_poll_publish: 107,
};

// Methods served at POST {prefix}/{name}, read from the executor's method table.
function routedMethods() {
  const src = fs.readFileSync(EXECUTOR, 'utf8');
  const names = [...src.matchAll(/\{"([a-z_]+)", -?\d+, &api_executor::\w+, route,/g)].map((m) => m[1]);
  assert.ok(names.length >= 20, `executor method table not found in ${EXECUTOR}`);
  return names.sort();
}

// A minimal valid value of `schema` (dereferenced): its example when it has one, else the
// required members only, with the smallest values the schema allows.
function minimal(schema) {
  if (schema.example !== undefined) return structuredClone(schema.example);
  if (schema.enum) return schema.enum[0];
  switch (schema.type) {
    case 'object': {
      const o = {};
      for (const k of schema.required || []) o[k] = minimal(schema.properties[k]);
      return o;
    }
    case 'array':
      return Array.from({ length: schema.minItems || 0 }, () => minimal(schema.items));
    case 'string':
      return 'e2e';
    case 'integer':
    case 'number':
      return schema.minimum !== undefined && schema.minimum > 0 ? schema.minimum : 0;
    case 'boolean':
      return false;
    default:
      return {};
  }
}

function newAjv() {
  // OpenAPI 3.0 schemas: `example` and formats such as int64 are annotations here.
  return new Ajv({ strict: false, validateFormats: false, allErrors: true });
}

function methodOf(p) {
  return p.replace(/^\//, '');
}

describe('openapi: the document', () => {
  test('passes the OpenAPI validator', async () => {
    const api = await SwaggerParser.validate(structuredClone(doc));
    assert.match(api.openapi, /^3\./);
  });

  test('a broken copy is refused by the validator (the check has teeth)', async () => {
    const broken = structuredClone(doc);
    delete broken.paths['/publish'].post.responses;
    broken.paths['/info'].post.requestBody.content['application/json'].schema = { $ref: '#/components/schemas/NoSuchSchema' };
    await assert.rejects(() => SwaggerParser.validate(broken));
  });

  test('documents exactly the methods the executor routes, and the API key schemes', () => {
    const documented = Object.keys(doc.paths).map(methodOf).sort();
    assert.deepEqual(documented, routedMethods());
    const schemes = doc.components.securitySchemes;
    const byName = Object.values(schemes).map((s) => `${s.in}:${s.name}`).sort();
    assert.deepEqual(byName, ['header:Authorization', 'header:X-API-Key', 'query:api_key']);
    for (const [p, item] of Object.entries(doc.paths)) {
      assert.deepEqual(Object.keys(item), ['post'], `${p}: only POST is served`);
      for (const status of ['200', '400', '401']) assert.ok(item.post.responses[status], `${p}: response ${status} documented`);
    }
  });
});

describe('openapi: the document against the server', () => {
  const h = useServer({
    config: {
      // The channel the minimal bodies name ("e2e", "chat", "news") keeps presence and history.
      channel: { without_namespace: { presence: true, history_size: 10, history_ttl: '300s', allow_subscribe_for_client: true } },
    },
  });
  let deref;
  const validators = new Map();
  const validatorFor = (schema) => {
    if (!validators.has(schema)) validators.set(schema, newAjv().compile(schema));
    return validators.get(schema);
  };
  const check = (schema, body, label) => {
    const v = validatorFor(schema);
    assert.ok(v(body), `${label}: reply ${JSON.stringify(body)} does not match the schema: ${JSON.stringify(v.errors)}`);
  };

  test('every documented method answers a minimal body with 200 and a reply matching its schema', async (t) => {
    deref = await SwaggerParser.dereference(structuredClone(doc));
    // A subscriber, so that presence, channels and info have entries to check.
    const c = await connected('json', h.wsUrl, { token: connToken('oa1') }, t);
    await subscribed(c, 'e2e');
    let results = 0;
    for (const [p, item] of Object.entries(deref.paths)) {
      const method = methodOf(p);
      const reqSchema = item.post.requestBody.content['application/json'].schema;
      const body = minimal(reqSchema);
      assert.ok(newAjv().validate(reqSchema, body), `${method}: the minimal body ${JSON.stringify(body)} matches its own schema`);
      const r = await apiRaw(h.srv, method, body);
      assert.equal(r.status, 200, `${method}: HTTP ${r.status} ${r.text}`);
      check(item.post.responses['200'].content['application/json'].schema, r.json, method);
      if (method in ALWAYS_ERROR) {
        assert.equal(r.json.error?.code, ALWAYS_ERROR[method], `${method}: ${r.text}`);
      } else {
        assert.ok(!r.json.error, `${method}: ${r.text}`);
        results++;
      }
    }
    assert.equal(results, Object.keys(deref.paths).length - Object.keys(ALWAYS_ERROR).length);
  });

  test('a batch with one command per documented method matches the batch schemas', async () => {
    deref ??= await SwaggerParser.dereference(structuredClone(doc));
    const command = deref.components.schemas.Command;
    const methods = Object.keys(command.properties);
    const commands = methods.map((m) => ({ [m]: minimal(command.properties[m]) }));
    const body = { commands };
    assert.ok(newAjv().validate(deref.components.schemas.BatchRequest, body));
    const r = await apiRaw(h.srv, 'batch', body);
    assert.equal(r.status, 200, r.text);
    check(deref.paths['/batch'].post.responses['200'].content['application/json'].schema, r.json, 'batch');
    assert.equal(r.json.replies.length, methods.length);
    methods.forEach((m, i) => {
      const reply = r.json.replies[i];
      if (m in ALWAYS_ERROR) assert.equal(reply.error?.code, ALWAYS_ERROR[m], `${m}: ${JSON.stringify(reply)}`);
      else assert.ok(m in reply, `${m}: ${JSON.stringify(reply)}`);
    });
    const empty = await apiRaw(h.srv, 'batch', { commands: [] });
    check(deref.components.schemas.BatchResponse, empty.json, 'empty batch');
  });

  test('the documented credentials, statuses and error objects are what the server does', async () => {
    deref ??= await SwaggerParser.dereference(structuredClone(doc));
    const key = h.srv.apiKey;
    const viaAuthorization = await apiRaw(h.srv, 'info', {}, { key: null, headers: { Authorization: `apikey ${key}` } });
    assert.equal(viaAuthorization.status, 200);
    const viaQuery = await fetch(`${h.srv.apiUrl}/info?api_key=${encodeURIComponent(key)}`, { method: 'POST', body: '{}' });
    assert.equal(viaQuery.status, 200);
    await viaQuery.text();
    assert.equal((await apiRaw(h.srv, 'info', {}, { key: null })).status, 401);
    assert.equal((await apiRaw(h.srv, 'info', {}, { key: 'wrong' })).status, 401);
    // Bad input: not the request type → 400 text.
    const bad = await apiRaw(h.srv, 'publish', '{"channel": 5}');
    assert.equal(bad.status, 400);
    assert.equal(bad.text, 'Bad Request\n');
    assert.equal((await apiRaw(h.srv, 'info', '')).status, 400);
    // An error in the envelope, then the same in transport error mode.
    const envelope = await apiRaw(h.srv, 'presence', { channel: 'nope:x' });
    assert.equal(envelope.status, 200);
    check(deref.paths['/presence'].post.responses['200'].content['application/json'].schema, envelope.json, 'presence error');
    assert.equal(envelope.json.error.code, 102);
    const transport = await apiRaw(h.srv, 'presence', { channel: 'nope:x' }, { headers: { 'X-Centrifugo-Error-Mode': 'transport' } });
    assert.equal(transport.status, 404);
    check(deref.paths['/presence'].post.responses['404'].content['application/json'].schema, transport.json, 'transport 404');
    // Not documented, not served.
    assert.equal((await apiRaw(h.srv, 'connections', {})).status, 404);
    assert.equal((await apiRaw(h.srv, 'no_such_method', {})).status, 404);
  });
});
