package org.cce4j.trainer.data.formats;

import org.cce4j.core.InvalidInputException;
import org.cce4j.trainer.data.BadRow;
import org.cce4j.trainer.data.BadRowException;
import org.cce4j.trainer.data.RowCollector;
import org.cce4j.trainer.data.RowFileReader;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * Plain text: a .txt file, or a folder of them (every *.txt below it, in the order of their paths),
 * cut into documents ({@link TextSplit}), each a row of the text format ({@link TextEncoder}).
 * A file is decoded as strict UTF-8 (a UTF-8 byte-order mark at its start dropped); one that is not
 * UTF-8 is one bad row, at the line of its first bad byte, and with skip_bad_rows the whole file is
 * skipped. A bad document is reported at the line it starts on.
 */
final class TextFilesReader {
    private TextFilesReader() {}

    /** Whether {@code path} is plain text: a folder, or a file named *.txt. */
    static boolean isText(Path path) {
        return Files.isDirectory(path) || path.getFileName() != null && path.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".txt");
    }

    static LoadedDataset read(Path path, FormatOptions options, Encoders encoders) {
        String name = path.toString();
        requireTextFormat(path, options);
        RowCollector rows = new RowCollector(name, options.rows());
        int vocab = options.rows().vocabSize();
        long documents = 0;
        for (Path file : files(path)) {
            String text;
            try {
                text = decode(file);
            } catch (BadRowException bad) {
                rows.bad(file + ":" + badLine(file), bad);
                documents++;
                continue;
            }
            for (Document d : documents(text, options.textSplit())) {
                documents++;
                String where = file + ":" + d.line();
                try {
                    EncodedRow row = encoders.text().encode(d.text());
                    JsonlReader.requireInVocabulary(row.inputIds(), vocab);
                    rows.add(where, row.inputIds(), row.labels());
                } catch (BadRowException bad) {
                    rows.bad(where, bad);
                }
            }
        }
        RowFileReader.LoadedRows loaded = rows.finish(documents);
        return new LoadedDataset(loaded.rows(), new FormatReport(DataFormat.TEXT, options.format() == null, loaded.report(), 0, null), loaded.documents());
    }

    static void requireTextFormat(Path path, FormatOptions options) {
        if (options.format() != null && options.format() != DataFormat.TEXT) {
            throw new InvalidInputException(path + ": plain text (a .txt file or a folder of them) is read as data.format = text, not " + options.format().key());
        }
    }

    /** A document and the 1-based line of its file it starts on. */
    record Document(String text, long line) {}

    static List<Document> documents(String text, TextSplit split) {
        if (split == TextSplit.FILE) return List.of(new Document(text, 1));
        List<Document> out = new ArrayList<>();
        String[] lines = text.split("\r?\n", -1);
        StringBuilder doc = new StringBuilder();
        long start = 0;
        for (int i = 0; i < lines.length; i++) {
            if (lines[i].isBlank()) {
                if (!doc.isEmpty()) out.add(new Document(doc.toString(), start));
                doc.setLength(0);
                continue;
            }
            if (doc.isEmpty()) start = i + 1;
            else doc.append('\n');
            doc.append(lines[i]);
        }
        if (!doc.isEmpty()) out.add(new Document(doc.toString(), start));
        return out;
    }

    static List<Path> files(Path path) {
        if (!Files.isDirectory(path)) {
            if (!Files.exists(path)) throw new InvalidInputException(path + ": no such file");
            return List.of(path);
        }
        try (Stream<Path> walk = Files.walk(path)) {
            List<Path> found = walk.filter(p -> Files.isRegularFile(p) && p.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".txt"))
                    .sorted().toList();
            if (found.isEmpty()) throw new InvalidInputException(path + ": a folder without .txt files");
            return found;
        } catch (IOException e) {
            throw new UncheckedIOException("listing " + path, e);
        }
    }

    private static String decode(Path file) throws BadRowException {
        return decode(readAll(file));
    }

    /** Strict UTF-8, a byte-order mark at the start dropped. */
    static String decode(byte[] bytes) throws BadRowException {
        int from = bytes.length >= 3 && (bytes[0] & 0xFF) == 0xEF && (bytes[1] & 0xFF) == 0xBB && (bytes[2] & 0xFF) == 0xBF ? 3 : 0;
        CharsetDecoder d = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        try {
            CharBuffer chars = d.decode(ByteBuffer.wrap(bytes, from, bytes.length - from));
            return chars.toString();
        } catch (CharacterCodingException e) {
            throw new BadRowException(BadRow.NOT_UTF8, "not UTF-8 text");
        }
    }

    /** The line of a file's first byte that is not UTF-8 (1-based). */
    private static long badLine(Path file) {
        return badLine(readAll(file));
    }

    /** The line of the first byte that is not UTF-8 (1-based). */
    static long badLine(byte[] bytes) {
        CharsetDecoder d = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length + 1);
        d.decode(in, out, true);
        long line = 1;
        for (int i = 0; i < in.position(); i++) if (bytes[i] == '\n') line++;
        return line;
    }

    private static byte[] readAll(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw RowFileReader.readFailure(file.toString(), e);
        }
    }
}
