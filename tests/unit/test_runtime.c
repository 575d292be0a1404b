/* Unit tests for runtime: tparse, cfg, buf, jsonu, cli, log. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <lz4.h>
#include <zlib.h>

#include "../../runtime/buf.h"
#include "../../runtime/cfg.h"
#include "../../runtime/cli.h"
#include "../../runtime/errf.h"
#include "../../runtime/gz.h"
#include "../../runtime/jsonu.h"
#include "../../runtime/lz.h"
#include "../../runtime/log.h"
#include "../../runtime/tparse.h"
#include "../../runtime/util.h"
#include "harness.h"
#include "../../runtime/clock.h"

#define S(x) ((int64_t)(x) * TPARSE_NS_PER_S)
#define NOW S(1793491200) /* 2026-11-01T00:00:00Z, the "now" of every relative case */
#define MIN_ (INT64_C(60) * TPARSE_NS_PER_S)
#define HOUR (60 * MIN_)
#define DAY (24 * HOUR)

/* ---- tparse_time ---------------------------------------------------------------------- */

static void test_times(void)
{
    static const struct {
        const char *in;
        int64_t want;
    } ok[] = {
        { "2026-11-01T00:00:00Z", S(1793491200) },
        { "2026-11-01t00:00:00z", S(1793491200) },
        { "2026-11-01 00:00:00Z", S(1793491200) },
        { "2026-11-01", S(1793491200) },
        { "2026-11-01T00:00:00.5+02:00", S(1793491200) - 2 * HOUR + 500000000 },
        { "2026-11-01T05:30:00+05:30", S(1793491200) },
        { "2026-10-31T16:00:00-08:00", S(1793491200) },
        { "2026-11-01T00:00:00+00:00", S(1793491200) },
        { "2026-11-01T00:00:00-00:00", S(1793491200) },
        { "2026-11-01T00:00:00.123456789Z", S(1793491200) + 123456789 },
        { "2026-11-01T00:00:00.1234567899Z", S(1793491200) + 123456789 },
        { "2026-11-01T00:00:00.001Z", S(1793491200) + 1000000 },
        { "2026-11-01T00:00:00,25Z", S(1793491200) + 250000000 },
        { "2024-02-29T12:00:00Z", S(1709208000) },
        { "2000-01-01T00:00:00Z", S(946684800) },
        { "1970-01-01T00:00:00Z", 0 },
        { "1969-12-31T23:59:59Z", S(-1) },
        { "1969-07-20T20:17:40Z", S(-14182940) },
        { "2016-12-31T23:59:60Z", S(1483228800) }, /* leap second rolls over */
        { "2262-04-11T23:47:16.854775807Z", INT64_MAX },
        { "1677-09-21T00:12:43.145224192Z", INT64_MIN },
        { "1700000000", S(1700000000) },
        { "1700000000.25", S(1700000000) + 250000000 },
        { "0", 0 },
        { "9223372036", S(INT64_C(9223372036)) },
        { "now", NOW },
        { "-7d", NOW - 7 * DAY },
        { "-36h", NOW - 36 * HOUR },
        { "-90m", NOW - 90 * MIN_ },
        { "-30s", NOW - S(30) },
        { "-1h30m", NOW - HOUR - 30 * MIN_ },
        { "-2w", NOW - 14 * DAY },
        { "+1h", NOW + HOUR },
        { "-0s", NOW },
        { "-1.5d", NOW - DAY - 12 * HOUR },
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t got = -42;
        char err[256] = "";
        int rc = tparse_time(ok[i].in, NOW, &got, err, sizeof err);
        CHECK(rc == 0, "tparse_time(%s): rc %d: %s", ok[i].in, rc, err);
        CHECK(got == ok[i].want, "tparse_time(%s) = %lld, want %lld", ok[i].in, (long long)got,
              (long long)ok[i].want);
    }

    static const struct {
        const char *in;
        const char *why; /* substring of the error */
    } bad[] = {
        { "", "empty" },
        { "yesterday", "not a time" },
        { "2026-13-01T00:00:00Z", "month 13" },
        { "2026-00-10T00:00:00Z", "month 00" },
        { "2026-02-29T00:00:00Z", "day 29" },
        { "2026-04-31T00:00:00Z", "day 31" },
        { "2026-11-01T24:00:00Z", "out of range" },
        { "2026-11-01T00:60:00Z", "out of range" },
        { "2026-11-01T00:00:00", "missing time zone" },
        { "2026-11-01T00:00:00+0200", "offset" },
        { "2026-11-01T00:00:00+24:00", "offset" },
        { "2026-11-01T00:00Z", "HH:MM:SS" },
        { "2026-11-01T00:00:00Zjunk", "trailing" },
        { "2026-11-01T00:00:00.Z", "digits after" },
        { "2026-11-01X00:00:00Z", "'T'" },
        { "26-11-01T00:00:00Z", "not a time" },
        { "2262-04-11T23:47:16.854775808Z", "range" },
        { "1677-09-21T00:12:43.145224191Z", "range" },
        { "9999-12-31T23:59:59Z", "range" },
        { "0000-01-01T00:00:00Z", "range" },
        { "9223372037", "range" },
        { "99999999999999999999999", "range" },
        { "1700000000x", "Unix" },
        { "1700000000.", "digits after" },
        { "-7", "missing unit" },
        { "-7x", "unknown unit" },
        { "-", "empty" },
        { "-d", "expected a number" },
        { "-200000d", "too large" },
        { "now+1h", "not a time" },
        { " 1700000000", "not a time" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t got = 7;
        char err[256] = "";
        int rc = tparse_time(bad[i].in, NOW, &got, err, sizeof err);
        CHECK(rc == -1, "tparse_time(%s) should fail, got %lld", bad[i].in, (long long)got);
        CHECK(got == 7, "tparse_time(%s) wrote the output on failure", bad[i].in);
        CHECK(strstr(err, bad[i].why) != NULL, "tparse_time(%s): error [%s] lacks [%s]",
              bad[i].in, err, bad[i].why);
        if (bad[i].in[0])
            CHECK(strstr(err, bad[i].in) != NULL, "tparse_time(%s): error [%s] does not quote it",
                  bad[i].in, err);
    }

    /* relative times that leave the int64 range */
    int64_t got;
    char err[256];
    CHECK(tparse_time("-1s", INT64_MIN + 5, &got, err, sizeof err) == -1 &&
              strstr(err, "range"),
          "relative underflow: %s", err);
    CHECK(tparse_time("+1s", INT64_MAX - 5, &got, err, sizeof err) == -1 &&
              strstr(err, "range"),
          "relative overflow: %s", err);
    /* a small error buffer is cut, never overrun */
    char tiny[8];
    memset(tiny, 'x', sizeof tiny);
    CHECK(tparse_time("garbage", NOW, &got, tiny, sizeof tiny) == -1 && strlen(tiny) == 7,
          "tiny error buffer: [%s]", tiny);
    CHECK(tparse_time("garbage", NOW, &got, NULL, 0) == -1, "NULL error buffer");
}

/* ---- tparse_duration ------------------------------------------------------------------ */

static void test_durations(void)
{
    static const struct {
        const char *in;
        int64_t want;
    } ok[] = {
        { "30s", S(30) },
        { "5m", 5 * MIN_ },
        { "1h", HOUR },
        { "7d", 7 * DAY },
        { "2w", 14 * DAY },
        { "1h30m", HOUR + 30 * MIN_ },
        { "1d12h", DAY + 12 * HOUR },
        { "1h0m0s", HOUR },
        { "1.5h", HOUR + 30 * MIN_ },
        { ".5s", 500000000 },
        { "0.001s", 1000000 },
        { "100ms", 100000000 },
        { "250us", 250000 },
        { "250\xc2\xb5s", 250000 },
        { "10ns", 10 },
        { "1ns", 1 },
        { "1m1ms1us1ns", MIN_ + 1000000 + 1000 + 1 },
        { "0s1ns", 1 },
        { "9223372036854775807ns", INT64_MAX },
        { "15250w", INT64_C(15250) * 7 * DAY },
        { "1.000000000000000000001s", S(1) },
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t got = -42;
        char err[256] = "";
        int rc = tparse_duration(ok[i].in, &got, err, sizeof err);
        CHECK(rc == 0, "tparse_duration(%s): rc %d: %s", ok[i].in, rc, err);
        CHECK(got == ok[i].want, "tparse_duration(%s) = %lld, want %lld", ok[i].in,
              (long long)got, (long long)ok[i].want);
    }

    static const struct {
        const char *in;
        const char *why;
    } bad[] = {
        { "", "empty" },
        { "0s", "greater than zero" },
        { "0h0m", "greater than zero" },
        { "5", "missing unit" },
        { "1h30", "missing unit" },
        { "5x", "unknown unit \"x\"" },
        { "5 m", "unknown unit" },
        { "5M", "unknown unit" },
        { "-5m", "positive" },
        { "+5m", "positive" },
        { "h", "expected a number" },
        { "1h 30m", "expected a number" },
        { "1..5h", "unknown unit" },
        { "9223372036854775808ns", "too large" },
        { "15251w", "too large" },
        { "99999999999999999999s", "too large" },
        { "9223372036854775807ns1ns", "too large" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t got = 7;
        char err[256] = "";
        int rc = tparse_duration(bad[i].in, &got, err, sizeof err);
        CHECK(rc == -1 && got == 7, "tparse_duration(%s) should fail, got %lld", bad[i].in,
              (long long)got);
        CHECK(strstr(err, bad[i].why) != NULL, "tparse_duration(%s): error [%s] lacks [%s]",
              bad[i].in, err, bad[i].why);
        CHECK(strncmp(err, "duration", 8) == 0, "tparse_duration(%s): error [%s]", bad[i].in,
              err);
    }
}

/* ---- tparse_align / tparse_format ----------------------------------------------------- */

static void test_align_format(void)
{
    static const struct {
        int64_t t, a, want;
    } al[] = {
        { S(1793491234) + 5, MIN_, S(1793491200) + 0 * MIN_ + 0 + 0 },
        { S(1793491200) + 59 * MIN_ + S(59), HOUR, S(1793491200) },
        { S(1793491200) + HOUR, HOUR, S(1793491200) + HOUR },
        { S(1793491200) + HOUR - 1, HOUR, S(1793491200) },
        { S(1793491200) + 13 * HOUR, DAY, S(1793491200) },
        { S(1793491299), 5 * MIN_, S(1793491200) },
        { 12345, 0, 12345 },
        { 12345, -10, 12345 },
        { -1, 10, -10 },
        { -10, 10, -10 },
        { -11, 10, -20 },
        { 0, HOUR, 0 },
        { INT64_MAX, S(1), INT64_MAX - INT64_MAX % S(1) },
    };
    for (size_t i = 0; i < sizeof al / sizeof al[0]; i++) {
        int64_t got = tparse_align(al[i].t, al[i].a);
        CHECK(got == al[i].want, "tparse_align(%lld, %lld) = %lld, want %lld", (long long)al[i].t,
              (long long)al[i].a, (long long)got, (long long)al[i].want);
    }

    static const struct {
        int64_t ns;
        const char *want;
    } fm[] = {
        { 0, "1970-01-01T00:00:00Z" },
        { -1, "1969-12-31T23:59:59Z" },
        { S(-1), "1969-12-31T23:59:59Z" },
        { S(1793491200) + 999999999, "2026-11-01T00:00:00Z" },
        { S(1709208000), "2024-02-29T12:00:00Z" },
        { INT64_MAX, "2262-04-11T23:47:16Z" },
        { INT64_MIN, "1677-09-21T00:12:43Z" },
    };
    for (size_t i = 0; i < sizeof fm / sizeof fm[0]; i++) {
        char out[32];
        char *r = tparse_format(fm[i].ns, out, sizeof out);
        CHECK(r == out, "tparse_format returns out");
        CHECK_STREQ(out, fm[i].want, "tparse_format");
    }
    char small[10] = "zzz";
    tparse_format(0, small, sizeof small);
    CHECK_STREQ(small, "", "tparse_format into a too-small buffer");

    /* round trips: format(parse(s)) == s */
    static const char *const rt[] = { "2026-11-01T00:00:00Z", "1999-12-31T23:59:59Z",
                                      "2024-02-29T00:00:01Z", "1960-03-01T10:00:00Z" };
    for (size_t i = 0; i < sizeof rt / sizeof rt[0]; i++) {
        int64_t t;
        char err[128], out[32];
        CHECK(tparse_time(rt[i], 0, &t, err, sizeof err) == 0, "%s: %s", rt[i], err);
        CHECK_STREQ(tparse_format(t, out, sizeof out), rt[i], "round trip");
    }

    int64_t a = clock_real_ns(), b = clock_real_ns();
    CHECK(a > S(1700000000) && b >= a - S(1), "clock_real_ns is wall-clock time: %lld",
          (long long)a);
    int64_t m1 = clock_mono_ns(), m2 = clock_mono_ns();
    CHECK(m1 > 0 && m2 >= m1, "clock_mono_ns does not go back: %lld %lld", (long long)m1,
          (long long)m2);
}

/* ---- cfg ------------------------------------------------------------------------------ */

static char tmpdir[256];

static void write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
        exit(2);
    }
    if (len && fwrite(data, 1, len, f) != len) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
    fclose(f);
}

