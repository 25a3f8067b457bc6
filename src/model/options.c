/* options.c: parsing, range checks and formatting for option tables. */
#include "model/options.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int sf_key_eq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char ca = *a == '-' ? '_' : *a, cb = *b == '-' ? '_' : *b;
        if (ca != cb)
            return 0;
    }
    return *a == *b;
}

const sf_opt_spec *sf_opt_find(const sf_opt_spec *specs, const char *key)
{
    for (const sf_opt_spec *s = specs; s && s->key; s++)
        if (sf_key_eq(s->key, key))
            return s;
    return NULL;
}

static sf_status sf_opt_set_number(const sf_opt_spec *s, void *field, const char *value,
                                   const char *where)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(value, &end);
    if (errno || end == value || *end != '\0' || !isfinite(v))
        return sf_error(SF_ERR_INVALID_ARG, "%s: '%s' is not a number (option %s)", where,
                        value, s->key);
    if (s->type != SF_OPT_FLOAT && v != floor(v))
        return sf_error(SF_ERR_INVALID_ARG, "%s: %s must be a whole number, got %s", where,
                        s->key, value);
    if (v < s->lo || v > s->hi)
        return sf_error(SF_ERR_INVALID_ARG, "%s: %s = %s is out of range [%g, %g]", where,
                        s->key, value, s->lo, s->hi);
    if (s->type == SF_OPT_INT)
        *(int32_t *)field = (int32_t)v;
    else if (s->type == SF_OPT_INT64)
        *(int64_t *)field = (int64_t)v;
    else
        *(float *)field = (float)v;
    return SF_OK;
}

static sf_status sf_opt_set_enum(const sf_opt_spec *s, int *field, const char *value,
                                 const char *where)
{
    char valid[256] = "";
    for (int i = 0; s->names[i]; i++) {
        if (strcmp(value, s->names[i]) == 0) {
            *field = i;
            return SF_OK;
        }
        size_t used = strlen(valid);
        snprintf(valid + used, sizeof valid - used, "%s%s", i ? ", " : "", s->names[i]);
    }
    return sf_error(SF_ERR_INVALID_ARG, "%s: unknown %s '%s' (valid: %s)", where, s->key, value,
                    valid);
}

sf_status sf_opt_set(const sf_opt_spec *specs, void *base, const char *key, const char *value,
                     const char *where)
{
    const sf_opt_spec *s = sf_opt_find(specs, key);
    if (!s)
        return sf_error(SF_ERR_INVALID_ARG, "%s: unknown option '%s'", where, key);
    void *field = (char *)base + s->offset;
    switch (s->type) {
    case SF_OPT_INT:
    case SF_OPT_INT64:
    case SF_OPT_FLOAT:
        return sf_opt_set_number(s, field, value, where);
    case SF_OPT_BOOL:
        if (!strcasecmp(value, "true") || !strcmp(value, "1") || !strcasecmp(value, "yes"))
            *(int *)field = 1;
        else if (!strcasecmp(value, "false") || !strcmp(value, "0") || !strcasecmp(value, "no"))
            *(int *)field = 0;
        else
            return sf_error(SF_ERR_INVALID_ARG, "%s: %s must be true or false, got '%s'", where,
                            s->key, value);
        return SF_OK;
    case SF_OPT_ENUM:
        return sf_opt_set_enum(s, (int *)field, value, where);
    case SF_OPT_STRING:
        if (strlen(value) >= SF_OPT_STR_MAX)
            return sf_error(SF_ERR_INVALID_ARG, "%s: %s is longer than %d bytes", where, s->key,
                            SF_OPT_STR_MAX - 1);
        strcpy((char *)field, value);
        return SF_OK;
    }
    return SF_FAIL(SF_ERR_INTERNAL, "bad option type for %s", s->key);
}

/* Text form of a JSON scalar, for sf_opt_set. */
static sf_status sf_json_scalar_text(const cJSON *item, char *buf, size_t n, const char *where)
{
    if (cJSON_IsBool(item))
        snprintf(buf, n, "%s", cJSON_IsTrue(item) ? "true" : "false");
    else if (cJSON_IsNumber(item))
        snprintf(buf, n, "%.17g", item->valuedouble);
    else if (cJSON_IsString(item))
        snprintf(buf, n, "%s", item->valuestring);
    else
        return sf_error(SF_ERR_INVALID_ARG, "%s: '%s' must be a number, boolean or string",
                        where, item->string ? item->string : "?");
    return SF_OK;
}

