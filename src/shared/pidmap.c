/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Pid-keyed hash map; see pidmap.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "pidmap.h"

static size_t slot_of(const PidMap *m, int32_t key) {
        /* Fibonacci hashing: consecutive pids spread over the table. */
        uint64_t h = (uint64_t) (uint32_t) key * 0x9E3779B97F4A7C15ULL;
        return (size_t) (h >> 32) & (m->size - 1);
}

void pidmap_done(PidMap *m) {
        free(m->entries);
        m->entries = NULL;
        m->size = m->count = 0;
}

void *pidmap_get(const PidMap *m, int32_t key) {
        if (m->size == 0 || key == 0)
                return NULL;
        for (size_t i = slot_of(m, key);; i = (i + 1) & (m->size - 1)) {
                if (m->entries[i].key == key)
                        return m->entries[i].value;
                if (m->entries[i].key == 0)
                        return NULL;
        }
}

static int resize(PidMap *m, size_t size) {
        PidMap n = { .size = size };

        n.entries = calloc(size, sizeof(PidMapEntry));
        if (!n.entries)
                return -ENOMEM;
        for (size_t i = 0; i < m->size; i++)
                if (m->entries[i].key != 0) {
                        size_t j = slot_of(&n, m->entries[i].key);

                        while (n.entries[j].key != 0)
                                j = (j + 1) & (n.size - 1);
                        n.entries[j] = m->entries[i];
                        n.count++;
                }
        free(m->entries);
        *m = n;
        return 0;
}

int pidmap_put(PidMap *m, int32_t key, void *value) {
        size_t i;

        if (key == 0)
                return -EINVAL;
        /* Load factor at most 1/2 keeps probe sequences short. */
        if ((m->count + 1) * 2 > m->size) {
                int r = resize(m, m->size ? m->size * 2 : 64);
                if (r < 0)
                        return r;
        }
        for (i = slot_of(m, key); m->entries[i].key != 0; i = (i + 1) & (m->size - 1))
                if (m->entries[i].key == key) {
                        m->entries[i].value = value;
                        return 0;
                }
        m->entries[i] = (PidMapEntry){ .key = key, .value = value };
        m->count++;
        return 0;
}

void *pidmap_remove(PidMap *m, int32_t key) {
        size_t i, j;
        void *v;

        if (m->size == 0 || key == 0)
                return NULL;
        for (i = slot_of(m, key); m->entries[i].key != key; i = (i + 1) & (m->size - 1))
                if (m->entries[i].key == 0)
                        return NULL;
        v = m->entries[i].value;

        /* Backward-shift: move later members of the probe run into the hole when their home slot
         * does not lie cyclically within (hole, their slot]. */
        for (j = (i + 1) & (m->size - 1); m->entries[j].key != 0; j = (j + 1) & (m->size - 1)) {
                size_t home = slot_of(m, m->entries[j].key);
                bool stays = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);

                if (!stays) {
                        m->entries[i] = m->entries[j];
                        i = j;
                }
        }
        m->entries[i] = (PidMapEntry){};
        m->count--;

        /* Shrink when mostly empty, so a past storm does not pin memory. */
        if (m->size > 64 && m->count * 8 < m->size)
                (void) resize(m, m->size / 2);
        return v;
}

int pidmap_next(const PidMap *m, size_t *i, int32_t *key, void **value) {
        for (; *i < m->size; (*i)++)
                if (m->entries[*i].key != 0) {
                        if (key)
                                *key = m->entries[*i].key;
                        if (value)
                                *value = m->entries[*i].value;
                        (*i)++;
                        return 1;
                }
        return 0;
}
