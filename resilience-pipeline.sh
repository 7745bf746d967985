#!/usr/bin/env bash
# The weekly resilience pipeline: run a suite of chaoskit scenarios one after another, keep
# every report as an artifact, compare each scenario with the previous run, and fail when any
# scenario fails its SLOs, regresses, or could not revert a fault. See docs/ci.md.
#
#   ./resilience-pipeline.sh [--suite FILE] [--artifacts DIR] [--previous DIR]
#                            [--time-scale F] [--only NAME]... [--seed N]
#
# Exit code: the worst of the scenarios', ranked 4 (a fault could not be reverted) > 5 (internal
# error) > 2 (invalid input) > 3 (aborted) > 1 (SLO missed, score below minimum, or regression) > 0.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
chaos=(node "$here/bin/chaos.mjs")

suite="$here/scenarios/suites/weekly.yaml"
artifacts="${CHAOSKIT_ARTIFACTS:-$PWD/resilience-artifacts}"
previous="${CHAOSKIT_PREVIOUS_RESULTS:-}"
time_scale=1
seed=""
only=()

usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; }
die() { printf 'resilience-pipeline: %s\n' "$1" >&2; exit 2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --suite) suite="${2:?--suite needs a file}"; shift 2 ;;
    --artifacts) artifacts="${2:?--artifacts needs a directory}"; shift 2 ;;
    --previous) previous="${2:?--previous needs a directory}"; shift 2 ;;
    --time-scale) time_scale="${2:?--time-scale needs a number}"; shift 2 ;;
    --only) only+=("${2:?--only needs a scenario name}"); shift 2 ;;
    --seed) seed="${2:?--seed needs a number}"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done

# Whatever happens (a cancelled CI job, a failure in this script), leave nothing applied.
# shellcheck disable=SC2317  # invoked by the traps below
cleanup() {
  local code=$?
  trap - EXIT INT TERM
  "${chaos[@]}" emergency-stop >/dev/null 2>&1 || printf 'resilience-pipeline: emergency-stop reported open faults: run "chaos status"\n' >&2
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[ -f "$suite" ] || die "suite file not found: $suite"
mkdir -p "$artifacts" 2>/dev/null || die "cannot create the artifacts directory $artifacts"
[ -w "$artifacts" ] || die "the artifacts directory $artifacts is not writable"
if [ -n "$previous" ] && [ ! -d "$previous" ]; then
  die "the previous-results directory $previous does not exist (unset CHAOSKIT_PREVIOUS_RESULTS for a first run)"
fi

listing="$("${chaos[@]}" suite list "$suite")" || exit 2
suite_name="$(basename "$suite" .yaml)"

rank() { case "$1" in 4) echo 6 ;; 5) echo 5 ;; 2) echo 4 ;; 3) echo 3 ;; 1) echo 2 ;; 0) echo 0 ;; *) echo 5 ;; esac; }
worst=0
worse() { if [ "$(rank "$1")" -gt "$(rank "$worst")" ]; then worst="$1"; fi; }

names=()
while IFS=$'\t' read -r name scenario env slo min_score; do
  if [ "${#only[@]}" -gt 0 ]; then
    keep=no
    for o in "${only[@]}"; do [ "$o" = "$name" ] && keep=yes; done
    [ "$keep" = yes ] || continue
  fi
  names+=("$name")
  out="$artifacts/$name"
  mkdir -p "$out"
  args=(run "$scenario" --out "$out" --time-scale "$time_scale" --min-score "$min_score" --quiet)
  [ "$env" != "-" ] && args+=(--env "$env")
  [ "$slo" != "-" ] && args+=(--slo "$slo")
  [ -n "$seed" ] && args+=(--seed "$seed")
  printf '== %s\n' "$name"
  set +e
  # Each run's report goes into the job summary after the suite table (job-summary.md), not before it.
  env -u GITHUB_STEP_SUMMARY "${chaos[@]}" "${args[@]}" 2>&1 | tee "$out/run.log"
  code=${PIPESTATUS[0]}
  set -e
  echo "$code" > "$out/exit-code"
  worse "$code"

  if [ -n "$previous" ] && [ -f "$previous/$name/results.json" ] && [ -f "$out/results.json" ]; then
    set +e
    "${chaos[@]}" compare "$previous/$name/results.json" "$out/results.json" --format json > "$out/compare.json" 2> "$out/compare.log"
    ccode=$?
    set -e
    case "$ccode" in
      0) ;;
      1) printf '   regression against %s\n' "$previous/$name"; worse 1 ;;
      *) printf '   could not compare with %s: %s\n' "$previous/$name" "$(head -n 3 "$out/compare.log")"; worse "$ccode" ;;
    esac
  fi
done <<< "$listing"

[ "${#names[@]}" -gt 0 ] || die "no scenario of $suite matched --only ${only[*]}"
"${chaos[@]}" suite index "$artifacts" --suite "$suite_name" --scenarios "${names[@]}" --exit-code "$worst"
printf '\nartifacts: %s (index.html, summary.md, junit.xml); exit %s\n' "$artifacts" "$worst"
# The job summary: the suite table first, each scenario's report collapsed after it, no relative links.
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then cat "$artifacts/job-summary.md" >> "$GITHUB_STEP_SUMMARY"; fi
exit "$worst"
