/* log: one line per event on stderr (see log.h). */
#include "log.h"
#include "util.h"
#include "clock.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <stdlib.h>
#include <time.h>

#define LOG_MSG_MAX 4000   /* bytes of message kept; longer ones end in "..." */
#define LOG_LINE_MAX (6 * LOG_MSG_MAX + 1024) /* worst case: every byte escaped as \u00XX */

static struct {
    int inited;
    int json;
    int debug;
    const char *job;
} L;

static int env_truthy(const char *v)
{
    if (!v || !*v)
        return 0;
    return strcmp(v, "0") != 0 && strcasecmp(v, "false") != 0 && strcasecmp(v, "no") != 0 &&
           strcasecmp(v, "off") != 0;
}

static void read_env(void)
{
    const char *fmt = getenv("CRONFLUX_LOG");
    L.json = fmt && strcasecmp(fmt, "json") == 0;
    L.debug = env_truthy(getenv("DEBUG"));
    L.inited = 1;
}

void log_init(const char *job)
{
    L.job = job;
    read_env();
}

bool log_debug_enabled(void)
{
    if (!L.inited)
        read_env();
    return L.debug != 0;
}

const char *log_job(void)
{
    return L.job && *L.job ? L.job : "cronflux";
}

/* A tiny bounded writer over a fixed array: it never overflows and remembers whether
 * anything was cut. */
typedef struct {
    char *p;
    size_t len, cap; /* cap includes room for the NUL */
} lw;

static void lw_add(lw *w, const char *s, size_t n)
{
    if (w->len + 1 >= w->cap)
        return;
    size_t room = w->cap - 1 - w->len;
    if (n > room)
        n = room;
    memcpy(w->p + w->len, s, n);
    w->len += n;
    w->p[w->len] = '\0';
}

static void lw_adds(lw *w, const char *s)
{
    lw_add(w, s, strlen(s));
}


/* Append s as the inside of a JSON string: quotes, backslashes and control characters
 * escaped, invalid UTF-8 replaced by U+FFFD. */
static void lw_json(lw *w, const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s);
    size_t i = 0;
    while (i < n) {
        unsigned char c = u[i];
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            lw_add(w, esc, 2);
            i++;
        } else if (c < 0x20 || c == 0x7F) {
            const char *named = NULL;
            switch (c) {
            case '\n': named = "\\n"; break;
            case '\r': named = "\\r"; break;
            case '\t': named = "\\t"; break;
            case '\b': named = "\\b"; break;
            case '\f': named = "\\f"; break;
            default: break;
            }
            if (named) {
                lw_adds(w, named);
            } else {
                int k = snprintf(esc, sizeof esc, "\\u%04x", (unsigned)c);
                if (k > 0 && (size_t)k < sizeof esc)
                    lw_add(w, esc, (size_t)k);
            }
            i++;
        } else {
            size_t k = util_utf8_seq((const char *)u + i, n - i);
            if (k == 0) {
                lw_adds(w, "\\ufffd");
                i++;
            } else {
                lw_add(w, s + i, k);
                i += k;
            }
        }
    }
}

/* Append s for a text line: control characters (a newline would split the event) become
 * spaces. */
static void lw_text(lw *w, const char *s)
{
    for (const char *q = s; *q; q++) {
        unsigned char c = (unsigned char)*q;
        char ch = *q;
        if ((c < 0x20 && c != '\t') || c == 0x7F)
            ch = ' ';
        lw_add(w, &ch, 1);
    }
}

static void timestamp(char *out, size_t cap)
{
    struct tm tm;
    out[0] = '\0';
    int64_t now = clock_real_ns();
    time_t sec = (time_t)(now / CLOCK_NS_PER_S);
    if (now <= 0 || !gmtime_r(&sec, &tm))
        return;
    char base[32];
    if (strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
        return;
    int n = snprintf(out, cap, "%s.%03ldZ", base, (long)(now % CLOCK_NS_PER_S / CLOCK_NS_PER_MS));
    if (n < 0 || (size_t)n >= cap)
        out[0] = '\0';
}

static void emit(const char *level, const char *fmt, va_list ap)
{
    if (!L.inited)
        read_env();

    char msg[LOG_MSG_MAX + 4];
    int n = vsnprintf(msg, LOG_MSG_MAX + 1, fmt, ap);
    if (n < 0) {
        snprintf(msg, sizeof msg, "(unformattable log message)");
    } else if (n > LOG_MSG_MAX) {
        memcpy(msg + LOG_MSG_MAX, "...", 4);
    }
    /* drop trailing newlines a caller may have added */
    size_t ml = strlen(msg);
    while (ml > 0 && (msg[ml - 1] == '\n' || msg[ml - 1] == '\r'))
        msg[--ml] = '\0';

    char line[LOG_LINE_MAX];
    lw w = { line, 0, sizeof line };
    line[0] = '\0';
    if (L.json) {
        char ts[48];
        timestamp(ts, sizeof ts);
        lw_adds(&w, "{\"ts\":\"");
        lw_json(&w, ts);
        lw_adds(&w, "\",\"job\":\"");
        lw_json(&w, log_job());
        lw_adds(&w, "\",\"level\":\"");
        lw_adds(&w, level);
        lw_adds(&w, "\",\"msg\":\"");
        lw_json(&w, msg);
        lw_adds(&w, "\"}\n");
        /* the line was cut (cannot happen with the sizes above, but keep it valid JSON) */
        if (w.len == 0 || line[w.len - 1] != '\n')
            return;
    } else {
        lw_text(&w, log_job());
        lw_adds(&w, ": ");
        lw_adds(&w, level);
        lw_adds(&w, ": ");
        lw_text(&w, msg);
        if (w.len + 1 >= w.cap)
            w.len = w.cap - 2;
        line[w.len++] = '\n';
        line[w.len] = '\0';
    }
    /* one write per event so lines from concurrent processes do not interleave */
    fwrite(line, 1, w.len, stderr);
    fflush(stderr);
}

void log_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit("error", fmt, ap);
    va_end(ap);
}

void log_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit("warn", fmt, ap);
    va_end(ap);
}

void log_info(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit("info", fmt, ap);
    va_end(ap);
}

void log_debug(const char *fmt, ...)
{
    if (!log_debug_enabled())
        return;
    va_list ap;
    va_start(ap, fmt);
    emit("debug", fmt, ap);
    va_end(ap);
}
