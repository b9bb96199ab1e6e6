/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The Varlink interface descriptions, embedded at build time from include/procwatch/ by
 * generate-idl.py, for GetInterfaceDescription. */
#pragma once

extern const char pw_idl_io_procwatch[];
extern const char pw_idl_org_varlink_service[];
