#!/usr/bin/env bash
# test_cli_escape.sh - keys and values are bytes: every byte value survives
# put/get, scan, mget and load, written with \\ \t \n \xHH escapes, and the
# output uses exactly the canonical escapes (so output can be fed back in).
source "${BASH_SOURCE%/*}/lib.sh"

# same FILE1 FILE2 WHAT
same() { cmp -s "$1" "$2" || fail "$3: $(od -c "$1" | head -5) vs $(od -c "$2" | head -5)"; }

# canon B: the canonical escaped form of byte B
canon() {
    local b=$1
    case $b in
    9) printf '\\t' ;;
    10) printf '\\n' ;;
    92) printf '\\\\' ;;
    *) if ((b < 32 || b == 127)); then printf '\\x%02x' "$b"; else printf "\\$(printf %03o "$b")"; fi ;;
    esac
}

# every byte 0..255, canonical and all-\xHH (upper case hex) forms
: >"$T/canon"
hexform=
for b in $(seq 0 255); do
    canon "$b" >>"$T/canon"
    hexform+=$(printf '\\x%02X' "$b")
done
canon_str=$(cat "$T/canon")
{ cat "$T/canon"; echo; } >"$T/canon.nl"

c put bin "$hexform" >/dev/null
c get bin >"$T/out"
same "$T/out" "$T/canon.nl" "every byte via \\xHH: get prints the canonical escapes"
c put bin2 "$canon_str" >/dev/null
c get bin2 >"$T/out"
same "$T/out" "$T/canon.nl" "canonical form round trip"

# the same bytes as a key: it starts with 0x00, so it sorts first
c put "$hexform" k >/dev/null
c scan --limit 1 >"$T/out"
{ cat "$T/canon"; printf '\tk\n'; } >"$T/want"
same "$T/out" "$T/want" "a key of every byte, first in scan order"
c get "$canon_str" >"$T/out"
[[ $(cat "$T/out") == k ]] || fail "get by the canonical key"
c mget "$hexform" 'no\x00such' >"$T/out"
{ cat "$T/canon"; printf '\tk\nno\\x00such\n'; } >"$T/want"
same "$T/out" "$T/want" "mget escapes keys and values"

# tab, newline and backslash inside keys and values
c put 'k\ttab\nnl\\bs' 'v\ttab\nnl\\bs\x7f\x1b' >/dev/null
[[ $(c get 'k\ttab\nnl\\bs') == 'v\ttab\nnl\\bs\x7f\x1b' ]] || fail "tab/newline/backslash value"
[[ $(c scan --prefix 'k\t') == 'k\ttab\nnl\\bs'$'\t''v\ttab\nnl\\bs\x7f\x1b' ]] ||
    fail "scan --prefix with an escaped tab"
# hex escapes of printable bytes decode; output prints them plainly
c put '\x41\x62c' '\x7e\x20x' >/dev/null
[[ $(c get Abc) == '~ x' ]] || fail "\\xHH of printable bytes"
# bytes >= 0x80 pass through both ways
c put 'clé' 'naïve ☃' >/dev/null
[[ $(c get 'cl\xc3\xa9') == 'naïve ☃' ]] || fail "UTF-8 passes through"
# empty value
c put empty '' >/dev/null
[[ $(c get empty | od -An -c | tr -d ' ') == '\n' ]] || fail "empty value prints an empty line"

# binary keys sort by bytes; scan bounds and prefixes take escapes
c put '\x00' z0 >/dev/null
c put '\x00\x01' z01 >/dev/null
c put '\xff' zff >/dev/null
c put '\xff\xfe' zfffe >/dev/null
# (the every-byte key "\x00\x01\x02..." sorts between "\x00\x01" and "\x00\x02")
[[ $(c scan --to '\x00\x02' | cut -f2) == $'z0\nz01\nk' ]] || fail "scan --to \\x00\\x02"
[[ $(c scan --prefix '\x00' --from '\x00\x01' | cut -f2) == $'z01\nk' ]] ||
    fail "scan --prefix/--from with \\x00"
[[ $(c scan --from '\xff' | cut -f2) == $'zff\nzfffe' ]] || fail "scan --from \\xff"
[[ $(c scan --reverse --limit 1 | cut -f2) == zfffe ]] || fail "last key is \\xff\\xfe"

# scan output is load input: copy the db through scan | load, same bytes out
c scan >"$T/dump"
CIRRUS_DB=$T/db2 c load "$T/dump" >/dev/null
CIRRUS_DB=$T/db2 c scan >"$T/dump2"
same "$T/dump2" "$T/dump" "scan | load | scan is the identity"
[[ $(CIRRUS_DB=$T/db2 c head) == 1 ]] || fail "the copy is one commit"
# load accepts non-canonical escapes too and prints canonical ones
printf '\\x6b\\x31\t\\x00\\X\n' >"$T/bad" # \X is not an escape
set +e
c load "$T/bad" >/dev/null 2>"$T/err"
rc=$?
set -e
[[ $rc == 2 ]] && grep -qF "line 1: bad escape '\\X' in the value" "$T/err" || fail "load: bad escape"
printf '\\x6b\\x31\t\\x00\\x5C\\t\n' | c load - >/dev/null
[[ $(c get k1) == '\x00\\\t' ]] || fail "load decodes \\xHH and prints canonical"

echo "ok"
