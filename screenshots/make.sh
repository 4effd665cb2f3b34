#!/usr/bin/env bash
# Regenerates every screenshot in this folder from the real renderer, on real processes:
# each is `pooltop tui ... --screenshot FILE --after WHEN`, one frame written as SVG.
# Usage: screenshots/make.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cargo build --release --quiet --manifest-path "$here/../Cargo.toml"
pooltop="$here/../target/release/pooltop"
shot() { local file=$1; shift; "$pooltop" tui "$@" --screenshot "$here/$file"; echo "screenshots/$file"; }

shot ready.svg workshop --after 0
shot pool-running.svg pool-map --workers 3 --cost 1s --after 1.5s
shot pool-running-80x24.svg pool-map --workers 3 --cost 1s --after 1.5s --size 80x24
shot squares-cubes.svg squares-cubes --after end
shot imap-unordered.svg imap-unordered --after 0.45s
shot worker-killed.svg worker-killed --after end
shot workshop-finished.svg workshop --after end
shot help.svg pool-map --after 1 --keys '?'
shot signal-menu.svg pool-map --workers 3 --cost 1s --after 1.5s --keys '↓↓x'
shot lesson-q3.svg --lesson q3-two-processes --after 4
shot lesson-q4-mistake.svg --lesson q4-pool-lifecycle --after 3
shot timeline-chunksize.svg --lesson chunksize --after end --keys vv
shot speedup.svg --lesson speedup --after end --keys vvv
shot threads-vs-processes.svg --lesson q2-threads-vs-processes --after end --keys vvv
shot start-methods.svg --lesson start-methods --after end --keys vvvv
shot lesson-picker.svg workshop --after 0 --keys 'L↓↓'
shot zoom-tasks.svg pool-map --workers 3 --cost 1s --after 1.5s --keys "$(printf '\tz')"
shot high-contrast.svg pool-map --workers 3 --cost 1s --after 1.5s --theme high-contrast

# Watch mode: real Python programs from assets/python/, run by python3.
watch() { local file=$1; shift; (cd "$here/.." && "$pooltop" watch --screenshot "$here/$file" "$@"); echo "screenshots/$file"; }
watch watch-imap.svg --after 1.5s -- assets/python/imap_vs_imap_unordered.py
watch watch-worker-killed.svg --after 1.5s -- assets/python/worker_killed.py
watch watch-q5-forkserver.svg --after end -- assets/python/q5_pool_map.py forkserver
py=$(python3 -c 'import sys; print(sys.executable)')
watch watch-no-hook.svg --refresh 200 --after 0.5s -- "$py" -I assets/python/maxtasksperchild.py

# Every screenshot must render outside a browser too: librsvg, which image viewers and
# converters use, rejects SVG that browsers forgive.
if ! command -v rsvg-convert >/dev/null; then
    echo "make.sh: rsvg-convert not found, cannot check the screenshots render; apt-get install librsvg2-bin" >&2
    exit 1
fi
png_dir=$(mktemp -d)
trap 'rm -rf "$png_dir"' EXIT
failed=0
for svg in "$here"/*.svg; do
    png="$png_dir/$(basename "$svg" .svg).png"
    if ! rsvg-convert "$svg" -o "$png" || [ ! -s "$png" ]; then
        echo "make.sh: rsvg-convert could not render screenshots/$(basename "$svg")" >&2
        failed=1
    fi
done
if [ "$failed" -ne 0 ]; then
    exit 1
fi
echo "every screenshots/*.svg renders with rsvg-convert"
