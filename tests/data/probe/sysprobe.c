/* sysprobe: make one raw system call and report the result, for enforcement tests.
 *
 *   sysprobe NR [ARG0 ...]      raw syscall(NR, args...)
 *   sysprobe socket FAMILY TYPE socket(2)
 *   sysprobe chown PATH UID GID chown(2)
 *   sysprobe caps               print CapEff from /proc/self/status
 *   sysprobe tiocsti FD [HIGH]  ioctl(FD, TIOCSTI, "x"), HIGH set in the request's upper
 *                               32 bits (the kernel reads 32; a filter must too)
 *
 * Prints "ok <ret>" or "errno <n>"; exits 0 either way, 2 on bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static int report(long ret) {
    if (ret < 0) printf("errno %d\n", errno);
    else printf("ok %ld\n", ret);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: sysprobe NR [ARGS]\n"); return 2; }
    if (strcmp(argv[1], "socket") == 0 && argc == 4)
        return report(socket(atoi(argv[2]), atoi(argv[3]), 0));
    if (strcmp(argv[1], "chown") == 0 && argc == 5)
        return report(chown(argv[2], atoi(argv[3]), atoi(argv[4])));
    if (strcmp(argv[1], "tiocsti") == 0 && argc >= 3) {
        char c = 'x';
        unsigned long long high = argc > 3 ? strtoull(argv[3], NULL, 0) : 0;
        unsigned long request = (unsigned long)((high << 32) | TIOCSTI); /* 32-bit: no high */
        return report(syscall(SYS_ioctl, atoi(argv[2]), request, &c));
    }
    long nr = strtol(argv[1], NULL, 0);
    long a[6] = {0};
    for (int i = 2; i < argc && i < 8; i++) a[i - 2] = strtol(argv[i], NULL, 0);
    return report(syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]));
}
