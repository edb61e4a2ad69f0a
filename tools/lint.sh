#!/usr/bin/env bash
# The house style, checked (issue #12): clang-format clean, no source line over 100 columns, no
# path of a developer's machine, no function over 100 lines outside tests, and clang-tidy
# (.clang-tidy: checks that catch real defects) clean on the codec and the server (codec/src and
# server/src: the server's services, sessions, loop, profile, plant and application).
#   tools/lint.sh [BUILD_DIR]        BUILD_DIR holds compile_commands.json (default build/dev)
#   LINT_TIDY=all tools/lint.sh       clang-tidy on every source of the tree (a release check:
#                                     about 10 minutes on 2 cores, too long for every CI run)
#   LINT_TIDY=off tools/lint.sh       the fast checks only
# Fix formatting with: git ls-files '*.cpp' '*.hpp' | xargs clang-format -i
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build/dev}"
mapfile -t sources < <(git ls-files '*.cpp' '*.hpp' '*.h' | grep -v '^fuzz/corpus/')
status=0

echo "lint: clang-format on ${#sources[@]} files"
if ! clang-format --dry-run --Werror "${sources[@]}" 2>/tmp/protos7-lint-format.txt; then
  grep -E '^[^ ].*: (warning|error):' /tmp/protos7-lint-format.txt | cut -d: -f1 | sort -u |
    sed 's/^/  not clang-format clean: /'
  status=1
fi

echo "lint: lines over 100 columns"
if awk 'length > 100 { print "  " FILENAME ":" FNR ": " length " columns"; bad = 1 } END { exit bad }' \
  "${sources[@]}"; then :; else status=1; fi

echo "lint: paths of a developer's machine"
if git grep -n -E '/(work|home|root)/[A-Za-z]' -- ':!fuzz/corpus' ':!tools/lint.sh'; then status=1; fi
# A tracked symbolic link to an absolute path (a developer's node_modules, say) breaks a clone.
while read -r mode _ _ path; do
  [[ "$mode" == 120000 && "$(git cat-file -p "HEAD:$path" 2>/dev/null)" == /* ]] &&
    { echo "  $path: a tracked symbolic link to an absolute path"; status=1; }
done < <(git ls-files -s)

echo "lint: functions over 100 lines (tests excluded)"
python3 tools/function_length.py 100 codec server conformance tools fuzz bench || status=1

case "${LINT_TIDY:-core}" in
  off) tidy=() ;;
  all) mapfile -t tidy < <(git ls-files '*.cpp' | grep -v -e '/test/' -e '^fuzz/' -e '^bench/') ;;
  *) mapfile -t tidy < <(git ls-files 'codec/src/*.cpp' 'server/src/*.cpp') ;;
esac
if ((${#tidy[@]} > 0)); then
  [[ -f "$build/compile_commands.json" ]] || { echo "lint: no $build/compile_commands.json" >&2; exit 2; }
  echo "lint: clang-tidy on ${#tidy[@]} files"
  # The compile commands are gcc's: clang-tidy does not know some of its warning options.
  out="$(printf '%s\n' "${tidy[@]}" |
    xargs -P "$(nproc)" -n 4 clang-tidy -p "$build" --quiet --extra-arg=-Wno-unknown-warning-option \
      2>/dev/null | grep -E ': (warning|error):' | sort -u || true)"
  if [[ -n "$out" ]]; then
    printf '%s\n' "$out" | sed 's/^/  /'
    status=1
  fi
fi
((status == 0)) && echo "lint: clean"
exit "$status"
