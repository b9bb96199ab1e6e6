/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The access policy: what a caller of the control socket may see of a process (access-policy.h). */
#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "access-policy.h"
#include "fileio.h"
#include "macro.h"

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59
#endif
#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif
/* linux/capability.h */
#define PW_CAP_SYS_PTRACE 19
/* /proc/PID/status is a few KiB. */
#define PW_STATUS_FILE_MAX (64U * 1024U)

const char *pw_hidepid_to_string(PwHidePid h) {
        switch (h) {
        case PW_HIDEPID_OFF:
                return "off";
        case PW_HIDEPID_NOACCESS:
                return "noaccess";
        case PW_HIDEPID_INVISIBLE:
                return "invisible";
        case PW_HIDEPID_PTRACEABLE:
                return "ptraceable";
        }
        return "invisible";
}

/* One mount option value, [v, v+n): the kernel takes 0-2 and 4 or the names. */
static int parse_hidepid_value(const char *v, size_t n, PwHidePid *ret) {
        static const struct {
                const char *name;
                PwHidePid h;
        } names[] = {
                { "0", PW_HIDEPID_OFF },        { "off", PW_HIDEPID_OFF },
                { "1", PW_HIDEPID_NOACCESS },   { "noaccess", PW_HIDEPID_NOACCESS },
                { "2", PW_HIDEPID_INVISIBLE },  { "invisible", PW_HIDEPID_INVISIBLE },
                { "4", PW_HIDEPID_PTRACEABLE }, { "ptraceable", PW_HIDEPID_PTRACEABLE },
        };

        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (strlen(names[i].name) == n && memcmp(v, names[i].name, n) == 0) {
                        *ret = names[i].h;
                        return 0;
                }
        return -EINVAL;
}

/* The superblock options of one mountinfo line, [o, end): hidepid= and gid=. */
static int parse_options(const char *o, const char *end, PwProcMount *m) {
        int r = 0;

        while (o < end) {
                const char *comma = memchr(o, ',', (size_t) (end - o)), *e = comma ?: end;
                size_t n = (size_t) (e - o);

                if (n > 8 && memcmp(o, "hidepid=", 8) == 0) {
                        if (parse_hidepid_value(o + 8, n - 8, &m->hidepid) < 0) {
                                m->hidepid = PW_HIDEPID_INVISIBLE;
                                r = -EINVAL;
                        }
                } else if (n > 4 && memcmp(o, "gid=", 4) == 0) {
                        uint64_t v = 0;
                        size_t i;

                        for (i = 4; i < n && o[i] >= '0' && o[i] <= '9' && v <= UINT32_MAX; i++)
                                v = v * 10 + (uint64_t) (o[i] - '0');
                        if (i == n && v < UINT32_MAX) {
                                m->has_gid = true;
                                m->gid = (uint32_t) v;
                        } else {
                                /* A group we cannot name grants nothing. */
                                m->has_gid = false;
                                r = -EINVAL;
                        }
                }
                o = e + 1;
        }
        return r;
}

int pw_parse_proc_mount(const char *mountinfo, PwProcMount *ret) {
        PwProcMount m = {};
        bool found = false;
        int r = 0;

        /* "36 25 0:23 / /proc rw,nosuid shared:13 - proc proc rw,hidepid=invisible,gid=27": the mount
         * point is the fifth field; the superblock options come after " - TYPE SOURCE ". The last
         * /proc mount listed is the one on top. */
        for (const char *line = mountinfo; line && *line;) {
                const char *end = strchrnul(line, '\n'), *q = line, *sep, *opts;
                unsigned fields = 0;

                while (q && q < end && fields < 4) {
                        q = memchr(q, ' ', (size_t) (end - q));
                        if (q) {
                                q++;
                                fields++;
                        }
                }
                if (q && fields == 4 && (size_t) (end - q) > 6 && memcmp(q, "/proc ", 6) == 0 &&
                    (sep = strstr(q, " - proc ")) && sep < end) {
                        found = true;
                        m = (PwProcMount){};
                        r = 0;
                        opts = memchr(sep + 8, ' ', (size_t) (end - (sep + 8)));
                        if (opts)
                                r = parse_options(opts + 1, end, &m);
                }
                line = *end ? end + 1 : NULL;
        }
        if (!found)
                m = (PwProcMount){ .hidepid = PW_HIDEPID_INVISIBLE }; /* when in doubt, hide */
        else if (r < 0)
                m.hidepid = PW_HIDEPID_INVISIBLE; /* an option we could not read, gid= too */
        *ret = m;
        return found ? r : -EINVAL;
}

