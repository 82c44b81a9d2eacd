/*
 * edgevae from C: open a model directory, draw samples, and filter a batch in which half the
 * rows have about 5 % of their pixels flipped (x -> 1 - x).
 *
 *   edgevae-example [MODEL_DIR] [--threads N] [--require-filter]
 *
 * MODEL_DIR defaults to models/quickstart (run from the repository root). The filter needs a
 * model exported with outlier calibration; on a model without it the filter part is skipped
 * with the library's message, and the exit status is 0 unless --require-filter is given.
 * Every call's status is checked; on failure the library's last error is printed and the
 * program exits 1 after freeing what it made.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgevae.h"

enum { BATCH = 8 };

/* Prints a call's status and the calling thread's last error (which names the function). */
static void report(const char *level, const char *what, edgevae_status status)
{
    char message[1024];
    size_t written = 0;
    edgevae_status got = edgevae_last_error(message, sizeof message, &written);
    if (got != EDGEVAE_STATUS_OK && got != EDGEVAE_STATUS_BUFFER_TOO_SMALL) {
        snprintf(message, sizeof message, "(no message: %s)", edgevae_status_name(got));
    }
    fprintf(stderr, "%s: %s returned %s (%d)\n  %s%s\n", level, what,
            edgevae_status_name(status), (int)status, message,
            got == EDGEVAE_STATUS_BUFFER_TOO_SMALL ? " [cut]" : "");
}

