#!/usr/bin/env bash
# redis-benchmark against the three I/O paths of examples/resp_server (ringpipe's
# SocketTransport, tokio BufReader/BufWriter, tokio-util Framed): the same parser, commands and
# store behind each, so the requests per second compare the I/O paths. See README.md here.
#
#   bash benches/redis/run.sh            # 5 repetitions, about 2 minutes
#   bash benches/redis/run.sh --quick    # 3 short repetitions, under 30 seconds
#   bash benches/redis/run.sh --reps 7 --requests 200000   # requests per run at -P 1 (-P 32: 10x)
#
# Each repetition runs every implementation once (in a rotated order), each with
# `redis-benchmark -c 50 -n N -t ping,set,get -P 1`, then `-P 32` with 10x the requests. The
# table has the median requests/s over the repetitions, and ringpipe's ratios to the others.
# Nothing is pinned: redis-benchmark and the server share the machine's cores.
set -euo pipefail

cd "$(dirname "$0")/../.."

reps=5
requests=150000
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) reps=3; requests=30000 ;;
        --reps) reps="$2"; shift ;;
        --requests) requests="$2"; shift ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done
pipelined_requests=$((requests * 10))
impls=(ringpipe bufio framed)
clients=50

if ! command -v redis-benchmark >/dev/null 2>&1; then
    echo "redis-benchmark not found: installing redis-tools" >&2
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    $sudo apt-get update
    $sudo apt-get install -y redis-tools
fi

cargo build --profile lto --features tokio --example resp_server
server="${CARGO_TARGET_DIR:-target}/lto/examples/resp_server"

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

# Start one server per implementation on a free port; each prints "... listening on ADDR".
declare -A port
for impl in "${impls[@]}"; do
    "$server" --impl "$impl" --listen 127.0.0.1:0 >"$work/$impl.log" 2>&1 &
    pids+=("$!")
    for _ in $(seq 100); do
        if grep -q "listening on" "$work/$impl.log"; then break; fi
        sleep 0.05
    done
    addr=$(sed -n 's/.*listening on //p' "$work/$impl.log")
    if [ -z "$addr" ]; then
        echo "the $impl server did not start:" >&2
        cat "$work/$impl.log" >&2
        exit 1
    fi
    port[$impl]=${addr##*:}
done

# One redis-benchmark run; appends "impl pipeline test rps" lines to the results.
bench() {
    local impl=$1 pipeline=$2 n=$3 out
    out=$(redis-benchmark -h 127.0.0.1 -p "${port[$impl]}" -c "$clients" -n "$n" \
        -t ping,set,get -P "$pipeline" --csv 2>"$work/stderr") || {
        echo "redis-benchmark failed against $impl:" >&2
        cat "$work/stderr" >&2
        exit 1
    }
    local rows
    rows=$(printf '%s\n' "$out" | awk -F'","' -v impl="$impl" -v p="$pipeline" \
        'NR > 1 && NF > 2 { gsub(/"/, "", $1); print impl, p, $1, $2 }')
    if [ "$(printf '%s\n' "$rows" | grep -c .)" -ne 4 ]; then
        echo "unexpected redis-benchmark output against $impl:" >&2
        printf '%s\n' "$out" >&2
        cat "$work/stderr" >&2
        exit 1
    fi
    printf '%s\n' "$rows" >>"$work/results"
}

started=$(date +%s)
echo "redis-benchmark -c $clients -t ping,set,get: -P 1 with -n $requests, -P 32 with -n $pipelined_requests; $reps repetitions" >&2
for rep in $(seq "$reps"); do
    # Rotate the order, so no implementation always runs first (or right after another).
    order=()
    for i in 0 1 2; do
        order+=("${impls[$(( (i + rep) % 3 ))]}")
    done
    for impl in "${order[@]}"; do
        bench "$impl" 1 "$requests"
        bench "$impl" 32 "$pipelined_requests"
    done
    echo "  repetition $rep/$reps done ($(( $(date +%s) - started )) s)" >&2
done

# The median requests/s of each (implementation, pipelining, test).
median() {
    awk -v impl="$1" -v p="$2" -v t="$3" '$1 == impl && $2 == p && $3 == t { print $4 }' \
        "$work/results" | sort -g | awk '{ v[NR] = $1 } END {
            if (NR == 0) { print "nan"; exit }
            if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -1)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo "?")
echo
echo "## redis-benchmark against examples/resp_server"
echo
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $commit, $(nproc) CPUs (${cpu:-unknown}), $(redis-benchmark --version | head -1)."
echo "Nothing pinned: redis-benchmark and the server share the $(nproc) CPUs. Median of $reps repetitions;"
echo "\`-c $clients -t ping,set,get\`, \`-P 1\` with \`-n $requests\`, \`-P 32\` with \`-n $pipelined_requests\`."
echo "Requests per second (above 1 in the ratios: ringpipe faster)."
echo
echo "| test | pipeline | ringpipe | bufio | framed | ringpipe ÷ bufio | ringpipe ÷ framed |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for pipeline in 1 32; do
    for test in PING_INLINE PING_MBULK SET GET; do
        r=$(median ringpipe "$pipeline" "$test")
        b=$(median bufio "$pipeline" "$test")
        f=$(median framed "$pipeline" "$test")
        awk -v t="$test" -v p="$pipeline" -v r="$r" -v b="$b" -v f="$f" 'BEGIN {
            printf "| %s | %d | %.0f | %.0f | %.0f | %.2fx | %.2fx |\n", t, p, r, b, f, r / b, r / f }'
    done
done
echo
echo "($(( $(date +%s) - started )) s of benchmarking)"
