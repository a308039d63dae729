package org.cce4j.trainer.data.packing;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a cached token file was built from: the source (its real path, size and modification time,
 * to the nanosecond the file system keeps) and the tokenization's hash (the tokenizer and every option
 * that changes the rows). Any change makes another key, hence another file name, and the key is also
 * stored in the file's metadata and compared on open, so a file is never used for a source it was not
 * built from. The real path is part of the key because two files of one size and one time are common
 * (an archive unpacked).
 */
record CacheKey(Path source, long size, long mtimeNanos, String tokenization) {
    /** Bumped when what the cache stores changes meaning. */
    static final String CACHE_VERSION = "2";

    static final String SOURCE = "cce4j.source", SIZE = "cce4j.source_size", MTIME = "cce4j.source_mtime_ns",
            TOKENIZATION = "cce4j.tokenization", VERSION = "cce4j.cache_version";

    /** The key's fields as they are stored in the file's metadata. */
    Map<String, String> metadata() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put(SOURCE, source.toString());
        m.put(SIZE, Long.toString(size));
        m.put(MTIME, Long.toString(mtimeNanos));
        m.put(TOKENIZATION, tokenization);
        m.put(VERSION, CACHE_VERSION);
        return m;
    }

    /** Whether {@code stored} (a file's metadata) holds exactly this key. */
    boolean matches(Map<String, String> stored) {
        for (var e : metadata().entrySet()) {
            if (!e.getValue().equals(stored.get(e.getKey()))) return false;
        }
        return true;
    }

    /** {@code <source file name>-<20 hex digits of the key's SHA-256>.tokens}. */
    String fileName() {
        return prefix(source) + sha256(String.join("\n", metadata().values())).substring(0, 20) + ".tokens";
    }

    /** The file names of every key of {@code source} start with this: its name, made safe, and a dash. */
    static String prefix(Path source) {
        String name = source.getFileName() == null ? "source" : source.getFileName().toString();
        StringBuilder sb = new StringBuilder();
        for (char c : name.toCharArray()) sb.append(Character.isLetterOrDigit(c) && c < 128 || c == '.' || c == '_' || c == '-' ? c : '_');
        if (sb.length() > 64) sb.setLength(64);
        if (sb.charAt(0) == '.') sb.setCharAt(0, '_'); // a leading dot would hide it, and temporary files start with one
        return sb.append('-').toString();
    }

    static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
