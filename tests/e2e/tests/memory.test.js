// Memory after a spike goes back to the OS (docs/design/memory.md): a burst of big API
// batches — history reads with ~8 MB replies and 2 MB publish bodies, 12 requests at a time —
// makes the server take over 100 MB; once the burst is over, its resident memory must come
// back near where it was before the burst within 60 s (x GYRE_E2E_TIMEOUT_SCALE).
// Resident memory is read from /proc/<pid>/status; nothing is timed except the bound of the
// wait. ASan keeps freed memory in a quarantine, so the server gets a small one here.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, test, useServer } from '../lib/test.js';
import { apiRaw } from '../lib/api.js';
import { SCALE, sleep } from '../lib/wait.js';

const MB = 1024 * 1024;

function rssBytes(pid) {
  const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
  assert.ok(m, 'VmRSS in /proc/<pid>/status');
  return Number(m[1]) * 1024;
}

const asan = [process.env.ASAN_OPTIONS, 'quarantine_size_mb=4', 'allocator_release_to_os_interval_ms=500']
  .filter(Boolean)
  .join(':');

describe('memory after a spike', () => {
  const h = useServer({
    name: 'memory',
    env: { ASAN_OPTIONS: asan },
    config: { channel: { namespaces: [{ name: 'hist', history_size: 1000, history_ttl: '600s' }] } },
  });

  test('RSS returns near its baseline within a minute of a burst of big API batches', { timeout: 240000 * SCALE }, async (t) => {
    const pid = h.srv.proc.pid;
    const payload = { text: 'x'.repeat(1000) };
    const fill = await apiRaw(h.srv, 'batch', {
      commands: Array.from({ length: 1000 }, () => ({ publish: { channel: 'hist:big', data: payload } })),
    });
    assert.equal(fill.status, 200);
    await sleep(1000);
    const baseline = rssBytes(pid);

    // ~8 MB replies (80 reads of 100 x 1 KB) and 2 MB bodies (2,000 publications of 1 KB to
    // channels nobody reads), 12 at a time, 3 rounds; the peak is sampled while they run.
    const history = { commands: Array.from({ length: 80 }, () => ({ history: { channel: 'hist:big', limit: 100 } })) };
    const publish = { commands: Array.from({ length: 2000 }, (_, i) => ({ publish: { channel: `spike${i}`, data: payload } })) };
    let peak = baseline;
    const sampler = setInterval(() => {
      try {
        peak = Math.max(peak, rssBytes(pid));
      } catch {}
    }, 50);
    try {
      for (let round = 0; round < 3; round++) {
        const rs = await Promise.all(
          Array.from({ length: 12 }, (_, i) => apiRaw(h.srv, 'batch', i % 2 ? publish : history)),
        );
        for (const r of rs) assert.equal(r.status, 200, r.text.slice(0, 200));
      }
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, rssBytes(pid));
    const spike = peak - baseline;
    assert.ok(spike >= 64 * MB, `the burst must make a spike to measure: baseline ${baseline / MB} MB, peak ${peak / MB} MB`);

    // Back near the baseline: within 40 % of the spike or 32 MB, whichever is more. What
    // stays is what the burst left alive (2,000 channels' state, pooled buffers) and pages
    // that live objects pin; glibc without trimming kept ~80 % of the spike here.
    const allowed = Math.max(spike * 0.4, 32 * MB);
    const deadline = Date.now() + 60000 * SCALE;
    let rss = rssBytes(pid);
    while (rss - baseline > allowed && Date.now() < deadline) {
      await sleep(1000);
      rss = rssBytes(pid);
    }
    const f = (b) => (b / MB).toFixed(1);
    t.diagnostic(`baseline ${f(baseline)} MB, peak ${f(peak)} MB, after the wait ${f(rss)} MB (allowed ${f(allowed)} MB above the baseline)`);
    assert.ok(
      rss - baseline <= allowed,
      `RSS ${f(rss)} MB is still ${f(rss - baseline)} MB above the baseline ${f(baseline)} MB ` +
        `(peak ${f(peak)} MB, allowed ${f(allowed)} MB) ${60 * SCALE} s after the spike`,
    );
  });
});
