#!/usr/bin/env python3
"""Memory spikes for bench/memory.sh: makes the server take memory for a few seconds, then
stops, so that the script can watch whether the server gives it back to the OS.

  spike.py fill    --port P --key K   history of `hist:big` (1,000 publications of 1 KB)
  spike.py api     --port P --key K   8 threads x 3 rounds of /api/batch: 100 history reads
                                      (limit 100) per request (~10 MB responses, under the 16 MiB reply bound), plus big
                                      publish batches (2,000 x 1 KB) to channels without history
Loopback only; every request has a timeout; stdlib only (http.client, threads).
"""
import argparse
import http.client
import json
import sys
import threading

PAYLOAD = {"text": "x" * 1000}


def post(port, key, path, body, timeout=60):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("POST", path, body=body, headers={"Content-Type": "application/json",
                                                     "Authorization": "apikey " + key})
        r = c.getresponse()
        data = r.read()
        return r.status, len(data)
    finally:
        c.close()


def batch(commands):
    return json.dumps({"commands": commands}).encode()


def fill(a):
    cmds = [{"publish": {"channel": "hist:big", "data": PAYLOAD}} for _ in range(1000)]
    status, n = post(a.port, a.key, "/api/batch", batch(cmds))
    print(f"fill: {status}, {n} bytes", file=sys.stderr)
    return 0 if status == 200 else 1


def api(a):
    history = batch([{"history": {"channel": "hist:big", "limit": 100}} for _ in range(a.reads)])
    publish = batch([{"publish": {"channel": f"spike{i}", "data": PAYLOAD}} for i in range(a.pubs)])
    results = []
    lock = threading.Lock()

    def worker(i):
        for _ in range(a.rounds):
            for body in (history, publish):
                try:
                    r = post(a.port, a.key, "/api/batch", body)
                except OSError as e:
                    r = (0, str(e))
                with lock:
                    results.append(r)

    ts = [threading.Thread(target=worker, args=(i,)) for i in range(a.threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=300)
    ok = sum(1 for s, _ in results if s == 200)
    biggest = max((n for s, n in results if s == 200), default=0)
    print(f"api spike: {ok}/{len(results)} requests answered 200, largest response {biggest} bytes",
          file=sys.stderr)
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("what", choices=["fill", "api"])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--threads", type=int, default=8)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--reads", type=int, default=100)
    p.add_argument("--pubs", type=int, default=2000)
    a = p.parse_args()
    return fill(a) if a.what == "fill" else api(a)


if __name__ == "__main__":
    sys.exit(main())
