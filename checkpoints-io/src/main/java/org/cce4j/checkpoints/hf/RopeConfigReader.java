package org.cce4j.checkpoints.hf;

import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * RoPE by layer type from config.json, as transformers 5's {@code RotaryEmbeddingConfigMixin}
 * standardizes it: {@code rope_scaling} (4.x) wins over {@code rope_parameters} (5.x); a flat dict
 * applies to every layer type, a dict keyed by layer types to each; the theta comes from the dict,
 * else the top-level {@code rope_theta}, else the family default. Gemma 3 keeps two: the global
 * layers' (rope_theta, default 1e6, plus the scaling) and the local ones' (rope_local_base_freq,
 * default 1e4, never scaled). Each type's required fields are checked as transformers validates them.
 */
final class RopeConfigReader {
    private RopeConfigReader() {}

    private static final Set<String> LAYER_KEYS = Arrays.stream(LayerType.values()).map(LayerType::hfName).collect(Collectors.toSet());

    static Map<LayerType, RopeParameters> read(JsonFields f, ModelFamily family, FamilyDefaults d, int headDim) {
        Double topTheta = f.doubleOrNull("rope_theta", null);
        Double topPartial = f.doubleOrNull("partial_rotary_factor", null);
        Integer topOriginal = f.intOrNull("original_max_position_embeddings", null);
        JsonFields scaling = f.object("rope_scaling");
        if (scaling != null && scaling.node().isEmpty()) scaling = null;
        JsonFields params = f.object("rope_parameters");
        Map<LayerType, RopeParameters> out = new EnumMap<>(LayerType.class);

        if (family == ModelFamily.GEMMA3) {
            // Global layers: rope_theta (default 1e6) and the scaling; local layers: rope_local_base_freq (default 1e4).
            JsonFields full = params != null && isNested(params) ? params.object("full_attention") : null;
            JsonFields local = params != null && isNested(params) ? params.object("sliding_attention") : null;
            if (params != null && !isNested(params)) full = params;
            Double localTheta = f.doubleOrNull("rope_local_base_freq", null);
            out.put(LayerType.FULL_ATTENTION, parse(f, merge(full, scaling), topTheta != null ? topTheta : d.ropeTheta(), topPartial, topOriginal, headDim, "full_attention"));
            out.put(LayerType.SLIDING_ATTENTION, parse(f, local, localTheta != null ? localTheta : d.localRopeTheta(), topPartial, topOriginal, headDim, "sliding_attention"));
            return out;
        }
        JsonFields chosen = scaling != null ? scaling : params;
        double theta = topTheta != null ? topTheta : d.ropeTheta();
        if (chosen != null && isNested(chosen)) {
            for (LayerType t : LayerType.values()) {
                out.put(t, parse(f, chosen.object(t.hfName()), theta, topPartial, topOriginal, headDim, t.hfName()));
            }
        } else {
            RopeParameters r = parse(f, chosen, theta, topPartial, topOriginal, headDim, null);
            for (LayerType t : LayerType.values()) out.put(t, r);
        }
        return out;
    }

    private static boolean isNested(JsonFields p) {
        var names = new ArrayList<String>();
        p.node().fieldNames().forEachRemaining(names::add);
        return !names.isEmpty() && LAYER_KEYS.containsAll(names);
    }

    /** rope_scaling's keys override those of the base parameters (transformers' dict.update). */
    private static JsonFields merge(JsonFields base, JsonFields override) {
        if (override == null) return base;
        if (base == null) return override;
        ObjectNode m = base.node().deepCopy();
        m.setAll(override.node());
        return new JsonFields(m, base.source());
    }

