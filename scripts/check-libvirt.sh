#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# libvirt guest test: Debian's libvirt runs our QEMU with a VMBus guest.
#
#   check-libvirt.sh RESULTS        appends 'PASS|FAIL|SKIP name detail' lines
#
# 1. installs libvirt if missing (scripts/bootstrap.sh --optional libvirt;
#    SKIP only when it cannot be installed),
# 2. starts virtlogd and libvirtd itself (no systemd), with their own
#    config, runtime, state and log directories under a temporary directory:
#    in a private mount namespace those are bind-mounted over /etc/libvirt,
#    /run/libvirt, /var/{lib,log,cache}/libvirt, and a copy of /etc/passwd
#    and /etc/group holding the 'libvirt-qemu' user the QEMU driver insists
#    on, so the host's files stay untouched.  Without mount namespaces
#    (LIBVIRT_NO_NS=1, or unshare refused) it makes the minimal host
#    changes (docs/libvirt.rst) and undoes them at the end,
# 3. defines and starts a domain written by scripts/libvirt-domain.py
#    (build/guests/$LIBVIRT_GUEST, default trixie, scenario 'libvirt'),
#    reads the serial log and checks the guest is on VMBus with its devices,
# 4. 'virsh shutdown' through the Hyper-V shutdown service (hv-shutdown),
#    when the build has that device; otherwise 'virsh destroy' (TODO below),
# 5. checks that libvirt passes QEMU's refusal of a TCG-unsupported
#    enlightenment (<reenlightenment/>) back to the user,
# 6. stops every daemon it started (by PID) and removes its files.
# Every step has a timeout; logs are kept in build/logs/libvirt/.
set -uo pipefail

RESULTS=${1:?usage: check-libvirt.sh RESULTS-FILE}
RESULTS=$(realpath -m "$RESULTS")
ROOT=$(cd "$(dirname "$0")/.." && pwd)
QEMU=$ROOT/build/qemu-system-x86_64
GUEST=${LIBVIRT_GUEST:-trixie}
LOGDIR=$ROOT/build/logs/libvirt
NAME=vmbus-libvirt-$$
BOOT_TIMEOUT=${LIBVIRT_BOOT_TIMEOUT:-180}

rm -rf "$LOGDIR"
mkdir -p "$(dirname "$RESULTS")" "$LOGDIR"
t_start=$(date +%s.%N)
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
say() { echo "check-libvirt: $*"; }
emit() {  # VERDICT NAME DETAIL
    local line="$1 libvirt/$2 ${3:-}"
    line=${line% }
    echo "$line" >> "$RESULTS"
    echo "  $line"
}

# --- 1. libvirt present? -------------------------------------------------
need_cmds="libvirtd virtlogd virsh"
missing_cmds() { local c; for c in $need_cmds; do command -v "$c" >/dev/null || echo "$c"; done; }
if [ -n "$(missing_cmds)" ]; then
    if [ "$(id -u)" != 0 ]; then
        emit SKIP setup "libvirt is not installed and this is not root (install libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients)"
        exit 0
    fi
    say "installing Debian's libvirt (scripts/bootstrap.sh --optional libvirt)"
    t=$(now)
    if ! timeout 900 "$ROOT/scripts/bootstrap.sh" --optional libvirt > "$LOGDIR/install.log" 2>&1 \
       || [ -n "$(missing_cmds)" ]; then
        emit SKIP setup "libvirt cannot be installed here: $(tail -1 "$LOGDIR/install.log") (log: build/logs/libvirt/install.log)"
        exit 0
    fi
    say "libvirt installed in $(since "$t")s"
fi
if [ "$(id -u)" != 0 ]; then
    emit SKIP setup "needs root: the test starts a system libvirtd of its own"
    exit 0
fi
for f in "$QEMU" "$ROOT/build/guests/$GUEST/vmlinux" "$ROOT/build/guests/$GUEST/initrd.gz"; do
    [ -e "$f" ] || { emit FAIL setup "missing $f (run 'make qemu guests')"; exit 0; }
done
say "$(libvirtd --version)"

# --- 2. private libvirt --------------------------------------------------
ST=$(mktemp -d /tmp/vmbus-libvirt.XXXXXX)
mkdir -p "$ST"/{etc,run,lib,log,cache,pid}
MODE=ns
if [ -n "${LIBVIRT_NO_NS:-}" ] || ! unshare -m --propagation private true 2>/dev/null; then
    MODE=host
