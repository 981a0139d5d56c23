#!/usr/bin/env python3
"""Scan figure for `make bench`: `parcelbot scan` over BENCH_SCAN_ORDERS
imported orders (default 600) against the sandbox's Kuaidi100 with
BENCH_LATENCY_MS (200) of injected latency, at --rate BENCH_SCAN_RATE (50)
lookups/s in batches of 40. Prints parcels assessed per second and the
cases opened. Asserts nothing."""
import json
import os
import subprocess
import sys
import tempfile
import time
import http.client

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("PARCELBOT", os.path.join(ROOT, "parcelbot"))
N = int(os.environ.get("BENCH_SCAN_ORDERS", "600"))
LAT = int(os.environ.get("BENCH_LATENCY_MS", "200"))
RATE = os.environ.get("BENCH_SCAN_RATE", "50")


def main():
    tmp = tempfile.mkdtemp(prefix="parcelbot-scan-")
    seed = os.path.join(tmp, "seed.yaml")
    with open(seed, "w") as f:
        f.write("kuaidi100:\n")
        for i in range(N):
            # Every third parcel has stalled for days; the rest move.
            day = "2026-11-19 06:40:12" if i % 3 == 0 else time.strftime("%Y-%m-%d %H:%M:%S")
            f.write(f'  - com: zhongtong\n    nu: "7329{i:010d}"\n    state: "0"\n    ischeck: "0"\n'
                    f'    data:\n      - {{time: "{day}", ftime: "{day}", context: "快件已到达【杭州转运中心】", '
                    'areaName: "浙江,杭州市", status: "干线", statusCode: "1002"}\n')
    csv = os.path.join(tmp, "orders.csv")
    with open(csv, "w") as f:
        f.write("order_id,amount,currency,category,paid_at,shipped_at,carrier,tracking_number\n")
        for i in range(N):
            f.write(f"S{i},59,CNY,home,2026-11-18T09:00:00+08:00,2026-11-18T18:00:00+08:00,zto,7329{i:010d}\n")
    db = os.path.join(tmp, "scan.db")
    subprocess.run([BIN, "orders", "import", csv, "--db", db], check=True, stdout=subprocess.DEVNULL)
    out = os.path.join(tmp, "sb.out")
    sb = subprocess.Popen([BIN, "sandbox", "--port", "0", "--seed", seed], stdout=open(out, "w"),
                          stderr=subprocess.DEVNULL)
    try:
        port = None
        for _ in range(200):
            for line in open(out):
                if line.startswith("listening on 127.0.0.1:"):
                    port = line.strip().rsplit(":", 1)[1]
            if port:
                break
            time.sleep(0.05)
        c = http.client.HTTPConnection("127.0.0.1", int(port))
        c.request("POST", "/_sandbox/faults", json.dumps(
            {"route": "kuaidi100.query", "action": "delay", "latency_ms": LAT, "times": 0}))
        c.getresponse().read()
        env = {k: v for k, v in os.environ.items() if not k.startswith("PARCELBOT_")}
        env.update({"PARCELBOT_KUAIDI100_URL": f"http://127.0.0.1:{port}/poll/query.do",
                    "PARCELBOT_KUAIDI100_CUSTOMER": "sandbox-customer",
                    "PARCELBOT_KUAIDI100_KEY": "sandbox-key"})
        t0 = time.time()
        r = subprocess.run([BIN, "--kb", os.path.join(ROOT, "kb"), "scan", "--db", db, "--rate", RATE],
                           env=env, capture_output=True, text=True)
        dt = time.time() - t0
        summary = (r.stdout + r.stderr).strip().splitlines()
        print(f"scan: {N} parcels, {LAT} ms provider latency, --rate {RATE}: {N / dt:.1f} parcels/s "
              f"assessed ({dt:.1f} s)")
        for line in summary[-3:]:
            print("  " + line)
    finally:
        sb.terminate()
        sb.wait()


if __name__ == "__main__":
    sys.exit(main())
