/*  notify_file: the development channels, file and stdout: one JSON line
    per notification, appended to ASP_NOTIFY_FILE or written to stdout.
    Every worker's instance writes whole lines, never interleaved.        */
#ifndef NOTIFY_FILE_H
#define NOTIFY_FILE_H
#include "notify_channel.h"

typedef struct notify_file_t notify_file_t;

//  path NULL: stdout. NULL with a logged reason when the file cannot be
//  opened.
notify_file_t *notify_file_new (const char *path);
void notify_file_destroy (notify_file_t **self_p);
notify_result_t notify_file_send (notify_file_t *self, const notify_msg_t *msg, char *err,
                                  size_t errlen);

void notify_file_test (void);
#endif
