/*
 * test_port.h - a loopback port nothing listens on right now, for the
 * unit tests that run real servers in-process (test_dq_client.c,
 * test_store_dq.c). Exits on failure: a test without a port is broken.
 */
#ifndef BERTH_TEST_PORT_H
#define BERTH_TEST_PORT_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static inline int
test_free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof sa;
	int fd, port;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		perror("test_free_port");
		exit(1);
	}
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

#endif
