#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Boot a test guest (build/guests/KIND) in our QEMU with a scenario,
# capture the serial console, keep a QMP socket, enforce a hard timeout,
# and return the scenario's verdict.
#
#   guest-run.py --guest trixie --scenario info [--smp 4] [-- extra QEMU args]
#
# Exit status: 0 every result line PASS (at least one), 1 a FAIL or no
# result, 2 a SKIP only, 3 timeout, 4 usage or setup error.
#
# Host actions.  A scenario can ask the host to act and wait for it: the
# guest prints one line
#     VMBUS-HOST: <action> [args...]
# on its console and then reads one line from the console (the helper
# host_action in scripts/guest/vmbus-guest.sh does both).  The runner
# performs the action through QMP and writes back
#     VMBUS-HOST-REPLY: ok [value]      or
#     VMBUS-HOST-REPLY: error <message>
# to the guest's serial input.  Actions:
#     migrate                  migrate to a file, quit QEMU, start a new
#                              QEMU with the same command line plus
#                              -incoming file:..., reply once it runs
#     qom-set PATH PROP VALUE  (VALUE as JSON, e.g. 64 or true)
#     qom-get PATH PROP        reply: ok <JSON value>
#     hmp COMMAND...           human-monitor-command; reply: ok (output
#                              on the runner's log)
#     sleep SECONDS            host-side pause
#     pause SECONDS            stop the VM, wait, cont (the guest's clock
#                              falls behind; reply once it runs again)
#     qmp-get COMMAND PATH     run a query command without arguments and
#                              reply with one value of its answer: PATH is
#                              keys and list indexes joined by '.', and
#                              'len' gives a list's length; e.g.
#                              qmp-get query-vmbus version -> ok "5.3"
#                              qmp-get query-vmbus channels.len -> ok 1
#     boot-count               how many times the guest's /init started
#                              in this run (reboots, kexec)
#     console-count TEXT...    how many console lines so far contain TEXT
#     restart-after-poweroff   when QEMU next exits, start it again with
#                              the same command line (hibernation to disk)
#   hv_sock peers (the hv-sock device's path= is read from the QEMU
#   command line; each peer runs in the background, keyed by PORT):
#     hvsock-listen PORT MODE [N [COUNT]]
#                              listen on PATH_PORT (what a guest connect()
#                              to vsock port PORT reaches) for COUNT
#                              connections (default 1), each handled by MODE
#     hvsock-connect PORT MODE [N]
#                              connect through PATH ("CONNECT PORT" /
#                              "OK n") to a guest listening on PORT
#     hvsock-wait PORT [SECS]  wait for the peer; reply: ok BYTES SHA256
#                              CONNS MS (data received, or sent for
#                              'source'; MS from the first byte to the end)
#     tcp-listen PORT MODE [N [COUNT]], tcp-connect PORT MODE [N]
#                              the same over TCP on 127.0.0.1:PORT (the
#                              guest reaches it as 10.0.2.2:PORT through
#                              -netdev user; tcp-connect needs a hostfwd
#                              to the guest); hvsock-wait PORT waits
#   MODEs: sink (read to EOF), source N (send N random bytes, shut down
#   writing, read to EOF), echo (send back what arrives), cut N (read N
#   bytes, then close mid-transfer).
#   In the QEMU arguments @TMPDIR@ becomes this run's private directory
#   (e.g. -device hv-sock,path=@TMPDIR@/hvs).
#     qmp COMMAND [JSON]       any QMP command, arguments as one JSON
#                              object; reply: ok <JSON answer>
#     qmp-events NAME          how many QMP events NAME this QEMU sent
#                              since the runner connected to it, and the
#                              data of the last one: ok 1 {"action": ...}
#                              (connects QMP: ask once before the event)
#     reset                    system_reset; no reply (the guest reboots;
#                              needs --reboot, or -no-reboot turns the
#                              reset into a shutdown)
import argparse
import fcntl
import hashlib
import json
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_QEMU = os.path.join(ROOT, "build", "qemu-system-x86_64")
SCENARIOS = os.path.join(ROOT, "qtest", "guest", "scenarios")

# The Hyper-V CPU flags our TCG path implements; under KVM the same set
# needs a KVM with Hyper-V support.
HV_CPU = "qemu64,hv-vpindex=on,hv-synic=on,hv-relaxed=on,hv-time=on"


