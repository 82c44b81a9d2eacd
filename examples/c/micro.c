/* The micro backend through the C ABI, as firmware would use it: the manifest and the int8
 * weight blobs are bytes the program holds (here read from a model directory into 16-byte
 * aligned memory; on a device they are in flash), the handles are static storage the program
 * owns, and every call gets a scratch arena the program owns (a static array): edgevae
 * allocates nothing. Bare-metal firmware does the same against libedgevae_micro.a
 * (examples/firmware).
 *
 *   micro MODEL_DIR      e.g. models/quickstart (needs sampler_micro_int8.bin, filter_micro_int8.bin)
 *
 * Prints the arena sizes, one sample (seed 3), the filter's verdict on that sample with two
 * pixels flipped, and what a one-byte-short arena gives. Exit status 0 when all worked. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edgevae.h"

#define MAX_DIM 1024
/* Static scratch, as firmware would reserve it; uint32_t for the 4-byte alignment edgevae needs. */
static uint32_t arena[16384 / 4];
/* The handles: caller storage too (no heap), opened in place and never copied. */
static edgevae_micro sampler, filter;

static void fail(const char *what, const edgevae_micro *micro, edgevae_status status) {
    char message[EDGEVAE_MICRO_MESSAGE_BYTES + 1];
    size_t written = 0;
    edgevae_micro_error(micro, message, sizeof message, &written);
    fprintf(stderr, "%s: %s: %s\n", what, edgevae_status_name(status), message);
    exit(1);
}

/* The whole file at dir/name in 16-byte aligned memory (the caller frees it). */
static uint8_t *read_file(const char *dir, const char *name, size_t *len) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    size_t rounded = ((size_t)size + 15) / 16 * 16;
    uint8_t *bytes = aligned_alloc(16, rounded > 0 ? rounded : 16);
    if (!bytes || fread(bytes, 1, (size_t)size, f) != (size_t)size) {
        fprintf(stderr, "%s: cannot read\n", path);
        exit(1);
    }
    fclose(f);
    *len = (size_t)size;
    return bytes;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s MODEL_DIR\n", argv[0]);
        return 2;
    }
    size_t manifest_len, sampler_len, filter_len;
    uint8_t *manifest = read_file(argv[1], "manifest.json", &manifest_len);
    uint8_t *sampler_blob = read_file(argv[1], "sampler_micro_int8.bin", &sampler_len);
    uint8_t *filter_blob = read_file(argv[1], "filter_micro_int8.bin", &filter_len);

    edgevae_status s = edgevae_micro_open(&sampler, manifest, manifest_len, sampler_blob, sampler_len);
    if (s != EDGEVAE_STATUS_OK) fail("open sampler blob", &sampler, s);
    s = edgevae_micro_open(&filter, manifest, manifest_len, filter_blob, filter_len);
    if (s != EDGEVAE_STATUS_OK) fail("open filter blob", &filter, s);
    /* The handles hold the parsed manifest: its bytes are not needed any more. */
    free(manifest);

    size_t sampler_arena = 0, filter_arena = 0;
    if ((s = edgevae_micro_arena_size(&sampler, 1, &sampler_arena)) != EDGEVAE_STATUS_OK) fail("arena size", &sampler, s);
    if ((s = edgevae_micro_arena_size(&filter, 1, &filter_arena)) != EDGEVAE_STATUS_OK) fail("arena size", &filter, s);
    printf("arena bytes per row: sampler %zu, filter %zu\n", sampler_arena, filter_arena);
    if (filter_arena > sizeof arena || sampler_arena > sizeof arena) {
        fprintf(stderr, "the static arena (%zu bytes) is too small\n", sizeof arena);
        return 1;
    }

    static float x[MAX_DIM], element_scores[MAX_DIM], cleaned[MAX_DIM], reconstruction[MAX_DIM];
    static uint8_t mask[MAX_DIM];
    const size_t d = 784;
    s = edgevae_micro_sample(&sampler, (uint8_t *)arena, sampler_arena, 1, 3, x, d);
    if (s != EDGEVAE_STATUS_OK) fail("sample", &sampler, s);
    double sum = 0;
    for (size_t i = 0; i < d; i++) sum += x[i];
    printf("sample (seed 3): sum %.3f, x[485] %.4f\n", sum, x[485]);

    x[300] = 1.0f - x[300];
    x[500] = 1.0f - x[500];
    float score = 0;
    s = edgevae_micro_filter(&filter, (uint8_t *)arena, filter_arena, x, d, 1, 2, &score, 1,
                             element_scores, d, mask, d, cleaned, d, reconstruction, d);
    if (s != EDGEVAE_STATUS_OK) fail("filter", &filter, s);
    size_t masked = 0;
    for (size_t i = 0; i < d; i++) masked += mask[i];
    printf("filter (2 passes, pixels 300 and 500 flipped): score %.3f, %zu masked, mask[300] %u, mask[500] %u\n",
           score, masked, mask[300], mask[500]);

    s = edgevae_micro_filter(&filter, (uint8_t *)arena, filter_arena - 1, x, d, 1, 2, &score, 1,
                             element_scores, d, mask, d, cleaned, d, reconstruction, d);
    char message[EDGEVAE_MICRO_MESSAGE_BYTES + 1];
    size_t written = 0;
    edgevae_micro_error(&filter, message, sizeof message, &written);
    printf("arena one byte short: %s: %s\n", edgevae_status_name(s), message);
    const int short_arena_refused = s == EDGEVAE_STATUS_BUFFER_TOO_SMALL;

    if ((s = edgevae_micro_close(&filter)) != EDGEVAE_STATUS_OK) fail("close", &filter, s);
    if ((s = edgevae_micro_close(&sampler)) != EDGEVAE_STATUS_OK) fail("close", &sampler, s);
    free(filter_blob);
    free(sampler_blob);
    return short_arena_refused ? 0 : 1;
}
