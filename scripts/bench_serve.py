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
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("PARCELBOT", os.path.join(ROOT, "parcelbot"))
N = int(os.environ.get("BENCH_MESSAGES", "10000"))
CONVS = int(os.environ.get("BENCH_CONVERSATIONS", "1000"))
LAT = int(os.environ.get("BENCH_LATENCY_MS", "200"))
RATE = float(os.environ.get("BENCH_RATE", "1500"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "4"))
BATCH = int(os.environ.get("BENCH_BATCH", "64"))
SCAN = os.environ.get("BENCH_SCAN_INTERVAL", "0")
SECRET = "bench-secret-3141"
TEXTS = ["我的快递{d}天没更新了,怎么回事", "where is my parcel? no update for {d} days",
         "物流一直停在中转站{d}天了", "my parcel has been stuck for {d} days"]


def number(conv):
    return "731%011d" % conv


def seed(path):
    with open(path, "w") as f:
        f.write("kuaidi100:\n")
        for c in range(1, CONVS + 1):
            f.write(f'  - com: zhongtong\n    nu: "{number(c)}"\n    state: "0"\n    ischeck: "0"\n'
                    '    data:\n'
                    '      - {time: "2026-11-19 06:40:12", ftime: "2026-11-19 06:40:12", '
                    'context: "快件已到达【杭州转运中心】", areaName: "浙江,杭州市", status: "干线", '
                    'statusCode: "1002"}\n')


def wait_port(proc, fn, what):
    for _ in range(400):
        if proc.poll() is not None:
            sys.exit(f"bench: {what} exited early")
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    sys.exit(f"bench: {what} did not start")


def rss_peak(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def main():
    tmp = tempfile.mkdtemp(prefix="parcelbot-bench-")
    seed_file = os.path.join(tmp, "seed.yaml")
    seed(seed_file)
    sb_out = os.path.join(tmp, "sandbox.out")
    sb = subprocess.Popen([BIN, "sandbox", "--port", "0", "--seed", seed_file],
                          stdout=open(sb_out, "w"), stderr=subprocess.DEVNULL)
    procs = [sb]
    try:
        def sbport():
            for line in open(sb_out):
                if line.startswith("listening on 127.0.0.1:"):
                    return line.strip().rsplit(":", 1)[1]
            return None
        sbp = wait_port(sb, sbport, "the sandbox")
        sbx = f"http://127.0.0.1:{sbp}"
        conf = os.path.join(tmp, "parcelbot.yaml")
        with open(conf, "w") as f:
            f.write(f"server:\n  listen: 127.0.0.1:0\n  max_connections: 512\n"
                    f"pipeline:\n  workers: {WORKERS}\n  batch: {BATCH}\n  scan_interval: {SCAN}\n"
                    f"channels:\n  chatwoot:\n    url: {sbx}\n    account_id: 1\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PARCELBOT_")}
        env.update({"PARCELBOT_API_TOKEN": "bench-token-2718",
                    "PARCELBOT_KUAIDI100_URL": f"{sbx}/poll/query.do",
                    "PARCELBOT_KUAIDI100_CUSTOMER": "sandbox-customer",
                    "PARCELBOT_KUAIDI100_KEY": "sandbox-key",
                    "PARCELBOT_CHATWOOT_TOKEN": "sandbox-chatwoot-token",
                    "PARCELBOT_CHATWOOT_WEBHOOK_SECRET": SECRET})
        port_file = os.path.join(tmp, "port")
        pb = subprocess.Popen([BIN, "--kb", os.path.join(ROOT, "kb"), "serve", "--config", conf,
                               "--db", os.path.join(tmp, "bench.db"), "--port-file", port_file,
                               "--log-level", "error"],
                              env=env, stderr=open(os.path.join(tmp, "serve.log"), "w"))
        procs.append(pb)
        port = wait_port(pb, lambda: os.path.exists(port_file) and open(port_file).read().strip(),
                         "parcelbot serve")
        conn = http.client.HTTPConnection("127.0.0.1", int(sbp))
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
                body = json.dumps({
                    "event": "message_created", "id": 1000000 + i,
                    "content": TEXTS[i % len(TEXTS)].format(d=3 + i % 4) + f" 单号{number(conv)}",
                    "message_type": "incoming", "private": False,
                    "created_at": int(time.time()),
                    "conversation": {"id": conv, "custom_attributes": {}},
                    "sender": {"id": conv, "name": f"buyer {conv}", "type": "contact"},
                    "account": {"id": 1}})
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
            notes = [r for r in recs if '"private":true' in r.get("body", "").replace(" ", "")]
            if len(notes) >= total:
                break
            time.sleep(0.5)
        peak = rss_peak(pb.pid)
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
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


if __name__ == "__main__":
    main()
