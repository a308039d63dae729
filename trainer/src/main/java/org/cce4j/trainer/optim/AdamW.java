package org.cce4j.trainer.optim;

import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Tensor;
import org.cce4j.transformer.backend.AdamWStep;
import org.cce4j.transformer.backend.Backend;
import org.cce4j.transformer.model.Parameter;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * AdamW over a model's trainable parameters, as {@code torch.optim.AdamW} with two parameter groups
 * (decay on 2-D parameters, none on norms and biases) preceded by {@code clip_grad_norm_}:
 * <pre>
 *   Σg²       one device scalar (f64), every trainable gradient's squares added in     sumOfSquares
 *   update    per parameter, one fused kernel: clip factor from Σg², decay, moments     adamw
 *   state     m, v: f32, the parameter's shape; master: f32 copy when the parameter is stored narrower (bf16)
 * </pre>
 * Frozen parameters have no state. A parameter whose gradient was never touched (null) is skipped
 * like torch skips a parameter whose .grad is None.
 */
public final class AdamW implements AutoCloseable {
    /** One parameter's optimizer state. */
    public static final class State {
        final Parameter param;
        final Tensor m, v, master;

        State(Parameter param, Tensor m, Tensor v, Tensor master) {
            this.param = param;
            this.m = m;
            this.v = v;
            this.master = master;
        }

        public Tensor m() {
            return m;
        }

        public Tensor v() {
            return v;
        }

        /** The f32 master copy, or null when the parameter itself is f32. */
        public Tensor master() {
            return master;
        }
    }

    private final Backend be;
    private final Map<String, State> states = new LinkedHashMap<>();
    private final double beta1, beta2, eps, weightDecay, maxGradNorm;
    private long step;

    public AdamW(Backend be, List<Parameter> trainable, double beta1, double beta2, double eps, double weightDecay, double maxGradNorm) {
        this.be = be;
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        this.maxGradNorm = maxGradNorm;
        for (Parameter p : trainable) {
            long[] shape = p.value().shape();
            Tensor master = null;
            if (p.value().dtype() != DType.F32) {
                master = be.empty(DType.F32, shape);
                be.copy(p.value(), master);
            }
            states.put(p.name(), new State(p, be.zeros(DType.F32, shape), be.zeros(DType.F32, shape), master));
        }
    }

    /** Steps taken so far. */
    public long steps() {
        return step;
    }

    public Map<String, State> states() {
        return Collections.unmodifiableMap(states);
    }

    /**
     * The squared global L2 norm of the current gradients, as a device f64 [1] the caller closes (the
     * norm is its square root; NaN or infinity when a gradient is not finite).
     */
    public Tensor gradSumOfSquares() {
        Tensor acc = be.zeros(DType.F64, 1);
        for (State s : states.values()) {
            Tensor g = s.param.existingGrad();
            if (g != null) be.sumOfSquares(g, acc);
        }
        return acc;
    }

    /** One update at learning rate {@code lr}, clipping with {@code sumOfSquares} (from {@link #gradSumOfSquares}). */
    public void step(double lr, Tensor sumOfSquares) {
        step++;
        AdamWStep base = new AdamWStep(lr, beta1, beta2, eps, 0, step, maxGradNorm);
        for (State s : states.values()) update(s, base, maxGradNorm > 0 ? sumOfSquares : null);
    }

    /**
     * Starts a step whose parameters are then updated a few at a time by {@link #stepParameters}, as the
     * backward finishes their gradients (train.optimizer_in_backward); counts the step for the bias correction.
     */
    public void beginStep() {
        if (maxGradNorm > 0) throw new IllegalStateException("updating parameters during the backward needs max_grad_norm 0 (no clipping)");
        step++;
    }

    /**
     * The update of {@link #step} for those of {@code params} that this optimizer holds and that have a
     * gradient, at learning rate {@code lr}, without clipping (after {@link #beginStep}); each gradient's
     * squares are first added to {@code sumOfSquares} (f64 [1] on the device: the step's norm, for the
     * metrics) and the gradient is then freed.
     */
    public void stepParameters(List<Parameter> params, double lr, Tensor sumOfSquares) {
        AdamWStep base = new AdamWStep(lr, beta1, beta2, eps, 0, step, 0);
        for (Parameter p : params) {
            State s = states.get(p.name());
            if (s == null || s.param != p || p.existingGrad() == null) continue;
            be.sumOfSquares(p.existingGrad(), sumOfSquares);
            update(s, base, null);
            p.zeroGrad();
        }
    }

    private void update(State s, AdamWStep base, Tensor sumOfSquares) {
        Tensor g = s.param.existingGrad();
        if (g == null) return;
        AdamWStep st = s.param.decays() ? base.withWeightDecay(weightDecay) : base;
        be.adamw(s.param.value(), s.master, g, s.m, s.v, sumOfSquares, st);
    }

    /** Restores the step count after loading a checkpoint's state into {@link #states()}. */
    public void restoreSteps(long steps) {
        this.step = steps;
    }

    /** Bytes of optimizer state (moments and master copies) on the device. */
    public long stateBytes() {
        long b = 0;
        for (State s : states.values()) b += s.m.byteSize() + s.v.byteSize() + (s.master == null ? 0 : s.master.byteSize());
        return b;
    }

    /** The optimizer's tensors by checkpoint name: exp_avg.NAME, exp_avg_sq.NAME, master.NAME. */
    public Map<String, Tensor> namedTensors() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (var e : states.entrySet()) {
            out.put("exp_avg." + e.getKey(), e.getValue().m);
            out.put("exp_avg_sq." + e.getKey(), e.getValue().v);
            if (e.getValue().master != null) out.put("master." + e.getKey(), e.getValue().master);
        }
        return out;
    }

    /** The parameter of a state by name. */
    public Parameter parameter(String name) {
        State s = states.get(name);
        if (s == null) throw new IllegalArgumentException("no optimizer state for " + name);
        return s.param;
    }

    /** The names of the parameters this optimizer updates, in order. */
    public List<String> parameterNames() {
        return new ArrayList<>(states.keySet());
    }

    @Override
    public void close() {
        for (State s : states.values()) {
            s.m.close();
            s.v.close();
            if (s.master != null) s.master.close();
        }
        states.clear();
    }
}
