/*
 * VMBus bus and device base class: channels, ring access, GPADL access,
 * hot-plug, on top of our protocol core and ring library
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/*
 * Each VMBusDevice owns an array of VMBusChannel (primary first).  Every
 * channel is offered to the core at realize; the core owns the protocol
 * state (relid, open/closed, GPADLs) and calls back through the hooks
 * below.  While a channel is open its ring GPADL's pages are mapped into
 * host memory, and the ring library reads and writes them directly; each
 * host write marks the touched pages dirty for migration.
 *
 * Hot-unplug: device_del rescinds the device's channels; the device is
 * unrealized once the guest released every relid (RELID_RELEASED), or at
 * once for channels the guest never saw.
 *
 * Dynamic channels (hv_sock): besides that fixed array a device may own
 * channels created at run time, either offered by the device
 * (vmbus_device_add_channel) or by the core for a guest TL_CONNECT_REQUEST
 * the device accepted (VMBusDeviceClass.tl_connect).  They are heap
 * objects on VMBusDevice.dyn_channels, go through the same hooks, and
 * end in VMBusDeviceClass.channel_released, after which the bus frees
 * them.
 */

#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/main-loop.h"
#include "qapi/error.h"
#include "hw/qdev-properties.h"
#include "hw/qdev-properties-system.h"
#include "hw/hotplug.h"
#include "migration/blocker.h"
#include "migration/vmstate.h"
#include "exec/address-spaces.h"
#include "exec/memory.h"
#include "hw/hyperv/vmbus-fault.h"
#include "vmbus-priv.h"
#include "trace.h"

/* Largest packet the compat receive path copies out. */
#define VMBUS_MAX_RECV_PACKET   (8u << 20)

struct VMBusGpadl {
    VmbcGpadl *gpadl;
    VMBusChannel *chan;
};

VMBusHost *vmbus_host_of(VMBusDevice *dev)
{
    VMBus *bus = VMBUS(qdev_get_parent_bus(DEVICE(dev)));

    return bus->bridge->host;
}

static VmbWireGuid vmbus_uuid_to_wire(const QemuUUID *uuid)
{
    QemuUUID le = qemu_uuid_bswap(*uuid);
    VmbWireGuid g;

    QEMU_BUILD_BUG_ON(sizeof(g) != sizeof(le.data));
    memcpy(&g, le.data, sizeof(g));
    return g;
}

static QemuUUID vmbus_wire_to_uuid(const VmbWireGuid *g)
{
    QemuUUID le;

    memcpy(le.data, g, sizeof(le.data));
    return qemu_uuid_bswap(le);
}

/* ---- ring pages ---------------------------------------------------------- */

static void vmbus_chan_unmap(VMBusChannel *chan)
{
    for (uint32_t i = 0; i < chan->npages; i++) {
        if (chan->page_mr[i]) {
            memory_region_unref(chan->page_mr[i]);
        }
    }
    g_free(chan->pages);
    g_free(chan->page_mr);
    g_free(chan->page_off);
    chan->pages = NULL;
    chan->page_mr = NULL;
    chan->page_off = NULL;
    chan->npages = 0;
    memset(&chan->rings, 0, sizeof(chan->rings));
}

/*
 * Map the ring GPADL: one range, page aligned, every page guest RAM.
 * Returns 0 or a VMBW_STATUS_* for OPENCHANNEL_RESULT.
 */
static int vmbus_chan_map(VMBusChannel *chan)
{
    VmbcGpadl *gp = vmbc_chan_ring_gpadl(chan->core);
    uint32_t count, offset, npfns, split;
    const uint64_t *pfns;

    if (!gp || vmbc_gpadl_range_count(gp) != 1 ||
        !vmbc_gpadl_range(gp, 0, &count, &offset, &pfns, &npfns) ||
        offset != 0 || npfns < 4 || (uint64_t)npfns * VMBR_PAGE_SIZE != count) {
        return VMBW_STATUS_INVALID_PARAMETER;
    }
    chan->npages = npfns;
    chan->pages = g_new0(uint8_t *, npfns);
    chan->page_mr = g_new0(MemoryRegion *, npfns);
    chan->page_off = g_new0(hwaddr, npfns);
    for (uint32_t i = 0; i < npfns; i++) {
        hwaddr gpa = pfns[i] << VMBR_PAGE_SHIFT;
        MemoryRegionSection sec;

        if (pfns[i] >> (64 - VMBR_PAGE_SHIFT)) {
            goto bad;
        }
        sec = memory_region_find(get_system_memory(), gpa, VMBR_PAGE_SIZE);
        if (!sec.mr) {
            goto bad;
        }
        if (!memory_region_is_ram(sec.mr) || memory_region_is_rom(sec.mr) ||
            int128_lt(sec.size, int128_make64(VMBR_PAGE_SIZE))) {
            memory_region_unref(sec.mr);
            goto bad;
        }
        chan->page_mr[i] = sec.mr;
        chan->page_off[i] = sec.offset_within_region;
        chan->pages[i] = (uint8_t *)memory_region_get_ram_ptr(sec.mr) +
                         sec.offset_within_region;
    }
    split = vmbc_chan_ring_split(chan->core);
    if (vmbr_pair_init(&chan->rings, chan->pages, chan->npages, split)
        != VMBR_OK) {
        vmbus_chan_unmap(chan);
        return VMBW_STATUS_INVALID_PARAMETER;
    }
    chan->ring_broken_reported = false;
    return 0;

bad:
    vmbus_chan_unmap(chan);
    return VMBW_STATUS_INVALID_PARAMETER;
}

int vmbus_channel_remap(VMBusChannel *chan)
{
    if (chan->is_open) {
        vmbus_chan_unmap(chan);
        chan->is_open = false;
    }
    if (vmbus_chan_map(chan)) {
        return -EINVAL;
    }
    chan->is_open = true;
    vmbus_host_register_chan_notifier(vmbus_host_of(chan->dev), chan);
    return 0;
}

static void vmbus_chan_dirty_page(VMBusChannel *chan, uint32_t page)
{
    if (page < chan->npages && chan->page_mr[page]) {
        memory_region_set_dirty(chan->page_mr[page], chan->page_off[page],
                                VMBR_PAGE_SIZE);
    }
}

