package org.cce4j.checkpoints.safetensors;

import org.cce4j.core.tensor.DType;
import org.cce4j.core.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Writer → reader round trips over every dtype of the format, scalars, empty tensors and metadata. */
class RoundTripTest {
    @TempDir
    Path dir;

    private static MemorySegment randomBytes(long n, long seed) {
        byte[] b = new byte[(int) n];
        new Random(seed).nextBytes(b);
        return MemorySegment.ofArray(b);
    }

    @Test
    void everyDtypeRoundTripsBitExactly() throws IOException {
        List<TensorEntry> entries = new ArrayList<>();
        Map<String, MemorySegment> expected = new LinkedHashMap<>();
        int i = 0;
        for (SafetensorsDType t : SafetensorsDType.values()) {
            long[] shape = {2, 3, 4};
            MemorySegment data = randomBytes(t.byteCount(24), i++);
            entries.add(TensorEntry.raw("t_" + t.name().toLowerCase(), t, shape, data));
            expected.put("t_" + t.name().toLowerCase(), data);
        }
        entries.add(TensorEntry.of("scalar", Tensor.scalar(3.5f)));
        entries.add(TensorEntry.raw("empty", SafetensorsDType.F16, new long[] {0, 7}, MemorySegment.ofArray(new byte[0])));
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        meta.put("note", "ünïcode \"quoted\" \n newline");
        Path f = dir.resolve("all.safetensors");
        SafetensorsWriter.write(f, meta, entries);

        try (SafetensorsFile st = SafetensorsFile.open(f)) {
            assertEquals(meta, st.metadata());
            assertEquals(entries.size(), st.tensors().size());
            for (var e : expected.entrySet()) {
                assertEquals(-1, st.bytes(e.getKey()).mismatch(e.getValue()), e.getKey());
                assertArrayEquals(new long[] {2, 3, 4}, st.info(e.getKey()).shape());
            }
            assertEquals(3.5f, st.tensor("scalar").getFloat(0));
            assertEquals(0, st.tensor("scalar").rank());
            assertArrayEquals(new long[] {0, 7}, st.tensor("empty").shape());
            assertEquals(0, st.dataStart() % 8, "header padded to a multiple of 8");
            assertThrows(org.cce4j.core.InvalidInputException.class, () -> st.tensor("t_f4"));
        }
        try (var files = Files.list(dir)) {
            assertEquals(List.of(f), files.toList(), "no temporary file left behind");
        }
    }

    @Test
    void layoutIsDescendingDtypeThenName() throws IOException {
        List<TensorEntry> entries = List.of(
                TensorEntry.of("b", Tensor.of(new float[] {1, 2})),
                TensorEntry.of("a", Tensor.of(new int[] {1}, 1)),
                TensorEntry.of("c", Tensor.of(new long[] {7}, 1)),
                TensorEntry.of("a2", Tensor.of(new float[] {5}, 1)));
        Path f = dir.resolve("order.safetensors");
        SafetensorsWriter.write(f, Map.of(), entries);
        byte[] all = Files.readAllBytes(f);
        long n = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        String header = new String(all, 8, (int) n, StandardCharsets.UTF_8);
        // What safetensors' Rust writer produces for the same dict: I64 first, then F32 by name, then I32.
        String expected = "{\"c\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]},"
                + "\"a2\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]},"
                + "\"a\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[20,24]}}";
        assertEquals(expected, header.stripTrailing());
        assertEquals(0, n % 8);
        assertTrue(header.endsWith(" ") || expected.length() % 8 == 0);
    }

    @Test
    void convertsWhileWriting() throws IOException {
        float[] v = new float[10_000_019];
        Random r = new Random(1);
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
        Tensor t = Tensor.of(v, v.length);
        Path f = dir.resolve("bf16.safetensors");
        SafetensorsWriter.write(f, Map.of(), List.of(TensorEntry.of("w", t, DType.BF16)));
        try (SafetensorsFile st = SafetensorsFile.open(f); Tensor back = st.load("w", DType.F32)) {
            Tensor view = st.tensor("w");
            assertEquals(DType.BF16, view.dtype());
            for (int i = 0; i < v.length; i += 9973) {
                assertEquals(org.cce4j.core.tensor.FloatFormats.f32ToBf16(v[i]), view.data().get(ValueLayout.JAVA_SHORT_UNALIGNED, 2L * i));
                assertEquals(org.cce4j.core.tensor.FloatFormats.bf16ToF32(org.cce4j.core.tensor.FloatFormats.f32ToBf16(v[i])), back.getFloat(i));
            }
        }
    }

    @Test
    void viewsDieWithTheFile() throws IOException {
        Path f = dir.resolve("v.safetensors");
        SafetensorsWriter.write(f, Map.of(), List.of(TensorEntry.of("x", Tensor.of(new float[] {1, 2, 3}))));
        Tensor view;
        try (SafetensorsFile st = SafetensorsFile.open(f)) {
            view = st.tensor("x");
            assertEquals(2f, view.getFloat(1));
        }
        assertThrows(IllegalStateException.class, () -> view.getFloat(1));
    }

    @Test
    void writerRejectsDuplicateNames() {
        var e = TensorEntry.of("x", Tensor.of(new float[] {1}));
        assertThrows(IllegalArgumentException.class, () -> SafetensorsWriter.write(dir.resolve("d.safetensors"), Map.of(), List.of(e, e)));
    }
}
