# Sourced by every bench script: records what the run printed in bench/RESULTS.md.
#
#   . "$(dirname "$0")/../lib/results.sh"
#   bench_record SECTION "KNOB1 KNOB2 ..." "$@"      # first thing the script does
#
# bench_record re-runs the calling script under bench/lib/record.py, which shows its output
# as usual and, when the script exits 0, rewrites the script's own section of
# bench/RESULTS.md (between <!-- bench:SECTION --> and <!-- /bench:SECTION -->) with the date,
# the exact command (the KNOBs set in the environment, the script and its arguments), the
# machine, the commit and the output. Sections of other scripts are left as they are.
#
# BENCH_RESULTS=off runs without recording; BENCH_RESULTS=PATH writes to another file.
# Inside a recorded run BENCH_RECORDING is set, so a script that calls itself (or another
# bench script) records once, in the outer section.
bench_record() {
    local section=$1 knobs=$2
    shift 2
    [ -n "${BENCH_RECORDING:-}" ] && return 0
    [ "${BENCH_RESULTS:-}" = off ] && return 0
    export BENCH_RECORDING=1
    exec python3 "$(dirname "${BASH_SOURCE[0]}")/record.py" \
        --section "$section" --knobs "$knobs" -- "$0" "$@"
}
