/* Docker in Action's ch6_ipc, written from the book's description: one
 * program, two roles, talking through the POSIX message queue /ch6_ipc.
 *
 *   ch6_ipc -producer: open /ch6_ipc with O_CREAT|O_WRONLY, mode 0644, at
 *     most 10 messages of 1024 bytes; send 500 messages, each a zeroed
 *     1024-byte buffer holding the lowercase hex of a random byte, printing
 *     "Produced: <hex>" for each, then a zeroed 1024-byte buffer holding
 *     "done"; close and unlink the queue.
 *   ch6_ipc -consumer: open /ch6_ipc read-only (failing that, say so and
 *     exit 1), print "Consumed: <text>" for each message up to and
 *     including "done".
 *
 * stdout is made line-buffered only so a test can read it through a pipe. */
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define QUEUE "/ch6_ipc"
#define MSG 1024

static int producer(void)
{
    struct mq_attr attr = { .mq_flags = 0, .mq_maxmsg = 10, .mq_msgsize = MSG, .mq_curmsgs = 0 };
    mqd_t mq = mq_open(QUEUE, O_CREAT | O_WRONLY, 0644, &attr);
    if (mq == (mqd_t)-1) { perror("mq_open"); return 1; }
    char buffer[MSG];
    srand((unsigned)time(NULL));
    for (int i = 0; i < 500; i++) {
        memset(buffer, 0, MSG);
        sprintf(buffer, "%x", (unsigned)(rand() % 256));
        printf("Produced: %s\n", buffer);
        if (mq_send(mq, buffer, MSG, 0) == -1) { perror("mq_send"); return 1; }
    }
    memset(buffer, 0, MSG);
    strcpy(buffer, "done");
    if (mq_send(mq, buffer, MSG, 0) == -1) { perror("mq_send"); return 1; }
    mq_close(mq);
    mq_unlink(QUEUE);
    return 0;
}

static int consumer(void)
{
    mqd_t mq = mq_open(QUEUE, O_RDONLY);
    if (mq == (mqd_t)-1) {
        printf("Either the producer has not been started or maybe I cannot access the same memory...\n");
        return 1;
    }
    char buffer[MSG + 1];
    for (;;) {
        memset(buffer, 0, sizeof buffer);
        ssize_t n = mq_receive(mq, buffer, MSG, NULL);
        if (n == -1) { perror("mq_receive"); return 1; }
        printf("Consumed: %s\n", buffer);
        if (strcmp(buffer, "done") == 0)
            break;
    }
    mq_close(mq);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 1 && strcmp(argv[1], "-producer") == 0)
        return producer();
    if (argc > 1 && strcmp(argv[1], "-consumer") == 0)
        return consumer();
    fprintf(stderr, "usage: %s -producer | -consumer\n", argv[0]);
    return 2;
}
