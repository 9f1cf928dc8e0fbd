/* Test helper: shift the timestamps in a live segment, as a clock stepped
 * between two processes would make them look, while their writers go on.
 *
 *   shm_forge KEYFILE UNIT WORD:SHIFT [WORD:SHIFT ...]
 *
 * attaches the segment for ftok(KEYFILE, 8) and, every 100 microseconds
 * until killed, looks at each 64-bit word WORD (index, byte offset / 8):
 * when it holds a time within 10 minutes of now (UNIT `s`: Unix seconds,
 * `ns`: Unix nanoseconds) other than the one this helper last stored
 * there, it adds SHIFT (signed, in UNIT) to it. A word
 * a writer rewrites every beat thus keeps changing, but always lies SHIFT
 * away from this machine's clock. Prints "forging" once attached. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 4 || (strcmp(argv[2], "s") && strcmp(argv[2], "ns"))) {
        fprintf(stderr, "usage: shm_forge KEYFILE s|ns WORD:SHIFT...\n");
        return 2;
    }
    int64_t unit = strcmp(argv[2], "s") ? 1000000000 : 1;
    int n = argc - 3;
    long words[16];
    int64_t shifts[16], forged[16] = {0};
    if (n > 16) return 2;
    for (int i = 0; i < n; i++) {
        char *colon = strchr(argv[3 + i], ':');
        if (!colon) return 2;
        words[i] = strtol(argv[3 + i], NULL, 10);
        shifts[i] = strtoll(colon + 1, NULL, 10);
    }
    key_t key = ftok(argv[1], 8);
    if (key == -1) { perror("ftok"); return 1; }
    int id = shmget(key, 0, 0);
    if (id < 0) { perror("shmget"); return 1; }
    struct shmid_ds ds;
    if (shmctl(id, IPC_STAT, &ds) < 0) { perror("shmctl"); return 1; }
    uint64_t *addr = shmat(id, NULL, 0);
    if (addr == (void *)-1) { perror("shmat"); return 1; }
    for (int i = 0; i < n; i++)
        if ((size_t)(words[i] + 1) * 8 > ds.shm_segsz) return 2;
    printf("forging\n");
    fflush(stdout);
    int64_t window = 600 * (unit == 1 ? 1 : unit);
    for (;;) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t now = unit == 1 ? ts.tv_sec : ts.tv_sec * unit + ts.tv_nsec;
        for (int i = 0; i < n; i++) {
            int64_t v = (int64_t)__atomic_load_n(&addr[words[i]], __ATOMIC_RELAXED);
            if (v != forged[i] && v > now - window && v < now + window) {
                forged[i] = v + shifts[i];
                __atomic_store_n(&addr[words[i]], (uint64_t)forged[i], __ATOMIC_RELAXED);
            }
        }
        usleep(100);
    }
}
