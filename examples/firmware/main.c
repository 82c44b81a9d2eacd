/* C firmware on the micro backend: libedgevae_micro.a (no_std Rust, no allocator) linked into a
 * bare-metal program with no C library. The quickstart model's manifest and int8 blobs are in
 * flash (blobs.S); one handle, the scratch arena and the buffers are static RAM. It samples one
 * row (seed 3), filters that row with two pixels flipped (2 passes), asks for a one-byte-short
 * arena to show the error path, and prints every value as its IEEE bits, so that the host's run
 * of the same program (board_host.c) can be compared with the device's (compare.py).
 *
 * Lines: "name index value" (value: 0x and 8 hex digits of an f32, or a decimal), "error ..." (the
 * status and the handle's message), and "# ..." (sizes, counts: reported, not compared). */
#include <stddef.h>
#include <stdint.h>

#include "board.h"
#include "edgevae_micro.h"

extern const uint8_t manifest_json[], manifest_json_end[];
extern const uint8_t sampler_blob[], sampler_blob_end[];
extern const uint8_t filter_blob[], filter_blob_end[];

#define D 784
#define SEED 3
#define PASSES 2
/* Room for the filter's one-row arena (8320 bytes for the quickstart model). */
#define ARENA_BYTES 9216

/* One handle, opened first on the sampler blob and then on the filter blob: on a part with
 * 64 KiB of RAM two open handles and the buffers would not fit. */
static edgevae_micro micro;
static uint32_t arena[ARENA_BYTES / 4];
static float x[D], element_scores[D], cleaned[D], reconstruction[D];
static uint8_t mask[D];

/* Console output without printf. */
static char *put_str(char *at, const char *s) {
    while (*s) *at++ = *s++;
    return at;
}

static char *put_dec(char *at, uint32_t v) {
    char digits[10];
    int n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n) *at++ = digits[--n];
    return at;
}

static char *put_hex(char *at, uint32_t v) {
    for (int shift = 28; shift >= 0; shift -= 4) *at++ = "0123456789abcdef"[(v >> shift) & 15];
    return at;
}

/* One "name index value" line: the value in decimal, or as "0x" and 8 hex digits. */
static void line(const char *name, uint32_t i, uint32_t v, int hex) {
    char buf[64];
    char *at = put_str(buf, name);
    *at++ = ' ';
    at = put_dec(at, i);
    *at++ = ' ';
    at = hex ? put_hex(put_str(at, "0x"), v) : put_dec(at, v);
    *at++ = '\n';
    *at = 0;
    board_write(buf);
}

static void line_dec(const char *name, uint32_t i, uint32_t v) { line(name, i, v, 0); }

/* An f32 as its IEEE bits, so that the comparison sees every bit. */
static void line_f32(const char *name, uint32_t i, float v) {
    union {
        float f;
        uint32_t bits;
    } pun = {.f = v};
    line(name, i, pun.bits, 1);
}

static void note(const char *what, uint32_t v) {
    char buf[128];
    char *at = put_str(buf, "# ");
    at = put_str(at, what);
    *at++ = ' ';
    at = put_dec(at, v);
    *at++ = '\n';
    *at = 0;
    board_write(buf);
}

/* The status and the handle's message, on one line. */
static void report(const char *prefix, edgevae_status status) {
    char message[EDGEVAE_MICRO_MESSAGE_BYTES + 1];
    size_t written = 0;
    if (edgevae_micro_error(&micro, message, sizeof message, &written) != EDGEVAE_STATUS_OK) {
        message[0] = 0;
    }
    board_write(prefix);
    board_write(edgevae_status_name(status));
    board_write(": ");
    board_write(message);
    board_write("\n");
}

static int fail(const char *what, edgevae_status status) {
    board_write("FAILED ");
    report(what, status);
    return 1;
}

static int too_small(size_t bytes) {
    note("FAILED: the static arena is smaller than edgevae_micro_arena_size's", (uint32_t)bytes);
    return 1;
}

static edgevae_status open_blob(const uint8_t *blob, const uint8_t *end) {
    return edgevae_micro_open(&micro, manifest_json, (size_t)(manifest_json_end - manifest_json),
                              blob, (size_t)(end - blob));
}

int main(void) {
    note("flash bytes of the manifest and the blobs",
         (uint32_t)(filter_blob_end - manifest_json));
    note("handle bytes (sizeof edgevae_micro)", (uint32_t)sizeof micro);

    board_count_start();
    edgevae_status s = open_blob(sampler_blob, sampler_blob_end);
    uint32_t open_count = board_count();
    if (s != EDGEVAE_STATUS_OK) return fail("open sampler: ", s);
    size_t bytes = 0;
    s = edgevae_micro_arena_size(&micro, 1, &bytes);
    if (s != EDGEVAE_STATUS_OK) return fail("sampler arena: ", s);
    if (bytes > sizeof arena) return too_small(bytes);
    line_dec("sampler_arena", 0, (uint32_t)bytes);
    board_count_start();
    s = edgevae_micro_sample(&micro, (uint8_t *)arena, bytes, 1, SEED, x, D);
    uint32_t sample_count = board_count();
    if (s != EDGEVAE_STATUS_OK) return fail("sample: ", s);
    for (uint32_t i = 0; i < D; i++) line_f32("sample", i, x[i]);
    if ((s = edgevae_micro_close(&micro)) != EDGEVAE_STATUS_OK) return fail("close: ", s);

    x[300] = 1.0f - x[300];
    x[500] = 1.0f - x[500];
    board_count_start();
    s = open_blob(filter_blob, filter_blob_end);
    uint32_t open_filter_count = board_count();
    if (s != EDGEVAE_STATUS_OK) return fail("open filter: ", s);
    s = edgevae_micro_arena_size(&micro, 1, &bytes);
    if (s != EDGEVAE_STATUS_OK) return fail("filter arena: ", s);
    if (bytes > sizeof arena) return too_small(bytes);
    line_dec("filter_arena", 0, (uint32_t)bytes);
    float score = 0;
    board_count_start();
    s = edgevae_micro_filter(&micro, (uint8_t *)arena, bytes, x, D, 1, PASSES, &score, 1,
                             element_scores, D, mask, D, cleaned, D, reconstruction, D);
    uint32_t filter_count = board_count();
    if (s != EDGEVAE_STATUS_OK) return fail("filter: ", s);
    line_f32("score", 0, score);
    for (uint32_t i = 0; i < D; i++) {
        line_f32("element_score", i, element_scores[i]);
        line_dec("mask", i, mask[i]);
        line_f32("cleaned", i, cleaned[i]);
        line_f32("reconstruction", i, reconstruction[i]);
    }
    s = edgevae_micro_filter(&micro, (uint8_t *)arena, bytes - 1, x, D, 1, PASSES, &score, 1,
                             element_scores, D, mask, D, cleaned, D, reconstruction, D);
    report("error one byte short: ", s);
    if (s != EDGEVAE_STATUS_BUFFER_TOO_SMALL) return 1;
    if ((s = edgevae_micro_close(&micro)) != EDGEVAE_STATUS_OK) return fail("close: ", s);

    note("instructions: open the sampler blob (SHA-256 included)", open_count);
    note("instructions: sample 1 row", sample_count);
    note("instructions: open the filter blob (SHA-256 included)", open_filter_count);
    note("instructions: filter 1 row in 2 passes", filter_count);
    note("peak stack bytes", (uint32_t)board_peak_stack());
    board_write("# done\n");
    return 0;
}
