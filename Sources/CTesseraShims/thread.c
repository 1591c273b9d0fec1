#define _GNU_SOURCE
#include "tessera_thread.h"
#include <pthread.h>
#include <string.h>

void tessera_set_current_thread_name(const char *name) {
    char truncated[16];
    strncpy(truncated, name, sizeof truncated - 1);
    truncated[sizeof truncated - 1] = '\0';
    pthread_setname_np(pthread_self(), truncated);
}

void tessera_get_current_thread_name(char *buffer, int size) {
    if (size <= 0) return;
    if (pthread_getname_np(pthread_self(), buffer, (size_t)size) != 0) buffer[0] = '\0';
}
