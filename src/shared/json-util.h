/* SPDX-License-Identifier: GPL-2.0-or-later */
/* JSON helpers: UTF-8 sanitising for strings taken from processes, a nesting pre-scan, escaping for
 * terminals.
 *
 * Why jansson (2.14) and not json-c: json-c 0.16's tokener stops at a depth of 32 by default and
 * writes invalid UTF-8 bytes out raw, producing invalid JSON; jansson refuses invalid UTF-8 outright
 * (json_string() returns NULL, the parser fails) and allows a depth of 2048. Both are the wrong
 * defaults for a daemon whose strings come from arbitrary processes, so strings are made valid here
 * first and the depth of requests is checked before jansson sees them (json_nesting_exceeds()). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

/* U+FFFD REPLACEMENT CHARACTER, in UTF-8. */
#define UTF8_REPLACEMENT "\xef\xbf\xbd"

/* The length of the UTF-8 sequence at s (n > 0 bytes available) and whether it is well formed. An
 * ill-formed sequence's length is that of its maximal subpart (Unicode 3.9, "U+FFFD substitution of
 * maximal subparts"), never 0: overlong forms, surrogates, values beyond U+10FFFF and truncated
 * sequences are ill-formed. */
size_t utf8_next(const char *s, size_t n, bool *valid);

/* Is s (n bytes) well-formed UTF-8 without NUL bytes? */
bool utf8_is_clean(const char *s, size_t n);

/* Copies s (n bytes) replacing each ill-formed sequence (see utf8_next()) and each NUL byte by
 * U+FFFD. The result is NUL-terminated, its length (without that NUL) in *ret_len. Returns 0 or
 * -ENOMEM. */
int utf8_sanitize(const char *s, size_t n, char **ret, size_t *ret_len);

/* A JSON string of s (n bytes) made valid by utf8_sanitize(); no copy is made when it is valid
 * already. s may be NULL with n 0. Returns NULL only when out of memory. */
json_t *json_string_sanitized(const char *s, size_t n);

/* Does the JSON text s (n bytes) nest arrays and objects deeper than max? Counts '[' and '{' outside
 * strings, without parsing: a cheap guard run before the parser. Malformed text is not an error
 * here; the parser rejects it. */
bool json_nesting_exceeds(const char *s, size_t n, unsigned max);

/* Escapes s (n bytes, any content) for a terminal: C0 and C1 control characters, DEL, backslash and
 * ill-formed UTF-8 bytes become \n, \t, \\ or \xNN; well-formed non-ASCII characters are kept when
 * keep_utf8, else escaped byte by byte. Returns a malloc'ed NUL-terminated string, or NULL when out
 * of memory. */
char *utf8_escape_display(const char *s, size_t n, bool keep_utf8);

/* jansson (>= 2.11, with GCC or clang) provides json_decrefp() for _cleanup_() and json_auto_t. */
