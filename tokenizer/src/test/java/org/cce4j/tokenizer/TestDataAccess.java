package org.cce4j.tokenizer;

import java.util.List;

/** Test helpers of this package, for the tests in sub-packages. */
public final class TestDataAccess {
    private TestDataAccess() {}

    public static List<String> brown() {
        return TestData.brown();
    }

    public static List<String> edgeCases() {
        return TestData.edgeCases();
    }

    /** Compares with the Rust library loaded from the same tokenizer.json text. */
    public static void compareWithReference(String name, Tokenizer ours, String json, List<String> texts) {
        try (Reference ref = Reference.fromJson(json)) {
            Comparison.compare(name, ours, ref, texts);
        }
    }
}
