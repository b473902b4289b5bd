#!/usr/bin/env bash
# The real-kernel GPIO test (docs/KERNEL-TESTS.md): boots Debian's 6.1 kernel under
# qemu with gpio-sim (built here out of tree, Debian does not ship it) and runs
# the freshly built anjud against simulated GPIO lines, a real mosquitto and the
# dispatch simulator, all inside the VM.
#
#   run-gpio-sim.sh ANJUD ANJUCTL DISPATCH_SIM MOSQUITTO MOSQUITTO_PUB MOSQUITTO_SUB
#
# Environment: ANJU_KERNEL_CACHE (default /var/cache/anju-kernel-test, or
# ~/.cache/anju-kernel-test when not root): where the module and the
# uncompressed kernel are kept, one directory per kernel version;
# ANJU_KTEST_ACCEL (tcg; kvm only where /dev/kvm boots a stock kernel);
# ANJU_KTEST_TIMEOUT (seconds the VM may run, default 420); ANJU_KTEST_ONLY=smoke
# (only the libgpiod-tools stage, for debugging the VM itself); ANJU_KTEST_KEEP=1
# (keep the work directory). ASAN_OPTIONS, UBSAN_OPTIONS and LSAN_OPTIONS are
# passed into the VM. It never skips: anything missing is a failure that says
# which package to install (./scripts/deps installs them all).
set -euo pipefail
# (pipefail: no reader in a pipeline may stop early, e.g. grep -q or awk's exit,
# or the writer's SIGPIPE fails the pipeline)

