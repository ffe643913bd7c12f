// A small OTLP/HTTP trace receiver for the tracing tests: an HTTP server on 127.0.0.1 that
// takes POST /v1/traces with a protobuf body, decodes it with protobufjs and
// src/tracing/otlp_trace.proto (Gyre's own description of the OTLP messages it writes), and
// keeps the spans flattened with their resource attributes. `fail` makes it answer 503.
import http from 'node:http';
import path from 'node:path';
import protobuf from 'protobufjs';
import { E2E_DIR, HOST } from './server.js';
import { waitFor } from './wait.js';

const root = protobuf.loadSync(path.resolve(E2E_DIR, '../../src/tracing/otlp_trace.proto'));
const ExportRequest = root.lookupType('gyre.otlp.ExportRequest');

const hex = (b) => Buffer.from(b || []).toString('hex');

function attributesOf(list) {
  const out = {};
  for (const kv of list || []) {
    // `value` (the oneof) names the field that is set; the others read as defaults.
    const v = kv.value || {};
    const which = v.value;
    out[kv.key] = which === 'intValue' ? Number(v.intValue.toString()) : which ? v[which] : undefined;
  }
  return out;
}

export class OtlpReceiver {
  constructor() {
    this.requests = 0;
    this.spans = [];
    this.heads = [];
    this.fail = false;
    this.server = http.createServer((req, res) => this.onRequest(req, res));
  }

  async start() {
    await new Promise((resolve) => this.server.listen(0, HOST, resolve));
    this.port = this.server.address().port;
    return this;
  }

  get endpoint() {
    return `http://${HOST}:${this.port}`;
  }

  onRequest(req, res) {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      this.requests++;
      this.heads.push({ method: req.method, url: req.url, headers: req.headers });
      if (this.fail) {
        res.writeHead(503).end();
        return;
      }
      const msg = ExportRequest.decode(Buffer.concat(chunks));
      for (const rs of msg.resourceSpans || []) {
        const resource = attributesOf(rs.resource?.attributes);
        for (const ss of rs.scopeSpans || []) {
          for (const s of ss.spans || []) {
            this.spans.push({
              traceId: hex(s.traceId),
              spanId: hex(s.spanId),
              parentSpanId: hex(s.parentSpanId),
              traceState: s.traceState || '',
              name: s.name,
              kind: s.kind || 0,
              start: BigInt(s.startTimeUnixNano?.toString() || '0'),
              end: BigInt(s.endTimeUnixNano?.toString() || '0'),
              attributes: attributesOf(s.attributes),
              status: { code: s.status?.code || 0, message: s.status?.message || '' },
              scope: ss.scope?.name,
              resource,
            });
          }
        }
      }
      res.writeHead(200, { 'Content-Type': 'application/x-protobuf' }).end();
    });
  }

  // Waits (bounded) for a span matching `pred`.
  async waitSpan(pred, label = 'span') {
    return waitFor(() => this.spans.find(pred), { label });
  }

  async stop() {
    this.server.closeAllConnections?.();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
