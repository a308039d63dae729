package org.cce4j.checkpoints.state;

import org.cce4j.checkpoints.AtomicFiles;
import org.cce4j.checkpoints.safetensors.SafetensorsWriter;
import org.cce4j.checkpoints.safetensors.TensorEntry;
import org.cce4j.core.InvalidInputException;
import org.cce4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Training states: round trip, atomic replacement, and files that are not training states. */
class TrainingStateFileTest {
    @TempDir
    Path dir;

    private static TrainingState state(long step) {
        return new TrainingState(step, new TrainingState.DataPosition(2, 12345), new long[] {1, Long.MIN_VALUE, -1},
                Map.of("lr", "1e-4"), Map.of("exp_avg.w", Tensor.of(new float[] {1, 2}, 2), "exp_avg_sq.w", Tensor.of(new float[] {3, 4}, 2)));
    }

    @Test
    void roundTrip() throws IOException {
        Path f = dir.resolve("state.safetensors");
        TrainingStateFile.write(f, state(7));
        try (TrainingStateFile back = TrainingStateFile.open(f)) {
            TrainingState s = back.state();
            assertEquals(state(7), s);
            assertArrayEquals(new long[] {1, Long.MIN_VALUE, -1}, s.rngState());
            assertEquals(4f, s.tensors().get("exp_avg_sq.w").getFloat(1));
            assertEquals("1e-4", s.properties().get("lr"));
        }
    }

    @Test
    void aFailedWriteLeavesTheOldStateIntact() throws IOException {
        Path f = dir.resolve("state.safetensors");
        TrainingStateFile.write(f, state(1));
        byte[] before = Files.readAllBytes(f);
        assertThrows(IOException.class, () -> AtomicFiles.write(f, ch -> {
            ch.write(java.nio.ByteBuffer.wrap(new byte[] {1, 2, 3}));
            throw new IOException("disk full (simulated)");
        }));
        assertArrayEquals(before, Files.readAllBytes(f));
        try (var s = Files.list(dir)) {
            assertEquals(List.of(f), s.toList(), "the temporary file is removed");
        }
        TrainingStateFile.write(f, state(2));
        try (TrainingStateFile back = TrainingStateFile.open(f)) {
            assertEquals(2, back.state().step());
        }
    }

    @Test
    void otherFilesAreRejected() throws IOException {
        Path f = dir.resolve("x.safetensors");
        SafetensorsWriter.write(f, Map.of("format", "pt"), List.of(TensorEntry.of("w", Tensor.of(new float[] {1}, 1))));
        assertTrue(assertThrows(InvalidInputException.class, () -> TrainingStateFile.open(f)).getMessage().contains("not a cce4j training state"));
        SafetensorsWriter.write(f, Map.of("format", "cce4j-training-state", "cce4j.training_state", "{\"version\":1,\"step\":-3}"), List.of());
        assertTrue(assertThrows(InvalidInputException.class, () -> TrainingStateFile.open(f)).getMessage().contains("step must be a non-negative integer"));
        SafetensorsWriter.write(f, Map.of("format", "cce4j-training-state", "cce4j.training_state", "{not json"), List.of());
        assertTrue(assertThrows(InvalidInputException.class, () -> TrainingStateFile.open(f)).getMessage().contains("not valid JSON"));
    }
}
