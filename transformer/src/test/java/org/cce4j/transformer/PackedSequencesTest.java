package org.cce4j.transformer;

import org.cce4j.checkpoints.hf.HfCheckpoint;
import org.cce4j.core.loss.CceImpl;
import org.cce4j.core.tensor.Tensor;
import org.cce4j.transformer.backend.Backend;
import org.cce4j.transformer.backend.CpuBackend;
import org.cce4j.transformer.model.Batch;
import org.cce4j.transformer.model.ParameterStore;
import org.cce4j.transformer.model.TransformerModel;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Packing: two documents in one row, with positions restarting at the second and attention kept
 * inside each, give the logits of the two documents run alone, and (with the label at the
 * boundary ignored) the token-weighted mean of their losses.
 */
class PackedSequencesTest {

    @ParameterizedTest
    @ValueSource(strings = {"llama", "gemma2", "qwen3"})
    void aPackedRowEqualsItsDocumentsRunAlone(String name) throws Exception {
        check(name, new CpuBackend(), 1e-5f);
    }

    /** The packed row against its documents run alone on {@code be}: logits within {@code tol}·max(1, |x|), loss within tol relative. */
    static void check(String name, Backend be, float tol) throws Exception {
        Path folder = HfReferenceTest.ROOT.resolve(name);
        int[] a = {5, 17, 3, 88, 41}, c = {9, 60, 2, 33};
        try (HfCheckpoint ckpt = HfCheckpoint.open(folder);
             TransformerModel model = new TransformerModel(ckpt.config(), ParameterStore.load(ckpt.config(), ckpt.weights(), be), be)) {
            int v = ckpt.config().vocabSize();
            float[] logitsA, logitsC, logitsPacked;
            float lossA, lossC, lossPacked;
            try (TransformerModel.Pass p = model.forward(Batch.causal(1, a.length, a)); Tensor l = model.logits(p);
                 Tensor h = be.downloadF32(l)) {
                logitsA = h.toFloatArray();
                lossA = model.loss(p, CceImpl.CCE_EXACT, false);
            }
            try (TransformerModel.Pass p = model.forward(Batch.causal(1, c.length, c)); Tensor l = model.logits(p);
                 Tensor h = be.downloadF32(l)) {
                logitsC = h.toFloatArray();
                lossC = model.loss(p, CceImpl.CCE_EXACT, false);
            }
            int n = a.length + c.length;
            int[] ids = new int[n], pos = new int[n], docs = new int[n];
            long[] labels = new long[n];
            for (int i = 0; i < n; i++) {
                boolean first = i < a.length;
                ids[i] = first ? a[i] : c[i - a.length];
                pos[i] = first ? i : i - a.length;
                docs[i] = first ? 0 : 1;
                labels[i] = i == a.length ? -100 : ids[i]; // the first token of a document is predicted by nothing
            }
            Batch packed = new Batch(1, n, ids, pos, labels, docs, null);
            try (TransformerModel.Pass p = model.forward(packed); Tensor l = model.logits(p); Tensor h = be.downloadF32(l)) {
                logitsPacked = h.toFloatArray();
                lossPacked = model.loss(p, CceImpl.CCE_EXACT, false);
            }
            for (int i = 0; i < n * v; i++) {
                int row = i / v;
                float expected = row < a.length ? logitsA[i] : logitsC[i - a.length * v];
                assertEquals(expected, logitsPacked[i], tol * Math.max(1, Math.abs(expected)), name + " on " + be + ": logit " + i);
            }
            float expectedLoss = (lossA * (a.length - 1) + lossC * (c.length - 1)) / (n - 2);
            assertEquals(expectedLoss, lossPacked, tol * expectedLoss, name + " on " + be + ": loss");
        }
    }
}
