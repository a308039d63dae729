// attention_simt.cu: exact attention with plain f32 arithmetic, one warp per (token, head), for the f32
// mode and for head sizes the tensor-core kernels do not take. Each lane holds head dimensions
// lane, lane+32, ... (up to 8 of them: head sizes up to 256). Nothing of size T×T is stored: the
// forward keeps a running max and sum (online softmax) and saves lse; the backward recomputes each
// probability from lse, in two passes with no atomics (attn_decode_simt, generation's one query over
// a KV cache, is further down):
//   delta_i = dO_i·O_i
//   dq_i    = Σ_j ds_ij k_j                 (one warp per query row and head)
//   dk_j    = Σ_i ds_ij q_i,  dv_j = Σ_i p_ij dO_i   (one warp per key row and kv head, over the group)
//   p_ij = exp(s_ij − lse_i),  ds_ij = p_ij·(dO_i·v_j − delta_i)·scale·(1 − (s_ij/cap)²)
#include "attention_common.cuh"

#define MAXT 8

struct Rows {
    int T, H, KVH, hd;
};

__device__ __forceinline__ void load_row(float* r, const elem_t* p, int hd, int lane) {
    #pragma unroll
    for (int t = 0; t < MAXT; t++) {
        const int d = lane + 32 * t;
        r[t] = d < hd ? ld(p, d) : 0.f;
    }
}

__device__ __forceinline__ float dot_row(const float* r, const elem_t* p, int hd, int lane) {
    float s = 0.f;
    #pragma unroll
    for (int t = 0; t < MAXT; t++) {
        const int d = lane + 32 * t;
        if (d < hd) s += r[t] * ld(p, d);
    }
    return warp_sum(s, 32);
}

/** The score of a visible pair and, in fac, d score / d (q·k). */
__device__ __forceinline__ float score(float dot, float scale, float cap, float* fac) {
    float x = dot * scale;
    float f = scale;
    if (cap > 0.f) {
        const float t = tanhf(x / cap);
        x = cap * t;
        f = scale * (1.f - t * t);
    }
    *fac = f;
    return x;
}

extern "C" __global__ void attn_fwd_simt(const elem_t* __restrict__ Q, const elem_t* __restrict__ K, const elem_t* __restrict__ V,
                                         elem_t* __restrict__ O, float* __restrict__ LSE, int B, int T, int H, int KVH, int hd,
                                         float scale, float cap, int window, const int* docs, const int* kvLo, const int* qHi,
                                         const unsigned char* keyMask) {
    const long long w = (long long)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    const int lane = threadIdx.x & 31;
    if (w >= (long long)B * T * H) return;
    const int h = (int)(w % H);
    const long long tok = w / H;
    const int b = (int)(tok / T), i = (int)(tok % T);
    const long long tok0 = (long long)b * T;
    const AttnMask m{T, window, docs, kvLo, qHi, keyMask};
    const int kvh = h / (H / KVH), qW = H * hd, kvW = KVH * hd;
    float q[MAXT], acc[MAXT];
    load_row(q, Q + tok * qW + h * hd, hd, lane);
    #pragma unroll
    for (int t = 0; t < MAXT; t++) acc[t] = 0.f;
    float mx = CCE_NEG_INF, sum = 0.f;
    for (int j = attn_key_lo(m, tok0, i); j <= i; j++) {
        if (!attn_visible(m, tok0, i, j)) continue;
        float fac;
        const float s = score(dot_row(q, K + (tok0 + j) * kvW + kvh * hd, hd, lane), scale, cap, &fac);
        const float mNew = fmaxf(mx, s);
        const float corr = expf(mx - mNew), p = expf(s - mNew);
        sum = sum * corr + p;
        const elem_t* vr = V + (tok0 + j) * kvW + kvh * hd;
        #pragma unroll
        for (int t = 0; t < MAXT; t++) {
            const int d = lane + 32 * t;
            if (d < hd) acc[t] = acc[t] * corr + p * ld(vr, d);
        }
        mx = mNew;
    }
    const float inv = sum > 0.f ? 1.f / sum : 0.f;
    #pragma unroll
    for (int t = 0; t < MAXT; t++) {
        const int d = lane + 32 * t;
        if (d < hd) O[tok * qW + h * hd + d] = to_storage(acc[t] * inv);
    }
    if (lane == 0) LSE[tok * H + h] = sum > 0.f ? mx + logf(sum) : CCE_NEG_INF;
}

