/* cf_json: see cf_json.h. */
#include "cf_json.h"

#include <stdlib.h>
#include <string.h>

#include "../../runtime/errf.h"
#include "../../runtime/jsonu.h"
#include "../../runtime/util.h"

void cf_json_free(cf_json *js)
{
    json_decref(js->root);
    free(js->tags);
    free(js->fields);
    memset(js, 0, sizeof *js);
}

/* One JSON point (DESIGN.md): 1 a point in *pt (borrowing from js), 0 blank, -1 bad. */
int cf_json_point(const char *line, size_t len, cf_json *js, lp_point *pt, char *err,
                  size_t errlen)
{
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
        i++;
    if (i == len)
        return 0;
    json_decref(js->root);
    js->root = NULL;
    json_error_t je;
    js->root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
    if (!js->root) {
        errf_set(err, errlen, "column %d: %s", je.column, je.text[0] ? je.text : "invalid JSON");
        return -1;
    }
    const char *meas = NULL;
    json_t *tags = NULL, *fields = NULL, *time = NULL;
    char why[256];
    jsonu_doc doc = { line, len, js->root };   /* to say where in the line */
    if (jsonu_unpack_in(&doc, js->root, "point", why, sizeof why, "{s:s, s?o, s:o, s?o !}",
                        "measurement", &meas, "tags", &tags, "fields", &fields, "time",
                        &time) != 0) {
        errf_set(err, errlen, "%s", why);
        return -1;
    }
    memset(pt, 0, sizeof *pt);
    pt->measurement = meas;
    if (tags && !json_is_null(tags)) {
        if (!json_is_object(tags)) {
            errf_set(err, errlen, "\"tags\" must be an object of strings");
            return -1;
        }
        if (util_grow((void **)&js->tags, &js->tags_cap, json_object_size(tags) + 1,
                 sizeof *js->tags) != 0) {
            errf_set(err, errlen, "out of memory");
            return -1;
        }
        const char *k;
        json_t *v;
        size_t n = 0;
        json_object_foreach(tags, k, v) {
            if (!json_is_string(v)) {
                errf_set(err, errlen, "tag \"%.100s\": the value must be a string", k);
                return -1;
            }
            js->tags[n++] = (lp_tag){ k, json_string_value(v) };
        }
        pt->tags = js->tags;
        pt->ntags = n;
    }
    if (!json_is_object(fields) || json_object_size(fields) == 0) {
        errf_set(err, errlen, "\"fields\" must be an object with at least one field");
        return -1;
    }
    if (util_grow((void **)&js->fields, &js->fields_cap, json_object_size(fields),
             sizeof *js->fields) != 0) {
        errf_set(err, errlen, "out of memory");
        return -1;
    }
    const char *k;
    json_t *v;
    size_t n = 0;
    json_object_foreach(fields, k, v) {
        lp_field *f = &js->fields[n];
        if (json_is_integer(v))
            *f = lp_f_int(k, (int64_t)json_integer_value(v));
        else if (json_is_real(v))
            *f = lp_f_float(k, json_real_value(v));
        else if (json_is_string(v))
            *f = lp_f_str(k, json_string_value(v), json_string_length(v));
        else if (json_is_boolean(v))
            *f = lp_f_bool(k, json_is_true(v));
        else {
            errf_set(err, errlen, "field \"%.100s\": %s cannot be stored (a number, string "
                     "or boolean can)", k,
                     json_is_null(v) ? "null" : json_is_array(v) ? "an array" : "an object");
            return -1;
        }
        n++;
    }
    pt->fields = js->fields;
    pt->nfields = n;
    if (time && !json_is_null(time)) {
        if (!json_is_integer(time)) {
            errf_set(err, errlen, "\"time\" must be an integer of nanoseconds since the epoch");
            return -1;
        }
        pt->time_ns = (int64_t)json_integer_value(time);
        pt->has_time = true;
    }
    return 1;
}

