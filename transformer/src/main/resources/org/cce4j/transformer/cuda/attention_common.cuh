// attention_common.cuh: the visibility rule and the score transform every attention kernel shares
// (AttentionShape on the Java side). Positions are indices within a sequence of length T; tensors are
// token-major, token (b, i) at row b·T + i.
//   key j is visible from query i iff  j <= i,  i − j < window (window > 0),
//                                      docs[j] == docs[i] (docs != 0),  keyMask[j] != 0 (keyMask != 0)
//   score = softcap(scale · q·k) = cap·tanh(scale·q·k / cap) when cap > 0
// kvLo[i] (packed documents) is the first key of i's document, qHi[j] one past the last query of
// j's: bounds that let the kernels skip whole tiles; the rule above is still checked per element.
#pragma once
#include "tx_common.cuh"

struct AttnMask {
    int T, window;
    const int* docs;            // [B·T] or null
    const int* kvLo;            // [B·T] or null
    const int* qHi;             // [B·T] or null
    const unsigned char* keyMask; // [B·T] or null
};

/** Query i (< T) sees key j by position alone: causal, and within the sliding window when there is one. */
__device__ __forceinline__ bool attn_causal_window(int i, int j, int T, int window) {
    return j <= i && i < T && (window <= 0 || i - j < window);
}

__device__ __forceinline__ bool attn_visible(const AttnMask& m, long long tok0, int i, int j) {
    if (j < 0 || !attn_causal_window(i, j, m.T, m.window)) return false;
    if (m.docs && m.docs[tok0 + i] != m.docs[tok0 + j]) return false;
    return !m.keyMask || m.keyMask[tok0 + j];
}

/** The first key any of queries [i0, i1) may see. */
__device__ __forceinline__ int attn_key_lo(const AttnMask& m, long long tok0, int i) {
    int lo = m.kvLo ? m.kvLo[tok0 + i] : 0;
    if (m.window > 0) lo = max(lo, i - m.window + 1);
    return lo;
}

/** One past the last query key j may be seen from. */
__device__ __forceinline__ int attn_query_hi(const AttnMask& m, long long tok0, int j) {
    int hi = m.qHi ? m.qHi[tok0 + j] : m.T;
    if (m.window > 0) hi = min(hi, j + m.window);
    return hi;
}

/** tanh through one exp2 and one reciprocal (absolute error ~1e-7, saturating cleanly). */
__device__ __forceinline__ float tanh_fast(float x) {
    return 1.f - 2.f * rcp_approx(ex2_approx(2.f * CCE_LOG2E * x) + 1.f);
}
