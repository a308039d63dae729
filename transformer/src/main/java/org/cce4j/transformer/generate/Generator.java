package org.cce4j.transformer.generate;

import org.cce4j.transformer.model.KvCache;
import org.cce4j.transformer.model.TransformerModel;

import java.util.Arrays;
import java.util.Set;
import java.util.function.IntConsumer;

/**
 * Generation for one prompt, as transformers' {@code model.generate(input_ids, max_new_tokens=N, ...)}
 * does it for a batch of one: the prompt is run once (prefill into a {@link KvCache} sized for the
 * prompt and N tokens), then each chosen token is run alone; it stops after a stop token (kept in the
 * output) or after N tokens, and the last token chosen is never run through the model.
 */
public final class Generator {
    private Generator() {}

    /** Why generation ended. */
    public enum Stop { STOP_TOKEN, MAX_NEW_TOKENS }

    /** The generated tokens (the continuation only, without the prompt) and why it ended. */
    public record Generated(int[] tokens, Stop stop) {}

    /**
     * @param maxNewTokens at most this many tokens are generated (at least 1)
     * @param stopTokens   the tokens that end generation ({@link StopTokens})
     * @param onToken      sees each token as soon as it is chosen (streaming), or null
     */
    public static Generated generate(TransformerModel model, int[] prompt, int maxNewTokens, SamplingOptions sampling,
                                     Set<Integer> stopTokens, IntConsumer onToken) {
        if (prompt.length == 0) throw new IllegalArgumentException("an empty prompt: generation needs at least one token");
        if (maxNewTokens < 1) throw new IllegalArgumentException("max new tokens must be positive, got " + maxNewTokens);
        Sampler sampler = new Sampler(sampling);
        int[] out = new int[maxNewTokens];
        try (KvCache cache = model.newCache(Math.addExact(prompt.length, maxNewTokens))) {
            float[] logits = model.extend(cache, prompt);
            for (int n = 0; ; ) {
                int token = sampler.next(logits);
                out[n++] = token;
                if (onToken != null) onToken.accept(token);
                if (stopTokens.contains(token)) return new Generated(Arrays.copyOf(out, n), Stop.STOP_TOKEN);
                if (n == maxNewTokens) return new Generated(out, Stop.MAX_NEW_TOKENS);
                logits = model.extend(cache, new int[] {token});
            }
        }
    }
}
