#define _GNU_SOURCE
#include "tessera_net.h"
#include <sys/socket.h>

int tessera_accept_nonblocking(int listen_fd, struct sockaddr *address, socklen_t *length) {
    return accept4(listen_fd, address, length, SOCK_NONBLOCK | SOCK_CLOEXEC);
}
