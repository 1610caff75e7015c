#!/usr/bin/env bash
# test_cli_version.sh - `cirrus --version` and `cirrus version` print the
# version defined in include/cirrus.h; help lists `version`; the man page
# (docs/cirrus.1.in) describes every command that `cirrus help` lists.
source "${BASH_SOURCE%/*}/lib.sh"
src=${CIRRUS_SOURCE_DIR:?set by ctest}
ver=$(awk '/^#define CIRRUS_VERSION_(MAJOR|MINOR|PATCH) / { v = v (v == "" ? "" : ".") $3 }
           END { print v }' "$src/include/cirrus.h")
[[ $ver =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "no version in cirrus.h: '$ver'"
[[ $(rc_of --version) == 0 && $(cat "$T/out") == "cirrus $ver" ]] || fail "--version: $(cat "$T/out")"
[[ $(rc_of version) == 0 && $(cat "$T/out") == "cirrus $ver" ]] || fail "version"
[[ $(rc_of --db "$T/x" --version) == 0 && $(cat "$T/out") == "cirrus $ver" ]] ||
    fail "--version after a global option"
[[ ! -e $T/x ]] || fail "--version created a db"
[[ $(rc_of version extra) == 2 ]] || fail "version with an argument: exit 2"
[[ $(rc_of version --help) == 0 ]] && grep -q "usage: .* version" "$T/out" || fail "version --help"
c help | grep -q '^  version' || fail "help does not list version"
# every command of `cirrus help` has its entry in the man page
mapfile -t cmds < <(c help | sed -n 's/^  \([a-z][a-z-]*\).*/\1/p')
((${#cmds[@]} > 20)) || fail "help lists only ${#cmds[@]} commands"
for cmd in "${cmds[@]}"; do
    grep -q "^\.B\(I\)\? $(sed 's/-/\\\\-/g' <<<"$cmd")\b" "$src/docs/cirrus.1.in" ||
        fail "the man page does not describe '$cmd'"
done
echo "ok"
