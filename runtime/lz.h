/* lz: LZ4 blocks in memory (liblz4), for spool bodies that go to InfluxDB as lines.
 *
 * A body sent plain (a loopback InfluxDB: docs/DESIGN.md) is packed at commit and unpacked
 * by the writer that sends it. gzip at level 1 costs about 2.3 times LZ4's CPU for the pair on our lines
 * (30 days of prom-metrics lines, 388 MB: 0.77 s against 0.33 s, docs/PERFORMANCE.md), CPU
 * taken from an InfluxDB on the same cores; LZ4 stores 1.6 times gzip's bytes.
 *
 * The packed form ("enc 2" in the spool): the CRC-32 of the lines (4 bytes, little-endian),
 * then one LZ4 block of the lines. The length of the lines is kept beside it (batches.bytes),
 * so the block needs no frame; the CRC makes a damaged body known, as gzip's own does.
 */
#ifndef CF_LZ_H
#define CF_LZ_H

#include <stddef.h>

#include "buf.h"

/* out = the packed form of in[len] (len at most LZ_MAX). 0, or -1 (out of memory, too
 * long, or over out->max: out is then reset or failed). */
int lz_pack(buf *out, const char *in, size_t len);

/* Unpack z[zlen] into out[want] (room for want bytes): it must give exactly want bytes
 * whose CRC is the stored one. 0; -2 it does not (damaged, truncated, another length: why
 * says which). */
int lz_unpack_exact(const void *z, size_t zlen, char *out, size_t want, char *why,
                    size_t whylen);

#define LZ_MAX ((size_t)1 << 30)   /* the spool's longest body */

#endif
