#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Run ninja with its output in a log file and show how far along it is:
# on a terminal one updating line ("[ 812/1577] 51% 3m12s"), otherwise a
# line every 10 % (CI logs stay short).  On failure: the end of the log,
# where it is, and what to do.  Exit status is ninja's.
#
#   ninja-progress.py --log FILE --what "QEMU" [--hint TEXT] -- ninja ARGS...
import argparse
import os
import re
import subprocess
import sys
import time

STATUS = re.compile(r"^\[(\d+)/(\d+)\] ")


def fmt(sec):
    sec = int(sec)
    return "%dm%02ds" % (sec // 60, sec % 60) if sec >= 60 else "%ds" % sec


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--log", required=True)
    p.add_argument("--what", default="build")
    p.add_argument("--hint", default="")
    p.add_argument("cmd", nargs=argparse.REMAINDER)
    a = p.parse_args()
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    if not cmd:
        p.error("no command")
    tty = sys.stdout.isatty() and os.environ.get("TERM") != "dumb"
    env = dict(os.environ, NINJA_STATUS="[%f/%t] ")
    t0 = time.time()
    last_pct = -1
    shown = False
    done = total = 0
    with open(a.log, "w") as log:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
        for raw in proc.stdout:
            log.write(raw.decode("utf-8", "replace"))
            m = STATUS.match(raw.decode("utf-8", "replace"))
            if not m:
                continue
            done, total = int(m.group(1)), int(m.group(2))
            pct = 100 * done // max(total, 1)
            if tty:
                sys.stdout.write("\r  %s: [%*d/%d] %3d%% %s " % (a.what, len(str(total)), done,
                                                            total, pct, fmt(time.time() - t0)))
                sys.stdout.flush()
                shown = True
            elif pct // 10 != last_pct // 10 and total > 20:
                print("  %s: %d%% (%d/%d steps, %s)" % (a.what, pct, done, total,
                                                       fmt(time.time() - t0)), flush=True)
            last_pct = pct
        rc = proc.wait()
    if shown:
        sys.stdout.write("\n")
    if rc != 0:
        with open(a.log, errors="replace") as f:
            tail = f.readlines()[-30:]
        sys.stdout.write("".join(tail))
        print("%s failed after %s at step %d/%d; full log: %s" % (a.what, fmt(time.time() - t0),
                                                                  done, total, a.log))
        if a.hint:
            print(a.hint)
    elif total:
        print("  %s: %d steps in %s" % (a.what, total, fmt(time.time() - t0)))
    return rc


if __name__ == "__main__":
    sys.exit(main())
