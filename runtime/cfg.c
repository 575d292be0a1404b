/* cfg: configuration from the environment and secret files (see cfg.h). */
#include "cfg.h"
#include "errf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* err = printf(fmt...), always NUL-terminated, silently cut when too long. */
const char *cfg_env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

void cfg_wipe(void *p, size_t len)
{
    if (p && len)
        explicit_bzero(p, len);
}

/* Strip one trailing "\n" or "\r\n". */
static size_t chomp1(char *s, size_t len)
{
    if (len > 0 && s[len - 1] == '\n') {
        s[--len] = '\0';
        if (len > 0 && s[len - 1] == '\r')
            s[--len] = '\0';
    }
    return len;
}

/* Read at most `limit` bytes of path into a malloc'd buffer; *too_long is set when the file
 * holds more. Returns NULL with err set on failure. */
static char *read_bounded(const char *path, size_t limit, size_t *out_len, int *too_long,
                          char *err, size_t errlen)
{
    *too_long = 0;
    *out_len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        errf_set(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        errf_set(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    if (S_ISDIR(st.st_mode)) {
        errf_set(err, errlen, "%s: is a directory", path);
        close(fd);
        return NULL;
    }
    if (limit > SIZE_MAX - 2) {
        errf_set(err, errlen, "%s: size limit too large", path);
        close(fd);
        return NULL;
    }
    /* one extra byte to notice a file over the limit, one for the NUL */
    size_t cap = limit + 2;
    char *p = malloc(cap);
    if (!p) {
        errf_set(err, errlen, "%s: out of memory", path);
        close(fd);
        return NULL;
    }
    size_t len = 0;
    while (len < limit + 1) {
        ssize_t n = read(fd, p + len, limit + 1 - len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            errf_set(err, errlen, "%s: %s", path, strerror(errno));
            cfg_wipe(p, len);
            free(p);
            close(fd);
            return NULL;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    if (len > limit) {
        *too_long = 1;
        len = limit;
    }
    p[len] = '\0';
    *out_len = len;
    return p;
}

/* cfg_read_file with the length (the contents may hold NUL bytes). */
static char *read_file_len(const char *path, size_t max, int chomp, size_t *out_len, char *err,
                           size_t errlen)
{
    if (!path || !*path) {
        errf_set(err, errlen, "empty file path");
        return NULL;
    }
    if (max > SIZE_MAX - 4) {
        errf_set(err, errlen, "%s: size limit too large", path);
        return NULL;
    }
    /* with chomp, the trailing newline does not count against max */
    size_t limit = chomp ? max + 2 : max;
    size_t len;
    int too_long;
    char *p = read_bounded(path, limit, &len, &too_long, err, errlen);
    if (!p)
        return NULL;
    if (chomp && !too_long)
        len = chomp1(p, len);
    if (too_long || len > max) {
        errf_set(err, errlen, "%s: larger than %zu bytes", path, max);
        cfg_wipe(p, limit + 2);
        free(p);
        return NULL;
    }
    *out_len = len;
    return p;
}

char *cfg_read_file(const char *path, size_t max, int chomp, char *err, size_t errlen)
{
    size_t len;
    return read_file_len(path, max, chomp, &len, err, errlen);
}

int cfg_secret(const char *name, char *out, size_t cap, char *err, size_t errlen)
{
    if (!out || cap == 0) {
        errf_set(err, errlen, "%s: no room for the value", name ? name : "(null)");
        return -1;
    }
    out[0] = '\0';
    if (!name || !*name) {
        errf_set(err, errlen, "secret with an empty name");
        return -1;
    }
    const char *v = cfg_env(name);
    if (v) {
        size_t n = strlen(v);
        if (n >= cap) {
            errf_set(err, errlen, "%s: value longer than %zu bytes", name, cap - 1);
            return -1;
        }
        memcpy(out, v, n + 1);
        return 1;
    }

    char fname[256];
    int k = snprintf(fname, sizeof fname, "%s_FILE", name);
    if (k < 0 || (size_t)k >= sizeof fname) {
        errf_set(err, errlen, "secret name too long");
        return -1;
    }
    const char *path = cfg_env(fname);
    if (!path)
        return 0;

    char ferr[512];
    size_t n = 0;
    char *data = read_file_len(path, cap - 1, 1, &n, ferr, sizeof ferr);
    if (!data) {
        /* ferr is "PATH: reason" and never holds file contents */
        errf_set(err, errlen, "%s (from %s): %s", name, fname, ferr);
        return -1;
    }
    int rc = 1;
    if (n == 0) {
        errf_set(err, errlen, "%s (from %s): %s: file is empty", name, fname, path);
        rc = -1;
    } else if (memchr(data, '\0', n)) {
        /* a NUL inside would silently shorten the secret */
        errf_set(err, errlen, "%s (from %s): %s: file holds a NUL byte", name, fname, path);
        rc = -1;
    } else {
        memcpy(out, data, n + 1);
    }
    cfg_wipe(data, n);
    free(data);
    return rc;
}