def kvm_has_hyperv():
    """True when /dev/kvm exists and offers KVM_CAP_HYPERV_SYNIC2."""
    try:
        fd = os.open("/dev/kvm", os.O_RDWR)
    except OSError:
        return False
    try:
        KVM_CHECK_EXTENSION = 0xAE03
        KVM_CAP_HYPERV_SYNIC2 = 148
        return fcntl.ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_HYPERV_SYNIC2) > 0
    except OSError:
        return False
    finally:
        os.close(fd)


class QMP:
    """Minimal QMP client: enough for scenarios that drive the host."""

    def __init__(self, path, timeout=30):
        deadline = time.time() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.time() > deadline:
                    raise
                time.sleep(0.05)
        self.f = self.sock.makefile("rw")
        self.events = []
        json.loads(self.f.readline())  # greeting
        self.cmd("qmp_capabilities")

    def cmd(self, name, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.f.write(json.dumps(msg) + "\n")
        self.f.flush()
        while True:
            line = self.f.readline()
            if not line:
                raise EOFError("QMP connection closed")
            r = json.loads(line)
            if "event" in r:
                self.events.append(r)
                continue
            if "error" in r:
                raise RuntimeError("%s: %s" % (name, r["error"].get("desc")))
            return r.get("return")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def cpio_gz(stage, paths):
    """A gzip'ed newc cpio of 'paths' (relative to 'stage')."""
    cpio = subprocess.run(["cpio", "-o", "-H", "newc", "--quiet", "-R", "0:0"],
                          cwd=stage, input="\n".join(paths).encode(), check=True,
                          stdout=subprocess.PIPE).stdout
    return subprocess.run(["gzip", "-1"], input=cpio, stdout=subprocess.PIPE,
                          check=True).stdout


def kexec_initrd(initrd, vmlinuz, tmpdir):
    """'initrd' plus /boot/vmlinuz and /boot/initrd.gz (= 'initrd'), so a
    scenario can kexec into the same kernel with the same initramfs."""
    stage = os.path.join(tmpdir, "kexec-stage")
    os.makedirs(os.path.join(stage, "boot"))
    shutil.copy(vmlinuz, os.path.join(stage, "boot", "vmlinuz"))
    shutil.copy(initrd, os.path.join(stage, "boot", "initrd.gz"))
    out = os.path.join(tmpdir, "initrd-kexec.gz")
    with open(out, "wb") as f:
        with open(initrd, "rb") as b:
            f.write(b.read())
        f.write(cpio_gz(stage, ["boot", "boot/vmlinuz", "boot/initrd.gz"]))
    return out


def scenario_initrd(base, tmpdir):
    """The image's initrd with /scenarios appended as a second cpio."""
    stage = os.path.join(tmpdir, "stage")
    os.makedirs(os.path.join(stage, "scenarios"))
    for f in os.listdir(SCENARIOS):
        shutil.copy(os.path.join(SCENARIOS, f), os.path.join(stage, "scenarios", f))
    files = subprocess.run(["find", "scenarios"], cwd=stage, check=True,
                           stdout=subprocess.PIPE).stdout
    cpio = subprocess.run(["cpio", "-o", "-H", "newc", "--quiet", "-R", "0:0"],
                          cwd=stage, input=files, check=True,
                          stdout=subprocess.PIPE).stdout
    out = os.path.join(tmpdir, "initrd.gz")
    with open(out, "wb") as f:
        with open(base, "rb") as b:
            f.write(b.read())
        p = subprocess.run(["gzip", "-1"], input=cpio, stdout=subprocess.PIPE, check=True)
        f.write(p.stdout)
    return out


def build_cmdline(a, tmpdir):
    gdir = os.path.join(ROOT, "build", "guests", a.guest)
    initrd = scenario_initrd(os.path.join(gdir, "initrd.gz"), tmpdir)
    if a.kexec_files:
        initrd = kexec_initrd(initrd, os.path.join(gdir, "vmlinuz"), tmpdir)
    kernel = os.path.join(gdir, "vmlinuz" if a.bzimage else "vmlinux")
    base = os.path.join(gdir, "initrd.gz")
    for f in (a.qemu, kernel, base):
        if not os.path.exists(f):
            raise SystemExit("guest-run: missing %s (run 'make guests qemu')" % f)
    accel = a.accel
    if accel == "auto":
        accel = "kvm" if kvm_has_hyperv() else "tcg"
    append = "console=ttyS0 panic=-1 loglevel=7 vmbus.scenario=%s %s" % (a.scenario, a.append)
    cpu = a.cpu if a.cpu is not None else HV_CPU
    cmd = [a.qemu, "-M", a.machine, "-accel", accel, "-m", str(a.mem),
           "-smp", str(a.smp), "-nodefaults", "-display", "none",
           "-serial", "stdio",
           "-qmp", "unix:%s,server=on,wait=off" % os.path.join(tmpdir, "qmp.sock"),
           "-kernel", kernel, "-initrd", initrd,
           "-append", append.strip()]
    if cpu:
        cmd += ["-cpu", cpu + (",kvm=off" if accel == "kvm" else "")]
    if not a.allow_reboot:
        cmd += ["-no-reboot"]
    if a.scratch_disk:
        disk = os.path.join(tmpdir, "scratch.img")
        with open(disk, "wb") as f:
            f.truncate(a.scratch_disk << 20)
        cmd += ["-drive", "file=%s,if=virtio,format=raw,cache=unsafe" % disk]
    return cmd + [x.replace("@TMPDIR@", tmpdir) for x in a.extra]


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--guest", default="trixie",
                   help="build/guests/GUEST: trixie, bookworm, bullseye, trixie-bpo, or the OUTDIR name "
                        "of 'guest-image.sh custom'")
    p.add_argument("--kernel", help="boot this kernel (ELF vmlinux: PVH, or a bzImage) "
                                    "instead of the guest's")
    p.add_argument("--initrd", help="this initramfs instead of the guest's; it needs our "
                                    "/init (guest-image.sh builds one)")
    p.add_argument("--scenario", default="info")
    p.add_argument("--qemu", default=DEFAULT_QEMU)
    p.add_argument("--accel", default="auto", help="tcg, kvm or auto")
    p.add_argument("--machine", default="q35")
    p.add_argument("--cpu", default=None, help="-cpu value ('' for none)")
    p.add_argument("--smp", type=int, default=1)
    p.add_argument("--mem", type=int, default=512)
    p.add_argument("--append", default="", help="extra kernel command line")
    p.add_argument("--timeout", type=float, default=120)
    p.add_argument("--log", help="write the serial console here")
    p.add_argument("--quiet", action="store_true", help="do not echo the console")
    p.add_argument("--bzimage", action="store_true", help="boot vmlinuz instead of vmlinux")
    p.add_argument("--allow-reboot", "--reboot", dest="allow_reboot",
                   action="store_true",
                   help="let the guest reboot (default: -no-reboot, a reboot ends QEMU)")
    p.add_argument("--expect-shutdown", metavar="REASON",
                   help="QEMU must end with a SHUTDOWN event of this reason "
                        "(guest-shutdown: the guest powered off; guest-reset: "
                        "it rebooted under -no-reboot); adds result qemu_exit. "
                        "Needs a QMP host action earlier in the run")
    p.add_argument("--scratch-disk", type=int, metavar="MB",
                   help="a zeroed raw disk of MB MiB as the guest's virtio-blk "
                        "/dev/vda, kept across QEMU restarts of this run")
    p.add_argument("--kexec-files", action="store_true",
                   help="put the kernel (bzImage) and initrd into the guest's "
                        "/boot, for scenarios that kexec")
    p.add_argument("extra", nargs="*", help="extra QEMU arguments (after --)")
    a = p.parse_args()

    gdir = os.path.join(ROOT, "build", "guests", a.guest)
    if not (a.kernel and a.initrd) and not os.path.isdir(gdir):
        raise SystemExit("guest-run: no guest image %s (run 'make guests', or "
                         "scripts/guest-image.sh custom %s KERNEL.deb|DIR)" % (gdir, gdir))

    def override_guest(tmpdir):
        """A guest directory of links: --kernel/--initrd, the rest from gdir."""
        d = os.path.join(tmpdir, "guest")
        os.makedirs(d)
        for name, given in (("vmlinux", a.kernel), ("vmlinuz", a.kernel),
                            ("initrd.gz", a.initrd)):
            src = os.path.abspath(given) if given else os.path.join(gdir, name)
            if os.path.exists(src):
                os.symlink(src, os.path.join(d, name))
        return d

    tmpdir = tempfile.mkdtemp(prefix="vmbus-run.")
    try:
        if a.kernel or a.initrd:
            a.guest = override_guest(tmpdir)   # absolute: os.path.join keeps it
        cmd = build_cmdline(a, tmpdir)
        return run(a, cmd, tmpdir)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


