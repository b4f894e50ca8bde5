#!/usr/bin/env bash
# Plants one known bug (test/chaos/planted-bugs/<name>.patch) in a scratch copy of this tree, builds
# it, and runs the tests its patch names (`# run:` lines): each must FAIL, or the bug went unseen.
# The working tree is never touched. Reports land in .chaos/planted/<name>/ (the tests' output and
# the chaos reports of the scratch run).
#
#   scripts/plant-bug.sh                 # lists the bugs
#   scripts/plant-bug.sh cp949           # plants one, runs its tests
#   CHAOS=long scripts/plant-bug.sh fence-owner
#
# Exit status: 0 when every named test failed (the bug was caught), 1 when one passed, 2 when the
# patch no longer applies (the code it plants into changed: update the patch).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bugs="$root/test/chaos/planted-bugs"
name=${1:-}
if [[ -z "$name" || ! -f "$bugs/$name.patch" ]]; then
  echo "usage: scripts/plant-bug.sh <name>; the bugs:" >&2
  for patch in "$bugs"/*.patch; do printf '  %-22s %s\n' "$(basename "$patch" .patch)" "$(head -1 "$patch" | sed 's/^# //')" >&2; done
  exit 2
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/plant-$name.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
(cd "$root" && git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf -) | tar -xf - -C "$scratch"
ln -s "$root/node_modules" "$scratch/node_modules"
if ! patch -p1 --forward --batch --no-backup-if-mismatch -d "$scratch" <"$bugs/$name.patch" >/dev/null; then
  echo "$name: the patch no longer applies; the code it plants into has changed: update $bugs/$name.patch" >&2
  exit 2
fi
(cd "$scratch" && npm run -s build)

out="$root/.chaos/planted/$name"
rm -rf "$out" && mkdir -p "$out"
missed=0
while IFS= read -r command; do
  echo "── $name: $command"
  if (cd "$scratch" && eval "$command") >"$out/run.log" 2>&1; then
    echo "   MISSED: the tests passed with the bug planted"
    missed=1
  else
    echo "   caught:"
    grep -E '^\s+[0-9]+\) |AssertionError|^\s+[0-9]+ (passing|failing)' "$out/run.log" | head -12 | sed 's/^/   /'
  fi
  cat "$out/run.log" >>"$out/all.log"
done < <(sed -n 's/^# run: //p' "$bugs/$name.patch")
[[ -d "$scratch/.chaos" ]] && cp -r "$scratch/.chaos/." "$out/" 2>/dev/null || true
exit "$missed"
