#!/usr/bin/python3
"""A local stand-in for the X (Twitter) API, for twitter-stats' tests and bench.

Every request's OAuth 1.0a HMAC-SHA1 signature is checked with an implementation this
project did not write (Debian's python3-oauthlib: collect_parameters, normalize_parameters,
base_string_uri, signature_base_string, sign_hmac_sha1) against the configured secrets; a
bad signature, a wrong key or token, a stale timestamp or a nonce seen before gets 401.

Answers follow the recorded shapes in tests/fixtures/twitter/ (v2 users/me, users/by,
users/:id/tweets with meta.next_token, problem-details errors, v1.1 user objects and
errors); the accounts are the fixtures' (XDevelopers from the v2 docs, Twitter and
TweepyDev from the v1.1 recordings) plus generated ones, with generated posts.

Scenarios (--scenario NAME, or POST /_admin/scenario?name=NAME[&on=users|tweets|all]
[&reset_in=S][&limit=N][&page=N]):
  normal        documented answers, generous rate limits
  pagination    pages of at most 7 posts (or `page`), whatever max_results says; `page=N`
                caps the page size in any scenario
  ratelimit     429 (observed v2 body) with x-rate-limit-* headers, reset in reset_in s
  ratelimit_once  one 429 with reset in reset_in s (default 2), then normal
  lowlimit      the endpoint allows `limit` requests a window (default 2); more get 429
                and are recorded as over_limit
  unauthorized  401 problem details      forbidden   403 client-forbidden (observed body)
  malformed     200 with a body that is not JSON
  truncated     200 with valid JSON cut in the middle
  huge          200 with a 9 MiB body
  partial       200 with data and an errors array (tweets: an authorization error)
  v1_453        every /1.1/ request: 403 with error code 453 (the Free tier's refusal)
  badshape      200 JSON of the wrong shape (a counter as a string)
  unavailable   503
  usagecap      429 with the observed UsageCapExceeded body (monthly product cap) and only
                x-rate-limit-limit/-remaining (39999 of 40000 left): not a rate-limit window
  usage_2024    GET /2/usage/tweets answers the 2024 docs example (default: the 2.167
  usage_prose   all-fields shape; usage_prose: the 2026 prose example, integer cap, no usage)
  analytics_refused  GET /2/tweets/analytics: 403 (the observed client-forbidden body)
  analytics_partial  analytics buckets with a null metric, a null timestamp and null metrics
  renamed       OpenAPI 2.167 names (tests/fixtures/twitter/*renamed_spec2167*): post_count,
                repost_count, edit_history_post_ids; the tweets endpoint takes post.fields and
                refuses tweet.fields as unknown (400 naming it); every other scenario does the
                opposite
GET /2/usage/tweets takes only "Authorization: Bearer <bearer_token of --config>" (403 for
OAuth 1.0a, 401 for another token); every other endpoint OAuth 1.0a as above.
GET /2/tweets/analytics (user context): ids (1-100), start_time, end_time, granularity,
analytics.fields; deterministic buckets per post from its creation on; an unknown id is a
partial error. Every bucket served is listed by GET /_admin/buckets.
Admin (no auth, loopback only): GET /_admin/requests, GET /_admin/data,
POST /_admin/scenario, POST /_admin/reset (forget recorded requests and buckets), GET /_admin/health.
"""
import argparse
import base64
import hashlib
import json
import os
import random
import sys
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from oauthlib.oauth1.rfc5849 import signature as oasig

TWITTER_EPOCH_MS = 1288834974657
WINDOW_S = 900

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.environ.get("CRONFLUX_FIXTURES") or os.path.join(HERE, "..", "fixtures")


def fixture(name):
    with open(os.path.join(FIXTURES, "twitter", name), "rb") as f:
        return json.loads(f.read().decode("utf-8"))


def iso(ts):
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def v1time(ts):
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%a %b %d %H:%M:%S +0000 %Y")


def parse_iso(s):
    s = s.replace("Z", "+00:00")
    return datetime.fromisoformat(s).timestamp()


def snowflake(ts, seq):
    return str(((int(ts * 1000) - TWITTER_EPOCH_MS) << 22) | (seq & 0x3FFFFF))


def problem(title, detail, type_="about:blank", status=None, **extra):
    d = {"title": title, "detail": detail, "type": type_}
    if status is not None:
        d["status"] = status
    d.update(extra)
    return d