class HvSockPeer(threading.Thread):
    """A host-side hv_sock peer over the hv-sock device's AF_UNIX sockets."""

    def __init__(self, path, port, mode, n, count, connect, tcp=False):
        super().__init__(daemon=True)
        self.path, self.port, self.mode, self.n = path, port, mode, n
        self.count, self.connect, self.tcp = count, connect, tcp
        self.bytes, self.conns, self.error = 0, 0, None
        self.sha = hashlib.sha256()
        self.t_first = self.t_end = None
        self.lsock = None
        if tcp and not connect:
            self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.lsock.bind(("127.0.0.1", port))
            self.lsock.listen(16)
        elif not connect:
            lpath = "%s_%d" % (path, port)
            try:
                os.unlink(lpath)
            except OSError:
                pass
            self.lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.lsock.bind(lpath)
            self.lsock.listen(16)

    def handle(self, s):
        s.settimeout(300)
        if self.mode == "source":
            left = self.n
            self.t_first = time.time()
            while left:
                chunk = os.urandom(min(left, 65536))
                s.sendall(chunk)
                self.sha.update(chunk)
                self.bytes += len(chunk)
                left -= len(chunk)
            s.shutdown(socket.SHUT_WR)
            while s.recv(65536):
                pass
            self.t_end = time.time()
            return
        while True:
            want = 65536
            if self.mode == "cut":
                want = min(want, self.n - self.bytes)
                if want <= 0:
                    return          # close mid-transfer
            d = s.recv(want)
            if not d:
                self.t_end = time.time()
                return
            if self.t_first is None:
                self.t_first = time.time()
            self.sha.update(d)
            self.bytes += len(d)
            if self.mode == "echo":
                s.sendall(d)

    def run(self):
        try:
            for _ in range(self.count):
                if self.connect and self.tcp:
                    s = socket.create_connection(("127.0.0.1", self.port), 60)
                elif self.connect:
                    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    s.settimeout(60)
                    s.connect(self.path)
                    s.sendall(b"CONNECT %d\n" % self.port)
                    line = b""
                    while not line.endswith(b"\n"):
                        d = s.recv(1)
                        if not d:
                            raise RuntimeError("no OK from hv-sock (guest not listening?)")
                        line += d
                    if not line.startswith(b"OK "):
                        raise RuntimeError("handshake: %r" % line)
                else:
                    s, _ = self.lsock.accept()
                self.conns += 1
                with s:
                    self.handle(s)
        except Exception as e:  # noqa: BLE001 -- reported by hvsock-wait
            self.error = str(e)
        finally:
            if self.lsock:
                self.lsock.close()


