package org.cce4j.trainer.data;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The lines of a file, each decoded as strict UTF-8 on its own, so that a byte that is not UTF-8
 * is reported at its line (a Reader decodes ahead of the line it returns, and would name the
 * wrong one). Lines end at '\n' (a '\r' before it is dropped); a final '\n' ends the last line
 * rather than starting an empty one; a UTF-8 byte-order mark at the start of the file is dropped.
 * Splitting bytes at '\n' is safe because that byte never occurs inside a multi-byte character.
 * Not thread-safe; the chars of a line are valid until the next call of {@link #next()}. Public
 * for the readers of text formats (org.cce4j.trainer.data.formats), which read JSONL the same way.
 */
public final class Utf8Lines implements Closeable {
    private final InputStream in;
    private final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
    private final byte[] chunk = new byte[1 << 16];
    private int chunkPos, chunkEnd;
    private boolean eof;
    private byte[] line = new byte[1 << 12];
    private int lineLength;
    private char[] chars = new char[1 << 12];
    private int charCount;
    private boolean utf8;
    private long number;

    public Utf8Lines(InputStream in) {
        this.in = in;
    }

    /** Reads the next line; false at the end of the file. */
    public boolean next() throws IOException {
        lineLength = 0;
        boolean any = false;
        while (true) {
            if (chunkPos == chunkEnd) {
                if (eof || !fill()) {
                    if (!any) return false;
                    break;
                }
            }
            any = true;
            int nl = indexOfNewline(chunkPos, chunkEnd);
            int end = nl < 0 ? chunkEnd : nl;
            append(chunkPos, end);
            chunkPos = nl < 0 ? chunkEnd : nl + 1;
            if (nl >= 0) break;
        }
        number++;
        if (lineLength > 0 && line[lineLength - 1] == '\r') lineLength--;
        int start = 0;
        if (number == 1 && lineLength >= 3 && (line[0] & 0xFF) == 0xEF && (line[1] & 0xFF) == 0xBB && (line[2] & 0xFF) == 0xBF) start = 3;
        decode(start);
        return true;
    }

    /** The 1-based number of the line last read. */
    public long number() {
        return number;
    }

    /** Whether the line last read is valid UTF-8; when not, {@link #chars()} is meaningless. */
    public boolean isUtf8() {
        return utf8;
    }

    /** The decoded characters of the line last read: {@code chars()[0 .. length())}. */
    public char[] chars() {
        return chars;
    }

    public int length() {
        return charCount;
    }

    /** Whether the line last read holds only JSON whitespace (or nothing). */
    public boolean isBlank() {
        for (int i = 0; i < charCount; i++) {
            char c = chars[i];
            if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return false;
        }
        return true;
    }

    @Override
    public void close() throws IOException {
        in.close();
    }

    private boolean fill() throws IOException {
        int n = in.read(chunk, 0, chunk.length);
        if (n <= 0) {
            eof = true;
            return false;
        }
        chunkPos = 0;
        chunkEnd = n;
        return true;
    }

    private int indexOfNewline(int from, int to) {
        for (int i = from; i < to; i++) {
            if (chunk[i] == '\n') return i;
        }
        return -1;
    }

    private void append(int from, int to) {
        int n = to - from;
        if (lineLength + n > line.length) line = Arrays.copyOf(line, Math.max(line.length * 2, lineLength + n));
        System.arraycopy(chunk, from, line, lineLength, n);
        lineLength += n;
    }

    private void decode(int start) {
        int n = lineLength - start;
        if (chars.length < n) chars = new char[Math.max(chars.length * 2, n)]; // UTF-8 never gives more chars than bytes
        CharBuffer out = CharBuffer.wrap(chars);
        decoder.reset();
        CoderResult r = decoder.decode(ByteBuffer.wrap(line, start, n), out, true);
        if (!r.isError()) r = decoder.flush(out);
        utf8 = !r.isError();
        charCount = out.position();
    }
}
