/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A streaming JSON writer: compact JSON text appended to a growing buffer, no tree of objects.
 *
 * Why. A List or Tree reply over 30,000 processes is tens of megabytes; building each record as a
 * jansson object tree and then dumping it costs most of the reply's time in allocations. This writes
 * the same text directly.
 *
 * The text is byte for byte what json_dumps(..., JSON_COMPACT) makes of the same values (tested):
 * strings escape '"', '\\' and C0 controls as jansson does (\b \f \n \r \t, else \u00XX), everything
 * else is copied; ill-formed UTF-8 and NUL bytes become U+FFFD (json-util.h, utf8_next()), so any
 * bytes give valid JSON.
 *
 * Commas and colons are placed by the writer: begin/end a container, write a key, write a value. It
 * does not check that keys come only in objects (the callers are few and tested). Allocation failure
 * is sticky: every later call does nothing and json_writer_error() returns -ENOMEM, so building a
 * record is a flat list of calls with one check at the end. */
#pragma once

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct JsonWriter {
        char *buf;
        size_t len, alloc;
        bool need_comma; /* the next key or value follows a sibling */
        bool failed;     /* out of memory: nothing more is written */
} JsonWriter;

#define JSON_WRITER_INIT ((JsonWriter){})

/* Frees the buffer; the writer may be used again. */
void json_writer_done(JsonWriter *w);
/* Forgets the text written (keeping the buffer) and starts a new top-level value. */
void json_writer_reset(JsonWriter *w);
/* Forgets the text written but keeps the comma state: for text handed out in pieces (the caller has
 * taken buf[0, len) already) while a container stays open. */
void json_writer_clear_text(JsonWriter *w);
/* 0, or -ENOMEM when any write failed. */
static inline int json_writer_error(const JsonWriter *w) {
        return w->failed ? -ENOMEM : 0;
}

void json_writer_object_begin(JsonWriter *w);
void json_writer_object_end(JsonWriter *w);
void json_writer_array_begin(JsonWriter *w);
void json_writer_array_end(JsonWriter *w);

/* An object key (any bytes, sanitised like strings), then its ':'. The value must follow. */
void json_writer_key(JsonWriter *w, const char *key);
/* The same for a key that is a string literal of letters, digits and '_' (nothing to escape): its
 * text, quotes and colon included, is made at compile time and copied at once. A List reply writes
 * some 40 keys per record; escaping each one again cost a fifth of the reply. */
#define json_writer_key_literal(w, key) \
        json_writer_key_plain((w), "\"" key "\":", sizeof("\"" key "\":") - 1)
/* text (n bytes) is a key's whole text already, quotes and ':' included. Inline, so that the copy of
 * a literal's known length is a few moves, not a call. */
void json_writer_key_plain_grow(JsonWriter *w, const char *text, size_t n);
static inline void json_writer_key_plain(JsonWriter *w, const char *text, size_t n) {
        if (__builtin_expect(w->failed || w->alloc - w->len <= n, 0)) {
                json_writer_key_plain_grow(w, text, n);
                return;
        }
        if (w->need_comma)
                w->buf[w->len++] = ',';
        memcpy(w->buf + w->len, text, n);
        w->len += n;
        w->need_comma = false;
}

/* s (n bytes, any content; NULL with n 0 is ""), sanitised and escaped. */
void json_writer_string(JsonWriter *w, const char *s, size_t n);
/* s NUL-terminated. */
void json_writer_cstring(JsonWriter *w, const char *s);
void json_writer_int(JsonWriter *w, int64_t v);
void json_writer_uint(JsonWriter *w, uint64_t v);
void json_writer_bool(JsonWriter *w, bool v);
void json_writer_null(JsonWriter *w);
/* A jansson value, compact (for the rare parts still built as objects). NULL counts as out of
 * memory, as the functions that build such values return NULL only then. */
void json_writer_json(JsonWriter *w, const json_t *j);
/* The same, then json_decref(j). */
void json_writer_json_steal(JsonWriter *w, json_t *j);
/* text (n bytes) that is a complete JSON value already, copied as it is. */
void json_writer_raw_value(JsonWriter *w, const char *text, size_t n);
/* Bytes appended as they are, outside the JSON grammar (no comma; the comma state is kept): the
 * NUL that ends a Varlink message, or the closing text of a message begun elsewhere. */
void json_writer_append(JsonWriter *w, const void *data, size_t n);
