package org.cce4j.trainer.data.formats;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import org.cce4j.core.InvalidInputException;
import org.cce4j.trainer.data.BadRow;
import org.cce4j.trainer.data.BadRowException;
import org.cce4j.trainer.data.InvalidJson;
import org.cce4j.trainer.data.RowCollector;
import org.cce4j.trainer.data.RowFileReader;
import org.cce4j.trainer.data.Utf8Lines;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * A JSONL file of a text format: one JSON object per line, read line by line as the rows file is
 * (strict UTF-8 per line, so that a bad byte is reported at its line), each line parsed as a tree
 * (duplicate keys and trailing text refused, as in the rows file) and encoded by its format. The
 * format is the one given, or that of the first line that is a JSON object; a file of token ids is
 * handed to {@link RowFileReader} whole. Every bad line goes to {@link RowCollector}.
 */
final class JsonlReader {
    private static final JsonMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private JsonlReader() {}

    static LoadedDataset read(Path file, FormatOptions options, Encoders encoders) {
        String name = file.toString();
        DataFormat format = options.format();
        boolean detected = format == null;
        if (detected) format = detect(file);
        if (format == DataFormat.TOKENS) {
            RowFileReader.LoadedRows rows = RowFileReader.read(file, options.rows());
            return new LoadedDataset(rows.rows(), new FormatReport(DataFormat.TOKENS, detected, rows.report(), 0, null), rows.documents());
        }
        RowEncoder encoder = RowEncoder.of(format, options, encoders);
        RowCollector rows = new RowCollector(name, options.rows());
        int vocab = options.rows().vocabSize();
        long merged = 0, lines;
        try (Utf8Lines in = new Utf8Lines(Files.newInputStream(file))) {
            while (in.next()) {
                String where = name + ":" + in.number();
                try {
                    EncodedRow row = encoder.encode(parse(in, format));
                    requireInVocabulary(row.inputIds(), vocab);
                    if (row.boundaryMerged()) merged++;
                    rows.add(where, row.inputIds(), row.labels());
                } catch (BadRowException bad) {
                    rows.bad(where, bad);
                }
            }
            lines = in.number();
        } catch (IOException e) {
            throw RowFileReader.readFailure(name, e);
        }
        RowFileReader.LoadedRows loaded = rows.finish(lines);
        return new LoadedDataset(loaded.rows(), new FormatReport(format, detected, loaded.report(), merged, encoders.spanSource()), loaded.documents());
    }

    /** The format of the first line that is a JSON object; lines before it that are not are skipped here (the read reports them). */
    static DataFormat detect(Path file) {
        String name = file.toString();
        try (Utf8Lines in = new Utf8Lines(Files.newInputStream(file))) {
            while (in.next()) {
                if (!in.isUtf8() || in.isBlank()) continue;
                JsonNode row;
                try {
                    row = JSON.readTree(new String(in.chars(), 0, in.length()));
                } catch (JsonProcessingException e) {
                    continue;
                }
                if (row == null || !row.isObject()) continue;
                DataFormat f = DataFormat.of(row);
                if (f == null) throw new InvalidInputException(name + ":" + in.number() + ": " + DataFormat.noFormat(row));
                return f;
            }
        } catch (IOException e) {
            if (!(e instanceof NoSuchFileException) && Files.isDirectory(file)) throw new InvalidInputException(name + ": is a directory");
            throw RowFileReader.readFailure(name, e);
        }
        throw new InvalidInputException(name + ": no JSON object on any line, so no data format to detect (the file is empty or every line is bad)");
    }

    private static JsonNode parse(Utf8Lines in, DataFormat format) throws BadRowException {
        return parse(in.isUtf8(), in.isBlank(), in.isUtf8() ? new String(in.chars(), 0, in.length()) : null, format);
    }

    /** A line as a JSON object ({@code text} is ignored when not {@code utf8}); thread-safe. */
    static JsonNode parse(boolean utf8, boolean blank, String text, DataFormat format) throws BadRowException {
        if (!utf8) throw new BadRowException(BadRow.NOT_UTF8, "not UTF-8 text");
        if (blank) throw new BadRowException(BadRow.BLANK_LINE, "blank line (a JSONL file has one JSON object on every line)");
        JsonNode row;
        try {
            row = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw InvalidJson.of(e);
        }
        if (!row.isObject()) {
            throw new BadRowException(BadRow.NOT_AN_OBJECT, "expected a JSON object (format " + format.key() + "), got " + RowFields.kind(row));
        }
        return row;
    }

    /** The tokenizer's ids are the model's: an id past the model's vocabulary (a tokenizer larger than the model) is a bad row. */
    static void requireInVocabulary(int[] ids, int vocab) throws BadRowException {
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= vocab) {
                throw new BadRowException(BadRow.INVALID_INPUT_ID, "token " + i + " of the tokenized row is id " + ids[i]
                        + ", outside the model's vocabulary [0, " + vocab + ")");
            }
        }
    }
}
