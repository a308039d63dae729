package org.cce4j.trainer.train;

import java.io.IOException;
import java.nio.file.Path;

/** TinyRun for tests of other packages. */
public final class TinyRunAccess {
    private TinyRunAccess() {}

    /** Rewrites a TinyRun model folder's weights for the vocabulary its config.json now says. */
    public static void rewriteWeights(Path model) throws IOException {
        TinyRun.weights(model, org.cce4j.core.tensor.DType.F32);
    }

    public static Path setUp(Path dir, String extraYaml) throws IOException {
        return TinyRun.setUp(dir, extraYaml);
    }

    /** {@code n} rows of 5..20 random ids into {@code dir/name}. */
    public static Path rows(Path dir, String name, int n, long seed) throws IOException {
        return TinyRun.rows(dir, name, n, seed);
    }

    /** Stop signals that ask to stop (as TERM) at their {@code n}-th poll. */
    public static StopSignals stopAfterPolls(int n) {
        return StopSignals.afterPolls(n);
    }
}
