#!/usr/bin/env bash
# twitter-stats end to end: the job against the X API stand-in (which checks every OAuth
# 1.0a signature with oauthlib) writing into a real InfluxDB 1.6.7; every scenario's exit
# code and message; secrets never in the job's output, logs or state, DEBUG=1 included.
. "$(dirname "$0")/../lib/common.sh"

TW=$BIN/twitter-stats
STANDIN=$ROOT/tests/standins/twitter_standin.py
ME_ID=2244994945        # XDevelopers, the fixture account the access token belongs to
[ -x "$TW" ] || { not_ok "no $TW (run make first)"; finish; }

# ---- secrets: random, each distinctive ------------------------------------------------
read -r CK CS TK TS < <("$PY" -c '
import secrets
print("ck" + secrets.token_hex(12), "cs" + secrets.token_hex(20), "'$ME_ID'-tk" + secrets.token_hex(16), "ts" + secrets.token_hex(20))')
BT=AAAA$("$PY" -c 'import secrets; print(secrets.token_hex(24))')
printf '{"consumer_key":"%s","consumer_secret":"%s","token":"%s","token_secret":"%s","bearer_token":"%s"}\n' \
    "$CK" "$CS" "$TK" "$TS" "$BT" >"$T/standin.json"

# ---- the stand-in and InfluxDB ------------------------------------------------------------
"$PY" "$STANDIN" --config "$T/standin.json" --port-file "$T/standin.port" --posts 30 \
    --posts-for twitter=150 --posts-for tweepydev=0 --span-days 6 >"$T/standin.log" 2>&1 &
track $!
for _ in $(seq 100); do [ -s "$T/standin.port" ] && break; sleep 0.1; done
SPORT=$(cat "$T/standin.port" 2>/dev/null)
[ -n "$SPORT" ] || { not_ok "stand-in did not start: $(tail -3 "$T/standin.log")"; finish; }
API=http://127.0.0.1:$SPORT
ADMIN=$API/_admin
start_influxd tw || { not_ok "influxd did not start"; finish; }

export TWITTER_API_KEY=$CK TWITTER_API_SECRET=$CS TWITTER_ACCESS_TOKEN=$TK TWITTER_ACCESS_SECRET=$TS
export TWITTER_API_URL=$API INFLUXDB_URL=$INFLUX_URL INFLUXDB_DATABASE=twitter
export CRONFLUX_STATE=$T/state.db
unset TWITTER_USERS TWITTER_USER DEBUG CRONFLUX_ALIGN API_KEY API_SECRET ACCESS_TOKEN ACCESS_SECRET
unset TWITTER_BEARER_TOKEN BEARER_TOKEN TWITTER_DAILY_BUDGET_USD

# run_job NAME [VAR=value | -VAR ...] -- ARGS: runs the job, output in $T/NAME.{out,err}, RC
run_job() {
    local name=$1 sets=() unsets=()
    shift
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do
        case $1 in -*) unsets+=(-u "${1#-}") ;; *) sets+=("$1") ;; esac
        shift
    done
    shift
    env "${unsets[@]}" "${sets[@]}" "$TW" "$@" >"$T/$name.out" 2>"$T/$name.err"
    RC=$?
    cat "$T/$name.out" "$T/$name.err" >>"$T/all_output"
}
scenario() { curl -sS -o /dev/null -XPOST "$ADMIN/scenario?$1"; }
reset_log() { curl -sS -o /dev/null -XPOST "$ADMIN/reset"; }
requests() { curl -sS "$ADMIN/requests"; }
err_has() { grep -qF -- "$2" "$T/$1.err"; }
one_line() { [ "$(grep -c 'error:' "$T/$1.err")" -eq 1 ]; }

# The checker: compares what InfluxDB holds with the stand-in's data.
cat >"$T/check.py" <<'PYEOF'
import datetime, json, sys, time, urllib.parse, urllib.request
influx, db, admin, mode = sys.argv[1:5]
args = sys.argv[5:]
def q(query):
    u = influx + "/query?" + urllib.parse.urlencode({"db": db, "q": query, "epoch": "ns"})
    return json.load(urllib.request.urlopen(u))
def rows(query):
    res = q(query)["results"][0]
    out = []
    for s in res.get("series", []):
        cols = s["columns"]
        for v in s["values"]:
            d = dict(zip(cols, v)); d.update(s.get("tags", {})); out.append(d)
    return out
data = json.load(urllib.request.urlopen(admin + "/data"))
acct = {a["username"].lower(): a for a in data["accounts"]}
bad = []
if mode == "users":                       # users NAME... : last twitter_user equals the stand-in
    for name in args:
        a = acct[name.lower()]
        r = rows("SELECT * FROM twitter_user WHERE \"user\"='%s' ORDER BY time DESC LIMIT 1" % a["username"])
        if not r: bad.append("no twitter_user for %s" % name); continue
        r = r[0]
        want = {"followers": a["followers"], "following": a["following"], "posts": a["tweet_count"],
                "listed": a["listed"], "likes": a["likes"], "user_id": a["id"]}
        for k, v in want.items():
            if r.get(k) != v: bad.append("%s.%s: influx %r stand-in %r" % (name, k, r.get(k), v))
elif mode == "posts":                     # posts NAME [SINCE_S UNTIL_S] [v1]
    a = acct[args[0].lower()]
    lo = float(args[1]) if len(args) > 1 else 0
    hi = float(args[2]) if len(args) > 2 else 1e18
    v1 = len(args) > 3 and args[3] == "v1"
    want = {p["id"]: p for p in a["posts"] if lo <= p["created"] < hi}
    got = {}
    for r in rows("SELECT * FROM twitter_post WHERE \"user\"='%s'" % a["username"]):
        if r["post_id"] not in got or r["time"] > got[r["post_id"]]["time"]:
            got[r["post_id"]] = r
    if set(got) != set(want):
        bad.append("post ids: %d in influx, %d in the stand-in, %d missing, %d extra" % (
            len(got), len(want), len(set(want) - set(got)), len(set(got) - set(want))))
    fields = ("likes", "reposts") if v1 else ("likes", "reposts", "replies", "quotes", "impressions", "bookmarks")
    for pid in set(got) & set(want):
        for f in fields:
            if got[pid].get(f) != want[pid][f]:
                bad.append("post %s %s: influx %r stand-in %r" % (pid, f, got[pid].get(f), want[pid][f])); break
    print("# %d posts compared" % len(set(got) & set(want)))