// Generation: one query (the newest token) over `keys` rows of a key/value cache, every one visible
// (the cache holds only what the query may see; DecodeShape on the Java side). One block of DEC_WARPS
// warps per query head: warp w takes keys w, w + DEC_WARPS, ... with its own online softmax, and warp 0
// merges the warps' (max, sum, acc) from shared memory: out = Σ_w acc_w·e^(m_w − m) / Σ_w sum_w·e^(m_w − m).
#define DEC_WARPS 8

extern "C" __global__ void attn_decode_simt(const elem_t* __restrict__ Q, const elem_t* __restrict__ K, const elem_t* __restrict__ V,
                                            elem_t* __restrict__ O, int keys, int H, int KVH, int hd, float scale, float cap) {
    __shared__ float smMax[DEC_WARPS], smSum[DEC_WARPS];
    __shared__ float smAcc[DEC_WARPS][32 * MAXT];
    const int h = blockIdx.x;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    if (h >= H || warp >= DEC_WARPS) return;
    const int kvh = h / (H / KVH), kvW = KVH * hd;
    float q[MAXT], acc[MAXT];
    load_row(q, Q + (long long)h * hd, hd, lane);
    #pragma unroll
    for (int t = 0; t < MAXT; t++) acc[t] = 0.f;
    float mx = CCE_NEG_INF, sum = 0.f;
    for (int j = warp; j < keys; j += DEC_WARPS) {
        float fac;
        const float s = score(dot_row(q, K + (long long)j * kvW + kvh * hd, hd, lane), scale, cap, &fac);
        const float mNew = fmaxf(mx, s);
        const float corr = expf(mx - mNew), p = expf(s - mNew);
        sum = sum * corr + p;
        const elem_t* vr = V + (long long)j * kvW + kvh * hd;
        #pragma unroll
        for (int t = 0; t < MAXT; t++) {
            const int d = lane + 32 * t;
            if (d < hd) acc[t] = acc[t] * corr + p * ld(vr, d);
        }
        mx = mNew;
    }
    if (lane == 0) {
        smMax[warp] = mx;
        smSum[warp] = sum;
    }
    #pragma unroll
    for (int t = 0; t < MAXT; t++) {
        const int d = lane + 32 * t;
        if (d < hd) smAcc[warp][d] = acc[t];
    }
    __syncthreads();
    if (warp != 0) return;
    float m = CCE_NEG_INF;
    #pragma unroll
    for (int w = 0; w < DEC_WARPS; w++) m = fmaxf(m, smMax[w]);
    float f[DEC_WARPS], total = 0.f;
    #pragma unroll
    for (int w = 0; w < DEC_WARPS; w++) {
        f[w] = smSum[w] > 0.f ? expf(smMax[w] - m) : 0.f;   // a warp that saw no key adds nothing
        total += smSum[w] * f[w];
    }
    const float inv = 1.f / total;
    #pragma unroll
    for (int t = 0; t < MAXT; t++) {
        const int d = lane + 32 * t;
        if (d < hd) {
            float o = 0.f;
            #pragma unroll
            for (int w = 0; w < DEC_WARPS; w++) o += smAcc[w][d] * f[w];
            O[(long long)h * hd + d] = to_storage(o * inv);
        }
    }
}

/** delta[tok, h] = Σ_d dO·O (both [B·T, H·hd]). */
extern "C" __global__ void attn_delta(const elem_t* __restrict__ dO, const elem_t* __restrict__ O, float* __restrict__ delta,
                                      long long rows, int H, int hd) {
    const long long w = (long long)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    const int lane = threadIdx.x & 31;
    if (w >= rows * H) return;
    const long long base = (w / H) * H * hd + (w % H) * hd;
    float s = 0.f;
    for (int d = lane; d < hd; d += 32) s += ld(dO, base + d) * ld(O, base + d);
    s = warp_sum(s, 32);
    if (lane == 0) delta[w] = s;
}

