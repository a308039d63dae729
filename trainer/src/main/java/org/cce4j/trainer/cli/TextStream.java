package org.cce4j.trainer.cli;

import org.cce4j.tokenizer.Tokenizer;

import java.io.PrintWriter;
import java.util.Arrays;

/**
 * Prints generated text as its tokens come. A token is not always text on its own (byte-level BPE
 * splits a character's UTF-8 bytes over several tokens; a SentencePiece decoder treats the first
 * token specially), so each step decodes all the tokens so far (special tokens skipped) and prints
 * what is new, holding back while the text ends in an incomplete character (U+FFFD) or no longer
 * starts with what was printed; {@link #finish} prints the rest. An id the tokenizer has no token for
 * (a padded vocabulary row) is left out of the text and counted.
 */
final class TextStream {
    private final Tokenizer tokenizer;
    private final PrintWriter out;
    private int[] ids = new int[16];
    private int count;
    private String printed = "";

    TextStream(Tokenizer tokenizer, PrintWriter out) {
        this.tokenizer = tokenizer;
        this.out = out;
    }

    /** Ids the tokenizer has no token for (a model's padded vocabulary rows), left out of the text. */
    int unknown;

    void add(int id) {
        if (tokenizer.idToToken(id) == null) {
            unknown++;
            return;
        }
        if (count == ids.length) ids = Arrays.copyOf(ids, 2 * count);
        ids[count++] = id;
        String text = tokenizer.decode(Arrays.copyOf(ids, count), true);
        if (!text.endsWith("\uFFFD") && text.startsWith(printed)) emit(text);
    }

    /** The text not printed yet, then a line end. */
    void finish() {
        String text = tokenizer.decode(Arrays.copyOf(ids, count), true);
        if (text.startsWith(printed)) {
            emit(text);
        } else {   // the decoder changed text already printed (rare): print from where they part
            int common = 0;
            while (common < Math.min(text.length(), printed.length()) && text.charAt(common) == printed.charAt(common)) common++;
            out.print(text.substring(common));
        }
        out.println();
        out.flush();
    }

    private void emit(String text) {
        out.print(text.substring(printed.length()));
        out.flush();
        printed = text;
    }
}
