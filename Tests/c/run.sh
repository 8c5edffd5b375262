#!/usr/bin/env bash
# run.sh DIR TEST... - runs each C test binary (DIR/TEST), or the script
# Tests/c/TEST.sh where there is one, then prints the total as
# "N passed, N failed" and fails if any test failed or crashed.
dir=$1; shift
passed=0; failed=0; status=0
for t in "$@"; do
    if [ -f "Tests/c/$t.sh" ]; then out=$(bash "Tests/c/$t.sh" 2>&1); rc=$?
    else out=$("$dir/$t" 2>&1); rc=$?; fi
    echo "$out" | grep -E "FAIL|ERROR|runtime error|passed|^memory:|^NOTE|^conformance:" | head -60
    line=$(echo "$out" | grep -E "^$t: [0-9]+ passed, [0-9]+ failed$" | tail -1)
    if [ -z "$line" ] || [ $rc -ne 0 ]; then
        echo "$t: exited with $rc" >&2
        echo "$out" | tail -30 >&2
        status=1
    fi
    p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/'); f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed$/\1/')
    passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
done
echo "total: $passed passed, $failed failed"
[ $failed -eq 0 ] && exit $status || exit 1
