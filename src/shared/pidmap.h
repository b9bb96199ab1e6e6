/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A hash map from a pid (any int32 key but 0) to a pointer: open addressing with linear probing and
 * backward-shift deletion, so lookups stay O(1) without tombstones however many pids come and go. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct PidMapEntry {
        int32_t key; /* 0: empty */
        void *value;
} PidMapEntry;

typedef struct PidMap {
        PidMapEntry *entries;
        size_t size; /* slots, a power of two */
        size_t count;
} PidMap;

void pidmap_done(PidMap *m);
void *pidmap_get(const PidMap *m, int32_t key);
/* Inserts or replaces. Returns 0, -ENOMEM, or -EINVAL for key 0. */
int pidmap_put(PidMap *m, int32_t key, void *value);
/* Removes key; returns its value or NULL. */
void *pidmap_remove(PidMap *m, int32_t key);

/* Iteration: for (size_t i = 0; pidmap_next(m, &i, &key, &value);) ...; the map must not change
 * while iterating (removal may move entries). */
int pidmap_next(const PidMap *m, size_t *i, int32_t *key, void **value);
