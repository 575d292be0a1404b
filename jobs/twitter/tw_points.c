/* tw_points: what a user or a post becomes (see tw.h and DESIGN.md "Points written"). */
#include <string.h>

#include "tw.h"

static void point_init(tw_pt *o, const char *measurement, int64_t t_ns)
{
    memset(o, 0, sizeof *o);
    o->pt.measurement = measurement;
    o->pt.tags = o->tags;
    o->pt.fields = o->fields;
    o->pt.time_ns = t_ns;
    o->pt.has_time = true;
}

size_t tw_user_points(const tw_user *u, const char *user_tag, tw_schema schema, int64_t t_ns,
                      tw_pt out[5])
{
    static const struct {
        unsigned bit;
        const char *field;          /* cronflux schema */
        const char *graph;          /* twittergraph measurement */
        size_t off;
    } map[] = {
        { TW_U_FOLLOWERS, "followers", "followers_count", offsetof(tw_user, followers) },
        { TW_U_FOLLOWING, "following", "friends_count", offsetof(tw_user, following) },
        { TW_U_LISTED, "listed", "listed_count", offsetof(tw_user, listed) },
        { TW_U_LIKES, "likes", "favourites_count", offsetof(tw_user, likes) },
        { TW_U_POSTS, "posts", "statuses_count", offsetof(tw_user, posts) },
        { TW_U_MEDIA, "media", NULL, offsetof(tw_user, media) },   /* not in twittergraph */
    };
    const char *tag = user_tag && *user_tag ? user_tag : u->username;
    if (schema == TW_SCHEMA_TWITTERGRAPH) {
        size_t n = 0;
        for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
            if (!(u->have & map[i].bit) || !map[i].graph)
                continue;
            tw_pt *o = &out[n++];
            point_init(o, map[i].graph, t_ns);
            o->tags[0] = (lp_tag){ "user", tag };
            o->pt.ntags = 1;
            o->fields[0] = lp_f_int("value", *(const int64_t *)((const char *)u + map[i].off));
            o->pt.nfields = 1;
        }
        return n;
    }
    tw_pt *o = &out[0];
    point_init(o, "twitter_user", t_ns);
    o->tags[0] = (lp_tag){ "user", tag };
    o->tags[1] = (lp_tag){ "user_id", u->id };
    o->pt.ntags = 2;
    size_t nf = 0;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (u->have & map[i].bit)
            o->fields[nf++] = lp_f_int(map[i].field, *(const int64_t *)((const char *)u + map[i].off));
    o->pt.nfields = nf;
    return nf ? 1 : 0;
}

int tw_post_point(const tw_post *p, const char *user_tag, int64_t t_ns, tw_pt *out)
{
    static const struct {
        unsigned bit;
        const char *field;
        size_t off;
    } map[] = {
        { TW_P_LIKES, "likes", offsetof(tw_post, likes) },
        { TW_P_REPOSTS, "reposts", offsetof(tw_post, reposts) },
        { TW_P_REPLIES, "replies", offsetof(tw_post, replies) },
        { TW_P_QUOTES, "quotes", offsetof(tw_post, quotes) },
        { TW_P_IMPRESSIONS, "impressions", offsetof(tw_post, impressions) },
        { TW_P_BOOKMARKS, "bookmarks", offsetof(tw_post, bookmarks) },
    };
    point_init(out, "twitter_post", t_ns);
    out->tags[0] = (lp_tag){ "user", user_tag };
    out->tags[1] = (lp_tag){ "post_id", p->id };
    out->pt.ntags = 2;
    size_t nf = 0;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (p->have & map[i].bit)
            out->fields[nf++] = lp_f_int(map[i].field, *(const int64_t *)((const char *)p + map[i].off));
    out->pt.nfields = nf;
    return nf ? 1 : 0;
}

void tw_usage_point(const tw_bill_line *l, int64_t t_ns, tw_pt *out)
{
    point_init(out, "twitter_usage", t_ns);
    out->tags[0] = (lp_tag){ "endpoint", l->endpoint };
    out->tags[1] = (lp_tag){ "owned", l->owned ? "true" : "false" };
    out->pt.ntags = 2;
    out->fields[0] = lp_f_int("requests", l->requests);
    out->fields[1] = lp_f_int("resources", l->resources);
    out->fields[2] = lp_f_int("billable", l->billable);
    out->fields[3] = lp_f_float("cost_usd", l->cost_usd);
    out->pt.nfields = 4;
}

int tw_project_usage_point(const tw_usage *u, int64_t t_ns, tw_pt *out)
{
    point_init(out, "twitter_project_usage", t_ns);
    if (u->project_id[0]) {
        out->tags[0] = (lp_tag){ "project_id", u->project_id };
        out->pt.ntags = 1;
    }
    size_t nf = 0;
    if (u->has_usage)
        out->fields[nf++] = lp_f_int("usage", u->usage);
    if (u->has_cap)
        out->fields[nf++] = lp_f_int("cap", u->cap);
    if (u->has_reset_day)
        out->fields[nf++] = lp_f_int("cap_reset_day", u->cap_reset_day);
    out->pt.nfields = nf;
    return nf ? 1 : 0;
}

int tw_analytics_point(const tw_an_bucket *b, const char *user, const char *granularity,
                       tw_an_pt *out)
{
    memset(out, 0, sizeof *out);
    out->pt.measurement = "twitter_post_analytics";
    out->pt.tags = out->tags;
    out->pt.fields = out->fields;
    out->pt.time_ns = b->t_ns;
    out->pt.has_time = true;
    out->tags[0] = (lp_tag){ "user", user };
    out->tags[1] = (lp_tag){ "post_id", b->post_id };
    out->tags[2] = (lp_tag){ "granularity", granularity };
    out->pt.ntags = 3;
    size_t nf = 0;
    for (unsigned i = 0; i < TW_AN_METRICS; i++)
        if (b->have & ((uint32_t)1 << i))
            out->fields[nf++] = lp_f_int(tw_an_fields[i], b->v[i]);
    out->pt.nfields = nf;
    return nf ? 1 : 0;
}
