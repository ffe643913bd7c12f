// API publishers paced by the fan-out (docs/design/flow-control.md, "When the inbox is
// full"): publishers that send as fast as they are answered must not overflow an event
// loop's bounded inbox. While a loop's inbox is at least half full, the requests threads
// postpone reading the next API request, so with single publishes on a few keep-alive
// connections the inbox never reaches gyre.event_loop_inbox_size and plain (not
// positioned) subscribers, which nothing would recover, receive every publication.
//
// One event loop with an inbox of 16 events and 4,000 subscribers of one channel; h2load
// (Debian nghttp2-client, a process of its own so that the test's subscribers do not slow
// the publishers down) publishes from eight keep-alive connections, one request in flight
// each (at most 8 + 8 = 16 events in the inbox). Each drain of the inbox costs the loop a
// write to each of the 4,000 sockets, far more than a publication costs the API, so the
// publishers outrun the loop (as in bench/channels.sh, where the inbox dropped a fifth of
// the publications before the pacing).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { requireBinaries } from '../lib/daemon.js';
import { tempDir } from '../lib/server.js';
import { describe, test, useServer } from '../lib/test.js';
import { connToken } from '../lib/tokens.js';
import { metrics, metricValue } from '../lib/api.js';
import { SCALE, T, waitFor } from '../lib/wait.js';

const SUBSCRIBERS = 4000;
const PUBLISHERS = 8;
const EACH = 400; // publications, each to every subscriber

// A subscriber of `channel` that only counts the publications it receives (the test client
// must not be the bottleneck).
function counter(url, token, channel) {
  return new Promise((resolve, reject) => {
    const c = { count: 0, closed: null, ws: new WebSocket(url) };
    const timer = setTimeout(() => reject(new Error('subscriber setup timed out')), T);
    c.ws.on('error', reject);
    c.ws.on('close', (code) => {
      c.closed = code;
    });
    c.ws.on('open', () => {
      c.ws.send(`{"id":1,"connect":{"token":"${token}"}}\n{"id":2,"subscribe":{"channel":"${channel}"}}`);
    });
    c.ws.on('message', (data) => {
      const text = data.toString();
      if (text === '{}') return c.ws.send('{}');
      if (text.includes('"id":2')) {
        clearTimeout(timer);
        resolve(c);
      }
      for (let at = text.indexOf('"pub"'); at !== -1; at = text.indexOf('"pub"', at + 1)) c.count++;
    });
  });
}

describe('API publishers are paced by the fan-out', () => {
  const h = useServer({
    name: 'api-pacing',
    config: {
      gyre: { num_event_loops: 1, event_loop_inbox_size: 16 },
      channel: { without_namespace: { allow_subscribe_for_client: true } },
    },
  });

  test('closed-loop publishers outrunning the loop lose nothing, the inbox drops nothing', async (t) => {
    const subs = [];
    t.defer(() => subs.forEach((s) => s.ws.terminate()));
    for (let i = 0; i < SUBSCRIBERS; i += 200) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(200, SUBSCRIBERS - i) }, (_, k) => counter(h.wsUrl, connToken(`s${i + k}`), 'paced')),
      );
      subs.push(...batch);
    }
    requireBinaries('h2load');
    const body = path.join(tempDir('gyre-e2e-pacing-'), 'publish.json');
    fs.writeFileSync(body, JSON.stringify({ channel: 'paced', data: { x: 1 } }));
    const out = await new Promise((resolve, reject) => {
      execFile(
        'h2load',
        ['--h1', '-n', String(EACH), '-c', String(PUBLISHERS), '-m', '1', '-d', body,
          '-H', 'Content-Type: application/json', '-H', `X-API-Key: ${h.srv.apiKey}`, `${h.apiUrl}/publish`],
        { timeout: 60000 * SCALE },
        (err, stdout) => (err ? reject(err) : resolve(stdout)),
      );
    });
    const failures = /requests: .* (\d+) succeeded, (\d+) failed/.exec(out);
    assert.ok(failures, out);
    assert.equal(`${failures[1]}/${failures[2]}`, `${EACH}/0`, out);
    const status = /status codes: (\d+) 2xx/.exec(out);
    assert.equal(status?.[1], String(EACH), out);
    await waitFor(() => subs.every((s) => s.count >= EACH || s.closed !== null), {
      timeout: 20000 * SCALE,
      label: `every publication at every subscriber (lowest ${Math.min(...subs.map((s) => s.count))}/${EACH})`,
    }).catch(() => {});
    const text = (await metrics(h.srv)).text;
    const dropped = metricValue(text, 'gyre_event_loop_inbox_dropped_total');
    const postponed = metricValue(text, 'gyre_http_api_reads_postponed_total');
    const counts = subs.map((s) => s.count);
    t.diagnostic(`reads postponed ${postponed} times; delivered per subscriber ${Math.min(...counts)}..${Math.max(...counts)} of ${EACH}`);
    assert.equal(dropped, 0, 'the inbox dropped events');
    assert.deepEqual(subs.filter((s) => s.closed !== null).map((s) => s.closed), [], 'subscribers closed');
    assert.equal(counts.filter((c) => c !== EACH).length, 0, `subscribers that missed publications: ${counts.filter((c) => c !== EACH).slice(0, 5)}`);
  });
});
