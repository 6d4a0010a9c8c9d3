#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Write a libvirt domain XML that runs our QEMU (build/qemu-system-x86_64)
# as <emulator>, with the Hyper-V enlightenments in <features><hyperv> and
# the VMBus bridge and devices through <qemu:commandline> (libvirt has no
# VMBus element).  See docs/libvirt.rst.
#
#   libvirt-domain.py --guest trixie --serial-log /tmp/g.log > g.xml
#   libvirt-domain.py --kernel K --initrd I --append "console=ttyS0" \
#       --accel kvm --devices hv-balloon,hv-shutdown -o g.xml
#
# --guest KIND takes build/guests/KIND/{vmlinux,initrd.gz}; with
# --scenario NAME the initrd gets qtest/guest/scenarios/ appended and the
# command line names the scenario (as scripts/guest-run.py does), written
# next to the XML (--initrd-out).  --devices auto (the default) offers every
# VMBus device this QEMU build has among the ones known to work without
# extra host setup.
import argparse
import os
import subprocess
import sys
from xml.sax.saxutils import escape, quoteattr

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_QEMU = os.path.join(ROOT, "build", "qemu-system-x86_64")

# VMBus devices offered by --devices auto, in this order, when the build has
# them.  hv-sock needs a host directory (--hv-sock-path), so it is only
# added when asked for.
AUTO_DEVICES = ["hv-balloon", "hv-heartbeat", "hv-shutdown", "hv-timesync",
                "hv-kvp", "hv-vss", "hv-fcopy"]

# <hyperv> children: the common libvirt set, which our TCG SynIC implements
# as KVM does (hv-time comes from <timer name='hypervclock'>).  vendor_id
# stays out: Linux only detects Hyper-V as "Microsoft Hv".
HYPERV_TCG = [("relaxed", "state='on'"), ("vapic", "state='on'"),
              ("spinlocks", "state='on' retries='8191'"),
              ("vpindex", "state='on'"), ("runtime", "state='on'"),
              ("synic", "state='on'"), ("stimer", "state='on'"),
              ("reset", "state='on'"), ("frequencies", "state='on'"),
              ("ipi", "state='on'"), ("tlbflush", "state='on'")]
HYPERV_KVM = HYPERV_TCG


