package org.cce4j.trainer.train;

import java.io.IOException;
import java.nio.file.Path;

/** TinyRun for tests of other packages. */
public final class TinyRunAccess {
    private TinyRunAccess() {}

    public static Path setUp(Path dir, String extraYaml) throws IOException {
        return TinyRun.setUp(dir, extraYaml);
    }
}