fi
if [ $MODE = ns ]; then
    URI="qemu:///system?socket=$ST/run/libvirt-sock"
    QEMU_PIDDIR=$ST/run/qemu
    QEMU_LOGDIR=$ST/log/qemu
else
    URI="qemu:///system"
    QEMU_PIDDIR=/run/libvirt/qemu
    QEMU_LOGDIR=/var/log/libvirt/qemu
fi
virsh_() { timeout "${VT:-60}" virsh -q -c "$URI" "$@" < /dev/null; }

cat > "$ST/etc/libvirtd.conf" <<EOF
# check-libvirt.sh: a private libvirtd, root clients only
unix_sock_group = "root"
unix_sock_ro_perms = "0700"
unix_sock_rw_perms = "0700"
auth_unix_ro = "none"
auth_unix_rw = "none"
log_outputs = "3:file:$ST/log/libvirtd.log"
EOF
cat > "$ST/etc/virtlogd.conf" <<EOF
log_outputs = "3:file:$ST/log/virtlogd.log"
EOF
# QEMU as root, no security driver, no cgroups, no per-VM mount namespace:
# nothing of these exists or is needed on a CI host without systemd.
cat > "$ST/etc/qemu.conf" <<EOF
# check-libvirt.sh
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
cgroup_controllers = [ ]
namespaces = [ ]
EOF

created_dirs=()
created_user=0
qemu_conf_backup=
cleanup_host() {
    [ $MODE = host ] || { local d; for d in "${created_dirs[@]}"; do rmdir "$d" 2>/dev/null; done; return 0; }
    if [ -n "$qemu_conf_backup" ]; then
        if [ "$qemu_conf_backup" = none ]; then rm -f /etc/libvirt/qemu.conf; else mv -f "$qemu_conf_backup" /etc/libvirt/qemu.conf; fi
    fi
    [ $created_user = 1 ] && userdel libvirt-qemu 2>/dev/null
    local d
    for d in "${created_dirs[@]}"; do rm -rf "$d"; done
    # empty directories libvirtd made in /etc/libvirt (qemu, nwfilter, secrets, ...)
    find /etc/libvirt -mindepth 1 -type d 2>/dev/null | sort -r | while read -r d; do
        grep -qxF "$d" "$ST/etc-dirs" 2>/dev/null || rmdir "$d" 2>/dev/null
    done
    return 0
}

pid_of() { [ -s "$1" ] && cat "$1"; }
alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }
stop_pid() {  # PID NAME: TERM, up to 15 s, then KILL
    local pid=$1 i=0
    alive "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null
    while alive "$pid" && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
    if alive "$pid"; then
        say "$2 ($pid) did not stop on SIGTERM; SIGKILL"
        kill -KILL "$pid" 2>/dev/null
        sleep 0.5
    fi
}

