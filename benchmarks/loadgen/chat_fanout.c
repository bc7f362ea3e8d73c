/*
 * chat_fanout: R readers and S senders in one chat room; measures end-to-end delivery.
 *
 * usage: chat_fanout MODE PORT R S NSRC GREET WINDOW PHASES
 *   MODE    "line" (netlab / a line-based room: each line relayed as "<name> text")
 *           or "irc" (NICK/USER/JOIN #bench, PRIVMSG #bench :text)
 *   PORT    one port, or a comma list of the ports of several servers sharing one room
 *           (netlab daemons on one Redis): reader r connects to port r % N and sender s
 *           to port s % N, so both spread evenly; figures are also given per port
 *   GREET   1 if the server greets on connect (a client counts as joined after its
 *           first line, and starts with an empty line, which netlab needs to know it
 *           for a line client), 0 if it says nothing (joined once connected)
 *   WINDOW  max-rate mode: messages per sender not yet delivered to every reader
 *   PHASES  comma list of NAME:RATE:SECONDS; RATE = aggregate messages/s over all
 *           senders (paced, open loop), 0 = as fast as the window allows (closed
 *           loop), -N = every sender writes N messages at once, as fast as TCP
 *           takes them, and the phase lasts until all are delivered or SECONDS
 *           pass (open loop, a flood); its rate is deliveries over the time from
 *           the first write to the last delivery
 *
 * Each message is "~Q RUNID SENDER SEQ T_NS": readers take latency as now - T_NS
 * (CLOCK_MONOTONIC, same process) and check per-sender sequence numbers: a number
 * lower than expected is out of order (or duplicated); deliveries missing after a
 * drain of up to 3 s are lost. RUNID filters out history replayed from earlier runs.
 */
#include "common.h"

#define INBUF 2048
#define OUTBUF 65536
#define MAXPHASES 8
#define MAXPORTS 16

typedef struct {
    int fd;
    int id;          /* 0..R-1 readers, R..R+S-1 senders */
    int slot;        /* index of its server in ports[] */
    int connected;
    int ready;
    int synced;
    int inlen;
    int outlen;
    int outcap;
    char in[INBUF];
    char *out;
} client_t;

typedef struct {
    char name[32];
    double rate;
    double seconds;
} phase_t;

static int mode_irc, R, S, nsrc, greet, W;
static int ports[MAXPORTS], nports;
static int epfd;
static client_t *cl;
static uint32_t *expect;   /* R * S: next expected sequence number */
static uint32_t *next_seq; /* S */
static uint32_t *low;      /* S: oldest message not yet seen by all readers (max mode) */
static uint32_t *ring;     /* S * W: reader counts for messages low..low+W-1 */
static uint32_t *phase_first; /* S: first seq of the current phase */
static uint64_t runid;
static int closed_loop;
static uint64_t last_delivery; /* when the last message was received (burst phases) */

/* per-phase counters */
static hist_t hist;
static uint64_t delivered, late, stale, sent;
static uint64_t disconnects;
/* the same, per server (nports > 1) */
static hist_t port_hist[MAXPORTS];
static uint64_t port_delivered[MAXPORTS], port_late[MAXPORTS];
static int port_readers[MAXPORTS];

static char rbuf[262144 + INBUF];

static void queue_out(client_t *c, const char *s, size_t n) {
    if ((size_t)c->outlen + n > (size_t)c->outcap) {
        size_t cap = c->outcap ? (size_t)c->outcap : OUTBUF;
        while (cap < (size_t)c->outlen + n) cap *= 2;
        if (cap > (1u << 30)) fatal("client %d output buffer full", c->id);
        c->out = realloc(c->out, cap);
        if (!c->out) fatal("out of memory");
        c->outcap = (int)cap;
    }
    memcpy(c->out + c->outlen, s, n);
    c->outlen += (int)n;
}

