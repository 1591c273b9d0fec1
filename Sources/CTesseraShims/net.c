#define _GNU_SOURCE
#include "tessera_net.h"
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int tessera_accept_nonblocking(int listen_fd, struct sockaddr *address, socklen_t *length) {
    return accept4(listen_fd, address, length, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

int tessera_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int tessera_epoll_update(int epfd, int op, int fd, uint32_t interest, uint64_t token, int exclusive) {
    struct epoll_event event = {0};
    if (interest & TESSERA_IO_READ) event.events |= EPOLLIN | EPOLLRDHUP;
    if (interest & TESSERA_IO_WRITE) event.events |= EPOLLOUT;
    if (exclusive) event.events = (event.events & ~(uint32_t)EPOLLRDHUP) | EPOLLEXCLUSIVE; /* RDHUP not allowed */
    event.data.u64 = token;
    int cop = op == 0 ? EPOLL_CTL_ADD : (op == 1 ? EPOLL_CTL_MOD : EPOLL_CTL_DEL);
    return epoll_ctl(epfd, cop, fd, &event);
}

int tessera_epoll_wait(int epfd, tessera_io_event *events, int capacity, int timeout_ms) {
    struct epoll_event raw[256];
    if (capacity > 256) capacity = 256;
    int count = epoll_wait(epfd, raw, capacity, timeout_ms);
    for (int i = 0; i < count; i++) {
        uint32_t flags = 0;
        if (raw[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLPRI)) flags |= TESSERA_IO_READ;
        if (raw[i].events & EPOLLOUT) flags |= TESSERA_IO_WRITE;
        if (raw[i].events & EPOLLHUP) flags |= TESSERA_IO_HANGUP;
        if (raw[i].events & EPOLLERR) flags |= TESSERA_IO_ERROR;
        events[i].token = raw[i].data.u64;
        events[i].flags = flags;
    }
    return count;
}

int tessera_eventfd_create(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

int tessera_eventfd_signal(int fd) {
    uint64_t one = 1;
    return (int)write(fd, &one, sizeof one);
}

int tessera_eventfd_drain(int fd) {
    uint64_t value;
    return (int)read(fd, &value, sizeof value);
}

long tessera_send_nosignal(int fd, const void *buffer, unsigned long length) {
    return (long)send(fd, buffer, length, MSG_NOSIGNAL);
}

int tessera_socket_prepare_listener(int fd, int is_ipv6) {
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) return -1;
    if (is_ipv6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0) return -1;
    return 0;
}

int tessera_socket_set_nodelay(int fd) {
    int one = 1;
    return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

long tessera_raise_nofile_limit(void) {
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return -1;
    if (limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &limit) != 0) return -1;
    }
    return (long)limit.rlim_cur;
}

void tessera_ignore_sigpipe(void) { signal(SIGPIPE, SIG_IGN); }

uint64_t tessera_monotonic_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
}
