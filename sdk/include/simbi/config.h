/* simbi/config.h: a C plugin's settings, read without parsing JSON by hand.
 *
 * A plugin declares its settings once, in its descriptor's config_schema_json (JSON Schema: each
 * key's type, default, bounds and description; the host checks a manifest against it before any
 * work). create() then reads each value with these accessors, which take the config the host
 * passed and that same schema: a key the manifest leaves unset reads as its default.
 *
 *     double dt;
 *     if (simbi_config_number(config_json, schema, "dt", &dt) != 1) return error;
 *
 * Each returns 1 with the value, 0 when neither the config nor the schema's default gives one (or
 * it is null), and -1 when the text is not a JSON object or the value is of another type. Values
 * are read from the top level of the object only. simbi_config_check() checks a config against
 * the schema as the host does (unknown keys, types, numeric bounds), for a plugin created by any
 * host. Header-only C99; thread-safe (no state). */
#ifndef SIMBI_CONFIG_H
#define SIMBI_CONFIG_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

static inline const char *simbi_json_ws(const char *p) {
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') ++p;
    return p;
}

/* Past the JSON value at p (a string, number, literal, array or object), or NULL if malformed. */
static inline const char *simbi_json_skip(const char *p) {
    int depth = 0;
    p = simbi_json_ws(p);
    do {
        if (*p == '"') {
            for (++p; *p && *p != '"'; ++p)
                if (*p == '\\' && p[1]) ++p;
            if (*p != '"') return NULL;
            ++p;
        } else if (*p == '{' || *p == '[') {
            ++depth;
            ++p;
        } else if (*p == '}' || *p == ']') {
            if (depth == 0) return NULL;
            --depth;
            ++p;
        } else if (*p == ',' || *p == ':') {
            if (depth == 0) return NULL;
            ++p;
        } else if (*p) {
            while (*p && !strchr(",:]} \n\t\r", *p)) ++p;
        } else {
            return NULL;
        }
        p = simbi_json_ws(p);
    } while (depth > 0);
    return p;
}

/* The value of `key` at the top level of the object `json`, or NULL (no such key, or not an
 * object). */
static inline const char *simbi_json_member(const char *json, const char *key) {
    const char *p = simbi_json_ws(json ? json : "");
    const size_t n = strlen(key);
    if (*p != '{') return NULL;
    p = simbi_json_ws(p + 1);
    while (*p == '"') {
        const char *name = p + 1, *end = simbi_json_skip(p);
        int match;
        if (!end) return NULL;
        match = (size_t)(end - name - 1) >= n && strncmp(name, key, n) == 0 && name[n] == '"';
        p = simbi_json_ws(end);
        if (*p != ':') return NULL;
        p = simbi_json_ws(p + 1);
        if (match) return p;
        p = simbi_json_skip(p);
        if (!p) return NULL;
        if (*p == ',') p = simbi_json_ws(p + 1);
    }
    return NULL;
}

/* The setting's value in config_json, else the default in schema_json (a JSON Schema object's
 * properties, or the older map {key: {..., "default": ...}}), else NULL. */
static inline const char *simbi_config_value(const char *config_json, const char *schema_json, const char *key) {
    const char *v = simbi_json_member(config_json, key), *props, *prop;
    if (v && strncmp(v, "null", 4) != 0) return v;
    props = simbi_json_member(schema_json, "properties");
    prop = simbi_json_member(props ? props : schema_json, key);
    v = prop ? simbi_json_member(prop, "default") : NULL;
    return v && strncmp(v, "null", 4) != 0 ? v : NULL;
}

static inline int simbi_config_number(const char *config_json, const char *schema_json, const char *key, double *value) {
    const char *v = simbi_config_value(config_json, schema_json, key);
    char *end = NULL;
    double d;
    if (!v) return 0;
    d = strtod(v, &end);
    if (end == v) return -1;
    *value = d;
    return 1;
}

static inline int simbi_config_integer(const char *config_json, const char *schema_json, const char *key, int64_t *value) {
    double d;
    const int found = simbi_config_number(config_json, schema_json, key, &d);
    if (found != 1) return found;
    if (d != (double)(int64_t)d) return -1;
    *value = (int64_t)d;
    return 1;
}

static inline int simbi_config_boolean(const char *config_json, const char *schema_json, const char *key, int *value) {
    const char *v = simbi_config_value(config_json, schema_json, key);
    if (!v) return 0;
    if (strncmp(v, "true", 4) == 0) return *value = 1, 1;
    if (strncmp(v, "false", 5) == 0) return *value = 0, 1;
    return -1;
}

