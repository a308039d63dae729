package org.cce4j.transformer.backend;

import org.cce4j.core.InvalidInputException;
import org.cce4j.core.cuda.CudaKernel;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * Attention on the GPU, choosing between cuDNN's fused engine, our tensor-core and our SIMT kernels with
 * the same contract as {@link CpuAttention} (see attention_common.cuh for the mask rule). Causal bf16
 * attention that cuDNN's pattern covers (softcap included; no short window, documents or padding) goes
 * to {@link CudnnAttention} by default (CCE4J_ATTN_CUDNN=auto|on|off): on the H200 it ran the Llama-3.2-1B
 * step's attention in 60 ms, where the kernels below took 112. The rest:
 * <pre>
 *   attention_mma.cu   bf16, head size a multiple of 16 up to 256: tensor cores, 64×64 tiles, one
 *                      module per head size, streamed tiles double-buffered up to head size 128; the
 *                      forward with 64 queries per CTA (4 warps of 16 rows) or 128 (8 warps of 16: up
 *                      to head size 64, and above 128 in a module built double-buffered, one CTA per SM);
 *                      the split backward = dQ kernel + dK/dV kernel (split in two launches, dV then
 *                      dK, for heads above 128 to keep the accumulators in registers)
 *   attention_bwd_fused.cu  the fused backward for those heads up to 128 (the default there): one
 *                      kernel per key tile computing S, P, dP, dS once per tile pair, dQ added into
 *                      an f32 accumulator by vector atomics, then rounded to bf16
 *   attention_bwd_fused_wide.cu  the same for heads above 128 that are a multiple of 32 (Gemma's 256,
 *                      the default there): 8 warps share the dK/dV columns, P and dS go through
 *                      shared memory
 *   attention_fwd_pair.cu  a forward up to head size 64 (on request): 128 queries per CTA, 4 warps of
 *                      32 rows, so that each K and V fragment a warp loads from shared memory feeds two
 *                      mma (FlashAttention-2's layout); online softmax in steps of 32 keys (three CTAs
 *                      per SM in 168 registers) or 64 (two CTAs). Measured on the H200 (Llama-3.2-1B,
 *                      batch 16): 32.8 ms (33.6 with 64-key steps) against the 8-warp kernel's 31.3, so
 *                      not the default: that forward is not bound by shared-memory reads
 *   attention_fwd_wgmma.cu  the forward on Hopper's warpgroup tensor cores (sm_90a; head sizes 64, 128,
 *                      256; CCE4J_ATTN_FWD=wgmma): Q, K and Vᵀ read by wgmma from swizzled shared memory
 *   attention_simt.cu  f32 (parity mode) and any other head size up to 256: a warp per row; and
 *                      generation's decode attention (one query over a KV cache) in both dtypes
 * </pre>
 * Neither stores anything of size T×T; the backward recomputes probabilities from the saved lse.
 * Switches, so that old and new kernels can be measured (and are tested) in one build:
 * CCE4J_ATTN_FWD=128|64|pair|pair64|wgmma picks the forward: with wgmma, on sm_90 at head sizes 64, 128
 * and 256, the warpgroup kernel, elsewhere as with 128; with 128 (the default) the 16-rows-per-warp
 * kernel with 128 queries per CTA (8 warps, so that each K/V tile in shared memory serves twice the
 * queries) where it applies, else 64 (4 warps); with 64, 64 everywhere; with pair or pair64, up to head
 * size 64, the paired kernel (32 rows per warp; steps of 32 or 64 keys), elsewhere as with 128; CCE4J_ATTN_BWD=fused|split
 * picks the tensor-core backward (fused where it applies, by default); CCE4J_ATTN_BWD_CTAS=N asks the
 * compiler to fit N CTAs of the narrow fused kernel per SM (default 3 up to head size 64, where a few spilled bytes buy 12
 * warps per SM instead of 8, 2 with more than two stages; else 1); CCE4J_ATTN_STAGES=2|3|4 sets the buffers
 * of the streamed tiles up to head size 128 (default 2: one tile in flight while one is computed).
 */
