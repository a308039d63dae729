package org.cce4j.trainer.compare;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.cce4j.checkpoints.AtomicFiles;
import org.cce4j.checkpoints.Json;
import org.cce4j.checkpoints.hf.HfCheckpoint;
import org.cce4j.checkpoints.hf.ModelConfig;
import org.cce4j.checkpoints.hf.ModelConfigParser;
import org.cce4j.core.bench.LossBenchmarkResult;
import org.cce4j.core.bench.LossBenchmarks;
import org.cce4j.core.device.DeviceChoice;
import org.cce4j.core.device.Devices;
import org.cce4j.core.loss.CceOptions;
import org.cce4j.core.tensor.DType;
import org.cce4j.trainer.config.TrainConfig;
import org.cce4j.trainer.train.MicroBatchProbe;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * What each loss variant costs in memory at a comparison's shapes, measured once per variant into
 * {@code OUT/memory-<variant>.json} (kept, so a restarted comparison does not measure again):
 * <pre>
 *   loss_extra_mb            the loss alone — forward+backward of the variant at N = micro_batch × seq_len
 *                            tokens, the model's hidden size and vocabulary, the run's dtype — beyond its
 *                            inputs and gradients (cce-core's loss benchmark measure; the time beside it)
 *   largest_micro_batch      the largest micro-batch whose whole training step fits the GPU
 *   largest_micro_batch_mb   that step's peak                                   (both: MicroBatchProbe, CUDA only)
 * </pre>
 */
public final class MemoryProbe {
    private MemoryProbe() {}

    static Path file(Path output, Variant v) {
        return output.resolve("memory-" + v.name() + ".json");
    }

    /** Measures {@code variant} under the run config {@code c} (already with the variant's overrides) unless its file exists. */
    public static void measure(Path output, Variant variant, TrainConfig c, int probeLimit, PrintStream err) throws IOException {
        Path file = file(output, variant);
        if (Files.isRegularFile(file)) return;
        ModelConfig m = ModelConfigParser.parse(Json.readObject(c.model().resolve(HfCheckpoint.CONFIG)), c.model().toString());
        DeviceChoice device = Devices.choose(c.device());
        DType dtype = device.device().isCpu() || "f32".equals(c.dtype()) ? DType.F32 : DType.BF16;
        int n = c.train().microBatchSize() * c.data().seqLen();
        TrainConfig.Loss l = c.loss();
        CceOptions options = CceOptions.defaults().withSoftcap((float) m.finalLogitSoftcap()).withFilterEps((float) l.filterEps())
                .withFilterEGrad(l.filterEGrad()).withFilterCGrad(l.filterCGrad());
        err.println("compare: measuring " + variant.name() + "'s memory (the loss at " + n + " tokens"
                + (device.device().isCpu() ? ")" : "; the largest micro-batch)"));
        LossBenchmarkResult loss = LossBenchmarks.run(l.impl(), device.device(), n, m.hiddenSize(), m.vocabSize(), dtype, options, 3);
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode o = json.createObjectNode();
        o.put("device", device.device().toString());
        o.put("loss_tokens", n);
        o.put("loss_extra_mb", loss.extraMemoryMB());
        o.put("loss_forward_backward_ms", loss.forwardBackwardMs());
        MicroBatchProbe.Result r = null;
        if (!device.device().isCpu()) {
            try {
                r = MicroBatchProbe.largest(c, probeLimit);
            } catch (IllegalStateException e) {
                o.put("largest_micro_batch_error", e.getMessage());
                err.println("compare: " + variant.name() + ": the micro-batch probe stopped: " + e.getMessage());
            }
        }
        if (r != null) {
            o.put("largest_micro_batch", r.largest());
            o.put("largest_micro_batch_mb", r.largestPeakBytes() / 1e6);
            o.put("probe_limit", probeLimit);
            ArrayNode probes = o.putArray("probes");
            for (MicroBatchProbe.Probe p : r.probes()) {
                probes.addObject().put("micro_batch", p.microBatch()).put("fits", p.fits()).put("peak_mb", p.peakBytes() / 1e6);
            }
        }
        AtomicFiles.writeString(file, json.writeValueAsString(o) + "\n");
    }

    /** The measured file of {@code variant}, or null when it was not measured. */
    static JsonNode read(Path output, Variant variant) throws IOException {
        Path file = file(output, variant);
        return Files.isRegularFile(file) ? new ObjectMapper().readTree(file.toFile()) : null;
    }

    static List<String> keys() {
        return List.of("loss_extra_mb", "largest_micro_batch", "largest_micro_batch_mb");
    }
}
