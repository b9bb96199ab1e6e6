/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Fuzz target: the taskstats decoder on any bytes a socket could hand over, walked as the daemon walks
 * a datagram; and the bare struct decoder with every version override. Beyond memory errors, it
 * aborts when a promise of taskstats-parse.h breaks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "taskstats-parse.h"

#define FUZZ_FAMILY 31

static void check(int ok, const char *what) {
        if (!ok) {
                fprintf(stderr, "fuzz-taskstats-parse: broken promise: %s\n", what);
                abort();
        }
}

static void check_stats(const PwTaskstats *t) {
        check(t->version != 0, "a decoded record has a version");
        check(memchr(t->comm, '\0', sizeof(t->comm)) != NULL, "comm NUL-terminated");
        check(!t->layout_untrusted || t->have == 0, "nothing believed of a version-15 record");
        check(!(t->have & PW_TS_HAVE_DELAY_MAXMIN) || t->payload_len >= PW_TS_SIZE_V16, "v16 fields inside the payload");
        check(!(t->have & PW_TS_HAVE_IRQ) || t->payload_len >= PW_TS_SIZE_V14, "v14 fields inside the payload");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const uint8_t *p = data;
        size_t left = size;
        PwTaskstats t;

        while (left > 0) {
                PwTsParseError why = _PW_TS_PARSE_ERROR_MAX;
                size_t used = (size_t) -1;
                PwTsMsg m;

                if (pw_taskstats_parse(p, left, FUZZ_FAMILY, &m, &used, &why) >= 0) {
                        check(m.kind == PW_TS_MSG_RECORD || m.kind == PW_TS_MSG_ACK || m.kind == PW_TS_MSG_OTHER,
                              "a known kind");
                        if (m.kind == PW_TS_MSG_RECORD) {
                                check_stats(&m.task);
                                if (m.has_group) {
                                        check_stats(&m.group);
                                        check(m.group.version == m.task.version || m.group.version_sent != 0,
                                              "the group record takes the task's version");
                                }
                        }
                        if (m.kind == PW_TS_MSG_ACK)
                                check(m.error <= 0, "an ack's error is 0 or negative");
                } else
                        check(pw_ts_parse_error_to_string(why) != NULL, "a reject names its reason");
                check(used <= left, "consumed within the buffer");
                if (used == 0)
                        break;
                p += used;
                left -= used;
        }

        /* The struct decoder alone, as for a thread-group record. */
        if (pw_taskstats_decode(data, size, 16, &t) >= 0)
                check_stats(&t);
        {
                uint16_t id;
                (void) pw_genl_family_id_parse(data, size, &id);
        }
        return 0;
}