final class CudaAttention {
    private static final int MAX_HEAD = 256;
    /**
     * The largest head attention_bwd_fused.cu takes (one warp's dK and dV accumulators live in its
     * registers); above, attention_bwd_fused_wide.cu takes heads that are a multiple of 32.
     */
    static final int FUSED_MAX_HEAD = 128;
    /**
     * The largest head of the lower range the 128-query forward takes: two CTAs of 8 warps per SM fit in
     * 128 registers up to head size 64; from there to 128 the 4-warp kernel keeps more warps per SM; above
     * 128 the 8-warp kernel again (one CTA per SM, double-buffered, where the 4-warp kernel's tiles are not).
     */
    static final int WIDE_FORWARD_MAX_HEAD = 64;
    /**
     * The largest head the paired forward (attention_fwd_pair.cu) takes: its two 16-row blocks' outputs
     * and score steps fit three CTAs per SM (168 registers) up to head size 64.
     */
    static final int PAIR_FORWARD_MAX_HEAD = 64;

    /** Whether the fused backward (narrow or wide kernel) covers a tensor-core head size. */
    static boolean fusedCovers(int headDim) {
        return headDim <= FUSED_MAX_HEAD || headDim % 32 == 0;
    }

    /** Whether the 128-query forward covers a tensor-core head size. */
    static boolean wideForwardCovers(int headDim) {
        return headDim <= WIDE_FORWARD_MAX_HEAD || headDim > FUSED_MAX_HEAD;
    }

    private final CudaKernels k;
    private final DeviceArrays arrays;
    private final DType dtype;
    boolean tensorCores = !"simt".equals(System.getenv("CCE4J_ATTENTION"));
    /** Whether the tensor-core backward takes the fused kernel where it applies (tests set it). */
    boolean fusedBackward = fusedFromEnv(System.getenv("CCE4J_ATTN_BWD"));
    private final int fusedCtas = ctasFromEnv(System.getenv("CCE4J_ATTN_BWD_CTAS"));
    /** Buffers of the streamed tiles up to head size 128 (STAGES in attention_mma.cuh; tests set it). */
    int stages = stagesFromEnv(System.getenv("CCE4J_ATTN_STAGES"));
    /** Whether the tensor-core forward takes the paired kernel (32 rows per warp) where it applies (tests set it). */
    boolean pairForward = pairFromEnv(System.getenv("CCE4J_ATTN_FWD"));
    /** Whether the forward takes the wgmma kernel where it applies (tests set it). */
    boolean wgmmaForward = wgmmaFromEnv(System.getenv("CCE4J_ATTN_FWD"));
    /** The paired forward's keys per online-softmax step, 32 or 64 (PAIR_KEYS in attention_fwd_pair.cu; tests set it). */
    int pairKeys = pairKeysFromEnv(System.getenv("CCE4J_ATTN_FWD"));
    /**
     * Where the paired forward is off or does not apply: whether the tensor-core forward takes 128 queries
     * per CTA (8 warps) where that applies, or 64 (tests set it).
     */
    boolean wideForward = wideFromEnv(System.getenv("CCE4J_ATTN_FWD"));
    /** Whether causal bf16 attention that cuDNN's fused engine covers goes to it (CCE4J_ATTN_CUDNN; tests set it). */
    CudnnAttention.Mode cudnnMode = CudnnAttention.modeFromEnv(System.getenv("CCE4J_ATTN_CUDNN"));
    private CudnnAttention cudnn;
    private boolean cudnnMissing;

    /** CCE4J_ATTN_FWD: 128 (the default), 64, pair, pair64 or wgmma, checked. */
    private static String forwardFromEnv(String v) {
        if (v == null || v.isEmpty()) return "128";
        if (v.equals("pair") || v.equals("pair64") || v.equals("128") || v.equals("64") || v.equals("wgmma")) return v;
        throw new InvalidInputException("CCE4J_ATTN_FWD must be 128 or 64 (queries per CTA, 16 rows per warp), "
                + "pair or pair64 (32 rows per warp, steps of 32 or 64 keys) or wgmma (Hopper's warpgroup products), not '" + v + "'");
    }

