#!/usr/bin/env bash
# Builds the kiosk disk image from Debian packages, without loop mounts:
#   debootstrap (minbase) + apt  ->  rootfs tree  ->  mkfs.ext4 -d / mkfs.vfat + mtools
#   ->  partition images  ->  sfdisk GPT disk image  ->  bmap.
#
#   hardware/image/build.sh [--arch amd64|arm64] [--out DIR] [--source head|worktree]
#                           [--suite bookworm] [--mirror URL] [--rebuild-base]
#                           [--with-standins] [--keyring CA.pem] [--cert PEM --key PEM|PKCS11-URI]
#
# --with-standins makes a TEST image (what boot-test.sh boots): it adds the device
# stand-ins (hardware/, registered as entry points) so a provisioning file may name the
# stand-in card and printer. A production image ships the product alone and refuses them.
#
# Output (default hardware/image/build/<arch>/): disk.img + disk.bmap (flash these),
# kiosk-<version>.raucb (the signed RAUC update bundle: bundle.sh), esp.img + root.img
# (what update.sh writes), vmlinuz + initrd.img (qemu direct boot), manifest.txt (commit,
# sizes, stage timings, package versions).
# Update keys: --keyring is the CA certificate the kiosk trusts (/etc/rauc/keyring.pem),
# --cert/--key sign the bundle (bundle.sh). Without them a development CA and signing key
# are made once in hardware/image/build/keys/ (never committed; never for a real fleet).
# Needs root (chroot, mknod) and: debootstrap e2fsprogs dosfstools mtools fdisk bmap-tools
# python3.11 with pip (the wheelhouse is built with the repository's .venv).
# Partition layout (fixed sizes; RAUC writes the other root slot, config and data are kept):
#   1 KIOSK-ESP    vfat  systemd-boot, one loader entry + kernel + initrd per root slot
#   2 kiosk-root-a ext4  slot A: the OS + app, mounted read-only under an overlayroot tmpfs
#   3 kiosk-root-b ext4  slot B: empty until the first update (RAUC, A/B)
#   4 KIOSK-CONF   vfat  provision.toml, written by the maintainer, read-only on the kiosk
#   5 kiosk-data   ext4  placeholder; the kiosk's first boot makes it LUKS2 (TPM2) with ext4
#                        inside: store, outbox key, logs, journal (survives updates)
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)

ARCH=amd64
SUITE=bookworm
MIRROR=${KIOSK_IMAGE_MIRROR:-http://deb.debian.org/debian}
SOURCE="head"
OUT=""
REBUILD_BASE=0
WITH_STANDINS=0
ESP_MB=256 ROOT_MB=2048 CONF_MB=32 DATA_MB=1536  # data: the store + one downloaded update bundle (≈ 0.5 GB)
KEYRING="" SIGN_CERT="" SIGN_KEY=""

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit "${1:-0}"; }
while (($#)); do
  case "$1" in
    --arch) ARCH=$2; shift 2 ;;
    --suite) SUITE=$2; shift 2 ;;
    --mirror) MIRROR=$2; shift 2 ;;
    --source) SOURCE=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --rebuild-base) REBUILD_BASE=1; shift ;;
    --with-standins) WITH_STANDINS=1; shift ;;
    --keyring) KEYRING=$2; shift 2 ;;
    --cert) SIGN_CERT=$2; shift 2 ;;
    --key) SIGN_KEY=$2; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "build.sh: unknown option $1" >&2; usage 2 ;;
  esac
done

case "$ARCH" in
  amd64) EFI_NAME=BOOTX64.EFI; SDBOOT=systemd-bootx64.efi
         ROOT_TYPE=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709 ;;
  arm64) EFI_NAME=BOOTAA64.EFI; SDBOOT=systemd-bootaa64.efi
         ROOT_TYPE=B921B045-1DF0-41C3-AF44-4C6F280D3FAE ;;
  *) echo "build.sh: --arch must be amd64 or arm64, got $ARCH" >&2; exit 2 ;;
