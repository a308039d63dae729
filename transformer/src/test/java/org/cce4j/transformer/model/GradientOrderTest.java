package org.cce4j.transformer.model;

import org.cce4j.checkpoints.Json;
import org.cce4j.checkpoints.hf.ModelConfig;
import org.cce4j.checkpoints.hf.ModelConfigParser;
import org.cce4j.checkpoints.peft.LoraConfig;
import org.cce4j.core.loss.CceImpl;
import org.cce4j.core.loss.Reduction;
import org.cce4j.core.tensor.Device;
import org.cce4j.core.tensor.Tensor;
import org.cce4j.transformer.backend.Backend;
import org.cce4j.transformer.backend.Backends;
import org.cce4j.transformer.lora.LoraAdapters;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The backward tells of each group of parameters when their gradients are final (data-parallel
 * training reduces them while the backward goes on): the groups are gradientOrder()'s, in its order,
 * together every parameter exactly once, and a gradient read when its group is told equals the
 * gradient at the end of the backward, bit for bit.
 */
class GradientOrderTest {
    static String config(boolean tied) {
        return """
                {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 37, "hidden_size": 16,
                 "intermediate_size": 24, "num_hidden_layers": 3, "num_attention_heads": 2, "num_key_value_heads": 1,
                 "head_dim": 8, "hidden_act": "silu", "max_position_embeddings": 32, "rms_norm_eps": 1e-06,
                 "tie_word_embeddings": %s, "rope_theta": 10000.0, "torch_dtype": "float32"}
                """.formatted(tied);
    }

    @ParameterizedTest
    @ValueSource(strings = {"untied", "tied", "lora"})
    void groupsComeInOrderAndTheirGradientsAreFinal(String kind) {
        ModelConfig c = ModelConfigParser.parse(Json.parseObject(config(kind.equals("tied")).getBytes(), "config.json"), "config.json");
        Backend be = Backends.create(Device.CPU, null);
        try (TransformerModel model = new TransformerModel(c, ParameterStore.random(c, be, 3, 0.2), be)) {
            if (kind.equals("lora")) {
                LoraAdapters.attach(model, LoraConfig.of(2, 4, List.of("q_proj", "down_proj"), 0.1, "base"), null, 5);
            }
            List<List<Parameter>> order = model.gradientOrder();
            Set<Parameter> seen = new HashSet<>();
            for (List<Parameter> g : order) for (Parameter p : g) assertTrue(seen.add(p), p.name() + " in two groups");
            assertEquals(new HashSet<>(model.parameters().all()), seen, "every parameter once");

            int[] ids = new int[2 * 7];
            for (int i = 0; i < ids.length; i++) ids[i] = (i * 11 + 3) % 37;
            Batch b = Batch.causal(2, 7, ids);
            List<List<Parameter>> told = new ArrayList<>();
            Map<String, float[]> atReady = new LinkedHashMap<>();
            for (int pass = 0; pass < 2; pass++) {   // the second pass accumulates onto the first, as micro-batches do
                boolean last = pass == 1;
                try (TransformerModel.Pass p = model.forward(b, 17 + pass)) {
                    model.loss(p, CceImpl.CCE, model.lossOptions().withReduction(Reduction.SUM), 0.1f, true, !last ? null : group -> {
                        told.add(group);
                        for (Parameter q : group) {
                            if (q.existingGrad() != null) atReady.put(q.name(), q.existingGrad().toFloatArray());
                        }
                    });
                }
            }
            assertEquals(order, told);
            int trainable = 0;
            for (Parameter p : model.parameters().trainable()) {
                trainable++;
                Tensor g = p.existingGrad();
                assertTrue(g != null, p.name() + " has a gradient");
                assertArrayEquals(g.toFloatArray(), atReady.get(p.name()), p.name());
            }
            assertEquals(trainable, atReady.size());
        }
    }
}