teardown_done=0
teardown() {
    [ $teardown_done = 1 ] && return 0
    teardown_done=1
    local qpid lpid vpid left=""
    if [ -S "$ST/run/libvirt-sock" ] || [ $MODE = host ]; then
        VT=20 virsh_ destroy "$NAME" >/dev/null 2>&1
        VT=20 virsh_ undefine "$NAME" >/dev/null 2>&1
        VT=20 virsh_ destroy "$NAME-stimer" >/dev/null 2>&1
        VT=20 virsh_ undefine "$NAME-stimer" >/dev/null 2>&1
    fi
    qpid=$(pid_of "$QEMU_PIDDIR/$NAME.pid")
    lpid=$(pid_of "$ST/pid/libvirtd.pid")
    vpid=$(pid_of "$ST/pid/virtlogd.pid")
    stop_pid "$qpid" qemu
    stop_pid "$lpid" libvirtd
    stop_pid "$vpid" virtlogd
    for p in $qpid $lpid $vpid; do alive "$p" && left="$left $p"; done
    cp -a "$ST/log/." "$LOGDIR/" 2>/dev/null
    [ $MODE = host ] && cp -a /var/log/libvirt/qemu/. "$LOGDIR/qemu/" 2>/dev/null
    cp -f "$ST"/serial*.log "$ST"/*.xml "$LOGDIR/" 2>/dev/null
    cleanup_host
    rm -rf "$ST"
    if [ -n "$left" ]; then
        emit FAIL teardown "processes still running:$left"
    elif [ "${1:-}" = report ]; then
        emit PASS teardown "libvirtd, virtlogd and QEMU stopped"
    fi
}
trap teardown EXIT
trap 'exit 1' INT TERM

start_daemons() {
    local passwd_bind=""
    if [ $MODE = ns ]; then
        # bind-mount targets must exist: make missing ones (empty), remove them later
        local d
        for d in /etc/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt; do
            [ -d "$d" ] || { mkdir -p "$d" && created_dirs+=("$d"); }
        done
        if ! getent passwd libvirt-qemu >/dev/null; then
            cp /etc/passwd "$ST/passwd"; cp /etc/group "$ST/group"
            getent group libvirt-qemu >/dev/null || echo "libvirt-qemu:x:64055:" >> "$ST/group"
            echo "libvirt-qemu:x:64055:64055:libvirt (check-libvirt.sh):/var/lib/libvirt:/usr/sbin/nologin" >> "$ST/passwd"
            passwd_bind=1
        fi
        ST=$ST PB=$passwd_bind timeout 60 unshare -m --propagation private /bin/sh -ec '
            mount -t tmpfs -o mode=0755 vmbus-libvirt-run /run
            mkdir -p /run/libvirt /run/lock
            mount --bind "$ST/run" /run/libvirt
            mount --bind "$ST/etc" /etc/libvirt
            mount --bind "$ST/lib" /var/lib/libvirt
            mount --bind "$ST/log" /var/log/libvirt
            mount --bind "$ST/cache" /var/cache/libvirt
            if [ -n "$PB" ]; then
                mount --bind "$ST/passwd" /etc/passwd
                mount --bind "$ST/group" /etc/group
            fi
            virtlogd -d -t 600 -f "$ST/etc/virtlogd.conf" -p "$ST/pid/virtlogd.pid"
            libvirtd -d -t 600 -f "$ST/etc/libvirtd.conf" -p "$ST/pid/libvirtd.pid"
        ' > "$ST/log/start.log" 2>&1 || return 1
    else
        if [ -S /run/libvirt/libvirt-sock ]; then
            echo "a libvirtd already listens on /run/libvirt/libvirt-sock and mount namespaces are unavailable" > "$ST/log/start.log"
            return 1
        fi
        local d
        find /etc/libvirt -mindepth 1 -type d > "$ST/etc-dirs" 2>/dev/null
        for d in /etc/libvirt /run/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt; do
            [ -d "$d" ] || { mkdir -p "$d" && created_dirs+=("$d"); }
        done
        if ! getent passwd libvirt-qemu >/dev/null; then
            useradd --system -U -M -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu && created_user=1
        fi
        if [ -e /etc/libvirt/qemu.conf ]; then
            qemu_conf_backup=$ST/qemu.conf.host; cp -a /etc/libvirt/qemu.conf "$qemu_conf_backup"
        else
            qemu_conf_backup=none
        fi
        cp "$ST/etc/qemu.conf" /etc/libvirt/qemu.conf
        { timeout 30 virtlogd -d -t 600 -f "$ST/etc/virtlogd.conf" -p "$ST/pid/virtlogd.pid" &&
          timeout 30 libvirtd -d -t 600 -f "$ST/etc/libvirtd.conf" -p "$ST/pid/libvirtd.pid"; } \
            > "$ST/log/start.log" 2>&1 || return 1
    fi
    # ready when virsh answers
    local i=0
    while [ $i -lt 100 ]; do
        VT=10 virsh_ uri >/dev/null 2>&1 && return 0
        sleep 0.2; i=$((i + 1))
    done
    echo "libvirtd did not answer on $URI within 20 s" >> "$ST/log/start.log"
    return 1
}

t=$(now)
if ! start_daemons; then
    emit FAIL daemons "($MODE mode) $(tail -3 "$ST/log/start.log" 2>/dev/null | tr '\n' ' ') $(grep -m1 error "$ST/log/libvirtd.log" 2>/dev/null)"
    exit 0
fi
emit PASS daemons "virtlogd + libvirtd $(libvirtd --version | awk '{print $NF}') up in $(since "$t")s ($MODE mode: $([ $MODE = ns ] && echo 'private mount namespace, host untouched' || echo 'host dirs, libvirt-qemu user and qemu.conf, undone at the end'))"

# --- 3. define, start, boot ----------------------------------------------
has_dev() { "$QEMU" -device help 2>/dev/null | grep -q "^name \"$1\""; }
SHUTDOWN=destroy
has_dev hv-shutdown && SHUTDOWN=hv-shutdown
SERIAL=$ST/serial.log
if ! /usr/bin/python3 "$ROOT/scripts/libvirt-domain.py" --name "$NAME" --guest "$GUEST" \
        --scenario libvirt --append "loglevel=7 vmbus.wait=$BOOT_TIMEOUT" \
        --serial-log "$SERIAL" --initrd-out "$ST/initrd.gz" -o "$ST/domain.xml" \
        > "$ST/log/domain-gen.log" 2>&1; then
    emit FAIL define "libvirt-domain.py: $(tail -1 "$ST/log/domain-gen.log")"
    exit 0
fi
# both variants against libvirt's schema (the KVM one cannot start on a host
# whose KVM lacks Hyper-V SynIC, but its XML is checked)
if command -v virt-xml-validate >/dev/null; then
    if /usr/bin/python3 "$ROOT/scripts/libvirt-domain.py" --guest "$GUEST" --accel kvm \
           -o "$ST/domain-kvm.xml" >> "$ST/log/domain-gen.log" 2>&1 &&
       virt-xml-validate "$ST/domain.xml" domain > "$ST/log/validate.log" 2>&1 &&
       virt-xml-validate "$ST/domain-kvm.xml" domain >> "$ST/log/validate.log" 2>&1; then
        emit PASS xml "TCG and KVM domain XML valid (virt-xml-validate)"
    else
        emit FAIL xml "$(tail -3 "$ST/log/validate.log" "$ST/log/domain-gen.log" 2>/dev/null | tr '\n' ' ')"
    fi
fi
devices=$(sed -n 's/.*<qemu:arg value="\(hv-[a-z-]*\),id=.*/\1/p' "$ST/domain.xml" | tr '\n' ' ')
t=$(now)
if ! VT=120 virsh_ define "$ST/domain.xml" > "$ST/log/define.log" 2>&1; then
    emit FAIL define "$(tr '\n' ' ' < "$ST/log/define.log")"
    exit 0
fi
emit PASS define "$GUEST guest, TCG, devices: vmbus-bridge ${devices% }"

t=$(now)
if ! VT=120 virsh_ start "$NAME" > "$ST/log/start-domain.log" 2>&1; then
    emit FAIL start "$(tr '\n' ' ' < "$ST/log/start-domain.log")"
    exit 0
fi
t_started=$(now)
emit PASS start "virsh start returned in $(since "$t")s"
cmdline=$(grep -m1 -- '-cpu' "$QEMU_LOGDIR/$NAME.log" 2>/dev/null | grep -o -- '-cpu [^ ]*')
[ -n "$cmdline" ] && say "QEMU got $cmdline"

# wait for the scenario's verdict on VMBus, then for it to wait for us
state() { VT=20 virsh_ domstate "$NAME" 2>/dev/null | head -1; }
deadline=$(( $(date +%s) + BOOT_TIMEOUT ))
ok=0
while [ "$(date +%s)" -lt $deadline ]; do
    if grep -q "VMBUS-GUEST: waiting for host shutdown" "$SERIAL" 2>/dev/null; then ok=1; break; fi
    case "$(state)" in running|"in shutdown") ;; *) break ;; esac
    sleep 1
