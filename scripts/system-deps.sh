#!/usr/bin/env bash
# Installs the Debian packages the test suite runs for real: both image clients, an Incus daemon
# (without the `incus` metapackage, which would pull in qemu-system and upgrade qemu-utils) and an
# LXD daemon, with one subordinate id range for root that both start containers on, the
# tools that build real images, a static busybox for images the daemon boots, tmux for the
# terminal tests, a one-node Ceph with its RADOS Gateway as the S3 store, Incus's own
# simplestreams tool (an upstream shape to mirror), a proxy to mirror through (tinyproxy) and a
# headless browser for the image page. As root it installs
# what is missing and fixes root's ranges; as anyone else it names exactly what is missing and exits 1.
set -euo pipefail

# command -> package
declare -A need=(
  [lxc]=lxd-client
  [incus]=incus-client
  [mksquashfs]=squashfs-tools
  [qemu-img]=qemu-utils
  [xz]=xz-utils
  [bzip2]=bzip2
  [zstd]=zstd
  [xdelta3]=xdelta3
  [openssl]=openssl
  [tmux]=tmux
  [nginx]=nginx-light
  [/usr/libexec/incus/incusd]=incus-base
  [/usr/bin/lxd]=lxd
  [/usr/sbin/dnsmasq]=dnsmasq-base
  [busybox]=busybox-static
  [ceph-mon]=ceph-mon
  [ceph-osd]=ceph-osd
  [radosgw]=radosgw
  [ceph]=ceph-common
  [incus-simplestreams]=incus-extra
  [chromium]=chromium
  [tinyproxy]=tinyproxy
  [strace]=strace
)

missing=()
for cmd in "${!need[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${need[$cmd]}")
done

# Incus 6.0.4 starts no container when root has two ranges in /etc/subuid or /etc/subgid (LXD does):
# the lxd package adds one right after the one incus-base adds. One range, either, serves both.
subid_files=(/etc/subuid /etc/subgid)
root_ranges() { awk -F: '$1 == "root"' "$1" 2>/dev/null | wc -l; }
several_root_ranges() { for f in "${subid_files[@]}"; do [ "$(root_ranges "$f")" -gt 1 ] && return 0; done; return 1; }
keep_largest_root_range() {
  local f kept
  for f in "${subid_files[@]}"; do
    [ "$(root_ranges "$f")" -gt 1 ] || continue
    kept=$(awk -F: '$1 == "root" && $3 + 0 > most { most = $3 + 0; line = $0 } END { print line }' "$f")
    # Written in place, so the file keeps its owner and mode.
    awk -F: -v kept="$kept" '$1 != "root" || ($0 == kept && !seen++)' "$f" > "$f.simplestreams"
    cat "$f.simplestreams" > "$f" && rm "$f.simplestreams"
    echo "$f: kept root's largest range only ($kept)" >&2
  done
}

[ ${#missing[@]} -eq 0 ] && ! several_root_ranges && exit 0

if [ "$(id -u)" -ne 0 ]; then
  [ ${#missing[@]} -eq 0 ] || echo "simplestreams tests need these Debian packages: ${missing[*]}" >&2
  several_root_ranges && echo "root has several ranges in ${subid_files[*]}, with which Incus starts no container" >&2
  echo "run this script as root (it installs them from Debian and bookworm-backports and keeps root's largest range), or run the tests as root" >&2
  exit 1
fi

install_missing() {
  export DEBIAN_FRONTEND=noninteractive
  # Incus lives in bookworm-backports: add it from the mirror the system already uses.
  backported=' incus-client incus-base dnsmasq-base incus-extra '
  needs_backports() { for p in "${missing[@]}"; do [[ "$backported" == *" $p "* ]] && return 0; done; return 1; }
  if needs_backports && ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    mirror=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
    [ -n "$mirror" ] || mirror=$(awk '$1=="deb" && $0 !~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
    [ -n "$mirror" ] || { echo "cannot find a Debian mirror in the apt sources to add bookworm-backports" >&2; exit 1; }
    printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$mirror" \
      > /etc/apt/sources.list.d/bookworm-backports.sources
  fi

  apt-get update -qq
  plain=() backports=()
  for p in "${missing[@]}"; do
    if [[ "$backported" == *" $p "* ]]; then backports+=("$p"); else plain+=("$p"); fi
  done
  [ ${#plain[@]} -eq 0 ] || apt-get install -y -qq --no-install-recommends "${plain[@]}"
  [ ${#backports[@]} -eq 0 ] || apt-get install -y -qq --no-install-recommends -t bookworm-backports "${backports[@]}"
}

[ ${#missing[@]} -eq 0 ] || install_missing
keep_largest_root_range
