/* Test helper: play a hostile or broken program that shares the key.
 *
 *   shm_plant put  KEYFILE SIZE MODE [OFFSET]   create (or reuse) the
 *       segment for ftok(KEYFILE, 8) with shmget(key, SIZE, IPC_CREAT | MODE),
 *       then copy stdin (at most up to its end) to byte OFFSET (default 0);
 *       the pages it does not write stay untouched (not resident). The key
 *       file is created (never followed if a symlink, never truncated) when
 *       missing.
 *   shm_plant dump KEYFILE             write the segment's bytes to stdout.
 *   shm_plant mode KEYFILE MODE        set the segment's permission bits
 *       (IPC_SET, as its owner may; 0 shuts out even the owner).
 *
 * Nothing stays attached: the segment outlives the helper, as a crashed or
 * finished program's would. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

static int usage(void)
{
    fprintf(stderr, "usage: shm_plant put KEYFILE SIZE MODE [OFFSET] < bytes | shm_plant dump KEYFILE | shm_plant mode KEYFILE MODE\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 3) return usage();
    int put = strcmp(argv[1], "put") == 0;
    if (strcmp(argv[1], "mode") == 0) {
        if (argc != 4) return usage();
        key_t key = ftok(argv[2], 8);
        if (key == -1) { perror("ftok"); return 1; }
        int id = shmget(key, 0, 0);
        if (id < 0) { perror("shmget"); return 1; }
        struct shmid_ds ds;
        if (shmctl(id, IPC_STAT, &ds) < 0) { perror("shmctl(IPC_STAT)"); return 1; }
        ds.shm_perm.mode = (unsigned short)strtol(argv[3], NULL, 8);
        if (shmctl(id, IPC_SET, &ds) < 0) { perror("shmctl(IPC_SET)"); return 1; }
        return 0;
    }
    if (!put && strcmp(argv[1], "dump") != 0) return usage();
    if (put && argc != 5 && argc != 6) return usage();
    if (put) {
        int fd = open(argv[2], O_CREAT | O_RDONLY | O_NOFOLLOW, 0644);
        if (fd < 0) { perror("open key file"); return 1; }
        close(fd);
    }
    key_t key = ftok(argv[2], 8);
    if (key == -1) { perror("ftok"); return 1; }
    size_t size = put ? strtoul(argv[3], NULL, 0) : 0;
    int mode = put ? (int)strtol(argv[4], NULL, 8) : 0;
    int id = shmget(key, size, put ? IPC_CREAT | mode : 0);
    if (id < 0) { perror("shmget"); return 1; }
    struct shmid_ds ds;
    if (shmctl(id, IPC_STAT, &ds) < 0) { perror("shmctl"); return 1; }
    unsigned char *addr = shmat(id, NULL, put ? 0 : SHM_RDONLY);
    if (addr == (void *)-1) { perror("shmat"); return 1; }
    size_t len = ds.shm_segsz;
    if (put) {
        size_t got = argc == 6 ? strtoul(argv[5], NULL, 0) : 0;
        if (got > len) { fprintf(stderr, "offset beyond the segment\n"); return 1; }
        while (got < len) {
            ssize_t n = read(0, addr + got, len - got);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) { perror("read stdin"); return 1; }
            if (n == 0) break;
            got += (size_t)n;
        }
        printf("%d\n", id);
    } else if (fwrite(addr, 1, len, stdout) != len) {
        perror("write stdout");
        return 1;
    }
    shmdt(addr);
    return 0;
}