/* Dirty the host->guest ring's header and the data bytes [from, to). */
static void vmbus_chan_dirty_written(VMBusChannel *chan, uint32_t from,
                                     uint32_t to)
{
    uint32_t base = vmbc_chan_ring_split(chan->core);
    uint32_t size = chan->rings.in.size;
    uint32_t first, last;

    vmbus_chan_dirty_page(chan, base);
    if (from == to || !size) {
        return;
    }
    first = from / VMBR_PAGE_SIZE;
    last = ((to ? to : size) - 1) / VMBR_PAGE_SIZE;
    if (to <= from && to != 0) {      /* wrapped */
        for (uint32_t p = first; p < size / VMBR_PAGE_SIZE; p++) {
            vmbus_chan_dirty_page(chan, base + 1 + p);
        }
        first = 0;
    }
    for (uint32_t p = first; p <= last; p++) {
        vmbus_chan_dirty_page(chan, base + 1 + p);
    }
}

static void vmbus_chan_report_broken(VMBusChannel *chan, VmbRing *r)
{
    if (!chan->ring_broken_reported) {
        chan->ring_broken_reported = true;
        vmbus_guest_fault(OBJECT(chan->dev), VMBUS_FAULT_RING_CORRUPT,
                          "channel %u: ring corrupt (%s), channel stopped "
                          "until reopened", vmbc_chan_relid(chan->core),
                          vmbr_error_str(vmbr_error(r)));
        trace_vmbhost_ring_broken(vmbc_chan_relid(chan->core),
                                  vmbr_error_str(vmbr_error(r)));
    }
}

/* ---- core hooks ---------------------------------------------------------- */

static void vmbus_chan_event(EventNotifier *n)
{
    VMBusChannel *chan = container_of(n, VMBusChannel, notifier);

    if (event_notifier_test_and_clear(n) && chan->core) {
        vmbc_signal_event(vmbus_host_of(chan->dev)->core,
                          chan->notifier_conn_id);
    }
}

void vmbus_host_register_chan_notifier(VMBusHost *host, VMBusChannel *chan)
{
    uint32_t id = chan->core ? vmbc_chan_connection_id(chan->core) : 0;

    if (id == chan->notifier_conn_id) {
        return;
    }
    if (chan->notifier_conn_id) {
        hyperv_set_event_flag_handler(chan->notifier_conn_id, NULL);
        chan->notifier_conn_id = 0;
    }
    if (id && !hyperv_set_event_flag_handler(id, &chan->notifier)) {
        chan->notifier_conn_id = id;
    }
}

static bool vmbus_chan_unbind_one(VmbcChannel *cc, void *arg)
{
    VMBusChannel *chan = vmbc_chan_get_opaque(cc);

    if (chan && chan->notifier_conn_id) {
        hyperv_set_event_flag_handler(chan->notifier_conn_id, NULL);
        chan->notifier_conn_id = 0;
    }
    return true;
}

static bool vmbus_chan_bind_one(VmbcChannel *cc, void *arg)
{
    VMBusChannel *chan = vmbc_chan_get_opaque(cc);

    if (chan) {
        chan->core = cc;
        vmbus_host_register_chan_notifier(arg, chan);
    }
    return true;
}

/*
 * After a load, channels may have other relids, so other connection ids,
 * than they were registered with, and one channel's new id may be
 * another's old one: drop every registration, then register them all.
 */
void vmbus_host_rebind_chan_notifiers(VMBusHost *host)
{
    vmbc_foreach_channel(host->core, vmbus_chan_unbind_one, NULL);
    vmbc_foreach_channel(host->core, vmbus_chan_bind_one, host);
}

int vmbus_chan_open_hook(VMBusHost *host, VmbcChannel *cc)
{
    VMBusChannel *chan = vmbc_chan_get_opaque(cc);
    VMBusDeviceClass *vdc;
    int status;

    if (!chan) {
        return VMBW_STATUS_UNSUCCESSFUL;
    }
    vdc = VMBUS_DEVICE_GET_CLASS(chan->dev);
    chan->core = cc;
    status = vmbus_chan_map(chan);
    if (status) {
        trace_vmbhost_chan_open_refused(vmbc_chan_relid(cc), "ring GPADL");
        return status;
    }
    chan->is_open = true;
    if (vdc->open_channel && vdc->open_channel(chan) < 0) {
        chan->is_open = false;
        vmbus_chan_unmap(chan);
        trace_vmbhost_chan_open_refused(vmbc_chan_relid(cc), "device");
        return VMBW_STATUS_UNSUCCESSFUL;
    }
    vmbus_host_register_chan_notifier(host, chan);
    trace_vmbhost_chan_open(vmbc_chan_relid(cc), chan->npages);
    return 0;
}

void vmbus_chan_close_hook(VMBusHost *host, VmbcChannel *cc)
{
    VMBusChannel *chan = vmbc_chan_get_opaque(cc);
    VMBusDeviceClass *vdc;

    if (!chan || !chan->is_open) {
        return;
    }
    vdc = VMBUS_DEVICE_GET_CLASS(chan->dev);
    if (vdc->close_channel) {
        vdc->close_channel(chan);
    }
    chan->is_open = false;
    chan->in_recv = false;
    vmbus_chan_unmap(chan);
    trace_vmbhost_chan_close(vmbc_chan_relid(cc));
    if (chan->dynamic) {
        return;         /* one connection of many: no device reset */
    }
    /*
     * Once the guest closed the last channel, the device starts over, as
     * with QEMU's own VMBus (hv-balloon relies on it to be reopened).
     */
    for (uint16_t i = 0; i < chan->dev->num_channels; i++) {
        if (chan->dev->channels[i].is_open) {
            return;
        }
    }
    device_cold_reset(DEVICE(chan->dev));
}

void vmbus_chan_notify_hook(VMBusHost *host, VmbcChannel *cc)
{
    VMBusChannel *chan = vmbc_chan_get_opaque(cc);
    VMBusDeviceClass *vdc;

    if (!chan || !chan->is_open) {
        return;
    }
    chan->notifications++;
    vdc = VMBUS_DEVICE_GET_CLASS(chan->dev);
    if (vdc->chan_notify_cb) {
        vdc->chan_notify_cb(chan);
    }
}

