/* options.h: one table-driven mechanism for every setting a user can give:
 * JSON or flat YAML config files, and `--key value` on the command line.
 * A table of sf_opt_spec describes the fields of a C struct; values are checked
 * against their type and range, and unknown keys are errors that list the
 * valid ones. */
#ifndef SF_MODEL_OPTIONS_H
#define SF_MODEL_OPTIONS_H

#include <stddef.h>

#include "core/status_internal.h"

typedef enum sf_opt_type {
    SF_OPT_INT = 0,   /* int32_t */
    SF_OPT_INT64,     /* int64_t */
    SF_OPT_FLOAT,     /* float */
    SF_OPT_BOOL,      /* int (0/1) */
    SF_OPT_ENUM,      /* int index into names */
    SF_OPT_STRING,    /* char[SF_OPT_STR_MAX] */
} sf_opt_type;

#define SF_OPT_STR_MAX 1024

typedef struct sf_opt_spec {
    const char *key;            /* "hidden_size"; on the command line --hidden-size */
    sf_opt_type type;
    size_t offset;              /* offsetof(struct, field) */
    double lo, hi;              /* inclusive range for numbers */
    const char *const *names;   /* NULL-terminated, for SF_OPT_ENUM */
    const char *help;
} sf_opt_spec;

/* Set one option from its text form (from a command line or YAML).
 * `where` names the source for messages ("--hidden-size", "small.yaml:3"). */
sf_status sf_opt_set(const sf_opt_spec *specs, void *base, const char *key, const char *value,
                     const char *where);
/* Look a key up; "hidden-size" and "hidden_size" both match. NULL if unknown. */
const sf_opt_spec *sf_opt_find(const sf_opt_spec *specs, const char *key);
/* Apply every "key": value of a JSON object text. Keys that match no table are
 * errors unless `other` (a second table, may be NULL) knows them. */
sf_status sf_opt_apply_json(const sf_opt_spec *specs, void *base, const sf_opt_spec *other,
                            void *other_base, const char *json, const char *where);
/* Read a config file: JSON when it starts with '{', else flat YAML
 * ("key: value" lines, '#' comments). Sets options in either table. */
sf_status sf_opt_load_file(const char *path, const sf_opt_spec *specs, void *base,
                           const sf_opt_spec *other, void *other_base);
/* Value of an option as text ("512", "0.1", "true", "lstm"). */
void sf_opt_format(const sf_opt_spec *spec, const void *base, char *buf, size_t n);
/* Print "  --key VALUE   help (default)" lines for a usage message. */
void sf_opt_print_help(const sf_opt_spec *specs, const void *defaults, void *file);

#endif
