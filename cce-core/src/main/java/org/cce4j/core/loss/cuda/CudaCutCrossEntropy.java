package org.cce4j.core.loss.cuda;

import org.cce4j.core.cuda.CudaDevice;
import org.cce4j.core.cuda.DeviceBuffer;
import org.cce4j.core.InvalidInputException;
import org.cce4j.core.loss.CceForward;
import org.cce4j.core.loss.CceGradients;
import org.cce4j.core.loss.CceInputs;
import org.cce4j.core.loss.CceOptions;
import org.cce4j.core.loss.CceProblem;
import org.cce4j.core.loss.LinearCrossEntropy;
import org.cce4j.core.loss.Reduction;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Device;
import org.cce4j.core.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Cut Cross-Entropy on a CUDA device. The N×V logits exist only as tiles in registers.
 * <pre>
 * forward:  [wgmma | simt] kernel → per (row, split) max and Σexp, target logits, per-tile max logit
 *           (the wgmma kernel is queued before the targets are checked; cce_target_logits then gathers them)
 *           cce_merge → lse, token losses;  cce_reduce_loss → the reduced loss, on the device
 * backward: cce_group_stats + cce_plan → the 64×256 tiles whose gradient can reach filterEps
 *           (from the forward's tile maxima: skipped tiles are never recomputed), then either
 *           tiled:  cce_backward_mma (bf16/f16, tensor cores) or cce_backward_simt over those tiles
 *                   → dE, dC, dBias (+=, f32 atomics)
 *           entries: {@link CceEntryBackward}, each row's kept entries as a list (one logits product,
 *                   then work in proportion to what is kept), when at least {@link #ENTRIES_FRACTION}
 *                   of the tiles are active and the lists apply (a threshold whose per-row bound is small)
 *           dense:  {@link CceDenseBackward}, chunks of cuBLAS products, when at least
 *                   {@link #DENSE_FRACTION} of the tiles are active (always in exact mode)
 *           cce_target_backward → the one-hot part, O(N·D)
 * </pre>
 * {@code exact} (cce-exact) skips nothing. With {@code filterEGrad} or {@code filterCGrad} off, that
 * gradient is computed over every tile (dense unless the tiles are forced) while the other still
 * takes the planned tiles; where both would be dense, one dense pass computes both
 * ({@link BackwardPlan} decides the passes). Vocabulary
 * sorting is not needed on this path: the skip test works per tile from what the forward measured,
 * whatever the order; the option is accepted and has no effect. With accuracy the forward kernel
 * is the CCE_ACCURACY=1 build, which also keeps each (row, split)'s first maximal index for cce_merge. Extra device memory: O(S·N + (N/64)·(V/256)) floats, plus the dense path's chunk
 * of logits (128 MiB at most by default) and the entry path's lists (128 MiB at most by default).
 */
public final class CudaCutCrossEntropy implements LinearCrossEntropy {
    /** How the backward computes the active part of the gradient. */
    public enum BackwardPath {
        /** dense when at least {@link #DENSE_FRACTION} of the tiles are active, else tiled */
        AUTO,
        /** the planned 64×256 tiles, recomputed on tensor cores, atomics into the gradients */
        TILES,
        /** chunks of cuBLAS products over every row and entry */
        DENSE,
        /** each row's kept entries as a list; where the lists do not apply (f32, exact), DENSE */
        ENTRIES
    }

    /**
     * The share of active tiles from which the dense backward wins. Measured on the H100 (Llama 3.2
     * 1B's head, N = 51,200, D = 2048, V = 128,256, bf16): the tiled kernel took 209 ms for 63,816
     * active tiles (3.3 µs each: its f32 reductions bound it), the dense path 143 ms for all 400,800
     * (0.36 µs per tile's worth), so dense wins from about 11% active.
     */
    public static final double DENSE_FRACTION = 0.11;

    /**
     * The share of active tiles from which the entry lists win over the tiles: the lists' backward took
     * 14.0 ms for all 128,000 tiles' worth at Gemma 2 2B's head on the H200 (0.11 µs per tile, run 12),
     * the tiles 3.3 µs per active tile, so the lists win from a few percent active; 5% leaves the
     * tiles the inputs where almost nothing is active (the paper's, a random head).
     */
    public static final double ENTRIES_FRACTION = 0.05;

    /**
     * How much lower than filterEps the entry lists' threshold for dE is ({@code CCE4J_ENTRIES_E_FACTOR},
     * default 1: the same). Measured on the H200 at Gemma 2 2B's head on trained-like inputs (run 12):
     * a factor of 4 took dE from 4.2e-3 to 3.0e-3 of the exact gradient but the backward from 14 to
     * 37 ms (it visits 93% of the tiles instead of 44%), so the default keeps one threshold; what dE
     * drops comes back per tile against the tile's mean row of C either way.
     */
    public static float entriesEmbeddingEps(float eps) {
        String env = System.getenv("CCE4J_ENTRIES_E_FACTOR");
        double f = env == null || env.isBlank() ? 1.0 : Double.parseDouble(env.trim());
        return (float) (eps / Math.max(1.0, f));
    }

    private final boolean exact;
    private final Device device;
    private final BackwardPath path;
    private final long denseWorkspaceBytes, entryListBytes;
    private final ConcurrentHashMap<DType, CceKernels> kernels = new ConcurrentHashMap<>();

    public CudaCutCrossEntropy(boolean exact, Device device) {
        this(exact, device, pathFromEnvironment());
    }

    public CudaCutCrossEntropy(boolean exact, Device device, BackwardPath path) {
        this(exact, device, path, CceDenseBackward.workspaceBytes());
    }

    /** With the dense backward's chunk workspace in bytes (tests use small ones to exercise the chunking). */
    public CudaCutCrossEntropy(boolean exact, Device device, BackwardPath path, long denseWorkspaceBytes) {
        this(exact, device, path, denseWorkspaceBytes, CceEntryBackward.listBytes());
    }

    /** With the entry path's list budget in bytes as well (small ones cut the rows into many chunks). */
    public CudaCutCrossEntropy(boolean exact, Device device, BackwardPath path, long denseWorkspaceBytes, long entryListBytes) {
        this.exact = exact;
        this.device = device;
        this.path = path;
        this.denseWorkspaceBytes = denseWorkspaceBytes;
        this.entryListBytes = entryListBytes;
    }

    /** {@code CCE4J_CCE_BACKWARD=tiles|dense|entries|auto} (for measurements), else AUTO. */
    private static BackwardPath pathFromEnvironment() {
        String env = System.getenv("CCE4J_CCE_BACKWARD");
        if (env == null || env.isBlank()) return BackwardPath.AUTO;
        return BackwardPath.valueOf(env.trim().toUpperCase(java.util.Locale.ROOT));
    }

    private record Saved(CudaOperands ops, CceKernels k, DeviceBuffer lseAll, DeviceBuffer targetZ, DeviceBuffer tileMax,
                         int groups, int vocabTiles, Tensor lossSum, DeviceBuffer correctCount) implements AutoCloseable {
        @Override
        public void close() {
            if (lossSum != null) lossSum.close();
            if (correctCount != null) correctCount.close();
            lseAll.close();
            targetZ.close();
            tileMax.close();
            ops.close();
        }
    }

    private CceKernels kernels(CudaDevice dev, DType elem) {
        return kernels.computeIfAbsent(elem, e -> new CceKernels(dev, e));
    }

    @Override
    public CceForward forward(CceInputs in, CceOptions o) {
        requireDevice(in);
        CudaDevice dev = CudaDevice.get(device);
        StageTimer trace = StageTimer.start(dev, "cce forward");
        CudaOperands ops = null;
        DeviceBuffer partMax = null, partSum = null, partLsum = null, partArg = null, targetZ = null, tileMax = null, lseAll = null,
                correctCount = null;
        Tensor correct = null;
        boolean handedOver = false;
        try {
            // The tensor-core kernel needs E, C, the bias and the sizes, not the targets: it is queued
            // first, and the host's validation and upload of the targets overlap it (the target logits
            // then come from an O(N·D) gather). Other paths take the targets into their kernel.
            boolean early = earlyTensorCoreLaunch(dev, in);
            if (!early) {
                ops = CudaOperands.of(in, o);
                StageTimer.mark(trace, "operands");
            }
            DType elem = early ? in.embeddings().dtype() : ops.elem;
            long e = early ? in.embeddings().address() : ops.e, c = early ? in.classifier().address() : ops.c;
            long bias = early ? (in.bias() == null ? 0L : in.bias().address()) : ops.bias;
            int n = (int) (in.embeddings().numel() / in.embeddings().dim(-1));
            int v = (int) in.classifier().dim(0), d = (int) in.classifier().dim(1);
            CceKernels k = kernels(dev, elem);
            int vt = CceKernels.ceilDiv(v, CceKernels.TILE_VOCAB);
            int groups = CceKernels.ceilDiv(n, CceKernels.TILE_ROWS);
            boolean smoothing = o.labelSmoothing() != 0;
            boolean accuracy = o.accuracy();
            boolean wg = k.useWgmma(e, c, d);
            int blocks = wg ? CceKernels.ceilDiv(n, CceKernels.WG_ROWS) : groups;
            int splits = CceKernels.splitsFor(blocks, vt, wg ? dev.multiprocessors() : 2 * dev.multiprocessors());
            int perSplit = CceKernels.ceilDiv(vt, splits);

            partMax = dev.buffer(4L * splits * n);
            partSum = dev.buffer(4L * splits * n);
            partLsum = smoothing ? dev.buffer(4L * splits * n) : null;
            partArg = accuracy ? dev.buffer(4L * splits * n) : null;
            targetZ = dev.buffer(4L * n);
            tileMax = dev.buffer(4L * groups * vt);
            lseAll = dev.buffer(4L * n);
            long pl = partLsum == null ? 0L : partLsum.pointer();
            long pa = partArg == null ? 0L : partArg.pointer();
            StageTimer.mark(trace, "buffers");
            if (wg) {
                if (!early) dev.memset(targetZ.pointer(), (byte) 0, 4L * n);
                dev.fill32(tileMax.pointer(), 0xff800000, (long) groups * vt);
                boolean pairs = CceKernels.clusterPairs(blocks);
                try (Arena a = Arena.ofConfined()) {
                    MemorySegment mapE = dev.tensorMap2d(a, elem, e, n, d, 128, 64);
                    MemorySegment mapC = dev.tensorMap2d(a, elem, c, v, d, pairs ? 128 : 256, 64);
                    k.forwardModule(true, pairs, accuracy).kernel("cce_forward_wgmma").launch(blocks, splits, CceKernels.WG_THREADS,
                            CceKernels.WG_SMEM, mapE, mapC, bias, early ? 0L : ops.target, n, v, d, o.softcap(), smoothing ? 1 : 0,
                            perSplit, partMax.pointer(), partSum.pointer(), pl, targetZ.pointer(), tileMax.pointer(), pa);
                }
            } else {
                dev.memset(targetZ.pointer(), (byte) 0, 4L * n);
                k.forwardModule(false, false, accuracy).kernel("cce_forward_simt").launch(blocks, splits, 256, 0,
                        e, c, bias, ops.target, n, v, d, o.softcap(), smoothing ? 1 : 0, perSplit,
                        partMax.pointer(), partSum.pointer(), pl, targetZ.pointer(), tileMax.pointer(), pa);
            }
            StageTimer.mark(trace, "kernel");
            if (early) {
                ops = CudaOperands.of(in, o);
                StageTimer.mark(trace, "operands");
                k.rows.kernel("cce_target_logits").launch(CceKernels.ceilDiv(n, 8), 1, 256, 0,
                        e, c, bias, ops.target, n, d, o.softcap(), targetZ.pointer());
            }
            CceProblem pb = ops.problem;
            Tensor lse = dev.empty(DType.F32, pb.leadingShape);
            Tensor tokenLoss = dev.empty(DType.F32, pb.leadingShape);
            if (accuracy) correct = dev.empty(DType.I32, pb.leadingShape);
            k.rows.kernel("cce_merge").launch(CceKernels.ceilDiv(n, 256), 1, 256, 0,
                    partMax.pointer(), partSum.pointer(), pl, splits, n, v, ops.target, ops.weight,
                    targetZ.pointer(), o.labelSmoothing(), o.zLossWeight(), o.returnLse() ? 1 : 0,
                    lseAll.pointer(), lse.address(), tokenLoss.address(), pa, CudaOperands.address(correct));
            if (accuracy) correctCount = CudaOperands.countCorrect(dev, k.rows, correct, n);
            StageTimer.mark(trace, "merge");
            Tensor reduced = CudaOperands.reducedLoss(dev, k.rows, pb, o, tokenLoss.address(), ops.target);
            StageTimer.mark(trace, "reduce");
            boolean none = o.reduction() == Reduction.NONE;
            Tensor loss = none ? tokenLoss : reduced;
            CceForward f = new CceForward(in, o, pb, loss, tokenLoss, lse, CudaOperands.valueOf(dev, reduced), correct,
                    CudaOperands.countOf(dev, correctCount),
                    new Saved(ops, k, lseAll, targetZ, tileMax, groups, vt, none ? reduced : null, correctCount));
            handedOver = true;
            return f;
        } finally {
            for (DeviceBuffer b : new DeviceBuffer[] {partMax, partSum, partLsum, partArg}) if (b != null) b.close();
            if (!handedOver) {
                for (DeviceBuffer b : new DeviceBuffer[] {targetZ, tileMax, lseAll, correctCount}) if (b != null) b.close();
                if (correct != null) correct.close();
                if (ops != null) ops.close();
            }
            if (trace != null) trace.close();
        }
    }

    /**
     * Whether the forward can queue the tensor-core kernel before the targets are validated: E and C
     * on this GPU in one 2-byte type with TMA-aligned rows, and no bias or an f32 one on the GPU
     * (anything else goes through {@link CudaOperands}' conversions first). Shapes are checked here.
     */
    private boolean earlyTensorCoreLaunch(CudaDevice dev, CceInputs in) {
        Tensor e = in.embeddings(), c = in.classifier(), b = in.bias();
        if (e == null || c == null || e.device().isCpu() || c.device().isCpu() || e.dtype() != c.dtype()
                || (e.dtype() != DType.BF16 && e.dtype() != DType.F16)) return false;
        if (b != null && (b.device().isCpu() || b.dtype() != DType.F32)) return false;
        if (in.targets() == null) return false;
        CceProblem.checkShapes(in);
        return kernels(dev, e.dtype()).useWgmma(e.address(), c.address(), (int) c.dim(1));
    }

    @Override
    public CceGradients backward(CceForward fwd, Tensor upstream, CceGradients into) {
        if (!(fwd.saved() instanceof Saved sv)) throw new InvalidInputException("this forward was not made by the CUDA cce loss");
        CudaOperands ops = sv.ops();
        CudaDevice dev = ops.dev;
        dev.enter();
        CceProblem pb = fwd.problem();
        CceOptions o = fwd.options();
        StageTimer trace = StageTimer.start(dev, "cce backward");
        CceGradients out = CudaOperands.gradients(dev, fwd.inputs(), pb, into);
        StageTimer.mark(trace, "zeroed-gradients");
        if (pb.countingRows.length == 0) {
            if (trace != null) trace.close();
            return out;
        }
        float[] scale = CudaOperands.rowScales(pb, o, upstream);
        int n = pb.rows, v = pb.vocab, d = pb.dim;
        long dE = CudaOperands.address(out.dEmbeddings()), dC = CudaOperands.address(out.dClassifier()),
                dB = CudaOperands.address(out.dBias());
        float alphaOverV = o.labelSmoothing() / v;
        // each gradient is "filtered" (only the planned tiles) or "full" (every tile): filterEGrad for dE,
        // filterCGrad for dC and dBias; with neither filtered there is no plan and every tile is active
        float eps = exact ? 0f : o.effectiveFilterEps(pb.inputEpsilon);
        boolean filterE = eps > 0 && o.filterEGrad(), filterC = eps > 0 && o.filterCGrad();
        if (!filterE && !filterC) eps = 0f;
        CceKernels k = sv.k();
        int tiles = sv.groups() * sv.vocabTiles();
        try (DeviceBuffer sc = dev.uploadFloats(scale)) {
            DeviceBuffer list = null, lseMin = null, groupMul = null;
            try {
                int count = tiles;
                float mulMax = 1f;
                if (eps > 0) {
                    lseMin = dev.buffer(4L * sv.groups());
                    groupMul = dev.buffer(4L * sv.groups());
                    try (DeviceBuffer counter = dev.buffer(4)) {
                        list = dev.buffer(4L * tiles);
                        dev.memset(counter.pointer(), (byte) 0, 4);
                        k.rows.kernel("cce_group_stats").launch(sv.groups(), 1, 64, 0,
                                sv.lseAll().pointer(), sc.pointer(), n, o.zLossWeight(), lseMin.pointer(), groupMul.pointer());
                        k.rows.kernel("cce_plan").launch(CceKernels.ceilDiv(tiles, 256), 1, 256, 0,
                                sv.tileMax().pointer(), lseMin.pointer(), groupMul.pointer(), sv.groups(), sv.vocabTiles(),
                                eps, alphaOverV, counter.pointer(), list.pointer());
                        count = dev.downloadInts(counter.pointer(), 1)[0];
                        if (o.zLossWeight() != 0) mulMax = largest(dev.downloadFloats(groupMul.pointer(), sv.groups()));
                    }
                }
                StageTimer.mark(trace, "plan");
                float epsE = entriesEmbeddingEps(eps);
                long cap = CceEntryBackward.capacity(epsE, alphaOverV, mulMax, v);
                BackwardPlan plan = BackwardPlan.of(path, exact, filterE, filterC, count, tiles,
                        CceEntryBackward.applies(epsE, alphaOverV, mulMax, v), dE, dC, dB);
                lastActiveTiles = count;
                lastTotalTiles = tiles;
                lastDense = plan.anyDense();
                lastEntries = null;
                float gScale = CudaOperands.largestScale(scale);
                if (gScale != 0f) { // else every row's upstream is 0: the tiles contribute nothing
                    BackwardPass pass = new BackwardPass(path, dev, k, ops, sv, sc.pointer(), o, n, v, d, alphaOverV, gScale,
                            eps, cap, lseMin == null ? 0L : lseMin.pointer(), groupMul == null ? 0L : groupMul.pointer(),
                            denseWorkspaceBytes, entryListBytes);
                    for (BackwardPlan.Pass p : plan.passes()) {
                        if (p.method() == BackwardPlan.Method.ENTRIES) {
                            lastEntries = pass.entries(p.sides());
                            if (lastEntries.fellBack()) lastDense = true;
                        } else if (p.everyTile() || list == null) {
                            pass.run(p.sides(), p.method(), 0L, tiles);
                        } else {
                            pass.run(p.sides(), p.method(), list.pointer(), count);
                        }
                    }
                }
                if (trace != null) StageTimer.mark(trace, (lastEntries != null ? "entries " : lastDense ? "dense " : "tiles ") + count + "/" + tiles);
                k.rows.kernel("cce_target_backward").launch(CceKernels.ceilDiv(n, 8), 1, 256, 0,
                        ops.e, ops.c, ops.target, sv.targetZ().pointer(), sc.pointer(), n, d, o.softcap(),
                        1f - o.labelSmoothing(), dE, dC, dB);
                dev.synchronize("the CCE backward");
                StageTimer.mark(trace, "one-hot");
            } finally {
                for (DeviceBuffer b : new DeviceBuffer[] {list, lseMin, groupMul}) if (b != null) b.close();
                if (trace != null) trace.close();
            }
        }
        return out;
    }

    /** What every pass of one backward shares, and one pass over the active tiles (a list, or every tile). */
    private record BackwardPass(BackwardPath path, CudaDevice dev, CceKernels k, CudaOperands ops, Saved sv, long scale, CceOptions o,
                                int n, int v, int d, float alphaOverV, float gScale, float eps, long cap, long lseMin, long groupMul,
                                long denseWorkspaceBytes, long entryListBytes) {
        EntryListOutcome entries(BackwardPlan.Sides sides) {
            CceEntryBackward.Problem p = new CceEntryBackward.Problem(dev, k, ops.elem, ops.e, ops.c, ops.bias,
                    sv.lseAll().pointer(), scale, n, v, d, o.softcap(), o.zLossWeight(), o.labelSmoothing(), alphaOverV,
                    entriesEmbeddingEps(eps), eps, cap, gScale,
                    sv.tileMax().pointer(), lseMin, groupMul);
            return CceEntryBackward.run(p, sides.dE(), sides.dC(), sides.dB(), denseWorkspaceBytes, entryListBytes,
                    path == BackwardPath.AUTO);
        }

        void run(BackwardPlan.Sides sides, BackwardPlan.Method method, long tileList, int tileCount) {
            if (method == BackwardPlan.Method.DENSE) {
                CceDenseBackward.run(dev, k, ops.elem, ops.e, ops.c, ops.bias, sv.lseAll().pointer(), scale,
                        n, v, d, o.softcap(), o.zLossWeight(), alphaOverV, gScale, sides.dE(), sides.dC(), sides.dB(),
                        denseWorkspaceBytes);
            } else if (k.useMmaBackward(ops.e, ops.c, d)) {
                k.mma.kernel("cce_backward_mma").launch(tileCount, 1, 256, CceKernels.BACKWARD_MMA_SMEM,
                        ops.e, ops.c, ops.bias, sv.lseAll().pointer(), scale, n, v, d, o.softcap(),
                        o.zLossWeight(), alphaOverV, 1f / gScale, gScale, tileList, sv.vocabTiles(), sides.dE(), sides.dC(),
                        sides.dB(), ((sides.dE() | sides.dC()) & 7) == 0 ? 1 : 0);
            } else {
                k.simt.kernel("cce_backward_simt").launch(tileCount, 1, 256, CceKernels.BACKWARD_SMEM,
                        ops.e, ops.c, ops.bias, sv.lseAll().pointer(), scale, n, v, d, o.softcap(),
                        o.zLossWeight(), alphaOverV, tileList, sv.vocabTiles(), sides.dE(), sides.dC(), sides.dB());
            }
        }
    }

    /** Tiles the last backward's plan found active (the tiled path visits those), and how many there are. */
    public volatile int lastActiveTiles, lastTotalTiles;
    /** Whether the last backward took the dense (cuBLAS) path for some gradient. */
    public volatile boolean lastDense;
    /** What the last backward's entry lists kept (null: it did not take them). */
    public volatile EntryListOutcome lastEntries;

    private static float largest(float[] xs) {
        float m = 1f;
        for (float x : xs) if (x > m) m = x; // groups with no counting row hold −inf or 0
        return m;
    }

    private void requireDevice(CceInputs in) {
        if (in.embeddings() != null && !in.embeddings().device().equals(device)) {
            throw new InvalidInputException("this loss was created for " + device + " but the embeddings are on " + in.embeddings().device());
        }
    }
}
