#!/usr/bin/env python3
"""Latency a tier adds to a segment on a hit, through 1, 2 and 3 hlscache tiers on loopback.

    python3 bench/tier_latency.py [--bin build/src/server/hlscache] [--size 524288] [--requests 2000]

Chain: client -> tier 1 -> ... -> tier N -> origin (a Python file server). Every request
asks for the same segment with a unique query parameter `r`: tiers 1..N-1 keep `r` in
their cache key, so they miss and forward (each one a real upstream fetch through the
ring code, keep-alive pool and coalescer); tier N ignores `r` (cache.key_ignore_params),
so it answers from its cache. N = 1 is a plain edge hit. The client is one keep-alive
connection, sequential requests, time to last byte; the difference between N and N-1
is what one more tier costs a segment that is cached one tier further up.
"""
import argparse, http.client, http.server, os, signal, socketserver, statistics, subprocess, sys, tempfile, threading, time

def percentile(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]

class Origin(http.server.BaseHTTPRequestHandler):
    body = b""
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "video/mp2t")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)
    def log_message(self, *a):
        pass

def start_tier(binary, port, upstream_port, ignore_r, tmp, name):
    cfg = os.path.join(tmp, f"{name}.yaml")
    with open(cfg, "w") as f:
        f.write(f"""role: edge
threads: 1
listen: [{{address: 127.0.0.1:{port}}}]
upstream: {{hosts: ['127.0.0.1:{upstream_port}']}}
cache: {{capacity: 256MiB, key_ignore_params: [{'r' if ignore_r else ''}]}}
status_page: false
logging: {{level: error}}
""")
    p = subprocess.Popen([binary, "--config", cfg], stderr=open(os.path.join(tmp, f"{name}.log"), "w"))
    for _ in range(100):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                return p
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"tier {name} did not start; see {tmp}/{name}.log")

def measure(port, requests, size):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    ttlb = []
    for i in range(requests + 50):
        t0 = time.perf_counter()
        c.request("GET", f"/live/t/seg_1.ts?r={i}")
        r = c.getresponse()
        data = r.read()
        dt = (time.perf_counter() - t0) * 1000
        if r.status != 200 or len(data) != size:
            raise SystemExit(f"bad answer: {r.status} {len(data)} bytes")
        if i >= 50:  # warm-up: pools, caches
            ttlb.append(dt)
    return ttlb

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/src/server/hlscache")
    ap.add_argument("--size", type=int, default=512 * 1024)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--base-port", type=int, default=19400)
    a = ap.parse_args()
    Origin.body = os.urandom(a.size)
    origin = socketserver.ThreadingTCPServer(("127.0.0.1", a.base_port), Origin)
    threading.Thread(target=origin.serve_forever, daemon=True).start()
    print(f"segment {a.size} bytes, {a.requests} sequential requests on one keep-alive connection, time to last byte (ms)")
    print("| tiers | p50 | p90 | p99 | mean | added over one tier less (p50) |")
    print("|---|---|---|---|---|---|")
    prev = None
    with tempfile.TemporaryDirectory() as tmp:
        for n in (1, 2, 3):
            procs = []
            try:
                # tier k listens on base+10+k; the last tier (k = n) talks to the origin and ignores r.
                for k in range(n, 0, -1):
                    up = a.base_port if k == n else a.base_port + 10 + k + 1
                    procs.append(start_tier(a.bin, a.base_port + 10 + k, up, k == n, tmp, f"n{n}-t{k}"))
                xs = measure(a.base_port + 11, a.requests, a.size)
            finally:
                for p in procs:
                    p.send_signal(signal.SIGTERM)
                for p in procs:
                    p.wait(timeout=15)
            p50 = percentile(xs, 50)
            added = "" if prev is None else f"{p50 - prev:+.3f}"
            print(f"| {n} | {p50:.3f} | {percentile(xs, 90):.3f} | {percentile(xs, 99):.3f} | {statistics.mean(xs):.3f} | {added} |")
            prev = p50
    origin.shutdown()

if __name__ == "__main__":
    main()
