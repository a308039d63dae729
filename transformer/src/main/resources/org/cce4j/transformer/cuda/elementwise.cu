// elementwise.cu: the small memory-bound operations of a decoder layer, one thread per element (or
// per rotated pair), grid-stride, arithmetic in f32 whatever the storage type. Activation codes are
// the ordinals of org.cce4j.transformer.backend.Activation (same order): 0 SiLU, 1 GELU (tanh),
// 2 GELU (erf), 3 ReLU. Dropout draws DropoutMask's mask (a pure function of seed and flat index),
// so the CPU and the GPU keep the same elements and the backward needs no stored mask.
#include "tx_common.cuh"

#define SQRT_2_OVER_PI 0.7978845608028654f
#define GELU_C 0.044715f
#define INV_SQRT_2 0.7071067811865476f
#define INV_SQRT_2PI 0.3989422804014327f

__device__ __forceinline__ float act_fwd(int act, float x) {
    switch (act) {
        case 0: return x / (1.f + expf(-x));
        case 1: return 0.5f * x * (1.f + tanhf(SQRT_2_OVER_PI * (x + GELU_C * x * x * x)));
        case 2: return 0.5f * x * (1.f + erff(x * INV_SQRT_2));
        default: return x > 0.f ? x : 0.f;
    }
}

__device__ __forceinline__ float act_bwd(int act, float x) {
    switch (act) {
        case 0: {
            const float s = 1.f / (1.f + expf(-x));
            return s * (1.f + x * (1.f - s));
        }
        case 1: {
            const float t = tanhf(SQRT_2_OVER_PI * (x + GELU_C * x * x * x));
            return 0.5f * (1.f + t) + 0.5f * x * (1.f - t * t) * SQRT_2_OVER_PI * (1.f + 3.f * GELU_C * x * x);
        }
        case 2: return 0.5f * (1.f + erff(x * INV_SQRT_2)) + x * expf(-0.5f * x * x) * INV_SQRT_2PI;
        default: return x > 0.f ? 1.f : 0.f;
    }
}

extern "C" __global__ void gated_fwd(const elem_t* __restrict__ gate, const elem_t* __restrict__ up, elem_t* __restrict__ out,
                                     long long n, int act) {
    GRID_STRIDE(i, n) out[i] = to_storage(act_fwd(act, ld(gate, i)) * ld(up, i));
}

/** gated_fwd over n / VEC whole vectors. */
extern "C" __global__ void gated_fwd_vec(const Vec* __restrict__ gate, const Vec* __restrict__ up, Vec* __restrict__ out,
                                         long long nv, int act) {
    GRID_STRIDE(i, nv) {
        const Vec g = gate[i], u = up[i];
        Vec o;
        #pragma unroll
        for (int e = 0; e < VEC; e++) o.v[e] = to_storage(act_fwd(act, elem_to_f32(g.v[e])) * elem_to_f32(u.v[e]));
        out[i] = o;
    }
}

extern "C" __global__ void gated_bwd(const elem_t* __restrict__ gate, const elem_t* __restrict__ up, const elem_t* __restrict__ dOut,
                                     elem_t* __restrict__ dGate, elem_t* __restrict__ dUp, long long n, int act) {
    GRID_STRIDE(i, n) {
        const float g = ld(gate, i), u = ld(up, i), d = ld(dOut, i);
        dGate[i] = to_storage(d * u * act_bwd(act, g));
        dUp[i] = to_storage(d * act_fwd(act, g));
    }
}

/** gated_bwd over n / VEC whole vectors. */
extern "C" __global__ void gated_bwd_vec(const Vec* __restrict__ gate, const Vec* __restrict__ up, const Vec* __restrict__ dOut,
                                         Vec* __restrict__ dGate, Vec* __restrict__ dUp, long long nv, int act) {
    GRID_STRIDE(i, nv) {
        const Vec gv = gate[i], uv = up[i], dv = dOut[i];
        Vec dg, du;
        #pragma unroll
        for (int e = 0; e < VEC; e++) {
            const float g = elem_to_f32(gv.v[e]), u = elem_to_f32(uv.v[e]), d = elem_to_f32(dv.v[e]);
            dg.v[e] = to_storage(d * u * act_bwd(act, g));
            du.v[e] = to_storage(d * act_fwd(act, g));
        }
        dGate[i] = dg;
        dUp[i] = du;
    }
}

/** out = a + b; out may alias a or b. */
extern "C" __global__ void add(const elem_t* a, const elem_t* b, elem_t* out, long long n) {
    GRID_STRIDE(i, n) out[i] = to_storage(ld(a, i) + ld(b, i));
}

/** add over n / VEC whole vectors; out may alias a or b. */
extern "C" __global__ void add_vec(const Vec* a, const Vec* b, Vec* out, long long nv) {
    GRID_STRIDE(i, nv) {
        const Vec x = a[i], y = b[i];
        Vec o;
        #pragma unroll
        for (int e = 0; e < VEC; e++) o.v[e] = to_storage(elem_to_f32(x.v[e]) + elem_to_f32(y.v[e]));
        out[i] = o;
    }
}

