// Test wrappers over node:test: `test` appends the log tails of the servers alive at the
// time of a failure to its error, `useServer` starts one server for the enclosing file or
// describe block (before) and stops it (after) after checking it still serves, and `cleanup`
// collects things to close at the end of a test (SDK clients, sockets).
import nodeTest, { after, before, describe } from 'node:test';
import { liveServers, startServer } from './server.js';
import { SCALE } from './wait.js';

// Per-test timeout: generous (slow sanitizer builds), tests themselves are short.
export const TEST_TIMEOUT = 30000 * SCALE;

function withLogs(fn) {
  return async (t) => {
    const closers = [];
    t.defer = (f) => closers.push(f);
    try {
      await fn(t);
    } catch (e) {
      const logs = [...liveServers].map((s) => s.logTail(30)).join('\n');
      if (e && typeof e === 'object' && logs) {
        try {
          e.message = `${e.message}\n${logs}`;
        } catch {}
      }
      throw e;
    } finally {
      for (const f of closers.reverse()) {
        try {
          await f();
        } catch {}
      }
    }
  };
}

// test(name, [options], fn): like node:test's, with server logs on failure and t.defer(fn).
export function test(name, options, fn) {
  if (typeof options === 'function') {
    fn = options;
    options = {};
  }
  return nodeTest(name, { timeout: TEST_TIMEOUT, ...options }, withLogs(fn));
}
test.todo = (name, options, fn) => {
  if (typeof options === 'function') {
    fn = options;
    options = {};
  }
  return nodeTest(name, { timeout: TEST_TIMEOUT, ...options, todo: options.todo || true }, withLogs(fn || (() => {})));
};
test.skip = (name, options, fn) => nodeTest.skip(name, options, fn);

// Starts a server for the enclosing scope; returns a handle whose `.srv` is set once started.
// Accessors forward to the server for convenience: h.url, h.wsUrl, h.apiUrl, h.port.
export function useServer(opts = {}) {
  const h = {
    srv: null,
    get url() {
      return this.srv.url;
    },
    get wsUrl() {
      return this.srv.wsUrl;
    },
    get apiUrl() {
      return this.srv.apiUrl;
    },
    get port() {
      return this.srv.port;
    },
  };
  before(async () => {
    h.srv = await startServer(typeof opts === 'function' ? await opts() : opts);
  }, { timeout: 30000 * SCALE });
  after(async () => {
    if (h.srv) await h.srv.stop();
  }, { timeout: 60000 * SCALE });
  return h;
}

// The two client protocol encodings: use with describeBoth to run a block for each.
export const FORMATS = ['json', 'protobuf'];

export function describeBoth(name, fn) {
  for (const format of FORMATS) describe(`${name} [${format}]`, () => fn(format));
}

export { describe, before, after };
