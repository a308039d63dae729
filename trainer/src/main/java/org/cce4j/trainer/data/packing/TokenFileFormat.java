package org.cce4j.trainer.data.packing;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * The token file's layout, in one place for the writer and the reader. Little-endian throughout; every
 * offset is in bytes from the start of the file and is 64-bit, so a file may hold billions of tokens.
 * <pre>
 *   0    header, 64 bytes:
 *          0  magic "CCE4JTOK"          8  version (int32) = 1     12 reserved (int32) = 0
 *         16  rows (int64)             24  tokens (int64)
 *         32  index offset (int64)     40  metadata offset (int64)
 *         48  metadata length (int64)  56  file length (int64)
 *   64   row records, one after the other (the index gives each one's offset; nothing assumes they touch):
 *          ids[length] (int32)  then, when the row has labels of its own, labels[length] (int32)
 *   index (8-aligned), one 24-byte entry a row:
 *          record offset (int64), length (int32), targets (int32), labels offset (int64; -1: the labels are the ids)
 *   metadata: a JSON object of strings (UTF-8): what the file was built from (the cache's key, the builder's report)
 * </pre>
 * The header is written last, after everything else is on disk, and the file is renamed into place
 * only then: a file whose header does not name its own length is not used.
 */
final class TokenFileFormat {
    static final byte[] MAGIC = "CCE4JTOK".getBytes(StandardCharsets.US_ASCII);
    static final int VERSION = 1;
    static final int HEADER_BYTES = 64;
    static final int ENTRY_BYTES = 24;
    static final long SHARED_LABELS = -1;

    private TokenFileFormat() {}

    /** The header's fields. */
    record Header(long rows, long tokens, long indexOffset, long metadataOffset, long metadataLength, long fileLength) {
        ByteBuffer encode() {
            ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            b.put(MAGIC).putInt(VERSION).putInt(0).putLong(rows).putLong(tokens).putLong(indexOffset)
                    .putLong(metadataOffset).putLong(metadataLength).putLong(fileLength);
            return b.flip();
        }

        /** The header of {@code b} (64 bytes), or why it is not one. */
        static Header decode(ByteBuffer b) throws TokenFile.Invalid {
            b.order(ByteOrder.LITTLE_ENDIAN);
            byte[] magic = new byte[MAGIC.length];
            b.get(magic);
            if (!java.util.Arrays.equals(magic, MAGIC)) throw new TokenFile.Invalid("not a token file (no CCE4JTOK header: never completed?)");
            int version = b.getInt();
            if (version != VERSION) throw new TokenFile.Invalid("token file version " + version + ", this build reads " + VERSION);
            b.getInt();
            return new Header(b.getLong(), b.getLong(), b.getLong(), b.getLong(), b.getLong(), b.getLong());
        }
    }
}