static void vmbus_dev_finish_unplug(void *opaque)
{
    DeviceState *dev = opaque;
    HotplugHandler *hh = qdev_get_hotplug_handler(dev);

    if (hh) {
        hotplug_handler_unplug(hh, dev, &error_abort);
    }
    object_unref(OBJECT(dev));
}

static bool vmbus_dev_all_released(VMBusDevice *vdev)
{
    for (uint16_t i = 0; i < vdev->num_channels; i++) {
        if (vdev->channels[i].core) {
            return false;
        }
    }
    return vdev->dyn_channels == NULL;
}

static void vmbus_chan_init(VMBusChannel *chan, VMBusDevice *vdev,
                            uint16_t index);
static void vmbus_chan_cleanup(VMBusChannel *chan);

/* Drop a dynamic channel: tell the device, then free it. */
static void vmbus_dyn_chan_free(VMBusChannel *chan, bool tell_device)
{
    VMBusDevice *vdev = chan->dev;
    VMBusDeviceClass *vdc = VMBUS_DEVICE_GET_CLASS(vdev);

    vdev->dyn_channels = g_list_remove(vdev->dyn_channels, chan);
    if (tell_device && vdc->channel_released) {
        vdc->channel_released(chan);
    }
    vmbus_chan_cleanup(chan);
    g_free(chan);
}

void vmbus_chan_released_hook(VMBusHost *host, VmbcChannel *cc)
{
    VMBusChannel *chan = vmbc_chan_get_opaque(cc);
    VMBusDevice *vdev;

    if (!chan) {
        return;
    }
    vdev = chan->dev;
    if (chan->is_open) {
        vmbus_chan_close_hook(host, cc);
    }
    if (chan->notifier_conn_id) {
        hyperv_set_event_flag_handler(chan->notifier_conn_id, NULL);
        chan->notifier_conn_id = 0;
    }
    chan->core = NULL;
    chan->released = true;
    trace_vmbhost_chan_released(vmbc_chan_relid(cc));
    if (chan->dynamic) {
        vmbus_dyn_chan_free(chan, true);
    }
    if (vdev->unplug_requested && vmbus_dev_all_released(vdev)) {
        object_ref(OBJECT(vdev));
        aio_bh_schedule_oneshot(qemu_get_aio_context(),
                                vmbus_dev_finish_unplug, vdev);
    }
}

/* ---- channel API ---------------------------------------------------------- */

VMBusDevice *vmbus_channel_device(VMBusChannel *chan)
{
    return chan->dev;
}

VMBusChannel *vmbus_device_channel(VMBusDevice *dev, uint32_t chan_idx)
{
    return chan_idx < dev->num_channels ? &dev->channels[chan_idx] : NULL;
}

uint32_t vmbus_channel_idx(VMBusChannel *chan)
{
    return chan->index;
}

/* ---- dynamic channels ------------------------------------------------------ */

typedef struct VMBusCoreLookup {
    VMBusChannel *chan;
    VmbcChannel *found;
} VMBusCoreLookup;

static bool vmbus_core_lookup_one(VmbcChannel *cc, void *arg)
{
    VMBusCoreLookup *l = arg;

    if (vmbc_chan_get_opaque(cc) == l->chan) {
        l->found = cc;
        return false;
    }
    return true;
}

/* The core's channel; a TL channel learns it here before its open. */
static VmbcChannel *vmbus_chan_core_lookup(VMBusChannel *chan)
{
    VMBusCoreLookup l = { .chan = chan };

    if (chan->core || chan->released) {
        return chan->core;
    }
    vmbc_foreach_channel(vmbus_host_of(chan->dev)->core,
                         vmbus_core_lookup_one, &l);
    chan->core = l.found;
    return chan->core;
}

static VMBusChannel *vmbus_dyn_chan_new(VMBusDevice *dev, void *opaque)
{
    VMBusChannel *chan = g_new0(VMBusChannel, 1);

    vmbus_chan_init(chan, dev, 0xffff);
    chan->dynamic = true;
    chan->opaque = opaque;
    dev->dyn_channels = g_list_append(dev->dyn_channels, chan);
    return chan;
}

VMBusChannel *vmbus_device_new_tl_channel(VMBusDevice *dev, void *opaque)
{
    return vmbus_dyn_chan_new(dev, opaque);
}

VMBusChannel *vmbus_device_add_channel(VMBusDevice *dev,
                                       const VMBusChannelOffer *offer,
                                       void *opaque, Error **errp)
{
    VMBusHost *h = vmbus_host_of(dev);
    VMBusChannel *chan = vmbus_dyn_chan_new(dev, opaque);
    g_autoptr(GError) gerr = NULL;
    VmbcOfferParams p = { 0 };

    p.class_id = vmbus_uuid_to_wire(&offer->classid);
    p.instance_id = vmbus_uuid_to_wire(&offer->instanceid);
    p.flags = offer->flags;
    memcpy(p.user_def, offer->user_def, sizeof(p.user_def));
    p.dev_opaque = chan;
    chan->core = vmbc_offer(h->core, &p, &gerr);
    if (!chan->core) {
        error_setg(errp, "%s: cannot offer a channel: %s",
                   object_get_typename(OBJECT(dev)), gerr->message);
        vmbus_dyn_chan_free(chan, false);
        return NULL;
    }
    vmbus_host_register_chan_notifier(h, chan);
    trace_vmbhost_offer(object_get_typename(OBJECT(dev)), chan->index,
                        vmbc_chan_relid(chan->core));
    return chan;
}

void vmbus_channel_rescind(VMBusChannel *chan)
{
    VmbcChannel *cc;

    if (!chan->dynamic || chan->rescind_sent || chan->released) {
        return;
    }
    chan->rescind_sent = true;
    cc = vmbus_chan_core_lookup(chan);
    if (!cc) {
        /* Accepted by tl_connect but never offered by the core. */
        vmbus_dyn_chan_free(chan, true);
        return;
    }
    if (vmbc_chan_state(cc) != VMBC_CHAN_RESCINDED) {
        vmbc_rescind(cc);       /* may release chan at once */
    }
}

