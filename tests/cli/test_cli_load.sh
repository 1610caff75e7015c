#!/usr/bin/env bash
# test_cli_load.sh - load: KEY<TAB>VALUE lines from a file or stdin become ONE
# atomic commit; a malformed line anywhere commits nothing; an empty input
# commits nothing and prints the head.
source "${BASH_SOURCE%/*}/lib.sh"


# a file whose last line lacks its newline
printf 'a\t1\nb\t2\nc\t3' >"$T/f1"
# (a committing process may add a compaction commit after its own: seqs are
# compared with the head before each load, not counted)
[[ $(c load "$T/f1") == 1 ]] || fail "load FILE prints seq 1"
[[ $(c mget a b c) == $'a\t1\nb\t2\nc\t3' ]] || fail "load FILE: every line"
# stdin, as "-" and by default; the last put of a key wins
before=$(c head)
printf 'd\t4\nd\t44\n' | c load - >"$T/out"
[[ $(cat "$T/out") == $((before + 1)) ]] || fail "load - prints the next seq"
[[ $(c get d) == 44 ]] || fail "load: the last line of a key wins"
before=$(c head)
printf 'e\t5\n' | c load >"$T/out"
[[ $(cat "$T/out") == $((before + 1)) ]] || fail "load (stdin) prints the next seq"
# the value is everything after the first TAB, more TABs included
printf 'f\tx\ty\n' | c load >/dev/null
[[ $(c get f) == 'x\ty' ]] || fail "load: a raw TAB in the value"
# empty values and keys that need escapes
printf 'g\t\nh\\th\tv\\n\n' | c load >/dev/null
[[ $(c mget g 'h\th') == $'g\t\nh\\th\tv\\n' ]] || fail "load: empty value, escapes"
head=$(settled_head)
[[ $(c log | grep -c $'\twrite\t') == 5 ]] || fail "5 write commits so far"

# empty input: nothing committed, the head printed
[[ $(c load </dev/null) == "$head" ]] || fail "empty stdin prints the head"
: >"$T/empty"
[[ $(c load "$T/empty") == "$head" ]] || fail "empty file prints the head"
[[ $(writes_after "$head") == 0 ]] || fail "empty load committed"

# a malformed line in the middle: exit 2, the line named, nothing committed
for bad in 'no tab' '' 'x\q	y' 'k	bad \x4'; do
    {
        printf 'm1\tone\nm2\ttwo\n'
        printf '%s\n' "$bad"
        printf 'm4\tfour\nm5\tfive\n'
    } >"$T/bad"
    [[ $(rc_of load "$T/bad") == 2 ]] || fail "load with bad line '$bad': exit 2"
    grep -q "line 3" "$T/err" || fail "load: the bad line's number"
    grep -q '^usage: cirrus' "$T/err" || fail "load: usage line"
    [[ ! -s $T/out ]] || fail "load: no seq printed"
    [[ $(writes_after "$head") == 0 ]] || fail "load of a bad file committed"
    [[ $(c mget m1 m2 m4 m5) == $'m1\nm2\nm4\nm5' ]] || fail "load of a bad file wrote keys"
done
# ... also as the very last line without a newline
printf 'm1\tone\nlast' | c load 2>"$T/err" && fail "bad last line accepted"
grep -q "line 2" "$T/err" || fail "bad last line: number"

# a missing file: exit 3, the file named
[[ $(rc_of load "$T/nope.tsv") == 3 ]] || fail "missing file: exit 3"
grep -q "^cirrus: load: .*nope.tsv" "$T/err" || fail "missing file named"

# a big batch is one commit: one log entry, every key present
seq 1 5000 | awk '{ printf "big/%05d\tvalue-%d-%s\n", $1, $1, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" }' >"$T/big"
seq=$(c load "$T/big")
[[ $seq == $((head + 1)) ]] || fail "big load: seq $seq"
[[ $(c log --from "$seq" | grep -c $'\twrite\t') == 1 ]] || fail "big load: one write entry"
[[ $(c scan --prefix big/ | wc -l) == 5000 ]] || fail "big load: 5000 keys"
c scan --prefix big/ | cmp -s - "$T/big" || fail "big load: scan equals the input"
[[ $(c scan --prefix big/ --at $((seq - 1)) | wc -l) == 0 ]] || fail "big load: nothing before"

echo "ok"
