/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Receiving netlink datagrams in batches: see nl-batch.h. */
#include "nl-batch.h"

#include <errno.h>
#include <linux/netlink.h>
#include <stdlib.h>
#include <sys/socket.h>

struct NlBatch {
        unsigned slots;
        size_t slot_size;
        struct mmsghdr *msgs;
        struct iovec *iov;
        struct sockaddr_nl *addr;
        uint8_t *bufs;
};

int nl_batch_new(NlBatch **ret, unsigned slots, size_t slot_size) {
        _cleanup_(nl_batch_freep) NlBatch *b = NULL;

        if (slots == 0 || slot_size == 0)
                return -EINVAL;
        b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;
        b->slots = slots;
        b->slot_size = (slot_size + 7) & ~(size_t) 7;
        b->msgs = calloc(slots, sizeof(*b->msgs));
        b->iov = calloc(slots, sizeof(*b->iov));
        b->addr = calloc(slots, sizeof(*b->addr));
        b->bufs = aligned_alloc(8, slots * b->slot_size);
        if (!b->msgs || !b->iov || !b->addr || !b->bufs)
                return -ENOMEM;
        for (unsigned i = 0; i < slots; i++) {
                b->iov[i] = (struct iovec){ .iov_base = b->bufs + i * b->slot_size, .iov_len = b->slot_size };
                b->msgs[i].msg_hdr = (struct msghdr){
                        .msg_name = &b->addr[i],
                        .msg_namelen = sizeof(b->addr[i]),
                        .msg_iov = &b->iov[i],
                        .msg_iovlen = 1,
                };
        }
        *ret = TAKE_PTR(b);
        return 0;
}

NlBatch *nl_batch_free(NlBatch *b) {
        if (b) {
                free(b->msgs);
                free(b->iov);
                free(b->addr);
                free(b->bufs);
                free(b);
        }
        return NULL;
}

unsigned nl_batch_slots(const NlBatch *b) {
        return b->slots;
}

int nl_batch_recv(NlBatch *b, int fd) {
        return nl_batch_recv_from(b, fd, 0);
}

int nl_batch_recv_from(NlBatch *b, int fd, unsigned first) {
        int n;

        if (first >= b->slots)
                return -EINVAL;
        for (unsigned i = first; i < b->slots; i++) {
                b->msgs[i].msg_hdr.msg_namelen = sizeof(b->addr[i]);
                b->msgs[i].msg_hdr.msg_flags = 0;
        }
        n = recvmmsg(fd, b->msgs + first, b->slots - first, MSG_DONTWAIT, NULL);
        if (n < 0)
                return errno == EAGAIN ? 0 : -errno;
        return n;
}

NlDatagram nl_batch_get(const NlBatch *b, unsigned i, const uint8_t **ret_data, size_t *ret_len) {
        const struct msghdr *m = &b->msgs[i].msg_hdr;

        *ret_data = b->bufs + i * b->slot_size;
        *ret_len = b->msgs[i].msg_len;
        if (m->msg_namelen < sizeof(struct sockaddr_nl) || b->addr[i].nl_pid != 0)
                return NL_DATAGRAM_FOREIGN;
        if (m->msg_flags & MSG_TRUNC)
                return NL_DATAGRAM_TRUNCATED;
        return NL_DATAGRAM_KERNEL;
}

int nl_socket_set_rcvbuf(int fd, uint32_t want, uint32_t *ret_got) {
        int v = (int) MIN(want, (uint32_t) INT32_MAX / 2), forced = 1;
        socklen_t l = sizeof(v);

        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) < 0) {
                if (errno != EPERM)
                        return -errno;
                forced = 0;
                if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)) < 0)
                        return -errno;
        }
        if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, &l) < 0)
                return -errno;
        *ret_got = (uint32_t) v;
        return forced;
}
