#!/usr/bin/env bash
# cronflux push of hostile line protocol and JSON -> real InfluxDB 1.6.7, exact counts:
#  - an unbalanced quote never swallows the lines after it (issue 10.1): 1,000 lines with
#    line 2 `s="oops`: 999 stored, 1 reported bad, the summary true; a string that spans a
#    raw newline and parses still goes in as one point
#  - a line of only NUL bytes is a bad line, counted (issue 10.12)
#  - invalid UTF-8 is refused by push, lp and json, naming the line (issue 10.6)
#  - celsius=oops says what is wrong; seconds or milliseconds read as ns are warned about
#    once, naming the line (issue 13)
#  - a tag and a field of the same key are refused, naming both (issue 14)
. "$(dirname "$0")/../lib/common.sh"

start_influxd hostile || { not_ok "influxd starts"; finish; }
ok "influxd starts"

# push_to DB NAME [push args...] < input
push_to() {
    local db=$1 name=$2
    shift 2
    INFLUXDB_URL=$INFLUX_URL INFLUXDB_DATABASE=$db CRONFLUX_STATE=$T/$db.db cf "$name" push "$@"
}
# bad_lines: the line numbers stderr names, one a line
bad_lines() { grep -oE '^cronflux: error: line [0-9]+:' "$CF_ERR" | grep -oE '[0-9]+' | paste -sd, -; }

# ---------------------------------------------------------------------------------------
# 1. one unbalanced quote on line 2 of 1,000
"$PY" -c '
for i in range(1, 1001):
    print("quote,n=%d s=\"oops %d" % (i, i) if i == 2 else "quote,n=%d v=%di %d" % (i, i, i))
' >"$T/quote.lp"
push_to quote push-quote <"$T/quote.lp"
check_rc "1,000 lines, line 2 with an unbalanced quote: exit 65" 65
check_eq "stderr names line 2 and only it" "$(bad_lines)" 2
check "line 2's reason is the unbalanced quote" grep -q 'line 2: .*unbalanced quotes' "$CF_ERR"
check "the summary is exact" grep -qE '1 of 1000 lines (was|were) bad; the 999 good points went in' "$CF_ERR"
check_eq "999 points stored in InfluxDB" "$(influx_count quote quote v)" 999
check_eq "nothing of line 2 stored" "$(influx_count quote quote s)" 0

# unbalanced quotes later on, and strings with raw newlines that parse, in one input
{
    echo 'span v=1i 1'
    printf 'span s="two\nlines",v=2i 2\n'          # lines 2-3: one point
    echo 'span s="open 4'                            # line 4: bad
    echo 'span v=5i 5'
    printf 'span s="x\n\n",v=6i 6\n'                # lines 6-8: one point
    echo 'span v="a" b 9'                            # line 9: bad (text after the value)
    echo 'span v=10i 10'
    echo 'span s="open again 11'                     # line 11: bad, at the end of the input
} >"$T/span.lp"
push_to span push-span <"$T/span.lp"
check_rc "spanning strings and unbalanced quotes: exit 65" 65
check_eq "stderr names lines 4, 9 and 11" "$(bad_lines)" 4,9,11
check "the summary is exact" grep -q '3 of 11 lines were bad; the 5 good points went in' "$CF_ERR"
check_eq "5 points stored" "$(influx_count span span v)" 5
check_eq "the string with a newline comes back whole" \
    "$(influx_q span 'SELECT s FROM span WHERE time = 2' | "$PY" -c 'import json,sys; print(repr(json.load(sys.stdin)["results"][0]["series"][0]["values"][0][1]))')" \
    "'two\\nlines'"

# ---------------------------------------------------------------------------------------
# 2. a line of only NUL bytes
printf 'nul v=1i 1\nnul v=2i 2\n\0\0\0\nnul v=4i 4\n \0\t\nnul v=6i 6\n' >"$T/nul.lp"
push_to nul push-nul <"$T/nul.lp"
check_rc "lines of NUL bytes: exit 65" 65
check_eq "stderr names lines 3 and 5" "$(bad_lines)" 3,5
check "the reason says NUL" grep -q 'line 3: .*NUL' "$CF_ERR"
check "the summary counts them" grep -q '2 of 6 lines were bad; the 4 good points went in' "$CF_ERR"
check_eq "4 points stored" "$(influx_count nul nul v)" 4

# ---------------------------------------------------------------------------------------
# 3. invalid UTF-8: refused, named; everything else stored and given back as given
printf 'utf v=1i,s="Grüße 😀" 1\nutf,t=a\xffb v=2i 2\nutf v=3i,s="\xc0\xaf" 3\nm\xed\xa0\x80 v=4i 4\nutf v=5i 5\n' >"$T/utf.lp"
push_to utf push-utf8-lp <"$T/utf.lp"
check_rc "push --format lp with invalid UTF-8: exit 65" 65
check_eq "stderr names lines 2, 3 and 4" "$(bad_lines)" 2,3,4
check "line 2: the tag value" grep -q 'line 2: tag "t": value is not valid UTF-8' "$CF_ERR"
check "line 3: the string value" grep -q 'line 3: field "s": string value is not valid UTF-8' "$CF_ERR"
check "line 4: the measurement" grep -q 'line 4: measurement .*not valid UTF-8' "$CF_ERR"
check_eq "2 points stored" "$(influx_count utf utf v)" 2
check_eq "valid UTF-8 comes back as given" \
    "$(influx_q utf 'SELECT s FROM utf WHERE time = 1' | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["results"][0]["series"][0]["values"][0][1])')" \
    "Grüße 😀"