static void test_cfg(void)
{
    char err[512];
    char out[64];
    char path[512];
    const char *secret = "hunter2-Sup3rSecret";

    /* cfg_env treats "" as unset */
    setenv("CF_T_PLAIN", "", 1);
    CHECK(cfg_env("CF_T_PLAIN") == NULL, "cfg_env of an empty value");
    setenv("CF_T_PLAIN", "v", 1);
    CHECK_STREQ(cfg_env("CF_T_PLAIN"), "v", "cfg_env");
    unsetenv("CF_T_UNSET");
    CHECK(cfg_env("CF_T_UNSET") == NULL, "cfg_env of an unset name");
    setenv("CF_T_EMPTY", "", 1);

    /* the secret from the environment */
    unsetenv("CF_T_TOKEN_FILE");
    setenv("CF_T_TOKEN", secret, 1);
    CHECK(cfg_secret("CF_T_TOKEN", out, sizeof out, err, sizeof err) == 1, "env secret");
    CHECK_STREQ(out, secret, "env secret");

    /* neither set */
    unsetenv("CF_T_TOKEN");
    memset(out, 'x', sizeof out);
    CHECK(cfg_secret("CF_T_TOKEN", out, sizeof out, err, sizeof err) == 0 && out[0] == '\0',
          "unset secret gives 0 and \"\"");
    setenv("CF_T_TOKEN", "", 1);
    CHECK(cfg_secret("CF_T_TOKEN", out, sizeof out, err, sizeof err) == 0, "empty env is unset");
    unsetenv("CF_T_TOKEN");

    /* from a file: one trailing newline (LF or CRLF) removed, nothing else */
    static const struct {
        const char *contents;
        const char *want;
    } files[] = {
        { "hunter2-Sup3rSecret", "hunter2-Sup3rSecret" },
        { "hunter2-Sup3rSecret\n", "hunter2-Sup3rSecret" },
        { "hunter2-Sup3rSecret\r\n", "hunter2-Sup3rSecret" },
        { "hunter2-Sup3rSecret\n\n", "hunter2-Sup3rSecret\n" },
        { " spaced \n", " spaced " },
        { "a\rb\n", "a\rb" },
    };
    int rcode = snprintf(path, sizeof path, "%s/token", tmpdir);
    CHECK(rcode > 0 && (size_t)rcode < sizeof path, "path fits");
    setenv("CF_T_TOKEN_FILE", path, 1);
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        write_file(path, files[i].contents, strlen(files[i].contents));
        err[0] = '\0';
        int rc = cfg_secret("CF_T_TOKEN", out, sizeof out, err, sizeof err);
        CHECK(rc == 1, "file secret case %zu: rc %d: %s", i, rc, err);
        CHECK_STREQ(out, files[i].want, "file secret");
    }

    /* NAME wins over NAME_FILE */
    setenv("CF_T_TOKEN", "from-env", 1);
    CHECK(cfg_secret("CF_T_TOKEN", out, sizeof out, err, sizeof err) == 1, "both set");
    CHECK_STREQ(out, "from-env", "NAME wins over NAME_FILE");
    unsetenv("CF_T_TOKEN");

    /* exactly cap-1 bytes plus a newline fits; one more byte does not */
    char big[80];
    memset(big, 'S', sizeof big);
    big[sizeof out - 1] = '\n';
    write_file(path, big, sizeof out);
    CHECK(cfg_secret("CF_T_TOKEN", out, sizeof out, err, sizeof err) == 1 &&
              strlen(out) == sizeof out - 1,
          "cap-1 bytes plus newline: %s", err);
    big[sizeof out - 1] = 'S';
    write_file(path, big, sizeof out);
    err[0] = '\0';
    CHECK(cfg_secret("CF_T_TOKEN", out, sizeof out, err, sizeof err) == -1, "over cap");
    CHECK(strstr(err, "CF_T_TOKEN") && strstr(err, path) && strstr(err, "larger than"),
          "over-cap error names the variable and the file: [%s]", err);
    CHECK(strstr(err, "SSSS") == NULL, "over-cap error holds no secret: [%s]", err);
    CHECK(out[0] == '\0', "out is empty after an error");

    /* a long secret in a file, too big: the message never carries it */
    char longsecret[200];
    for (size_t i = 0; i < sizeof longsecret - 1; i++)
        longsecret[i] = secret[i % strlen(secret)];
    longsecret[sizeof longsecret - 1] = '\0';
    write_file(path, longsecret, strlen(longsecret));
    CHECK(cfg_secret("CF_T_TOKEN", out, sizeof out, err, sizeof err) == -1, "long file secret");
    CHECK(strstr(err, "hunter2") == NULL && strstr(err, "Sup3r") == NULL,
          "error holds no part of the secret: [%s]", err);

    /* the same from the environment */
    setenv("CF_T_TOKEN", longsecret, 1);
    CHECK(cfg_secret("CF_T_TOKEN", out, sizeof out, err, sizeof err) == -1, "long env secret");
    CHECK(strstr(err, "CF_T_TOKEN") && strstr(err, "hunter2") == NULL &&
              strstr(err, "Sup3r") == NULL,
          "env over-cap error: [%s]", err);
    unsetenv("CF_T_TOKEN");

    /* missing file: names variable and path, not the secret held elsewhere */
    char missing[512];
    rcode = snprintf(missing, sizeof missing, "%s/no-such-file", tmpdir);
    CHECK(rcode > 0 && (size_t)rcode < sizeof missing, "path fits");
    setenv("CF_T_PASSWORD_FILE", missing, 1);
    setenv("CF_T_OTHER_SECRET", secret, 1);
    err[0] = '\0';
    CHECK(cfg_secret("CF_T_PASSWORD", out, sizeof out, err, sizeof err) == -1, "missing file");
    CHECK(strstr(err, "CF_T_PASSWORD_FILE") && strstr(err, missing) &&
              strstr(err, "No such file"),
          "missing-file error: [%s]", err);
    CHECK(strstr(err, secret) == NULL, "missing-file error holds no secret");

    /* empty file, a directory, a NUL inside */
    write_file(path, "\n", 1);
    CHECK(cfg_secret("CF_T_TOKEN", out, sizeof out, err, sizeof err) == -1 &&
              strstr(err, "empty"),
          "empty file: [%s]", err);
    setenv("CF_T_TOKEN_FILE", tmpdir, 1);
    CHECK(cfg_secret("CF_T_TOKEN", out, sizeof out, err, sizeof err) == -1 &&
              strstr(err, "directory"),
          "directory: [%s]", err);
    setenv("CF_T_TOKEN_FILE", path, 1);
    write_file(path, "ab\0cd", 5);
    CHECK(cfg_secret("CF_T_TOKEN", out, sizeof out, err, sizeof err) == -1 &&
              strstr(err, "NUL"),
          "NUL byte: [%s]", err);
    unsetenv("CF_T_TOKEN_FILE");

    /* cfg_read_file */
    write_file(path, "line\n", 5);
    char *s = cfg_read_file(path, 100, 0, err, sizeof err);
    CHECK(s && strcmp(s, "line\n") == 0, "cfg_read_file without chomp");
    free(s);
    s = cfg_read_file(path, 100, 1, err, sizeof err);
    CHECK(s && strcmp(s, "line") == 0, "cfg_read_file with chomp");
    free(s);
    s = cfg_read_file(path, 4, 0, err, sizeof err);
    CHECK(s == NULL && strstr(err, path) && strstr(err, "larger than 4 bytes"),
          "cfg_read_file over max: [%s]", err);
    free(s);
    s = cfg_read_file(path, 5, 0, err, sizeof err);
    CHECK(s && strlen(s) == 5, "cfg_read_file at exactly max");
    free(s);
    write_file(path, "", 0);
    s = cfg_read_file(path, 5, 1, err, sizeof err);
    CHECK(s && s[0] == '\0', "cfg_read_file of an empty file");
    free(s);
    s = cfg_read_file(missing, 5, 1, err, sizeof err);
    CHECK(s == NULL && strncmp(err, missing, strlen(missing)) == 0, "missing: [%s]", err);

    /* cfg_wipe */
    char w[16] = "password";
    cfg_wipe(w, sizeof w);
    int zero = 1;
    for (size_t i = 0; i < sizeof w; i++)
        zero &= w[i] == 0;
    CHECK(zero, "cfg_wipe zeroes the buffer");
    cfg_wipe(NULL, 10);
    unlink(path);
}