die() { echo "gpio-sim: FAIL: $*" >&2; exit 1; }
log() { echo "gpio-sim: $*"; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

[ $# -eq 6 ] || die "usage: $0 ANJUD ANJUCTL DISPATCH_SIM MOSQUITTO MOSQUITTO_PUB MOSQUITTO_SUB"
HERE=$(cd "$(dirname "$0")" && pwd)
declare -A BIN=([anjud]=$1 [anjuctl]=$2 [anju-dispatch-sim]=$3 [mosquitto]=$4
                [mosquitto_pub]=$5 [mosquitto_sub]=$6)
for b in "${!BIN[@]}"; do
  [ -x "${BIN[$b]}" ] || die "$b: ${BIN[$b]} is not an executable"
done

# --- what the host needs --------------------------------------------------------
need() {   # command package
  command -v "$1" >/dev/null 2>&1 || die "'$1' not found: install the Debian package $2 (./scripts/deps does)"
}
need qemu-system-x86_64 qemu-system-x86
need cpio cpio
need xz xz-utils
need make make
need gcc gcc
need flock util-linux
need ldd libc-bin
need readelf binutils
need jq jq
for t in gpiodetect gpioinfo gpioget gpioset gpiomon; do need "$t" gpiod; done
BUSYBOX=/bin/busybox
[ -x $BUSYBOX ] || die "$BUSYBOX not found: install the Debian package busybox-static"
if LC_ALL=C readelf -d $BUSYBOX 2>/dev/null | grep NEEDED >/dev/null; then
  die "$BUSYBOX is dynamically linked: install busybox-static (not busybox)"
fi
SRC_TAR=/usr/src/linux-source-6.1.tar.xz
[ -r $SRC_TAR ] || die "$SRC_TAR not found: install the Debian package linux-source-6.1"

# Debian's kernel: the newest /boot/vmlinuz-6.1.*-amd64 whose headers are installed
# too. Never `uname -r`: the host's kernel is not Debian's.
KVER=
for img in /boot/vmlinuz-6.1.*-amd64; do
  [ -e "$img" ] || continue
  v=${img#/boot/vmlinuz-}
  [ -e "/usr/src/linux-headers-$v/Makefile" ] || continue
  [ -n "$KVER" ] && [ "$(printf '%s\n%s\n' "$KVER" "$v" | sort -V | tail -n1)" = "$KVER" ] && continue
  KVER=$v
done
if [ -z "$KVER" ]; then
  want=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-6\.1\.[^ ]*-amd64\)$/\1/p' | sed -n 1p) || true
  want=${want:-linux-image-6.1.0-N-amd64}
  die "no Debian 6.1 kernel with matching headers in /boot and /usr/src: install $want and linux-headers-${want#linux-image-} (./scripts/deps does)"
fi
KMODDIR=/lib/modules/$KVER/kernel
CONFIGFS_KO=
for f in "$KMODDIR"/fs/configfs/configfs.ko*; do [ -e "$f" ] && CONFIGFS_KO=$f; done
[ -n "$CONFIGFS_KO" ] || die "configfs.ko not found under $KMODDIR/fs/configfs (package linux-image-$KVER)"
grep -q '^CONFIG_PVH=y' "/boot/config-$KVER" || die "/boot/config-$KVER: CONFIG_PVH is not set, the kernel cannot be booted as an ELF"

# --- the cache: gpio-sim.ko and vmlinux, once per kernel version ------------------
if [ "$(id -u)" -eq 0 ]; then
  CACHE_ROOT=${ANJU_KERNEL_CACHE:-/var/cache/anju-kernel-test}
else
  CACHE_ROOT=${ANJU_KERNEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/anju-kernel-test}
fi
CACHE=$CACHE_ROOT/$KVER
mkdir -p "$CACHE" || die "cannot create the cache directory $CACHE (set ANJU_KERNEL_CACHE)"
# What the cached files were made from; anything else is rebuilt.
RECIPE_VERSION=1
STAMP="recipe=$RECIPE_VERSION kernel=$KVER vmlinuz=$(stat -c %s.%Y "/boot/vmlinuz-$KVER")"
STAMP="$STAMP headers=$(stat -c %Y "/usr/src/linux-headers-$KVER/Makefile") source=$(stat -c %s.%Y $SRC_TAR)"

build_module() {   # into $1
  local out=$1 src
  src=$(mktemp -d "$CACHE/build.XXXXXX")
  log "building gpio-sim.ko for $KVER from $SRC_TAR (once per kernel version)"
  tar -xJf $SRC_TAR -C "$src" --strip-components=1 \
    linux-source-6.1/drivers/gpio/gpio-sim.c linux-source-6.1/drivers/gpio/gpiolib.h \
    linux-source-6.1/kernel/irq/irq_sim.c || die "cannot extract gpio-sim.c, gpiolib.h and irq_sim.c from $SRC_TAR"
  mkdir "$src/mod"
  cp "$src/drivers/gpio/gpio-sim.c" "$src/mod/sim.c"
  cp "$src/drivers/gpio/gpiolib.h" "$src/mod/gpiolib.h"
  # irq_sim.c inside the module: irq_to_desc() is not exported to modules, and
  # generic_handle_irq() does the same from the irq_work (hard-irq context); its
  # EXPORT_SYMBOL_GPL lines go, the helpers are private to this module.
  grep -q 'handle_simple_irq(irq_to_desc(irqnum));' "$src/kernel/irq/irq_sim.c" ||
    die "irq_sim.c of $SRC_TAR has changed: handle_simple_irq(irq_to_desc(irqnum)) not found"
  sed -e 's/handle_simple_irq(irq_to_desc(irqnum));/generic_handle_irq(irqnum);/' \
      -e '/^EXPORT_SYMBOL_GPL(/d' "$src/kernel/irq/irq_sim.c" > "$src/mod/irq_sim.c"
  printf 'obj-m := gpio-sim.o\ngpio-sim-y := sim.o irq_sim.o\n' > "$src/mod/Kbuild"
  if ! make -s -C "/usr/src/linux-headers-$KVER" M="$src/mod" modules > "$src/build.log" 2>&1; then
    cat "$src/build.log" >&2
    die "building gpio-sim.ko against linux-headers-$KVER failed"
  fi
  cp "$src/mod/gpio-sim.ko" "$out"
  rm -rf "$src"
}

extract_vmlinux() {   # into $1: the xz payload of the bzImage, an ELF with a PVH note
  local img=/boot/vmlinuz-$KVER off
  off=$(LC_ALL=C grep -aboF -m1 $'\xfd7zXZ\x00' "$img" | head -n1 | cut -d: -f1) || true
  [ -n "$off" ] || die "$img: no xz payload found (is the kernel compressed differently?)"
  # (xz stops after the payload: no pipe, or tail's SIGPIPE would count as a failure)
  xz -dc --single-stream < <(tail -c +$((off + 1)) "$img") > "$1" || die "$img: cannot decompress the kernel"
  LC_ALL=C readelf -n "$1" 2>/dev/null | grep Xen >/dev/null || die "$img: the extracted vmlinux has no PVH (Xen ELF) note"
}

exec 9>"$CACHE_ROOT/$KVER.lock"
flock 9
if [ ! -s "$CACHE/gpio-sim.ko" ] || [ ! -s "$CACHE/vmlinux" ] || [ "$(cat "$CACHE/stamp" 2>/dev/null)" != "$STAMP" ]; then
  t0=$EPOCHREALTIME
  rm -f "$CACHE/stamp"
  build_module "$CACHE/gpio-sim.ko.new"
  log "extracting the uncompressed kernel from /boot/vmlinuz-$KVER"
  extract_vmlinux "$CACHE/vmlinux.new"
  mv "$CACHE/gpio-sim.ko.new" "$CACHE/gpio-sim.ko"
  mv "$CACHE/vmlinux.new" "$CACHE/vmlinux"
  echo "$STAMP" > "$CACHE/stamp"
  log "cache $CACHE ready in $(since "$t0") s"
else
  log "using the cached gpio-sim.ko and vmlinux of $CACHE"
fi
flock -u 9

# --- the initramfs ----------------------------------------------------------------
WORK=$(mktemp -d /tmp/anju-ktest.XXXXXX)
QEMU_PID=
cleanup() {
  if [ -n "$QEMU_PID" ]; then kill "$QEMU_PID" 2>/dev/null || true; fi
  if [ "${ANJU_KTEST_KEEP:-0}" = 1 ]; then log "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ROOT=$WORK/root
mkdir -p "$ROOT"/{bin,sbin,usr/bin,usr/local/bin,lib/modules,etc,proc,sys,dev,run,tmp,root}

add_file() {   # source [path inside the VM]
  local dst=$ROOT${2:-$1}
  mkdir -p "$(dirname "$dst")"
  cp -L "$1" "$dst"
}
add_libs() {   # every shared library ldd lists for the given programs, and the loader
  local out lib
  for b in "$@"; do
    out=$(ldd "$b" 2>&1) || true
    if grep -q 'not found' <<<"$out"; then echo "$out" >&2; die "$b: a shared library is missing"; fi
    awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' <<<"$out"
  done | sort -u | while read -r lib; do
    [ -e "$ROOT$lib" ] || add_file "$lib"
  done
}
add_module() {   # a .ko, .ko.xz or .ko.zst, as a plain .ko (busybox insmod reads no compression)
  case "$1" in
    *.ko.xz) xz -dc "$1" > "$ROOT/lib/modules/$2" ;;
    *.ko.zst) need zstd zstd; zstd -qdc "$1" > "$ROOT/lib/modules/$2" ;;
    *.ko.gz) gzip -dc "$1" > "$ROOT/lib/modules/$2" ;;
    *) cp "$1" "$ROOT/lib/modules/$2" ;;
  esac
}

