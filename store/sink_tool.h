/* sink_tool: what the store's own tool (jobs/cronflux: requeue, status) and the store's
 * tests may reach behind a sink. Jobs that collect points use sink.h alone (lint checks).
 */
#ifndef CF_SINK_TOOL_H
#define CF_SINK_TOOL_H

#include "sink.h"
#include "spool.h"

/* The sink's spool handle (NULL in dry-run, or for NULL s). Owned by the sink: valid
 * until sink_finish; do not close it. */
spool *sink_spool(sink *s);

#endif
