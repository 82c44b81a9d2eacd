/* Fault injection for trainer/tests/storage_faults.rs, loaded with LD_PRELOAD into the edgevae
 * binary: fsync() of a directory fails with EIO (a disk that drops the directory update after a
 * rename), every other fsync is the real one. The directory named by EDGEVAE_FAIL_FSYNC_AFTER
 * (a count) fails only after that many directory syncs succeeded, so a run can commit first. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>

int fsync(int fd) {
    static int (*real)(int);
    static long passed;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        const char *after = getenv("EDGEVAE_FAIL_FSYNC_AFTER");
        long allowed = after ? strtol(after, NULL, 10) : 0;
        if (passed >= allowed) {
            errno = EIO;
            return -1;
        }
        passed++;
    }
    if (!real) {
        real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    }
    return real(fd);
}
