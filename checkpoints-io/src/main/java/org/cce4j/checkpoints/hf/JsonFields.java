package org.cce4j.checkpoints.hf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.cce4j.core.InvalidInputException;

import java.util.ArrayList;
import java.util.List;

/**
 * Typed reads from a JSON object with Python's config semantics: a missing key takes the
 * default, an explicit {@code null} is Python's None (which the caller decides about), and a value
 * of the wrong type is an error naming the file and the key.
 */
final class JsonFields {
    private final ObjectNode node;
    private final String source;

    JsonFields(ObjectNode node, String source) {
        this.node = node;
        this.source = source;
    }

    String source() {
        return source;
    }

    ObjectNode node() {
        return node;
    }

    boolean has(String key) {
        return node.has(key);
    }

    /** Present and not null. */
    boolean hasValue(String key) {
        return node.hasNonNull(key);
    }

    InvalidInputException error(String message) {
        return new InvalidInputException(source + ": " + message);
    }

    Integer intOrNull(String key, Integer dflt) {
        if (!node.has(key)) return dflt;
        JsonNode v = node.get(key);
        if (v.isNull()) return null;
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            throw error(key + " must be an integer, found " + describe(v));
        }
        return v.intValue();
    }

    int intValue(String key, int dflt) {
        Integer v = intOrNull(key, dflt);
        return v == null ? dflt : v;
    }

    int positiveInt(String key, Integer dflt) {
        Integer v = intOrNull(key, dflt);
        if (v == null) throw error(key + " is missing (null)");
        if (v <= 0) throw error(key + " must be positive, found " + v);
        return v;
    }

    Double doubleOrNull(String key, Double dflt) {
        if (!node.has(key)) return dflt;
        JsonNode v = node.get(key);
        if (v.isNull()) return null;
        if (!v.isNumber()) throw error(key + " must be a number, found " + describe(v));
        return v.doubleValue();
    }

    boolean bool(String key, boolean dflt) {
        if (!node.hasNonNull(key)) return dflt;
        JsonNode v = node.get(key);
        if (!v.isBoolean()) throw error(key + " must be true or false, found " + describe(v));
        return v.booleanValue();
    }

    String stringOrNull(String key, String dflt) {
        if (!node.has(key)) return dflt;
        JsonNode v = node.get(key);
        if (v.isNull()) return null;
        if (!v.isTextual()) throw error(key + " must be a string, found " + describe(v));
        return v.textValue();
    }

    List<String> stringList(String key) {
        JsonNode v = node.get(key);
        if (v == null || v.isNull()) return null;
        if (!v.isArray()) throw error(key + " must be a list of strings, found " + describe(v));
        List<String> out = new ArrayList<>();
        for (JsonNode e : v) {
            if (!e.isTextual()) throw error(key + " must be a list of strings, found an element " + describe(e));
            out.add(e.textValue());
        }
        return out;
    }

    /** An int or a list of ints (eos_token_id), as a list; null when absent or null. */
    List<Integer> intList(String key, List<Integer> dflt) {
        if (!node.has(key)) return dflt;
        JsonNode v = node.get(key);
        if (v.isNull()) return null;
        List<Integer> out = new ArrayList<>();
        if (v.isIntegralNumber() && v.canConvertToInt()) {
            out.add(v.intValue());
            return out;
        }
        if (!v.isArray()) throw error(key + " must be an integer or a list of integers, found " + describe(v));
        for (JsonNode e : v) {
            if (!e.isIntegralNumber() || !e.canConvertToInt()) throw error(key + " must hold integers, found " + describe(e));
            out.add(e.intValue());
        }
        return out;
    }

    double[] doubleArray(String key) {
        JsonNode v = node.get(key);
        if (v == null || v.isNull()) return null;
        if (!v.isArray()) throw error(key + " must be a list of numbers, found " + describe(v));
        double[] out = new double[v.size()];
        for (int i = 0; i < out.length; i++) {
            if (!v.get(i).isNumber()) throw error(key + " must hold numbers, found " + describe(v.get(i)));
            out[i] = v.get(i).doubleValue();
        }
        return out;
    }

    /** A nested object as fields; null when absent or null. */
    JsonFields object(String key) {
        JsonNode v = node.get(key);
        if (v == null || v.isNull()) return null;
        if (!v.isObject()) throw error(key + " must be an object, found " + describe(v));
        return new JsonFields((ObjectNode) v, source + " " + key);
    }

    static String describe(JsonNode v) {
        if (v == null) return "nothing";
        return switch (v.getNodeType()) {
            case STRING -> "the string \"" + (v.textValue().length() > 40 ? v.textValue().substring(0, 40) + "..." : v.textValue()) + "\"";
            case NUMBER -> "the number " + v.asText();
            case BOOLEAN -> v.asText();
            case NULL -> "null";
            case ARRAY -> "a list";
            case OBJECT -> "an object";
            default -> v.getNodeType().toString().toLowerCase();
        };
    }
}