    static boolean wgmmaFromEnv(String v) {
        return forwardFromEnv(v).equals("wgmma");
    }

    /** Whether the wgmma forward covers a head size (on a device that has wgmma: sm_90). */
    static boolean wgmmaCovers(int headDim) {
        return headDim == 64 || headDim == 128 || headDim == 256;
    }

    /**
     * attention_fwd_wgmma.cu's dynamic shared memory: Q (128 rows), two K tiles and Vᵀ in the swizzled layout,
     * the row-major V tiles (two up to head size 128, one above), key words, and 1,024 bytes to align to.
     */
    static int wgmmaSmem(int hd) {
        int vStages = hd <= 128 ? 2 : 1;
        return 128 * hd * 2 + 2 * 64 * hd * 2 + hd * 128 + vStages * 64 * (hd + 8) * 2 + 4 * 64 * 4 + 1024;
    }

    static boolean pairFromEnv(String v) {
        return forwardFromEnv(v).startsWith("pair");
    }

    static int pairKeysFromEnv(String v) {
        return forwardFromEnv(v).equals("pair64") ? 64 : 32;
    }

    static boolean wideFromEnv(String v) {
        return !forwardFromEnv(v).equals("64");
    }

    static boolean fusedFromEnv(String v) {
        if (v == null || v.isEmpty() || v.equals("fused")) return true;
        if (v.equals("split")) return false;
        throw new InvalidInputException("CCE4J_ATTN_BWD must be fused or split, not '" + v + "'");
    }

    static int stagesFromEnv(String v) {
        if (v == null || v.isEmpty()) return 2;
        if (v.equals("2") || v.equals("3") || v.equals("4")) return Integer.parseInt(v);
        throw new InvalidInputException("CCE4J_ATTN_STAGES must be 2, 3 or 4 (buffers of the streamed attention tiles), not '" + v + "'");
    }

