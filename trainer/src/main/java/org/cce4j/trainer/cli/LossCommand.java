package org.cce4j.trainer.cli;

import org.cce4j.checkpoints.safetensors.SafetensorsFile;
import org.cce4j.checkpoints.safetensors.SafetensorsWriter;
import org.cce4j.checkpoints.safetensors.TensorEntry;
import org.cce4j.core.InvalidInputException;
import org.cce4j.core.loss.CceForward;
import org.cce4j.core.loss.CceGradients;
import org.cce4j.core.loss.CceImpl;
import org.cce4j.core.loss.CceInputs;
import org.cce4j.core.loss.CceOptions;
import org.cce4j.core.loss.LinearCrossEntropy;
import org.cce4j.core.loss.Reduction;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Device;
import org.cce4j.core.tensor.Tensor;
import org.cce4j.core.tensor.TensorChecks;
import org.cce4j.core.device.Transfers;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.UnaryOperator;

/**
 * {@code loss}: one forward and backward of the linear-cross-entropy loss on tensors from a
 * safetensors file, written to another, with the exact tensor names other tools read (docs/design.md).
 * Inputs are checked (shapes, target range, finiteness) before any work; the output is written to
 * a temporary name and renamed.
 */
@Command(name = "loss", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "Computes the linear-cross-entropy loss and its gradients.",
            "Reads E [N,D], C [V,D], targets [N] (int32/int64) and optional bias [V] and weights [N] (f32, bf16 or f16);",
            "writes loss (f32 scalar; with --reduction none the sum), lse [N], nll [N] (0 where ignored),",
            "dE [N,D], dC [V,D] and dbias [V] (with a bias), all f32 (with none, the gradients of the sum);",
            "with --accuracy also correct [N] (int32: 1 where the row counts and its argmax is its target) and correct_count."})
