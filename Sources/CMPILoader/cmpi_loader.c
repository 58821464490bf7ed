/* Open MPI loaded with dlopen; see include/cmpi_loader.h. mpi.h is included for its types,
   prototypes and constants only: nothing here references a libmpi symbol at link time. */
#define _GNU_SOURCE
#include "cmpi_loader.h"

#include <dlfcn.h>
#include <stdio.h>

#if !__has_include(<mpi.h>)
#error "mpi.h not found: install Open MPI 4's headers (Debian: libopenmpi-dev; a cluster: module load OpenMPI)"
#endif
#include <mpi.h>

#if !defined(OMPI_MAJOR_VERSION)
#error "mpi.h is not Open MPI's: SpikeSweep loads Open MPI (libmpi.so.40) and mirrors its types"
#endif

/* The header's mirror of mpi.h. */
_Static_assert(sizeof(cmpi_comm) == sizeof(MPI_Comm), "MPI_Comm");
_Static_assert(sizeof(cmpi_datatype) == sizeof(MPI_Datatype), "MPI_Datatype");
_Static_assert(sizeof(cmpi_errhandler) == sizeof(MPI_Errhandler), "MPI_Errhandler");
_Static_assert(sizeof(cmpi_status) == sizeof(MPI_Status), "MPI_Status size");
_Static_assert(offsetof(cmpi_status, source) == offsetof(MPI_Status, MPI_SOURCE), "MPI_Status.MPI_SOURCE");
_Static_assert(offsetof(cmpi_status, tag) == offsetof(MPI_Status, MPI_TAG), "MPI_Status.MPI_TAG");
_Static_assert(offsetof(cmpi_status, error) == offsetof(MPI_Status, MPI_ERROR), "MPI_Status.MPI_ERROR");
_Static_assert(CMPI_SUCCESS == MPI_SUCCESS, "MPI_SUCCESS");
_Static_assert(CMPI_ANY_SOURCE == MPI_ANY_SOURCE, "MPI_ANY_SOURCE");
_Static_assert(CMPI_ANY_TAG == MPI_ANY_TAG, "MPI_ANY_TAG");
_Static_assert(CMPI_MAX_ERROR_STRING == MPI_MAX_ERROR_STRING, "MPI_MAX_ERROR_STRING");
_Static_assert(CMPI_MAX_LIBRARY_VERSION_STRING == MPI_MAX_LIBRARY_VERSION_STRING, "MPI_MAX_LIBRARY_VERSION_STRING");
_Static_assert(CMPI_THREAD_SINGLE == MPI_THREAD_SINGLE, "MPI_THREAD_SINGLE");
_Static_assert(CMPI_THREAD_FUNNELED == MPI_THREAD_FUNNELED, "MPI_THREAD_FUNNELED");
_Static_assert(CMPI_THREAD_SERIALIZED == MPI_THREAD_SERIALIZED, "MPI_THREAD_SERIALIZED");
_Static_assert(CMPI_THREAD_MULTIPLE == MPI_THREAD_MULTIPLE, "MPI_THREAD_MULTIPLE");

/* Every function resolved, declared with the type of its prototype in mpi.h. */
#define CMPI_FUNCTIONS(X) \
    X(MPI_Init_thread) X(MPI_Initialized) X(MPI_Finalized) X(MPI_Finalize) X(MPI_Abort) \
    X(MPI_Error_string) X(MPI_Get_version) X(MPI_Get_library_version) \
    X(MPI_Comm_rank) X(MPI_Comm_size) X(MPI_Comm_set_errhandler) \
    X(MPI_Send) X(MPI_Iprobe) X(MPI_Probe) X(MPI_Recv) X(MPI_Get_count)

/* The globals behind mpi.h's handle macros (MPI_COMM_WORLD is
   OMPI_PREDEFINED_GLOBAL(MPI_Comm, ompi_mpi_comm_world), …): the handle is the global's address. */
#define CMPI_HANDLES(X) \
    X(comm_world, ompi_mpi_comm_world) X(byte, ompi_mpi_byte) X(errors_return, ompi_mpi_errors_return)

/* mpi.h declares each of these globals (checked without referencing them). */
#define CMPI_DECLARED(name, global) _Static_assert(sizeof(&global) == sizeof(void *), #global);
CMPI_HANDLES(CMPI_DECLARED)

static struct {
#define CMPI_FIELD(name) __typeof__(name) *name;
    CMPI_FUNCTIONS(CMPI_FIELD)
#define CMPI_HANDLE_FIELD(name, global) void *name;
    CMPI_HANDLES(CMPI_HANDLE_FIELD)
} cmpi;

