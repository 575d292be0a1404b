/* The InfluxDB writer's choice of API and its reading of InfluxDB 3 answers, against the
 * recordings in tests/fixtures/influxdb/ (ping_headers_docs.json,
 * v3_write_lp_partial_error_*.json; sources in tests/fixtures/SOURCES.md). */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../store/influx.h"

/* ------------------------------------------------------------ /ping -> API */

static void test_api_from_ping(void)
{
    struct {
        const char *name;
        long status;
        const char *version, *build, *cluster, *ctype, *body;
        int want;
        const char *server;
    } cases[] = {
        /* v1 GET /ping: 204, X-Influxdb-Version 1.6.7 (no v), X-Influxdb-Build OSS */
        { "1.6.7 OSS", 204, "1.6.7", "OSS", "", "application/json", "", 1,
          "InfluxDB 1.6.7 OSS" },
        { "1.7.4 observed", 204, "1.7.4", "OSS", "", "application/json", "", 1, NULL },
        { "Enterprise 1.x (ENT)", 204, "1.11.8", "ENT", "", "", "", 1, NULL },
        /* v1.8+ ?verbose=true answers 200 {"version":..} */
        { "1.8 verbose ping", 200, "1.8.10", "OSS", "", "application/json",
          "{\"version\":\"1.8.10\"}", 1, NULL },
        /* v1.8+ with ping-auth-enabled: 401 keeps the X-Influxdb-* headers */
        { "1.8 ping-auth 401", 401, "1.8.10", "OSS", "", "application/json",
          "{\"error\":\"unable to parse authentication credentials\"}\n", 1, NULL },
        /* v2: 204; 2.2+ 'v2.7.12', 2.0.x-2.1.x '2.1.1', 2.0.8 empty, Cloud 2 none */
        { "2.7.12", 204, "v2.7.12", "OSS", "", "", "", 2, "InfluxDB 2.7.12 OSS" },
        { "2.1.1 no v", 204, "2.1.1", "OSS", "", "", "", 2, NULL },
        { "2.0.8 empty version", 204, "", "OSS", "", "", "", 2, NULL },
        { "Cloud 2: no version header", 204, "", "", "", "", "", 2, NULL },
        /* v3.10.1: 200 JSON product_name first, X-Influxdb-Build Core */
        { "3.10.1 Core", 200, "3.10.1", "Core", "0197a0b2-uuid", "application/json",
          "{\"product_name\":\"InfluxDB 3 Core\",\"version\":\"3.10.1\",\"revision\":\"ff6872a\","
          "\"process_id\":\"0197\"}", 3, "InfluxDB 3 Core 3.10.1" },
        { "3.x Enterprise", 200, "3.8.0", "Enterprise", "", "application/json",
          "{\"version\":\"3.8.0\",\"revision\":\"abc123def\",\"process_id\":\"...\"}", 3,
          "InfluxDB 3.8.0 Enterprise" },
        /* 3.0.0/3.0.1: {"version","revision"} and no X-Influxdb-* headers */
        { "3.0.1 no headers", 200, "", "", "", "application/json",
          "{\"version\":\"3.0.1\",\"revision\":\"d1a2b3\"}", 3, "InfluxDB 3 3.0.1" },
        /* 3.x with auth on, no token: 401 with cluster-uuid, no X-Influxdb-* */
        { "3.x 401 without token", 401, "", "", "0197a0b2-uuid", "",
          "{\"error\": \"the request was not authenticated\"}", 3, NULL },
        /* not InfluxDB */
        { "404 page", 404, "", "", "", "text/plain", "404 page not found\n", 0, "" },
        { "200 html from a proxy", 200, "", "", "", "text/html", "<html></html>", 0, "" },
        { "401 without any InfluxDB header", 401, "", "", "", "", "", 0, "" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char server[160];
        int api = influx_api_from_ping(cases[i].status, cases[i].version, cases[i].build,
                                       cases[i].cluster, cases[i].ctype, cases[i].body,
                                       strlen(cases[i].body), server, sizeof server);
        CHECK(api == cases[i].want, "%s: api %d want %d", cases[i].name, api, cases[i].want);
        if (cases[i].server)
            CHECK_STREQ(server, cases[i].server, cases[i].name);
    }
}

/* /ping said 204 with no version: GET /health (ping_headers_docs.json "GET /health") */
static void test_api_from_health(void)
{
    static const char v2_0_1[] =
        "{\"name\":\"influxdb\", \"message\":\"ready for queries and writes\", "
        "\"status\":\"pass\", \"checks\":[], \"version\": \"2.0.1\", \"commit\": "
        "\"37cc047133\"}\n";
    static const char v1_8_3[] =
        "{\"checks\":[],\"message\":\"ready for queries and writes\",\"name\":\"influxdb\","
        "\"status\":\"pass\",\"version\":\"1.8.3\"}";
    static const struct {
        const char *name;
        long status;
        const char *ctype, *body;
        int want;
        const char *version;
    } cases[] = {
        { "2.0.1 observed (spaces, newline)", 200, "application/json; charset=utf-8", v2_0_1, 2,
          "2.0.1" },
        { "2.7.12 with a leading v", 200, "application/json; charset=utf-8",
          "{\"name\":\"influxdb\", \"status\":\"pass\", \"version\": \"v2.7.12\"}", 2,
          "v2.7.12" },
        { "1.8.3 observed (keys sorted)", 200, "application/json", v1_8_3, 1, "1.8.3" },
        { "1.6/1.7: no /health", 404, "text/plain; charset=utf-8", "404 page not found\n", 0,
          "" },
        { "3.x: plain OK", 200, "text/plain; charset=utf-8", "OK", 0, "" },
        { "2.x unhealthy 503", 503, "application/json; charset=utf-8",
          "{\"name\":\"influxdb\", \"status\":\"fail\", \"version\": \"2.0.8\"}", 0, "" },
        { "JSON of another product", 200, "application/json",
          "{\"name\":\"questdb\",\"version\":\"2.1.0\"}", 0, "" },
        { "no version", 200, "application/json", "{\"name\":\"influxdb\"}", 0, "" },
        { "version 3 is not a /health answer to trust", 200, "application/json",
          "{\"name\":\"influxdb\",\"version\":\"3.1.0\"}", 0, "" },
        { "not JSON", 200, "application/json", "{\"name\":", 0, "" },
        { "an array", 200, "application/json", "[1,2]", 0, "" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char version[64] = "x";
        int api = influx_api_from_health(cases[i].status, cases[i].ctype, cases[i].body,
                                         strlen(cases[i].body), version, sizeof version);
        CHECK(api == cases[i].want, "%s: api %d want %d", cases[i].name, api, cases[i].want);
        CHECK_STREQ(version, cases[i].version, cases[i].name);
    }
    char tiny[4] = "x";
    CHECK(influx_api_from_health(200, "application/json", v2_0_1, strlen(v2_0_1), tiny,
                                 sizeof tiny) == 2 && tiny[0] == '\0',
          "a version that does not fit: api 2, version empty");
}

/* ------------------------------------------------------------ 3.x line errors */

static json_t *load_fixture(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/influxdb/%s", th_fixtures(), name);
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    CHECK(j != NULL, "%s: %s", path, je.text);
    return j;
}

static json_t *fixture_case(json_t *root, const char *id)
{
    json_t *cases = json_object_get(root, "cases");
    for (size_t i = 0; i < json_array_size(cases); i++) {
        json_t *c = json_array_get(cases, i);
        const char *cid = json_string_value(json_object_get(c, "id"));
        if (cid && strcmp(cid, id) == 0)
            return c;
    }
    CHECK(0, "fixture case %s missing", id);
    return NULL;
}

static const char *case_body(json_t *c)
{
    return json_string_value(json_object_get(json_object_get(c, "response"), "body"));
}

static void test_classify_v3(void)
{
    json_t *partial = load_fixture("v3_write_lp_partial_error_accept_partial_true.json");
    json_t *rejected = load_fixture("v3_write_lp_partial_error_rejected.json");
    if (!partial || !rejected) {
        json_decref(partial);
        json_decref(rejected);
        return;
    }
    struct {
        const char *name;
        json_t *file;
        const char *id;
        size_t nlines;
        size_t want_index;
        const char *reason_has;
    } cases[] = {
        /* request body "cpu,host=b val=2 155\ncpu,host=a val= 123\ncpu,host=b val=5 199" */
        { "partial, line 2 has no fields", partial, "source_test_no_fields_line2", 3, 1,
          "line 2: No fields were provided (InfluxDB 3 saw: cpu,host=a val= 123)" },
        { "partial, type conflict, original_line cut to 20 bytes", partial,
          "source_derived_truncation_and_type_conflict", 2, 1,
          "line 2: invalid column type for column 'temp'" },
        { "rejected at line 1 (data is an object)", rejected, "source_test_no_fields_line1", 3,
          0, "line 1: No fields were provided" },
        { "rejected, 3.0-3.5 key order", rejected, "same_request_v3_0_to_3_5", 3, 0,
          "line 1: No fields were provided" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *c = fixture_case(cases[i].file, cases[i].id);
        const char *body = c ? case_body(c) : NULL;
        CHECK(body != NULL, "%s: body", cases[i].name);
        if (!body)
            continue;
        influx_result res;
        memset(&res, 0, sizeof res);
        int rc = influx_classify_v3(body, strlen(body), cases[i].nlines, &res);
        CHECK(rc == 1 && res.outcome == INFLUX_PARTIAL && res.nbad == 1, "%s: rc %d nbad %zu",
              cases[i].name, rc, res.nbad);
        if (res.nbad == 1) {
            CHECK(res.bad[0].index == cases[i].want_index, "%s: index %zu", cases[i].name,
                  res.bad[0].index);
            CHECK(strstr(res.bad[0].reason, cases[i].reason_has) != NULL, "%s: reason [%s]",
                  cases[i].name, res.bad[0].reason);
        }
        influx_result_free(&res);
    }

    /* several lines, one out of range, one repeated: named once each, ascending */
    const char *many = "{\"error\":\"partial write of line protocol occurred\",\"data\":["
                       "{\"error_message\":\"b\",\"line_number\":4,\"original_line\":\"x\"},"
                       "{\"error_message\":\"a\",\"line_number\":2,\"original_line\":\"y\"},"
                       "{\"error_message\":\"c\",\"line_number\":9,\"original_line\":\"z\"},"
                       "{\"error_message\":\"b\",\"line_number\":4,\"original_line\":\"x\"}]}";
    influx_result res;
    memset(&res, 0, sizeof res);
    CHECK(influx_classify_v3(many, strlen(many), 5, &res) == 1 && res.nbad == 2 &&
              res.bad[0].index == 1 && res.bad[1].index == 3,
          "several lines: nbad %zu", res.nbad);
    influx_result_free(&res);

    /* not the 3.x shape: 1.x/2.x bodies and plain text are left to influx_classify_400 */
    const char *others[] = {
        "{\"error\":\"partial write: unable to parse 'cpu': missing fields dropped=0\"}\n",
        "{\"code\":\"invalid\",\"message\":\"unable to parse 'cpu': missing fields\"}",
        "incoming write was empty",
        "{\"error\":\"db name did not start with a number or letter\"}",
        "{\"error\":\"x\",\"data\":[{\"error_message\":\"no line number\"}]}",
    };
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        memset(&res, 0, sizeof res);
        CHECK(influx_classify_v3(others[i], strlen(others[i]), 3, &res) == 0 && res.nbad == 0 &&
                  res.bad == NULL,
              "not 3.x shape: %s", others[i]);
    }
    json_decref(partial);
    json_decref(rejected);
}

/* ------------------------------------------------------------ INFLUXDB_API */

static const char *const ENV_NAMES[] = {
    "INFLUXDB_URL", "INFLUXDB_HOST", "INFLUXDB_DATABASE", "INFLUXDB_USERNAME",
    "INFLUXDB_PASSWORD", "INFLUXDB_TOKEN", "INFLUXDB_TOKEN_FILE", "INFLUXDB_ORG",
    "INFLUXDB_BUCKET", "INFLUXDB_API", "INFLUXDB_NO_SYNC", "INFLUXDB_RETENTION_POLICY", NULL,
};

static void test_cfg_api(void)
{
    struct {
        const char *name, *env;
        int rc, api;
        influx_api_from from;
        const char *db, *err_has, *describe;
        int no_sync;
    } cases[] = {
        { "no token: 1.x", "INFLUXDB_DATABASE=d", 1, 1, INFLUX_API_FROM_NO_TOKEN, "d", NULL, NULL, 0 },
        { "org: 2.x", "INFLUXDB_TOKEN=tokSECRET;INFLUXDB_ORG=o;INFLUXDB_BUCKET=b", 1, 2,
          INFLUX_API_FROM_ORG, "", NULL, NULL, 0 },
        { "token alone: /ping decides", "INFLUXDB_TOKEN=tokSECRET;INFLUXDB_DATABASE=d", 1, 0,
          INFLUX_API_FROM_PING, "d", NULL, NULL, 0 },
        { "INFLUXDB_API=3, database", "INFLUXDB_API=3;INFLUXDB_TOKEN=tokSECRET;"
          "INFLUXDB_DATABASE=d", 1, 3, INFLUX_API_FROM_ENV, "d",
          .describe = "http://h:8181 db=d (3.x API)" },
        { "INFLUXDB_API=3, the bucket as database", "INFLUXDB_API=3;INFLUXDB_BUCKET=b", 1, 3,
          INFLUX_API_FROM_ENV, "b", NULL, NULL, 0 },
        { "INFLUXDB_API=3 with no_sync", "INFLUXDB_API=3;INFLUXDB_DATABASE=d;"
          "INFLUXDB_NO_SYNC=1", 1, 3, INFLUX_API_FROM_ENV, "d", .no_sync = 1 },
        { "INFLUXDB_API=3 without a database", "INFLUXDB_API=3;INFLUXDB_TOKEN=tokSECRET", -1,
          .err_has = "INFLUXDB_DATABASE" },
        { "INFLUXDB_API=1 with a token", "INFLUXDB_API=1;INFLUXDB_TOKEN=tokSECRET;"
          "INFLUXDB_DATABASE=d", 1, 1, INFLUX_API_FROM_ENV, "d", NULL, NULL, 0 },
        { "INFLUXDB_API=auto", "INFLUXDB_API=auto;INFLUXDB_TOKEN=tokSECRET;INFLUXDB_DATABASE=d",
          1, 0, INFLUX_API_FROM_PING, "d", NULL, NULL, 0 },
        { "INFLUXDB_API=4", "INFLUXDB_API=4;INFLUXDB_DATABASE=d", -1, .err_has = "INFLUXDB_API" },
        { "INFLUXDB_API=2 without a token", "INFLUXDB_API=2;INFLUXDB_ORG=o;INFLUXDB_BUCKET=b",
          -1, .err_has = "INFLUXDB_TOKEN" },
        { "token, no name at all", "INFLUXDB_TOKEN=tokSECRET", -1,
          .err_has = "INFLUXDB_DATABASE" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int k = 0; ENV_NAMES[k]; k++)
            unsetenv(ENV_NAMES[k]);
        setenv("INFLUXDB_URL", "http://h:8181", 1);
        char spec[512];
        snprintf(spec, sizeof spec, "%s", cases[i].env);
        for (char *p = spec, *next; p && *p; p = next) {
            next = strchr(p, ';');
            if (next)
                *next++ = '\0';
            char *eq = strchr(p, '=');
            if (eq) {
                *eq = '\0';
                setenv(p, eq + 1, 1);
            }
        }
        influx_cfg c;
        char err[INFLUX_ERR_MAX] = "";
        int rc = influx_cfg_from_env(&c, err, sizeof err);
        CHECK(rc == cases[i].rc, "%s: rc %d (%s)", cases[i].name, rc, err);
        CHECK(!strstr(err, "tokSECRET"), "%s: secret in err", cases[i].name);
        if (rc < 0) {
            CHECK(strstr(err, cases[i].err_has) != NULL, "%s: err [%s]", cases[i].name, err);
            continue;
        }
        CHECK(c.api == cases[i].api && c.api_from == cases[i].from, "%s: api %d from %d",
              cases[i].name, c.api, (int)c.api_from);
        CHECK_STREQ(c.database, cases[i].db, cases[i].name);
        CHECK(c.no_sync == cases[i].no_sync, "%s: no_sync %d", cases[i].name, c.no_sync);
        if (cases[i].describe) {
            char d[700];
            CHECK_STREQ(influx_cfg_describe(&c, d, sizeof d), cases[i].describe, cases[i].name);
        }
        influx_cfg_wipe(&c);
    }
    for (int k = 0; ENV_NAMES[k]; k++)
        unsetenv(ENV_NAMES[k]);
}

int main(void)
{
    test_api_from_ping();
    test_api_from_health();
    test_classify_v3();
    test_cfg_api();
    return th_summary("test_influx");
}
