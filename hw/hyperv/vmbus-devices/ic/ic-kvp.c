/*
 * Hyper-V key-value pair exchange integration service (hv-kvp)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * The host reads the guest's pools by enumeration (index 0, 1, ... until
 * the guest answers anything but success) and writes entries with SET.
 * In a Linux guest the kernel forwards each request to hv_kvp_daemon,
 * which answers the "auto" pool (2) with the guest's intrinsic items:
 * FullyQualifiedDomainName, OSName, NetworkAddressIPv4, ... and stores
 * the host's entries in /var/lib/hyperv/.kvp_pool_N.
 *
 * Enumeration runs when the service comes up, on QMP vmbus-kvp-refresh
 * and every `refresh` ms (0: never).  The last complete enumeration is
 * shown by query-vmbus-ic.  QMP vmbus-kvp-set queues host writes (up to
 * KVP_MAX_QUEUE); they go out one at a time.  Queued writes are not
 * migrated; items are enumerated again after migration.
 *
 * Wire format (after the IC headers): u8 operation, u8 pool, u16 pad,
 * then the operation's body; strings are UTF-16LE with byte counts
 * including the terminating NUL.  The host sends the size of the largest
 * body (the IP-address body, 7426 bytes), since the guest answers in
 * the same buffer.
 */

#include "qemu/osdep.h"
#include "qemu/timer.h"
#include "qapi/error.h"
#include "qapi/qapi-commands-vmbus-dev-ic.h"
#include "hw/qdev-properties.h"
#include "migration/vmstate.h"
#include "ic.h"
#include "trace.h"

#define TYPE_HV_KVP "hv-kvp"
OBJECT_DECLARE_SIMPLE_TYPE(HvKvp, HV_KVP)

enum {
    KVP_OP_GET = 0,
    KVP_OP_SET = 1,
    KVP_OP_DELETE = 2,
    KVP_OP_ENUMERATE = 3,
};
#define KVP_POOL_COUNT 5
#define KVP_POOL_AUTO 2
#define KVP_REG_SZ 1

#define KVP_KEY_SIZE 512
#define KVP_VALUE_SIZE 2048
#define KVP_HDR 4
#define KVP_BODY 7426
#define KVP_PAYLOAD (KVP_HDR + KVP_BODY)
/* hv_kvp_exchg_msg_value: u32 type, u32 key_size, u32 value_size,
 * key[512], value[2048] */
#define KVP_VALUE_STRUCT (12 + KVP_KEY_SIZE + KVP_VALUE_SIZE)
#define KVP_MAX_ITEMS 64
#define KVP_MAX_QUEUE 64

typedef struct KvpWrite {
    uint8_t pool;
    char *key;
    char *value;
} KvpWrite;

struct HvKvp {
    VMBusIC parent_obj;

    uint32_t refresh_ms;        /* property */
    /* the request outstanding */
    uint8_t cur_op;
    uint8_t cur_pool;
    uint32_t cur_index;
    /* enumeration in progress: pool, next index, items so far */
    bool enumerating;
    bool enumerate_again;
    GPtrArray *partial;         /* VmbusKvpItem */
    GPtrArray *items;           /* the last complete enumeration */
    int64_t last_enum_wall_ms;
    uint32_t last_enum_status;
    GQueue writes;              /* KvpWrite */
    KvpWrite *cur_write;
    uint64_t written;
    uint64_t write_errors;
    uint32_t last_write_status;
    QEMUTimer *timer;
};

static const uint32_t kvp_fw[] = { VMBIC_VERSION(3, 0) };
static const uint32_t kvp_msg[] = {
    VMBIC_VERSION(4, 0), VMBIC_VERSION(3, 0),
};

static void kvp_write_free(KvpWrite *w)
{
    if (w) {
        g_free(w->key);
        g_free(w->value);
        g_free(w);
    }
}

static void kvp_item_free(gpointer p)
{
    qapi_free_VmbusKvpItem(p);
}

