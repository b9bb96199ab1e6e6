/* SPDX-License-Identifier: GPL-2.0-or-later */
/* procwatchctl's --json output of List and Tree straight from the reply's text (ctl-json.h).
 *
 * Two passes. The first checks the whole message (the JSON grammar, UTF-8, escapes, nesting depth)
 * and notes where each record starts and ends and where its "id", "parent_id", "euid" and
 * "children" values are; nothing is written until the message is known good, so a fallback to the
 * object path never follows half an output. The second writes each record's text re-indented as
 * jansson's JSON_INDENT(2) does, with "children" replaced by the nested records (tree) and "user"
 * added last. */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl-format.h"
#include "ctl-json.h"
#include "json-util.h"
#include "json-writer.h"
#include "pidmap.h"

/* Deeper than any record; jansson's own limit for the object path is 2048. */
#define CTL_JSON_DEPTH_MAX 64

typedef struct Span {
        const char *p;
        size_t n;
} Span;

typedef struct Record {
        Span text;              /* the whole object */
        Span id, parent_id;     /* string tokens with their quotes; n 0 when absent or not a string */
        Span children;          /* the value of "children"; n 0 when absent */
        bool has_euid;
        int64_t euid;
        bool id_bad;            /* "id" is missing or not a string */
        bool parent_id_string;
        size_t first_child, last_child, next_sibling; /* tree: indices + 1, 0 for none */
} Record;

typedef struct Scanner {
        const char *p, *end;
        bool noncanonical;      /* valid JSON, but not in the form jansson writes */
} Scanner;

static void skip_ws(Scanner *s) {
        while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
                s->p++;
}

static int hexval(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1;
}

/* \uXXXX at p (after the backslash and 'u'); its value, or -1. Lower-case hex is valid but not
 * jansson's form. */
static long read_u4(Scanner *s) {
        long v = 0;

        if (s->end - s->p < 4)
                return -1;
        for (int i = 0; i < 4; i++) {
                int h = hexval(s->p[i]);

                if (h < 0)
                        return -1;
                if (s->p[i] >= 'a')
                        s->noncanonical = true;
                v = v * 16 + h;
        }
        s->p += 4;
        return v;
}

/* A string token; s->p at its opening quote. */
static int scan_string(Scanner *s) {
        s->p++;
        for (;;) {
                unsigned char c;

                if (s->p >= s->end)
                        return -EBADMSG;
                c = (unsigned char) *s->p;
                if (c == '"') {
                        s->p++;
                        return 0;
                }
                if (c < 0x20)
                        return -EBADMSG;
                if (c == '\\') {
                        long v;

                        if (s->end - s->p < 2)
                                return -EBADMSG;
                        c = (unsigned char) s->p[1];
                        s->p += 2;
                        switch (c) {
                        case '"': case '\\': case 'b': case 'f': case 'n': case 'r': case 't':
                                break;
                        case '/':
                                s->noncanonical = true;
                                break;
                        case 'u':
                                v = read_u4(s);
                                if (v < 0)
                                        return -EBADMSG;
                                if (v == 0)
                                        return -EBADMSG; /* jansson refuses NUL in strings */
                                if (v >= 0xD800 && v <= 0xDBFF) {
                                        long lo;

                                        if (s->end - s->p < 2 || s->p[0] != '\\' || s->p[1] != 'u')
                                                return -EBADMSG;
                                        s->p += 2;
                                        lo = read_u4(s);
                                        if (lo < 0xDC00 || lo > 0xDFFF)
                                                return -EBADMSG;
                                        s->noncanonical = true;
                                } else if (v >= 0xDC00 && v <= 0xDFFF)
                                        return -EBADMSG;
                                /* jansson writes \u only for control characters without a short form. */
                                else if (v >= 0x20 || v == '\b' || v == '\f' || v == '\n' || v == '\r' || v == '\t')
                                        s->noncanonical = true;
                                break;
                        default:
                                return -EBADMSG;
                        }
                        continue;
                }
                if (c >= 0x80) {
                        bool valid;
                        size_t k = utf8_next(s->p, (size_t) (s->end - s->p), &valid);

                        if (!valid)
                                return -EBADMSG;
                        s->p += k;
                        continue;
                }
                s->p++;
        }
}

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