extern "C" __global__ void softcap(elem_t* x, long long n, float cap) {
    GRID_STRIDE(i, n) x[i] = to_storage(cap * tanhf(ld(x, i) / cap));
}

/** x ← x · s in place (CpuBackend.scale: one f32 product per element, then the storage rounding). */
extern "C" __global__ void scale(elem_t* x, long long n, float s) {
    GRID_STRIDE(i, n) x[i] = to_storage(ld(x, i) * s);
}

/**
 * DropoutMask.keep, the same 64-bit arithmetic (wrapping u64 products, logical shifts): the splitmix64
 * finalizer of seed + (index + 1)·golden gamma, its top 24 bits as a uniform u in [0, 1) (exact in f32),
 * kept when u ≥ p.
 */
__device__ __forceinline__ bool dropout_keep(u64 seed, u64 index, float p) {
    u64 z = seed + (index + 1ull) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    const float u = (float)(u32)(z >> 40) * 5.9604644775390625e-8f;   // 2^-24
    return u >= p;
}

/** out = keep(i) ? x · scale : 0, i the flat index; scale = 1/(1 − p) rounded to f32 on the host. out may alias x. */
extern "C" __global__ void dropout(const elem_t* x, elem_t* out, long long n, float p, float scale, long long seed) {
    GRID_STRIDE(i, n) out[i] = to_storage(dropout_keep((u64)seed, (u64)i, p) ? ld(x, i) * scale : 0.f);
}

/** dropout over n / VEC whole vectors (element e of vector i has flat index i·VEC + e): dropout's values. out may alias x. */
extern "C" __global__ void dropout_vec(const Vec* x, Vec* out, long long nv, float p, float scale, long long seed) {
    GRID_STRIDE(i, nv) {
        const Vec a = x[i];
        Vec o;
        #pragma unroll
        for (int e = 0; e < VEC; e++) o.v[e] = to_storage(dropout_keep((u64)seed, (u64)(i * VEC + e), p) ? elem_to_f32(a.v[e]) * scale : 0.f);
        out[i] = o;
    }
}

/**
 * out += dropout(x), x not aliasing out: the dropped-out value rounded to storage first, then added and
 * rounded, so that it equals dropout into a temporary followed by add, bit for bit, in one pass.
 */
__device__ __forceinline__ elem_t dropout_add1(elem_t acc, elem_t x, u64 seed, u64 i, float p, float scale) {
    const float d = dropout_keep(seed, i, p) ? elem_to_f32(to_storage(elem_to_f32(x) * scale)) : 0.f;
    return to_storage(elem_to_f32(acc) + d);
}

extern "C" __global__ void dropout_add(const elem_t* __restrict__ x, elem_t* __restrict__ out, long long n, float p, float scale, long long seed) {
    GRID_STRIDE(i, n) out[i] = dropout_add1(out[i], x[i], (u64)seed, (u64)i, p, scale);
}

extern "C" __global__ void dropout_add_vec(const Vec* __restrict__ x, Vec* __restrict__ out, long long nv, float p, float scale, long long seed) {
    GRID_STRIDE(i, nv) {
        const Vec a = x[i];
        Vec o = out[i];
        #pragma unroll
        for (int e = 0; e < VEC; e++) o.v[e] = dropout_add1(o.v[e], a.v[e], (u64)seed, (u64)(i * VEC + e), p, scale);
        out[i] = o;
    }
}

extern "C" __global__ void to_f32(const elem_t* __restrict__ in, float* __restrict__ out, long long n) {
    GRID_STRIDE(i, n) out[i] = ld(in, i);
}

extern "C" __global__ void from_f32(const float* __restrict__ in, elem_t* __restrict__ out, long long n) {
    GRID_STRIDE(i, n) out[i] = to_storage(in[i]);
}

/** y[r, j] += bias[j] over a [rows, cols] matrix. */
extern "C" __global__ void bias_add(elem_t* y, const elem_t* __restrict__ bias, long long n, int cols) {
    GRID_STRIDE(i, n) y[i] = to_storage(ld(y, i) + ld(bias, i % cols));
}

/** db[j] += Σ dy[r, j] over rows [blockIdx.y·chunk, +chunk), one thread per column. */
extern "C" __global__ void bias_grad(const elem_t* __restrict__ dy, float* __restrict__ db, int rows, int cols, int chunk) {
    const int col = blockIdx.x * blockDim.x + threadIdx.x;
    if (col >= cols) return;
    const int r0 = blockIdx.y * chunk, r1 = min(rows, r0 + chunk);
    float s = 0.f;
    for (int r = r0; r < r1; r++) s += ld(dy, (long long)r * cols + col);
    if (r1 > r0) atomicAdd(&db[col], s);
}

