/* The load generator bench/flood.py builds with cc: a flood of short chat clients.
 *
 * flood_client PORT RATE SECONDS HOLD_MS DRAIN_MS
 *
 * Over loopback only (127.0.0.1). A witness connects first and proves it is in the room
 * (a probe line comes back to it); then RATE connections a second are opened for
 * SECONDS, each sends "flood-N\n" once it is connected, reads for HOLD_MS, reads what
 * is left and closes. The witness reads until it has seen every line or DRAIN_MS pass
 * after the last client ends. One epoll loop, non-blocking sockets, no threads: at a
 * thousand connections a second the generator idles most of the time.
 *
 * Prints key=value lines: started, connected, completed (read HOLD_MS without an
 * error), seen (lines the witness saw), served (completed and seen), and the failures
 * by kind.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { CONNECTING, READING, DONE };
enum { OK, REFUSED, CONNECT_TIMEOUT, RESET, EARLY_EOF, SEND_FAILED, OTHER, KINDS };
static const char *kind_names[KINDS] = {"completed", "refused", "connect_timeout", "reset",
                                        "early_eof", "send_failed", "other_error"};

#define CONNECT_TIMEOUT_MS 5000
#define WITNESS_ID -1

struct client {
    int fd, state, outcome;
    double started, deadline;
};

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static struct sockaddr_in target;

static int open_conn(void) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr *)&target, sizeof target) < 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

/* The witness: a blocking-free reader that marks each "flood-N" it sees. */
static unsigned char *seen;
static long total_clients, seen_count;
static char wbuf[1 << 16];
static size_t wlen;
static long witness_bytes;
static int probe_seen;

static void witness_lines(void) {
    char *start = wbuf, *nl;
    while ((nl = memchr(start, '\n', wbuf + wlen - start)) != NULL) {
        *nl = 0;
        char *p = strstr(start, ": flood-");
        if (p != NULL) {
            long n = strtol(p + 8, NULL, 10);
            if (n >= 0 && n < total_clients && !seen[n]) {
                seen[n] = 1;
                seen_count++;
            }
        } else if (strstr(start, ": probe") != NULL) {
            probe_seen = 1;
        }
        start = nl + 1;
    }
    wlen = wbuf + wlen - start;
    memmove(wbuf, start, wlen);
}

