/* The load client bench/echo.py builds with cc: lock-step echo round trips.
 *
 * echo_client PORT CONNS TRIPS SIZE
 *
 * Over loopback only (127.0.0.1). CONNS connections each send SIZE bytes, read the same
 * SIZE bytes back (checked), and send again, TRIPS times. One epoll loop, non-blocking
 * sockets, no threads: it stays far from a CPU's worth of work while Python servers
 * answer, so the server sets the pace. The clock starts once every connection is up.
 *
 * Prints key=value lines: trips (answered and checked), wrong (answers that differed),
 * failed (connections that ended early), seconds, cpu (this client's user+system s).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct conn {
    int fd, left, got, sent;
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: echo_client PORT CONNS TRIPS SIZE\n");
        return 2;
    }
    int port = atoi(argv[1]), nconn = atoi(argv[2]), trips = atoi(argv[3]);
    int size = atoi(argv[4]);
    if (port <= 0 || nconn <= 0 || trips <= 0 || size <= 0 || size > (1 << 20)) return 2;
    unsigned char *msg = malloc(size), *buf = malloc(size);
    /* i * 7 mod 256: every byte value once SIZE >= 256 (NUL at 0, LF at 38, CR at 75), so
       the default 64 bytes carry NUL and LF but not CR. */
    for (int i = 0; i < size; i++) msg[i] = (unsigned char)(i * 7);
    struct sockaddr_in target = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &target.sin_addr);
    struct conn *conns = calloc(nconn, sizeof *conns);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    for (int i = 0; i < nconn; i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&target, sizeof target) < 0) {
            perror("connect");
            return 1;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        conns[i] = (struct conn){.fd = fd, .left = trips};
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    }
    long done = 0, wrong = 0, failed = 0;
    int open_conns = nconn;
    double start = now_s(), cpu_start = cpu_s(); /* the run's own, not the connects' */
    for (int i = 0; i < nconn; i++) /* blocking sends of one small message */
        if (send(conns[i].fd, msg, size, MSG_NOSIGNAL) != size) return 1;
    struct epoll_event events[256];
    while (open_conns > 0) {
        int n = epoll_wait(ep, events, 256, 30000);
        if (n <= 0) {
            fprintf(stderr, "no answer for 30 s\n");
            break;
        }
        for (int k = 0; k < n; k++) {
            struct conn *c = &conns[events[k].data.u32];
            ssize_t r = recv(c->fd, buf + c->got, size - c->got, MSG_DONTWAIT);
            if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
            if (r <= 0) {
                failed++;
                close(c->fd);
                open_conns--;
                continue;
            }
            c->got += r;
            if (c->got < size) continue;
            c->got = 0;
            if (memcmp(buf, msg, size) != 0) wrong++;
            else done++;
            if (--c->left == 0) {
                close(c->fd);
                open_conns--;
            } else if (send(c->fd, msg, size, MSG_NOSIGNAL) != size) {
                failed++;
                close(c->fd);
                open_conns--;
            }
        }
    }
    double took = now_s() - start;
    double cpu = cpu_s() - cpu_start;
    printf("trips=%ld\nwrong=%ld\nfailed=%ld\nseconds=%.6f\ncpu=%.6f\n", done, wrong, failed,
           took, cpu);
    return wrong || failed ? 1 : 0;
}
