package org.cce4j.trainer.data.formats;

import org.cce4j.tokenizer.Tokenizer;
import org.cce4j.tokenizer.chat.ChatTemplate;
import org.cce4j.trainer.data.BadRowException;
import org.cce4j.trainer.data.RowFileReader;
import org.cce4j.trainer.data.TokenRow;
import org.cce4j.trainer.data.Utf8Lines;
import org.cce4j.trainer.data.packing.RowBuilder;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;

/**
 * A JSONL file of any format, as the token cache builds it: the calling thread cuts the file into
 * lines (strict UTF-8 per line, as {@link JsonlReader} reads them), and each worker parses and encodes
 * lines with encoders of its own (a chat template per thread: Jinjava's interpreter state is not
 * shared), applying the checks of the sequential readers in the same order, so the rows and the
 * report are theirs: token ids through {@link RowFileReader.LineParser}, text formats through the
 * format's {@link RowEncoder}, then the vocabulary check and the length rules ({@link BuildTally}).
 */
final class JsonlRowBuilder implements RowBuilder<JsonlRowBuilder.Line> {
    /** A line: its 0-based index, 1-based number, and text (null when it is not UTF-8). */
    record Line(long index, long number, String text, boolean blank) {}

    private final String name;
    private final DataFormat format;
    private final boolean detected;
    private final FormatOptions options;
    private final BuildTally tally;
    private final ThreadLocal<RowFileReader.LineParser> tokenLines;
    private final ThreadLocal<Encoders> encoders;
    private final List<Encoders> allEncoders = new CopyOnWriteArrayList<>();
    private long lines;

    JsonlRowBuilder(String name, DataFormat format, boolean detected, FormatOptions options, Tokenizer tokenizer, Supplier<ChatTemplate> template) {
        this.name = name;
        this.format = format;
        this.detected = detected;
        this.options = options;
        this.tally = new BuildTally(name, options.rows());
        this.tokenLines = ThreadLocal.withInitial(() -> new RowFileReader.LineParser(options.rows()));
        this.encoders = ThreadLocal.withInitial(() -> {
            Encoders e = new Encoders(tokenizer, options, template);
            allEncoders.add(e);
            return e;
        });
    }

    @Override
    public Iterator<Line> records(InputStream source) {
        Utf8Lines in = new Utf8Lines(source);
        return new Iterator<>() {
            Line next;
            boolean done;

            @Override
            public boolean hasNext() {
                if (next == null && !done) {
                    try {
                        if (in.next()) {
                            next = new Line(lines, in.number(), in.isUtf8() ? new String(in.chars(), 0, in.length()) : null, in.isUtf8() && in.isBlank());
                            lines++;
                        } else {
                            done = true;
                        }
                    } catch (IOException e) {
                        throw new UncheckedIOException("reading " + name, e);
                    }
                }
                return next != null;
            }

            @Override
            public Line next() {
                if (!hasNext()) throw new NoSuchElementException();
                Line l = next;
                next = null;
                return l;
            }
        };
    }

    @Override
    public List<TokenRow> rows(Line line) {
        String where = name + ":" + line.number();
        boolean utf8 = line.text() != null;
        try {
            if (format == DataFormat.TOKENS) {
                char[] chars = utf8 ? line.text().toCharArray() : new char[0];
                int[][] row = tokenLines.get().parse(utf8, line.blank(), chars, chars.length);
                return tally.keep(line.index(), where, row[0], row[1], false);
            }
            Encoders e = encoders.get();
            EncodedRow row = RowEncoder.of(format, options, e).encode(JsonlReader.parse(utf8, line.blank(), line.text(), format));
            JsonlReader.requireInVocabulary(row.inputIds(), options.rows().vocabSize());
            return tally.keep(line.index(), where, row.inputIds(), row.labels(), row.boundaryMerged());
        } catch (BadRowException bad) {
            tally.bad(line.index(), where, bad);
            return List.of();
        }
    }

    @Override
    public Map<String, String> report() {
        String spans = null;
        for (Encoders e : allEncoders) if (spans == null) spans = e.spanSource();
        return ReportCodec.encode(new FormatReport(format, detected, tally.rowReport(lines), tally.boundaryMerged(), spans));
    }
}
