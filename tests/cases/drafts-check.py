#!/usr/bin/env python3
"""Black-box drafting cases: every case in drafts.jsonl goes through
`parcelbot draft --jsonl`; each must use the expected template (and
severity, when given), produce a reply in the right language with no lint
finding, and together the cases must render every template the KB has.
Prints TAP."""
import json
import re
import subprocess
import sys

pb, path = sys.argv[1], sys.argv[2]
cases = [json.loads(l) for l in open(path, encoding="utf-8") if l.strip()]
feed = "".join(json.dumps({k: v for k, v in c.items() if k != "expect"}, ensure_ascii=False) + "\n"
               for c in cases)
run = subprocess.run([pb, "draft", "--jsonl"], input=feed.encode(), capture_output=True)
outs = [json.loads(l) for l in run.stdout.decode().splitlines() if l.strip()]
n = 0
fails = 0


def ok(cond, name, why=""):
    global n, fails
    n += 1
    print(("ok %d - %s" if cond else "not ok %d - %s") % (n, name))
    if not cond:
        fails += 1
        print("# " + why.replace("\n", "\n# "))


ok(run.returncode == 0 and len(outs) == len(cases), "draft --jsonl ran every case",
   run.stderr.decode()[-500:])
used = set()
cjk = re.compile(r"[\u4e00-\u9fff]")
for c, o in zip(cases, outs):
    e = c["expect"]
    first = (o.get("template") or "").split("+")[0]
    used.add(first)
    why = []
    if first != e["template"]:
        why.append("template %s, want %s" % (o.get("template"), e["template"]))
    if "severity" in e and o.get("severity") != e["severity"]:
        why.append("severity %s, want %s" % (o.get("severity"), e["severity"]))
    if o.get("lint"):
        why.append("lint: %s" % [(f["code"], f["text"]) for f in o["lint"]])
    reply = o.get("reply") or ""
    lang = c.get("lang") or ("zh" if cjk.search(c["message"] or "") else "en")
    if not reply:
        why.append("no reply")
    elif bool(cjk.search(reply)) != (lang == "zh"):
        why.append("reply is not in %s: %s" % (lang, reply))
    ok(not why, "%s %s" % (c["id"], e["template"]), "; ".join(why) + "\n" + reply)
listed = subprocess.run([pb, "kb", "templates"], capture_output=True).stdout.decode().split("\n")
all_ids = {l.split("\t")[0] for l in listed if l.strip()}
missing = sorted(all_ids - used)
ok(not missing, "every KB template is rendered by some case (%d templates)" % len(all_ids),
   "not covered: %s" % missing)
print("1..%d" % n)
sys.exit(1 if fails else 0)
