#!/usr/bin/env bash
# Installs the servers `bench -- peers` measures ours against, at the versions pinned in
# scripts/bench-peers/package.json (and its lock): pouchdb-server (LevelDB through leveldown,
# whose npm tarball ships prebuilt binaries) and @tus/server with @tus/file-store.
# Usage: scripts/install-bench-peers.sh        (into ${BENCH_PEERS_DIR:-$HOME/.cache/kbx-bench-peers})
# Does nothing when those versions are already installed there. Install scripts are not run:
# none is needed (leveldown loads its prebuilt binary), and sqlite3's (an optional adapter
# pouchdb-server does not use here) would try to download one.
set -euo pipefail

spec="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/bench-peers"
dir="${BENCH_PEERS_DIR:-$HOME/.cache/kbx-bench-peers}"

command -v node >/dev/null || { echo "install-bench-peers: node is not installed" >&2; exit 1; }
command -v npm >/dev/null || { echo "install-bench-peers: npm is not installed" >&2; exit 1; }

# Whether every dependency in the pinned package.json is installed in $dir at its version.
installed() {
  [ -f "$dir/package.json" ] && cmp -s "$spec/package.json" "$dir/package.json" || return 1
  node -e '
    const path = require("path");
    const [spec, dir] = process.argv.slice(1);
    const wanted = require(path.join(spec, "package.json")).dependencies;
    for (const [name, version] of Object.entries(wanted)) {
      let found;
      try { found = require(path.join(dir, "node_modules", name, "package.json")).version; }
      catch { process.exit(1); }
      if (found !== version) process.exit(1);
    }
  ' "$spec" "$dir"
}

if installed; then
  echo "bench peers: already installed in $dir"
  exit 0
fi

mkdir -p "$dir"
cp "$spec/package.json" "$dir/package.json"
if [ -f "$spec/package-lock.json" ]; then
  cp "$spec/package-lock.json" "$dir/package-lock.json"
fi
echo "bench peers: installing into $dir" >&2
(cd "$dir" && npm install --no-audit --no-fund --ignore-scripts)
if [ ! -f "$spec/package-lock.json" ]; then
  # The first install writes the lock that pins every package below the three named.
  cp "$dir/package-lock.json" "$spec/package-lock.json"
fi

# leveldown must load its prebuilt binary on this Node, or pouchdb-server cannot open a database.
(cd "$dir" && node -e 'require("leveldown")') || {
  echo "install-bench-peers: leveldown does not load on Node $(node --version)" >&2
  exit 1
}
installed || { echo "install-bench-peers: the pinned versions are not what was installed" >&2; exit 1; }
echo "bench peers: installed in $dir"
