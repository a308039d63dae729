package org.cce4j.trainer.data;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.json.JsonReadFeature;

import java.io.IOException;
import java.util.Arrays;

/**
 * One line of a rows file → one row, or the first {@link BadRow} that applies, in the enum's order.
 * The whole line is parsed before anything is checked (so a syntax error anywhere is reported as
 * invalid JSON, whatever precedes it), with Jackson's streaming parser straight into int buffers:
 * no tree, and fields other than {@code input_ids} and {@code labels} are skipped unread.
 * JSON is read as Python's json module reads it, except that a repeated key is an error instead of
 * "the last one wins". Labels null count as absent. Not thread-safe: one parser per reading thread.
 */
final class RowParser {
    private static final JsonFactory JSON = JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS) // json.dumps writes NaN in fields we ignore
            .streamReadConstraints(StreamReadConstraints.builder().maxStringLength(Integer.MAX_VALUE).build())
            .build();

    /** A parsed row before the length rules: ids and labels (labels == ids when the line had none). */
    record Parsed(int[] inputIds, int[] labels) {}

    private final RowOptions options;
    private final IntArray ids = new IntArray("input_ids");
    private final IntArray labels = new IntArray("labels");

    RowParser(RowOptions options) {
        this.options = options;
    }

    /**
     * Parses {@code chars[0..length)} and applies every check but the length rules (seq_len, targets),
     * which need the row as it will be kept.
     */
    Parsed parse(char[] chars, int length) throws BadRowException {
        ids.clear();
        labels.clear();
        String notAnObject = null;
        String inputIdsType = null; // what input_ids was when present but not an array
        String labelsType = null;
        boolean hasIds = false, hasLabels = false;
        try (JsonParser p = JSON.createParser(chars, 0, length)) {
            JsonToken t = p.nextToken();
            if (t != JsonToken.START_OBJECT) {
                notAnObject = describe(p, t);
                p.skipChildren();
            } else {
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String name = p.currentName();
                    JsonToken v = p.nextToken();
                    if (name.equals("input_ids")) {
                        if (v == JsonToken.START_ARRAY) {
                            hasIds = true;
                            ids.read(p);
                        } else if (v != JsonToken.VALUE_NULL) {
                            inputIdsType = describe(p, v);
                            p.skipChildren();
                        }
                    } else if (name.equals("labels")) {
                        if (v == JsonToken.START_ARRAY) {
                            hasLabels = true;
                            labels.read(p);
                        } else if (v != JsonToken.VALUE_NULL) {
                            labelsType = describe(p, v);
                            p.skipChildren();
                        }
                    } else {
                        p.skipChildren();
                    }
                }
            }
            if (p.nextToken() != null) throw new BadRowException(BadRow.INVALID_JSON, "invalid JSON: more than one value on the line");
        } catch (JsonProcessingException e) {
            throw InvalidJson.of(e);
        } catch (IOException e) {
            throw new IllegalStateException("reading JSON from memory failed", e);
        }

        if (notAnObject != null) {
            throw new BadRowException(BadRow.NOT_AN_OBJECT, "expected a JSON object {\"input_ids\": [...], \"labels\": [...]}, got " + notAnObject);
        }
        if (inputIdsType != null) {
            throw new BadRowException(BadRow.MISSING_INPUT_IDS, "input_ids must be an array of token ids, got " + inputIdsType);
        }
        if (!hasIds) throw new BadRowException(BadRow.MISSING_INPUT_IDS, "no input_ids");
        if (ids.length == 0) throw new BadRowException(BadRow.EMPTY_INPUT_IDS, "input_ids is empty");
        ids.check(options.vocabSize(), false);
        if (labelsType != null) {
            throw new BadRowException(BadRow.LABELS_LENGTH, "labels must be an array as long as input_ids (or absent), got " + labelsType);
        }
        if (!hasLabels) {
            int[] row = ids.toArray();
            return new Parsed(row, row);
        }
        if (labels.length != ids.length) {
            throw new BadRowException(BadRow.LABELS_LENGTH, "labels has " + labels.length + " entries, input_ids " + ids.length);
        }
        labels.check(options.vocabSize(), true);
        int[] rowIds = ids.toArray();
        int[] rowLabels = labels.toArray();
        return new Parsed(rowIds, Arrays.equals(rowIds, rowLabels) ? rowIds : rowLabels);
    }

    /** How a value reads in a message: the number or literal itself, else its kind. */
    private static String describe(JsonParser p, JsonToken t) throws IOException {
        return switch (t) {
            case START_ARRAY -> "an array";
            case START_OBJECT -> "an object";
            case VALUE_STRING -> {
                String text = p.getText();
                yield "\"" + (text.length() > 20 ? text.substring(0, 20) + "..." : text) + "\"";
            }
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT, VALUE_TRUE, VALUE_FALSE, VALUE_NULL -> p.getText();
            default -> String.valueOf(t);
        };
    }

    /**
     * A growing int buffer for one array field, which remembers its first element that is not an
     * int (a string, a float, an integer beyond 32 bits) so that the checks can name it.
     */
    private static final class IntArray {
        final String field;
        int[] values = new int[256];
        int length;
        int firstOdd = -1; // index of the first element that is not a 32-bit integer
        boolean oddIsInteger; // that element is an integer, only too large
        String oddText;

        IntArray(String field) {
            this.field = field;
        }

        void clear() {
            length = 0;
            firstOdd = -1;
            oddText = null;
        }

        /** Reads the elements of the array the parser is at (after START_ARRAY), through END_ARRAY. */
        void read(JsonParser p) throws IOException {
            JsonToken t;
            while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
                int v = 0;
                if (t == JsonToken.VALUE_NUMBER_INT && p.getNumberType() == JsonParser.NumberType.INT) {
                    v = p.getIntValue();
                } else if (firstOdd < 0) {
                    firstOdd = length;
                    oddIsInteger = t == JsonToken.VALUE_NUMBER_INT;
                    oddText = describe(p, t);
                    p.skipChildren();
                } else {
                    p.skipChildren();
                }
                if (length == values.length) values = Arrays.copyOf(values, length * 2);
                values[length++] = v;
            }
        }

        /** Every element in [0, vocab), or -100 when {@code labels}; the first that is not names the problem. */
        void check(int vocab, boolean labels) throws BadRowException {
            BadRow kind = labels ? BadRow.INVALID_LABEL : BadRow.INVALID_INPUT_ID;
            String allowed = labels ? "is neither -100 nor in [0, " + vocab + ")" : "is outside the vocabulary [0, " + vocab + ")";
            int end = firstOdd < 0 ? length : firstOdd;
            for (int i = 0; i < end; i++) {
                int v = values[i];
                if ((v < 0 || v >= vocab) && !(labels && v == Rows.IGNORE_INDEX)) {
                    throw new BadRowException(kind, field + "[" + i + "] = " + v + " " + allowed);
                }
            }
            if (firstOdd >= 0) {
                throw new BadRowException(kind, oddIsInteger ? field + "[" + firstOdd + "] = " + oddText + " " + allowed
                        : field + "[" + firstOdd + "] is not an integer: " + oddText);
            }
        }

        int[] toArray() {
            return Arrays.copyOf(values, length);
        }
    }
}
