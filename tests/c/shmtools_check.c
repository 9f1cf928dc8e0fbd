/*
 * A C program over libshmtools (shmtools.h) for the interop tests
 * (tests/tests/c_api.rs): each subcommand is one side of a channel, so the
 * tests can set it against shm_write and shm_read.
 *
 *   shmtools_check value-write HEX [LAST] publish the bytes HEX, print "published",
 *                                        keep them until stdin ends, then publish the
 *                                        bytes LAST (when given) and close at once
 *   shmtools_check value-read CAP        print the latest value as hex (buffer of CAP bytes)
 *   shmtools_check value-wait N MS       print N changes as hex, each within MS ms
 *   shmtools_check stream-write SIZE     copy stdin into a stream (ring of SIZE bytes), in
 *                                        writes of SIZE/4 bytes at most, and close it
 *   shmtools_check stream-read           copy a stream to stdout (waiting for its producer)
 *   shmtools_check stream-finish HEX     send the bytes HEX, end the stream and wait 300 ms
 *                                        for a consumer (printing "timed out" when none
 *                                        came), then wait for one without limit, close
 *   shmtools_check time-read             print the time record's seconds
 *
 * The key file is $SHM_KEY_FILE (default /dev/shm/shm_file), proj_id 8. A
 * failure prints "errno=N: <shm_last_error()>" on stderr and exits 3.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <shmtools.h>

#define PROJ_ID 8

static const char *key_file(void) {
    const char *k = getenv("SHM_KEY_FILE");
    return k ? k : "/dev/shm/shm_file";
}

static int failed(const char *call) {
    int e = errno;
    if (e == EMSGSIZE)
        fprintf(stderr, "needed=%zu\n", shm_last_needed());
    fprintf(stderr, "%s: errno=%d: %s\n", call, e, shm_last_error());
    return 3;
}

static void print_hex(const unsigned char *p, long n) {
    for (long i = 0; i < n; i++)
        printf("%02x", p[i]);
    printf("\n");
    fflush(stdout);
}

static size_t unhex(const char *hex, unsigned char *out) {
    size_t n = strlen(hex) / 2;
    for (size_t i = 0; i < n; i++)
        sscanf(hex + 2 * i, "%2hhx", &out[i]);
    return n;
}

static int value_write(const char *hex, const char *last) {
    unsigned char *data = malloc(strlen(hex) / 2 + (last ? strlen(last) / 2 : 0) + 1);
    size_t len = unhex(hex, data);
    shm_value_writer *w = shm_value_writer_open(key_file(), PROJ_ID, 0, 0600);
    if (!w)
        return failed("shm_value_writer_open");
    if (shm_value_publish(w, data, len) != 0)
        return failed("shm_value_publish");
    printf("published\n");
    fflush(stdout);
    char buf[256];
    while (fread(buf, 1, sizeof buf, stdin) > 0) {
    }
    if (last && shm_value_publish(w, data, unhex(last, data)) != 0)
        return failed("shm_value_publish");
    shm_value_writer_close(w);
    free(data);
    return 0;
}

static int value_read(size_t cap) {
    shm_value_reader *r = shm_value_reader_open(key_file(), PROJ_ID);
    if (!r)
        return failed("shm_value_reader_open");
    unsigned char *buf = malloc(cap + 1);
    long n = shm_value_read(r, buf, cap);
    if (n < 0)
        return failed("shm_value_read");
    print_hex(buf, n);
    shm_value_reader_close(r);
    free(buf);
    return 0;
}

static int value_wait(int count, int timeout_ms) {
    shm_value_reader *r = shm_value_reader_open(key_file(), PROJ_ID);
    if (!r)
        return failed("shm_value_reader_open");
    unsigned char buf[4096];
    for (int i = 0; i < count; i++) {
        long n = shm_value_wait_change(r, buf, sizeof buf, timeout_ms);
        if (n < 0)
            return failed("shm_value_wait_change");
        print_hex(buf, n);
    }
    shm_value_reader_close(r);
    return 0;
}

static int stream_write(size_t size) {
    shm_stream_writer *w = shm_stream_writer_open(key_file(), PROJ_ID, size);
    if (!w)
        return failed("shm_stream_writer_open");
    size_t chunk = size / 4;
    unsigned char *buf = malloc(chunk);
    ssize_t n;
    /* read(2), not fread: what arrives goes on at once. */
    while ((n = read(0, buf, chunk)) > 0) {
        if (shm_stream_write(w, buf, (size_t)n) != (long)n) {
            int rc = failed("shm_stream_write");
            shm_stream_writer_close(w); /* removes the segment all the same */
            return rc;
        }
    }
    if (n < 0)
        return failed("read");
    free(buf);
    if (shm_stream_writer_close(w) != 0)
        return failed("shm_stream_writer_close");
    return 0;
}

