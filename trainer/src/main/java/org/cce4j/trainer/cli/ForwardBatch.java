package org.cce4j.trainer.cli;

import org.cce4j.checkpoints.safetensors.SafetensorsFile;
import org.cce4j.core.InvalidInputException;
import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Shapes;
import org.cce4j.core.tensor.Tensor;
import org.cce4j.transformer.model.Batch;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * The batch {@code forward} reads, with transformers' meaning for each tensor: input_ids [B,T];
 * labels [B,T] (optional, default input_ids; -100 is not predicted; position t predicts label t+1);
 * attention_mask [B,T] (optional, 1 for a token, 0 for padding, which no token attends to); positions
 * 0..T-1 in every row, as transformers gives without position_ids. Everything is checked before the
 * model runs, each problem one line naming the tensor and the position.
 */
final class ForwardBatch {
    /** The label transformers' loss skips. */
    static final long IGNORE = -100;

    private ForwardBatch() {}

    static Batch read(SafetensorsFile in, Path file) {
        Tensor inputIds = in.tensor("input_ids");
        if (inputIds.rank() != 2 || !isInteger(inputIds.dtype())) {
            throw new InvalidInputException(file + ": input_ids must be an int64 (or int32) tensor of shape [B, T], got " + inputIds);
        }
        if (inputIds.numel() == 0) throw new InvalidInputException(file + ": input_ids is empty");
        int b = (int) inputIds.dim(0), t = (int) inputIds.dim(1);
        int n = b * t;
        int[] ids = new int[n];
        int[] positions = new int[n];
        for (int i = 0; i < n; i++) {
            long id = inputIds.getLong(i);
            if (id < 0 || id > Integer.MAX_VALUE) throw new InvalidInputException(file + ": input_ids holds " + id + " at position " + i);
            ids[i] = (int) id;
            positions[i] = i % t;
        }
        long[] labels = new long[n];
        if (in.contains("labels")) {
            Tensor l = sameShape(in.tensor("labels"), "labels", inputIds, file);
            for (int i = 0; i < n; i++) {
                labels[i] = l.getLong(i);
                if (labels[i] < 0 && labels[i] != IGNORE) {
                    throw new InvalidInputException(file + ": labels holds " + labels[i] + " at position " + i + " (a token id, or -100 for none)");
                }
            }
        } else {
            for (int i = 0; i < n; i++) labels[i] = ids[i];
        }
        boolean[] keyMask = null;
        if (in.contains("attention_mask")) {
            Tensor m = sameShape(in.tensor("attention_mask"), "attention_mask", inputIds, file);
            boolean padded = false;
            boolean[] mask = new boolean[n];
            for (int i = 0; i < n; i++) {
                long v = m.getLong(i);
                if (v != 0 && v != 1) throw new InvalidInputException(file + ": attention_mask holds " + v + " at position " + i + " (1 for a token, 0 for padding)");
                mask[i] = v == 1;
                padded |= !mask[i];
            }
            for (int r = 0; r < b; r++) {
                boolean any = false;
                for (int k = 0; k < t; k++) any |= mask[r * t + k];
                if (!any) throw new InvalidInputException(file + ": attention_mask row " + r + " is all padding");
            }
            if (padded) keyMask = mask;
        }
        Batch batch = new Batch(b, t, ids, positions, labels, null, keyMask);
        if (predicted(batch) == 0) {
            throw new InvalidInputException(file + ": labels leave nothing to predict (every label after a row's first is -100)");
        }
        return batch;
    }

    /** Input ids and labels must be in the model's vocabulary. */
    static void requireIdsBelow(Batch batch, int vocab, Path file) {
        for (int i = 0; i < batch.tokens(); i++) {
            if (batch.inputIds()[i] >= vocab) {
                throw new InvalidInputException(file + ": token id " + batch.inputIds()[i] + " at position " + i + " is outside [0, " + vocab + ")");
            }
            if (batch.labels()[i] >= vocab) {
                throw new InvalidInputException(file + ": label " + batch.labels()[i] + " at position " + i + " is outside [0, " + vocab + ")");
            }
        }
    }

    /** The tokens the loss averages over: positions t < T-1 whose next label is not -100. */
    static long predicted(Batch batch) {
        long count = 0;
        int t = batch.seqLen();
        for (int i = 0; i < batch.tokens(); i++) {
            if (i % t != 0 && batch.labels()[i] != IGNORE) count++;
        }
        return count;
    }

    /** labels and attention_mask: int64 or int32 (the mask may be bool), shaped like input_ids. */
    private static Tensor sameShape(Tensor x, String name, Tensor inputIds, Path file) {
        boolean typeOk = isInteger(x.dtype()) || (x.dtype() == DType.BOOL && name.equals("attention_mask"));
        if (!typeOk || !Arrays.equals(x.shape(), inputIds.shape())) {
            throw new InvalidInputException(file + ": " + name + " must be an int64 (or int32) tensor shaped like input_ids "
                    + Shapes.toString(inputIds.shape()) + ", got " + x);
        }
        return x;
    }

    private static boolean isInteger(DType d) {
        return d == DType.I64 || d == DType.I32;
    }
}
