/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The control socket's contract: its path, the Varlink interface and error names, shared by
 * procwatchd and procwatchctl. The interface itself is described in io.procwatch.varlink. */
#pragma once

#include <errno.h>
#include <string.h>

/* Where procwatchd listens unless told otherwise (--socket=). The folder is the unit's
 * RuntimeDirectory= (mode 0755); the socket is mode 0666, so every local user may read the tree as
 * every local user may run ps. */
#define PW_SOCKET_PATH_DEFAULT "/run/procwatchd/io.procwatch"

#define PW_VARLINK_INTERFACE "io.procwatch"
#define PW_VARLINK_SERVICE_INTERFACE "org.varlink.service"

/* The version of the io.procwatch interface, reported by GetInfo as "interface_version". It grows
 * by one whenever a method, a parameter or a field is added; fields documented as stable in
 * procwatchctl(1) are never removed or changed in meaning within a major version. */
#define PW_VARLINK_INTERFACE_VERSION 3

/* What GetInfo reports. */
#define PW_VARLINK_VENDOR "procwatchd"
#define PW_VARLINK_PRODUCT "procwatchd"
#define PW_VARLINK_URL "man:procwatchctl(1)"

/* Errors of the Varlink service interface every service speaks. */
#define PW_VARLINK_ERROR_INTERFACE_NOT_FOUND "org.varlink.service.InterfaceNotFound"
#define PW_VARLINK_ERROR_METHOD_NOT_FOUND "org.varlink.service.MethodNotFound"
#define PW_VARLINK_ERROR_METHOD_NOT_IMPLEMENTED "org.varlink.service.MethodNotImplemented"
#define PW_VARLINK_ERROR_INVALID_PARAMETER "org.varlink.service.InvalidParameter"
/* A method that streams (Events) called without "more": true. */
#define PW_VARLINK_ERROR_EXPECTED_MORE "org.varlink.service.ExpectedMore"

/* Errors of io.procwatch. */
#define PW_VARLINK_ERROR_NO_SUCH_PROCESS "io.procwatch.NoSuchProcess"
/* A method that changes the daemon (DropRetained, Reload) called by another user than root. */
#define PW_VARLINK_ERROR_PERMISSION_DENIED "io.procwatch.PermissionDenied"
/* Reload found the configuration files invalid; the running configuration stays. */
#define PW_VARLINK_ERROR_CONFIG_INVALID "io.procwatch.ConfigInvalid"
/* A per-user limit was reached; "limit" names it ("subscribers"). */
#define PW_VARLINK_ERROR_LIMIT_REACHED "io.procwatch.LimitReached"

/* The pseudo parameter names InvalidParameter carries for a message that is not a call at all:
 * not JSON, not an object, nested too deep or too long ("request"), or without a method string
 * ("method"). */
#define PW_VARLINK_PARAMETER_REQUEST "request"
#define PW_VARLINK_PARAMETER_METHOD "method"

/* A process record's "state". */
typedef enum PwProcessState {
        PW_PROCESS_ALIVE,
        PW_PROCESS_DISPLACED, /* its pid went to a new process before its EXIT came */
        PW_PROCESS_EXITED,
        _PW_PROCESS_STATE_MAX,
} PwProcessState;

static inline const char *pw_process_state_to_string(PwProcessState s) {
        switch (s) {
        case PW_PROCESS_ALIVE:
                return "alive";
        case PW_PROCESS_DISPLACED:
                return "displaced";
        case PW_PROCESS_EXITED:
                return "exited";
        default:
                return NULL;
        }
}

/* io.procwatch.List's "state" parameter: which records ("all" when absent). "exited" takes every
 * record that is not alive, displaced ones included. */
typedef enum PwStateFilter {
        PW_STATE_FILTER_ALL,
        PW_STATE_FILTER_ALIVE,
        PW_STATE_FILTER_EXITED,
        _PW_STATE_FILTER_MAX,
} PwStateFilter;

static inline const char *pw_state_filter_to_string(PwStateFilter f) {
        switch (f) {
        case PW_STATE_FILTER_ALL:
                return "all";
        case PW_STATE_FILTER_ALIVE:
                return "alive";
        case PW_STATE_FILTER_EXITED:
                return "exited";
        default:
                return NULL;
        }
}

/* The filter named s, or -EINVAL. */
static inline int pw_state_filter_from_string(const char *s, PwStateFilter *ret) {
        for (int f = 0; f < _PW_STATE_FILTER_MAX; f++)
                if (strcmp(s, pw_state_filter_to_string((PwStateFilter) f)) == 0) {
                        *ret = (PwStateFilter) f;
                        return 0;
                }
        return -EINVAL;
}
