/* gz: gzip members in memory (zlib), the one place the store compresses and inflates.
 *
 * InfluxDB request bodies are gzip members (Content-Encoding: gzip), and so are the
 * spool's stored batches; both inflate through gz_inflate_exact. (The spool keeps one
 * deflate stream per handle and resets it for each batch: that reuse is its own.)
 */
#ifndef CF_GZ_H
#define CF_GZ_H

#include <stddef.h>

#include "buf.h"

/* out = one gzip member of in[len] at level 1-9 (the window sized to len: see gz.c).
 * 0, or -1 (out of memory, over out->max; out is then reset or failed). */
int gz_deflate(buf *out, const char *in, size_t len, int level);

/* Inflate the gzip member gz[gzlen] into out[want] (room for want bytes): it must hold
 * exactly want bytes and nothing after. 0; -2 it does not (damaged, truncated, a length
 * other than want: why says which); -1 out of memory or too large for zlib (why set). */
int gz_inflate_exact(const void *gz, size_t gzlen, char *out, size_t want, char *why,
                     size_t whylen);

#endif