/* A number token. Only integers that fit 64 bits are in jansson's form; anything else is valid but
 * would be rewritten by it. *ret: the integer, when ret and it is one. */
static int scan_number(Scanner *s, int64_t *ret, bool *is_int) {
        const char *start = s->p;
        bool neg = false, integer = true;
        uint64_t mag = 0;
        bool overflow = false;

        if (*s->p == '-') {
                neg = true;
                s->p++;
        }
        if (s->p >= s->end || !is_digit(*s->p))
                return -EBADMSG;
        if (*s->p == '0')
                s->p++;
        else
                while (s->p < s->end && is_digit(*s->p)) {
                        unsigned d = (unsigned) (*s->p - '0');

                        if (mag > (UINT64_MAX - d) / 10)
                                overflow = true;
                        else
                                mag = mag * 10 + d;
                        s->p++;
                }
        if (s->p < s->end && *s->p == '.') {
                integer = false;
                s->p++;
                if (s->p >= s->end || !is_digit(*s->p))
                        return -EBADMSG;
                while (s->p < s->end && is_digit(*s->p))
                        s->p++;
        }
        if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
                integer = false;
                s->p++;
                if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
                        s->p++;
                if (s->p >= s->end || !is_digit(*s->p))
                        return -EBADMSG;
                while (s->p < s->end && is_digit(*s->p))
                        s->p++;
        }
        if (!integer || overflow || (neg && mag > (uint64_t) INT64_MAX + 1) || (!neg && mag > INT64_MAX) ||
            (neg && mag == 0 && s->p - start == 2)) {
                s->noncanonical = true; /* a real, beyond 64 bits, or "-0" */
                integer = false;
        }
        if (is_int)
                *is_int = integer;
        if (ret && integer)
                *ret = neg ? (int64_t) (0 - mag) : (int64_t) mag;
        return 0;
}

static int scan_literal(Scanner *s, const char *word) {
        size_t n = strlen(word);

        if ((size_t) (s->end - s->p) < n || memcmp(s->p, word, n) != 0)
                return -EBADMSG;
        s->p += n;
        return 0;
}

static int scan_value(Scanner *s, unsigned depth);

