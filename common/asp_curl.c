#include "asp_curl.h"
#include <assert.h>
#include <string.h>

size_t
asp_curl_keep_head (char *data, size_t size, size_t nmemb, void *arg)
{
    asp_curl_head_t *head = (asp_curl_head_t *) arg;
    size_t n = size * nmemb;
    size_t room = sizeof head->text - 1 - head->len;
    size_t take = n < room? n: room;
    memcpy (head->text + head->len, data, take);
    head->len += take;
    head->text [head->len] = 0;
    return n;
}

void
asp_curl_head_reset (asp_curl_head_t *head)
{
    head->len = 0;
    head->text [0] = 0;
}

void
asp_curl_test (void)
{
    asp_curl_head_t head;
    asp_curl_head_reset (&head);
    char big [1000];
    memset (big, 'a', sizeof big);
    assert (asp_curl_keep_head (big, 1, 10, &head) == 10 && head.len == 10);
    assert (asp_curl_keep_head (big, 1, sizeof big, &head) == sizeof big);
    assert (head.len == ASP_CURL_HEAD_MAX - 1 && strlen (head.text) == head.len);
    asp_curl_head_reset (&head);
    assert (head.len == 0 && head.text [0] == 0);
}
