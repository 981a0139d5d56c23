# Faults, against the sandbox: for each one parcelbot keeps running, loses
# no message, sends nothing twice, and recovers on its own once the fault
# clears.
#   tracking provider: down (connection refused), slow (past the timeout),
#     flapping (500, ok, 500 ...), garbage, a 50 MB body;
#   chat API: 429 with Retry-After, 500s, the connection dropped
#     mid-response (the message may have arrived: no resend without a look);
#   the disk filling up under SQLite (a small tmpfs; root only);
#   SIGKILL under load, five times in a row;
#   (SIGHUP with a broken KB is in serve.sh.)
# Tracking runs in one sandbox and the chat in another, so the provider can
# be stopped and started on its port while the chat stays up.
. tests/lib.sh
. tests/chat.sh
P=$PARCELBOT
SECRET=faults-hook-secret-5
PB=""
SBT_PID=""
SBX_PID=""
MNT=""
trap 'kill $PB $SBT_PID $SBX_PID 2>/dev/null; [ -n "$MNT" ] && umount "$MNT" 2>/dev/null; [ -n "${KEEP_LOG:-}" ] && cp "$T_TMP/serve.log" "$KEEP_LOG"; rm -rf "$T_TMP"' EXIT INT TERM

# Parcels 73100000000101... : ZTO, in transit at the Hangzhou hub. Each
# check uses numbers of its own, so no trace comes from the cache.
python3 - "$T_TMP/parcels.yaml" <<'PY'
import sys
out = ["kuaidi100:"]
for i in range(101, 200):
    out.append(f'''  - com: zhongtong
    nu: "731000000{i:05d}"
    state: "0"
    ischeck: "0"
    data:
      - {{time: "2026-11-22 06:40:12", ftime: "2026-11-22 06:40:12", context: "【杭州转运中心】已发出 下一站【上海转运中心】", areaName: "浙江,杭州市", status: "干线", statusCode: "1002"}}
      - {{time: "2026-11-21 17:12:09", ftime: "2026-11-21 17:12:09", context: "【义乌北苑】已揽收", areaName: "浙江,金华市,义乌市", status: "揽收", statusCode: "103"}}''')
open(sys.argv[1], "w").write("\n".join(out) + "\n")
PY
nu() { printf '731000000%05d' "$1"; }

sandbox_start SBT --seed "$T_TMP/parcels.yaml"
sandbox_start SBX
TPORT=${SBT##*:}
export PARCELBOT_KUAIDI100_URL=$SBT/poll/query.do
export PARCELBOT_17TRACK_URL=$SBT/track/v2.2
export PARCELBOT_KUAIDI100_CUSTOMER=sandbox-customer
export PARCELBOT_KUAIDI100_KEY=sandbox-key
export PARCELBOT_17TRACK_TOKEN=sandbox-token
export PARCELBOT_API_TOKEN=faults-api-token-3
export PARCELBOT_CHATWOOT_TOKEN=sandbox-chatwoot-token
export PARCELBOT_CHATWOOT_WEBHOOK_SECRET=$SECRET
unset PARCELBOT_CONFIG PARCELBOT_API_TOKEN_FILE PARCELBOT_CHATWOOT_URL

# Short timeouts so a fault costs seconds, not minutes.
cat >"$T_TMP/parcelbot.yaml" <<EOF
server:
  listen: 127.0.0.1:0
pipeline:
  scheduler_interval: 1s
tracking:
  connect_timeout: 1s
  timeout: 1s
  retries: 2
  backoff: 100ms
  backoff_max: 500ms
channels:
  chatwoot:
    url: $SBX
    account_id: 1
EOF
DB=$T_TMP/faults.db

start() { # start [DB]: serve on a free port, the sandbox's webhook pointed at it
	serve_start "$T_TMP/parcelbot.yaml" "${1:-$DB}"
	curl -sf -d "{\"webhook\": \"$BASE/webhooks/chatwoot/$SECRET\"}" \
		"$SBX/_sandbox/chatwoot/config" >/dev/null
}

log_wait() { # log_wait REGEX SECONDS: until serve's log has a line matching REGEX
	for _ in $(seq $(($2 * 10))); do
		grep -q "$1" "$T_TMP/serve.log" && return 0
		sleep 0.1
	done
	return 1
}

intact_and_stop() { # intact_and_stop DB: the database passes its check; SIGTERM exits 0
	sqlite3 "$1" "pragma integrity_check" >"$T_TMP/integrity"
	is "$(cat "$T_TMP/integrity")" ok "the database is intact"
	kill -TERM "$PB"
	wait "$PB"
	is $? 0 "SIGTERM: clean exit"
	PB=""
}

alive() { # alive: the process is there and /healthz answers 200
	kill -0 "$PB" 2>/dev/null &&
		[ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/healthz")" = 200 ]
}

fault() { # fault JSON: injects a fault into the tracking sandbox
	curl -sf -d "$1" "$SBT/_sandbox/faults" >/dev/null
}

# stuck CONV NUMBER: a buyer asks about a parcel by its number
stuck() { buyer "$1" "我的快递$(nu "$2")三天没更新了"; }

# traced CONV: the conversation's one note quotes the live trace
traced() {
	wait_for "$1" notes 1 15 || return 1
	case "$(count "$1" last_note)" in *杭州*) return 0 ;; esac
	diagnose "$1"
	return 1
}
# untraced CONV: one note, which says the tracking could not be loaded
untraced() {
	wait_for "$1" notes 1 20 || return 1
	case "$(count "$1" last_note)" in *杭州*) diagnose "$1"; return 1 ;; esac
	return 0
}
diagnose() { # what the provider answered, and the note, as TAP comments
	count "$1" last_note | head -5 | sed 's/^/# note: /'
	curl -sf "$SBT/_sandbox/requests?route=kuaidi100.query" 2>/dev/null | python3 -c "
import json, sys
import re, urllib.parse
for r in json.load(sys.stdin)[-12:]:
    num = re.search(r'num%22%3A%22([0-9A-Z]+)', r['body'])
    print('# kuaidi100:', r['at_ms'] % 100000, num.group(1) if num else '?', r['answered'])" || true
}

