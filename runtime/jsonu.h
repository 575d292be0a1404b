/* jsonu: small helpers over jansson for validating API answers in one place.
 *
 * Every error message carries where it was: "line L, column C: reason" for text that does
 * not parse, and for a wrong shape the key path and (given the text) the line and column of
 * the offending value in the JSON itself, never positions in the unpack format string.
 */
#ifndef CF_JSONU_H
#define CF_JSONU_H

#include <jansson.h>
#include <stddef.h>

/* Parse text[len]. A new reference, or NULL with err = "what: line L, column C: reason". */
json_t *jsonu_parse(const char *text, size_t len, const char *what, char *err, size_t errlen);

/* The text a tree was parsed from, to say where in it a value sits. */
typedef struct jsonu_doc {
    const char *text;
    size_t len;
    json_t *root;       /* the tree of text[len] (jsonu_parse's answer) */
} jsonu_doc;

/* json_unpack_ex of node (root, or a value inside doc's tree) with fmt. 0, or -1 with
 * err = "what: line L, column C: KEY.PATH: reason": the line and column of the offending
 * value in the JSON text (of its object when a key is missing), and the key path from
 * node. Without a doc (NULL, or node not in its tree) the line and column are left out. */
int jsonu_unpack_in(const jsonu_doc *doc, json_t *node, const char *what, char *err,
                    size_t errlen, const char *fmt, ...);
/* jsonu_unpack_in without the text: "what: KEY.PATH: reason". */
int jsonu_unpack(json_t *root, const char *what, char *err, size_t errlen, const char *fmt, ...);

#endif