/* --- the rules -------------------------------------------------------------------------------------- */

static bool caller_in_group(const PwCaller *c, uint32_t gid) {
        if (c->gid == gid)
                return true;
        for (size_t i = 0; i < c->n_groups && i < PW_CALLER_GROUPS_MAX; i++)
                if (c->groups[i] == gid)
                        return true;
        return false;
}

bool pw_access_ptrace_owner(const PwProcess *p, uint32_t *ret_uid, uint32_t *ret_gid) {
        /* Ids not read since they last changed: the saved ones and dumpability are unknown. */
        if (!p->creds_read || (p->uncertain & PW_UNCERTAIN_IDS))
                return false;
        if (p->euid != p->uid || p->suid != p->uid || p->egid != p->gid || p->sgid != p->gid)
                return false;
        /* A kernel thread has no mm, and the kernel then skips the dumpability check. */
        if (!p->kthread && !p->dumpable)
                return false;
        *ret_uid = p->uid;
        *ret_gid = p->gid;
        return true;
}

bool pw_access_ptrace_read(const PwCaller *c, const PwProcess *p) {
        uint32_t uid, gid;

        if (c->cap_sys_ptrace)
                return true;
        if (c->uid == UINT32_MAX || c->gid == UINT32_MAX)
                return false;
        return pw_access_ptrace_owner(p, &uid, &gid) && uid == c->uid && gid == c->gid;
}

bool pw_access_sees_all(const PwAccessPolicy *pol, const PwCaller *c) {
        if (!pol || c->cap_sys_ptrace)
                return true;
        switch (pol->proc.hidepid) {
        case PW_HIDEPID_OFF:
                return true;
        case PW_HIDEPID_NOACCESS:
        case PW_HIDEPID_INVISIBLE:
                return pol->proc.has_gid && caller_in_group(c, pol->proc.gid);
        case PW_HIDEPID_PTRACEABLE:
        default:
                return false;
        }
}

bool pw_access_visible(const PwAccessPolicy *pol, const PwCaller *c, const PwProcess *p) {
        return pw_access_sees_all(pol, c) || pw_access_ptrace_read(c, p);
}

PwAccess pw_access_check(const PwAccessPolicy *pol, const PwCaller *c, const PwProcess *p) {
        PwAccess a = { .argv = PW_ARGV_FULL };

        a.ptrace_read = pw_access_ptrace_read(c, p);
        a.visible = a.ptrace_read || pw_access_sees_all(pol, c);
        if (pol && pol->argv_privacy && c->uid != 0 && !(c->uid == p->uid && c->uid == p->euid))
                a.argv = pol->argv_privacy->argv_mode;
        return a;
}

PwSubtreeAccess pw_access_subtree(const PwAccessPolicy *pol, const PwCaller *c, const PwProcess *p) {
        const PwProcResources *pr = p->resources;

        if (!pol || c->cap_sys_ptrace || !pr)
                return PW_SUBTREE_FULL;
        switch (pr->subtree_owners) {
        case PW_SUBTREE_OWNERS_NONE:
                return PW_SUBTREE_FULL;
        case PW_SUBTREE_OWNERS_ONE:
                if (c->uid != UINT32_MAX && c->gid != UINT32_MAX && pr->subtree_owner_uid == c->uid &&
                    pr->subtree_owner_gid == c->gid)
                        return PW_SUBTREE_FULL;
                break;
        default:
                break;
        }
        return pw_access_sees_all(pol, c) ? PW_SUBTREE_PUBLIC : PW_SUBTREE_HIDDEN;
}

int pw_access_argv(const PwAccessPolicy *pol, PwArgvMode mode, const PwProcess *p, const char **ret_argv,
                   size_t *ret_len, char **ret_free) {
        *ret_free = NULL;
        if (!p->argv || mode == PW_ARGV_NONE) {
                *ret_argv = NULL;
                *ret_len = 0;
                return 0;
        }
        if (mode == PW_ARGV_REDACT && pol && pol->argv_privacy && pol->argv_privacy->n_redact > 0) {
                int r = pw_journal_redact_argv(pol->argv_privacy, p->argv->data, p->argv->len, ret_free, ret_len);

                if (r < 0)
                        return r;
                *ret_argv = *ret_free;
                return 0;
        }
        *ret_argv = p->argv->data;
        *ret_len = p->argv->len;
        return 0;
}

