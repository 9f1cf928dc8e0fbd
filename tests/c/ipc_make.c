/* ipc_make: make one IPC object the way any program does, for the listing
 * tests, print its id (or "ready") and either exit, leaving it behind as a
 * crashed program would, or hold on until killed.
 *
 *   ipc_make shm BYTES [hold]      System V segment (IPC_PRIVATE), never attached
 *   ipc_make msg [hold]            message queue, never used
 *   ipc_make msg-sent [hold]       message queue with one message sent
 *   ipc_make sem NSEMS [hold]      semaphore set, never operated on
 *   ipc_make map /NAME BYTES       POSIX shared memory object, mapped, held
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

static int usage(void) {
    fprintf(stderr, "usage: ipc_make shm BYTES | msg | msg-sent | sem NSEMS | map /NAME BYTES [hold]\n");
    return 2;
}

int main(int argc, char **argv) {
    if (argc < 2)
        return usage();
    const char *kind = argv[1];
    int id, hold = strcmp(argv[argc - 1], "hold") == 0;
    if (strcmp(kind, "shm") == 0 && argc >= 3) {
        id = shmget(IPC_PRIVATE, strtoul(argv[2], NULL, 10), IPC_CREAT | 0600);
    } else if (strcmp(kind, "msg") == 0 || strcmp(kind, "msg-sent") == 0) {
        id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
        struct { long type; char text[3]; } m = {1, "hi"};
        if (id >= 0 && kind[3] == '-' && msgsnd(id, &m, sizeof m.text, 0) != 0) {
            perror("msgsnd");
            return 1;
        }
    } else if (strcmp(kind, "sem") == 0 && argc >= 3) {
        id = semget(IPC_PRIVATE, atoi(argv[2]), IPC_CREAT | 0600);
    } else if (strcmp(kind, "map") == 0 && argc >= 4) {
        size_t bytes = strtoul(argv[3], NULL, 10);
        int fd = shm_open(argv[2], O_RDWR | O_CREAT, 0600);
        if (fd < 0 || ftruncate(fd, bytes) != 0 ||
            mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED) {
            perror(argv[2]);
            return 1;
        }
        id = 0;
        hold = 1;
    } else {
        return usage();
    }
    if (id < 0) {
        perror(kind);
        return 1;
    }
    printf("%d\n", id);
    fflush(stdout);
    while (hold)
        pause();
    return 0;
}
