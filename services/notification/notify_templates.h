/*  notify_templates: the words of every notification, read from files.

    One file per language in a folder: <dir>/zh-CN.conf and <dir>/en.conf
    (deploy/notify/templates/; ASP_NOTIFY_TEMPLATES names the folder, and
    the deploy copy is compiled in as the default). One file per language,
    not one per template: a translator works on one file, and completeness
    (every key in every language) is checked across them. Format:

        # a comment (or ;), blank lines ignored
        <key> = <text>

    Keys are the templates and their variants the code asks for
    (notify_text: "received", "progress.on_site", "clock.resolution", ...,
    "subject" for an e-mail's subject); {name} is a variable filled from
    the event (notify_text_vars). Strict: a line without " = ", an unknown
    key, a key twice, an unknown variable, an unclosed '{', a text that is
    empty or not UTF-8, a key missing from a language, a missing file: the
    whole set is refused with "<file>:<line>: <why>" (line 0: the file as
    a whole). Loaded at start (exit 2 when refused); notify_server reloads
    it when a file changes or on SIGHUP, and a refused reload keeps the
    templates in use.

    Immutable once made: one set is read by one thread at a time (the
    service loop's), a reload makes a new one.                           */
#ifndef NOTIFY_TEMPLATES_H
#define NOTIFY_TEMPLATES_H
#include "notify_text.h"
#include <stdbool.h>
#include <stddef.h>

typedef struct notify_templates_t notify_templates_t;

//  Parses one text per language (names[lang] for the messages, e.g. the
//  file's path). NULL with the reason in why when any is refused.
notify_templates_t *notify_templates_parse (const char *const names [NOTIFY_LANG_COUNT],
                                            const char *const texts [NOTIFY_LANG_COUNT],
                                            char *why, size_t whylen);
//  Reads <dir>/<lang>.conf for every language (dir NULL: the compiled-in
//  copy of deploy/notify/templates). NULL with the reason in why.
notify_templates_t *notify_templates_load (const char *dir, char *why, size_t whylen);
void notify_templates_destroy (notify_templates_t **self_p);
//  The text of key in lang, or NULL when key is not a template.
const char *notify_templates_get (const notify_templates_t *self, notify_lang_t lang, const char *key);
//  The path of lang's file in dir (dir NULL: "<built-in>"), into out.
void notify_templates_path (const char *dir, notify_lang_t lang, char *out, size_t outlen);

//  True when tpl names a template a rule may use ("received", "progress",
//  "sla_warning"...; not a variant or a shared phrase).
bool notify_templates_known (const char *tpl);
//  The next line of a configuration text (templates, rules) that is
//  neither blank nor a comment ('#' or ';' first): a new string without
//  its line end that the caller frees, or NULL at the end. *text advances
//  past it, *lineno counts every line passed, *lead is its leading blanks.
char *notify_conf_line (const char **text, int *lineno, size_t *lead);
//  The whole file at path, NUL-terminated (a new string the caller frees),
//  or NULL and "<path>:0: <why>" (unreadable, over 1 MiB, a NUL byte).
//  The rules file is read the same way.
char *notify_conf_read (const char *path, char *why, size_t whylen);

void notify_templates_test (void);
#endif