void *vmbus_channel_get_opaque(VMBusChannel *chan)
{
    return chan->opaque;
}

uint32_t vmbus_channel_relid(VMBusChannel *chan)
{
    VmbcChannel *cc = vmbus_chan_core_lookup(chan);

    return cc ? vmbc_chan_relid(cc) : 0;
}

bool vmbus_channel_is_dynamic(VMBusChannel *chan)
{
    return chan->dynamic;
}

uint32_t vmbus_bus_tl_connect(VMBusHost *host, const VmbWireGuid *endpoint,
                              const VmbWireGuid *service, void **chan_opaque)
{
    QemuUUID ep = vmbus_wire_to_uuid(endpoint);
    QemuUUID svc = vmbus_wire_to_uuid(service);
    uint32_t status = VMBUS_TL_STATUS_REFUSED;
    BusChild *kid;

    QTAILQ_FOREACH(kid, &BUS(host->bridge->bus)->children, sibling) {
        VMBusDevice *vdev = VMBUS_DEVICE(kid->child);
        VMBusDeviceClass *vdc = VMBUS_DEVICE_GET_CLASS(vdev);
        VMBusChannel *chan = NULL;
        uint32_t st;

        if (!DEVICE(vdev)->realized || !vdc->tl_connect ||
            vdev->unplug_requested) {
            continue;
        }
        st = vdc->tl_connect(vdev, &ep, &svc, &chan);
        if (!st && chan) {
            *chan_opaque = chan;
            return 0;
        }
        if (chan) {
            vmbus_dyn_chan_free(chan, false);
        }
        status = st ? st : VMBUS_TL_STATUS_UNSUCCESSFUL;
    }
    return status;
}

bool vmbus_channel_is_open(VMBusChannel *chan)
{
    return chan->is_open;
}

static void vmbus_chan_notify_bh(void *opaque)
{
    VMBusChannel *chan = opaque;

    if (chan->core) {
        vmbus_chan_notify_hook(vmbus_host_of(chan->dev), chan->core);
    }
}

void vmbus_channel_notify_host(VMBusChannel *chan)
{
    qemu_bh_schedule(chan->notify_bh);
}

int vmbus_channel_reserve(VMBusChannel *chan, uint32_t desclen, uint32_t msglen)
{
    uint32_t need, space;
    VmbRingStatus st;

    if (!chan->is_open || (desclen & 7)) {
        return -EINVAL;
    }
    need = vmbr_packet_ring_size(desclen, msglen);
    if (!need || need >= chan->rings.in.size) {
        return -EINVAL;
    }
    st = vmbr_writer_space(&chan->rings.in, &space);
    if (st == VMBR_CORRUPT) {
        vmbus_chan_report_broken(chan, &chan->rings.in);
        return -EIO;
    }
    if (st != VMBR_OK) {
        return -EINVAL;
    }
    if (need > space) {
        /* Ask the guest to signal once enough is free; pending_send_sz
         * may be written even when the space turns out to be there. */
        bool fits = vmbr_writer_request_space(&chan->rings.in, need);

        vmbus_chan_dirty_page(chan, vmbc_chan_ring_split(chan->core));
        return fits ? 0 : -ENOSPC;
    }
    return 0;
}

ssize_t vmbus_channel_send(VMBusChannel *chan, uint16_t pkt_type,
                           void *desc, uint32_t desclen,
                           void *msg, uint32_t msglen,
                           bool need_comp, uint64_t transaction_id)
{
    struct iovec iov[2];
    unsigned n = 0;
    bool signal = false;
    uint32_t before;
    VmbRingStatus st;

    if (!chan->is_open) {
        return -EINVAL;
    }
    if (desclen) {
        iov[n].iov_base = desc;
        iov[n++].iov_len = desclen;
    }
    if (msglen) {
        iov[n].iov_base = msg;
        iov[n++].iov_len = msglen;
    }
    before = chan->rings.in.priv_write;
    st = vmbr_writer_write(&chan->rings.in, pkt_type,
                           need_comp ? VMBR_PKT_FLAG_COMPLETION_REQUESTED : 0,
                           transaction_id, iov, n, desclen, &signal);
    switch (st) {
    case VMBR_OK:
        vmbus_chan_dirty_written(chan, before, chan->rings.in.priv_write);
        if (signal) {
            vmbc_channel_notify_guest(chan->core);
        }
        return desclen + msglen;
    case VMBR_FULL:
        vmbus_chan_dirty_page(chan, vmbc_chan_ring_split(chan->core));
        return -ENOSPC;
    case VMBR_CORRUPT:
        /* pending_send_sz may have been set before the ring was found
         * corrupt */
        vmbus_chan_dirty_page(chan, vmbc_chan_ring_split(chan->core));
        vmbus_chan_report_broken(chan, &chan->rings.in);
        return -EIO;
    default:
        return -EINVAL;
    }
}

ssize_t vmbus_channel_send_completion(VMBusChanReq *req,
                                      void *msg, uint32_t msglen)
{
    return vmbus_channel_send(req->chan, VMBUS_PACKET_COMP, NULL, 0,
                              msg, msglen, false, req->transaction_id);
}

int vmbus_channel_recv_start(VMBusChannel *chan)
{
    if (!chan->is_open) {
        return -EINVAL;
    }
    if (vmbr_is_broken(&chan->rings.out)) {
        vmbus_chan_report_broken(chan, &chan->rings.out);
        return -EIO;
    }
    chan->in_recv = true;
    chan->recv_bytes = 0;
    return 0;
}

/* Turn a GPA-direct packet's ranges into req->sgl. */
static bool vmbus_req_build_sgl(VMBusChanReq *req, const void *pkt,
                                size_t pkt_len)
{
    VmbRingGpaDirect gd;
    VmbRingGpaRange range;
    VMBusDevice *dev = req->chan->dev;

    if (vmbr_parse_gpa_direct(pkt, pkt_len, &gd) != VMBR_OK) {
        return false;
    }
    qemu_sglist_init(&req->sgl, DEVICE(dev), gd.pfn_total, dev->dma_as);
    while (vmbr_gpa_direct_next(&gd, &range)) {
        uint32_t left = range.byte_count;
        uint32_t off = range.byte_offset;

        for (uint32_t i = 0; i < range.pfn_count && left; i++) {
            uint32_t chunk = MIN(left, VMBR_PAGE_SIZE - off);
            uint64_t pfn = vmbr_gpa_range_pfn(&range, i);

            qemu_sglist_add(&req->sgl, (pfn << VMBR_PAGE_SHIFT) + off, chunk);
            left -= chunk;
            off = 0;
        }
    }
    return true;
}

