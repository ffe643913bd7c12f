// A GRPC client of the server API (npm @grpc/grpc-js + @grpc/proto-loader) built from the
// project's own src/grpc_api/api.proto: call(method, request) resolves to the response
// message, or rejects with the call's status (err.code, err.details, err.metadata).
import path from 'node:path';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import { E2E_DIR } from './server.js';
import { SCALE } from './wait.js';

export { grpc };

export const PROTO = path.resolve(E2E_DIR, '../../src/grpc_api/api.proto');
const definition = protoLoader.loadSync(PROTO, { keepCase: true, longs: Number, enums: String, defaults: false });
const pkg = grpc.loadPackageDefinition(definition).centrifugal.centrifugo.api;
export const SERVICE = 'centrifugal.centrifugo.api.CentrifugoApi';

// A client of 127.0.0.1:`port` sending `authorization: apikey <key>` (none when key is
// null); `credentials` for TLS, `options` as grpc-js channel options.
export function grpcClient(port, { key = null, credentials = grpc.credentials.createInsecure(), options = {} } = {}) {
  const stub = new pkg.CentrifugoApi(`127.0.0.1:${port}`, credentials, options);
  const call = (method, request = {}, { metadata = {}, timeout = 10000 * SCALE } = {}) =>
    new Promise((resolve, reject) => {
      const md = new grpc.Metadata();
      if (key !== null) md.set('authorization', `apikey ${key}`);
      for (const [k, v] of Object.entries(metadata)) md.set(k, v);
      stub[method](request, md, { deadline: Date.now() + timeout }, (err, resp) => (err ? reject(err) : resolve(resp)));
    });
  // A unary call of any path with raw bytes in and out (methods the .proto does not declare).
  const raw = (pathName, bytes, { timeout = 10000 * SCALE } = {}) =>
    new Promise((resolve, reject) => {
      const md = new grpc.Metadata();
      if (key !== null) md.set('authorization', `apikey ${key}`);
      stub.makeUnaryRequest(pathName, (b) => b, (b) => b, bytes, md, { deadline: Date.now() + timeout }, (err, resp) => (err ? reject(err) : resolve(resp)));
    });
  return { stub, call, raw, close: () => stub.close() };
}

// Decodes the Error detail of a transport-mode status (grpc-status-details-bin: a
// google.rpc.Status whose details hold one Any of centrifugal.centrifugo.api.Error).
export function errorDetail(err) {
  const bin = err.metadata?.get('grpc-status-details-bin')?.[0];
  if (!bin) return undefined;
  const fields = (buf) => {
    const out = [];
    let i = 0;
    const varint = () => {
      let v = 0;
      let s = 0;
      for (;;) {
        const b = buf[i++];
        v += (b & 0x7f) * 2 ** s;
        s += 7;
        if (b < 0x80) return v;
      }
    };
    while (i < buf.length) {
      const tag = varint();
      if ((tag & 7) === 0) out.push({ field: tag >> 3, value: varint() });
      else {
        const n = varint();
        out.push({ field: tag >> 3, bytes: buf.subarray(i, i + n) });
        i += n;
      }
    }
    return out;
  };
  const status = fields(bin);
  const any = fields(status.find((f) => f.field === 3).bytes);
  const typeUrl = any.find((f) => f.field === 1).bytes.toString();
  const e = fields(any.find((f) => f.field === 2).bytes);
  return {
    statusCode: status.find((f) => f.field === 1)?.value,
    typeUrl,
    code: e.find((f) => f.field === 1)?.value,
    message: e.find((f) => f.field === 2)?.bytes?.toString(),
  };
}