sf_status sf_opt_apply_json(const sf_opt_spec *specs, void *base, const sf_opt_spec *other,
                            void *other_base, const char *json, const char *where)
{
    cJSON *root = cJSON_Parse(json);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return sf_error(SF_ERR_FORMAT, "%s: not a JSON object", where);
    }
    sf_status st = SF_OK;
    char text[SF_OPT_STR_MAX + 32];
    for (cJSON *it = root->child; it && st == SF_OK; it = it->next) {
        st = sf_json_scalar_text(it, text, sizeof text, where);
        if (st != SF_OK)
            break;
        if (sf_opt_find(specs, it->string))
            st = sf_opt_set(specs, base, it->string, text, where);
        else if (other && sf_opt_find(other, it->string))
            st = sf_opt_set(other, other_base, it->string, text, where);
        else
            st = sf_error(SF_ERR_INVALID_ARG, "%s: unknown key '%s' (see 'seqfuse train --help' "
                          "for the valid keys)", where, it->string);
    }
    cJSON_Delete(root);
    return st;
}

static char *sf_trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
        *--e = '\0';
    return s;
}

static sf_status sf_opt_apply_yaml_line(char *line, const sf_opt_spec *specs, void *base,
                                        const sf_opt_spec *other, void *other_base,
                                        const char *where)
{
    char *hash = strchr(line, '#');
    if (hash && (hash == line || hash[-1] == ' ' || hash[-1] == '\t'))
        *hash = '\0';
    char *s = sf_trim(line);
    if (*s == '\0' || strcmp(s, "---") == 0)
        return SF_OK;
    char *colon = strchr(s, ':');
    if (!colon)
        return sf_error(SF_ERR_FORMAT, "%s: expected 'key: value'", where);
    *colon = '\0';
    char *key = sf_trim(s), *value = sf_trim(colon + 1);
    size_t vl = strlen(value);
    if (vl >= 2 && (value[0] == '"' || value[0] == '\'') && value[vl - 1] == value[0]) {
        value[vl - 1] = '\0';
        value++;
    }
    if (sf_opt_find(specs, key))
        return sf_opt_set(specs, base, key, value, where);
    if (other && sf_opt_find(other, key))
        return sf_opt_set(other, other_base, key, value, where);
    return sf_error(SF_ERR_INVALID_ARG, "%s: unknown key '%s' (see 'seqfuse train --help' for "
                    "the valid keys)", where, key);
}

sf_status sf_opt_load_file(const char *path, const sf_opt_spec *specs, void *base,
                           const sf_opt_spec *other, void *other_base)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return sf_error(SF_ERR_IO, "cannot open config %s: %s", path, strerror(errno));
    char *text = NULL;
    size_t cap = 0;
    ssize_t len = getdelim(&text, &cap, '\0', f);
    fclose(f);
    if (len < 0) {
        free(text);
        return sf_error(SF_ERR_FORMAT, "config %s is empty", path);
    }
    if ((size_t)len != strlen(text)) {
        free(text);
        return sf_error(SF_ERR_FORMAT, "config %s contains a NUL byte", path);
    }
    sf_status st = SF_OK;
    char *p = text;
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        p++;
    if (*p == '{') {
        st = sf_opt_apply_json(specs, base, other, other_base, p, path);
    } else {
        char where[1100];
        int lineno = 0;
        for (char *save = NULL, *line = strtok_r(text, "\n", &save); line && st == SF_OK;
             line = strtok_r(NULL, "\n", &save)) {
            lineno++;
            snprintf(where, sizeof where, "%s:%d", path, lineno);
            st = sf_opt_apply_yaml_line(line, specs, base, other, other_base, where);
        }
    }
    free(text);
    return st;
}

void sf_opt_format(const sf_opt_spec *s, const void *base, char *buf, size_t n)
{
    const void *field = (const char *)base + s->offset;
    switch (s->type) {
    case SF_OPT_INT: snprintf(buf, n, "%d", *(const int32_t *)field); break;
    case SF_OPT_INT64: snprintf(buf, n, "%lld", (long long)*(const int64_t *)field); break;
    case SF_OPT_FLOAT: snprintf(buf, n, "%g", *(const float *)field); break;
    case SF_OPT_BOOL: snprintf(buf, n, "%s", *(const int *)field ? "true" : "false"); break;
    case SF_OPT_ENUM: snprintf(buf, n, "%s", s->names[*(const int *)field]); break;
    case SF_OPT_STRING: snprintf(buf, n, "%s", (const char *)field); break;
    }
}

void sf_opt_print_help(const sf_opt_spec *specs, const void *defaults, void *file)
{
    FILE *out = file;
    char key[64], val[64];
    for (const sf_opt_spec *s = specs; s->key; s++) {
        snprintf(key, sizeof key, "--%s", s->key);
        for (char *c = key + 2; *c; c++)
            if (*c == '_')
                *c = '-';
        sf_opt_format(s, defaults, val, sizeof val);
        fprintf(out, "  %-26s %s (default %s)\n", key, s->help, *val ? val : "none");
    }
}