/* ---- buf ------------------------------------------------------------------------------ */

static void test_buf(void)
{
    buf b;
    buf_init(&b, 8);
    CHECK(b.p == NULL && b.len == 0, "buf_init allocates nothing");
    CHECK(buf_adds(&b, "1234") == 0 && b.len == 4, "buf_adds");
    CHECK(buf_add(&b, "5678", 4) == 0 && b.len == 8, "up to max");
    CHECK_STREQ(b.p, "12345678", "contents");
    CHECK(buf_add(&b, "", 0) == 0, "empty add at max");
    /* a failure is sticky (curl's dynbuf): the contents are freed and every later append
     * fails, until buf_reset */
    CHECK(buf_addc(&b, 'x') == -1 && b.len == 0 && b.p == NULL && b.failed,
          "buf_addc over max frees and marks the buffer");
    CHECK(buf_add(&b, "x", 1) == -1 && b.len == 0 && b.p == NULL, "later appends fail");
    CHECK(buf_printf(&b, "%d", 1) == -1 && b.len == 0, "buf_printf after a failure fails");
    CHECK(buf_add(&b, "", 0) == -1, "even an empty add fails after a failure");
    CHECK(buf_steal(&b) == NULL, "buf_steal of a failed buffer: NULL, never a shortened text");
    buf_reset(&b);
    CHECK(!b.failed && buf_adds(&b, "12") == 0 && strcmp(b.p, "12") == 0,
          "buf_reset clears the failure");
    buf_reset(&b);
    CHECK(b.len == 0 && b.p && b.p[0] == '\0', "buf_reset");
    CHECK(buf_printf(&b, "%s-%d", "ab", 12) == 0, "buf_printf");
    CHECK_STREQ(b.p, "ab-12", "buf_printf contents");
    CHECK(buf_printf(&b, "%s", "abcd") == -1 && b.p == NULL && b.len == 0 && b.failed,
          "buf_printf over max frees and marks the buffer");
    buf_reset(&b);
    CHECK(buf_reserve(&b, SIZE_MAX) == -1 && b.failed, "buf_reserve(SIZE_MAX) fails the buffer");
    buf_reset(&b);
    CHECK(buf_printf(&b, "%s-%d", "ab", 12) == 0, "buf_printf after reset");
    char *s = buf_steal(&b);
    CHECK(s && strcmp(s, "ab-12") == 0 && b.p == NULL && b.len == 0, "buf_steal");
    free(s);
    s = buf_steal(&b);
    CHECK(s && s[0] == '\0', "buf_steal of an empty buffer gives \"\"");
    free(s);

    /* a long printf through the slow path */
    buf_init(&b, 1000);
    char longs[600];
    memset(longs, 'a', sizeof longs - 1);
    longs[sizeof longs - 1] = '\0';
    CHECK(buf_printf(&b, "<%s>", longs) == 0 && b.len == 601 && b.p[600] == '>',
          "buf_printf over the small stack buffer");
    CHECK(buf_printf(&b, "%s", longs) == -1 && b.len == 0 && b.failed,
          "second one over max: the buffer failed");
    buf_free(&b);
    buf_free(&b);
    buf_free(NULL);
}

