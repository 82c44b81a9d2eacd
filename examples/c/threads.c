/*
 * edgevae from several C threads: each thread opens its own model, sampler and filter (the
 * opens run at once) and must get, call for call, the samples, scores and cleaned rows that
 * the main thread got alone; then two threads share one sampler, and each call either succeeds
 * with the same samples or returns EDGEVAE_STATUS_BUSY, never anything else.
 *
 *   edgevae-threads MODEL_DIR
 *
 * Prints one line per part and exits 0 when every check holds, 1 otherwise.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgevae.h"

enum { THREADS = 4, CALLS = 6, ROWS = 8, SHARED_CALLS = 40, SHARED_ROWS = 256 };

static const char *model_dir;
static size_t dim;

/* One thread's results: samples, scores and cleaned rows of every call. */
struct results {
    float *samples, *scores, *cleaned;
    int failed;
};

static void error(const char *what, edgevae_status status)
{
    char message[512];
    size_t written = 0;
    if (edgevae_last_error(message, sizeof message, &written) != EDGEVAE_STATUS_OK) {
        snprintf(message, sizeof message, "(no message)");
    }
    fprintf(stderr, "error: %s returned %s: %s\n", what, edgevae_status_name(status), message);
}

/* Opens the model and runs CALLS sample + filter calls into *r. */
static void *run_calls(void *arg)
{
    struct results *r = arg;
    edgevae_model *model = NULL;
    edgevae_sampler *sampler = NULL;
    edgevae_filter *filter = NULL;
    edgevae_status s;
    r->failed = 1;
    if ((s = edgevae_model_open(model_dir, NULL, &model)) != EDGEVAE_STATUS_OK) {
        error("edgevae_model_open", s);
        goto done;
    }
    if ((s = edgevae_sampler_new(model, &sampler)) != EDGEVAE_STATUS_OK ||
        (s = edgevae_filter_new(model, &filter)) != EDGEVAE_STATUS_OK) {
        error("edgevae_sampler_new / edgevae_filter_new", s);
        goto done;
    }
    for (size_t call = 0; call < CALLS; call++) {
        float *x = r->samples + call * ROWS * dim;
        s = edgevae_sampler_sample(sampler, ROWS, call, x, ROWS * dim);
        if (s != EDGEVAE_STATUS_OK) {
            error("edgevae_sampler_sample", s);
            goto done;
        }
        s = edgevae_filter_run(filter, x, ROWS * dim, ROWS, 2, r->scores + call * ROWS, ROWS, NULL,
                               0, r->cleaned + call * ROWS * dim, ROWS * dim);
        if (s != EDGEVAE_STATUS_OK) {
            error("edgevae_filter_run", s);
            goto done;
        }
    }
    r->failed = 0;
done:
    edgevae_filter_free(filter);
    edgevae_sampler_free(sampler);
    edgevae_model_free(model);
    return NULL;
}

static int alloc_results(struct results *r)
{
    r->samples = malloc(CALLS * ROWS * dim * sizeof(float));
    r->scores = malloc(CALLS * ROWS * sizeof(float));
    r->cleaned = malloc(CALLS * ROWS * dim * sizeof(float));
    return r->samples && r->scores && r->cleaned;
}

static void free_results(struct results *r)
{
    free(r->samples);
    free(r->scores);
    free(r->cleaned);
}

/* Two threads on one sampler. */
struct shared {
    edgevae_sampler *sampler;
    const float *reference;
    size_t ok, busy, wrong;
};

static void *share(void *arg)
{
    struct shared *sh = arg;
    float *out = malloc(SHARED_ROWS * dim * sizeof(float));
    if (!out) {
        sh->wrong++;
        return NULL;
    }
    for (int i = 0; i < SHARED_CALLS; i++) {
        edgevae_status s = edgevae_sampler_sample(sh->sampler, SHARED_ROWS, 3, out, SHARED_ROWS * dim);
        if (s == EDGEVAE_STATUS_OK) {
            if (memcmp(out, sh->reference, SHARED_ROWS * dim * sizeof(float)) == 0) {
                __atomic_fetch_add(&sh->ok, 1, __ATOMIC_RELAXED);
            } else {
                __atomic_fetch_add(&sh->wrong, 1, __ATOMIC_RELAXED);
            }
        } else if (s == EDGEVAE_STATUS_BUSY) {
            __atomic_fetch_add(&sh->busy, 1, __ATOMIC_RELAXED);
        } else {
            error("edgevae_sampler_sample (shared)", s);
            __atomic_fetch_add(&sh->wrong, 1, __ATOMIC_RELAXED);
        }
    }
    free(out);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s MODEL_DIR\n", argv[0]);
        return 2;
    }
    model_dir = argv[1];
    int exit_code = 1;
    edgevae_model *model = NULL;
    edgevae_sampler *sampler = NULL;
    float *reference = NULL;
    struct results one = {0}, many[THREADS] = {{0}};
    edgevae_status s = edgevae_model_open(model_dir, NULL, &model);
    if (s != EDGEVAE_STATUS_OK || edgevae_model_input_dim(model, &dim) != EDGEVAE_STATUS_OK) {
        error("edgevae_model_open", s);
        goto done;
    }

    /* Part 1: one thread, then THREADS threads at once, each with its own handles. */
    if (!alloc_results(&one)) {
        goto done;
    }
    run_calls(&one);
    pthread_t threads[THREADS];
    for (int t = 0; t < THREADS; t++) {
        if (!alloc_results(&many[t]) || pthread_create(&threads[t], NULL, run_calls, &many[t]) != 0) {
            fprintf(stderr, "error: thread %d could not start\n", t);
            goto done;
        }
    }
    int same = !one.failed;
    for (int t = 0; t < THREADS; t++) {
        pthread_join(threads[t], NULL);
        same = same && !many[t].failed &&
               memcmp(one.samples, many[t].samples, CALLS * ROWS * dim * sizeof(float)) == 0 &&
               memcmp(one.scores, many[t].scores, CALLS * ROWS * sizeof(float)) == 0 &&
               memcmp(one.cleaned, many[t].cleaned, CALLS * ROWS * dim * sizeof(float)) == 0;
    }
    printf("own handles: %d threads x %d calls %s one thread's results\n", THREADS, CALLS,
           same ? "equal" : "DIFFER FROM");

    /* Part 2: two threads, one sampler. */
    reference = malloc(SHARED_ROWS * dim * sizeof(float));
    if (!reference || (s = edgevae_sampler_new(model, &sampler)) != EDGEVAE_STATUS_OK ||
        (s = edgevae_sampler_sample(sampler, SHARED_ROWS, 3, reference, SHARED_ROWS * dim)) !=
            EDGEVAE_STATUS_OK) {
        error("shared sampler", s);
        goto done;
    }
    struct shared sh = {sampler, reference, 0, 0, 0};
    pthread_t a, b;
    if (pthread_create(&a, NULL, share, &sh) != 0 || pthread_create(&b, NULL, share, &sh) != 0) {
        fprintf(stderr, "error: shared threads could not start\n");
        goto done;
    }
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    printf("shared sampler: %zu ok, %zu busy, %zu wrong of %d calls\n", sh.ok, sh.busy, sh.wrong,
           2 * SHARED_CALLS);
    exit_code = same && sh.wrong == 0 && sh.ok + sh.busy == 2 * SHARED_CALLS ? 0 : 1;

done:
    edgevae_sampler_free(sampler);
    edgevae_model_free(model);
    free(reference);
    free_results(&one);
    for (int t = 0; t < THREADS; t++) {
        free_results(&many[t]);
    }
    return exit_code;
}
