/* OpenBLAS loaded with dlopen; see include/cblas_loader.h. The CBLAS enum values are the
   reference CBLAS ones (cblas.h): row major 101, no transpose 111, transpose 112. */
#define _GNU_SOURCE
#include "cblas_loader.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *, int,
                         float, float *, int);
typedef void (*set_threads_fn)(int);
typedef char *(*corename_fn)(void);

static pthread_once_t once = PTHREAD_ONCE_INIT;
static sgemm_fn sgemm;
static corename_fn corename;
static char error[512] = "";

/* OpenBLAS starts its thread pool while it is loaded: one thread per core, or as many as
   OPENBLAS_NUM_THREADS (GOTO_NUM_THREADS, OMP_NUM_THREADS) ask for, each spinning for a while
   before it sleeps. The engine calls it on one thread only, so those threads are waste, and on a
   128-core node with a rank per core they would be 128 x 127 threads, beyond the usual per-user
   process limit (RLIMIT_NPROC, often 4096), where OpenBLAS's pthread_create calls fail. So the
   library is opened with OPENBLAS_NUM_THREADS=1 (which takes precedence over the other two), and
   the variable is put back as it was right after, for the processes this one starts. */
static void *open_single_threaded(const char *name) {
    const char *key = "OPENBLAS_NUM_THREADS";
    const char *before = getenv(key);
    char *saved = before ? strdup(before) : NULL;
    setenv(key, "1", 1);
    void *handle = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (saved) {
        setenv(key, saved, 1);
        free(saved);
    } else {
        unsetenv(key);
    }
    return handle;
}

static void load(void) {
    const char *names[] = {"libopenblas.so.0", "libopenblas.so"};
    void *handle = NULL;
    for (unsigned i = 0; i < sizeof names / sizeof names[0] && !handle; i++) {
        handle = open_single_threaded(names[i]);
    }
    if (!handle) {
        snprintf(error, sizeof error, "OpenBLAS not found (libopenblas.so.0: %s)", dlerror());
        return;
    }
    sgemm_fn f = (sgemm_fn)dlsym(handle, "cblas_sgemm");
    set_threads_fn threads = (set_threads_fn)dlsym(handle, "openblas_set_num_threads");
    if (!f || !threads) {
        snprintf(error, sizeof error, "libopenblas.so.0 lacks cblas_sgemm or openblas_set_num_threads");
        return;
    }
    threads(1);
    corename = (corename_fn)dlsym(handle, "openblas_get_corename");
    sgemm = f;
}

int cblas_loader_load(void) {
    pthread_once(&once, load);
    return sgemm != NULL;
}

const char *cblas_loader_error(void) { return error; }

const char *cblas_loader_corename(void) {
    if (!sgemm || !corename) return "";
    const char *name = corename();
    return name ? name : "";
}

void cblas_loader_sgemm(int transA, int transB, int m, int n, int k, float alpha,
                        const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc) {
    sgemm(101, transA ? 112 : 111, transB ? 112 : 111, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