static int stream_read(void) {
    shm_stream_reader *r;
    /* The producer may not be there yet: look again for up to 20 s. */
    for (int tries = 0; !(r = shm_stream_reader_open(key_file(), PROJ_ID)); tries++) {
        if (errno != ENOENT || tries == 2000)
            return failed("shm_stream_reader_open");
        nanosleep(&(struct timespec){.tv_nsec = 10000000}, NULL);
    }
    unsigned char buf[65536];
    long n;
    while ((n = shm_stream_read(r, buf, sizeof buf)) > 0)
    {
        fwrite(buf, 1, n, stdout);
        fflush(stdout);
    }
    fflush(stdout);
    if (n < 0)
        return failed("shm_stream_read");
    shm_stream_reader_close(r);
    return 0;
}

static int stream_finish(const char *hex) {
    unsigned char *data = malloc(strlen(hex) / 2 + 1);
    size_t len = unhex(hex, data);
    shm_stream_writer *w = shm_stream_writer_open(key_file(), PROJ_ID, 0);
    if (!w)
        return failed("shm_stream_writer_open");
    if (shm_stream_write(w, data, len) != (long)len)
        return failed("shm_stream_write");
    if (shm_stream_writer_finish(w, 300) == 0) {
        fprintf(stderr, "shm_stream_writer_finish: delivered with no consumer\n");
        return 4;
    }
    if (errno != ETIMEDOUT)
        return failed("shm_stream_writer_finish");
    printf("timed out\n");
    fflush(stdout);
    if (shm_stream_write(w, data, len) != -1 || errno != EBADF)
        return failed("shm_stream_write after the end");
    if (shm_stream_writer_finish(w, -1) != 0)
        return failed("shm_stream_writer_finish");
    if (shm_stream_writer_close(w) != 0)
        return failed("shm_stream_writer_close");
    printf("delivered\n");
    free(data);
    return 0;
}

static int time_read(void) {
    long secs = shm_time_read(key_file(), PROJ_ID);
    if (secs < 0)
        return failed("shm_time_read");
    printf("%ld\n", secs);
    return 0;
}

int main(int argc, char **argv) {
    const char *cmd = argc > 1 ? argv[1] : "";
    if (!strcmp(cmd, "value-write") && (argc == 3 || argc == 4))
        return value_write(argv[2], argc == 4 ? argv[3] : NULL);
    if (!strcmp(cmd, "value-read") && argc == 3)
        return value_read(strtoul(argv[2], NULL, 10));
    if (!strcmp(cmd, "value-wait") && argc == 4)
        return value_wait(atoi(argv[2]), atoi(argv[3]));
    if (!strcmp(cmd, "stream-write") && argc == 3)
        return stream_write(strtoul(argv[2], NULL, 10));
    if (!strcmp(cmd, "stream-read") && argc == 2)
        return stream_read();
    if (!strcmp(cmd, "stream-finish") && argc == 3)
        return stream_finish(argv[2]);
    if (!strcmp(cmd, "time-read") && argc == 2)
        return time_read();
    fprintf(stderr, "usage: see the comment at the top of shmtools_check.c\n");
    return 2;
}
