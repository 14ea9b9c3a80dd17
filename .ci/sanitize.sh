#!/usr/bin/env bash
# Sanitizer run: builds the addon and the C++ kernel tests with ASan + UBSan
# (cmake-js, LAYERWISE_SANITIZE=ON, into build-asan/), runs the kernel tests,
# then the native mocha suites against that addon inside an ASan-preloaded Node.
# Exits non-zero on any failure or sanitizer report, and ends with
#   "  N passing" / "  N failing"
# in mocha's format (mocha's own counts plus one per kernel test, canary and
# crash), so .ci/run's count_mocha can read this log like any mocha log.
#
# SANITIZE_SKIP_BUILD=1 reuses an existing build-asan/ (for local iteration).
set -uo pipefail
cd "$(dirname "$0")/.."
logs=$(mktemp -d)
passed=0
failed=0
started=$SECONDS

step() { echo; echo "==> $*"; }
finish() {
  echo
  echo "sanitize: $((SECONDS - started)) s, logs in $logs"
  echo "  $passed passing"
  echo "  $failed failing"
  [ "$failed" -eq 0 ]
  exit
}
# A sanitizer report anywhere in a log fails the run even if the process that
# printed it exited 0 (a child whose status was ignored, a report on a thread).
has_report() { grep -Eq 'ERROR: (Address|Leak|UndefinedBehavior)Sanitizer|runtime error: |Sanitizer:DEADLYSIGNAL' "$1"; }

# Node is not linked against ASan, so the runtime must be loaded first, before
# libc, or the instrumented addon aborts with "ASan runtime does not come
# first". ASAN_OPTIONS=verify_asan_link_order=0 only hides that check: ASan
# then fails to map its shadow memory under Node. Preloading works; the UBSan
# runtime needs no preload (libubsan is a plain dependency of the addon).
libasan=$(g++ -print-file-name=libasan.so)
if [ ! -e "$libasan" ]; then
  echo "sanitize: no libasan.so from g++ -print-file-name ($libasan)"; failed=$((failed + 1)); finish
fi
# detect_leaks=0 for Node: V8 and Node leave allocations behind at exit by
# design, so LeakSanitizer would report them on every run. The kernel tests
# below are plain C++ programs and run with leak checking on.
node_asan="detect_leaks=0:halt_on_error=1:abort_on_error=0:print_summary=1"
kernel_asan="detect_leaks=1:halt_on_error=1:print_summary=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"

if [ "${SANITIZE_SKIP_BUILD:-}" != 1 ] || [ ! -e build-asan/Release/layerwise.node ]; then
  step "cmake-js build with LAYERWISE_SANITIZE=ON into build-asan"
  # Through npm: it exports the npm config (nodedir) cmake-js needs offline.
  if ! npm run build:cmake -- --out build-asan --CDLAYERWISE_SANITIZE=ON >"$logs/build.log" 2>&1; then
    tail -40 "$logs/build.log"; echo "sanitize: build failed"; failed=$((failed + 1)); finish
  fi
fi
# (ldd into a variable: `ldd | grep -q` fails under pipefail when grep exits early.)
linked=$(ldd build-asan/Release/layerwise.node 2>&1)
if ! grep -q libasan <<<"$linked"; then
  echo "sanitize: build-asan/Release/layerwise.node is not linked against ASan"; failed=$((failed + 1)); finish
fi

step "canaries: a deliberate heap overflow and signed overflow must be reported inside Node"
# Proves the preload and options work here, so a clean run below means clean
# code, not a sanitizer that never ran.
cat >"$logs/canary-asan.c" <<'EOF'
#include <stdlib.h>
__attribute__((constructor)) static void canary(void) {
  volatile char *p = malloc(8);
  p[8] = 1;
  free((void *)p);
}
EOF
cat >"$logs/canary-ubsan.c" <<'EOF'
#include <limits.h>
__attribute__((constructor)) static void canary(void) {
  volatile int big = INT_MAX;
  volatile int sum = big + 1;
  (void)sum;
}
EOF
for kind in asan ubsan; do
  flag=$([ $kind = asan ] && echo address || echo undefined)
  if ! gcc -shared -fPIC -fsanitize=$flag -o "$logs/canary-$kind.so" "$logs/canary-$kind.c" 2>"$logs/canary-$kind.build.log"; then
    cat "$logs/canary-$kind.build.log"; echo "FAIL canary $kind: does not compile"; failed=$((failed + 1)); continue
  fi
  LD_PRELOAD="$libasan" ASAN_OPTIONS="$node_asan" \
    node -e "try { process.dlopen({ exports: {} }, '$logs/canary-$kind.so') } catch {}" >"$logs/canary-$kind.log" 2>&1
  status=$?
  if [ $status -ne 0 ] && has_report "$logs/canary-$kind.log"; then
    passed=$((passed + 1)); echo "ok   canary $kind (reported, exit $status)"
  else
    failed=$((failed + 1)); echo "FAIL canary $kind: no report (exit $status)"; cat "$logs/canary-$kind.log"
  fi
done

step "C++ kernel tests (ASan + UBSan + LeakSanitizer)"
for t in build-asan/*_test; do
  [ -x "$t" ] || continue
  name=$(basename "$t")
  t0=$SECONDS
  ASAN_OPTIONS="$kernel_asan" "$t" >"$logs/$name.log" 2>&1
  status=$?
  if [ $status -eq 0 ] && ! has_report "$logs/$name.log"; then
    passed=$((passed + 1)); echo "ok   $t ($((SECONDS - t0)) s)"
  else
    failed=$((failed + 1)); echo "FAIL $t (exit $status)"; grep -E -A30 'Sanitizer|runtime error' "$logs/$name.log" | head -60 || tail -30 "$logs/$name.log"
  fi
done

step "native mocha suites on the sanitized addon"
# Everything `mocha --grep native` runs (conformance [native], native vs js,
# hostile arguments, fuzz, memory, workers, loading) except the Fashion-MNIST
# heartbeat test: it asserts wall-clock event-loop lag under 50 ms, which an
# ASan build (several times slower) misses by design.
grep_native='^(?!Fashion-MNIST sample \[native\] the CNN trains).*native'
LD_PRELOAD="$libasan" ASAN_OPTIONS="$node_asan" LAYERWISE_ADDON=build-asan/Release/layerwise.node \
  npx mocha --grep "$grep_native" 2>&1 | tee "$logs/mocha.log"
status=${PIPESTATUS[0]}
p=$(grep -Eo '^ +[0-9]+ passing' "$logs/mocha.log" | tail -1 | grep -Eo '[0-9]+' || true)
f=$(grep -Eo '^ +[0-9]+ failing' "$logs/mocha.log" | tail -1 | grep -Eo '[0-9]+' || true)
passed=$((passed + ${p:-0}))
failed=$((failed + ${f:-0}))
if has_report "$logs/mocha.log"; then
  echo "sanitize: sanitizer report in the mocha run (see above)"; failed=$((failed + 1))
elif [ "$status" -ne 0 ] && [ "${f:-0}" -eq 0 ]; then
  # Killed by a signal or an abort before mocha could print its summary.
  echo "sanitize: mocha exited with $status without a failing count"; failed=$((failed + 1))
fi

finish