/* Runs a call; on failure reports it and jumps to the cleanup with exit status 1. */
#define CHECK(call)                                                                            \
    do {                                                                                       \
        edgevae_status status_ = (call);                                                       \
        if (status_ != EDGEVAE_STATUS_OK) {                                                    \
            report("error", #call, status_);                                                            \
            goto done;                                                                         \
        }                                                                                      \
    } while (0)

/* A deterministic hash of (row, column) in [0, 1): which pixels get corrupted. */
static double uniform(uint64_t row, uint64_t column)
{
    uint64_t z = (row << 32) ^ column ^ 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (double)(z >> 11) / 9007199254740992.0; /* 2^53 */
}

int main(int argc, char **argv)
{
    const char *dir = "models/quickstart";
    unsigned threads = 0;
    int require_filter = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--require-filter") == 0) {
            require_filter = 1;
        } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            threads = (unsigned)strtoul(argv[++i], NULL, 10);
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "usage: %s [MODEL_DIR] [--threads N] [--require-filter]\n", argv[0]);
            return 2;
        } else {
            dir = argv[i];
        }
    }

    int exit_code = 1;
    edgevae_model *model = NULL;
    edgevae_sampler *sampler = NULL;
    edgevae_filter *filter = NULL;
    float *samples = NULL, *x = NULL, *cleaned = NULL;
    uint8_t *mask = NULL, *corrupted = NULL;
    float scores[BATCH];

    printf("edgevae %s\n", edgevae_version());

    edgevae_options options;
    CHECK(edgevae_options_default(&options));
    options.threads = threads;
    CHECK(edgevae_model_open(dir, &options, &model));
    size_t dim = 0, latent = 0;
    CHECK(edgevae_model_input_dim(model, &dim));
    CHECK(edgevae_model_latent(model, &latent));
    printf("model: %s, input_dim %zu, latent %zu\n", dir, dim, latent);

    /* Samples. */
    const size_t len = BATCH * dim;
    samples = malloc(len * sizeof *samples);
    x = malloc(len * sizeof *x);
    cleaned = malloc(len * sizeof *cleaned);
    mask = malloc(len);
    corrupted = calloc(len, 1);
    if (!samples || !x || !cleaned || !mask || !corrupted) {
        fprintf(stderr, "error: out of memory\n");
        goto done;
    }
    CHECK(edgevae_sampler_new(model, &sampler));
    CHECK(edgevae_sampler_sample(sampler, BATCH, 1, samples, len));
    double sum = 0.0, lo = samples[0], hi = samples[0];
    printf("samples: %d x %zu, per-sample means", BATCH, dim);
    for (size_t row = 0; row < BATCH; row++) {
        double row_sum = 0.0;
        for (size_t j = 0; j < dim; j++) {
            float v = samples[row * dim + j];
            row_sum += v;
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
        sum += row_sum;
        printf(" %.4f", row_sum / (double)dim);
    }
    printf("\nsamples: mean %.4f, range [%.4f, %.4f]\n", sum / (double)len, lo, hi);

    /* A wrong buffer length is an error with a message, and nothing is written. */
    edgevae_status status = edgevae_sampler_sample(sampler, BATCH, 1, samples, len - 1);
    if (status != EDGEVAE_STATUS_BUFFER_LENGTH) {
        fprintf(stderr, "error: a short buffer gave %s\n", edgevae_status_name(status));
        goto done;
    }
    char message[256];
    size_t written = 0;
    CHECK(edgevae_last_error(message, sizeof message, &written));
    printf("short buffer rejected: %s: %s\n", edgevae_status_name(status), message);

    /* Filtering: a fresh batch, with rows 0, 2, 4, 6 corrupted. */
    status = edgevae_filter_new(model, &filter);
    if (status == EDGEVAE_STATUS_NOT_CALIBRATED) {
        report(require_filter ? "error" : "note", "edgevae_filter_new", status);
        printf("filter: skipped, the model has no outlier calibration%s\n",
               require_filter ? " (--require-filter: failing)" : "");
        exit_code = require_filter ? 1 : 0;
        goto done;
    }
    CHECK(status);
    double threshold = 0.0;
    CHECK(edgevae_filter_score_threshold(filter, &threshold));
    CHECK(edgevae_sampler_sample(sampler, BATCH, 7, x, len));
    size_t n_corrupted = 0;
    for (size_t row = 0; row < BATCH; row += 2) {
        for (size_t j = 0; j < dim; j++) {
            if (uniform(row, j) < 0.05) {
                x[row * dim + j] = 1.0f - x[row * dim + j];
                corrupted[row * dim + j] = 1;
                n_corrupted++;
            }
        }
    }
    printf("filter: score threshold %.4f; rows 0, 2, 4, 6 have %zu pixels flipped (%.2f%%)\n",
           threshold, n_corrupted, 100.0 * (double)n_corrupted / (double)len);

    const size_t pass_counts[] = {1, 3};
    for (size_t p = 0; p < 2; p++) {
        size_t passes = pass_counts[p];
        CHECK(edgevae_filter_run(filter, x, len, BATCH, passes, scores, BATCH, mask, len, cleaned,
                                 len));
        size_t masked = 0, hits = 0, flagged_corrupted = 0, flagged_clean = 0;
        printf("passes %zu:\n", passes);
        for (size_t row = 0; row < BATCH; row++) {
            size_t row_masked = 0;
            for (size_t j = 0; j < dim; j++) {
                row_masked += mask[row * dim + j];
                hits += mask[row * dim + j] & corrupted[row * dim + j];
            }
            masked += row_masked;
            int is_corrupted = row % 2 == 0;
            int outlier = scores[row] > threshold;
            if (outlier) {
                if (is_corrupted) {
                    flagged_corrupted++;
                } else {
                    flagged_clean++;
                }
            }
            printf("  row %zu %-9s score %9.4f %-7s masked %5.2f%%\n", row,
                   is_corrupted ? "corrupted" : "clean", scores[row],
                   outlier ? "outlier" : "inlier", 100.0 * (double)row_masked / (double)dim);
        }
        printf("  masked: %.2f%% of elements; %zu of %zu flipped pixels masked\n",
               100.0 * (double)masked / (double)len, hits, n_corrupted);
        printf("  outliers: %zu of 4 corrupted rows, %zu of 4 clean rows\n", flagged_corrupted,
               flagged_clean);
    }
    exit_code = 0;

done:
    /* Freeing the handles is all the shutdown there is: no thread of edgevae or ONNX Runtime
     * outlives them (ONNX Runtime's telemetry thread is kept from starting, see
     * edgevae_model_open), so returning from main is safe. */
    edgevae_filter_free(filter);
    edgevae_sampler_free(sampler);
    edgevae_model_free(model);
    free(samples);
    free(x);
    free(cleaned);
    free(mask);
    free(corrupted);
    return exit_code;
}
