/*
 * The C side of `ipcbench capi` (shm-common/examples/ipcbench/capi.rs):
 * the ring and the reads through libshmtools, timed as the Rust side is.
 *
 *   shmtools_bench produce KEY_FILE SIZE SECS   write SIZE-byte messages for SECS
 *                                               (a multiple of 256 writes), close;
 *                                               print "bytes writes secs" (first write
 *                                               until the consumer has it all)
 *   shmtools_bench consume KEY_FILE             read 64 KiB at a time until the end;
 *                                               print the bytes
 *   shmtools_bench time-read KEY_FILE N         N reads of the time record; print ns per read
 *   shmtools_bench value-read KEY_FILE N        N reads of the value; print ns per read
 *
 * proj_id is 8. A failure prints shm_last_error() and exits 1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <shmtools.h>

#define PROJ_ID 8

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int failed(const char *call) {
    fprintf(stderr, "shmtools_bench: %s: %s\n", call, shm_last_error());
    return 1;
}

static int produce(const char *key, size_t size, double secs) {
    shm_stream_writer *w = shm_stream_writer_open(key, PROJ_ID, 0);
    if (!w)
        return failed("shm_stream_writer_open");
    char *msg = malloc(size);
    memset(msg, 0x5a, size);
    unsigned long long writes = 0;
    double t0 = now();
    while (writes % 256 != 0 || now() - t0 < secs) {
        if (shm_stream_write(w, msg, size) != (long)size)
            return failed("shm_stream_write");
        writes++;
    }
    if (shm_stream_writer_close(w) != 0)
        return failed("shm_stream_writer_close");
    printf("%llu %llu %.9f\n", writes * size, writes, now() - t0);
    free(msg);
    return 0;
}

static int consume(const char *key) {
    shm_stream_reader *r;
    double since = now();
    while (!(r = shm_stream_reader_open(key, PROJ_ID))) {
        if (errno != ENOENT || now() - since > 20)
            return failed("shm_stream_reader_open");
        nanosleep(&(struct timespec){.tv_nsec = 100000}, NULL);
    }
    static char buf[65536];
    unsigned long long total = 0;
    long n;
    while ((n = shm_stream_read(r, buf, sizeof buf)) > 0)
        total += n;
    if (n < 0)
        return failed("shm_stream_read");
    shm_stream_reader_close(r);
    printf("%llu\n", total);
    return 0;
}

static int time_read(const char *key, long n) {
    shm_time_reader *r = shm_time_reader_open(key, PROJ_ID);
    if (!r)
        return failed("shm_time_reader_open");
    long sum = 0;
    double t0 = now();
    for (long i = 0; i < n; i++) {
        long secs = shm_time_reader_read(r);
        if (secs < 0)
            return failed("shm_time_reader_read");
        sum += secs;
    }
    double ns = (now() - t0) * 1e9 / n;
    shm_time_reader_close(r);
    printf("%.2f %ld\n", ns, sum / n);
    return 0;
}

static int value_read(const char *key, long n) {
    shm_value_reader *r = shm_value_reader_open(key, PROJ_ID);
    if (!r)
        return failed("shm_value_reader_open");
    char buf[4096];
    long bytes = 0;
    double t0 = now();
    for (long i = 0; i < n; i++) {
        long len = shm_value_read(r, buf, sizeof buf);
        if (len < 0)
            return failed("shm_value_read");
        bytes += len;
    }
    double ns = (now() - t0) * 1e9 / n;
    shm_value_reader_close(r);
    printf("%.2f %ld\n", ns, bytes / n);
    return 0;
}

int main(int argc, char **argv) {
    const char *cmd = argc > 2 ? argv[1] : "";
    if (!strcmp(cmd, "produce") && argc == 5)
        return produce(argv[2], strtoul(argv[3], NULL, 10), atof(argv[4]));
    if (!strcmp(cmd, "consume") && argc == 3)
        return consume(argv[2]);
    if (!strcmp(cmd, "time-read") && argc == 4)
        return time_read(argv[2], atol(argv[3]));
    if (!strcmp(cmd, "value-read") && argc == 4)
        return value_read(argv[2], atol(argv[3]));
    fprintf(stderr, "usage: see the comment at the top of shmtools_bench.c\n");
    return 2;
}