void *vmbus_channel_recv_peek(VMBusChannel *chan, uint32_t size)
{
    VmbRing *r = &chan->rings.out;
    VmbRingPacket pkt;
    VMBusChanReq *req;
    uint32_t msglen;
    VmbRingStatus st;

    if (!chan->is_open || !chan->in_recv || size < sizeof(VMBusChanReq)) {
        return NULL;
    }
    st = vmbr_reader_peek(r, &pkt, NULL, 0, NULL);
    if (st == VMBR_CORRUPT) {
        vmbus_chan_report_broken(chan, r);
        return NULL;
    }
    if (st != VMBR_OK) {
        return NULL;
    }
    if (pkt.len > VMBUS_MAX_RECV_PACKET) {
        vmbus_guest_fault(OBJECT(chan->dev), VMBUS_FAULT_RING_PACKET,
                          "channel %u: packet of %u bytes refused",
                          vmbc_chan_relid(chan->core), pkt.len);
        vmbr_reader_next(r);
        return NULL;
    }
    msglen = pkt.len - pkt.data_offset;
    req = g_malloc0(size + msglen);
    req->chan = chan;
    req->pkt_type = pkt.type;
    req->msglen = msglen;
    req->msg = (uint8_t *)req + size;
    req->transaction_id = pkt.trans_id;
    req->need_comp = pkt.flags & VMBR_PKT_FLAG_COMPLETION_REQUESTED;
    if (pkt.type == VMBR_PKT_DATA_GPA_DIRECT) {
        /* One copy of the whole packet: ranges for the SG list, then the
         * payload out of the same copy. */
        g_autofree uint8_t *whole = g_malloc(pkt.len);

        if (vmbr_reader_copy(r, 0, whole, pkt.len) != VMBR_OK) {
            g_free(req);
            return NULL;
        }
        memcpy(req->msg, whole + pkt.data_offset, msglen);
        if (!vmbus_req_build_sgl(req, whole, pkt.len)) {
            vmbus_guest_fault(OBJECT(chan->dev), VMBUS_FAULT_RING_PACKET,
                              "channel %u: bad GPA-direct packet",
                              vmbc_chan_relid(chan->core));
            vmbus_free_req(req);
            vmbr_reader_next(r);
            return NULL;
        }
    } else if (msglen &&
               vmbr_reader_copy(r, pkt.data_offset, req->msg, msglen) !=
               VMBR_OK) {
        g_free(req);
        return NULL;
    }
    return req;
}

void vmbus_channel_recv_pop(VMBusChannel *chan)
{
    VmbRing *r = &chan->rings.out;

    /* Consume the packet recv_peek looked at (no second look at the ring). */
    if (!chan->is_open || !chan->in_recv || !r->have_peek) {
        return;
    }
    chan->recv_bytes += r->peek_len + VMBR_TRAILER_SIZE;
    vmbr_reader_next(r);
}

ssize_t vmbus_channel_recv_done(VMBusChannel *chan)
{
    bool signal = false;
    ssize_t done;

    if (!chan->is_open || !chan->in_recv) {
        return 0;
    }
    chan->in_recv = false;
    if (vmbr_reader_commit(&chan->rings.out, &signal) == VMBR_CORRUPT) {
        vmbus_chan_report_broken(chan, &chan->rings.out);
    }
    vmbus_chan_dirty_page(chan, 0);
    if (signal) {
        vmbc_channel_notify_guest(chan->core);
    }
    done = chan->recv_bytes;
    chan->recv_bytes = 0;
    return done;
}

bool vmbus_channel_recv_pending(VMBusChannel *chan)
{
    uint32_t avail = 0;

    if (!chan->is_open || chan->in_recv ||
        vmbr_reader_avail(&chan->rings.out, &avail) != VMBR_OK) {
        return false;
    }
    return avail > 0;
}

void vmbus_free_req(void *req)
{
    VMBusChanReq *r = req;

    if (!r) {
        return;
    }
    if (r->sgl.dev) {
        qemu_sglist_destroy(&r->sgl);
    }
    g_free(r);
}

/* ---- GPADLs -------------------------------------------------------------- */

VMBusGpadl *vmbus_get_gpadl(VMBusChannel *chan, uint32_t gpadl_id)
{
    VmbcGpadl *gp;
    VMBusGpadl *g;

    /*
     * Only while open: the device drops its references in close_channel,
     * before rescind or unload may free the GPADLs of a closed channel.
     */
    if (!chan->core || !chan->is_open) {
        return NULL;
    }
    gp = vmbc_gpadl_find(vmbus_host_of(chan->dev)->core, gpadl_id);
    if (!gp || !vmbc_gpadl_complete(gp) ||
        vmbc_gpadl_relid(gp) != vmbc_chan_relid(chan->core)) {
        return NULL;
    }
    vmbc_gpadl_pin(gp);
    g = g_new(VMBusGpadl, 1);
    g->gpadl = gp;
    g->chan = chan;
    return g;
}

void vmbus_put_gpadl(VMBusGpadl *gpadl)
{
    if (gpadl) {
        vmbc_gpadl_unpin(gpadl->gpadl);
        g_free(gpadl);
    }
}

uint32_t vmbus_gpadl_len(VMBusGpadl *gpadl)
{
    return vmbc_gpadl_bytes(gpadl->gpadl);
}