/* ---- jsonu ---------------------------------------------------------------------------- */

static void test_jsonu(void)
{
    char err[512];
    static const struct {
        const char *text;
        const char *want; /* substring of the error */
    } bad[] = {
        { "{\n  \"a\": 1,\n  \"b\": }", "api: line 3, column 8" },
        { "[1, 2,\n", "api: line 2, column" },
        { "", "api: line 1, column 0" },
        { "{\"a\":1} x", "api: line 1, column" },
        { "nul", "api: line 1, column" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        json_t *j = jsonu_parse(bad[i].text, strlen(bad[i].text), "api", err, sizeof err);
        CHECK(j == NULL, "jsonu_parse case %zu should fail", i);
        json_decref(j);
        CHECK(strstr(err, bad[i].want) != NULL, "jsonu_parse error [%s] lacks [%s]", err,
              bad[i].want);
    }
    /* text[len] is all that is read */
    json_t *j = jsonu_parse("{\"a\":[1,2]}garbage", 11, "api", err, sizeof err);
    CHECK(j != NULL, "jsonu_parse honours len: %s", err);

    int a0 = 0, a1 = 0;
    const char *str = NULL;
    CHECK(jsonu_unpack(j, "api", err, sizeof err, "{s:[ii]}", "a", &a0, &a1) == 0 && a0 == 1 &&
              a1 == 2,
          "jsonu_unpack: %s", err);
    err[0] = '\0';
    CHECK(jsonu_unpack(j, "users", err, sizeof err, "{s:s}", "a", &str) == -1, "wrong type");
    /* without the text: the key path, and no line/column (never the format string's) */
    CHECK_STREQ(err, "users: a: Expected string, got array", "unpack error without the text");
    err[0] = '\0';
    CHECK(jsonu_unpack(j, "users", err, sizeof err, "{s:i}", "missing", &a0) == -1 &&
              strstr(err, "missing"),
          "missing key named: [%s]", err);
    CHECK(jsonu_unpack(NULL, "users", err, sizeof err, "{s:i}", "a", &a0) == -1 &&
              strstr(err, "users"),
          "NULL root: [%s]", err);
    json_decref(j);

    /* with the text: the JSON's own line and column of the offending value, and its path */
    static const char doc_text[] = "{\n  \"id\": \"x\",\n  \"count\": \"seven\",\n"
                                   "  \"m\": {\"k\": [1, 2, \"z\"]}\n}";
    j = jsonu_parse(doc_text, strlen(doc_text), "api", err, sizeof err);
    CHECK(j != NULL, "doc parses: %s", err);
    jsonu_doc jd = { doc_text, strlen(doc_text), j };
    int cnt = 0, k0 = 0, k1 = 0, k2 = 0;
    const char *id = NULL;
    CHECK(jsonu_unpack_in(&jd, j, "users", err, sizeof err, "{s:s, s:i}", "id", &id, "count",
                          &cnt) == -1,
          "type error at line 3");
    CHECK_STREQ(err, "users: line 3, column 12: count: Expected integer, got string",
                "a type error at JSON line 3 is reported at line 3");
    CHECK(jsonu_unpack_in(&jd, j, "users", err, sizeof err, "{s:{s:[iii]}}", "m", "k", &k0, &k1,
                          &k2) == -1 &&
              strncmp(err, "users: line 4, column 21: m.k[2]: ", 34) == 0,
          "nested: [%s]", err);
    /* a value inside the tree, unpacked on its own, is still found in the text */
    json_t *m = json_object_get(j, "m");
    CHECK(jsonu_unpack_in(&jd, m, "m", err, sizeof err, "{s:[iii]}", "k", &k0, &k1, &k2) == -1 &&
              strncmp(err, "m: line 4, column 21: k[2]: ", 28) == 0,
          "a node inside the doc: [%s]", err);
    CHECK(jsonu_unpack_in(&jd, j, "users", err, sizeof err, "{s:i}", "nope", &cnt) == -1 &&
              strstr(err, "line 1, column 1: ") && strstr(err, "nope"),
          "missing key: its object's position: [%s]", err);
    CHECK(jsonu_unpack_in(&jd, j, "users", err, sizeof err, "{s:s, s:i, s:{s:[iii]}}", "id", &id,
                          "count", &cnt, "m", "k", &k0, &k1, &k2) == -1,
          "first failure wins");
    json_decref(j);
}

/* ---- cli ------------------------------------------------------------------------------ */

static void test_errf(void)
{
    char e[16];
    errf_set(e, sizeof e, "%s %d", "short", 1);
    CHECK_STREQ(e, "short 1", "errf: fits");
    errf_set(e, sizeof e, "a message of %d characters", 30);
    CHECK(strlen(e) == sizeof e - 1 && strcmp(e + sizeof e - 4, "...") == 0,
          "errf: cut and marked: [%s]", e);
    CHECK(errf_fail(e, sizeof e, "x%s", "y") == -1 && strcmp(e, "xy") == 0, "errf_fail: -1, set");
    CHECK(errf_fail(NULL, 0, "nothing") == -1, "errf_fail: NULL buffer");
    errf_set(e, 0, "no room");
    CHECK(strcmp(e, "xy") == 0, "errf: errlen 0 writes nothing");
}

static int fake_usage_calls;
static void fake_usage(FILE *out)
{
    (void)out;
    fake_usage_calls++;
}

static void test_cli(void)
{
    char err[256];
    cli_common c;
    memset(&c, 0, sizeof c);
    CHECK(cli_common_opt(&c, CLI_OPT_HELP, NULL, err, sizeof err) == 1 && c.help, "--help");
    CHECK(cli_common_opt(&c, CLI_OPT_VERSION, NULL, err, sizeof err) == 1 && c.version,
          "--version");
    CHECK(cli_common_opt(&c, CLI_OPT_DRY_RUN, NULL, err, sizeof err) == 1 && c.dry_run,
          "--dry-run");
    CHECK(cli_common_opt(&c, 'x', "y", err, sizeof err) == 0, "unknown option is 0");
    CHECK(cli_common_opt(&c, CLI_OPT_STATE, "", err, sizeof err) == -1 && strstr(err, "--state"),
          "--state '': [%s]", err);
    CHECK(cli_common_opt(&c, CLI_OPT_STATE, "/tmp/s.db", err, sizeof err) == 1 &&
              strcmp(c.state, "/tmp/s.db") == 0,
          "--state");
    CHECK(cli_common_opt(&c, CLI_OPT_ALIGN, "5m", err, sizeof err) == 1 && c.align_ns == 5 * MIN_,
          "--align 5m");
    CHECK(cli_common_opt(&c, CLI_OPT_ALIGN, "soon", err, sizeof err) == -1 &&
              strstr(err, "--align") && strstr(err, "soon"),
          "--align soon: [%s]", err);
    CHECK(c.align_ns == 5 * MIN_, "a bad --align leaves the old value");

    /* env fills what no flag gave */
    unsetenv("CRONFLUX_STATE");
    unsetenv("CRONFLUX_ALIGN");
    memset(&c, 0, sizeof c);
    CHECK(cli_common_env(&c, err, sizeof err) == 0, "env: %s", err);
    CHECK_STREQ(c.state, "./cronflux.db", "default state");
    CHECK(c.align_ns == 0, "no align by default");

    setenv("CRONFLUX_STATE", "/var/lib/cronflux/cronflux.db", 1);
    setenv("CRONFLUX_ALIGN", "1h", 1);
    memset(&c, 0, sizeof c);
    CHECK(cli_common_env(&c, err, sizeof err) == 0, "env: %s", err);
    CHECK_STREQ(c.state, "/var/lib/cronflux/cronflux.db", "CRONFLUX_STATE");
    CHECK(c.align_ns == HOUR, "CRONFLUX_ALIGN=1h");

    /* flags win: a getopt_long loop like a main's */
    static const struct option longopts[] = { { "users", required_argument, NULL, 'u' },
                                              CLI_COMMON_LONGOPTS,
                                              { NULL, 0, NULL, 0 } };
    char *argv[] = { "prog", "--dry-run", "--state", "/tmp/x.db", "--align=10m",
                     "--users", "a,b", "rest", NULL };
    int argc = 8;
    memset(&c, 0, sizeof c);
    const char *users = NULL;
    int opt, bad = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "u:", longopts, NULL)) != -1) {
        if (opt == 'u') {
            users = optarg;
            continue;
        }
        if (cli_common_opt(&c, opt, optarg, err, sizeof err) != 1)
            bad++;
    }
    CHECK(bad == 0, "getopt loop: %s", err);
    CHECK(cli_common_env(&c, err, sizeof err) == 0, "env after flags: %s", err);
    CHECK(c.dry_run && !c.help, "flags parsed");
    CHECK_STREQ(c.state, "/tmp/x.db", "--state wins over CRONFLUX_STATE");
    CHECK(c.align_ns == 10 * MIN_, "--align wins over CRONFLUX_ALIGN");
    CHECK_STREQ(users, "a,b", "own option");
    CHECK(optind == 7 && strcmp(argv[optind], "rest") == 0, "operands left");

    setenv("CRONFLUX_ALIGN", "every hour", 1);
    memset(&c, 0, sizeof c);
    CHECK(cli_common_env(&c, err, sizeof err) == -1 && strstr(err, "CRONFLUX_ALIGN"),
          "bad CRONFLUX_ALIGN: [%s]", err);
    setenv("CRONFLUX_ALIGN", "", 1);
    memset(&c, 0, sizeof c);
    CHECK(cli_common_env(&c, err, sizeof err) == 0 && c.align_ns == 0, "empty CRONFLUX_ALIGN");
    unsetenv("CRONFLUX_STATE");
    unsetenv("CRONFLUX_ALIGN");

    /* what a main hands on: common options taken, everything else a usage error */
    memset(&c, 0, sizeof c);
    CHECK(cli_common_other(&c, CLI_OPT_DRY_RUN, NULL, "--dry-run", err, sizeof err) == 0 &&
          c.dry_run, "other: a common option is taken");
    CHECK(cli_common_other(&c, '?', NULL, "--bogus", err, sizeof err) == -1 &&
          strstr(err, "--bogus"), "other: unknown option named: [%s]", err);
    CHECK(cli_common_other(&c, ':', NULL, "--state", err, sizeof err) == -1 &&
          strstr(err, "--state needs a value"), "other: missing value: [%s]", err);
    CHECK(cli_common_other(&c, CLI_OPT_ALIGN, "later", "--align", err, sizeof err) == -1 &&
          strstr(err, "--align"), "other: a bad common value: [%s]", err);
    CHECK(cli_common_other(&c, 'z', NULL, NULL, err, sizeof err) == -1, "other: a stray code");

    /* after the loop: operands, --help, --version, the environment */
    char *ops[] = { "prog", "left", NULL };
    optind = 1;
    memset(&c, 0, sizeof c);
    CHECK(cli_common_finish(&c, "prog", fake_usage, 2, ops, err, sizeof err) == 64 &&
          strstr(err, "\"left\""), "finish: an operand is a usage error: [%s]", err);
    optind = 2;
    c.help = true;
    fake_usage_calls = 0;
    CHECK(cli_common_finish(&c, "prog", fake_usage, 2, ops, err, sizeof err) == 0 &&
          fake_usage_calls == 1, "finish: --help prints the usage and ends with 0");
    c.help = false;
    setenv("CRONFLUX_ALIGN", "soonish", 1);
    CHECK(cli_common_finish(&c, "prog", fake_usage, 2, ops, err, sizeof err) == 78 &&
          strstr(err, "CRONFLUX_ALIGN"), "finish: a bad environment is 78: [%s]", err);
    unsetenv("CRONFLUX_ALIGN");
    CHECK(cli_common_finish(&c, "prog", fake_usage, 2, ops, err, sizeof err) == CLI_RUN &&
          c.state != NULL, "finish: go on, with the state path filled");
}

