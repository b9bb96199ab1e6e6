/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The object-built Process record of commit 59ff5dd, the oracle for the streamed one (test only). */
#pragma once

#include <jansson.h>

#include "procjson.h"

int ref_procjson_process(const PwProcess *p, const ProcJsonContext *ctx, json_t **ret);