start
[ -n "$port" ] && alive
ok $? "serve starts beside the sandbox"

stuck 100 101
traced 100
ok $? "baseline: a draft quotes the live trace"

# --- tracking provider down: nothing listens on its port ---
kill "$SBT_PID"
wait "$SBT_PID" 2>/dev/null
stuck 101 102
untraced 101
ok $? "provider down: the message is still drafted, saying tracking is unavailable"
alive
ok $? "provider down: still serving"
sandbox_start SBT --port "$TPORT" --seed "$T_TMP/parcels.yaml"
stuck 102 103
traced 102
ok $? "provider back on its port: live trace again"

# --- slow: every answer later than the timeout ---
fault '{"route": "kuaidi100.query", "latency_ms": 3000, "times": 3}'
t0=$(date +%s)
stuck 103 104
untraced 103
ok $? "provider slow: drafted without the trace"
is "$(( $(date +%s) - t0 < 15 ))" 1 "within the timeouts (1 s x 3 tries), not stuck behind it"
curl -sf -X DELETE "$SBT/_sandbox/faults" >/dev/null
stuck 104 105
traced 104
ok $? "provider fast again: live trace"

# --- flapping: 500, ok, 502, ok, 503, ok: retries ride it out ---
fault '[{"route": "kuaidi100.query", "action": "status", "status": 500, "times": 1},
	{"route": "kuaidi100.query", "latency_ms": 1, "times": 1},
	{"route": "kuaidi100.query", "action": "status", "status": 502, "times": 1},
	{"route": "kuaidi100.query", "latency_ms": 1, "times": 1},
	{"route": "kuaidi100.query", "action": "status", "status": 503, "times": 1},
	{"route": "kuaidi100.query", "latency_ms": 1, "times": 1}]'
# One at a time: the faults are one queue, so parallel lookups could hand
# all three failures to one of them.
okf=0
for i in 1 2 3; do
	stuck $((104 + i)) $((105 + i))
	traced $((104 + i)) || okf=1
done
is "$okf" 0 "provider flapping: every draft has the live trace"
curl -sf -X DELETE "$SBT/_sandbox/faults" >/dev/null

# --- garbage: a 200 whose body is not JSON ---
fault '{"route": "kuaidi100.query", "action": "garbage", "times": 3}'
stuck 110 110
untraced 110
ok $? "provider garbage: drafted without the trace"
alive
ok $? "provider garbage: still serving"
curl -sf -X DELETE "$SBT/_sandbox/faults" >/dev/null
stuck 111 111
traced 111
ok $? "provider sane again: live trace"

# --- 50 MB answers: refused at the body cap, memory stays small ---
# The peak RSS is compared with the one before (a sanitizer build's own
# overhead is hundreds of MB): the 8 MiB cap is all an answer may cost.
hwm0=$(awk '/^VmHWM/ {print $2}' "/proc/$PB/status")
fault '{"route": "kuaidi100.query", "action": "huge", "bytes": 52428800, "times": 3}'
stuck 112 112
untraced 112
ok $? "provider sends 50 MB: drafted without the trace"
hwm1=$(awk '/^VmHWM/ {print $2}' "/proc/$PB/status")
echo "# peak RSS before the 50 MB answers $hwm0 kB, after $hwm1 kB"
is "$(( hwm1 - hwm0 < 30000 ))" 1 "the body was not held in memory (peak RSS up by less than 30 MB)"
curl -sf -X DELETE "$SBT/_sandbox/faults" >/dev/null
stuck 113 113
traced 113
ok $? "provider normal again: live trace"

