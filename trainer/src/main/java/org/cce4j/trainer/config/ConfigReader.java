package org.cce4j.trainer.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import org.cce4j.core.InvalidInputException;
import org.cce4j.trainer.config.ConfigKey.Type;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Reads a YAML training config with {@code --set key=value} overrides into the resolved tree: every
 * key of {@link ConfigSchema} present, defaults filled in, paths made absolute against the config
 * file's folder. Everything a user can get wrong is one {@link InvalidInputException} line naming the
 * file and the key: an unknown key (with the nearest valid one), a value of the wrong type, a choice
 * that is not one, a required key that is missing, a value out of range.
 */
public final class ConfigReader {
    private static final YAMLMapper YAML = new YAMLMapper();

    private ConfigReader() {}

    /** The resolved config of {@code file} with {@code overrides} ("train.lr=2e-5") applied in order. */
    public static ObjectNode read(Path file, List<String> overrides) {
        String source = file.toString();
        ObjectNode root = parse(file);
        for (String o : overrides) applyOverride(root, o);
        checkKeys(root, "", source);
        Path base = file.toAbsolutePath().getParent();
        ObjectNode resolved = resolve(root, base, source);
        checkRanges(resolved, source);
        return resolved;
    }

    private static ObjectNode parse(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new InvalidInputException(file + ": no such file (--config)");
        } catch (IOException e) {
            throw new InvalidInputException(file + ": cannot be read (" + e.getMessage() + ")");
        }
        try {
            StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(bytes));
        } catch (CharacterCodingException e) {
            throw new InvalidInputException(file + ": not UTF-8 text");
        }
        if (new String(bytes, StandardCharsets.UTF_8).isBlank()) throw new InvalidInputException(file + ": empty");
        JsonNode tree;
        try {
            tree = YAML.readTree(bytes);
        } catch (JsonProcessingException e) {
            var loc = e.getLocation();
            String where = loc == null ? "" : ":" + loc.getLineNr();
            throw new InvalidInputException(file + where + ": not valid YAML (" + e.getOriginalMessage() + ")");
        } catch (IOException e) {
            throw new InvalidInputException(file + ": cannot be read (" + e.getMessage() + ")");
        }
        if (tree == null || tree.isMissingNode() || tree.isNull()) throw new InvalidInputException(file + ": empty");
        if (!tree.isObject()) throw new InvalidInputException(file + ": the config must be a mapping of keys (model:, data:, train:, ...)");
        return (ObjectNode) tree;
    }

    /** "a.b=value": the value is read as YAML (numbers, true/false, [lists], null), then set into the tree. */
    static void applyOverride(ObjectNode root, String override) {
        int eq = override.indexOf('=');
        if (eq <= 0) throw new InvalidInputException("--set " + override + ": expected key=value (e.g. --set train.lr=2e-5)");
        String path = override.substring(0, eq).trim(), text = override.substring(eq + 1).trim();
        if (!ConfigSchema.keys().containsKey(path) || ConfigSchema.isSection(path) && ConfigSchema.keys().get(path).type() != Type.OPTIONAL_SECTION) {
            throw new InvalidInputException("--set " + path + ": unknown key" + suggestion(path, ConfigSchema.keys().keySet()));
        }
        JsonNode value;
        try {
            value = text.isEmpty() ? NullNode.getInstance() : YAML.readTree(text);
            if (value == null || value.isMissingNode()) value = NullNode.getInstance();
        } catch (IOException e) {
            throw new InvalidInputException("--set " + path + ": the value '" + text + "' is not valid YAML");
        }
        String[] parts = path.split("\\.");
        ObjectNode node = root;
        for (int i = 0; i < parts.length - 1; i++) {
            JsonNode child = node.get(parts[i]);
            if (child == null || child.isNull()) child = node.putObject(parts[i]);
            if (!child.isObject()) throw new InvalidInputException("--set " + path + ": " + String.join(".", List.of(parts).subList(0, i + 1)) + " is not a section in the config");
            node = (ObjectNode) child;
        }
        node.set(parts[parts.length - 1], value);
    }

    private static void checkKeys(ObjectNode node, String section, String source) {
        for (Map.Entry<String, JsonNode> e : node.properties()) {
            String path = section.isEmpty() ? e.getKey() : section + "." + e.getKey();
            if (ConfigSchema.isSection(path)) {
                JsonNode v = e.getValue();
                boolean optional = ConfigSchema.keys().containsKey(path);
                if (v.isNull() && optional) continue;
                if (!v.isObject()) throw new InvalidInputException(source + ": " + path + " must be a section (keys on indented lines below it)");
                checkKeys((ObjectNode) v, path, source);
                continue;
            }
            ConfigKey key = ConfigSchema.keys().get(path);
            if (key == null || key.type() == Type.OPTIONAL_SECTION) {
                List<String> here = new ArrayList<>();
                ConfigSchema.keysOf(section).forEach(k -> here.add(k.path()));
                if (section.isEmpty()) here.addAll(ConfigSchema.sections());
                String near = NearestKey.of(path, here);
                if (near == null) near = NearestKey.of(path, ConfigSchema.keys().keySet());
                throw new InvalidInputException(source + ": unknown key " + path + (near != null ? " (did you mean " + near + "?)" : ""));
            }
            checkType(key, e.getValue(), source);
        }
    }

    private static String suggestion(String path, java.util.Collection<String> candidates) {
        String near = NearestKey.of(path, candidates);
        return near == null ? "" : " (did you mean " + near + "?)";
    }

    private static void checkType(ConfigKey key, JsonNode v, String source) {
        if (v.isNull()) {
            if (key.required()) throw new InvalidInputException(source + ": " + key.path() + " is required: " + key.doc());
            return;
        }
        boolean ok = switch (key.type()) {
            case STRING, PATH -> v.isTextual() || v.isNumber();
            case INT -> v.isIntegralNumber() && v.canConvertToInt();
            case DOUBLE -> v.isNumber() && Double.isFinite(v.asDouble());
            case BOOL -> v.isBoolean();
            case CHOICE -> v.isTextual() && key.choices().contains(v.asText());
            case STRING_LIST -> v.isArray() && allMatch((ArrayNode) v, JsonNode::isTextual) && !v.isEmpty();
            case DOUBLE_PAIR -> v.isArray() && v.size() == 2 && allMatch((ArrayNode) v, JsonNode::isNumber);
            case OPTIONAL_SECTION -> v.isObject();
        };
        if (!ok) {
            String expected = key.type() == Type.CHOICE ? "one of " + String.join(", ", key.choices()) : key.type().describe();
            throw new InvalidInputException(source + ": " + key.path() + " must be " + expected + ", got " + shown(v));
        }
    }

    private static boolean allMatch(ArrayNode a, java.util.function.Predicate<JsonNode> p) {
        for (JsonNode n : a) if (!p.test(n)) return false;
        return true;
    }

    private static String shown(JsonNode v) {
        String s = v.isTextual() ? "'" + v.asText() + "'" : v.toString();
        return s.length() > 60 ? s.substring(0, 57) + "..." : s;
    }

    /** Every key, in schema order, with its value or default; paths absolute; the lora section only when given. */
    private static ObjectNode resolve(ObjectNode root, Path base, String source) {
        ObjectNode out = JsonNodeFactory.instance.objectNode();
        boolean lora = root.hasNonNull("lora");
        for (ConfigKey key : ConfigSchema.keys().values()) {
            if (key.type() == Type.OPTIONAL_SECTION) continue;
            if (key.section().equals("lora") && !lora) continue;
            JsonNode v = at(root, key.path());
            if (v == null || v.isNull()) {
                if (key.required()) throw new InvalidInputException(source + ": " + key.path() + " is required: " + key.doc());
                v = key.defaultValue() == null ? NullNode.getInstance() : YAML.valueToTree(key.defaultValue());
            }
            if (key.type() == Type.PATH && !v.isNull()) v = JsonNodeFactory.instance.textNode(base.resolve(v.asText()).normalize().toString());
            if (key.type() == Type.DOUBLE && v.isNumber()) v = JsonNodeFactory.instance.numberNode(v.asDouble());
            put(out, key.path(), v);
        }
        if (!lora) out.putNull("lora");
        return out;
    }

    static JsonNode at(ObjectNode root, String path) {
        JsonNode n = root;
        for (String p : path.split("\\.")) {
            if (n == null || !n.isObject()) return null;
            n = n.get(p);
        }
        return n;
    }

    private static void put(ObjectNode root, String path, JsonNode v) {
        String[] parts = path.split("\\.");
        ObjectNode node = root;
        for (int i = 0; i < parts.length - 1; i++) {
            JsonNode child = node.get(parts[i]);
            node = child instanceof ObjectNode o ? o : node.putObject(parts[i]);
        }
        node.set(parts[parts.length - 1], v);
    }

    private static void checkRanges(ObjectNode c, String source) {
        atLeast(c, "data.seq_len", 2, source);
        atLeast(c, "train.epochs", 1, source);
        atLeast(c, "train.max_steps", 0, source);
        atLeast(c, "train.micro_batch_size", 1, source);
        atLeast(c, "train.grad_accum", 1, source);
        atLeast(c, "train.warmup_steps", 0, source);
        atLeast(c, "train.log_every", 1, source);
        int zero = at(c, "train.zero").asInt();
        if (zero != 0 && zero != 1) throw new InvalidInputException(source + ": train.zero must be 0 (off) or 1 (optimizer state sharded over the ranks), got " + zero);
        if (at(c, "train.optimizer_in_backward").asBoolean()) {
            // the update of a layer runs before the backward has reached the layers below: nothing may need every gradient first
            if (at(c, "train.max_grad_norm").asDouble() != 0) {
                throw new InvalidInputException(source + ": train.optimizer_in_backward needs train.max_grad_norm: 0 (clipping needs the norm of every gradient before the first update), got "
                        + at(c, "train.max_grad_norm").asDouble());
            }
            if (at(c, "train.grad_accum").asInt() != 1) {
                throw new InvalidInputException(source + ": train.optimizer_in_backward needs train.grad_accum: 1 (the update needs the step's whole gradient), got "
                        + at(c, "train.grad_accum").asInt());
            }
        }
        atLeast(c, "save.every_steps", 0, source);
        atLeast(c, "save.keep", 1, source);
        atLeast(c, "eval.every_steps", 0, source);
        positive(c, "train.lr", source);
        positive(c, "train.adam_eps", source);
        positive(c, "train.bucket_mb", source);
        inRange(c, "train.warmup_ratio", 0, 1, source);
        inRange(c, "train.weight_decay", 0, Double.MAX_VALUE, source);
        inRange(c, "train.max_grad_norm", 0, Double.MAX_VALUE, source);
        inRange(c, "loss.z_loss", 0, Double.MAX_VALUE, source);
        inRange(c, "loss.label_smoothing", 0, 1, source);
        if (!at(c, "loss.filter_eps").isNull()) inRange(c, "loss.filter_eps", 0, Double.MAX_VALUE, source);
        JsonNode betas = at(c, "train.adam_betas");
        for (int i = 0; i < 2; i++) {
            double b = betas.get(i).asDouble();
            if (!(b >= 0 && b < 1)) throw new InvalidInputException(source + ": train.adam_betas must be two numbers in [0, 1), got " + betas);
        }
        double vf = at(c, "data.validation_fraction").asDouble();
        if (!(vf >= 0 && vf < 1)) throw new InvalidInputException(source + ": data.validation_fraction must be in [0, 1), got " + vf);
        if (vf > 0 && !at(c, "data.validation").isNull()) {
            throw new InvalidInputException(source + ": data.validation and data.validation_fraction are both set; give one of them");
        }
        if (!at(c, "data.tokenize_threads").isNull()) atLeast(c, "data.tokenize_threads", 1, source);
        JsonNode pad = at(c, "data.pad_token_id");
        if (!pad.isNull() && pad.asInt() < 0) throw new InvalidInputException(source + ": data.pad_token_id must be >= 0, got " + pad);
        if (!c.get("lora").isNull()) {
            atLeast(c, "lora.r", 1, source);
            positive(c, "lora.alpha", source);
            double p = at(c, "lora.dropout").asDouble();
            if (!(p >= 0 && p < 1)) throw new InvalidInputException(source + ": lora.dropout must be in [0, 1), got " + p);
        }
    }

    private static void atLeast(ObjectNode c, String path, int min, String source) {
        int v = at(c, path).asInt();
        if (v < min) throw new InvalidInputException(source + ": " + path + " must be >= " + min + ", got " + v);
    }

    private static void positive(ObjectNode c, String path, String source) {
        double v = at(c, path).asDouble();
        if (!(v > 0)) throw new InvalidInputException(source + ": " + path + " must be > 0, got " + v);
    }

    private static void inRange(ObjectNode c, String path, double lo, double hi, String source) {
        double v = at(c, path).asDouble();
        if (!(v >= lo && v <= hi)) {
            throw new InvalidInputException(source + ": " + path + " must be in [" + fmt(lo) + ", " + (hi == Double.MAX_VALUE ? "∞)" : fmt(hi) + "]") + ", got " + v);
        }
    }

    private static String fmt(double d) {
        return d == Math.rint(d) ? String.valueOf((long) d) : String.valueOf(d);
    }

    /** The resolved tree as YAML, for the run's config.yaml. */
    public static String toYaml(ObjectNode resolved) {
        try {
            return YAML.writeValueAsString(resolved);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("writing the resolved config", e);
        }
    }
}
