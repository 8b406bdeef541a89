# Sourced by the A/B bench scripts: release builds of a git revision or of the working tree.
#
#   . "$(dirname "$0")/../lib/revision.sh"
#   BIN=$(build_revision v1 proxy sqs-standin)      # target/ab/<commit>/target/release
#   BIN=$(build_working_tree proxy sqs-standin)     # target/release
#   describe_revision v1                            # "v1 (0123456789ab)"
#
# A revision is built in a git worktree under target/ab/<commit>/ with its own target
# directory (kept, so a second run against it starts at once; `rm -rf target/ab && git
# worktree prune` removes them).

# build_revision REV PACKAGE...: builds REV's packages; prints the directory of the binaries.
build_revision() {
    local rev=$1 sha dir
    shift
    sha=$(git rev-parse --short=12 "$rev^{commit}") || { echo "no revision $rev" >&2; return 1; }
    dir=$PWD/target/ab/$sha
    [ -d "$dir/src" ] || git worktree add --detach -f "$dir/src" "$sha" >/dev/null
    echo "building $rev ($sha)" >&2
    CARGO_TARGET_DIR=$dir/target cargo build --release -q \
        --manifest-path "$dir/src/Cargo.toml" $(printf -- '-p %s ' "$@") >&2
    echo "$dir/target/release"
}

# build_working_tree PACKAGE...: builds the working tree's packages; prints where they are.
build_working_tree() {
    echo "building the working tree" >&2
    cargo build --release -q $(printf -- '-p %s ' "$@") >&2
    echo "$PWD/target/release"
}

# describe_revision REV: REV and its commit; no REV: the working tree and what it is based on.
describe_revision() {
    if [ -n "${1:-}" ]; then
        echo "$1 ($(git rev-parse --short=12 "$1^{commit}"))"
    else
        echo "working tree ($(git rev-parse --short=12 HEAD)$(git diff --quiet HEAD -- . || echo ' with uncommitted changes'))"
    fi
}