static char cmpi_path[4096];

int cmpi_load(char *error, size_t capacity) {
    void *library = dlopen(CMPI_LIBRARY_NAME, RTLD_NOW | RTLD_GLOBAL);
    if (!library) {
        const char *reason = dlerror();
        snprintf(error, capacity, "%s", reason ? reason : "dlopen failed");
        return -1;
    }
    void *symbol;
#define CMPI_RESOLVE(name, field) \
    if (!(symbol = dlsym(library, name))) { \
        snprintf(error, capacity, "%s has no symbol %s", CMPI_LIBRARY_NAME, name); \
        dlclose(library); \
        return -1; \
    } \
    field = symbol;
#define CMPI_RESOLVE_FUNCTION(name) CMPI_RESOLVE(#name, *(void **)&cmpi.name)
    CMPI_FUNCTIONS(CMPI_RESOLVE_FUNCTION)
#define CMPI_RESOLVE_HANDLE(name, global) CMPI_RESOLVE(#global, cmpi.name)
    CMPI_HANDLES(CMPI_RESOLVE_HANDLE)
    Dl_info info;
    if (dladdr(symbol, &info) && info.dli_fname) {
        snprintf(cmpi_path, sizeof cmpi_path, "%s", info.dli_fname);
    } else {
        snprintf(cmpi_path, sizeof cmpi_path, "%s", CMPI_LIBRARY_NAME);
    }
    return 0;
}

const char *cmpi_library_path(void) { return cmpi_path[0] ? cmpi_path : NULL; }

cmpi_comm cmpi_comm_world(void) { return (cmpi_comm)cmpi.comm_world; }
cmpi_datatype cmpi_byte(void) { return (cmpi_datatype)cmpi.byte; }
cmpi_errhandler cmpi_errors_return(void) { return (cmpi_errhandler)cmpi.errors_return; }

#define COMM(c) ((MPI_Comm)(c))
#define TYPE(t) ((MPI_Datatype)(t))
#define STATUS(s) ((MPI_Status *)(s))

int cmpi_init_thread(int required, int *provided) { return cmpi.MPI_Init_thread(NULL, NULL, required, provided); }
int cmpi_initialized(int *flag) { return cmpi.MPI_Initialized(flag); }
int cmpi_finalized(int *flag) { return cmpi.MPI_Finalized(flag); }
int cmpi_finalize(void) { return cmpi.MPI_Finalize(); }
int cmpi_abort(cmpi_comm comm, int code) { return cmpi.MPI_Abort(COMM(comm), code); }
int cmpi_error_string(int code, char *text, int *length) { return cmpi.MPI_Error_string(code, text, length); }
int cmpi_get_version(int *major, int *minor) { return cmpi.MPI_Get_version(major, minor); }
int cmpi_get_library_version(char *text, int *length) { return cmpi.MPI_Get_library_version(text, length); }
int cmpi_comm_rank(cmpi_comm comm, int *rank) { return cmpi.MPI_Comm_rank(COMM(comm), rank); }
int cmpi_comm_size(cmpi_comm comm, int *size) { return cmpi.MPI_Comm_size(COMM(comm), size); }
int cmpi_comm_set_errhandler(cmpi_comm comm, cmpi_errhandler handler) {
    return cmpi.MPI_Comm_set_errhandler(COMM(comm), (MPI_Errhandler)handler);
}
int cmpi_send(const void *buffer, int count, cmpi_datatype type, int destination, int tag, cmpi_comm comm) {
    return cmpi.MPI_Send(buffer, count, TYPE(type), destination, tag, COMM(comm));
}
int cmpi_iprobe(int source, int tag, cmpi_comm comm, int *flag, cmpi_status *status) {
    return cmpi.MPI_Iprobe(source, tag, COMM(comm), flag, STATUS(status));
}
int cmpi_probe(int source, int tag, cmpi_comm comm, cmpi_status *status) {
    return cmpi.MPI_Probe(source, tag, COMM(comm), STATUS(status));
}
int cmpi_recv(void *buffer, int count, cmpi_datatype type, int source, int tag, cmpi_comm comm, cmpi_status *status) {
    return cmpi.MPI_Recv(buffer, count, TYPE(type), source, tag, COMM(comm), STATUS(status));
}
int cmpi_get_count(const cmpi_status *status, cmpi_datatype type, int *count) {
    return cmpi.MPI_Get_count((const MPI_Status *)status, TYPE(type), count);
}
