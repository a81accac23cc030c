# Shell helpers the bench scripts share; source it: . "$root/bench/lib.sh"

alive() { # a live (not zombie) process
  local s
  s=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [ -n "$s" ] && [ "$s" != Z ]
}

stop_pid() { # stop_pid PID NAME: SIGTERM, wait up to 60 s, then SIGKILL
  local pid=$1
  [ -n "$pid" ] || return 0
  if alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 600); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then echo "$2 $pid did not stop within 60 s: SIGKILL" >&2; kill -KILL "$pid" 2>/dev/null || true; fi
  fi
  wait "$pid" 2>/dev/null || true
}

# emit ROUND SIDE KEY VALUE: one line of raw.tsv ($raw); round 0 holds facts about the run.
emit() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$raw"; }
# kv TEXT KEY: the value of KEY=value in TEXT.
kv() { sed -n "s/.*\b$2=\([^ ]*\).*/\1/p" <<<"$1"; }
