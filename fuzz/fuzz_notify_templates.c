/*  libFuzzer target: the notification templates (ASP_NOTIFY_TEMPLATES),
    parsed as asp-notification does at start and on every reload: the
    input is the en file beside the built-in zh-CN one. Every input is
    either a complete set (every template in both languages, each renders)
    or a refusal naming the file and a line; either way nothing leaks
    (ASan's leak check at exit).                                           */
#include "notify_templates.h"
#include "fuzz_text.h"
#include <assert.h>
#include <stdlib.h>
#include <string.h>

extern const char asp_lua_templates_zh_CN [];

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char *text = fuzz_text (data, size);
    if (!text)
        return 0;
    const char *names [] = { "zh", "f" };
    const char *texts [] = { asp_lua_templates_zh_CN, text };
    char why [400] = "";
    notify_templates_t *t = notify_templates_parse (names, texts, why, sizeof why);
    if (t) {
        assert (notify_templates_get (t, NOTIFY_LANG_EN, "received"));
        char *subject = notify_text_subject (t, NOTIFY_LANG_EN, "T1");
        assert (subject);
        free (subject);
        notify_templates_destroy (&t);
        assert (!t);
    }
    else
        assert (strncmp (why, "f:", 2) == 0 && strtol (why + 2, NULL, 10) >= 1);
    free (text);
    return 0;
}
