/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A streaming JSON writer (json-writer.h). */
#include <stdlib.h>
#include <string.h>

#include "json-util.h"
#include "json-writer.h"

void json_writer_done(JsonWriter *w) {
        free(w->buf);
        *w = JSON_WRITER_INIT;
}

void json_writer_reset(JsonWriter *w) {
        w->len = 0;
        w->need_comma = false;
}

void json_writer_clear_text(JsonWriter *w) {
        w->len = 0;
}

/* Grows the buffer for n more bytes; false (and failed) when it cannot. Out of line: the common case,
 * room enough, is reserve()'s one comparison. */
static bool __attribute__((noinline)) grow(JsonWriter *w, size_t n) {
        size_t na;
        char *nb;

        if (w->failed)
                return false;
        if (n > SIZE_MAX / 2 - w->len) {
                w->failed = true;
                return false;
        }
        na = MAX(w->alloc * 2, w->len + n);
        na = MAX(na, (size_t) 256);
        nb = realloc(w->buf, na);
        if (!nb) {
                w->failed = true;
                return false;
        }
        w->buf = nb;
        w->alloc = na;
        return true;
}

/* Room for n more bytes; false (and failed) when there is none. */
static inline __attribute__((always_inline)) bool reserve(JsonWriter *w, size_t n) {
        if (_likely_(!w->failed && w->alloc - w->len >= n))
                return true;
        return grow(w, n);
}

static inline __attribute__((always_inline)) void put(JsonWriter *w, const void *data, size_t n) {
        if (n > 0 && reserve(w, n)) {
                memcpy(w->buf + w->len, data, n);
                w->len += n;
        }
}

static inline __attribute__((always_inline)) void put_char(JsonWriter *w, char c) {
        if (reserve(w, 1))
                w->buf[w->len++] = c;
}

/* Before a value or key: the comma that separates it from the one before. */
static inline __attribute__((always_inline)) void separate(JsonWriter *w) {
        if (w->need_comma)
                put_char(w, ',');
}

void json_writer_object_begin(JsonWriter *w) {
        separate(w);
        put_char(w, '{');
        w->need_comma = false;
}

void json_writer_object_end(JsonWriter *w) {
        put_char(w, '}');
        w->need_comma = true;
}

void json_writer_array_begin(JsonWriter *w) {
        separate(w);
        put_char(w, '[');
        w->need_comma = false;
}

void json_writer_array_end(JsonWriter *w) {
        put_char(w, ']');
        w->need_comma = true;
}

/* Does the byte need more than a copy: a quote, a backslash, a control or a non-ASCII byte? A table:
 * one load per byte of every string of a reply, not four comparisons. */
static const bool special_byte[256] = {
        [0x00 ... 0x1F] = true, ['"'] = true, ['\\'] = true, [0x80 ... 0xFF] = true,
};

static bool special(unsigned char c) {
        return special_byte[c];
}

/* The string's text, quotes included. One pass: runs of plain bytes are copied at once; escapes and
 * the UTF-8 check happen only where a special byte is. */
static void put_string(JsonWriter *w, const char *s, size_t n) {
        static const char hex[] = "0123456789ABCDEF";
        size_t i = 0, run = 0;

        put_char(w, '"');
        if (!s)
                n = 0;
        while (i < n) {
                unsigned char c = (unsigned char) s[i];
                bool valid;
                size_t k = 1;

                if (!special(c)) {
                        i++;
                        continue;
                }
                if (c >= 0x80) {
                        k = utf8_next(s + i, n - i, &valid);
                        if (valid) {
                                i += k;
                                continue;
                        }
                }
                /* Copy the plain run before this byte, then its replacement. */
                put(w, s + run, i - run);
                if (c >= 0x80) {
                        put(w, UTF8_REPLACEMENT, 3);
                        i += k;
                } else {
                        char e[6] = { '\\', 0 };
                        size_t en = 2;

                        switch (c) {
                        case '"': e[1] = '"'; break;
                        case '\\': e[1] = '\\'; break;
                        case '\b': e[1] = 'b'; break;
                        case '\f': e[1] = 'f'; break;
                        case '\n': e[1] = 'n'; break;
                        case '\r': e[1] = 'r'; break;
                        case '\t': e[1] = 't'; break;
                        case '\0':
                                /* jansson strings cannot hold NUL: U+FFFD, as json_string_sanitized(). */
                                en = 0;
                                put(w, UTF8_REPLACEMENT, 3);
                                break;
                        default:
                                memcpy(e, "\\u00", 4);
                                e[4] = hex[c >> 4];
                                e[5] = hex[c & 0xF];
                                en = 6;
                                break;
                        }
                        put(w, e, en);
                        i++;
                }
                run = i;
        }
        put(w, s + run, n - run);
        put_char(w, '"');
}

