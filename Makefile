# SPDX-License-Identifier: GPL-2.0-or-later
#
# Front door.  The two commands users need:
#   make run     build what is missing and boot a Debian guest on our VMBus
#   make check   run every test ring; ends with 'N passed, N failed, N skipped'
# See README.md for the rest.

ROOT := $(CURDIR)
comma := ,
GUEST ?= trixie
SMP ?= 1
PY := /usr/bin/python3
QEMU := build/qemu-system-x86_64
RESULTS := build/results

# ccache hits across clones in other folders (QEMU builds with -g).
export CCACHE_BASEDIR := $(ROOT)
export CCACHE_NOHASHDIR := 1

.PHONY: all run check check-unit check-fuzz fuzz qemu-san qemu-upstream check-qtest check-guest check-guest-long check-libvirt docs bench qemu qemu-only \
        core guests guest-trixie guest-bookworm guest-bullseye guest-trixie-bpo bootstrap configure clean distclean help

all: qemu core

help:
	@sed -n 's/^#   //p' Makefile

bootstrap:
	@scripts/bootstrap.sh

# ./configure is idempotent and cheap when nothing changed; running it on
# every build keeps the overlay (new files, patches) in step.
configure: bootstrap
	@./configure --no-bootstrap $(CONFIGURE_ARGS)

qemu: configure
	@$(MAKE) --no-print-directory qemu-only

qemu-only:
	@echo "make: building QEMU in build/qemu-build (cold: ~1600 steps, a few minutes on 2 cores; seconds with ccache)"
	@$(PY) scripts/ninja-progress.py --log build/qemu-build.log --what "QEMU build" \
	    --hint "make: fix the error above (after a QEMU source change: ./configure), then run 'make qemu' again" \
	    -- ninja -C build/qemu-build qemu-system-x86_64
	@cmp -s build/qemu-build/qemu-system-x86_64 $(QEMU) || { cp build/qemu-build/qemu-system-x86_64 $(QEMU).tmp && mv -f $(QEMU).tmp $(QEMU); }
	@echo "make: $(QEMU) ready"

# QEMU with ASan + UBSan in build/qemu-build-san (a full build of its own).
qemu-san: bootstrap
	@./configure --no-bootstrap --sanitize $(CONFIGURE_ARGS)
	@$(PY) scripts/ninja-progress.py --log build/qemu-build-san.log --what "QEMU build (ASan+UBSan)" \
	    --hint "make: fix the error above, then run 'make qemu-san' again" \
	    -- ninja -C build/qemu-build-san qemu-system-x86_64
	@# outside its build dir, so it finds its firmware (see qemu-only)
	@cmp -s build/qemu-build-san/qemu-system-x86_64 build/qemu-system-x86_64-san || \
	  { cp build/qemu-build-san/qemu-system-x86_64 build/qemu-system-x86_64-san.tmp && \
	    mv -f build/qemu-system-x86_64-san.tmp build/qemu-system-x86_64-san; }

# Cross-check build: QEMU's own VMBus (vmbus.c) with our TCG Hyper-V, as
# build/qemu-system-x86_64-upstream.  Not part of make check.
qemu-upstream: bootstrap
	@./configure --no-bootstrap --qemu-vmbus $(CONFIGURE_ARGS)
	@$(PY) scripts/ninja-progress.py --log build/qemu-build-upstream.log --what "QEMU build (QEMU's own VMBus)" \
	    --hint "make: fix the error above, then run 'make qemu-upstream' again" \
	    -- ninja -C build/qemu-build-upstream qemu-system-x86_64
	@cmp -s build/qemu-build-upstream/qemu-system-x86_64 build/qemu-system-x86_64-upstream || \
	  { cp build/qemu-build-upstream/qemu-system-x86_64 build/qemu-system-x86_64-upstream.tmp && \
	    mv -f build/qemu-system-x86_64-upstream.tmp build/qemu-system-x86_64-upstream; }

# The QEMU-free core: library, unit tests, benchmarks.
# SANITIZE=1: the core and its unit tests with ASan + UBSan (build/core-san),
# and the qtests against build/qemu-build-san (make qemu-san).
CORE := $(if $(SANITIZE),build/core-san,build/core)
core: bootstrap
	@[ -f $(CORE)/build.ninja ] || meson setup $(CORE) . $(if $(SANITIZE),-Db_sanitize=address$(comma)undefined -Db_lundef=false) >/dev/null
	@ninja -C $(CORE) > $(CORE).log 2>&1 || { tail -30 $(CORE).log; echo "make: core build failed; log: $(CORE).log"; exit 1; }

# Explicit targets: make does not apply pattern rules to .PHONY targets.
guest-trixie guest-bookworm guest-bullseye guest-trixie-bpo: bootstrap
	@scripts/guest-image.sh $(@:guest-%=%) build/guests/$(@:guest-%=%)