/* --- the edge --------------------------------------------------------------------------------------- */

int pw_parse_status_cap_ptrace(const char *status, bool *ret_cap, uint32_t *ret_euid) {
        bool have_cap = false, have_uid = false;
        uint64_t caps = 0;
        unsigned long long u[2];

        for (const char *l = status; l && *l;) {
                const char *nl = strchr(l, '\n');

                if (!have_cap && strncmp(l, "CapEff:", 7) == 0) {
                        const char *s = l + 7;
                        unsigned digits = 0;

                        while (*s == '\t' || *s == ' ')
                                s++;
                        for (; (*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f'); s++, digits++)
                                caps = caps << 4 | (uint64_t) (*s <= '9' ? *s - '0' : *s - 'a' + 10);
                        if (digits == 0 || digits > 16 || (*s != '\n' && *s != '\0'))
                                return -EBADMSG;
                        have_cap = true;
                } else if (!have_uid && strncmp(l, "Uid:", 4) == 0) {
                        if (sscanf(l + 4, "%llu %llu", &u[0], &u[1]) != 2 || u[1] > UINT32_MAX)
                                return -EBADMSG;
                        have_uid = true;
                }
                l = nl ? nl + 1 : NULL;
        }
        if (!have_cap || !have_uid)
                return -EBADMSG;
        *ret_cap = caps & (UINT64_C(1) << PW_CAP_SYS_PTRACE);
        *ret_euid = (uint32_t) u[1];
        return 0;
}

/* CAP_SYS_PTRACE of the peer, read while a pidfd shows the peer still alive: a pid is never reused
 * while its process lives, so the status read in between was the peer's. */
static bool peer_cap_ptrace(int fd, pid_t pid) {
        _cleanup_(closep) int pidfd = -EBADF;
        _cleanup_(freep) char *text = NULL;
        socklen_t sl = sizeof(pidfd);
        char path[64];
        uint32_t euid;
        bool cap;

        if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &sl) < 0 || pidfd < 0)
                return false;
        snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
        if (read_full_file_at(AT_FDCWD, path, PW_STATUS_FILE_MAX, &text, NULL) < 0)
                return false;
        if (pw_parse_status_cap_ptrace(text, &cap, &euid) < 0 || euid != 0)
                return false;
        if (!cap)
                return false;
        /* A pidfd turns readable once its process has exited: not readable now, so the status read
         * before was still the peer's (poll needs no right to signal the peer, unlike signal 0). */
        return poll(&(struct pollfd){ .fd = pidfd, .events = POLLIN }, 1, 0) == 0;
}

int pw_caller_from_socket(int fd, PwCaller *ret) {
        struct ucred uc;
        socklen_t sl = sizeof(uc);
        gid_t groups[PW_CALLER_GROUPS_MAX];
        PwCaller c = PW_CALLER_UNKNOWN;

        *ret = c;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &sl) < 0)
                return negative_errno();
        c.pid = uc.pid;
        c.uid = uc.uid;
        c.gid = uc.gid;
        sl = sizeof(groups);
        /* ERANGE: more groups than kept; then none beyond the primary one counts (fewer rights). */
        if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &sl) >= 0) {
                c.n_groups = MIN((size_t) sl / sizeof(gid_t), (size_t) PW_CALLER_GROUPS_MAX);
                for (size_t i = 0; i < c.n_groups; i++)
                        c.groups[i] = groups[i];
        }
        if (c.uid == 0 && c.pid > 0)
                c.cap_sys_ptrace = peer_cap_ptrace(fd, c.pid);
        *ret = c;
        return 0;
}

int pw_proc_mount_read(PwProcMount *ret) {
        _cleanup_(freep) char *text = NULL;
        int r;

        r = read_full_file("/proc/self/mountinfo", &text, NULL);
        if (r < 0)
                return r;
        r = pw_parse_proc_mount(text, ret);
        if (r == -EINVAL && ret->hidepid != PW_HIDEPID_OFF)
                return 0;
        return r;
}
