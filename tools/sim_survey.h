/*  sim_survey: the simulated customer answering satisfaction surveys.

    The HTTP thread only queues a ticket id; one worker thread posts
    POST <intake>/v1/tickets/{id}/survey
        {"score": 4 or 5 at random, "resolved": true, "comment": "..."}
    with Authorization: Bearer <token> when a token is set. The answer is
    done on 202 or 409 already_answered. It is tried again later, with
    exponential backoff (200 ms doubling to 5 s), on 409 not_completed (the
    survey request can arrive before intake has seen the completion), 429,
    5xx and connection errors, up to max_tries attempts. Any other answer
    (400, 401, 404...) is final: logged and counted as failed.

    Each survey is named by the id of the notification that asked for it.
    With a done file, an answer is settled there (one line "<id> <ticket>
    <outcome>", fsynced) once intake took it (202), had it (409
    already_answered) or has no such ticket (404). The ids read back at
    start are never queued again, so the owner can re-queue every survey
    request it recorded and only the unsettled ones are answered: a kill at
    any point loses none, and one killed between intake's 202 and the line
    is answered again, which intake refuses as already_answered (done).
    Surveys given up otherwise (tries exhausted, 400, 401, 403) are left
    unsettled: the next start tries them again.

    The queue is bounded (max_queue); a full queue refuses new work so the
    caller can answer "retry later".                                      */
#ifndef SIM_SURVEY_H
#define SIM_SURVEY_H
#include "asp_metrics.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *intake_url;     //  base URL, e.g. http://127.0.0.1:8080
    const char *token;          //  bearer token, NULL or "" for none
    int max_tries;              //  attempts per survey
    int delay_ms;               //  before the first attempt (people take a moment)
    size_t max_queue;           //  surveys waiting at most
    const char *done_path;      //  file of settled survey ids, NULL for none
} sim_survey_cfg_t;

typedef struct {
    uint64_t queued;            //  taken into the queue
    uint64_t answered;          //  202
    uint64_t already;           //  409 already_answered
    uint64_t retries;           //  attempts that will be tried again
    uint64_t failed;            //  given up
    uint64_t pending;           //  still in the queue
} sim_survey_stats_t;

typedef struct sim_survey_t sim_survey_t;

//  Starts the worker. Counters are registered on metrics (borrowed).
//  NULL when the thread or libcurl cannot start, or the done file cannot be
//  read or opened. Call curl_global_init first.
sim_survey_t *sim_survey_new (const sim_survey_cfg_t *cfg, asp_metrics_t *metrics);
//  Stops the worker (a post in flight finishes first) and frees all.
void sim_survey_destroy (sim_survey_t **self_p);
//  Queues the survey answer for ticket, asked for by notification id (at
//  most 128 characters). 0 when queued, 1 when id is settled already
//  (nothing to do), -1 when the queue is full.
int  sim_survey_add (sim_survey_t *self, const char *id, const char *ticket);
//  True when the queue has no room (check before accepting the request).
bool sim_survey_full (sim_survey_t *self);
void sim_survey_stats (sim_survey_t *self, sim_survey_stats_t *stats);

void sim_survey_test (void);
#endif
