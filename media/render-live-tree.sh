#!/usr/bin/env bash
# Reproduces media/live-tree.png from a real job: builds a demo web root (rootfs files made at once
# with fallocate), runs the built CLI in a tmux pane, captures the pane mid-hash with its colours
# (tmux capture-pane -e -p), turns the ANSI text into HTML (aha) and screenshots it with headless
# Chromium. Needs: npm run build, tmux, tar, xz, fallocate, qemu-img, aha, chromium
# (apt-get install -y aha chromium fonts-dejavu-core).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cli=$(dirname "$here")/dist/cli.js
out=${1:-$here/live-tree.png}
cols=100
rows=34
# A fixed, readable path: it is on the picture.
work=${TMPDIR:-/tmp}/simplestreams-demo
rm -rf "$work"
mkdir -p "$work"
tmux=(tmux -f /dev/null -S "$work/tmux.sock")
trap '"${tmux[@]}" kill-server 2>/dev/null || true; rm -rf "$work"' EXIT
root=$work/srv/images

# A version: metadata tarballs (real xz of a real tar) and rootfs files of the given sizes.
version() {
	local dir=$root/images/$1; shift
	mkdir -p "$dir"
	printf 'architecture: x86_64\ncreation_date: 1722470400\nproperties:\n  description: demo\n' > "$work/metadata.yaml"
	for file in "$@"; do
		local name=${file%%=*} size=${file#*=}
		case $name in
			*.tar.xz) tar --format=gnu -C "$work" -cf - metadata.yaml | xz -c -T1 > "$dir/$name" ;;
			*.squashfs)
				fallocate -l "$size" "$dir/$name"
				# The squashfs magic and bytes_used (u64 at offset 40) equal to the size.
				node -e 'const fs = require("node:fs"); const b = Buffer.alloc(48); b.write("hsqs");
					b.writeBigUInt64LE(BigInt(fs.statSync(process.argv[1]).size), 40);
					fs.writeSync(fs.openSync(process.argv[1], "r+"), b, 0, 48, 0)' "$dir/$name" ;;
			*.qcow2) qemu-img create -q -f qcow2 -o preallocation=falloc "$dir/$name" "$size" ;;
		esac
	done
}

# Already published last week: their digests are in the cache.
version alpine/3.20/amd64/default/20240801_0000 lxd.tar.xz incus.tar.xz root.squashfs=180M
version alpine/3.20/arm64/default/20240801_0000 lxd.tar.xz incus.tar.xz root.squashfs=170M
version debian/12/amd64/default/20240801_0000 lxd.tar.xz root.squashfs=900M
node "$cli" --plain --cache "$work/cache.json" "$root" > /dev/null 2>&1

# New this week, a VM image, an upload still in progress and a version missing its rootfs.
version debian/12/amd64/default/20240901_0000 lxd.tar.xz root.squashfs=1100M
version debian/12/amd64/cloud/20240901_0000 lxd.tar.xz root.squashfs=1200M disk.qcow2=2200M
version debian/12/arm64/default/20240901_0000 lxd.tar.xz root.squashfs=950M
version debian/12/amd64/default/.20241001_0000 lxd.tar.xz
version ubuntu/noble/amd64/default/20240901_0000 lxd.tar.xz incus.tar.xz root.squashfs=1400M
version ubuntu/noble/amd64/default/20240902_0000 lxd.tar.xz
version ubuntu/jammy/amd64/default/20240901_0000 lxd.tar.xz root.squashfs=1000M

"${tmux[@]}" new-session -d -x "$cols" -y "$rows" -s live \
	"env -u CI node '$cli' -N -j 2 --cache '$work/cache.json' '$root'; sleep 600"

# Mid-hash: a third of the bytes hashed and a rootfs bar on screen.
for _ in $(seq 600); do
	screen=$("${tmux[@]}" capture-pane -p -t live)
	percent=$(grep -o 'hashed [0-9]*%' <<< "$screen" | grep -o '[0-9]*' || true)
	if [[ ${percent:-0} -ge 35 ]] && grep -q 'squashfs .*━' <<< "$screen"; then
		break
	fi
	sleep 0.1
done
"${tmux[@]}" capture-pane -e -p -t live > "$work/screen.ansi"

# The captured screen as a page: the pane's own lines, in a terminal's colours and font.
{
	cat <<'HTML'
<!doctype html><meta charset="utf-8"><style>
html, body { margin: 0; background: #1b1d23; }
pre { margin: 0; padding: 14px 18px; color: #d4d7dd; font: 15px/19px "DejaVu Sans Mono", monospace; }
.bold { font-weight: bold; } .highlighted { filter: none; }
.dimgray { color: #7a808c; } .cyan { color: #56b6c2; } .green { color: #98c379; }
.yellow { color: #e5c07b; } .red { color: #e06c75; }
</style><pre>
HTML
	sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' "$work/screen.ansi" | aha --stylesheet --no-header
	echo '</pre>'
} > "$work/screen.html"
lines=$(sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' "$work/screen.ansi" | wc -l)
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --force-device-scale-factor=2 \
	--window-size=$((cols * 9 + 40)),$((lines * 19 + 30)) --screenshot="$out" "file://$work/screen.html" 2> /dev/null
echo "wrote $out"
