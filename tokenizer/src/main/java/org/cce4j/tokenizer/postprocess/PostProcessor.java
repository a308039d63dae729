package org.cce4j.tokenizer.postprocess;

import java.util.List;

/**
 * A tokenizer.json post-processor, for one sequence: adds the special tokens around the ids when
 * asked to ({@code add_special_tokens}), and leaves them alone otherwise. With offsets
 * ({@link #process(TokenSpans, boolean, String)}) the tokens it adds get the empty span (0, 0), as
 * in the Rust library, and ByteLevel / RobertaProcessing with {@code trim_offsets} trim the
 * whitespace off the spans of the others.
 */
public interface PostProcessor {
    int[] process(int[] ids, boolean addSpecialTokens);

    /** {@link #process(int[], boolean)} with spans; {@code text} is the input the spans point into. */
    TokenSpans process(TokenSpans tokens, boolean addSpecialTokens, String text);

    /** Whether {@link #process(TokenSpans, boolean, String)} reads the token strings (only to trim offsets). */
    default boolean readsTokenStrings() {
        return false;
    }

    /** How many ids {@link #process} adds with special tokens on (truncation leaves room for them). */
    default int addedTokens() {
        return process(new int[0], true).length;
    }

    /**
     * Ids with their spans in the input and, when a processor needs them, their token strings:
     * the vocabulary's string for the model's tokens, the matched text for added tokens found in
     * the input (the Rust library's {@code Token.value}).
     */
    record TokenSpans(int[] ids, int[] starts, int[] ends, String[] tokens) {
        /** {@code prefix} and {@code suffix} tokens with empty spans around these. */
        TokenSpans around(int[] prefix, String[] prefixTokens, int[] suffix, String[] suffixTokens) {
            int p = prefix.length, n = ids.length, total = p + n + suffix.length;
            int[] i = new int[total], s = new int[total], e = new int[total];
            System.arraycopy(prefix, 0, i, 0, p);
            System.arraycopy(ids, 0, i, p, n);
            System.arraycopy(suffix, 0, i, p + n, suffix.length);
            System.arraycopy(starts, 0, s, p, n);
            System.arraycopy(ends, 0, e, p, n);
            String[] t = null;
            if (tokens != null) {
                t = new String[total];
                System.arraycopy(prefixTokens, 0, t, 0, p);
                System.arraycopy(tokens, 0, t, p, n);
                System.arraycopy(suffixTokens, 0, t, p + n, suffix.length);
            }
            return new TokenSpans(i, s, e, t);
        }
    }

    /** Applies each in order. */
    record Sequence(List<PostProcessor> steps) implements PostProcessor {
        @Override
        public int[] process(int[] ids, boolean addSpecialTokens) {
            for (PostProcessor p : steps) ids = p.process(ids, addSpecialTokens);
            return ids;
        }

        @Override
        public TokenSpans process(TokenSpans tokens, boolean addSpecialTokens, String text) {
            for (PostProcessor p : steps) tokens = p.process(tokens, addSpecialTokens, text);
            return tokens;
        }

        @Override
        public boolean readsTokenStrings() {
            return steps.stream().anyMatch(PostProcessor::readsTokenStrings);
        }
    }

    /** ByteLevel's processor: ids pass unchanged; with {@code trimOffsets} the spans lose their whitespace. */
    record ByteLevel(boolean addPrefixSpace, boolean trimOffsets) implements PostProcessor {
        @Override
        public int[] process(int[] ids, boolean addSpecialTokens) {
            return ids;
        }

        @Override
        public TokenSpans process(TokenSpans tokens, boolean addSpecialTokens, String text) {
            if (trimOffsets) OffsetTrimming.trim(tokens, addPrefixSpace, text);
            return tokens;
        }

        @Override
        public boolean readsTokenStrings() {
            return trimOffsets;
        }
    }

    /**
     * {@code cls A sep} (BertProcessing and RobertaProcessing agree for one sequence's ids);
     * RobertaProcessing also trims offsets like ByteLevel when {@code trimOffsets}.
     */
    record ClsSep(int cls, String clsToken, int sep, String sepToken, boolean trimOffsets, boolean addPrefixSpace)
            implements PostProcessor {
        @Override
        public int[] process(int[] ids, boolean addSpecialTokens) {
            if (!addSpecialTokens) return ids;
            int[] out = new int[ids.length + 2];
            out[0] = cls;
            System.arraycopy(ids, 0, out, 1, ids.length);
            out[ids.length + 1] = sep;
            return out;
        }

        @Override
        public TokenSpans process(TokenSpans tokens, boolean addSpecialTokens, String text) {
            if (trimOffsets) OffsetTrimming.trim(tokens, addPrefixSpace, text);
            if (!addSpecialTokens) return tokens;
            return tokens.around(new int[] {cls}, new String[] {clsToken}, new int[] {sep}, new String[] {sepToken});
        }

        @Override
        public boolean readsTokenStrings() {
            return trimOffsets;
        }
    }

    /**
     * TemplateProcessing's single-sequence template: {@code prefix} ids, the sequence,
     * {@code suffix} ids (a template names the sequence $A once), with their token strings.
     */
    record Template(int[] prefix, String[] prefixTokens, int[] suffix, String[] suffixTokens) implements PostProcessor {
        @Override
        public int[] process(int[] ids, boolean addSpecialTokens) {
            if (!addSpecialTokens || (prefix.length == 0 && suffix.length == 0)) return ids;
            int[] out = new int[prefix.length + ids.length + suffix.length];
            System.arraycopy(prefix, 0, out, 0, prefix.length);
            System.arraycopy(ids, 0, out, prefix.length, ids.length);
            System.arraycopy(suffix, 0, out, prefix.length + ids.length, suffix.length);
            return out;
        }

        @Override
        public TokenSpans process(TokenSpans tokens, boolean addSpecialTokens, String text) {
            if (!addSpecialTokens || (prefix.length == 0 && suffix.length == 0)) return tokens;
            return tokens.around(prefix, prefixTokens, suffix, suffixTokens);
        }
    }
}
