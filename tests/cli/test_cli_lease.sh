#!/usr/bin/env bash
# test_cli_lease.sh - lease acquire/renew/release/show: one holder at a time,
# the wrong owner refused with exit 1 and the holder on stderr, tokens that
# strictly increase whenever the lease changes hands (release, expiry), and
# bad arguments refused with exit 2.
source "${BASH_SOURCE%/*}/lib.sh"

# field NAME: the value of `NAME: value` in $T/out
field() { sed -n "s/^$1: //p" "$T/out"; }

# no db yet: show has nothing to read (exit 3, nothing created); on a db,
# a lease never acquired: show exits 1
[[ $(rc_of lease show shard-1) == 3 ]] || fail "show on no db: exit 3"
grep -q "no database at" "$T/err" && [[ ! -e $CIRRUS_DB ]] || fail "show on no db created one"
c create >/dev/null
[[ $(rc_of lease show shard-1) == 1 ]] || fail "show of a lease never acquired: exit 1"
grep -q "never acquired" "$T/err" || fail "show: the cause"

# alice acquires; show names her, the token and an expiry about 60 s away
t1=$(c lease acquire shard-1 --owner alice --ttl 60)
[[ $t1 =~ ^[0-9]+$ && $t1 -gt 0 ]] || fail "acquire prints a token: '$t1'"
[[ $(rc_of lease show shard-1) == 0 ]] || fail "show: exit 0"
[[ $(field owner) == alice ]] || fail "show: owner"
[[ $(field token) == "$t1" ]] || fail "show: token"
[[ $(field state) == held ]] || fail "show: state"
now_ms=$(($(date +%s) * 1000))
exp=$(field expires_ms)
((exp > now_ms + 50000 && exp < now_ms + 70000)) || fail "show: expiry $exp not ~60 s from $now_ms"
[[ $(field expires) =~ ^20[0-9][0-9]-.*Z$ ]] || fail "show: expires as RFC 3339"

# bob is refused while alice holds it: exit 1, the holder on stderr
[[ $(rc_of lease acquire shard-1 --owner bob --ttl 60) == 1 ]] || fail "bob acquires a held lease"
[[ ! -s $T/out ]] || fail "refused acquire printed a token"
grep -q "alice" "$T/err" || fail "refused acquire: the holder on stderr"
[[ $(rc_of lease renew shard-1 --owner bob --ttl 60) == 1 ]] || fail "bob renews alice's lease"
grep -q "alice" "$T/err" || fail "refused renew: the holder on stderr"
[[ $(rc_of lease release shard-1 --owner bob) == 1 ]] || fail "bob releases alice's lease"
grep -q "alice" "$T/err" || fail "refused release: the holder on stderr"
c lease show shard-1 >"$T/out"
[[ $(field owner) == alice && $(field token) == "$t1" ]] || fail "refusals changed the lease"

# alice renews (same token, later expiry) and acquires again (a renewal)
sleep 0.01
[[ $(c lease renew shard-1 --owner alice --ttl 120) == "$t1" ]] || fail "renew keeps the token"
c lease show shard-1 >"$T/out"
(($(field expires_ms) > exp)) || fail "renew moved the expiry"
[[ $(c lease acquire shard-1 --owner alice --ttl 60) == "$t1" ]] ||
    fail "acquire by the holder renews (same token)"

# release: free, then bob takes it with a greater token
c lease release shard-1 --owner alice >"$T/out"
[[ ! -s $T/out ]] || fail "release prints nothing"
c lease show shard-1 >"$T/out"
[[ $(field state) == released && -z $(field owner) ]] || fail "show after release"
[[ $(rc_of lease release shard-1 --owner alice) == 1 ]] || fail "release twice: exit 1"
[[ $(rc_of lease renew shard-1 --owner alice --ttl 5) == 1 ]] || fail "renew after release: exit 1"
t2=$(c lease acquire shard-1 --owner bob --ttl 1)
((t2 > t1)) || fail "token after release: $t2 not > $t1"

# expiry: bob's 1 s lease runs out; he can no longer renew; alice takes over
# with a greater token
sleep 1.3
c lease show shard-1 >"$T/out"
[[ $(field state) == expired && $(field owner) == bob ]] || fail "show after expiry"
[[ $(rc_of lease renew shard-1 --owner bob --ttl 5) == 1 ]] || fail "renew after expiry: exit 1"
t3=$(c lease acquire shard-1 --owner alice --ttl 1)
((t3 > t2)) || fail "token after expiry: $t3 not > $t2"
# ... and back to bob after another expiry: never backwards
sleep 1.3
t4=$(c lease acquire shard-1 --owner bob --ttl 30)
((t4 > t3)) || fail "token after the second expiry: $t4 not > $t3"
c lease show shard-1 >"$T/out"
[[ $(field token) == "$t4" && $(field owner) == bob ]] || fail "show after takeover"

# leases are independent of one another
t5=$(c lease acquire shard-2 --owner alice --ttl 30)
[[ $t5 =~ ^[0-9]+$ ]] || fail "a second lease"
c lease show shard-1 >"$T/out"
[[ $(field owner) == bob ]] || fail "shard-2 changed shard-1"

# bad arguments: exit 2, a usage line, the problem named, nothing changed
usage() {
    local text=$1
    shift
    [[ $(rc_of "$@") == 2 ]] || fail "cirrus $*: exit 2 expected"
    [[ ! -s $T/out ]] || fail "cirrus $*: stdout not empty"
    grep -q '^usage: cirrus' "$T/err" || fail "cirrus $*: no usage line"
    grep -qF -- "$text" "$T/err" || fail "cirrus $*: stderr does not name '$text'"
}
usage "missing SUBCOMMAND" lease
usage "missing NAME" lease acquire
usage "unknown subcommand 'grab'" lease grab shard-1 --owner x --ttl 5
usage "needs --owner" lease acquire shard-1 --ttl 5
usage "needs --ttl" lease acquire shard-1 --owner x
usage "needs --ttl" lease renew shard-1 --owner x
usage "needs --owner" lease release shard-1
usage "takes no --ttl" lease release shard-1 --owner x --ttl 5
usage "takes no --owner" lease show shard-1 --owner x
usage "'abc'" lease acquire shard-1 --owner x --ttl abc
usage "'-1'" lease acquire shard-1 --owner x --ttl -1
usage "'1.5'" lease acquire shard-1 --owner x --ttl 1.5
usage "at least 1 second" lease acquire shard-1 --owner x --ttl 0
usage "too large" lease acquire shard-1 --owner x --ttl 99999999999999999
usage "non-empty" lease acquire shard-1 --owner= --ttl 5
usage "more than once" lease acquire shard-1 --owner x --owner y --ttl 5
usage "unexpected argument 'extra'" lease show shard-1 extra
usage "unknown option '--frob'" lease show shard-1 --frob
c lease show shard-1 >"$T/out"
[[ $(field token) == "$t4" && $(field owner) == bob ]] || fail "usage errors changed the lease"
# usage errors touch no db
[[ $(CIRRUS_DB=$T/none rc_of lease acquire x --owner a --ttl 0) == 2 ]] || fail "ttl 0 on a new db"
[[ ! -e $T/none ]] || fail "a usage error created the db"

echo "ok"
