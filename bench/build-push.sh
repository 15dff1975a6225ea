#!/usr/bin/env bash
# Benchmark: `shipit push` (build + push) against the docker CLI doing the same work, side by side in one run.
#
#   1. fresh build + push of a new context:  shipit push          vs  docker build + docker push
#   2. no-op re-ship of an unchanged commit:  shipit push (skip)   vs  cached docker build + docker push
#   3. peak RSS while sending a 1 GiB build context: shipit build vs the docker CLI (/usr/bin/time -v)
#
# Both tools use the engine's classic builder (DOCKER_BUILDKIT=0 for the CLI) and get the same Dockerfile,
# the same labels and contexts of the same size (each its own random content, so neither profits from the
# other's build cache or blob uploads). Medians of RUNS runs; the order of the tools alternates.
#
# Usage: bench/build-push.sh            (env: REGISTRY=127.0.0.1:5000 RUNS=5 CONTEXT_MB=64 BIG_MB=1024 BIG_RUNS=3
#                                               SHIPIT=target/release/shipit DOCKER_HOST=unix:///var/run/docker.sock)
# Prints a markdown table for docs/performance.md. Talks only to 127.0.0.1.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
REGISTRY=${REGISTRY:-127.0.0.1:5000}
RUNS=${RUNS:-5}
CONTEXT_MB=${CONTEXT_MB:-64}
BIG_MB=${BIG_MB:-1024}
BIG_RUNS=${BIG_RUNS:-3}
SHIPIT=${SHIPIT:-$ROOT/target/release/shipit}
export DOCKER_HOST=${DOCKER_HOST:-unix:///var/run/docker.sock}
export DOCKER_BUILDKIT=0 NO_COLOR=1 CI=true

case "$REGISTRY" in 127.*|localhost:*) ;; *) echo "REGISTRY must be on 127.0.0.1" >&2; exit 2 ;; esac
command -v docker >/dev/null || { echo "the docker CLI is needed for the comparison" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time (GNU time) is needed for peak RSS" >&2; exit 2; }
if [ ! -x "$SHIPIT" ]; then
  echo "building the release binary (cargo build --release)…" >&2
  (cd "$ROOT" && cargo build --release >&2)
fi
curl -fsS "http://$REGISTRY/v2/" >/dev/null || { echo "no registry answers at $REGISTRY" >&2; exit 2; }

WORK=$(mktemp -d /tmp/shipit-bench-XXXXXX)
RUN_ID=$(date +%s)-$$
IMAGES=()
cleanup() {
  for i in "${IMAGES[@]}"; do docker rmi -f "$i" >/dev/null 2>&1 || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo "bench: the command on line $LINENO failed" >&2' ERR

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
git_q() { git -c user.name=bench -c user.email=bench@example.com -c commit.gpgsign=false "$@"; }

# A repository whose context is one random file of $2 MiB (plus the Dockerfile).
make_project() {
  local dir=$1 repo=$2
  mkdir -p "$dir"
  printf 'FROM scratch\nCOPY . /app\n' > "$dir/Dockerfile"
  printf '.git\n' > "$dir/.dockerignore"
  # The classic builder, like the CLI here (no buildx); bench/buildkit.sh compares the builders.
  printf '[app]\nname = "bench"\n\n[build]\nbuilder = "classic"\n\n[registries.bench]\ntype = "oci"\nrepository = "%s"\n' "$repo" > "$dir/ship.toml"
  git_q -C "$dir" init -q -b main
}

# New random content, committed: a fresh layer that nothing has seen.
refresh() {
  local dir=$1 mb=$2
  head -c $((mb * 1024 * 1024)) /dev/urandom > "$dir/payload.bin"
  git_q -C "$dir" add -A
  git_q -C "$dir" commit -q -m "payload $(date +%s%N)"
}

# The labels shipit sets (`created` is the commit time, as shipit sets it), so the docker CLI build does the
# same steps and its rebuild of an unchanged commit is a complete cache hit.
labels_for() {
  local dir=$1 sha created
  sha=$(git -C "$dir" rev-parse HEAD)
  created=$(date -u -d "@$(git -C "$dir" log -1 --format=%ct)" +%Y-%m-%dT%H:%M:%SZ)
  echo "--label org.opencontainers.image.created=$created --label org.opencontainers.image.revision=$sha"
}

shipit_push() { (cd "$1" && "$SHIPIT" push -q >/dev/null); }

docker_build_push() {
  local dir=$1 repo=$2 sha tag
  sha=$(git -C "$dir" rev-parse HEAD)
  tag="$repo:$sha"
  # shellcheck disable=SC2046
  docker build -q $(labels_for "$dir") -t "$tag" "$dir" >/dev/null 2>&1
  docker push -q "$tag" >/dev/null
  IMAGES+=("$tag")
}

echo "shipit: $("$SHIPIT" --version)   docker CLI: $(docker version -f '{{.Client.Version}}')   engine: $(docker version -f '{{.Server.Version}}')" >&2
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "registry: $REGISTRY   runs: $RUNS   context: $CONTEXT_MB MiB   big context: $BIG_MB MiB" >&2

S_REPO="$REGISTRY/bench-shipit-$RUN_ID"
D_REPO="$REGISTRY/bench-docker-$RUN_ID"
make_project "$WORK/s" "$S_REPO"
make_project "$WORK/d" "$D_REPO"

# --- 1 and 2: fresh build+push, then the no-op re-ship of the same commit -----------------------------------
fresh_s=() fresh_d=() noop_s=() noop_d=()
for i in $(seq 1 "$RUNS"); do
  refresh "$WORK/s" "$CONTEXT_MB"
  refresh "$WORK/d" "$CONTEXT_MB"
  sha_s=$(git -C "$WORK/s" rev-parse HEAD)
  IMAGES+=("$S_REPO:$sha_s" "$S_REPO:${sha_s:0:12}")
  for tool in $( ((i % 2)) && echo "shipit docker" || echo "docker shipit"); do
    t0=$(now)
    if [ "$tool" = shipit ]; then shipit_push "$WORK/s"; else docker_build_push "$WORK/d" "$D_REPO"; fi
    t1=$(now)
    if [ "$tool" = shipit ]; then fresh_s+=("$(elapsed "$t0" "$t1")"); else fresh_d+=("$(elapsed "$t0" "$t1")"); fi
  done
  for tool in $( ((i % 2)) && echo "shipit docker" || echo "docker shipit"); do
    t0=$(now)
    if [ "$tool" = shipit ]; then shipit_push "$WORK/s"; else docker_build_push "$WORK/d" "$D_REPO"; fi
    t1=$(now)
    if [ "$tool" = shipit ]; then noop_s+=("$(elapsed "$t0" "$t1")"); else noop_d+=("$(elapsed "$t0" "$t1")"); fi
  done
  echo "run $i: fresh shipit ${fresh_s[-1]}s docker ${fresh_d[-1]}s | re-ship shipit ${noop_s[-1]}s docker ${noop_d[-1]}s" >&2
done
m_fresh_s=$(echo "${fresh_s[*]}" | median); m_fresh_d=$(echo "${fresh_d[*]}" | median)
m_noop_s=$(echo "${noop_s[*]}" | median); m_noop_d=$(echo "${noop_d[*]}" | median)

# --- 3: peak RSS while sending a big context ----------------------------------------------------------------
# The Dockerfile copies one small file: the engine still receives (and stores) the whole context, but the
# image stays tiny. Each tool gets its own copy of the big payload so neither reads from a warm page cache
# the other one filled more than the other.
BIG="$WORK/big"
make_project "$BIG" "$REGISTRY/bench-big-$RUN_ID"
printf 'FROM scratch\nCOPY small.txt /small.txt\n' > "$BIG/Dockerfile"
echo small > "$BIG/small.txt"
mkdir -p "$BIG/data"
for n in $(seq 1 $((BIG_MB / 64))); do head -c $((64 * 1024 * 1024)) /dev/urandom > "$BIG/data/part-$n.bin"; done
git_q -C "$BIG" add -A
git_q -C "$BIG" commit -q -m big
big_sha=$(git -C "$BIG" rev-parse HEAD)
IMAGES+=("$REGISTRY/bench-big-$RUN_ID:$big_sha" "$REGISTRY/bench-big-$RUN_ID:${big_sha:0:12}" "bench-big-docker:$RUN_ID")
cat "$BIG"/data/*.bin > /dev/null

rss_of() { awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$1"; }
big_s=() big_d=() rss_s=0 rss_d=0
for i in $(seq 1 "$BIG_RUNS"); do
  for tool in $( ((i % 2)) && echo "shipit docker" || echo "docker shipit"); do
    t0=$(now)
    if [ "$tool" = shipit ]; then
      (cd "$BIG" && /usr/bin/time -v -o "$WORK/time-shipit" "$SHIPIT" build -q >/dev/null)
      big_s+=("$(elapsed "$t0" "$(now)")")
      rss_s=$(awk -v a="$rss_s" -v b="$(rss_of "$WORK/time-shipit")" 'BEGIN { print (b > a ? b : a) }')
    else
      # shellcheck disable=SC2046
      /usr/bin/time -v -o "$WORK/time-docker" docker build -q $(labels_for "$BIG") -t "bench-big-docker:$RUN_ID" "$BIG" >/dev/null 2>&1
      big_d+=("$(elapsed "$t0" "$(now)")")
      rss_d=$(awk -v a="$rss_d" -v b="$(rss_of "$WORK/time-docker")" 'BEGIN { print (b > a ? b : a) }')
    fi
  done
  echo "big context run $i: shipit ${big_s[-1]}s docker ${big_d[-1]}s" >&2
done
m_big_s=$(echo "${big_s[*]}" | median); m_big_d=$(echo "${big_d[*]}" | median)

cat <<EOF

| measurement ($(date -u +%Y-%m-%d), $(nproc) cores, engine $(docker version -f '{{.Server.Version}}'), classic builder) | shipit | docker CLI | ratio | target |
|---|---|---|---|---|
| fresh build + push, ${CONTEXT_MB} MiB context (median of $RUNS) | ${m_fresh_s}s | ${m_fresh_d}s | $(ratio "$m_fresh_s" "$m_fresh_d")× | ≤ 1.02× |
| no-op re-ship (shipit: skip-when-exists; docker: cached build + push) | ${m_noop_s}s | ${m_noop_d}s | $(ratio "$m_noop_s" "$m_noop_d")× | ≤ 0.2× |
| peak RSS sending a ${BIG_MB} MiB context (\`shipit build\` / \`docker build\`, max of $BIG_RUNS) | ${rss_s} MiB | ${rss_d} MiB | $(ratio "$rss_s" "$rss_d")× | ≤ 64 MiB |
| build from the ${BIG_MB} MiB context (median of $BIG_RUNS) | ${m_big_s}s | ${m_big_d}s | $(ratio "$m_big_s" "$m_big_d")× | — |

fresh runs (s): shipit ${fresh_s[*]} | docker ${fresh_d[*]}
re-ship runs (s): shipit ${noop_s[*]} | docker ${noop_d[*]}
big-context runs (s): shipit ${big_s[*]} | docker ${big_d[*]}
load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)
EOF
