package org.cce4j.trainer.data.formats;

import org.cce4j.trainer.data.RowOptions;

/**
 * How training data in a text format becomes token rows.
 *
 * @param format      the format, or null to detect it from the first row's fields (.txt files are text)
 * @param rows        the vocabulary, seq_len, overflow and skip_bad_rows, as for a rows file of ids
 * @param textSplit   how .txt files are cut into documents
 * @param trainOn     which tokens of a chat are trained on
 * @param alpacaStyle how alpaca rows become text
 * @param addEos      append the tokenizer's eos_token to text rows and completions that do not end with it (as TRL does)
 */
public record FormatOptions(DataFormat format, RowOptions rows, TextSplit textSplit, TrainOn trainOn, AlpacaStyle alpacaStyle,
                            boolean addEos) {
    public FormatOptions {
        if (rows == null || textSplit == null || trainOn == null || alpacaStyle == null) {
            throw new IllegalArgumentException("rows, textSplit, trainOn and alpacaStyle are required");
        }
    }

    /** The defaults for everything but the rows: detected format, whole files, assistant turns, Alpaca's prompt, EOS added. */
    public static FormatOptions defaults(RowOptions rows) {
        return new FormatOptions(null, rows, TextSplit.FILE, TrainOn.ASSISTANT, AlpacaStyle.PROMPT, true);
    }

    public FormatOptions withFormat(DataFormat f) {
        return new FormatOptions(f, rows, textSplit, trainOn, alpacaStyle, addEos);
    }

    public FormatOptions withTrainOn(TrainOn t) {
        return new FormatOptions(format, rows, textSplit, t, alpacaStyle, addEos);
    }

    public FormatOptions withTextSplit(TextSplit s) {
        return new FormatOptions(format, rows, s, trainOn, alpacaStyle, addEos);
    }

    public FormatOptions withAlpacaStyle(AlpacaStyle s) {
        return new FormatOptions(format, rows, textSplit, trainOn, s, addEos);
    }
}