/* An object or array; with rec, the top-level fields a record needs are noted. */
static int scan_container(Scanner *s, unsigned depth, Record *rec) {
        bool object = *s->p == '{';
        char close = object ? '}' : ']';
        bool seen_id = false, seen_parent = false, seen_children = false, seen_euid = false, first = true;
        int r;

        if (depth >= CTL_JSON_DEPTH_MAX)
                return -EDOM; /* valid, perhaps, but deeper than any record: the object path decides */
        s->p++;
        for (;;) {
                Span key = {};
                const char *vstart;

                skip_ws(s);
                if (s->p >= s->end)
                        return -EBADMSG;
                if (*s->p == close) {
                        if (!first)
                                return -EBADMSG; /* a trailing comma */
                        s->p++;
                        if (rec)
                                rec->id_bad = true;
                        return 0;
                }
                if (object) {
                        if (*s->p != '"')
                                return -EBADMSG;
                        key.p = s->p;
                        r = scan_string(s);
                        if (r < 0)
                                return r;
                        key.n = (size_t) (s->p - key.p);
                        skip_ws(s);
                        if (s->p >= s->end || *s->p != ':')
                                return -EBADMSG;
                        s->p++;
                        skip_ws(s);
                }
                vstart = s->p;
                if (rec && key.n == sizeof("\"euid\"") - 1 && memcmp(key.p, "\"euid\"", key.n) == 0 &&
                    s->p < s->end && (*s->p == '-' || is_digit(*s->p))) {
                        r = scan_number(s, &rec->euid, &rec->has_euid);
                } else
                        r = scan_value(s, depth + 1);
                if (r < 0)
                        return r;
                if (rec) {
                        Span v = { vstart, (size_t) (s->p - vstart) };
                        bool is_str = *vstart == '"';

#define KEY_IS(k) (key.n == sizeof("\"" k "\"") - 1 && memcmp(key.p, "\"" k "\"", key.n) == 0)
                        /* A key given twice: jansson keeps the last value at the first place. Not
                         * worth following: the object path does it. */
                        if (KEY_IS("id")) {
                                if (seen_id)
                                        return -EDOM;
                                seen_id = true;
                                rec->id = is_str ? v : (Span){};
                        } else if (KEY_IS("parent_id")) {
                                if (seen_parent)
                                        return -EDOM;
                                seen_parent = true;
                                rec->parent_id_string = is_str;
                                rec->parent_id = is_str ? v : (Span){};
                        } else if (KEY_IS("children")) {
                                if (seen_children)
                                        return -EDOM;
                                seen_children = true;
                                rec->children = v;
                        } else if (KEY_IS("euid")) {
                                if (seen_euid)
                                        return -EDOM;
                                seen_euid = true;
                        } else if (KEY_IS("user"))
                                return -EDOM; /* would be replaced in place, not added */
#undef KEY_IS
                }
                first = false;
                skip_ws(s);
                if (s->p >= s->end)
                        return -EBADMSG;
                if (*s->p == ',') {
                        s->p++;
                        skip_ws(s);
                        if (s->p < s->end && *s->p == close)
                                return -EBADMSG;
                        continue;
                }
                if (*s->p != close)
                        return -EBADMSG;
                s->p++;
                if (rec)
                        rec->id_bad = !seen_id || rec->id.n == 0;
                return 0;
        }
}

static int scan_value(Scanner *s, unsigned depth) {
        skip_ws(s);
        if (s->p >= s->end)
                return -EBADMSG;
        switch (*s->p) {
        case '{':
        case '[':
                return scan_container(s, depth, NULL);
        case '"':
                return scan_string(s);
        case 't':
                return scan_literal(s, "true");
        case 'f':
                return scan_literal(s, "false");
        case 'n':
                return scan_literal(s, "null");
        default:
                if (*s->p == '-' || is_digit(*s->p))
                        return scan_number(s, NULL, NULL);
                return -EBADMSG;
        }
}

/* --- output --------------------------------------------------------------------------------------- */

typedef struct Out {
        FILE *f;
        bool failed;
} Out;

static void out_put(Out *o, const char *p, size_t n) {
        if (n > 0 && fwrite_unlocked(p, 1, n, o->f) != n)
                o->failed = true;
}

static void out_indent(Out *o, unsigned depth) {
        static const char spaces[] = "\n                                                                ";

        /* JSON_INDENT(2): a newline, then two spaces per level. */
        out_put(o, spaces, 1);
        for (size_t n = (size_t) depth * 2; n > 0;) {
                size_t k = MIN(n, sizeof(spaces) - 2);

                out_put(o, spaces + 1, k);
                n -= k;
        }
}

