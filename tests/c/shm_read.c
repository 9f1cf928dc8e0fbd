/* The classic C reader: ftok(path, 8) (a missing key file ends it with
 * exit status 255), shmget with IPC_CREAT (so, where the key file exists but
 * no segment does, it silently creates an empty one), and "now time: <text>"
 * once a second. stdout is made line-buffered here only so the test can read
 * it through a pipe; the original is block-buffered. argv[1] overrides the
 * key file path. */
#include <stdio.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "/dev/shm/shm_file";
    setvbuf(stdout, NULL, _IOLBF, 0);
    key_t key = ftok(path, 8);
    if (key == -1) { perror("create share file key id error"); return -1; }
    int id = shmget(key, 4096, IPC_CREAT | 0600);
    if (id < 0) { perror("shmget"); return 1; }
    char *addr = shmat(id, NULL, 0);
    if (addr == (void *)-1) { perror("shmat"); return 1; }
    for (;;) {
        printf("now time: %s\n", addr);
        sleep(1);
    }
}
