package org.cce4j.trainer.data.packing;

import org.cce4j.checkpoints.Json;
import org.cce4j.checkpoints.hf.ModelConfig;
import org.cce4j.checkpoints.hf.ModelConfigParser;
import org.cce4j.core.loss.CceImpl;
import org.cce4j.core.loss.CceOptions;
import org.cce4j.core.loss.Reduction;
import org.cce4j.core.tensor.Tensor;
import org.cce4j.trainer.data.InMemoryTokenRows;
import org.cce4j.trainer.data.MicroBatch;
import org.cce4j.trainer.data.TokenRow;
import org.cce4j.trainer.data.TokenRows;
import org.cce4j.transformer.backend.CpuBackend;
import org.cce4j.transformer.model.Batch;
import org.cce4j.transformer.model.Parameter;
import org.cce4j.transformer.model.ParameterStore;
import org.cce4j.transformer.model.TransformerModel;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The real check that packed documents do not see each other: a packed micro-batch (two packs of
 * several documents, one of them padded) gives the loss sum and every parameter's gradient of the same
 * documents run one per batch, on the CPU backend with a small random Llama (2 layers, GQA), within f32
 * rounding. The same batch with attention across documents (documents = null) must differ, so the check
 * can fail.
 */
class PackedModelTest {
    private static final int VOCAB = 61;
    private static final String CONFIG = """
            {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 61, "hidden_size": 32,
             "intermediate_size": 48, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
             "head_dim": 8, "hidden_act": "silu", "max_position_embeddings": 64, "rms_norm_eps": 1e-06,
             "tie_word_embeddings": false, "rope_theta": 10000.0, "bos_token_id": 1, "eos_token_id": 2,
             "torch_dtype": "float32"}
            """;

    /** Rows of 3..11 random ids; odd rows with a -100 prompt of 2 tokens. */
    private static TokenRows rows(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        InMemoryTokenRows.Builder b = new InMemoryTokenRows.Builder();
        for (int i = 0; i < n; i++) {
            int len = 3 + r.nextInt(9);
            int[] ids = new int[len], labels = new int[len];
            for (int t = 0; t < len; t++) {
                ids[t] = 3 + r.nextInt(VOCAB - 3);
                labels[t] = i % 2 == 1 && t < 2 ? -100 : ids[t];
            }
            b.add(ids, labels);
        }
        return b.build();
    }

    private record Result(double lossSum, Map<String, float[]> grads) {}

    private static Result run(TransformerModel model, List<Batch> batches) {
        CceOptions sum = model.lossOptions().withReduction(Reduction.SUM);
        double loss = 0;
        for (Batch b : batches) {
            try (TransformerModel.Pass p = model.forward(b)) {
                loss += model.loss(p, CceImpl.CCE_EXACT, sum, 1f, true);
            }
        }
        Map<String, float[]> grads = new LinkedHashMap<>();
        for (Parameter p : model.parameters().trainable()) {
            try (Tensor g = model.backend().downloadF32(p.existingGrad())) {
                grads.put(p.name(), g.toFloatArray());
            }
        }
        model.parameters().zeroGrads();
        return new Result(loss, grads);
    }

    /** Row r alone: a batch of one sequence, its own labels, no padding. */
    private static Batch alone(TokenRow row) {
        int n = row.length();
        int[] pos = new int[n];
        long[] labels = new long[n];
        for (int i = 0; i < n; i++) {
            pos[i] = i;
            labels[i] = row.labels()[i];
        }
        return new Batch(1, n, row.inputIds().clone(), pos, labels, null, null);
    }

    @Test
    void aPackedMicroBatchHasTheLossAndGradientsOfItsDocumentsRunOneByOne() {
        TokenRows rows = rows(7, 11);
        List<int[]> packs = List.of(new int[] {0, 1, 2, 3}, new int[] {4, 5, 6}); // different lengths: the second is padded
        MicroBatch packed = PackedBatches.microBatch(rows, packs, 0);
        assertTrue(packed.batch().keyMask() != null, "the test needs a padded pack");
        ModelConfig config = ModelConfigParser.parse(Json.parseObject(CONFIG.getBytes(), "config.json"), "config.json");
        CpuBackend be = new CpuBackend();
        try (TransformerModel model = new TransformerModel(config, ParameterStore.random(config, be, 5, 0.2), be)) {
            Result together = run(model, List.of(packed.batch()));
            List<Batch> separate = new java.util.ArrayList<>();
            for (int i = 0; i < rows.size(); i++) separate.add(alone(rows.row(i)));
            Result apart = run(model, separate);

            // the loss sum over 7 documents' targets: f32 sums of ~50 terms of ~4 each
            assertEquals(apart.lossSum, together.lossSum, 1e-5 * apart.lossSum, "loss sum");
            double worst = 0;
            for (String name : apart.grads.keySet()) {
                float[] a = apart.grads.get(name), t = together.grads.get(name);
                double scale = 0;
                for (float v : a) scale = Math.max(scale, Math.abs(v));
                assertTrue(scale > 0, name + " has a zero gradient");
                for (int i = 0; i < a.length; i++) {
                    double err = Math.abs(a[i] - t[i]) / scale;
                    worst = Math.max(worst, err);
                    // f32 accumulations in other orders (attention rows of another length, sums over other tokens):
                    // measured 1.9e-7 of the tensor's largest entry; 2e-6 leaves room for other CPU kernels
                    assertTrue(err <= 2e-6, name + "[" + i + "]: packed " + t[i] + ", one by one " + a[i] + " (" + err + " of the largest)");
                }
            }
            System.out.println("packed vs one by one: worst gradient difference " + worst + " of the tensor's largest");

            // the control: the same batch with attention across documents is measurably different
            Batch b = packed.batch();
            Batch leaking = new Batch(b.batch(), b.seqLen(), b.inputIds(), b.positions(), b.labels(), null, b.keyMask());
            Result leaked = run(model, List.of(leaking));
            System.out.println("attention across documents: loss sum " + leaked.lossSum + " vs " + apart.lossSum);
            assertTrue(Math.abs(leaked.lossSum - apart.lossSum) > 1e-3 * apart.lossSum,
                    "attention across documents should change the loss: " + leaked.lossSum + " vs " + apart.lossSum);
        }
    }

    @Test
    void theTargetsAreThoseTheModelCounts() {
        // the loss with reduction mean divides by the targets the model finds: equal to the micro-batch's count
        TokenRows rows = rows(5, 3);
        MicroBatch packed = PackedBatches.microBatch(rows, List.of(new int[] {0, 1, 2}, new int[] {3, 4}), 0);
        ModelConfig config = ModelConfigParser.parse(Json.parseObject(CONFIG.getBytes(), "config.json"), "config.json");
        CpuBackend be = new CpuBackend();
        try (TransformerModel model = new TransformerModel(config, ParameterStore.random(config, be, 6, 0.2), be);
             TransformerModel.Pass p = model.forward(packed.batch())) {
            double sum = model.loss(p, CceImpl.CCE_EXACT, model.lossOptions().withReduction(Reduction.SUM), 1f, false);
            double mean = model.loss(p, CceImpl.CCE_EXACT, model.lossOptions(), 1f, false);
            assertEquals(sum / packed.targets(), mean, 1e-6 * mean);
        }
    }
}
