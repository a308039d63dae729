package org.cce4j.trainer.distributed;

import org.cce4j.checkpoints.Json;
import org.cce4j.checkpoints.hf.ModelConfig;
import org.cce4j.checkpoints.hf.ModelConfigParser;
import org.cce4j.core.dist.Communicator;
import org.cce4j.core.loss.CceImpl;
import org.cce4j.core.loss.Reduction;
import org.cce4j.core.tensor.Device;
import org.cce4j.core.tensor.Tensor;
import org.cce4j.transformer.backend.Backend;
import org.cce4j.transformer.backend.Backends;
import org.cce4j.transformer.model.Batch;
import org.cce4j.transformer.model.Parameter;
import org.cce4j.transformer.model.ParameterStore;
import org.cce4j.transformer.model.TransformerModel;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The bucketed all-reduce: with small buckets most are queued while the backward still runs (before
 * finish()), every rank ends with the same gradients, bit for bit, and they are the sum of the ranks'
 * own — here against the gradients of both micro-batches accumulated on one model (within f32's
 * summation order); a rank without a micro-batch contributes zeros.
 */
class GradientSyncTest {
    static final String CONFIG = """
            {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 29, "hidden_size": 16,
             "intermediate_size": 24, "num_hidden_layers": 3, "num_attention_heads": 2, "num_key_value_heads": 1,
             "head_dim": 8, "hidden_act": "silu", "max_position_embeddings": 32, "rms_norm_eps": 1e-06,
             "tie_word_embeddings": false, "rope_theta": 10000.0, "torch_dtype": "float32"}
            """;

    static TransformerModel model(Backend be) {
        ModelConfig c = ModelConfigParser.parse(Json.parseObject(CONFIG.getBytes(), "config.json"), "config.json");
        return new TransformerModel(c, ParameterStore.random(c, be, 11, 0.3), be);
    }

    static Batch batch(int rank) {
        int[] ids = new int[2 * 6];
        for (int i = 0; i < ids.length; i++) ids[i] = (i * 7 + 3 + 5 * rank) % 29;
        return Batch.causal(2, 6, ids);
    }

    static void backward(TransformerModel m, Batch b, TransformerModel.GradientsReady ready) {
        try (TransformerModel.Pass p = m.forward(b)) {
            m.loss(p, CceImpl.CCE, m.lossOptions().withReduction(Reduction.SUM), 0.05f, true, ready);
        }
    }

    static Map<String, float[]> grads(TransformerModel m) {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (Parameter p : m.parameters().trainable()) out.put(p.name(), p.existingGrad().toFloatArray());
        return out;
    }

    @Test
    void bucketsAreReducedDuringTheBackwardAndSumTheRanks() throws Exception {
        Backend be = Backends.create(Device.CPU, null);
        Map<String, float[]> expected;
        try (TransformerModel m = model(be)) {
            backward(m, batch(0), null);
            backward(m, batch(1), null);
            expected = grads(m);
        }
        record Seen(Map<String, float[]> grads, int duringBackward, int buckets) {}
        List<Seen> seen = Ranks.values(Ranks.run(3, comm -> {
            int[] calls = new int[1];
            Communicator counting = new AllReduceWatch(comm, k -> calls[0] = k);
            try (TransformerModel m = model(be)) {
                GradientSync sync = new GradientSync(be, counting, m, 2048);   // 2 KB: a bucket every few parameters
                if (comm.rank() < 2) backward(m, batch(comm.rank()), sync.hook());   // rank 2: no micro-batch in this step
                int during = calls[0];
                sync.finish();
                return new Seen(grads(m), during, sync.plan().buckets().size());
            }
        }));
        int buckets = seen.get(0).buckets();
        assertTrue(buckets >= 5, "several buckets: " + buckets);
        assertTrue(seen.get(0).duringBackward() >= buckets - 1, "queued while the backward ran: " + seen.get(0).duringBackward() + " of " + buckets);
        assertEquals(0, seen.get(2).duringBackward(), "the rank without a micro-batch queues everything in finish()");
        for (String name : expected.keySet()) {
            float[] e = expected.get(name), r0 = seen.get(0).grads().get(name);
            for (int r = 1; r < 3; r++) assertArrayEquals(r0, seen.get(r).grads().get(name), name + ": the same on rank " + r);
            double max = 0, diff = 0;
            for (int i = 0; i < e.length; i++) {
                max = Math.max(max, Math.abs(e[i]));
                diff = Math.max(diff, Math.abs(e[i] - r0[i]));
            }
            assertTrue(diff <= 1e-6 * max, name + ": " + diff + " of " + max);
        }
    }
}
