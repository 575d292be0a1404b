/* cfg: configuration from the environment (flags are parsed by each main and win).
 *
 * Secrets: every name ending in _PASSWORD, _TOKEN, _SECRET or _KEY may instead be
 * given as NAME_FILE, a path whose contents (less one trailing newline, "\n" or "\r\n")
 * are the secret. NAME wins over NAME_FILE when both are set.
 * No function here ever puts a secret's value into `err`.
 */
#ifndef CF_CFG_H
#define CF_CFG_H

#include <stddef.h>
#include <stdint.h>

#define CFG_SECRET_MAX 4096

/* getenv that treats "" as unset. Returns a pointer into the environment or NULL. */
const char *cfg_env(const char *name);

/* Read the secret `name` (or `name`_FILE) into out[cap].
 * Returns 1 when found, 0 when neither is set (out = ""), -1 on error (unreadable file,
 * longer than cap-1): err names the variable and file, never the value. */
int cfg_secret(const char *name, char *out, size_t cap, char *err, size_t errlen);

/* Read a whole small file (at most `max` bytes) into a malloc'd NUL-terminated string;
 * the caller frees it. A single trailing newline is removed when `chomp` is set.
 * NULL on error with err set ("PATH: reason"). */
char *cfg_read_file(const char *path, size_t max, int chomp, char *err, size_t errlen);

/* Overwrite a buffer holding a secret (not optimised away). */
void cfg_wipe(void *p, size_t len);

#endif
