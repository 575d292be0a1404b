/* cf_json: one line of `cronflux push --format json` as a point (DESIGN.md "push").
 *
 *   {"measurement":"m","tags":{"k":"v"},"fields":{"f":1.5,"n":3,"s":"x","b":true},"time":NS}
 *
 * Its own file (not static in main.c) so that the fuzz target (fuzz/fuzz_push_json.c)
 * reaches the same code push runs.
 */
#ifndef CF_CF_JSON_H
#define CF_CF_JSON_H

#include <stddef.h>

#include <jansson.h>

#include "../../store/lp.h"

/* What a decoded point borrows from: the JSON tree and the tag/field arrays, reused from
 * one line to the next. Zero it before the first use; cf_json_free releases it. */
typedef struct cf_json {
    json_t *root;
    lp_tag *tags;
    size_t tags_cap;
    lp_field *fields;
    size_t fields_cap;
} cf_json;

void cf_json_free(cf_json *js);   /* and zeroes it; accepts a zeroed one */

/* Decode line[0..len). 1: a point in *pt, whose strings and arrays belong to js and live
 * until the next call or cf_json_free; 0: a blank line (spaces, tabs, CR only); -1: not a
 * point, with err = the reason ("column 7: ...", "field \"x\": null cannot be stored").
 * The point is not checked for storability here: the encoder (lp_encode) does that. */
int cf_json_point(const char *line, size_t len, cf_json *js, lp_point *pt, char *err,
                  size_t errlen);

#endif