void json_writer_key(JsonWriter *w, const char *key) {
        separate(w);
        put_string(w, key, strlen(key));
        put_char(w, ':');
        w->need_comma = false;
}

void json_writer_key_plain_grow(JsonWriter *w, const char *text, size_t n) {
        if (reserve(w, n + 1)) {
                if (w->need_comma)
                        w->buf[w->len++] = ',';
                memcpy(w->buf + w->len, text, n);
                w->len += n;
        }
        w->need_comma = false;
}

void json_writer_string(JsonWriter *w, const char *s, size_t n) {
        separate(w);
        put_string(w, s, n);
        w->need_comma = true;
}

void json_writer_cstring(JsonWriter *w, const char *s) {
        json_writer_string(w, s, s ? strlen(s) : 0);
}

static void put_u64(JsonWriter *w, uint64_t v, bool negative) {
        /* Two digits per division: timestamps and counters of a reply have 10 to 20 of them. */
        static const char pairs[] =
                "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
                "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
                "8081828384858687888990919293949596979899";
        char b[21], *p = b + sizeof(b);

        while (v >= 10) {
                p -= 2;
                memcpy(p, pairs + (v % 100) * 2, 2);
                v /= 100;
        }
        if (v > 0 || p == b + sizeof(b))
                *--p = (char) ('0' + v);
        if (negative)
                *--p = '-';
        put(w, p, (size_t) (b + sizeof(b) - p));
}

void json_writer_int(JsonWriter *w, int64_t v) {
        separate(w);
        /* The magnitude of INT64_MIN does not fit an int64_t; as uint64_t it does. */
        put_u64(w, v < 0 ? (uint64_t) 0 - (uint64_t) v : (uint64_t) v, v < 0);
        w->need_comma = true;
}

void json_writer_uint(JsonWriter *w, uint64_t v) {
        separate(w);
        put_u64(w, v, false);
        w->need_comma = true;
}

void json_writer_bool(JsonWriter *w, bool v) {
        separate(w);
        if (v)
                put(w, "true", 4);
        else
                put(w, "false", 5);
        w->need_comma = true;
}

void json_writer_null(JsonWriter *w) {
        separate(w);
        put(w, "null", 4);
        w->need_comma = true;
}

static int dump_cb(const char *buffer, size_t size, void *data) {
        JsonWriter *w = data;

        put(w, buffer, size);
        return w->failed ? -1 : 0;
}

void json_writer_json(JsonWriter *w, const json_t *j) {
        if (!j) {
                w->failed = true;
                return;
        }
        separate(w);
        if (json_dump_callback(j, dump_cb, w, JSON_COMPACT | JSON_ENCODE_ANY) < 0)
                w->failed = true;
        w->need_comma = true;
}

void json_writer_json_steal(JsonWriter *w, json_t *j) {
        json_writer_json(w, j);
        json_decref(j);
}

void json_writer_raw_value(JsonWriter *w, const char *text, size_t n) {
        separate(w);
        put(w, text, n);
        w->need_comma = true;
}

void json_writer_append(JsonWriter *w, const void *data, size_t n) {
        put(w, data, n);
}
