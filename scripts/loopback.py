"""Shared by the long runs (bench_serve.py, soak.py): the sandbox with one
ZTO parcel per conversation, `parcelbot serve` beside it on loopback with
the Chatwoot channel, Chatwoot-shaped webhooks, and /proc readings."""
import http.client
import json
import os
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("PARCELBOT", os.path.join(ROOT, "parcelbot"))
TEXTS = ["我的快递{d}天没更新了,怎么回事", "where is my parcel? no update for {d} days",
         "物流一直停在中转站{d}天了", "my parcel has been stuck for {d} days"]


def number(conv):
    return "731%011d" % conv


def seed(path, convs):
    """One in-transit ZTO parcel per conversation, as Kuaidi100 sends it."""
    with open(path, "w") as f:
        f.write("kuaidi100:\n")
        for c in range(1, convs + 1):
            f.write(f'  - com: zhongtong\n    nu: "{number(c)}"\n    state: "0"\n    ischeck: "0"\n'
                    '    data:\n'
                    '      - {time: "2026-11-19 06:40:12", ftime: "2026-11-19 06:40:12", '
                    'context: "快件已到达【杭州转运中心】", areaName: "浙江,杭州市", status: "干线", '
                    'statusCode: "1002"}\n')


def wait_for(proc, fn, what):
    for _ in range(400):
        if proc.poll() is not None:
            sys.exit(f"{what} exited early")
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    sys.exit(f"{what} did not start")


def proc_status(pid):
    """RSS and peak RSS in MB, open descriptors and threads of a process."""
    out = {"rss": float("nan"), "hwm": float("nan"), "fds": -1, "threads": -1}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k = line.split(":")[0]
                if k == "VmRSS":
                    out["rss"] = int(line.split()[1]) / 1024.0
                elif k == "VmHWM":
                    out["hwm"] = int(line.split()[1]) / 1024.0
                elif k == "Threads":
                    out["threads"] = int(line.split()[1])
        out["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        pass
    return out


class Loopback:
    """The sandbox and the daemon, in tmp. extra: more `serve` arguments."""

    def __init__(self, tmp, convs, secret, *extra, workers=None, batch=None, scan="0"):
        # SIGTERM ends the run like Ctrl-C does, through stop(): the
        # sandbox and the daemon do not outlive it.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        self.tmp, self.convs, self.secret, self.extra = tmp, convs, secret, extra
        self.workers, self.batch, self.scan = workers, batch, scan
        self.procs = []
        self.port = self.sbport = None
        self.pb = None

    def start(self):
        seed_file = os.path.join(self.tmp, "seed.yaml")
        seed(seed_file, self.convs)
        sb_out = os.path.join(self.tmp, "sandbox.out")
        sb = subprocess.Popen([BIN, "sandbox", "--port", "0", "--seed", seed_file],
                              stdout=open(sb_out, "w"), stderr=subprocess.DEVNULL)
        self.procs.append(sb)

        def sbport():
            for line in open(sb_out):
                if line.startswith("listening on 127.0.0.1:"):
                    return line.strip().rsplit(":", 1)[1]
            return None
        self.sbport = int(wait_for(sb, sbport, "the sandbox"))
        sbx = f"http://127.0.0.1:{self.sbport}"
        conf = os.path.join(self.tmp, "parcelbot.yaml")
        pipeline = f"pipeline:\n  scan_interval: {self.scan}\n"
        if self.workers:
            pipeline += f"  workers: {self.workers}\n"
        if self.batch:
            pipeline += f"  batch: {self.batch}\n"
        with open(conf, "w") as f:
            f.write(f"server:\n  listen: 127.0.0.1:0\n  max_connections: 512\n{pipeline}"
                    f"channels:\n  chatwoot:\n    url: {sbx}\n    account_id: 1\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PARCELBOT_")}
        env.update({"PARCELBOT_API_TOKEN": "loopback-token-2718",
                    "PARCELBOT_KUAIDI100_URL": f"{sbx}/poll/query.do",
                    "PARCELBOT_KUAIDI100_CUSTOMER": "sandbox-customer",
                    "PARCELBOT_KUAIDI100_KEY": "sandbox-key",
                    "PARCELBOT_CHATWOOT_TOKEN": "sandbox-chatwoot-token",
                    "PARCELBOT_CHATWOOT_WEBHOOK_SECRET": self.secret})
        port_file = os.path.join(self.tmp, "port")
        self.pb = subprocess.Popen(
            [BIN, "--kb", os.path.join(ROOT, "kb"), "serve", "--config", conf,
             "--db", os.path.join(self.tmp, "loopback.db"), "--port-file", port_file,
             *self.extra],
            env=env, stderr=open(os.path.join(self.tmp, "serve.log"), "w"))
        self.procs.append(self.pb)
        self.port = int(wait_for(self.pb, lambda: os.path.exists(port_file) and
                                 open(port_file).read().strip(), "parcelbot serve"))
        # The conversations exist in the fake Chatwoot before any webhook
        # names them (its webhook is off, so these first messages stay
        # there), or the drafts posted to them would be refused.
        c = http.client.HTTPConnection("127.0.0.1", self.sbport, timeout=60)
        for conv in range(1, self.convs + 1):
            c.request("POST", "/_sandbox/chatwoot/incoming",
                      json.dumps({"conversation": conv, "text": "你好"}))
            c.getresponse().read()

    def sandbox(self, method, path, body=None):
        c = http.client.HTTPConnection("127.0.0.1", self.sbport, timeout=60)
        c.request(method, path, json.dumps(body) if body is not None else None)
        return c.getresponse().read()

    def sandbox_post(self, path, body):
        return self.sandbox("POST", path, body)

    def webhook(self, msg_id, conv, i):
        """A buyer's message_created webhook naming the conversation's parcel."""
        return {"event": "message_created", "id": msg_id,
                "content": TEXTS[i % len(TEXTS)].format(d=3 + i % 4) + f" 单号{number(conv)}",
                "message_type": "incoming", "private": False, "created_at": int(time.time()),
                "conversation": {"id": conv, "custom_attributes": {}},
                "sender": {"id": conv, "name": f"buyer {conv}", "type": "contact"},
                "account": {"id": 1}}

    def command(self, msg_id, conv, text):
        """An agent's private note (a command such as /send)."""
        return {"event": "message_created", "id": msg_id, "content": text,
                "message_type": "outgoing", "private": True, "created_at": int(time.time()),
                "conversation": {"id": conv, "custom_attributes": {}},
                "sender": {"id": 7, "name": "Mei", "type": "user"}, "account": {"id": 1}}

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
