/* The classic C writer, as the walkthrough has it: remove and re-create the
 * key file, ftok(path, 8), a 4096-byte segment, and the Unix time as decimal
 * text once a second. Kept byte-for-byte in behaviour for interop tests;
 * argv[1] overrides the key file path. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "/dev/shm/shm_file";
    unlink(path);
    int fd = open(path, O_CREAT | O_RDWR, 0644);
    if (fd < 0) { perror("open"); return 1; }
    close(fd);
    key_t key = ftok(path, 8);
    int id = shmget(key, 4096, IPC_CREAT | 0600);
    if (id < 0) { perror("shmget"); return 1; }
    char *addr = shmat(id, NULL, 0);
    if (addr == (void *)-1) { perror("shmat"); return 1; }
    for (;;) {
        snprintf(addr, 128, "%ld", (long)time(0));
        sleep(1);
    }
}
