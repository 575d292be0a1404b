#!/usr/bin/env bash
# cronflux push -> real InfluxDB 1.6.7 -> /query (epoch=ns): every point comes back equal.
#  - a table of line-protocol cases (types by SHOW FIELD KEYS, escapes, unicode, big ints,
#    tiny/huge floats, booleans in every spelling, timestamps in ns/us/ms/s)
#  - the same for --format json
#  - a bad line is named by its number, the good lines still go in, exit 65
#  - every case of the shared parse.json corpus (InfluxDB 1.6.7's own reading is the truth)
#  - a cronflux_job point for each push run
. "$(dirname "$0")/../lib/common.sh"

start_influxd rt || { not_ok "influxd starts"; finish; }
ok "influxd starts"

# push_to DB STATE NAME [push args...] < input
push_to() {
    local db=$1 state=$2 name=$3
    shift 3
    INFLUXDB_URL=$INFLUX_URL INFLUXDB_DATABASE=$db CRONFLUX_STATE=$state cf "$name" push "$@"
}

# ---------------------------------------------------------------------------------------
# 1. line protocol, ns (the default precision)
cat >"$T/lp_ns.lp" <<'LP'
# comment lines and blank lines are skipped

t_float a=1.5,b=-0.25,c=1e10,d=.5,e=1.,f=-1.5E-3,g=0,h=123456789012345678901234567890 1700000000000000001
t_int n=42i,neg=-7i,max=9223372036854775807i,min=-9223372036854775808i,zero=0i 1700000000000000002
t_extreme tiny=5e-324,small=2.2250738585072014e-308,huge=1.7976931348623157e+308,third=0.3333333333333333,pi=3.141592653589793,neg0=-0.0 1700000000000000003
t_bool a=t,b=T,c=true,d=True,e=TRUE,f=f,g=F,h=false,i=False,j=FALSE 1700000000000000004
t_str q="a \"quoted\" word",b="back\\slash",bs="ends with \\",c="comma, and = eq",e="",u="Grüße 東京 😀" 1700000000000000005
t_tags,a\ b=c\ d,e\,f=g\,h,i\=j=k\=l,uni=Zürich f=1i 1700000000000000006
t\ meas\,x f=1i 1700000000000000007
t_fkey a\ b=1i,c\,d=2i,e\=f=3i 1700000000000000008
température,ville=Paris valeur=21.5 1700000000000000009
t_order,z=1,a=2,m=3 f=1i 1700000000000000010
t_series f=1i 1700000000000000011
t_series f=2i 1700000000000000012
t_old f=1i -1000000000
t_mixed i=1i,f=1,s="1",b=true 1700000000000000013
t_now f=1i
LP
cat >"$T/lp_ns.json" <<'JSON'
[
 {"name": "floats in every form", "measurement": "t_float", "time": 1700000000000000001,
  "fields": {"a": ["float", 1.5], "b": ["float", -0.25], "c": ["float", 1e10], "d": ["float", 0.5],
             "e": ["float", 1.0], "f": ["float", -0.0015], "g": ["float", 0.0],
             "h": ["float", 1.2345678901234568e+29]}},
 {"name": "integers incl. int64 min/max", "measurement": "t_int", "time": 1700000000000000002,
  "fields": {"n": ["integer", 42], "neg": ["integer", -7], "max": ["integer", 9223372036854775807],
             "min": ["integer", -9223372036854775808], "zero": ["integer", 0]}},
 {"name": "tiny/huge floats, -0", "measurement": "t_extreme", "time": 1700000000000000003,
  "fields": {"tiny": ["float", 5e-324], "small": ["float", 2.2250738585072014e-308],
             "huge": ["float", 1.7976931348623157e+308], "third": ["float", 0.3333333333333333],
             "pi": ["float", 3.141592653589793], "neg0": ["float", -0.0]}},
 {"name": "booleans in every spelling", "measurement": "t_bool", "time": 1700000000000000004,
  "fields": {"a": ["boolean", true], "b": ["boolean", true], "c": ["boolean", true],
             "d": ["boolean", true], "e": ["boolean", true], "f": ["boolean", false],
             "g": ["boolean", false], "h": ["boolean", false], "i": ["boolean", false],
             "j": ["boolean", false]}},
 {"name": "strings: quotes, backslashes, commas, empty, unicode", "measurement": "t_str",
  "time": 1700000000000000005,
  "fields": {"q": ["string", "a \"quoted\" word"], "b": ["string", "back\\slash"],
             "bs": ["string", "ends with \\"], "c": ["string", "comma, and = eq"],
             "e": ["string", ""], "u": ["string", "Grüße 東京 😀"]}},
 {"name": "tags with spaces, commas, equals, unicode", "measurement": "t_tags",
  "tags": {"a b": "c d", "e,f": "g,h", "i=j": "k=l", "uni": "Zürich"},
  "time": 1700000000000000006, "fields": {"f": ["integer", 1]}},
 {"name": "measurement with space and comma", "measurement": "t meas,x",
  "time": 1700000000000000007, "fields": {"f": ["integer", 1]}},
 {"name": "field keys with space, comma, equals", "measurement": "t_fkey",
  "time": 1700000000000000008,
  "fields": {"a b": ["integer", 1], "c,d": ["integer", 2], "e=f": ["integer", 3]}},
 {"name": "unicode measurement and tag", "measurement": "température", "tags": {"ville": "Paris"},
  "time": 1700000000000000009, "fields": {"valeur": ["float", 21.5]}},
 {"name": "unsorted tags", "measurement": "t_order", "tags": {"z": "1", "a": "2", "m": "3"},
  "time": 1700000000000000010, "fields": {"f": ["integer", 1]}},
 {"name": "series point 1", "measurement": "t_series", "time": 1700000000000000011,
  "fields": {"f": ["integer", 1]}},
 {"name": "series point 2", "measurement": "t_series", "time": 1700000000000000012,
  "fields": {"f": ["integer", 2]}},
 {"name": "timestamp before 1970", "measurement": "t_old", "time": -1000000000,
  "fields": {"f": ["integer", 1]}},
 {"name": "one point, four types", "measurement": "t_mixed", "time": 1700000000000000013,
  "fields": {"i": ["integer", 1], "f": ["float", 1.0], "s": ["string", "1"], "b": ["boolean", true]}},
 {"name": "no timestamp: now", "measurement": "t_now", "time": null, "fields": {"f": ["integer", 1]}}
]
JSON
t0=$(now_ns)
push_to lp_ns "$T/lp_ns.db" push-lp-ns <"$T/lp_ns.lp"
t1=$(now_ns)
check_rc "push --format lp (default precision ns): exit 0" 0
influx_expect lp_ns "$T/lp_ns.json" --now "$t0" "$t1"

