#!/usr/bin/env bash
# Build and install shipit from this checkout, with shell completions. Safe to run again (it upgrades in place).
set -euo pipefail

usage() {
  cat <<'USAGE'
Install shipit from this source checkout.

Usage: ./install.sh [--prefix DIR] [--no-completions] [--debug]

  --prefix DIR       install the binary to DIR/bin (default: ~/.cargo, i.e. ~/.cargo/bin/shipit)
  --no-completions   do not install shell completions
  --debug            build without optimisations (faster to build, for trying things out)
  -h, --help         show this help

Needs a Rust toolchain (https://rustup.rs). Installs completions for bash, zsh and fish into the usual per-user
locations when those shells are present; for other shells run `shipit completions <shell>`.
USAGE
}

prefix=""
completions=1
profile_flag=()
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) [ $# -ge 2 ] || { echo "install.sh: --prefix needs a directory" >&2; exit 2; }; prefix="$2"; shift 2 ;;
    --prefix=*) prefix="${1#--prefix=}"; shift ;;
    --no-completions) completions=0; shift ;;
    --debug) profile_flag=(--debug); shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
done

cd "$(dirname "$0")"
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
if ! command -v cargo >/dev/null 2>&1; then
  echo "install.sh: cargo not found. Install Rust first: https://rustup.rs (then open a new shell)" >&2
  exit 1
fi

args=(install --path . --locked --force "${profile_flag[@]}")
[ -n "$prefix" ] && args+=(--root "$prefix")
echo "==> building and installing shipit (cargo ${args[*]})"
cargo "${args[@]}"

bin_dir="${prefix:-${CARGO_HOME:-$HOME/.cargo}}/bin"
shipit="$bin_dir/shipit"
"$shipit" --version >/dev/null

if [ "$completions" = 1 ]; then
  data_home="${XDG_DATA_HOME:-$HOME/.local/share}"
  if command -v bash >/dev/null 2>&1; then
    mkdir -p "$data_home/bash-completion/completions"
    "$shipit" completions bash > "$data_home/bash-completion/completions/shipit"
    echo "==> bash completions: $data_home/bash-completion/completions/shipit"
  fi
  if command -v zsh >/dev/null 2>&1; then
    mkdir -p "$data_home/zsh/site-functions"
    "$shipit" completions zsh > "$data_home/zsh/site-functions/_shipit"
    echo "==> zsh completions: $data_home/zsh/site-functions/_shipit (add that folder to \$fpath)"
  fi
  if command -v fish >/dev/null 2>&1; then
    mkdir -p "${XDG_CONFIG_HOME:-$HOME/.config}/fish/completions"
    "$shipit" completions fish > "${XDG_CONFIG_HOME:-$HOME/.config}/fish/completions/shipit.fish"
    echo "==> fish completions installed"
  fi
fi

echo "==> installed $("$shipit" --version) at $shipit"
case ":$PATH:" in
  *":$bin_dir:"*) ;;
  *) echo "    note: $bin_dir is not on your PATH; add it, e.g. export PATH=\"$bin_dir:\$PATH\"" ;;
esac