esac
case "$SOURCE" in head|worktree) ;; *) echo "build.sh: --source head|worktree" >&2; exit 2 ;; esac
[ "$(id -u)" -eq 0 ] || { echo "build.sh: run as root (debootstrap and chroot need it)" >&2; exit 1; }
for tool in debootstrap mkfs.ext4 mkfs.vfat mcopy sfdisk bmaptool rauc mksquashfs openssl; do
  command -v "$tool" >/dev/null || { echo "build.sh: $tool is missing (scripts/bootstrap installs it)" >&2; exit 1; }
done

OUT=${OUT:-$HERE/build/$ARCH}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
BASE=$OUT/base ROOTFS=$OUT/rootfs PARTS=$OUT/parts
# The update keys: a city's own (--keyring/--cert/--key), or the development ones.
if [ -z "$KEYRING" ]; then
  "$HERE/bundle.sh" --dev-keys "$HERE/build/keys"
  KEYRING=$HERE/build/keys/ca.cert.pem
  SIGN_CERT=${SIGN_CERT:-$HERE/build/keys/signing.cert.pem} SIGN_KEY=${SIGN_KEY:-$HERE/build/keys/signing.key.pem}
fi
[ -r "$KEYRING" ] || { echo "build.sh: keyring $KEYRING not readable" >&2; exit 1; }
TIMINGS=()
stage_start() { STAGE=$1; STAGE_T0=$SECONDS; echo "== build.sh: $STAGE" >&2; }
stage_end() { TIMINGS+=("$STAGE: $((SECONDS - STAGE_T0)) s"); echo "   ($STAGE took $((SECONDS - STAGE_T0)) s)" >&2; }