# A newline inside a string field is part of the point (InfluxDB 1.x keeps it).
printf 't_strnl s="line one\nline two",n=1i 1700000000000000014\nt_after f=1i 1700000000000000015\n' >"$T/nl.lp"
cat >"$T/nl.json" <<'JSON'
[
 {"name": "string field holding a newline", "measurement": "t_strnl", "time": 1700000000000000014,
  "fields": {"s": ["string", "line one\nline two"], "n": ["integer", 1]}},
 {"name": "the line after it", "measurement": "t_after", "time": 1700000000000000015,
  "fields": {"f": ["integer", 1]}}
]
JSON
push_to lp_nl "$T/lp_nl.db" push-lp-newline --format lp <"$T/nl.lp"
check_rc "push: a newline inside a quoted string field: exit 0" 0
influx_expect lp_nl "$T/nl.json"

# ---------------------------------------------------------------------------------------
# 2. --precision us / ms / s (and explicit ns)
for p in ns us ms s; do
    case $p in
        ns) ts=1700000000123456789 want=1700000000123456789 ;;
        us) ts=1700000000123456 want=1700000000123456000 ;;
        ms) ts=1700000000123 want=1700000000123000000 ;;
        s) ts=1700000000 want=1700000000000000000 ;;
    esac
    printf 'prec_%s,p=%s v=1i,f=0.5 %s\nprec_%s,p=%s v=2i,f=1.5 %s\n' \
        "$p" "$p" "$ts" "$p" "$p" "$((ts + 1))" >"$T/prec_$p.lp"
    case $p in
        ns) want2=$((want + 1)) ;;
        us) want2=$((want + 1000)) ;;
        ms) want2=$((want + 1000000)) ;;
        s) want2=$((want + 1000000000)) ;;
    esac
    cat >"$T/prec_$p.json" <<JSON
[
 {"name": "--precision $p point 1", "measurement": "prec_$p", "tags": {"p": "$p"}, "time": $want,
  "fields": {"v": ["integer", 1], "f": ["float", 0.5]}},
 {"name": "--precision $p point 2", "measurement": "prec_$p", "tags": {"p": "$p"}, "time": $want2,
  "fields": {"v": ["integer", 2], "f": ["float", 1.5]}}
]
JSON
    push_to "prec_$p" "$T/prec_$p.db" "push-precision-$p" --format lp --precision "$p" <"$T/prec_$p.lp"
    check_rc "push --precision $p: exit 0" 0
    influx_expect "prec_$p" "$T/prec_$p.json"
done

