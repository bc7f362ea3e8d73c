/*
 * idle_hold: open N chat connections, let each finish joining, then hold them idle
 * (reading and discarding whatever the server sends, answering IRC PINGs) until the
 * harness closes our stdin. The harness measures the server's RSS while we hold.
 *
 * usage: idle_hold MODE PORT N NSRC GREET
 *   MODE "line" (joined after the first line, or at connect when GREET is 0) or
 *   "irc" (joined = registered: NICK/USER answered with 001; no channel JOIN, so the
 *   figure is the cost of a connected client, not of an O(N^2) member list).
 * Prints "READY <joined> <seconds>", then "DONE" and a RESULT line on exit.
 */
#include "common.h"

typedef struct {
    int fd;
    int id;
    int connected;
    int ready;
    int inlen;
    char in[1024];
} hold_t;

/* Connections still joining at once: below ngircd's listen backlog of 10, so no server
 * sees its accept queue overflow while clients join (that would cost 1-3 s retransmits). */
#define MAX_PENDING 8
#define PACE_NS 1000000ull /* silent servers: 2 connects per ms at most */

static int mode_irc, greet;
static char rbuf[65536 + 1024];

static void on_line(hold_t *c, char *line, size_t len) {
    if (len && line[len - 1] == '\r') len--;
    line[len] = 0;
    if (mode_irc) {
        if (strncmp(line, "PING ", 5) == 0) {
            char pong[600];
            int n = snprintf(pong, sizeof pong, "PONG %s\r\n", line + 5);
            write_all(c->fd, pong, (size_t)n);
            return;
        }
        const char *sp = strchr(line, ' ');
        if (!c->ready && sp && strncmp(sp, " 001 ", 5) == 0) c->ready = 1;
    } else {
        c->ready = 1;
    }
}

/* returns 0 when the server closed the connection */
static int on_readable(hold_t *c) {
    memcpy(rbuf, c->in, (size_t)c->inlen);
    ssize_t n = read(c->fd, rbuf + c->inlen, sizeof rbuf - (size_t)c->inlen - 1);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return 0;
    if (n < 0) return 1;
    size_t total = (size_t)c->inlen + (size_t)n, start = 0;
    for (;;) {
        char *nl = memchr(rbuf + start, '\n', total - start);
        if (!nl) break;
        size_t len = (size_t)(nl - (rbuf + start));
        on_line(c, rbuf + start, len);
        start += len + 1;
    }
    size_t rest = total - start;
    if (rest >= sizeof c->in) rest = 0;
    memcpy(c->in, rbuf + start, rest);
    c->inlen = (int)rest;
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 6) fatal("usage: idle_hold MODE PORT N NSRC GREET");
    mode_irc = strcmp(argv[1], "irc") == 0;
    int port = atoi(argv[2]);
    int N = atoi(argv[3]);
    int nsrc = atoi(argv[4]);
    greet = atoi(argv[5]);
    raise_nofile();
    signal(SIGPIPE, SIG_IGN);
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    hold_t *cl = calloc((size_t)N, sizeof *cl);
    struct epoll_event evs[1024];
    struct epoll_event sev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(epfd, EPOLL_CTL_ADD, 0, &sev);

    uint64_t cpu0 = self_cpu_us();
    uint64_t t0 = now_ns(), deadline = t0 + 120000000000ull;
    int next = 0, ready = 0, lost = 0, stdin_open = 1, announced = 0;
    uint64_t next_at = 0;
    while (stdin_open) {
        int pending = next - ready - lost;
        /* A server that says nothing on connect gives no sign that it accepted us: the
           handshake completes in the kernel first. Pace those connects instead, so the
           accept queue never overflows (each overflow costs a 1 s SYN retransmit). */
        uint64_t now = now_ns();
        if (!greet && !mode_irc) pending = now >= next_at ? MAX_PENDING - 2 : MAX_PENDING;
        while (next < N && pending < MAX_PENDING) {
            next_at = now + PACE_NS;
            hold_t *c = &cl[next];
            c->id = next;
            c->fd = start_connect(port, next, nsrc);
            if (c->fd < 0) fatal("connect %d: %s", next, strerror(errno));
            struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
            epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev);
            next++;
            pending++;
        }
        int n = epoll_wait(epfd, evs, 1024, next < N ? 1 : 20);
        for (int i = 0; i < n; i++) {
            hold_t *c = evs[i].data.ptr;
            if (!c) {
                char b[64];
                if (read(0, b, sizeof b) <= 0) stdin_open = 0;
                continue;
            }
            if (c->fd < 0) continue;
            if (!c->connected && (evs[i].events & EPOLLOUT) && !(evs[i].events & EPOLLERR)) {
                c->connected = 1;
                struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
                epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
                if (mode_irc) {
                    char reg[96];
                    int k = snprintf(reg, sizeof reg, "NICK i%d\r\nUSER i%d 0 * :idle\r\n",
                                     c->id, c->id);
                    write_all(c->fd, reg, (size_t)k);
                } else if (!greet) {
                    c->ready = 1;
                    ready++;
                } else {
                    /* an empty line: a line client (netlab holds room lines until a
                       client says what it is), as a telnet user pressing Enter */
                    write_all(c->fd, "\r\n", 2);
                }
            }
            if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
                int was = c->ready;
                if (!on_readable(c)) {
                    if (c->ready) ready--;
                    close(c->fd);
                    c->fd = -1;
                    c->ready = 0;
                    lost++;
                    continue;
                }
                if (!was && c->ready) ready++;
            }
        }
        if (!announced && (ready + lost == N || now_ns() > deadline)) {
            say("READY %d %.3f %d", ready, (double)(now_ns() - t0) / 1e9, lost);
            announced = 1;
        }
    }
    int alive = 0;
    for (int i = 0; i < next; i++) alive += cl[i].fd >= 0 && cl[i].ready;
    uint64_t cpu1 = self_cpu_us();
    for (int i = 0; i < next; i++)
        if (cl[i].fd >= 0) close(cl[i].fd);
    say("DONE");
    say("RESULT {\"phase\":\"idle\",\"clients\":%d,\"held\":%d,\"lost\":%d,\"gen_cpu_us\":%llu}",
        N, alive, lost, (unsigned long long)(cpu1 - cpu0));
    return 0;
}
