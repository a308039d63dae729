package org.cce4j.transformer.generate;

import org.cce4j.core.InvalidInputException;

/**
 * How the next token is chosen from the logits, as transformers' generate does it: temperature 0 is
 * greedy decoding (do_sample=False: the first largest logit; top-k and top-p then do not apply);
 * otherwise sampling after the warpers, in transformers' order: temperature, top-k, top-p.
 *
 * @param temperature logits are divided by it (0: greedy)
 * @param topK        keep the k largest logits (ties with the k-th kept too); 0: off. transformers'
 *                    own default is 50 when generation_config.json says nothing; ours is off
 * @param topP        nucleus: keep the smallest set of most likely tokens whose probability reaches
 *                    topP (the most likely always kept); 1: off
 * @param seed        seeds {@link SplitMix64}, one draw per sampled token
 */
public record SamplingOptions(double temperature, int topK, double topP, long seed) {

    public SamplingOptions {
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new InvalidInputException("temperature must be 0 (greedy) or positive, got " + temperature);
        }
        if (topK < 0) throw new InvalidInputException("top-k must be 0 (off) or positive, got " + topK);
        if (!(topP > 0 && topP <= 1)) throw new InvalidInputException("top-p must be in (0, 1], got " + topP);
    }

    public static SamplingOptions greedy() {
        return new SamplingOptions(0, 0, 1, 0);
    }

    public boolean isGreedy() {
        return temperature == 0;
    }
}
