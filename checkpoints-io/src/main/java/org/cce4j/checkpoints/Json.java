package org.cce4j.checkpoints;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.cce4j.core.InvalidInputException;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * The JSON side of checkpoint folders (config.json, generation_config.json, the shard index,
 * adapter_config.json). Reading is strict where Python's json is lenient in ways that hide
 * mistakes (duplicate keys are an error, not "last one wins") and lenient where Python writes
 * non-standard JSON ({@code NaN}, {@code Infinity}, which json.dumps emits by default).
 * Writing imitates {@code json.dumps(obj, indent=2, sort_keys=...)}: two-space indentation,
 * {@code "key": value}, ASCII-only output, so files we write look like those Hugging Face writes.
 */
public final class Json {
    /** Headers and JSON files we read may be large; Jackson's default caps (20 MB strings, 50 kB names) are not ours. */
    public static final int MAX_TEXT = 100_000_000;

    private static final JsonFactory FACTORY = JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .enable(JsonWriteFeature.ESCAPE_NON_ASCII)
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxStringLength(MAX_TEXT).maxNameLength(MAX_TEXT).maxNestingDepth(200).build())
            .build();

    private static final ObjectMapper MAPPER = JsonMapper.builder(FACTORY).build();

    private static final DefaultPrettyPrinter PYTHON_STYLE = new DefaultPrettyPrinter(Separators.createDefaultInstance()
            .withObjectFieldValueSpacing(Separators.Spacing.AFTER)
            .withObjectEmptySeparator("")
            .withArrayEmptySeparator(""))
            .withObjectIndenter(new DefaultIndenter("  ", "\n"))
            .withArrayIndenter(new DefaultIndenter("  ", "\n"));

    private Json() {}

    public static ObjectMapper mapper() {
        return MAPPER;
    }

    /** Parses a JSON file that must hold an object; any problem is one line naming the file. */
    public static ObjectNode readObject(Path file) throws IOException {
        byte[] bytes;
        try {
            if (Files.size(file) > MAX_TEXT) {
                throw new InvalidInputException(file + ": " + Files.size(file) + " bytes, more than the " + MAX_TEXT + "-byte limit for JSON files");
            }
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new InvalidInputException(file + ": no such file");
        }
        return parseObject(bytes, file.toString());
    }

    public static ObjectNode parseObject(byte[] bytes, String source) {
        JsonNode node;
        try {
            node = MAPPER.readTree(bytes);
        } catch (JsonProcessingException e) {
            throw new InvalidInputException(source + ": not valid JSON: " + oneLine(e));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (node == null || node.isMissingNode()) {
            throw new InvalidInputException(source + ": the file is empty (expected a JSON object)");
        }
        if (!node.isObject()) {
            throw new InvalidInputException(source + ": expected a JSON object, found " + node.getNodeType().toString().toLowerCase());
        }
        return (ObjectNode) node;
    }

    /** The message of a Jackson exception without its multi-line source excerpt, plus where. */
    public static String oneLine(JsonProcessingException e) {
        String msg = e.getOriginalMessage().replaceAll("\\s+", " ").trim();
        var loc = e.getLocation();
        if (loc != null && loc.getLineNr() > 0) {
            msg += " (line " + loc.getLineNr() + ", column " + loc.getColumnNr() + ")";
        }
        return msg;
    }

    /** {@code json.dumps(value, indent=2)} followed by a newline, as Hugging Face writes its JSON files. */
    public static String toPythonStyle(Object value) {
        StringWriter out = new StringWriter();
        try (JsonGenerator g = FACTORY.createGenerator(out)) {
            g.setPrettyPrinter(PYTHON_STYLE);
            MAPPER.writeValue(g, value);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out + "\n";
    }

    /** Writes {@link #toPythonStyle} atomically. */
    public static void writePythonStyle(Path file, Object value) throws IOException {
        AtomicFiles.writeString(file, toPythonStyle(value));
    }
}