elif mode == "graph":                     # graph NAME TAG
    a = acct[args[0].lower()]
    want = {"followers_count": a["followers"], "friends_count": a["following"], "listed_count": a["listed"],
            "favourites_count": a["likes"], "statuses_count": a["tweet_count"]}
    for m, v in want.items():
        r = rows("SELECT * FROM \"%s\" WHERE \"user\"='%s' ORDER BY time DESC LIMIT 1" % (m, args[1]))
        if not r or r[0].get("value") != v or set(r[0]) != {"time", "user", "value"}:
            bad.append("%s: %r, want value %r" % (m, r[:1], v))
elif mode == "usage":                     # usage: the twitter_usage lines of each run, oldest first
    runs = {}
    for r in rows("SELECT * FROM twitter_usage"):
        runs.setdefault(r["time"], []).append((r["endpoint"], r["owned"], r["requests"], r["resources"],
                                              r["billable"], float(round(r["cost_usd"], 4))))
    print([sorted(v) for _, v in sorted(runs.items())]); sys.exit(0)
elif mode == "buckets":                   # buckets USER G: every bucket served is a point, fields equal
    served = json.load(urllib.request.urlopen(admin + "/buckets"))
    ren = {"retweets": "reposts", "quote_tweets": "quotes"}
    got = {}
    for r in rows("SELECT * FROM twitter_post_analytics WHERE \"user\"='%s' AND granularity='%s'" % (args[0], args[1])):
        got[(r["post_id"], r["time"])] = r
    n = 0
    for b in served:
        if b["granularity"] != args[1]:
            continue
        t = int(datetime.datetime.strptime(b["timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()) * 10**9
        r = got.get((b["post_id"], t))
        if r is None:
            bad.append("bucket %s %s not in InfluxDB" % (b["post_id"], b["timestamp"])); continue
        n += 1
        for k, v in b["metrics"].items():
            if r.get(ren.get(k, k)) != v:
                bad.append("bucket %s %s %s: influx %r stand-in %r" % (b["post_id"], b["timestamp"], k, r.get(ren.get(k, k)), v))
    if not n:
        bad.append("no bucket served")
    print("# %d buckets compared, %d points" % (n, len(got)))
elif mode == "count":                     # count QUERY: prints the number of rows
    print(len(rows(args[0]))); sys.exit(0)
elif mode == "expect":                    # expect NAME SINCE UNTIL: prints the stand-in's count
    a = acct[args[0].lower()]
    print(sum(1 for p in a["posts"] if float(args[1]) <= p["created"] < float(args[2]))); sys.exit(0)
for b in bad[:10]: print("# " + b)
sys.exit(1 if bad else 0)
PYEOF
check_db() { "$PY" "$T/check.py" "$INFLUX_URL" "$@"; }
count() { "$PY" "$T/check.py" "$INFLUX_URL" "$1" "$ADMIN" count "$2"; }
# reqs PYEXPR: evaluates a Python expression over the recorded requests R (a list)
reqs() { requests | "$PY" -c "import json,sys; R=json.load(sys.stdin); print($1)"; }

# ---- usage and configuration ------------------------------------------------------------------
run_job help -- --help
check_eq "--help exits 0" "$RC" 0
check "--help documents the exit codes and the partial-answer choice" \
    grep -q "77 credentials refused" "$T/help.out"
grep -q -- "--strict" "$T/help.out" && grep -q "exits 0" "$T/help.out" && ok "--help says what a 200 with errors does" ||
    not_ok "--help says what a 200 with errors does"
run_job usage -- --api 3
check_eq "bad --api is a usage error (64)" "$RC" 64
run_job usage2 -- --until 2026-01-01T00:00:00Z
check_eq "--until without --since is 64" "$RC" 64
run_job nocreds -TWITTER_API_KEY -TWITTER_API_SECRET -TWITTER_ACCESS_TOKEN -TWITTER_ACCESS_SECRET -- --dry-run
check_eq "no credentials: 78" "$RC" 78
check "no credentials: names the variables" err_has nocreds \
    "TWITTER_API_KEY, TWITTER_API_SECRET, TWITTER_ACCESS_TOKEN, TWITTER_ACCESS_SECRET"
run_job onecred -TWITTER_ACCESS_SECRET -- --dry-run
check_eq "one credential missing: 78" "$RC" 78
grep -q "set TWITTER_ACCESS_SECRET " "$T/onecred.err" && ! grep -q "TWITTER_API_KEY" "$T/onecred.err" &&
    ok "one credential missing: names only it" || not_ok "one credential missing: names only it"
run_job badusers TWITTER_USERS='ok_name,bad-name!' -- --dry-run
check_eq "a username that is not one (TWITTER_USERS): 78" "$RC" 78
run_job badflag -- --dry-run --users "a b"
check_eq "a username that is not one (--users \"a b\"): a bad flag value is 64" "$RC" 64
check "--users \"a b\": names the flag and the value" err_has badflag '--users: "a b" is not an X username'

# unprefixed names and _FILE secrets (a trailing newline is not part of the secret)
printf '%s\n' "$TS" >"$T/ts.secret"
run_job unprefixed -TWITTER_API_KEY -TWITTER_API_SECRET -TWITTER_ACCESS_TOKEN -TWITTER_ACCESS_SECRET \
    API_KEY="$CK" API_SECRET="$CS" ACCESS_TOKEN="$TK" ACCESS_SECRET_FILE="$T/ts.secret" -- --dry-run --no-posts
check_eq "API_KEY/.../ACCESS_SECRET_FILE work" "$RC" 0
check "unprefixed: the user point is printed" grep -q "^twitter_user,user=XDevelopers,user_id=$ME_ID " "$T/unprefixed.out"

# ---- end to end: a scheduled run into InfluxDB --------------------------------------------------
reset_log
run_job first -- --align 3650d
check_eq "scheduled run: exit 0" "$RC" 0
check "scheduled run: user counters in InfluxDB equal the stand-in's" check_db twitter "$ADMIN" users XDevelopers
check "scheduled run: post metrics in InfluxDB equal the stand-in's" check_db twitter "$ADMIN" posts XDevelopers
check_eq "every request was signed right (oauthlib)" "$(reqs 'sum(1 for r in R if r["auth"] != "ok")')" 0
check_eq "own posts: non_public_metrics and organic_metrics asked" \
    "$(reqs '[r["query"].get("tweet.fields") for r in R if r["family"] == "tweets"]')" \
    "[['created_at,public_metrics,non_public_metrics,organic_metrics']]"
check_eq "max_results=100 and a start_time" \
    "$(reqs '[(r["query"]["max_results"], "start_time" in r["query"]) for r in R if r["family"] == "tweets"]')" \
    "[(['100'], True)]"
n_user=$(count twitter 'SELECT followers FROM twitter_user')
n_post=$(count twitter 'SELECT likes FROM twitter_post')
check_eq "30 posts written" "$n_post" 30
check "scheduled run: one summary line (read, written, pending, how long)" \
    grep -Eq '^twitter-stats: info: 1 user, 30 posts, 1 page, 2 requests, [$]0[.]0400 estimated [(]today [$]0[.]0400[)]; 34 points, [0-9]+ sent to InfluxDB, 0 pending; [0-9.]+s$' "$T/first.err"
check_eq "scheduled run: nothing else on stderr" "$(wc -l <"$T/first.err")" 1
run_job again -- --align 3650d
check_eq "second run in the same --align slot: exit 0" "$RC" 0
check_eq "--align: a second run overwrites the user point" "$(count twitter 'SELECT followers FROM twitter_user')" "$n_user"
check_eq "--align: a second run overwrites the post points" "$(count twitter 'SELECT likes FROM twitter_post')" "$n_post"
check_eq "CRONFLUX_ALIGN works as --align" \
    "$(run_job alignenv CRONFLUX_ALIGN=3650d -- ; count twitter 'SELECT followers FROM twitter_user')" "$n_user"

# ---- several accounts, one not found, pagination ------------------------------------------------
reset_log
run_job users TWITTER_USERS='XDevelopers, @Twitter,nosuchuser' -- --align 3650d
check_eq "users with one not found: exit 0 (documented)" "$RC" 0
check "users: a warning names the missing account" err_has users "nosuchuser"
check "users: Twitter's counters equal the stand-in's" check_db twitter "$ADMIN" users Twitter XDevelopers
check "users: Twitter's 150 posts (two pages) equal the stand-in's" check_db twitter "$ADMIN" posts Twitter
check_eq "users: one users/by call for all three" \
    "$(reqs '[r["query"]["usernames"] for r in R if r["family"] == "users/by"]')" "[['XDevelopers,Twitter,nosuchuser']]"
check_eq "users: next_token followed as pagination_token" \
    "$(reqs '[r["query"].get("pagination_token") for r in R if r["path"] == "/2/users/783214/tweets"]')" \
    "[None, ['7140dib2s']]"
check_eq "users: private metrics only for the token's own account" \
    "$(reqs 'sorted(set((r["path"], "non_public_metrics" in r["query"]["tweet.fields"][0]) for r in R if r["family"] == "tweets"))')" \
    "[('/2/users/$ME_ID/tweets', True), ('/2/users/783214/tweets', False)]"
run_job nobody TWITTER_USERS='nosuchuser,norme' -- --no-posts
check_eq "not one account found: 78" "$RC" 78
check "not one account found: says the list is wrong" err_has nobody "none of the 2 accounts could be read"
check "not one account found: names TWITTER_USERS" err_has nobody "; check TWITTER_USERS"
run_job nobody1 -TWITTER_USERS TWITTER_USER=nosuchuser -- --no-posts
check_eq "TWITTER_USER not found: 78" "$RC" 78
check "TWITTER_USER not found: names TWITTER_USER, not TWITTER_USERS" err_has nobody1 "; check TWITTER_USER"
grep -q "check TWITTER_USERS" "$T/nobody1.err" && not_ok "TWITTER_USER: no mention of TWITTER_USERS" ||
    ok "TWITTER_USER: no mention of TWITTER_USERS"
run_job strict TWITTER_USERS='XDevelopers,nosuchuser' -- --align 3650d --strict --no-posts
check_eq "--strict: a 200 with errors is 65" "$RC" 65
check "--strict: one error line naming the problem" one_line strict

reset_log
scenario "name=pagination&page=7"
run_job pages -- --align 3650d --lookback 7d
check_eq "pagination (7 a page): exit 0" "$RC" 0
check_eq "pagination: 5 pages for 30 posts" "$(reqs 'sum(1 for r in R if r["family"] == "tweets")')" 5
check "pagination: all posts equal the stand-in's" check_db twitter "$ADMIN" posts XDevelopers
scenario "name=normal"

# ---- InfluxDB down: 75, then the next run delivers -------------------------------------------------
before=$(count twitter 'SELECT followers FROM twitter_user')
stop_influxd "$INFLUX_PID"
run_job down -- --no-posts
check_eq "InfluxDB down: exit 75" "$RC" 75
restart_influxd || not_ok "influxd restart"
run_job up -- --no-posts
check_eq "InfluxDB back: exit 0" "$RC" 0
check_eq "InfluxDB back: both runs' points are there" "$(count twitter 'SELECT followers FROM twitter_user')" $((before + 2))

# ---- rate limits ------------------------------------------------------------------------------------
scenario "name=ratelimit&on=tweets"
before=$(count twitter 'SELECT followers FROM twitter_user')
run_job rl429 -- --no-posts
check_eq "rate limit on tweets does not touch a users-only run" "$RC" 0
run_job rl429b -- --max-wait 0
check_eq "429: exit 75" "$RC" 75
check "429: says when the window resets (RFC 3339)" grep -Eq 'resets at [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z' "$T/rl429b.err"
check "429: one error line" one_line rl429b
check_eq "429: the user point read before it is kept" "$(count twitter 'SELECT followers FROM twitter_user')" $((before + 2))

reset_log
scenario "name=lowlimit&on=tweets&limit=2"
run_job low TWITTER_USERS=XDevelopers,Twitter -- --align 3650d --lookback 7d
check_eq "window used up: exit 75" "$RC" 75
check "window used up: the request is not sent" err_has low "request not sent"
check_eq "window used up: no request over the limit reached the API" \
    "$(reqs 'sum(1 for r in R if r.get("over_limit"))')" 0
check_eq "window used up: exactly the 2 allowed tweets requests" "$(reqs 'sum(1 for r in R if r["family"] == "tweets")')" 2

reset_log
scenario "name=ratelimit_once&on=tweets&reset_in=2"
run_job wait -- --max-wait 30s --align 3650d
check_eq "429 with --max-wait covering the reset: exit 0" "$RC" 0
check_eq "429 then the same request again" "$(reqs '[r["status"] for r in R if r["family"] == "tweets"]')" "[429, 200]"
check "a rate-limit wait says it is waiting and until when" \
    grep -Eq 'info: GET /2/users/:id/tweets: rate limited: waiting [0-9]+s for the window, until [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z' "$T/wait.err"
scenario "name=normal"

# ---- the scenarios' exit codes and messages -------------------------------------------------------------
expect() { # expect NAME SCENARIO RC MESSAGE [job args...]
    local name=$1 sc=$2 want=$3 msg=$4
    shift 4
    scenario "$sc"
    run_job "$name" -- --retries 0 "$@"
    check_eq "$name: exit $want" "$RC" "$want"
    if grep -qF -- "$msg" "$T/$name.err"; then ok "$name: message has [$msg]"; else
        not_ok "$name: message has [$msg]: $(head -c 400 "$T/$name.err")"; fi
    check "$name: one error line" one_line "$name"
}
expect unauth "name=unauthorized" 77 "TWITTER_ACCESS_TOKEN/TWITTER_ACCESS_SECRET (user context)"
expect forbid "name=forbidden" 77 "the app credentials TWITTER_API_KEY/TWITTER_API_SECRET (app) were refused"
check "forbidden: the problem details are shown" err_has forbid "Client Forbidden: When authenticating"
expect malformed "name=malformed&on=tweets" 65 "GET /2/users/:id/tweets: line 1, column 40:"
expect truncated "name=truncated&on=users" 65 "GET /2/users/me: line 1, column "
check "truncated: the JSON position" grep -Eq 'line [0-9]+, column [0-9]+' "$T/truncated.err"
expect huge "name=huge&on=tweets" 65 "larger than the 8 MiB cap"
expect badshape "name=badshape&on=users" 65 "data.public_metrics.followers_count: expected a non-negative integer, got string"
# a 5xx after retries is temporary (75) in every source (issue 10.10, docs/DESIGN.md)
expect unavailable "name=unavailable" 75 "HTTP 503"
expect v1453 "name=v1_453" 77 "use X API v2" --api 1.1
check "453: says the code" err_has v1453 "code 453"
scenario "name=normal"
run_job nonet TWITTER_API_URL=http://127.0.0.1:$(free_port) -- --retries 1
check_eq "API unreachable: exit 69" "$RC" 69
check "API unreachable: says so" err_has nonet "unreachable"
run_job wrongsecret TWITTER_ACCESS_SECRET=not-the-secret -- --retries 0
check_eq "a wrong secret (signature refused by oauthlib): 77" "$RC" 77
check_eq "the stand-in saw a bad signature" "$(reqs 'R[-1]["auth"]')" "bad signature"
check "a wrong secret never shows in the message" bash -c "! grep -q not-the-secret '$T/wrongsecret.err'"

# the store fails part way (a file-size limit a few pages above the empty state file): 74,
# one error line, saying how many points were not stored and why (not a "store:" line too)
kb=$(near_full_kb "$T/full.db" 24)
(
    ulimit -f "$kb"
    exec env CRONFLUX_STATE="$T/full.db" CRONFLUX_BATCH=2 "$TW" --lookback 7d \
        >"$T/storefull.out" 2>"$T/storefull.err"
)
RC=$?
check_eq "the store fails part way: exit 74" "$RC" 74
check "the store fails part way: one error line" one_line storefull
check "the store fails part way: it says how many points were not stored" \
    grep -Eq 'error: [0-9]+ points? (was|were) not stored' "$T/storefull.err"

scenario "name=partial&on=tweets"
run_job partial -- --align 3650d --lookback 7d
check_eq "200 with errors on tweets: exit 0" "$RC" 0
check "200 with errors on tweets: warns" err_has partial "Not Found Error"
scenario "name=normal"

# ---- OpenAPI 2.167 names (post_count, repost_count, media_count, post.fields) -----------------------------
export INFLUXDB_DATABASE=tw_renamed CRONFLUX_STATE=$T/renamed.db
reset_log
scenario "name=renamed"
run_job ren1 -- --align 3650d
check_eq "renamed API: exit 0" "$RC" 0
check "renamed API: user counters (post_count) equal the stand-in's" check_db tw_renamed "$ADMIN" users XDevelopers
check "renamed API: post metrics (repost_count) equal the stand-in's" check_db tw_renamed "$ADMIN" posts XDevelopers
check_eq "renamed API: media_count written as media" \
    "$(count tw_renamed 'SELECT media FROM twitter_user')" 1
check_eq "renamed API: tweet.fields refused as unknown (400), then post.fields" \
    "$(reqs '[(r["status"], sorted(k for k in r["query"] if k.endswith(".fields"))) for r in R if r["family"] == "tweets"]')" \
    "[(400, ['tweet.fields']), (200, ['post.fields'])]"
check "renamed API: says it switched" err_has ren1 "refused tweet.fields as unknown; using post.fields"
reset_log
run_job ren2 -- --align 3650d --lookback 7d
check_eq "renamed API: the next run sends post.fields at once (remembered in the state file)" \
    "$(reqs '[(r["status"], sorted(k for k in r["query"] if k.endswith(".fields"))) for r in R if r["family"] == "tweets"]')" \
    "[(200, ['post.fields'])]"
scenario "name=normal"
reset_log
run_job ren3 -- --align 3650d --lookback 7d
check_eq "back to the old names: post.fields refused, tweet.fields again" \
    "$(reqs '[(r["status"], sorted(k for k in r["query"] if k.endswith(".fields"))) for r in R if r["family"] == "tweets"]')" \
    "[(400, ['post.fields']), (200, ['tweet.fields'])]"
export CRONFLUX_STATE=$T/state.db

# ---- pay-per-use: price, per-UTC-day dedup, the owned read, the budget, the usage cap -------------------
export INFLUXDB_DATABASE=tw_cost CRONFLUX_STATE=$T/cost.db
usage() { "$PY" "$T/check.py" "$INFLUX_URL" "$1" "$ADMIN" usage; }
reset_log
run_job cost1 TWITTER_USERS=XDevelopers,Twitter --
check_eq "cost: first run of the day: exit 0" "$RC" 0
check "cost: the summary line gives the estimate" err_has cost1 '$0.8000 estimated (today $0.8000)'
run_job cost2 TWITTER_USERS=XDevelopers,Twitter -- --lookback 7d
check_eq "cost: second run, same UTC day, everything read again (--lookback): exit 0" "$RC" 0
check_eq "cost: twitter_usage per run: users \$0.010, own posts \$0.001 (owned read), others \$0.005; the second run's billable 0" \
    "$(usage tw_cost)" \
    "[[('/2/users/:id/tweets', 'false', 2, 150, 150, 0.75), ('/2/users/:id/tweets', 'true', 1, 30, 30, 0.03), ('/2/users/by', 'false', 1, 2, 2, 0.02)], [('/2/users/:id/tweets', 'false', 2, 150, 0, 0.0), ('/2/users/:id/tweets', 'true', 1, 30, 0, 0.0), ('/2/users/by', 'false', 1, 2, 0, 0.0)]]"
reset_log
run_job cost3 TWITTER_USERS=XDevelopers,Twitter --
check_eq "cost: third run without --lookback: posts read today are not read again (since_id)" \
    "$(reqs '[("since_id" in r["query"], "start_time" in r["query"]) for r in R if r["family"] == "tweets"]')" \
    "[(True, False), (True, False)]"
check "cost: third run: nothing new to pay" err_has cost3 '$0.0000 estimated (today $0.8000)'

export INFLUXDB_DATABASE=tw_budget CRONFLUX_STATE=$T/budget.db
reset_log
run_job budget TWITTER_USERS=XDevelopers,Twitter TWITTER_DAILY_BUDGET_USD=0.30 --
check_eq "budget: stopped by the daily budget: exit 0" "$RC" 0
check "budget: warns with the figures" err_has budget 'daily budget: GET /2/users/:id/tweets not sent: it may cost up to $0.0250 and today'"'"'s spend is $0.3000'
check_eq "budget: the page asked for only what the budget still allows (50 posts at \$0.005)" \
    "$(reqs '[(r["path"], r["query"]["max_results"]) for r in R if r["family"] == "tweets"]')" \
    "[('/2/users/$ME_ID/tweets', ['100']), ('/2/users/783214/tweets', ['50'])]"
check_eq "budget: cronflux_job status=budget" "$(count tw_budget "SELECT exit_code FROM cronflux_job WHERE status='budget'")" 1
check_eq "budget: what was read is written (2 users, 30 + 50 posts)" \
    "$(count tw_budget 'SELECT followers FROM twitter_user') $(count tw_budget 'SELECT likes FROM twitter_post')" "2 80"
check_eq "budget: the spend recorded stays within it" "$(usage tw_budget)" \
    "[[('/2/users/:id/tweets', 'false', 1, 50, 50, 0.25), ('/2/users/:id/tweets', 'true', 1, 30, 30, 0.03), ('/2/users/by', 'false', 1, 2, 2, 0.02)]]"
run_job badbudget -- --daily-budget lots
check_eq "budget: --daily-budget lots is 64" "$RC" 64
run_job badbudget2 TWITTER_DAILY_BUDGET_USD=-1 --
check_eq "budget: TWITTER_DAILY_BUDGET_USD=-1 is 78" "$RC" 78
run_job badprice TWITTER_PRICE_POST_READ=free --
check_eq "a price that is not a number: 78" "$RC" 78

export INFLUXDB_DATABASE=tw_cap CRONFLUX_STATE=$T/cap.db
reset_log
scenario "name=usagecap&on=tweets"
run_job cap1 -- --max-wait 30s
check_eq "usage cap: exit 75" "$RC" 75
check "usage cap: one error line" one_line cap1
check "usage cap: says what it is and what clears it" \
    err_has cap1 "429 UsageCapExceeded: Usage cap exceeded: Monthly product cap (Monthly cap, scope Product): X refuses this app's reads until the cap resets"
check_eq "usage cap: not retried, not waited for (--max-wait 30s)" "$(reqs 'sum(1 for r in R if r["family"] == "tweets")')" 1
check_eq "usage cap: the user point read before it is kept" "$(count tw_cap 'SELECT followers FROM twitter_user')" 1
scenario "name=normal"
reset_log
run_job cap2 --
check_eq "usage cap remembered: the next run exits 75" "$RC" 75
check_eq "usage cap remembered: no request at all until the next UTC day" "$(reqs 'len(R)')" 0
check "usage cap remembered: says why and what to do" err_has cap2 "no request is sent until 00:00 UTC"
run_job cap3 -- --force
check_eq "--force: tries anyway (exit 0)" "$RC" 0
reset_log
run_job cap4 --
check_eq "after a run that got through, no wait any more" "$RC $(reqs 'len(R) > 0')" "0 True"

# the alert rules of dashboards/provisioning/alerting/twitter.yaml on these runs, as Grafana
# evaluates them (tests/tools/alert_rules.py): STATE of RULE in DB
alert_state() {
    "$PY" "$ROOT/tests/tools/alert_rules.py" --url "$INFLUX_URL" --db "$2" \
        "$ROOT/dashboards/provisioning/alerting/twitter.yaml" | sed -n "s/^ok - $1: \([a-z]*\).*/\1/p"
}
check_eq "alert budget-80: quiet without a budget" "$(alert_state cronflux-twitter-budget-80 tw_cost)" quiet
check_eq "alert budget-80: fires at the budget (\$0.30 of \$0.30)" "$(alert_state cronflux-twitter-budget-80 tw_budget)" firing
check_eq "alert usage-cap: quiet on runs X did not cap" \
    "$(alert_state cronflux-twitter-usage-cap tw_cost) $(alert_state cronflux-twitter-usage-cap tw_budget)" "quiet quiet"
check_eq "alert usage-cap: fires after UsageCapExceeded" "$(alert_state cronflux-twitter-usage-cap tw_cap)" firing
check_eq "alert budget-80: quiet after the cap (no budget set there)" "$(alert_state cronflux-twitter-budget-80 tw_cap)" quiet
check_eq "twitter_budget: the day's spend and the budget written with the run" \
    "$(count tw_budget 'SELECT * FROM twitter_budget WHERE spent_today_usd > 0.2999 AND daily_budget_usd = 0.3 AND budget_stopped = 1')" 1

# X's own count: GET /2/usage/tweets with the bearer token (the other requests stay OAuth 1.0a)
export INFLUXDB_DATABASE=tw_usage CRONFLUX_STATE=$T/usage.db
reset_log
run_job pusage TWITTER_BEARER_TOKEN="$BT" -- --no-posts
check_eq "bearer token: exit 0" "$RC" 0
check_eq "bearer token: GET /2/usage/tweets once, with the bearer token (checked by the stand-in)" \
    "$(reqs '[(r["status"], r["auth"]) for r in R if r["family"] == "usage"]')" "[(200, 'ok')]"
check_eq "bearer token: every other request still OAuth 1.0a, signature verified" \
    "$(reqs 'sorted(set(r["auth"] for r in R if r["family"] != "usage"))')" "['ok']"
check_eq "bearer token: twitter_project_usage = the answer's project_usage, project_cap, cap_reset_day" \
    "$("$PY" "$T/check.py" "$INFLUX_URL" tw_usage "$ADMIN" count 'SELECT * FROM twitter_project_usage WHERE "usage" = 43435 AND "cap" = 3000000 AND "cap_reset_day" = 19 AND project_id = '"'"'1369785403853424'"'"'')" 1
printf '%s\n' "$BT" >"$T/bt.secret"
scenario "name=usage_prose"
run_job pusage2 TWITTER_BEARER_TOKEN_FILE="$T/bt.secret" -- --no-posts
check_eq "bearer token from _FILE, the 2026 prose shape (integer cap, no usage): exit 0" "$RC" 0
check_eq "the prose shape: cap 10000000 recorded" \
    "$(count tw_usage 'SELECT "cap" FROM twitter_project_usage WHERE "cap" = 10000000')" 1
scenario "name=normal"
run_job pusage3 TWITTER_BEARER_TOKEN=wrong-token -- --no-posts
check_eq "a refused bearer token is warned, the run still exits 0" "$RC" 0
check "a refused bearer token: names TWITTER_BEARER_TOKEN" err_has pusage3 "TWITTER_BEARER_TOKEN was refused"
grep -q "$BT" "$T/pusage.err" "$T/pusage2.err" "$T/pusage3.err" && not_ok "the bearer token never in the output" ||
    ok "the bearer token never in the output"
export CRONFLUX_STATE=$T/state.db

# ---- analytics: GET /2/tweets/analytics buckets ------------------------------------------------------------
export INFLUXDB_DATABASE=tw_an CRONFLUX_STATE=$T/an.db
reset_log
run_job an1 -- --analytics daily
check_eq "analytics: exit 0" "$RC" 0
check "analytics: every bucket served is a twitter_post_analytics point, fields as named (reposts, quotes)" \
    check_db tw_an "$ADMIN" buckets XDevelopers daily
check_eq "analytics: one request for the 30 posts, daily, from the start of the UTC day --lookback back" \
    "$(reqs '[(len(r["query"]["ids"][0].split(",")), r["query"]["granularity"], r["query"]["start_time"][0][10:], r["auth"]) for r in R if r["family"] == "analytics"]')" \
    "[(30, ['daily'], 'T00:00:00Z', 'ok')]"
n_an=$(count tw_an 'SELECT impressions FROM twitter_post_analytics')
reset_log
run_job an2 -- --analytics daily
check_eq "analytics: a second run the same day lists no post again, yet asks the buckets of all 30 (the post index)" \
    "$(reqs '[len(r["query"]["ids"][0].split(",")) for r in R if r["family"] == "analytics"]')" "[30]"
check_eq "analytics: buckets read again overwrite (no duplicates)" \
    "$(count tw_an 'SELECT impressions FROM twitter_post_analytics')" "$n_an"
export CRONFLUX_STATE=$T/anlate.db
run_job anlate1 --
reset_log
run_job anlate2 -- --analytics daily
check_eq "analytics turned on later the same day: the window is listed again for it (all 30 posts asked)" \
    "$(reqs '[len(r["query"]["ids"][0].split(",")) for r in R if r["family"] == "analytics"]')" "[30]"
export CRONFLUX_STATE=$T/an.db
run_job anbad -- --analytics monthly
check_eq "analytics: --analytics monthly is 64" "$RC" 64
run_job anv1 -- --analytics daily --api 1.1
check_eq "analytics: with --api 1.1 is 64" "$RC" 64

scenario "name=analytics_refused"
reset_log
run_job anref1 -- --analytics daily
check_eq "analytics refused (403): the run still exits 0" "$RC" 0
check_eq "analytics refused: warned once" "$(grep -c 'GET /2/tweets/analytics: refused' "$T/anref1.err")" 1
reset_log
run_job anref2 -- --analytics daily
check_eq "analytics refused: not asked again the same UTC day" \
    "$RC $(reqs 'sum(1 for r in R if r["family"] == "analytics")') $(grep -c refused "$T/anref2.err")" "0 0 0"

export INFLUXDB_DATABASE=tw_anp CRONFLUX_STATE=$T/anp.db
scenario "name=analytics_partial"
run_job anp -- --analytics daily
check_eq "analytics with nulls: exit 0" "$RC" 0
check "analytics with nulls: the skipped buckets are said" err_has anp "bucket(s) with a null timestamp or null metrics skipped"
check_eq "analytics with nulls: a null metric is no field (not 0)" \
    "$(count tw_anp 'SELECT likes FROM twitter_post_analytics WHERE reposts >= 0') $(count tw_anp 'SELECT likes FROM twitter_post_analytics') " \
    "$(( $(count tw_anp 'SELECT likes FROM twitter_post_analytics') - 30 )) $(count tw_anp 'SELECT likes FROM twitter_post_analytics') "

export INFLUXDB_DATABASE=tw_anbf CRONFLUX_STATE=$T/anbf.db
now=$(date +%s)
since=$((now - 100 * 86400))
scenario "name=lowlimit&on=analytics&limit=1"
reset_log
run_job anbf1 -- --analytics daily --since "$since" --until "$now"
check_eq "analytics backfill: the second span rate limited: 75" "$RC" 75
scenario "name=normal"
reset_log
run_job anbf2 -- --analytics daily --since "$since" --until "$now"
check_eq "analytics backfill resumed: exit 0" "$RC" 0
check "analytics backfill resumed: says so" err_has anbf2 "resuming the analytics backfill"
check_eq "analytics backfill: spans of 90 days; the rerun starts at the second" \
    "$(reqs '[r["query"]["start_time"][0] for r in R if r["family"] == "analytics"]')" \
    "['$(date -u -d @$(( since - since % 86400 + 90 * 86400 )) +%FT%TZ)']"
check "analytics backfill: every bucket served is a point" check_db tw_anbf "$ADMIN" buckets XDevelopers daily
reset_log
run_job anbf3 -- --analytics daily --since "$since" --until "$now"
check_eq "analytics backfill done: not read again" "$(reqs 'sum(1 for r in R if r["family"] == "analytics")')" 0
scenario "name=normal"
export CRONFLUX_STATE=$T/state.db

# ---- v1.1 and the twittergraph schema ------------------------------------------------------------------
export INFLUXDB_DATABASE=tw_v1
run_job v1 -- --api 1.1 -u Twitter --align 3650d
check_eq "--api 1.1: exit 0" "$RC" 0
check "--api 1.1: user counters equal the stand-in's" check_db tw_v1 "$ADMIN" users Twitter
check "--api 1.1: post metrics equal the stand-in's" check_db tw_v1 "$ADMIN" posts Twitter 0 1e18 v1
check_eq "--api 1.1: users/show and the timeline, paged by max_id" \
    "$(reqs '[(r["family"], "max_id" in r["query"]) for r in R if r["path"].startswith("/1.1/")][-3:]')" \
    "[('v1/show', False), ('v1/timeline', False), ('v1/timeline', True)]"
run_job v1missing -- --api 1.1 -u Twitter,nosuchuser --no-posts
check_eq "--api 1.1 with an unknown account: exit 0" "$RC" 0
check "--api 1.1 with an unknown account: warns (code 50)" err_has v1missing "code 50: User not found."
export INFLUXDB_DATABASE=twittergraph
run_job graph TWITTER_USER=twitter -- --schema twittergraph
check_eq "twittergraph schema: exit 0" "$RC" 0
check "twittergraph: the five measurements, tag user as configured, field value" \
    check_db twittergraph "$ADMIN" graph Twitter twitter
check_eq "twittergraph: no twitter_user/twitter_post" \
    "$(count twittergraph 'SHOW MEASUREMENTS WITH MEASUREMENT =~ /^twitter_(user|post)$/')" 0

# ---- backfill and checkpoints -------------------------------------------------------------------------------
export INFLUXDB_DATABASE=tw_backfill CRONFLUX_STATE=$T/backfill.db
now=$(date +%s)
since=$((now - 3 * 86400)) until=$((now - 86400))
want=$("$PY" "$T/check.py" "$INFLUX_URL" tw_backfill "$ADMIN" expect Twitter "$since" "$until")
reset_log
scenario "name=lowlimit&on=tweets&limit=2&page=7"
run_job bf1 -- -u Twitter --since "$since" --until "$until"
check_eq "backfill stopped by the rate limit: 75" "$RC" 75
scenario "name=normal&page=7"
run_job bf2 -- -u Twitter --since "$since" --until "$until"
check_eq "backfill resumed: exit 0" "$RC" 0
check "backfill resumed: says so" err_has bf2 "resuming"
check_eq "backfill resumed from the saved pagination_token" \
    "$(reqs '[("pagination_token" in r["query"]) for r in R if r["family"] == "tweets"][2]')" "True"
check "backfill: every post created in the range ($want), metrics equal" \
    check_db tw_backfill "$ADMIN" posts Twitter "$since" "$until"
check_eq "backfill: start_time/end_time sent" \
    "$(reqs '[(r["query"]["start_time"], r["query"]["end_time"]) for r in R if r["family"] == "tweets"][0]')" \
    "(['$(date -u -d @$since +%FT%TZ)'], ['$(date -u -d @$until +%FT%TZ)'])"
reset_log
run_job bf3 -- -u Twitter --since "$since" --until "$until"
check_eq "backfill of a finished range: exit 0" "$RC" 0
check_eq "backfill of a finished range: no tweets read again" "$(reqs 'sum(1 for r in R if r["family"] == "tweets")')" 0
run_job bf4 -- -u Twitter --since "$since" --until "$until" --fresh
check_eq "--fresh reads it again" "$(reqs 'sum(1 for r in R if r["family"] == "tweets") > 0')" "True"
scenario "name=normal"

# an Indexed Job: two pods, each its slice of the range; together every post once
export INFLUXDB_DATABASE=tw_slices CRONFLUX_STATE=$T/slices.db
reset_log
run_job slice0 JOB_COMPLETION_INDEX=0 CRONFLUX_SLICES=2 -- -u Twitter --since "$since" --until "$until"
check_eq "slice 0 of 2: exit 0" "$RC" 0
run_job slice1 JOB_COMPLETION_INDEX=1 CRONFLUX_SLICES=2 -- -u Twitter --since "$since" --until "$until"
check_eq "slice 1 of 2: exit 0" "$RC" 0
check "slices: each says its part" err_has slice1 "backfill slice 1 of 2"
mid=$(( since + (until - since) / 2 ))
check_eq "slices: contiguous [since, mid) and [mid, until)" \
    "$(reqs '[(r["query"]["start_time"][0], r["query"]["end_time"][0]) for r in R if r["family"] == "tweets" and "pagination_token" not in r["query"]]')" \
    "[('$(date -u -d @$since +%FT%TZ)', '$(date -u -d @$mid +%FT%TZ)'), ('$(date -u -d @$mid +%FT%TZ)', '$(date -u -d @$until +%FT%TZ)')]"
check "slices: together every post of the range, metrics equal" \
    check_db tw_slices "$ADMIN" posts Twitter "$since" "$until"
run_job slicebad JOB_COMPLETION_INDEX=5 CRONFLUX_SLICES=2 -- -u Twitter --since "$since" --until "$until"
check_eq "slice index out of range: 78" "$RC" 78

# the incremental checkpoint: after a pause longer than --lookback, read since the newest seen
export CRONFLUX_STATE=$T/incr.db INFLUXDB_DATABASE=tw_incr
run_job inc1 -- --align 3650d
newest=$(curl -sS "$ADMIN/data" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(d["accounts"][0]["posts"][0]["id"])')
reset_log
run_job inc2 -- --lookback 30s
check_eq "checkpoint: a run after a pause asks since_id=<newest seen>" \
    "$(reqs '[(r["query"].get("since_id"), "start_time" in r["query"]) for r in R if r["family"] == "tweets"]')" \
    "[(['$newest'], False)]"
reset_log
run_job inc3 -- --lookback 1d
check_eq "checkpoint: within --lookback a start_time is used" \
    "$(reqs '[("since_id" in r["query"], "start_time" in r["query"]) for r in R if r["family"] == "tweets"]')" \
    "[(False, True)]"

# ---- DEBUG=1 and secrets --------------------------------------------------------------------------------------
export CRONFLUX_STATE=$T/state.db INFLUXDB_DATABASE=twitter
run_job debug DEBUG=1 -- --align 3650d
check_eq "DEBUG=1: exit 0" "$RC" 0
check "DEBUG=1: logs each request with the Authorization header redacted" \
    grep -q 'Authorization: OAuth oauth_consumer_key="<redacted>", oauth_nonce="[0-9a-f]*", oauth_signature="<redacted>"' "$T/debug.err"
run_job debugfail DEBUG=1 TWITTER_ACCESS_SECRET=wrong -- --retries 0
leaks=0
for s in "$CK" "$CS" "$TK" "$TS" "${TK#*-}" "$BT"; do
    if grep -qaF -- "$s" "$T/all_output"; then leaks=$((leaks + 1)); fi
    for f in "$T"/*.db "$T"/*.db-wal; do [ -e "$f" ] && grep -qaF -- "$s" "$f" && leaks=$((leaks + 1)); done
done
check_eq "no secret in any run's stdout/stderr (DEBUG=1 too) or state file" "$leaks" 0
check "the job's output was scanned" test -s "$T/all_output"

# ---- the stand-in itself: oauthlib refuses a reused nonce and a bad signature ---------------------------------
out=$("$PY" - "$API" "$CK" "$CS" "$TK" "$TS" <<'PYEOF'
import sys, urllib.request, urllib.error
from oauthlib.oauth1 import Client
api, ck, cs, tk, ts = sys.argv[1:]
def send(nonce, tamper=False):
    c = Client(ck, client_secret=cs, resource_owner_key=tk, resource_owner_secret=ts, nonce=nonce)
    uri, headers, _ = c.sign(api + "/2/users/me?user.fields=public_metrics")
    if tamper:
        headers["Authorization"] = headers["Authorization"].replace("oauth_signature=\"", "oauth_signature=\"A")
    try:
        return urllib.request.urlopen(urllib.request.Request(uri, headers=headers)).status
    except urllib.error.HTTPError as e:
        return e.code
print(send("n0nce1"), send("n0nce1"), send("n0nce2", tamper=True))
PYEOF
)
check_eq "stand-in: fresh nonce 200, reused nonce 401, bad signature 401" "$out" "200 401 401"

finish