/* A value's text, known good, re-indented at depth. */
static void out_value(Out *o, Scanner *s, unsigned depth) {
        const char *start;

        skip_ws(s);
        start = s->p;
        if (*s->p == '{' || *s->p == '[') {
                bool object = *s->p == '{';
                char close = object ? '}' : ']';
                bool first = true;

                s->p++;
                skip_ws(s);
                if (*s->p == close) {
                        s->p++;
                        out_put(o, object ? "{}" : "[]", 2);
                        return;
                }
                out_put(o, start, 1);
                for (;;) {
                        skip_ws(s);
                        if (*s->p == close) {
                                s->p++;
                                break;
                        }
                        if (*s->p == ',') {
                                s->p++;
                                skip_ws(s);
                        }
                        if (!first)
                                out_put(o, ",", 1);
                        first = false;
                        out_indent(o, depth + 1);
                        if (object) {
                                const char *k = s->p;

                                (void) scan_string(s);
                                out_put(o, k, (size_t) (s->p - k));
                                out_put(o, ": ", 2);
                                skip_ws(s);
                                s->p++; /* ':' */
                        }
                        out_value(o, s, depth + 1);
                }
                out_indent(o, depth);
                out_put(o, &close, 1);
                return;
        }
        /* A scalar: its text as it stands (in jansson's form, as the first pass checked). */
        (void) scan_value(s, depth);
        out_put(o, start, (size_t) (s->p - start));
}

static void out_records(Out *o, const Record *recs, size_t first, bool nest, bool resolve, unsigned depth);

/* One record at depth: its members re-indented, "children" replaced by its nested records when
 * nesting, "user" added last. */
static void out_record(Out *o, const Record *recs, size_t i, bool nest, bool resolve, unsigned depth) {
        const Record *r = &recs[i];
        Scanner s = { .p = r->text.p, .end = r->text.p + r->text.n };
        _cleanup_(json_writer_done) JsonWriter user = JSON_WRITER_INIT;

        bool first_member = true;

        out_put(o, "{", 1);
        s.p++;
        for (bool first = true;; first = false) {
                const char *k;

                skip_ws(&s);
                if (*s.p == '}')
                        break;
                first_member = false;
                if (*s.p == ',') {
                        s.p++;
                        skip_ws(&s);
                }
                if (!first)
                        out_put(o, ",", 1);
                out_indent(o, depth + 1);
                k = s.p;
                (void) scan_string(&s);
                out_put(o, k, (size_t) (s.p - k));
                out_put(o, ": ", 2);
                skip_ws(&s);
                s.p++; /* ':' */
                skip_ws(&s);
                if (nest && s.p == r->children.p) {
                        s.p += r->children.n;
                        out_records(o, recs, r->first_child, nest, resolve, depth + 1);
                } else
                        out_value(o, &s, depth + 1);
        }
        /* The object path adds "user" last, then (tree) "children" after it when there was none. */
        if (r->has_euid && r->euid >= 0 && r->euid <= UINT32_MAX) {
                const char *name = ctl_user_name((uint32_t) r->euid, resolve);

                json_writer_string(&user, name, strlen(name));
        } else
                json_writer_null(&user);
        if (json_writer_error(&user) < 0)
                o->failed = true;
        if (!first_member)
                out_put(o, ",", 1);
        out_indent(o, depth + 1);
        out_put(o, "\"user\": ", 8);
        out_put(o, user.buf, user.len);
        if (nest && r->children.n == 0) {
                out_put(o, ",", 1);
                out_indent(o, depth + 1);
                out_put(o, "\"children\": ", 12);
                out_records(o, recs, r->first_child, nest, resolve, depth + 1);
        }
        out_indent(o, depth);
        out_put(o, "}", 1);
}

/* The array of records from first (index + 1) along next_sibling; nest: each with its children. */
static void out_records(Out *o, const Record *recs, size_t first, bool nest, bool resolve, unsigned depth) {
        if (first == 0) {
                out_put(o, "[]", 2);
                return;
        }
        out_put(o, "[", 1);
        for (size_t i = first; i > 0; i = recs[i - 1].next_sibling) {
                if (i != first)
                        out_put(o, ",", 1);
                out_indent(o, depth + 1);
                out_record(o, recs, i - 1, nest, resolve, depth + 1);
        }
        out_indent(o, depth);
        out_put(o, "]", 1);
}

/* --- the reply ------------------------------------------------------------------------------------ */

