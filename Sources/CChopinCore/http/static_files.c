/* static_files.c - what serving files out of a directory needs from C:
 * opening a path that can never leave the directory, and HTTP dates
 * (Last-Modified out, If-Modified-Since in).
 *
 * The final open never blocks and never takes a terminal: O_NONBLOCK makes
 * opening a FIFO with no writer return at once (it would wait for one
 * forever, on the worker thread), O_NOCTTY keeps a tty from becoming the
 * process's. The caller's fstat then refuses anything but a regular file. */
#include "text.h"

#include "chopin/response.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define FINAL_OPEN_FLAGS (O_RDONLY | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW | O_CLOEXEC)

/* The fallback for kernels without openat2 (before 5.6) or where seccomp
 * refuses it: one component at a time, never following a symlink. */
static int open_walking(int dirfd, const char *path) {
    char part[256];
    int at = dirfd;
    const char *p = path;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 0 || n >= sizeof part || (n == 2 && p[0] == '.' && p[1] == '.')) {
            if (at != dirfd) close(at);
            return n >= sizeof part ? -ENAMETOOLONG : -ENOENT;
        }
        memcpy(part, p, n);
        part[n] = 0;
        int flags = slash ? O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC : FINAL_OPEN_FLAGS;
        int fd = openat(at, part, flags);
        int err = errno;
        if (at != dirfd) close(at);
        if (fd < 0) return -err;
        if (!slash) return fd;
        at = fd;
        p = slash + 1;
    }
}

int chopin_open_beneath(int dirfd, const char *path) {
    struct open_how how = {
        .flags = FINAL_OPEN_FLAGS,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
    };
    long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    if (fd >= 0) return (int)fd;
    if (errno != ENOSYS && errno != EPERM) return -errno;
    return open_walking(dirfd, path);
}

void chopin_format_http_date(char out[29], int64_t unix_seconds) { chopin__format_date(out, (time_t)unix_seconds); }

int64_t chopin_parse_http_date(const char *text, size_t len) {
    char buf[64];
    if (len == 0 || len >= sizeof buf) return -1;
    memcpy(buf, text, len);
    buf[len] = 0;
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    /* IMF-fixdate only: the obsolete forms are rare and a miss costs a full response. */
    const char *end = strptime(buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!end || *end) return -1;
    return (int64_t)timegm(&tm);
}
