/*
 * Shared helpers for netlab's C load generators.
 *
 * Every generator speaks to the harness over stdout with a tiny line protocol:
 *   READY ...          (optional) setup finished
 *   START <phase>      the measured window begins (harness samples server CPU)
 *   END <phase>        the measured window ends   (harness samples server CPU)
 *   RESULT {json}      the figures for that phase, including the generator's own CPU
 *   FATAL <message>    setup failed; the harness reports it and moves on
 * Latencies go into a log-linear histogram (64 sub-buckets per power of two, ~1.5%
 * precision), so memory stays constant however many samples arrive.
 */
#ifndef NETLAB_LOADGEN_COMMON_H
#define NETLAB_LOADGEN_COMMON_H

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define HIST_BUCKETS (58 * 64 + 128)

typedef struct {
    uint64_t counts[HIST_BUCKETS];
    uint64_t n;
    uint64_t max;
} hist_t;

static inline uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline int hist_index(uint64_t v) {
    if (v < 128) return (int)v;
    int e = 63 - __builtin_clzll(v);
    int shift = e - 6;
    return shift * 64 + (int)(v >> shift);
}

static inline uint64_t hist_value(int idx) {
    if (idx < 128) return (uint64_t)idx;
    int shift = idx / 64 - 1;
    uint64_t m = (uint64_t)(idx % 64 + 64);
    return (m << shift) + ((1ull << shift) >> 1);
}

static inline void hist_add(hist_t *h, uint64_t v) {
    h->counts[hist_index(v)]++;
    h->n++;
    if (v > h->max) h->max = v;
}

static inline uint64_t hist_pct(const hist_t *h, double p) {
    if (h->n == 0) return 0;
    uint64_t want = (uint64_t)(p / 100.0 * (double)h->n);
    if (want >= h->n) want = h->n - 1;
    uint64_t seen = 0;
    for (int i = 0; i < HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen > want) {
            uint64_t v = hist_value(i);
            return v > h->max ? h->max : v;
        }
    }
    return h->max;
}

/* Latency fields in microseconds: "lat_n":..,"p50_us":..,"p99_us":..,"p999_us":..,"max_us":.. */
static inline void hist_json(FILE *f, const hist_t *h) {
    fprintf(f, "\"lat_n\":%llu,\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,"
               "\"p999_us\":%.1f,\"max_us\":%.1f",
            (unsigned long long)h->n, hist_pct(h, 50) / 1e3, hist_pct(h, 90) / 1e3,
            hist_pct(h, 99) / 1e3, hist_pct(h, 99.9) / 1e3, h->max / 1e3);
}

/* This process's user+system CPU time in microseconds. */
static inline uint64_t self_cpu_us(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (uint64_t)ru.ru_utime.tv_sec * 1000000ull + (uint64_t)ru.ru_utime.tv_usec +
           (uint64_t)ru.ru_stime.tv_sec * 1000000ull + (uint64_t)ru.ru_stime.tv_usec;
}

static inline void raise_nofile(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static void say(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
}

static void fatal(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("FATAL ", stdout);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
    exit(2);
}

/*
 * Start a non-blocking connect to 127.0.0.1:port from 127.0.0.(2 + k % nsrc) when
 * nsrc > 0, so that many thousands of connections never exhaust one source address's
 * ephemeral ports. Returns the fd (connect in progress) or -1 with errno set.
 */
static int connect_nodelay = 1; /* generators that never write clear this */

static inline int start_connect(int port, int k, int nsrc) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1;
    if (connect_nodelay) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (nsrc > 0) {
        struct sockaddr_in src = {0};
        src.sin_family = AF_INET;
        src.sin_addr.s_addr = htonl(0x7f000002u + (uint32_t)(k % nsrc));
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0) {
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
    }
    struct sockaddr_in dst = {0};
    dst.sin_family = AF_INET;
    dst.sin_port = htons((uint16_t)port);
    dst.sin_addr.s_addr = htonl(0x7f000001u);
    if (connect(fd, (struct sockaddr *)&dst, sizeof dst) < 0 && errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* Write all of buf or fail (used only for small control writes during setup). */
static inline int write_all(int fd, const char *buf, size_t len) {
    size_t off = 0;
    uint64_t deadline = now_ns() + 2000000000ull;
    while (off < len) {
        ssize_t n = write(fd, buf + off, len - off);
        if (n > 0) {
            off += (size_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (now_ns() > deadline) return -1;
            usleep(100);
        } else {
            return -1;
        }
    }
    return 0;
}

#endif