class World:
    """Accounts and posts, deterministic from the seed and the start time."""

    def __init__(self, seed, posts, extra_accounts, span_days, now):
        rnd = random.Random(seed)
        self.accounts = []
        me_doc = fixture("v2_users_me_public_metrics_docs.json")["data"]
        tw = fixture("v1.1_users_show_screen_name_Twitter_tweepy.json")
        tdev = fixture("v1.1_account_verify_credentials_tweepy.json")
        pm = me_doc["public_metrics"]
        self.accounts.append(dict(id=me_doc["id"], username=me_doc["username"], name=me_doc["name"],
                                  created_at=me_doc["created_at"],
                                  followers=pm["followers_count"], following=pm["following_count"],
                                  tweet_count=pm["tweet_count"], listed=pm["listed_count"], likes=2797))
        for u in (tw, tdev):
            self.accounts.append(dict(id=u["id_str"], username=u["screen_name"], name=u["name"],
                                      created_at=iso(datetime.strptime(u["created_at"], "%a %b %d %H:%M:%S %z %Y").timestamp()),
                                      followers=u["followers_count"], following=u["friends_count"],
                                      tweet_count=u["statuses_count"], listed=u["listed_count"],
                                      likes=u["favourites_count"]))
        for i in range(extra_accounts):
            self.accounts.append(dict(id=str(900000000 + i), username="acct%02d" % (i + 1), name="Account %d" % (i + 1),
                                      created_at="2015-01-01T00:00:00.000Z",
                                      followers=rnd.randint(0, 10**6), following=rnd.randint(0, 5000),
                                      tweet_count=rnd.randint(0, 50000), listed=rnd.randint(0, 900),
                                      likes=rnd.randint(0, 90000)))
        texts = [t["text"] for t in fixture("v2_users_id_tweets_next_token_docs_2024.json")["data"]]
        seq = 0
        for a in self.accounts:
            a["posts"] = []
            n = posts.get(a["username"].lower(), posts.get("*", 0))
            for k in range(n):
                # newest first; spread over span_days before now, whole seconds
                ts = int(now - 60 - (k + 0.5) * (span_days * 86400.0 / max(n, 1)))
                seq += 1
                imp = rnd.randint(0, 10**6)
                a["posts"].append(dict(id=snowflake(ts, seq), created=ts, text=texts[k % len(texts)],
                                       likes=rnd.randint(0, 5000), reposts=rnd.randint(0, 900),
                                       replies=rnd.randint(0, 400), quotes=rnd.randint(0, 100),
                                       bookmarks=rnd.randint(0, 300), impressions=imp))
            a["posts"].sort(key=lambda p: int(p["id"]), reverse=True)
        self.me = self.accounts[0]

    def by_name(self, name):
        for a in self.accounts:
            if a["username"].lower() == name.lower():
                return a
        return None

    def by_id(self, uid):
        for a in self.accounts:
            if a["id"] == uid:
                return a
        return None

    def export(self):
        out = []
        for a in self.accounts:
            d = {k: v for k, v in a.items() if k != "posts"}
            d["posts"] = [{k: v for k, v in p.items() if k != "text"} for p in a["posts"]]
            out.append(d)
        return {"accounts": out, "me": self.me["id"]}


class State:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.args = args
        self.creds = dict(ck=args.consumer_key, cs=args.consumer_secret, tk=args.token, ts=args.token_secret)
        self.nonces = set()
        self.requests = []
        self.scenario = dict(name=args.scenario, on=args.on, reset_in=args.reset_in, limit=args.limit,
                             page=args.page, fired=0)
        self.windows = {}
        self.buckets = []           # analytics buckets served (GET /_admin/buckets)
        posts = {"*": args.posts}
        for spec in args.posts_for or []:
            k, _, v = spec.partition("=")
            posts[k.lower()] = int(v)
        self.world = World(args.seed, posts, args.extra_accounts, args.span_days, time.time())


