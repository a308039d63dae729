package org.cce4j.checkpoints.safetensors;

import org.cce4j.core.InvalidInputException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A corpus of malformed files, each generated here and each rejected with the message of the
 * rule it breaks, before any tensor is touched, without allocating more than the file holds
 * (measured with the thread's allocation counter) and without hanging (a timeout guards the run).
 */
class MalformedFilesTest {
    @TempDir
    static Path dir;

    /** One malformed file: how to build it and a fragment the error message must contain. */
    record Case(String name, Builder builder, String expected) {
        @Override
        public String toString() {
            return name;
        }
    }

    @FunctionalInterface
    interface Builder {
        Path build(Path file) throws IOException;
    }

    private static String entry(String name, String dtype, String shape, long b, long e) {
        return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" + b + "," + e + "]}";
    }

    private static Case json(String name, String header, int data, String expected) {
        return new Case(name, f -> RawFiles.write(f, header, data), expected);
    }

    static List<Case> corpus() {
        List<Case> c = new ArrayList<>();
        String ok = entry("a", "F32", "[2,2]", 0, 16);
        c.add(new Case("empty file", f -> Files.write(f, new byte[0]), "fewer than the 8-byte header length"));
        c.add(new Case("5 bytes", f -> Files.write(f, new byte[5]), "fewer than the 8-byte header length"));
        c.add(new Case("length past end", f -> RawFiles.writeWithLength(f, 500, "{}".getBytes(), 0), "runs past the end of the file"));
        c.add(new Case("length off by one", f -> RawFiles.writeWithLength(f, 3, "{}".getBytes(), 0), "runs past the end of the file"));
        c.add(new Case("huge length", f -> RawFiles.writeWithLength(f, 1L << 62, "{}".getBytes(), 0), "exceeds the 100000000-byte limit"));
        c.add(new Case("length with top bit", f -> RawFiles.writeWithLength(f, -1L, "{}".getBytes(), 0), "header length 18446744073709551615 exceeds"));
        c.add(new Case("length just over limit", f -> RawFiles.writeWithLength(f, 100_000_001L, "{}".getBytes(), 0), "exceeds the 100000000-byte limit"));
        c.add(new Case("zero-length header", f -> RawFiles.writeWithLength(f, 0, new byte[0], 0), "header must be a JSON object, found the end of the header"));
        c.add(json("garbage json", "{abc", 0, "header is not valid JSON"));
        c.add(json("binary garbage", "\u0001\u0002\u0003\u0004", 0, "header is not valid JSON"));
        c.add(json("unterminated object", "{\"a\":{\"dtype\":\"F32\"", 0, "header is not valid JSON"));
        c.add(json("array header", "[1,2]", 0, "header must be a JSON object, found an array"));
        c.add(json("string header", "\"x\"", 0, "header must be a JSON object, found a string"));
        c.add(json("null header", "null", 0, "header must be a JSON object, found null"));
        c.add(json("number header", "42", 0, "header must be a JSON object, found an integer"));
        c.add(new Case("invalid utf-8", f -> RawFiles.write(f, new byte[] {'{', '"', (byte) 0xff, (byte) 0xfe, '"', ':', '1', '}'}, 0), "not valid UTF-8"));
        c.add(json("trailing garbage", "{" + ok + "} xyz", 16, "header is not valid JSON: Unrecognized token 'xyz'"));
        c.add(json("trailing number", "{" + ok + "} 5", 16, "found an integer after the header's JSON object"));
        c.add(json("two objects", "{" + ok + "}{}", 16, "after the header's JSON object"));
        c.add(json("duplicate tensor", "{" + ok + "," + entry("a", "F32", "[2,2]", 16, 32) + "}", 32, "duplicate tensor name 'a'"));
        c.add(json("duplicate field", "{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "duplicate key 'dtype' in the entry of tensor 'a'"));
        c.add(json("duplicate metadata key", "{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}," + ok + "}", 16, "duplicate key 'k' in __metadata__"));
        c.add(json("duplicate metadata", "{\"__metadata__\":{},\"__metadata__\":{}}", 0, "duplicate tensor name '__metadata__'"));
        c.add(json("unknown dtype", "{" + entry("w", "F33", "[2]", 0, 8) + "}", 8, "tensor 'w': unknown dtype 'F33'"));
        c.add(json("lower-case dtype", "{" + entry("w", "f32", "[2]", 0, 8) + "}", 8, "tensor 'w': unknown dtype 'f32'"));
        c.add(json("dtype not string", "{\"w\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "tensor 'w': dtype must be a string"));
        c.add(json("negative dim", "{" + entry("w", "F32", "[-2]", 0, 8) + "}", 8, "tensor 'w': shape value -2 is negative"));
        c.add(json("float dim", "{" + entry("w", "F32", "[2.0]", 0, 8) + "}", 8, "tensor 'w': shape must hold non-negative integers, found a non-integer number"));
        c.add(json("string dim", "{" + entry("w", "F32", "[\"2\"]", 0, 8) + "}", 8, "tensor 'w': shape must hold non-negative integers, found a string"));
        c.add(json("NaN dim", "{" + entry("w", "F32", "[NaN]", 0, 8) + "}", 8, "header is not valid JSON"));
        c.add(json("shape not array", "{" + entry("w", "F32", "2", 0, 8) + "}", 8, "tensor 'w': shape must be an array"));
        c.add(json("shape overflow", "{" + entry("w", "F32", "[4294967296,4294967296]", 0, 8) + "}", 8, "tensor 'w': shape [4294967296, 4294967296] of F32 overflows"));
        c.add(json("byte count overflow", "{" + entry("w", "F64", "[2305843009213693952]", 0, 8) + "}", 8, "overflows a 64-bit byte count"));
        c.add(json("dim beyond 64 bits", "{" + entry("w", "F32", "[123456789012345678901234567890]", 0, 8) + "}", 8, "does not fit in 64 bits"));
        c.add(json("rank too high", "{" + entry("w", "U8", "[" + "1,".repeat(64) + "1]", 0, 1) + "}", 1, "shape has more than 64 entries"));
        c.add(json("size mismatch", "{" + entry("w", "F32", "[2,2]", 0, 12) + "}", 12, "shape [2, 2] of F32 needs 16 bytes but data_offsets [0, 12] hold 12"));
        c.add(json("size mismatch large", "{" + entry("w", "BF16", "[3]", 0, 8) + "}", 8, "needs 6 bytes but data_offsets [0, 8] hold 8"));
        c.add(json("partial byte F4", "{" + entry("w", "F4", "[3]", 0, 2) + "}", 2, "is not a whole number of bytes"));
        c.add(json("partial byte F6", "{" + entry("w", "F6_E2M3", "[2]", 0, 2) + "}", 2, "is not a whole number of bytes"));
        c.add(json("offsets reversed", "{" + entry("w", "F32", "[0]", 8, 4) + "}", 8, "data_offsets [8, 4] end before they begin"));
        c.add(json("one offset", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4]}}", 4, "exactly two integers"));
        c.add(json("three offsets", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 4, "data_offsets has more than 2 entries"));
        c.add(json("negative offset", "{" + entry("w", "F32", "[1]", -4, 0) + "}", 4, "data_offsets value -4 is negative"));
        c.add(json("out of range", "{" + entry("w", "F32", "[4]", 0, 16) + "}", 8, "run past the end of the data section (8 bytes)"));
        c.add(json("offset far out of range", "{" + entry("w", "U8", "[16]", 1L << 40, (1L << 40) + 16) + "}", 16, "run past the end of the data section"));
        c.add(json("truncated data", "{" + ok + "," + entry("b", "F32", "[4]", 16, 32) + "}", 20, "'b': data_offsets [16, 32] run past the end of the data section (20 bytes)"));
        c.add(json("overlap", "{" + entry("a", "F32", "[4]", 0, 16) + "," + entry("b", "F32", "[4]", 8, 24) + "}", 24, "tensors 'a' [0, 16) and 'b' [8, 24) overlap"));
        c.add(json("same range twice", "{" + entry("a", "F32", "[4]", 0, 16) + "," + entry("b", "F32", "[4]", 0, 16) + "}", 16, "overlap"));
        c.add(json("hole", "{" + entry("a", "F32", "[2]", 0, 8) + "," + entry("b", "F32", "[2]", 12, 20) + "}", 20, "hole in the data section: bytes [8, 12) belong to no tensor (between 'a' and 'b'"));
        c.add(json("hole at start", "{" + entry("a", "F32", "[2]", 4, 12) + "}", 12, "bytes [0, 4) belong to no tensor (before 'a'"));
        c.add(json("trailing bytes", "{" + ok + "}", 20, "data section has 20 bytes but the tensors cover 16"));
        c.add(json("data but no tensors", "{}", 4, "data section has 4 bytes but the tensors cover 0"));
        c.add(json("missing dtype", "{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "tensor 'w': missing 'dtype'"));
        c.add(json("missing shape", "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, "tensor 'w': missing 'shape'"));
        c.add(json("missing offsets", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "tensor 'w': missing 'data_offsets'"));
        c.add(json("unknown field", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"offset\":0}}", 4, "tensor 'w': unknown field 'offset'"));
        c.add(json("entry not object", "{\"w\":[1,2]}", 0, "tensor 'w': entry must be an object"));
        c.add(json("entry null", "{\"w\":null}", 0, "tensor 'w': entry must be an object"));
        c.add(json("metadata not object", "{\"__metadata__\":\"x\"}", 0, "__metadata__ must be an object of strings, found a string"));
        c.add(json("metadata number value", "{\"__metadata__\":{\"step\":5}}", 0, "__metadata__ value of 'step' must be a string, found an integer"));
        c.add(json("metadata nested", "{\"__metadata__\":{\"k\":" + "[".repeat(5000) + "}}", 0, "__metadata__ value of 'k' must be a string, found an array"));
        c.add(json("deep nesting", "{\"w\":{\"shape\":" + "[".repeat(100000), 0, "tensor 'w': shape must hold non-negative integers, found an array"));
        c.add(json("comment", "{/* hi */" + ok + "}", 16, "header is not valid JSON"));
        c.add(json("single quotes", "{'a':{}}", 0, "header is not valid JSON"));
        c.add(json("nul padding", "{" + ok + "}\u0000\u0000", 16, "header is not valid JSON"));
        c.add(new Case("long name", f -> RawFiles.write(f, "{\"" + "n".repeat(1 << 20) + "\":{\"dtype\":\"X\"}}", 0), "unknown dtype 'X'"));
        return c;
    }

    @BeforeAll
    static void warmUp() throws IOException {
        // Load the classes the error paths use, so the allocation counter sees only the work itself.
        for (Case c : corpus()) {
            Path f = c.builder().build(dir.resolve("warmup.safetensors"));
            assertThrows(InvalidInputException.class, () -> SafetensorsFile.open(f));
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("corpus")
    @Timeout(value = 10, unit = TimeUnit.SECONDS)
    void rejectsWithTheRightMessage(Case c) throws IOException {
        Path f = c.builder().build(dir.resolve(c.name().replace(' ', '_') + ".safetensors"));
        long fileSize = Files.size(f);
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long before = threads.getCurrentThreadAllocatedBytes();
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> SafetensorsFile.open(f));
        long allocated = threads.getCurrentThreadAllocatedBytes() - before;

        String msg = e.getMessage();
        assertTrue(msg.contains(c.expected()), () -> "message: " + msg + "\nexpected to contain: " + c.expected());
        assertTrue(msg.startsWith(f.toString() + ": "), () -> "message does not name the file: " + msg);
        assertFalse(msg.contains("\n"), () -> "message is more than one line: " + msg);
        assertTrue(msg.length() < 600, () -> "message is too long: " + msg.length());
        // Parsing buffers and the exception cost a fixed few tens of kB; beyond that, never more than the
        // file, whatever sizes the header declares. The exception is a header made of one huge string:
        // Java holds text as UTF-16 and the JSON parser copies it while it grows, about 5 bytes per byte.
        long fixedOverhead = 128 << 10;
        long bound = (c.name().equals("long name") ? 6 * fileSize : fileSize) + fixedOverhead;
        assertTrue(allocated <= bound, () -> c.name() + ": allocated " + allocated + " bytes for a " + fileSize + "-byte file");
    }

    @Test
    void leadingWhitespaceAndZeroSizeTensorsAreValid() throws IOException {
        // serde_json (the reference) accepts leading whitespace; empty tensors may share an offset.
        String header = "  {" + entry("e1", "F32", "[0]", 0, 0) + "," + entry("e2", "I64", "[3,0]", 0, 0) + ","
                + entry("s", "F64", "[]", 0, 8) + "," + entry("e3", "BOOL", "[0,5]", 8, 8) + "}";
        Path f = RawFiles.write(dir.resolve("valid.safetensors"), header, 8);
        try (SafetensorsFile st = SafetensorsFile.open(f)) {
            assertEquals(4, st.tensors().size());
            assertEquals(0, st.tensor("s").rank());
            assertEquals(0, st.tensor("e2").numel());
        }
    }

    @Test
    void nonAsciiNamesAreValid() throws IOException {
        String header = "{" + entry("головa.вес", "U8", "[1]", 0, 1) + "}";
        Path f = RawFiles.write(dir.resolve("utf8.safetensors"), header.getBytes(StandardCharsets.UTF_8), 1);
        try (SafetensorsFile st = SafetensorsFile.open(f)) {
            assertTrue(st.contains("головa.вес"));
        }
    }

    @Test
    void missingFileAndDirectoryAreUserErrors() {
        assertTrue(assertThrows(InvalidInputException.class, () -> SafetensorsFile.open(dir.resolve("nope.safetensors")))
                .getMessage().contains("no such file"));
        assertTrue(assertThrows(InvalidInputException.class, () -> SafetensorsFile.open(dir))
                .getMessage().contains("is a directory"));
    }
}
