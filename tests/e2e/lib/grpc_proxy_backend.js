// A GRPC proxy backend on 127.0.0.1 (npm @grpc/grpc-js + @grpc/proto-loader) implementing
// centrifugal.centrifugo.proxy.CentrifugoProxy from the project's own
// src/proxy_grpc/proxy.proto. Handlers are set per method (on(method, fn)); fn gets the
// request message (bytes as Buffers) and its metadata and returns the response message,
// or { delay, response } to answer late. Every call is recorded in `calls`.
import path from 'node:path';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import { E2E_DIR } from './server.js';

export const PROXY_PROTO = path.resolve(E2E_DIR, '../../src/proxy_grpc/proxy.proto');
const definition = protoLoader.loadSync(PROXY_PROTO, { keepCase: true, longs: Number, enums: String, defaults: false });
const pkg = grpc.loadPackageDefinition(definition).centrifugal.centrifugo.proxy;
const METHODS = ['Connect', 'Refresh', 'Subscribe', 'Publish', 'RPC', 'SubRefresh'];

export class GrpcProxyBackend {
  constructor() {
    this.server = new grpc.Server();
    this.handlers = new Map();
    this.calls = [];
    this.timers = new Set();
    const impl = {};
    for (const m of METHODS) {
      impl[m] = (call, cb) => {
        const md = {};
        for (const [k, v] of Object.entries(call.metadata.getMap())) md[k] = String(v);
        this.calls.push({ method: m, request: call.request, metadata: md });
        const fn = this.handlers.get(m);
        let out;
        try {
          out = fn ? fn(call.request, md) : {};
        } catch (e) {
          cb({ code: grpc.status.INTERNAL, details: String(e) });
          return;
        }
        if (out && out.delay) {
          const timer = setTimeout(() => {
            this.timers.delete(timer);
            cb(null, out.response);
          }, out.delay);
          this.timers.add(timer);
        } else {
          cb(null, out);
        }
      };
    }
    this.server.addService(pkg.CentrifugoProxy.service, impl);
  }

  on(method, fn) {
    this.handlers.set(method, fn);
  }

  callsOf(method) {
    return this.calls.filter((c) => c.method === method);
  }

  start() {
    return new Promise((resolve, reject) => {
      this.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
        if (err) return reject(err);
        this.port = port;
        resolve(port);
      });
    });
  }

  stop() {
    for (const t of this.timers) clearTimeout(t);
    this.server.forceShutdown();
  }
}

// A server that answers every CentrifugoProxy/RPC call with bytes that are not a protobuf
// message (a backend speaking garbage).
export async function startGarbageBackend() {
  const server = new grpc.Server();
  server.register('/centrifugal.centrifugo.proxy.CentrifugoProxy/RPC', (call, cb) => cb(null, Buffer.from([0x0f, 0x0f, 0x0f, 0x0f])), (b) => b, (b) => b, 'unary');
  const port = await new Promise((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { port, stop: () => server.forceShutdown() };
}