DEFAULT_LIMITS = {"users/me": 75, "usage": 50, "analytics": 300, "users/by": 900, "tweets": 1500, "v1/verify": 75, "v1/show": 900,
                  "v1/timeline": 900}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "tsa_b"
    sys_version = ""

    def log_message(self, fmt, *a):  # quiet
        if self.server.state.args.verbose:
            sys.stderr.write("standin: " + (fmt % a) + "\n")

    # ---- plumbing -------------------------------------------------------------------
    def send(self, status, body, headers=None, ctype="application/json; charset=utf-8"):
        if isinstance(body, (dict, list)):
            body = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        elif isinstance(body, str):
            body = body.encode("utf-8")
        self.send_response(status)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(body)))
        self.send_header("api-version", "2.52")
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        return status

    def record(self, **kw):
        st = self.server.state
        u = urlsplit(self.path)
        rec = dict(t=time.time(), method=self.command, path=u.path, query=parse_qs(u.query, keep_blank_values=True))
        rec.update(kw)
        with st.lock:
            st.requests.append(rec)

    # ---- OAuth 1.0a verification with oauthlib --------------------------------------------
    def verify(self):
        st = self.server.state
        auth = self.headers.get("Authorization")
        if not auth or not auth.startswith("OAuth "):
            return "missing Authorization: OAuth header"
        u = urlsplit(self.path)
        host = self.headers.get("Host", "127.0.0.1")
        pub = st.args.public_url
        if pub and urlsplit(pub).netloc == host:
            # as a TLS-terminating proxy in front of the public host sees it
            uri = pub.rstrip("/") + self.path
        else:
            uri = "http://%s%s" % (host, self.path)
        try:
            params = oasig.collect_parameters(uri_query=u.query, headers={"Authorization": auth},
                                              exclude_oauth_signature=False)
        except Exception as e:  # oauthlib refuses malformed input
            return "unparsable request: %s" % e
        oauth = {}
        for k, v in params:
            if k.startswith("oauth_"):
                if k in oauth:
                    return "duplicate %s" % k
                oauth[k] = v
        for need in ("oauth_consumer_key", "oauth_nonce", "oauth_signature", "oauth_signature_method",
                     "oauth_timestamp", "oauth_token"):
            if need not in oauth:
                return "missing %s" % need
        if oauth["oauth_signature_method"] != "HMAC-SHA1":
            return "signature method %s" % oauth["oauth_signature_method"]
        if oauth.get("oauth_version", "1.0") != "1.0":
            return "oauth_version"
        if oauth["oauth_consumer_key"] != st.creds["ck"]:
            return "unknown consumer key"
        if oauth["oauth_token"] != st.creds["tk"]:
            return "unknown token"
        try:
            ts = int(oauth["oauth_timestamp"])
        except ValueError:
            return "bad timestamp"
        if abs(ts - time.time()) > 300:
            return "stale timestamp"
        signed = [(k, v) for k, v in params if k != "oauth_signature"]
        base = oasig.signature_base_string(self.command, oasig.base_string_uri(uri),
                                           oasig.normalize_parameters(signed))
        want = oasig.sign_hmac_sha1(base, st.creds["cs"], st.creds["ts"])
        if not hmac_equal(want, oauth["oauth_signature"]):
            return "bad signature"
        # a nonce once per key, whatever the timestamp (stricter than RFC 5849 3.3, which allows
        # it again with another timestamp): a reuse straddling a second is still caught
        key = (oauth["oauth_consumer_key"], oauth["oauth_nonce"])
        with st.lock:
            if key in st.nonces:
                return "nonce used before"
            st.nonces.add(key)
        return None

    # ---- rate limits -----------------------------------------------------------------------
    def window(self, family):
        st = self.server.state
        now = int(time.time())
        with st.lock:
            w = st.windows.get(family)
            if not w or w["reset"] <= now:
                lim = DEFAULT_LIMITS.get(family, 900)
                sc = st.scenario
                if sc["name"] == "lowlimit" and self.applies(family):
                    lim = sc["limit"]
                w = dict(limit=lim, remaining=lim, reset=now + WINDOW_S)
                st.windows[family] = w
            return w

    def rl_headers(self, w):
        return {"x-rate-limit-limit": w["limit"], "x-rate-limit-remaining": max(w["remaining"], 0),
                "x-rate-limit-reset": w["reset"]}

    def applies(self, family):
        on = self.server.state.scenario["on"]
        if on == "all":
            return True
        if on == "users":
            return family in ("users/me", "users/by", "v1/verify", "v1/show")
        if on == "tweets":
            return family in ("tweets", "v1/timeline")
        return family == on

    # ---- dispatch --------------------------------------------------------------------------
    def do_GET(self):
        u = urlsplit(self.path)
        if u.path.startswith("/_admin/"):
            return self.admin(u)
        return self.api(u)

    def do_POST(self):
        u = urlsplit(self.path)
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        if u.path.startswith("/_admin/"):
            return self.admin(u)
        self.record(status=405, auth="n/a")
        return self.send(405, problem("Method Not Allowed", "GET only here"))

    def admin(self, u):
        st = self.server.state
        q = parse_qs(u.query)
        if u.path == "/_admin/health":
            return self.send(200, {"ok": True})
        if u.path == "/_admin/requests":
            with st.lock:
                return self.send(200, st.requests)
        if u.path == "/_admin/data":
            return self.send(200, st.world.export())
        if u.path == "/_admin/buckets":
            with st.lock:
                return self.send(200, st.buckets)
        if u.path == "/_admin/reset":
            with st.lock:
                st.requests = []
                st.buckets = []
            return self.send(200, {"ok": True})
        if u.path == "/_admin/scenario":
            with st.lock:
                sc = st.scenario
                # every setting not given goes back to its default
                sc["name"] = q.get("name", ["normal"])[0]
                sc["on"] = q.get("on", ["all"])[0]
                sc["reset_in"] = int(q.get("reset_in", ["2" if sc["name"] == "ratelimit_once" else "900"])[0])
                sc["limit"] = int(q.get("limit", ["2"])[0])
                sc["page"] = int(q.get("page", ["0"])[0])
                sc["fired"] = 0
                st.windows = {}
            return self.send(200, dict(st.scenario))
        return self.send(404, problem("Not Found", "no such admin endpoint"))

    def api(self, u):
        st = self.server.state
        path = u.path
        q = {k: v[-1] for k, v in parse_qs(u.query, keep_blank_values=True).items()}
        family = None
        if path == "/2/users/me":
            family = "users/me"
        elif path == "/2/users/by":
            family = "users/by"
        elif path.startswith("/2/users/") and path.endswith("/tweets"):
            family = "tweets"
        elif path == "/2/usage/tweets":
            family = "usage"
        elif path == "/2/tweets/analytics":
            family = "analytics"
        elif path == "/1.1/account/verify_credentials.json":
            family = "v1/verify"
        elif path == "/1.1/users/show.json":
            family = "v1/show"
        elif path == "/1.1/statuses/user_timeline.json":
            family = "v1/timeline"
        if family == "usage":
            # app-only: Authorization: Bearer <the app's token>; user context is refused
            auth = self.headers.get("Authorization") or ""
            want = st.args.bearer_token
            if auth.startswith("OAuth "):
                self.record(status=403, auth="user context on an app-only endpoint", family=family)
                return self.send(403, problem("Unsupported Authentication",
                                              "Authenticating with OAuth 1.0a User Context is forbidden for this "
                                              "endpoint.  Supported authentication types are [OAuth 2.0 Application-Only].",
                                              "https://api.twitter.com/2/problems/unsupported-authentication", status=403))
            if not want or not hmac_equal(auth, "Bearer " + want):
                self.record(status=401, auth="bad bearer token", family=family)
                return self.send(401, problem("Unauthorized", "Unauthorized", status=401))
            bad = None
        else:
            bad = self.verify()
        if bad:
            self.record(status=401, auth=bad, family=family)
            if path.startswith("/1.1/"):
                return self.send(401, {"errors": [{"code": 32, "message": "Could not authenticate you."}]})
            return self.send(401, problem("Unauthorized", "Unauthorized", status=401))
        if family is None:
            self.record(status=404, auth="ok", family=None)
            return self.send(404, problem("Not Found Error", "no such endpoint: " + path,
                                          "https://api.twitter.com/2/problems/resource-not-found"))
        w = self.window(family)
        sc = st.scenario
        name = sc["name"] if self.applies(family) else "normal"
        over = False
        with st.lock:
            if w["remaining"] <= 0:
                over = True
            else:
                w["remaining"] -= 1
        hdr = self.rl_headers(w)
        if over:
            self.record(status=429, auth="ok", family=family, over_limit=True)
            return self.send(429, fixture_raw("v2_error_429_too_many_requests_observed.json"), hdr)
        if name == "ratelimit" or (name == "ratelimit_once" and sc["fired"] == 0):
            with st.lock:
                sc["fired"] += 1
                w["remaining"] = 0
                w["reset"] = int(time.time()) + sc["reset_in"]
            hdr = self.rl_headers(w)
            self.record(status=429, auth="ok", family=family)
            if path.startswith("/1.1/"):
                return self.send(429, fixture_raw("v1.1_style_error_429_rate_limit_docs.json"), hdr)
            return self.send(429, fixture_raw("v2_error_429_too_many_requests_observed.json"), hdr)
        if name == "unauthorized":
            self.record(status=401, auth="ok", family=family)
            return self.send(401, problem("Unauthorized", "Unauthorized", status=401), hdr)
        if name == "forbidden":
            self.record(status=403, auth="ok", family=family)
            return self.send(403, fixture_raw("v2_error_403_client_forbidden_observed.json"), hdr,
                             ctype="application/problem+json")
        if name == "v1_453" and path.startswith("/1.1/"):
            self.record(status=403, auth="ok", family=family)
            return self.send(403, {"errors": [{"message": "You currently have access to a subset of X API V2 endpoints and limited v1.1 endpoints (e.g. media post, oauth) only. If you need access to this endpoint, you may need a different access level. You can learn more here: https://developer.x.com/en/portal/product", "code": 453}]}, hdr)
        if name == "usagecap":
            # the observed UsageCapExceeded 429: only the two headers on record, remaining far above 0
            self.record(status=429, auth="ok", family=family, usage_cap=True)
            return self.send(429, fixture_raw("v2_error_429_usage_cap_exceeded_observed.json"),
                             {"x-rate-limit-limit": 40000, "x-rate-limit-remaining": 39999})
        if name == "unavailable":
            self.record(status=503, auth="ok", family=family)
            return self.send(503, problem("Service Unavailable", "Service Unavailable", status=503), hdr)
        if name == "malformed":
            self.record(status=200, auth="ok", family=family)
            return self.send(200, '{"data": [{"id": "1301573587187331074",, "text": "Hello"}], "meta": {}}', hdr)
        if name == "huge":
            self.record(status=200, auth="ok", family=family)
            pad = "x" * (9 * 1024 * 1024)
            return self.send(200, '{"data":[],"meta":{"result_count":0},"padding":"' + pad + '"}', hdr)

        try:
            status, body = self.answer(family, path, q, name)
        except UnknownParameter as e:
            status, body = 400, e.body
        except (BadRequest, ValueError) as e:
            status, body = 400, problem("Invalid Request", str(e), "https://api.twitter.com/2/problems/invalid-request")
        except Exception as e:  # a stand-in bug: say so, as a server would
            status, body = 500, problem("Internal Error", "%s: %s" % (type(e).__name__, e), status=500)
        if name == "truncated" and status == 200:
            raw = json.dumps(body, separators=(",", ":")).encode("utf-8")
            self.record(status=200, auth="ok", family=family)
            return self.send(200, raw[: len(raw) // 2], hdr)
        if name == "badshape" and status == 200:
            body = json.loads(json.dumps(body))
            d = body.get("data")
            items = d if isinstance(d, list) else [d] if isinstance(d, dict) else [body]
            for it in items:
                if isinstance(it, dict):
                    m = it.get("public_metrics") or it
                    for k in ("followers_count", "like_count", "favorite_count"):
                        if k in m:
                            m[k] = str(m[k])
        self.record(status=status, auth="ok", family=family)
        return self.send(status, body, hdr)

    # ---- the documented answers -----------------------------------------------------------
    def answer(self, family, path, q, scenario):
        world = self.server.state.world
        if family == "users/me":
            return 200, {"data": user_v2(world.me, q, scenario)}
        if family == "users/by":
            names = [n for n in q.get("usernames", "").split(",") if n]
            if not names:
                raise BadRequest("The `usernames` query parameter can not be empty")
            if len(names) > 100:
                raise BadRequest("The `usernames` query parameter can have at most 100 values")
            data, errors = [], []
            for n in names:
                a = world.by_name(n)
                if a:
                    data.append(user_v2(a, q, scenario))
                else:
                    errors.append({"value": n, "detail": "Could not find user with usernames: [%s]." % n,
                                   "title": "Not Found Error", "resource_type": "user", "parameter": "usernames",
                                   "resource_id": n, "type": "https://api.twitter.com/2/problems/resource-not-found"})
            body = {}
            if data:
                body["data"] = data
            if errors:
                body["errors"] = errors
            return 200, body
        if family == "tweets":
            uid = path.split("/")[3]
            a = world.by_id(uid)
            if not a:
                return 200, {"errors": [{"value": uid, "detail": "Could not find user with id: [%s]." % uid,
                                         "title": "Not Found Error", "resource_type": "user", "parameter": "id",
                                         "resource_id": uid, "type": "https://api.twitter.com/2/problems/resource-not-found"}]}
            return 200, self.tweets_v2(a, q, scenario)
        if family == "usage":
            days = int(q.get("days", "7"))
            if days < 1 or days > 90:
                raise BadRequest("The `days` query parameter value [%d] is not between 1 and 90" % days)
            known = {"cap_reset_day", "daily_client_app_usage", "daily_project_usage", "project_cap",
                     "project_id", "project_usage"}
            for f in set(q.get("usage.fields", "").split(",")) - {""}:
                if f not in known:
                    raise BadRequest("The `usage.fields` query parameter value [%s] is not one of %s" % (f, sorted(known)))
            name = {"usage_2024": "v2_usage_tweets_docs_2024.json",
                    "usage_prose": "v2_usage_tweets_docs_prose_2026_disagrees_with_spec.json"}.get(
                        scenario, "v2_usage_tweets_all_fields_built_from_spec2167.json")
            return 200, fixture(name)
        if family == "analytics":
            return self.analytics(q, scenario)
        if family == "v1/verify":
            return 200, user_v1(world.me)
        if family == "v1/show":
            a = world.by_name(q.get("screen_name", ""))
            if not a:
                return 404, {"errors": [{"code": 50, "message": "User not found."}]}
            return 200, user_v1(a)
        if family == "v1/timeline":
            a = world.by_id(q.get("user_id", ""))
            if not a:
                return 404, {"errors": [{"code": 34, "message": "Sorry, that page does not exist."}]}
            count = min(int(q.get("count", "20")), 200)
            posts = a["posts"]
            if "since_id" in q:
                posts = [p for p in posts if int(p["id"]) > int(q["since_id"])]
            if "max_id" in q:
                posts = [p for p in posts if int(p["id"]) <= int(q["max_id"])]
            return 200, [tweet_v1(p) for p in posts[:count]]
        raise BadRequest("unknown endpoint")

    def analytics(self, q, scenario):
        """GET /2/tweets/analytics (OpenAPI 2.167 request contract; answers built like
        v2_tweets_analytics_daily_built_from_spec2167.json: data[].timestamped_metrics[])."""
        st = self.server.state
        if scenario == "analytics_refused":
            return 403, json.loads(fixture_raw("v2_error_403_client_forbidden_observed.json"))
        ids = [i for i in q.get("ids", "").split(",") if i]
        if not ids or len(ids) > 100 or any(not i.isdigit() or len(i) > 19 for i in ids):
            raise BadRequest("The `ids` query parameter must have 1 to 100 decimal ids")
        for k in ("start_time", "end_time"):
            if k not in q:
                raise BadRequest("The `%s` query parameter is required" % k)
        g = q.get("granularity", "total")
        step = {"hourly": 3600, "daily": 86400, "weekly": 7 * 86400, "total": None}.get(g, -1)
        if step == -1:
            raise BadRequest("The `granularity` query parameter value [%s] is not one of [hourly, weekly, daily, total]" % g)
        fields = [f for f in q.get("analytics.fields", "").split(",") if f]
        for f in fields:
            if f not in ANALYTICS_FIELDS:
                raise BadRequest("The `analytics.fields` query parameter value [%s] is not one of %s" % (f, sorted(ANALYTICS_FIELDS)))
        t0, t1 = parse_iso(q["start_time"]), parse_iso(q["end_time"])
        if t1 <= t0:
            raise BadRequest("end_time must be after start_time")
        posts = {p["id"]: p for a in st.world.accounts for p in a["posts"]}
        data, errors = [], []
        metric_keys = [f for f in fields if f not in ("id", "timestamp", "timestamped_metrics")] or ["impressions"]
        for pid in ids:
            p = posts.get(pid)
            if not p:
                errors.append({"value": pid, "detail": "Could not find tweet with id: [%s]." % pid,
                               "title": "Not Found Error", "resource_type": "tweet", "parameter": "ids",
                               "resource_id": pid, "type": "https://api.x.com/2/problems/resource-not-found"})
                continue
            buckets = []
            starts = [t0] if step is None else range(int(t0 - t0 % step), int(t1), step)
            for b0 in starts:
                if step is not None and b0 + step <= p["created"]:
                    continue            # before the post existed
                m = bucket_metrics(pid, g, b0, metric_keys)
                ts = datetime.fromtimestamp(b0, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
                buckets.append({"timestamp": ts, "metrics": m})
            if scenario == "analytics_partial" and buckets:
                buckets[0]["metrics"] = dict(buckets[0]["metrics"], retweets=None)
                buckets.append({"timestamp": None, "metrics": {"impressions": 1}})
                buckets.append({"timestamp": "2000-01-01T00:00:00Z", "metrics": None})
            with st.lock:
                for b in buckets:
                    if b["timestamp"] and b["timestamp"] != "2000-01-01T00:00:00Z":
                        st.buckets.append(dict(post_id=pid, granularity=g, timestamp=b["timestamp"],
                                               metrics=b["metrics"]))
            data.append({"id": pid, "timestamped_metrics": buckets})
        body = {}
        if data:
            body["data"] = data
        if errors:
            body["errors"] = errors
        if not body:
            body["data"] = []
        return 200, body

    def tweets_v2(self, a, q, scenario):
        world = self.server.state.world
        st = self.server.state
        mr = int(q.get("max_results", "10"))
        if mr < 5 or mr > 100:
            raise BadRequest("The `max_results` query parameter value [%d] is not between 5 and 100" % mr)
        # OpenAPI 2.167 renamed tweet.fields to post.fields: the "renamed" API refuses the
        # old name as unknown, the others the new one (the real shape of that 400)
        want_param, other = ("post.fields", "tweet.fields") if scenario == "renamed" else ("tweet.fields", "post.fields")
        if other in q:
            raise UnknownParameter(other, ["end_time", "expansions", "max_results", "pagination_token",
                                           want_param, "since_id", "start_time", "until_id"])
        fields = set(q.get(want_param, "").split(",")) - {""}
        known = {"created_at", "public_metrics", "non_public_metrics", "organic_metrics", "author_id", "text",
                 "edit_history_tweet_ids", "id"}
        for f in fields:
            if f not in known:
                raise BadRequest("The `%s` query parameter value [%s] is not one of %s" % (want_param, f, sorted(known)))
        posts = a["posts"]
        try:
            if "start_time" in q:
                t0 = parse_iso(q["start_time"])
                posts = [p for p in posts if p["created"] >= t0]
            if "end_time" in q:
                t1 = parse_iso(q["end_time"])
                posts = [p for p in posts if p["created"] < t1]
        except ValueError:
            raise BadRequest("start_time/end_time must be RFC 3339 (YYYY-MM-DDTHH:mm:ssZ)")
        if "since_id" in q:
            posts = [p for p in posts if int(p["id"]) > int(q["since_id"])]
        if "until_id" in q:
            posts = [p for p in posts if int(p["id"]) < int(q["until_id"])]
        page = st.scenario["page"] or (7 if scenario == "pagination" else 0)
        page = min(mr, page) if page > 0 else mr
        off = 0
        if "pagination_token" in q:
            tok = q["pagination_token"]
            try:
                off = int(tok[len("7140dib"):], 36) if tok.startswith("7140dib") else -1
            except ValueError:
                off = -1
            if off < 0 or off > len(posts):
                raise BadRequest("The `pagination_token` query parameter value [%s] is not valid" % tok)
        chunk = posts[off:off + page]
        private = bool(fields & {"non_public_metrics", "organic_metrics"})
        data, errors = [], []
        for p in chunk:
            renamed = scenario == "renamed"
            t = {"edit_history_post_ids" if renamed else "edit_history_tweet_ids": [p["id"]], "id": p["id"],
                 "text": p["text"]}
            if "created_at" in fields:
                t["created_at"] = iso(p["created"])
            if "public_metrics" in fields:
                t["public_metrics"] = {"repost_count" if renamed else "retweet_count": p["reposts"],
                                       "reply_count": p["replies"],
                                       "like_count": p["likes"], "quote_count": p["quotes"],
                                       "bookmark_count": p["bookmarks"], "impression_count": p["impressions"]}
            if private and a is world.me and p["created"] >= time.time() - 30 * 86400:
                if "non_public_metrics" in fields:
                    t["non_public_metrics"] = {"impression_count": p["impressions"], "url_link_clicks": p["likes"] // 7,
                                               "user_profile_clicks": p["likes"] // 11}
                if "organic_metrics" in fields:
                    t["organic_metrics"] = {"impression_count": p["impressions"], "like_count": p["likes"],
                                            "reply_count": p["replies"], "retweet_count": p["reposts"],
                                            "url_link_clicks": p["likes"] // 7, "user_profile_clicks": p["likes"] // 11}
            data.append(t)
        if private and a is not world.me and chunk:
            errors.append({"parameter": "non_public_metrics", "resource_id": chunk[0]["id"], "value": chunk[0]["id"],
                           "title": "Authorization Error", "resource_type": "tweet", "section": "data",
                           "detail": "Sorry, you are not authorized to access 'non_public_metrics' on the Tweet with ids: [%s]." % chunk[0]["id"],
                           "type": "https://api.twitter.com/2/problems/not-authorized-for-field"})
        if scenario == "partial" and chunk:
            errors.append({"value": chunk[-1]["id"], "detail": "Could not find tweet with id: [%s]." % chunk[-1]["id"],
                           "title": "Not Found Error", "resource_type": "tweet", "parameter": "id",
                           "resource_id": chunk[-1]["id"], "type": "https://api.twitter.com/2/problems/resource-not-found"})
            data = data[:-1]
        meta = {"result_count": len(data)}
        if data:
            meta["newest_id"] = data[0]["id"]
            meta["oldest_id"] = data[-1]["id"]
        if off + page < len(posts):
            meta["next_token"] = "7140dib" + base36(off + page)
        if off > 0:
            meta["previous_token"] = "77qp8" + base36(max(off - page, 0))
        body = {}
        if data:
            body["data"] = data
        if errors:
            body["errors"] = errors
        body["meta"] = meta
        return body


ANALYTICS_FIELDS = {"app_install_attempts", "app_opens", "bookmarks", "detail_expands", "email_tweet",
                    "engagements", "follows", "hashtag_clicks", "id", "impressions", "likes", "media_views",
                    "permalink_clicks", "quote_tweets", "replies", "retweets", "shares", "timestamp",
                    "timestamped_metrics", "unfollows", "unlikes", "url_clicks", "user_profile_clicks"}


def bucket_metrics(pid, granularity, start, keys):
    """The same numbers for the same post and bucket, whoever asks and how often."""
    rnd = random.Random("%s/%s/%d" % (pid, granularity, start))
    m = {k: rnd.randint(0, 50) for k in keys}
    if "impressions" in m:
        m["impressions"] = rnd.randint(0, 5000)
    if "engagements" in m:
        m["engagements"] = sum(m.get(k, 0) for k in ("likes", "retweets", "replies", "quote_tweets",
                                                       "url_clicks", "user_profile_clicks"))
    return m


class BadRequest(Exception):
    pass


class UnknownParameter(Exception):
    """A query parameter the API does not know: 400 with the parameter named (v2 shape)."""

    def __init__(self, name, known):
        Exception.__init__(self, name)
        self.body = {"errors": [{"parameters": {name: [""]},
                                 "message": "The query parameter [%s] is not one of [%s]" % (name, ",".join(known))}],
                     "title": "Invalid Request", "detail": "One or more parameters to your request was invalid.",
                     "type": "https://api.twitter.com/2/problems/invalid-request"}


def base36(n):
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    s = ""
    while True:
        n, r = divmod(n, 36)
        s = digits[r] + s
        if n == 0:
            return s


def hmac_equal(a, b):
    return hashlib.sha256(a.encode()).digest() == hashlib.sha256(b.encode()).digest()


_raw_cache = {}


def fixture_raw(name):
    if name not in _raw_cache:
        with open(os.path.join(FIXTURES, "twitter", name), "rb") as f:
            _raw_cache[name] = f.read()
    return _raw_cache[name]


def user_v2(a, q, scenario="normal"):
    d = {"id": a["id"], "name": a["name"], "username": a["username"]}
    fields = set(q.get("user.fields", "").split(","))
    if "created_at" in fields:
        d["created_at"] = a["created_at"]
    if "public_metrics" in fields:
        # "renamed": OpenAPI 2.167's UserPublicMetrics (post_count; like_count, media_count nullable)
        d["public_metrics"] = {"followers_count": a["followers"], "following_count": a["following"],
                               "post_count" if scenario == "renamed" else "tweet_count": a["tweet_count"],
                               "listed_count": a["listed"],
                               "like_count": a["likes"], "media_count": a["tweet_count"] // 10}
    return d


_V1_TEMPLATE = None


def user_v1(a):
    """The recorded v1.1 user object (users/show Twitter) with this account's values."""
    global _V1_TEMPLATE
    if _V1_TEMPLATE is None:
        _V1_TEMPLATE = fixture("v1.1_users_show_screen_name_Twitter_tweepy.json")
    d = json.loads(json.dumps(_V1_TEMPLATE))
    d.update({"id": int(a["id"]), "id_str": a["id"], "name": a["name"], "screen_name": a["username"],
              "followers_count": a["followers"], "friends_count": a["following"], "listed_count": a["listed"],
              "favourites_count": a["likes"], "statuses_count": a["tweet_count"]})
    d.pop("status", None)
    return d


def tweet_v1(p):
    return {"created_at": v1time(p["created"]), "id": int(p["id"]), "id_str": p["id"], "text": p["text"],
            "truncated": False, "retweet_count": p["reposts"], "favorite_count": p["likes"],
            "favorited": False, "retweeted": False, "lang": "en"}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--config", help="JSON file with consumer_key, consumer_secret, token, token_secret")
    ap.add_argument("--scenario", default="normal")
    ap.add_argument("--on", default="all", help="users, tweets, all, or an endpoint family")
    ap.add_argument("--reset-in", type=int, default=900)
    ap.add_argument("--limit", type=int, default=2)
    ap.add_argument("--page", type=int, default=0, help="page size cap in any scenario (pagination: 7)")
    ap.add_argument("--posts", type=int, default=25, help="posts of every account")
    ap.add_argument("--posts-for", action="append", help="NAME=N posts for one account")
    ap.add_argument("--extra-accounts", type=int, default=0)
    ap.add_argument("--span-days", type=float, default=6.0, help="posts spread over this many days back")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--public-url", help="also accept requests signed for this URL when the Host "
                    "header names its host (e.g. https://api.twitter.com, for clients with a fixed host)")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    cfg = {}
    if args.config:
        with open(args.config) as f:
            cfg = json.load(f)
    args.consumer_key = cfg.get("consumer_key", "")
    args.consumer_secret = cfg.get("consumer_secret", "")
    args.token = cfg.get("token", "")
    args.token_secret = cfg.get("token_secret", "")
    args.bearer_token = cfg.get("bearer_token", "")
    if not (args.consumer_key and args.consumer_secret and args.token and args.token_secret):
        ap.error("--config must give consumer_key, consumer_secret, token, token_secret")
    if args.scenario == "ratelimit_once" and args.reset_in == 900:
        args.reset_in = 2
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    srv.state = State(args)
    port = srv.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, args.port_file)
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