/* ---- log ------------------------------------------------------------------------------ */

/* Run fn with stderr going to a file; return what it wrote (malloc'd). */
static char *capture_stderr(void (*fn)(void))
{
    char path[512];
    int n = snprintf(path, sizeof path, "%s/stderr", tmpdir);
    if (n < 0 || (size_t)n >= sizeof path)
        return NULL;
    fflush(stderr);
    int saved = dup(2);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (saved < 0 || fd < 0)
        return NULL;
    dup2(fd, 2);
    close(fd);
    fn();
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char err[256];
    char *s = cfg_read_file(path, 1 << 20, 0, err, sizeof err);
    unlink(path);
    return s;
}

static void log_text_cases(void)
{
    log_error("cannot reach %s", "http://influx:8086/write");
    log_warn("two\nlines");
    log_info("plain");
    log_debug("hidden unless DEBUG");
}

static const char *const nasty = "quote \" backslash \\ newline \n tab \t bell \x07 caf\xc3\xa9";

static void log_json_cases(void)
{
    log_error("%s", nasty);
    log_debug("shown");
}

static void test_log(void)
{
    unsetenv("CRONFLUX_LOG");
    unsetenv("DEBUG");
    log_init("test-job");
    CHECK_STREQ(log_job(), "test-job", "log_job");
    CHECK(!log_debug_enabled(), "debug off by default");
    char *s = capture_stderr(log_text_cases);
    CHECK_STREQ(s, "test-job: error: cannot reach http://influx:8086/write\n"
                   "test-job: warn: two lines\n"
                   "test-job: info: plain\n",
                "text log");
    free(s);

    setenv("DEBUG", "1", 1);
    setenv("CRONFLUX_LOG", "json", 1);
    log_init("json-job");
    CHECK(log_debug_enabled(), "DEBUG=1");
    s = capture_stderr(log_json_cases);
    CHECK(s != NULL, "json log captured");
    if (s) {
        /* two lines, each a JSON object with the message intact */
        char *nl = strchr(s, '\n');
        CHECK(nl != NULL, "json line ends in a newline");
        json_error_t je;
        json_t *o = nl ? json_loadb(s, (size_t)(nl - s), 0, &je) : NULL;
        CHECK(o != NULL, "json log line parses: %s: [%s]", o ? "" : je.text, s);
        const char *ts = NULL, *job = NULL, *level = NULL, *msg = NULL;
        CHECK(o && json_unpack(o, "{s:s,s:s,s:s,s:s}", "ts", &ts, "job", &job, "level", &level,
                               "msg", &msg) == 0,
              "json log keys");
        if (ts && job && level && msg) {
            CHECK(strlen(ts) == 24 && ts[10] == 'T' && ts[23] == 'Z', "ts [%s]", ts);
            CHECK_STREQ(job, "json-job", "json job");
            CHECK_STREQ(level, "error", "json level");
            CHECK_STREQ(msg, nasty, "json msg round trip");
        }
        json_decref(o);
        CHECK(nl && strstr(nl + 1, "\"level\":\"debug\"") && strstr(nl + 1, "\"msg\":\"shown\""),
              "debug line: [%s]", nl ? nl + 1 : "");
        free(s);
    }
    unsetenv("DEBUG");
    unsetenv("CRONFLUX_LOG");
    log_init("test-job");
}