done
boot_s=$(since "$t_started")
vline=$(grep -m1 "VMBUS-RESULT: libvirt-vmbus" "$SERIAL" 2>/dev/null)
ver=$(sed -n 's/^VMBUS-INFO: vmbus_version=//p' "$SERIAL" 2>/dev/null | tr -d '\r' | head -1)
ndev=$(grep -c "^VMBUS-INFO: device=" "$SERIAL" 2>/dev/null)
unbound=$(grep "^VMBUS-INFO: device=" "$SERIAL" 2>/dev/null | grep -c "driver=none")
if [ $ok = 1 ] && echo "$vline" | grep -q " PASS" && [ -n "$ver" ]; then
    # vmbus-bridge's devices plus what the guest has built in; all bound
    want=$(echo "$devices" | wc -w)
    if [ "$ndev" -ge "$want" ]; then
        emit PASS vmbus "VMBus $ver, $ndev devices ($unbound without a guest driver), guest ready ${boot_s}s after start"
    else
        emit FAIL vmbus "VMBus $ver but $ndev devices ($want offered), $unbound without driver (serial: build/logs/libvirt/serial.log)"
    fi
else
    emit FAIL vmbus "state $(state), ${boot_s}s: ${vline:-no VMBus result} (serial: build/logs/libvirt/serial.log; QEMU: build/logs/libvirt/qemu/$NAME.log)"
    exit 0
