package org.cce4j.tokenizer.train;

import org.cce4j.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The trainer's tokenizer.json is loaded by the Rust library (through DJL) and encodes and decodes
 * every text exactly as ours does; it round-trips text; it compresses what it was trained on.
 */
class BpeTrainerTest {
    @TempDir
    Path dir;

    @Test
    void trainedTokenizerLoadsInTheRustLibraryAndAgrees() throws Exception {
        List<String> corpus = new ArrayList<>(org.cce4j.tokenizer.TestDataAccess.brown());
        List<String> train = corpus.subList(0, corpus.size() / 2), heldOut = corpus.subList(corpus.size() / 2, corpus.size());
        Path out = dir.resolve("tokenizer.json");
        new BpeTrainer(2000, 2, List.of("<|endoftext|>", "<|pad|>")).trainToFile(train, out);
        Tokenizer ours = Tokenizer.load(out);
        assertEquals(2000, ours.vocabSize(), "the vocabulary size includes the special tokens, as in the Rust trainer");
        assertEquals(1998, ours.tokenToId("<|endoftext|>").orElseThrow());
        List<String> texts = new ArrayList<>(org.cce4j.tokenizer.TestDataAccess.edgeCases());
        texts.addAll(heldOut.subList(0, Math.min(300, heldOut.size())));
        texts.add("text<|endoftext|>more<|pad|>");
        org.cce4j.tokenizer.TestDataAccess.compareWithReference("trained", ours, Files.readString(out), texts);
        long bytes = 0, ids = 0;
        for (String t : heldOut) {
            bytes += t.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
            ids += ours.encode(t, false).length;
            assertEquals(t, ours.decode(ours.encode(t, false), false));
        }
        assertTrue(bytes > 2.5 * ids, "a 2000-token vocabulary compresses held-out English well: " + bytes + " bytes, " + ids + " ids");
    }
}