/* Guest address of byte @off of the GPADL; false if beyond it. */
static bool vmbus_gpadl_addr(VMBusGpadl *gpadl, uint64_t off, hwaddr *gpa,
                             uint32_t *contig)
{
    uint32_t n = vmbc_gpadl_range_count(gpadl->gpadl);

    for (uint32_t i = 0; i < n; i++) {
        uint32_t count, offset, npfns;
        const uint64_t *pfns;
        uint64_t pos;

        if (!vmbc_gpadl_range(gpadl->gpadl, i, &count, &offset, &pfns,
                              &npfns)) {
            return false;
        }
        if (off >= count) {
            off -= count;
            continue;
        }
        pos = offset + off;
        if (pos / VMBR_PAGE_SIZE >= npfns) {
            return false;
        }
        *gpa = (pfns[pos / VMBR_PAGE_SIZE] << VMBR_PAGE_SHIFT) +
               pos % VMBR_PAGE_SIZE;
        *contig = MIN(count - off, VMBR_PAGE_SIZE - pos % VMBR_PAGE_SIZE);
        return true;
    }
    return false;
}

ssize_t vmbus_iov_to_gpadl(VMBusChannel *chan, VMBusGpadl *gpadl, uint32_t off,
                           const struct iovec *iov, size_t iov_cnt)
{
    size_t done = 0;

    for (size_t i = 0; i < iov_cnt; i++) {
        size_t left = iov[i].iov_len;
        const uint8_t *src = iov[i].iov_base;

        while (left) {
            hwaddr gpa;
            uint32_t contig, chunk;

            if (!vmbus_gpadl_addr(gpadl, (uint64_t)off + done, &gpa,
                                  &contig)) {
                return -EINVAL;
            }
            chunk = MIN(left, contig);
            if (dma_memory_write(chan->dev->dma_as, gpa, src, chunk,
                                 MEMTXATTRS_UNSPECIFIED) != MEMTX_OK) {
                return -EFAULT;
            }
            src += chunk;
            left -= chunk;
            done += chunk;
        }
    }
    return done;
}

int vmbus_map_sgl(VMBusChanReq *req, DMADirection dir, struct iovec *iov,
                  unsigned iov_cnt, size_t len, size_t off)
{
    QEMUSGList *sgl = &req->sgl;
    unsigned n = 0;
    int i;

    for (i = 0; i < sgl->nsg && len; i++) {
        dma_addr_t base = sgl->sg[i].base, elen = sgl->sg[i].len;

        if (off >= elen) {
            off -= elen;
            continue;
        }
        base += off;
        elen -= off;
        off = 0;
        while (elen && len) {
            dma_addr_t mlen = MIN(elen, len);
            void *p;

            if (n == iov_cnt) {
                goto fail;
            }
            p = dma_memory_map(sgl->as, base, &mlen, dir,
                               MEMTXATTRS_UNSPECIFIED);
            if (!p || !mlen) {
                goto fail;
            }
            iov[n].iov_base = p;
            iov[n].iov_len = mlen;
            n++;
            base += mlen;
            elen -= mlen;
            len -= mlen;
        }
    }
    return n;

fail:
    vmbus_unmap_sgl(req, dir, iov, n, 0);
    return -EFAULT;
}

void vmbus_unmap_sgl(VMBusChanReq *req, DMADirection dir, struct iovec *iov,
                     unsigned iov_cnt, size_t accessed)
{
    for (unsigned i = 0; i < iov_cnt; i++) {
        size_t acsd = MIN(accessed, iov[i].iov_len);

        dma_memory_unmap(req->sgl.as, iov[i].iov_base, iov[i].iov_len, dir,
                         acsd);
        accessed -= acsd;
    }
}

/* ---- device base class ---------------------------------------------------- */

/*
 * Instance GUIDs that stay the same across QEMU runs: derived from the
 * class GUID and the device's id (or its QOM path), so a guest resumed
 * from hibernation in a new QEMU process finds its devices again.
 */
static void vmbus_dev_derive_instanceid(VMBusDevice *vdev, QemuUUID *out)
{
    VMBusDeviceClass *vdc = VMBUS_DEVICE_GET_CLASS(vdev);
    DeviceState *dev = DEVICE(vdev);
    g_autofree char *path = dev->id ? g_strdup(dev->id)
                                    : object_get_canonical_path(OBJECT(dev));
    g_autoptr(GChecksum) ck = g_checksum_new(G_CHECKSUM_SHA1);
    uint8_t digest[20];
    gsize dlen = sizeof(digest);

    g_checksum_update(ck, vdc->classid.data, sizeof(vdc->classid.data));
    g_checksum_update(ck, (const guchar *)path, strlen(path));
    g_checksum_get_digest(ck, digest, &dlen);
    memcpy(out->data, digest, sizeof(out->data));
    out->data[6] = (out->data[6] & 0x0f) | 0x50;    /* version 5 (name) */
    out->data[8] = (out->data[8] & 0x3f) | 0x80;    /* RFC 4122 variant */
}

static bool vmbus_dev_offer(VMBusDevice *vdev, Error **errp)
{
    VMBusDeviceClass *vdc = VMBUS_DEVICE_GET_CLASS(vdev);
    VMBusHost *h = vmbus_host_of(vdev);

    for (uint16_t i = 0; i < vdev->num_channels; i++) {
        VMBusChannel *chan = &vdev->channels[i];
        VmbcOfferParams p = { 0 };
        g_autoptr(GError) gerr = NULL;

        if (chan->core) {
            continue;               /* still offered (re-offer via QMP) */
        }
        chan->released = false;
        p.class_id = vmbus_uuid_to_wire(&vdc->classid);
        p.instance_id = vmbus_uuid_to_wire(&vdev->instanceid);
        p.flags = vdc->channel_flags;
        p.mmio_megabytes = vdc->mmio_size_mb;
        p.subchannel_index = i;
        /* monitor=on: the guest signals through the monitor page, which
         * the core polls at the given latency (no hypercall). */
        p.monitor_allocated = h->bridge->monitor;
        p.monitor_latency = h->bridge->monitor_latency;
        p.dev_opaque = chan;
        chan->core = vmbc_offer(h->core, &p, &gerr);
        if (!chan->core) {
            error_setg(errp, "%s: cannot offer channel %u: %s",
                       object_get_typename(OBJECT(vdev)), i, gerr->message);
            return false;
        }
        vmbus_host_register_chan_notifier(h, chan);
        trace_vmbhost_offer(object_get_typename(OBJECT(vdev)), i,
                            vmbc_chan_relid(chan->core));
    }
    return true;
}

