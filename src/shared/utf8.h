/* SPDX-License-Identifier: GPL-2.0-or-later */
/* UTF-8: the one decoder of well-formed sequences (Unicode table 3-7), sanitising for JSON, and the
 * one escape for display, shared by procwatchctl's output, the human event line and the journal's
 * MESSAGE. Pure. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

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

/* The most bytes utf8_escape_next() writes: a 4-byte character escaped byte by byte. */
#define UTF8_ESCAPE_MAX 16U

/* Escapes the character at s (n > 0 bytes) for display into out: backslash, newline and tab become
 * \\, \n and \t; other C0 and C1 control characters, DEL and the bytes of an ill-formed sequence
 * \xNN each; a well-formed non-ASCII character is kept when keep_utf8, else escaped byte by byte;
 * printable ASCII is kept. Returns the bytes written to out (at most UTF8_ESCAPE_MAX, no NUL); the
 * input bytes it stood for in *ret_consumed (never 0). */
size_t utf8_escape_next(const char *s, size_t n, bool keep_utf8, char *out, size_t *ret_consumed);

/* Escapes s (n bytes, any content) for a terminal, each character as utf8_escape_next() does.
 * Returns a malloc'ed NUL-terminated string, or NULL when out of memory. */
char *utf8_escape_display(const char *s, size_t n, bool keep_utf8);

/* Terminal cells of s, a string escaped as above (a code point a cell). */
size_t utf8_cells(const char *s);
/* Bytes of s (escaped as above) that fill at most cols cells, never cutting a character; all of it
 * when cols is 0. */
size_t utf8_fit(const char *s, size_t cols);
