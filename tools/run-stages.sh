#!/usr/bin/env bash
# Run each named make target as a stage, report each result, and end with "N passed, N failed" (and
# ", N skipped" when a stage could not run here: it writes its reason to $K2_STAGE_SKIPPED).
set -u
passed=0
failed=0
skipped=0
failed_names=()
skipped_names=()
K2_STAGE_SKIPPED=$(mktemp)
export K2_STAGE_SKIPPED
trap 'rm -f "${K2_STAGE_SKIPPED}"' EXIT
for stage in "$@"; do
    echo "=== stage ${stage}"
    start=${SECONDS}
    : > "${K2_STAGE_SKIPPED}"
    if make --no-print-directory "${stage}"; then
        if [ -s "${K2_STAGE_SKIPPED}" ]; then
            skipped=$((skipped + 1))
            skipped_names+=("${stage}")
            echo "=== stage ${stage}: SKIPPED ($(head -n 1 "${K2_STAGE_SKIPPED}"))"
        else
            passed=$((passed + 1))
            echo "=== stage ${stage}: passed ($((SECONDS - start)) s)"
        fi
    else
        failed=$((failed + 1))
        failed_names+=("${stage}")
        echo "=== stage ${stage}: FAILED ($((SECONDS - start)) s)"
    fi
done
[ "${skipped}" -eq 0 ] || echo "skipped stages: ${skipped_names[*]}"
[ "${failed}" -eq 0 ] || echo "failed stages: ${failed_names[*]}"
if [ "${skipped}" -eq 0 ]; then
    echo "${passed} passed, ${failed} failed"
else
    echo "${passed} passed, ${failed} failed, ${skipped} skipped"
fi
[ "${failed}" -eq 0 ]