static void vmbus_dev_withdraw(VMBusDevice *vdev);

/* QMP vmbus-rescind / vmbus-reoffer: withdraw or offer again a device's
 * channels while the device stays. */
void vmbus_device_rescind(VMBusDevice *vdev)
{
    vmbus_dev_withdraw(vdev);
}

bool vmbus_device_reoffer(VMBusDevice *vdev, Error **errp)
{
    for (uint16_t i = 0; i < vdev->num_channels; i++) {
        VmbcChannel *cc = vdev->channels[i].core;

        if (cc && vmbc_chan_state(cc) == VMBC_CHAN_RESCINDED) {
            error_setg(errp, "the guest has not released relid %u yet",
                       vmbc_chan_relid(cc));
            return false;
        }
    }
    return vmbus_dev_offer(vdev, errp);
}

static void vmbus_dev_withdraw(VMBusDevice *vdev)
{
    GList *dyn = g_list_copy(vdev->dyn_channels);

    for (uint16_t i = 0; i < vdev->num_channels; i++) {
        if (vdev->channels[i].core) {
            vmbc_rescind(vdev->channels[i].core);
        }
    }
    /* Each rescind may free its own channel (never seen by the guest). */
    for (GList *l = dyn; l; l = l->next) {
        vmbus_channel_rescind(l->data);
    }
    g_list_free(dyn);
}

/* Unrealize: the device lets go of the dynamic channels the guest still
 * holds; they stay with the core, ownerless, until released. */
static void vmbus_dev_detach_dynamic(VMBusDevice *vdev)
{
    while (vdev->dyn_channels) {
        VMBusChannel *chan = vdev->dyn_channels->data;
        VmbcChannel *cc = vmbus_chan_core_lookup(chan);

        if (cc) {
            if (chan->is_open) {
                vmbus_chan_close_hook(vmbus_host_of(vdev), cc);
            }
            vmbc_chan_set_opaque(cc, NULL);
        }
        vmbus_dyn_chan_free(chan, true);
    }
}

static void vmbus_chan_init(VMBusChannel *chan, VMBusDevice *vdev,
                            uint16_t index)
{
    chan->dev = vdev;
    chan->index = index;
    chan->notify_bh = qemu_bh_new(vmbus_chan_notify_bh, chan);
    event_notifier_init(&chan->notifier, false);
    event_notifier_set_handler(&chan->notifier, vmbus_chan_event);
}

static void vmbus_chan_cleanup(VMBusChannel *chan)
{
    if (chan->notifier_conn_id) {
        hyperv_set_event_flag_handler(chan->notifier_conn_id, NULL);
        chan->notifier_conn_id = 0;
    }
    event_notifier_set_handler(&chan->notifier, NULL);
    event_notifier_cleanup(&chan->notifier);
    qemu_bh_delete(chan->notify_bh);
    chan->notify_bh = NULL;
    if (chan->pages) {
        vmbus_chan_unmap(chan);
    }
}

static void vmbus_dev_free_channels(VMBusDevice *vdev)
{
    for (uint16_t i = 0; i < vdev->num_channels; i++) {
        vmbus_chan_cleanup(&vdev->channels[i]);
    }
    g_free(vdev->channels);
    vdev->channels = NULL;
    vdev->num_channels = 0;
}

static void vmbus_dev_realize(DeviceState *dev, Error **errp)
{
    VMBusDevice *vdev = VMBUS_DEVICE(dev);
    VMBusDeviceClass *vdc = VMBUS_DEVICE_GET_CLASS(vdev);
    VMBus *bus = VMBUS(qdev_get_parent_bus(dev));
    BusChild *kid;
    Error *err = NULL;

    if (!bus->bridge->host->core) {
        error_setg(errp, "the vmbus-bridge is not ready");
        return;
    }
    if (!qemu_uuid_is_null(&vdc->instanceid)) {
        vdev->instanceid = vdc->instanceid;
    } else if (qemu_uuid_is_null(&vdev->instanceid)) {
        vmbus_dev_derive_instanceid(vdev, &vdev->instanceid);
    }
    QTAILQ_FOREACH(kid, &BUS(bus)->children, sibling) {
        VMBusDevice *other = VMBUS_DEVICE(kid->child);

        if (other != vdev && DEVICE(other)->realized &&
            qemu_uuid_is_equal(&VMBUS_DEVICE_GET_CLASS(other)->classid,
                               &vdc->classid) &&
            qemu_uuid_is_equal(&other->instanceid, &vdev->instanceid)) {
            g_autofree char *s = qemu_uuid_unparse_strdup(&vdev->instanceid);
            error_setg(errp, "duplicate VMBus device: %s with instance %s "
                       "already exists", object_get_typename(OBJECT(dev)), s);
            return;
        }
        if (vdc->one_per_bus && other != vdev && DEVICE(other)->realized &&
            !other->unplug_requested &&
            qemu_uuid_is_equal(&VMBUS_DEVICE_GET_CLASS(other)->classid,
                               &vdc->classid)) {
            error_setg(errp, "there can be only one %s on the VMBus (%s "
                       "exists): Hyper-V offers this service once, and "
                       "Linux drives one instance of it",
                       object_get_typename(OBJECT(dev)),
                       DEVICE(other)->id ? DEVICE(other)->id
                                         : object_get_typename(OBJECT(other)));
            return;
        }
    }

    vdev->dma_as = &address_space_memory;
    if (vdc->vmdev_realize) {
        vdc->vmdev_realize(vdev, &err);
        if (err) {
            error_propagate(errp, err);
            return;
        }
    }

    vdev->num_channels = vdc->num_channels ? vdc->num_channels(vdev) : 1;
    if (vdev->num_channels < 1 && !vdc->channel_released) {
        error_setg(errp, "%s: no channels", object_get_typename(OBJECT(dev)));
        goto unrealize;
    }
    vdev->channels = g_new0(VMBusChannel, MAX(vdev->num_channels, 1));
    for (uint16_t i = 0; i < vdev->num_channels; i++) {
        vmbus_chan_init(&vdev->channels[i], vdev, i);
    }
    if (!vmbus_dev_offer(vdev, errp)) {
        vmbus_dev_withdraw(vdev);
        vmbus_dev_free_channels(vdev);
        goto unrealize;
    }
    if (!DEVICE_GET_CLASS(dev)->vmsd) {
        error_setg(&vdev->migration_blocker,
                   "%s: this VMBus device does not support migration",
                   object_get_typename(OBJECT(dev)));
        if (migrate_add_blocker(&vdev->migration_blocker, errp) < 0) {
            vmbus_dev_withdraw(vdev);
            vmbus_dev_free_channels(vdev);
            goto unrealize;
        }
    }
    return;

unrealize:
    if (vdc->vmdev_unrealize) {
        vdc->vmdev_unrealize(vdev);
    }
}

