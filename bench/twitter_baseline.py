#!/usr/bin/python3
"""The original approach, for bench_twitter.sh: what twittergraph did (tweepy + the influxdb
client), extended to the same reads and writes as one scheduled twitter-stats run.

X API v2 with OAuth 1.0a user context through tweepy.Client: GET /2/users/by with
public_metrics, then each account's posts of the last LOOKBACK seconds through
tweepy.Paginator over GET /2/users/:id/tweets (max_results=100, public_metrics and
created_at; non_public_metrics/organic_metrics for the token's own account), into
twitter_user and twitter_post points written with InfluxDBClient.write_points.

tweepy.Client always calls https://api.twitter.com; a requests transport adapter sends
those requests to the stand-in (keeping Host: api.twitter.com, so the stand-in checks the
signature tweepy made for the public URL).

usage: twitter_baseline.py STANDIN_URL INFLUX_HOST INFLUX_PORT DATABASE USERS ALIGN_S LOOKBACK_S
credentials from TWITTER_API_KEY, TWITTER_API_SECRET, TWITTER_ACCESS_TOKEN, TWITTER_ACCESS_SECRET.
Prints "users=N posts=N".
"""
import os
import sys
import time
from datetime import datetime, timedelta, timezone

import requests
import tweepy
from influxdb import InfluxDBClient

PUBLIC = "https://api.twitter.com"


class ToStandin(requests.adapters.HTTPAdapter):
    def __init__(self, target):
        super().__init__()
        self.target = target.rstrip("/")

    def send(self, request, **kwargs):
        request.url = self.target + request.url[len(PUBLIC):]
        request.headers["Host"] = "api.twitter.com"
        return super().send(request, **kwargs)


def main():
    standin, ihost, iport, db, users, align_s, lookback_s = sys.argv[1:8]
    env = os.environ
    token = env["TWITTER_ACCESS_TOKEN"]
    client = tweepy.Client(consumer_key=env["TWITTER_API_KEY"], consumer_secret=env["TWITTER_API_SECRET"],
                           access_token=token, access_token_secret=env["TWITTER_ACCESS_SECRET"])
    client.session.mount(PUBLIC, ToStandin(standin))
    own_id = token.split("-", 1)[0] if "-" in token else ""

    now = time.time()
    align = int(align_s)
    ts = int(now // align * align) * 10**9 if align > 0 else int(now * 1e9)
    start = datetime.now(timezone.utc) - timedelta(seconds=int(lookback_s))

    points = []
    resp = client.get_users(usernames=users.split(","), user_fields=["public_metrics"], user_auth=True)
    for u in resp.data or []:
        m = u.public_metrics
        fields = {"followers": m["followers_count"], "following": m["following_count"],
                  "posts": m["tweet_count"], "listed": m["listed_count"]}
        if "like_count" in m:
            fields["likes"] = m["like_count"]
        points.append({"measurement": "twitter_user", "tags": {"user": u.username, "user_id": str(u.id)},
                       "time": ts, "fields": fields})
    for u in resp.data or []:
        tf = ["created_at", "public_metrics"]
        if str(u.id) == own_id:
            tf += ["non_public_metrics", "organic_metrics"]
        for page in tweepy.Paginator(client.get_users_tweets, u.id, max_results=100, tweet_fields=tf,
                                     start_time=start, user_auth=True):
            for t in page.data or []:
                pm = t.public_metrics or {}
                fields = {}
                for k, src in (("likes", "like_count"), ("reposts", "retweet_count"), ("replies", "reply_count"),
                               ("quotes", "quote_count"), ("impressions", "impression_count"),
                               ("bookmarks", "bookmark_count")):
                    if src in pm:
                        fields[k] = pm[src]
                for priv in (t.organic_metrics, t.non_public_metrics):
                    if priv and "impression_count" in priv:
                        fields["impressions"] = priv["impression_count"]
                if fields:
                    points.append({"measurement": "twitter_post", "tags": {"user": u.username, "post_id": str(t.id)},
                                   "time": ts, "fields": fields})

    influx = InfluxDBClient(host=ihost, port=int(iport), database=db)
    influx.create_database(db)
    influx.write_points(points, time_precision="n", batch_size=5000)
    n_users = sum(1 for p in points if p["measurement"] == "twitter_user")
    print("users=%d posts=%d" % (n_users, len(points) - n_users))


if __name__ == "__main__":
    main()