# ---------------------------------------------------------------------------------------
# 3. --format json
cat >"$T/in.jsonl" <<'JL'
{"measurement":"j_types","tags":{"host":"a b,c=d","uni":"東京"},"fields":{"f":1.5,"n":3,"s":"te\"xt\\ with\nnewline, comma = eq","b":true,"nb":false,"whole":2.0,"exp":1e5,"big":9223372036854775807,"neg":-9223372036854775808,"tiny":5e-324,"huge":1.7976931348623157e308,"third":0.3333333333333333},"time":1700000000000000000}
{"measurement":"j_esc","tags":{"k":"v"},"fields":{"emoji":"\ud83d\ude00","ctl":"tab\there","uni":"\u00e9t\u00e9"},"time":1700000000000000001}
{"measurement":"j meas,x=y","tags":{"t k":"v,=w"},"fields":{"f k":1},"time":1700000000000000002}
{"measurement":"j_nltag","tags":{"t":"a\nb"},"fields":{"v":1},"time":1700000000000000003}
{"measurement":"j_now","fields":{"v":1}}
JL
cat >"$T/in_jsonl.json" <<'JSON'
[
 {"name": "json: every type, big ints, tiny/huge floats, 2.0 stays float", "measurement": "j_types",
  "tags": {"host": "a b,c=d", "uni": "東京"}, "time": 1700000000000000000,
  "fields": {"f": ["float", 1.5], "n": ["integer", 3], "s": ["string", "te\"xt\\ with\nnewline, comma = eq"],
             "b": ["boolean", true], "nb": ["boolean", false], "whole": ["float", 2.0],
             "exp": ["float", 100000.0], "big": ["integer", 9223372036854775807],
             "neg": ["integer", -9223372036854775808], "tiny": ["float", 5e-324],
             "huge": ["float", 1.7976931348623157e308], "third": ["float", 0.3333333333333333]}},
 {"name": "json: \\u escapes, surrogate pairs, tab", "measurement": "j_esc", "tags": {"k": "v"},
  "time": 1700000000000000001,
  "fields": {"emoji": ["string", "😀"], "ctl": ["string", "tab\there"], "uni": ["string", "été"]}},
 {"name": "json: measurement, tag and field key needing escapes", "measurement": "j meas,x=y",
  "tags": {"t k": "v,=w"}, "time": 1700000000000000002, "fields": {"f k": ["integer", 1]}},
 {"name": "json: newline in a tag value becomes a space", "measurement": "j_nltag",
  "tags": {"t": "a b"}, "time": 1700000000000000003, "fields": {"v": ["integer", 1]}},
 {"name": "json: no time -> now", "measurement": "j_now", "time": null,
  "fields": {"v": ["integer", 1]}}
]
JSON
t0=$(now_ns)
push_to json "$T/json.db" push-json --format json <"$T/in.jsonl"
t1=$(now_ns)
check_rc "push --format json: exit 0" 0
influx_expect json "$T/in_jsonl.json" --now "$t0" "$t1"

# what export prints, push reads back: the same points in another database
CRONFLUX_STATE=$T/json.db cf export-json export
check_rc "export of the JSON-pushed points: exit 0" 0
grep -v '^cronflux_job' "$CF_OUT" >"$T/json-export.lp"
push_to json_again "$T/json_again.db" push-exported --format lp <"$T/json-export.lp"
check_rc "cronflux export | cronflux push: exit 0" 0
influx_expect json_again "$T/in_jsonl.json" --now "$t0" "$t1"

# ---------------------------------------------------------------------------------------
# 4. bad lines: named by number, the rest stored, exit 65
{
    echo '# line 1 is a comment'
    echo 'bad_lp f=1i 1700000000000000002'
    echo ''
    echo 'bad_lp f=1i 1700000000000000004'
    echo 'bad_lp f=1i 1700000000000000005'
    echo 'bad_lp f=1i 1700000000000000006'
    echo 'bad_lp f=oops 1700000000000000007'
    echo 'bad_lp f=1i 1700000000000000008'
    echo 'bad_lp f=1i 1700000000000000009'
    echo 'bad_lp f=1i 1700000000000000010'
} >"$T/bad.lp"
push_to bad "$T/bad.db" push-bad-lp --format lp <"$T/bad.lp"
check_rc "push with a bad line 7: exit 65" 65
check "stderr names 'line 7:'" grep -q 'line 7:' "$CF_ERR"
check "stderr names no other line" bash -c "! grep -oE 'line [0-9]+:' '$CF_ERR' | grep -v 'line 7:' | grep -q ."
check_eq "the 7 good lines are stored" "$(influx_count bad bad_lp f)" 7
check_eq "the bad line is not stored" \
    "$(influx_scalar bad 'SELECT count(f) FROM bad_lp WHERE time = 1700000000000000007')" 0