public final class LossCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    @Option(names = "--input", required = true, paramLabel = "FILE", description = "safetensors file with E, C, targets [, bias, weights]")
    Path input;

    @Option(names = "--output", required = true, paramLabel = "FILE", description = "safetensors file to write")
    Path output;

    @Option(names = "--impl", defaultValue = "cce", converter = Converters.Impl.class, paramLabel = "cce|cce-exact|baseline",
            description = "Implementation (default: ${DEFAULT-VALUE}).")
    CceImpl impl;

    @Option(names = "--reduction", defaultValue = "mean", converter = Converters.ReductionConverter.class, paramLabel = "mean|sum|none",
            description = "Reduction over tokens (default: ${DEFAULT-VALUE}).")
    Reduction reduction;

    @Option(names = "--ignore-index", defaultValue = "-100", paramLabel = "N", description = "Target value that does not count (default: ${DEFAULT-VALUE}).")
    int ignoreIndex;

    @Option(names = "--softcap", paramLabel = "S", description = "Logit softcap s: logits become s·tanh(x/s) (default: none).")
    Float softcap;

    @Option(names = "--shift", defaultValue = "0", paramLabel = "K", description = "Row i predicts target i+K (default: ${DEFAULT-VALUE}).")
    int shift;

    @Option(names = "--filter-eps", paramLabel = "E", description = "Gradient filter threshold for cce (default: the input dtype's epsilon / 32).")
    Float filterEps;

    @Option(names = "--label-smoothing", defaultValue = "0", paramLabel = "A", description = "Label smoothing in [0, 1] (default: ${DEFAULT-VALUE}).")
    float labelSmoothing;

    @Option(names = "--z-loss", defaultValue = "0", paramLabel = "W", description = "Weight of the z-loss W·lse² (default: ${DEFAULT-VALUE}).")
    float zLoss;

    @Option(names = "--accuracy", description = "Also write correct [N] and correct_count: whether each row's argmax (its first "
            + "largest logit, as torch.argmax) is its target, computed inside the loss without the N×V logits.")
    boolean accuracy;

    @Option(names = "--no-filter-e-grad", description = "cce: compute dE from every block, none skipped below --filter-eps.")
    boolean noFilterEGrad;

    @Option(names = "--no-filter-c-grad", description = "cce: compute dC and dbias from every block (the CCE paper's full C); "
            + "dE may still skip blocks.")
    boolean noFilterCGrad;

    @Override
    public Integer call() throws Exception {
        CceOptions options = options();
        Device device = common.chooseDevice(spec.commandLine().getErr()).device();
        InputFiles.requireFile("--input", input);
        CommandOutput out = CommandOutput.binary("--output", output, "safetensors").notOneOf(Map.of("--input", input));
        LinearCrossEntropy loss = LinearCrossEntropy.create(impl, device);
        List<AutoCloseable> toClose = new ArrayList<>();
        try (SafetensorsFile file = SafetensorsFile.open(input)) {
            Tensor e = file.tensor("E");
            if (e.rank() < 2) throw new InvalidInputException(input + ": E must have shape [N, D], got " + e);
            long n = e.numel() / e.dim(-1);
            Tensor c = file.tensor("C");
            Tensor targets = file.tensor("targets");
            Tensor bias = file.contains("bias") ? file.tensor("bias") : null;
            Tensor weights = file.contains("weights") ? file.tensor("weights") : null;
            requireFloat(e, "E");
            requireFloat(c, "C");
            if (bias != null) requireFloat(bias, "bias");
            if (weights != null) requireFloat(weights, "weights");
            TensorChecks.requireFinite(e, input + ": E");
            TensorChecks.requireFinite(c, input + ": C");
            if (bias != null) TensorChecks.requireFinite(bias, input + ": bias");

            CceInputs in = new CceInputs(onDevice(e, device, toClose), onDevice(c, device, toClose), targets,
                    bias == null ? null : onDevice(bias, device, toClose), weights);
            try (CceForward f = loss.forward(in, options);
                 Tensor up = reduction == Reduction.NONE ? ones(n, e.shape()) : Tensor.scalar(1f);
                 CceGradients g = loss.backward(f, up, null)) {
                write(out.path(), f, g, n);
            }
        } finally {
            for (AutoCloseable c : toClose) c.close();
        }
        return 0;
    }

    /** The loss options, each checked by CceOptions and refused under its option's name. */
    private CceOptions options() {
        CceOptions o = CceOptions.defaults().withReduction(reduction).withIgnoreIndex(ignoreIndex).withReturnLse(true)
                .withAccuracy(accuracy).withFilterEGrad(!noFilterEGrad).withFilterCGrad(!noFilterCGrad);
        o = checked(o, "--shift", "shift", x -> x.withShift(shift));
        o = checked(o, "--label-smoothing", "labelSmoothing", x -> x.withLabelSmoothing(labelSmoothing));
        o = checked(o, "--z-loss", "zLossWeight", x -> x.withZLossWeight(zLoss));
        if (softcap != null) o = checked(o, "--softcap", "softcap", x -> x.withSoftcap(softcap));
        if (filterEps != null) o = checked(o, "--filter-eps", "filterEps", x -> x.withFilterEps(filterEps));
        return o;
    }

    /** CceOptions' rule for one option ("labelSmoothing must be in [0, 1], got 1.5"), said with the option's name. */
    private static CceOptions checked(CceOptions o, String option, String field, UnaryOperator<CceOptions> set) {
        try {
            return set.apply(o);
        } catch (IllegalArgumentException e) {
            String m = String.valueOf(e.getMessage());
            throw new InvalidInputException(m.startsWith(field + " ") ? option + m.substring(field.length()) : option + ": " + m);
        }
    }

    private void write(Path file, CceForward f, CceGradients g, long n) throws IOException {
        List<Tensor> host = new ArrayList<>();
        try {
            Map<String, Tensor> out = new LinkedHashMap<>();
            out.put("loss", Tensor.scalar(f.lossValue()));
            out.put("lse", hostCopy(f.lse(), host).reshape(n));
            out.put("nll", hostCopy(f.tokenLoss(), host).reshape(n));
            out.put("dE", hostCopy(g.dEmbeddings(), host));
            out.put("dC", hostCopy(g.dClassifier(), host));
            if (g.dBias() != null) out.put("dbias", hostCopy(g.dBias(), host));
            if (accuracy) {
                out.put("correct", hostCopy(f.correct(), host).reshape(n));
                Tensor count = Tensor.of(new long[] {f.correctCount()});
                host.add(count);
                out.put("correct_count", count);
            }
            host.add(out.get("loss"));
            List<TensorEntry> entries = new ArrayList<>();
            out.forEach((name, t) -> entries.add(TensorEntry.of(name, t)));
            SafetensorsWriter.write(file, Map.of("producer", "cce4j loss", "impl", impl.cliName(), "reduction",
                    reduction.name().toLowerCase(Locale.ROOT)), entries);
        } finally {
            for (Tensor t : host) t.close();
        }
    }

    private static Tensor hostCopy(Tensor t, List<Tensor> toClose) {
        Tensor h = Transfers.toHost(t);
        if (h != t) toClose.add(h);
        return h;
    }

    private static Tensor onDevice(Tensor t, Device device, List<AutoCloseable> toClose) {
        Tensor d = Transfers.to(t, device);
        if (d != t) toClose.add(d);
        return d;
    }

    private static Tensor ones(long n, long[] eShape) {
        float[] one = new float[Math.toIntExact(n)];
        Arrays.fill(one, 1f);
        return Tensor.of(one, Arrays.copyOf(eShape, eShape.length - 1));
    }

    private void requireFloat(Tensor t, String name) {
        DType d = t.dtype();
        if (d != DType.F32 && d != DType.BF16 && d != DType.F16) {
            throw new InvalidInputException(input + ": " + name + " must be f32, bf16 or f16, got " + d.shortName());
        }
    }
}
