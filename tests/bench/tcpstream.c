/*
 * tcpstream.c - a plain TCP stream for tests/bench/overlay.sh: the same
 * tool for the overlay path (container to container over the grid
 * network) and the underlay path (node namespace to node namespace).
 *
 *	tcpstream recv PORT [ADDR]     accept one connection, read to EOF,
 *	                               print "BYTES SECONDS MBPS" (the
 *	                               receiver's view: first byte to EOF)
 *	tcpstream send ADDR PORT BYTES write BYTES of zeros in 128 KiB
 *	                               writes, half-close, wait for the
 *	                               receiver's close; print "BYTES
 *	                               SECONDS MBPS" (the sender's view:
 *	                               connect to the peer's close)
 *
 * The receiver prints "listening" on stderr once it listens. Mbps are
 * 10^6 bits per second. Plain syscalls and big buffers, so the tool is
 * not what limits the stream (busybox nc copies in small pieces).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK	(128 * 1024)

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
report(unsigned long long n, double s)
{
	printf("%llu %.6f %.1f\n", n, s, s > 0 ? (double)n * 8 / s / 1e6 : 0);
}

static int
parse_addr(const char *a, int port, struct sockaddr_in *sa)
{
	memset(sa, 0, sizeof *sa);
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, a, &sa->sin_addr) == 1 ? 0 : -1;
}

static int
do_recv(int port, const char *addr)
{
	static char buf[CHUNK];
	struct sockaddr_in sa;
	unsigned long long n = 0;
	double t0 = 0;
	ssize_t r;
	int ls, s, one = 1;

	if (parse_addr(addr != NULL ? addr : "0.0.0.0", port, &sa) != 0) {
		fprintf(stderr, "tcpstream: bad address %s\n", addr);
		return 2;
	}
	if ((ls = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
	    bind(ls, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    listen(ls, 1) != 0) {
		perror("tcpstream: listen");
		return 1;
	}
	fprintf(stderr, "listening\n");
	if ((s = accept(ls, NULL, NULL)) < 0) {
		perror("tcpstream: accept");
		return 1;
	}
	while ((r = read(s, buf, sizeof buf)) > 0) {
		if (n == 0)
			t0 = now_s();
		n += (unsigned long long)r;
	}
	if (r < 0) {
		perror("tcpstream: read");
		return 1;
	}
	report(n, n > 0 ? now_s() - t0 : 0);
	close(s);
	close(ls);
	return 0;
}

static int
do_send(const char *addr, int port, unsigned long long want)
{
	static char buf[CHUNK];
	struct sockaddr_in sa;
	unsigned long long n = 0;
	double t0;
	ssize_t w;
	char c;
	int s;

	if (parse_addr(addr, port, &sa) != 0) {
		fprintf(stderr, "tcpstream: bad address %s\n", addr);
		return 2;
	}
	if ((s = socket(AF_INET, SOCK_STREAM, 0)) < 0) {
		perror("tcpstream: socket");
		return 1;
	}
	t0 = now_s();
	if (connect(s, (struct sockaddr *)&sa, sizeof sa) != 0) {
		perror("tcpstream: connect");
		return 1;
	}
	while (n < want) {
		size_t len = want - n < CHUNK ? (size_t)(want - n) : CHUNK;

		if ((w = write(s, buf, len)) <= 0) {
			perror("tcpstream: write");
			return 1;
		}
		n += (unsigned long long)w;
	}
	shutdown(s, SHUT_WR);
	while (read(s, &c, 1) > 0)
		;	/* the receiver closes once it has read it all */
	report(n, now_s() - t0);
	close(s);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "recv") == 0)
		return do_recv(atoi(argv[2]), argc > 3 ? argv[3] : NULL);
	if (argc == 5 && strcmp(argv[1], "send") == 0)
		return do_send(argv[2], atoi(argv[3]),
		    strtoull(argv[4], NULL, 10));
	fprintf(stderr, "usage: tcpstream recv PORT [ADDR] | "
	    "tcpstream send ADDR PORT BYTES\n");
	return 2;
}