class Host:
    """The QEMU process(es) of one run and the host actions on them."""

    def __init__(self, cmd, tmpdir, log):
        self.cmd = cmd
        self.tmpdir = tmpdir
        self.log = log
        self.qmp = None
        self.migrations = 0
        self.boots = 0
        self.restart_after_exit = False
        self.console = []
        self.hvsock = {}
        self.start(cmd)

    def start(self, cmd):
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self.qmp = None

    def restart(self):
        if self.qmp:
            self.qmp.close()
        try:
            os.unlink(os.path.join(self.tmpdir, "qmp.sock"))
        except OSError:
            pass
        self.start(self.cmd)

    def qmp_conn(self):
        if self.qmp is None:
            self.qmp = QMP(os.path.join(self.tmpdir, "qmp.sock"))
        return self.qmp

    def note(self, text):
        if self.log:
            self.log.write("[host] %s\n" % text)

    def reply(self, text):
        self.note("reply: %s" % text)
        try:
            self.proc.stdin.write(("VMBUS-HOST-REPLY: %s\n" % text).encode())
            self.proc.stdin.flush()
        except OSError:
            pass

    def migrate(self):
        """Migrate to a file, quit, restart with -incoming from it."""
        q = self.qmp_conn()
        path = os.path.join(self.tmpdir, "migration-%d" % self.migrations)
        self.migrations += 1
        q.cmd("migrate", uri="file:" + path)
        deadline = time.time() + 120
        while True:
            st = q.cmd("query-migrate").get("status")
            if st == "completed":
                break
            if st in ("failed", "cancelled") or time.time() > deadline:
                raise RuntimeError("migration %s" % st)
            time.sleep(0.05)
        self.note("migrated to %s (%d bytes)" % (path, os.path.getsize(path)))
        try:
            q.cmd("quit")
        except (EOFError, OSError):
            pass
        q.close()
        old = self.proc
        try:
            old.wait(timeout=30)
        except subprocess.TimeoutExpired:
            old.kill()
            old.wait()
        rest = old.stdout.read()
        try:
            os.unlink(os.path.join(self.tmpdir, "qmp.sock"))
        except OSError:
            pass
        self.start(self.cmd + ["-incoming", "file:" + path])
        q = self.qmp_conn()
        deadline = time.time() + 120
        while q.cmd("query-status").get("status") != "running":
            if time.time() > deadline:
                raise RuntimeError("destination did not start running")
            time.sleep(0.05)
        self.note("destination running")
        return rest

    def action(self, words):
        """Perform one host action; returns (reply, console bytes of an old QEMU)."""
        rest = b""
        try:
            if not words:
                raise RuntimeError("empty action")
            act, args = words[0], words[1:]
            if act == "migrate":
                rest = self.migrate()
                return "ok", rest
            if act == "qom-set" and len(args) == 3:
                self.qmp_conn().cmd("qom-set", path=args[0], property=args[1],
                                    value=json.loads(args[2]))
                return "ok", rest
            if act == "qom-get" and len(args) == 2:
                v = self.qmp_conn().cmd("qom-get", path=args[0], property=args[1])
                return "ok %s" % json.dumps(v), rest
            if act == "hmp" and args:
                out = self.qmp_conn().cmd("human-monitor-command", **{"command-line": " ".join(args)})
                self.note("hmp: %s" % out)
                return "ok", rest
            if act == "qmp-get" and len(args) == 2:
                v = self.qmp_conn().cmd(args[0])
                for key in args[1].split("."):
                    if isinstance(v, list):
                        v = len(v) if key == "len" else v[int(key)]
                    else:
                        v = v[key]
                return "ok %s" % json.dumps(v), rest
            if act == "qmp" and args:
                qargs = json.loads(" ".join(args[1:])) if len(args) > 1 else {}
                v = self.qmp_conn().cmd(args[0], **qargs)
                return "ok %s" % json.dumps(v), rest
            if act == "console-count" and args:
                text = " ".join(args)
                return "ok %d" % sum(text in ln for ln in self.console
                                     if not ln.startswith("VMBUS-HOST")), rest
            if act == "restart-after-poweroff" and not args:
                self.restart_after_exit = True
                return "ok", rest
            if act == "boot-count" and not args:
                return "ok %d" % self.boots, rest
            if act == "qmp-events" and len(args) == 1:
                q = self.qmp_conn()
                q.cmd("query-status")   # reads the events sent so far
                evs = [e for e in q.events if e.get("event") == args[0]]
                last = json.dumps(evs[-1].get("data", {})) if evs else "{}"
                return "ok %d %s" % (len(evs), last), rest
            if act == "reset" and not args:
                self.qmp_conn().cmd("system_reset")
                return None, rest
            if act in ("hvsock-listen", "hvsock-connect", "tcp-listen",
                       "tcp-connect") and len(args) >= 2:
                tcp = act.startswith("tcp-")
                path = None if tcp else self.hvsock_path()
                n = int(args[2]) if len(args) > 2 else 0
                count = int(args[3]) if len(args) > 3 else 1
                peer = HvSockPeer(path, int(args[0]), args[1], n, count,
                                  act.endswith("-connect"), tcp)
                self.hvsock[int(args[0])] = peer
                peer.start()
                return "ok", rest
            if act == "hvsock-wait" and args:
                peer = self.hvsock.pop(int(args[0]))
                peer.join(float(args[1]) if len(args) > 1 else 120)
                if peer.is_alive():
                    raise RuntimeError("hv_sock peer still running")
                if peer.error:
                    raise RuntimeError(peer.error)
                ms = (peer.t_end - peer.t_first) * 1000 if peer.t_first and peer.t_end else 0
                return "ok %d %s %d %d" % (peer.bytes, peer.sha.hexdigest(), peer.conns, ms), rest
            if act == "sleep" and len(args) == 1:
                time.sleep(float(args[0]))
                return "ok", rest
            if act == "pause" and len(args) == 1:
                q = self.qmp_conn()
                q.cmd("stop")
                time.sleep(float(args[0]))
                q.cmd("cont")
                return "ok", rest
            raise RuntimeError("unknown action or arguments: %s" % " ".join(words))
        except Exception as e:  # noqa: BLE001 -- any failure goes back to the guest
            return "error %s" % str(e).replace("\n", " "), rest

    def hvsock_path(self):
        """path= of the first -device hv-sock on the command line."""
        for arg in self.cmd:
            if arg.startswith("hv-sock,"):
                for kv in arg.split(","):
                    if kv.startswith("path="):
                        return kv[5:]
        raise RuntimeError("no -device hv-sock,path=... on the command line")

    def shutdown_verdict(self, want):
        """Result line for --expect-shutdown from QEMU's SHUTDOWN events."""
        q = self.qmp
        if q is not None:
            try:
                q.sock.settimeout(5)
                for line in q.f:
                    r = json.loads(line)
                    if "event" in r:
                        q.events.append(r)
            except (OSError, ValueError):
                pass
        reasons = [e.get("data", {}).get("reason") for e in (q.events if q else [])
                   if e.get("event") == "SHUTDOWN"]
        return ("qemu_exit", "PASS" if want in reasons else "FAIL",
                "rc=%s SHUTDOWN reason %s (expected %s)" %
                (self.proc.returncode, ",".join(map(str, reasons)) or "none", want))

    def close(self):
        if self.qmp:
            self.qmp.close()