check_eq "no U+FFFD stored" "$(influx_q utf 'SHOW TAG VALUES FROM utf WITH KEY = "t"' | grep -c $'\xef\xbf\xbd')" 0

printf '{"measurement":"utfj","fields":{"v":1},"time":1}\n{"measurement":"utfj","fields":{"s":"a\xffb"}}\n{"measurement":"utfj","tags":{"t":"\xc3"},"fields":{"v":3}}\n{"measurement":"utfj","fields":{"v":4},"time":4}\n' >"$T/utf.jsonl"
push_to utfj push-utf8-json --format json <"$T/utf.jsonl"
check_rc "push --format json with invalid UTF-8: exit 65" 65
check_eq "stderr names lines 2 and 3" "$(bad_lines)" 2,3
check_eq "2 points stored" "$(influx_count utfj utfj v)" 2

# ---------------------------------------------------------------------------------------
# 4. output that tells (issue 13): a field value of no type; timestamps in another precision
printf 'room_temperature,room=cellar celsius=12.5 1\nroom_temperature,room=attic celsius=oops 2\n' >"$T/oops.lp"
push_to oops push-oops <"$T/oops.lp"
check_rc "celsius=oops: exit 65" 65
check "the error says what the value is and may be" grep -q \
    "line 2: column 37: invalid field value 'oops' (a number, true/false, or a quoted string)" "$CF_ERR"
check "it is not called a boolean" bash -c "! grep -q boolean '$CF_ERR'"
check_eq "the good line is stored" "$(influx_count oops room_temperature celsius)" 1

now_s=$(date +%s)
printf 'secs v=1i %s\nsecs v=2i %s\nsecs v=3i %s\n' "$((now_s - 2))" "$((now_s - 1))" "$now_s" >"$T/secs.lp"
push_to secs push-seconds-no-precision <"$T/secs.lp"
check_rc "seconds without --precision: stored as given (exit 0)" 0
check_eq "one warning line" "$(grep -c 'warn:' "$CF_ERR")" 1
check "it names line 1 and the precision that fits" \
    grep -q 'warn: line 1: the timestamp read as ns is 1970-.*read as s it would be .*is --precision s missing?' "$CF_ERR"
printf 'msecs v=1i %s000\n' "$now_s" >"$T/ms.lp"
push_to secs push-ms-no-precision <"$T/ms.lp"
check "milliseconds without --precision: a warning naming ms" \
    grep -q 'warn: line 1: .*read as ms it would be .*is --precision ms missing?' "$CF_ERR"
push_to secs push-seconds-with-precision --precision s <"$T/secs.lp"
check_rc "seconds with --precision s: exit 0" 0
check "no warning" bash -c "! grep -q 'warn:' '$CF_ERR'"
check_eq "stored in the right year" \
    "$(influx_scalar secs "SELECT count(v) FROM secs WHERE time > now() - 1h")" 3
printf '{"measurement":"jsecs","fields":{"v":1},"time":%s}\n' "$now_s" >"$T/secs.jsonl"
push_to secs push-json-seconds --format json <"$T/secs.jsonl"
check "JSON seconds: a warning naming the line and the unit" \
    grep -q 'warn: line 1: "time" is read as nanoseconds .*in s it would be' "$CF_ERR"

# ---------------------------------------------------------------------------------------
# 5. a tag and a field of the same key (InfluxDB 3 refuses the point; issue 14)
printf 'same v=1i 1\nsame,host=a host=1i,v=2i 2\nsame,host=b v=3i 3\n' >"$T/same.lp"
push_to same push-tag-equals-field <"$T/same.lp"
check_rc "push --format lp, a tag key equal to a field key: exit 65" 65
check_eq "stderr names line 2 only" "$(bad_lines)" 2
check "the error names both" \
    grep -q 'line 2: tag "host" and field "host" have the same key; InfluxDB 3 refuses' "$CF_ERR"
check_eq "the other 2 points stored" "$(influx_count same same v)" 2
printf '{"measurement":"samej","tags":{"k":"x"},"fields":{"k":1},"time":1}\n{"measurement":"samej","fields":{"v":2},"time":2}\n' >"$T/same.jsonl"
push_to same push-tag-equals-field-json --format json <"$T/same.jsonl"
check_rc "push --format json, a tag key equal to a field key: exit 65" 65
check "the error names both" grep -q 'line 1: tag "k" and field "k" have the same key' "$CF_ERR"

check "influxd still alive" kill -0 "$INFLUX_PID"
finish
