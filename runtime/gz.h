/* gz: gzip members in memory (libdeflate), the one place the store compresses and inflates.
 *
 * InfluxDB request bodies are gzip members (Content-Encoding: gzip), and so are the
 * spool's stored batches; both are made by a gz_packer and inflate through
 * gz_inflate_exact. libdeflate, not zlib: a batch is always compressed whole, which is what
 * libdeflate is built for, and at level 1 it takes about a third of zlib's CPU for a
 * smaller member (bench: 1M k8s_pod lines, 145 MB: 0.19 s and 8.6% against 0.43 s and
 * 11.2%). On a machine InfluxDB shares, that CPU is taken from InfluxDB (docs/PERFORMANCE.md).
 */
#ifndef CF_GZ_H
#define CF_GZ_H

#include <stddef.h>

#include "buf.h"

/* A compressor at one level (1-9), kept for many bodies: its tables are allocated once.
 * Not for two threads at a time. */
typedef struct gz_packer gz_packer;

/* A packer at level (1-9; out of range: 1), or NULL (out of memory). Free with
 * gz_packer_free (accepts NULL). */
gz_packer *gz_packer_new(int level);
void gz_packer_free(gz_packer *p);
int gz_packer_level(const gz_packer *p);

/* out = one gzip member of in[len]. 0, or -1 (out of memory, or the member would be over
 * out->max: out is then reset or failed). */
int gz_pack(gz_packer *p, buf *out, const char *in, size_t len);

/* Inflate the gzip member gz[gzlen] into out[want] (room for want bytes): it must hold
 * exactly want bytes and nothing after. 0; -2 it does not (damaged, truncated, a length
 * other than want: why says which); -1 out of memory (why set). */
int gz_inflate_exact(const void *gz, size_t gzlen, char *out, size_t want, char *why,
                     size_t whylen);

#endif
