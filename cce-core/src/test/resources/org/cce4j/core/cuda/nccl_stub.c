/*
 * A stand-in for libnccl.so.2 with NCCL's real prototypes (nccl.h), compiled by NcclBindingTest with
 * the system's C compiler, so that the FFM binding's argument order and the 128-byte ncclUniqueId passed
 * by value are checked on a machine without NCCL. Each function records what it received.
 */
#include <stddef.h>
#include <string.h>
#include <stdint.h>

typedef struct { char internal[128]; } ncclUniqueId;
typedef struct ncclComm* ncclComm_t;
typedef void* cudaStream_t;

static char last[256] = "";
static uintptr_t seen[8];

int ncclGetVersion(int* version) { *version = 22105; return 0; }

int ncclGetUniqueId(ncclUniqueId* id) {
    for (int i = 0; i < 128; i++) id->internal[i] = (char) (i * 7 + 1);
    return 0;
}

/* the "communicator" encodes what arrived: first and last id byte, nranks, rank */
int ncclCommInitRank(ncclComm_t* comm, int nranks, ncclUniqueId id, int rank) {
    uintptr_t v = ((uintptr_t) (unsigned char) id.internal[0] << 24) | ((uintptr_t) (unsigned char) id.internal[127] << 16)
            | ((uintptr_t) nranks << 8) | (uintptr_t) rank;
    *comm = (ncclComm_t) v;
    return 0;
}

static int record(const void* s, void* r, size_t n, int type, int opOrRoot, ncclComm_t comm, cudaStream_t stream) {
    if (comm == NULL) { strcpy(last, "comm is NULL"); return 4; }
    seen[0] = (uintptr_t) s; seen[1] = (uintptr_t) r; seen[2] = n; seen[3] = (uintptr_t) type;
    seen[4] = (uintptr_t) opOrRoot; seen[5] = (uintptr_t) comm; seen[6] = (uintptr_t) stream;
    return 0;
}

int ncclAllReduce(const void* s, void* r, size_t n, int type, int op, ncclComm_t comm, cudaStream_t st) { seen[7] = 1; return record(s, r, n, type, op, comm, st); }
int ncclReduceScatter(const void* s, void* r, size_t n, int type, int op, ncclComm_t comm, cudaStream_t st) { seen[7] = 2; return record(s, r, n, type, op, comm, st); }
int ncclAllGather(const void* s, void* r, size_t n, int type, ncclComm_t comm, cudaStream_t st) { seen[7] = 3; return record(s, r, n, type, -1, comm, st); }
int ncclBroadcast(const void* s, void* r, size_t n, int type, int root, ncclComm_t comm, cudaStream_t st) { seen[7] = 4; return record(s, r, n, type, root, comm, st); }
int ncclGroupStart(void) { return 0; }
int ncclGroupEnd(void) { return 0; }
int ncclCommGetAsyncError(ncclComm_t comm, int* result) { *result = comm == NULL ? 4 : 0; return 0; }
int ncclCommAbort(ncclComm_t comm) { return 0; }
int ncclCommDestroy(ncclComm_t comm) { return 0; }

const char* ncclGetErrorString(int result) { return result == 4 ? "invalid argument (run with NCCL_DEBUG=WARN for details)" : "other"; }
const char* ncclGetLastError(ncclComm_t comm) { return last; }

/* what the last collective received: 8 words (send, recv, count, type, op or root, comm, stream, which) */
const uintptr_t* stubSeen(void) { return seen; }
