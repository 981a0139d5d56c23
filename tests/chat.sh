# Helpers for suites that run `parcelbot serve` beside the sandbox's fake
# Chatwoot. Source after tests/lib.sh. The caller sets SBX (the sandbox's
# base URL, e.g. with sandbox_start) before using buyer/agent/count/wait_for.

buyer() { # buyer CONV TEXT [ORDER]
	if [ -n "${3:-}" ]; then
		_body="{\"conversation\": $1, \"text\": \"$2\", \"order_id\": \"$3\"}"
	else
		_body="{\"conversation\": $1, \"text\": \"$2\"}"
	fi
	curl -sf -d "$_body" "$SBX/_sandbox/chatwoot/incoming" >/dev/null
}

agent() { # agent CONV TEXT
	curl -sf -d "{\"conversation\": $1, \"text\": \"$2\", \"agent\": \"Mei\"}" \
		"$SBX/_sandbox/chatwoot/agent_note" >/dev/null
}

# count CONV KIND: what the conversation holds: public (replies to the
# buyer), notes (private notes from the bot), incoming, labels, status,
# last_public, last_note
count() {
	curl -sf "$SBX/_sandbox/chatwoot/conversations/$1" | python3 -c "
import json, sys
d = json.load(sys.stdin)
m = d.get('messages', [])
kind = '$2'
def out(x): return x.get('message_type') in (1, 'outgoing')
if kind == 'public': print(sum(1 for x in m if out(x) and not x.get('private')))
elif kind == 'notes': print(sum(1 for x in m if out(x) and x.get('private') and (x.get('sender') or {}).get('type') == 'agent_bot'))
elif kind == 'incoming': print(sum(1 for x in m if not out(x)))
elif kind == 'labels': print(','.join(d.get('labels', [])))
elif kind == 'status': print(d.get('status'))
elif kind == 'last_public': print([x['content'] for x in m if out(x) and not x.get('private')][-1])
elif kind == 'last_note': print([x['content'] for x in m if out(x) and x.get('private')][-1])
"
}

wait_for() { # wait_for CONV KIND WANT [SECONDS]: polls up to SECONDS (10)
	for _ in $(seq $((${4:-10} * 10))); do
		[ "$(count "$1" "$2")" = "$3" ] && return 0
		sleep 0.1
	done
	return 1
}
