// Bounded waiting helpers: every wait here has a timeout and every loop a bound, so a
// broken server makes a test fail with a message instead of hanging the suite.

// Multiplier for every timeout, for slow builds (e.g. ASan+UBSan): GYRE_E2E_TIMEOUT_SCALE=N,
// or GYRE_E2E_SLOW=1 (what scripts/test.sh sets for the sanitizer run) for 4.
export const SCALE = Math.max(1, Number(process.env.GYRE_E2E_TIMEOUT_SCALE || (process.env.GYRE_E2E_SLOW ? 4 : 1)));

// The default timeout of one wait, in ms (already scaled).
export const T = 5000 * SCALE;

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Resolves or rejects like `promise`, or rejects after `ms` with `label` in the message.
export function withTimeout(promise, ms = T, label = 'operation') {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timeout after ${ms} ms waiting for ${label}`)), ms);
  });
  return Promise.race([Promise.resolve(promise), timeout]).finally(() => clearTimeout(timer));
}

// Polls `fn` (sync or async) until it returns a truthy value, which is returned. An error
// thrown with `fatal: true` ends the wait at once; other errors are retried until the timeout.
export async function waitFor(fn, { timeout = T, interval = 20, label = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let lastError;
  for (let i = 0; ; i++) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      if (e && e.fatal) throw e;
      lastError = e;
    }
    if (Date.now() >= deadline) {
      const why = lastError ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timeout after ${timeout} ms waiting for ${label}${why}`);
    }
    await sleep(Math.min(interval * (i < 10 ? 1 : 4), 200));
  }
}

// Waits for one `event` of an EventEmitter-like object (on/off or addListener/removeListener),
// optionally one that satisfies `pred`. Resolves with the event's first argument.
export function nextEvent(emitter, event, { timeout = T, pred = () => true, label } = {}) {
  return new Promise((resolve, reject) => {
    const on = (emitter.on || emitter.addListener).bind(emitter);
    const off = (emitter.off || emitter.removeListener).bind(emitter);
    const handler = (arg, ...rest) => {
      let ok;
      try {
        ok = pred(arg, ...rest);
      } catch (e) {
        ok = false;
      }
      if (!ok) return;
      clearTimeout(timer);
      off(event, handler);
      resolve(arg);
    };
    const timer = setTimeout(() => {
      off(event, handler);
      reject(new Error(`timeout after ${timeout} ms waiting for event '${label || event}'`));
    }, timeout);
    on(event, handler);
  });
}

// Collects every emission of the given events of an emitter, in order, for later assertions.
// `rec.events` = [{event, arg}], `rec.of(name)` = the args of one event, `rec.waitCount(name, n)`.
export function record(emitter, events) {
  const rec = {
    events: [],
    of(name) {
      return this.events.filter((e) => e.event === name).map((e) => e.arg);
    },
    waitCount(name, n, opts = {}) {
      return waitFor(() => this.of(name).length >= n, { label: `${n} '${name}' events (have ${this.of(name).length})`, ...opts });
    },
    clear() {
      this.events.length = 0;
    },
  };
  for (const ev of events) emitter.on(ev, (arg) => rec.events.push({ event: ev, arg }));
  return rec;
}
