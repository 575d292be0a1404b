/* slice: one pod's share of a backfill range in a Kubernetes Indexed Job.
 *
 * Kubernetes sets JOB_COMPLETION_INDEX (0..completions-1) in each pod of an Indexed Job;
 * the Job template sets CRONFLUX_SLICES to its `completions`. The range [from, to) is cut
 * into CRONFLUX_SLICES equal parts (the last one takes the remainder, every boundary
 * aligned down to `align_ns` when > 0, e.g. a query step), and slice INDEX is this pod's.
 * Neither variable set: the whole range.
 */
#ifndef CF_SLICE_H
#define CF_SLICE_H

#include <stddef.h>
#include <stdint.h>

/* Slice `index` of `count` of [from, to). 0, or -1 when index/count are out of range. */
int slice_range(int64_t from, int64_t to, long index, long count, int64_t align_ns,
                int64_t *out_from, int64_t *out_to);

/* Apply JOB_COMPLETION_INDEX / CRONFLUX_SLICES from the environment to [*from, *to).
 * Returns 1 when sliced, 0 when not an Indexed Job, -1 on a bad value (err names it). */
int slice_from_env(int64_t *from, int64_t *to, int64_t align_ns, char *err, size_t errlen);

#endif
