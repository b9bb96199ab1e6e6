/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Per-CPU sequence-gap accounting; see seqtrack.h for the reasoning. */
#include <errno.h>
#include <stdlib.h>

#include "macro.h"
#include "seqtrack.h"

int seqtrack_new(SeqTrack **ret, uint32_t ncpus) {
        SeqTrack *t;

        if (!ret || ncpus == 0 || ncpus > 65536)
                return -EINVAL;
        t = calloc(1, sizeof(SeqTrack) + (size_t) ncpus * sizeof(SeqCpu));
        if (!t)
                return -ENOMEM;
        t->ncpus = ncpus;
        *ret = t;
        return 0;
}

SeqTrack *seqtrack_free(SeqTrack *t) {
        free(t);
        return NULL;
}

int64_t seqtrack_observe(SeqTrack *t, uint32_t cpu, uint32_t seq) {
        SeqCpu *c;
        uint32_t delta;

        if (cpu >= t->ncpus)
                return -ERANGE;
        c = &t->cpu[cpu];

        if (!c->seen) {
                c->seen = true;
                c->next = seq + 1;
                return 0;
        }

        delta = seq - c->next; /* modulo 2^32 */
        c->next = seq + 1;
        if (delta == 0)
                return 0;
        if (delta > UINT32_MAX / 2) {
                /* Behind what we expected: a repeated or stale number. Rebase, report nothing lost. */
                c->backwards++;
                t->backwards++;
                return 0;
        }
        c->lost += delta;
        c->gaps++;
        t->lost += delta;
        t->gaps++;
        return delta;
}

void seqtrack_reset_baselines(SeqTrack *t) {
        for (uint32_t i = 0; i < t->ncpus; i++)
                t->cpu[i].seen = false;
}
