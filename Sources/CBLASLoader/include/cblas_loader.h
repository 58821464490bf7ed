#ifndef SPIKESWEEP_CBLAS_LOADER_H
#define SPIKESWEEP_CBLAS_LOADER_H
/* OpenBLAS, loaded with dlopen at run time (never linked), for the engine's dense path: the
   tool runs on nodes without OpenBLAS and then keeps to its event-driven path. */

/* Loads libopenblas.so.0 (or libopenblas.so) once, single-threaded: opened with
   OPENBLAS_NUM_THREADS=1 so that it starts no thread pool (the variable is restored after), and
   its thread count set to 1 (the engine runs its own workers). Returns 1 when cblas_sgemm is
   available, else 0, with the reason in cblas_loader_error(). Thread-safe. */
int cblas_loader_load(void);
const char *cblas_loader_error(void);
/* The loaded library's core name (openblas_get_corename), or "" before a successful load. */
const char *cblas_loader_corename(void);

/* Row-major single-precision GEMM, C = alpha·op(A)·op(B) + beta·C, op(X) = X or Xᵀ
   (transA/transB 0 or 1). Only after cblas_loader_load() returned 1. */
void cblas_loader_sgemm(int transA, int transB, int m, int n, int k, float alpha,
                        const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc);
#endif