fi

# --- 4. shutdown ---------------------------------------------------------
wait_off() {  # SECONDS: wait for 'shut off'
    local end=$(( $(date +%s) + $1 ))
    while [ "$(date +%s)" -lt $end ]; do
        [ "$(state)" = "shut off" ] && return 0
        sleep 0.5
    done
    return 1
}
t=$(now)
if [ $SHUTDOWN = hv-shutdown ]; then
    # virsh shutdown (mode acpi = QMP system_powerdown) -> hv-shutdown -> hv_utils
    if ! VT=30 virsh_ shutdown "$NAME" > "$ST/log/shutdown.log" 2>&1; then
        emit FAIL shutdown "virsh shutdown: $(tr '\n' ' ' < "$ST/log/shutdown.log")"
    elif wait_off 60 && grep -q "VMBUS-RESULT: libvirt-shutdown PASS" "$SERIAL" &&
         grep -q "hv_utils: Shutdown request received" "$SERIAL"; then
        emit PASS shutdown "virsh shutdown via hv-shutdown: shut off in $(since "$t")s ($(grep -m1 'libvirt-shutdown' "$SERIAL" | cut -d' ' -f4- | tr -d '\r'))"
    else
        emit FAIL shutdown "state '$(state)' $(since "$t")s after virsh shutdown; guest: $(grep -m1 'libvirt-shutdown' "$SERIAL" | tr -d '\r')"
    fi
else
    # TODO(hv-shutdown): the shutdown integration service is not in this
    # build yet.  This QEMU's guest has no ACPI button driver in its
    # initramfs either, so 'virsh shutdown' cannot be acted on: stop with
    # 'virsh destroy'.  The test switches to the branch above by itself
    # as soon as '-device help' lists hv-shutdown.
    VT=30 virsh_ shutdown "$NAME" > "$ST/log/shutdown.log" 2>&1
    if wait_off 5; then
        emit PASS shutdown "virsh shutdown acted on without hv-shutdown in $(since "$t")s"
    elif VT=30 virsh_ destroy "$NAME" >> "$ST/log/shutdown.log" 2>&1 && wait_off 20; then
        emit PASS shutdown "TODO: no hv-shutdown in this build; virsh destroy instead, shut off in $(since "$t")s"
    else
        emit FAIL shutdown "virsh destroy: state '$(state)': $(tr '\n' ' ' < "$ST/log/shutdown.log")"
    fi
fi

# --- 5. what libvirt lets through and QEMU refuses ----------------------
sed -e "s|<name>$NAME</name>|<name>$NAME-stimer</name>|" \
    -e "s|$SERIAL|$ST/serial-stimer.log|" \
    -e "s|<synic state='on'/>|<synic state='on'/>\n      <reenlightenment state='on'/>|" \
    "$ST/domain.xml" > "$ST/domain-stimer.xml"
if VT=60 virsh_ define "$ST/domain-stimer.xml" > "$ST/log/stimer.log" 2>&1; then
    if VT=60 virsh_ start "$NAME-stimer" >> "$ST/log/stimer.log" 2>&1; then
        emit FAIL tcg-refuses-reenlightenment "a TCG domain with <reenlightenment/> started; QEMU should refuse hv-reenlightenment under TCG"
        VT=20 virsh_ destroy "$NAME-stimer" >/dev/null 2>&1
    elif sleep 1; grep -qs "hv-reenlightenment is not supported under TCG" \
            "$ST/log/stimer.log" "$QEMU_LOGDIR/$NAME-stimer.log"; then
        # (virsh prints QEMU's message, or only "cannot connect to the
        # monitor" when QEMU quit first; its domain log has it then)
        emit PASS tcg-refuses-reenlightenment "libvirt accepts <reenlightenment/> for TCG; QEMU refuses at start and virsh says why"
    else
        emit FAIL tcg-refuses-reenlightenment "start failed without naming hv-reenlightenment: $(tr '\n' ' ' < "$ST/log/stimer.log" | cut -c1-300)"
    fi
    VT=20 virsh_ undefine "$NAME-stimer" >/dev/null 2>&1
else
    emit FAIL tcg-refuses-reenlightenment "define refused: $(tr '\n' ' ' < "$ST/log/stimer.log")"
fi

# --- 6. teardown ---------------------------------------------------------
trap - EXIT
teardown report
say "done in $(since "$t_start")s"
exit 0