static int kvp_request(HvKvp *kvp, uint8_t op, uint8_t pool, uint32_t index,
                       const KvpWrite *w)
{
    g_autofree uint8_t *p = g_malloc0(KVP_PAYLOAD);
    uint8_t *body = p + KVP_HDR;
    int ret;

    p[0] = op;
    p[1] = pool;
    if (op == KVP_OP_ENUMERATE) {
        vmbic_st32(body, index);
    } else if (op == KVP_OP_SET) {
        size_t ks = vmbic_utf8_to_utf16(w->key, body + 12, KVP_KEY_SIZE);
        size_t vs = vmbic_utf8_to_utf16(w->value, body + 12 + KVP_KEY_SIZE,
                                        KVP_VALUE_SIZE);

        if (!ks || !vs) {
            return -EINVAL;     /* checked by QMP already */
        }
        vmbic_st32(body, KVP_REG_SZ);
        vmbic_st32(body + 4, ks);
        vmbic_st32(body + 8, vs);
    }
    ret = vmbus_ic_send(VMBUS_IC(kvp), p, KVP_PAYLOAD);
    if (ret == 0) {
        kvp->cur_op = op;
        kvp->cur_pool = pool;
        kvp->cur_index = index;
        trace_vmbic_kvp_request(DEVICE(kvp)->id ?: "", op, pool, index);
    }
    return ret;
}

static void kvp_kick(VMBusIC *ic)
{
    HvKvp *kvp = HV_KVP(ic);

    if (!vmbus_ic_can_send(ic)) {
        return;
    }
    if (!kvp->cur_write) {
        kvp->cur_write = g_queue_pop_head(&kvp->writes);
    }
    if (kvp->cur_write) {
        if (kvp_request(kvp, KVP_OP_SET, kvp->cur_write->pool, 0,
                        kvp->cur_write) == -EINVAL) {
            kvp_write_free(kvp->cur_write);
            kvp->cur_write = NULL;
            kvp->write_errors++;
        }
        return;
    }
    if (kvp->enumerate_again && !kvp->enumerating) {
        kvp->enumerate_again = false;
        kvp->enumerating = true;
        g_ptr_array_set_size(kvp->partial, 0);
        kvp->cur_index = 0;
    }
    if (kvp->enumerating) {
        kvp_request(kvp, KVP_OP_ENUMERATE, KVP_POOL_AUTO,
                    kvp->partial->len, NULL);
    }
}

static void kvp_enum_done(HvKvp *kvp, uint32_t status)
{
    GPtrArray *t = kvp->items;

    kvp->enumerating = false;
    kvp->last_enum_status = status;
    kvp->last_enum_wall_ms = vmbus_ic_wall_ms();
    kvp->items = kvp->partial;
    kvp->partial = t;
    g_ptr_array_set_size(kvp->partial, 0);
}

static void kvp_enum_item(HvKvp *kvp, const uint8_t *body, uint32_t len)
{
    VMBusIC *ic = VMBUS_IC(kvp);
    uint32_t ks, vs;
    VmbusKvpItem *it;
    char *key, *value;

    if (len < 4 + KVP_VALUE_STRUCT) {
        vmbus_ic_guest_error(ic, "KVP enumerate answer of %u bytes", len);
        kvp_enum_done(kvp, VMBIC_E_FAIL);
        return;
    }
    ks = vmbic_ld32(body + 8);
    vs = vmbic_ld32(body + 12);
    if (ks > KVP_KEY_SIZE || vs > KVP_VALUE_SIZE) {
        vmbus_ic_guest_error(ic, "KVP item sizes key %u value %u", ks, vs);
        kvp_enum_done(kvp, VMBIC_E_FAIL);
        return;
    }
    key = vmbic_utf16_to_utf8(body + 16, ks);
    value = vmbic_utf16_to_utf8(body + 16 + KVP_KEY_SIZE, vs);
    if (!key || !value) {
        vmbus_ic_guest_error(ic, "KVP item %u is not UTF-16",
                             kvp->partial->len);
        g_free(key);
        g_free(value);
        kvp_enum_done(kvp, VMBIC_E_FAIL);
        return;
    }
    it = g_new0(VmbusKvpItem, 1);
    it->pool = kvp->cur_pool;
    it->key = key;
    it->value = value;
    g_ptr_array_add(kvp->partial, it);
    if (kvp->partial->len >= KVP_MAX_ITEMS) {
        kvp_enum_done(kvp, VMBIC_S_OK);
    }
}

