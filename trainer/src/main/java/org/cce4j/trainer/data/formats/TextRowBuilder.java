package org.cce4j.trainer.data.formats;

import org.cce4j.tokenizer.Tokenizer;
import org.cce4j.trainer.data.BadRowException;
import org.cce4j.trainer.data.TokenRow;
import org.cce4j.trainer.data.packing.RowBuilder;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;

/**
 * Plain text (a .txt file or a folder of them), as the token cache builds it: the calling thread
 * reads one file at a time, decodes it and cuts it into documents as {@link TextFilesReader} does (a
 * file that is not UTF-8 is one bad record at the line of its first bad byte); workers encode the
 * documents ({@link TextEncoder} is stateless over a thread-safe tokenizer) and apply the length rules.
 */
final class TextRowBuilder implements RowBuilder<TextRowBuilder.Doc> {
    /** A document (its 0-based index over all files, where it starts, its text), or a file that is not UTF-8 ({@code bad}). */
    record Doc(long index, String where, String text, BadRowException bad) {}

    private final Path path;
    private final FormatOptions options;
    private final BuildTally tally;
    private final TextEncoder encoder;
    private long documents;

    TextRowBuilder(Path path, FormatOptions options, Tokenizer tokenizer) {
        this.path = path;
        this.options = options;
        this.tally = new BuildTally(path.toString(), options.rows());
        this.encoder = new TextEncoder(tokenizer, options.addEos());
    }

    @Override
    public Iterator<Doc> records(InputStream source) {
        throw new UnsupportedOperationException("plain text is read by path (a file or a folder)");
    }

    @Override
    public Iterator<Doc> records(Path source, Opener opener) {
        Iterator<Path> files = TextFilesReader.files(source).iterator();
        ArrayDeque<Doc> ready = new ArrayDeque<>();
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                while (ready.isEmpty() && files.hasNext()) read(files.next());
                return !ready.isEmpty();
            }

            @Override
            public Doc next() {
                if (!hasNext()) throw new NoSuchElementException();
                return ready.removeFirst();
            }

            private void read(Path file) {
                byte[] bytes;
                try (InputStream in = opener.open(file)) {
                    bytes = in.readAllBytes();
                } catch (IOException e) {
                    throw new UncheckedIOException("reading " + file, e);
                }
                try {
                    String text = TextFilesReader.decode(bytes);
                    for (TextFilesReader.Document d : TextFilesReader.documents(text, options.textSplit())) {
                        ready.add(new Doc(documents++, file + ":" + d.line(), d.text(), null));
                    }
                } catch (BadRowException bad) {
                    ready.add(new Doc(documents++, file + ":" + TextFilesReader.badLine(bytes), null, bad));
                }
            }
        };
    }

    @Override
    public List<TokenRow> rows(Doc doc) {
        try {
            if (doc.bad() != null) throw doc.bad();
            EncodedRow row = encoder.encode(doc.text());
            JsonlReader.requireInVocabulary(row.inputIds(), options.rows().vocabSize());
            return tally.keep(doc.index(), doc.where(), row.inputIds(), row.labels(), false);
        } catch (BadRowException bad) {
            tally.bad(doc.index(), doc.where(), bad);
            return List.of();
        }
    }

    @Override
    public Map<String, String> report() {
        return ReportCodec.encode(new FormatReport(DataFormat.TEXT, options.format() == null, tally.rowReport(documents), 0, null));
    }
}
