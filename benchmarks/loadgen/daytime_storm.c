/*
 * daytime_storm: keep C short-lived connections in flight against a Day/Time server
 * for D seconds. Each connection connects, reads until EOF, checks the reply holds
 * "Have a nice day!" and closes; a new one starts at once. Latency is connect() to EOF.
 *
 * usage: daytime_storm PORT CONCURRENCY DURATION_S TIMEOUT_MS NSRC
 * Errors are split into refused, reset, timeout (no EOF within TIMEOUT_MS) and bad
 * (EOF without the expected text). Connections still open at the deadline may finish
 * (bounded by TIMEOUT_MS) and count. A timed-out connection also enters the latency
 * histogram at the time it was abandoned, so a server that makes clients wait past the
 * time-out cannot look fast by leaving its slowest clients out of the percentiles.
 */
#include "common.h"

typedef struct {
    int fd;
    uint64_t t0;
    int len;
    char buf[160];
} conn_t;

static int port, conc, nsrc, timeout_ms;
static int epfd;
static uint64_t started, ok, refused, reset, timedout, bad, other;
static hist_t hist;

static void open_one(conn_t *c, int k) {
    for (;;) {
        c->t0 = now_ns();
        c->len = 0;
        c->fd = start_connect(port, k, nsrc);
        if (c->fd >= 0) break;
        if (errno == ECONNREFUSED) refused++; else other++;
        if (refused + other > 100000) fatal("cannot connect: %s", strerror(errno));
        usleep(1000);
    }
    started++;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
    epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev);
}

static void close_one(conn_t *c) {
    close(c->fd); /* also removes it from the epoll set */
    c->fd = -1;
}

int main(int argc, char **argv) {
    if (argc != 6) fatal("usage: daytime_storm PORT CONCURRENCY DURATION_S TIMEOUT_MS NSRC");
    port = atoi(argv[1]);
    conc = atoi(argv[2]);
    double duration = atof(argv[3]);
    timeout_ms = atoi(argv[4]);
    nsrc = atoi(argv[5]);
    raise_nofile();
    signal(SIGPIPE, SIG_IGN);
    connect_nodelay = 0;
    epfd = epoll_create1(EPOLL_CLOEXEC);
    conn_t *conns = calloc((size_t)conc, sizeof *conns);
    struct epoll_event *evs = calloc((size_t)conc, sizeof *evs);

    say("START storm");
    uint64_t cpu0 = self_cpu_us();
    uint64_t t_start = now_ns();
    uint64_t deadline = t_start + (uint64_t)(duration * 1e9);
    uint64_t tmo = (uint64_t)timeout_ms * 1000000ull;
    uint64_t t_last_done = t_start;
    int inflight = 0, k = 0;
    for (int i = 0; i < conc; i++, inflight++) open_one(&conns[i], k++);
    uint64_t last_scan = t_start;

    while (inflight > 0) {
        int n = epoll_wait(epfd, evs, conc, 5);
        uint64_t now = now_ns();
        int more = now < deadline;
        for (int i = 0; i < n; i++) {
            conn_t *c = evs[i].data.ptr;
            if (c->fd < 0) continue;
            int done = 0;
            if (evs[i].events & EPOLLIN) {
                for (;;) {
                    ssize_t r = read(c->fd, c->buf + c->len, sizeof c->buf - 1 - (size_t)c->len);
                    if (r > 0) {
                        c->len += (int)r;
                        if (c->len >= (int)sizeof c->buf - 1) c->len = 0; /* overlong: keep tail */
                        if (!(evs[i].events & EPOLLRDHUP)) continue;
                        r = 0; /* the FIN came with the data: no need for a read() to see EOF */
                    }
                    if (r == 0) {
                        c->buf[c->len] = 0;
                        if (strstr(c->buf, "Have a nice day!")) {
                            ok++;
                            hist_add(&hist, now - c->t0);
                            t_last_done = now;
                        } else {
                            bad++;
                        }
                        done = 1;
                    } else if (errno != EAGAIN) {
                        if (errno == ECONNRESET) reset++;
                        else if (errno == ECONNREFUSED) refused++;
                        else other++;
                        done = 1;
                    }
                    break;
                }
            } else if (evs[i].events & (EPOLLERR | EPOLLHUP)) {
                int err = 0;
                socklen_t el = sizeof err;
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
                if (err == ECONNREFUSED) refused++;
                else if (err == ECONNRESET) reset++;
                else other++;
                done = 1;
            }
            if (done) {
                close_one(c);
                if (more) open_one(c, k++); else inflight--;
            }
        }
        if (now - last_scan > 2000000ull) { /* timeouts, every 2 ms */
            last_scan = now;
            for (int i = 0; i < conc; i++) {
                conn_t *c = &conns[i];
                if (c->fd >= 0 && now > c->t0 && now - c->t0 > tmo) {
                    timedout++;
                    hist_add(&hist, now - c->t0);
                    close_one(c);
                    if (more) open_one(c, k++); else inflight--;
                }
            }
        }
    }
    uint64_t cpu1 = self_cpu_us();
    say("END storm");
    double secs = (double)((t_last_done > deadline ? t_last_done : deadline) - t_start) / 1e9;
    uint64_t errors = refused + reset + timedout + bad + other;
    printf("RESULT {\"phase\":\"storm\",\"concurrency\":%d,\"seconds\":%.4f,\"started\":%llu,"
           "\"ok\":%llu,\"ops\":%llu,\"errors\":%llu,\"refused\":%llu,\"reset\":%llu,"
           "\"timeout\":%llu,\"bad\":%llu,\"other\":%llu,\"rate\":%.1f,\"gen_cpu_us\":%llu,",
           conc, secs, (unsigned long long)started, (unsigned long long)ok,
           (unsigned long long)ok, (unsigned long long)errors, (unsigned long long)refused,
           (unsigned long long)reset, (unsigned long long)timedout, (unsigned long long)bad,
           (unsigned long long)other, (double)ok / secs, (unsigned long long)(cpu1 - cpu0));
    hist_json(stdout, &hist);
    printf("}\n");
    fflush(stdout);
    return 0;
}
