/*
 * qtest helpers: play the guest's SynIC user through vmbus-test-port
 * (enable pages, post messages, read and free the message slot)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef VMBUS_QTEST_PORT_H
#define VMBUS_QTEST_PORT_H

#include "qemu/bswap.h"
#include "libqtest.h"

/* vmbus-test-port registers (see hw/hyperv/vmbus/test-port.c). */
#define PORT            0xfe000000ULL
#define P_CMD           0x00
#define P_VP            0x04
#define P_ARG0_LO       0x08
#define P_ARG0_HI       0x0c
#define P_ARG1_LO       0x10
#define P_ARG1_HI       0x14
#define P_RESULT        0x18
#define CMD_SYNIC_ENABLE    1
#define CMD_POST_MESSAGE    2
#define CMD_SIGNAL_EVENT    3
#define CMD_EOM             4
#define CMD_GPADL_GET       6   /* ARG0 relid, ARG1 handle: 0 if held */
#define CMD_GPADL_PUT       7

/* Guest memory the helpers use: SynIC pages of each VP, hypercall input. */
#define SIMP(vp)        (0x100000ULL + (vp) * 0x2000)
#define SIEFP(vp)       (0x101000ULL + (vp) * 0x2000)
#define INPUT           0x110000ULL
#define SLOT_SIZE       256
#define MSG_SINT        2

static inline uint32_t vtp_cmd(QTestState *qts, uint32_t cmd, uint32_t vp,
                               uint64_t a0, uint64_t a1)
{
    qtest_writel(qts, PORT + P_VP, vp);
    qtest_writel(qts, PORT + P_ARG0_LO, (uint32_t)a0);
    qtest_writel(qts, PORT + P_ARG0_HI, a0 >> 32);
    qtest_writel(qts, PORT + P_ARG1_LO, (uint32_t)a1);
    qtest_writel(qts, PORT + P_ARG1_HI, a1 >> 32);
    qtest_writel(qts, PORT + P_CMD, cmd);
    return qtest_readl(qts, PORT + P_RESULT);
}

/* HvPostMessage of a channel message on 'conn_id'; the hypercall status. */
static inline uint32_t vtp_post(QTestState *qts, uint32_t conn_id,
                                const void *msg, uint32_t len)
{
    uint8_t in[16 + 240] = { 0 };

    stl_le_p(in, conn_id);
    stl_le_p(in + 8, 1);                /* message type */
    stl_le_p(in + 12, len);
    memcpy(in + 16, msg, MIN(len, 240));
    qtest_memwrite(qts, INPUT, in, sizeof(in));
    return vtp_cmd(qts, CMD_POST_MESSAGE, 0, INPUT, 0);
}

/*
 * Wait up to 'tries' polls for a message in VP 0's slot, copy its payload
 * out and free the slot the way Linux does (clear the type, then look at
 * msg_pending: the host may set it up to that moment; EOM if set).  After
 * 100 polls each one also sleeps 'sleep_us' of real time (for devices that
 * wait on host I/O).  Returns the channel message type, 0 if none came.
 */
static inline uint32_t vtp_recv(QTestState *qts, void *buf, size_t buflen,
                                uint32_t *len, int tries, unsigned sleep_us)
{
    uint64_t slot = SIMP(0) + MSG_SINT * SLOT_SIZE;
    uint8_t m[SLOT_SIZE];

    for (int i = 0; i < tries; i++) {
        qtest_memread(qts, slot, m, sizeof(m));
        if (ldl_le_p(m) != 0) {
            memset(buf, 0, buflen);
            memcpy(buf, m + 16, MIN(m[4], buflen));
            if (len) {
                *len = m[4];
            }
            qtest_writel(qts, slot, 0);
            if (qtest_readb(qts, slot + 5) & 1) {
                vtp_cmd(qts, CMD_EOM, 0, 0, 0);
            }
            return ldl_le_p(m + 16);
        }
        qtest_clock_step(qts, 1000);
        if (i > 100 && sleep_us) {
            g_usleep(sleep_us);
        }
    }
    return 0;
}

#endif