static void test_util(void)
{
    char out[5];
    static const struct {
        const char *in;
        size_t n, cap;
        const char *want;
    } cc[] = {
        { "abc", 3, 5, "abc" }, { "abcdef", 6, 5, "abcd" }, { "abcdef", 2, 5, "ab" },
        { "abc", 3, 1, "" },    { NULL, 3, 5, "" },
    };
    for (size_t i = 0; i < sizeof cc / sizeof cc[0]; i++) {
        memset(out, 'x', sizeof out);
        util_copy_cut(out, cc[i].cap, cc[i].in, cc[i].n);
        CHECK_STREQ(out, cc[i].want, "util_copy_cut");
    }
    util_copy_cut(out, 0, "abc", 3);   /* cap 0: nothing written, no crash */
    static const struct {
        int c, want;
    } hx[] = { { '0', 0 }, { '9', 9 }, { 'a', 10 }, { 'f', 15 }, { 'A', 10 }, { 'F', 15 },
               { 'g', -1 }, { ' ', -1 }, { '/', -1 }, { ':', -1 }, { '@', -1 }, { '`', -1 } };
    for (size_t i = 0; i < sizeof hx / sizeof hx[0]; i++)
        CHECK(util_hexval(hx[i].c) == hx[i].want, "util_hexval('%c') = %d", hx[i].c,
              util_hexval(hx[i].c));
    int *v = NULL;
    size_t cap = 0;
    CHECK(util_grow((void **)&v, &cap, 1, sizeof *v) == 0 && cap == 16 && v, "grow from 0: 16");
    CHECK(util_grow((void **)&v, &cap, 16, sizeof *v) == 0 && cap == 16, "no growth needed");
    CHECK(util_grow((void **)&v, &cap, 100, sizeof *v) == 0 && cap == 128, "doubles to 128");
    v[127] = 7;
    int *keep = v;
    CHECK(util_grow((void **)&v, &cap, SIZE_MAX / 2, sizeof *v) == -1 && v == keep &&
              cap == 128 && v[127] == 7,
          "overflow refused, the array kept");
    free(v);
}