static void kvp_response(VMBusIC *ic, const VmbicHdr *h,
                         const uint8_t *p, uint32_t len)
{
    HvKvp *kvp = HV_KVP(ic);
    uint32_t status = h ? h->status : VMBIC_E_FAIL;

    if (h) {
        trace_vmbic_kvp_response(DEVICE(kvp)->id ?: "", kvp->cur_op,
                                 kvp->cur_pool, status);
    }
    if (kvp->cur_op == KVP_OP_SET) {
        kvp->last_write_status = status;
        if (status == VMBIC_S_OK) {
            kvp->written++;
        } else {
            kvp->write_errors++;
        }
        kvp_write_free(kvp->cur_write);
        kvp->cur_write = NULL;
        return;
    }
    if (kvp->cur_op != KVP_OP_ENUMERATE || !kvp->enumerating) {
        return;
    }
    if (status != VMBIC_S_OK) {
        /* HV_S_CONT (or a failure) ends the enumeration */
        kvp_enum_done(kvp, status);
        return;
    }
    if (len < KVP_HDR + 4 || p[0] != KVP_OP_ENUMERATE ||
        p[1] != kvp->cur_pool || vmbic_ld32(p + KVP_HDR) != kvp->cur_index) {
        vmbus_ic_guest_error(ic, "KVP answer does not match the request");
        kvp_enum_done(kvp, VMBIC_E_FAIL);
        return;
    }
    kvp_enum_item(kvp, p + KVP_HDR, len - KVP_HDR);
}

static void kvp_timer_cb(void *opaque)
{
    HvKvp *kvp = opaque;
    VMBusIC *ic = VMBUS_IC(kvp);

    if (ic->state != VMBIC_STATE_READY) {
        return;
    }
    kvp->enumerate_again = true;
    kvp_kick(ic);
    if (kvp->refresh_ms) {
        timer_mod(kvp->timer,
                  qemu_clock_get_ms(QEMU_CLOCK_VIRTUAL) + kvp->refresh_ms);
    }
}

static void kvp_ready(VMBusIC *ic)
{
    HvKvp *kvp = HV_KVP(ic);

    kvp->enumerate_again = true;
    kvp_kick(ic);
    if (kvp->refresh_ms) {
        timer_mod(kvp->timer,
                  qemu_clock_get_ms(QEMU_CLOCK_VIRTUAL) + kvp->refresh_ms);
    }
}

static void kvp_stop(VMBusIC *ic)
{
    HvKvp *kvp = HV_KVP(ic);

    timer_del(kvp->timer);
    kvp->enumerating = false;
    if (kvp->cur_write) {
        /* not answered: send it again once the guest is back */
        g_queue_push_head(&kvp->writes, kvp->cur_write);
        kvp->cur_write = NULL;
    }
}

static void kvp_query(VMBusIC *ic, VmbusIcInfo *info)
{
    HvKvp *kvp = HV_KVP(ic);
    VmbusIcKvpInfo *i = g_new0(VmbusIcKvpInfo, 1);
    VmbusKvpItemList **tail = &i->items;

    for (guint n = 0; n < kvp->items->len; n++) {
        VmbusKvpItem *src = g_ptr_array_index(kvp->items, n);
        VmbusKvpItem *it = g_new0(VmbusKvpItem, 1);

        it->pool = src->pool;
        it->key = g_strdup(src->key);
        it->value = g_strdup(src->value);
        QAPI_LIST_APPEND(tail, it);
    }
    i->enumerating = kvp->enumerating || kvp->enumerate_again;
    i->last_enumeration = kvp->last_enum_wall_ms;
    i->last_enumeration_status = kvp->last_enum_status;
    i->pending_writes = g_queue_get_length(&kvp->writes) +
                        (kvp->cur_write ? 1 : 0);
    i->writes = kvp->written;
    i->write_errors = kvp->write_errors;
    i->last_write_status = kvp->last_write_status;
    info->kvp = i;
}

static void kvp_realize(VMBusDevice *vdev, Error **errp)
{
    HvKvp *kvp = HV_KVP(vdev);

    if (kvp->refresh_ms && kvp->refresh_ms < 1000) {
        error_setg(errp, "refresh must be 0 (off) or at least 1000 ms");
        return;
    }
    kvp->timer = timer_new_ms(QEMU_CLOCK_VIRTUAL, kvp_timer_cb, kvp);
    kvp->items = g_ptr_array_new_with_free_func(kvp_item_free);
    kvp->partial = g_ptr_array_new_with_free_func(kvp_item_free);
    g_queue_init(&kvp->writes);
}

static void kvp_unrealize(VMBusDevice *vdev)
{
    HvKvp *kvp = HV_KVP(vdev);
    KvpWrite *w;

    timer_free(kvp->timer);
    kvp->timer = NULL;
    g_ptr_array_free(kvp->items, true);
    g_ptr_array_free(kvp->partial, true);
    kvp_write_free(kvp->cur_write);
    kvp->cur_write = NULL;
    while ((w = g_queue_pop_head(&kvp->writes))) {
        kvp_write_free(w);
    }
}

