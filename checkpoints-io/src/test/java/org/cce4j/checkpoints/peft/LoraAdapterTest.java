package org.cce4j.checkpoints.peft;

import org.cce4j.core.InvalidInputException;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** LoRA adapters: round trip, PEFT's scaling rules and the adapters we refuse. */
class LoraAdapterTest {
    @TempDir
    Path dir;

    @Test
    void roundTripInBf16() throws IOException {
        LoraConfig cfg = LoraConfig.of(2, 4, List.of("q_proj"), 0.05, "base");
        Tensor a = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
        Tensor b = Tensor.of(new float[] {0.5f, -0.5f, 0.25f, 1, 2, 3, 4, 5}, 4, 2);
        LoraAdapter.save(dir, cfg, Map.of("model.layers.3.self_attn.q_proj", new LoraAdapter.Pair(a, b)), DType.BF16);
        try (LoraAdapter back = LoraAdapter.open(dir)) {
            assertEquals(cfg, back.config());
            LoraAdapter.Pair p = back.pair("model.layers.3.self_attn.q_proj");
            assertEquals(DType.BF16, p.a().dtype());
            assertEquals(6f, p.a().getFloat(5));
            assertEquals(-0.5f, p.b().getFloat(1));
            assertEquals(2.0, back.config().scaling("model.layers.3.self_attn.q_proj"));
        }
    }

    @Test
    void peftScalingRules() {
        LoraConfig c = new LoraConfig(16, 32, List.of("q_proj", "v_proj"), null, 0, true, null, "CAUSAL_LM",
                Map.of("layers\\.0\\.self_attn\\.q_proj", 4), Map.of("v_proj", 8.0));
        assertEquals(32 / 4.0, c.scaling("model.layers.1.self_attn.q_proj"), "rsLoRA: alpha / sqrt(r)");
        assertEquals(4, c.rank("model.layers.0.self_attn.q_proj"));
        assertEquals(16, c.rank("model.layers.10.self_attn.q_proj"), "pattern matches whole name components only");
        assertEquals(8 / 4.0, c.scaling("model.layers.2.self_attn.v_proj"));
        assertTrue(c.targets("model.layers.2.self_attn.v_proj"));
        assertTrue(!c.targets("model.layers.2.self_attn.k_proj"));
        assertTrue(!c.targets("model.layers.2.self_attn.xq_proj"));
    }

    private String error(String config) throws IOException {
        Files.writeString(dir.resolve(LoraAdapter.CONFIG), config);
        return assertThrows(InvalidInputException.class, () -> LoraAdapter.open(dir).close()).getMessage();
    }

    @Test
    void unsupportedAdaptersAreNamed() throws IOException {
        assertTrue(error("{\"peft_type\": \"IA3\", \"r\": 8}").contains("peft_type IA3 is not supported"));
        assertTrue(error("{\"peft_type\": \"LORA\", \"r\": 8, \"use_dora\": true, \"target_modules\": [\"q_proj\"]}").contains("DoRA"));
        assertTrue(error("{\"r\": 8, \"bias\": \"all\", \"target_modules\": [\"q_proj\"]}").contains("bias 'all' is not supported"));
        assertTrue(error("{\"r\": 8, \"target_modules\": [\"q_proj\"], \"modules_to_save\": [\"lm_head\"]}").contains("modules_to_save"));
        assertTrue(error("{\"r\": 0, \"target_modules\": [\"q_proj\"]}").contains("r must be a positive integer"));
        assertTrue(error("{\"r\": 8, \"target_modules\": [\"q_proj\"]}").contains("no adapter_model.safetensors"));
        LoraConfig cfg = LoraConfig.of(2, 4, List.of("q_proj"), 0, null);
        LoraAdapter.save(dir, cfg, Map.of("m.q_proj", new LoraAdapter.Pair(Tensor.zeros(DType.F32, 2, 3), Tensor.zeros(DType.F32, 4, 2))), DType.F32);
        assertTrue(error("{\"r\": 3, \"target_modules\": [\"q_proj\"]}").contains("expected [r, in] and [out, r] with r = 3"));
        Files.delete(dir.resolve(LoraAdapter.CONFIG));
        assertTrue(assertThrows(InvalidInputException.class, () -> LoraAdapter.open(dir)).getMessage().contains("no adapter_config.json"));
        assertThrows(IllegalArgumentException.class, () -> LoraAdapter.save(dir, cfg,
                Map.of("m.k_proj", new LoraAdapter.Pair(Tensor.zeros(DType.F32, 2, 3), Tensor.zeros(DType.F32, 4, 2))), DType.F32));
    }
}
