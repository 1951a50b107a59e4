#!/usr/bin/env bash
# Run each named make target as a stage, report each result, and end with "N passed, N failed".
set -u
passed=0
failed=0
failed_names=()
for stage in "$@"; do
    echo "=== stage ${stage}"
    start=${SECONDS}
    if make --no-print-directory "${stage}"; then
        passed=$((passed + 1))
        echo "=== stage ${stage}: passed ($((SECONDS - start)) s)"
    else
        failed=$((failed + 1))
        failed_names+=("${stage}")
        echo "=== stage ${stage}: FAILED ($((SECONDS - start)) s)"
    fi
done
[ "${failed}" -eq 0 ] || echo "failed stages: ${failed_names[*]}"
echo "${passed} passed, ${failed} failed"
[ "${failed}" -eq 0 ]
