#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The test rings of 'make check', each writing one results file:
#   check.py unit    BUILD_CORE  RESULTS   Check unit tests (verbose output parsed)
#   check.py qtest   QEMU_BUILD  RESULTS   our qtests (TAP)
#   check.py guest   LIST        RESULTS   guest scenarios (qtest/guest/tests.list
#                                          and each device's tests.d/NAME.list)
#   check.py summary RESULTS...            'N passed, N failed, N skipped'
# A results file holds lines 'PASS name', 'FAIL name detail' or
# 'SKIP name reason'.
import concurrent.futures
import glob
import os
import re
import shlex
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOGDIR = os.path.join(ROOT, "build", "logs")


def log_path(kind, name):
    d = os.path.join(LOGDIR, kind)
    os.makedirs(d, exist_ok=True)
    return os.path.join(d, re.sub(r"[^A-Za-z0-9_.-]", "_", name) + ".log")


def emit(out, verdict, name, detail=""):
    line = ("%s %s %s" % (verdict, name, detail)).rstrip()
    out.write(line + "\n")
    out.flush()
    print("  " + line, flush=True)


CHECK_TAP = re.compile(r"^(not ok|ok)\s+\d+\s+-\s+[^:]*:[^:]*:([^:]+):\s*(.*)$")


def ring_unit(build, results):
    exes = sorted(glob.glob(os.path.join(build, "tests", "unit", "test-*")))
    exes = [e for e in exes if os.access(e, os.X_OK) and os.path.isfile(e)]
    with open(results, "w") as out:
        if not exes:
            emit(out, "FAIL", "unit", "no unit test executables in %s" % build)
            return
        for exe in exes:
            name = os.path.basename(exe)
            tap = log_path("unit", name + ".tap")
            if os.path.exists(tap):
                os.unlink(tap)
            # Check writes one TAP line per test case to this file.
            env = dict(os.environ, CK_TAP_LOG_FILE_NAME=tap, CK_FORK="yes",
                       CK_DEFAULT_TIMEOUT="120")
            try:
                p = subprocess.run([exe], env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, timeout=900)
                text, rc = p.stdout.decode("utf-8", "replace"), p.returncode
            except subprocess.TimeoutExpired as e:
                text, rc = (e.stdout or b"").decode("utf-8", "replace"), -1
            open(log_path("unit", name), "w").write(text)
            seen = fails = 0
            for line in (open(tap).read().splitlines() if os.path.exists(tap) else []):
                m = CHECK_TAP.match(line)
                if not m:
                    continue
                seen += 1
                ok = m.group(1) == "ok"
                fails += not ok
                emit(out, "PASS" if ok else "FAIL", "unit/%s/%s" % (name, m.group(2)),
                     "" if ok else m.group(3))
            if seen == 0 or (rc != 0 and fails == 0):
                emit(out, "FAIL", "unit/%s" % name,
                     "exit %d, %d results (log: %s)" % (rc, seen, log_path("unit", name)))


TAP = re.compile(r"^(not ok|ok)\s+\d+\s+(\S+)(?:\s+#\s*(SKIP|TODO)\s*(.*))?")


def ring_qtest(qbuild, results):
    qemu = os.environ.get("QTEST_QEMU") or os.path.join(ROOT, "build", "qemu-system-x86_64")
    exes = sorted(glob.glob(os.path.join(qbuild, "tests", "qtest", "vmbus", "vmbus-*-qtest")))
    with open(results, "w") as out:
        if not exes:
            emit(out, "FAIL", "qtest", "no qtest executables built")
            return
        for exe in exes:
            name = os.path.basename(exe)
            env = dict(os.environ, QTEST_QEMU_BINARY=qemu)
            try:
                p = subprocess.run([exe, "--tap", "-k"], env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, timeout=600)
                text = p.stdout.decode("utf-8", "replace")
                rc = p.returncode
            except subprocess.TimeoutExpired as e:
                text = (e.stdout or b"").decode("utf-8", "replace") + "\nTIMEOUT\n"
                rc = -1
            open(log_path("qtest", name), "w").write(text)
            seen = 0
            for line in text.splitlines():
                m = TAP.match(line)
                if not m:
                    continue
                seen += 1
                test = "qtest/%s%s" % (name, m.group(2).replace("/x86_64", "", 1))
                if m.group(3) == "SKIP":
                    emit(out, "SKIP", test, m.group(4))
                elif m.group(1) == "ok":
                    emit(out, "PASS", test)
                else:
                    emit(out, "FAIL", test, "(log: %s)" % log_path("qtest", name))
            if seen == 0 or (rc != 0 and "not ok" not in text):
                emit(out, "FAIL", "qtest/%s" % name, "exit %d (log: %s)" % (rc, log_path("qtest", name)))


