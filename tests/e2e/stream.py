#!/usr/bin/env python3
# Generates a repeatable stream of buyer messages for `parcelbot ingest
# --jsonl`: N messages over N/5 conversations, interleaved, mixed Chinese
# and English, several per conversation with repeat contacts, questions,
# complaint threats and thanks. Most parcels come with their trace; some
# name only a number, which an earlier conversation's trace may have put
# in the tracking cache. Usage: stream.py N SEED
import json
import random
import sys
from datetime import datetime, timedelta, timezone

n = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
rnd = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
tz = timezone(timedelta(hours=8))
base = datetime(2026, 11, 20, 8, 0, tzinfo=tz)

TEXT = {
    "zh": {
        "stuck_parcel": ["物流已经{d}天没更新了,什么时候能到?", "快递{d}天没动了,帮我看看",
                         "还是没动啊,能帮我查一下吗", "物流还是没有更新,怎么回事"],
        "damaged": ["收到的杯子碎了一个", "盒子压坏了,里面的东西也坏了"],
        "missing_items": ["买了3个只收到2个", "少发了一件,我买了两件只到一件"],
        "signed_not_received": ["显示签收了但我没收到", "物流说已签收,可我根本没拿到"],
        "lost_parcel": ["快递是不是丢了", "包裹丢了怎么办"],
        "where": ["我的快递到哪了?", "什么时候能到啊"],
        "complaint": ["再不处理我就给差评了", "我要投诉到平台"],
        "thanks": ["好的,谢谢", "收到,谢谢亲"],
    },
    "en": {
        "stuck_parcel": ["My tracking has not updated for {d} days, when will it arrive?",
                         "The parcel has been stuck for {d} days, please check",
                         "Still no movement, can you check again?",
                         "Tracking still shows nothing new, what is going on?"],
        "damaged": ["The mug arrived broken", "The box was crushed and the item is damaged"],
        "missing_items": ["I ordered 3 but only received 2", "One item is missing from my order"],
        "signed_not_received": ["It says delivered but I never got it",
                                "Tracking shows signed for but nothing arrived"],
        "lost_parcel": ["I think my parcel is lost", "The courier says my parcel was lost"],
        "where": ["Where is my order?", "When will my parcel arrive?"],
        "complaint": ["If this is not fixed I will leave a 1-star review",
                      "I will report this to the platform"],
        "thanks": ["OK, thanks", "Got it, thank you"],
    },
}
PROBLEMS = ["stuck_parcel", "stuck_parcel", "damaged", "missing_items",
            "signed_not_received", "lost_parcel", "where"]
CARRIERS = ["zto", "yto", "sf", "yunda"]


def iso(t):
    return t.isoformat(timespec="seconds")


n_conv = max(1, n // 5)
convs = []
numbers = []
for c in range(n_conv):
    lang = "zh" if rnd.random() < 0.5 else "en"
    problem = rnd.choice(PROBLEMS)
    carrier = rnd.choice(CARRIERS)
    number = "%s%012d" % (carrier.upper()[:2], rnd.randrange(10**12))
    mode = rnd.random()
    if mode < 0.15 and numbers:
        carrier, number = rnd.choice(numbers)   # cached by an earlier conversation
        kind = "number"
    elif mode < 0.25:
        kind = "number"                          # never seen: no trace
    else:
        kind = "events"
        numbers.append((carrier, number))
    convs.append({"id": "conv-%d" % c, "lang": lang, "problem": problem, "carrier": carrier,
                  "number": number, "parcel": kind, "sent": 0, "first": None})

slots = [c for c in range(n_conv) for _ in range(5)]
while len(slots) < n:
    slots.append(rnd.randrange(n_conv))
slots = slots[:n]
rnd.shuffle(slots)

for i, c in enumerate(slots):
    cv = convs[c]
    now = base + timedelta(seconds=20 * i)
    if cv["first"] is None:
        cv["first"] = now
    k = cv["sent"]
    cv["sent"] += 1
    texts = TEXT[cv["lang"]]
    if k == 0:
        kind = cv["problem"]
    else:
        r = rnd.random()
        kind = ("where" if r < 0.1 else "complaint" if r < 0.2 else "thanks" if r < 0.3
                else cv["problem"])
    text = rnd.choice(texts[kind]).format(d=rnd.choice([2, 3, 4, 5]))
    stuck = cv["problem"] in ("stuck_parcel", "lost_parcel")
    last = cv["first"] - (timedelta(days=3) if stuck else timedelta(hours=6))
    order = {"id": "O-%s" % cv["id"], "amount": 89, "currency": "CNY", "category": "food",
             "paid_at": iso(cv["first"] - timedelta(days=6)),
             "shipped_at": iso(cv["first"] - timedelta(days=5))}
    parcel = {"carrier": cv["carrier"], "number": cv["number"]}
    if cv["parcel"] == "events":
        parcel["events"] = [
            {"time": iso(last), "location": "杭州转运中心" if cv["lang"] == "zh" else "Hangzhou hub",
             "description": "快件已到达【杭州转运中心】", "state": "in_transit"},
            {"time": iso(last - timedelta(days=1)), "location": "义乌",
             "description": "快件已揽收", "state": "in_transit"},
        ]
    print(json.dumps({"message_id": "msg-%d" % i, "conversation": cv["id"],
                      "buyer": "buyer-%s" % cv["id"], "message": text, "now": iso(now),
                      "order": order, "parcel": parcel}, ensure_ascii=False))
