package org.cce4j.checkpoints.peft;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.cce4j.checkpoints.Json;
import org.cce4j.core.InvalidInputException;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * A LoRA adapter's adapter_config.json in PEFT's vocabulary. The update of a linear layer W
 * ([out, in]) is {@code scaling() * B @ A} with A [r, in] and B [out, r]; scaling is
 * lora_alpha / r, or lora_alpha / sqrt(r) with rsLoRA. {@code rank_pattern} and
 * {@code alpha_pattern} override r and alpha for modules whose name matches their keys, as PEFT does.
 * Only plain LoRA is supported: DoRA, trained biases and modules_to_save are rejected on read.
 *
 * @param targetModules      module-name suffixes ("q_proj", ...), or null when {@code targetModulesRegex} is used
 * @param targetModulesRegex PEFT's string form of target_modules (a full-match regex), or null
 */
public record LoraConfig(
        int r,
        double loraAlpha,
        List<String> targetModules,
        String targetModulesRegex,
        double loraDropout,
        boolean useRslora,
        String baseModelNameOrPath,
        String taskType,
        Map<String, Integer> rankPattern,
        Map<String, Double> alphaPattern) {

    public LoraConfig {
        if (r <= 0) throw new IllegalArgumentException("LoRA rank r must be positive, got " + r);
        targetModules = targetModules == null ? null : List.copyOf(targetModules);
        rankPattern = rankPattern == null ? Map.of() : Map.copyOf(rankPattern);
        alphaPattern = alphaPattern == null ? Map.of() : Map.copyOf(alphaPattern);
    }

    /** The common case: rank r, alpha, the given projections, for a causal LM. */
    public static LoraConfig of(int r, double alpha, List<String> targetModules, double dropout, String baseModel) {
        return new LoraConfig(r, alpha, targetModules, null, dropout, false, baseModel, "CAUSAL_LM", Map.of(), Map.of());
    }

    /** The rank of a module ("model.layers.0.self_attn.q_proj"), after rank_pattern. */
    public int rank(String module) {
        for (var e : rankPattern.entrySet()) if (patternMatches(e.getKey(), module)) return e.getValue();
        return r;
    }

    public double alpha(String module) {
        for (var e : alphaPattern.entrySet()) if (patternMatches(e.getKey(), module)) return e.getValue();
        return loraAlpha;
    }

    /** The factor on B @ A for a module. */
    public double scaling(String module) {
        int rank = rank(module);
        return alpha(module) / (useRslora ? Math.sqrt(rank) : rank);
    }

    /** Whether PEFT would put an adapter on this module. */
    public boolean targets(String module) {
        if (targetModulesRegex != null) return Pattern.matches(targetModulesRegex, module);
        for (String t : targetModules) {
            if (module.equals(t) || module.endsWith("." + t)) return true;
        }
        return false;
    }

    /** PEFT matches pattern keys against the end of the module name ("(.*\.)?key$"). */
    private static boolean patternMatches(String key, String module) {
        return Pattern.compile("(.*\\.)?(" + key + ")$").matcher(module).matches();
    }

    /** The JSON PEFT writes (peft 0.1x's LoraConfig fields; unknown ones take PEFT's defaults when loading). */
    public Map<String, Object> toJson() {
        Map<String, Object> m = new TreeMap<>();
        m.put("alpha_pattern", new TreeMap<>(alphaPattern));
        m.put("auto_mapping", null);
        m.put("base_model_name_or_path", baseModelNameOrPath);
        m.put("bias", "none");
        m.put("fan_in_fan_out", false);
        m.put("inference_mode", true);
        m.put("init_lora_weights", true);
        m.put("layers_pattern", null);
        m.put("layers_to_transform", null);
        m.put("lora_alpha", isWhole(loraAlpha) ? (Object) (long) loraAlpha : loraAlpha);
        m.put("lora_dropout", loraDropout);
        m.put("modules_to_save", null);
        m.put("peft_type", "LORA");
        m.put("r", r);
        m.put("rank_pattern", new TreeMap<>(rankPattern));
        m.put("revision", null);
        m.put("target_modules", targetModulesRegex != null ? targetModulesRegex : new ArrayList<>(targetModules));
        m.put("task_type", taskType);
        m.put("use_dora", false);
        m.put("use_rslora", useRslora);
        return m;
    }

    private static boolean isWhole(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15;
    }

    public static LoraConfig read(Path file) throws IOException {
        return parse(Json.readObject(file), file.toString());
    }

    public static LoraConfig parse(ObjectNode json, String source) {
        String peftType = text(json, "peft_type", "LORA", source);
        if (!peftType.equals("LORA")) throw err(source, "peft_type " + peftType + " is not supported (only LORA)");
        if (json.path("use_dora").asBoolean(false)) throw err(source, "use_dora=true (DoRA) is not supported");
        String bias = text(json, "bias", "none", source);
        if (!bias.equals("none")) throw err(source, "bias '" + bias + "' is not supported (only 'none': no trained biases)");
        if (json.hasNonNull("modules_to_save") && !json.get("modules_to_save").isEmpty()) {
            throw err(source, "modules_to_save is not supported (the adapter would carry full copies of " + json.get("modules_to_save") + ")");
        }
        if (json.path("fan_in_fan_out").asBoolean(false)) throw err(source, "fan_in_fan_out=true (GPT-2 style Conv1D layers) is not supported");
        JsonNode r = json.get("r");
        if (r == null || !r.isIntegralNumber() || r.intValue() <= 0) throw err(source, "r must be a positive integer");
        JsonNode alpha = json.get("lora_alpha");
        double a = alpha == null || alpha.isNull() ? 8 : alpha.doubleValue();
        JsonNode targets = json.get("target_modules");
        List<String> list = null;
        String regex = null;
        if (targets == null || targets.isNull()) {
            throw err(source, "target_modules is missing (PEFT's per-architecture defaults are not applied; name the modules)");
        } else if (targets.isTextual()) {
            regex = targets.textValue();
        } else if (targets.isArray()) {
            list = new ArrayList<>();
            for (JsonNode t : targets) list.add(t.asText());
        } else {
            throw err(source, "target_modules must be a list of names or a regex string");
        }
        Map<String, Integer> rankPattern = new LinkedHashMap<>();
        json.path("rank_pattern").properties().forEach(e -> rankPattern.put(e.getKey(), e.getValue().intValue()));
        Map<String, Double> alphaPattern = new LinkedHashMap<>();
        json.path("alpha_pattern").properties().forEach(e -> alphaPattern.put(e.getKey(), e.getValue().doubleValue()));
        return new LoraConfig(r.intValue(), a, list, regex, json.path("lora_dropout").asDouble(0.0),
                json.path("use_rslora").asBoolean(false), json.path("base_model_name_or_path").asText(null),
                json.path("task_type").asText(null), rankPattern, alphaPattern);
    }

    private static String text(ObjectNode json, String key, String dflt, String source) {
        JsonNode v = json.get(key);
        if (v == null || v.isNull()) return dflt;
        if (!v.isTextual()) throw err(source, key + " must be a string");
        return v.textValue();
    }

    private static InvalidInputException err(String source, String message) {
        return new InvalidInputException(source + ": " + message);
    }
}
