/*  asp_curl: what the project's libcurl clients share.

    The notification webhook and the simulated customer only need the start
    of an answer's body, to say why a request failed; keeping just that bounds
    the memory an unfriendly server can make them use.                     */
#ifndef ASP_CURL_H
#define ASP_CURL_H
#include <stddef.h>

#define ASP_CURL_HEAD_MAX 256

typedef struct {
    char text [ASP_CURL_HEAD_MAX];  //  NUL-terminated start of the body
    size_t len;
} asp_curl_head_t;

//  CURLOPT_WRITEFUNCTION keeping the first ASP_CURL_HEAD_MAX - 1 bytes in the
//  asp_curl_head_t given as CURLOPT_WRITEDATA; the rest is read and dropped.
size_t asp_curl_keep_head (char *data, size_t size, size_t nmemb, void *head);
//  Empties head before a new request.
void asp_curl_head_reset (asp_curl_head_t *head);

void asp_curl_test (void);
#endif
