#ifndef TESSERA_NET_H
#define TESSERA_NET_H
#include <stdint.h>
#include <sys/socket.h>

/// accept4(2) with SOCK_NONBLOCK | SOCK_CLOEXEC; returns the fd or -1 with errno set.
int tessera_accept_nonblocking(int listen_fd, struct sockaddr *address, socklen_t *length);

/// Readiness flags reported by tessera_epoll_wait (our own values, independent of EPOLL* macros).
enum {
    TESSERA_IO_READ = 1,
    TESSERA_IO_WRITE = 2,
    TESSERA_IO_HANGUP = 4,
    TESSERA_IO_ERROR = 8,
};

/// One readiness event: the 64-bit token registered with the fd and the TESSERA_IO_* flags.
/// (struct epoll_event is packed on x86_64; this one is not, so Swift imports it cleanly.)
typedef struct {
    uint64_t token;
    uint32_t flags;
} tessera_io_event;

/// epoll_create1(EPOLL_CLOEXEC).
int tessera_epoll_create(void);
/// Adds (op 0), modifies (op 1) or removes (op 2) `fd`. `interest` is TESSERA_IO_READ|TESSERA_IO_WRITE;
/// `exclusive` sets EPOLLEXCLUSIVE (add only, for a listening socket shared by several loops).
int tessera_epoll_update(int epfd, int op, int fd, uint32_t interest, uint64_t token, int exclusive);
/// epoll_wait, translated into tessera_io_event; returns the count or -1 with errno set.
int tessera_epoll_wait(int epfd, tessera_io_event *events, int capacity, int timeout_ms);

/// eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC).
int tessera_eventfd_create(void);
/// Adds 1 to the eventfd counter (wakes an epoll waiter).
int tessera_eventfd_signal(int fd);
/// Resets the eventfd counter.
int tessera_eventfd_drain(int fd);

/// send(2) with MSG_NOSIGNAL.
long tessera_send_nosignal(int fd, const void *buffer, unsigned long length);
/// Sets SO_REUSEADDR and, for AF_INET6 sockets, IPV6_V6ONLY.
int tessera_socket_prepare_listener(int fd, int is_ipv6);
/// Sets TCP_NODELAY.
int tessera_socket_set_nodelay(int fd);
/// Raises RLIMIT_NOFILE's soft limit to its hard limit; returns the new soft limit or -1.
long tessera_raise_nofile_limit(void);
/// signal(SIGPIPE, SIG_IGN).
void tessera_ignore_sigpipe(void);
/// CLOCK_MONOTONIC in nanoseconds.
uint64_t tessera_monotonic_ns(void);
#endif
