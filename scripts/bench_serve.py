#!/usr/bin/env python3
"""End-to-end figure for `make bench`: `parcelbot serve` against the
sandbox's fake Chatwoot and Kuaidi100 on loopback, with tracking latency
injected. Buyer messages arrive as Chatwoot message_created webhooks at a
steady rate; each becomes a private-note draft posted back to the fake
Chatwoot. Prints the sustained throughput, the p50/p99 latency from a
webhook's arrival to its draft being posted, and the daemon's peak RSS.
Asserts nothing: the figures are for people.

Environment: BENCH_MESSAGES (10000), BENCH_CONVERSATIONS (1000),
BENCH_LATENCY_MS (200), BENCH_RATE (messages/s offered, 1500),
BENCH_WORKERS (pipeline workers, 4).
"""
import http.client
import json
import os
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import loopback  # noqa: E402

N = int(os.environ.get("BENCH_MESSAGES", "10000"))
CONVS = int(os.environ.get("BENCH_CONVERSATIONS", "1000"))
LAT = int(os.environ.get("BENCH_LATENCY_MS", "200"))
RATE = float(os.environ.get("BENCH_RATE", "1500"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "4"))
BATCH = int(os.environ.get("BENCH_BATCH", "64"))
SCAN = os.environ.get("BENCH_SCAN_INTERVAL", "0")
SECRET = "bench-secret-3141"


def main():
    tmp = tempfile.mkdtemp(prefix="parcelbot-bench-")
    lb = loopback.Loopback(tmp, CONVS, SECRET, "--log-level", "error", workers=WORKERS,
                           batch=BATCH, scan=SCAN)
    try:
        lb.start()
        port = lb.port
        conn = http.client.HTTPConnection("127.0.0.1", lb.sbport)
        conn.request("POST", "/_sandbox/faults", json.dumps(
            {"route": "kuaidi100.query", "action": "delay", "latency_ms": LAT, "times": 0}))
        conn.getresponse().read()
        conn.request("DELETE", "/_sandbox/requests")
        conn.getresponse().read()

        sent = {}  # conversation -> list of send times (ms)
        lock = threading.Lock()
        errors = [0]
        per_thread = 16
        start = time.time()

        def client(k):
            c = http.client.HTTPConnection("127.0.0.1", int(port))
            for i in range(k, N, per_thread):
                due = start + i / RATE
                now = time.time()
                if due > now:
                    time.sleep(due - now)
                conv = i % CONVS + 1
                body = json.dumps(lb.webhook(1000000 + i, conv, i))
                t0 = time.time() * 1000.0
                try:
                    c.request("POST", f"/webhooks/chatwoot/{SECRET}", body,
                              {"Content-Type": "application/json"})
                    r = c.getresponse()
                    r.read()
                    ok = r.status == 200
                except (OSError, http.client.HTTPException):
                    ok = False
                    c = http.client.HTTPConnection("127.0.0.1", int(port))
                with lock:
                    if ok:
                        sent.setdefault(conv, []).append(t0)
                    else:
                        errors[0] += 1

        threads = [threading.Thread(target=client, args=(k,)) for k in range(per_thread)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        offered_s = time.time() - start
        total = sum(len(v) for v in sent.values())
        # Wait for every draft to be posted.
        notes = []
        deadline = time.time() + 300
        while time.time() < deadline:
            conn.request("GET", "/_sandbox/requests?route=chatwoot.messages.create")
            recs = json.loads(conn.getresponse().read())
            notes = [r for r in recs if r.get("answered") == "200" and
                     '"private":true' in r.get("body", "").replace(" ", "")]
            if len(notes) >= total:
                break
            time.sleep(0.5)
        peak = loopback.proc_status(lb.pb.pid)["hwm"]
        # Each conversation's notes answer its messages in order.
        posted = {}
        for r in notes:
            conv = int(r["path"].split("/conversations/")[1].split("/")[0])
            posted.setdefault(conv, []).append(r["at_ms"])
        lat = []
        for conv, times in sent.items():
            got = sorted(posted.get(conv, []))
            for a, b in zip(sorted(times), got):
                lat.append(b - a)
        lat.sort()
        last = max((max(v) for v in posted.values()), default=start * 1000)
        span = (last - start * 1000) / 1000.0
        def pct(p):
            return lat[min(len(lat) - 1, int(p * len(lat)))] if lat else float("nan")
        print(f"serve e2e: {total} messages over {CONVS} conversations, {LAT} ms tracking latency, "
              f"{WORKERS} workers, offered at {RATE:.0f}/s ({offered_s:.1f} s), {errors[0]} refused")
        print(f"  drafts posted     {len(notes)} of {total}")
        print(f"  throughput        {len(notes) / span:.0f} messages/s sustained (first webhook to last note)")
        print(f"  latency           p50 {pct(0.50):.0f} ms, p90 {pct(0.90):.0f} ms, "
              f"p99 {pct(0.99):.0f} ms (webhook sent to draft note received)")
        print(f"  peak RSS          {peak:.1f} MB (targets: >= 1000/s, p99 <= 400 ms, RSS <= 100 MB)")
    finally:
        lb.stop()


if __name__ == "__main__":
    main()
