// api: the admin endpoints as seen from the page: /admin/init, /admin/auth and /admin/api
// (relative URLs: the UI works under any admin.handler_prefix). The admin token is kept
// in localStorage; a 401 from the server drops it and shows the login page.

const TOKEN_KEY = 'gyre-admin-token';

export class ApiError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

export class Unauthorized extends Error {}

export function token() {
  return localStorage.getItem(TOKEN_KEY) || '';
}

export function setToken(value) {
  if (value) localStorage.setItem(TOKEN_KEY, value);
  else localStorage.removeItem(TOKEN_KEY);
}

function authHeaders() {
  const t = token();
  return t ? { Authorization: `token ${t}` } : {};
}

export async function init() {
  const r = await fetch('admin/init', { headers: authHeaders() });
  if (!r.ok) throw new Error(`admin/init: HTTP ${r.status}`);
  return r.json();
}

// Resolves to the token; rejects with a message for the user.
export async function login(password) {
  const r = await fetch('admin/auth', {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ password }).toString(),
  });
  if (r.status === 400) throw new Error('Wrong password');
  if (!r.ok) throw new Error(`Login failed: HTTP ${r.status}`);
  const body = await r.json();
  setToken(body.token);
  return body.token;
}

// Runs one server API method (or admin action); resolves to its result, rejects with an
// ApiError for an API error, Unauthorized for a 401.
export async function call(method, params = {}) {
  const reply = await callRaw(method, params);
  if (reply.error) throw new ApiError(reply.error.code, reply.error.message);
  return reply.result || {};
}

// The whole reply object ({result} or {error}), for the actions page.
export async function callRaw(method, params = {}) {
  const r = await fetch('admin/api', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...authHeaders() },
    body: JSON.stringify({ method, params }),
  });
  if (r.status === 401) {
    setToken('');
    window.dispatchEvent(new Event('gyre-unauthorized'));
    throw new Unauthorized('Unauthorized');
  }
  const text = await r.text();
  if (!r.ok) throw new ApiError(r.status, text.trim() || `HTTP ${r.status}`);
  return JSON.parse(text.split('\n')[0]);
}