{
    echo '{"measurement":"bad_json","fields":{"v":1},"time":1}'
    echo '{"measurement":"bad_json","fields":{"v":2},"time":2}'
    echo '{"measurement":"bad_json","fields":{"v":3},'
    echo '{"measurement":"bad_json","fields":{"v":4},"time":4}'
    echo '{"measurement":"bad_json","fields":{},"time":5}'
    echo '{"measurement":"bad_json","fields":{"v":6},"time":6}'
    echo '{"measurement":"bad_json","fields":{"v":[1,2]},"time":7}'
    echo '{"measurement":"bad_json","fields":{"v":8},"time":8}'
} >"$T/bad.jsonl"
push_to badjson "$T/badjson.db" push-bad-json --format json <"$T/bad.jsonl"
check_rc "push --format json with bad lines 3, 5, 7: exit 65" 65
check "stderr names 'line 3:' (truncated JSON)" grep -q 'line 3:' "$CF_ERR"
check "stderr names 'line 5:' (no field)" grep -q 'line 5:' "$CF_ERR"
check "stderr names 'line 7:' (array value)" grep -q 'line 7:' "$CF_ERR"
check_eq "the 5 good JSON lines are stored" "$(influx_count badjson bad_json v)" 5
check_eq "they are the right ones (sum 1+2+4+6+8)" "$(influx_sum badjson bad_json v)" 21

# ---------------------------------------------------------------------------------------
# 5. a cronflux_job point for each push run (they may go with the next run: flush first)
for n in 3 5; do
    for ((i = 1; i <= n; i++)); do echo "jobpt v=${i}i $((1700000000000000000 + i))"; done >"$T/job$n.lp"
    push_to jobs "$T/jobs.db" "push-job-$n" <"$T/job$n.lp"
    check_rc "push of $n points: exit 0" 0
done
push_to jobs "$T/jobs.db" push-job-bad <"$T/bad.lp"
INFLUXDB_URL=$INFLUX_URL INFLUXDB_DATABASE=jobs CRONFLUX_STATE=$T/jobs.db cf flush-jobs flush
check_rc "flush after the push runs: exit 0" 0
"$PY" "$STORE_CHECK" dump "$INFLUX_URL" jobs | grep '"measurement": "cronflux_job"' >"$T/jobpts.jsonl"
check "cronflux_job points exist" test -s "$T/jobpts.jsonl"
check "a cronflux_job point of the 3-point push (points=3, status ok, exit_code 0)" \
    "$PY" -c '
import json,sys
for l in open(sys.argv[1]):
    p = json.loads(l); f = p["fields"]
    if f.get("points", [0, -1])[1] == 3 and f.get("exit_code", [0, -1])[1] == 0 and p["tags"].get("status") == "ok" and p["tags"].get("job"):
        sys.exit(0)
sys.exit(1)' "$T/jobpts.jsonl"
check "a cronflux_job point of the 5-point push" \
    "$PY" -c '
import json,sys
sys.exit(0 if any(json.loads(l)["fields"].get("points", [0, -1])[1] == 5 for l in open(sys.argv[1])) else 1)' "$T/jobpts.jsonl"
check "a cronflux_job point of the bad push with exit_code 65" \
    "$PY" -c '
import json,sys
sys.exit(0 if any(json.loads(l)["fields"].get("exit_code", [0, -1])[1] == 65 for l in open(sys.argv[1])) else 1)' "$T/jobpts.jsonl"
check "cronflux_job fields are integers (duration_ms, points, spooled, sent, dead_letters, exit_code)" \
    "$PY" -c '
import json,sys
want = {"duration_ms", "points", "spooled", "sent", "dead_letters", "exit_code"}
for l in open(sys.argv[1]):
    f = json.loads(l)["fields"]
    if not want <= set(f) or any(f[k][0] != "integer" for k in want):
        print("# cronflux_job fields:", f); sys.exit(1)
sys.exit(0)' "$T/jobpts.jsonl"

# ---------------------------------------------------------------------------------------
# 6. the shared corpus: InfluxDB 1.6.7's reading of every line is the truth
fx=$FIXTURES/lineprotocol/parse.json
if [ -r "$fx" ]; then
    mkdir -p "$T/fx"
    while IFS= read -r line; do
        case "$line" in
            PASS\ *) ok "${line#PASS }" ;;
            FAIL\ *) not_ok "${line#FAIL }" ;;
            SKIP\ *) echo "# skip ${line#SKIP }" ;;
            *) not_ok "store_check fixtures: $line" ;;
        esac
    done < <("$PY" "$STORE_CHECK" fixtures "$INFLUX_URL" "$fx" "$T/fx" "$BIN/cronflux" 2>&1)
    keep_output fixtures "$T"/fx/out/*
else
    not_ok "fixtures readable at $fx"
fi

check "influxd still alive" kill -0 "$INFLUX_PID"
finish
