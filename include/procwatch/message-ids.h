/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Every journal MESSAGE_ID procwatchd sends: one per forwarded event kind and one per daemon message.
 * Each has an entry in systemd/procwatchd.catalog.in (a test checks both ways). Never change one. */
#pragma once

/* Forwarded process events, by PROCWATCH_EVENT. */
#define PW_MESSAGE_FORK     "b1f445ade04548bcb79bd20bd57be0d2"
#define PW_MESSAGE_EXEC     "0949ffb4cc6a4b37b1c6558af7f4256f"
#define PW_MESSAGE_EXIT     "dfeef2d0bf7644d5a5ef96812979a09e"
#define PW_MESSAGE_UID      "b8e98f2069484293855dbc4bc9fb444d"
#define PW_MESSAGE_GID      "a2ddbffdf32c4929b7b687789c7c2bb7"
#define PW_MESSAGE_SID      "d3776011755e40c1a13cb34ae65fa1a5"
#define PW_MESSAGE_PTRACE   "c3586365ff3a4dca9f0fb13d33274126"
#define PW_MESSAGE_COMM     "e4e5060dd9dc480baadc91b95f125e08"
#define PW_MESSAGE_COREDUMP "d1d2d9ccc2fd4192b27efe35fb112ac1"

/* The daemon's own messages. */
#define PW_MESSAGE_STARTED          "0abb88207e8445ce88fd17f5d6af7323"
#define PW_MESSAGE_EVENTS_LOST      "c81fe222ff5f4b12b4e9f2023b247cf0"
#define PW_MESSAGE_RECONCILED       "889d3408653d42659e4fbe485f9a1184"
#define PW_MESSAGE_NOT_FORWARDED    "c582ddc6d04b4a47a8634cbe5f84eda8"
#define PW_MESSAGE_BUDGET_BIT       "ad4c4fe0dc4e43d08ed8629a470a72cd"