guests: guest-trixie guest-bookworm guest-bullseye guest-trixie-bpo

run: qemu guest-$(GUEST)
	@echo "make run: booting the $(GUEST) guest (SMP=$(SMP)) under $$($(PY) -c 'import sys; sys.path.insert(0, "scripts"); m = __import__("guest-run"); print("KVM" if m.kvm_has_hyperv() else "TCG")')"
	@$(PY) scripts/guest-run.py --guest $(GUEST) --smp $(SMP) --scenario info $(RUN_ARGS) -- \
	    $$(cat scripts/run-devices.txt | grep -v '^#')

check-unit: core
	@mkdir -p $(RESULTS)
	@echo "== unit tests"
	@$(if $(SANITIZE),ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1) \
	  $(PY) scripts/check.py unit $(CORE) $(RESULTS)/unit.txt

QBUILD := $(if $(SANITIZE),build/qemu-build-san,build/qemu-build)
check-qtest: $(if $(SANITIZE),qemu-san,qemu)
	@mkdir -p $(RESULTS)
	@echo "== qtests$(if $(SANITIZE), (ASan+UBSan QEMU))"
	@ninja -C $(QBUILD) $$(cd qtest && ls vmbus-*-qtest.c | sed 's|^\(.*\)\.c$$|tests/qtest/vmbus/\1|') > build/qtest-build.log 2>&1 || \
	  { tail -30 build/qtest-build.log; echo "make: qtest build failed"; exit 1; }
	@$(if $(SANITIZE),QTEST_QEMU=build/qemu-system-x86_64-san VMBUS_QEMU_SANITIZED=1 \
	    ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1) \
	  $(PY) scripts/check.py qtest $(QBUILD) $(RESULTS)/qtest.txt

check-guest: qemu guests
	@mkdir -p $(RESULTS)
	@echo "== guest tests"
	@$(PY) scripts/check.py guest qtest/guest/tests.list $(RESULTS)/guest.txt

check-guest-long: qemu guests
	@mkdir -p $(RESULTS)
	@echo "== long guest tests"
	@$(PY) scripts/check.py guest qtest/guest/tests.list $(RESULTS)/guest.txt
	@$(PY) scripts/check.py guest qtest/guest/tests-long.list $(RESULTS)/guest-long.txt
	@$(PY) scripts/check.py summary $(RESULTS)/guest.txt $(RESULTS)/guest-long.txt

# Fuzzers (libFuzzer, clang, ASan+UBSan): FUZZ_SECONDS per target.
FUZZ_SECONDS ?= 60
fuzz: bootstrap
	@scripts/fuzz.sh $(FUZZ_SECONDS)

check-fuzz: bootstrap
	@mkdir -p $(RESULTS)
	@echo "== fuzz (short pass, from the committed seeds)"
	@FUZZ_FRESH=1 scripts/fuzz.sh 3 > build/fuzz-check.log 2>&1; \
	  grep -E '^(PASS|FAIL|SKIP) ' build/fuzz-check.log | tee $(RESULTS)/fuzz.txt | sed 's/^/  /'; \
	  [ -s $(RESULTS)/fuzz.txt ] || { echo "FAIL fuzz no result (log: build/fuzz-check.log)" | tee $(RESULTS)/fuzz.txt; }

check-libvirt: qemu guest-trixie
	@mkdir -p $(RESULTS)
	@rm -f $(RESULTS)/libvirt.txt
	@echo "== libvirt test"
	@scripts/check-libvirt.sh $(RESULTS)/libvirt.txt

docs:
	@scripts/build-docs.sh

# Every ring runs even when an earlier one failed; the summary decides.
check:
	@rm -rf $(RESULTS)
	@$(MAKE) --no-print-directory check-unit || true
	@$(MAKE) --no-print-directory check-fuzz || true
	@$(MAKE) --no-print-directory check-qtest || true
	@$(MAKE) --no-print-directory check-guest || true
	@$(MAKE) --no-print-directory check-libvirt || true
	@echo "== summary"
	@$(PY) scripts/check.py summary $(RESULTS)/unit.txt $(RESULTS)/fuzz.txt $(RESULTS)/qtest.txt $(RESULTS)/guest.txt $(RESULTS)/libvirt.txt

bench: core qemu guest-trixie
	@for b in build/core/tests/bench/bench-*; do \
	  if [ -f $$b ] && [ -x $$b ]; then echo "== $$(basename $$b)"; $$b || exit 1; fi; \
	done
	@echo "== hv_sock vs TCP (guest under TCG)"
	@scripts/bench-hvsock.sh $(GUEST)
	@echo "== Hyper-V reference clocks: TSC page vs TIME_REF_COUNT (guest under TCG)"
	@scripts/bench-hvclock.sh $(GUEST)

clean:
	rm -rf build/core build/results build/logs
	-ninja -C build/qemu-build clean >/dev/null 2>&1

distclean:
	rm -rf build