/* In {"parameters":{"processes":[...]}} (any other members allowed, in any order, but no "error"),
 * the array's records. */
static int find_processes(Scanner *s, Record **ret, size_t *ret_n) {
        _cleanup_(freep) Record *recs = NULL;
        size_t n = 0, alloc = 0;
        bool found = false, error = false;
        int r;

        skip_ws(s);
        if (s->p >= s->end || *s->p != '{')
                return -EBADMSG;
        s->p++;
        for (bool first = true;; first = false) {
                const char *k;
                size_t kn;

                skip_ws(s);
                if (s->p < s->end && *s->p == '}' && first) {
                        s->p++;
                        break;
                }
                if (s->p >= s->end || *s->p != '"')
                        return -EBADMSG;
                k = s->p;
                r = scan_string(s);
                if (r < 0)
                        return r;
                kn = (size_t) (s->p - k);
                skip_ws(s);
                if (s->p >= s->end || *s->p != ':')
                        return -EBADMSG;
                s->p++;
                skip_ws(s);
                if (kn == 7 && memcmp(k, "\"error\"", 7) == 0)
                        error = true;
                if (kn == 12 && memcmp(k, "\"parameters\"", 12) == 0 && s->p < s->end && *s->p == '{') {
                        /* Its members; "processes" is the array wanted. */
                        if (found)
                                return -EDOM;
                        s->p++;
                        for (bool pfirst = true;; pfirst = false) {
                                const char *pk;
                                size_t pkn;

                                skip_ws(s);
                                if (s->p < s->end && *s->p == '}' && pfirst)
                                        break;
                                if (s->p >= s->end || *s->p != '"')
                                        return -EBADMSG;
                                pk = s->p;
                                r = scan_string(s);
                                if (r < 0)
                                        return r;
                                pkn = (size_t) (s->p - pk);
                                skip_ws(s);
                                if (s->p >= s->end || *s->p != ':')
                                        return -EBADMSG;
                                s->p++;
                                skip_ws(s);
                                if (pkn == 11 && memcmp(pk, "\"processes\"", 11) == 0 && s->p < s->end && *s->p == '[') {
                                        if (found)
                                                return -EDOM;
                                        found = true;
                                        s->p++;
                                        for (bool afirst = true;; afirst = false) {
                                                Record *rec;

                                                skip_ws(s);
                                                if (s->p < s->end && *s->p == ']' && afirst)
                                                        break;
                                                if (s->p >= s->end || *s->p != '{')
                                                        return s->p < s->end ? -ENOMSG : -EBADMSG; /* not a record */
                                                if (n == alloc) {
                                                        size_t na = alloc ? alloc * 2 : 256;
                                                        Record *nr = reallocarray(recs, na, sizeof(*recs));

                                                        if (!nr)
                                                                return -ENOMEM;
                                                        recs = nr;
                                                        alloc = na;
                                                }
                                                rec = &recs[n];
                                                *rec = (Record){ .text.p = s->p };
                                                r = scan_container(s, 2, rec);
                                                if (r < 0)
                                                        return r;
                                                rec->text.n = (size_t) (s->p - rec->text.p);
                                                n++;
                                                skip_ws(s);
                                                if (s->p < s->end && *s->p == ',') {
                                                        s->p++;
                                                        continue;
                                                }
                                                if (s->p >= s->end || *s->p != ']')
                                                        return -EBADMSG;
                                                break;
                                        }
                                        s->p++; /* ']' */
                                } else {
                                        r = scan_value(s, 2);
                                        if (r < 0)
                                                return r;
                                }
                                skip_ws(s);
                                if (s->p < s->end && *s->p == ',') {
                                        s->p++;
                                        continue;
                                }
                                if (s->p >= s->end || *s->p != '}')
                                        return -EBADMSG;
                                break;
                        }
                        s->p++; /* '}' */
                } else {
                        r = scan_value(s, 1);
                        if (r < 0)
                                return r;
                }
                skip_ws(s);
                if (s->p < s->end && *s->p == ',') {
                        s->p++;
                        continue;
                }
                if (s->p >= s->end || *s->p != '}')
                        return -EBADMSG;
                s->p++;
                break;
        }
        skip_ws(s);
        if (s->p != s->end)
                return -EBADMSG;
        if (error || !found)
                return -ENOMSG;
        *ret = TAKE_PTR(recs);
        *ret_n = n;
        return 0;
}

