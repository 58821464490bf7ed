#ifndef SPIKESWEEP_COPENBLAS_SHIM_H
#define SPIKESWEEP_COPENBLAS_SHIM_H
/* Debian's libopenblas-dev puts cblas.h under the pthread variant's include folder,
   which pkg-config "openblas" adds to the search path. */
#include <cblas.h>

/* OpenBLAS' own thread count, so a rank trains single-threaded whatever the environment. */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
char *openblas_get_corename(void);
#endif
