package org.cce4j.core.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BOOLEAN;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * A cuDNN operation graph built through the backend API ({@link Cudnn}): tensors (by unique id, with
 * dimensions and strides; virtual ones live only inside the fused kernel, by-value ones are host
 * scalars), pointwise, matmul, reduction and reshape operations, then {@link #plan()}: the heuristics'
 * engine configurations tried in order until one finalizes into an execution plan. A plan runs with a
 * device pointer per non-virtual tensor and a workspace of {@link #workspaceBytes()}.
 * <p>
 * This is the graph a caller describes (cuDNN recognizes, for instance, a flash-attention pattern in it
 * and runs one fused kernel); nothing here knows about attention. Descriptors live until {@link #close()}.
 */
public final class CudnnGraph implements AutoCloseable {
    /** Element types of graph tensors. */
    public enum Type {
        F32(Cudnn.DATA_FLOAT), BF16(Cudnn.DATA_BFLOAT16), F16(Cudnn.DATA_HALF), I32(Cudnn.DATA_INT32), BOOL(Cudnn.DATA_BOOLEAN);

        final int code;

        Type(int code) {
            this.code = code;
        }
    }

    /** A tensor of the graph: its unique id, type and shape, and its descriptor. */
    public static final class Ref {
        public final long uid;
        public final Type type;
        final long[] dims;
        final MemorySegment desc;
        final boolean virtual;
        final MemorySegment byValue; // host value of a by-value scalar, else null

        private Ref(long uid, Type type, long[] dims, MemorySegment desc, boolean virtual, MemorySegment byValue) {
            this.uid = uid;
            this.type = type;
            this.dims = dims;
            this.desc = desc;
            this.virtual = virtual;
            this.byValue = byValue;
        }
    }

    private final Cudnn cudnn;
    private final String name;
    private final Arena arena = Arena.ofShared();
    private final List<MemorySegment> owned = new ArrayList<>();
    private final List<MemorySegment> operations = new ArrayList<>();
    private final Map<Long, Ref> tensors = new LinkedHashMap<>();
    private long nextUid = 1;
    private MemorySegment plan;
    private long workspace;
    private boolean closed;

    public CudnnGraph(Cudnn cudnn, String name) {
        this.cudnn = cudnn;
        this.name = name;
    }

    // ---- tensors ----------------------------------------------------------------------------

    /** A tensor the caller supplies (or receives) a device pointer for at execution. */
    public Ref tensor(Type type, long[] dims, long[] strides) {
        return tensor(type, dims, strides, false, null);
    }

    /** An intermediate that stays inside the fused kernel. */
    public Ref virtual(Type type, long[] dims, long[] strides) {
        return tensor(type, dims, strides, true, null);
    }

    /** A virtual intermediate with packed strides (last dimension fastest). */
    public Ref virtual(Type type, long... dims) {
        return virtual(type, dims, packed(dims));
    }

    /** A host scalar passed by value (dimensions 1,1,1,1). */
    public Ref scalar(float value) {
        MemorySegment v = arena.allocate(JAVA_FLOAT);
        v.set(JAVA_FLOAT, 0, value);
        return tensor(Type.F32, new long[] {1, 1, 1, 1}, new long[] {1, 1, 1, 1}, false, v);
    }

    /** Packed strides for {@code dims}. */
    public static long[] packed(long... dims) {
        long[] s = new long[dims.length];
        long acc = 1;
        for (int i = dims.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc *= dims[i];
        }
        return s;
    }

    private Ref tensor(Type type, long[] dims, long[] strides, boolean virtual, MemorySegment byValue) {
        if (dims.length != strides.length) throw new IllegalArgumentException("dims and strides differ in rank");
        long uid = nextUid++;
        MemorySegment d = create(Cudnn.TENSOR_DESCRIPTOR);
        setInt(d, Cudnn.ATTR_TENSOR_DATA_TYPE, Cudnn.TYPE_DATA_TYPE, type.code, "tensor data type");
        setLongs(d, Cudnn.ATTR_TENSOR_DIMENSIONS, dims, "tensor dimensions");
        setLongs(d, Cudnn.ATTR_TENSOR_STRIDES, strides, "tensor strides");
        setLongs(d, Cudnn.ATTR_TENSOR_UNIQUE_ID, new long[] {uid}, "tensor uid");
        setLongs(d, Cudnn.ATTR_TENSOR_BYTE_ALIGNMENT, new long[] {16}, "tensor alignment");
        if (virtual) setBool(d, Cudnn.ATTR_TENSOR_IS_VIRTUAL, true, "tensor is virtual");
        if (byValue != null) setBool(d, Cudnn.ATTR_TENSOR_IS_BY_VALUE, true, "tensor is by value");
        cudnn.finalizeDescriptor(d, name + ": tensor " + uid + " " + type + java.util.Arrays.toString(dims)
                + " strides " + java.util.Arrays.toString(strides));
        Ref r = new Ref(uid, type, dims.clone(), d, virtual, byValue);
        tensors.put(uid, r);
        return r;
    }

    // ---- operations -------------------------------------------------------------------------

    /** y = mode(x) or mode(x, b) (b may be null), computed in f32. */
    public Ref pointwise(int mode, Ref x, Ref b, Ref y) {
        return pointwise(mode, x, b, null, y, Type.F32, -1);
    }

    /**
     * The general pointwise operation: x, b and t (the condition of binary select) as inputs, the math
     * precision, and the axis of an index generator (−1: none).
     */
    public Ref pointwise(int mode, Ref x, Ref b, Ref t, Ref y, Type precision, int axis) {
        MemorySegment op = pointwiseOperation(mode, precision, axis);
        setDesc(op, Cudnn.ATTR_OPERATION_POINTWISE_XDESC, x.desc, "pointwise x");
        if (b != null) setDesc(op, Cudnn.ATTR_OPERATION_POINTWISE_BDESC, b.desc, "pointwise b");
        if (t != null) setDesc(op, Cudnn.ATTR_OPERATION_POINTWISE_TDESC, t.desc, "pointwise t");
        setDesc(op, Cudnn.ATTR_OPERATION_POINTWISE_YDESC, y.desc, "pointwise y");
        cudnn.finalizeDescriptor(op, name + ": pointwise operation " + mode + " -> " + y.uid);
        operations.add(op);
        return y;
    }

    /** An activation's backward: dx = dy · f'(x) (Cudnn.PW_TANH_BWD: dy · (1 − tanh² x)), in f32. */
    public Ref pointwiseBackward(int mode, Ref dy, Ref x, Ref dx) {
        MemorySegment op = pointwiseOperation(mode, Type.F32, -1);
        setDesc(op, Cudnn.ATTR_OPERATION_POINTWISE_DYDESC, dy.desc, "pointwise dy");
        setDesc(op, Cudnn.ATTR_OPERATION_POINTWISE_XDESC, x.desc, "pointwise x");
        setDesc(op, Cudnn.ATTR_OPERATION_POINTWISE_DXDESC, dx.desc, "pointwise dx");
        cudnn.finalizeDescriptor(op, name + ": pointwise backward operation " + mode + " -> " + dx.uid);
        operations.add(op);
        return dx;
    }

    /** A pointwise operation descriptor with its mode, precision and index axis (−1: none), tensors not yet set. */
    private MemorySegment pointwiseOperation(int mode, Type precision, int axis) {
        MemorySegment pw = create(Cudnn.POINTWISE_DESCRIPTOR);
        setInt(pw, Cudnn.ATTR_POINTWISE_MODE, Cudnn.TYPE_POINTWISE_MODE, mode, "pointwise mode");
        setInt(pw, Cudnn.ATTR_POINTWISE_MATH_PREC, Cudnn.TYPE_DATA_TYPE, precision.code, "pointwise precision");
        if (axis >= 0) setLongs(pw, Cudnn.ATTR_POINTWISE_AXIS, new long[] {axis}, "pointwise axis");
        cudnn.finalizeDescriptor(pw, name + ": pointwise " + mode);
        MemorySegment op = create(Cudnn.OPERATION_POINTWISE_DESCRIPTOR);
        setDesc(op, Cudnn.ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR, pw, "pointwise descriptor");
        return op;
    }

    /** c = a · b over the last two dimensions (batched over the leading ones, broadcast where they are 1 or divide), f32 accumulation. */
    public Ref matmul(Ref a, Ref b, Ref c) {
        MemorySegment mm = create(Cudnn.MATMUL_DESCRIPTOR);
        setInt(mm, Cudnn.ATTR_MATMUL_COMP_TYPE, Cudnn.TYPE_DATA_TYPE, Cudnn.DATA_FLOAT, "matmul compute type");
        cudnn.finalizeDescriptor(mm, name + ": matmul");
        MemorySegment op = create(Cudnn.OPERATION_MATMUL_DESCRIPTOR);
        setDesc(op, Cudnn.ATTR_OPERATION_MATMUL_ADESC, a.desc, "matmul a");
        setDesc(op, Cudnn.ATTR_OPERATION_MATMUL_BDESC, b.desc, "matmul b");
        setDesc(op, Cudnn.ATTR_OPERATION_MATMUL_CDESC, c.desc, "matmul c");
        setDesc(op, Cudnn.ATTR_OPERATION_MATMUL_DESC, mm, "matmul descriptor");
        cudnn.finalizeDescriptor(op, name + ": matmul operation -> " + c.uid);
        operations.add(op);
        return c;
    }

    /** y = reduce(x) over the dimensions where y is smaller (Cudnn.REDUCE_ADD, REDUCE_MAX), in f32. */
    public Ref reduction(int operator, Ref x, Ref y) {
        MemorySegment rd = create(Cudnn.REDUCTION_DESCRIPTOR);
        setInt(rd, Cudnn.ATTR_REDUCTION_OPERATOR, Cudnn.TYPE_REDUCTION_OPERATOR_TYPE, operator, "reduction operator");
        setInt(rd, Cudnn.ATTR_REDUCTION_COMP_TYPE, Cudnn.TYPE_DATA_TYPE, Cudnn.DATA_FLOAT, "reduction compute type");
        cudnn.finalizeDescriptor(rd, name + ": reduction");
        MemorySegment op = create(Cudnn.OPERATION_REDUCTION_DESCRIPTOR);
        setDesc(op, Cudnn.ATTR_OPERATION_REDUCTION_XDESC, x.desc, "reduction x");
        setDesc(op, Cudnn.ATTR_OPERATION_REDUCTION_YDESC, y.desc, "reduction y");
        setDesc(op, Cudnn.ATTR_OPERATION_REDUCTION_DESC, rd, "reduction descriptor");
        cudnn.finalizeDescriptor(op, name + ": reduction operation -> " + y.uid);
        operations.add(op);
        return y;
    }

    /** y = x seen with other dimensions and strides (a transposed view, for instance). */
    public Ref reshape(Ref x, Ref y) {
        MemorySegment op = create(Cudnn.OPERATION_RESHAPE_DESCRIPTOR);
        setDesc(op, Cudnn.ATTR_OPERATION_RESHAPE_XDESC, x.desc, "reshape x");
        setDesc(op, Cudnn.ATTR_OPERATION_RESHAPE_YDESC, y.desc, "reshape y");
        cudnn.finalizeDescriptor(op, name + ": reshape operation -> " + y.uid);
        operations.add(op);
        return y;
    }

    // ---- plan and execution -----------------------------------------------------------------

    /**
     * Finalizes the graph and picks the first engine configuration of the heuristics (mode A, then the
     * fallback list) that finalizes into a plan. Throws {@link Cudnn.CudnnException} when none does.
     */
    public CudnnGraph plan() {
        if (plan != null) return this;
        MemorySegment graph = create(Cudnn.OPERATIONGRAPH_DESCRIPTOR);
        setDesc(graph, Cudnn.ATTR_OPERATIONGRAPH_HANDLE, cudnn.handle(), Cudnn.TYPE_HANDLE, "graph handle");
        MemorySegment ops = arena.allocate(ADDRESS, operations.size());
        for (int i = 0; i < operations.size(); i++) ops.setAtIndex(ADDRESS, i, operations.get(i));
        cudnn.set(graph, Cudnn.ATTR_OPERATIONGRAPH_OPS, Cudnn.TYPE_BACKEND_DESCRIPTOR, operations.size(), ops, "graph operations");
        cudnn.finalizeDescriptor(graph, name + ": operation graph of " + operations.size() + " operations");
        List<String> failures = new ArrayList<>();
        for (int mode : new int[] {Cudnn.HEUR_MODE_A, Cudnn.HEUR_MODE_FALLBACK}) {
            List<MemorySegment> configs;
            try {
                configs = engineConfigs(graph, mode);
            } catch (Cudnn.CudnnException e) {
                failures.add("heuristics " + mode + ": " + e.getMessage());
                continue;
            }
            for (MemorySegment cfg : configs) {
                MemorySegment p = create(Cudnn.EXECUTION_PLAN_DESCRIPTOR);
                try {
                    setDesc(p, Cudnn.ATTR_EXECUTION_PLAN_HANDLE, cudnn.handle(), Cudnn.TYPE_HANDLE, "plan handle");
                    setDesc(p, Cudnn.ATTR_EXECUTION_PLAN_ENGINE_CONFIG, cfg, "plan engine config");
                    cudnn.finalizeDescriptor(p, name + ": execution plan");
                    MemorySegment ws = arena.allocate(JAVA_LONG);
                    cudnn.get(p, Cudnn.ATTR_EXECUTION_PLAN_WORKSPACE_SIZE, Cudnn.TYPE_INT64, 1, ws, "plan workspace");
                    workspace = ws.get(JAVA_LONG, 0);
                    plan = p;
                    return this;
                } catch (Cudnn.CudnnException e) {
                    failures.add(e.getMessage());
                    owned.remove(p);
                    cudnn.destroy(p);
                }
            }
        }
        throw new Cudnn.CudnnException(name + ": no cuDNN engine runs this graph (" + String.join("; ", failures) + ")", 3000);
    }

    private List<MemorySegment> engineConfigs(MemorySegment graph, int mode) {
        MemorySegment heur = create(Cudnn.ENGINEHEUR_DESCRIPTOR);
        setDesc(heur, Cudnn.ATTR_ENGINEHEUR_OPERATION_GRAPH, graph, "heuristics graph");
        setInt(heur, Cudnn.ATTR_ENGINEHEUR_MODE, Cudnn.TYPE_HEUR_MODE, mode, "heuristics mode");
        cudnn.finalizeDescriptor(heur, name + ": heuristics");
        long count = cudnn.get(heur, Cudnn.ATTR_ENGINEHEUR_RESULTS, Cudnn.TYPE_BACKEND_DESCRIPTOR, 0, MemorySegment.NULL, "heuristics count");
        List<MemorySegment> configs = new ArrayList<>();
        if (count <= 0) return configs;
        MemorySegment arr = arena.allocate(ADDRESS, count);
        for (int i = 0; i < count; i++) {
            MemorySegment cfg = create(Cudnn.ENGINECFG_DESCRIPTOR);
            arr.setAtIndex(ADDRESS, i, cfg);
            configs.add(cfg);
        }
        long got = cudnn.get(heur, Cudnn.ATTR_ENGINEHEUR_RESULTS, Cudnn.TYPE_BACKEND_DESCRIPTOR, count, arr, "heuristics results");
        return configs.subList(0, (int) Math.min(got, count));
    }

    public long workspaceBytes() {
        if (plan == null) throw new IllegalStateException(name + ": plan() first");
        return workspace;
    }

    /**
     * Runs the plan on the handle's stream: {@code pointers} gives the device address of every
     * non-virtual, non-scalar tensor by uid; {@code workspace} at least {@link #workspaceBytes()}.
     */
    public void execute(Map<Long, Long> pointers, long workspaceAddress) {
        if (plan == null) throw new IllegalStateException(name + ": plan() first");
        List<Long> uids = new ArrayList<>();
        List<MemorySegment> ptrs = new ArrayList<>();
        for (Ref r : tensors.values()) {
            if (r.virtual) continue;
            if (r.byValue != null) {
                uids.add(r.uid);
                ptrs.add(r.byValue);
                continue;
            }
            Long p = pointers.get(r.uid);
            if (p == null) continue; // a tensor the graph does not use (never referenced by an operation)
            uids.add(r.uid);
            ptrs.add(MemorySegment.ofAddress(p));
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment u = a.allocate(JAVA_LONG, uids.size());
            MemorySegment d = a.allocate(ADDRESS, ptrs.size());
            for (int i = 0; i < uids.size(); i++) {
                u.setAtIndex(JAVA_LONG, i, uids.get(i));
                d.setAtIndex(ADDRESS, i, ptrs.get(i));
            }
            MemorySegment ws = a.allocate(ADDRESS);
            ws.set(ADDRESS, 0, MemorySegment.ofAddress(workspaceAddress));
            MemorySegment pack = cudnn.create(Cudnn.VARIANT_PACK_DESCRIPTOR);
            try {
                cudnn.set(pack, Cudnn.ATTR_VARIANT_PACK_UNIQUE_IDS, Cudnn.TYPE_INT64, uids.size(), u, "variant pack uids");
                cudnn.set(pack, Cudnn.ATTR_VARIANT_PACK_DATA_POINTERS, Cudnn.TYPE_VOID_PTR, ptrs.size(), d, "variant pack pointers");
                cudnn.set(pack, Cudnn.ATTR_VARIANT_PACK_WORKSPACE, Cudnn.TYPE_VOID_PTR, 1, ws, "variant pack workspace");
                cudnn.finalizeDescriptor(pack, name + ": variant pack");
                cudnn.execute(plan, pack, name);
            } finally {
                cudnn.destroy(pack);
            }
        }
    }

    // ---- descriptor helpers -----------------------------------------------------------------

    private MemorySegment create(int type) {
        MemorySegment d = cudnn.create(type);
        owned.add(d);
        return d;
    }

    private void setInt(MemorySegment d, int attr, int type, int value, String what) {
        MemorySegment v = arena.allocate(JAVA_INT);
        v.set(JAVA_INT, 0, value);
        cudnn.set(d, attr, type, 1, v, what);
    }

    private void setLongs(MemorySegment d, int attr, long[] values, String what) {
        MemorySegment v = arena.allocate(JAVA_LONG, values.length);
        for (int i = 0; i < values.length; i++) v.setAtIndex(JAVA_LONG, i, values[i]);
        cudnn.set(d, attr, Cudnn.TYPE_INT64, values.length, v, what);
    }

    private void setBool(MemorySegment d, int attr, boolean value, String what) {
        MemorySegment v = arena.allocate(JAVA_BOOLEAN);
        v.set(JAVA_BOOLEAN, 0, value);
        cudnn.set(d, attr, Cudnn.TYPE_BOOLEAN, 1, v, what);
    }

    private void setDesc(MemorySegment d, int attr, MemorySegment value, String what) {
        setDesc(d, attr, value, Cudnn.TYPE_BACKEND_DESCRIPTOR, what);
    }

    private void setDesc(MemorySegment d, int attr, MemorySegment value, int type, String what) {
        MemorySegment v = arena.allocate(ADDRESS);
        v.set(ADDRESS, 0, value);
        cudnn.set(d, attr, type, 1, v, what);
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        for (int i = owned.size() - 1; i >= 0; i--) cudnn.destroy(owned.get(i));
        owned.clear();
        arena.close();
    }
}
