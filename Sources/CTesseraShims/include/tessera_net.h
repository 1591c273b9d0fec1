#ifndef TESSERA_NET_H
#define TESSERA_NET_H
#include <stdint.h>
#include <sys/socket.h>

/// accept4(2) with SOCK_NONBLOCK | SOCK_CLOEXEC; returns the fd or -1 with errno set.
int tessera_accept_nonblocking(int listen_fd, struct sockaddr *address, socklen_t *length);
#endif
