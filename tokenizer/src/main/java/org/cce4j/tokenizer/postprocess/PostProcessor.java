package org.cce4j.tokenizer.postprocess;

import java.util.List;

/**
 * A tokenizer.json post-processor, for one sequence: adds the special tokens around the ids when
 * asked to ({@code add_special_tokens}), and leaves them alone otherwise.
 */
public interface PostProcessor {
    int[] process(int[] ids, boolean addSpecialTokens);

    /** How many ids {@link #process} adds with special tokens on (truncation leaves room for them). */
    default int addedTokens() {
        return process(new int[0], true).length;
    }

    /** Applies each in order. */
    record Sequence(List<PostProcessor> steps) implements PostProcessor {
        @Override
        public int[] process(int[] ids, boolean addSpecialTokens) {
            for (PostProcessor p : steps) ids = p.process(ids, addSpecialTokens);
            return ids;
        }
    }

    /** ByteLevel's processor only trims offsets; ids pass unchanged. */
    record Identity() implements PostProcessor {
        @Override
        public int[] process(int[] ids, boolean addSpecialTokens) {
            return ids;
        }
    }

    /** {@code cls A sep} (BertProcessing and RobertaProcessing agree for one sequence). */
    record ClsSep(int cls, int sep) implements PostProcessor {
        @Override
        public int[] process(int[] ids, boolean addSpecialTokens) {
            if (!addSpecialTokens) return ids;
            int[] out = new int[ids.length + 2];
            out[0] = cls;
            System.arraycopy(ids, 0, out, 1, ids.length);
            out[ids.length + 1] = sep;
            return out;
        }
    }

    /**
     * TemplateProcessing's single-sequence template: {@code prefix} ids, the sequence,
     * {@code suffix} ids (a template names the sequence $A once).
     */
    record Template(int[] prefix, int[] suffix) implements PostProcessor {
        @Override
        public int[] process(int[] ids, boolean addSpecialTokens) {
            if (!addSpecialTokens || (prefix.length == 0 && suffix.length == 0)) return ids;
            int[] out = new int[prefix.length + ids.length + suffix.length];
            System.arraycopy(prefix, 0, out, 0, prefix.length);
            System.arraycopy(ids, 0, out, prefix.length, ids.length);
            System.arraycopy(suffix, 0, out, prefix.length + ids.length, suffix.length);
            return out;
        }
    }
}