def run(a, cmd, tmpdir):
    log = open(a.log, "w") if a.log else None
    t0 = time.time()
    marks = {}
    results = []
    ended = False
    if log:
        log.write("# %s\n" % " ".join(cmd))
    host = Host(cmd, tmpdir, log)
    proc = host.proc
    buf = b""
    timed_out = False
    while True:
        left = a.timeout - (time.time() - t0)
        if left <= 0:
            timed_out = True
            proc.kill()
            break
        r, _, _ = select.select([proc.stdout], [], [], min(left, 1.0))
        chunk = os.read(proc.stdout.fileno(), 65536) if r else b""
        if not chunk and (r or proc.poll() is not None):
            if host.restart_after_exit:
                # The guest powered off on purpose (hibernation to disk):
                # start a new QEMU process with the same command line.
                host.restart_after_exit = False
                proc.wait()
                host.note("QEMU exited (%s); starting it again" % proc.returncode)
                host.restart()
                proc = host.proc
                continue
            break
        if not chunk:
            continue
        buf += chunk
        while b"\n" in buf:
            raw, buf = buf.split(b"\n", 1)
            line = raw.decode("utf-8", "replace").rstrip("\r")
            now = time.time() - t0
            if log:
                log.write("[%7.3f] %s\n" % (now, line))
            if not a.quiet:
                print(line, flush=True)
            for key, pat in (("hyperv", "Hypervisor detected"), ("init", "VMBUS-GUEST: start"),
                             ("vmbus", "Vmbus version:")):
                if pat in line and key not in marks:
                    marks[key] = now
            if line.startswith("VMBUS-RESULT: "):
                parts = line.split(None, 3)
                results.append((parts[1], parts[2] if len(parts) > 2 else "FAIL",
                                parts[3] if len(parts) > 3 else ""))
            host.console.append(line)
            if line.startswith("VMBUS-GUEST: start"):
                host.boots += 1
            if line.startswith("VMBUS-GUEST: end"):
                ended = True
            if line.startswith("VMBUS-HOST: "):
                reply, rest = host.action(line.split()[1:])
                proc = host.proc
                if log and rest:
                    for r in rest.decode("utf-8", "replace").splitlines():
                        log.write("[old qemu] %s\n" % r)
                if reply is not None:
                    host.reply(reply)
    if a.expect_shutdown and not timed_out:
        proc.wait()
        results.append(host.shutdown_verdict(a.expect_shutdown))
        print("VMBUS-RESULT: %s %s %s" % results[-1], flush=True)
    host.close()
    proc.wait()
    total = time.time() - t0
    timing = " ".join("%s=%.2fs" % kv for kv in sorted(marks.items(), key=lambda kv: kv[1]))
    summary = "guest-run: %s/%s %.1fs %s rc=%s" % (a.guest, a.scenario, total, timing, proc.returncode)
    if log:
        log.write(summary + "\n")
        log.close()
    print(summary, file=sys.stderr)
    if timed_out:
        print("guest-run: TIMEOUT after %.0fs" % a.timeout, file=sys.stderr)
        return 3
    if not results or not ended:
        print("guest-run: no result (guest did not finish its scenario)", file=sys.stderr)
        return 1
    verdicts = {v for _, v, _ in results}
    if "FAIL" in verdicts or not verdicts <= {"PASS", "SKIP"}:
        return 1
    if verdicts == {"SKIP"}:
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
