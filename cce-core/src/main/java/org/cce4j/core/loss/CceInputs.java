package org.cce4j.core.loss;

import org.cce4j.core.tensor.Tensor;

/**
 * The tensors of one loss evaluation.
 * <pre>
 *   embeddings  E  [..., D]   f32 / bf16 / f16     (N = product of the leading dimensions)
 *   classifier  C  [V, D]     f32 / bf16 / f16
 *   targets     t  [...]      int32 / int64, in [0, V) or the ignore index
 *   bias        b  [V]        optional, float
 *   tokenWeights w [...]      optional, float, aligned with targets (shifted with them)
 * </pre>
 */
public record CceInputs(Tensor embeddings, Tensor classifier, Tensor targets, Tensor bias, Tensor tokenWeights) {

    public static CceInputs of(Tensor embeddings, Tensor classifier, Tensor targets) {
        return new CceInputs(embeddings, classifier, targets, null, null);
    }

    public CceInputs withBias(Tensor b) {
        return new CceInputs(embeddings, classifier, targets, b, tokenWeights);
    }

    public CceInputs withTokenWeights(Tensor w) {
        return new CceInputs(embeddings, classifier, targets, bias, w);
    }
}
