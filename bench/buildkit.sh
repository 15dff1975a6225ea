#!/usr/bin/env bash
# Benchmark: shipit's BuildKit builds against its classic builds and `docker build` (classic: the CLI here
# has no buildx), side by side in one run, on the same Dockerfile and context.
#
#   1. fresh build (new random content each round):  shipit BuildKit | shipit classic | docker build
#   2. no-change rebuild of the same commit:          the same three
#   3. warm rebuild after a source change, BuildKit: a dependency step with `RUN --mount=type=cache` vs the
#      same Dockerfile with the cache directory inside the step (so it starts cold every time)
#   4. peak RSS while sending a 1 GiB context with BuildKit (/usr/bin/time -v)
#
# The Dockerfile is `FROM scratch` + a static busybox (no image can be pulled here) and a RUN step in exec
# form. The "dependency" step hashes 256 MiB of pseudo-random data, standing in for a package download and
# compile that a cache mount keeps between builds. Medians of RUNS rounds; tool order alternates.
#
# Usage: bench/buildkit.sh   (env: RUNS=5 CONTEXT_MB=16 BIG_MB=1024 BIG_RUNS=3 BUSYBOX=/bin/busybox
#                             SHIPIT=target/release/shipit DOCKER_HOST=unix:///var/run/docker.sock)
# Prints a markdown table for docs/performance.md. Talks only to the local engine.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${RUNS:-5}
CONTEXT_MB=${CONTEXT_MB:-16}
BIG_MB=${BIG_MB:-1024}
BIG_RUNS=${BIG_RUNS:-3}
BUSYBOX=${BUSYBOX:-/bin/busybox}
SHIPIT=${SHIPIT:-$ROOT/target/release/shipit}
export DOCKER_HOST=${DOCKER_HOST:-unix:///var/run/docker.sock}
export DOCKER_BUILDKIT=0 NO_COLOR=1 CI=true

command -v docker >/dev/null || { echo "the docker CLI is needed for the comparison" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time (GNU time) is needed for peak RSS" >&2; exit 2; }
file -L "$BUSYBOX" 2>/dev/null | grep -q 'statically linked' || { echo "BUSYBOX=$BUSYBOX must be a static busybox" >&2; exit 2; }
if [ ! -x "$SHIPIT" ]; then
  echo "building the release binary (cargo build --release)…" >&2
  (cd "$ROOT" && cargo build --release >&2)
fi

WORK=$(mktemp -d /tmp/shipit-bench-bk-XXXXXX)
RUN_ID=$(date +%s)-$$
cleanup() {
  docker images --format '{{.Repository}}:{{.Tag}}' | grep "bench-bk-.*$RUN_ID" | xargs -r docker rmi -f >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo "bench: the command on line $LINENO failed" >&2' ERR

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
min2() { awk -v a="$1" -v b="$2" 'BEGIN { print (a < b ? a : b) }'; }
git_q() { git -c user.name=bench -c user.email=bench@example.com -c commit.gpgsign=false "$@"; }

RUN_STEP='["/bin/busybox", "sh", "-c", "/bin/busybox cat /app/payload.bin | /bin/busybox md5sum > /app.md5"]'

# $1 dir, $2 builder ("buildkit" | "classic"), $3 Dockerfile text
make_project() {
  local dir=$1 builder=$2
  mkdir -p "$dir"
  cp "$BUSYBOX" "$dir/busybox"
  printf '%s' "$3" > "$dir/Dockerfile"
  printf '.git\n' > "$dir/.dockerignore"
  # network none: RUN steps need no network, and the test engine has no bridge (dockerd --bridge=none).
  printf '[app]\nname = "bench-bk-%s-%s"\n\n[build]\nbuilder = "%s"\nnetwork = "none"\n' "$(basename "$dir")" "$RUN_ID" "$builder" > "$dir/ship.toml"
  git_q -C "$dir" init -q -b main
}

refresh() {
  local dir=$1 mb=$2
  head -c $((mb * 1024 * 1024)) /dev/urandom > "$dir/payload.bin"
  git_q -C "$dir" add -A
  git_q -C "$dir" commit -q -m "payload $(date +%s%N)"
}

labels_for() {
  local dir=$1 sha created
  sha=$(git -C "$dir" rev-parse HEAD)
  created=$(date -u -d "@$(git -C "$dir" log -1 --format=%ct)" +%Y-%m-%dT%H:%M:%SZ)
  echo "--label org.opencontainers.image.created=$created --label org.opencontainers.image.revision=$sha"
}

shipit_build() { (cd "$1" && "$SHIPIT" build -q >/dev/null); }
docker_build() {
  # shellcheck disable=SC2046
  docker build -q --network none $(labels_for "$1") -t "bench-bk-docker-$RUN_ID:$(git -C "$1" rev-parse HEAD)" "$1" >/dev/null 2>&1
}

echo "shipit: $("$SHIPIT" --version)   docker CLI: $(docker version -f '{{.Client.Version}}')   engine: $(docker version -f '{{.Server.Version}}')" >&2
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)   runs: $RUNS   context: $CONTEXT_MB MiB" >&2

DF="FROM scratch
COPY busybox /bin/busybox
COPY . /app
RUN $RUN_STEP
"
make_project "$WORK/kit" buildkit "$DF"
make_project "$WORK/classic" classic "$DF"
make_project "$WORK/docker" classic "$DF"

# --- 1 and 2 ---------------------------------------------------------------------------------------------
declare -A fresh noop
for i in $(seq 1 "$RUNS"); do
  for t in kit classic docker; do refresh "$WORK/$t" "$CONTEXT_MB"; done
  order=$( ((i % 2)) && echo "kit classic docker" || echo "docker classic kit")
  line="run $i:"
  for phase in fresh noop; do
    for t in $order; do
      t0=$(now)
      if [ "$t" = docker ]; then docker_build "$WORK/docker"; else shipit_build "$WORK/$t"; fi
      d=$(elapsed "$t0" "$(now)")
      if [ "$phase" = fresh ]; then fresh[$t]="${fresh[$t]:-} $d"; else noop[$t]="${noop[$t]:-} $d"; fi
      line="$line $phase/$t ${d}s"
    done
  done
  echo "$line" >&2
done
for t in kit classic docker; do
  declare "mf_$t=$(echo "${fresh[$t]}" | median)"
  declare "mn_$t=$(echo "${noop[$t]}" | median)"
done
# shellcheck disable=SC2154
best_f=$(min2 "$mf_classic" "$mf_docker"); best_n=$(min2 "$mn_classic" "$mn_docker")

# --- 3: warm rebuild after a source change, with and without a cache mount ------------------------------
DEPS='if [ ! -f /deps/done ]; then /bin/busybox head -c 268435456 /dev/urandom | /bin/busybox sha256sum > /deps/sum; /bin/busybox touch /deps/done; fi; /bin/busybox cp /deps/sum /deps.sum'
WITH="FROM scratch
COPY busybox /bin/busybox
COPY src.txt /src.txt
RUN --mount=type=cache,id=bench-$RUN_ID,target=/deps [\"/bin/busybox\", \"sh\", \"-c\", \"$DEPS\"]
"
WITHOUT="FROM scratch
COPY busybox /bin/busybox
COPY src.txt /src.txt
RUN [\"/bin/busybox\", \"sh\", \"-c\", \"/bin/busybox mkdir -p /deps; $DEPS\"]
"
make_project "$WORK/with" buildkit "$WITH"
make_project "$WORK/without" buildkit "$WITHOUT"
for t in with without; do
  echo 0 > "$WORK/$t/src.txt"; git_q -C "$WORK/$t" add -A; git_q -C "$WORK/$t" commit -q -m first
  shipit_build "$WORK/$t"   # the first build fills the cache mount
done
warm_with=() warm_without=()
for i in $(seq 1 "$RUNS"); do
  for t in $( ((i % 2)) && echo "with without" || echo "without with"); do
    echo "$i" > "$WORK/$t/src.txt"; git_q -C "$WORK/$t" commit -qam "change $i"
    t0=$(now); shipit_build "$WORK/$t"; d=$(elapsed "$t0" "$(now)")
    if [ "$t" = with ]; then warm_with+=("$d"); else warm_without+=("$d"); fi
  done
  echo "warm run $i: cache mount ${warm_with[-1]}s, without ${warm_without[-1]}s" >&2
done
m_with=$(echo "${warm_with[*]}" | median); m_without=$(echo "${warm_without[*]}" | median)

# --- 4: peak RSS with a big context ---------------------------------------------------------------------
BIG="$WORK/big"
make_project "$BIG" buildkit "FROM scratch
COPY small.txt /small.txt
"
echo small > "$BIG/small.txt"
mkdir -p "$BIG/data"
for n in $(seq 1 $((BIG_MB / 64))); do head -c $((64 * 1024 * 1024)) /dev/urandom > "$BIG/data/part-$n.bin"; done
git_q -C "$BIG" add -A; git_q -C "$BIG" commit -q -m big
cat "$BIG"/data/*.bin > /dev/null
rss=0 big=()
for i in $(seq 1 "$BIG_RUNS"); do
  t0=$(now)
  (cd "$BIG" && /usr/bin/time -v -o "$WORK/time" "$SHIPIT" build -q --no-cache >/dev/null)
  big+=("$(elapsed "$t0" "$(now)")")
  r=$(awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$WORK/time")
  rss=$(awk -v a="$rss" -v b="$r" 'BEGIN { print (b > a ? b : a) }')
  echo "big context run $i: ${big[-1]}s, peak RSS ${r} MiB" >&2
done
m_big=$(echo "${big[*]}" | median)

# shellcheck disable=SC2154
cat <<EOF

| measurement ($(date -u +%Y-%m-%d), $(nproc) cores, engine $(docker version -f '{{.Server.Version}}')) | shipit BuildKit | shipit classic | docker build (classic) | BuildKit ÷ faster classic | target |
|---|---|---|---|---|---|
| fresh build, ${CONTEXT_MB} MiB context + RUN (median of $RUNS) | ${mf_kit}s | ${mf_classic}s | ${mf_docker}s | $(ratio "$mf_kit" "$best_f")× | ≤ 1.02× |
| no-change rebuild (median of $RUNS) | ${mn_kit}s | ${mn_classic}s | ${mn_docker}s | $(ratio "$mn_kit" "$best_n")× | ≤ 1.02× |

| measurement (BuildKit) | with cache mount | without | ratio | target |
|---|---|---|---|---|
| warm rebuild after a source change, 256 MiB dependency step (median of $RUNS) | ${m_with}s | ${m_without}s | $(ratio "$m_with" "$m_without")× | ≤ 0.5× |
| peak RSS sending a ${BIG_MB} MiB context (max of $BIG_RUNS; build median ${m_big}s) | ${rss} MiB | | | ≤ 64 MiB |

fresh (s): kit${fresh[kit]} | classic${fresh[classic]} | docker${fresh[docker]}
no-change (s): kit${noop[kit]} | classic${noop[classic]} | docker${noop[docker]}
warm (s): with ${warm_with[*]} | without ${warm_without[*]}
load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)
EOF