extern "C" __global__ void attn_bwd_dq_simt(const elem_t* __restrict__ Q, const elem_t* __restrict__ K, const elem_t* __restrict__ V,
                                            const elem_t* __restrict__ dO, const float* __restrict__ LSE, const float* __restrict__ delta,
                                            elem_t* __restrict__ dQ, int B, int T, int H, int KVH, int hd, float scale, float cap,
                                            int window, const int* docs, const int* kvLo, const int* qHi,
                                            const unsigned char* keyMask) {
    const long long w = (long long)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    const int lane = threadIdx.x & 31;
    if (w >= (long long)B * T * H) return;
    const int h = (int)(w % H);
    const long long tok = w / H;
    const int b = (int)(tok / T), i = (int)(tok % T);
    const long long tok0 = (long long)b * T;
    const AttnMask m{T, window, docs, kvLo, qHi, keyMask};
    const int kvh = h / (H / KVH), qW = H * hd, kvW = KVH * hd;
    float q[MAXT], dout[MAXT], acc[MAXT];
    load_row(q, Q + tok * qW + h * hd, hd, lane);
    load_row(dout, dO + tok * qW + h * hd, hd, lane);
    #pragma unroll
    for (int t = 0; t < MAXT; t++) acc[t] = 0.f;
    const float lse = LSE[tok * H + h], dl = delta[tok * H + h];
    if (lse != CCE_NEG_INF) {
        for (int j = attn_key_lo(m, tok0, i); j <= i; j++) {
            if (!attn_visible(m, tok0, i, j)) continue;
            const elem_t* kr = K + (tok0 + j) * kvW + kvh * hd;
            float fac;
            const float s = score(dot_row(q, kr, hd, lane), scale, cap, &fac);
            const float p = expf(s - lse);
            const float dp = dot_row(dout, V + (tok0 + j) * kvW + kvh * hd, hd, lane);
            const float ds = p * (dp - dl) * fac;
            #pragma unroll
            for (int t = 0; t < MAXT; t++) {
                const int d = lane + 32 * t;
                if (d < hd) acc[t] += ds * ld(kr, d);
            }
        }
    }
    #pragma unroll
    for (int t = 0; t < MAXT; t++) {
        const int d = lane + 32 * t;
        if (d < hd) dQ[tok * qW + h * hd + d] = to_storage(acc[t]);
    }
}

extern "C" __global__ void attn_bwd_dkdv_simt(const elem_t* __restrict__ Q, const elem_t* __restrict__ K, const elem_t* __restrict__ V,
                                              const elem_t* __restrict__ dO, const float* __restrict__ LSE, const float* __restrict__ delta,
                                              elem_t* __restrict__ dK, elem_t* __restrict__ dV, int B, int T, int H, int KVH, int hd,
                                              float scale, float cap, int window, const int* docs, const int* kvLo, const int* qHi,
                                              const unsigned char* keyMask) {
    const long long w = (long long)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    const int lane = threadIdx.x & 31;
    if (w >= (long long)B * T * KVH) return;
    const int kvh = (int)(w % KVH);
    const long long tok = w / KVH;
    const int b = (int)(tok / T), j = (int)(tok % T);
    const long long tok0 = (long long)b * T;
    const AttnMask m{T, window, docs, kvLo, qHi, keyMask};
    const int groups = H / KVH, qW = H * hd, kvW = KVH * hd;
    float k[MAXT], v[MAXT], dk[MAXT], dv[MAXT];
    load_row(k, K + tok * kvW + kvh * hd, hd, lane);
    load_row(v, V + tok * kvW + kvh * hd, hd, lane);
    #pragma unroll
    for (int t = 0; t < MAXT; t++) dk[t] = dv[t] = 0.f;
    const int iHi = attn_query_hi(m, tok0, j);
    for (int g = 0; g < groups; g++) {
        const int h = kvh * groups + g;
        for (int i = j; i < iHi; i++) {
            if (!attn_visible(m, tok0, i, j)) continue;
            const long long qt = tok0 + i;
            const float lse = LSE[qt * H + h];
            if (lse == CCE_NEG_INF) continue;
            const elem_t* qr = Q + qt * qW + h * hd;
            const elem_t* dor = dO + qt * qW + h * hd;
            float fac;
            const float s = score(dot_row(k, qr, hd, lane), scale, cap, &fac);
            const float p = expf(s - lse);
            const float dp = dot_row(v, dor, hd, lane);
            const float ds = p * (dp - delta[qt * H + h]) * fac;
            #pragma unroll
            for (int t = 0; t < MAXT; t++) {
                const int d = lane + 32 * t;
                if (d < hd) {
                    dv[t] += p * ld(dor, d);
                    dk[t] += ds * ld(qr, d);
                }
            }
        }
    }
    #pragma unroll
    for (int t = 0; t < MAXT; t++) {
        const int d = lane + 32 * t;
        if (d < hd) {
            dK[tok * kvW + kvh * hd + d] = to_storage(dk[t]);
            dV[tok * kvW + kvh * hd + d] = to_storage(dv[t]);
        }
    }
}