cp $BUSYBOX "$ROOT/bin/busybox"
ln -s busybox "$ROOT/bin/sh"
add_module "$CONFIGFS_KO" configfs.ko
add_module "$CACHE/gpio-sim.ko" gpio-sim.ko
progs=()
for b in "${!BIN[@]}"; do
  cp -L "${BIN[$b]}" "$ROOT/usr/local/bin/$b"
  progs+=("${BIN[$b]}")
done
for t in jq gpiodetect gpioinfo gpioget gpioset gpiomon; do
  p=$(command -v $t)
  cp -L "$p" "$ROOT/usr/local/bin/$t"
  progs+=("$p")
done
add_libs "${progs[@]}"
# glibc loads libgcc_s itself when a thread is cancelled or exits
gcc_s=$(ldconfig -p 2>/dev/null | awk '/libgcc_s\.so\.1 .*x86-64/ && !p { print $NF; p = 1 }')
[ -n "$gcc_s" ] && [ ! -e "$ROOT$gcc_s" ] && add_file "$gcc_s"
[ -e /usr/share/zoneinfo/Asia/Shanghai ] || die "/usr/share/zoneinfo/Asia/Shanghai not found: install tzdata"
add_file /usr/share/zoneinfo/Asia/Shanghai
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$ROOT/etc/passwd"
printf 'root:x:0:\n' > "$ROOT/etc/group"
printf '127.0.0.1 localhost\n' > "$ROOT/etc/hosts"
printf 'passwd: files\ngroup: files\nhosts: files\n' > "$ROOT/etc/nsswitch.conf"
cp "$HERE/init.sh" "$ROOT/init"
chmod 755 "$ROOT/init"
NONCE=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
{
  echo "NONCE=$NONCE"
  echo "ONLY=${ANJU_KTEST_ONLY:-}"
  for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
    [ -n "${!v:-}" ] && printf 'export %s=%q\n' "$v" "${!v}"
  done
} > "$ROOT/etc/ktest.env"
if [ "$(id -u)" -eq 0 ]; then
  mknod "$ROOT/dev/console" c 5 1
  mknod "$ROOT/dev/null" c 1 3
