#!/usr/bin/env bash
# `npm run test:asan`: builds the addon with AddressSanitizer + UndefinedBehaviorSanitizer into
# build-asan/ and runs the tests that exercise native code against that build.
#
# Node itself is not instrumented, so the ASan runtime must be the first library loaded
# (LD_PRELOAD); lib/core/native.ts loads the addon named by MOBILENET_NATIVE_PATH instead of
# build/Release. Leak detection is off because Node does not free everything at exit by design;
# use-after-free, overflows and UB still abort the run. Child processes (the serve CLI, workers)
# inherit the environment and so also run the sanitized addon.
# The engine's C++ unit tests (test/native) are built in the same tree, sanitized, and run first,
# with leak detection on. The parity and precision sweeps run on a reduced α×ρ grid
# (MOBILENET_TEST_GRID=reduced, test/helpers/grid.ts) to fit in CI's time.
set -euo pipefail
cd "$(dirname "$0")/.."

TESTS=(engine executor spec-native weights-engine workers server server-shutdown attack-input jpeg-stage
  parity variants precision profile onnx-export batch lifetime cli-commands)
# ASAN_TESTS="profile precision" runs only those suites (after the C++ unit tests).
[ -n "${ASAN_TESTS:-}" ] && read -r -a TESTS <<<"$ASAN_TESTS"
LOG=${ASAN_LOG:-build-asan/asan-test.log}

npx cmake-js compile --out build-asan --CDMOBILENET_SANITIZE=ON --CDMOBILENET_TESTS=ON
npx tsc -p tsconfig.json

ADDON=build-asan/Release/mobilenet_native.node
# Not grep -q: it stops reading early, ldd can die of SIGPIPE, and pipefail then reads that as a miss.
if ! ldd "$ADDON" | grep libasan >/dev/null; then
  echo "asan-test: $ADDON is not linked against libasan (was it built with -DMOBILENET_SANITIZE=ON?)" >&2
  exit 1
fi

specs=()
for t in "${TESTS[@]}"; do
  [ -f "dist/test/$t.test.js" ] && specs+=("dist/test/$t.test.js")
done

ASAN_COMMON="halt_on_error=1:abort_on_error=1:detect_stack_use_after_return=0:strict_init_order=1:check_initialization_order=1:allocator_may_return_null=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"

echo "asan-test: C++ unit tests (ctest, sanitized, leak detection on)"
status=0
ASAN_OPTIONS="detect_leaks=1:$ASAN_COMMON" ctest --test-dir build-asan --output-on-failure --no-tests=error 2>&1 | tee "$LOG" || status=$?

export MOBILENET_NATIVE_PATH="$PWD/$ADDON"
export LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
export ASAN_OPTIONS="detect_leaks=0:$ASAN_COMMON"
export MOBILENET_TEST_GRID=reduced

npx mocha --no-config --timeout 600000 --reporter dot "${specs[@]}" 2>&1 | tee -a "$LOG" || status=$?
# A report from a child process does not always fail the parent's test, so read the log as well.
if grep -qE "ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer" "$LOG"; then
  echo "asan-test: sanitizer reports found in $LOG" >&2
  exit 1
fi
exit $status