/* A string into buffer[capacity] (NUL-terminated, escapes kept as written); -1 when it does not
 * fit. */
static inline int simbi_config_string(const char *config_json, const char *schema_json, const char *key, char *buffer, uint64_t capacity) {
    const char *v = simbi_config_value(config_json, schema_json, key), *end;
    uint64_t n;
    if (!v) return 0;
    if (*v != '"' || !(end = simbi_json_skip(v))) return -1;
    n = (uint64_t)(end - v - 2);
    if (n + 1 > capacity) return -1;
    memcpy(buffer, v + 1, (size_t)n);
    buffer[n] = '\0';
    return 1;
}

/* Checks config_json against schema_json: every key declared, numbers, integers, booleans and
 * strings of their type, numbers within "minimum", "maximum", "exclusiveMinimum" and
 * "exclusiveMaximum". Returns 1, or 0 with err set naming the key. */
static inline int simbi_config_check(const char *config_json, const char *schema_json, simbi_error *err) {
    const char *props = simbi_json_member(schema_json, "properties"), *p = simbi_json_ws(config_json ? config_json : "{}");
    char key[128], message[256];
    if (!props) props = schema_json;
    if (*p != '{') return simbi_error_set(err, SIMBI_ERROR, "config must be a JSON object"), 0;
    p = simbi_json_ws(p + 1);
    while (*p == '"') {
        const char *end = simbi_json_skip(p), *prop, *type, *value;
        size_t n;
        if (!end || (n = (size_t)(end - p - 2)) >= sizeof key)
            return simbi_error_set(err, SIMBI_ERROR, "config: a malformed or overlong key"), 0;
        memcpy(key, p + 1, n);
        key[n] = '\0';
        if (*simbi_json_ws(end) != ':') return simbi_error_set(err, SIMBI_ERROR, "config: malformed JSON (expected ':' after a key)"), 0;
        value = simbi_json_ws(simbi_json_ws(end) + 1);
        prop = simbi_json_member(props, key);
        if (!prop) {
            snprintf(message, sizeof message, "unknown config key '%s'", key);
            return simbi_error_set(err, SIMBI_ERROR, message), 0;
        }
        type = simbi_json_member(prop, "type");
        if (type && *type == '[') type = simbi_json_ws(type + 1);
        if (type && strncmp(value, "null", 4) != 0) {
            const int number = strncmp(type, "\"number\"", 8) == 0, integer = strncmp(type, "\"integer\"", 9) == 0;
            char *stop = NULL;
            const double v = strtod(value, &stop);
            const int is_number = stop != value;
            const char *bad = NULL;
            if ((number || integer) && !is_number)
                bad = number ? "a number" : "an integer";
            else if (integer && v != (double)(int64_t)v)
                bad = "an integer";
            else if (strncmp(type, "\"boolean\"", 9) == 0 && strncmp(value, "true", 4) != 0 && strncmp(value, "false", 5) != 0)
                bad = "true or false";
            else if (strncmp(type, "\"string\"", 8) == 0 && *value != '"')
                bad = "a string";
            if (!bad && (number || integer)) {
                static const char *bounds[] = {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"};
                int i;
                for (i = 0; i < 4 && !bad; ++i) {
                    const char *b = simbi_json_member(prop, bounds[i]);
                    double limit;
                    if (!b) continue;
                    limit = strtod(b, NULL);
                    if ((i == 0 && v < limit) || (i == 1 && v > limit) || (i == 2 && v <= limit) || (i == 3 && v >= limit)) bad = bounds[i];
                }
                if (bad) {
                    snprintf(message, sizeof message, "config key '%s' is out of its range (%s)", key, bad);
                    return simbi_error_set(err, SIMBI_ERROR, message), 0;
                }
            }
            if (bad) {
                snprintf(message, sizeof message, "config key '%s' must be %s", key, bad);
                return simbi_error_set(err, SIMBI_ERROR, message), 0;
            }
        }
        p = simbi_json_skip(value);
        if (!p) return simbi_error_set(err, SIMBI_ERROR, "config: malformed JSON"), 0;
        if (*p == ',') p = simbi_json_ws(p + 1);
    }
    if (*p != '}' || *simbi_json_ws(p + 1) != '\0') return simbi_error_set(err, SIMBI_ERROR, "config: malformed JSON"), 0;
    return 1;
}

#ifdef __cplusplus
}
#endif
#endif
