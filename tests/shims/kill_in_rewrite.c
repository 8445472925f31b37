/* A test shim, preloaded (LD_PRELOAD) into accsim to kill it inside a journal rewrite, at a
 * chosen step, the way a power cut or `kill -9` would:
 *
 *   ACCSIM_KILL_IN_REWRITE=write   SIGKILL after writing half of the first block of "*.new"
 *   ACCSIM_KILL_IN_REWRITE=fsync   SIGKILL when "*.new" is flushed (written, not yet renamed)
 *   ACCSIM_KILL_IN_REWRITE=rename  SIGKILL just before "*.new" is renamed over the journal
 *
 * Other calls pass through untouched. tests/python/test_hardening.py uses it to check that a
 * sweep killed at any of these steps keeps every journalled point. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int at(const char* step) {
    const char* want = getenv("ACCSIM_KILL_IN_REWRITE");
    return want && strcmp(want, step) == 0;
}

static int ends_with_new(const char* path) {
    const size_t n = strlen(path);
    return n >= 4 && strcmp(path + n - 4, ".new") == 0;
}

static int fd_is_new_file(int fd) {
    char link[64], path[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    const ssize_t n = readlink(link, path, sizeof path - 1);
    if (n <= 0) return 0;
    path[n] = '\0';
    return ends_with_new(path);
}

static void die(void) {
    raise(SIGKILL);
    _exit(137); /* not reached */
}

ssize_t write(int fd, const void* buf, size_t count) {
    static ssize_t (*real)(int, const void*, size_t);
    if (!real) real = (ssize_t(*)(int, const void*, size_t))dlsym(RTLD_NEXT, "write");
    if (count > 1 && at("write") && fd_is_new_file(fd)) {
        real(fd, buf, count / 2);
        die();
    }
    return real(fd, buf, count);
}

int fsync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    if (at("fsync") && fd_is_new_file(fd)) die();
    return real(fd);
}

int rename(const char* from, const char* to) {
    static int (*real)(const char*, const char*);
    if (!real) real = (int (*)(const char*, const char*))dlsym(RTLD_NEXT, "rename");
    if (at("rename") && ends_with_new(from)) die();
    return real(from, to);
}
