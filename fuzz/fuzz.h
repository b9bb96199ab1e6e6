/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The libFuzzer entry point every fuzz target defines; fuzz-main.c replays a corpus through it. */
#pragma once

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
