/* A stand-in for libcurand, carried to a GPU machine whose CUDA libraries lack it.
 *
 * candle creates a cuRAND generator whenever it opens a CUDA device, but edgevae never asks it
 * for numbers: noise and initial weights come from the trainer's own seeded RNG on the CPU. So
 * creating, seeding, streaming and destroying a generator succeed here, and every request for
 * numbers fails with CURAND_STATUS_INTERNAL_ERROR: if a code path ever does draw on the device,
 * the run stops with an error instead of training on garbage.
 * Built by scripts/gpu-check.sh build; used by `run` only when no real libcurand is found. */
#include <stddef.h>

typedef int curandStatus_t;
typedef struct edgevae_curand_stub *curandGenerator_t;
enum { CURAND_STATUS_SUCCESS = 0, CURAND_STATUS_INTERNAL_ERROR = 999 };

static struct edgevae_curand_stub {
    int unused;
} the_generator;

curandStatus_t curandCreateGenerator(curandGenerator_t *generator, int kind) {
    (void)kind;
    *generator = &the_generator;
    return CURAND_STATUS_SUCCESS;
}
curandStatus_t curandSetPseudoRandomGeneratorSeed(curandGenerator_t g, unsigned long long seed) {
    (void)g; (void)seed;
    return CURAND_STATUS_SUCCESS;
}
curandStatus_t curandSetGeneratorOffset(curandGenerator_t g, unsigned long long offset) {
    (void)g; (void)offset;
    return CURAND_STATUS_SUCCESS;
}
curandStatus_t curandSetStream(curandGenerator_t g, void *stream) {
    (void)g; (void)stream;
    return CURAND_STATUS_SUCCESS;
}
curandStatus_t curandDestroyGenerator(curandGenerator_t g) {
    (void)g;
    return CURAND_STATUS_SUCCESS;
}
curandStatus_t curandGenerateUniform(curandGenerator_t g, float *out, size_t n) {
    (void)g; (void)out; (void)n;
    return CURAND_STATUS_INTERNAL_ERROR;
}
curandStatus_t curandGenerateUniformDouble(curandGenerator_t g, double *out, size_t n) {
    (void)g; (void)out; (void)n;
    return CURAND_STATUS_INTERNAL_ERROR;
}
curandStatus_t curandGenerateNormal(curandGenerator_t g, float *out, size_t n, float m, float s) {
    (void)g; (void)out; (void)n; (void)m; (void)s;
    return CURAND_STATUS_INTERNAL_ERROR;
}
curandStatus_t curandGenerateNormalDouble(curandGenerator_t g, double *out, size_t n, double m,
                                          double s) {
    (void)g; (void)out; (void)n; (void)m; (void)s;
    return CURAND_STATUS_INTERNAL_ERROR;
}
curandStatus_t curandGenerateLogNormal(curandGenerator_t g, float *out, size_t n, float m,
                                       float s) {
    (void)g; (void)out; (void)n; (void)m; (void)s;
    return CURAND_STATUS_INTERNAL_ERROR;
}
curandStatus_t curandGenerateLogNormalDouble(curandGenerator_t g, double *out, size_t n,
                                             double m, double s) {
    (void)g; (void)out; (void)n; (void)m; (void)s;
    return CURAND_STATUS_INTERNAL_ERROR;
}