static void flush_out(client_t *c) {
    while (c->outlen > 0) {
        ssize_t n = write(c->fd, c->out, (size_t)c->outlen);
        if (n > 0) {
            memmove(c->out, c->out + n, (size_t)(c->outlen - n));
            c->outlen -= (int)n;
        } else {
            break;
        }
    }
    struct epoll_event ev = {.events = EPOLLIN | (c->outlen ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void send_text(client_t *c, const char *text) {
    char line[512];
    int n = mode_irc ? snprintf(line, sizeof line, "PRIVMSG #bench :%s\r\n", text)
                     : snprintf(line, sizeof line, "%s\n", text);
    queue_out(c, line, (size_t)n);
}

static void send_msg(int s, int flush) {
    char text[160];
    snprintf(text, sizeof text, "~Q %llu %d %u %llu", (unsigned long long)runid, s, next_seq[s],
             (unsigned long long)now_ns());
    next_seq[s]++;
    sent++;
    client_t *c = &cl[R + s];
    send_text(c, text);
    if (flush) flush_out(c);
}

static void on_message(client_t *c, const char *p, uint64_t now) {
    /* p points just after "~Q " */
    char *end;
    unsigned long long rid = strtoull(p, &end, 10);
    if (rid != runid) return;
    int s = (int)strtol(end, &end, 10);
    uint32_t seq = (uint32_t)strtoul(end, &end, 10);
    unsigned long long t = strtoull(end, &end, 10);
    if (c->id >= R || s < 0 || s >= S) return; /* senders also hear each other: ignore */
    if (seq < phase_first[s]) {
        stale++;
        return;
    }
    uint32_t *e = &expect[(size_t)c->id * (size_t)S + (size_t)s];
    if (seq >= *e) {
        *e = seq + 1;
    } else {
        late++;
        port_late[c->slot]++;
    }
    delivered++;
    last_delivery = now;
    hist_add(&hist, now - t);
    if (nports > 1) {
        port_delivered[c->slot]++;
        hist_add(&port_hist[c->slot], now - t);
    }
    if (closed_loop && seq >= low[s] && seq < low[s] + (uint32_t)W) {
        uint32_t *slot = &ring[(size_t)s * (size_t)W + seq % (uint32_t)W];
        (*slot)++;
        while (ring[(size_t)s * (size_t)W + low[s] % (uint32_t)W] >= (uint32_t)R) {
            ring[(size_t)s * (size_t)W + low[s] % (uint32_t)W] = 0;
            low[s]++;
            if (low[s] == next_seq[s]) break;
        }
    }
}

static void on_line(client_t *c, char *line, size_t len, uint64_t now) {
    if (len && line[len - 1] == '\r') len--;
    line[len] = 0;
    if (mode_irc) {
        if (strncmp(line, "PING ", 5) == 0) {
            char pong[600];
            int n = snprintf(pong, sizeof pong, "PONG %s\r\n", line + 5);
            queue_out(c, pong, (size_t)n);
            flush_out(c);
            return;
        }
        if (!c->ready) {
            const char *sp = strchr(line, ' ');
            if (sp && strncmp(sp, " 001 ", 5) == 0) {
                queue_out(c, "JOIN #bench\r\n", 13);
                flush_out(c);
            } else if (sp && strncmp(sp, " 366 ", 5) == 0) {
                c->ready = 1;
            } else if (sp && sp[1] >= '4' && sp[1] <= '5' && sp[4] == ' ') {
                fatal("client %d: server refused: %s", c->id, line);
            }
            return;
        }
    } else if (!c->ready) {
        c->ready = 1;
    }
    char *q = strstr(line, "~Q ");
    if (q) {
        on_message(c, q + 3, now);
        return;
    }
    char *y = strstr(line, "~S ");
    if (y && strtoull(y + 3, NULL, 10) == runid) c->synced = 1;
}

static void on_readable(client_t *c, uint64_t now) {
    memcpy(rbuf, c->in, (size_t)c->inlen);
    ssize_t n = read(c->fd, rbuf + c->inlen, sizeof rbuf - (size_t)c->inlen - 1);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        disconnects++;
        fatal("client %d disconnected by the server (%s)", c->id, n == 0 ? "EOF" : strerror(errno));
    }
    if (n < 0) return;
    size_t total = (size_t)c->inlen + (size_t)n, start = 0;
    for (;;) {
        char *nl = memchr(rbuf + start, '\n', total - start);
        if (!nl) break;
        size_t len = (size_t)(nl - (rbuf + start));
        on_line(c, rbuf + start, len, now);
        start += len + 1;
    }
    size_t rest = total - start;
    if (rest >= INBUF) rest = 0; /* an overlong line without \n: drop it */
    memcpy(c->in, rbuf + start, rest);
    c->inlen = (int)rest;
}

static void on_connected(client_t *c) {
    c->connected = 1;
    if (mode_irc) {
        char reg[128];
        char nick[16];
        if (c->id < R) snprintf(nick, sizeof nick, "r%d", c->id);
        else snprintf(nick, sizeof nick, "s%d", c->id - R);
        int n = snprintf(reg, sizeof reg, "NICK %s\r\nUSER %s 0 * :bench\r\n", nick, nick);
        queue_out(c, reg, (size_t)n);
    } else if (!greet) {
        c->ready = 1;
    } else {
        /* netlab holds room lines for a client that has said nothing yet (it may be one
           of the course's lockstep programs); an empty line, which it ignores, says that
           this is a line client, as a telnet user pressing Enter does. */
        queue_out(c, "\r\n", 2);
    }
    flush_out(c);
}

static void poll_once(int timeout_ms) {
    static struct epoll_event evs[1024];
    int n = epoll_wait(epfd, evs, 1024, timeout_ms);
    uint64_t now = now_ns();
    for (int i = 0; i < n; i++) {
        client_t *c = evs[i].data.ptr;
        if (evs[i].events & (EPOLLERR | EPOLLHUP) && !c->connected) {
            int err = 0;
            socklen_t el = sizeof err;
            getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
            fatal("client %d could not connect: %s", c->id, strerror(err));
        }
        if (!c->connected && (evs[i].events & EPOLLOUT)) on_connected(c);
        else if (evs[i].events & EPOLLOUT) flush_out(c);
        if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(c, now);
    }
}

static void setup(void) {
    int N = R + S, next = 0, pending = 0;
    uint64_t deadline = now_ns() + 60000000000ull, next_at = 0;
    while (next < N || pending > 0) {
        /* A silent server gives no sign that it accepted us (the kernel completes the
           handshake first): pace those connects so its accept queue never overflows. */
        uint64_t now = now_ns();
        if (!greet && !mode_irc) pending = now >= next_at ? 6 : 8; /* 2 per ms */
        while (next < N && pending < 8) { /* below ngircd's listen backlog of 10 */
            next_at = now + 1000000ull;
            client_t *c = &cl[next];
            c->id = next;
            c->slot = (next < R ? next : next - R) % nports;
            c->fd = start_connect(ports[c->slot], next, nsrc);
            if (c->fd < 0) fatal("connect %d: %s", next, strerror(errno));
            struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
            epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev);
            next++;
            pending++;
        }
        poll_once(next < N ? 1 : 5);
        pending = 0;
        for (int i = 0; i < next; i++) pending += !cl[i].ready;
        if (now_ns() > deadline) fatal("setup timed out: %d of %d clients not joined", pending, N);
    }
    /* Sync: the first sender repeats a marker until every other client has seen it,
       which proves each is in the room and past its join traffic. */
    uint64_t last = 0;
    deadline = now_ns() + 60000000000ull;
    for (;;) {
        int missing = 0;
        for (int i = 0; i < N; i++) missing += (i != R && !cl[i].synced);
        if (!missing) break;
        if (now_ns() > deadline) fatal("sync timed out: %d clients never saw the marker", missing);
        if (now_ns() - last > 300000000ull) {
            char text[64];
            snprintf(text, sizeof text, "~S %llu", (unsigned long long)runid);
            send_text(&cl[R], text);
            flush_out(&cl[R]);
            last = now_ns();
        }
        poll_once(5);
    }
    /* let the tail of the join traffic drain */
    uint64_t quiet = now_ns() + 200000000ull;
    while (now_ns() < quiet) poll_once(5);
}

static void report_phase(const phase_t *ph, double secs, uint64_t gen_cpu_us);

static void run_phase(const phase_t *ph) {
    memset(&hist, 0, sizeof hist);
    delivered = late = stale = sent = 0;
    memset(port_hist, 0, sizeof port_hist);
    memset(port_delivered, 0, sizeof port_delivered);
    memset(port_late, 0, sizeof port_late);
    closed_loop = ph->rate == 0;
    int burst = ph->rate < 0 ? (int)(-ph->rate) : 0;
    for (int s = 0; s < S; s++) {
        phase_first[s] = next_seq[s];
        low[s] = next_seq[s];
    }
    memset(ring, 0, sizeof(uint32_t) * (size_t)S * (size_t)W);
    for (int r = 0; r < R; r++)
        for (int s = 0; s < S; s++) expect[(size_t)r * (size_t)S + (size_t)s] = next_seq[s];

    say("START %s", ph->name);
    uint64_t cpu0 = self_cpu_us();
    uint64_t t0 = now_ns();
    uint64_t t_end = t0 + (uint64_t)(ph->seconds * 1e9);
    if (burst) {
        /* Every sender's messages at once, round robin, each flushed as far as its
           socket takes; the rest goes as the socket drains (EPOLLOUT). */
        last_delivery = t0;
        for (int i = 0; i < burst; i++)
            for (int s = 0; s < S; s++) send_msg(s, 0);
        for (int s = 0; s < S; s++) flush_out(&cl[R + s]);
        uint64_t expected = sent * (uint64_t)R;
        while (delivered < expected && now_ns() < t_end) poll_once(5);
        uint64_t cpu1 = self_cpu_us();
        say("END %s", ph->name);
        report_phase(ph, (double)(last_delivery - t0) / 1e9, cpu1 - cpu0);
        return;
    }
    double interval = closed_loop ? 0 : 1e9 / ph->rate; /* ns between sends, aggregate */
    uint64_t k = 0; /* paced: messages sent so far over all senders */
    for (;;) {
        uint64_t now = now_ns();
        if (now >= t_end) break;
        int timeout = 5;
        if (closed_loop) {
            for (int s = 0; s < S; s++)
                while (next_seq[s] - low[s] < (uint32_t)W && cl[R + s].outlen < OUTBUF / 2)
                    send_msg(s, 1);
        } else {
            while (t0 + (uint64_t)((double)k * interval) <= now) {
                send_msg((int)(k % (uint64_t)S), 1);
                k++;
            }
            uint64_t due = t0 + (uint64_t)((double)k * interval);
            timeout = due > now ? (int)((due - now) / 1000000ull) : 0;
            if (timeout > 5) timeout = 5;
        }
        poll_once(timeout);
    }
    uint64_t expected = sent * (uint64_t)R;
    uint64_t drain_end = now_ns() + 3000000000ull;
    uint64_t t_done = now_ns();
    while (delivered < expected && now_ns() < drain_end) {
        poll_once(5);
        t_done = now_ns();
    }
    uint64_t cpu1 = self_cpu_us();
    say("END %s", ph->name);
    report_phase(ph, (double)(t_done - t0) / 1e9, cpu1 - cpu0);
}

static void report_phase(const phase_t *ph, double secs, uint64_t gen_cpu_us) {
    uint64_t expected = sent * (uint64_t)R;
    uint64_t lost = delivered < expected ? expected - delivered : 0;
    uint64_t dups = delivered > expected ? delivered - expected : 0;
    printf("RESULT {\"phase\":\"%s\",\"readers\":%d,\"senders\":%d,\"target_rate\":%.1f,"
           "\"seconds\":%.4f,\"sent\":%llu,\"expected\":%llu,\"delivered\":%llu,\"ops\":%llu,"
           "\"lost\":%llu,\"reordered\":%llu,\"dups\":%llu,\"stale\":%llu,\"rate\":%.1f,"
           "\"msg_rate\":%.1f,\"gen_cpu_us\":%llu,",
           ph->name, R, S, ph->rate, secs, (unsigned long long)sent,
           (unsigned long long)expected, (unsigned long long)delivered,
           (unsigned long long)delivered, (unsigned long long)lost, (unsigned long long)late,
           (unsigned long long)dups, (unsigned long long)stale, (double)delivered / secs,
           (double)sent / secs, (unsigned long long)gen_cpu_us);
    hist_json(stdout, &hist);
    if (nports > 1) {
        /* per server: its readers' deliveries, loss and latency */
        printf(",\"ports\":[");
        for (int i = 0; i < nports; i++) {
            uint64_t want = sent * (uint64_t)port_readers[i];
            uint64_t got = port_delivered[i];
            printf("%s{\"port\":%d,\"readers\":%d,\"expected\":%llu,\"delivered\":%llu,"
                   "\"lost\":%llu,\"reordered\":%llu,",
                   i ? "," : "", ports[i], port_readers[i], (unsigned long long)want,
                   (unsigned long long)got, (unsigned long long)(got < want ? want - got : 0),
                   (unsigned long long)port_late[i]);
            hist_json(stdout, &port_hist[i]);
            printf("}");
        }
        printf("]");
    }
    printf("}\n");
    fflush(stdout);
}

int main(int argc, char **argv) {
    if (argc != 9) fatal("usage: chat_fanout MODE PORT R S NSRC GREET WINDOW PHASES");
    mode_irc = strcmp(argv[1], "irc") == 0;
    char *portlist = strdup(argv[2]);
    for (char *tok = strtok(portlist, ","); tok; tok = strtok(NULL, ",")) {
        if (nports == MAXPORTS) fatal("at most %d ports", MAXPORTS);
        ports[nports] = atoi(tok);
        if (ports[nports] < 1 || ports[nports] > 65535) fatal("bad port %s", tok);
        nports++;
    }
    if (nports == 0) fatal("no port given");
    free(portlist);
    R = atoi(argv[3]);
    S = atoi(argv[4]);
    nsrc = atoi(argv[5]);
    greet = atoi(argv[6]);
    W = atoi(argv[7]);
    if (R < 1 || S < 1 || W < 1) fatal("R, S and WINDOW must be >= 1");
    for (int r = 0; r < R; r++) port_readers[r % nports]++;
    phase_t phases[MAXPHASES];
    int nph = 0;
    char *spec = strdup(argv[8]);
    for (char *tok = strtok(spec, ","); tok && nph < MAXPHASES; tok = strtok(NULL, ",")) {
        phase_t *ph = &phases[nph++];
        if (sscanf(tok, "%31[^:]:%lf:%lf", ph->name, &ph->rate, &ph->seconds) != 3)
            fatal("bad phase %s", tok);
    }
    raise_nofile();
    signal(SIGPIPE, SIG_IGN);
    runid = ((uint64_t)getpid() << 20) ^ (now_ns() & 0xfffff);
    epfd = epoll_create1(EPOLL_CLOEXEC);
    cl = calloc((size_t)(R + S), sizeof *cl);
    expect = calloc((size_t)R * (size_t)S, sizeof *expect);
    next_seq = calloc((size_t)S, sizeof *next_seq);
    low = calloc((size_t)S, sizeof *low);
    phase_first = calloc((size_t)S, sizeof *phase_first);
    ring = calloc((size_t)S * (size_t)W, sizeof *ring);
    uint64_t t_setup = now_ns();
    setup();
    say("READY %d %.3f", R + S, (double)(now_ns() - t_setup) / 1e9);
    for (int i = 0; i < nph; i++) run_phase(&phases[i]);
    for (int i = 0; i < R + S; i++) close(cl[i].fd);
    return 0;
}
