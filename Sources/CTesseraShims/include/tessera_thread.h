#ifndef TESSERA_THREAD_H
#define TESSERA_THREAD_H

/// Names the calling OS thread (Linux keeps the first 15 bytes); shown by ps, top and debuggers.
void tessera_set_current_thread_name(const char *name);

/// Copies the calling thread's OS name into `buffer` (at least 16 bytes).
void tessera_get_current_thread_name(char *buffer, int size);
#endif
