# Sourced by bench scripts: free ports, waiting for a server, and what a process tree costs,
# read from /proc (CPU ticks, peak RSS), plus stopping what a script started.
#
#   . "$(dirname "$0")/../lib/proc.sh"

# A TCP port nothing listens on (the kernel's pick; free when this returns).
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_http URL [CURL ARGS...]: waits up to 10 s for a 2xx answer; fails saying so.
wait_http() {
    local url=$1
    shift
    for _ in $(seq 200); do
        curl -sf "$@" -o /dev/null "$url" && return 0
        sleep 0.05
    done
    echo "no answer from $url" >&2
    return 1
}

# tree_pids PID: PID and all its descendants (gunicorn and nginx run workers).
tree_pids() {
    local p
    echo "$1"
    for p in $(pgrep -P "$1" || true); do tree_pids "$p"; done
}

# stat_after_comm PID: /proc/PID/stat from the field after the command name (which may
# hold spaces): $1 state, $12 utime, $13 stime (proc(5) fields 3, 14, 15).
stat_after_comm() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null; }

# tree_ticks PID: user + system CPU clock ticks of the tree (getconf CLK_TCK per second).
tree_ticks() {
    local t=0 p
    for p in $(tree_pids "$1"); do
        t=$((t + $(stat_after_comm "$p" | awk '{print $12 + $13} END {if (!NR) print 0}')))
    done
    echo "$t"
}

# alive PID: running (a zombie, exited but not yet waited for, is not).
alive() {
    local state
    state=$(stat_after_comm "$1" | cut -d' ' -f1)
    [ -n "$state" ] && [ "$state" != Z ]
}

# tree_hwm_kib PID: the tree's peak resident sets (VmHWM), summed, in KiB.
tree_hwm_kib() {
    local k=0 p
    for p in $(tree_pids "$1"); do
        k=$((k + $(awk '/VmHWM/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)))
    done
    echo "$k"
}

rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

# stop_tree PID...: SIGTERM to each tree, then SIGKILL to whatever is left after 3 s.
stop_tree() {
    local pids=() p
    for p in "$@"; do pids+=($(tree_pids "$p")); done
    [ ${#pids[@]} -gt 0 ] || return 0
    kill "${pids[@]}" 2>/dev/null || true
    for _ in $(seq 30); do
        local left=()
        for p in "${pids[@]}"; do alive "$p" && left+=("$p"); done
        [ ${#left[@]} -gt 0 ] || return 0
        sleep 0.1
    done
    kill -KILL "${left[@]}" 2>/dev/null || true
}

# thread_switches PID: "KIND SWITCHES TICKS" per kind of thread of PID (its name without
# digits and trailing dashes: worker-0 and worker-1 are `worker`): voluntary plus involuntary
# context switches so far (proc(5), /proc/PID/task/TID/status) and user + system CPU clock
# ticks so far (/proc/PID/task/TID/stat fields 14 and 15).
thread_switches() {
    local t
    for t in /proc/"$1"/task/*; do
        printf '%s %s %s\n' "$(tr -d '0-9' <"$t/comm" | sed 's/-*$//')" \
            "$(awk '/ctxt_switches/ {s += $2} END {print s + 0}' "$t/status")" \
            "$(sed 's/.*) //' "$t/stat" | awk '{print $12 + $13}')"
    done 2>/dev/null |
        awk '{n[$1] += $2; c[$1] += $3} END {for (k in n) print k, n[k], c[k]}' | sort
}
