// Server API clients: cent.js (the real npm client) and a raw fetch helper for what cent.js
// hides (status codes, error envelopes, headers, malformed bodies).
import centjs from 'cent.js';
import { SCALE } from './wait.js';

const { CentClient } = centjs;

export function cent(srv) {
  return new CentClient({ url: srv.apiUrl, apiKey: srv.apiKey });
}

// POST {apiUrl}/{method} (or {apiUrl} when method is ''), body an object or a raw string.
// Returns {status, headers, text, json} (json undefined when the body is not JSON).
export async function apiRaw(srv, method, body = {}, { headers, key = srv.apiKey, httpMethod = 'POST' } = {}) {
  const h = { 'Content-Type': 'application/json', ...(key !== null ? { 'X-API-Key': key } : {}), ...headers };
  const url = method ? `${srv.apiUrl}/${method}` : srv.apiUrl;
  const r = await fetch(url, {
    method: httpMethod,
    headers: h,
    body: httpMethod === 'GET' || httpMethod === 'HEAD' ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(10000 * SCALE),
  });
  const text = await r.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: r.status, headers: r.headers, text, json };
}

// Calls a method and returns its `result`; throws with the code on an error envelope.
export async function api(srv, method, body = {}) {
  const r = await apiRaw(srv, method, body);
  if (r.status !== 200) throw new Error(`API ${method}: HTTP ${r.status} ${r.text}`);
  if (r.json?.error) throw Object.assign(new Error(`API ${method}: error ${JSON.stringify(r.json.error)}`), r.json.error);
  return r.json.result;
}

export async function metrics(srv) {
  const r = await fetch(`${srv.url}/metrics`, { signal: AbortSignal.timeout(10000 * SCALE) });
  return { status: r.status, text: await r.text(), type: r.headers.get('content-type') };
}

// Sum of a Prometheus metric's samples whose labels include all of `labels`.
export function metricValue(text, name, labels = {}) {
  let sum = 0;
  let found = false;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)/);
    if (!m || m[1] !== name) continue;
    const ls = {};
    for (const part of (m[3] || '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) ls[part[1]] = part[2];
    if (Object.entries(labels).every(([k, v]) => ls[k] === String(v))) {
      sum += Number(m[4]);
      found = true;
    }
  }
  return found ? sum : undefined;
}