static int kvp_post_load(void *opaque, int version_id)
{
    HvKvp *kvp = opaque;

    if (kvp->cur_op > KVP_OP_ENUMERATE || kvp->cur_pool >= KVP_POOL_COUNT) {
        return -EINVAL;
    }
    /* Items are not migrated: enumerate again. */
    kvp->enumerating = false;
    if (VMBUS_IC(kvp)->state == VMBIC_STATE_READY) {
        kvp->enumerate_again = true;
        timer_mod(kvp->timer, qemu_clock_get_ms(QEMU_CLOCK_VIRTUAL) + 1);
    }
    return 0;
}

static const VMStateDescription vmstate_hv_kvp = {
    .name = "hv-kvp",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = kvp_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_VMBUS_IC(parent_obj, HvKvp),
        VMSTATE_UINT8(cur_op, HvKvp),
        VMSTATE_UINT8(cur_pool, HvKvp),
        VMSTATE_UINT32(cur_index, HvKvp),
        VMSTATE_UINT64(written, HvKvp),
        VMSTATE_UINT64(write_errors, HvKvp),
        VMSTATE_UINT32(last_write_status, HvKvp),
        VMSTATE_END_OF_LIST()
    },
};

static const Property kvp_properties[] = {
    DEFINE_PROP_UINT32("refresh", HvKvp, refresh_ms, 60000),
};

static void kvp_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    VMBusDeviceClass *vdc = VMBUS_DEVICE_CLASS(klass);
    VMBusICClass *k = VMBUS_IC_CLASS(klass);

    qemu_uuid_parse("a9a0f4e7-5a45-4d96-b827-8a841e8c03e6", &vdc->classid);
    vdc->vmdev_realize = kvp_realize;
    vdc->vmdev_unrealize = kvp_unrealize;
    dc->vmsd = &vmstate_hv_kvp;
    dc->desc = "Hyper-V key-value pair exchange integration service";
    device_class_set_props(dc, kvp_properties);
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
    k->service = "kvp";
    k->msg_type = VMBIC_MSG_KVP;
    k->fw_versions = kvp_fw;
    k->n_fw_versions = ARRAY_SIZE(kvp_fw);
    k->msg_versions = kvp_msg;
    k->n_msg_versions = ARRAY_SIZE(kvp_msg);
    k->ready = kvp_ready;
    k->response = kvp_response;
    k->kick = kvp_kick;
    k->stop = kvp_stop;
    k->query = kvp_query;
}

static const TypeInfo kvp_type_info = {
    .name = TYPE_HV_KVP,
    .parent = TYPE_VMBUS_IC,
    .instance_size = sizeof(HvKvp),
    .class_init = kvp_class_init,
};

static void kvp_register_types(void)
{
    type_register_static(&kvp_type_info);
}

type_init(kvp_register_types)

void qmp_vmbus_kvp_set(const char *device, bool has_pool, uint8_t pool,
                       const char *key, const char *value, Error **errp)
{
    VMBusIC *ic = vmbus_ic_find(device, TYPE_HV_KVP, errp);
    HvKvp *kvp;
    uint8_t tmp[KVP_VALUE_SIZE];
    KvpWrite *w;

    if (!ic) {
        return;
    }
    kvp = HV_KVP(ic);
    if (!has_pool) {
        pool = 0;
    }
    if (pool >= KVP_POOL_COUNT) {
        error_setg(errp, "pool must be 0 .. %d", KVP_POOL_COUNT - 1);
        return;
    }
    if (!*key || !vmbic_utf8_to_utf16(key, tmp, KVP_KEY_SIZE)) {
        error_setg(errp, "key must be 1 .. 255 UTF-16 units");
        return;
    }
    if (!vmbic_utf8_to_utf16(value, tmp, KVP_VALUE_SIZE)) {
        error_setg(errp, "value must be at most 1023 UTF-16 units");
        return;
    }
    if (g_queue_get_length(&kvp->writes) >= KVP_MAX_QUEUE) {
        error_setg(errp, "%d writes are queued already", KVP_MAX_QUEUE);
        return;
    }
    w = g_new0(KvpWrite, 1);
    w->pool = pool;
    w->key = g_strdup(key);
    w->value = g_strdup(value);
    g_queue_push_tail(&kvp->writes, w);
    kvp_kick(ic);
}

void qmp_vmbus_kvp_refresh(const char *device, Error **errp)
{
    VMBusIC *ic = vmbus_ic_find(device, TYPE_HV_KVP, errp);

    if (ic) {
        HV_KVP(ic)->enumerate_again = true;
        kvp_kick(ic);
    }
}
