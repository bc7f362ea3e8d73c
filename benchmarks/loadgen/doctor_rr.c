/*
 * doctor_rr: C concurrent conversations with a Doctor (ELIZA) server. Each connection
 * waits for the greeting line, then sends one line at a time and waits for exactly
 * one reply line before sending the next; latency is send to reply.
 *
 * usage: doctor_rr PORT CONCURRENCY DURATION_S NSRC [BLANK]
 *   BLANK   1: open each connection with an empty line, which tells netlab that this is
 *           a line client (until a client sends something, netlab leaves the greeting's
 *           line unended: it may be one of the course's lockstep programs)
 */
#include "common.h"

static const char *lines[] = {
    "Men are all alike.",
    "They're always bugging us about something or other.",
    "Well, my boyfriend made me come here.",
    "He says I'm depressed much of the time.",
    "It's true. I am unhappy.",
    "I need some help, that much seems certain.",
    "Perhaps I could learn to get along with my mother.",
    "My mother takes care of me.",
    "My father.",
    "You are like my father in some ways.",
    "You are not very aggressive but I think you don't want me to notice that.",
    "You don't argue with me.",
    "You are afraid of me.",
    "My father is afraid of everybody.",
    "Bullies.",
    "I remember the summer I spent at the lake with my family.",
    "Do you think computers can understand people?",
    "Everybody laughs at me because I always forget things.",
    "I dreamed that I was flying over a city of glass.",
    "Can you really help me, or are you just a program?",
    "I am sorry, I was not listening.",
    "Why do you always answer a question with another question?",
};
#define NLINES (sizeof lines / sizeof lines[0])

typedef struct {
    int fd;
    int greeted;
    unsigned next;
    uint64_t t_sent;
    int inlen;
    char in[8192];
} conv_t;

int main(int argc, char **argv) {
    if (argc != 5 && argc != 6) fatal("usage: doctor_rr PORT CONCURRENCY DURATION_S NSRC [BLANK]");
    int port = atoi(argv[1]);
    int conc = atoi(argv[2]);
    double duration = atof(argv[3]);
    int nsrc = atoi(argv[4]);
    int blank = argc == 6 && atoi(argv[5]) == 1;
    raise_nofile();
    signal(SIGPIPE, SIG_IGN);
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    conv_t *cv = calloc((size_t)conc, sizeof *cv);
    struct epoll_event *evs = calloc((size_t)conc, sizeof *evs);
    for (int i = 0; i < conc; i++) {
        cv[i].fd = start_connect(port, i, nsrc);
        if (cv[i].fd < 0) fatal("connect: %s", strerror(errno));
        cv[i].next = (unsigned)i; /* conversations start at different lines */
        if (blank && write_all(cv[i].fd, "\n", 1) < 0) fatal("write failed");
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &cv[i]};
        epoll_ctl(epfd, EPOLL_CTL_ADD, cv[i].fd, &ev);
    }
    hist_t hist = {0};
    uint64_t replies = 0, errors = 0, cpu0 = 0, t0 = 0, t_end = 0;
    int greeted = 0, started = 0, active = conc;
    uint64_t setup_deadline = now_ns() + 30000000000ull;
    while (active > 0) {
        int n = epoll_wait(epfd, evs, conc, 10);
        uint64_t now = now_ns();
        if (!started && greeted == conc) {
            say("START rr");
            started = 1;
            cpu0 = self_cpu_us();
            t0 = now;
            t_end = t0 + (uint64_t)(duration * 1e9);
            for (int i = 0; i < conc; i++) {
                char buf[256];
                int k = snprintf(buf, sizeof buf, "%s\n", lines[cv[i].next++ % NLINES]);
                cv[i].t_sent = now_ns();
                if (write_all(cv[i].fd, buf, (size_t)k) < 0) fatal("write failed");
            }
        }
        if (!started && now > setup_deadline) fatal("only %d of %d greeted", greeted, conc);
        for (int i = 0; i < n; i++) {
            conv_t *c = evs[i].data.ptr;
            if (c->fd < 0) continue;
            ssize_t r = read(c->fd, c->in + c->inlen, sizeof c->in - (size_t)c->inlen);
            if (r <= 0) {
                if (r < 0 && errno == EAGAIN) continue;
                errors++;
                close(c->fd);
                c->fd = -1;
                active--;
                continue;
            }
            c->inlen += (int)r;
            char *nl;
            while ((nl = memchr(c->in, '\n', (size_t)c->inlen))) {
                size_t used = (size_t)(nl - c->in) + 1;
                memmove(c->in, c->in + used, (size_t)c->inlen - used);
                c->inlen -= (int)used;
                if (!c->greeted) {
                    c->greeted = 1;
                    greeted++;
                    continue;
                }
                if (!started) continue;
                replies++;
                hist_add(&hist, now - c->t_sent);
                if (now >= t_end) {
                    close(c->fd);
                    c->fd = -1;
                    active--;
                    break;
                }
                char buf[256];
                int k = snprintf(buf, sizeof buf, "%s\n", lines[c->next++ % NLINES]);
                c->t_sent = now_ns();
                if (write_all(c->fd, buf, (size_t)k) < 0) {
                    errors++;
                    close(c->fd);
                    c->fd = -1;
                    active--;
                    break;
                }
            }
            if (c->inlen == (int)sizeof c->in) c->inlen = 0;
        }
        if (started && now > t_end + 5000000000ull) break; /* stuck replies: give up */
    }
    uint64_t cpu1 = self_cpu_us();
    say("END rr");
    double secs = (double)(now_ns() - t0) / 1e9;
    printf("RESULT {\"phase\":\"rr\",\"concurrency\":%d,\"seconds\":%.4f,\"ops\":%llu,"
           "\"errors\":%llu,\"rate\":%.1f,\"gen_cpu_us\":%llu,",
           conc, secs, (unsigned long long)replies, (unsigned long long)errors,
           (double)replies / secs, (unsigned long long)(cpu1 - cpu0));
    hist_json(stdout, &hist);
    printf("}\n");
    fflush(stdout);
    return 0;
}
