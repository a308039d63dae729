package org.cce4j.checkpoints.interop;

import java.lang.foreign.MemorySegment;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** SHA-256 of tensor bytes, the currency of the interop manifests (Python hashes the same bytes). */
final class Hashes {
    private Hashes() {}

    static String sha256(MemorySegment bytes) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            long chunk = 1 << 20;
            for (long off = 0; off < bytes.byteSize(); off += chunk) {
                md.update(bytes.asSlice(off, Math.min(chunk, bytes.byteSize() - off)).asByteBuffer());
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static String sha256(byte[] bytes) {
        return sha256(MemorySegment.ofArray(bytes));
    }
}
