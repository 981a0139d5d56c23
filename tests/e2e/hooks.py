#!/usr/bin/env python3
"""Buyer messages into the sandbox's fake Chatwoot, and their webhooks into
`parcelbot serve`, delivered at least once: a webhook that is refused (any
non-2xx) or whose connection fails is sent again until it is acknowledged
or the deadline passes. The daemon's address is read from its port file
before every try, so it may restart on another port meanwhile.

Usage: hooks.py SANDBOX PORT_FILE SECRET FIRST_CONV N_CONVS PER_CONV
                [--rate R] [--threads T] [--deadline S] [--text T]
Prints one JSON line: sent, acked, refused (non-2xx answers), conn_errors,
gave_up, and the acknowledged message ids.
"""
import argparse
import json
import threading
import time
import urllib.error
import urllib.request

ap = argparse.ArgumentParser()
ap.add_argument("sandbox")
ap.add_argument("port_file")
ap.add_argument("secret")
ap.add_argument("first", type=int)
ap.add_argument("convs", type=int)
ap.add_argument("per", type=int)
ap.add_argument("--rate", type=float, default=50.0, help="messages per second")
ap.add_argument("--threads", type=int, default=4)
ap.add_argument("--deadline", type=float, default=120.0)
ap.add_argument("--text", default="我的快递三天没更新了,第{i}次问")
a = ap.parse_args()


def post(url, body, timeout=10):
    req = urllib.request.Request(url, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, r.read()


# The buyer's messages, made first in the sandbox (its webhook is off).
msgs = []
for k in range(a.per):
    for c in range(a.first, a.first + a.convs):
        _, body = post(a.sandbox + "/_sandbox/chatwoot/incoming",
                       {"conversation": c, "text": a.text.format(i=k + 1, c=c)})
        msgs.append(json.loads(body))

lock = threading.Lock()
stats = {"sent": len(msgs), "acked": 0, "refused": 0, "conn_errors": 0, "gave_up": 0}
acked = []
end = time.time() + a.deadline
queue = list(msgs)
interval = a.threads / a.rate


def hook(m):
    return {"event": "message_created", "id": m["id"], "content": m["content"],
            "message_type": "incoming", "private": False,
            "created_at": m["created_at"], "content_type": "text",
            "conversation": {"id": m["conversation_id"]},
            "sender": m["sender"], "account": {"id": 1}}


def worker():
    while True:
        with lock:
            if not queue:
                return
            m = queue.pop(0)
        body = hook(m)
        while True:
            if time.time() > end:
                with lock:
                    stats["gave_up"] += 1
                break
            try:
                port = open(a.port_file).read().strip()
                st, _ = post(f"http://127.0.0.1:{port}/webhooks/chatwoot/{a.secret}", body)
                if 200 <= st < 300:
                    with lock:
                        stats["acked"] += 1
                        acked.append(m["id"])
                    break
            except urllib.error.HTTPError:
                with lock:
                    stats["refused"] += 1
            except (OSError, ValueError):
                with lock:
                    stats["conn_errors"] += 1
            time.sleep(0.2)
        time.sleep(interval)


ts = [threading.Thread(target=worker) for _ in range(a.threads)]
for t in ts:
    t.start()
for t in ts:
    t.join()
stats["ids"] = sorted(acked)
print(json.dumps(stats))