    /** 0: the default per head size. */
    static int ctasFromEnv(String v) {
        if (v == null || v.isEmpty()) return 0;
        try {
            int n = Integer.parseInt(v);
            if (n >= 1 && n <= 8) return n;
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new InvalidInputException("CCE4J_ATTN_BWD_CTAS must be a count of CTAs per SM from 1 to 8, not '" + v + "'");
    }

    CudaAttention(CudaKernels k, DeviceArrays arrays, DType dtype) {
        this.k = k;
        this.arrays = arrays;
        this.dtype = dtype;
    }

    /** The mask arguments every kernel takes after the shape: window, docs, kvLo, qHi, keyMask. */
    private Object[] maskArgs(AttentionShape s) {
        long docs = 0, lo = 0, hi = 0, mask = 0;
        if (s.documents() != null) {
            DeviceArrays.Documents d = arrays.documents(s.documents(), s.seqLen());
            docs = d.docs();
            lo = d.kvLo();
            hi = d.qHi();
        }
        if (s.keyMask() != null) mask = arrays.bytes(s.keyMask());
        return new Object[] {s.window(), docs, lo, hi, mask};
    }

    /** maskArgs plus the per-block documents the tensor-core kernels take last. */
    private Object[] mmaMaskArgs(AttentionShape s) {
        return concat(maskArgs(s), new Object[] {arrays.blockDocuments(s.documents(), s.keyMask(), s.batch(), s.seqLen())});
    }

    boolean usesTensorCores(AttentionShape s, Tensor... ts) {
        if (!tensorCores || dtype != DType.BF16 || s.headDim() % 16 != 0 || s.headDim() > MAX_HEAD) return false;
        for (Tensor t : ts) if ((t.address() & 15) != 0) return false;
        return true;
    }

    private static void check(AttentionShape s) {
        if (s.headDim() > MAX_HEAD) throw new IllegalArgumentException("CUDA attention supports head sizes up to " + MAX_HEAD + ", not " + s.headDim());
        if ((long) s.heads() * s.batch() > 65535) throw new IllegalArgumentException("too many heads × sequences for one launch: " + s);
    }

    private CudaKernel mma(String name, AttentionShape s) {
        return kernel("attention_mma.cu", name, s);
    }

    /** A kernel of a module built for head size HD and, where it differs from the module's default, this.stages. */
    private CudaKernel kernel(String file, String name, AttentionShape s, String... defines) {
        List<String> d = new ArrayList<>();
        d.add("HD=" + s.headDim());
        d.addAll(List.of(defines));
        if (s.headDim() <= FUSED_MAX_HEAD && stages != 2) d.add("STAGES=" + stages);
        return k.kernel(file, DType.BF16, name, d.toArray(String[]::new));
    }

    private CudaKernel simt(String name) {
        return k.kernel("attention_simt.cu", dtype, name);
    }

    /** Buffers of the streamed tiles in attention_mma.cu's modules (STAGES in attention_mma.cuh): {@link #stages} up to head size 128, one above. */
    private int stages(AttentionShape s) {
        return s.headDim() <= FUSED_MAX_HEAD ? stages : 1;
    }

    /** Dynamic shared memory: {@code fixed} resident tiles, {@code streamed} tiles and {@code meta} words per stage. */
    private int tileSmem(AttentionShape s, int fixed, int streamed, int meta) {
        return tileSmem(s, stages(s), fixed, streamed, meta);
    }

    private static int tileSmem(AttentionShape s, int stages, int fixed, int streamed, int meta) {
        return (fixed + streamed * stages) * 64 * (s.headDim() + 8) * 2 + meta * stages * 64 * 4;
    }

    private static Object[] concat(Object[] a, Object[] b) {
        Object[] r = new Object[a.length + b.length];
        System.arraycopy(a, 0, r, 0, a.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    /** The cuDNN path for this call, or null: on the tensor-core path, a shape cuDNN's pattern covers, sm_80 or newer. */
    private CudnnAttention cudnnFor(AttentionShape s) {
        if (cudnnMode == CudnnAttention.Mode.OFF || !CudnnAttention.covers(s) || k.device().computeCapability() < 80) return null;
        if (cudnn == null) {
            if (cudnnMode == CudnnAttention.Mode.AUTO) {
                if (cudnnMissing) return null;
                if (!org.cce4j.core.cuda.Cudnn.available()) {
                    cudnnMissing = true; // asked once: not on every attention call
                    return null;
                }
            }
            cudnn = new CudnnAttention(k.device());
        }
        return cudnn;
    }

    /** Why cuDNN last refused a shape (it then ran on our kernels), or null. */
    String cudnnRefusal() {
        return cudnn == null ? null : cudnn.lastRefusal();
    }

    void forward(AttentionShape s, Tensor q, Tensor kk, Tensor v, Tensor out, Tensor lse) {
        check(s);
        int tiles = (s.seqLen() + 63) / 64;
        if (usesTensorCores(s, q, kk, v, out)) {
            CudnnAttention c = cudnnFor(s);
            if (c != null && c.forward(s, q, kk, v, out, lse, cudnnMode == CudnnAttention.Mode.ON)) return;
            Object[] mask = mmaMaskArgs(s);
            Object[] args = concat(new Object[] {q.address(), kk.address(), v.address(), out.address(), lse.address(), s.seqLen(),
                    s.heads(), s.kvHeads(), s.scale(), s.softcap()}, mask);
            if (wgmmaForward && wgmmaCovers(s.headDim()) && k.device().architecture().equals("sm_90a")) {
                CudaKernel kernel = k.kernel("attention_fwd_wgmma.cu", DType.BF16, "attn_fwd_wgmma", "HD=" + s.headDim());
                kernel.launch((s.seqLen() + 127) / 128, s.heads() * s.batch(), 256, wgmmaSmem(s.headDim()), args);
                return;
            }
            if (pairForward && s.headDim() <= PAIR_FORWARD_MAX_HEAD) {
                // 128 queries per CTA, 4 warps of 32 rows; shared memory: Q (two tiles) and two stages of K, V
                CudaKernel kernel = kernel("attention_fwd_pair.cu", "attn_fwd_pair_mma", s, "PAIR_KEYS=" + pairKeys);
                kernel.launch((s.seqLen() + 127) / 128, s.heads() * s.batch(), 128, tileSmem(s, 2, 2, 2), args);
                return;
            }
            boolean wide = wideForward && wideForwardCovers(s.headDim());
            // above head size 128 the 8-warp kernel lives in a module built with two stages (one CTA per SM)
            boolean twoStages = wide && s.headDim() > FUSED_MAX_HEAD;
            CudaKernel kernel = !wide ? mma("attn_fwd_mma", s) : twoStages
                    ? k.kernel("attention_mma.cu", DType.BF16, "attn_fwd128_mma", "HD=" + s.headDim(), "STAGES=2")
                    : mma("attn_fwd128_mma", s);
            int blocks = wide ? (s.seqLen() + 127) / 128 : tiles;
            int smem = twoStages ? tileSmem(s, 2, 2, 2, 2) : tileSmem(s, wide ? 2 : 1, 2, 2);
            kernel.launch(blocks, s.heads() * s.batch(), wide ? 256 : 128, smem, args);
        } else {
            Object[] mask = maskArgs(s);
            simt("attn_fwd_simt").launch(CudaKernels.warpBlocks((long) s.tokens() * s.heads()), 1, CudaKernels.THREADS, 0,
                    concat(new Object[] {q.address(), kk.address(), v.address(), out.address(), lse.address(), s.batch(), s.seqLen(),
                            s.heads(), s.kvHeads(), s.headDim(), s.scale(), s.softcap()}, mask));
        }
    }

    /** Generation's one query over a KV cache: attn_decode_simt, a block of 8 warps per query head (THREADS = 256). */
    void decode(DecodeShape s, Tensor q, Tensor kc, Tensor vc, Tensor out) {
        if (s.headDim() > MAX_HEAD) throw new IllegalArgumentException("CUDA attention supports head sizes up to " + MAX_HEAD + ", not " + s.headDim());
        if (kc.dim(0) < s.keys() || vc.dim(0) < s.keys()) {
            throw new IllegalArgumentException("decode attention over " + s.keys() + " keys of caches " + kc + ", " + vc);
        }
        simt("attn_decode_simt").launch(s.heads(), 1, CudaKernels.THREADS, 0, q.address(), kc.address(), vc.address(), out.address(),
                s.keys(), s.heads(), s.kvHeads(), s.headDim(), s.scale(), s.softcap());
    }

    /**
     * attn_bwd_fused_mma (up to head size 128) or attn_bwd_fused_wide_mma (above) over key tiles × (kv
     * heads · sequences), dQ summed in f32 (zeroed here, the size of dq in f32) and rounded into dq by
     * from_f32. Shared memory: K, V, two stages of Q and dO, the dSᵀ tile (64 × 72 bf16; the wide kernel
     * also Pᵀ) and three words per query per stage.
     */
    private void fusedBackward(AttentionShape s, int tiles, Object[] common, Object[] mask, Tensor q, Tensor kk, Tensor v, Tensor dOut,
                               Tensor lse, Tensor delta, Tensor dq, Tensor dk, Tensor dv) {
        boolean wide = s.headDim() > FUSED_MAX_HEAD;
        int ctas = fusedCtas > 0 ? fusedCtas : s.headDim() <= 64 ? (stages == 2 ? 3 : 2) : 1;
        CudaKernel kernel = wide ? k.kernel("attention_bwd_fused_wide.cu", DType.BF16, "attn_bwd_fused_wide_mma", "HD=" + s.headDim())
                : kernel("attention_bwd_fused.cu", "attn_bwd_fused_mma", s, "MIN_CTAS=" + ctas);
        int smem = tileSmem(s, wide ? 2 : stages(s), 2, 2, 3) + (wide ? 2 : 1) * 64 * 72 * 2;
        try (Tensor acc = k.device().zeros(DType.F32, s.tokens(), (long) s.heads() * s.headDim())) {
            kernel.launch(tiles, s.kvHeads() * s.batch(), wide ? 256 : 128, smem, concat(concat(new Object[] {
                    q.address(), kk.address(), v.address(), dOut.address(), lse.address(), delta.address(), acc.address(), dk.address(),
                    dv.address()}, common), mask));
            long n = acc.numel();
            k.kernel("elementwise.cu", DType.BF16, "from_f32").launch(CudaKernels.elementBlocks(n), 1, CudaKernels.THREADS, 0,
                    acc.address(), dq.address(), n);
        }
    }

    void backward(AttentionShape s, Tensor q, Tensor kk, Tensor v, Tensor out, Tensor lse, Tensor dOut, Tensor dq, Tensor dk, Tensor dv) {
        check(s);
        if (usesTensorCores(s, q, kk, v, out, dOut, dq, dk, dv)) {
            CudnnAttention c = cudnnFor(s);
            if (c != null && c.backward(s, q, kk, v, out, lse, dOut, dq, dk, dv, cudnnMode == CudnnAttention.Mode.ON)) return;
        }
        long rows = s.tokens();
        try (Tensor delta = k.device().empty(DType.F32, rows, s.heads())) {
            simt("attn_delta").launch(CudaKernels.warpBlocks(rows * s.heads()), 1, CudaKernels.THREADS, 0,
                    dOut.address(), out.address(), delta.address(), rows, s.heads(), s.headDim());
            int tiles = (s.seqLen() + 63) / 64;
            if (usesTensorCores(s, q, kk, v, out, dOut, dq, dk, dv)) {
                Object[] mask = mmaMaskArgs(s);
                Object[] common = {s.seqLen(), s.heads(), s.kvHeads(), s.scale(), s.softcap()};
                if (fusedBackward && fusedCovers(s.headDim())) {
                    fusedBackward(s, tiles, common, mask, q, kk, v, dOut, lse, delta, dq, dk, dv);
                    return;
                }
                mma("attn_bwd_dq_mma", s).launch(tiles, s.heads() * s.batch(), 128, tileSmem(s, 2, 2, 2), concat(concat(new Object[] {
                        q.address(), kk.address(), v.address(), dOut.address(), lse.address(), delta.address(), dq.address()}, common), mask));
                Object[] kv = {q.address(), kk.address(), v.address(), dOut.address(), lse.address(), delta.address(), dk.address(), dv.address()};
                int smem = tileSmem(s, 2, 2, 3);
                if (s.headDim() > 128) {
                    mma("attn_bwd_dv_mma", s).launch(tiles, s.kvHeads() * s.batch(), 128, smem, concat(concat(kv, common), mask));
                    mma("attn_bwd_dk_mma", s).launch(tiles, s.kvHeads() * s.batch(), 128, smem, concat(concat(kv, common), mask));
                } else {
                    mma("attn_bwd_dkdv_mma", s).launch(tiles, s.kvHeads() * s.batch(), 128, smem, concat(concat(kv, common), mask));
                }
            } else {
                Object[] mask = maskArgs(s);
                Object[] shape = {s.batch(), s.seqLen(), s.heads(), s.kvHeads(), s.headDim(), s.scale(), s.softcap()};
                simt("attn_bwd_dq_simt").launch(CudaKernels.warpBlocks(rows * s.heads()), 1, CudaKernels.THREADS, 0, concat(concat(new Object[] {
                        q.address(), kk.address(), v.address(), dOut.address(), lse.address(), delta.address(), dq.address()}, shape), mask));
                simt("attn_bwd_dkdv_simt").launch(CudaKernels.warpBlocks(rows * s.kvHeads()), 1, CudaKernels.THREADS, 0, concat(concat(new Object[] {
                        q.address(), kk.address(), v.address(), dOut.address(), lse.address(), delta.address(), dk.address(), dv.address()},
                        shape), mask));
            }
        }
    }
}