/* gz: a member gz_pack makes is read back by zlib (an inflater we did not write) and by
 * gz_inflate_exact; gz_inflate_exact refuses what is not exactly the batch's length. */
static int zlib_gunzip(const char *gz, size_t gzlen, char *out, size_t cap, size_t *got)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 15 + 16) != Z_OK)
        return -1;
    zs.next_in = (Bytef *)(uintptr_t)gz;
    zs.avail_in = (uInt)gzlen;
    zs.next_out = (Bytef *)out;
    zs.avail_out = (uInt)cap;
    int z = inflate(&zs, Z_FINISH);
    *got = zs.total_out;
    int rest = (int)zs.avail_in;
    inflateEnd(&zs);
    return z == Z_STREAM_END && rest == 0 ? 0 : -1;
}

/* in[n]: line protocol-like bytes, with some noise (the gz and lz tables' input) */
static void lp_like(char *in, size_t n)
{
    for (size_t i = 0; i < n; i++)
        in[i] = (i % 97 == 96) ? '\n' : (char)('a' + (i * 7 + i / 1000) % 26);
}

static void test_gz(void)
{
    static char in[300000], back[300001];
    lp_like(in, sizeof in);
    static const struct {
        const char *name;
        size_t len;
        int level;
    } cases[] = {
        { "empty", 0, 1 }, { "one byte", 1, 1 }, { "a line", 96, 1 },
        { "16 KiB", 16384, 1 }, { "300 KB at level 1", sizeof in, 1 },
        { "300 KB at level 6", sizeof in, 6 }, { "300 KB at level 9", sizeof in, 9 },
        { "level 0 means 1", 5000, 0 }, { "level 12 means 1", 5000, 12 },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        gz_packer *p = gz_packer_new(cases[c].level);
        CHECK(p != NULL, "%s: a packer", cases[c].name);
        if (!p)
            continue;
        int want_level = cases[c].level >= 1 && cases[c].level <= 9 ? cases[c].level : 1;
        CHECK(gz_packer_level(p) == want_level, "%s: level %d", cases[c].name,
              gz_packer_level(p));
        buf out;
        buf_init(&out, 1 << 20);
        for (int round = 0; round < 2; round++) {   /* the packer is reused */
            CHECK(gz_pack(p, &out, in, cases[c].len) == 0, "%s: packed", cases[c].name);
            CHECK(out.len >= 18 && (unsigned char)out.p[0] == 0x1f &&
                      (unsigned char)out.p[1] == 0x8b,
                  "%s: a gzip member (%zu bytes)", cases[c].name, out.len);
            size_t got = 0;
            CHECK(zlib_gunzip(out.p, out.len, back, sizeof back, &got) == 0 &&
                      got == cases[c].len && memcmp(back, in, got) == 0,
                  "%s: zlib reads it back whole (%zu bytes)", cases[c].name, got);
            char why[128] = "";
            CHECK(gz_inflate_exact(out.p, out.len, back, cases[c].len, why, sizeof why) == 0 &&
                      memcmp(back, in, cases[c].len) == 0,
                  "%s: gz_inflate_exact reads it back: %s", cases[c].name, why);
        }
        if (cases[c].len > 1000) {
            char why[128] = "";
            CHECK(gz_inflate_exact(out.p, out.len, back, cases[c].len - 1, why, sizeof why) ==
                          -2 && why[0],
                  "%s: a length one short is refused: %s", cases[c].name, why);
            CHECK(gz_inflate_exact(out.p, out.len - 1, back, cases[c].len, why, sizeof why) ==
                          -2 && why[0],
                  "%s: a truncated member is refused: %s", cases[c].name, why);
            buf_addc(&out, 'x');
            CHECK(gz_inflate_exact(out.p, out.len, back, cases[c].len, why, sizeof why) == -2 &&
                      why[0],
                  "%s: a byte after the member is refused: %s", cases[c].name, why);
            out.p[out.len / 2] ^= 0x55;
            out.len--;
            CHECK(gz_inflate_exact(out.p, out.len, back, cases[c].len, why, sizeof why) == -2 &&
                      why[0],
                  "%s: a flipped byte is refused: %s", cases[c].name, why);
        }
        buf_free(&out);
        gz_packer_free(p);
    }
    /* a member that would be over the buffer's max: -1, the buffer failed */
    gz_packer *p = gz_packer_new(1);
    buf small;
    buf_init(&small, 1000);
    CHECK(gz_pack(p, &small, in, sizeof in) == -1, "over out->max: -1");
    buf_free(&small);
    CHECK(gz_pack(NULL, &small, in, 10) == -1, "no packer: -1");
    buf_free(&small);
    gz_packer_free(p);
    gz_packer_free(NULL);
}