fi
(cd "$ROOT" && find . -print0 | cpio --null -o -H newc -R 0:0 --quiet) > "$WORK/initramfs.cpio" ||
  die "cannot pack the initramfs"
log "initramfs: $(du -h "$WORK/initramfs.cpio" | cut -f1) (kernel $KVER)"

# --- boot ---------------------------------------------------------------------------
ACCEL=${ANJU_KTEST_ACCEL:-tcg}
LIMIT=${ANJU_KTEST_TIMEOUT:-420}
CONSOLE=$WORK/console.log
t0=$EPOCHREALTIME
log "booting $KVER under qemu ($ACCEL), at most $LIMIT s"
set +e
timeout -k 5 "$LIMIT" qemu-system-x86_64 -accel "$ACCEL" -cpu "${ANJU_KTEST_CPU:-max}" -smp "${ANJU_KTEST_SMP:-2}" -m "${ANJU_KTEST_MEM:-512M}" \
  -machine pc -nodefaults -no-reboot -display none -monitor none \
  -serial "file:$CONSOLE" \
  -kernel "$CACHE/vmlinux" -initrd "$WORK/initramfs.cpio" \
  -append "console=ttyS0 quiet panic=-1 oops=panic mitigations=off ktest.timeout=$LIMIT" \
  </dev/null >"$WORK/qemu.out" 2>&1 &
QEMU_PID=$!
wait $QEMU_PID
rc=$?
QEMU_PID=
set -e
elapsed=$(since "$t0")
tr -d '\r' < "$CONSOLE" > "$WORK/console.txt" 2>/dev/null || true
npass=$(grep -c "^ANJU-KTEST: PASS $NONCE\$" "$WORK/console.txt" || true)
if [ "$rc" -eq 0 ] && [ "$npass" = 1 ] && ! grep -q '^ANJU-KTEST: FAIL' "$WORK/console.txt"; then
  grep '^ANJU-KTEST:' "$WORK/console.txt"
  log "PASS: kernel $KVER, VM ran $elapsed s"
  exit 0
fi
echo "===== console of the VM (kernel $KVER) ====="
cat "$WORK/console.txt" 2>/dev/null || true
echo "===== qemu's own output ====="
cat "$WORK/qemu.out"
[ "$rc" -eq 124 ] && log "qemu was stopped after $LIMIT s"
die "no PASS line from the VM (qemu exit $rc, $elapsed s)"