/* ctl_nest_tree()'s rule: a record whose parent_id names a record before it (the latest with that
 * id) is that record's child, in list order; any other is a root. Returns the first root (index + 1). */
static int nest(Record *recs, size_t n, size_t *ret_first_root) {
        _cleanup_(freep) size_t *slots = NULL;
        size_t cap = 16, first_root = 0, last_root = 0;

        while (cap < n * 2)
                cap *= 2;
        slots = calloc(cap, sizeof(*slots)); /* open addressing: index + 1 of the latest record per id */
        if (!slots)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                Record *r = &recs[i];
                size_t parent = 0;

                if (r->id_bad)
                        return -ENOMSG; /* the object path reports it */
                if (r->parent_id.n > 0) {
                        uint64_t h = 14695981039346656037ULL;

                        for (size_t k = 0; k < r->parent_id.n; k++)
                                h = (h ^ (unsigned char) r->parent_id.p[k]) * 1099511628211ULL;
                        for (size_t j = h & (cap - 1); slots[j]; j = (j + 1) & (cap - 1)) {
                                const Record *q = &recs[slots[j] - 1];

                                if (q->id.n == r->parent_id.n && memcmp(q->id.p, r->parent_id.p, q->id.n) == 0) {
                                        parent = slots[j];
                                        break;
                                }
                        }
                }
                if (parent) {
                        Record *q = &recs[parent - 1];

                        if (q->last_child)
                                recs[q->last_child - 1].next_sibling = i + 1;
                        else
                                q->first_child = i + 1;
                        q->last_child = i + 1;
                } else {
                        if (last_root)
                                recs[last_root - 1].next_sibling = i + 1;
                        else
                                first_root = i + 1;
                        last_root = i + 1;
                }
                /* Now the latest record with this id. */
                {
                        uint64_t h = 14695981039346656037ULL;
                        size_t j;

                        for (size_t k = 0; k < r->id.n; k++)
                                h = (h ^ (unsigned char) r->id.p[k]) * 1099511628211ULL;
                        for (j = h & (cap - 1); slots[j]; j = (j + 1) & (cap - 1)) {
                                const Record *q = &recs[slots[j] - 1];

                                if (q->id.n == r->id.n && memcmp(q->id.p, r->id.p, q->id.n) == 0)
                                        break;
                        }
                        slots[j] = i + 1;
                }
        }
        *ret_first_root = first_root;
        return 0;
}

int ctl_json_print_processes(FILE *f, const char *msg, size_t len, bool nest_tree, bool resolve_names) {
        Scanner s = { .p = msg, .end = msg + len };
        _cleanup_(freep) Record *recs = NULL;
        Out o = { .f = f };
        size_t n = 0, first = 0;
        int r;

        r = find_processes(&s, &recs, &n);
        if (r < 0)
                return r;
        if (s.noncanonical)
                return -EDOM;
        if (nest_tree) {
                r = nest(recs, n, &first);
                if (r < 0)
                        return r;
        } else if (n > 0) {
                for (size_t i = 0; i + 1 < n; i++)
                        recs[i].next_sibling = i + 2;
                first = 1;
        }
        out_records(&o, recs, first, nest_tree, resolve_names, 0);
        out_put(&o, "\n", 1);
        if (o.failed || fflush(f) == EOF)
                return -EIO;
        return 0;
}
