#ifndef SPIKESWEEP_CMPI_LOADER_H
#define SPIKESWEEP_CMPI_LOADER_H
/* Open MPI 4 (libmpi.so.40), loaded at run time with dlopen instead of linked: the tool then
   runs where Open MPI is absent and needs it only in MPI mode.

   This header does not include mpi.h, so Swift code that imports it needs no MPI include
   path. Its types and constants mirror Open MPI's; cmpi_loader.c is compiled against mpi.h
   and checks with static assertions that they agree, and declares every function pointer
   with the type of mpi.h's prototype. Call cmpi_load() (once) before anything else here. */
#include <stddef.h>

#pragma clang assume_nonnull begin

/* The library looked for, by its soname: dlopen searches LD_LIBRARY_PATH, the executable's
   run path, /etc/ld.so.cache and the system directories. */
#define CMPI_LIBRARY_NAME "libmpi.so.40"

typedef struct cmpi_opaque_comm *cmpi_comm;              /* MPI_Comm */
typedef struct cmpi_opaque_datatype *cmpi_datatype;      /* MPI_Datatype */
typedef struct cmpi_opaque_errhandler *cmpi_errhandler;  /* MPI_Errhandler */

/* MPI_Status as Open MPI lays it out: the three public fields, then two of its own. */
typedef struct cmpi_status {
    int source;                 /* MPI_SOURCE */
    int tag;                    /* MPI_TAG */
    int error;                  /* MPI_ERROR */
    int private_cancelled;
    size_t private_ucount;
} cmpi_status;

#define CMPI_SUCCESS 0
#define CMPI_ANY_SOURCE (-1)
#define CMPI_ANY_TAG (-1)
#define CMPI_MAX_ERROR_STRING 256
#define CMPI_MAX_LIBRARY_VERSION_STRING 256
#define CMPI_THREAD_SINGLE 0
#define CMPI_THREAD_FUNNELED 1
#define CMPI_THREAD_SERIALIZED 2
#define CMPI_THREAD_MULTIPLE 3

/* Loads CMPI_LIBRARY_NAME (RTLD_NOW | RTLD_GLOBAL: Open MPI's own plugins resolve symbols
   against it) and resolves every function and predefined handle below. Returns 0, or -1 with
   what failed (dlerror's text, or the symbol that is missing) in `error`. Not thread-safe:
   the Swift wrapper calls it once. */
int cmpi_load(char *error, size_t capacity);

/* The path of the file that was loaded (from dladdr), or NULL before a successful load. */
const char *_Nullable cmpi_library_path(void);

/* Open MPI's predefined handles (MPI_COMM_WORLD, MPI_BYTE, MPI_ERRORS_RETURN), which mpi.h
   defines as addresses of library globals; never null after a successful load. */
cmpi_comm cmpi_comm_world(void);
cmpi_datatype cmpi_byte(void);
cmpi_errhandler cmpi_errors_return(void);

/* The MPI functions SpikeSweep calls, with MPI's arguments and return codes (a buffer of no
   bytes may be null). */
int cmpi_init_thread(int required, int *provided);  /* MPI_Init_thread(NULL, NULL, …) */
int cmpi_initialized(int *flag);
int cmpi_finalized(int *flag);
int cmpi_finalize(void);
int cmpi_abort(cmpi_comm comm, int code);
int cmpi_error_string(int code, char *text, int *length);
int cmpi_get_version(int *major, int *minor);
int cmpi_get_library_version(char *text, int *length);
int cmpi_comm_rank(cmpi_comm comm, int *rank);
int cmpi_comm_size(cmpi_comm comm, int *size);
int cmpi_comm_set_errhandler(cmpi_comm comm, cmpi_errhandler handler);
int cmpi_send(const void *_Nullable buffer, int count, cmpi_datatype type, int destination, int tag, cmpi_comm comm);
int cmpi_iprobe(int source, int tag, cmpi_comm comm, int *flag, cmpi_status *status);
int cmpi_probe(int source, int tag, cmpi_comm comm, cmpi_status *status);
int cmpi_recv(void *_Nullable buffer, int count, cmpi_datatype type, int source, int tag, cmpi_comm comm, cmpi_status *status);
int cmpi_get_count(const cmpi_status *status, cmpi_datatype type, int *count);

#pragma clang assume_nonnull end

#endif
