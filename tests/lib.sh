# TAP helpers for the shell test suites. Source this file, call the checks,
# then `done_testing`. Each check prints "ok N - name" or "not ok N - name"
# plus diagnostics on "# " lines.
T_N=0
T_FAIL=0
: "${PARCELBOT:=build/parcelbot}"
: "${PB_SRCDIR:=$(pwd)}"
T_TMP=$(mktemp -d)
trap 'rm -rf "$T_TMP"' EXIT INT TERM

ok() { # ok COND-EXIT-STATUS NAME
	T_N=$((T_N + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $T_N - $2"
	else
		T_FAIL=$((T_FAIL + 1))
		echo "not ok $T_N - $2"
	fi
}

# run CMD...: runs a command, keeping its stdout, stderr and status in
# $T_OUT, $T_ERR and $T_RC.
run() {
	"$@" >"$T_TMP/out" 2>"$T_TMP/err"
	T_RC=$?
	T_OUT=$(cat "$T_TMP/out")
	T_ERR=$(cat "$T_TMP/err")
}

is() { # is GOT WANT NAME
	if [ "$1" = "$2" ]; then ok 0 "$3"; else
		ok 1 "$3"
		printf '# got:  %s\n# want: %s\n' "$1" "$2"
	fi
}

like() { # like TEXT EXTENDED-REGEX NAME
	if printf '%s' "$1" | grep -Eq -- "$2"; then ok 0 "$3"; else
		ok 1 "$3"
		printf '%s\n' "$1" | head -20 | sed 's/^/# got: /'
		printf '# want match: %s\n' "$2"
	fi
}

unlike() { # unlike TEXT EXTENDED-REGEX NAME
	if printf '%s' "$1" | grep -Eq -- "$2"; then
		ok 1 "$3"
		printf '%s\n' "$1" | head -20 | sed 's/^/# got: /'
	else ok 0 "$3"; fi
}

# sandbox_start VAR [ARGS...]: starts `parcelbot sandbox` on a free port (or
# the --port given in ARGS), waits for its "listening on" line, stores its
# base URL in VAR and its pid in VAR_PID.
sandbox_start() {
	_var=$1
	shift
	_out=$(mktemp "$T_TMP/sandbox.XXXXXX")
	"$PARCELBOT" sandbox --port 0 "$@" >"$_out" 2>>"$T_TMP/sandbox.err" &
	eval "${_var}_PID=$!"
	_port=""
	for _ in $(seq 200); do
		_port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$_out")
		[ -n "$_port" ] && break
		sleep 0.05
	done
	eval "$_var=http://127.0.0.1:$_port"
}

# serve_start CONFIG DB [ARGS...]: starts `parcelbot serve` on the address
# CONFIG gives (127.0.0.1:0 for a free port), its log appended to
# $T_TMP/serve.log, waits for its port file, and sets PB (the pid), port
# and BASE.
serve_start() {
	_conf=$1
	_db=$2
	shift 2
	rm -f "$T_TMP/port"
	"$PARCELBOT" serve --config "$_conf" --db "$_db" --port-file "$T_TMP/port" "$@" \
		2>>"$T_TMP/serve.log" &
	PB=$!
	for _ in $(seq 200); do
		[ -s "$T_TMP/port" ] && break
		sleep 0.05
	done
	port=$(cat "$T_TMP/port" 2>/dev/null)
	BASE=http://127.0.0.1:$port
}

done_testing() {
	echo "1..$T_N"
	[ "$T_FAIL" -eq 0 ]
}
