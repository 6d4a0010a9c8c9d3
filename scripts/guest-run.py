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
import argparse
import fcntl
import json
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
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
           "-no-reboot", "-serial", "stdio",
           "-qmp", "unix:%s,server=on,wait=off" % os.path.join(tmpdir, "qmp.sock"),
           "-kernel", kernel, "-initrd", scenario_initrd(base, tmpdir),
           "-append", append.strip()]
    if cpu:
        cmd += ["-cpu", cpu + (",kvm=off" if accel == "kvm" else "")]
    return cmd + a.extra


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--guest", default="trixie", choices=["trixie", "bookworm"])
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
    p.add_argument("extra", nargs="*", help="extra QEMU arguments (after --)")
    a = p.parse_args()

    tmpdir = tempfile.mkdtemp(prefix="vmbus-run.")
    try:
        cmd = build_cmdline(a, tmpdir)
        return run(a, cmd)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def run(a, cmd):
    log = open(a.log, "w") if a.log else None
    t0 = time.time()
    marks = {}
    results = []
    ended = False
    if log:
        log.write("# %s\n" % " ".join(cmd))
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    buf = b""
    timed_out = False
    while True:
        left = a.timeout - (time.time() - t0)
        if left <= 0:
            timed_out = True
            proc.kill()
            break
        r, _, _ = select.select([proc.stdout], [], [], min(left, 1.0))
        if not r:
            if proc.poll() is not None:
                break
            continue
        chunk = os.read(proc.stdout.fileno(), 65536)
        if not chunk:
            break
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
            if line.startswith("VMBUS-GUEST: end"):
                ended = True
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
