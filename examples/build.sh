#!/usr/bin/env bash
# Rebuilds the bundled example web root: small but real images (an xz metadata tarball,
# mksquashfs squashfs, tar.xz rootfs, qemu-img qcow2), byte-reproducible. The result is committed,
# so `npm start` needs none of these tools.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out="$here/webroot/images"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
rm -rf "$out"

tarball() { # dir output: a reproducible tar of dir's entries, xz-compressed
	tar --format=gnu --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$1" -cf - . | xz -T1 -9 > "$2"
}

version() { # os release arch kernel-arch variant version created meta rootfs...
	local os=$1 release=$2 arch=$3 karch=$4 variant=$5 version=$6 created=$7 meta=$8
	shift 8
	local dir="$out/$os/$release/$arch/$variant/$version" src="$scratch/$os-$release-$arch-$variant-$version"
	mkdir -p "$dir" "$src/meta/templates" "$src/rootfs/etc"
	cat > "$src/meta/metadata.yaml" <<YAML
architecture: $karch
creation_date: $created
properties:
  os: $os
  release: "$release"
  variant: $variant
  architecture: $arch
  description: $os $release $arch ($variant) ($version)
  serial: "$version"
templates:
  /etc/hostname:
    when: [create, copy]
    create_only: false
    template: hostname.tpl
    properties: {}
YAML
	echo '{{ container.name }}' > "$src/meta/templates/hostname.tpl"
	printf 'NAME="%s"\nVERSION_ID="%s"\nBUILD_ID="%s"\n' "$os" "$release" "$version" > "$src/rootfs/etc/os-release"
	echo "$os" > "$src/rootfs/etc/hostname"
	tarball "$src/meta" "$dir/$meta"
	for rootfs in "$@"; do
		case $rootfs in
			root.squashfs) mksquashfs "$src/rootfs" "$dir/$rootfs" -noappend -all-root -root-mode 755 -mkfs-time 0 -all-time 0 -no-progress -quiet ;;
			root.tar.xz) tarball "$src/rootfs" "$dir/$rootfs" ;;
			disk.qcow2)
				printf '%s %s %s\n' "$os" "$release" "$version" > "$scratch/disk.raw"
				truncate -s 1M "$scratch/disk.raw"
				qemu-img convert -q -f raw -O qcow2 "$scratch/disk.raw" "$dir/$rootfs" ;;
		esac
	done
}

version demo 1.0 amd64 x86_64 default 20240601_00:00 1717200000 incus.tar.xz root.squashfs disk.qcow2
version demo 1.0 amd64 x86_64 default 20240615_00:00 1718409600 incus.tar.xz root.squashfs disk.qcow2
version demo 1.0 arm64 aarch64 default 20240601_00:00 1717200000 lxd.tar.xz root.tar.xz
version demo 2.0 amd64 x86_64 cloud 20240701_12:00 1719835200 incus.tar.xz root.squashfs
# VMs of demo refuse to start with secure boot on: the image is unsigned.
echo '{"secureboot": "false"}' > "$out/demo/.requirements"