/** out[r, :] = table[ids[r], :] · scale. */
extern "C" __global__ void embedding_fwd(const int* __restrict__ ids, const elem_t* __restrict__ table, elem_t* __restrict__ out,
                                         long long n, int d, float scale) {
    GRID_STRIDE(i, n) {
        const long long r = i / d, c = i - r * d;
        out[i] = to_storage(ld(table, (long long)ids[r] * d + c) * scale);
    }
}

/** dTable[ids[r], :] += dOut[r, :] · scale (f32, atomics: a token may repeat); rows of padding_idx get nothing. */
extern "C" __global__ void embedding_bwd(const int* __restrict__ ids, const elem_t* __restrict__ dOut, float* __restrict__ dTable,
                                         long long n, int d, float scale, int paddingIdx) {
    GRID_STRIDE(i, n) {
        const long long r = i / d, c = i - r * d;
        if (ids[r] == paddingIdx) continue;
        atomicAdd(&dTable[(long long)ids[r] * d + c], ld(dOut, i) * scale);
    }
}

template <typename I>
__device__ __forceinline__ void rope_at(elem_t* x, const int* __restrict__ pos, const float* __restrict__ cosT,
                                        const float* __restrict__ sinT, I t, int heads, int half, float sign) {
    const I rh = t / half;            // row · heads + head
    const int i = (int)(t - rh * half);
    const I r = rh / heads;
    const long long lo = (long long)rh * 2 * half + i, hi = lo + half;
    const long long c0 = (long long)pos[r] * half + i;
    const float c = cosT[c0], s = sinT[c0];
    const float a = ld(x, lo), b = ld(x, hi);
    x[lo] = to_storage(a * c - sign * b * s);
    x[hi] = to_storage(b * c + sign * a * s);
}

/**
 * Rotary embedding in place over x [rows, heads·2·half] (HF's rotate_half layout); cos, sin are
 * [positions, half] tables, pos[r] the row's position; sign −1 applies the inverse rotation. One thread
 * per rotated pair; 32-bit index arithmetic when the pairs fit.
 */
extern "C" __global__ void rope(elem_t* x, const int* __restrict__ pos, const float* __restrict__ cosT, const float* __restrict__ sinT,
                                long long n, int heads, int half, float sign) {
    if (n < (1LL << 31)) {
        for (unsigned t = blockIdx.x * blockDim.x + threadIdx.x; t < (unsigned)n; t += gridDim.x * blockDim.x) {
            rope_at<unsigned>(x, pos, cosT, sinT, t, heads, half, sign);
        }
    } else {
        GRID_STRIDE(t, n) rope_at<long long>(x, pos, cosT, sinT, t, heads, half, sign);
    }
}

/**
 * rope over whole vectors: one thread rotates VEC pairs, reading VEC elements of the head's first half,
 * the VEC elements half further on, and VEC cos and sin values (float4 loads), so a warp moves 16-byte
 * vectors instead of 2-byte elements. The host picks it when half is a multiple of VEC and x is
 * 16-byte aligned; nv = rows · heads · half / VEC fits 32 bits there.
 */
extern "C" __global__ void rope_vec(Vec* x, const int* __restrict__ pos, const float* __restrict__ cosT,
                                    const float* __restrict__ sinT, unsigned nv, int heads, int half, float sign) {
    const unsigned hv = (unsigned)(half / VEC);
    for (unsigned u = blockIdx.x * blockDim.x + threadIdx.x; u < nv; u += gridDim.x * blockDim.x) {
        const unsigned rh = u / hv, jv = u - rh * hv;
        const unsigned r = rh / (unsigned)heads;
        const long long lo = (long long)rh * 2 * hv + jv, hi = lo + hv;
        const long long c0 = (long long)pos[r] * half + (long long)jv * VEC;
        float c[VEC], s[VEC];
        #pragma unroll
        for (int e = 0; e < VEC; e += 4) {
            const float4 cv = *reinterpret_cast<const float4*>(cosT + c0 + e);
            const float4 sv = *reinterpret_cast<const float4*>(sinT + c0 + e);
            c[e] = cv.x; c[e + 1] = cv.y; c[e + 2] = cv.z; c[e + 3] = cv.w;
            s[e] = sv.x; s[e + 1] = sv.y; s[e + 2] = sv.z; s[e + 3] = sv.w;
        }
        const Vec a = x[lo], b = x[hi];
        Vec oa, ob;
        #pragma unroll
        for (int e = 0; e < VEC; e++) {
            const float av = elem_to_f32(a.v[e]), bv = elem_to_f32(b.v[e]);
            oa.v[e] = to_storage(av * c[e] - sign * bv * s[e]);
            ob.v[e] = to_storage(bv * c[e] + sign * av * s[e]);
        }
        x[lo] = oa;
        x[hi] = ob;
    }
}
