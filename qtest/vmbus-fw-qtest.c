/*
 * qtest: our QEMU finds its firmware without -L (foundation contract).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "qemu/osdep.h"
#include "libqtest.h"
#include "libqos/fw_cfg.h"

/* SeaBIOS is mapped at the top of 4 GiB and starts with a far jump. */
static void test_bios_found(void)
{
    QTestState *qts = qtest_init("-M q35 -nodefaults");
    uint8_t reset_vector = qtest_readb(qts, 0xfffffff0);

    g_assert_cmphex(reset_vector, ==, 0xea);
    qtest_quit(qts);
}

/*
 * With -kernel, the PC machine loads linuxboot_dma.bin from the
 * firmware path and hands it to SeaBIOS through fw_cfg.
 */
static void test_linuxboot_rom_found(void)
{
    g_autofree char *kernel = NULL;
    int fd = g_file_open_tmp("vmbus-fw-XXXXXX", &kernel, NULL);
    /* A minimal "bzImage": zeros with the HdrS magic at 0x202. */
    uint8_t img[8192] = { 0 };
    uint8_t rom[512];
    QTestState *qts;
    QFWCFG *fw_cfg;
    size_t size;

    g_assert_cmpint(fd, >=, 0);
    memcpy(img + 0x202, "HdrS", 4);
    img[0x206] = 0x0c; img[0x207] = 0x02;     /* boot protocol 2.12 */
    img[0x1f1] = 4;                           /* setup_sects */
    g_assert_cmpint(write(fd, img, sizeof(img)), ==, sizeof(img));
    close(fd);

    qts = qtest_initf("-M q35 -nodefaults -kernel %s", kernel);
    fw_cfg = pc_fw_cfg_init(qts);
    size = qfw_cfg_get_file(fw_cfg, "genroms/linuxboot_dma.bin", rom, sizeof(rom));
    g_assert_cmpuint(size, >, 0);
    g_assert_cmphex(rom[0], ==, 0x55);        /* option ROM signature */
    g_assert_cmphex(rom[1], ==, 0xaa);
    pc_fw_cfg_uninit(fw_cfg);
    qtest_quit(qts);
    unlink(kernel);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qtest_add_func("/vmbus/firmware/bios", test_bios_found);
    qtest_add_func("/vmbus/firmware/linuxboot-rom", test_linuxboot_rom_found);
    return g_test_run();
}