/* lz: the packed form lz_pack makes is read back by liblz4's decoder with zlib's CRC-32
 * (code we did not write checks the CRC) and by lz_unpack_exact; lz_unpack_exact refuses
 * what is damaged or not exactly the batch's length. */
static void test_lz(void)
{
    static char in[300000], back[300001];
    lp_like(in, sizeof in);
    static const struct {
        const char *name;
        size_t len;
    } cases[] = {
        { "empty", 0 }, { "one byte", 1 }, { "a line", 96 }, { "16 KiB", 16384 },
        { "300 KB", sizeof in },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t len = cases[c].len;
        buf out;
        buf_init(&out, 1 << 20);
        for (int round = 0; round < 2; round++) {   /* the buffer is reused */
            CHECK(lz_pack(&out, in, len) == 0 && out.len >= 4, "%s: packed (%zu bytes)",
                  cases[c].name, out.len);
            if (out.len < 4)
                break;
            const unsigned char *h = (const unsigned char *)out.p;
            uint32_t crc = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 |
                           (uint32_t)h[3] << 24;
            CHECK(crc == (uint32_t)crc32(0L, (const Bytef *)in, (uInt)len),
                  "%s: the header is the lines' CRC-32 (zlib's)", cases[c].name);
            int got = len ? LZ4_decompress_safe(out.p + 4, back, (int)(out.len - 4),
                                                (int)sizeof back)
                          : 0;
            CHECK(got == (int)len && memcmp(back, in, len) == 0,
                  "%s: liblz4 reads the block back whole (%d bytes)", cases[c].name, got);
            char why[128] = "";
            memset(back, 0, len);
            CHECK(lz_unpack_exact(out.p, out.len, back, len, why, sizeof why) == 0 &&
                      memcmp(back, in, len) == 0,
                  "%s: lz_unpack_exact reads it back: %s", cases[c].name, why);
        }
        if (len > 1000) {
            CHECK(out.len * 3 < len, "%s: at least 3 times smaller (%zu bytes)", cases[c].name,
                  out.len);
            static const struct {
                const char *what;
                long cut;       /* bytes taken off the end */
                long flip;      /* offset of a flipped byte, -1: none (-2: the middle) */
                long want_off;  /* the length asked for, off the true one */
            } bad[] = {
                { "a length one short", 0, -1, -1 }, { "a length one long", 0, -1, 1 },
                { "a truncated block", 1, -1, 0 }, { "a flipped byte in the block", 0, -2, 0 },
                { "a flipped byte in the CRC", 0, 1, 0 }, { "only the CRC", -4, -1, 0 },
            };
            for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
                buf dmg;
                buf_init(&dmg, 1 << 20);
                buf_add(&dmg, out.p, out.len);
                if (bad[b].cut > 0)
                    dmg.len -= (size_t)bad[b].cut;
                if (bad[b].cut < 0)
                    dmg.len = (size_t)-bad[b].cut;
                if (bad[b].flip != -1)
                    dmg.p[bad[b].flip == -2 ? dmg.len / 2 : (size_t)bad[b].flip] ^= 0x55;
                char why[128] = "";
                CHECK(lz_unpack_exact(dmg.p, dmg.len, back, (size_t)((long)len + bad[b].want_off),
                                      why, sizeof why) == -2 &&
                          why[0],
                      "%s: %s is refused: %s", cases[c].name, bad[b].what, why);
                buf_free(&dmg);
            }
        }
        buf_free(&out);
    }
    char why[128] = "";
    CHECK(lz_unpack_exact("abc", 3, back, 10, why, sizeof why) == -2 && why[0],
          "shorter than the CRC: %s", why);
    /* a block that would be over the buffer's max: -1 */
    buf small;
    buf_init(&small, 1000);
    CHECK(lz_pack(&small, in, sizeof in) == -1, "over out->max: -1");
    buf_free(&small);
}

int main(void)
{
    test_errf();
    test_util();
    test_gz();
    test_lz();
    int n = snprintf(tmpdir, sizeof tmpdir, "%s/cf-rt-XXXXXX",
                     getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (n < 0 || (size_t)n >= sizeof tmpdir || !mkdtemp(tmpdir)) {
        fprintf(stderr, "mkdtemp failed\n");
        return 2;
    }
    test_times();
    test_durations();
    test_align_format();
    test_cfg();
    test_buf();
    test_jsonu();
    test_cli();
    test_log();
    rmdir(tmpdir);
    return th_summary("test_runtime");
}