def list_files(path):
    """LIST and the per-device lists beside it: tests.list + tests.d/*.list."""
    return [path] + sorted(glob.glob(os.path.splitext(path)[0] + ".d/*.list"))


def parse_list(path):
    """qtest/guest/tests.list: NAME GUEST SMP TIMEOUT SCENARIO [runner args] [-- qemu args]"""
    tests = []
    for line in (l for f in list_files(path) for l in open(f)):
        line = line.split("#", 1)[0].strip() if not line.lstrip().startswith("#") else ""
        if not line:
            continue
        words = shlex.split(line)
        name, guest, smp, timeout, scenario = words[:5]
        tests.append(dict(name=name, guest=guest, smp=smp, timeout=timeout,
                          scenario=scenario, rest=words[5:]))
    return tests


def run_guest(t):
    log = log_path("guest", t["name"])
    cmd = [sys.executable, os.path.join(ROOT, "scripts", "guest-run.py"), "--quiet",
           "--guest", t["guest"], "--smp", t["smp"], "--timeout", t["timeout"],
           "--scenario", t["scenario"], "--log", log] + t["rest"]
    t0 = time.time()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    dt = time.time() - t0
    text = p.stdout.decode("utf-8", "replace").strip().splitlines()
    return t, p.returncode, dt, (text[-1] if text else "")


def ring_guest(listfile, results):
    tests = parse_list(listfile)
    only = os.environ.get("GUEST_TESTS")
    if only:
        tests = [t for t in tests if re.search(only, t["name"])]
    jobs = int(os.environ.get("GUEST_JOBS", "2"))
    with open(results, "w") as out:
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as ex:
            for t, rc, dt, last in ex.map(run_guest, tests):
                name = "guest/%s" % t["name"]
                if rc == 0:
                    emit(out, "PASS", name, "(%.1fs)" % dt)
                elif rc == 2:
                    reason = "guest reported SKIP"
                    for line in open(log_path("guest", t["name"])):
                        if " SKIP " in line and "VMBUS-RESULT" in line:
                            reason = line.split("SKIP", 1)[1].strip() or reason
                    emit(out, "SKIP", name, reason)
                else:
                    emit(out, "FAIL", name, "%s (log: %s)" % (last, log_path("guest", t["name"])))


def summary(files):
    counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    fails, skips = [], []
    for f in files:
        if not os.path.exists(f):
            fails.append("FAIL %s: ring did not run" % os.path.basename(f))
            counts["FAIL"] += 1
            continue
        for line in open(f):
            v = line.split(" ", 1)[0]
            if v in counts:
                counts[v] += 1
                if v == "FAIL":
                    fails.append(line.strip())
                elif v == "SKIP":
                    skips.append(line.strip())
    for s in skips:
        print(s)
    for s in fails:
        print(s)
    print("%d passed, %d failed, %d skipped" % (counts["PASS"], counts["FAIL"], counts["SKIP"]))
    return 1 if counts["FAIL"] or not counts["PASS"] else 0


def main():
    cmd = sys.argv[1]
    if cmd == "unit":
        ring_unit(sys.argv[2], sys.argv[3])
    elif cmd == "qtest":
        ring_qtest(sys.argv[2], sys.argv[3])
    elif cmd == "guest":
        ring_guest(sys.argv[2], sys.argv[3])
    elif cmd == "summary":
        return summary(sys.argv[2:])
    else:
        raise SystemExit("usage: check.py unit|qtest|guest|summary ...")
    return 0


if __name__ == "__main__":
    sys.exit(main())
