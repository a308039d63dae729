package org.cce4j.examples;

import org.cce4j.core.loss.CceForward;
import org.cce4j.core.loss.CceGradients;
import org.cce4j.core.loss.CceImpl;
import org.cce4j.core.loss.CceInputs;
import org.cce4j.core.loss.CceOptions;
import org.cce4j.core.loss.LinearCrossEntropy;
import org.cce4j.core.tensor.Device;
import org.cce4j.core.tensor.Tensor;

import java.util.Locale;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * cce-core's loss called from someone else's model code, as README's "use it as a library" shows it:
 * the model hands over its last hidden states and its head's weight, and gets the loss and the two
 * gradients back, without a [tokens, vocabulary] logit matrix. {@code ./cce4j example LossAsALibrary}
 */
public final class LossAsALibrary {
    private LossAsALibrary() {}

    static final String USAGE = """
            usage: ./cce4j example LossAsALibrary
              The CCE loss called from model code, as README shows it: prints the loss and the gradients' shapes.
            """;

    public static void main(String[] args) {
        if (ExampleArgs.parse(args, USAGE, Set.of(), Set.of(), 0).helpRequested()) return;
        int b = 2, t = 64, d = 128, v = 32_000;
        SplittableRandom rng = new SplittableRandom(0);
        float[] h = new float[b * t * d], w = new float[v * d];
        long[] y = new long[b * t];
        for (int i = 0; i < h.length; i++) h[i] = (float) rng.nextGaussian();
        for (int i = 0; i < w.length; i++) w[i] = (float) (rng.nextGaussian() * 0.02);
        for (int i = 0; i < y.length; i++) y[i] = i % t < 8 ? -100 : rng.nextInt(v);   // a prompt of 8 ignored tokens per row

        try (Tensor hidden = Tensor.of(h, b, t, d);        // your model's final hidden states [B, T, D]
             Tensor lmHead = Tensor.of(w, v, d);           // your head's weight [V, D]
             Tensor labels = Tensor.of(y, b, t)) {         // unshifted labels, -100 = not trained on
            LinearCrossEntropy loss = LinearCrossEntropy.create(CceImpl.CCE, Device.CPU);   // or new Device.Cuda(0)
            CceOptions options = CceOptions.defaults().withShift(1);                    // next-token prediction
            try (CceForward f = loss.forward(CceInputs.of(hidden, lmHead, labels), options);
                 CceGradients g = loss.backward(f, 1f)) {
                Tensor dHidden = g.dEmbeddings();          // [B, T, D] f32: continue your backward from here
                Tensor dHead = g.dClassifier();            // [V, D] f32
                System.out.printf(Locale.ROOT, "loss %.5f (ln V = %.5f); dHidden %s, dHead %s%n",
                        f.lossValue(), Math.log(v), dHidden, dHead);
            }
        }
    }
}