# --- chat API: 429 with Retry-After, then 500s ---
curl -sf -d '[{"route": "chatwoot.messages.create", "action": "status", "status": 429, "retry_after": "1", "times": 2},
	{"route": "chatwoot.messages.create", "action": "status", "status": 500, "times": 2}]' \
	"$SBX/_sandbox/faults" >/dev/null
stuck 120 120
wait_for 120 notes 1 30
ok $? "chat API 429 then 500s: the draft arrives"
sleep 1
is "$(count 120 notes)" 1 "once"
retried=$(curl -sf "$SBX/_sandbox/requests?route=chatwoot.messages.create" | python3 -c "
import json, sys; print(sum(1 for r in json.load(sys.stdin) if r['answered'].startswith('fault')))")
is "$retried" 4 "after four refused tries"

# --- chat API drops the connection mid-response: the note was made ---
curl -sf -d '{"route": "chatwoot.messages.create", "action": "drop", "times": 1}' \
	"$SBX/_sandbox/faults" >/dev/null
stuck 121 121
wait_for 121 notes 1 20
ok $? "chat API drops the answer to a draft note: the note is there"
sleep 2
is "$(count 121 notes)" 1 "and not posted twice"
curl -sf -d '{"route": "chatwoot.messages.create", "action": "drop", "times": 1}' \
	"$SBX/_sandbox/faults" >/dev/null
agent 121 "/send"
wait_for 121 public 1 20
ok $? "dropped answer to /send: the reply reached the buyer"
sleep 2
is "$(count 121 public)" 1 "exactly once"
alive
ok $? "still serving after the chat faults"
left=$(sqlite3 "$DB" "select count(*) from outbox where sent_at is null")
is "$left" 0 "the outbox is empty"
kill -TERM "$PB"
wait "$PB"
is $? 0 "SIGTERM: clean exit"
PB=""

# --- the disk fills up under SQLite ---
# The database on a 24 MB tmpfs; a file then takes every free byte. The
# webhooks come from hooks.py, which sends each until it is acknowledged
# (as an at-least-once sender does): while the disk is full parcelbot must
# refuse what it cannot store (503), never acknowledge and lose it.
MNT=$T_TMP/disk
mkdir -p "$MNT"
if mount -t tmpfs -o size=24m tmpfs "$MNT" 2>/dev/null; then
	DDB=$MNT/full.db
	start "$DDB"
	curl -sf -d '{"webhook": null}' "$SBX/_sandbox/chatwoot/config" >/dev/null
	python3 tests/e2e/hooks.py "$SBX" "$T_TMP/port" "$SECRET" 130 5 1 --deadline 30 \
		>"$T_TMP/hooks1"
	okd=0
	for c in 130 131 132 133 134; do wait_for $c notes 1 20 || okd=1; done
	is "$okd" 0 "database on a small disk: drafts as usual"
	dd if=/dev/zero of="$MNT/fill" bs=64k 2>/dev/null
	echo "# disk: $(df -k "$MNT" | awk 'NR==2 {print $4}') kB free"
	python3 tests/e2e/hooks.py "$SBX" "$T_TMP/port" "$SECRET" 140 10 2 --rate 20 --deadline 90 \
		>"$T_TMP/hooks2" &
	HK=$!
	log_wait 'database or disk is full' 10
	ok $? "disk full: the store reports it in the log"
	sleep 2
	alive
	ok $? "disk full: still running and answering /healthz"
	rm -f "$MNT/fill"
	wait $HK
	res=$(python3 -c "
import json; d = json.load(open('$T_TMP/hooks2'))
print(d['acked'], d['gave_up'], 'refused' if d['refused'] > 0 else 'never refused')")
	is "$res" "20 0 refused" "disk full: webhooks refused with an error, then all 20 taken once space is back"
	okd=0
	for c in $(seq 140 149); do wait_for $c notes 2 30 || okd=1; done
	is "$okd" 0 "every message drafted after the disk recovers (2 per conversation)"
	sleep 2
	dups=0
	for c in $(seq 140 149); do [ "$(count $c notes)" = 2 ] || dups=1; done
	is "$dups" 0 "and none twice"
	is "$(sqlite3 "$DDB" "select count(*) from inbox where channel = 'chatwoot' and external_id like 'msg:%'")" \
		"$(( 5 + 20 ))" "each webhook stored once"
	is "$(sqlite3 "$DDB" "select count(*) from inbox where processed_at is null or error is not null")" 0 \
		"and each processed without error"
	is "$(sqlite3 "$DDB" "select count(*) from outbox where sent_at is null")" 0 "the outbox is empty" ||
		sqlite3 "$DDB" "select '#', id, kind, attempts, next_attempt_at - strftime('%s','now'), last_error from outbox where sent_at is null limit 10"
	# Now the disk fills while a batch is in flight: its lookups are slow,
	# so the messages are stored, and the batch's commit meets a full disk.
	fault '{"route": "kuaidi100.query", "latency_ms": 2500, "times": 3}'
	python3 tests/e2e/hooks.py "$SBX" "$T_TMP/port" "$SECRET" 150 3 1 --deadline 30 \
		--text '我的快递731000000{c:05d}三天没更新了' >"$T_TMP/hooks_batch"
	dd if=/dev/zero of="$MNT/fill" bs=64k 2>/dev/null
	log_wait 'inbox.process_failed.*disk is full' 15
	ok $? "disk full mid-batch: the batch is rolled back, and says why"
	rm -f "$MNT/fill"
	okd=0
	for c in 150 151 152; do wait_for $c notes 1 30 || okd=1; done
	is "$okd" 0 "the batch is drafted once space is back"
	sleep 2
	is "$(count 150 notes)$(count 151 notes)$(count 152 notes)" 111 "each once"
	intact_and_stop "$DDB"
	umount "$MNT" && MNT=""
else
	echo "ok $((T_N + 1)) - # SKIP disk full: cannot mount a tmpfs here (needs root)"
	T_N=$((T_N + 1))
fi

# --- SIGKILL under load, five times ---
# 200 messages over 40 conversations arrive at 40/s while the daemon is
# killed with SIGKILL every 1.5 s and started again. hooks.py resends what
# was not acknowledged. Afterwards: every acknowledged message processed
# exactly once, one draft note per draft, no note posted twice.
KDB=$T_TMP/kill.db
start "$KDB"
curl -sf -d '{"webhook": null}' "$SBX/_sandbox/chatwoot/config" >/dev/null
python3 tests/e2e/hooks.py "$SBX" "$T_TMP/port" "$SECRET" 300 40 5 --rate 40 --deadline 120 \
	>"$T_TMP/hooks3" &
HK=$!
sleep 2
for k in 1 2 3 4 5; do
	sleep 1.5
	kill -KILL "$PB"
	wait "$PB" 2>/dev/null
	start "$KDB"
	curl -sf -d '{"webhook": null}' "$SBX/_sandbox/chatwoot/config" >/dev/null
done
wait $HK
res=$(python3 -c "
import json; d = json.load(open('$T_TMP/hooks3'))
print(d['acked'], d['gave_up'])
print('# webhooks: %d sent, %d refused, %d connection errors' % (d['sent'], d['refused'], d['conn_errors']))")
is "$(echo "$res" | head -1)" "200 0" "SIGKILL x5 under load: all 200 webhooks acknowledged in the end"
echo "$res" | tail -1
for _ in $(seq 300); do
	[ "$(sqlite3 "$KDB" "select count(*) from inbox where processed_at is null")" = 0 ] &&
		[ "$(sqlite3 "$KDB" "select count(*) from outbox where sent_at is null")" = 0 ] && break
	sleep 0.1
done
is "$(sqlite3 "$KDB" "select count(*) from inbox where external_id like 'msg:%'")" 200 \
	"each message stored once"
is "$(sqlite3 "$KDB" "select count(*) from inbox where processed_at is null or error is not null")" 0 \
	"and processed, without error"
is "$(sqlite3 "$KDB" "select count(*) from outbox where sent_at is null")" 0 "the outbox is empty" ||
	sqlite3 "$KDB" "select '#', id, kind, attempts, next_attempt_at - strftime('%s','now'), last_error from outbox where sent_at is null limit 10"
sleep 1
notes=$(for c in $(seq 300 339); do
	curl -sf "$SBX/_sandbox/chatwoot/conversations/$c"
	echo
done | python3 -c "
import json, sys
heads = []
for line in sys.stdin:
    if not line.strip(): continue
    d = json.loads(line)
    for m in d.get('messages', []):
        if m.get('private') and (m.get('sender') or {}).get('type') == 'agent_bot':
            heads.append((d['id'], m['content'].split('\n')[0]))
print(len(heads), len(heads) - len(set(heads)))")
sent=$(sqlite3 "$KDB" "select count(*) from outbox where kind in ('post_draft', 'hand_off') and sent_at is not null")
is "$notes" "$sent 0" "one note per delivered draft ($sent), none posted twice"
intact_and_stop "$KDB"

done_testing
