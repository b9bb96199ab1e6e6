/* SPDX-License-Identifier: GPL-2.0-or-later */
/* JSON helpers: strings taken from processes made valid UTF-8 (utf8.h), a nesting pre-scan.
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
#include "utf8.h"

/* A JSON string of s (n bytes) made valid by utf8_sanitize(); no copy is made when it is valid
 * already. s may be NULL with n 0. Returns NULL only when out of memory. */
json_t *json_string_sanitized(const char *s, size_t n);

/* Does the JSON text s (n bytes) nest arrays and objects deeper than max? Counts '[' and '{' outside
 * strings, without parsing: a cheap guard run before the parser. Malformed text is not an error
 * here; the parser rejects it. */
bool json_nesting_exceeds(const char *s, size_t n, unsigned max);

/* jansson (>= 2.11, with GCC or clang) provides json_decrefp() for _cleanup_() and json_auto_t. */
