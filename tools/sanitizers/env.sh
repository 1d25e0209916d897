# Runtime options of the sanitizer builds (source it before running their binaries or
# ctest; tools/sanitizers/run.sh does). docs/fuzzing.md, "Sanitizer builds", says why.
#  - every report is fatal: ASan and TSan halt, UBSan prints a stack and halts (the code
#    is also built with -fno-sanitize-recover=all);
#  - LeakSanitizer runs at every exit, the daemon's too (its SIGTERM drain exits 0, so a
#    leak fails the test that stopped it); suppressions list third-party code only.
_hlscache_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0:check_initialization_order=1:strict_init_order=1:detect_odr_violation=2"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export LSAN_OPTIONS="suppressions=$_hlscache_root/tools/sanitizers/lsan.supp:print_suppressions=0"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$_hlscache_root/tools/sanitizers/tsan.supp"
unset _hlscache_root
