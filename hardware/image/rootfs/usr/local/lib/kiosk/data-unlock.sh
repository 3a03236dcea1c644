#!/bin/sh
# Opens the kiosk's data partition (store, outbox key, logs, journal) as
# /dev/mapper/kiosk-data, which fstab mounts on /var/lib/ward-kiosk (kiosk-data.service).
#  - LUKS2 already: unlocked by the TPM2 (the key is sealed to PCR 7), no password asked.
#  - First boot (the image's empty placeholder): LUKS2 with a random key, the TPM2 enrolled,
#    the random key's slot wiped (only this kiosk's TPM opens it), ext4 inside.
#  - No TPM2: refused, unless provision.toml says [security] allow_no_tpm = true; then the
#    partition stays plain ext4 behind a linear device-mapper target of the same name.
set -eu
DEV=/dev/disk/by-partlabel/kiosk-data
NAME=kiosk-data
CONF=/mnt/kiosk-config/provision.toml
PCRS=7
STATE=/run/kiosk/data.txt
CRYPTSETUP=/lib/systemd/systemd-cryptsetup
say() { echo "kiosk-data: $*"; mkdir -p /run/kiosk; echo "$*" > "$STATE"; }

i=0
while [ ! -b "$DEV" ] && [ $i -lt 30 ]; do sleep 1; i=$((i+1)); done
[ -b "$DEV" ] || { say "REFUSED: no partition labelled kiosk-data"; exit 1; }
# The TPM's device node comes from the kernel driver (tpm_tis/tpm_crb) via udev.
i=0
while [ -e /sys/class/tpm/tpm0 ] && [ ! -e /dev/tpmrm0 ] && [ $i -lt 10 ]; do sleep 1; i=$((i+1)); done
tpm=false; [ -e /dev/tpmrm0 ] && tpm=true

if cryptsetup isLuks "$DEV"; then
  if ! $tpm; then
    say "REFUSED: the data partition is LUKS2 but this machine has no TPM2 to unlock it"
    exit 1
  fi
  $CRYPTSETUP attach "$NAME" "$DEV" - "tpm2-device=auto,headless=true" \
    || { say "REFUSED: the TPM2 did not unlock the data partition (other machine, firmware or Secure Boot state changed?)"; exit 1; }
  say "LUKS2, unlocked by the TPM2 (PCR $PCRS)"
  exit 0
fi

if ! $tpm; then
  if /opt/kiosk/venv/bin/python -m kiosk provision --allows-no-tpm "$CONF" >/dev/null 2>&1; then
    dmsetup create "$NAME" --table "0 $(blockdev --getsz "$DEV") linear $DEV 0"
    say "UNENCRYPTED: no TPM2; allowed by [security] allow_no_tpm in provision.toml"
    exit 0
  fi
  say "REFUSED: this kiosk has no TPM2, so its data partition cannot be encrypted; provisioning stops here (set [security] allow_no_tpm = true in provision.toml to run unencrypted)"
  exit 1
fi

# Only the image's placeholder, never mounted, is formatted: a data partition an earlier
# (unencrypted) image or an allow_no_tpm boot has used holds a store; formatting would lose
# its unsent messages, and it is refused instead.
if [ "$(dumpe2fs -h "$DEV" 2>/dev/null | sed -n 's/^Last mount time: *//p')" != "n/a" ]; then
  say "REFUSED: the data partition is not encrypted and holds data from an earlier (unencrypted) use; back it up and re-flash (docs/image.md)"
  exit 1
fi
say "first boot: encrypting the data partition (LUKS2, TPM2 PCR $PCRS)"
umask 077
key=$(mktemp /run/kiosk-data-key.XXXXXX)
trap 'rm -f "$key"' EXIT
od -An -tx1 -N32 /dev/urandom | tr -d ' \n' > "$key"
# A 256-bit random key needs no slow KDF (and argon2's memory cost would not fit every
# kiosk); its slot is wiped below anyway.
cryptsetup luksFormat --batch-mode --type luks2 --label kiosk-data \
  --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file "$key" "$DEV"
systemd-cryptenroll --unlock-key-file="$key" --tpm2-device=auto --tpm2-pcrs="$PCRS" \
  --wipe-slot=password "$DEV"
rm -f "$key"
$CRYPTSETUP attach "$NAME" "$DEV" - "tpm2-device=auto,headless=true"
skel=$(mktemp -d)
mkdir -p "$skel/store" "$skel/log" "$skel/journal" "$skel/provisioned"
mkfs.ext4 -q -L kiosk-data -d "$skel" "/dev/mapper/$NAME"
rm -rf "$skel"
say "LUKS2, enrolled in the TPM2 (PCR $PCRS) and unlocked by it; no other key slot"