# --- chroot helpers: the only mounts are /proc, /sys, /dev (never a loop device) -----
MOUNTED=()
chroot_mount() {
  local root=$1
  mount -t proc proc "$root/proc"; MOUNTED+=("$root/proc")
  mount -t sysfs sysfs "$root/sys"; MOUNTED+=("$root/sys")
  mount --bind /dev "$root/dev"; MOUNTED+=("$root/dev")
  mount -t devpts devpts "$root/dev/pts" -o newinstance,ptmxmode=0666; MOUNTED+=("$root/dev/pts")
}
chroot_umount() {
  local i
  for ((i=${#MOUNTED[@]}-1; i>=0; i--)); do umount -l "${MOUNTED[i]}" 2>/dev/null || true; done
  MOUNTED=()
}
trap chroot_umount EXIT
# A clean environment: the build machine's PIP_*, PYTHON* and locale must not leak in.
in_root() {
  chroot "$1" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 \
    DEBIAN_FRONTEND=noninteractive "${@:2}"
}

# --- 1. base system (cached: rebuilt only when the package list, suite or arch change) -
PKGS=$(sed -e 's/#.*//' -e "s/@ARCH/$ARCH/" "$HERE/packages.txt" | xargs)
base_key=$(printf '%s\n' "$SUITE" "$ARCH" "$MIRROR" "$PKGS" | sha256sum | cut -c1-16)
if [ "$REBUILD_BASE" = 1 ] || [ "$(cat "$BASE.stamp" 2>/dev/null)" != "$base_key" ]; then
  stage_start "base system (debootstrap --variant=minbase + apt, $SUITE/$ARCH)"
  rm -rf "$BASE.tmp" "$BASE" "$BASE.stamp"
  foreign=()
  [ "$(dpkg --print-architecture)" = "$ARCH" ] || foreign=(--foreign)
  debootstrap --variant=minbase --arch="$ARCH" "${foreign[@]}" "$SUITE" "$BASE.tmp" "$MIRROR" \
    > "$OUT/debootstrap.log" 2>&1 || { tail -20 "$OUT/debootstrap.log" >&2; exit 1; }
  if ((${#foreign[@]})); then
    # Cross-arch: needs qemu-user-static + binfmt on the build machine (not tested here).
    in_root "$BASE.tmp" /debootstrap/debootstrap --second-stage
  fi
  cat > "$BASE.tmp/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb http://deb.debian.org/debian-security $SUITE-security main
deb $MIRROR $SUITE contrib
EOF
  # contrib only for Open JTalk's voice (CC-BY 3.0 data made with non-free HTK): pinned so
  # that nothing else ever comes from it (the same pin as scripts/bootstrap).
  printf 'Package: hts-voice-nitech-jp-atr503-m001\nPin: release c=contrib\nPin-Priority: 500\n\nPackage: *\nPin: release c=contrib\nPin-Priority: -1\n' \
    > "$BASE.tmp/etc/apt/preferences.d/ward-kiosk-voice"
  # No daemon starts inside the build chroot.
  printf '#!/bin/sh\nexit 101\n' > "$BASE.tmp/usr/sbin/policy-rc.d"; chmod +x "$BASE.tmp/usr/sbin/policy-rc.d"
  # The initramfs must carry busybox (overlayroot's init-bottom script needs it; without it
  # Debian boots the root read-write without a word). BUSYBOX=y makes mkinitramfs fail
  # loudly instead when busybox is missing.
  mkdir -p "$BASE.tmp/etc/initramfs-tools/conf.d"
  cp "$HERE/rootfs/etc/initramfs-tools/conf.d/kiosk.conf" "$BASE.tmp/etc/initramfs-tools/conf.d/"
  chroot_mount "$BASE.tmp"
  in_root "$BASE.tmp" apt-get update -q > "$OUT/apt.log" 2>&1
  # shellcheck disable=SC2086  # PKGS is a word list on purpose
  in_root "$BASE.tmp" apt-get install -y -q --no-install-recommends $PKGS >> "$OUT/apt.log" 2>&1 \
    || { tail -30 "$OUT/apt.log" >&2; exit 1; }
  in_root "$BASE.tmp" apt-get clean
  chroot_umount
  rm -rf "$BASE.tmp/var/lib/apt/lists/"*
  mv "$BASE.tmp" "$BASE"
  echo "$base_key" > "$BASE.stamp"
  stage_end
fi

# --- 2. wheelhouse: the app's dependencies as wheels (cached on setup.cfg + pins) -------
WHEELS=$OUT/wheelhouse
REQS=$OUT/requirements.txt
"$REPO/.venv/bin/python" - "$REPO/setup.cfg" > "$REQS" <<'EOF'
import configparser, sys
cfg = configparser.ConfigParser()
cfg.read(sys.argv[1])
print("\n".join(r.strip() for r in cfg["options"]["install_requires"].splitlines() if r.strip()))
EOF
wheel_key=$(cat "$REQS" "$REPO/constraints.txt" | sha256sum | cut -c1-16)
if [ "$(cat "$WHEELS.stamp" 2>/dev/null)" != "$wheel_key" ]; then
  stage_start "wheelhouse (pip wheel -c constraints.txt)"
  [ "$ARCH" = "$(dpkg --print-architecture)" ] || {
    echo "build.sh: a $ARCH wheelhouse must be built on $ARCH (pyscard has no wheels)" >&2; exit 1; }
  rm -rf "$WHEELS"
  "$REPO/.venv/bin/python" -m pip wheel -q -c "$REPO/constraints.txt" -r "$REQS" -w "$WHEELS"
  echo "$wheel_key" > "$WHEELS.stamp"
  stage_end
fi

# --- 3. the kiosk root file system ----------------------------------------------------
stage_start "rootfs (copy base, app + venv, units, initramfs)"
rm -rf "$ROOTFS"
cp -a "$BASE" "$ROOTFS"
cp -a "$HERE/rootfs/." "$ROOTFS/"
mkdir -p "$ROOTFS/var/lib/ward-kiosk" "$ROOTFS/mnt/kiosk-config" "$ROOTFS/boot/efi" \
         "$ROOTFS/var/log/journal" "$ROOTFS/media/root-ro" "$ROOTFS/media/root-rw"
chmod 0755 "$ROOTFS/usr/local/sbin/"* "$ROOTFS/usr/local/lib/kiosk/"*.sh
# RAUC: the CA the kiosk trusts, and the compatible string of this architecture.
install -m 0644 "$KEYRING" "$ROOTFS/etc/rauc/keyring.pem"
sed -i "s/^compatible=.*/compatible=ward-kiosk-$ARCH/" "$ROOTFS/etc/rauc/system.conf"
# The slot's own kernel command line: RAUC's bootloader backend writes it into the slot's
# loader entry (root= and rauc.slot= set per slot).
install -m 0644 "$HERE/cmdline.txt" "$ROOTFS/etc/kiosk/cmdline.txt"
APP=$ROOTFS/opt/kiosk/app
mkdir -p "$APP"
# The product alone: the stand-ins (hardware/) and the dev tools (devtools/) stay out, so
# a config naming a stand-in stops the kiosk at start-up (kiosk/devices.py).
PRODUCT=(kiosk config assets setup.cfg pyproject.toml)
# A test image adds the stand-ins (and what the in-process stand-in desk needs).
[ "$WITH_STANDINS" = 1 ] && PRODUCT+=(hardware devtools)
if [ "$SOURCE" = head ]; then
  version=$(git -C "$REPO" rev-parse --short HEAD)
  git -C "$REPO" archive --format=tar HEAD "${PRODUCT[@]}" | tar -x -C "$APP"
else
  version="$(git -C "$REPO" rev-parse --short HEAD)+worktree"
  # Not the build's own output (hardware/image/build: gitignored, and the rootfs being made).
  tar -C "$REPO" --exclude='__pycache__' --exclude='hardware/image/build' -c "${PRODUCT[@]}" | tar -x -C "$APP"
fi
# The back-office's settings (its payment provider among them) are not the kiosk's.
rm -f "$APP/config/backoffice.toml"
echo "$version $(date -u +%Y-%m-%dT%H:%M:%SZ)" > "$ROOTFS/opt/kiosk/VERSION"
if [ "$WITH_STANDINS" = 1 ]; then
  # The app runs from its source tree, not an installed distribution: the stand-ins'
  # entry points (the extra ward-kiosk[standins]: standins/setup.cfg, ward_kiosk.devices)
  # get a dist-info of their own.
  info=$APP/ward_kiosk_standins-0.dist-info
  mkdir -p "$info"
  printf 'Metadata-Version: 2.1\nName: ward-kiosk-standins\nVersion: 0\n' > "$info/METADATA"
  python3 - "$REPO/standins/setup.cfg" > "$info/entry_points.txt" <<'PY'
import configparser, sys
cfg = configparser.ConfigParser()
cfg.read(sys.argv[1])
print("[ward_kiosk.devices]")
for line in cfg["options.entry_points"]["ward_kiosk.devices"].strip().splitlines():
    print(line.strip())
PY
  echo "$version test image (stand-ins)" > "$ROOTFS/opt/kiosk/STANDINS"
fi
mkdir -p "$ROOTFS/tmp/wheelhouse"
cp "$WHEELS"/*.whl "$REQS" "$ROOTFS/tmp/wheelhouse/"
chroot_mount "$ROOTFS"
in_root "$ROOTFS" /bin/sh -eu <<'EOF'
python3 -m venv /opt/kiosk/venv
/opt/kiosk/venv/bin/pip install -q --no-index --find-links /tmp/wheelhouse -r /tmp/wheelhouse/requirements.txt
# The app runs from its source tree (config/ and assets/ sit beside the package).
echo /opt/kiosk/app > "$(/opt/kiosk/venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/ward-kiosk.pth"
/opt/kiosk/venv/bin/python -m compileall -q /opt/kiosk/app >/dev/null
rm -rf /tmp/wheelhouse
for g in video input render lp dialout plugdev; do getent group "$g" >/dev/null || groupadd --system "$g"; done
useradd --system --home-dir /var/lib/kiosk --no-create-home --shell /usr/sbin/nologin \
        --groups video,input,render,lp,dialout,plugdev kiosk
passwd -l root >/dev/null
ln -sf /usr/share/zoneinfo/Asia/Tokyo /etc/localtime; echo Asia/Tokyo > /etc/timezone
# No login anywhere: nothing but the kiosk on the screen, nothing on the serial line.
systemctl mask getty@.service serial-getty@.service autovt@.service getty.target console-getty.service >/dev/null 2>&1
systemctl enable systemd-networkd.service systemd-resolved.service systemd-timesyncd.service \
  systemd-time-wait-sync.service pcscd.socket kiosk-provision.service kiosk.service \
  kiosk-boottest-standin.service kiosk-boottest.service kiosk-screentest.service \
  kiosk-fleettest.service kiosk-fleetapp.service kiosk-ready-gate.service kiosk-reboot.path >/dev/null 2>&1
ln -sf /run/systemd/resolve/stub-resolv.conf /etc/resolv.conf
# A machine-id per boot (the root is read-only); the journal lives on the data partition.
: > /etc/machine-id
rm -f /var/lib/dbus/machine-id
update-initramfs -u -k all >/dev/null
EOF
chroot_umount
rm -f "$ROOTFS/usr/sbin/policy-rc.d"
rm -rf "$ROOTFS/var/cache/apt/"*.bin "$ROOTFS/var/log/"*.log "$ROOTFS/var/log/apt"
kver=$(find "$ROOTFS/lib/modules" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -1)
cp "$ROOTFS/boot/vmlinuz-$kver" "$OUT/vmlinuz"
cp "$ROOTFS/boot/initrd.img-$kver" "$OUT/initrd.img"
# Refuse an image that would silently boot read-write.
initrd_list=$(in_root "$ROOTFS" lsinitramfs "/boot/initrd.img-$kver")
for need in bin/busybox scripts/init-bottom/overlayroot; do
  grep -qx "usr/$need\|$need" <<<"$initrd_list" || {
    echo "build.sh: $need is not in the initramfs: overlayroot would not work" >&2; exit 1; }
done
stage_end

# --- 4. partition images ----------------------------------------------------------------
stage_start "partition images (mkfs.ext4 -d, mkfs.vfat + mtools)"
rm -rf "$PARTS"; mkdir -p "$PARTS"
CMDLINE=$(tr -s ' \n' ' ' < "$HERE/cmdline.txt" | sed 's/ $//')
# ESP: systemd-boot and slot A's kernel, initramfs and loader entry (blessed: no counter).
# Slot B gets its entry when RAUC installs into it (rauc-bootloader.sh): the first entry in
# systemd-boot's order boots (default kiosk-*: tries left before none, newest first).
mkfs.vfat -C -F 32 -n KIOSK-ESP "$PARTS/esp.img" $((ESP_MB * 1024)) >/dev/null
export MTOOLS_SKIP_CHECK=1
mmd -i "$PARTS/esp.img" ::/EFI ::/EFI/BOOT ::/loader ::/loader/entries ::/a
mcopy -i "$PARTS/esp.img" "$ROOTFS/usr/lib/systemd/boot/efi/$SDBOOT" "::/EFI/BOOT/$EFI_NAME"
mcopy -i "$PARTS/esp.img" "$OUT/vmlinuz" ::/a/vmlinuz
mcopy -i "$PARTS/esp.img" "$OUT/initrd.img" ::/a/initrd.img
printf 'default kiosk-*\ntimeout 0\neditor no\n' > "$PARTS/loader.conf"
printf 'title Ward kiosk %s (slot A)\nversion %s\nlinux /a/vmlinuz\ninitrd /a/initrd.img\noptions %s\n' \
  "$version" "$version" "$CMDLINE" > "$PARTS/kiosk-1-a.conf"
mcopy -i "$PARTS/esp.img" "$PARTS/loader.conf" ::/loader/loader.conf
mcopy -i "$PARTS/esp.img" "$PARTS/kiosk-1-a.conf" ::/loader/entries/kiosk-1-a.conf
# Root: the tree as is (mkfs.ext4 -d keeps owners, modes, links and xattrs).
used_mb=$(du -sm "$ROOTFS" | cut -f1)
((used_mb * 115 / 100 < ROOT_MB)) || {
  echo "build.sh: the root tree ($used_mb MiB) does not fit ROOT_MB=$ROOT_MB" >&2; exit 1; }
mkfs.ext4 -q -F -L kiosk-root -m 0 -d "$ROOTFS" "$PARTS/root.img" "${ROOT_MB}M"
# Config: FAT so a maintainer can write provision.toml from any workstation.
mkfs.vfat -C -n KIOSK-CONF "$PARTS/conf.img" $((CONF_MB * 1024)) >/dev/null
mcopy -i "$PARTS/conf.img" "$REPO/config/provision.example.toml" ::/provision.toml.example
mcopy -i "$PARTS/conf.img" "$HERE/conf-README.txt" ::/README.txt
# Data: a placeholder, never mounted: the first boot encrypts the partition and makes the
# file system inside (usr/local/lib/kiosk/data-unlock.sh).
mkdir -p "$PARTS/data/store" "$PARTS/data/log" "$PARTS/data/journal" "$PARTS/data/provisioned"
mkfs.ext4 -q -F -L kiosk-data -d "$PARTS/data" "$PARTS/data.img" "${DATA_MB}M"
stage_end

# --- 5. the disk image --------------------------------------------------------------------
stage_start "disk image (sfdisk GPT + dd, bmap)"
DISK=$OUT/disk.img
rm -f "$DISK" "$OUT/disk.bmap"
truncate -s $((1 + ESP_MB + 2 * ROOT_MB + CONF_MB + DATA_MB + 1))M "$DISK"
sfdisk -q "$DISK" <<EOF
label: gpt
size=${ESP_MB}MiB, type=U, name="KIOSK-ESP"
size=${ROOT_MB}MiB, type=$ROOT_TYPE, name="kiosk-root-a"
size=${ROOT_MB}MiB, type=$ROOT_TYPE, name="kiosk-root-b"
size=${CONF_MB}MiB, type=L, name="KIOSK-CONF"
size=${DATA_MB}MiB, type=L, name="kiosk-data"
EOF
starts=$(sfdisk -J "$DISK" | "$REPO/.venv/bin/python" -c \
  'import json,sys; print(" ".join(str(p["start"]) for p in json.load(sys.stdin)["partitiontable"]["partitions"]))')
read -r s1 s2 _ s4 s5 <<<"$starts"
for pair in "esp:$s1" "root:$s2" "conf:$s4" "data:$s5"; do
  dd if="$PARTS/${pair%%:*}.img" of="$DISK" bs=512 seek="${pair#*:}" conv=notrunc,sparse status=none
done
cp --sparse=always "$PARTS/esp.img" "$OUT/esp.img"
cp --sparse=always "$PARTS/root.img" "$OUT/root.img"
bmaptool -q create -o "$OUT/disk.bmap" "$DISK"
stage_end

# --- 6. the signed update bundle (RAUC) ----------------------------------------------------
stage_start "update bundle (rauc bundle, signed)"
rm -f "$OUT"/kiosk-*.raucb
if [ -n "$SIGN_CERT" ] && [ -n "$SIGN_KEY" ]; then
  "$HERE/bundle.sh" --arch "$ARCH" --root "$OUT/root.img" --version "$version" \
    --cert "$SIGN_CERT" --key "$SIGN_KEY" --keyring "$KEYRING" --out "$OUT/kiosk-$version.raucb"
else
  echo "build.sh: no --cert/--key given with --keyring: no bundle made (sign it with bundle.sh)" >&2
fi
stage_end

{
  echo "ward kiosk image $version ($SUITE/$ARCH), built $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  [ "$WITH_STANDINS" = 1 ] && echo "TEST IMAGE: with the device stand-ins (--with-standins)"
  echo "kernel $kver; cmdline: $CMDLINE"
  echo "partitions (MiB): esp=$ESP_MB root-a=$ROOT_MB root-b=$ROOT_MB conf=$CONF_MB data=$DATA_MB; root tree $used_mb MiB"
  echo "update keyring: $(openssl x509 -noout -subject -in "$KEYRING")"
  find "$OUT" -maxdepth 1 -name "kiosk-*.raucb" -printf "bundle: %f\n"
  echo "disk.img: $(du -h --apparent-size "$DISK" | cut -f1) apparent, $(du -h "$DISK" | cut -f1) allocated"
  echo "stage timings:"; printf '  %s\n' "${TIMINGS[@]}"
  echo "packages:"
  # shellcheck disable=SC2016  # dpkg-query's own ${...} format
  chroot "$ROOTFS" dpkg-query -W -f='  ${Package} ${Version}\n'
} > "$OUT/manifest.txt"
sed -n '1,/^packages:/p' "$OUT/manifest.txt" >&2
if [ "$WITH_STANDINS" = 1 ]; then
  echo "build.sh: done: $DISK (+ disk.bmap), a TEST image with the stand-ins. Boot-test it: hardware/image/boot-test.sh" >&2
else
  echo "build.sh: done: $DISK (+ disk.bmap). Boot tests need a test image: build.sh --with-standins" >&2
fi