static void vmbus_dev_unrealize(DeviceState *dev)
{
    VMBusDevice *vdev = VMBUS_DEVICE(dev);
    VMBusDeviceClass *vdc = VMBUS_DEVICE_GET_CLASS(vdev);

    migrate_del_blocker(&vdev->migration_blocker);
    vmbus_dev_withdraw(vdev);
    vmbus_dev_detach_dynamic(vdev);
    if (vdc->vmdev_unrealize) {
        vdc->vmdev_unrealize(vdev);
    }
    /* Channels the guest still holds stay with the core, ownerless. */
    for (uint16_t i = 0; i < vdev->num_channels; i++) {
        if (vdev->channels[i].core) {
            vmbc_chan_set_opaque(vdev->channels[i].core, NULL);
        }
    }
    vmbus_dev_free_channels(vdev);
}

static void vmbus_dev_reset(DeviceState *dev)
{
    VMBusDevice *vdev = VMBUS_DEVICE(dev);
    VMBusDeviceClass *vdc = VMBUS_DEVICE_GET_CLASS(vdev);

    if (vdc->vmdev_reset) {
        vdc->vmdev_reset(vdev);
    }
}

static int vmbus_dev_post_load(void *opaque, int version_id)
{
    return 0;
}

/* Devices embed this in their own vmsd; the channels' protocol state
 * travels with the bridge (the core's stream). */
const VMStateDescription vmstate_vmbus_dev = {
    .name = "vmbus-host-dev",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = vmbus_dev_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT8_ARRAY(instanceid.data, VMBusDevice, 16),
        VMSTATE_UINT16(num_channels, VMBusDevice),
        VMSTATE_END_OF_LIST()
    },
};

static const Property vmbus_dev_props[] = {
    DEFINE_PROP_UUID_NODEFAULT("instanceid", VMBusDevice, instanceid),
};

static void vmbus_dev_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);

    device_class_set_props(dc, vmbus_dev_props);
    dc->bus_type = TYPE_VMBUS;
    dc->realize = vmbus_dev_realize;
    dc->unrealize = vmbus_dev_unrealize;
    device_class_set_legacy_reset(dc, vmbus_dev_reset);
}

static const TypeInfo vmbus_dev_type_info = {
    .name = TYPE_VMBUS_DEVICE,
    .parent = TYPE_DEVICE,
    .abstract = true,
    .instance_size = sizeof(VMBusDevice),
    .class_size = sizeof(VMBusDeviceClass),
    .class_init = vmbus_dev_class_init,
};

/* ---- the bus ---------------------------------------------------------------- */

static char *vmbus_get_dev_path(DeviceState *dev)
{
    return qemu_uuid_unparse_strdup(&VMBUS_DEVICE(dev)->instanceid);
}

static char *vmbus_get_fw_dev_path(DeviceState *dev)
{
    g_autofree char *uuid =
        qemu_uuid_unparse_strdup(&VMBUS_DEVICE(dev)->instanceid);

    return g_strdup_printf("%s@%s", qdev_fw_name(dev), uuid);
}

static void vmbus_pre_plug(HotplugHandler *hh, DeviceState *dev, Error **errp)
{
    if (dev->hotplugged && object_dynamic_cast(OBJECT(dev), "hv-balloon")) {
        error_setg(errp, "hv-balloon cannot be hot-plugged");
    }
}

static void vmbus_plug(HotplugHandler *hh, DeviceState *dev, Error **errp)
{
    /* realize has offered the channels; a connected guest got them. */
}

static void vmbus_unplug_request(HotplugHandler *hh, DeviceState *dev,
                                 Error **errp)
{
    VMBusDevice *vdev = VMBUS_DEVICE(dev);

    trace_vmbhost_unplug_request(object_get_typename(OBJECT(dev)));
    vdev->unplug_requested = true;      /* finished at RELID_RELEASED */
    vmbus_dev_withdraw(vdev);
    if (vmbus_dev_all_released(vdev)) {
        object_ref(OBJECT(vdev));
        aio_bh_schedule_oneshot(qemu_get_aio_context(),
                                vmbus_dev_finish_unplug, vdev);
    }
}

static void vmbus_unplug(HotplugHandler *hh, DeviceState *dev, Error **errp)
{
    qdev_unrealize(dev);
    object_unparent(OBJECT(dev));
}

static void vmbus_bus_class_init(ObjectClass *klass, void *data)
{
    BusClass *k = BUS_CLASS(klass);
    HotplugHandlerClass *hc = HOTPLUG_HANDLER_CLASS(klass);

    k->get_dev_path = vmbus_get_dev_path;
    k->get_fw_dev_path = vmbus_get_fw_dev_path;
    hc->pre_plug = vmbus_pre_plug;
    hc->plug = vmbus_plug;
    hc->unplug_request = vmbus_unplug_request;
    hc->unplug = vmbus_unplug;
}

static const TypeInfo vmbus_bus_type_info = {
    .name = TYPE_VMBUS,
    .parent = TYPE_BUS,
    .instance_size = sizeof(VMBus),
    .class_init = vmbus_bus_class_init,
    .interfaces = (InterfaceInfo[]) {
        { TYPE_HOTPLUG_HANDLER },
        { }
    },
};

static void vmbus_register_types(void)
{
    type_register_static(&vmbus_dev_type_info);
    type_register_static(&vmbus_bus_type_info);
}

type_init(vmbus_register_types)
