/* bare_writer: the fan-out floor for bench/rtmp/fanout.sh ("bare" target).
 *
 *     bare_writer PORT N [INPUT]
 *
 * Listens on 127.0.0.1:PORT, accepts exactly N sink connections, then reads an FLV byte stream
 * from INPUT (a path, e.g. a FIFO; default: stdin) and, for every FLV tag (11-byte tag header +
 * data + 4-byte previous tag size), does one write() of the whole tag to each sink, and nothing
 * else: no RTMP, no chunking, no queues, no timestamps, no keyframe logic. The 9-byte FLV header
 * and PreviousTagSize0 are sent once to each sink before the first tag, so every sink receives a
 * valid FLV file.
 *
 * Sockets are blocking (a slow sink stalls all of them; a short write, which a blocking socket
 * only returns when interrupted, is retried for the remainder) and have TCP_NODELAY set, as
 * streamr-ingest sets on its connections. SIGPIPE is ignored; a sink whose write fails (EPIPE,
 * ECONNRESET, anything else) is closed and dropped. Exits at the end of the input or once no sink
 * is left. Built by fanout.sh with `cc -O2`; stdlib and POSIX only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int *sinks;
static int live;

/* Reads exactly len bytes; 1 on success, 0 at a clean end of input, exits on an error. */
static int read_full(int fd, unsigned char *buf, size_t len) {
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n > 0) { got += (size_t)n; continue; }
        if (n < 0 && errno == EINTR) continue;
        if (n == 0 && got == 0) return 0;
        if (n == 0) { fprintf(stderr, "bare_writer: input ended inside a tag\n"); exit(1); }
        perror("bare_writer: read"); exit(1);
    }
    return 1;
}

/* One write() of buf to every live sink (looping only on a short write); failed sinks are dropped. */
static void fan_out(const unsigned char *buf, size_t len) {
    for (int i = 0; i < live;) {
        size_t off = 0;
        int ok = 1;
        while (off < len) {
            ssize_t n = write(sinks[i], buf + off, len - off);
            if (n >= 0) { off += (size_t)n; continue; }
            if (errno == EINTR) continue;
            if (errno != EPIPE && errno != ECONNRESET) perror("bare_writer: write");
            ok = 0;
            break;
        }
        if (ok) { i++; continue; }
        close(sinks[i]);
        sinks[i] = sinks[--live];  /* drop: the last sink takes its place */
        fprintf(stderr, "bare_writer: dropped a sink, %d left\n", live);
    }
}

int main(int argc, char **argv) {
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: %s PORT N [INPUT]\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]), n = atoi(argv[2]);
    if (port <= 0 || port > 65535 || n <= 0) { fprintf(stderr, "bare_writer: bad PORT or N\n"); return 2; }
    signal(SIGPIPE, SIG_IGN);

    int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    if (lfd < 0) { perror("bare_writer: socket"); return 1; }
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0) { perror("bare_writer: bind"); return 1; }
    if (listen(lfd, SOMAXCONN) < 0) { perror("bare_writer: listen"); return 1; }

    sinks = calloc((size_t)n, sizeof *sinks);
    if (!sinks) { perror("bare_writer: calloc"); return 1; }
    while (live < n) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            perror("bare_writer: accept"); return 1;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        sinks[live++] = fd;
    }
    close(lfd);
    fprintf(stderr, "bare_writer: %d sinks connected\n", live);

    int in = 0;
    if (argc == 4 && strcmp(argv[3], "-") != 0) {
        in = open(argv[3], O_RDONLY);  /* a FIFO: blocks until the writer opens it */
        if (in < 0) { perror("bare_writer: open input"); return 1; }
    }

    size_t cap = 1 << 20;
    unsigned char *buf = malloc(cap);
    if (!buf) { perror("bare_writer: malloc"); return 1; }
    /* FLV header: "FLV", version, flags, DataOffset (u32 BE, normally 9), then PreviousTagSize0. */
    if (!read_full(in, buf, 9)) { fprintf(stderr, "bare_writer: empty input\n"); return 1; }
    if (memcmp(buf, "FLV", 3) != 0) { fprintf(stderr, "bare_writer: input is not FLV\n"); return 1; }
    uint32_t offset = (uint32_t)buf[5] << 24 | (uint32_t)buf[6] << 16 | (uint32_t)buf[7] << 8 | buf[8];
    if (offset < 9 || offset > cap - 4) { fprintf(stderr, "bare_writer: bad FLV header\n"); return 1; }
    if (!read_full(in, buf + 9, offset - 9 + 4)) { fprintf(stderr, "bare_writer: truncated FLV header\n"); return 1; }
    fan_out(buf, offset + 4);
    if (live == 0) { fprintf(stderr, "bare_writer: no sink left\n"); return 1; }

    unsigned long long tags = 0, bytes = 0;
    for (;;) {
        if (!read_full(in, buf, 11)) break;
        size_t size = (size_t)buf[1] << 16 | (size_t)buf[2] << 8 | buf[3];
        size_t whole = 11 + size + 4;
        if (whole > cap) {
            while (cap < whole) cap *= 2;
            unsigned char *bigger = realloc(buf, cap);
            if (!bigger) { perror("bare_writer: realloc"); return 1; }
            buf = bigger;
        }
        if (!read_full(in, buf + 11, size + 4)) { fprintf(stderr, "bare_writer: input ended inside a tag\n"); return 1; }
        fan_out(buf, whole);
        tags++; bytes += whole;
        if (live == 0) { fprintf(stderr, "bare_writer: no sink left after %llu tags\n", tags); return 1; }
    }
    fprintf(stderr, "bare_writer: end of input after %llu tags, %llu bytes per sink; %d sinks left\n", tags, bytes, live);
    return 0;
}
