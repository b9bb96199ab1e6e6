/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The names of the event kinds (see event-kind.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "event-kind.h"

#define KIND_NAME(e, name) [e] = name,
static const char *const kind_names[_PW_EVENT_KIND_MAX] = {
        [PW_EVENT_NONE] = "ack",
        PW_EVENT_KIND_LIST(KIND_NAME)
};

const char *pw_event_kind_to_string(PwEventKind k) {
        return (unsigned) k < _PW_EVENT_KIND_MAX ? kind_names[k] : NULL;
}

PwEventKind pw_event_kind_from_string(const char *s) {
        if (s)
                for (unsigned k = 0; k < _PW_EVENT_KIND_MAX; k++)
                        if (strcmp(s, kind_names[k]) == 0)
                                return (PwEventKind) k;
        return (PwEventKind) -1;
}

bool pw_event_kind_is_process_event(PwEventKind k) {
        return (int) k > (int) PW_EVENT_NONE && (int) k < (int) _PW_EVENT_KIND_MAX;
}

int pw_event_kinds_from_string(const char *s, unsigned *ret) {
        unsigned kinds = 0;
        const char *p = s;

        if (!s || !*s)
                return -EINVAL;
        if (strcmp(s, "all") == 0) {
                *ret = PW_EVENT_KINDS_ALL;
                return 0;
        }
        while (*p) {
                size_t n = strcspn(p, ",");
                char word[16];
                PwEventKind k;

                if (n == 0 || n >= sizeof(word))
                        return -EINVAL;
                memcpy(word, p, n);
                word[n] = '\0';
                k = pw_event_kind_from_string(word);
                if (!pw_event_kind_is_process_event(k))
                        return -EINVAL;
                kinds |= PW_EVENT_KIND_BIT(k);
                p += n;
                if (*p == ',' && *++p == '\0')
                        return -EINVAL;
        }
        *ret = kinds;
        return 0;
}

char *pw_event_kinds_to_string(unsigned kinds, const char *sep, bool all_word) {
        size_t len = 1, o = 0, seplen = strlen(sep);
        char *s;

        if (all_word && (kinds & PW_EVENT_KINDS_ALL) == PW_EVENT_KINDS_ALL)
                return strdup("all");
        for (unsigned k = PW_EVENT_NONE + 1; k < _PW_EVENT_KIND_MAX; k++)
                if (kinds & PW_EVENT_KIND_BIT(k))
                        len += strlen(kind_names[k]) + seplen;
        s = malloc(len);
        if (!s)
                return NULL;
        s[0] = '\0';
        for (unsigned k = PW_EVENT_NONE + 1; k < _PW_EVENT_KIND_MAX; k++) {
                size_t n = strlen(kind_names[k]);

                if (!(kinds & PW_EVENT_KIND_BIT(k)))
                        continue;
                if (o > 0) {
                        memcpy(s + o, sep, seplen);
                        o += seplen;
                }
                memcpy(s + o, kind_names[k], n);
                o += n;
        }
        s[o] = '\0';
        return s;
}