    private static RopeParameters parse(JsonFields top, JsonFields p, double defaultTheta, Double topPartial, Integer topOriginal,
                                        int headDim, String layerType) {
        String where = layerType == null ? "rope" : "rope (" + layerType + ")";
        if (p == null) {
            return new RopeParameters(RopeParameters.Type.DEFAULT, defaultTheta, 1.0, null, null, null, null, null, null, null, null, null, null, null,
                    topPartial != null ? topPartial : 1.0);
        }
        String typeName = p.stringOrNull("rope_type", null);
        if (typeName == null) typeName = p.stringOrNull("type", "default");
        if (typeName == null) typeName = "default";
        RopeParameters.Type type = RopeParameters.Type.ofHfName(typeName);
        if (type == null) {
            throw top.error(where + ": rope_type '" + typeName + "' is not supported (supported: "
                    + Arrays.stream(RopeParameters.Type.values()).map(RopeParameters.Type::hfName).collect(Collectors.joining(", ")) + ")");
        }
        Double theta = p.doubleOrNull("rope_theta", null);
        Double factor = p.doubleOrNull("factor", null);
        Integer original = p.intOrNull("original_max_position_embeddings", null);
        if (original == null) original = topOriginal;
        Double partial = p.doubleOrNull("partial_rotary_factor", null);
        if (partial == null) partial = topPartial != null ? topPartial : 1.0;
        RopeParameters r = new RopeParameters(type, theta != null ? theta : defaultTheta, factor != null ? factor : 1.0, original,
                p.doubleOrNull("low_freq_factor", null), p.doubleOrNull("high_freq_factor", null),
                p.doubleOrNull("attention_factor", null), p.doubleOrNull("beta_fast", null), p.doubleOrNull("beta_slow", null),
                p.doubleOrNull("mscale", null), p.doubleOrNull("mscale_all_dim", null),
                p.has("truncate") ? p.bool("truncate", true) : null,
                p.doubleArray("short_factor"), p.doubleArray("long_factor"), partial);
        validate(top, where, r, factor != null, headDim);
        return r;
    }

    private static void validate(JsonFields top, String where, RopeParameters r, boolean hasFactor, int headDim) {
        if (!(r.theta() > 0)) throw top.error(where + ": rope_theta must be positive, found " + r.theta());
        if (!(r.partialRotaryFactor() > 0 && r.partialRotaryFactor() <= 1)) {
            throw top.error(where + ": partial_rotary_factor must be in (0, 1], found " + r.partialRotaryFactor());
        }
        String t = r.type().hfName();
        switch (r.type()) {
            case DEFAULT -> { }
            case LINEAR, DYNAMIC, YARN -> requireFactor(top, where, t, r, hasFactor);
            case LLAMA3 -> {
                requireFactor(top, where, t, r, hasFactor);
                if (r.originalMaxPositionEmbeddings() == null) throw top.error(where + ": llama3 needs original_max_position_embeddings");
                if (r.lowFreqFactor() == null || r.highFreqFactor() == null) {
                    throw top.error(where + ": llama3 needs low_freq_factor and high_freq_factor");
                }
                if (!(r.highFreqFactor() > r.lowFreqFactor())) {
                    throw top.error(where + ": llama3 needs high_freq_factor > low_freq_factor, found "
                            + r.highFreqFactor() + " and " + r.lowFreqFactor());
                }
            }
            case LONGROPE -> {
                int half = (int) (headDim * r.partialRotaryFactor()) / 2;
                if (r.shortFactor() == null || r.longFactor() == null) throw top.error(where + ": longrope needs short_factor and long_factor");
                if (r.shortFactor().length != half || r.longFactor().length != half) {
                    throw top.error(where + ": longrope short_factor and long_factor need " + half + " entries (head_dim / 2), found "
                            + r.shortFactor().length + " and " + r.longFactor().length);
                }
            }
        }
    }

    private static void requireFactor(JsonFields top, String where, String type, RopeParameters r, boolean hasFactor) {
        if (!hasFactor) throw top.error(where + ": rope_type " + type + " needs a factor");
        if (!(r.factor() >= 1)) throw top.error(where + ": factor must be >= 1, found " + r.factor());
    }
}
