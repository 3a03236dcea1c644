#!/usr/bin/env bash
# Makes a signed RAUC update bundle of a kiosk root file system image (docs/image.md "Update").
#
#   hardware/image/bundle.sh --root root.img --version V --cert PEM --key PEM|PKCS11-URI
#                            [--keyring CA.pem] [--arch amd64|arm64] --out kiosk-V.raucb
#   hardware/image/bundle.sh --dev-keys DIR
#
# The bundle (RAUC "plain" format: a squashfs with a manifest, signed with CMS) carries the
# root image for the kiosk's other root slot; compatible ward-kiosk-<arch>, the version
# string. The kiosk installs only bundles signed by a certificate its keyring
# (/etc/rauc/keyring.pem, from build.sh --keyring) vouches for. With --keyring the new
# bundle is checked against it here too. --key may be a PKCS#11 URI (an HSM: RAUC signs
# through OpenSSL's pkcs11 engine, RAUC_PKCS11_MODULE names the module).
# --dev-keys makes, once, a development CA (ca.cert.pem/ca.key.pem) and a signing
# certificate it issued (signing.cert.pem/signing.key.pem) in DIR: for development and
# tests only, never for a city's fleet.
# Needs rauc, squashfs-tools (mksquashfs), openssl.
set -euo pipefail

ROOT="" VERSION="" CERT="" KEY="" KEYRING="" ARCH=amd64 OUT="" DEV_KEYS=""
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit "${1:-0}"; }
while (($#)); do
  case "$1" in
    --root) ROOT=$2; shift 2 ;;
    --version) VERSION=$2; shift 2 ;;
    --cert) CERT=$2; shift 2 ;;
    --key) KEY=$2; shift 2 ;;
    --keyring) KEYRING=$2; shift 2 ;;
    --arch) ARCH=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --dev-keys) DEV_KEYS=$2; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "bundle.sh: unknown option $1" >&2; usage 2 ;;
  esac
done

if [ -n "$DEV_KEYS" ]; then
  [ -e "$DEV_KEYS/signing.cert.pem" ] && exit 0
  mkdir -p "$DEV_KEYS"; chmod 0700 "$DEV_KEYS"
  cd "$DEV_KEYS"
  subj="/O=Ward kiosk development ($(hostname))"
  openssl req -x509 -newkey rsa:3072 -nodes -days 3650 -keyout ca.key.pem -out ca.cert.pem \
    -subj "$subj/CN=Ward kiosk DEVELOPMENT update CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
  openssl req -newkey rsa:3072 -nodes -keyout signing.key.pem -out signing.csr.pem \
    -subj "$subj/CN=Ward kiosk DEVELOPMENT bundle signing" 2>/dev/null
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n' > signing.ext
  openssl x509 -req -in signing.csr.pem -CA ca.cert.pem -CAkey ca.key.pem -CAcreateserial \
    -days 1825 -extfile signing.ext -out signing.cert.pem 2>/dev/null
  rm -f signing.csr.pem signing.ext
  echo "bundle.sh: made a DEVELOPMENT update CA and signing key in $DEV_KEYS (not for a real fleet)" >&2
  exit 0
fi

for v in ROOT VERSION CERT KEY OUT; do
  [ -n "${!v}" ] || { echo "bundle.sh: --$(tr '[:upper:]' '[:lower:]' <<<"$v") is required" >&2; usage 2; }
done
[ -r "$ROOT" ] || { echo "bundle.sh: $ROOT not readable" >&2; exit 1; }
case "$VERSION" in *[!A-Za-z0-9.+_-]*) echo "bundle.sh: version '$VERSION': letters, digits, . + _ - only" >&2; exit 2 ;; esac
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/content"
cat > "$work/content/manifest.raucm" <<EOF2
[update]
compatible=ward-kiosk-$ARCH
version=$VERSION
description=Ward kiosk $VERSION

[bundle]
format=plain

[image.rootfs]
filename=root.ext4
EOF2
cp --sparse=always "$ROOT" "$work/content/root.ext4"
rm -f "$OUT"
# zstd: RAUC's default (gzip) took 8 min for a 2 GiB root on the 2-core build VM.
rauc bundle --cert="$CERT" --key="$KEY" --mksquashfs-args="-comp zstd -Xcompression-level 3" \
  "$work/content" "$OUT" > "$work/rauc.log" 2>&1 \
  || { cat "$work/rauc.log" >&2; exit 1; }
if [ -n "$KEYRING" ]; then
  rauc info --keyring="$KEYRING" "$OUT" > "$work/info.log" 2>&1 \
    || { echo "bundle.sh: the new bundle does not verify against $KEYRING:" >&2; cat "$work/info.log" >&2; exit 1; }
fi
echo "bundle.sh: $OUT ($(du -h "$OUT" | cut -f1)): ward-kiosk-$ARCH $VERSION, signed by $(openssl x509 -noout -subject -in "$CERT" 2>/dev/null || echo "$CERT")" >&2