def build_devices(qemu):
    """Names of the VMBus devices (bus vmbus) this QEMU binary has."""
    try:
        out = subprocess.run([qemu, "-device", "help"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, timeout=30).stdout.decode()
    except (OSError, subprocess.TimeoutExpired) as e:
        raise SystemExit("libvirt-domain: cannot run %s -device help: %s" % (qemu, e))
    names = []
    for line in out.splitlines():
        if 'bus vmbus' in line and line.startswith("name "):
            names.append(line.split('"')[1])
    return names


def pick_devices(spec, qemu):
    have = build_devices(qemu)
    if spec in ("auto", ""):
        return [d for d in AUTO_DEVICES if d in have]
    if spec == "none":
        return []
    want = [d for d in spec.split(",") if d]
    missing = [d for d in want if d not in have]
    if missing:
        raise SystemExit("libvirt-domain: %s has no device %s (it has: %s)"
                         % (qemu, ", ".join(missing), ", ".join(have) or "none"))
    return want


def device_args(devices, hv_sock_path):
    args = ["-device", "vmbus-bridge"]
    for d in devices:
        # a stable id gives a stable instance GUID (docs/user-guide.rst)
        dev = "%s,id=%s0" % (d, d[3:] if d.startswith("hv-") else d)
        if d == "hv-sock":
            if not hv_sock_path:
                raise SystemExit("libvirt-domain: hv-sock needs --hv-sock-path DIR")
            dev += ",path=" + hv_sock_path
        args += ["-device", dev]
    return args


def domain_xml(a, kernel, initrd, append, devices):
    kvm = a.accel == "kvm"
    hv = "\n".join("      <%s %s/>" % kv for kv in (HYPERV_KVM if kvm else HYPERV_TCG))
    if kvm:
        # kvm=off: Linux must pick Hyper-V, not KVM, as its hypervisor
        cpu = "  <cpu mode='host-passthrough' check='none'/>"
        kvmhide = "\n    <kvm>\n      <hidden state='on'/>\n    </kvm>"
    else:
        cpu = ("  <cpu mode='custom' match='exact' check='none'>\n"
               "    <model fallback='forbid'>qemu64</model>\n  </cpu>")
        kvmhide = ""
    qargs = device_args(devices, a.hv_sock_path) + a.qemu_arg
    qcmd = "\n".join("    <qemu:arg value=%s/>" % quoteattr(x) for x in qargs)
    serial = ("    <serial type='file'>\n      <source path=%s append='off'/>\n"
              "      <target port='0'/>\n    </serial>" % quoteattr(a.serial_log)
              if a.serial_log else
              "    <serial type='pty'>\n      <target port='0'/>\n    </serial>")
    return """<!-- written by scripts/libvirt-domain.py (%(accel)s); see docs/libvirt.rst -->
<domain type='%(dtype)s' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>%(name)s</name>
  <memory unit='MiB'>%(mem)d</memory>
  <vcpu>%(smp)d</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>%(kernel)s</kernel>
    <initrd>%(initrd)s</initrd>
    <cmdline>%(append)s</cmdline>
  </os>
  <features>
    <acpi/>
    <hyperv mode='custom'>
%(hv)s
    </hyperv>%(kvmhide)s
  </features>
%(cpu)s
  <clock offset='utc'>
    <timer name='hypervclock' present='yes'/>
  </clock>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>%(qemu)s</emulator>
%(serial)s
    <console type='%(ctype)s'>
      <target type='serial' port='0'/>
    </console>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
  </devices>
  <qemu:commandline>
%(qcmd)s
  </qemu:commandline>
</domain>
""" % dict(accel=a.accel.upper(), dtype="kvm" if kvm else "qemu", name=escape(a.name),
           mem=a.mem, smp=a.smp, kernel=escape(kernel), initrd=escape(initrd),
           append=escape(append), hv=hv, kvmhide=kvmhide, cpu=cpu,
           qemu=escape(a.qemu), serial=serial, ctype="file" if a.serial_log else "pty",
           qcmd=qcmd)


def main():
    p = argparse.ArgumentParser(description="Write a libvirt domain XML for our QEMU + VMBus.")
    p.add_argument("--name", default="vmbus-guest")
    p.add_argument("--guest", help="build/guests/GUEST: take its vmlinux and initrd.gz")
    p.add_argument("--kernel", help="kernel (vmlinux for PVH boot, or a bzImage)")
    p.add_argument("--initrd", help="initramfs")
    p.add_argument("--append", default="", help="kernel command line (added to the default)")
    p.add_argument("--scenario", help="append qtest/guest/scenarios to the initrd and run this one")
    p.add_argument("--initrd-out", help="where the scenario initrd goes (default: next to -o)")
    p.add_argument("--accel", choices=["tcg", "kvm"], default="tcg")
    p.add_argument("--qemu", default=DEFAULT_QEMU, help="the <emulator> (default: our build)")
    p.add_argument("--devices", default="auto",
                   help="VMBus devices: auto (what the build has), none, or a comma list")
    p.add_argument("--hv-sock-path", help="host directory for hv-sock's AF_UNIX sockets")
    p.add_argument("--qemu-arg", action="append", default=[],
                   help="one more QEMU argument for <qemu:commandline> (repeatable)")
    p.add_argument("--serial-log", help="serial console to this file (default: a pty)")
    p.add_argument("--smp", type=int, default=1)
    p.add_argument("--mem", type=int, default=512, help="MiB")
    p.add_argument("-o", "--output", help="write here (default: stdout)")
    a = p.parse_args()

    a.qemu = os.path.abspath(a.qemu)
    if not os.access(a.qemu, os.X_OK):
        raise SystemExit("libvirt-domain: no QEMU at %s (run 'make qemu')" % a.qemu)
    kernel, initrd = a.kernel, a.initrd
    if a.guest:
        gdir = os.path.join(ROOT, "build", "guests", a.guest)
        kernel = kernel or os.path.join(gdir, "vmlinux")
        initrd = initrd or os.path.join(gdir, "initrd.gz")
    if not kernel or not initrd:
        raise SystemExit("libvirt-domain: give --guest KIND or --kernel and --initrd")
    for f in (kernel, initrd):
        if not os.path.exists(f):
            raise SystemExit("libvirt-domain: missing %s (run 'make guests')" % f)
    kernel, initrd = os.path.abspath(kernel), os.path.abspath(initrd)
    append = "console=ttyS0 panic=-1"
    if a.scenario:
        sys.path.insert(0, os.path.join(ROOT, "scripts"))
        runner = __import__("guest-run")
        outdir = os.path.dirname(os.path.abspath(a.initrd_out or a.output or "x"))
        import tempfile
        with tempfile.TemporaryDirectory(dir=outdir) as tmp:
            built = runner.scenario_initrd(initrd, tmp)
            dest = os.path.abspath(a.initrd_out or os.path.join(outdir, a.name + "-initrd.gz"))
            os.replace(built, dest)
        initrd = dest
        append += " vmbus.scenario=" + a.scenario
    if a.append:
        append += " " + a.append
    devices = pick_devices(a.devices, a.qemu)
    if a.hv_sock_path and "hv-sock" not in devices:
        devices.append("hv-sock")
    xml = domain_xml(a, kernel, initrd, append, devices)
    if a.output:
        with open(a.output, "w") as f:
            f.write(xml)
    else:
        sys.stdout.write(xml)


if __name__ == "__main__":
    main()
