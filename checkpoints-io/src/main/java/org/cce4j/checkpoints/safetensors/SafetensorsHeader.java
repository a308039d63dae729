package org.cce4j.checkpoints.safetensors;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import org.cce4j.checkpoints.Json;
import org.cce4j.core.InvalidInputException;
import org.cce4j.core.tensor.Shapes;

import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The parsed and validated JSON header of a safetensors file.
 * <pre>
 *   | u64 little-endian N | N bytes of UTF-8 JSON (space-padded) | data section |
 *   {"__metadata__": {"format": "pt"},
 *    "embed.weight": {"dtype": "BF16", "shape": [V, D], "data_offsets": [0, 2*V*D]}, ...}
 * </pre>
 * The header is read with Jackson's streaming parser, token by token, so that nothing is built
 * that the header does not hold (no tree, no interned names) and every rule is checked where its
 * value is read. The rules, each failing with one line naming the file, the tensor and the rule:
 * a JSON object; {@code __metadata__}, if present, an object of strings; no duplicate keys anywhere;
 * each tensor an object of exactly dtype (a known name), shape (at most {@value #MAX_RANK}
 * non-negative integers) and data_offsets (two non-negative integers, begin <= end); element count
 * times dtype size (overflow-checked, a whole number of bytes) equal to the byte range; and,
 * sorted by offset, the ranges start at 0, neither overlap nor leave holes, and end exactly at
 * the end of the data section.
 */
public record SafetensorsHeader(Map<String, String> metadata, List<TensorInfo> tensors) {
    /** The reference implementation's limit; headers are rarely above a few MB. */
    public static final long MAX_HEADER_BYTES = 100_000_000L;
    /** numpy 2's limit on dimensions; a guard against shapes that only exist to eat memory. */
    public static final int MAX_RANK = 64;

    private static final JsonFactory STRICT = JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .disable(JsonFactory.Feature.CANONICALIZE_FIELD_NAMES)
            .disable(JsonFactory.Feature.INTERN_FIELD_NAMES)
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxStringLength(Json.MAX_TEXT).maxNameLength(Json.MAX_TEXT).maxNestingDepth(8).build())
            .build();

    public SafetensorsHeader {
        metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
        tensors = List.copyOf(tensors);
    }

    /**
     * Reads and validates a header.
     * @param source   the file, for messages
     * @param json     the N header bytes
     * @param dataSize bytes after the header, which the tensors must cover exactly
     */
    public static SafetensorsHeader parse(String source, InputStream json, long dataSize) {
        Reader reader = new InputStreamReader(json, StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT));
        Parser p = new Parser(source);
        try (JsonParser jp = STRICT.createParser(reader)) {
            p.readHeader(jp);
        } catch (CharacterCodingException e) {
            throw p.error("header is not valid UTF-8");
        } catch (JsonParseException e) {
            throw p.jsonError(e);
        } catch (JsonProcessingException e) {
            throw p.error("header is not valid JSON: " + Json.oneLine(e));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        List<TensorInfo> sorted = new ArrayList<>(p.tensors);
        sorted.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        checkLayout(p, sorted, dataSize);
        return new SafetensorsHeader(p.metadata, sorted);
    }

    private static void checkLayout(Parser p, List<TensorInfo> sorted, long dataSize) {
        long covered = 0;
        TensorInfo previous = null;
        for (TensorInfo t : sorted) {
            if (t.end() > dataSize) {
                throw p.error("tensor '" + t.name() + "': data_offsets [" + t.begin() + ", " + t.end()
                        + "] run past the end of the data section (" + dataSize + " bytes): the file is truncated or the offsets are wrong");
            }
            if (t.begin() < covered) {
                throw p.error("tensors '" + previous.name() + "' [" + previous.begin() + ", " + previous.end() + ") and '"
                        + t.name() + "' [" + t.begin() + ", " + t.end() + ") overlap (byte ranges must be disjoint)");
            }
            if (t.begin() > covered) {
                throw p.error("hole in the data section: bytes [" + covered + ", " + t.begin() + ") belong to no tensor ("
                        + (previous == null ? "before '" + t.name() + "'" : "between '" + previous.name() + "' and '" + t.name() + "'")
                        + "; tensors must cover the data section without gaps)");
            }
            covered = t.end();
            previous = t;
        }
        if (covered != dataSize) {
            throw p.error("data section has " + dataSize + " bytes but the tensors cover " + covered
                    + " (trailing bytes after the last tensor)");
        }
    }

    /** The streaming reader; one instance per header. */
    private static final class Parser {
        private final String source;
        private final Map<String, String> metadata = new LinkedHashMap<>();
        private final List<TensorInfo> tensors = new ArrayList<>();
        private String currentTensor;

        Parser(String source) {
            this.source = source;
        }

        void readHeader(JsonParser jp) throws IOException {
            JsonToken first = jp.nextToken();
            if (first != JsonToken.START_OBJECT) {
                throw error("header must be a JSON object, found " + describe(first));
            }
            boolean sawMetadata = false;
            while (jp.nextToken() == JsonToken.FIELD_NAME) {
                String name = jp.currentName();
                JsonToken value = jp.nextToken();
                if (name.equals("__metadata__")) {
                    sawMetadata = true;
                    readMetadata(jp, value);
                } else {
                    currentTensor = name;
                    tensors.add(readTensor(jp, name, value));
                    currentTensor = null;
                }
            }
            JsonToken trailing = jp.nextToken();
            if (trailing != null) {
                throw error("found " + describe(trailing) + " after the header's JSON object (only spaces may pad it)");
            }
            assert sawMetadata || metadata.isEmpty();
        }

        private void readMetadata(JsonParser jp, JsonToken value) throws IOException {
            if (value == JsonToken.VALUE_NULL) return;
            if (value != JsonToken.START_OBJECT) {
                throw error("__metadata__ must be an object of strings, found " + describe(value));
            }
            while (jp.nextToken() == JsonToken.FIELD_NAME) {
                String key = jp.currentName();
                JsonToken v = jp.nextToken();
                if (v != JsonToken.VALUE_STRING) {
                    throw error("__metadata__ value of '" + key + "' must be a string, found " + describe(v));
                }
                metadata.put(key, jp.getText());
            }
        }

        private TensorInfo readTensor(JsonParser jp, String name, JsonToken value) throws IOException {
            if (value != JsonToken.START_OBJECT) {
                throw tensorError(name, "entry must be an object with dtype, shape and data_offsets, found " + describe(value));
            }
            SafetensorsDType dtype = null;
            long[] shape = null;
            long[] offsets = null;
            while (jp.nextToken() == JsonToken.FIELD_NAME) {
                String field = jp.currentName();
                JsonToken v = jp.nextToken();
                switch (field) {
                    case "dtype" -> {
                        if (v != JsonToken.VALUE_STRING) throw tensorError(name, "dtype must be a string, found " + describe(v));
                        String text = jp.getText();
                        dtype = SafetensorsDType.fromHeaderName(text);
                        if (dtype == null) {
                            throw tensorError(name, "unknown dtype '" + abbreviate(text) + "' (known: "
                                    + Arrays.stream(SafetensorsDType.values()).map(Enum::name).collect(Collectors.joining(", ")) + ")");
                        }
                    }
                    case "shape" -> shape = readLongs(jp, v, name, "shape", MAX_RANK);
                    case "data_offsets" -> {
                        offsets = readLongs(jp, v, name, "data_offsets", 2);
                        if (offsets.length != 2) {
                            throw tensorError(name, "data_offsets must hold exactly two integers [begin, end], found " + offsets.length);
                        }
                    }
                    default -> throw tensorError(name, "unknown field '" + abbreviate(field) + "' (a tensor entry has exactly dtype, shape and data_offsets)");
                }
            }
            if (dtype == null) throw tensorError(name, "missing 'dtype'");
            if (shape == null) throw tensorError(name, "missing 'shape'");
            if (offsets == null) throw tensorError(name, "missing 'data_offsets'");
            long begin = offsets[0];
            long end = offsets[1];
            if (end < begin) {
                throw tensorError(name, "data_offsets [" + begin + ", " + end + "] end before they begin");
            }
            long bytes;
            try {
                bytes = dtype.byteCount(Shapes.numel(shape));
            } catch (ArithmeticException e) {
                throw tensorError(name, "shape " + Shapes.toString(shape) + " of " + dtype + " overflows a 64-bit byte count");
            }
            if (bytes < 0) {
                throw tensorError(name, "shape " + Shapes.toString(shape) + " of " + dtype + " (" + dtype.bits()
                        + " bits each) is not a whole number of bytes");
            }
            if (bytes != end - begin) {
                throw tensorError(name, "shape " + Shapes.toString(shape) + " of " + dtype + " needs " + bytes
                        + " bytes but data_offsets [" + begin + ", " + end + "] hold " + (end - begin));
            }
            return new TensorInfo(name, dtype, shape, begin, end);
        }

        private long[] readLongs(JsonParser jp, JsonToken v, String tensor, String field, int maxCount) throws IOException {
            if (v != JsonToken.START_ARRAY) {
                throw tensorError(tensor, field + " must be an array of non-negative integers, found " + describe(v));
            }
            long[] out = new long[4];
            int n = 0;
            JsonToken t;
            while ((t = jp.nextToken()) != JsonToken.END_ARRAY) {
                if (t != JsonToken.VALUE_NUMBER_INT) {
                    throw tensorError(tensor, field + " must hold non-negative integers, found " + describe(t));
                }
                if (jp.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
                    throw tensorError(tensor, field + " value " + abbreviate(jp.getText()) + " does not fit in 64 bits");
                }
                long x = jp.getLongValue();
                if (x < 0) {
                    throw tensorError(tensor, field + " value " + x + " is negative");
                }
                if (n == maxCount) {
                    throw tensorError(tensor, field + " has more than " + maxCount + " entries");
                }
                if (n == out.length) out = Arrays.copyOf(out, Math.min(maxCount, 2 * n));
                out[n++] = x;
            }
            return Arrays.copyOf(out, n);
        }

        InvalidInputException jsonError(JsonParseException e) {
            String msg = e.getOriginalMessage();
            if (msg != null && msg.startsWith("Duplicate")) {
                String key = msg.replaceFirst("^[^\"']*[\"']", "").replaceFirst("[\"'][^\"']*$", "");
                var ctx = e.getProcessor() instanceof JsonParser jp ? jp.getParsingContext() : null;
                boolean topLevel = ctx != null && ctx.getParent() != null && ctx.getParent().inRoot();
                if (topLevel) {
                    return error("duplicate tensor name '" + abbreviate(key) + "' in the header (each name may appear once)");
                }
                return error("duplicate key '" + abbreviate(key) + "'" + (currentTensor != null ? " in the entry of tensor '" + abbreviate(currentTensor) + "'" : " in __metadata__")
                        + " (each key may appear once)");
            }
            return error("header is not valid JSON: " + Json.oneLine(e));
        }

        InvalidInputException tensorError(String tensor, String rule) {
            return error("tensor '" + abbreviate(tensor) + "': " + rule);
        }

        InvalidInputException error(String rule) {
            return new InvalidInputException(source + ": " + rule);
        }

        private static String describe(JsonToken t) {
            if (t == null) return "the end of the header";
            return switch (t) {
                case START_OBJECT -> "an object";
                case START_ARRAY -> "an array";
                case VALUE_STRING -> "a string";
                case VALUE_NUMBER_INT -> "an integer";
                case VALUE_NUMBER_FLOAT -> "a non-integer number";
                case VALUE_TRUE, VALUE_FALSE -> "a boolean";
                case VALUE_NULL -> "null";
                default -> t.asString() != null ? "'" + t.asString() + "'" : t.name();
            };
        }

        /** Names from a hostile file may be megabytes long; messages stay one readable line. */
        private static String abbreviate(String s) {
            String head = s.length() <= 200 ? s : s.substring(0, 200) + "...(" + s.length() + " chars)";
            return head.replaceAll("\\p{Cntrl}", "?");
        }
    }
}
