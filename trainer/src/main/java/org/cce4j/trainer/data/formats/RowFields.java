package org.cce4j.trainer.data.formats;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.cce4j.trainer.data.BadRow;
import org.cce4j.trainer.data.BadRowException;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The fields of a JSON row that the text formats read, each checked with the bad-row kind that
 * names what is wrong: absent or null (MISSING_FIELD), of the wrong type (INVALID_FIELD), or a
 * string that is not Unicode text (INVALID_TEXT: a lone surrogate, which JSON's \\u escapes can
 * write and which no tokenizer takes).
 */
final class RowFields {
    private static final ObjectMapper JSON = new ObjectMapper();

    private RowFields() {}

    /** A required string field. */
    static String string(JsonNode row, String field) throws BadRowException {
        JsonNode v = row.get(field);
        if (v == null || v.isNull()) throw new BadRowException(BadRow.MISSING_FIELD, "no \"" + field + "\"");
        return text(v, "\"" + field + "\"");
    }

    /** An optional string field: null when absent or null. */
    static String optionalString(JsonNode row, String field) throws BadRowException {
        JsonNode v = row.get(field);
        return v == null || v.isNull() ? null : text(v, "\"" + field + "\"");
    }

    /**
     * {@code messages}: a non-empty list of objects, each with a string {@code role} and a string
     * {@code content}; a message's other fields are passed to the template as they are (as JSON values).
     */
    static List<Map<String, Object>> messages(JsonNode row) throws BadRowException {
        JsonNode v = row.get("messages");
        if (v == null || v.isNull()) throw new BadRowException(BadRow.MISSING_FIELD, "no \"messages\"");
        if (!v.isArray()) throw new BadRowException(BadRow.INVALID_FIELD, "\"messages\" must be a list of {\"role\", \"content\"} objects, got " + kind(v));
        if (v.isEmpty()) throw new BadRowException(BadRow.INVALID_FIELD, "\"messages\" is empty");
        List<Map<String, Object>> out = new ArrayList<>(v.size());
        for (int i = 0; i < v.size(); i++) {
            JsonNode m = v.get(i);
            String at = "messages[" + i + "]";
            if (!m.isObject()) throw new BadRowException(BadRow.INVALID_FIELD, at + " must be a {\"role\", \"content\"} object, got " + kind(m));
            JsonNode role = m.get("role"), content = m.get("content");
            if (role == null || role.isNull()) throw new BadRowException(BadRow.MISSING_FIELD, at + " has no \"role\"");
            if (content == null || content.isNull()) throw new BadRowException(BadRow.MISSING_FIELD, at + " has no \"content\"");
            Map<String, Object> message = new LinkedHashMap<>();
            message.put("role", text(role, at + ".role"));
            message.put("content", text(content, at + ".content"));
            for (var e : m.properties()) {
                if (!e.getKey().equals("role") && !e.getKey().equals("content")) message.put(e.getKey(), JSON.convertValue(e.getValue(), Object.class));
            }
            out.add(message);
        }
        return out;
    }

    private static String text(JsonNode v, String what) throws BadRowException {
        if (!v.isTextual()) throw new BadRowException(BadRow.INVALID_FIELD, what + " must be a string, got " + kind(v));
        String s = v.textValue();
        int bad = loneSurrogate(s);
        if (bad >= 0) {
            throw new BadRowException(BadRow.INVALID_TEXT, what + " is not Unicode text: a lone surrogate \\u"
                    + String.format("%04x", (int) s.charAt(bad)) + " at character " + bad);
        }
        return s;
    }

    /** The index of the first unpaired surrogate, or -1. */
    static int loneSurrogate(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c)) {
                if (i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) i++;
                else return i;
            } else if (Character.isLowSurrogate(c)) {
                return i;
            }
        }
        return -1;
    }

    static String kind(JsonNode v) {
        if (v.isArray()) return "an array";
        if (v.isObject()) return "an object";
        if (v.isTextual()) return "a string";
        if (v.isBoolean()) return v.asText();
        if (v.isNumber()) return v.asText();
        return v.getNodeType().toString().toLowerCase();
    }
}