static int witness_read(int fd) {
    for (;;) {
        if (wlen == sizeof wbuf) wlen = 0; /* a line longer than 64 KiB: not ours */
        ssize_t n = read(fd, wbuf + wlen, sizeof wbuf - wlen);
        if (n > 0) {
            witness_bytes += n;
            wlen += n;
            witness_lines();
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return 0;
        return -1; /* the server dropped the witness: every later line is unseen */
    }
}

static void drain(int fd, long *bytes) {
    char buf[65536];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) *bytes += n;
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: flood_client PORT RATE SECONDS HOLD_MS DRAIN_MS\n");
        return 2;
    }
    int port = atoi(argv[1]);
    double rate = atof(argv[2]), seconds = atof(argv[3]);
    double hold = atof(argv[4]), drain_ms = atof(argv[5]);
    total_clients = (long)(rate * seconds);
    seen = calloc(total_clients + 1, 1);
    struct client *clients = calloc(total_clients + 1, sizeof *clients);
    memset(&target, 0, sizeof target);
    target.sin_family = AF_INET;
    target.sin_port = htons(port);
    target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev, events[256];

    /* The witness joins, and a probe proves it is in the room before the flood. */
    int witness = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (connect(witness, (struct sockaddr *)&target, sizeof target) < 0) {
        perror("witness connect");
        return 1;
    }
    double probe_deadline = now_ms() + 10000;
    struct timeval tv = {0, 100000};
    setsockopt(witness, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    while (!probe_seen) {
        if (now_ms() > probe_deadline) {
            fprintf(stderr, "the witness never saw the probe: is this a chat server?\n");
            return 1;
        }
        int probe = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (connect(probe, (struct sockaddr *)&target, sizeof target) == 0) {
            if (write(probe, "probe\n", 6) != 6) perror("probe");
            for (int i = 0; i < 5 && !probe_seen; i++) {
                ssize_t n = read(witness, wbuf + wlen, sizeof wbuf - wlen);
                if (n > 0) {
                    wlen += n;
                    witness_lines();
                }
            }
        }
        close(probe);
    }
    fcntl(witness, F_SETFL, fcntl(witness, F_GETFL) | O_NONBLOCK);
    ev.events = EPOLLIN;
    ev.data.u64 = (uint64_t)WITNESS_ID;
    epoll_ctl(ep, EPOLL_CTL_ADD, witness, &ev);
    int witness_open = 1;

    long started = 0, connected = 0, active = 0, outcome[KINDS] = {0};
    long client_bytes = 0, lo = 0; /* clients before lo are all DONE */
    double t0 = now_ms(), last_end = 0;
    for (;;) {
        double t = now_ms();
        /* Open connections to keep up with RATE a second since t0. */
        long due = (long)((t - t0) * rate / 1000.0);
        if (due > total_clients) due = total_clients;
        while (started < due) {
            struct client *c = &clients[started];
            c->fd = open_conn();
            c->started = t;
            if (c->fd < 0) {
                c->state = DONE;
                c->outcome = errno == ECONNREFUSED ? REFUSED : OTHER;
                outcome[c->outcome]++;
            } else {
                c->state = CONNECTING;
                ev.events = EPOLLOUT;
                ev.data.u64 = (uint64_t)started;
                epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
                active++;
            }
            started++;
        }
        if (started == total_clients && active == 0) {
            if (last_end == 0) last_end = t;
            if (!witness_open || seen_count == total_clients || t - last_end > drain_ms) break;
        }
        int n = epoll_wait(ep, events, 256, 1);
        t = now_ms();
        for (int i = 0; i < n; i++) {
            uint64_t id = events[i].data.u64;
            if (id == (uint64_t)WITNESS_ID) {
                if (witness_read(witness) < 0) {
                    epoll_ctl(ep, EPOLL_CTL_DEL, witness, NULL);
                    witness_open = 0;
                }
                continue;
            }
            struct client *c = &clients[id];
            if (c->state == CONNECTING) {
                int err = 0;
                socklen_t len = sizeof err;
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
                if (err != 0) {
                    c->outcome = err == ECONNREFUSED ? REFUSED : OTHER;
                    goto finish;
                }
                connected++;
                char line[64];
                int m = snprintf(line, sizeof line, "flood-%ld\n", (long)id);
                if (write(c->fd, line, m) != m) {
                    c->outcome = SEND_FAILED;
                    goto finish;
                }
                c->state = READING;
                c->deadline = t + hold;
                ev.events = EPOLLIN;
                ev.data.u64 = id;
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                continue;
            }
            if (c->state == READING) {
                char buf[65536];
                ssize_t got = read(c->fd, buf, sizeof buf);
                if (got > 0) {
                    client_bytes += got;
                    continue;
                }
                if (got < 0 && errno == EAGAIN) continue;
                c->outcome = got == 0 ? EARLY_EOF : errno == ECONNRESET ? RESET : OTHER;
                goto finish;
            }
            continue;
        finish:
            outcome[c->outcome]++;
            epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
            close(c->fd);
            c->state = DONE;
            active--;
        }
        /* Deadlines: clients that read for HOLD_MS, and connects that never came. */
        while (lo < started && clients[lo].state == DONE) lo++;
        for (long i = lo; i < started; i++) {
            struct client *c = &clients[i];
            if (c->state == READING && t >= c->deadline) {
                drain(c->fd, &client_bytes); /* unread bytes would make close() a reset */
                c->outcome = OK;
            } else if (c->state == CONNECTING && t - c->started > CONNECT_TIMEOUT_MS) {
                c->outcome = CONNECT_TIMEOUT;
            } else {
                continue;
            }
            outcome[c->outcome]++;
            epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
            close(c->fd);
            c->state = DONE;
            active--;
        }
    }
    long served = 0;
    for (long i = 0; i < total_clients; i++)
        if (clients[i].state == DONE && clients[i].outcome == OK && seen[i]) served++;
    printf("started=%ld\nconnected=%ld\nseen=%ld\nserved=%ld\n", started, connected, seen_count,
           served);
    for (int k = 0; k < KINDS; k++) printf("%s=%ld\n", kind_names[k], outcome[k]);
    printf("client_bytes=%ld\nwitness_bytes=%ld\nwitness_dropped=%d\nseconds=%.3f\n",
           client_bytes, witness_bytes, !witness_open, (now_ms() - t0) / 1000.0);
    close(witness);
    return 0;
}
