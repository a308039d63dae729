package org.cce4j.trainer.metrics;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import org.cce4j.checkpoints.Json;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One line of metrics.jsonl: a flat JSON object whose first key is {@code step}, its keys in the order
 * they were put. Values are normalized when put so that a record read back equals the record written:
 * integers are {@link Long}, floating-point numbers finite {@link Double}s, a non-finite number is
 * null (written {@code null}; JSON has no NaN), strings and booleans as they are. A {@code float} is
 * widened through its shortest decimal form ({@code 2.3127f} becomes {@code 2.3127}, not
 * {@code 2.312700033187866}), which keeps the file readable and reads back as the same float.
 * A training step's record carries {@code grad_norm}; an evaluation's does not, and that is how they
 * are told apart ({@link #isEval()}).
 */
public final class MetricsRecord {
    public static final String STEP = "step";
    public static final String GRAD_NORM = "grad_norm";

    private final Map<String, Object> values;

    private MetricsRecord(LinkedHashMap<String, Object> values) {
        this.values = Collections.unmodifiableMap(values);
    }

    public static Builder builder(long step) {
        return new Builder(step);
    }

    public long step() {
        return (Long) values.get(STEP);
    }

    /** An evaluation's record: one without {@code grad_norm}. */
    public boolean isEval() {
        return !values.containsKey(GRAD_NORM);
    }

    public boolean has(String key) {
        return values.containsKey(key);
    }

    /** The number under {@code key}; NaN where the file holds null (a non-finite value). */
    public double number(String key) {
        Object v = get(key);
        if (v == null) return Double.NaN;
        if (v instanceof Number n) return n.doubleValue();
        throw new IllegalArgumentException("metrics record at step " + step() + ": '" + key + "' is not a number: " + v);
    }

    /** The value under {@code key} (Long, Double, String, Boolean or null); a missing key is an error. */
    public Object get(String key) {
        if (!values.containsKey(key)) {
            throw new IllegalArgumentException("metrics record at step " + step() + " has no '" + key + "' (keys: " + values.keySet() + ")");
        }
        return values.get(key);
    }

    /** All keys and values in file order, unmodifiable. */
    public Map<String, Object> values() {
        return values;
    }

    /** The record as one compact JSON line, without the newline. */
    public String toJson() {
        StringWriter out = new StringWriter();
        try (JsonGenerator g = Json.mapper().getFactory().createGenerator(out)) {
            g.writeStartObject();
            for (Map.Entry<String, Object> e : values.entrySet()) {
                g.writeFieldName(e.getKey());
                switch (e.getValue()) {
                    case null -> g.writeNull();
                    case Long l -> g.writeNumber(l);
                    case Double d -> g.writeNumber(d);
                    case String s -> g.writeString(s);
                    case Boolean b -> g.writeBoolean(b);
                    default -> throw new IllegalStateException("unexpected value " + e.getValue().getClass());
                }
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString();
    }

    /** Parses one line; the message of the exception says what is wrong, the caller adds where. */
    static MetricsRecord parse(String line) {
        JsonNode node;
        try {
            node = Json.mapper().readTree(line);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not valid JSON: " + Json.oneLine(e));
        }
        if (node == null || !node.isObject()) {
            throw new IllegalArgumentException("expected a JSON object");
        }
        JsonNode step = node.get(STEP);
        if (step == null || !step.canConvertToExactIntegral() || !step.canConvertToLong() || step.asLong() < 0) {
            throw new IllegalArgumentException("'" + STEP + "' must be a non-negative integer, found " + step);
        }
        Builder b = new Builder(step.asLong());
        for (Map.Entry<String, JsonNode> e : node.properties()) {
            String key = e.getKey();
            if (key.equals(STEP)) continue;
            JsonNode v = e.getValue();
            if (v.isNull()) b.putNull(key);
            else if (v.isIntegralNumber() && v.canConvertToLong()) b.put(key, v.longValue());
            else if (v.isNumber()) b.put(key, v.doubleValue());
            else if (v.isTextual()) b.put(key, v.textValue());
            else if (v.isBoolean()) b.put(key, v.booleanValue());
            else throw new IllegalArgumentException("'" + key + "' must be a number, string, boolean or null, found " + v.getNodeType().toString().toLowerCase());
        }
        return b.build();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MetricsRecord r && r.values.equals(values);
    }

    @Override
    public int hashCode() {
        return values.hashCode();
    }

    @Override
    public String toString() {
        return toJson();
    }

    /** Puts keys in the order they will be written; {@code step} is always first. */
    public static final class Builder {
        private final LinkedHashMap<String, Object> values = new LinkedHashMap<>();

        private Builder(long step) {
            if (step < 0) throw new IllegalArgumentException("step must be >= 0, got " + step);
            values.put(STEP, step);
        }

        public Builder put(String key, long value) {
            return add(key, value);
        }

        /** A non-finite value is stored (and written) as null. */
        public Builder put(String key, double value) {
            return add(key, Double.isFinite(value) ? value : null);
        }

        /** Widened through the float's shortest decimal form, so the file shows what the float printed as. */
        public Builder put(String key, float value) {
            return add(key, Float.isFinite(value) ? Double.parseDouble(Float.toString(value)) : null);
        }

        public Builder put(String key, String value) {
            if (value == null) throw new IllegalArgumentException("'" + key + "': a string value must not be null (use putNull)");
            return add(key, value);
        }

        public Builder put(String key, boolean value) {
            return add(key, value);
        }

        public Builder putNull(String key) {
            return add(key, null);
        }

        private Builder add(String key, Object value) {
            if (values.containsKey(key)) throw new IllegalArgumentException("metrics key '" + key + "' given twice");
            values.put(key, value);
            return this;
        }

        public MetricsRecord build() {
            return new MetricsRecord(new LinkedHashMap<>(values));
        }
    }
}
