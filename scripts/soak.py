#!/usr/bin/env python3
"""`make soak`: `parcelbot serve` for a long run (30 minutes by default)
against the sandbox's fake Chatwoot and Kuaidi100 at a steady load. Buyer
messages arrive as webhooks; one conversation in ten also gets an agent's
"/send", so replies go out through the outbox too. Every sample interval
it prints the daemon's RSS, open file descriptors, threads and how many
events it has processed; at the end the RSS and descriptors at the start
(after a warm-up) and at the end, and the throughput.

Fails (exit 1) when the memory or descriptors grow: RSS outside SQLite's
own memory (its page caches fill up as the database grows, each handle up
to its cache_size, and are bounded by it) more than 20% (and 8 MB) above
the figure after the warm-up, descriptors more than 8 above, a webhook
refused, an event given up, or work left undone at the end.

Environment: SOAK_SECONDS (1800), SOAK_RATE (messages/s, 40),
SOAK_CONVERSATIONS (2000), SOAK_SAMPLE (seconds between samples, 60),
SOAK_WARMUP (seconds, 120), SOAK_LATENCY_MS (tracking latency, 50).
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

SECS = float(os.environ.get("SOAK_SECONDS", "1800"))
RATE = float(os.environ.get("SOAK_RATE", "40"))
CONVS = int(os.environ.get("SOAK_CONVERSATIONS", "2000"))
SAMPLE = float(os.environ.get("SOAK_SAMPLE", "60"))
WARMUP = float(os.environ.get("SOAK_WARMUP", "120"))
LAT = int(os.environ.get("SOAK_LATENCY_MS", "50"))
SECRET = "soak-secret-1618"


def scrape(port):
    """One read of /metrics: the unlabelled series, by name (NaN if missing)."""
    out = {}
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("GET", "/metrics")
        for line in c.getresponse().read().decode().splitlines():
            parts = line.split()
            if len(parts) == 2 and not line.startswith("#") and "{" not in parts[0]:
                out[parts[0]] = float(parts[1])
    except (OSError, http.client.HTTPException, ValueError):
        pass
    return lambda name: out.get(name, float("nan"))


def sample(lb, t):
    """(t, RSS, peak, fds, threads, processed, sent, pending, SQLite MB, failed)"""
    st = loopback.proc_status(lb.pb.pid)
    m = scrape(lb.port)
    return (t, st["rss"], st["hwm"], st["fds"], st["threads"],
            m("parcelbot_events_processed_total"), m("parcelbot_outbox_sent_total"),
            m("parcelbot_inbox_pending"), m("parcelbot_store_memory_bytes") / 1048576.0,
            m("parcelbot_events_failed_total"))


def show(r):
    print(f"{r[0]:7.0f} {r[1]:8.1f} {r[8]:10.1f} {r[2]:8.1f} {r[3]:5d} {r[4]:8d} "
          f"{r[5]:10.0f} {r[6]:8.0f} {r[7]:8.0f}", flush=True)


def main():
    tmp = tempfile.mkdtemp(prefix="parcelbot-soak-")
    lb = loopback.Loopback(tmp, CONVS, SECRET, "--log-level", "warn")
    try:
        lb.start()
        lb.sandbox_post("/_sandbox/faults", {"route": "kuaidi100.query", "action": "delay",
                                             "latency_ms": LAT, "times": 0})
        stop = threading.Event()
        stats = {"sent": 0, "refused": 0, "commands": 0}
        lock = threading.Lock()
        start = time.time()

        def client(k, nthreads):
            c = http.client.HTTPConnection("127.0.0.1", lb.port, timeout=30)
            i = k
            while not stop.is_set():
                due = start + i / RATE
                now = time.time()
                if due > now:
                    time.sleep(due - now)
                if time.time() - start >= SECS:
                    return
                conv = i % CONVS + 1
                body = lb.webhook(1000000 + i, conv, i)
                # In one conversation in ten, every second round is an
                # agent's /send approving the draft of the round before.
                cmd = conv % 10 == 0 and (i // CONVS) % 2 == 1
                if cmd:
                    body = lb.command(5000000 + i, conv, "/send")
                try:
                    c.request("POST", f"/webhooks/chatwoot/{SECRET}", json.dumps(body),
                              {"Content-Type": "application/json"})
                    r = c.getresponse()
                    r.read()
                    good = r.status == 200
                except (OSError, http.client.HTTPException):
                    good = False
                    c = http.client.HTTPConnection("127.0.0.1", lb.port, timeout=30)
                with lock:
                    stats["sent"] += 1
                    stats["commands"] += cmd
                    stats["refused"] += not good
                i += nthreads

        n = 4
        threads = [threading.Thread(target=client, args=(k, n), daemon=True) for k in range(n)]
        for t in threads:
            t.start()
        rows = []
        print(f"soak: {SECS:.0f} s at {RATE:.0f} messages/s over {CONVS} conversations, "
              f"{LAT} ms tracking latency; a sample every {SAMPLE:.0f} s")
        print(f"{'t (s)':>7} {'RSS MB':>8} {'SQLite MB':>10} {'peak MB':>8} {'fds':>5} "
              f"{'threads':>8} {'processed':>10} {'sent':>8} {'pending':>8}")
        next_at = start
        while True:
            now = time.time()
            if now >= next_at:
                row = sample(lb, now - start)
                rows.append(row)
                show(row)
                next_at += SAMPLE
            if now - start >= SECS:
                break
            if lb.pb.poll() is not None:
                sys.exit("soak: parcelbot serve exited during the run")
            time.sleep(min(1.0, max(0.05, next_at - time.time())))
        stop.set()
        for t in threads:
            t.join(timeout=60)
        # Let the queue drain, then one last sample.
        for _ in range(600):
            m = scrape(lb.port)
            if m("parcelbot_inbox_pending") == 0 and m("parcelbot_outbox_due") == 0:
                break
            time.sleep(0.5)
        end = sample(lb, time.time() - start)
        show(end)
        base = next((r for r in rows if r[0] >= WARMUP), rows[-1])
        grew = (end[1] - end[8]) - (base[1] - base[8])
        print(f"\nsoak summary ({end[0]:.0f} s):")
        print(f"  RSS          {base[1]:.1f} MB at {base[0]:.0f} s (after warm-up), "
              f"{end[1]:.1f} MB at the end, peak {end[2]:.1f} MB; first sample {rows[0][1]:.1f} MB")
        print(f"  SQLite       {base[8]:.1f} MB after warm-up, {end[8]:.1f} MB at the end "
              f"(page caches, bounded by cache_size per handle)")
        print(f"  the rest     {base[1] - base[8]:.1f} MB after warm-up, "
              f"{end[1] - end[8]:.1f} MB at the end ({grew:+.1f} MB)")
        print(f"  descriptors  {base[3]} after warm-up, {end[3]} at the end, "
              f"max {max(r[3] for r in rows + [end])}")
        print(f"  threads      {base[4]} after warm-up, {end[4]} at the end")
        print(f"  throughput   {stats['sent']} webhooks ({stats['commands']} agent commands) "
              f"in {SECS:.0f} s = {stats['sent'] / SECS:.1f}/s offered; {end[5]:.0f} events "
              f"processed, {end[6]:.0f} chat actions sent; {stats['refused']} refused; "
              f"{end[9]:.0f} given up; {end[7]:.0f} left pending")
        bad = []
        if grew > max(8.0, 0.2 * (base[1] - base[8])):
            bad.append(f"RSS outside SQLite grew {grew:.1f} MB")
        if end[3] > base[3] + 8:
            bad.append(f"descriptors grew from {base[3]} to {end[3]}")
        if stats["refused"]:
            bad.append(f"{stats['refused']} webhooks refused")
        if end[7] != 0:
            bad.append(f"{end[7]:.0f} events left pending")
        if end[9] != 0:
            bad.append(f"{end[9]:.0f} events given up")
        if bad:
            print("soak: FAILED: " + "; ".join(bad))
            sys.exit(1)
        print("soak: ok (memory and descriptors flat, nothing refused or left)")
    finally:
        lb.stop()


if __name__ == "__main__":
    main()
