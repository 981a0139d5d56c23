#!/usr/bin/env python3
"""make demo: the sandbox shop and `parcelbot serve` on loopback, a fresh
SQLite file, the seeded Chatwoot conversations played, and every draft shown
as an agent would see it. Some drafts are approved the way a Chatwoot agent
does it (a private note "/send"), one is edited, severe cases are handed to
a human by parcelbot itself. DEMO_ONCE=1 plays once, prints and exits 0;
otherwise both processes keep running until Ctrl-C.

Only the standard library: it drives parcelbot through its public HTTP
interfaces (the sandbox's controls and parcelbot's /api/v1).
"""
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("PARCELBOT", os.path.join(ROOT, "parcelbot"))
SEED = os.environ.get("DEMO_SEED", os.path.join(ROOT, "kb", "sandbox", "shop.yaml"))
ONCE = os.environ.get("DEMO_ONCE") == "1"
SPEED = float(os.environ.get("DEMO_SPEED", "20"))
COLOR = sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def c(code, text):
    return f"\033[{code}m{text}\033[0m" if COLOR else text


def http(method, url, body=None, headers=None, timeout=30):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
            return r.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, raw.decode(errors="replace")


def wait_line(path, prefix, proc, what, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            sys.exit(f"demo: {what} exited early (status {proc.returncode}); see {path}")
        try:
            with open(path) as f:
                for line in f:
                    if line.startswith(prefix):
                        return line[len(prefix):].strip()
        except FileNotFoundError:
            pass
        time.sleep(0.05)
    sys.exit(f"demo: {what} did not start within {timeout}s; see {path}")


def main():
    tmp = tempfile.mkdtemp(prefix="parcelbot-demo-")
    token = secrets.token_hex(16)
    hook_secret = secrets.token_hex(12)
    procs = []

    def stop(*_):
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()

    signal.signal(signal.SIGTERM, lambda *_: (stop(), sys.exit(0)))

    sb_out = os.path.join(tmp, "sandbox.out")
    sb = subprocess.Popen([BIN, "sandbox", "--port", "0", "--seed", SEED],
                          stdout=open(sb_out, "w"), stderr=open(os.path.join(tmp, "sandbox.log"), "w"))
    procs.append(sb)
    sb_port = wait_line(sb_out, "listening on 127.0.0.1:", sb, "the sandbox")
    sbx = f"http://127.0.0.1:{sb_port}"

    env = dict(os.environ)
    for k in list(env):
        if k.startswith("PARCELBOT_"):
            del env[k]
    env.update({
        "PARCELBOT_API_TOKEN": token,
        "PARCELBOT_KUAIDI100_URL": f"{sbx}/poll/query.do",
        "PARCELBOT_KUAIDI100_CUSTOMER": "sandbox-customer",
        "PARCELBOT_KUAIDI100_KEY": "sandbox-key",
        "PARCELBOT_17TRACK_URL": f"{sbx}/track/v2.2",
        "PARCELBOT_17TRACK_TOKEN": "sandbox-token",
        "PARCELBOT_CHATWOOT_TOKEN": "sandbox-chatwoot-token",
        "PARCELBOT_CHATWOOT_WEBHOOK_SECRET": hook_secret,
        "PARCELBOT_ORDERS_URL": f"{sbx}/orders?id={{order_id}}",
        "PARCELBOT_ORDERS_TOKEN": "sandbox-orders-token",
    })
    conf = os.path.join(tmp, "parcelbot.yaml")
    with open(conf, "w") as f:
        f.write("# written by scripts/demo.py: the sandbox shop on loopback\n"
                "server:\n  listen: 127.0.0.1:0\n"
                "pipeline:\n  scheduler_interval: 1s\n"
                f"channels:\n  chatwoot:\n    url: {sbx}\n    account_id: 1\n")
    # An agent for the console, so the demo can be looked at in a browser.
    agent_pw = secrets.token_urlsafe(9)
    subprocess.run([BIN, "agents", "add", "demo", "--role", "supervisor", "--password-stdin",
                    "--db", os.path.join(tmp, "demo.db")], input=agent_pw + "\n", text=True,
                   check=True, stdout=subprocess.DEVNULL)
    log = os.path.join(tmp, "serve.log")
    port_file = os.path.join(tmp, "port")
    pb = subprocess.Popen([BIN, "--kb", os.path.join(ROOT, "kb"), "serve", "--config", conf,
                           "--db", os.path.join(tmp, "demo.db"), "--port-file", port_file],
                          env=env, stdout=subprocess.DEVNULL, stderr=open(log, "w"))
    procs.append(pb)
    end = time.time() + 20
    while not (os.path.exists(port_file) and open(port_file).read().strip()):
        if pb.poll() is not None or time.time() > end:
            stop()
            sys.exit(f"demo: parcelbot serve did not start; see {log}:\n" + open(log).read())
        time.sleep(0.05)
    port = open(port_file).read().strip()
    api = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {token}"}

    try:
        run(sbx, api, auth, hook_secret, tmp)
        print(f"  console           {api}/   (sign in as demo / {agent_pw})")
    except KeyboardInterrupt:
        stop()
        print("\nstopped.")
        return 0
    finally:
        if ONCE:
            stop()
    if ONCE:
        return 0
    print(c("1", "\nparcelbot is still running:"))
    print(f"  console  {api}/   (sign in as demo / {agent_pw})")
    print(f"  API      {api}/api/v1   (Authorization: Bearer {token})")
    print(f"  health   {api}/healthz   metrics {api}/metrics")
    print(f"  sandbox  {sbx}")
    print(f"  files    {tmp}")
    print("Ctrl-C stops both.")
    try:
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    stop()
    print("\nstopped.")
    return 0


def show_case(api, auth, draft):
    st, case = http("GET", f"{api}/api/v1/cases/{draft['case']}", headers=auth)
    if st != 200:
        return None
    summary = case.get("case", {})
    msgs = [e for e in case.get("timeline", []) if e.get("type") == "message"]
    answered = [m for m in msgs if m.get("id") == draft.get("message")]
    last = answered[0] if answered else (msgs[-1] if msgs else {})
    verdict = last
    print(c("1;36", f"\n── case {summary.get('id')} · {summary.get('channel')} conversation "
                     f"{summary.get('conversation')} · order {summary.get('order') or '-'}"))
    print(f"  {c('1', 'buyer')}     {last.get('text', '')}")
    intents = ", ".join(verdict.get("intents", [])) or "-"
    signals = ", ".join(verdict.get("signals", []))
    print(f"  {c('1', 'problem')}   {intents}{('  [' + signals + ']') if signals else ''}"
          f"   severity {draft.get('severity')}")
    parcel = case.get("parcel") or {}
    assess = parcel.get("assessment") or {}
    facts = []
    if parcel.get("number"):
        facts.append(f"{parcel.get('carrier')} {parcel.get('number')}")
    if assess.get("state"):
        facts.append(f"state {assess.get('state')}")
    if assess.get("hours_since_update") not in (None, -1):
        facts.append(f"{assess.get('hours_since_update')} h since the last scan")
    if assess.get("anomalies"):
        facts.append("anomalies: " + ", ".join(assess["anomalies"]))
    print(f"  {c('1', 'trace')}     {'; '.join(facts) if facts else 'no parcel found'}")
    print(f"  {c('1', 'draft')}     {draft.get('reply')}")
    return summary


def run(sbx, api, auth, hook_secret, tmp):
    st, _ = http("POST", f"{sbx}/_sandbox/chatwoot/config",
                 {"webhook": f"{api}/webhooks/chatwoot/{hook_secret}"})
    if st != 200:
        sys.exit(f"demo: the sandbox refused the webhook setting ({st})")
    st, _ = http("POST", f"{sbx}/_sandbox/chatwoot/play", {"speed": SPEED})
    if st != 200:
        sys.exit(f"demo: the sandbox cannot play its conversations ({st})")
    print(c("1", "parcelbot demo: the sandbox shop's buyers are writing in (Chatwoot) ...\n"))
    seen, handled = set(), 0
    stats = {"approved": 0, "edited": 0, "escalated": 0}
    idle_since = time.time()
    while True:
        st, play = http("GET", f"{sbx}/_sandbox/chatwoot/play")
        st, drafts = http("GET", f"{api}/api/v1/drafts?state=all", headers=auth)
        new = [d for d in (drafts or {}).get("drafts", []) if d["id"] not in seen]
        for d in new:
            seen.add(d["id"])
            summary = show_case(api, auth, d)
            if summary is None:
                continue
            conv = summary.get("conversation")
            handled += 1
            if d.get("action") == "escalate":
                stats["escalated"] += 1
                print(c("1;31", "  → severe: handed to a human (private brief, label "
                                "parcel-escalated, conversation open); nothing sent to the buyer"))
            elif d.get("state") == "pending" and conv:
                if handled % 4 == 0:
                    edited = d["reply"].replace("亲,", "亲亲,", 1) if d.get("lang") == "zh" \
                        else d["reply"] + " Thank you for your patience."
                    http("POST", f"{sbx}/_sandbox/chatwoot/agent_note",
                         {"conversation": int(conv) if str(conv).isdigit() else conv,
                          "text": "/send " + edited, "agent": "Mei (agent)"})
                    stats["edited"] += 1
                    print(c("1;32", "  → agent edits it and sends with a private note '/send …'"))
                else:
                    http("POST", f"{sbx}/_sandbox/chatwoot/agent_note",
                         {"conversation": int(conv) if str(conv).isdigit() else conv,
                          "text": "/send", "agent": "Mei (agent)"})
                    stats["approved"] += 1
                    print(c("1;32", "  → agent approves it as it is: private note '/send'"))
        if new:
            idle_since = time.time()
        done = play and isinstance(play, dict) and play.get("pending", 1) == 0
        if done and time.time() - idle_since > 3:
            break
        if time.time() - idle_since > 60:
            print("demo: no new drafts for 60 s; stopping the playback view")
            break
        time.sleep(0.3)
    time.sleep(1.5)  # let the last approvals go out
    st, health = http("GET", f"{api}/healthz")
    st, cases = http("GET", f"{api}/api/v1/cases?state=all", headers=auth)
    by_state = {}
    for cs in (cases or {}).get("cases", []):
        by_state[cs["state"]] = by_state.get(cs["state"], 0) + 1
    print(c("1", "\nSummary"))
    print(f"  drafts shown      {len(seen)}")
    print(f"  approved as is    {stats['approved']}   edited {stats['edited']}   "
          f"escalated {stats['escalated']}")
    print(f"  cases by state    " + ", ".join(f"{k} {v}" for k, v in sorted(by_state.items())))
    print(f"  inbox pending     {health.get('inbox_pending') if isinstance(health, dict) else '?'}")
    if not seen:
        sys.exit("demo: no drafts were made; see " + tmp)


if __name__ == "__main__":
    sys.exit(main())
